#!/bin/bash
# image/config-drive.sh DIR OUT [ext4|vfat]: a config drive for the gateway
# image, a file system labelled REMPART holding DIR (rempart.ini,
# tenants.d/, keys/, files they name, optional network/).  Built on a plain
# file, without loop device or mount: mke2fs -d (ext4, the default) or
# mkfs.fat + mcopy (vfat).  OUT is created mode 0600: it holds private keys.
# Attach it to the VM as a second disk, e.g.
#   qemu … -drive file=OUT,format=raw,if=virtio,readonly=on
set -euo pipefail

die() { echo "config-drive: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: $0 DIR OUT [ext4|vfat]"
dir=$1 out=$2 fmt=${3:-${CONFIG_DRIVE_FORMAT:-ext4}}
[ -d "$dir" ] || die "$dir: not a directory"
[ -f "$dir/rempart.ini" ] || die "$dir/rempart.ini: missing (the drive's top must hold rempart.ini)"
odd=$(find "$dir" ! -type f ! -type d | head -1)
[ -z "$odd" ] || die "$odd: only files and directories go on a config drive (the gateway rejects links)"

# Room for the files, their inodes and the file system's own metadata.
kib=$(du -sk "$dir" | cut -f1)
kib=$(( kib * 2 + 4096 ))
[ "$kib" -ge 8192 ] || kib=8192
mkdir -p "$(dirname "$out")"
rm -f "$out"
(umask 077 && truncate -s "${kib}k" "$out")
case "$fmt" in
ext4)
	mke2fs -q -F -t ext4 -O ^has_journal -L REMPART -E root_owner=0:0 -d "$dir" "$out" "${kib}k"
	;;
vfat)
	mkfs.fat -n REMPART "$out" > /dev/null
	export MTOOLS_SKIP_CHECK=1
	for f in "$dir"/* "$dir"/.[!.]*; do
		[ -e "$f" ] || continue
		mcopy -s -Q -i "$out" "$f" ::/
	done
	;;
*)
	die "format '$fmt': ext4 or vfat"
	;;
esac
echo "  DRIVE    $out ($fmt, label REMPART, $((kib / 1024)) MiB, from $dir)"
