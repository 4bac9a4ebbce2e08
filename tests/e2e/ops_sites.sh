#!/bin/bash
# ops_sites: the rempart_site_* metrics come from the tenant's WireGuard
# device: a real site handshakes, and its last handshake and bytes show up
# in a scrape that promtool accepts.
#
#   netns opsgN (rempart run, private bpffs)       netns opspN (the site)
#   ou$$ 198.51.100.1/24 (uplink) ═══ veth ═══ op$$ 198.51.100.2/24
#   wg-opt 100.64.10.1/24 (tenant opt)            ow$$ 10.120.1.1 (wireguard-go)
#   oc$$ ═ oC$$ (cloud attachment, 10.20.0.1/24)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/e2e/ops_lib.sh
op_private_bpffs "$0" "$@"
GW=opsg$$ PE=opsp$$
T=$(mktemp -d /tmp/op_sites.XXXXXX)
PORT=$((30000 + $$ % 10000))
SITEDEV=ow$$

cleanup() {
	[ -n "${run_pid:-}" ] && kill "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
	nsenter --net=/run/netns/"$GW" "$REMPART" -c "$T" down >/dev/null 2>&1
	[ -n "${site_pid:-}" ] && kill "$site_pid" 2>/dev/null
	ip netns del "$GW" 2>/dev/null
	ip netns del "$PE" 2>/dev/null
	rm -f /var/run/wireguard/"$SITEDEV".sock
	rm -rf "$T"
}
trap cleanup EXIT
command -v wireguard-go >/dev/null || { skip "ops_sites: wireguard-go not installed"; exit 0; }
ip netns add "$GW" && ip netns add "$PE" || { skip "ops_sites: cannot create network namespaces"; exit 0; }
ip link add ou$$ netns "$GW" type veth peer name op$$ netns "$PE"
ip -n "$GW" link add oc$$ type veth peer name oC$$
ip -n "$GW" addr add 198.51.100.1/24 dev ou$$
ip -n "$PE" addr add 198.51.100.2/24 dev op$$
for l in lo ou$$ oc$$ oC$$; do ip -n "$GW" link set "$l" up; done
for l in lo op$$; do ip -n "$PE" link set "$l" up; done

mkdir -p "$T/tenants.d" "$T/keys" "$T/state"
umask 077
wg genkey >"$T/keys/opt.key"
wg genkey >"$T/keys/site.key"
gwpub=$(wg pubkey <"$T/keys/opt.key")
sitepub=$(wg pubkey <"$T/keys/site.key")
cat >"$T/rempart.ini" <<EOF2
[gateway]
name = op-gw
uplink = ou$$
public_endpoint = 198.51.100.1
tenants = tenants.d
state_dir = $T/state
fail_mode = open

[geo]
ipv4 = /usr/share/tor/geoip
ipv6 = /usr/share/tor/geoip6
format = tor

[management]
allow_from = 192.0.2.0/24
tcp_ports = 22

[metrics]
listen = 127.0.0.1:$PORT
EOF2
cat >"$T/tenants.d/opt.ini" <<EOF2
[tenant]
name = opt
id = 10
cloud_interface = oc$$
cloud_address = 10.20.0.1/24
cloud_prefixes = 10.20.0.0/16
tunnel_interface = wg-opt$$
tunnel_address = 100.64.10.1/24
listen_port = 51810
private_key_file = ../keys/opt.key
site_countries = FR

[site s1]
public_key = $sitepub
allowed_ips = 10.120.1.0/24
allow_from = 198.51.100.2/32
EOF2

nsenter --net=/run/netns/"$GW" "$REMPART" -c "$T" run 2>"$T/run.log" &
run_pid=$!
scrape() { nsenter --net=/run/netns/"$GW" curl -sf "http://127.0.0.1:$PORT/metrics"; }
if ! wait_for 90 bash -c "nsenter --net=/run/netns/$GW curl -sf -o /dev/null http://127.0.0.1:$PORT/metrics"; then
	fail "ops_sites: rempart run did not come up: $(tail -5 "$T/run.log")"
	exit 1
fi
scrape >"$T/m0"
check "ops_sites: site series present before any handshake (last handshake 0)" \
	grep -qx 'rempart_site_last_handshake_seconds{tenant="opt",site="s1"} 0' "$T/m0"

# The site: wireguard-go in its own namespace, then traffic into the tunnel.
ip netns exec "$PE" wireguard-go -f "$SITEDEV" >"$T/site.log" 2>&1 &
site_pid=$!
wait_for 5 test -S /var/run/wireguard/"$SITEDEV".sock
ip netns exec "$PE" wg set "$SITEDEV" private-key "$T/keys/site.key" \
	peer "$gwpub" endpoint 198.51.100.1:51810 allowed-ips 100.64.10.0/24
ip -n "$PE" addr add 10.120.1.1/24 dev "$SITEDEV"
ip -n "$PE" link set "$SITEDEV" up
ip -n "$PE" route add 100.64.10.0/24 dev "$SITEDEV"
t0=$(date +%s)
ip netns exec "$PE" ping -c 3 -i 0.3 -W 1 100.64.10.1 >/dev/null 2>&1
wait_for 40 bash -c "nsenter --net=/run/netns/$GW curl -sf http://127.0.0.1:$PORT/metrics |
	grep -q '^rempart_site_rx_bytes_total{tenant=\"opt\",site=\"s1\"} [1-9]'"
scrape >"$T/m1"
hs=$(awk '$1 == "rempart_site_last_handshake_seconds{tenant=\"opt\",site=\"s1\"}" { print $2 }' "$T/m1")
rx=$(awk '$1 == "rempart_site_rx_bytes_total{tenant=\"opt\",site=\"s1\"}" { print $2 }' "$T/m1")
tx=$(awk '$1 == "rempart_site_tx_bytes_total{tenant=\"opt\",site=\"s1\"}" { print $2 }' "$T/m1")
check "ops_sites: last handshake is the handshake time ($hs, test started $t0)" \
	test "${hs:-0}" -ge $((t0 - 2)) -a "${hs:-0}" -le $(($(date +%s) + 2))
site_rx=$(ip netns exec "$PE" wg show "$SITEDEV" transfer | awk '{ print $3 }')
check "ops_sites: rx bytes from the site counted ($rx > 0; the site sent $site_rx)" \
	test "${rx:-0}" -gt 0 -a "${rx:-0}" -le "${site_rx:-0}"
check "ops_sites: tx bytes to the site counted ($tx > 0)" test "${tx:-0}" -gt 0
if out=$(promtool check metrics <"$T/m1" 2>&1); then
	pass "ops_sites: promtool accepts the scrape with site series"
else
	fail "ops_sites: promtool: $out"
fi
# fail_mode = open: SIGTERM detaches the programs and removes the pins.
check "ops_sites: (fail_mode = open) the dataplane is pinned while running" test -e /sys/fs/bpf/rempart/rp_state
check "ops_sites: (fail_mode = open) XDP attached to the uplink while running" \
	bash -c "nsenter --net=/run/netns/$GW ip -d link show ou$$ 2>/dev/null | grep -q 'prog/xdp'"
kill -TERM "$run_pid"; wait "$run_pid"; rc=$?; run_pid=
check "ops_sites: fail_mode = open: SIGTERM exits 0" test "$rc" -eq 0
check "ops_sites: fail_mode = open: the pinned state is gone after exit" test ! -e /sys/fs/bpf/rempart/rp_state
check "ops_sites: fail_mode = open: no XDP program left on the uplink" \
	bash -c "! nsenter --net=/run/netns/$GW ip -d link show ou$$ 2>/dev/null | grep -q 'prog/xdp'"
check "ops_sites: fail_mode = open: logged" grep -q 'fail_mode = open: detaching' "$T/run.log"
[ "$T_FAILS" -eq 0 ]
