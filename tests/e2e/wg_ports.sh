#!/bin/bash
# wg_ports.sh — a tenant's listen_port that another tunnel of the same apply
# holds by chance.  A tunnel goes up before its WireGuard configuration
# (links first, then addresses and routes, then the devices), and a device
# that is up with no port yet binds one the kernel picks from the ephemeral
# range (net.ipv4.ip_local_port_range: 32768-60999 by default, which holds
# WireGuard's usual 51820): it may be the port a tenant configured before it
# wants.  With 100 tenants on 51001-51100 that happened to about one apply
# in three.  The apply must give every tenant its own port.
#
# Reproduced on purpose: the gateway's namespace narrows its ephemeral range
# to six ports, the first tenant's listen_port among them and the four
# others' above it, so the four others' random ports take that port in two
# applies of three.  Three applies from nothing (down in between); each must
# succeed with every device on its port.  A foreign socket on a listen port
# still fails the apply (found before anything changes), with one clear
# error naming the tenant.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
BUILD=${BUILD:-$PWD/build}
REMPART=${REMPART:-$BUILD/rempart}

if [ "$(id -u)" != 0 ]; then skip "wg-ports: needs root"; exit 0; fi
if [ -z "${WP_PRIVATE_NS:-}" ]; then
	WP_PRIVATE_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
mount -t bpf bpf /sys/fs/bpf || { skip "wg-ports: cannot mount a private bpffs"; exit 0; }
mkdir -p /run/wireguard && mount -t tmpfs -o mode=0700 tmpfs /run/wireguard ||
	{ skip "wg-ports: cannot mount a private /run/wireguard"; exit 0; }
for t in wireguard-go wg nsenter python3; do
	command -v $t >/dev/null || { fail "wg-ports: $t not installed (make deps)"; exit 1; }
done

NS=rp-wgports
T=$(mktemp -d /tmp/wg-ports.XXXXXX)
chmod 700 "$T"
HOLDER=
gw() { nsenter --net=/run/netns/$NS "$@"; }
cleanup() {
	local rc=$?
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
	[ -d "$T/etc" ] && gw "$REMPART" -c "$T/etc" down >/dev/null 2>&1
	for f in "$T"/state/wg/*.pid "$T"/state/wg/*.gopid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	ip netns del $NS 2>/dev/null
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT INT TERM

[ -e /run/netns/$NS ] && { fail "wg-ports: $NS exists (a previous run left it)"; exit 1; }
ip netns add $NS
ip -n $NS link set lo up
P=51001	# the first tenant's listen_port, in the narrowed range
gw sysctl -qw net.ipv4.ip_local_port_range="$P $((P + 5))"
ip -n $NS link add up0 type veth peer name up0p
ip -n $NS link set up0p up
ip -n $NS addr add 198.18.7.1/24 dev up0
ip -n $NS link set up0 up
mkdir -p "$T/etc/tenants.d" "$T/keys"
(umask 077; for i in 1 2 3 4 5; do "$REMPART" keygen >"$T/keys/t$i.key"; done)
echo "198.18.0.0/16,FR" >"$T/geo.csv"
cat >"$T/etc/rempart.ini" <<EOF
[gateway]
name = wg-ports
uplink = up0
tenants = tenants.d
state_dir = $T/state

[geo]
ipv4 = $T/geo.csv
format = cidr
unknown = deny
EOF
for i in 1 2 3 4 5; do
	ip -n $NS link add cl$i type veth peer name cl${i}p
	ip -n $NS link set cl${i}p up
	if [ $i = 1 ]; then port=$P; else port=$((61000 + i)); fi
	cat >"$T/etc/tenants.d/t$i.ini" <<EOF
[tenant]
name = t$i
id = $((10 * i))
cloud_interface = cl$i
cloud_address = 10.$((20 + i)).0.1/24
cloud_prefixes = 10.$((20 + i)).0.0/16
tunnel_interface = wg-p$i
tunnel_address = 100.64.$i.1/24
listen_port = $port
private_key_file = $T/keys/t$i.key
site_countries = FR
EOF
done
out=$("$REMPART" -c "$T/etc" check 2>&1)
check "wg-ports: the configuration passes check ($out)" test $? = 0

# ports: every device's listen port, "wg-p1=51001 ..."
ports() { local i; for i in 1 2 3 4 5; do printf 'wg-p%s=%s ' $i "$(gw wg show wg-p$i listen-port 2>/dev/null)"; done; }
want="wg-p1=$P wg-p2=61002 wg-p3=61003 wg-p4=61004 wg-p5=61005 "
for round in 1 2 3; do
	out=$(gw env RP_WG_BACKEND=wireguard-go "$REMPART" -c "$T/etc" apply 2>&1)
	rc=$?
	check "wg-ports: apply $round from nothing succeeds with the first tenant's port in the ephemeral range (rc $rc: $(echo "$out" | grep -i 'port\|error' | head -n 2))" test $rc = 0
	got=$(ports)
	check "wg-ports: apply $round: every device listens on its own port ($got)" test "$got" = "$want"
	gw "$REMPART" -c "$T/etc" down >/dev/null 2>&1
	check "wg-ports: down after apply $round leaves no tunnel" eval '! ip -n $NS link show wg-p1 >/dev/null 2>&1'
done

# a descriptor the caller has open (a lock around the apply, a pipe) is not
# kept by the tunnels' supervisors and wireguard-go after apply returns
out=$(gw env RP_WG_BACKEND=wireguard-go "$REMPART" -c "$T/etc" apply 2>&1 9>"$T/caller-fd")
rc=$?
check "wg-ports: apply with a descriptor of the caller's open on fd 9 (rc $rc)" test $rc = 0
holders=$(for f in /proc/[0-9]*/fd/*; do
	[ "$(readlink "$f" 2>/dev/null)" = "$T/caller-fd" ] && { f=${f#/proc/}; echo "${f%%/*}"; }
done | sort -u | tr '\n' ' ')
check "wg-ports: ... no process keeps the caller's descriptor after apply (held by: ${holders:-none})" test -z "$holders"
gw "$REMPART" -c "$T/etc" down >/dev/null 2>&1

# a socket that is not one of the tunnels holds the port: one clear error
gw python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 61003)); time.sleep(60)' &
HOLDER=$!
# until it holds the port (python's start takes long on a busy machine)
for i in $(seq 100); do gw ss -Hlun 'sport = :61003' | grep -q . && break; sleep 0.1; done
out=$(gw env RP_WG_BACKEND=wireguard-go "$REMPART" -c "$T/etc" apply 2>&1)
rc=$?
check "wg-ports: a foreign socket on t3's listen_port fails the apply (rc $rc)" test $rc != 0
check "wg-ports: ... with an error naming the tenant and the port ($(echo "$out" | grep -m1 61003))" \
	eval 'echo "$out" | grep -q "t3.*listen_port.*61003.*in use"'
check "wg-ports: ... and the failed apply leaves no tunnel behind" eval '! ip -n $NS link show wg-p1 >/dev/null 2>&1'
kill $HOLDER 2>/dev/null
wait $HOLDER 2>/dev/null
HOLDER=
[ "$T_FAILS" = 0 ]
