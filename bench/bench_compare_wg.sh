#!/bin/bash
# WireGuard tunnel throughput through rempart with its policy on and off,
# in the same run (issue 9 item 4).  A site namespace (wireguard-go, the
# site's own key) reaches tenant t001 of the small generated config through
# the gateway namespace where `rempart apply` made the tunnel (wireguard-go)
# and attached its programs; iperf3 (TCP, site -> cloud host, port 5201,
# allowed by the rule "fwd", made proto any for this) measures the goodput.
# "off": the same tunnel with rempart's programs detached (their link pins
# removed from the gateway's private bpffs) and its nftables table (egress
# NAT of t002) deleted; "on": `rempart apply` again.
# Rounds alternate on/off.  Prints bench_compare.sh's JSON lines.
#
# Environment: BENCH_QUICK=1 (one round of 2 s), CMP_WG_ROUNDS (3),
# CMP_WG_SECONDS (5), CMP_WG_OFF (what "off" removes, for diagnosis: words of
# "uplink_in uplink_out tunnel_in cloud_in nft"; default all).  Only namespaces named cmpw* that it creates.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
REMPART=${REMPART:-$BUILD/rempart}
if [ -n "${BENCH_QUICK:-}" ]; then ROUNDS=${CMP_WG_ROUNDS:-1}; SECS=${CMP_WG_SECONDS:-2}
else ROUNDS=${CMP_WG_ROUNDS:-3}; SECS=${CMP_WG_SECONDS:-5}; fi
log() { echo "bench_compare_wg: $(date -u +%T) $*" >&2; }
if [ "$(id -u)" != 0 ]; then log "needs root"; exit 0; fi
for t in wireguard-go wg iperf3 nsenter unshare; do
	command -v $t >/dev/null || { log "$t missing (make deps)"; exit 0; }
done
[ -x "$REMPART" ] || { log "$REMPART missing: make"; exit 1; }

W=$(mktemp -d /tmp/cmpw-bench.XXXXXX)
NSES="cmpWS cmpWG cmpWC"
cleanup() {
	local ns p
	if [ -e "$W/mnt/gw" ]; then
		nsenter --net=/run/netns/cmpWG --mount="$W/mnt/gw" "$REMPART" -c "$W/cfg" down >/dev/null 2>&1
	fi
	for ns in $NSES; do
		for p in $(ip netns pids $ns 2>/dev/null); do kill "$p" 2>/dev/null; done
	done
	sleep 0.3
	for ns in $NSES; do ip netns del $ns 2>/dev/null; done
	umount "$W/mnt/gw" 2>/dev/null
	umount "$W/mnt" 2>/dev/null
	rm -f /var/run/wireguard/cmpwgs.sock
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
emit() {
	python3 - "$@" <<'PY'
import json, statistics, sys
a = sys.argv[1:] + [''] * 5
metric, unit, vals, base, note = a[:5]
v = [float(x) for x in vals.split()]
b = [float(x) for x in base.split()]
o = {"bench": "compare_wg", "metric": metric, "unit": unit, "rounds": len(v)}
r = lambda x: round(x, 1)
if v:
    o.update(value=r(statistics.median(v)), min=r(min(v)), max=r(max(v)))
else:
    o.update(value=None, min=None, max=None)
if b and v:
    o["baseline"] = r(statistics.median(b))
    o["ratio"] = round(statistics.median(v) / statistics.median(b), 3)
if note:
    o["note"] = note
print(json.dumps(o))
PY
}
gw() { nsenter --net=/run/netns/cmpWG --mount="$W/mnt/gw" "$@"; }

# the config: small scale, t001's site s001 with a key we hold, reachable
# from the site namespace's underlay address whatever its country
python3 "$TOP/bench/gen/gen.py" small "$W/cfg" --rempart "$REMPART" 2>/dev/null || exit 1
(umask 077; wg genkey > "$W/site.key")
SITE_PUB=$(wg pubkey < "$W/site.key")
GW_PUB=$(wg pubkey < "$W/cfg/keys/t001.key")
python3 - "$W/cfg/tenants.d/t001.ini" "$SITE_PUB" <<'PY' || exit 1
import re, sys
p, pub = sys.argv[1], sys.argv[2]
s = open(p).read()
s = re.sub(r'(\[site s001\]\npublic_key = )\S+', r'\g<1>' + pub, s, count=1)
s = s.replace('[site s001]\n', '[site s001]\nallow_from = 192.0.2.2/32\n', 1)
s = re.sub(r'(\[rule fwd\][^\[]*?)proto = udp', r'\1proto = any', s, count=1)
open(p, 'w').write(s)
PY
"$REMPART" -c "$W/cfg" check >/dev/null || { log "patched config does not check"; exit 1; }

for ns in $NSES; do ip netns add $ns || exit 1; ip -n $ns link set lo up; done
ip netns exec cmpWG sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
# underlay: site cmpws0 192.0.2.2 <-> gateway uplink cmpup 192.0.2.1
ip link add cmpup netns cmpWG type veth peer name cmpws0 netns cmpWS || exit 1
ip -n cmpWG addr add 192.0.2.1/24 dev cmpup; ip -n cmpWG link set cmpup up
ip -n cmpWS addr add 192.0.2.2/24 dev cmpws0; ip -n cmpWS link set cmpws0 up
# The underlay behaves like a wire between two machines: the site's side
# sends MTU-sized frames (no UDP/TCP segmentation offload: a veth would
# otherwise carry wireguard-go's 64 KB UDP GSO batches across as one
# packet), the gateway's side receives them through NAPI with GRO, as a
# NIC's driver does.  Without this, XDP on the gateway's veth turns the
# peer's segmentation offload off by itself (veth cannot hand a GSO packet
# to XDP), so "on" would pay ~45 packets for each one "off" pays
# (CMP_WG_GSO=1 keeps the offloads, to see that artefact).
if [ -z "${CMP_WG_GSO:-}" ]; then
	ip netns exec cmpWS ethtool -K cmpws0 tso off gso off tx-udp-segmentation off >/dev/null 2>&1
	ip netns exec cmpWG ethtool -K cmpup gro on >/dev/null 2>&1
fi
# cloud: gateway cl-t001 <-> cloud host cmpwc0 10.1.200.10/16
ip link add cl-t001 netns cmpWG type veth peer name cmpwc0 netns cmpWC || exit 1
ip -n cmpWG link set cl-t001 up
ip -n cmpWC addr add 10.1.200.10/16 dev cmpwc0; ip -n cmpWC link set cmpwc0 up
ip -n cmpWC route add 10.128.0.0/16 via 10.1.0.1
for t in t002 t003; do
	ip link add cl-$t netns cmpWG type veth peer name cx-$t netns cmpWG; ip -n cmpWG link set cl-$t up
done
# the gateway's private mount namespace (bpffs for rempart's pins)
mkdir -p "$W/mnt" && mount --bind "$W/mnt" "$W/mnt" && mount --make-private "$W/mnt" && touch "$W/mnt/gw" || exit 1
nsenter --net=/run/netns/cmpWG unshare --mount="$W/mnt/gw" --propagation private sh -c \
	'mount -t sysfs sysfs /sys && mount -t bpf bpf /sys/fs/bpf && mkdir -p /run/wireguard && mount -t tmpfs -o mode=0700 tmpfs /run/wireguard' || exit 1
gw "$REMPART" -c "$W/cfg" apply >"$W/apply.log" 2>&1 || { log "rempart apply failed:"; head -5 "$W/apply.log" >&2; exit 1; }
# the site: wireguard-go, its key, the gateway as peer
WG_PROCESS_FOREGROUND=1 ip netns exec cmpWS wireguard-go cmpwgs >"$W/site-wg.log" 2>&1 &
for i in $(seq 50); do ip -n cmpWS link show cmpwgs >/dev/null 2>&1 && break; sleep 0.1; done
ip netns exec cmpWS wg set cmpwgs private-key "$W/site.key" peer "$GW_PUB" \
	endpoint 192.0.2.1:51001 allowed-ips 10.1.0.0/16 persistent-keepalive 25 || { log "site wg set failed"; exit 1; }
ip -n cmpWS addr add 10.128.0.1/24 dev cmpwgs; ip -n cmpWS link set cmpwgs up
ip -n cmpWS route add 10.1.0.0/16 dev cmpwgs
ip netns exec cmpWC iperf3 -s -D -p 5201 --logfile "$W/iperf-s.log" || { log "iperf3 server failed"; exit 1; }
sleep 0.5

attached() { ip -n cmpWG link show cmpup | grep -q ' xdp'; }
nat_table() { ip netns exec cmpWG nft list table inet rempart >/dev/null 2>&1; }
# off: rempart's programs detached and its nftables table (NAT for t002,
# which untracks the rest) deleted: nothing of rempart's on the packets' path
# CMP_WG_OFF (diagnosis): what "off" removes, a subset of the words
# "uplink_in uplink_out tunnel_in cloud_in nft" (default: all of them)
OFF_PARTS=${CMP_WG_OFF:-uplink_in uplink_out tunnel_in cloud_in nft}
policy_off() {
	local p
	for p in $OFF_PARTS; do
		case $p in
		nft) ip netns exec cmpWG nft delete table inet rempart 2>/dev/null ;;
		uplink_in) gw rm -f /sys/fs/bpf/rempart/link_xdp_cmpup ;;
		cloud_in) gw sh -c 'rm -f /sys/fs/bpf/rempart/link_xdp_cl-*' ;;
		tunnel_in) gw sh -c 'rm -f /sys/fs/bpf/rempart/link_tcin_*' ;;
		uplink_out) gw sh -c 'rm -f /sys/fs/bpf/rempart/link_tcout_*' ;;
		esac
	done
	sleep 0.3
	[ -n "${CMP_WG_OFF:-}" ] || { ! attached && ! nat_table; }
}
# on: a full apply (RP_NET_FULL: the NAT table is checked against the kernel,
# not trusted from the state file)
policy_on() { RP_NET_FULL=1 gw "$REMPART" -c "$W/cfg" apply >"$W/apply.log" 2>&1 && attached && nat_table; }
run_iperf() {	# prints Mbit/s received
	ip netns exec cmpWS iperf3 -c 10.1.200.10 -p 5201 -t "$SECS" -J 2>/dev/null |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.1f" % (d["end"]["sum_received"]["bits_per_second"] / 1e6))'
}
# warm up: the handshake and the first TCP connection, not measured
SECS_SAVED=$SECS; SECS=1; run_iperf >/dev/null; SECS=$SECS_SAVED
# "pass": off, plus the cheapest XDP program there is (XDP_PASS) on the
# uplink veth: what XDP on a veth costs by itself (veth copies each frame
# into a page of its own for XDP and builds a new skb after XDP_PASS; a NIC
# driver runs XDP on its receive buffer before any skb exists)
XDP_PASS_O=""
if command -v clang >/dev/null; then
	cat > "$W/xdp_pass.c" <<'C'
#include <linux/bpf.h>
__attribute__((section("xdp"), used)) int xdp_pass(struct xdp_md *c) { return XDP_PASS; }
__attribute__((section("license"), used)) char _license[] = "GPL";
C
	clang -O2 -target bpf -c "$W/xdp_pass.c" -o "$W/xdp_pass.o" 2>/dev/null && XDP_PASS_O=$W/xdp_pass.o
fi
xdp_pass_on() { policy_off && ip -n cmpWG link set dev cmpup xdpdrv obj "$XDP_PASS_O" sec xdp && attached; }
xdp_pass_off() { ip -n cmpWG link set dev cmpup xdpdrv off; }
MODES="on off"
[ -n "$XDP_PASS_O" ] && MODES="on off pass"
ON=""; OFF=""; PASS=""
for r in $(seq $ROUNDS); do
	# the order of the modes turns from round to round
	set -- $MODES
	order=$(for i in $(seq 0 $(( $# - 1 ))); do k=$(( (i + r - 1) % $# + 1 )); eval echo \${$k}; done)
	for mode in $order; do
		case $mode in
		on) policy_on || { log "policy on: programs not attached"; head -3 "$W/apply.log" >&2; break 2; } ;;
		off) policy_off || { log "policy off: programs still attached"; break 2; } ;;
		pass) xdp_pass_on || { log "xdp_pass: not attached"; break 2; } ;;
		esac
		v=$(run_iperf) || { log "iperf3 with the policy $mode failed"; break 2; }
		[ $mode = pass ] && xdp_pass_off
		case $mode in on) ON="$ON $v" ;; off) OFF="$OFF $v" ;; pass) PASS="$PASS $v" ;; esac
		log "round $r: policy $mode: $v Mbit/s"
	done
done
emit tunnel_mbps_off Mbit/s "$OFF" "" "iperf3 TCP site -> cloud through wireguard-go (both ends), rempart's programs detached and its nftables table deleted"
emit tunnel_mbps_on Mbit/s "$ON" "$OFF" "the same tunnel with rempart's policy attached; ratio = on / off (target >= 0.97)"
[ -n "$PASS" ] && emit tunnel_mbps_xdp_pass Mbit/s "$PASS" "$OFF" \
	"off, plus a program that only returns XDP_PASS on the uplink veth: what XDP on a veth costs by itself; ratio = xdp_pass / off"
[ -n "$PASS" ] && emit tunnel_mbps_on_vs_xdp_pass Mbit/s "$ON" "$PASS" \
	"rempart's policy against the trivial XDP program: rempart's own cost once veth's XDP cost is set aside; ratio = on / xdp_pass"
exit 0
