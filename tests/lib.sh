# Shared helpers for shell test suites: source it.  Prints the PASS:/FAIL:/
# SKIP: lines that tests/run-all.sh counts.
T_FAILS=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; T_FAILS=$((T_FAILS + 1)); }
skip() { echo "SKIP: $*"; }
# check NAME CMD...: PASS when CMD succeeds
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }
# wait_for TIMEOUT_S CMD...: poll CMD every 50 ms until it succeeds
wait_for() {
	local t=$1 i; shift
	for ((i = 0; i < t * 20; i++)); do "$@" && return 0; sleep 0.05; done
	return 1
}
# ping_lost LOG: sets tx, rx and lost from ping's summary in LOG (tx empty
# when ping printed none)
ping_lost() {
	tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$1")
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$1")
	lost=$(( ${tx:-0} - ${rx:-0} ))
}
