#!/bin/bash
# Runs every suite named in tests/suites (one per line: NAME COMMAND...),
# counts the PASS:/FAIL:/SKIP: lines each prints, and ends with the one line
# "N passed, N failed, N skipped".  A suite that exits non-zero without
# printing a FAIL: line counts as one failure.  SUITES=a,b runs only those.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-$PWD/build}
export REMPART=${REMPART:-$BUILD/rempart}
pass=0 fail=0 skip=0
failed_suites=()
while read -r name cmd; do
	case "$name" in ''|'#'*) continue ;; esac
	if [ -n "${SUITES:-}" ] && [[ ",$SUITES," != *",$name,"* ]]; then continue; fi
	echo "=== suite $name"
	log=$(mktemp)
	start=$(date +%s)
	bash -c "$cmd" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^PASS: ' "$log"); f=$(grep -c '^FAIL: ' "$log"); s=$(grep -c '^SKIP: ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $name exited $rc"; f=1
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	[ "$f" -gt 0 ] && failed_suites+=("$name")
	echo "=== suite $name: $p passed, $f failed, $s skipped ($(( $(date +%s) - start ))s)"
	rm -f "$log"
done < tests/suites
[ ${#failed_suites[@]} -gt 0 ] && echo "failed suites: ${failed_suites[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
