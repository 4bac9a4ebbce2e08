#!/bin/bash
# The README's explain examples: each `$ rempart …` line in README.md is run
# and its first output line must be the one the README shows under it.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
n=0
while IFS= read -r cmd && IFS= read -r want; do
	n=$((n + 1))
	got=$(eval "${cmd/#rempart/$REMPART}" 2>&1 | head -1)
	if [ "$got" = "$want" ]; then
		pass "README example $n: ${cmd:0:60}"
	else
		fail "README example $n: ${cmd}: got '$got', README says '$want'"
	fi
done < <(awk '/^\$ rempart /{sub(/^\$ /, ""); print; getline; print}' README.md)
[ "$n" -gt 0 ] || fail "no example found in README.md"
exit $T_FAILS
