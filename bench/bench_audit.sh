#!/bin/bash
# bench_audit.sh — `rempart audit` at the benchmark scales of bench/gen/gen.py
# (issue 14 target: <= 10 s at large: 100 tenants x 100 sites, 10,000 rules,
# the whole Tor geo database).
#
# For each scale, in a network namespace "audb" with a private mount
# namespace (its own bpffs and /run/wireguard): the uplink and one cloud veth
# per tenant (their far ends up, in "audbx"), `rempart apply` of the
# generated configuration (wireguard-go tunnels), then AUDIT_ROUNDS timed runs of `rempart audit --json` (the whole
# command: reading the state, loading the programs' stateless copy, the
# walk, the kernel's confirmation).  One JSON line per scale with the median
# wall time and, as a note, what was judged (classes, packets through the
# programs) and whether it was proven.  Its baseline, measured in the same
# rounds (interleaved): `rempart diff --json` of the same state, which reads
# the same live kernel state (links, addresses, routes, rules, peers, NAT,
# the pinned policy) and compares it with the configuration; ratio = audit /
# diff, what proving isolation costs over reading and comparing that state.
# Also the apply that built the state, once (audit_<scale>_apply_ms).  The
# state is the clean apply: an audit that finds violations walks less (it
# stops a path at its first).
#
# Environment: AUDIT_SCALES (default "small medium large"), AUDIT_ROUNDS (3),
# BENCH_QUICK=1 (small only, one round).  Needs root; only the namespace it
# makes.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
REMPART=${REMPART:-$BUILD/rempart}
if [ -n "${BENCH_QUICK:-}" ]; then
	SCALES=${AUDIT_SCALES:-small}; ROUNDS=${AUDIT_ROUNDS:-1}
else
	SCALES=${AUDIT_SCALES:-small medium large}; ROUNDS=${AUDIT_ROUNDS:-3}
fi
NS=audb
FAR=audbx	# the far ends of the uplink and cloud veths: carrier, and not the gateway's
log() { echo "bench_audit: $(date -u +%T) $*" >&2; }
if [ "$(id -u)" != 0 ]; then log "needs root (namespaces, BPF)"; exit 0; fi
[ -x "$REMPART" ] || { log "$REMPART missing: make"; exit 1; }

W=$(mktemp -d /tmp/audit-bench.XXXXXX)
cleanup() {
	local p
	if [ -e "$W/mnt/$NS" ]; then
		nsenter --net=/run/netns/$NS --mount="$W/mnt/$NS" "$REMPART" -c "$W/cfg" down >/dev/null 2>&1
		for f in "$W"/cfg/state/wg/*.pid "$W"/cfg/state/wg/*.gopid; do
			[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
		done
	fi
	for p in $(ip netns pids $NS 2>/dev/null); do kill "$p" 2>/dev/null; done
	ip netns del $NS 2>/dev/null
	ip netns del $FAR 2>/dev/null
	[ -e "$W/mnt/$NS" ] && umount "$W/mnt/$NS" 2>/dev/null
	umount "$W/mnt" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$W/mnt" && mount --bind "$W/mnt" "$W/mnt" && mount --make-private "$W/mnt" || exit 1
rp() { nsenter --net=/run/netns/$NS --mount="$W/mnt/$NS" "$REMPART" -c "$W/cfg" "$@"; }

stats() {	# METRIC NOTE "values..." ["baseline values..."]
	python3 - "$@" <<'PY'
import json, statistics, sys
m, note = sys.argv[1], sys.argv[2]
v = [float(x) for x in sys.argv[3].split()]
b = [float(x) for x in sys.argv[4].split()] if len(sys.argv) > 4 else []
if v:
    o = {"bench": "audit", "metric": m, "value": round(statistics.median(v), 1),
         "min": round(min(v), 1), "max": round(max(v), 1), "unit": "ms",
         "rounds": len(v), "note": note}
    if b:
        o["baseline"] = round(statistics.median(b), 1)
        o["ratio"] = round(statistics.median(v) / statistics.median(b), 2)
    print(json.dumps(o))
PY
}

rc=0
for scale in $SCALES; do
	cleanup_scale() {
		rp down >/dev/null 2>&1
		for p in $(ip netns pids $NS 2>/dev/null); do kill "$p" 2>/dev/null; done
		ip netns del $NS 2>/dev/null
		ip netns del $FAR 2>/dev/null
		umount "$W/mnt/$NS" 2>/dev/null
		rm -rf "$W/cfg"
	}
	python3 "$TOP/bench/gen/gen.py" "$scale" "$W/cfg" --rempart "$REMPART" 2>/dev/null ||
		{ log "$scale: gen.py failed"; rc=1; continue; }
	ip netns add $NS || { rc=1; continue; }
	ip netns add $FAR || { ip netns del $NS; rc=1; continue; }
	ip -n $NS link set lo up
	ip netns exec $NS sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip link add cmpup netns $NS type veth peer name cmpupx netns $FAR
	ip -n $FAR link set cmpupx up
	ip -n $NS link set cmpup up
	ip -n $NS addr add 192.0.2.1/24 dev cmpup
	ip -n $NS addr add 2001:db8::1/64 dev cmpup nodad
	for t in $(ls "$W/cfg/tenants.d" | sed 's/\.ini$//'); do
		echo "link add cl-$t type veth peer name cx-$t netns $FAR"
		echo "link set cl-$t up"
	done | ip -n $NS -batch -
	# the cloud side has carrier, as in service, from another namespace (an
	# interface of the gateway's that rempart does not manage and that
	# forwards is an ingress point of its own for the audit)
	for t in $(ls "$W/cfg/tenants.d" | sed 's/\.ini$//'); do
		echo "link set cx-$t up"
	done | ip -n $FAR -batch -
	touch "$W/mnt/$NS"
	nsenter --net=/run/netns/$NS unshare --mount="$W/mnt/$NS" --propagation private sh -c \
		'mount -t sysfs sysfs /sys && mount -t bpf bpf /sys/fs/bpf && mkdir -p /run/wireguard && mount -t tmpfs -o mode=0700 tmpfs /run/wireguard' ||
		{ log "$scale: no private mount namespace"; cleanup_scale; rc=1; continue; }
	t0=${EPOCHREALTIME/[.,]/}
	if ! rp apply >"$W/apply.log" 2>&1; then
		log "$scale: apply failed: $(tail -n 3 "$W/apply.log" | tr '\n' ' ')"
		cleanup_scale; rc=1; continue
	fi
	apply_ms=$(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 ))
	log "$scale: applied in $apply_ms ms"
	stats "audit_${scale}_apply_ms" "rempart apply from nothing, the state the audit reads" "$apply_ms"
	times=() base=() note=""
	for r in $(seq 1 "$ROUNDS"); do
		t0=${EPOCHREALTIME/[.,]/}
		rp diff --json >"$W/diff.json" 2>"$W/diff.err"
		drc=$?
		t1=${EPOCHREALTIME/[.,]/}
		if [ $drc != 0 ]; then
			log "$scale: diff exit $drc: $(head -n 2 "$W/diff.err" | tr '\n' ' ')"
		else
			base+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b - a) / 1000}')")
		fi
		t0=${EPOCHREALTIME/[.,]/}
		rp audit --json >"$W/audit.json" 2>"$W/audit.err"
		arc=$?
		t1=${EPOCHREALTIME/[.,]/}
		if [ $arc != 0 ] && [ $arc != 3 ]; then
			log "$scale: audit exit $arc: $(head -n 2 "$W/audit.err" | tr '\n' ' ')"
			rc=1
			break
		fi
		times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b - a) / 1000}')")
		note=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = d["checked"]
print("%s: %d tenants, %d ingress points, %d classes, %d packets through the programs%s" % (
    "proven" if d["proven"] else "%d violations" % len(d["violations"]), c["tenants"],
    c["ingress_points"], c["paths"], d.get("probes", 0),
    "" if d["proven"] else " (" + d["violations"][0]["kind"] + ")"))' "$W/audit.json")
	done
	[ ${#times[@]} -gt 0 ] && stats "audit_${scale}_ms" \
		"$note; baseline: rempart diff --json of the same state" "${times[*]}" "${base[*]}"
	cleanup_scale
done
exit $rc
