#!/bin/bash
# `rempart geo lookup` and `rempart geo reload` against a pinned rp_geo map.
#
#   test_geo --pin DIR  -> DIR/rp_geo (empty, as a freshly loaded dataplane)
#   rempart geo lookup  -> from the files (no database in the maps)
#   rempart geo reload  -> database A (FR), then B (DE), then a broken file:
#                          exit 2 and B stays
# The pin directory is on a private bpffs mounted for this test
# (REMPART_PIN_DIR), so a real dataplane under /sys/fs/bpf/rempart is never
# touched.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
BUILD=${BUILD:-$PWD/build}
REMPART=${REMPART:-$BUILD/rempart}
DATA=$PWD/tests/geo

if [ "$(id -u)" != 0 ]; then
	skip "cmd-geo: needs root for BPF"
	exit 0
fi
tmp=$(mktemp -d /tmp/geo-cmd.XXXXXX)
mkdir -p "$tmp/bpffs"
if ! mount -t bpf geo-bpffs "$tmp/bpffs"; then
	skip "cmd-geo: cannot mount a bpffs"
	rmdir "$tmp/bpffs" "$tmp"
	exit 0
fi
pin=$tmp/bpffs/rempart
cleanup() { umount "$tmp/bpffs"; rm -rf "$tmp"; }
trap cleanup EXIT
export REMPART_PIN_DIR=$pin

mkcfg() {	# DIR V4FILE [V6FILE]
	mkdir -p "$1/tenants.d"
	cat > "$1/rempart.ini" <<-EOF
	[gateway]
	name = gw-geo-test
	uplink = lo
	tenants = tenants.d
	[geo]
	ipv4 = $2
	${3:+ipv6 = $3}
	format = cidr
	unknown = deny
	EOF
}
mkcfg "$tmp/a" "$DATA/swap-a.txt"
mkcfg "$tmp/b" "$DATA/swap-b.txt"
mkcfg "$tmp/bad" "$DATA/bad-cidr.txt"

out=$("$REMPART" -c "$tmp/a" geo reload 2>&1); rc=$?
check "reload without a dataplane: exit 2" [ "$rc" = 2 ]
check "reload without a dataplane: says where it looked" grep -q "$pin/rp_geo" <<<"$out"

mkdir -p "$pin"
"$BUILD/tests/bpf/test_geo" --pin "$pin" || { fail "pin rp_geo"; exit 1; }

out=$("$REMPART" -c "$tmp/a" geo lookup 203.0.113.7 2>&1)
check "lookup, empty maps: answered from the files" grep -q "answered from the files" <<<"$out"
check "lookup, empty maps: FR from file A" grep -Eq '^203\.0\.113\.7 +FR$' <<<"$out"

out=$("$REMPART" -c "$tmp/a" geo reload 2>&1); rc=$?
check "reload A: exit 0 ($out)" [ "$rc" = 0 ]
out=$("$REMPART" -c "$tmp/b" geo lookup 203.0.113.7 2001:db8::1 198.51.100.1 2>&1)
check "lookup after reload A: from the maps" grep -q "answered from the dataplane maps" <<<"$out"
check "lookup after reload A: the maps' answer (FR), not config B's" grep -Eq '^203\.0\.113\.7 +FR$' <<<"$out"
check "lookup after reload A: IPv6 FR" grep -Eq '^2001:db8::1 +FR$' <<<"$out"
check "lookup after reload A: no country is --" grep -Eq '^198\.51\.100\.1 +--$' <<<"$out"
check "lookup names the database file" grep -q "swap-a.txt" <<<"$out"

"$REMPART" -c "$tmp/b" geo reload >/dev/null 2>&1
out=$("$REMPART" -c "$tmp/a" geo lookup 203.0.113.7 2>&1)
check "reload B: DE at once" grep -Eq '^203\.0\.113\.7 +DE$' <<<"$out"

out=$("$REMPART" -c "$tmp/bad" geo reload 2>&1); rc=$?
check "reload of a broken file: exit 2" [ "$rc" = 2 ]
check "reload of a broken file: names file and line" grep -q "bad-cidr.txt:3:" <<<"$out"
check "reload of a broken file: says the running database stays" grep -q "unchanged" <<<"$out"
out=$("$REMPART" -c "$tmp/a" geo lookup 203.0.113.7 2>&1)
check "after the failed reload: still B (DE)" grep -Eq '^203\.0\.113\.7 +DE$' <<<"$out"

json=$("$REMPART" -c "$tmp/a" geo lookup --json 203.0.113.7 10.0.0.1)
check "lookup --json: fields and values" python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["source"] == "dataplane", o
assert o["database"]["format"] == "cidr"
assert o["database"]["ipv4"].endswith("swap-b.txt")
assert o["database"]["entries"] == 2 and o["database"]["loaded_at"] > 0
assert [r["country"] for r in o["results"]] == ["DE", None]
' "$json"

out=$("$REMPART" -c "$tmp/a" geo lookup --files 203.0.113.7 2>&1)
check "lookup --files: the configured files (FR)" grep -Eq '^203\.0\.113\.7 +FR$' <<<"$out"
"$REMPART" geo lookup 300.1.2.3 >/dev/null 2>&1; rc=$?
check "lookup of a non-address: exit 1" [ "$rc" = 1 ]
[ "$T_FAILS" = 0 ]
