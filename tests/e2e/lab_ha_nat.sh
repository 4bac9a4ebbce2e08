# lab_ha_nat.sh — sourced by lab_ha.sh: a NAT tenant's connection to the
# internet through the [ha] pair (docs/ha.md "NAT state: conntrackd").
#
# Tenant gamma (egress = nat) has its own cloud segment (bridge br-cn) with
# one host; an "internet" host sits on the uplink segment (198.18.1.99, the
# gateways' default route).  The cloud host keeps one TCP connection open
# to the internet host's echo server and sends a line every 100 ms; each
# echo's arrival time is logged.  Before the crash: the active NATs it to
# public_endpoint in the tenant's zone, and the standby's conntrackd holds
# it in its external cache.  After the crash: the connection is alive and
# echoes again through the new active (conntrackd committed it, and
# rempart moved it into the tenant's zone), and the internet host still
# cannot open anything into the tenant's cloud, nor reach it through the
# NAT port without being a reply (isolation on the new active).  After
# every later switch (fail back, uplink down, freeze, thaw, split brain,
# namespace deleted: nat_survived, called by lab_ha.sh) the connection must
# be alive and echo again; the longest time without an echo is printed.
#
#   rp-ha-inet 198.18.1.99 ── br-up      br-cn ── rp-ha-nc 10.30.1.10
#   (echo server, tcp/7000)    (gateways' gw-up, gw-cn)  (default via 10.30.1.1)
#
# Hooks in lab_ha.sh: sourced after the tenant files are written (it
# builds its part of the lab and writes its tenant), nat_before just before
# the crash, nat_after just after it, nat_survived after each switch.
# HA_NAT_TRACE=1 logs each gateway's conntrack entry for it every 0.3 s
# and a capture on both ends (kept with HA_KEEP_LOGS).  HA_NAT_WITHOUT=1
# runs the pair without conntrackd (RP_CONNTRACKD pointing nowhere): what
# the suite then shows is what a pair without it does.  HA_NAT_ONLY=1 (implied by
# HA_NAT_WITHOUT) ends the suite after nat_after.
NAT_NS="rp-ha-nc rp-ha-inet"
for n in $NAT_NS; do [ -e /run/netns/$n ] && { fail "lab_ha: $n exists (a previous run left it)"; exit 1; }; done
NS="$NS $NAT_NS"
command -v conntrackd >/dev/null || [ -x /usr/sbin/conntrackd ] ||
	{ fail "lab_ha: conntrackd is not installed (make deps)"; exit 1; }
[ -n "${HA_NAT_WITHOUT:-}" ] && export RP_CONNTRACKD=/nonexistent/conntrackd

for n in $NAT_NS; do
	ip netns add $n
	ip -n $n link set lo up
done
ip -n rp-ha-sw link add br-cn type bridge
ip -n rp-ha-sw link set br-cn up
port rp-ha-a gw-cn na br-cn
port rp-ha-b gw-cn nb br-cn
port rp-ha-nc eth0 nc br-cn
port rp-ha-inet up0 ui br-up
for g in a b; do
	ip -n rp-ha-$g link set gw-cn up
	# the way out: a default route on the uplink (copied into the NAT
	# tenant's table by apply)
	ip -n rp-ha-$g route add default via 198.18.1.99 dev gw-up
done
ip -n rp-ha-nc addr add 10.30.1.10/24 dev eth0
ip -n rp-ha-nc link set eth0 up
ip -n rp-ha-nc route add default via 10.30.1.1
ip -n rp-ha-inet addr add 198.18.1.99/24 dev up0
ip -n rp-ha-inet link set up0 up
(umask 077; "$REMPART" keygen >"$ST/keys/gamma.key")
cat >"$ST/tenants.d/gamma.ini" <<EOF
[tenant]
name = gamma
id = 30
cloud_interface = gw-cn
cloud_address = 10.30.1.1/24
cloud_prefixes = 10.30.1.0/24
tunnel_address = 100.64.30.1/24
listen_port = 51830
private_key_file = ../keys/gamma.key
site_countries = FR
egress = nat
EOF

# the internet host: a TCP echo server; the NAT tenant's cloud host:
# counts what reaches it unasked (UDP 9000, TCP 7001)
bg nat-echo ip netns exec rp-ha-inet python3 -c '
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.1.99", 7000)); s.listen(8)
def serve(c):
    while True:
        d = c.recv(4096)
        if not d: return
        c.sendall(d)
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
'
bg nat-listen ip netns exec rp-ha-nc python3 -u -c '
import os, select, socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("10.30.1.10", 9000))
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("10.30.1.10", 7001)); t.listen(8)
n = {"udp": 0, "tcp": 0}
while True:
    r, _, _ = select.select([u, t], [], [], 0.2)
    if u in r: u.recv(2048); n["udp"] += 1
    if t in r: t.accept()[0].close(); n["tcp"] += 1
    with open(sys.argv[1] + ".tmp", "w") as f: f.write("%d %d\n" % (n["udp"], n["tcp"]))
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
' "$ST/nat-unasked"

# the cloud host's long-lived connection (started by nat_before, once the
# pair is up): a line every 100 ms, each echo's time logged; "dead" and
# the reason when the connection breaks
nat_client() { # [LOG [NAME]]
	bg "${2:-nat-client}" ip netns exec rp-ha-nc python3 -u -c '
import socket, sys, time
f = open(sys.argv[1], "a", buffering=1)
try:
    s = socket.create_connection(("198.18.1.99", 7000), timeout=10)
    s.settimeout(30)
    f.write("port %d\n" % s.getsockname()[1])
    while True:
        s.sendall(b"x\n")
        if s.recv(64) == b"": raise OSError("closed by the peer")
        f.write("%.3f\n" % time.time())
        time.sleep(0.1)
except OSError as e:
    f.write("dead %s\n" % e)
' "${1:-$ST/nat-echoes}"
}
nat_echoes() { grep -c '^[0-9]' "$ST/nat-echoes" 2>/dev/null || echo 0; }
# the tenant's NATed connection in G's kernel conntrack (one line)
nat_ct() { gx "$1" conntrack -L -p tcp --dport 7000 2>/dev/null | grep 'dst=198.18.1.99'; }
# ... in G's conntrackd external cache (what the peer sent it)
nat_ext() { gx "$1" conntrackd -C "$ST/state-$1/conntrackd.conf" -e 2>/dev/null | grep 'dport=7000'; }

# HA_NAT_TRACE=1: every 0.3 s, each gateway's kernel entry for the NATed
# connection (its timeout shows when a packet last matched it) in
# logs/nat-trace, kept with the others when the suite fails (HA_KEEP_LOGS)
nat_trace() {
	local g
	while :; do
		echo "$(date +%s.%N) echoes=$(nat_echoes)"
		for g in a b; do
			[ -e /run/netns/rp-ha-$g ] && echo "  $g $(nat_ct $g | cut -c1-200)"
		done
		sleep 0.3
	done
}
nat_before() {
	if [ -n "${HA_NAT_TRACE:-}" ]; then
		bg nat-trace bash -c "$(declare -f nat_trace nat_echoes nat_ct gx); ST=$ST; nat_trace"
		bg tcpdump-nc ip netns exec rp-ha-nc tcpdump -l -tt -n -e -i eth0 tcp port 7000
		bg tcpdump-inet ip netns exec rp-ha-inet tcpdump -l -tt -n -e -i up0 tcp port 7000
	fi
	nat_client
	wait_for 10 eval '[ "$(nat_echoes)" -gt 10 ]'
	check "lab_ha: the NAT tenant's cloud host holds a TCP connection to the internet host (echoes)" \
		eval '[ "$(nat_echoes)" -gt 10 ]'
	local ct
	ct=$(nat_ct a)
	check "lab_ha: the active NATs it to public_endpoint in the tenant's zone ($ct)" \
		eval '[[ $ct == *zone-orig=30* && $ct == *" dst=198.18.1.1 "* ]]'
	wait_for 5 eval '[ -n "$(nat_ext b)" ]'
	check "lab_ha: before the switch, the standby's conntrackd holds the NATed connection ($(nat_ext b))" \
		eval '[ -n "$(nat_ext b)" ]'
	NAT_T0=$(date +%s.%N)
}

# nat_survived HOW T0_US T1_US [report]: the NATed connection echoes after
# the switch (more than 5 echoes after T1) and was not reset; the longest
# time without an echo since T0 printed.  With "report" (split brain),
# printed only, and checked that it is alive and echoes at the end.
nat_survived() {
	local how=$1 t0 t1 gap n why
	t0=$(awk -v t="$2" 'BEGIN { printf "%.6f", t / 1e6 }')
	t1=$(awk -v t="$3" 'BEGIN { printf "%.6f", t / 1e6 }')
	nat_late() { awk -v t="$t1" '$1 ~ /^[0-9]/ && $1 > t' "$ST/nat-echoes" | wc -l; }
	wait_for 15 eval '[ "$(nat_late)" -gt 5 ] || grep -q "^dead" "$ST/nat-echoes"'
	n=$(nat_late)
	gap=$(awk -v t0="$t0" '$1 ~ /^[0-9]/ { if (p && $1 > t0 && $1 - p > g) g = $1 - p; p = $1 }
		END { printf "%d\n", g * 1000 }' "$ST/nat-echoes")
	why=$(grep '^dead' "$ST/nat-echoes" || echo 'not reset')
	echo "# $how: the NATed TCP connection went $gap ms without an echo ($n echoes after the switch; $why)"
	NATS="${NATS:-}$how=${gap}ms "
	if [ "${4:-}" = report ]; then
		check "lab_ha: after $how, the NATed TCP connection is alive and echoes ($why)" \
			eval '! grep -q "^dead" "$ST/nat-echoes" && [ "$(nat_late)" -gt 5 ]'
		nat_reopen "$how"
		return
	fi
	check "lab_ha: after $how, the NATed TCP connection is alive ($why)" \
		eval '! grep -q "^dead" "$ST/nat-echoes"'
	check "lab_ha: after $how, the NATed TCP connection echoes again ($n echoes after the switch)" \
		test "$n" -gt 5
	nat_reopen "$how"
}
# a second connection, opened through b while a is frozen: a thawed has no
# entry for it in its kernel, only in conntrackd's external cache (b's
# conntrackd sent it); it lives on through a only if a commits it again
# when it learns that b was active too (the renewal)
nat_freeze_open() {
	nat_client "$ST/nat-echoes2" nat-client2
	wait_for 10 eval '[ "$(grep -c "^[0-9]" "$ST/nat-echoes2")" -gt 10 ]'
	check "lab_ha: while a is frozen, a second NATed TCP connection opens through b ($(nat_ct b | grep -v " sport=$(sed -n 's/^port //p' "$ST/nat-echoes") " | cut -c1-60))" \
		eval '[ "$(grep -c "^[0-9]" "$ST/nat-echoes2")" -gt 10 ]'
}
# nat_thaw_second T1_US: it echoes after the thaw, through a
nat_thaw_second() {
	local t1 n gap why
	t1=$(awk -v t="$1" 'BEGIN { printf "%.6f", t / 1e6 }')
	wait_for 15 eval '[ "$(awk -v t="$t1" "\$1 ~ /^[0-9]/ && \$1 > t" "$ST/nat-echoes2" | wc -l)" -gt 5 ] || grep -q "^dead" "$ST/nat-echoes2"'
	n=$(awk -v t="$t1" '$1 ~ /^[0-9]/ && $1 > t' "$ST/nat-echoes2" | wc -l)
	gap=$(awk -v t0="$t1" '$1 ~ /^[0-9]/ { if (p && $1 > t0 - 3 && $1 - p > g) g = $1 - p; p = $1 }
		END { printf "%d\n", g * 1000 }' "$ST/nat-echoes2")
	why=$(grep '^dead' "$ST/nat-echoes2" || echo 'not reset')
	echo "# thaw: the NATed TCP connection opened through b during the freeze went $gap ms without an echo ($n echoes after the thaw; $why)"
	check "lab_ha: thawed, the NATed connection opened during the freeze echoes through a (committed at the renewal; $n echoes, $why)" \
		test "$n" -gt 5 -a "$why" = "not reset"
	kill "$(pid_of nat-client2)" 2>/dev/null
}
# nat_reopen HOW: a connection that broke is replaced by a new one (its
# log kept as nat-echoes.HOW), so that each switch after it is checked on
# its own
nat_reopen() {
	grep -q '^dead' "$ST/nat-echoes" || return 0
	echo "# $1: the NATed TCP connection broke; a new one for the next switches"
	mv "$ST/nat-echoes" "$ST/logs/nat-echoes.${1// /-}"
	nat_client
	wait_for 10 eval '[ "$(nat_echoes)" -gt 10 ]'
}

nat_after() {
	local t1 gap ct n0 u0 p
	t1=$(date +%s.%N)
	wait_for 10 eval '[ "$(awk -v t="$t1" "\$1 ~ /^[0-9]/ && \$1 > t" "$ST/nat-echoes" | wc -l)" -gt 5 ]'
	check "lab_ha: after the switch, the NATed TCP connection is alive ($(grep '^dead' "$ST/nat-echoes" || echo 'not reset'))" \
		eval '! grep -q "^dead" "$ST/nat-echoes"'
	check "lab_ha: after the switch, the NATed TCP connection still echoes (through the new active)" \
		eval '[ "$(awk -v t="$t1" "\$1 ~ /^[0-9]/ && \$1 > t" "$ST/nat-echoes" | wc -l)" -gt 5 ]'
	gap=$(awk -v t0="$NAT_T0" '$1 ~ /^[0-9]/ && $1 >= t0 { if (p && $1 - p > g) g = $1 - p; p = $1 }
		END { printf "%d\n", g * 1000 }' "$ST/nat-echoes")
	echo "# crasha: the NATed TCP connection went $gap ms without an echo (a line every 100 ms)"
	grep -h 'ha: conntrackd: .* committed' "$ST/logs/rempart-b" | sed 's/^/# b: /'
	ct=$(nat_ct b)
	check "lab_ha: the new active holds it in the tenant's zone, NATed to public_endpoint ($ct)" \
		eval '[[ $ct == *zone-orig=30* && $ct == *" dst=198.18.1.1 "* ]]'
	# isolation on the new active: the internet host sends to the tenant's
	# cloud host through the gateway (a route via public_endpoint), and to
	# the live connection's NAT port from another source port: nothing of
	# it is a reply, nothing reaches the cloud host
	read -r u0 n0 <"$ST/nat-unasked"
	p=$(sed -n 's/.* src=198.18.1.99 dst=198.18.1.1 sport=7000 dport=\([0-9]*\).*/\1/p' <<<"$ct" | head -n 1)
	ip -n rp-ha-inet route add 10.30.1.0/24 via 198.18.1.1
	ip netns exec rp-ha-inet python3 -c '
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(50):
    u.sendto(b"unasked", ("10.30.1.10", 9000))
    if sys.argv[1]: u.sendto(b"unasked", ("198.18.1.1", int(sys.argv[1])))
for dst in (("10.30.1.10", 7001), ("198.18.1.1", int(sys.argv[1] or 7001))):
    try: socket.create_connection(dst, timeout=1).close(); print("connected", dst)
    except OSError: pass
' "${p:-}" >"$ST/logs/nat-unasked-probe" 2>&1
	sleep 1
	check "lab_ha: on the new active, the internet host opens nothing into the NAT tenant's cloud (udp, tcp; $(cat "$ST/logs/nat-unasked-probe"))" \
		eval '[ "$(cat "$ST/nat-unasked")" = "0 0" ] && ! grep -q connected "$ST/logs/nat-unasked-probe"'
	ip -n rp-ha-inet route del 10.30.1.0/24 via 198.18.1.1
	check "lab_ha: the NATed TCP connection is alive after the probes" eval '! grep -q "^dead" "$ST/nat-echoes"'
	if [ -n "${HA_NAT_ONLY:-}${HA_NAT_WITHOUT:-}" ]; then
		echo "# HA_NAT_ONLY: the suite ends after the NAT checks"
		exit
	fi
}
