#!/bin/bash
# tunnels.sh — WireGuard tunnels, per-tenant routing and reconcile, end to
# end, with wireguard-go and real handshakes.
#
#   tnsa1 tnsa2 tnsa3   tnsb1 tnsb2 tnsb3      six ministry sites, each a
#     |eth0 192.0.2.11-16/24 (wg-quick from `rempart site config`)
#  [tninet]  bridge tnbr0 192.0.2.254/24 ("internet", also the egress host)
#     |
#  [tngw]  tnup0 192.0.2.1/24 (uplink) — rempart runs here
#     |tnca0 10.20.0.1/24        |tncb0 10.20.0.1/24
#  [tnca] 10.20.0.5             [tncb] 10.20.0.5       the two tenant clouds:
#   tenant a (id 10, tnwga,       tenant b (id 20, tnwgb, same prefixes
#   egress = nat)                 10.20.0.0/16, egress none)
#
# Sites of a are 10.110.N.0/24 (+ fd10:110:N::/64), of b 10.120.N.0/24.
# Applied with `rempart -v apply` (net + BPF dataplane); its debug line
# "net: N change(s)" tells how much the reconcile changed.
# TN_DEBUG=1 keeps everything up on failure and opens a shell.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
BUILD=${BUILD:-$PWD/build}
REMPART=${REMPART:-$BUILD/rempart}

if [ "$(id -u)" != 0 ]; then skip "tunnels: needs root"; exit 0; fi
# Our own mount namespace with a fresh bpffs, so the dataplane that
# `rempart apply` pins (RP_PIN_DIR) never meets another suite's; the
# gateway's network namespace is entered with nsenter --net, which keeps it
# (`ip netns exec` would remount /sys without the bpffs).
if [ -z "${TN_PRIVATE_NS:-}" ]; then
	TN_PRIVATE_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
mount -t bpf bpf /sys/fs/bpf || { skip "tunnels: cannot mount a private bpffs"; exit 0; }
for t in wireguard-go wg wg-quick ip nft tcpdump nsenter; do
	command -v $t >/dev/null || { skip "tunnels: $t not installed"; exit 0; }
done

T=$(mktemp -d /tmp/tn-e2e.XXXXXX)
chmod 700 "$T"
umask 077
CFG=$T/etc
NS_ALL="tngw tninet tnca tncb tnsa1 tnsa2 tnsa3 tnsb1 tnsb2 tnsb3"
SITES="a1 a2 a3 b1 b2 b3"
gw() { nsenter --net=/run/netns/tngw "$@"; }

cleanup() {
	local rc=$?
	if [ "${TN_DEBUG:-0}" = 1 ] && [ "$T_FAILS" -gt 0 ]; then
		echo "TN_DEBUG: state in $T; namespaces up; exit the shell to clean up"
		bash -i </dev/tty >/dev/tty 2>&1 || true
	fi
	for f in "$T"/sites/*.gopid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	[ -d "$CFG" ] && do_down >/dev/null 2>&1
	for f in "$T"/state/wg/*.pid "$T"/state/wg/*.gopid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	[ -n "${PORT_HOLDER:-}" ] && kill "$PORT_HOLDER" 2>/dev/null
	[ -n "${TCPDUMP:-}" ] && kill "$TCPDUMP" 2>/dev/null
	for n in $NS_ALL; do ip netns del $n 2>/dev/null; done
	sleep 0.2
	for f in "$T"/state/wg/*.gopid "$T"/sites/*.gopid; do
		[ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && kill -9 "$(cat "$f")" 2>/dev/null
	done
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT INT TERM

do_apply() { gw "$REMPART" -c "$CFG" -v apply; }
do_down() { gw "$REMPART" -c "$CFG" down; }
# has_line TEXT LINE: TEXT holds LINE, whole
has_line() { printf '%s\n' "$1" | grep -qxF "$2"; }

# ---- topology ----
for n in $NS_ALL; do ip netns add $n; ip -n $n link set lo up; done
ip -n tninet link add tnbr0 type bridge
ip -n tninet link set tnbr0 up
ip -n tninet addr add 192.0.2.254/24 dev tnbr0
ip link add tnup0 netns tngw type veth peer name tnupp netns tninet
ip -n tninet link set tnupp master tnbr0 up
ip -n tngw link set tnup0 up
ip -n tngw addr add 192.0.2.1/24 dev tnup0
ip -n tngw route add default via 192.0.2.254
i=11
for s in $SITES; do
	ip link add eth0 netns tns$s type veth peer name tnp$s netns tninet
	ip -n tninet link set tnp$s master tnbr0 up
	ip -n tns$s link set eth0 up
	ip -n tns$s addr add 192.0.2.$i/24 dev eth0
	i=$((i + 1))
done
for c in a b; do
	ip link add tnc${c}0 netns tngw type veth peer name eth0 netns tnc$c
	ip -n tngw link set tnc${c}0 up
	ip -n tnc$c link set eth0 up
	ip -n tnc$c addr add 10.20.0.5/24 dev eth0
	ip -n tnc$c addr add fd00:20::5/64 dev eth0 nodad
	ip -n tnc$c route add default via 10.20.0.1
	ip -n tnc$c -6 route add default via fd00:20::1
	# who reached this cloud: one counter per tenant's site range
	ip netns exec tnc$c nft -f - <<-EOF
	table inet tn {
		chain in {
			type filter hook input priority 0; policy accept;
			ip saddr 10.110.0.0/16 counter comment "from-a"
			ip saddr 10.110.0.0/16 tcp dport 23 counter comment "a-tcp23"
			ip saddr 10.110.0.0/16 tcp dport 80 counter comment "a-tcp80"
			ip saddr 10.120.0.0/16 counter comment "from-b"
			ip6 saddr fd10:110::/32 counter comment "from-a6"
		}
	}
	EOF
done
# The gateway before rempart touched it (for `down`).
dump_gw() {
	{
		gw ip -br link 2>/dev/null | sed 's/@[^ ]*//' | awk '{print $1, $3}'
		gw ip addr | grep -E 'inet6? ' | grep -v 'scope link' | awk '{print $NF, $2}' | sort
		gw ip route show table all | grep -v -E '^(local|multicast|broadcast)|fe80|ff00' | sort
		gw ip -6 route show table all | grep -v -E '^(local|multicast|anycast)|fe80|ff00' | sort
		gw ip rule; gw ip -6 rule
		for w in tnwga tnwgb; do
			gw wg show $w dump 2>/dev/null | tail -n +2 | awk '{print $1, $3, $4, $8}' | sort
		done
		gw nft list ruleset
	} 2>/dev/null
}
PRISTINE=$(dump_gw)

# ---- configuration ----
mkdir -p "$CFG/tenants.d" "$CFG/keys" "$T/sites" "$T/state"
wg genkey > "$CFG/keys/a.key"
wg genkey > "$CFG/keys/b.key"
echo "192.0.2.0/24,FR" > "$CFG/geo.txt"
cat > "$CFG/rempart.ini" <<EOF
[gateway]
name = tn-gw
uplink = tnup0
public_endpoint = 192.0.2.1
tenants = tenants.d
state_dir = $T/state
fail_mode = open
[geo]
ipv4 = geo.txt
format = cidr
unknown = deny
[management]
allow_from = 192.0.2.254/32
tcp_ports = 22
[metrics]
listen =
EOF
tenant_ini() {	# name id cloud tunnel tunaddr port egress
	cat <<EOF
[tenant]
name = $1
id = $2
cloud_interface = $3
cloud_address = 10.20.0.1/24, fd00:20::1/64
cloud_prefixes = 10.20.0.0/16, fd00:20::/48
tunnel_interface = $4
tunnel_address = $5
listen_port = $6
private_key_file = ../keys/$1.key
site_countries = FR
egress = $7
intra = allow
EOF
}
tenant_ini a 10 tnca0 tnwga 100.64.10.1/24 51810 nat > "$CFG/tenants.d/a.ini"
tenant_ini b 20 tncb0 tnwgb 100.64.20.1/24 51820 none > "$CFG/tenants.d/b.ini"

# ---- sites: `site add` (private key printed once), then `site config` ----
ok=1
for s in $SITES; do
	t=${s:0:1} n=${s:1:1}
	if [ $t = a ]; then ips="10.110.$n.0/24,fd10:110:$n::/64"; else ips="10.120.$n.0/24"; fi
	if ! "$REMPART" -c "$CFG" site add $t s$s --allowed-ips "$ips" > "$T/sites/$s.add" 2> "$T/sites/$s.err"; then
		cat "$T/sites/$s.err"; ok=0
	fi
	grep '^PrivateKey = ' "$T/sites/$s.add" | sed 's/^PrivateKey = //' > "$T/sites/$s.key"
done
check "site add: six sites, each with a generated private key" \
	test $ok = 1 -a "$(cat "$T"/sites/*.key | grep -c .)" = 6
check "site add: preshared keys written with mode 0600" \
	test "$(stat -c %a "$CFG"/keys/a-sa1.psk)" = 600
check "site add: the tenant file still loads (check)" "$REMPART" -c "$CFG" check
check "site add: no private key left in the tenant files" \
	bash -c "! grep -q -f <(cat '$T'/sites/*.key) '$CFG'/tenants.d/*.ini"

# a port only the dataplane closes (routing and WireGuard let it through)
printf '\n[rule no-telnet]\nfrom = sites\nto = cloud\nproto = tcp\nports = 23\naction = deny\n' >> "$CFG/tenants.d/a.ini"

# ---- apply ----
out=$(do_apply 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
check "apply: first apply succeeds" test $rc = 0
check "apply: two WireGuard interfaces up with MTU 1420" \
	bash -c "ip -n tngw link show tnwga | grep -q 'UP.*mtu 1420' && ip -n tngw link show tnwgb | grep -q 'UP.*mtu 1420'"
check "apply: rules select table 1010 for tnwga and tnca0" \
	bash -c "ip -n tngw rule | grep -q 'iif tnwga lookup 1010' && ip -n tngw rule | grep -q 'iif tnca0 lookup 1010'"
check "apply: table 1010 (egress nat: a default via the uplink) has an unreachable route for every site prefix" \
	test "$(ip -n tngw route show table 1010 | grep -c '^unreachable 10.110')" = 3
check "apply: table 1020 (egress none) ends in 'unreachable default', no per-site fallback needed" \
	bash -c "ip -n tngw route show table 1020 | grep -q '^unreachable default' &&
		! ip -n tngw route show table 1020 | grep -q '^unreachable 10.120' &&
		! ip -n tngw route show table 1020 | grep -q '^default'"
check "apply: wireguard-go runs under rempart's supervisor" \
	bash -c "kill -0 \$(cat '$T'/state/wg/tnwga.gopid) && kill -0 \$(cat '$T'/state/wg/tnwga.pid)"

# ---- sites come up with exactly what `site config` prints ----
cat > "$T/sites/wg-go" <<EOF
#!/bin/sh
# wg-quick's userspace implementation: wireguard-go in the foreground, its
# pid kept so the test can stop it.
WG_PROCESS_FOREGROUND=1 wireguard-go "\$1" >/dev/null 2>&1 &
echo \$! > "$T/sites/\$1.gopid"
for i in \$(seq 100); do [ -S /var/run/wireguard/\$1.sock ] && exit 0; sleep 0.05; done
exit 1
EOF
chmod 700 "$T/sites/wg-go"
ok=1
for s in $SITES; do
	t=${s:0:1}
	"$REMPART" -c "$CFG" site config $t s$s > "$T/sites/tns$s.printed" || ok=0
	grep -q '^PrivateKey = REPLACE_WITH_SITE_PRIVATE_KEY$' "$T/sites/tns$s.printed" || ok=0
	sed "s|^PrivateKey = REPLACE_WITH_SITE_PRIVATE_KEY$|PrivateKey = $(cat "$T/sites/$s.key")|" \
		"$T/sites/tns$s.printed" > "$T/sites/tns$s.conf"
	WG_QUICK_USERSPACE_IMPLEMENTATION="$T/sites/wg-go" WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 \
		ip netns exec tns$s wg-quick up "$T/sites/tns$s.conf" > "$T/sites/$s.up" 2>&1 || { ok=0; cat "$T/sites/$s.up"; }
done
check "site config: prints the placeholder, never the key; six sites up with wg-quick" test $ok = 1
# Each site's LAN: the router's address there (10.110.N.1 and fd10:110:N::1,
# or 10.120.N.1) on lo, and the routes wg-quick made through the tunnel
# prefer it as their source, as a LAN host's packets would (the printed
# Address is the site's tunnel_ip, never an address of its LAN).
for s in $SITES; do
	t=${s:0:1} n=${s:1:1} l6=
	if [ $t = a ]; then l4=10.110.$n.1 l6=fd10:110:$n::1; else l4=10.120.$n.1; fi
	ip -n tns$s addr add $l4/32 dev lo
	[ -n "$l6" ] && ip -n tns$s addr add $l6/128 dev lo nodad
	for r in $(ip -n tns$s -4 route show dev tns$s | awk '{ print $1 }'); do
		ip -n tns$s route replace $r dev tns$s src $l4
	done
	[ -n "$l6" ] && for r in $(ip -n tns$s -6 route show dev tns$s | awk '$1 !~ /^fe80/ { print $1 }'); do
		ip -n tns$s -6 route replace $r dev tns$s src $l6
	done
done
check "site config --qr: prints a QR code" bash -c "'$REMPART' -c '$CFG' site config a sa1 --qr | grep -q '█'"

counter() {	# ns comment -> packets
	ip netns exec "$1" nft list chain inet tn in | grep "comment \"$2\"" | sed -E 's/.*packets ([0-9]+).*/\1/'
}
ping_ok() { ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }

for s in $SITES; do
	check "traffic: site $s reaches 10.20.0.5 (its tenant's cloud)" wait_for 10 ping_ok tns$s 10.20.0.5
done
check "traffic: site a1 reaches fd00:20::5 over IPv6" wait_for 5 ping_ok tnsa1 fd00:20::5
check "isolation: cloud a saw tenant a's sites" test "$(counter tnca from-a)" -ge 3
check "isolation: cloud a never saw tenant b's sites" test "$(counter tnca from-b)" = 0
check "isolation: cloud b saw tenant b's sites" test "$(counter tncb from-b)" -ge 3
check "isolation: cloud b never saw tenant a's sites" test "$(counter tncb from-a)" = 0
check "isolation: cloud b never saw tenant a's IPv6 sites" test "$(counter tncb from-a6)" = 0
check "traffic: cloud a reaches site a2 (10.110.2.1)" wait_for 5 ping_ok tnca 10.110.2.1
# filtering: site a2 -> cloud a, tcp/80 arrives, tcp/23 (rule no-telnet) does not
syn() { ip netns exec "$1" timeout 2 bash -c "echo > /dev/tcp/$2/$3" 2>/dev/null; }
counter_above() { [ "$(counter "$1" "$2")" -gt "$3" ]; }
filtering_holds() {	# NAME: tcp/80 delivered, tcp/23 not (deltas of tnca's counters)
	local p80 p23
	p80=$(counter tnca a-tcp80); p23=$(counter tnca a-tcp23)
	syn tnsa2 10.20.0.5 80; syn tnsa2 10.20.0.5 23
	check "$1: site a2 -> cloud a tcp/80 (allowed) is delivered" wait_for 3 counter_above tnca a-tcp80 "$p80"
	check "$1: site a2 -> cloud a tcp/23 (rule no-telnet: deny) is not delivered" \
		test "$(counter tnca a-tcp23)" = "$p23"
}
filtering_holds "filtering"
check "isolation: site a1 gets no answer from tenant b's tunnel address" \
	bash -c "! ip netns exec tnsa1 ping -c 1 -W 1 100.64.20.1 >/dev/null 2>&1"
check "egress nat: cloud a reaches the internet host, masqueraded" wait_for 5 ping_ok tnca 192.0.2.254
check "egress none: cloud b cannot reach the internet host" bash -c "! ip netns exec tncb ping -c 1 -W 1 192.0.2.254 >/dev/null 2>&1"
# conntrack sees only what NAT needs (nat.c): not the WireGuard packets on
# the uplink, not tenant b (no NAT, no share); and a NATed UDP flow from a
# listen port's number leaves from another port (its replies would
# otherwise be taken for untracked WireGuard)
ip netns exec tnca python3 -c "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('', 51820)); s.sendto(b'x', ('192.0.2.254', 9))"
check "egress nat: a NATed UDP flow from port 51820 is tracked" \
	bash -c "ip netns exec tngw cat /proc/net/nf_conntrack | grep -q 'src=10.20.0.5 dst=192.0.2.254 sport=51820'"
check "egress nat: ... and masqueraded to a port that is no listen port" \
	bash -c "ip netns exec tngw cat /proc/net/nf_conntrack | grep 'src=10.20.0.5 dst=192.0.2.254 sport=51820' | grep -o 'dport=[0-9]*' | tail -1 | grep -qv -E 'dport=(51810|51820)\$'"
check "conntrack: no entry for WireGuard on the uplink (untracked)" \
	bash -c "! ip netns exec tngw cat /proc/net/nf_conntrack | grep -E 'udp .*(sport|dport)=(51810|51820) ' | grep -v 'src=10.20.0.5'"
check "conntrack: no entry for tenant b (no NAT: untracked)" \
	bash -c "! ip netns exec tngw cat /proc/net/nf_conntrack | grep -q 'src=10.120\.'"
check "conntrack: tenant a's traffic is tracked (zone 10)" \
	bash -c "ip netns exec tngw cat /proc/net/nf_conntrack | grep -q 'zone-orig=10'"
hs() { { gw wg show tnwga latest-handshakes; gw wg show tnwgb latest-handshakes; } | sort; }
handshakes=$(hs)
check "handshakes: all six peers have a real handshake" \
	test "$(echo "$handshakes" | awk '$2 > 0' | wc -l)" = 6

# ---- status ----
gw "$REMPART" -c "$CFG" status --json > "$T/status.json" 2>"$T/status.err"
check "status --json: valid JSON with both tenants, backend and sites" python3 - "$T/status.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
t = {x["name"]: x for x in j["tenants"]}
assert set(t) == {"a", "b"} and t["a"]["id"] == 10
assert all(x["backend"] in ("kernel", "wireguard-go") for x in t.values())
s = {x["name"]: x for x in t["a"]["sites"]}
assert set(s) == {"sa1", "sa2", "sa3"}
assert s["sa1"]["last_handshake"] > 0 and s["sa1"]["rx_bytes"] > 0 and s["sa1"]["endpoint"].startswith("192.0.2.")
assert s["sa1"]["allowed_ips"] == ["10.110.1.0/24", "fd10:110:1::/64"]
assert "geo" in j and "entries" in j["geo"] and "policy_generation" in j
PY
check "status: no private or preshared key in its output" bash -c \
	"! grep -q -F -f <(cat '$T'/sites/*.key '$CFG'/keys/*) '$T/status.json'"
check "status: text output names every site" bash -c \
	"nsenter --net=/run/netns/tngw '$REMPART' -c '$CFG' status | grep -c '^  site ' | grep -qx 6"

# ---- a second apply changes nothing ----
before=$(dump_gw)
out=$(do_apply 2>&1); rc=$?
after=$(dump_gw)
check "idempotence: second apply succeeds" test $rc = 0
check "idempotence: links, addresses, routes, rules, peers, nft unchanged" test "$before" = "$after"
[ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") | sed 's/^/# /' | head -20
check "idempotence: the reconcile reports 0 changes" has_line "$out" "rempart: net: 0 change(s)"

# ---- change one site: the others keep their sessions ----
gopid_before=$(cat "$T/state/wg/tnwga.gopid")
sed -i '/^\[site sa2\]/,/^\[/ s|^allowed_ips = .*|&, 10.111.2.0/24|' "$CFG/tenants.d/a.ini"
out=$(do_apply 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
check "reconcile: apply with site a2 changed succeeds" test $rc = 0
check "reconcile: a2's new prefix is on its peer" \
	bash -c "nsenter --net=/run/netns/tngw wg show tnwga allowed-ips | grep -q '10.111.2.0/24'"
check "reconcile: a2's new prefix routes through the tunnel" \
	bash -c "ip -n tngw route show table 1010 | grep -q '10.111.2.0/24 dev tnwga'"
check "reconcile: exactly the changed peer and its 2 routes changed" \
	has_line "$out" "rempart: net: 3 change(s)"
check "reconcile: the tunnel device was not recreated" test "$(cat "$T/state/wg/tnwga.gopid")" = "$gopid_before"
after_hs=$(hs)
check "reconcile: every peer's last handshake is unchanged" test "$handshakes" = "$after_hs"
[ "$handshakes" = "$after_hs" ] || diff <(echo "$handshakes") <(echo "$after_hs") | sed 's/^/# /'
ping_ok tnsa1 10.20.0.5; ping_ok tnsb3 10.20.0.5
after_hs2=$(hs)
check "reconcile: untouched sites keep their sessions (traffic, no new handshake)" \
	test "$handshakes" = "$after_hs2"
[ "$handshakes" = "$after_hs2" ] || diff <(echo "$handshakes") <(echo "$after_hs2") | sed 's/^/# /'

# ---- leak: peer down, packets for the site are dropped, never on the uplink ----
kill "$(cat "$T/sites/tnsa1.gopid")"
gw tcpdump -i tnup0 -n -U -w "$T/uplink.pcap" 'not udp and not arp' >/dev/null 2>&1 &
TCPDUMP=$!
sleep 1
ip netns exec tnca ping -c 3 -i 0.2 -W 1 10.110.1.1 >/dev/null 2>&1
# the tunnel itself goes down: only the unreachable routes are left
gw ip link set tnwga down
reply=$(ip netns exec tnca ping -c 3 -i 0.2 -W 1 10.110.1.1 2>&1)
sleep 0.5
kill $TCPDUMP; wait $TCPDUMP 2>/dev/null; TCPDUMP=
leaked=$(tcpdump -r "$T/uplink.pcap" -n 'net 10.110.0.0/16' 2>/dev/null | wc -l)
check "leak: nothing for site a1 left through the uplink in clear" test "$leaked" = 0
check "leak: with the tunnel down the cloud gets 'unreachable'" bash -c 'echo "$1" | grep -qi unreachable' _ "$reply"
echo "$reply" | grep -i unreachable | head -1 | sed 's/^/# /'
gw ip link set tnwga up

# ---- supervision: wireguard-go dies, rempart's supervisor restores it ----
old=$(cat "$T/state/wg/tnwga.gopid")
kill -9 "$old"
restarted() { [ "$(cat "$T/state/wg/tnwga.gopid")" != "$old" ] && gw wg show tnwga peers 2>/dev/null | grep -q .; }
check "supervise: wireguard-go is restarted" wait_for 10 restarted
check "supervise: the restarted device has its 3 peers" bash -c "[ \$(nsenter --net=/run/netns/tngw wg show tnwga peers | wc -l) = 3 ]"
check "supervise: its addresses and routes are back" \
	wait_for 5 bash -c "ip -n tngw addr show tnwga | grep -q 100.64.10.1/24 && ip -n tngw route show table 1010 | grep -q '10.110.2.0/24 dev tnwga'"
check "supervise: site a2 reaches its cloud again" wait_for 10 ping_ok tnsa2 10.20.0.5
filtering_holds "supervise: after the restart, filtering still holds"

# ---- bad inputs: one clear error, the system as it was ----
bad_case() {	# name expected-regex
	local name=$1 re=$2 before after out rc
	before=$(dump_gw)
	out=$(do_apply 2>&1); rc=$?
	after=$(dump_gw)
	echo "$out" | sed 's/^/#   /'
	check "bad input: $name: apply fails" test $rc != 0
	check "bad input: $name: the error says so" bash -c "echo \"\$1\" | grep -qE \"\$2\"" _ "$out" "$re"
	check "bad input: $name: the system is as it was" test "$before" = "$after"
	[ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") | sed 's/^/# /' | head
}
cp "$CFG/tenants.d/a.ini" "$T/a.ini.good"
cp "$CFG/keys/a.key" "$T/a.key.good"
# 1. a key of the wrong length
head -c 16 /dev/urandom | base64 > "$CFG/keys/a.key"
bad_case "tenant key of 16 bytes" "a.key"
cp "$T/a.key.good" "$CFG/keys/a.key"
# 2. the listen port is taken
gw ss -ulpn | sed "s/^/# ss: /"
ip netns exec tngw python3 -c 'import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("0.0.0.0",61899)); time.sleep(60)' &
PORT_HOLDER=$!
# python's start takes more than a moment on a busy machine: wait for the bind
wait_for 10 bash -c "nsenter --net=/run/netns/tngw ss -Huln 'sport = :61899' | grep -q ." ||
	echo "# the port holder did not bind 61899"
sed -i 's/^listen_port = 51810/listen_port = 61899/' "$CFG/tenants.d/a.ini"
bad_case "listen port in use" "listen_port.*61899.*in use"
kill $PORT_HOLDER; PORT_HOLDER=
cp "$T/a.ini.good" "$CFG/tenants.d/a.ini"
# 3. a cloud interface that does not exist
tenant_ini c 30 tnmissing0 tnwgc 100.64.30.1/24 51830 none > "$CFG/tenants.d/c.ini"
sed -i 's|^cloud_address.*|cloud_address = 10.30.0.1/24|; s|^cloud_prefixes.*|cloud_prefixes = 10.30.0.0/16|' "$CFG/tenants.d/c.ini"
wg genkey > "$CFG/keys/c.key"
bad_case "missing cloud interface" "cloud_interface.*tnmissing0.*does not exist"
# 4. a kernel error half-way (IPv6 disabled on tenant c's cloud link)
gw ip link add tncc0 type veth peer name tnccp
gw sysctl -qw net.ipv6.conf.tncc0.disable_ipv6=1
sed -i 's|tnmissing0|tncc0|; s|^cloud_address.*|cloud_address = 10.30.0.1/24, fd00:30::1/64|' "$CFG/tenants.d/c.ini"
bad_case "kernel refuses an address" "kernel: .*IPv6 is disabled"
# 5. VLAN attachment: no 802.1Q on this kernel
sed -i 's|^cloud_address.*|cloud_address = 10.30.0.1/24|; s|^id = 30|id = 30\nvlan = 130|' "$CFG/tenants.d/c.ini"
bad_case "VLAN on a kernel without 802.1Q" "vlan.*tncc0.130"
rm -f "$CFG/tenants.d/c.ini"
gw ip link del tncc0

# ---- down removes exactly what rempart created ----
gw ip rule add iif tnup0 lookup 4242 priority 4242   # not rempart's: stays
gw ip addr add 198.18.0.1/32 dev tnca0                # not rempart's: stays
out=$(do_down 2>&1); rc=$?
check "down: succeeds" test $rc = 0
left=$(dump_gw | grep -v -e 4242 -e 198.18.0.1)
check "down: nothing of ours is left (links, addresses, routes, rules, nft)" test "$PRISTINE" = "$left"
[ "$PRISTINE" = "$left" ] || diff <(echo "$PRISTINE") <(echo "$left") | sed 's/^/# /'
check "down: what others made stays" \
	bash -c "ip -n tngw rule | grep -q 4242 && ip -n tngw addr show tnca0 | grep -q 198.18.0.1"
check "down: the supervisor and wireguard-go are gone" \
	bash -c "! kill -0 $(cat "$T/state/wg/tnwga.gopid" 2>/dev/null || echo 999999) 2>/dev/null && ! [ -e /var/run/wireguard/tnwga.sock ]"
[ "$T_FAILS" = 0 ]
