#!/bin/bash
# image/test/boot-test.sh IMAGE.qcow2: boot the gateway image in qemu (TCG)
# and prove, from the guest and from a "ministry site" on the host, that it
# provisions its config drive, runs rempart, enforces policy with XDP on the
# virtio NIC and terminates WireGuard in the kernel.
#
#   netns im-bt<id>:  bridge 198.51.100.2/24 ── tap ── guest eth0 198.51.100.10
#                     site "lyon" (wireguard-go, FR address)  10.120.1.1
#   netns im-ab<id>:  veth on the bridge, 198.51.100.200/24 (a CN address)
#                     site "rogue" (wireguard-go, valid key)  10.120.2.1
#   guest:            tenant "interieur", wg-interieur :51810, cloud0 a veth
#                     with cloud_address 10.20.0.1/24; its peer in a netns,
#                     the "tenant VM" 10.20.0.10 (set up by the self-test)
#
# In im-bt<id> (198.51.100.2, the management source) the test also runs an
# NTP server and a systemd-journal-remote (:19532), which the config drive's
# ntp and journal-collector name, and logs into the guest with ssh (root, a
# key of the drive's authorized_keys); from im-ab<id> (not management) port
# 22 must not answer.  Late in the run a drive without authorized_keys is
# swapped in: sshd stops and port 22 is closed.
#
# The image is the shipped one (an overlay keeps it untouched); the test mode
# is switched on from outside with -fw_cfg name=opt/rempart/test.  Each
# check names in brackets the feature it needs; IMAGE_TEST_PENDING=a,b,…
# lists features not merged yet: their failures print SKIP (still visible,
# with the reason) instead of FAIL.  Ends with "N passed, N failed".
#
# qemu runs with -accel tcg, never KVM (it hangs guests on the CI hosts),
# and with -icount: the guest's clocks then follow the instructions it
# executes, so a loaded host slows the guest down but cannot skew its TSC
# calibration (seen here: "Detected 25.305 MHz processor", RCU stalls).
#
# Environment: IMAGE_TEST_TIMEOUT (whole qemu run, s, default 1200),
# IMAGE_TEST_KEEP=1 (keep the work directory and its console.log),
# QEMU_SMP (default 1), QEMU_MEM (MiB, default 1024), QEMU_EXTRA (default
# "-icount shift=auto,sleep=on").
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
img=$(readlink -f "${1:-$top/image/out/rempart-gw.qcow2}")
pending=",${IMAGE_TEST_PENDING:-},"
budget=${IMAGE_TEST_TIMEOUT:-1200}
guest_wait=60 guest_settle=10
vm=10.20.0.10	# the tenant VM behind cloud0, in the guest

npass=0 nfail=0 nskip=0
out() { echo "$*"; }
# result TAG NAME OK [WHY]
result() {
	local tag=$1 name=$2 ok=$3 why=${4:-}
	if [ "$ok" = 1 ]; then
		out "PASS: image: [$tag] $name"; npass=$((npass + 1))
	elif [[ $pending == *",$tag,"* ]]; then
		out "SKIP: image: [$tag] $name: failed, known gap: ${IMAGE_TEST_PENDING_WHY:-feature '$tag' pending}${why:+ ($why)}"; nskip=$((nskip + 1))
	else
		out "FAIL: image: [$tag] $name${why:+: $why}"; nfail=$((nfail + 1))
	fi
}
finish() {
	echo "image boot test: $npass passed, $nfail failed, $nskip skipped${IMAGE_TEST_PENDING:+ (pending: $IMAGE_TEST_PENDING)}"
	[ "$nfail" -eq 0 ]
	exit
}

journal_remote=/lib/systemd/systemd-journal-remote
for t in qemu-system-x86_64 qemu-img wireguard-go wg ip timeout setsid ssh ssh-keygen python3 socat "$journal_remote"; do
	command -v "$t" > /dev/null || { result image "tool $t present" 0 "run make deps"; finish; }
done
[ -f "$img" ] || { result image "image $img exists" 0 "run make image"; finish; }
[ "$(id -u)" = 0 ] || { echo "SKIP: image: boot test needs root (network namespaces, tap)"; exit 0; }

id=$(( $$ % 100000 ))
ns=im-bt$id abr=im-ab$id
br=im-br$id tap=im-tp$id va=im-va$id vb=im-vb$id
wl=im-wl$id wr=im-wr$id
work=$(mktemp -d /tmp/im-boot.XXXXXX)
console=$work/console.log
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2> /dev/null; done
	ip netns del "$ns" 2> /dev/null
	ip netns del "$abr" 2> /dev/null
	ip link del "$va" 2> /dev/null
	rm -f "/var/run/wireguard/$wl.sock" "/var/run/wireguard/$wr.sock"
	if [ "${IMAGE_TEST_KEEP:-0}" = 1 ]; then echo "image: work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the config drive: one tenant, two sites --------------------------------
cfg=$work/config
mkdir -p "$cfg/tenants.d" "$cfg/keys" "$cfg/network"
(umask 077
 wg genkey > "$cfg/keys/interieur.key"
 wg genkey > "$work/lyon.key"
 wg genkey > "$work/rogue.key"
 ssh-keygen -q -t ed25519 -N '' -C im-boot-test -f "$work/ssh.key")
# The appliance's files: root's SSH key, the NTP server and the journal
# collector, all on the test's management host 198.51.100.2.
{ echo "# the boot test's operator"; cat "$work/ssh.key.pub"; } > "$cfg/authorized_keys"
printf '# the test host\n198.51.100.2\n' > "$cfg/ntp"
echo "http://198.51.100.2:19532" > "$cfg/journal-collector"
jmark=jm$id$RANDOM
gw_pub=$(wg pubkey < "$cfg/keys/interieur.key")
cat > "$cfg/rempart.ini" <<EOF
; boot test gateway: the uplink is the virtio NIC, 198.51.100.0/24 is the
; "internet" (its lower half France, its upper half China: geo.csv).
[gateway]
name = im-boot-gw
uplink = eth0
public_endpoint = 198.51.100.10
tenants = tenants.d
state_dir = /var/lib/rempart
fail_mode = closed

[geo]
ipv4 = geo.csv
format = cidr
unknown = deny

[management]
allow_from = 198.51.100.2/32
tcp_ports = 22

[metrics]
listen = 127.0.0.1:9542
EOF
cat > "$cfg/geo.csv" <<EOF
198.51.100.0/25,FR
198.51.100.128/25,CN
EOF
cat > "$cfg/tenants.d/interieur.ini" <<EOF
[tenant]
name = interieur
id = 10
cloud_interface = cloud0
cloud_address = 10.20.0.1/24
cloud_prefixes = 10.20.0.0/16
tunnel_address = 100.64.10.1/24
listen_port = 51810
private_key_file = ../keys/interieur.key
site_countries = FR
intra = allow

[site lyon]
public_key = $(wg pubkey < "$work/lyon.key")
allowed_ips = 10.120.1.0/24

; a valid key, but it connects from a country the tenant does not allow
[site rogue]
public_key = $(wg pubkey < "$work/rogue.key")
allowed_ips = 10.120.2.0/24
EOF
cat > "$cfg/network/10-uplink.network" <<EOF
[Match]
Name=eth0

[Network]
Address=198.51.100.10/24
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF
# cloud0: a veth whose peer becomes the tenant VM (in test mode only).
cat > "$cfg/network/20-cloud0.netdev" <<EOF
[NetDev]
Name=cloud0
Kind=veth

[Peer]
Name=tvm0
EOF
cat > "$cfg/network/20-cloud0.network" <<EOF
[Match]
Name=cloud0

[Link]
RequiredForOnline=no

[Network]
LinkLocalAddressing=no
ConfigureWithoutCarrier=yes
KeepConfiguration=yes
EOF
"$top/image/config-drive.sh" "$cfg" "$work/config.img" > /dev/null ||
	{ result image "config drive built" 0; finish; }
# The bad drive plugged in later: a site prefix that is not one.
cp -r "$cfg" "$work/bad"
sed -i 's|^allowed_ips = 10.120.2.0/24|allowed_ips = 10.120.2.0/33|' "$work/bad/tenants.d/interieur.ini"
"$top/image/config-drive.sh" "$work/bad" "$work/bad.img" > /dev/null ||
	{ result image "bad config drive built" 0; finish; }
# The drive swapped in at the end: the same, without authorized_keys.
cp -r "$cfg" "$work/noauth"
rm "$work/noauth/authorized_keys"
"$top/image/config-drive.sh" "$work/noauth" "$work/noauth.img" > /dev/null ||
	{ result image "config drive without authorized_keys built" 0; finish; }
qemu-img create -q -f qcow2 -b "$img" -F qcow2 "$work/disk.qcow2" ||
	{ result image "overlay on $img" 0; finish; }

# --- the "internet": two namespaces on a bridge ------------------------------
ip netns add "$ns" && ip netns add "$abr" || { result image "network namespaces" 0; finish; }
ip -n "$ns" link set lo up
ip -n "$abr" link set lo up
ip -n "$ns" link add "$br" type bridge
ip -n "$ns" addr add 198.51.100.2/24 dev "$br"
ip -n "$ns" link set "$br" up
ip link add "$va" netns "$ns" type veth peer name "$vb" netns "$abr"
ip -n "$ns" link set "$va" master "$br" up
ip -n "$abr" addr add 198.51.100.200/24 dev "$vb"
ip -n "$abr" link set "$vb" up

# --- the management host's services: NTP and a journal collector -------------
# A stratum-1 NTP server answering with this host's clock (RFC 5905 server
# mode; Debian's NTP daemons would replace the host's own time service).
cat > "$work/ntpd.py" <<'PY'
import socket, struct, sys, time
addr, log = sys.argv[1], open(sys.argv[2], "a", buffering=1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, 123))
def ts(t):
    return struct.pack("!II", int(t) + 2208988800, int((t % 1) * 2**32))
while True:
    data, peer = s.recvfrom(512)
    rx = time.time()
    if len(data) < 48 or data[0] & 7 != 3:	# client mode only
        continue
    pkt = struct.pack("!BBbbII4s", 4 << 3 | 4, 1, data[2], -20, 0, 0, b"LOCL")
    pkt += ts(rx) + data[40:48] + ts(rx) + ts(time.time())
    s.sendto(pkt, peer)
    print("answered %s:%d" % peer, file=log)
PY
: > "$work/ntp.log"
ip netns exec "$ns" python3 "$work/ntpd.py" 198.51.100.2 "$work/ntp.log" 2> "$work/ntpd.err" &
pids+=($!)
mkdir -p "$work/collector"
ip netns exec "$ns" "$journal_remote" --listen-http=19532 --split-mode=none \
	--output="$work/collector/gw.journal" > "$work/collector.log" 2>&1 &
jr_pid=$!
pids+=("$jr_pid")

# --- the gateway ----------------------------------------------------------------
: > "$console"
ip netns exec "$ns" timeout --kill-after=10 "$budget" qemu-system-x86_64 \
	-accel tcg ${QEMU_EXTRA--icount shift=auto,sleep=on} -smp "${QEMU_SMP:-1}" -m "${QEMU_MEM:-1024}" \
	-nodefaults -no-user-config -display none \
	-serial "file:$console" \
	-drive "file=$work/disk.qcow2,format=qcow2,if=none,id=root" \
	-device virtio-blk-pci,drive=root,bootindex=0 \
	-drive "file=$work/config.img,format=raw,if=none,id=cfg,readonly=on" \
	-device virtio-blk-pci,drive=cfg,id=cfgdev \
	-monitor "unix:$work/monitor.sock,server=on,wait=off" \
	-netdev "tap,id=up,ifname=$tap,script=no,downscript=no" \
	-device virtio-net-pci,netdev=up,mac=52:54:00:be:ef:01 \
	-fw_cfg "name=opt/rempart/test,string=wait=$guest_wait settle=$guest_settle expect_reject=1 vm_if=tvm0 vm_addr=$vm/24 vm_gw=10.20.0.1 ntp=198.51.100.2 collector=http://198.51.100.2:19532 jmark=$jmark ssh_window=1" \
	> "$work/qemu.log" 2>&1 &
qpid=$!
pids+=("$qpid")
wait_tap() { ip -n "$ns" link show "$tap" > /dev/null 2>&1; }
for ((i = 0; i < 300; i++)); do wait_tap && break; kill -0 "$qpid" 2> /dev/null || break; sleep 0.1; done
if ! wait_tap; then
	result image "qemu started" 0 "$(head -3 "$work/qemu.log" | tr '\n' ' ')"
	finish
fi
ip -n "$ns" link set "$tap" master "$br" up

# --- the sites ------------------------------------------------------------------
# start_site NS IF KEY ADDR: wireguard-go in NS, peer = the gateway.
start_site() {
	local n=$1 ifn=$2 key=$3 addr=$4 i
	WG_PROCESS_FOREGROUND=1 setsid ip netns exec "$n" wireguard-go "$ifn" > "$work/$ifn.log" 2>&1 &
	pids+=($!)
	for ((i = 0; i < 600; i++)); do [ -S "/var/run/wireguard/$ifn.sock" ] && break; sleep 0.05; done
	[ -S "/var/run/wireguard/$ifn.sock" ] || { echo "wireguard-go $ifn: no UAPI socket after 30s: $(head -c 300 "$work/$ifn.log")" >&2; return 1; }
	ip netns exec "$n" wg set "$ifn" private-key "$key" \
		peer "$gw_pub" endpoint 198.51.100.10:51810 allowed-ips 10.20.0.0/16,100.64.10.0/24 \
		persistent-keepalive 5 &&
	ip -n "$n" addr add "$addr/24" dev "$ifn" &&
	ip -n "$n" link set "$ifn" up &&
	ip -n "$n" route add 10.20.0.0/16 dev "$ifn"
}
# (not in a $(…) subshell: the PIDs must reach the cleanup)
start_site "$ns" "$wl" "$work/lyon.key" 10.120.1.1 2> "$work/site.err" ||
	{ result image "site lyon (wireguard-go)" 0 "$(tr '\n' ' ' < "$work/site.err")"; finish; }
start_site "$abr" "$wr" "$work/rogue.key" 10.120.2.1 2> "$work/site.err" ||
	{ result image "site rogue (wireguard-go)" 0 "$(tr '\n' ' ' < "$work/site.err")"; finish; }

# --- wait for the guest ---------------------------------------------------------
seen() { tr -d '\r' < "$console" | grep -q -- "$1"; }
alive() { kill -0 "$qpid" 2> /dev/null; }
t0=$(date +%s)
# (rempart's first start verifies its BPF programs: minutes under TCG on a
# loaded host)
while alive && ! seen 'rempart-selftest: ready' && [ $(( $(date +%s) - t0 )) -lt $(( budget - 200 )) ]; do sleep 1; done
boot_s=$(( $(date +%s) - t0 ))
if seen 'rempart-selftest: begin'; then
	result image "guest booted to its self-test in ${boot_s}s" 1
else
	result image "guest booted to its self-test" 0 "no self-test output in ${boot_s}s; console tail: $(tr -d '\r' < "$console" | grep -v '^\s*$' | tail -3 | tr '\n' '|')"
fi

# hmp CMD: one human monitor command, its output.
hmp() { (echo "$1"; sleep 1) | socat - "UNIX-CONNECT:$work/monitor.sock" 2>/dev/null | tr -d '\r'; }
# swap_drive OLD_ID NEW_ID FILE: unplug device OLD_ID, plug FILE as NEW_ID.
swap_drive() {
	local i
	hmp "device_del $1" > /dev/null
	for ((i = 0; i < 60; i++)); do hmp "info block" | grep -q "^${1%dev}" || break; sleep 1; done
	hmp "info block" | grep -q "^${1%dev}" && return 1
	hmp "drive_add 0 if=none,id=${2%dev},file=$3,format=raw,readonly=on" > /dev/null
	hmp "device_add virtio-blk-pci,drive=${2%dev},id=$2" > /dev/null
}
# tcp22 NS: how port 22 of the gateway answers from NS: open, refused
# (closed: a RST) or silent (dropped) within 10 s.
tcp22() {
	local rc err
	err=$(ip netns exec "$1" timeout 10 bash -c 'exec 3<> /dev/tcp/198.51.100.10/22' 2>&1)
	rc=$?
	case $rc in
	0) echo open ;;
	124) echo silent ;;
	*) if [[ $err == *refused* ]]; then echo refused; else echo "error ($rc): $err" | tr '\n' ' '; fi ;;
	esac
}
sshgw() {
	ip netns exec "$ns" timeout 60 ssh -n -F /dev/null -i "$work/ssh.key" -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile="$work/known_hosts" -o ConnectTimeout=20 -o LogLevel=ERROR \
		root@198.51.100.10 "$@"
}

# Traffic: lyon pings the tenant VM through the tunnel until it answers (its
# echo goes through uplink_in, tunnel_in and the tenant's routing table, the
# reply through cloud_in and uplink_out); rogue keeps trying (each attempt is a handshake initiation from
# a blocked country) until the guest is done.  Once lyon got through (or
# the guest stopped waiting for it), the config drive is swapped for a bad
# one, which the guest must reject.
ping_ok=0 uplink_ping=0 swapped=0
ssh_out= ssh_rc=none ssh_tries=0 fence22=none noauth=0 closed22=none
t1=$(date +%s)
while alive && ! seen 'rempart-selftest: done'; do
	if [ "$ping_ok" = 0 ] && ip netns exec "$ns" ping -q -c 1 -W 2 -I 10.120.1.1 "$vm" > /dev/null 2>&1; then
		ping_ok=1
	fi
	ip netns exec "$abr" ping -q -c 1 -W 1 -I 10.120.2.1 "$vm" > /dev/null 2>&1
	# Not management, not WireGuard: the uplink must drop it.
	seen 'rempart-selftest: ready' && ip netns exec "$abr" ping -q -c 1 -W 1 198.51.100.10 > /dev/null 2>&1 &&
		uplink_ping=$((uplink_ping + 1))
	# ssh: a root login from the management host (sshd may still be
	# starting: a few tries), then port 22 from a non-management address
	# (once the bad drive is in: the guest waits for that first)
	if [ "$ssh_rc" != 0 ] && [ "$ssh_tries" -lt 6 ] && [ "$swapped" != 0 ]; then
		ssh_tries=$((ssh_tries + 1))
		ssh_out=$(sshgw 'echo "user=$(id -un) host=$(hostname)"; rempart -c /etc/rempart status > /dev/null && echo status=ok' 2>&1)
		ssh_rc=$?
		[ "$ssh_rc" = 0 ] || sleep 5
	fi
	[ "$fence22" = none ] && [ "$swapped" != 0 ] && fence22=$(tcp22 "$abr")
	elapsed=$(( $(date +%s) - t1 ))
	if [ "$swapped" = 0 ] && { [ "$ping_ok" = 1 ] || [ "$elapsed" -gt "$guest_wait" ]; }; then
		swapped=1
		swap_drive cfgdev baddev "$work/bad.img" || swapped=2
	fi
	if [ "$noauth" = 0 ] && [ "$swapped" = 1 ] && seen 'rempart-selftest: ssh-window'; then
		noauth=1
		swap_drive baddev noauthdev "$work/noauth.img" || noauth=2
	fi
	[ "$closed22" = none ] && seen 'rempart-selftest: ssh-closed' && closed22=$(tcp22 "$ns")
	[ "$elapsed" -gt $(( guest_wait + guest_settle + 720 )) ] && break	# the [unit] checks reload and restart rempart
	sleep 0.5
done
hs_lyon=$(ip netns exec "$ns" wg show "$wl" latest-handshakes 2>/dev/null | awk '{ print $2 }')
hs_rogue=$(ip netns exec "$abr" wg show "$wr" latest-handshakes 2>/dev/null | awk '{ print $2 }')
tx_rogue=$(ip netns exec "$abr" wg show "$wr" transfer 2>/dev/null | awk '{ print $3 }')

# The guest has said all it had to say: no need to wait for its power-off
# (the overlay disk is thrown away).
for ((i = 0; i < 3; i++)); do alive || break; sleep 1; done
alive && kill "$qpid" 2> /dev/null

# --- the guest's own checks -----------------------------------------------------
guest_lines=$(tr -d '\r' < "$console" | sed -n 's/.*\(PASS\|FAIL\|INFO\): guest: /\1 /p')
if [ -z "$guest_lines" ]; then
	result image "guest reported its checks on the serial console" 0
fi
while read -r kind rest; do
	[ -n "$kind" ] || continue
	tag=$(echo "$rest" | sed -n 's/^\[\([a-z]*\)\].*/\1/p')
	name=$(echo "$rest" | sed 's/^\[[a-z]*\] *//')
	case "$kind" in
	PASS) result "${tag:-image}" "guest: $name" 1 ;;
	FAIL) result "${tag:-image}" "guest: $name" 0 ;;
	INFO) echo "  guest: $rest" ;;
	esac
done <<< "$guest_lines"
seen 'rempart-selftest: done' || result image "guest self-test completed" 0 "no 'done' line before the timeout"

# --- the bad config drive ----------------------------------------------------------
if [ "$swapped" = 2 ]; then
	result image "hot-unplug of the config drive" 0 "the guest did not release it within 60s"
elif [ "$swapped" = 0 ]; then
	result image "hot-plug of a bad config drive" 0 "never attempted"
else
	rej=$(tr -d '\r' < "$console" | grep -c 'REJECTED config drive')
	why=$(tr -d '\r' < "$console" | grep -c 'rempart-provision: .*10.120.2.0/33')
	result check "bad config drive rejected, the reason on the console" \
		"$([ "$rej" -gt 0 ] && [ "$why" -gt 0 ] && echo 1 || echo 0)" "$rej rejections, $why lines naming 10.120.2.0/33"
fi

# --- the appliance: ssh through the management fence, NTP, the journal ------------
result ssh "ssh root@gateway from the management host 198.51.100.2 with the drive's key: logged in, rempart status ran" \
	"$([ "$ssh_rc" = 0 ] && echo "$ssh_out" | grep -q '^user=root host=rempart-gw$' && echo "$ssh_out" | grep -qx 'status=ok' && echo 1 || echo 0)" \
	"exit $ssh_rc after $ssh_tries tries: $(echo "$ssh_out" | tr '\n' ' ' | head -c 200)"
result ssh "port 22 from a non-management address (198.51.100.200): no answer (dropped by the fence)" \
	"$([ "$fence22" = silent ] && echo 1 || echo 0)" "$fence22"
if [ "$noauth" = 1 ]; then
	result ssh "a drive without authorized_keys: port 22 from the management host refused (closed)" \
		"$([ "$closed22" = refused ] && echo 1 || echo 0)" "$closed22"
else
	result ssh "a drive without authorized_keys swapped in" 0 "$([ "$noauth" = 2 ] && echo "the guest did not release the bad drive" || echo "the guest never opened its ssh window")"
fi
ntp_n=$(grep -c '^answered 198.51.100.10:' "$work/ntp.log")
result time "the gateway asked the drive's NTP server (198.51.100.2) for the time" \
	"$([ "$ntp_n" -gt 0 ] && echo 1 || echo 0)" "$ntp_n answers$([ -s "$work/ntpd.err" ] && echo ": $(head -c 200 "$work/ntpd.err")")"
kill "$jr_pid" 2> /dev/null
wait "$jr_pid" 2> /dev/null
jr_lines=$(journalctl --file="$work/collector/gw.journal" -o cat --no-pager 2>/dev/null | wc -l)
jr_mark=$(journalctl --file="$work/collector/gw.journal" -o cat --no-pager 2>/dev/null | grep -c "journal marker $jmark")
jr_host=$(journalctl --file="$work/collector/gw.journal" -o export --no-pager 2>/dev/null | sed -n 's/^_HOSTNAME=//p' | sort -u | tr '\n' ' ')
result journal "the guest's journal arrived at the collector (systemd-journal-remote on 198.51.100.2:19532), marker $jmark in it" \
	"$([ "$jr_mark" -gt 0 ] && echo 1 || echo 0)" "$jr_lines lines from ${jr_host:-nobody}, $jr_mark with the marker; $(tail -c 200 "$work/collector.log" | tr '\n' ' ')"

# --- checks from the site --------------------------------------------------------
result wg "site lyon (FR) completed a WireGuard handshake with the gateway" \
	"$([ "${hs_lyon:-0}" -gt 0 ] && echo 1 || echo 0)" "latest handshake ${hs_lyon:-none}"
result dataplane "site lyon reached the tenant VM $vm behind cloud0 through the tunnel, and back" "$ping_ok"
if [ "${hs_lyon:-0}" -gt 0 ]; then
	result geo "site rogue (valid key, CN address) got no handshake" \
		"$([ "${hs_rogue:-0}" -eq 0 ] && echo 1 || echo 0)" "handshake at ${hs_rogue}, ${tx_rogue:-0} bytes sent"
	result xdp "uplink drops ICMP echo from a non-management address" \
		"$([ "$uplink_ping" -eq 0 ] && echo 1 || echo 0)" "$uplink_ping echo replies"
else
	result geo "site rogue (valid key, CN address) got no handshake" 0 \
		"cannot judge: the gateway completed no handshake with the allowed site either"
	result xdp "uplink drops ICMP echo from a non-management address" 0 \
		"cannot judge: the gateway answered no WireGuard site"
fi
# The drop must be counted by the dataplane: geo_site for tenant interieur.
status=$(echo "$guest_lines" | sed -n 's/^INFO status-json //p' | head -1)
[ -n "$status" ] || status='{"error": "the guest printed no status --json"}'
geo_drops=$(echo "$status" | python3 -c '
import json, sys
s = None
try:
    s = json.load(sys.stdin)
    t = [t for t in s["tenants"] if t["name"] == "interieur"][0]
    print(t["counters"].get("geo_site", {}).get("packets", 0))
except Exception as e:
    print("no counters in status --json (%s)" % (s.get("error", e) if isinstance(s, dict) else e))
' 2>/dev/null)
result status "gateway counted the rogue site's packets as geo_site drops" \
	"$([ "${geo_drops:-0}" -gt 0 ] 2>/dev/null && echo 1 || echo 0)" "geo_site packets: ${geo_drops:-no status}"

[ "$nfail" -gt 0 ] && [ "${IMAGE_TEST_KEEP:-0}" != 1 ] && {
	echo "  console (last 30 lines):"
	tr -d '\r' < "$console" | grep -v '^\s*$' | tail -30 | sed 's/^/    /'
}
finish
