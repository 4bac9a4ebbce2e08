#!/bin/bash
# ops_confirm_first: `apply --confirm` on a gateway where nothing was
# applied before.  No confirm: the rollback goes back to nothing
# configured, fail closed: what the apply created in the kernel is gone
# (tunnel and its wireguard-go, addresses, routes, rules: the namespace as
# before the apply), the programs stay attached and drop everything but
# management, and the undone files leave their place (kept in
# state_dir/rejected) so that a reload or a reboot cannot bring them back.
#
#   netns opfpN (operator 198.51.100.2)        netns opfvN (tenant VM 10.20.0.10)
#        │ veth                                     │ veth
#   netns opfN: opfuN 198.51.100.1 (uplink)    opfcN 10.20.0.1 (tenant a's cloud)
#               socat on 22 (management) and 2323; tunnel opfwN (wireguard-go)
#
# Contrast at the end: after `rempart down` (programs detached) the VM's
# ARP/ping to the gateway and the operator's TCP/2323 get through, so the
# fail-closed checks can fail.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/e2e/ops_lib.sh
for t in wireguard-go wg socat nc; do
	command -v $t >/dev/null || { skip "ops_confirm_first: $t not installed"; exit 0; }
done
op_private_bpffs "$0" "$@"
NS=opf$$ PE=opfp$$ VM=opfv$$ UP=opfu$$ CL=opfc$$ TUN=opfw$$
T=$(mktemp -d /tmp/op_confirm_first.XXXXXX)
S=$T/state
export REMPART
in_ns() { nsenter --net=/run/netns/"$NS" "$@"; }
rp() { in_ns "$REMPART" -c "$T" "$@"; }

cleanup() {
	[ -f "$T/rempart.ini" ] || cp "$T/keep.ini" "$T/rempart.ini" 2>/dev/null
	rp down >/dev/null 2>&1
	for f in "$S"/confirm/timer.pid "$S"/wg/*.pid "$S"/wg/*.gopid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	for p in ${srv_pids:-}; do kill "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	ip netns del "$PE" 2>/dev/null
	ip netns del "$VM" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

ip netns add "$NS" && ip netns add "$PE" && ip netns add "$VM" ||
	{ skip "ops_confirm_first: cannot create network namespaces"; exit 0; }
ip link add "$UP" netns "$NS" type veth peer name opfq$$ netns "$PE"
ip link add "$CL" netns "$NS" type veth peer name opfr$$ netns "$VM"
ip -n "$NS" addr add 198.51.100.1/24 dev "$UP"
ip -n "$PE" addr add 198.51.100.2/24 dev opfq$$
ip -n "$VM" addr add 10.20.0.10/24 dev opfr$$
for n in "$NS" "$PE" "$VM"; do ip -n "$n" link set lo up; done
ip -n "$NS" link set "$UP" up; ip -n "$NS" link set "$CL" up
ip -n "$PE" link set opfq$$ up; ip -n "$VM" link set opfr$$ up
ip -n "$VM" route add 198.51.100.0/24 dev opfr$$	# on-link: ARP for the gateway's uplink address
# and the way back (not rempart's; the kernel flushes it when the cloud
# interface loses its last address: put back for the probes, not compared)
vm_route() { ip -n "$NS" route replace 10.20.0.10/32 dev "$CL"; }
vm_route
mkdir -p "$T/tenants.d" "$T/keys"
chmod 700 "$T/keys"
"$REMPART" keygen >"$T/keys/a.key"
chmod 600 "$T/keys/a.key"
cat >"$T/rempart.ini" <<EOF
[gateway]
name = op-first
uplink = $UP
public_endpoint = 198.51.100.1
tenants = tenants.d
state_dir = $S
fail_mode = closed

[geo]
ipv4 = /usr/share/tor/geoip
ipv6 = /usr/share/tor/geoip6
format = tor

[management]
allow_from = 198.51.100.2/32
tcp_ports = 22
EOF
cp "$T/rempart.ini" "$T/keep.ini"
cat >"$T/tenants.d/a.ini" <<EOF
[tenant]
name = a
id = 10
cloud_interface = $CL
cloud_address = 10.20.0.1/24
cloud_prefixes = 10.20.0.0/16
tunnel_interface = $TUN
tunnel_address = 100.64.10.1/24
listen_port = 51898
private_key_file = ../keys/a.key
site_countries = FR

[site s1]
public_key = $("$REMPART" keygen | wg pubkey)
allowed_ips = 10.110.1.0/24
EOF
for port in 22 2323; do
	nsenter --net=/run/netns/"$NS" socat TCP-LISTEN:$port,fork,reuseaddr SYSTEM:'echo ok' &
	srv_pids="${srv_pids:-} $!"
done
tcp_ok() { ip netns exec "$PE" nc -N -w 2 198.51.100.1 "$1" </dev/null 2>/dev/null | grep -qx ok; }
vm_ping() { ip netns exec "$VM" ping -c 1 -W 1 198.51.100.1 >/dev/null 2>&1; }
xdp_on() { in_ns ip link show dev "$1" 2>/dev/null | grep -q ' xdp'; }
# the namespace's kernel state rempart changes (links without their
# counters, addresses, routes, rules), the kernel's own link-local ones aside
kstate() {
	{
		in_ns ip -o link show | sed -E 's/^[0-9]+: //; s/ link\/.*//; s/ prog\/xdp.*//'
		in_ns ip -o addr show | grep -v 'scope link'
		in_ns ip -o route show table all | grep -v -e 'fe80::' -e 'ff00::'
		in_ns ip -o -6 route show table all | grep -v -e 'fe80::' -e 'ff00::'
		in_ns ip rule; in_ns ip -6 rule
		in_ns sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding
	} 2>&1 | sed -E 's/ (xdp|xdpgeneric|xdpdrv)( |$)/ /' | grep -v '^10\.20\.0\.10 dev' | sort
}
wait_for 5 tcp_ok 2323 && wait_for 5 vm_ping ||
	{ fail "ops_confirm_first: the topology does not work before rempart"; exit 1; }
kstate >"$T/k.before"

# --- the first apply, with --confirm ---------------------------------------
rp apply --confirm 4 >"$T/out" 2>"$T/err"
rc=$?
check "ops_confirm_first: apply --confirm 4 with nothing applied before exits 0 ($rc: $(head -2 "$T/err" | tr '\n' ' '))" \
	test "$rc" = 0
check "ops_confirm_first: ...a rollback is pending" test -f "$S/confirm/token"
check "ops_confirm_first: ...its target is nothing configured" test -f "$S/confirm/previous/nothing"
check "ops_confirm_first: the tunnel, the cloud address and the programs are in place meanwhile" \
	bash -c "nsenter --net=/run/netns/$NS ip link show $TUN >/dev/null 2>&1 &&
		 nsenter --net=/run/netns/$NS ip -o addr show dev $CL | grep -q 10.20.0.1/24 &&
		 nsenter --net=/run/netns/$NS ip link show dev $UP | grep -q ' xdp' &&
		 nsenter --net=/run/netns/$NS ip link show dev $CL | grep -q ' xdp'"
wgpids=$(cat "$S"/wg/*.pid "$S"/wg/*.gopid 2>/dev/null | tr '\n' ' ')
check "ops_confirm_first: the tunnel's wireguard-go runs ($wgpids)" \
	bash -c "[ -n '$wgpids' ] && for p in $wgpids; do kill -0 \$p || exit 1; done"
check "ops_confirm_first: management TCP/22 works meanwhile" wait_for 10 tcp_ok 22

# --- no confirm: back to nothing, fail closed ------------------------------
wait_for 60 bash -c "! test -f '$S/confirm/token'"
check "ops_confirm_first: no confirm: the rollback happened by itself" \
	bash -c "! test -f '$S/confirm/token'"
kstate >"$T/k.after"
check "ops_confirm_first: the namespace's links, addresses, routes, rules and forwarding are as before the apply" \
	diff -u "$T/k.before" "$T/k.after"
# gone: no such process, or a zombie its parent has not reaped yet (kill -0
# succeeds on one; rempart no longer waits for the reaper: kernel/wg)
gone() { local p; for p in "$@"; do [ ! -e /proc/$p ] || grep -q '^State:[[:space:]]*Z' /proc/$p/status 2>/dev/null || return 1; done; }
check "ops_confirm_first: the tunnel's wireguard-go is gone" wait_for 5 gone $wgpids
check "ops_confirm_first: the programs stay attached to the uplink and the cloud interface" \
	bash -c "nsenter --net=/run/netns/$NS ip link show dev $UP | grep -q ' xdp' &&
		 nsenter --net=/run/netns/$NS ip link show dev $CL | grep -q ' xdp'"
vm_route
check "ops_confirm_first: fail closed: the cloud interface is dropped whole (the VM's ARP/ping to the gateway)" \
	bash -c "! ip netns exec $VM ping -c 2 -W 1 198.51.100.1 >/dev/null 2>&1"
check "ops_confirm_first: fail closed: the uplink admits no TCP/2323" \
	bash -c "! ip netns exec $PE nc -N -w 2 198.51.100.1 2323 </dev/null 2>/dev/null | grep -q ok"
check "ops_confirm_first: the management fence stays: TCP/22 from allow_from works" wait_for 10 tcp_ok 22
check "ops_confirm_first: the undone files left their place (no reload or reboot brings them back)" \
	bash -c "! test -e '$T/rempart.ini' && ! test -e '$T/tenants.d/a.ini'"
check "ops_confirm_first: ...and are kept in state_dir/rejected" \
	bash -c "cmp -s '$T/keep.ini' '$S/rejected/rempart.ini' && test -f '$S/rejected/tenants/a.ini'"
check "ops_confirm_first: nothing is recorded as applied, no history" \
	bash -c "! test -e '$S/applied' && ! test -e '$S/history'"
check "ops_confirm_first: the key file stays" test -s "$T/keys/a.key"

# --- again, confirmed: kept -----------------------------------------------
cp "$S/rejected/rempart.ini" "$T/rempart.ini"
cp "$S/rejected/tenants/a.ini" "$T/tenants.d/a.ini"
rp apply --confirm 30 >"$T/out" 2>"$T/err"
check "ops_confirm_first: a second first apply --confirm arms again (target nothing)" \
	bash -c "test -f '$S/confirm/previous/nothing'"
rp confirm >/dev/null 2>&1
check "ops_confirm_first: confirm keeps it: recorded as applied, tunnel and cloud address up" \
	bash -c "! test -e '$S/confirm/token' && test -f '$S/applied/rempart.ini' &&
		 nsenter --net=/run/netns/$NS ip link show $TUN >/dev/null 2>&1 &&
		 nsenter --net=/run/netns/$NS ip -o addr show dev $CL | grep -q 10.20.0.1/24"

# --- contrast: after down (programs detached) the same probes get through --
rp down >/dev/null 2>&1
vm_route
check "ops_confirm_first: contrast: after down the VM's ping and TCP/2323 get through (the probes can fail)" \
	bash -c "$(declare -f tcp_ok vm_ping wait_for); PE=$PE VM=$VM; wait_for 10 vm_ping && wait_for 10 tcp_ok 2323"
[ "$T_FAILS" -eq 0 ]
