#!/bin/bash
# Run the libFuzzer harness of the config loader for a bounded time
# (FUZZ_TIME seconds, default 60) on the seed corpus; PASS with the number
# of executions, FAIL on a crash, a leak or a sanitizer report.
#   tests/fuzz/run.sh [HARNESS]     (default fuzz_config)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
BUILD=${BUILD:-$PWD/build}
name=${1:-fuzz_config}
bin=$BUILD/fuzz/$name
seeds=tests/fuzz/corpus/${name#fuzz_}
time=${FUZZ_TIME:-60}

if [ ! -x "$bin" ]; then
	fail "$name: $bin not built (make tests)"
	exit 1
fi
work=$(mktemp -d /tmp/rempart-fuzz-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
# New inputs go to $work/corpus; the committed seeds are only read.
mkdir -p "$work/corpus"
"$bin" -max_total_time="$time" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/" "$work/corpus" "$seeds" > "$work/log" 2>&1
rc=$?
runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p' "$work/log" | tail -1)
if [ $rc -eq 0 ] && [ -n "$runs" ]; then
	pass "$name: $runs executions in ${time}s, no crash, no leak ($(ls "$work/corpus" | wc -l) new corpus inputs)"
else
	fail "$name: libFuzzer exited $rc"
	grep -E 'ERROR|SUMMARY|==[0-9]+==|runtime error' "$work/log" | head -20 | sed 's/^/    /'
	for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
		[ -e "$a" ] || continue
		mkdir -p "$BUILD/fuzz/artifacts"
		cp "$a" "$BUILD/fuzz/artifacts/"
		echo "    artifact kept: $BUILD/fuzz/artifacts/$(basename "$a")"
	done
	exit 1
fi
