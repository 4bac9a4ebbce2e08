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
#   ORACLE_REPLAY   a replay file: replay it instead of generating
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
		nsx rp-gw "$ORACLE" -c "$CFG" --replay "$ORACLE_REPLAY"
	else
		found=${ORACLE_FOUND:-$BUILD/oracle-found}
		rm -rf "$found"
		start=${EPOCHREALTIME/./}
		nsx rp-gw "$ORACLE" -c "$CFG" --packets "${ORACLE_PACKETS:-10000000}" --found "$found" \
			${ORACLE_SEED:+--seed "$ORACLE_SEED"}
		rc=$?
		ms=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
		echo "oracle: $((ms / 1000)).$((ms % 1000 / 100)) s wall clock, lab up excluded (exit $rc)"
	fi
fi
[ "$T_FAILS" = 0 ]
