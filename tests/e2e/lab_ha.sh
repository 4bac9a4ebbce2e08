#!/bin/bash
# lab_ha.sh — an [ha] pair under traffic (docs/ha.md, SPEC §4.16): two
# gateways, each `rempart run` with keepalived, on a shared uplink segment
# and a shared cloud segment (bridges), a sync segment (a bridge too: a
# gateway that goes leaves the other's end in place, as a NIC); a site
# (wireguard-go) and a cloud host.  Under a 20 ms ping from the site's LAN
# to the cloud host, with a UDP probe the policy denies and one it allows
# sent every 20 ms: the active crashes (rempart and its WireGuard
# SIGKILLed; keepalived follows rempart): the standby becomes active
# (status --json, rempart_ha_role), traffic resumes, not one denied probe
# reaches the cloud host; the loss window (longest time without an answer)
# and the time until the site has a fresh handshake are printed (# lines).
# Then the crashed one comes back and takes over (fail back), and its
# uplink is taken down, its namespace frozen and thawed, its end of the
# sync link cut (split brain), and last its whole namespace deleted (every
# process killed, keepalived too): the same checks.  Throughout, the site keeps
# sending to public_endpoint (no roaming to a gateway's own address), and a
# loss window must stay below HA_LOSS_MAX ms (3000).
#
#   rp-ha-site 198.18.1.50 ─┐                       ┌─ rp-ha-cloud 10.20.1.10
#     (LAN 10.120.1.10)     br-up (rp-ha-sw)  br-cl ┘   (default via 10.20.1.1)
#                    gw-up ─┤  ├─ gw-up      gw-cl ─┤├─ gw-cl
#            rp-ha-a 198.18.1.2   rp-ha-b 198.18.1.3
#      ha-sync 192.0.2.1/30 ─┐   ┌─ ha-sync 192.0.2.2/30
#                           br-sy (rp-ha-sw)
#   virtual: 198.18.1.1 (public_endpoint), 10.20.1.1/24 (cloud_address)
set -u
cd "$(dirname "$0")/../.."
TOP=$PWD
. tests/lib.sh
BUILD=${BUILD:-$TOP/build}
REMPART=${REMPART:-$BUILD/rempart}
ST=/run/rempart-ha-lab
NS="rp-ha-a rp-ha-b rp-ha-sw rp-ha-site rp-ha-cloud"
IV=0.02	# probe interval (s)
LOSS_MAX=${HA_LOSS_MAX:-3000}	# ms: the longest loss window accepted
export REMPART_LAB=$ST

if [ "$(id -u)" != 0 ]; then skip "lab_ha: needs root (network namespaces)"; exit 0; fi
for b in keepalived wireguard-go wg; do
	command -v $b >/dev/null || [ -x /usr/sbin/$b ] || { fail "lab_ha: $b is not installed (make deps)"; exit 1; }
done
[ -x "$REMPART" ] || { fail "lab_ha: no $REMPART (make first)"; exit 1; }

running() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$s" ] && [[ $s != Z* ]]; }
stop_pid() {
	running "$1" || return 0
	kill -TERM "$1" 2>/dev/null
	wait_for 3 eval "! running $1" && return 0
	kill -KILL "$1" 2>/dev/null
	wait_for 2 eval "! running $1"
}
gx() { # a|b CMD...: in the gateway's network and mount namespaces
	local g=$1; shift
	nsenter --net=/run/netns/rp-ha-$g --mount=$ST/ns/$g -- "$@"
}
rp() { local g=$1; shift; gx "$g" "$REMPART" -c "$ST/cfg-$g" "$@"; }
bg() { # NAME CMD...: in the background, log in logs/NAME, pid in pids/NAME
	local n=$1; shift
	setsid "$@" >"$ST/logs/$n" 2>&1 </dev/null &
	echo $! >"$ST/pids/$n"
}
pid_of() { cat "$ST/pids/$1" 2>/dev/null; }

teardown() {
	local p round left
	trap - EXIT INT TERM
	if [ -d "$ST/ns" ]; then
		for g in a b; do
			for f in "$ST"/pids/rempart-$g*; do [ -f "$f" ] && stop_pid "$(cat "$f")"; done
			[ -e /run/netns/rp-ha-$g ] && [ -e "$ST/ns/$g" ] && [ -d "$ST/cfg-$g" ] && timeout 20 nsenter --net=/run/netns/rp-ha-$g \
				--mount=$ST/ns/$g -- "$REMPART" -c "$ST/cfg-$g" down >>"$ST/logs/down" 2>&1
		done
	fi
	for f in "$ST"/pids/*; do [ -f "$f" ] && stop_pid "$(cat "$f")"; done
	for round in 1 2 3 4 5; do
		left=
		for n in $NS; do
			[ -e /run/netns/$n ] || continue
			for p in $(ip netns pids $n 2>/dev/null); do
				running "$p" || continue
				left="$left $p"
				if [ $round -le 2 ]; then kill -TERM "$p" 2>/dev/null; else kill -KILL "$p" 2>/dev/null; fi
			done
		done
		[ -z "$left" ] && break
		sleep 0.3
	done
	for n in $NS; do [ -e /run/netns/$n ] && ip netns del $n; done
	for g in a b; do umount "$ST/ns/$g" 2>/dev/null || umount -l "$ST/ns/$g" 2>/dev/null; done
	umount "$ST/ns" 2>/dev/null || umount -l "$ST/ns" 2>/dev/null
	if [ "$T_FAILS" -gt 0 ]; then
		for f in "$ST"/logs/*; do
			case $f in */ping-*) continue ;; esac
			echo "# --- $f"; grep -v 'rempart: event' "$f" | tail -n 40 | sed 's/^/# /'
		done
		[ -n "${HA_KEEP_LOGS:-}" ] && cp -r "$ST/logs" "$HA_KEEP_LOGS"
	fi
	local bad=0
	for n in $NS; do [ -e /run/netns/$n ] && bad=1; done
	grep -q " $ST/ns" /proc/self/mounts && bad=1
	[ -S /run/wireguard/wg-hs.sock ] && bad=1
	[ -n "${left:-}" ] && bad=1
	check "lab_ha: cleanup: no leftover namespace, process or mount" test $bad = 0
	rm -rf "$ST"
	exit $((T_FAILS > 0))
}

# --- the pair --------------------------------------------------------------
for n in $NS; do [ -e /run/netns/$n ] && { fail "lab_ha: $n exists (a previous run left it)"; exit 1; }; done
rm -rf "$ST"
mkdir -p "$ST"/{logs,pids,ns,keys,tenants.d,cfg-a,cfg-b}
chmod 700 "$ST"
trap teardown EXIT
trap 'exit 130' INT TERM

for n in $NS; do
	ip netns add $n
	ip -n $n link set lo up
	ip netns exec $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
mount --bind "$ST/ns" "$ST/ns" && mount --make-private "$ST/ns"
for g in a b; do
	touch "$ST/ns/$g"
	nsenter --net=/run/netns/rp-ha-$g unshare --mount="$ST/ns/$g" --propagation private sh -c \
		'mount -t sysfs sysfs /sys && mount -t bpf bpf /sys/fs/bpf && mkdir -p /run/wireguard && mount -t tmpfs -o mode=0700 tmpfs /run/wireguard' \
		|| { fail "lab_ha: the gateways' mount namespaces"; exit 1; }
	ip netns exec rp-ha-$g sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
done
ip -n rp-ha-sw link add br-up type bridge
ip -n rp-ha-sw link add br-cl type bridge
ip -n rp-ha-sw link set br-up up
ip -n rp-ha-sw link set br-cl up
ip -n rp-ha-sw link add br-sy type bridge
ip -n rp-ha-sw link set br-sy up
port() { # NS IFNAME SWPORT BRIDGE
	ip link add "$2" netns "$1" type veth peer name "$3" netns rp-ha-sw
	ip -n rp-ha-sw link set "$3" master "$4" up
}
port rp-ha-a gw-up ua br-up
port rp-ha-b gw-up ub br-up
port rp-ha-a gw-cl ca br-cl
port rp-ha-b gw-cl cb br-cl
port rp-ha-site up0 us br-up
port rp-ha-cloud eth0 cc br-cl
port rp-ha-a ha-sync sa br-sy
port rp-ha-b ha-sync sb br-sy
ip -n rp-ha-a addr add 198.18.1.2/24 dev gw-up
ip -n rp-ha-b addr add 198.18.1.3/24 dev gw-up
ip -n rp-ha-a addr add 192.0.2.1/30 dev ha-sync
ip -n rp-ha-b addr add 192.0.2.2/30 dev ha-sync
for g in a b; do for l in gw-up gw-cl ha-sync; do ip -n rp-ha-$g link set $l up; done; done
ip -n rp-ha-site addr add 198.18.1.50/24 dev up0
ip -n rp-ha-site link set up0 up
ip -n rp-ha-site addr add 10.120.1.10/32 dev lo
ip -n rp-ha-cloud addr add 10.20.1.10/24 dev eth0
ip -n rp-ha-cloud link set eth0 up
ip -n rp-ha-cloud route add default via 10.20.1.1

# --- one configuration, two priorities -------------------------------------
(umask 077; "$REMPART" keygen >"$ST/keys/alpha.key"; "$REMPART" keygen >"$ST/keys/site.key")
echo "198.18.0.0/16,FR" >"$ST/geo.csv"
cat >"$ST/tenants.d/alpha.ini" <<EOF
[tenant]
name = alpha
id = 10
cloud_interface = gw-cl
cloud_address = 10.20.1.1/24
cloud_prefixes = 10.20.1.0/24
tunnel_address = 100.64.10.1/24
listen_port = 51810
private_key_file = ../keys/alpha.key
site_countries = FR
intra = deny

[site s1]
public_key = $(wg pubkey <"$ST/keys/site.key")
allowed_ips = 10.120.1.0/24
tunnel_ip = 100.64.10.11

[rule ping]
from = sites
to = 10.20.1.0/24
proto = icmp
action = allow

[rule probe]
from = sites
to = 10.20.1.10/32
proto = udp
ports = 5353
action = allow

[rule push]
from = sites
to = 10.20.1.10/32
proto = udp
ports = 5454
action = allow

[rule echo]
from = sites
to = 10.20.1.10/32
proto = tcp
ports = 7777
action = allow
EOF
# a NAT tenant's connection to the internet through the pair (conntrackd)
. tests/e2e/lab_ha_nat.sh
for g in a b; do
	if [ $g = a ]; then prio=150 peer=192.0.2.2; else prio=100 peer=192.0.2.1; fi
	cat >"$ST/cfg-$g/rempart.ini" <<EOF
[gateway]
name = gw-ha-$g
uplink = gw-up
public_endpoint = 198.18.1.1
tenants = ../tenants.d
state_dir = $ST/state-$g
fail_mode = closed

[geo]
ipv4 = ../geo.csv
format = cidr
unknown = deny

[metrics]
listen = 127.0.0.1:9560

[ha]
peer = $peer
sync_interface = ha-sync
priority = $prio
vrid = 51
EOF
done
out=$("$REMPART" -c "$ST/cfg-a" check 2>&1)
check "lab_ha: the pair's configuration passes check ($out)" test $? = 0

# --- the gateways, the site, the cloud host ---------------------------------
for g in a b; do
	bg rempart-$g nsenter --net=/run/netns/rp-ha-$g --mount=$ST/ns/$g -- \
		env RP_WG_BACKEND=wireguard-go "$REMPART" -c "$ST/cfg-$g" run --log-events 0
done
role() { rp "$1" status --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["ha"]["role"])' 2>/dev/null; }
metric() { gx "$1" curl -s --max-time 2 http://127.0.0.1:9560/metrics 2>/dev/null | sed -n "s/^$2 //p"; }
is_role() { [ "$(role "$1")" = "$2" ]; }
wait_for 30 is_role a active
check "lab_ha: the higher priority (a) is active" is_role a active
wait_for 5 is_role b standby
check "lab_ha: the other (b) is standby" is_role b standby
check "lab_ha: status shows the role and the peer" eval "rp b status | grep -q 'ha: standby.*peer 192.0.2.1 over ha-sync'"
check "lab_ha: rempart_ha_role is 1 on the active, 0 on the standby" \
	eval '[ "$(metric a rempart_ha_role)" = 1 ] && [ "$(metric b rempart_ha_role)" = 0 ]'
check "lab_ha: the virtual addresses are on the active only" eval \
	'ip -n rp-ha-a addr show gw-up | grep -q 198.18.1.1/32 && ip -n rp-ha-a addr show gw-cl | grep -q 10.20.1.1/24 &&
	 ! ip -n rp-ha-b addr show | grep -q "198.18.1.1/\|10.20.1.1/"'

bg site-wg ip netns exec rp-ha-site env WG_PROCESS_FOREGROUND=1 wireguard-go -f wg-hs
wait_for 5 test -S /run/wireguard/wg-hs.sock
ip netns exec rp-ha-site wg set wg-hs private-key "$ST/keys/site.key" peer "$(wg pubkey <"$ST/keys/alpha.key")" \
	endpoint 198.18.1.1:51810 allowed-ips 10.20.1.0/24,100.64.10.0/24
ip -n rp-ha-site addr add 100.64.10.11/32 dev wg-hs
ip -n rp-ha-site link set wg-hs up
ip -n rp-ha-site route add 10.20.1.0/24 dev wg-hs src 10.120.1.10
# the cloud host counts the UDP probes by port
bg cloud-listen ip netns exec rp-ha-cloud python3 -u -c '
import socket, select, sys
socks = {}
for port in (5353, 9999):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.20.1.10", port)); socks[s] = port
count = {5353: 0, 9999: 0}
while True:
    r, _, _ = select.select(list(socks), [], [], 0.2)
    for s in r:
        s.recv(2048); count[socks[s]] += 1
    with open(sys.argv[1] + ".tmp", "w") as f: f.write("%d %d\n" % (count[5353], count[9999]))
    import os; os.replace(sys.argv[1] + ".tmp", sys.argv[1])
' "$ST/udp-count"
pinged() { ip netns exec rp-ha-site ping -c1 -W1 -I 10.120.1.10 10.20.1.10 >/dev/null 2>&1; }
wait_for 20 pinged
check "lab_ha: the site reaches the cloud host through the active" pinged

# --- failovers ---------------------------------------------------------------
# probes: UDP from the site's LAN every 20 ms to 5353 (allowed) and 9999
# (no rule: denied) on the cloud host
bg probes ip netns exec rp-ha-site python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.120.1.10", 0))
while True:
    for port in (5353, 9999):
        try: s.sendto(b"probe", ("10.20.1.10", port))
        except OSError: pass
    time.sleep(0.02)
'
handshake() { ip netns exec rp-ha-site wg show wg-hs latest-handshakes | awk '{print $2}'; }
# where the site sends: public_endpoint, never a gateway's own address
# (WireGuard leaves the uplink only from public_endpoint: docs/ha.md)
site_ep() { ip netns exec rp-ha-site wg show wg-hs endpoints | awk '{print $2}'; }
# gap LOG T0_US: the longest time without an answer in a `ping -D` log
# (between two answers, or from the last answer before T0 to the first
# after), in ms; the pings sent and answered
gap() {
	python3 - "$1" "$2" <<'PY'
import re, sys
ts = [float(m.group(1)) for m in (re.match(r"\[(\d+\.\d+)\] \d+ bytes from", l) for l in open(sys.argv[1])) if m]
t0 = int(sys.argv[2]) / 1e6
sent = re.findall(r"(\d+) packets transmitted, (\d+) received", open(sys.argv[1]).read())
if len(ts) < 2 or not any(t > t0 for t in ts):
    print("-1", *(sent[0] if sent else ("0", "0")))
else:
    print(int(max(b - a for a, b in zip(ts, ts[1:])) * 1000), *(sent[0] if sent else ("0", "0")))
PY
}
udp() { cat "$ST/udp-count" 2>/dev/null; }

# long-lived TCP connections (started below): TCP_N connections from the
# site's LAN to the cloud host's echo server, a line every 100 ms on each;
# the client logs "I TIME" for every echo and "dead I WHY" when one breaks.
# tcp_after T0_US T1_US: the connections that echoed after T1 and are not
# dead, the longest time a connection went without an echo since T0 (ms),
# the dead ones
TCP_N=4
tcp_after() {
	python3 - "$ST/tcp-echoes" "$1" "$2" "$TCP_N" 2>/dev/null <<'PY'
import sys
t0, t1, n = int(sys.argv[2]) / 1e6, int(sys.argv[3]) / 1e6, int(sys.argv[4])
last, stall, late, dead = {}, 0, set(), set()
for l in open(sys.argv[1]):
    w = l.split()
    if w[0] == "dead":
        dead.add(int(w[1]))
    elif w[0] != "connected":
        i, t = int(w[0]), float(w[1])
        if t > t0 and i in last:
            stall = max(stall, t - last[i])
        last[i] = t
        if t > t1:
            late.add(i)
ok = [i for i in range(n) if i in late and i not in dead]
print(len(ok), int(stall * 1000), len(dead))
PY
}
# tcp_survived HOW T0_US T1_US: every connection echoes after the switch
tcp_survived() {
	local alive stall dead from=$2 to=$3
	wait_for 15 eval '[ "$(tcp_after "$from" "$to" | cut -d" " -f1)" = "$TCP_N" ]'
	read -r alive stall dead < <(tcp_after "$from" "$to")
	echo "# $1: $alive of $TCP_N long-lived TCP connections alive after the switch (longest stall $stall ms; $dead broken)"
	check "lab_ha: after $1, every long-lived TCP connection survives ($alive of $TCP_N echo after the switch)" \
		test "$alive" = "$TCP_N"
	TCPS="${TCPS:-}$1=$alive/$TCP_N,${stall}ms "
}

# failover HOW NEW_ACTIVE [WHY]: HOW kills or cuts the active; measures and
# checks; with WHY, the traffic checks are SKIPped for that reason
failover() {
	local how=$1 to=$2 why=${3:-} hs0 t0 t1 hs n tx rx lost
	sleep 1
	hs0=$(handshake)
	tr0=$(metric $to rempart_ha_transitions_total)
	bg ping-$to ip netns exec rp-ha-site ping -n -D -i $IV -w 12 -I 10.120.1.10 10.20.1.10
	sleep 2
	t0=${EPOCHREALTIME/./}
	eval "$how"
	wait_for 10 is_role $to active
	t1=${EPOCHREALTIME/./}
	check "lab_ha: after $how, $to is active (status --json)" is_role $to active
	echo "# $how: $to active after $(( (t1 - t0) / 1000 )) ms (status --json polled)"
	wait_for 5 eval '[ "$(metric $to rempart_ha_role)" = 1 ]'
	check "lab_ha: after $how, rempart_ha_role is 1 on $to" eval '[ "$(metric $to rempart_ha_role)" = 1 ]'
	check "lab_ha: after $how, rempart_ha_transitions_total counts on $to (${tr0:-?} before)" \
		eval '[ "$(metric $to rempart_ha_transitions_total)" -gt "${tr0:-99}" ]'
	{ echo "# $how +$(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms"; ip -n rp-ha-a -br addr; ip -n rp-ha-b -br addr
	  for g in a b; do echo "$g: $(ip netns pids rp-ha-$g | xargs -r ps -o pid=,args= -p | grep -c keepalived) keepalived"; done; } >>"$ST/logs/diag" 2>&1
	if [ -n "$why" ]; then
		skip "lab_ha: after $how, traffic and handshake ($why)"
		wait $(pid_of ping-$to) 2>/dev/null
		return
	fi
	wait_for 40 eval '[ "$(handshake)" != "$hs0" ]'
	hs=$(handshake)
	check "lab_ha: after $how, the site has a fresh handshake (with $to)" test "$hs" != "$hs0"
	echo "# $how: the site's fresh handshake came $(( hs - t0 / 1000000 )) s after the switch (handshake time, 1 s resolution)"
	check "lab_ha: after $how, the site still sends to public_endpoint ($(site_ep))" \
		test "$(site_ep)" = 198.18.1.1:51810
	wait $(pid_of ping-$to) 2>/dev/null
	read -r lost tx rx < <(gap "$ST/logs/ping-$to" "$t0")
	check "lab_ha: after $how, traffic resumes (pings answered after the switch)" test "$lost" -ge 0
	wait_for 5 pinged
	check "lab_ha: after $how, a ping is answered at the end" pinged
	echo "# $how: loss window $lost ms (longest time without an answer to a ${IV} s ping; $rx of $tx answered)"
	# peer endpoint sync: the new active calls the site at once instead of
	# waiting ~15 s for it (docs/ha.md); 3 s leaves room for a busy machine
	check "lab_ha: after $how, the loss window is below ${LOSS_MAX} ms ($lost ms)" test "$lost" -lt "$LOSS_MAX"
	LOSS="${LOSS:-}$how=${lost}ms "
	tcp_survived "$how" "$t0" "$t1"
	nat_survived "$how" "$t0" "$t1"
}

# a stream that only flow state carries: the site says one datagram to
# the cloud host's 5454 (rule push), the cloud host then streams to it every
# 20 ms and the site never speaks again.  The gateway lets the stream in as
# replies of that one flow: after a switch only if the new active has the
# flow (flow sync, docs/ha.md); the site's LAN logs each arrival's time
bg pusher ip netns exec rp-ha-cloud python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.20.1.10", 5454))
_, to = s.recvfrom(64)
while True:
    try: s.sendto(b"push", to)
    except OSError: pass
    time.sleep(0.02)
'
bg pushed ip netns exec rp-ha-site python3 -u -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.120.1.10", 40555))
time.sleep(0.5)
s.sendto(b"open", ("10.20.1.10", 5454))
f = open(sys.argv[1], "a", buffering=1)
while True:
    s.recv(64); f.write("%.3f\n" % time.time())
' "$ST/push-times"
pushes() { wc -l <"$ST/push-times" 2>/dev/null || echo 0; }
# push_gap FROM_S: the longest time without a pushed datagram since FROM_S
# (unix seconds), in ms; -1 if none arrived after it
push_gap() {
	awk -v t0="$1" '$1 >= t0 - 1 { if (p && $1 - p > g) g = $1 - p; p = $1; if ($1 > t0) after = 1 }
		END { if (!after) print -1; else printf "%d\n", g * 1000 }' "$ST/push-times"
}
wait_for 10 eval '[ "$(pushes)" -gt 20 ]'
check "lab_ha: the cloud host's stream reaches the site (flow state: the site spoke once)" \
	eval '[ "$(pushes)" -gt 20 ]'
PUSH_T0=$(date +%s.%N)

bg tcp-echo ip netns exec rp-ha-cloud python3 -c '
import socketserver
class H(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line)
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
S(("10.20.1.10", 7777), H).serve_forever()
'
sleep 0.5
bg tcp-client ip netns exec rp-ha-site python3 -u -c '
import select, socket, sys, time
f, n = open(sys.argv[1], "a", buffering=1), int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.create_connection(("10.20.1.10", 7777), timeout=10, source_address=("10.120.1.10", 0))
    s.setblocking(False)
    socks.append(s)
f.write("connected %d\n" % n)
alive, nxt, seq = set(range(n)), 0, 0
def dead(i, why):
    f.write("dead %d %s\n" % (i, why))
    alive.discard(i)
while alive:
    now = time.time()
    if now >= nxt:
        seq += 1
        for i in list(alive):
            try:
                socks[i].send(b"%d %d\n" % (i, seq))
            except BlockingIOError:
                pass
            except OSError as e:
                dead(i, e)
        nxt = now + 0.1
    r, _, _ = select.select([socks[i] for i in alive], [], [], 0.05)
    for s in r:
        i = socks.index(s)
        try:
            d = s.recv(4096)
        except OSError as e:
            dead(i, e)
            continue
        if not d:
            dead(i, "eof")
            continue
        f.write("%d %.3f\n" % (i, time.time()))
' "$ST/tcp-echoes" $TCP_N
T_TCP=${EPOCHREALTIME/./}
wait_for 10 eval '[ "$(tcp_after "$T_TCP" "$T_TCP" | cut -d" " -f1)" = "$TCP_N" ]'
check "lab_ha: $TCP_N long-lived TCP connections from the site's LAN echo through the active" \
	eval '[ "$(tcp_after "$T_TCP" "$T_TCP" | cut -d" " -f1)" = "$TCP_N" ]'

wait_for 10 eval '[ -s "$ST/udp-count" ] && [ "$(udp | cut -d" " -f1)" -gt 0 ]'
read -r ok0 bad0 < <(udp)
check "lab_ha: denied probes never reached the cloud host before the switch" test "${bad0:-x}" = 0
# crash-a: a's rempart and its WireGuard (supervisors, wireguard-go) die
# at once; its keepalived follows rempart (PR_SET_PDEATHSIG).
crash() { # G: SIGKILL every process of gateway G but keepalived
	local p
	for p in $(ip netns pids rp-ha-$1); do
		[ "$(ps -o comm= -p "$p" 2>/dev/null)" = keepalived ] || kill -KILL "$p" 2>/dev/null
	done
}
crasha() { crash a; }
nat_before
failover crasha b
nat_after
read -r ok1 bad1 < <(udp)
check "lab_ha: allowed probes passed around the first switch ($ok0 -> $ok1)" test "${ok1:-0}" -gt "${ok0:-0}"
check "lab_ha: not one denied probe passed during the first switch" test "${bad1:-x}" = 0
pg=$(push_gap "$PUSH_T0")
echo "# crasha: the cloud-to-site stream (flow state only) went $pg ms without a datagram"
check "lab_ha: the stream that only flow state carries survives the crash (flow sync): longest gap $pg ms < ${LOSS_MAX} ms" \
	test "$pg" -ge 0 -a "$pg" -lt "$LOSS_MAX"
check "lab_ha: a's keepalived went with its rempart (PR_SET_PDEATHSIG)" \
	eval '! ip -n rp-ha-a addr show | grep -q "198.18.1.1/\|10.20.1.1/"'

# a comes back (as a restarted daemon would) and preempts: fail back
wait_for 10 eval '[ -z "$(ip netns pids rp-ha-a)" ]'
PUSH_T1=$(date +%s.%N)
bg rempart-a2 nsenter --net=/run/netns/rp-ha-a --mount=$ST/ns/a -- \
	env RP_WG_BACKEND=wireguard-go "$REMPART" -c "$ST/cfg-a" run --log-events 0
T_FB=${EPOCHREALTIME/./}
wait_for 30 is_role a active
check "lab_ha: a restarted takes the addresses back (higher priority)" is_role a active
wait_for 5 is_role b standby
check "lab_ha: b is standby again" is_role b standby
wait_for 20 pinged
check "lab_ha: after the fail back, the site reaches the cloud host" pinged
check "lab_ha: after the fail back, the site still sends to public_endpoint ($(site_ep))" \
	test "$(site_ep)" = 198.18.1.1:51810
sleep 1
pg=$(push_gap "$PUSH_T1")
check "lab_ha: the stream still arrives after the fail back (a, restarted, got the flow from b): gap $pg ms" \
	test "$pg" -ge 0 -a "$pg" -lt "$LOSS_MAX"
T_FB1=${EPOCHREALTIME/./}
tcp_survived "fail back" "$T_FB" "$T_FB1"
nat_survived "fail back" "$T_FB" "$T_FB1"

upa() { ip -n rp-ha-a link set gw-up down; }
# the uplink back: the kernel dropped the routes through it when it went
# down, and the host's network configuration puts the default route back
# (the NAT tenant's way out: rempart's watch copies it into the tenant's
# table again); without it, a active again black-holes the NAT tenant
uplink_up() {
	ip -n rp-ha-$1 link set gw-up up
	ip -n rp-ha-$1 route replace default via 198.18.1.99 dev gw-up
}
failover upa b
read -r ok2 bad2 < <(udp)
check "lab_ha: not one denied probe passed during the second switch" test "${bad2:-x}" = 0
check "lab_ha: a with its uplink down is in fault" is_role a fault

# HA_FAILOVERS=N (measurement, not part of `make check`): N more rounds of
# a crash of the active (rempart and its WireGuard, as crash-a), each
# measured by the virtual address on the other gateway (polled every
# 10 ms), the crashed one restarted and failed back to; then min, median
# and max, and the denied probes that passed.
rounds=${HA_FAILOVERS:-0}
if [ "$rounds" -gt 0 ]; then
	uplink_up a
	wait_for 20 is_role a active
	vip_on() { ip -n rp-ha-$1 addr show gw-up | grep -q 198.18.1.1/32; }
	: >"$ST/rounds"
	: >"$ST/marks"
	bg ping-rounds ip netns exec rp-ha-site ping -n -D -i $IV -w $((rounds * 40 + 30)) -I 10.120.1.10 10.20.1.10
	for r in $(seq "$rounds"); do
		if ! wait_for 30 eval 'is_role a active && is_role b standby'; then
			fail "lab_ha: round $r: a did not come back: $(grep -v 'rempart: event' "$ST/logs/rempart-a" | tail -n 1)"
			break
		fi
		sleep 1
		t0=${EPOCHREALTIME/./}
		crash a
		for i in $(seq 1000); do vip_on b && break; sleep 0.01; done
		t1=${EPOCHREALTIME/./}
		echo "$(( (t1 - t0) / 1000 ))" >>"$ST/rounds"
		echo "crash $t0" >>"$ST/marks"
		echo "# round $r: a crashed: b holds the address after $(( (t1 - t0) / 1000 )) ms"
		# what was killed is gone (a tun device still held by a dying
		# wireguard-go makes the next one fail to start)
		wait_for 10 eval '[ -z "$(ip netns pids rp-ha-a)" ]'
		echo "restart ${EPOCHREALTIME/./}" >>"$ST/marks"
		bg rempart-a nsenter --net=/run/netns/rp-ha-a --mount=$ST/ns/a -- \
			env RP_WG_BACKEND=wireguard-go "$REMPART" -c "$ST/cfg-a" run --log-events 0
	done
	wait_for 30 eval 'is_role a active && is_role b standby'
	sleep 3
	echo "end ${EPOCHREALTIME/./}" >>"$ST/marks"
	kill -INT "$(pid_of ping-rounds)" 2>/dev/null
	sleep 1
	# per round: the longest time without an answer from the crash to
	# a's restart (the failover) and from there to the next crash (the
	# fail back)
	[ -s "$ST/rounds" ] && python3 - "$ST/rounds" "$ST/marks" "$ST/logs/ping-rounds" "$LOSS_MAX" >"$ST/rounds.out" <<'PY'
import re, statistics, sys
v = sorted(int(l) for l in open(sys.argv[1]) if l.strip())
print("# %d failovers, virtual address moved after (ms): min %d median %g max %d" % (len(v), v[0], statistics.median(v), v[-1]))
marks = [(l.split()[0], int(l.split()[1]) / 1e6) for l in open(sys.argv[2]) if l.strip()]
ts = [float(m.group(1)) for m in (re.match(r"\[(\d+\.\d+)\] \d+ bytes from", l) for l in open(sys.argv[3])) if m]
def loss(a, b):
    # the longest gap between answers that overlaps [a, b]
    g = [y - x for x, y in zip(ts, ts[1:]) if y > a and x < b]
    return int(max(g) * 1000) if g else 999999
fo, fb = [], []
for k, (what, t) in enumerate(marks[:-1]):
    (fo if what == "crash" else fb).append(loss(t, marks[k + 1][1]))
for name, w in (("failover (crash)", fo), ("fail back", fb)):
    if w:
        s = sorted(w)
        print("# %d x %s: loss window (ms): min %d median %g max %d" % (len(s), name, s[0], statistics.median(s), s[-1]))
print("worst %d" % max(fo + fb))
PY
	grep '^#' "$ST/rounds.out"
	worst=$(sed -n 's/^worst //p' "$ST/rounds.out")
	check "lab_ha: every loss window of the $rounds rounds is below ${LOSS_MAX} ms (worst ${worst:-?} ms)" \
		test "${worst:-99999}" -ge 0 -a "${worst:-99999}" -lt "$LOSS_MAX"
	read -r okr badr < <(udp)
	check "lab_ha: not one denied probe passed during $rounds more switches" test "${badr:-x}" = 0
fi

# freeze: every process of the active's namespace SIGSTOPped (a hung
# gateway: its addresses stay configured, nothing answers); then thawed,
# it takes the addresses back
uplink_up a	# (after upa, when no rounds ran)
wait_for 20 eval 'is_role a active && is_role b standby'
check "lab_ha: a with its uplink back is active again" is_role a active
wait_for 20 pinged
frozen=
freezea() { local p; for p in $(ip netns pids rp-ha-a); do kill -STOP "$p" 2>/dev/null && frozen="$frozen $p"; done; }
# is_role reads what a's (frozen, alive) daemon recorded: b's role decides
failover freezea b
nat_freeze_open
# the thaw: a's keepalived and daemon still hold that a is active, and a's
# WireGuard holds sessions the site no longer uses (it re-handshook with b).
# b's sync datagrams, queued on a's socket while it was frozen, tell a's
# daemon that both were active: it calls every site again, as at a takeover
# (docs/ha.md "After a freeze"); keepalived's re-election makes b standby.
renews() { cat "$ST"/logs/rempart-a* | grep -c "the peer was active too"; }
renew0=$(renews)
bg ping-thaw ip netns exec rp-ha-site ping -n -D -i $IV -w 12 -I 10.120.1.10 10.20.1.10
sleep 2
t0=${EPOCHREALTIME/./}
for p in $frozen; do kill -CONT "$p" 2>/dev/null; done
wait_for 10 eval 'is_role a active && is_role b standby'
t1=${EPOCHREALTIME/./}
echo "# thaw: after $(( (t1 - t0) / 1000 )) ms, a is $(role a), b is $(role b)"
check "lab_ha: thawed, a is active and b standby again (one active)" eval 'is_role a active && is_role b standby'
check "lab_ha: thawed, a renewed the sessions (the peer was active too)" \
	test "$(renews)" -gt "$renew0"
wait $(pid_of ping-thaw) 2>/dev/null
read -r lost tx rx < <(gap "$ST/logs/ping-thaw" "$t0")
echo "# thaw: loss window $lost ms ($rx of $tx answered)"
check "lab_ha: thawed, traffic resumes within ${LOSS_MAX} ms ($lost ms; ~15,000 before the renewal)" \
	test "$lost" -ge 0 -a "$lost" -lt "$LOSS_MAX"
LOSS="${LOSS:-}thaw=${lost}ms "
wait_for 30 pinged
check "lab_ha: thawed, the site reaches the cloud host" pinged
tcp_survived thaw "$t0" "$t1"
nat_survived thaw "$t0" "$t1"
nat_thaw_second "$t1"
read -r ok3 bad3 < <(udp)
check "lab_ha: not one denied probe passed during the freeze and the thaw" test "${bad3:-x}" = 0

# split brain: the sync link cut while both are healthy (a's end of it
# down: b keeps its carrier, on the switch, and hears no advert).  Neither
# gives up (keepalived does not
# track the sync link: dont_track_primary), both hold the addresses; the
# probes run throughout and the denied ones never pass.  Then the link is
# back: VRRP elects a again and traffic works.
sleep 1
bg ping-split ip netns exec rp-ha-site ping -n -D -i $IV -w 20 -I 10.120.1.10 10.20.1.10
sleep 1
T_SPLIT=${EPOCHREALTIME/./}
ip -n rp-ha-a link set ha-sync down
wait_for 10 eval 'is_role a active && is_role b active'
check "lab_ha: the sync link cut, both are active (split brain)" eval 'is_role a active && is_role b active'
echo "# split: $(( (${EPOCHREALTIME/./} - T_SPLIT) / 1000 )) ms after the cut, a is $(role a), b is $(role b)"
sleep 5
T_HEAL=${EPOCHREALTIME/./}
ip -n rp-ha-a link set ha-sync up
wait_for 10 eval 'is_role a active && is_role b standby'
t1=${EPOCHREALTIME/./}
echo "# split: $(( (t1 - T_HEAL) / 1000 )) ms after the link came back, a is $(role a), b is $(role b)"
check "lab_ha: the sync link back, VRRP elects one again (a active, b standby)" \
	eval 'is_role a active && is_role b standby'
wait_for 20 pinged
echo "# split: a ping answered $(( (${EPOCHREALTIME/./} - T_HEAL) / 1000 )) ms after the link came back"
check "lab_ha: after the split brain, the site reaches the cloud host" pinged
wait $(pid_of ping-split) 2>/dev/null
read -r lost tx rx < <(gap "$ST/logs/ping-split" "$T_SPLIT")
read -r alive stall dead < <(tcp_after "$T_SPLIT" "$t1")
echo "# split: a renewed the sessions $(( $(renews) - renew0 )) time(s) since the thaw"
echo "# split: loss window $lost ms over the cut and the heal ($rx of $tx answered); TCP: $alive of $TCP_N alive, longest stall $stall ms"
nat_survived split "$T_SPLIT" "$t1" report
read -r ok4 bad4 < <(udp)
check "lab_ha: not one denied probe passed during the split brain" test "${bad4:-x}" = 0

# the namespace deleted: a, active again, goes whole.  Every process of
# its namespace is SIGKILLed (keepalived too: no last advert, b waits for
# the master-down timer), the network namespace deleted and a's mount
# namespace unmounted (its sysfs mount holds the network namespace: it
# would live on until then).  b's end of the sync link stays, as a NIC
# whose peer is gone.
wait_for 20 eval 'is_role a active && is_role b standby'
check "lab_ha: before the namespace is deleted, a is active and b standby" \
	eval 'is_role a active && is_role b standby'
wait_for 20 pinged
dela() {
	local p round
	for round in 1 2; do	# again for what forked meanwhile
		for p in $(ip netns pids rp-ha-a); do kill -KILL "$p" 2>/dev/null; done
	done
	ip netns del rp-ha-a
	umount "$ST/ns/a" 2>/dev/null || umount -l "$ST/ns/a"
}
a_gone() { ! ip -n rp-ha-sw -br link | grep -q '^\(ua\|ca\|na\|sa\)@'; }
failover dela b
wait_for 10 a_gone
check "lab_ha: a's namespace is really gone (its switch ports ua, ca, na, sa went with it)" a_gone
check "lab_ha: b's end of the sync link is still there" eval 'ip -n rp-ha-b link show ha-sync >/dev/null 2>&1'
read -r ok5 bad5 < <(udp)
check "lab_ha: not one denied probe passed when a's namespace was deleted" test "${bad5:-x}" = 0

# the active's isolation proven from its live state (the [ha] table, the
# NAT tenant's zones and conntrackd's entries in place)
out=$(rp b audit 2>&1)
rc=$?
echo "# audit on b (active, NAT tenant, after the switches): exit $rc: $(echo "$out" | tail -n 1)"
check "lab_ha: rempart audit on the active proves its isolation (exit $rc: $(echo "$out" | grep -v '^  ' | tail -n 1))" test $rc = 0
echo "# loss windows: $LOSS"
echo "# long-lived TCP connections alive after each switch (and the longest stall): $TCPS"
echo "# the NATed TCP connection's longest stall over each switch: $NATS"
# the live audit reads the ruleset: [ha]'s table (output hook) must not
# make it give up
check "lab_ha: the live audit is not stopped by table inet rempart_ha" \
	eval '! grep -h "cannot be judged" "$ST"/logs/rempart-* | grep -q rempart_ha'
