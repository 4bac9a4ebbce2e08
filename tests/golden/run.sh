#!/bin/bash
# Golden tests of `rempart check`: every directory tests/golden/cases/NAME/
# is a configuration (rempart.ini, tenants.d/, ...).  It is copied into a
# temporary directory, the key files its tenant files name as ../keys/FILE
# are generated there (mode 0600) unless the case holds them, the case's
# setup.sh runs there if it has one (to chmod, chown, break things), then
# `rempart -c COPY check` runs.  Its exit code, stdout and stderr (with the
# copy's path written @CASE@) are compared with tests/golden/cases/NAME.ok.
#
#   tests/golden/run.sh [--regen] [NAME...]
#
# --regen rewrites the .ok files (review the diff before committing).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-$PWD/build}
REMPART=${REMPART:-$BUILD/rempart}
regen=0
if [ "${1:-}" = --regen ]; then regen=1; shift; fi

. tests/lib.sh

if [ ! -x "$REMPART" ]; then
	fail "golden: $REMPART not built"
	exit 1
fi
tmp=$(mktemp -d /tmp/rempart-golden.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Run one case; prints the result in the .ok format.
run_case() {
	local src=$1 name copy rc out err
	name=$(basename "$src")
	copy=$tmp/$name
	rm -rf "$copy"
	cp -r "$src" "$copy"
	mkdir -p "$copy/keys"
	# key files committed with the case: git keeps no modes
	find "$copy" -name '*.key' -o -name '*.psk' | xargs -r chmod 600
	sed -n 's|^[[:space:]]*[a-z_]*key_file[[:space:]]*=[[:space:]]*\.\./keys/\([A-Za-z0-9._-]*\).*|\1|p' \
		"$copy"/tenants.d/*.ini 2>/dev/null | sort -u | while read -r k; do
		[ -e "$copy/keys/$k" ] && continue
		case "$k" in
		*.psk) (umask 077; "$REMPART" keygen --psk > "$copy/keys/$k") ;;
		*) (umask 077; "$REMPART" keygen > "$copy/keys/$k") ;;
		esac
	done
	if [ -f "$copy/setup.sh" ]; then
		(cd "$copy" && bash ./setup.sh) || echo "setup.sh failed"
		rm -f "$copy/setup.sh"
	fi
	out=$("$REMPART" -c "$copy" check 2>"$tmp/stderr")
	rc=$?
	err=$(cat "$tmp/stderr")
	printf 'exit %d\n' "$rc"
	[ -n "$out" ] && printf '%s\n' "$out" | sed "s|$copy|@CASE@|g; s|^|stdout: |"
	[ -n "$err" ] && printf '%s\n' "$err" | sed "s|$copy|@CASE@|g; s|^|stderr: |"
	return 0
}

cases=()
if [ $# -gt 0 ]; then
	for n in "$@"; do cases+=("tests/golden/cases/$n"); done
else
	for d in tests/golden/cases/*/; do cases+=("${d%/}"); done
fi

for c in "${cases[@]}"; do
	name=$(basename "$c")
	if [ -f "$c/root-only" ] && [ "$(id -u)" -ne 0 ]; then
		skip "golden $name: needs root (chown)"
		continue
	fi
	got=$(run_case "$c")
	if [ $regen -eq 1 ]; then
		printf '%s\n' "$got" > "$c.ok"
		echo "regenerated $c.ok"
		continue
	fi
	if [ ! -f "$c.ok" ]; then
		fail "golden $name: no $c.ok (run make golden-regen)"
		continue
	fi
	if diff -u "$c.ok" <(printf '%s\n' "$got") > "$tmp/diff"; then
		pass "golden $name"
	else
		fail "golden $name"
		sed 's/^/    /' "$tmp/diff"
	fi
done
# The shipped configurations must pass (their keys come from `make`).
if [ $regen -eq 0 ] && [ $# -eq 0 ]; then
	for c in configs/*/rempart.ini; do
		d=$(dirname "$c")
		if out=$("$REMPART" -c "$d" check 2>&1); then
			pass "check $d: $out"
		else
			fail "check $d"
			printf '%s\n' "$out" | sed 's/^/    /'
		fi
	done
fi
[ $T_FAILS -eq 0 ]
