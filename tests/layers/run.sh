#!/bin/bash
# run.sh — the "layers" suite: userspace/ keeps the order of
# userspace/LAYERS (tests/layers/check_layers.py), and the checker is shown
# to fail: each case copies userspace/ into a scratch directory, breaks one
# rule there, and expects a failure that names the file and line.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
BUILD=${BUILD:-$PWD/build}
CHECK=tests/layers/check_layers.py
T=$(mktemp -d /tmp/layers.XXXXXX)
trap 'rm -rf "$T"' EXIT

out=$($CHECK 2>&1); rc=$?
check "layers: userspace/ includes follow userspace/LAYERS" test $rc = 0
[ $rc = 0 ] || echo "$out" | sed 's/^/# /'
if [ -d "$BUILD/us" ]; then
	out=$($CHECK --objs "$BUILD/us" 2>&1); rc=$?
	check "layers: no call cycle between files or folders of userspace/" test $rc = 0
	[ $rc = 0 ] || echo "$out" | sed 's/^/# /'
else
	skip "layers: calls (no $BUILD/us: build first)"
fi

# fresh COPY of userspace/ in $T/us
fresh() { rm -rf "$T/us"; cp -r userspace "$T/us"; }
# after FILE LINE-TEXT: insert LINE-TEXT after FILE's last #include; prints its line number
after_includes() {
	local f=$T/us/$1 n
	n=$(grep -n '^#include' "$f" | tail -1 | cut -d: -f1)
	sed -i "${n}a $2" "$f"
	echo $((n + 1))
}
# expect NAME REGEX...: the checker fails on $T/us and prints every REGEX
expect() {
	local name=$1 re ok=1; shift
	out=$($CHECK --root "$T/us" 2>&1) && ok=0
	for re in "$@"; do echo "$out" | grep -qE -- "$re" || ok=0; done
	check "layers: fails on $name" test $ok = 1
	[ $ok = 1 ] || { echo "# wanted: $*"; echo "$out" | sed 's/^/# /'; }
}

fresh
n=$(after_includes lib/log.c '#include "app/daemon.h"')
expect "an upward include (lib/ -> app/)" \
	"^userspace/lib/log.c:$n: #include \"app/daemon.h\": app/ is above lib/" \
	"include cycle between folders: app/ -> lib/ \(userspace/app/[a-z_]+\.[ch]:[0-9]+\) -> app/ \(userspace/lib/log.c:$n\)"

fresh
n=$(after_includes net/nat.c '#include "dataplane/dataplane.h"')
expect "a sideways include (net/ -> dataplane/, siblings)" \
	"^userspace/net/nat.c:$n: #include \"dataplane/dataplane.h\": dataplane/ is beside net/"

fresh
n=$(after_includes policy/policy.c '#include "eval/eval.h"')
expect "an include against the order of one line (policy/ -> eval/)" \
	"^userspace/policy/policy.c:$n: #include \"eval/eval.h\": eval/ is beside policy/"

fresh
n=$(after_includes config/config_check.c '#include "config_internal.h"')
expect "an include that names no folder" \
	"^userspace/config/config_check.c:$n: #include \"config_internal.h\" names no folder"

fresh
after_includes lib/addr.h '#include "lib/diag.h"' >/dev/null
after_includes lib/diag.h '#include "lib/addr.h"' >/dev/null
expect "an include cycle between two files" \
	"include cycle between files: lib/addr.h -> lib/diag.h"

fresh
mkdir "$T/us/extra" && cp userspace/lib/fnv.h "$T/us/extra/"
expect "a folder LAYERS does not declare" "^userspace/extra/fnv.h:1: folder 'extra' is not a layer"

fresh
sed -i 's/^May include: lib$/May include: lib, net/' "$T/us/config/README.md"
expect "a README.md that disagrees with LAYERS" \
	"^userspace/config/README.md:[0-9]+: 'May include:' disagrees"

# a call cycle, in objects built for it: a/x.c calls b/y.c, which calls back
fresh
mkdir -p "$T/us/lib/x" "$T/obj/lib" "$T/obj/config"
printf 'int y(void);\nint x(void) { return y(); }\n' > "$T/us/lib/x.c"
printf 'int x(void);\nint y(void) { return x() + 1; }\n' > "$T/us/config/y.c"
rmdir "$T/us/lib/x"
cc -c -o "$T/obj/lib/x.o" "$T/us/lib/x.c" && cc -c -o "$T/obj/config/y.o" "$T/us/config/y.c"
out=$($CHECK --root "$T/us" --objs "$T/obj" 2>&1) && rc=0 || rc=1
check "layers: fails on a call cycle between files and folders (lib/x.c <-> config/y.c)" \
	bash -c 'echo "$1" | grep -q "call cycle between files: config/y -> lib/x (x) -> config/y (y)" &&
		 echo "$1" | grep -q "call cycle between folders"' _ "$out"
[ $rc = 1 ] || echo "$out" | sed 's/^/# /'
exit 0
