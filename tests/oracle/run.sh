#!/bin/bash
# run.sh — the invariant oracle suite (docs/testing.md "The invariant
# oracle"): brings the lab up (tests/lab), runs build/tests/oracle/oracle in
# the gateway's namespaces (network, and the mount namespace that holds the
# pinned programs and maps), tears the lab down.
#
#   ORACLE_PACKETS  packets (default 10000000)
#   ORACLE_SEED     seed (default: a new one, printed)
#   ORACLE_FOUND    where violations are saved for --replay (default
#                   $BUILD/oracle-found)
#   ORACLE_EXAMPLES violations printed and saved per invariant (default 3)
#   ORACLE_REPLAY   replay files: replay them instead of generating
#
# Every tests/oracle/found/*.replay is replayed too (one PASS/FAIL line
# each: FAIL while the violation it records still reproduces).
#
# Replay by hand in a lab that is up:
#   tests/lab/lab.sh exec rp-gw build/tests/oracle/oracle -c /run/rempart-lab/config --replay FILE
. "$(dirname "$0")/../lab/e2e-lib.sh"
E2E=oracle
ORACLE=$BUILD/tests/oracle/oracle
[ -x "$ORACLE" ] || { fail "oracle: no $ORACLE (make tests)"; exit 0; }
lab_begin
if need_rempart "oracle"; then
	if [ -n "${ORACLE_REPLAY:-}" ]; then
		args=()
		for f in $ORACLE_REPLAY; do args+=(--replay "$(realpath "$f")"); done
		nsx rp-gw "$ORACLE" -c "$CFG" "${args[@]}"
	else
		args=()
		for f in "$E2E_TOP"/tests/oracle/found/*.replay; do [ -e "$f" ] && args+=(--replay "$f"); done
		[ ${#args[@]} -gt 0 ] && nsx rp-gw "$ORACLE" -c "$CFG" "${args[@]}" | grep -E '^(PASS|FAIL|SKIP): oracle replay'
		found=${ORACLE_FOUND:-$BUILD/oracle-found}
		rm -rf "$found"
		start=${EPOCHREALTIME/./}
		nsx rp-gw "$ORACLE" -c "$CFG" --packets "${ORACLE_PACKETS:-10000000}" --found "$found" \
			${ORACLE_SEED:+--seed "$ORACLE_SEED"} ${ORACLE_EXAMPLES:+--examples "$ORACLE_EXAMPLES"}
		rc=$?
		ms=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
		echo "oracle: $((ms / 1000)).$((ms % 1000 / 100)) s wall clock, lab up excluded (exit $rc)"
	fi
fi
[ "$T_FAILS" = 0 ]
