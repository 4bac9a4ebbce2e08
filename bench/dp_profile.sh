#!/bin/bash
# bench/dp_profile.sh — where a packet's nanoseconds go in cloud_in and
# tunnel_in, by bisection: bpftool's `prog profile` is not built in
# Debian 12's bpftool and perf does not see into BPF programs here, so each
# patch in bench/profile/ is applied to a copy of bpf/, compiled, and
# measured by bench_dataplane (DP_OBJ) against this build's unpatched
# object, interleaved, at 10 rules.  The numbered patches stop the
# programs earlier and earlier (1-return: the harness alone; 2-nojudge:
# parse, interface, accounting; 3-src, 4-dst: the two trie walks;
# 5-policy: the rule table; the unpatched object adds the flow and
# fragment state), so the difference between two consecutive lines is
# what a step costs.  The inline-* patches keep every verdict and change
# what is a global function; the rules-* patches split the rule table's
# cost (its hash lookup, its port search) and keep the frames' verdict.
# A cut changes verdicts: the numbers are for
# cost only.  Indicative on a shared machine: it prints, per variant and
# program, the minimum and the median of (program ns - xdp_pass ns in the
# same round) over ROUNDS runs x 3 rounds.
#
# Usage: bench/dp_profile.sh [PATCH...]   (default: every bench/profile/*.patch)
#   DP_PROFILE_ROUNDS (3), DP_REPEAT (300000)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top/build}
CLANG=${CLANG:-clang}
if [ "$(id -u)" != 0 ]; then echo "dp_profile: needs root (BPF)" >&2; exit 0; fi
if [ ! -x "$BUILD/bench/bench_dataplane" ]; then echo "dp_profile: make bench-bins first" >&2; exit 1; fi
[ $# -gt 0 ] || set -- "$top"/bench/profile/*.patch
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
arch=$(uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
cflags="-g -O2 -target bpf -D__TARGET_ARCH_$arch -Wall -Wno-unused-parameter -Wno-unused-function
	-Wno-unused-variable -Wno-unused-but-set-variable -Wno-unused-label -I bpf
	-I /usr/include/$(uname -m)-linux-gnu"
build() {	# build NAME [PATCH]
	rm -rf "$tmp/src" && mkdir -p "$tmp/src" && cp -r "$top/bpf" "$tmp/src/"
	if [ $# -gt 1 ] && ! patch -s -d "$tmp/src" -p1 < "$2"; then
		echo "dp_profile: $2 does not apply to bpf/ any more: refresh it" >&2; return 1
	fi
	# shellcheck disable=SC2086
	(cd "$tmp/src" && $CLANG $cflags -c bpf/rempart.bpf.c -o "$tmp/$1.o")
}
names=(full)
build full
for p in "$@"; do
	n=$(basename "$p" .patch)
	build "$n" "$p" && names+=("$n")
done
for ((r = 0; r < ${DP_PROFILE_ROUNDS:-3}; r++)); do
	for n in "${names[@]}"; do
		DP_OBJ="$tmp/$n.o" DP_COUNTS=10 DP_VETH=0 "$BUILD/bench/bench_dataplane" 3 "${DP_REPEAT:-300000}" 2>/dev/null |
			sed "s/^/$n /"
	done
done | python3 -c '
import sys, json, statistics, collections
above = collections.defaultdict(list)
order = []
for line in sys.stdin:
    n, j = line.split(" ", 1)
    j = json.loads(j)
    if n not in order:
        order.append(n)
    # "<prog>_ns_10_rules" against xdp_pass (not tc_pass_*, *_vs_tc_pass)
    if "_ns_" in j["metric"] and j["metric"].endswith("_rules") and "baseline" in j:
        above[(n, j["metric"].split("_ns_")[0])].append(j["value"] - j["baseline"])
progs = ["uplink_in", "cloud_in", "tunnel_in", "uplink_out"]
print("%-16s" % "ns above xdp_pass" + "".join("%22s" % p for p in progs))
for n in order:
    cells = []
    for p in progs:
        v = above.get((n, p))
        cells.append("%22s" % ("min %3d, median %5.1f" % (min(v), statistics.median(v)) if v else "-"))
    print("%-16s" % n + "".join(cells))
'
