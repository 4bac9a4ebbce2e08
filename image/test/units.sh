#!/bin/bash
# image/test/units.sh: the systemd units and scripts of rempart and of its
# image, without booting anything.
#  - dist/rempart.service passes `systemd-analyze verify`, has the contract
#    (Type=notify, ExecStart where `make install` puts rempart, reload by
#    SIGHUP, restart on failure), a bounded set of capabilities and a low
#    `systemd-analyze security` exposure;
#  - the image's units verify, its scripts parse, its provisioning rejects
#    bad appliance files (authorized_keys, ntp, journal-collector);
#  - `make config-drive` builds ext4 and vfat drives labelled REMPART with
#    the files and refuses symbolic links.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
unit=$top/dist/rempart.service
tmp=$(mktemp -d /tmp/im-units.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The unit's commands must exist for verify: point them at stand-ins and
# check separately that the real paths are what `make install` installs.
stub=$tmp/bin/rempart
mkdir -p "$tmp/bin" "$tmp/units"
printf '#!/bin/sh\nexit 0\n' > "$stub"
chmod 0755 "$stub"
sed "s|/usr/local/sbin/rempart|$stub|g" "$unit" > "$tmp/units/rempart.service"
if out=$(systemd-analyze verify "$tmp/units/rempart.service" 2>&1) && [ -z "$out" ]; then
	pass "units: rempart.service passes systemd-analyze verify"
else
	fail "units: rempart.service: systemd-analyze verify: $(echo "$out" | tr '\n' ' ')"
fi

prop() { sed -n "s/^$1=//p" "$unit" | tail -1; }
installed=$(make -s -C "$top" -n install DESTDIR=/D 2>/dev/null | sed -n 's|.* /D\(/[^ ]*/sbin/rempart\)$|\1|p' | head -1)
exec_start=$(prop ExecStart)
check "units: ExecStart runs '${installed:-?} -c /etc/rempart run' as make install puts it" \
	test "$exec_start" = "${installed:-/nonexistent} -c /etc/rempart run"
check "units: Type=notify" test "$(prop Type)" = notify
check "units: ExecReload runs '${installed:-?} -c /etc/rempart apply' (waits for the verdict)" \
	test "$(prop ExecReload)" = "${installed:-/nonexistent} -c /etc/rempart apply"
check "units: ExecStartPre checks the config (its failure left to run's exit 1)" \
	test "$(prop ExecStartPre)" = "-${installed:-/nonexistent} -c /etc/rempart check"
check "units: Restart=on-failure" test "$(prop Restart)" = on-failure
check "units: RestartPreventExitStatus=1 (a config error is not restarted)" \
	test "$(prop RestartPreventExitStatus)" = 1
check "units: KillMode=process (the wireguard-go supervisors outlive a restart)" \
	test "$(prop KillMode)" = process
check "units: ProtectSystem=strict" test "$(prop ProtectSystem)" = strict
caps=$(prop CapabilityBoundingSet)
extra=$(echo "$caps" | tr ' ' '\n' | grep -vxE 'CAP_NET_ADMIN|CAP_BPF|CAP_PERFMON|CAP_SYS_ADMIN|CAP_NET_RAW' | tr '\n' ' ')
check "units: capabilities limited to what rempart needs ($caps)" test -n "$caps" -a -z "$extra"
for need in CAP_NET_ADMIN CAP_BPF; do
	check "units: keeps $need" grep -qE "^CapabilityBoundingSet=.*\\b$need\\b" "$unit"
done
for p in /var/lib/rempart /sys/fs/bpf /run/wireguard; do
	case "$p" in
	/var/lib/rempart) ok=$(prop StateDirectory) ;;
	/run/wireguard) ok=$(prop RuntimeDirectory) ;;
	*) ok=$(prop ReadWritePaths | tr ' ' '\n' | sed 's/^-//' | grep -x "$p") ;;
	esac
	check "units: $p writable despite ProtectSystem=strict" test -n "$ok"
done

# Exposure: systemd rates 0 (locked down) to 10 (unprotected); "OK" < 4.
score=$(systemd-analyze security --offline=true --no-pager "$tmp/units/rempart.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s < 4.0) }'; then
	pass "units: systemd-analyze security exposure $score (< 4.0)"
else
	fail "units: systemd-analyze security exposure ${score:-unknown}, want < 4.0"
fi

# The image's own units, with their scripts taken from the tree.
lib=$top/image/rootfs/usr/local/lib/rempart
for u in rempart-provision rempart-selftest; do
	sed -e "s|/usr/local/lib/rempart/|$lib/|g" "$top/image/rootfs/usr/lib/systemd/system/$u.service" > "$tmp/units/$u.service"
	if out=$(cd "$tmp/units" && systemd-analyze verify "$u.service" 2>&1) && [ -z "$out" ]; then
		pass "units: image $u.service passes systemd-analyze verify"
	else
		fail "units: image $u.service: $(echo "$out" | tr '\n' ' ')"
	fi
done
check "units: image provision script parses (sh -n)" sh -n "$lib/provision"
check "units: image selftest script parses (bash -n)" bash -n "$lib/selftest"
check "units: image scripts are executable in git" test -x "$lib/provision" -a -x "$lib/selftest"
check "units: image build script parses" bash -n "$top/image/build.sh"
check "units: boot test parses" bash -n "$top/image/test/boot-test.sh"

# The provision script's checks of the appliance's files on a drive
# (authorized_keys, ntp, journal-collector), run here by dash on its own
# functions: a bad file rejects the drive, naming the file and the line.
sed -n '/^say()/,/^udevadm settle/p' "$lib/provision" | grep -v '^udevadm' > "$tmp/provision-fn.sh"
mkdir -p "$tmp/drive" "$tmp/run"
ssh-keygen -q -t ed25519 -N '' -C units -f "$tmp/id" 2> /dev/null
# appl WANT NAME: run check_appliance on $tmp/drive; WANT is ok or the
# text the rejection must hold.
appl() {
	local out
	out=$(cd "$tmp" && MNT=$tmp/drive RUN=$tmp/run dev=/dev/vdb dash -c '. ./provision-fn.sh; check_appliance && echo ACCEPTED' 2>&1)
	if [ "$1" = ok ]; then
		check "units: provision accepts $2" grep -q ACCEPTED <<< "$out"
	else
		check "units: provision rejects $2 ('$1')" grep -qF "REJECTED config drive /dev/vdb: $1" <<< "$out"
	fi
}
appl ok "a drive without appliance files"
{ echo '# ops'; echo; cat "$tmp/id.pub"; echo "from=\"10.0.0.0/8\" $(cat "$tmp/id.pub")"; } > "$tmp/drive/authorized_keys"
printf '# site NTP\n198.51.100.2\nntp1.example.gouv.fr  fd00::123 # two more\n' > "$tmp/drive/ntp"
echo 'http://[fd00::5]:19532/' > "$tmp/drive/journal-collector"
appl ok "authorized_keys (comments, options), ntp (names, addresses), journal-collector"
echo 'ssh-ed25519 AAAAnotakey' >> "$tmp/drive/authorized_keys"
appl "authorized_keys line 5: not an SSH public key" "a key that is not one"
echo '# nobody' > "$tmp/drive/authorized_keys"
appl "authorized_keys holds no key" "an authorized_keys without keys"
cp "$tmp/id.pub" "$tmp/drive/authorized_keys"
echo 'ntp.example.org;reboot' >> "$tmp/drive/ntp"
appl "ntp line 4: 'ntp.example.org;reboot' is not a host name" "an NTP server that is not a name"
echo 198.51.100.2 > "$tmp/drive/ntp"
echo 'https://collector.example:19532' > "$tmp/drive/journal-collector"
appl "journal-collector line 1: 'https://collector.example:19532' is not http://HOST[:PORT]" "an https collector (not supported)"
printf 'http://a\nhttp://b\n' > "$tmp/drive/journal-collector"
appl "journal-collector: one URL expected, found 2" "two collectors"
rm "$tmp/drive/journal-collector"
mkdir "$tmp/drive/journal-collector"
appl "journal-collector is not a file" "a directory named journal-collector"

# Config drives.
cfg=$tmp/cfg
mkdir -p "$cfg/tenants.d" "$cfg/keys" "$cfg/network"
echo "[gateway]" > "$cfg/rempart.ini"
echo "[tenant]" > "$cfg/tenants.d/a.ini"
(umask 077 && head -c 32 /dev/urandom | base64 > "$cfg/keys/a.key")
echo "[Match]" > "$cfg/network/10-uplink.network"
if command -v debugfs > /dev/null && make -s -C "$top" config-drive CONFIG="$cfg" CONFIG_DRIVE="$tmp/d.ext4" > /dev/null 2>&1; then
	check "units: config drive (ext4) is labelled REMPART" test "$(blkid -o value -s LABEL "$tmp/d.ext4")" = REMPART
	listing=$(debugfs -R 'ls -p /keys' "$tmp/d.ext4" 2>/dev/null; debugfs -R 'ls -p /network' "$tmp/d.ext4" 2>/dev/null;
		debugfs -R 'ls -p /' "$tmp/d.ext4" 2>/dev/null)
	check "units: config drive (ext4) holds rempart.ini, tenants.d, keys/a.key, network/" \
		bash -c 'for n in rempart.ini tenants.d a.key 10-uplink.network; do grep -q "/$n/" <<< "$1" || exit 1; done' _ "$listing"
	check "units: config drive image is not world-readable (it holds keys)" test "$(stat -c %a "$tmp/d.ext4")" = 600
else
	fail "units: make config-drive CONFIG=dir (ext4)"
fi
if CONFIG_DRIVE_FORMAT=vfat "$top/image/config-drive.sh" "$cfg" "$tmp/d.vfat" vfat > /dev/null 2>&1; then
	check "units: config drive (vfat) is labelled REMPART" test "$(blkid -o value -s LABEL "$tmp/d.vfat")" = REMPART
	check "units: config drive (vfat) holds keys/a.key" bash -c 'MTOOLS_SKIP_CHECK=1 mdir -b -i "$1" ::/keys | grep -qi "a.key"' _ "$tmp/d.vfat"
else
	fail "units: config drive (vfat)"
fi
ln -s /etc/shadow "$cfg/keys/b.key"
if "$top/image/config-drive.sh" "$cfg" "$tmp/d.bad" > "$tmp/bad.log" 2>&1; then
	fail "units: config drive with a symbolic link was accepted"
else
	check "units: config drive with a symbolic link is refused, naming it" grep -q 'keys/b.key' "$tmp/bad.log"
fi
[ "$T_FAILS" -eq 0 ]
