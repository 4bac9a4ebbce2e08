#!/bin/bash
# tests/verifier61/run.sh [OBJ] — load every program of OBJ (default
# build/bpf/rempart.bpf.o) on the Debian 12 kernel the image uses (6.1),
# booted in qemu (TCG, ~1-2 min) with a static libbpf loader as init.
# Prints PASS:/FAIL: per program with the 6.1 verifier's "processed insns".
# The kernel package (about 70 MB, `apt-get download`) is cached in
# $VERIFIER61_CACHE (default build/verifier61).  Not in tests/suites: slow,
# and it downloads; run it after changing bpf/ (tests/suites' `verifier`
# suite is the fast proxy on the host kernel).
set -euo pipefail
OBJ=${1:-build/bpf/rempart.bpf.o}
CACHE=${VERIFIER61_CACHE:-build/verifier61}
here=$(dirname "$0")

[ -f "$OBJ" ] || make --no-print-directory "$OBJ"
mkdir -p "$CACHE"
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-6\.1/ { print $2; exit }')
if [ -z "$kpkg" ]; then
	echo "SKIP: verifier61: no Debian 6.1 kernel package known to apt (apt-get update?)"
	exit 0
fi
vmlinuz=$(ls "$CACHE"/k/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
if [ -z "$vmlinuz" ] || [[ "$vmlinuz" != *"${kpkg#linux-image-}" ]]; then
	rm -rf "$CACHE"/k "$CACHE"/*.deb
	(cd "$CACHE" && apt-get download "$kpkg" >/dev/null 2>&1) || {
		echo "SKIP: verifier61: apt-get download $kpkg failed"; exit 0; }
	dpkg-deb -x "$CACHE"/"$kpkg"_*.deb "$CACHE"/k
	vmlinuz=$(ls "$CACHE"/k/boot/vmlinuz-* | head -n1)
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/proc "$root"/sys "$root"/dev
gcc -O1 -static -I "$here"/../bpf -o "$root"/init "$here"/init.c -lbpf -lelf -lz
cp "$OBJ" "$root"/prog.bpf.o
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > initrd.gz)
timeout 900 qemu-system-x86_64 -m 1024 -smp 1 -nographic -no-reboot \
	-kernel "$vmlinuz" -initrd "$root"/initrd.gz \
	-append "console=ttyS0 quiet panic=-1" </dev/null 2>&1 | tr -d '\r' |
	grep -E '^((PASS|FAIL|SKIP): verifier61|# )' || true
