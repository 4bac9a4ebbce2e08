#!/bin/bash
# ops_unit: `make install` puts the binary, the unit, the man pages and the
# bash completion in place, and the unit passes `systemd-analyze verify`
# (ExecStart pointed at the built binary: verify checks that it exists).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
UNIT=dist/rempart.service
if [ ! -f "$UNIT" ]; then
	skip "ops_unit: $UNIT not in this tree"
	exit 0
fi
D=$(mktemp -d /tmp/op_unit.XXXXXX)
trap 'rm -rf "$D"' EXIT

make -s install DESTDIR="$D/root" BUILD="$BUILD" >"$D/install.log" 2>&1
check "ops_unit: make install succeeds" test $? -eq 0
for f in /usr/local/sbin/rempart /lib/systemd/system/rempart.service \
	/usr/local/share/man/man8/rempart.8 /usr/local/share/man/man5/rempart.ini.5 \
	/usr/share/bash-completion/completions/rempart; do
	check "ops_unit: make install puts $f" test -s "$D/root$f"
done

exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$UNIT")
mkdir -p "$D/units"
sed "s|^\(Exec[A-Za-z]*=-\{0,1\}\)$exec_path|\1$REMPART|" "$UNIT" >"$D/units/rempart.service"
if out=$(systemd-analyze verify "$D/units/rempart.service" 2>&1) && [ -z "$out" ]; then
	pass "ops_unit: systemd-analyze verify accepts the unit"
else
	fail "ops_unit: systemd-analyze verify: $out"
fi
# What `rempart run` relies on.
check "ops_unit: Type=notify (run sends READY=1)" grep -qx 'Type=notify' "$UNIT"
check "ops_unit: ExecStart runs 'rempart … run'" grep -Eq '^ExecStart=[^ ]*rempart .*run( |$)' "$UNIT"
check "ops_unit: ExecReload waits for the verdict ('rempart … apply': a bad config fails the reload)" \
	grep -Eq '^ExecReload=[^ ]*rempart .*apply$' "$UNIT"
check "ops_unit: ExecStartPre runs 'rempart … check'" grep -Eq '^ExecStartPre=-?[^ ]*rempart .*check$' "$UNIT"
check "ops_unit: a restart policy" grep -Eq '^Restart=(on-failure|always|on-abnormal)' "$UNIT"
check "ops_unit: RestartPreventExitStatus=1: a config error is not restarted" \
	grep -qx 'RestartPreventExitStatus=1' "$UNIT"
check "ops_unit: KillMode=process: the wireguard-go supervisors outlive a restart" \
	grep -qx 'KillMode=process' "$UNIT"
[ "$T_FAILS" -eq 0 ]
