#!/bin/bash
# bench_apply.sh — `apply` for 100 tenants x 100 sites (10,000 WireGuard
# peers, 20,000 routes) from nothing, and a one-site change against that
# running state (issue 4 targets: <= 10 s and <= 100 ms on this machine),
# and a one-rule change (one tenant's rule gets a second port) after it.
#
# Everything runs in a network namespace "tnbench" (100 cloud veth pairs, an
# uplink veth) and a private mount namespace with its own bpffs.  Two
# measures each:
#   net      net_apply() alone (links, addresses, routes, rules, WireGuard,
#            NAT), timed inside build/tests/unit/test_tn_netdrv;
#   rempart  the whole `rempart apply` (net + BPF dataplane), wall clock.
# Without kernel WireGuard (this machine) each tenant is one wireguard-go
# process started and supervised by rempart.  One JSON line per metric.
# TENANTS / SITES / ROUNDS override the sizes, BENCH_NS the namespace's name.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-$PWD/build}
REMPART=${REMPART:-$BUILD/rempart}
DRV=$BUILD/tests/unit/test_tn_netdrv
TENANTS=${TENANTS:-100}
SITES=${SITES:-100}
ROUNDS=${ROUNDS:-3}

if [ "$(id -u)" != 0 ]; then echo "bench_apply: needs root, skipped" >&2; exit 0; fi
if [ ! -x "$DRV" ]; then echo "bench_apply: $DRV missing (make tests)" >&2; exit 1; fi
if [ -z "${TN_PRIVATE_NS:-}" ]; then
	TN_PRIVATE_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
mount -t bpf bpf /sys/fs/bpf || { echo "bench_apply: cannot mount bpffs" >&2; exit 1; }
# wireguard-go's sockets in a directory of this run (/run/wireguard is shared)
mkdir -p /run/wireguard && mount -t tmpfs -o mode=0700 tmpfs /run/wireguard ||
	{ echo "bench_apply: cannot mount /run/wireguard" >&2; exit 1; }

T=$(mktemp -d /tmp/tn-bench.XXXXXX)
chmod 700 "$T"
umask 077
CFG=$T/etc
NS=${BENCH_NS:-tnbench}
gw() { nsenter --net=/run/netns/$NS "$@"; }
cleanup() {
	gw "$DRV" "$CFG" down >/dev/null 2>&1
	gw "$REMPART" -c "$CFG" down >/dev/null 2>&1
	for f in "$T"/state/wg/*.pid "$T"/state/wg/*.gopid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	ip netns del $NS 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

ip netns add $NS
ip -n $NS link set lo up
ip -n $NS link add tnbup0 type veth peer name tnbupp
ip -n $NS link set tnbup0 up
ip -n $NS link set tnbupp up
ip -n $NS addr add 192.0.2.1/24 dev tnbup0
ip -n $NS route add default via 192.0.2.254
for i in $(seq 1 "$TENANTS"); do
	echo "link add tnbc$i type veth peer name tnbp$i"
	echo "link set tnbc$i up"
	echo "link set tnbp$i up"
done | ip -n $NS -batch -

mkdir -p "$CFG/tenants.d" "$CFG/keys" "$T/state"
python3 - "$CFG" "$T/state" "$TENANTS" "$SITES" <<'PY'
import base64, os, sys
cfg, state, nt, ns = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def key():
    k = bytearray(os.urandom(32)); k[0] &= 248; k[31] = (k[31] & 127) | 64
    return base64.b64encode(bytes(k)).decode()
open(cfg + '/rempart.ini', 'w').write(f"""[gateway]
name = tn-bench
uplink = tnbup0
public_endpoint = 192.0.2.1
tenants = tenants.d
state_dir = {state}
fail_mode = open
[geo]
ipv4 = geo.txt
format = cidr
unknown = allow
[metrics]
listen =
""")
open(cfg + '/geo.txt', 'w').write('192.0.2.0/24,FR\n')
for i in range(1, nt + 1):
    fd = os.open(f'{cfg}/keys/t{i}.key', os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, (key() + '\n').encode()); os.close(fd)
    with open(f'{cfg}/tenants.d/t{i}.ini', 'w') as f:
        f.write(f"""[tenant]
name = t{i}
id = {i}
cloud_interface = tnbc{i}
cloud_address = 10.20.0.1/24
cloud_prefixes = 10.20.0.0/16
tunnel_interface = tnbw{i}
tunnel_address = 100.64.{i}.1/24
listen_port = {30000 + i}
private_key_file = ../keys/t{i}.key
site_countries = FR
egress = {'nat' if i % 2 else 'none'}
""")
        for j in range(ns):
            f.write(f"\n[site s{j}]\npublic_key = {key()}\nallowed_ips = 10.{100 + j // 256}.{j % 256}.0/24\n")
        f.write("\n[rule web]\nfrom = sites\nto = 10.20.1.0/24\nproto = tcp\nports = 443\naction = allow\n")
PY

stats() {	# bench metric unit values... -> one JSON line (median, min, max)
	local bench=$1 metric=$2 unit=$3; shift 3
	python3 - "$bench" "$metric" "$unit" "$@" <<'PY'
import json, statistics, sys
b, m, u, vals = sys.argv[1], sys.argv[2], sys.argv[3], [float(v) for v in sys.argv[4:]]
if vals:
    print(json.dumps({"bench": b, "metric": m, "value": round(statistics.median(vals), 2),
                      "min": round(min(vals), 2), "max": round(max(vals), 2), "unit": u,
                      "rounds": len(vals)}))
PY
}
# Timestamps without a fork: bash's clock in microseconds (a `date` process
# on each side would add its own start and exit, some 2 ms, to a measure).
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", (b - a) / 1000}'; }
drv_ms() { sed -n 's/.* ms \([0-9.]*\)$/\1/p'; }
ONE=$CFG/tenants.d/t$(( (TENANTS + 1) / 2 )).ini
flip_site() {	# add or remove a second prefix on one site
	if grep -q '10.250.0.0/24' "$ONE"; then
		sed -i 's|, 10.250.0.0/24||' "$ONE"
	else
		sed -i '0,/^allowed_ips = .*/s||&, 10.250.0.0/24|' "$ONE"
	fi
}

flip_rule() {	# one rule's ports: 443 <-> 443, 8443
	if grep -q '^ports = 443, 8443$' "$ONE"; then
		sed -i 's/^ports = 443, 8443$/ports = 443/' "$ONE"
	else
		sed -i 's/^ports = 443$/ports = 443, 8443/' "$ONE"
	fi
}

peers=$((TENANTS * SITES))
full_net=() full_rp=() one_net=() one_rp=() noop_net=() rule_rp=()
for r in $(seq 1 "$ROUNDS"); do
	# net_apply alone, from nothing, then a one-site change, then a no-op
	out=$(gw "$DRV" "$CFG" apply) || { echo "bench_apply: apply failed: $out" >&2; exit 1; }
	full_net+=("$(echo "$out" | drv_ms)")
	flip_site
	one_net+=("$(gw "$DRV" "$CFG" apply | drv_ms)")
	noop_net+=("$(gw "$DRV" "$CFG" apply | drv_ms)")
	gw "$DRV" "$CFG" down >/dev/null
	# the whole `rempart apply`
	t0=${EPOCHREALTIME/[.,]/}
	gw "$REMPART" -c "$CFG" apply >/dev/null 2>"$T/err" || {
		cat "$T/err" >&2
		for f in "$T"/state/wg/*.log; do [ -s "$f" ] && { echo "== $f" >&2; tail -3 "$f" >&2; }; done | head -20 >&2
		exit 1
	}
	t1=${EPOCHREALTIME/[.,]/}
	full_rp+=("$(elapsed "$t0" "$t1")")
	flip_site
	t0=${EPOCHREALTIME/[.,]/}
	gw "$REMPART" -c "$CFG" apply >/dev/null 2>"$T/err" || { cat "$T/err" >&2; exit 1; }
	t1=${EPOCHREALTIME/[.,]/}
	one_rp+=("$(elapsed "$t0" "$t1")")
	flip_rule
	t0=${EPOCHREALTIME/[.,]/}
	gw "$REMPART" -c "$CFG" apply >/dev/null 2>"$T/err" || { cat "$T/err" >&2; exit 1; }
	t1=${EPOCHREALTIME/[.,]/}
	rule_rp+=("$(elapsed "$t0" "$t1")")
	gw "$REMPART" -c "$CFG" down >/dev/null 2>&1
done
echo "bench_apply: $TENANTS tenants x $SITES sites = $peers peers, backend $(gw "$DRV" "$CFG" down | sed 's/.*backend \([^ ]*\).*/\1/')" >&2
stats apply net_from_nothing_${peers}_peers ms "${full_net[@]}"
stats apply net_one_site_change ms "${one_net[@]}"
stats apply net_noop ms "${noop_net[@]}"
stats apply rempart_from_nothing_${peers}_peers ms "${full_rp[@]}"
stats apply rempart_one_site_change ms "${one_rp[@]}"
stats apply rempart_one_rule_change ms "${rule_rp[@]}"
