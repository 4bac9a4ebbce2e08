#!/bin/bash
# keyrot: a tenant's key rotation without a flag day (docs/keys.md "A
# tenant's key"), with real wireguard-go sites installed by wg-quick from
# what `rempart site add` / `site config` printed, and `rempart run`
# watching.  During the overlap (next_private_key_file, next_listen_port):
# the second tunnel wn-NAME is a tunnel of the tenant everywhere (programs,
# rules, the uplink's geo-fence on its port, explain, audit, status); site
# A moves to the next key under a 20 ms ping from its LAN (at most two
# packets lost) while site B stays on the current one, and both reach their
# cloud; what A sends through wn-NAME to another tenant is dropped and
# counted; the rotation ends (the next key and port become the tenant's)
# by `apply` under a 50 ms ping from both sites: the gateway calls them at
# once from wg-NAME (at most 2 pings lost each; before it did, ~13.5 s).  A
# second rotation: the daemon killed (SIGKILL) and started again keeps
# wn-NAME and each site's routes; its reload (SIGHUP) ends it, as hitless.
# A third, and `down` removes everything.
#
#  ha (LAN host) ══ ra (router A, wg-quick)   ╗
#                   rb (router B, wg-quick)   ╠══ kw (a bridge: the uplink segment) ══ gw: rempart run
#                   rx (a host outside FR)    ╝       st: wg-NAME, wn-NAME; cloud ══ cl (10.20.0.10)
#                                                     bv: cloud ══ cb (10.30.0.10)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/e2e/ops_lib.sh
op_private_bpffs "$0" "$@"
N=$$
GW=kg$N RA=ka$N RB=kb$N HA=kh$N CL=kc$N CB=kd$N RX=kx$N WN=kw$N
UP=kup$N CLIF=kcl$N CBIF=kcb$N TUN=wg-k$N NEXT=wn-k$N WQA=qa$N WQB=qb$N TBV=wg-v$N
T=$(mktemp -d /tmp/keyrot.XXXXXX)
PY=/usr/bin/python3
LABNET=$PWD/tests/lab/labnet.py
gw() { nsenter --net=/run/netns/"$GW" "$@"; }
rp() { gw "$REMPART" -c "$T" "$@"; }
NSS="$GW $RA $RB $HA $CL $CB $RX $WN"

cleanup() {
	local p ns
	[ -n "${ping_pid:-}" ] && kill "$ping_pid" 2>/dev/null
	[ -n "${ping2_pid:-}" ] && kill "$ping2_pid" 2>/dev/null
	[ -n "${run_pid:-}" ] && kill "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
	[ -e /run/netns/"$RA" ] && ip netns exec "$RA" wg-quick down "$T/$WQA.conf" >/dev/null 2>&1
	[ -e /run/netns/"$RB" ] && ip netns exec "$RB" wg-quick down "$T/$WQB.conf" >/dev/null 2>&1
	[ -e /run/netns/"$GW" ] && rp down >/dev/null 2>&1
	for ns in $NSS; do
		[ -e /run/netns/"$ns" ] || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
	done
	sleep 0.2
	for ns in $NSS; do
		[ -e /run/netns/"$ns" ] || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$ns"
	done
	for s in "$TUN" "$NEXT" "$TBV" "$WQA" "$WQB"; do rm -f /var/run/wireguard/"$s".sock; done
	rm -rf "$T"
}
trap cleanup EXIT
for c in wireguard-go wg-quick wg; do
	command -v $c >/dev/null || { skip "keyrot: $c not installed"; exit 0; }
done
[ "$(id -u)" = 0 ] || { skip "keyrot: needs root"; exit 0; }
for ns in $NSS; do
	ip netns add "$ns" || { skip "keyrot: cannot create network namespaces"; exit 0; }
	ip netns exec "$ns" sh -c 'ip link set lo up; sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0'
done
# the uplink segment: a bridge in its own namespace, the gateway's uplink,
# the routers and the outside host on it
ip -n "$WN" link add br0 type bridge
ip -n "$WN" link set br0 up
ip link add "$UP" netns "$GW" type veth peer name p0 netns "$WN"
ip -n "$GW" addr add 198.18.0.1/24 dev "$UP"
ip -n "$GW" link set "$UP" up
ip -n "$WN" link set p0 master br0 up
i=0
for ns in "$RA" "$RB" "$RX"; do
	i=$((i + 1))
	ip link add "p$i" netns "$WN" type veth peer name wan netns "$ns"
	ip -n "$WN" link set "p$i" master br0 up
	ip -n "$ns" link set wan up
done
ip -n "$RA" addr add 198.18.0.11/24 dev wan
ip -n "$RB" addr add 198.18.0.12/24 dev wan
ip -n "$RX" addr add 198.18.0.66/24 dev wan	# not in the geo file: outside FR
ip link add lan netns "$RA" type veth peer name eth0 netns "$HA"
ip -n "$RA" addr add 10.120.7.1/24 dev lan
ip -n "$HA" addr add 10.120.7.10/24 dev eth0
ip -n "$RA" link set lan up
ip -n "$HA" link set eth0 up
ip -n "$HA" route add default via 10.120.7.1
ip netns exec "$RA" sysctl -qw net.ipv4.ip_forward=1
ip link add "$CLIF" netns "$GW" type veth peer name eth0 netns "$CL"
ip link add "$CBIF" netns "$GW" type veth peer name eth0 netns "$CB"
ip -n "$CL" addr add 10.20.0.10/24 dev eth0
ip -n "$CB" addr add 10.30.0.10/24 dev eth0
for ns in "$CL" "$CB"; do ip -n "$ns" link set eth0 up; done
ip -n "$CL" route add default via 10.20.0.1 dev eth0 onlink
ip -n "$CB" route add default via 10.30.0.1 dev eth0 onlink
for l in "$CLIF" "$CBIF"; do ip -n "$GW" link set "$l" up; done

mkdir -p "$T/tenants.d" "$T/keys" "$T/state"
(umask 077; wg genkey >"$T/keys/st.key"; wg genkey >"$T/keys/bv.key"; wg genkey >"$T/keys/st.next.key")
printf '198.18.0.0/26,FR\n' >"$T/geo.csv"
cat >"$T/rempart.ini" <<EOF
[gateway]
name = gw-keyrot
uplink = $UP
public_endpoint = 198.18.0.1
tenants = tenants.d
state_dir = $T/state
fail_mode = open

[geo]
ipv4 = geo.csv
format = cidr

[management]
allow_from = 192.0.2.0/24
tcp_ports = 22
EOF
cat >"$T/tenants.d/st.ini" <<EOF
[tenant]
name = st
id = 17
cloud_interface = $CLIF
cloud_address = 10.20.0.1/24
cloud_prefixes = 10.20.0.0/16
tunnel_interface = $TUN
tunnel_address = 100.64.7.1/24
listen_port = 51817
private_key_file = ../keys/st.key
site_countries = FR
EOF
cat >"$T/tenants.d/bv.ini" <<EOF
[tenant]
name = bv
id = 18
cloud_interface = $CBIF
cloud_address = 10.30.0.1/24
cloud_prefixes = 10.30.0.0/16
tunnel_interface = $TBV
tunnel_address = 100.64.8.1/24
listen_port = 51827
private_key_file = ../keys/bv.key
site_countries = FR
EOF
rp site add st a --allowed-ips 10.120.7.0/24 --keepalive 25 >"$T/a.conf" 2>"$T/a.err" &&
	rp site add st b --allowed-ips 10.120.8.0/24 >"$T/b.conf" 2>"$T/b.err" ||
	{ fail "keyrot: site add: $(cat "$T/a.err" "$T/b.err")"; exit 1; }

# (nsenter itself, not the function gw: $! is then the daemon's pid)
nsenter --net=/run/netns/"$GW" "$REMPART" -c "$T" run >"$T/run.log" 2>&1 &
run_pid=$!
if ! wait_for 60 bash -c "nsenter --net=/run/netns/$GW ip link show $TUN >/dev/null 2>&1 &&
	grep -q 'applied' '$T/run.log'"; then
	fail "keyrot: rempart run did not come up: $(tail -3 "$T/run.log" | tr '\n' ' ')"
	exit 1
fi
ip netns exec "$CL" setsid "$PY" "$LABNET" serve "$CL" "$T/hits-cl.log" --udp 5000 >/dev/null 2>&1 </dev/null &
ip netns exec "$CB" setsid "$PY" "$LABNET" serve "$CB" "$T/hits-cb.log" --udp 5000 >/dev/null 2>&1 </dev/null &
wgq() { ip netns exec "$1" env WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go "${@:2}"; }
for x in "A $RA $WQA a" "B $RB $WQB b"; do
	set -- $x
	grep -v '^DNS' "$T/$4.conf" >"$T/$3.conf"; chmod 600 "$T/$3.conf"
	wgq "$2" wg-quick up "$T/$3.conf" >"$T/wgq$1.log" 2>&1 ||
		{ fail "keyrot: wg-quick up on router $1: $(tail -2 "$T/wgq$1.log" | tr '\n' ' ')"; exit 1; }
done
check "keyrot: before: A's LAN reaches its cloud" wait_for 10 ip netns exec "$HA" ping -c1 -W1 -q 10.20.0.10
check "keyrot: before: B reaches its cloud" wait_for 10 ip netns exec "$RB" ping -c1 -W1 -q 10.20.0.10

rp audit --json >"$T/audit0.json" 2>/dev/null
in0=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["checked"]["ingress_points"])' "$T/audit0.json" 2>/dev/null)

# ---- the overlap ------------------------------------------------------------
sed -i 's|^private_key_file = ../keys/st.key|&\nnext_private_key_file = ../keys/st.next.key\nnext_listen_port = 51818|' \
	"$T/tenants.d/st.ini"
check "keyrot: check accepts the rotation" rp check
rp apply >"$T/apply1.log" 2>&1 && pass "keyrot: apply with next_* set" ||
	fail "keyrot: apply: $(tail -3 "$T/apply1.log" | tr '\n' ' ')"
next_pub=$(wg pubkey <"$T/keys/st.next.key")
check "keyrot: $NEXT exists, up, with the next key on port 51818" \
	bash -c "nsenter --net=/run/netns/$GW ip link show $NEXT | grep -q ',UP' &&
		[ \"\$(nsenter --net=/run/netns/$GW wg show $NEXT listen-port)\" = 51818 ] &&
		[ \"\$(nsenter --net=/run/netns/$GW wg show $NEXT public-key)\" = '$next_pub' ]"
check "keyrot: every site is a peer of both tunnels, with its allowed IPs on both" \
	bash -c "for d in $TUN $NEXT; do nsenter --net=/run/netns/$GW wg show \$d allowed-ips | grep -q '10.120.7.0/24' &&
		nsenter --net=/run/netns/$GW wg show \$d allowed-ips | grep -q '10.120.8.0/24' || exit 1; done"
gw "$PY" tests/lab/attached.py "$NEXT" >"$T/att" 2>&1
check "keyrot: tunnel_in is attached to $NEXT ($(head -1 "$T/att"))" grep -Eq " tc_in=([^ ]*,)?tunnel_in(,| |\$)" "$T/att"
check "keyrot: 'iif $NEXT lookup 1017' rules (IPv4 and IPv6)" \
	bash -c "nsenter --net=/run/netns/$GW ip rule | grep -q 'iif $NEXT lookup 1017' &&
		nsenter --net=/run/netns/$GW ip -6 rule | grep -q 'iif $NEXT lookup 1017'"
rp explain --in "$NEXT" --src 10.120.7.10 --dst 10.30.0.10 --proto udp >"$T/ex1" 2>&1
check "keyrot: explain --in $NEXT: to another tenant's cloud: drop cross_tenant ($(head -1 "$T/ex1"))" \
	grep -qi 'drop.*cross_tenant\|cross_tenant.*drop' "$T/ex1"
rp explain --in "$NEXT" --src 10.99.0.1 --dst 10.20.0.10 --proto udp >"$T/ex2" 2>&1
check "keyrot: explain --in $NEXT: a source no site of st has: drop spoofed ($(head -1 "$T/ex2"))" \
	grep -qi 'spoofed' "$T/ex2"
rp explain --in "$NEXT" --src 10.120.7.10 --dst 10.20.0.10 --proto udp >"$T/ex3" 2>&1
check "keyrot: explain --in $NEXT: A's LAN to its cloud: allow ($(head -1 "$T/ex3"))" grep -qi '^allow\|allow' "$T/ex3"
# what the site installs: the printed configuration with its own private key
# in place of the placeholder (the gateway never holds it)
site_conf() { # SITE OUT [--current]
	local key
	key=$(sed -n 's/^PrivateKey = //p' "$T/$1.conf")
	rp site config st "$1" ${3:-} 2>"$2.err" | sed "s|^PrivateKey = .*|PrivateKey = $key|" >"$2"
}
site_conf a "$T/a-next.conf"
check "keyrot: site config prints the next key and port" \
	bash -c "grep -qx 'PublicKey = $next_pub' '$T/a-next.conf' && grep -qx 'Endpoint = 198.18.0.1:51818' '$T/a-next.conf' &&
		grep -q 'next_listen_port 51818' '$T/a-next.conf.err'"
site_conf a "$T/a-cur.conf" --current
check "keyrot: site config --current prints the current key and port" \
	bash -c "grep -qx 'Endpoint = 198.18.0.1:51817' '$T/a-cur.conf' && ! grep -q '$next_pub' '$T/a-cur.conf'"
# the uplink's geo-fence on the second port: a handshake-sized datagram
# from outside FR to 51818 is dropped and counted
counter() { # TENANT REASON: packets
	rp status --json 2>/dev/null | "$PY" -c 'import json, sys
d = json.load(sys.stdin)
t = [x for x in d["tenants"] if x["name"] == sys.argv[1]][0]
print((t["counters"].get(sys.argv[2]) or {}).get("packets", 0))' "$1" "$2"
}
# (the same datagram to the current port first: the control)
for port in 51817 51818; do
	b=$(counter st geo_site)
	ip netns exec "$RX" "$PY" -c 'import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3): s.sendto(b"\x01" + bytes(147), ("198.18.0.1", int(sys.argv[1])))' $port
	sleep 0.5
	a=$(counter st geo_site)
	check "keyrot: uplink geo-fence on port $port: from outside FR dropped, counted st/geo_site ($b -> $a)" \
		test "${a:-0}" -gt "${b:-0}"
done
rp explain --in "$UP" --src 198.18.0.66 --dst 198.18.0.1 --proto udp --dport 51818 >"$T/ex4" 2>&1
echo "# explain: $(head -1 "$T/ex4")"

# ---- site A moves under a 20 ms ping; B stays -------------------------------
ip netns exec "$HA" ping -i 0.02 -c 250 -W 1 10.20.0.10 >"$T/pingA.log" 2>&1 &
ping_pid=$!
sleep 0.5
ip netns exec "$RA" wg syncconf "$WQA" <(wg-quick strip "$T/a-next.conf")
wait_for 10 grep -q "keyrot: site a of tenant st is on $NEXT" "$T/run.log" ||
	fail "keyrot: the daemon never routed A through $NEXT: $(tail -2 "$T/run.log" | tr '\n' ' ')"
wait $ping_pid; ping_pid=
ping_lost "$T/pingA.log"
ms=$(grep "keyrot: site a of tenant st is on $NEXT" "$T/run.log" | tail -1 | sed -n 's/.*follow, \([0-9.-]*\) ms.*/\1/p')
echo "# A's move: ${tx:-?} pings every 20 ms, $lost lost; its routes followed $ms ms after its first handshake on $NEXT"
# as in sites_router's rekey: one ping in the window as a rule, two on a
# loaded machine; an outage would lose dozens
check "keyrot: A's move under a 20 ms ping: at most two packets lost ($lost of ${tx:-?})" test -n "$tx" -a "$lost" -le 2
check "keyrot: A's routes go through $NEXT" \
	bash -c "nsenter --net=/run/netns/$GW ip route show table 1017 | grep -q '^10.120.7.0/24 dev $NEXT'"
check "keyrot: B's routes still go through $TUN" \
	bash -c "nsenter --net=/run/netns/$GW ip route show table 1017 | grep -q '^10.120.8.0/24 dev $TUN'"
check "keyrot: overlap: A (next key) reaches its cloud" ip netns exec "$HA" ping -c2 -i0.2 -W2 -q 10.20.0.10
check "keyrot: overlap: B (current key) reaches its cloud" ip netns exec "$RB" ping -c2 -i0.2 -W2 -q 10.20.0.10
got=$(ip netns exec "$CL" "$PY" "$LABNET" probe udp 10.120.7.10 5000 --timeout 2 2>/dev/null)
rp status --json >"$T/status.json" 2>/dev/null
check "keyrot: status: 1 site moved, A on $NEXT, B on $TUN" "$PY" -c 'import json, sys
t = [x for x in json.load(open(sys.argv[1]))["tenants"] if x["name"] == "st"][0]
s = {x["name"]: x for x in t["sites"]}
sys.exit(not (t["key_rotation"]["sites_moved"] == 1 and s["a"]["tunnel"] == sys.argv[2] and s["b"]["tunnel"] == sys.argv[3]))' \
	"$T/status.json" "$NEXT" "$TUN"
# through wn-NAME to another tenant: dropped, counted
# router A, hostile: sends bv's cloud prefix into its tunnel too
ip netns exec "$RA" wg set "$WQA" peer "$next_pub" allowed-ips "10.20.0.0/16,100.64.7.0/24,10.120.8.0/24,10.30.0.0/16"
ip -n "$RA" route add 10.30.0.0/16 dev "$WQA"
b=$(counter st cross_tenant)
ip netns exec "$HA" "$PY" "$LABNET" probe udp 10.30.0.10 5000 --timeout 1 >/dev/null 2>&1
ip netns exec "$HA" ping -c2 -i0.2 -W1 -q 10.30.0.10 >/dev/null 2>&1
a=$(counter st cross_tenant)
check "keyrot: A through $NEXT to tenant bv's cloud: dropped, counted st/cross_tenant ($b -> $a)" \
	test "${a:-0}" -gt "${b:-0}"
check "keyrot: bv's cloud never saw A" bash -c "! grep -q '10.120.7.10' '$T/hits-cb.log'"
rp audit --json >"$T/audit.json" 2>"$T/audit.err"; arc=$?
in1=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["checked"]["ingress_points"])' "$T/audit.json" 2>/dev/null)
check "keyrot: audit proves the state (exit $arc), $NEXT one more ingress point (${in0:-?} -> ${in1:-?})" \
	test "$arc" = 0 -a -n "$in0" -a "${in1:-0}" = "$(( ${in0:-0} + 1 ))"
[ "$arc" = 0 ] || sed -n '1,15s/^/#   /p' "$T/audit.err"

# ---- a deleted second tunnel comes back (the daemon's watch) ---------------
gw ip link del "$NEXT"
check "keyrot: the daemon recreates a deleted $NEXT" \
	wait_for 20 bash -c "nsenter --net=/run/netns/$GW wg show $NEXT listen-port 2>/dev/null | grep -qx 51818"
check "keyrot: ... and A reaches its cloud through it again" wait_for 20 ip netns exec "$HA" ping -c1 -W1 -q 10.20.0.10

# ---- B moves, then the rotation ends ----------------------------------------
site_conf b "$T/b-next.conf"
ip netns exec "$RB" wg syncconf "$WQB" <(wg-quick strip "$T/b-next.conf")
ip netns exec "$RB" ping -c1 -W2 -q 10.20.0.10 >/dev/null 2>&1
check "keyrot: B moves too" wait_for 10 grep -q "keyrot: site b of tenant st is on $NEXT" "$T/run.log"
sed -i -e 's|^private_key_file = .*|private_key_file = ../keys/st.next.key|' -e 's|^listen_port = .*|listen_port = 51818|' \
	-e '/^next_private_key_file/d' -e '/^next_listen_port/d' "$T/tenants.d/st.ini"
# the end under a 50 ms ping from each site: the gateway calls the sites at
# once from $TUN (at most 2 pings lost each); then the figures
end_pings() {
	ip netns exec "$HA" ping -i 0.05 -c 200 -W 1 10.20.0.10 >"$T/pingEndA.log" 2>&1 &
	ping_pid=$!
	ip netns exec "$RB" ping -i 0.05 -c 200 -W 1 10.20.0.10 >"$T/pingEndB.log" 2>&1 &
	ping2_pid=$!
	sleep 0.5
}
end_losses() { # HOW LOG
	local x from tx rx lost

	wait $ping_pid; ping_pid=
	wait $ping2_pid; ping2_pid=
	for x in A B; do
		case $x in A) from="from A's LAN" ;; B) from="from router B" ;; esac
		ping_lost "$T/pingEnd$x.log"
		echo "# the rotation's end by $1: site $x: ${tx:-?} pings every 50 ms $from, $lost lost"
		check "keyrot: the rotation's end by $1 under a 50 ms ping: site $x lost at most 2 ($lost of ${tx:-?})" \
			test -n "$tx" -a "$lost" -le 2 || grep -i 'keyrot\|^net:' "$2" | tail -25 | sed 's/^/#   /'
	done
}
end_pings
rp apply >"$T/apply2.log" 2>&1 && pass "keyrot: apply ending the rotation" ||
	fail "keyrot: apply ending the rotation: $(tail -3 "$T/apply2.log" | tr '\n' ' ')"
check "keyrot: after: $TUN has the next key on 51818, $NEXT is gone" \
	bash -c "[ \"\$(nsenter --net=/run/netns/$GW wg show $TUN listen-port)\" = 51818 ] &&
		[ \"\$(nsenter --net=/run/netns/$GW wg show $TUN public-key)\" = '$next_pub' ] &&
		! nsenter --net=/run/netns/$GW ip link show $NEXT >/dev/null 2>&1"
check "keyrot: the end: $TUN called both sites at once ($(grep -o 'rotation of tenant st ended.*' "$T/apply2.log" | head -1))" \
	grep -q "rotation of tenant st ended: $TUN has the next key on port 51818; 2 site key(s) called" "$T/apply2.log"
# (A has a keepalive of 25 s, B none: the call turns it on and off again)
check "keyrot: after: $TUN keeps the configured keepalives (A 25 s, B off)" \
	bash -c "[ \"\$(nsenter --net=/run/netns/$GW wg show $TUN persistent-keepalive | awk '{print \$2}' | sort | tr '\n' ' ')\" = '25 off ' ]"
end_losses "rempart apply" "$T/apply2.log"
check "keyrot: after: A reaches its cloud" ip netns exec "$HA" ping -c1 -W1 -q 10.20.0.10
check "keyrot: after: B reaches its cloud" ip netns exec "$RB" ping -c1 -W1 -q 10.20.0.10
check "keyrot: no 'iif $NEXT' rule left" bash -c "! nsenter --net=/run/netns/$GW ip rule | grep -q '$NEXT'"

# ---- a second rotation, ended by the daemon's reload (SIGHUP) ---------------
# rotate_again WHAT KEY NEXTKEY PORT LOG: a pending rotation from the tenant
# key KEY to a new NEXTKEY on PORT, applied; $NEXT is back on PORT
rotate_again() {
	(umask 077; wg genkey >"$T/keys/$3.key")
	sed -i "s|^private_key_file = ../keys/$2.key|&\\nnext_private_key_file = ../keys/$3.key\\nnext_listen_port = $4|" \
		"$T/tenants.d/st.ini"
	rp apply >"$T/$5" 2>&1 || fail "keyrot: apply ($1 rotation): $(tail -2 "$T/$5" | tr '\n' ' ')"
	check "keyrot: a $1 rotation: $NEXT back on $4" \
		bash -c "[ \"\$(nsenter --net=/run/netns/$GW wg show $NEXT listen-port 2>/dev/null)\" = $4 ]"
}
rotate_again second st.next st.n2 51819 apply3.log
n2_pub=$(wg pubkey <"$T/keys/st.n2.key")
ma=$(grep -c "keyrot: site a of tenant st is on $NEXT" "$T/run.log")
mb=$(grep -c "keyrot: site b of tenant st is on $NEXT" "$T/run.log")
site_conf a "$T/a-n2.conf"
site_conf b "$T/b-n2.conf"
ip netns exec "$RA" wg syncconf "$WQA" <(wg-quick strip "$T/a-n2.conf")
ip netns exec "$RB" wg syncconf "$WQB" <(wg-quick strip "$T/b-n2.conf")
ip netns exec "$HA" ping -c1 -W2 -q 10.20.0.10 >/dev/null 2>&1
ip netns exec "$RB" ping -c1 -W2 -q 10.20.0.10 >/dev/null 2>&1
check "keyrot: second rotation: A and B move to $NEXT" wait_for 10 bash -c \
	"[ \$(grep -c 'keyrot: site a of tenant st is on $NEXT' '$T/run.log') -gt $ma ] &&
	 [ \$(grep -c 'keyrot: site b of tenant st is on $NEXT' '$T/run.log') -gt $mb ]"
# the daemon killed (SIGKILL) and started again during the overlap: wn-NAME
# (the same link) and each site's routes are as they were
route_dev() { # PREFIX: the device of its route in st's table
	nsenter --net=/run/netns/"$GW" ip route show table 1017 "$1" | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -1
}
nidx=$(gw ip -o link show "$NEXT" 2>/dev/null | cut -d: -f1)
kill -9 "$run_pid"; wait "$run_pid" 2>/dev/null
nrun=$(grep -c 'run: .* applied' "$T/run.log")
nsenter --net=/run/netns/"$GW" "$REMPART" -c "$T" run >>"$T/run.log" 2>&1 &
run_pid=$!
check "keyrot: the daemon, killed (SIGKILL), starts again during the overlap" \
	wait_for 60 bash -c "[ \$(grep -c 'run: .* applied' '$T/run.log') -gt $nrun ]"
check "keyrot: ... $NEXT is the same link (ifindex ${nidx:-?})" \
	test -n "$nidx" -a "$(gw ip -o link show "$NEXT" 2>/dev/null | cut -d: -f1)" = "$nidx"
check "keyrot: ... A's and B's routes still go through $NEXT ($(route_dev 10.120.7.0/24), $(route_dev 10.120.8.0/24))" \
	test "$(route_dev 10.120.7.0/24)" = "$NEXT" -a "$(route_dev 10.120.8.0/24)" = "$NEXT"
check "keyrot: ... A and B reach their cloud" bash -c \
	"ip netns exec $HA ping -c2 -i0.2 -W2 -q 10.20.0.10 && ip netns exec $RB ping -c2 -i0.2 -W2 -q 10.20.0.10"
sed -i -e 's|^private_key_file = .*|private_key_file = ../keys/st.n2.key|' -e 's|^listen_port = .*|listen_port = 51819|' \
	-e '/^next_private_key_file/d' -e '/^next_listen_port/d' "$T/tenants.d/st.ini"
end_pings
kill -HUP "$run_pid"
check "keyrot: the daemon's reload ends it: $TUN calls both sites at once" wait_for 10 \
	grep -q "rotation of tenant st ended: $TUN has the next key on port 51819; 2 site key(s) called" "$T/run.log"
check "keyrot: after the reload: $TUN has the second next key on 51819, $NEXT is gone" \
	wait_for 10 bash -c "[ \"\$(nsenter --net=/run/netns/$GW wg show $TUN listen-port)\" = 51819 ] &&
		[ \"\$(nsenter --net=/run/netns/$GW wg show $TUN public-key)\" = '$n2_pub' ] &&
		! nsenter --net=/run/netns/$GW ip link show $NEXT >/dev/null 2>&1"
end_losses "rempart run's reload" "$T/run.log"

# ---- down -------------------------------------------------------------------
# the overlap again, then down: both tunnels go
rotate_again third st.n2 st.n3 51820 apply4.log
kill "$run_pid"; wait "$run_pid" 2>/dev/null; run_pid=
rp down >"$T/down.log" 2>&1 || fail "keyrot: down: $(tail -2 "$T/down.log" | tr '\n' ' ')"
check "keyrot: down removes $NEXT and $TUN" \
	bash -c "! nsenter --net=/run/netns/$GW ip link show $NEXT >/dev/null 2>&1 && ! nsenter --net=/run/netns/$GW ip link show $TUN >/dev/null 2>&1"
[ "$T_FAILS" -eq 0 ]
