#!/bin/bash
# bench_scaleout.sh — the figures behind docs/scale-out.md (a fleet of N
# active gateways), measured on this machine:
#  1. flow state: one full read of 10,000 flows from a flow table shaped
#     like rempart's (bench_scaleout.c), what a sync pass costs the active;
#  2. ECMP on the uplink: which of N gateways the kernel's multipath routing
#     sends each of SCALEOUT_SITES sites to (a site = its endpoint: address
#     and port; L4 hash), before and after one gateway is withdrawn, with a
#     plain multipath group (hash-threshold) and a resilient one: the share
#     of the sites of the surviving gateways that are moved anyway (each such
#     site needs a new handshake with a gateway that has no session);
#  3. the handshake storm at a takeover: X25519 operations per second on one
#     core (openssl speed), and what a gateway needs to initiate a handshake
#     with every site it takes over (5 X25519 per handshake on the
#     initiating side: its ephemeral key, es, ss, then ee and se).
# Everything runs in a namespace it creates and removes.  Environment:
# SCALEOUT_SITES (2000), SCALEOUT_FLOWS (10000), SCALEOUT_ROUNDS (5).
set -u
BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
if [ "$(id -u)" != 0 ]; then echo "bench_scaleout: needs root (BPF, namespaces)" >&2; exit 0; fi
SITES=${SCALEOUT_SITES:-2000}
ROUNDS=${SCALEOUT_ROUNDS:-5}
NS=rp-scaleout-$$
cleanup() { ip netns del "$NS" 2>/dev/null; rm -f "${T:-/nonexistent}"/*; rmdir "${T:-/nonexistent}" 2>/dev/null; }
trap cleanup EXIT
T=$(mktemp -d)

"$BUILD/bench/bench_scaleout" "${SCALEOUT_FLOWS:-10000}" "$ROUNDS" || echo "bench_scaleout: flow read failed" >&2

# --- 2. ECMP -----------------------------------------------------------------
ns() { ip -n "$NS" "$@"; }
ecmp_setup() { # N: N gateways 192.0.2.11.. behind d0; group 100 plain, 200 resilient
	ip netns del "$NS" 2>/dev/null
	ip netns add "$NS" || return 1
	ns link add d0 type veth peer name d0p && ns link add d1 type veth peer name d1p || return 1
	for l in d0 d0p d1 d1p; do ns link set "$l" up; done
	ns addr add 192.0.2.1/24 dev d0 && ns addr add 203.0.113.1/24 dev d1 || return 1
	ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.d1.rp_filter=0 || return 1
	local i ids=
	for i in $(seq 1 "$1"); do
		ns nexthop add id "$i" via "192.0.2.$((10 + i))" dev d0 || return 1
		ids=${ids:+$ids/}$i
	done
	ns nexthop add id 100 group "$ids" && ns nexthop add id 200 group "$ids" type resilient buckets 512 idle_timer 0 &&
		ns route add 198.51.100.0/25 nhid 100 && ns route add 198.51.100.128/25 nhid 200
}
where() { # DST: one "gateway" line per site (its last address byte)
	local i
	for i in $(seq 1 "$SITES"); do
		echo "route get $1 from 203.0.113.$((2 + i % 250)) iif d1 ipproto udp sport $((10000 + i * 7 % 50000)) dport 51820"
	done | ip -n "$NS" -batch - 2>/dev/null | sed -n 's/.* via 192\.0\.2\.\([0-9]*\) .*/\1/p'
}
# moved BEFORE AFTER GONE: "moved_others total_others" (sites that were not
# on the withdrawn gateway GONE but changed gateway)
moved() { paste -d' ' "$1" "$2" | awk -v g="$3" '$1 != g { t++; if ($1 != $2) m++ } END { printf "%d %d\n", m, t }'; }
for n in 2 4 8; do
	if ! ecmp_setup "$n"; then echo "bench_scaleout: ECMP namespace set-up failed" >&2; break; fi
	where 198.51.100.10 >"$T/plain0"; where 198.51.100.200 >"$T/res0"
	if [ "$(wc -l <"$T/plain0")" != "$SITES" ] || [ "$(wc -l <"$T/res0")" != "$SITES" ]; then
		echo "bench_scaleout: route lookups failed ($(wc -l <"$T/plain0") of $SITES)" >&2; break
	fi
	ns nexthop del id "$n"			# gateway .(10+n) withdrawn
	where 198.51.100.10 >"$T/plain1"; where 198.51.100.200 >"$T/res1"
	for kind in plain res; do
		read -r m tot < <(moved "$T/${kind}0" "$T/${kind}1" $((10 + n)))
		pct=$(awk -v m="$m" -v t="$tot" 'BEGIN { printf "%.2f", t ? 100 * m / t : 0 }')
		[ $kind = plain ] && what="a plain multipath group (hash-threshold)" || what="a resilient nexthop group (512 buckets)"
		printf '{"bench": "scaleout", "metric": "ecmp_moved_survivors_%s_%dgw_pct", "value": %s, "unit": "%%", "rounds": 1, "note": "%d sites (endpoint address and port, L4 hash) over %d gateways by %s: one gateway withdrawn, %d of the %d sites of the other gateways moved to another gateway too"}\n' \
			"$kind" "$n" "$pct" "$SITES" "$n" "$what" "$m" "$tot"
	done
done
ip netns del "$NS" 2>/dev/null

# --- 3. handshake storm --------------------------------------------------------
ops=$(openssl speed -seconds 1 ecdhx25519 2>/dev/null | awk '/X25519/ { v = $NF } END { print v }')
if [ -n "$ops" ]; then
	printf '{"bench": "scaleout", "metric": "x25519_ops_per_s", "value": %s, "unit": "op/s", "rounds": 1, "note": "openssl speed ecdhx25519, one core"}\n' "$ops"
	for sites in 1000 10000; do
		awk -v o="$ops" -v s="$sites" 'BEGIN { printf "{\"bench\": \"scaleout\", \"metric\": \"takeover_handshakes_%d_sites_cpu_s\", \"value\": %.3f, \"unit\": \"s\", \"rounds\": 1, \"note\": \"one core initiating a handshake with each of %d sites: 5 X25519 each at %s op/s (the sites each spend theirs in parallel); on the wire 148 + 92 bytes per site\"}\n", s, 5 * s / o, s, o }'
	done
else
	echo "bench_scaleout: openssl speed ecdhx25519 gave nothing" >&2
fi
