#!/bin/bash
# image/build.sh [OUT_DIR]: the rempart gateway VM image.
#
#   OUT_DIR/rempart-gw.raw    GPT disk: BIOS boot (GRUB core), EFI system
#                             partition (GRUB BOOTX64.EFI), ext4 root
#   OUT_DIR/rempart-gw.qcow2  the same, compressed
#
# The root is Debian bookworm built by mmdebstrap from the mirrors this host
# uses, with linux-image-cloud-amd64, rempart (`make install DESTDIR=root`)
# and its runtime libraries, the provisioning and self-test units of
# image/rootfs, and no compiler.  The disk is assembled on a plain file:
# sfdisk writes the partition table, mke2fs -d fills the root from the
# directory, mtools fills the ESP, and the GRUB boot sector and core image
# are patched in place; no loop device, no mount.  Run as root (mmdebstrap's
# root mode), after `make` (it installs the build/ binaries).
#
# Environment: IMAGE_SOURCES (apt sources file for the image, deb822 or
# one-line; default: this host's Debian sources), IMAGE_SIZE_MB (disk size,
# default 1024), IMAGE_SUITE (default bookworm), IMAGE_SRC (the built tree
# whose `make install` goes into the image; default: this one),
# IMAGE_KERNEL (stable: bookworm's 6.1 cloud kernel, the default;
# backports: the bookworm-backports cloud kernel, from the same mirror), MAKE.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$top/image/out}" && cd "${1:-$top/image/out}" && pwd)
suite=${IMAGE_SUITE:-bookworm}
size_mb=${IMAGE_SIZE_MB:-1024}
make=${MAKE:-make}
src=$(cd "${IMAGE_SRC:-$top}" && pwd)
label=rempart-root
name=rempart-gw

die() { echo "image/build.sh: $*" >&2; exit 1; }
step() { printf '  %-8s %s\n' "$1" "$2"; }

[ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap root mode, file ownership in the image)"
for t in mmdebstrap mke2fs sfdisk mkfs.fat mcopy grub-mkimage qemu-img; do
	command -v "$t" > /dev/null || die "$t not found: run 'make deps'"
done
[ -x "$src/build/rempart" ] || die "$src/build/rempart missing: run 'make' first"

work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
raw=$work/$name.raw

# --- apt sources: the image uses the mirrors this host uses ------------------
sources=${IMAGE_SOURCES:-}
if [ -z "$sources" ]; then
	for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
		if [ -s "$f" ] && grep -qE '^[^#]*(debian|Suites)' "$f"; then sources=$f; break; fi
	done
fi
if [ -z "$sources" ]; then
	sources=$work/debian.sources
	cat > "$sources" <<-EOF
	Types: deb
	URIs: http://deb.debian.org/debian
	Suites: $suite $suite-updates
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

	Types: deb
	URIs: http://deb.debian.org/debian-security
	Suites: $suite-security
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
fi
grep -q -- "$suite-security" "$sources" || echo "image/build.sh: warning: $sources has no $suite-security suite" >&2
kernel=linux-image-cloud-amd64
case "${IMAGE_KERNEL:-stable}" in
stable) ;;
backports)
	# The first Debian mirror of the sources, with the backports suite.
	mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)\/* *$/\1/p; s/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*debian\)\/* .*/\2/p' "$sources" | grep -v security | head -1)
	[ -n "$mirror" ] || die "no Debian mirror in $sources for $suite-backports"
	cp "$sources" "$work/sources.sources"
	case "$sources" in *.list) mv "$work/sources.sources" "$work/sources.list"; echo "deb $mirror $suite-backports main" >> "$work/sources.list"; sources=$work/sources.list ;;
	*) printf '\nTypes: deb\nURIs: %s\nSuites: %s-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" "$suite" >> "$work/sources.sources"; sources=$work/sources.sources ;;
	esac
	kernel=$kernel/$suite-backports
	;;
*) die "IMAGE_KERNEL=${IMAGE_KERNEL}: stable or backports" ;;
esac

# --- root file system ---------------------------------------------------------
# Runtime libraries of build/rempart, the tools it drives, and what the
# appliance needs to boot, be reached (sshd, only with the config drive's
# authorized_keys), keep time and ship its journal.  Nothing that compiles.
pkgs=(
	"$kernel" systemd systemd-sysv udev dbus kmod
	libbpf1 libelf1 zlib1g libmnl0 libiniparser1 libmaxminddb0 libjson-c5
	libmicrohttpd12 libsystemd0 libqrencode4 libssl3
	wireguard-tools nftables iproute2 tor-geoipdb bpftool keepalived conntrack conntrackd
	iputils-ping procps e2fsprogs dosfstools
	openssh-server systemd-timesyncd systemd-journal-remote
)
step IMAGE "root: mmdebstrap $suite, $kernel (${#pkgs[@]} packages + minbase)"
mmdebstrap --quiet --variant=minbase --mode=root \
	--include="$(IFS=,; echo "${pkgs[*]}")" \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--customize-hook="cp -r --no-preserve=all '$top/image/rootfs/.' \"\$1/\"" \
	--customize-hook='chmod 0755 "$1"/usr/local/lib/rempart/provision "$1"/usr/local/lib/rempart/selftest' \
	--customize-hook="$make -s -C '$src' install DESTDIR=\"\$1\" >/dev/null" \
	--customize-hook="install -D -m 0644 '$top/image/README.md' \"\$1/usr/local/share/doc/rempart/image.md\"" \
	--customize-hook='systemctl --root="$1" enable rempart.service rempart-provision.service rempart-selftest.service systemd-networkd.service >/dev/null 2>&1' \
	--customize-hook='systemctl --root="$1" enable ssh.service systemd-timesyncd.service systemd-journal-upload.service >/dev/null 2>&1' \
	--customize-hook='systemctl --root="$1" disable ssh.socket systemd-journal-remote.socket systemd-journal-remote.service >/dev/null 2>&1 || :' \
	--customize-hook='systemctl --root="$1" disable apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1 || :' \
	--customize-hook='systemctl --root="$1" disable conntrackd.service >/dev/null 2>&1 || :' \
	--customize-hook='mkdir -p "$1/etc/rempart" && chmod 0755 "$1/etc/rempart"' \
	--customize-hook='rm -f "$1"/etc/ssh/ssh_host_* "$1"/var/log/*.log; : > "$1/etc/machine-id"' \
	"$suite" "$root" "$sources"

# The image must not ship a toolchain, and its units must verify in place.
for c in gcc cc c99 clang tcc as ld; do
	for d in usr/bin usr/local/bin usr/sbin; do
		[ -e "$root/$d/$c" ] && die "the image contains a toolchain: /$d/$c"
	done
done
[ -x "$root/usr/local/sbin/rempart" ] || die "rempart was not installed in the image"
# Every shared library rempart links must come from the image's packages.
missing=$(chroot "$root" ldd /usr/local/sbin/rempart 2>&1 | grep 'not found' || :)
[ -z "$missing" ] || die "rempart needs libraries the image lacks (add their packages to pkgs): $missing"
step VERIFY "systemd-analyze verify (in the image root)"
systemd-analyze verify --root="$root" rempart.service rempart-provision.service rempart-selftest.service \
	> "$work/verify.log" 2>&1 || { cat "$work/verify.log" >&2; die "unit verification failed"; }
if grep -v -e '^$' "$work/verify.log" | grep -q .; then
	cat "$work/verify.log" >&2
	die "unit verification printed warnings"
fi
# Debian's units with the image's drop-ins (ssh.service.d, …): errors fail
# the build, Debian's own warnings are shown (the image has no man pages).
systemd-analyze verify --man=no --root="$root" ssh.service systemd-timesyncd.service systemd-journal-upload.service \
	> "$work/verify.log" 2>&1 || { cat "$work/verify.log" >&2; die "unit verification (ssh, timesyncd, journal-upload) failed"; }
grep -v -e '^$' "$work/verify.log" | sed 's/^/image\/build.sh: warning: /' >&2 || :
# Every VM makes its own SSH host key at the first start of sshd.
[ -z "$(ls "$root"/etc/ssh/ssh_host_* 2>/dev/null)" ] || die "the image holds SSH host keys"

# --- disk layout --------------------------------------------------------------
# LBA 2048: BIOS boot (1 MiB), 4096: ESP (32 MiB), 69632: root (the rest).
bios_start=2048 bios_sectors=2048
esp_start=4096 esp_sectors=65536
root_start=69632
rm -f "$raw"
truncate -s "${size_mb}M" "$raw"
sfdisk --quiet --no-reread --no-tell-kernel "$raw" > /dev/null <<EOF
label: gpt
start=$bios_start, size=$bios_sectors, type=21686148-6449-6E6F-744E-656564454649, name="bios"
start=$esp_start, size=$esp_sectors, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="esp"
start=$root_start, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="$label"
EOF
root_sectors=$(sfdisk --dump "$raw" | awk -v s="$root_start" '$0 ~ "start= *"s"," { sub(/.*size= */, ""); sub(/,.*/, ""); print }')
[ -n "$root_sectors" ] || die "cannot read the root partition size back from sfdisk"

step MKFS "root: ext4, $((root_sectors / 2048)) MiB, label $label"
# GRUB 2.06 reads neither metadata_csum_seed nor orphan_file.
mke2fs -q -F -t ext4 -L "$label" -O ^metadata_csum_seed,^orphan_file \
	-E "offset=$((root_start * 512)),lazy_itable_init=1,lazy_journal_init=1,root_owner=0:0" \
	-d "$root" "$raw" "$((root_sectors / 2))k"

# --- GRUB: one early config, embedded in both the BIOS core and BOOTX64.EFI ---
cat > "$work/early.cfg" <<EOF
search --no-floppy --label --set=root $label
set prefix=(\$root)/boot/grub
EOF
mods=(part_gpt ext2 normal linux search search_label configfile echo test serial terminal)
step GRUB "BIOS core image + EFI application"
grub-mkimage -O i386-pc -o "$work/core.img" -c "$work/early.cfg" -p /boot/grub biosdisk "${mods[@]}"
grub-mkimage -O x86_64-efi -o "$work/BOOTX64.EFI" -c "$work/early.cfg" -p /boot/grub "${mods[@]}" efi_gop
core_sectors=$(( ($(stat -c %s "$work/core.img") + 511) / 512 ))
[ "$core_sectors" -le "$bios_sectors" ] || die "core.img ($core_sectors sectors) does not fit the BIOS boot partition"
# What grub-install does: the core image's first sector (diskboot) loads the
# rest from the blocklist at its end (start LBA, 8 bytes LE, at 500); the MBR
# boot code (boot.img, first 440 bytes only: the protective MBR's partition
# table stays) loads that first sector from the LBA at 0x5c; the drive check
# jump at 0x66 becomes two NOPs as for any hard disk.
le64() { local v=$1 i; for i in 0 1 2 3 4 5 6 7; do printf "\\\\x%02x" $(( (v >> (8 * i)) & 255 )); done; }
printf "$(le64 $((bios_start + 1)))" | dd of="$work/core.img" bs=1 seek=500 conv=notrunc status=none
dd if="$work/core.img" of="$raw" bs=512 seek="$bios_start" conv=notrunc status=none
cp /usr/lib/grub/i386-pc/boot.img "$work/boot.img"
printf "$(le64 $bios_start)" | dd of="$work/boot.img" bs=1 seek=$((0x5c)) conv=notrunc status=none
printf '\x90\x90' | dd of="$work/boot.img" bs=1 seek=$((0x66)) conv=notrunc status=none
dd if="$work/boot.img" of="$raw" bs=440 count=1 conv=notrunc status=none

mkfs.fat -C -n ESP "$work/esp.img" $((esp_sectors / 2)) > /dev/null
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT
mcopy -i "$work/esp.img" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
dd if="$work/esp.img" of="$raw" bs=512 seek="$esp_start" conv=notrunc,sparse status=none

# --- outputs --------------------------------------------------------------------
step QCOW2 "$out/$name.qcow2"
qemu-img convert -c -O qcow2 "$raw" "$work/$name.qcow2"
mv -f "$raw" "$out/$name.raw"
mv -f "$work/$name.qcow2" "$out/$name.qcow2"
echo "  IMAGE    $out/$name.raw ($(du -m --apparent-size "$out/$name.raw" | cut -f1) MiB disk," \
	"$(du -m "$out/$name.raw" | cut -f1) MiB used), $out/$name.qcow2 ($(du -m "$out/$name.qcow2" | cut -f1) MiB)"
