#!/bin/bash
# sites_router: a real site, configured only by what `rempart site add`
# printed.  A site router installs that file with `wg-quick up`
# (WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go) and has a LAN with a
# host behind it; its WAN is in an allowed country (FR in the suite's geo
# file).  Then: the LAN reaches the cloud over IPv4 and IPv6 (TCP, UDP), the
# router pings the gateway's tunnel address, the cloud its cloud address,
# `site rekey` under a continuous ping (20 ms) loses at most two packets and
# the previous key gets no handshake afterwards (figures over RS_REKEY_RUNS
# runs), a rekey is rolled back by `apply --confirm`, and every bad input
# gets one clear error and changes nothing.
#
#  rsh (LAN host)            rsr (site router, wg-quick)         rsg (gateway: rempart run)        rsc (cloud)
#  eth0 10.120.7.10/24 ═══ lan 10.120.7.1/24          wan 198.18.0.11/24 ═══ up 198.18.0.1/24
#       fd10:7::10/64          fd10:7::1/64                                  wg-st<pid> 100.64.7.1/24, fd64:7::1/64
#       default via .1         <wg> Address = tunnel_ip                      cl ══════════════ eth0 10.20.0.10/24
#                              (100.64.7.2/32, fd64:7::2/128)                10.20.0.1/24            fd00:20::10/64
#                                                                            fd00:20::1/64
# Names carry this shell's pid: rsg$$ rsr$$ rsh$$ rsc$$; all removed on exit.
# RS_REKEY_RUNS (default 5): rekeys measured under the continuous ping.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/e2e/ops_lib.sh
op_private_bpffs "$0" "$@"
N=$$
GW=rsg$N RT=rsr$N LH=rsh$N CL=rsc$N
UP=su$N CLIF=sc$N TUN=wg-st$N WGQ=rs$N OLDIF=ro$N
T=$(mktemp -d /tmp/sites_router.XXXXXX)
PY=/usr/bin/python3
LABNET=$PWD/tests/lab/labnet.py
RUNS=${RS_REKEY_RUNS:-5}
T0=$(date +%s)
at() { echo "# t=$(( $(date +%s) - T0 ))s: $*"; }
gw() { nsenter --net=/run/netns/"$GW" "$@"; }
rp() { gw "$REMPART" -c "$T" "$@"; }

cleanup() {
	local p
	[ -n "${ping_pid:-}" ] && kill "$ping_pid" 2>/dev/null
	[ -n "${run_pid:-}" ] && kill "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
	[ -e /run/netns/"$RT" ] && ip netns exec "$RT" wg-quick down "$T/$WGQ.conf" >/dev/null 2>&1
	at "cleanup: router down"
	[ -e /run/netns/"$GW" ] && rp down >/dev/null 2>&1
	at "cleanup: rempart down"
	for ns in "$GW" "$RT" "$LH" "$CL"; do
		[ -e /run/netns/"$ns" ] || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
	done
	sleep 0.2
	for ns in "$GW" "$RT" "$LH" "$CL"; do
		[ -e /run/netns/"$ns" ] || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$ns"
	done
	# the rollback timer of `apply --confirm`, if it outlived the test
	[ -f "$T/state/confirm/timer.pid" ] && kill "$(cat "$T/state/confirm/timer.pid")" 2>/dev/null
	rm -f /var/run/wireguard/"$TUN".sock /var/run/wireguard/"$WGQ".sock /var/run/wireguard/"$OLDIF".sock
	rm -rf "$T"
	at "cleanup: done"
}
trap cleanup EXIT
for c in wireguard-go wg-quick wg; do
	command -v $c >/dev/null || { skip "sites_router: $c not installed"; exit 0; }
done
[ "$(id -u)" = 0 ] || { skip "sites_router: needs root"; exit 0; }
ip netns add "$GW" && ip netns add "$RT" && ip netns add "$LH" && ip netns add "$CL" ||
	{ skip "sites_router: cannot create network namespaces"; exit 0; }
for ns in "$GW" "$RT" "$LH" "$CL"; do
	ip netns exec "$ns" sh -c 'ip link set lo up; sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0'
done
ip link add "$UP" netns "$GW" type veth peer name wan netns "$RT"
ip link add lan netns "$RT" type veth peer name eth0 netns "$LH"
ip link add "$CLIF" netns "$GW" type veth peer name eth0 netns "$CL"
ip -n "$GW" addr add 198.18.0.1/24 dev "$UP"
ip -n "$RT" addr add 198.18.0.11/24 dev wan
ip -n "$RT" addr add 10.120.7.1/24 dev lan
ip -n "$RT" addr add fd10:7::1/64 dev lan nodad
ip -n "$LH" addr add 10.120.7.10/24 dev eth0
ip -n "$LH" addr add fd10:7::10/64 dev eth0 nodad
ip -n "$CL" addr add 10.20.0.10/24 dev eth0
ip -n "$CL" addr add 10.20.0.53/24 dev eth0
ip -n "$CL" addr add fd00:20::10/64 dev eth0 nodad
for l in "$UP" "$CLIF"; do ip -n "$GW" link set "$l" up; done
for l in wan lan; do ip -n "$RT" link set "$l" up; done
ip -n "$LH" link set eth0 up
ip -n "$CL" link set eth0 up
ip -n "$LH" route add default via 10.120.7.1
ip -n "$LH" -6 route add default via fd10:7::1
ip -n "$CL" route add default via 10.20.0.1 dev eth0 onlink
ip -n "$CL" -6 route add default via fd00:20::1 dev eth0 onlink
ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

mkdir -p "$T/tenants.d" "$T/keys" "$T/state"
(umask 077; wg genkey >"$T/keys/st.key")
printf '198.18.0.0/24,FR\n' >"$T/geo.csv"
cat >"$T/rempart.ini" <<EOF
[gateway]
name = gw-sites
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
cloud_address = 10.20.0.1/24, fd00:20::1/64
cloud_prefixes = 10.20.0.0/16, fd00:20::/48
tunnel_interface = $TUN
tunnel_address = 100.64.7.1/24, fd64:7::1/64
listen_port = 51817
private_key_file = ../keys/st.key
site_countries = FR
mtu = 1380
site_dns = 10.20.0.53
EOF

# ---- the gateway -----------------------------------------------------------
# As under systemd (ProtectSystem=strict), the daemon cannot write the
# configuration: tenants.d and keys are read-only in its own mount namespace.
unshare --mount --propagation private sh -c "mount --bind -o ro '$T/tenants.d' '$T/tenants.d' &&
	mount --bind -o ro '$T/keys' '$T/keys' &&
	exec nsenter --net=/run/netns/$GW '$REMPART' -c '$T' run" >"$T/run.log" 2>&1 &
run_pid=$!
if ! wait_for 60 bash -c "nsenter --net=/run/netns/$GW ip link show $TUN >/dev/null 2>&1 &&
	grep -q 'applied' '$T/run.log'"; then
	fail "sites_router: rempart run did not come up: $(tail -3 "$T/run.log" | tr '\n' ' ')"
	exit 1
fi
for ns in "$CL" "$LH"; do
	ip netns exec "$ns" setsid "$PY" "$LABNET" serve "$ns" "$T/hits-$ns.log" --tcp 80 --udp 5000 \
		>/dev/null 2>&1 </dev/null &
done
wait_for 5 grep -q ready "$T/hits-$CL.log"

at "rempart run is up"
# ---- site add: what the router installs --------------------------------------
if ! rp site add st rtr --allowed-ips 10.120.7.0/24,fd10:7::/64 --keepalive 25 >"$T/add.conf" 2>"$T/add.err"; then
	fail "sites_router: site add: $(cat "$T/add.err")"
	exit 1
fi
pass "sites_router: site add printed a config"
sed -n 's/^/#   /p' "$T/add.conf" | grep -v 'PrivateKey\|PresharedKey'
check "sites_router: Address is the site's tunnel_ip (/32, /128)" \
	grep -qx 'Address = 100.64.7.2/32, fd64:7::2/128' "$T/add.conf"
check "sites_router: MTU and DNS come from the tenant" \
	bash -c "grep -qx 'MTU = 1380' '$T/add.conf' && grep -qx 'DNS = 10.20.0.53' '$T/add.conf'"
check "sites_router: the tenant file names the PSK relative to itself" \
	grep -qx 'preshared_key_file = ../keys/st-rtr.psk' "$T/tenants.d/st.ini"
check "sites_router: the PSK file is 0600" test "$(stat -c %a "$T/keys/st-rtr.psk")" = 600
old_priv=$(sed -n 's/^PrivateKey = //p' "$T/add.conf")
old_pub=$(echo "$old_priv" | wg pubkey)
if rp apply >"$T/apply.log" 2>&1; then pass "sites_router: apply"; else fail "sites_router: apply: $(tail -2 "$T/apply.log")"; fi

# The router installs exactly that file; without resolvconf wg-quick cannot
# set DNS: the line is dropped (and said).
cp "$T/add.conf" "$T/$WGQ.conf"
if ! command -v resolvconf >/dev/null; then
	sed -i '/^DNS = /d' "$T/$WGQ.conf"
	echo "# resolvconf is not installed: the router's copy has no DNS line (wg-quick needs resolvconf for it)"
fi
chmod 600 "$T/$WGQ.conf"
wgq() { ip netns exec "$RT" env WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go "$@"; }
if wgq wg-quick up "$T/$WGQ.conf" >"$T/wgq.log" 2>&1; then
	pass "sites_router: wg-quick up with the printed config"
else
	fail "sites_router: wg-quick up: $(tail -3 "$T/wgq.log" | tr '\n' ' ')"
	exit 1
fi
check "sites_router: the router's tunnel has MTU 1380" \
	bash -c "ip -n $RT link show $WGQ | grep -q 'mtu 1380 '"
check "sites_router: the gateway's tunnel has MTU 1380" \
	bash -c "ip -n $GW link show $TUN | grep -q 'mtu 1380 '"

probe() { # NS PROTO HOST PORT
	ip netns exec "$1" "$PY" "$LABNET" probe "$2" "$3" "$4" --timeout 2 2>/dev/null
}
# the first packet starts the handshake
wait_for 10 ip netns exec "$LH" ping -c1 -W1 -q 10.20.0.10 >/dev/null 2>&1
for t in "tcp 10.20.0.10 80" "udp 10.20.0.10 5000" "tcp fd00:20::10 80" "udp fd00:20::10 5000"; do
	set -- $t
	got=$(probe "$LH" "$1" "$2" "$3")
	check "sites_router: LAN host -> cloud $1 [$2]:$3 through the tunnel (got '$got')" test "$got" = "$CL"
done
check "sites_router: the cloud saw the LAN host's own addresses" \
	bash -c "grep -q '^tcp 10.120.7.10 ' '$T/hits-$CL.log' && grep -q '^udp fd10:7::10 ' '$T/hits-$CL.log'"
got=$(ip netns exec "$CL" "$PY" "$LABNET" probe tcp 10.120.7.10 80 --timeout 2)
check "sites_router: cloud -> LAN host tcp (got '$got')" test "$got" = "$LH"
# the router itself: its source is its tunnel_ip, one of the site's addresses
check "sites_router: router (tunnel_ip 100.64.7.2) pings the cloud" \
	ip netns exec "$RT" ping -c2 -i0.2 -W2 -q 10.20.0.10
check "sites_router: router (tunnel_ip fd64:7::2) pings the cloud over IPv6" \
	ip netns exec "$RT" ping -6 -c2 -i0.2 -W2 -q fd00:20::10
check "sites_router: the cloud pings the router's tunnel_ip" \
	ip netns exec "$CL" ping -c2 -i0.2 -W2 -q 100.64.7.2
# docs/policy.md: the gateway answers ICMP echo on the tenant's own addresses
check "sites_router: router pings the gateway's tunnel address 100.64.7.1" \
	ip netns exec "$RT" ping -c2 -i0.2 -W2 -q 100.64.7.1
check "sites_router: router pings the gateway's tunnel address fd64:7::1" \
	ip netns exec "$RT" ping -6 -c2 -i0.2 -W2 -q fd64:7::1
# from the LAN (a source the gateway has no route for outside the tenant's
# table): the reply must leave through the tenant's own tunnel
check "sites_router: LAN host pings the gateway's tunnel address 100.64.7.1" \
	ip netns exec "$LH" ping -c2 -i0.2 -W2 -q 100.64.7.1
check "sites_router: LAN host pings the gateway's tunnel address fd64:7::1" \
	ip netns exec "$LH" ping -6 -c2 -i0.2 -W2 -q fd64:7::1
check "sites_router: cloud pings the gateway's cloud address 10.20.0.1" \
	ip netns exec "$CL" ping -c2 -i0.2 -W2 -q 10.20.0.1
check "sites_router: cloud pings the gateway's cloud address fd00:20::1" \
	ip netns exec "$CL" ping -6 -c2 -i0.2 -W2 -q fd00:20::1

at "the site works"
. tests/e2e/sites_router_rekey.sh
at "done"
[ "$T_FAILS" -eq 0 ]
