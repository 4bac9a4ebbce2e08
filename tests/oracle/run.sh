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
#   ORACLE_REVERT_PACKETS  packets for each reverted build (default 1000000;
#                   0: skip them)
#
# Every tests/oracle/found/*.replay is replayed too (one PASS/FAIL line
# each: FAIL while the violation it records still reproduces).
#
# Then the oracle's own test: build/tests/oracle/oracle-revert-ITEM is this
# build with tests/oracle/revert/ITEM.patch (a fix of issue 13 undone) applied
# to the BPF programs (mk/tests.mk).  Each runs the same seed on the same lab
# and must find violations of the invariants that item breaks, and its
# tests/oracle/found/ITEM-*.replay files must reproduce on it.
#
# Replay by hand in a lab that is up:
#   tests/lab/lab.sh exec rp-gw build/tests/oracle/oracle -c /run/rempart-lab/config --replay FILE
. "$(dirname "$0")/../lab/e2e-lib.sh"
E2E=oracle
ORACLE=$BUILD/tests/oracle/oracle
[ -x "$ORACLE" ] || { fail "oracle: no $ORACLE (make tests)"; exit 0; }

# The invariants each reverted fix must break (issue 13's items).
revert_expects() {
	case $1 in
	item1) echo "uplink_tenant uplink_gateway" ;;
	item2) echo "anti_spoofing isolation link_shape" ;;
	item8) echo "tenant_gateway" ;;
	*) echo "" ;;
	esac
}

# run_reverts FOUND: each reverted build, random packets with the main run's
# seed, then its item's replays; the inner PASS/FAIL lines are indented (they
# are the reverted build's, not this suite's).
run_reverts() {
	local bin item out seed want inv n b total sum line rf base=
	seed=$(sed -n 's/^oracle: seed \([0-9]*\),.*/\1/p' "$ORACLE_LOG" | head -n 1)
	# while this build itself has violations, the same packets through it
	# are the baseline a reverted build must exceed
	if grep -q '^FAIL: oracle [a-z_]* (.*violations' "$ORACLE_LOG"; then
		base=$(nsx rp-gw "$ORACLE" -c "$CFG" --packets "$ORACLE_REVERT_PACKETS_N" --examples 0 \
			${seed:+--seed "$seed"} 2>/dev/null)
		echo "$base" | grep -E '^FAIL: oracle [a-z_]+ ' | sed 's/^/  baseline (this build, same packets): /'
	fi
	for bin in "$BUILD"/tests/oracle/oracle-revert-*; do
		[ -x "$bin" ] || continue
		item=${bin##*/oracle-revert-}
		want=$(revert_expects "$item")
		out=$(nsx rp-gw "$bin" -c "$CFG" --packets "$ORACLE_REVERT_PACKETS_N" --examples 1 \
			--found "$1/revert-$item" ${seed:+--seed "$seed"} 2>/dev/null)
		echo "$out" | grep -E '^(PASS|FAIL|SKIP): oracle [a-z_]+ |^oracle: [0-9]+ packets' | sed 's/^/  '"$item"' reverted: /'
		total=$(echo "$out" | sed -n 's/^oracle: \([0-9]*\) packets in .*/\1/p')
		sum=0
		line=
		for inv in $want; do
			n=$(echo "$out" | sed -n 's/^[A-Z]*: oracle '"$inv"' (.*checked, \([0-9]*\) violations.*/\1/p')
			b=$(echo "$base" | sed -n 's/^[A-Z]*: oracle '"$inv"' (.*checked, \([0-9]*\) violations.*/\1/p')
			n=$(( ${n:-0} - ${b:-0} ))
			[ "$n" -lt 0 ] && n=0
			sum=$((sum + n))
			line="$line${line:+, }$inv +$n"
		done
		if [ -z "$want" ]; then
			fail "oracle catches $item reverted: no expected invariants for it in run.sh"
		elif [ -z "$total" ]; then
			fail "oracle catches $item reverted: the reverted build did not run: $(echo "$out" | grep '^FAIL' | head -n 1)"
		elif [ "$sum" -gt 0 ]; then
			pass "oracle catches $item reverted (tests/oracle/revert/$item.patch): $sum more violations than this build in $total packets, seed ${seed:-?} ($line)"
		else
			fail "oracle catches $item reverted (tests/oracle/revert/$item.patch): no more violations than this build in $total packets, seed ${seed:-?} ($line)"
		fi
		for rf in "$E2E_TOP"/tests/oracle/found/"$item"-*.replay; do
			[ -e "$rf" ] || continue
			if nsx rp-gw "$bin" -c "$CFG" --replay "$rf" 2>/dev/null | grep -q '^FAIL: oracle replay .*reproduces'; then
				pass "oracle catches $item reverted: replay ${rf##*/} reproduces"
			else
				fail "oracle catches $item reverted: replay ${rf##*/} does not reproduce"
			fi
		done
	done
}

ORACLE_REVERT_PACKETS_N=${ORACLE_REVERT_PACKETS:-1000000}
SUITE_START=$SECONDS
ORACLE_LOG=$BUILD/oracle-last.log	# the main run's output (its seed)
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
			${ORACLE_SEED:+--seed "$ORACLE_SEED"} ${ORACLE_EXAMPLES:+--examples "$ORACLE_EXAMPLES"} | tee "$ORACLE_LOG"
		rc=${PIPESTATUS[0]}
		ms=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
		echo "oracle: $((ms / 1000)).$((ms % 1000 / 100)) s wall clock, lab up excluded (exit $rc)"
		[ "${ORACLE_REVERT_PACKETS:-1000000}" != 0 ] && run_reverts "$found"
		echo "oracle: $((SECONDS - SUITE_START)) s for the suite, lab up and reverted builds included"
	fi
fi
[ "$T_FAILS" = 0 ]
