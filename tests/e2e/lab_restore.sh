#!/bin/bash
# lab_restore.sh — always attached (docs/dataplane.md "Loader"): a tunnel or
# cloud interface that was deleted and recreated, or went down and up, gets
# its program and its routes back: from `rempart apply`, and from the daemon
# by itself within a second, logged.  Real traffic through the lab:
#   - bravo-1 -> bravo's cloud tcp/22 is refused by the policy (intra =
#     deny, rule web allows 80, 443, 8000-8099): it must stay refused after
#     wg-bravo was recreated (tunnel_in back on the new interface);
#   - bravo-1 -> the DNS share: its answer is a reply only through the flow
#     tunnel_in records (services' cloud has no route to bravo otherwise);
#   - a flap of wg-alpha and of gw-ca: alpha-1's pings to its cloud come
#     back within a second of the link coming up;
#   - gw-ca deleted and recreated (down) while the daemon runs: the daemon
#     attaches cloud_in, brings it up, restores the routes;
#   - addresses added to the uplink while the daemon runs (DHCP, an HA
#     address moved in): the policy follows them (docs/policy.md "The gateway
#     itself"): the management port answers on the new address from
#     [management] allow_from, and alpha's cloud (egress = nat, to DE) cannot
#     reach the gateway's port 22 through a new address in DE; once removed,
#     the management exception no longer names it.
. "$(dirname "$0")/../lab/e2e-lib.sh"
lab_begin
WGA=$(tenant_get alpha tunnel_interface); [ -n "$WGA" ] || WGA=wg-alpha
WGB=$(tenant_get bravo tunnel_interface); [ -n "$WGB" ] || WGB=wg-bravo
CA=$(tenant_get alpha cloud_interface)
A1_4=$(lan wgs-a1 4)

# tunnel_in filters wg-bravo again: the tunnel carries traffic (an allowed
# connection passes), the rule-denied port does not, the share's answer
# (a reply only through tunnel_in's flow) comes back.
bravo_filtered() { # PREFIX
	# traffic from the cloud makes the gateway's side start the handshake
	# (the site would wait for its own rekey timeout)
	ip netns exec rp-cloud-b ping -c1 -W1 -q "$(lan wgs-b1 4)" >/dev/null 2>&1
	if wait_for 15 eval '[ "$(probe rp-site-b1 tcp $CLOUD_HOST4 80 rp-cloud-b)" = pass:cloud-b ]'; then
		pass "$1: bravo-1 -> its cloud tcp/80 passes through the new $WGB"
	else
		fail "$1: bravo-1 cannot reach its cloud through the new $WGB"
	fi
	row rp-site-b1 tcp $CLOUD_HOST4 22 drop rp-cloud-b -- "$1: bravo-1 -> its cloud tcp/22 (no rule allows it) still refused"
	row rp-site-b1 tcp $CLOUD_HOST6 22 drop rp-cloud-b -- "$1: bravo-1 -> its cloud tcp/22 IPv6 still refused"
	row rp-site-b1 udp $SVC4 53 pass:svc rp-svc -- "$1: the DNS share's answer (a reply tunnel_in recorded) comes back"
}
# recreated IFNAME OLD_IFINDEX: a new link by that name, up, running tunnel_in
recreated() {
	local i; i=$(ifindex_of "$1")
	[ -n "$i" ] && [ "$i" != "$2" ] && link_up "$1" && prog_on "$1" tc_in tunnel_in
}
# restore_time NAME FROM_NS TARGET CMD_DOWN CMD_UP: pings every 20 ms while
# the link goes down and up; PASS when one answers within 1 s of "up"
restore_time() {
	local name=$1 from=$2 target=$3 down=$4 up=$5 log t_up first dt
	log=$(mktemp)
	ip netns exec "$from" ping -D -n -i 0.02 -W 1 -w 8 "$target" >"$log" 2>&1 &
	local pp=$!
	sleep 1
	nsx rp-gw sh -c "$down"
	sleep 1
	t_up=$EPOCHREALTIME
	nsx rp-gw sh -c "$up"
	wait "$pp"
	first=$(awk -v t="$t_up" '/bytes from/ { gsub(/[][]/, "", $1); if ($1 + 0 > t + 0) { print $1; exit } }' "$log")
	rm -f "$log"
	if [ -z "$first" ]; then
		fail "$name: no answer in the 6 s after the link came back up (routes not restored)"
		return 1
	fi
	dt=$("$PY" -c "import sys; print('%.3f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$first" "$t_up")
	if "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1.0 else 1)" "$dt"; then
		pass "$name: traffic back $dt s after the link came up (< 1 s)"
	else
		fail "$name: traffic back only $dt s after the link came up (want < 1 s)"
	fi
}

if [ -z "${RESTORE_ONLY:-}" ] && need_rempart "4.15 always attached"; then
	bravo_filtered "4.15 control"

	# --- item 3 with `rempart apply`: the daemon is stopped (fail closed
	# keeps the programs), the tunnel deleted; wireguard-go's supervisor
	# brings a new one, then the operator runs apply
	stop_pid "$(pid_of rempart)"
	old=$(ifindex_of "$WGB")
	nsx rp-gw ip link del "$WGB"
	wait_for 10 eval '[ -n "$(ifindex_of $WGB)" ] && [ "$(ifindex_of $WGB)" != "$old" ]'
	if link_up "$WGB" && ! prog_on "$WGB" tc_in tunnel_in; then
		fail "4.15 the recreated $WGB is up without tunnel_in before any apply (wireguard-go's restart must leave it down)"
	else
		pass "4.15 the recreated $WGB does not carry traffic without tunnel_in before apply ($(attached "$WGB" | cut -d' ' -f2-))"
	fi
	out=$(rp apply 2>&1); rc=$?
	check "4.15 apply after $WGB was recreated exits 0 ($(tail -n1 <<<"$out"))" test $rc = 0
	if recreated "$WGB" "$old"; then pass "4.15 apply: tunnel_in attached to the new $WGB"
	else fail "4.15 apply: the new $WGB runs without tunnel_in: $(attached "$WGB")"; fi
	bravo_filtered "4.15 after apply"

	# --- item 3 with the daemon: it notices by itself
	start_bg rempart rp-gw "$REMPART" -c "$CFG" run
	wait_for 20 eval 'grep -q "applied" "$LAB_STATE/logs/rempart.log"'
	old=$(ifindex_of "$WGB")
	t0=$EPOCHREALTIME
	nsx rp-gw ip link del "$WGB"
	if wait_for 10 recreated "$WGB" "$old"; then
		pass "4.15 daemon: $WGB recreated with tunnel_in in $("$PY" -c "import sys; print('%.2f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$EPOCHREALTIME" "$t0") s, no apply"
	else
		fail "4.15 daemon: $WGB not back with tunnel_in 10 s after it was deleted: $(attached "$WGB")"
	fi
	bravo_filtered "4.15 daemon, recreated"

	# --- item 10: flaps, the daemon restores the routes within a second
	restore_time "4.15 flap of $WGA (alpha-1 -> its cloud)" rp-site-a1 $CLOUD_HOST4 \
		"ip link set $WGA down" "ip link set $WGA up"
	restore_time "4.15 flap of $CA (alpha-1 -> its cloud)" rp-site-a1 $CLOUD_HOST4 \
		"ip link set $CA down" "ip link set $CA up"
	row rp-site-a1 tcp $CLOUD_HOST6 80 pass:cloud-a rp-cloud-a -- "4.15 after the flaps: alpha-1 -> its cloud IPv6"
	row rp-site-a1 tcp "$(lan wgs-b1 4)" 80 drop rp-site-b1 -- "4.15 after the flaps: alpha -> bravo's site still dropped"
	check "4.15 the daemon logged what it restored" grep -q 'watch: .*restored' "$LAB_STATE/logs/rempart.log"

	# --- the cloud attachment deleted and recreated (left down) while the
	# daemon runs: cloud_in comes first, then the link goes up
	old=$(ifindex_of "$CA")
	nsx rp-gw ip link del "$CA"
	veth "$CA" rp-gw eth0 rp-cloud-a
	ip -n rp-cloud-a link set eth0 up
	ip -n rp-cloud-a addr add $CLOUD_HOST4/32 dev eth0
	ip -n rp-cloud-a addr add $CLOUD_HOST6/128 dev eth0 nodad
	ca4=$(first_of_family "$(tenant_get alpha cloud_address)" 4 addr)
	ca6=$(first_of_family "$(tenant_get alpha cloud_address)" 6 addr)
	ip -n rp-cloud-a route add default via "$ca4" dev eth0 onlink
	ip -n rp-cloud-a -6 route add default via "$ca6" dev eth0 onlink
	if wait_for 5 eval 'link_up $CA && prog_on $CA xdp cloud_in && prog_on $CA tc_in cloud_mark'; then
		pass "4.15 daemon: the recreated $CA is up with cloud_in and cloud_mark ($(attached "$CA" | cut -d' ' -f2-))"
	else
		fail "4.15 daemon: the recreated $CA is not up with cloud_in and cloud_mark after 5 s: $(attached "$CA")"
		link_up "$CA" || nsx rp-gw ip link set "$CA" up	# what follows needs it up
	fi
	wait_for 5 eval '[ "$(probe rp-site-a1 tcp $CLOUD_HOST4 80 rp-cloud-a)" = pass:cloud-a ]'
	row rp-site-a1 tcp $CLOUD_HOST4 80 pass:cloud-a rp-cloud-a -- "4.15 recreated $CA: alpha-1 -> its cloud"
	row rp-cloud-a tcp "$A1_4" 80 pass:alpha-1 rp-site-a1 -- "4.15 recreated $CA: cloud alpha -> site alpha-1"
	row rp-cloud-a udp $SVC4 53 drop rp-svc 10.120.1.99 -- "4.15 recreated $CA: a spoofed source from the cloud is dropped"
	row rp-cloud-a udp $SVC4 123 drop rp-svc -- "4.15 recreated $CA: an unshared port of the services tenant is dropped"
	row rp-cloud-a tcp "$(lan wgs-b1 4)" 80 drop rp-site-b1 -- "4.15 recreated $CA: cloud alpha -> bravo's site dropped"
	check "4.15 the daemon is still running" alive rempart
fi
# ---- the gateway's addresses change while the daemon runs -----------------
# RESTORE_ONLY=addrs: only this part (debugging)
if need_rempart "4.12/4.14 the gateway's addresses follow"; then
	UPIF=$(ini_get "$CFG/rempart.ini" gateway uplink)
	PUB=$(cat "$LAB_STATE/public4")
	NEW4=${PUB%.*}.77		# on the uplink's segment: rp-inet reaches it on the link
	NEWDE4=198.18.99.77		# in DE, where alpha's egress = nat may go
	ATK4=198.18.0.99		# on rp-inet, in [management] allow_from
	ip -n rp-inet addr add $ATK4/32 dev lo 2>/dev/null
	# the daemon's first change is over (it would read the addresses anyway)
	wait_for 20 eval 'grep -q "applied" "$LAB_STATE/logs/rempart.log"' ||
		fail "addrs: the daemon did not log its first change"
	sleep 1
	row rp-inet tcp "$PUB" 22 pass:gateway rp-gw $ATK4 -- "addrs control: management to the uplink address"
	row rp-cloud-a tcp $NET_DE4 80 pass:net rp-net -- "addrs control: cloud alpha -> $NET_DE4 (egress nat)"
	nsx rp-gw ip addr add $NEW4/24 dev "$UPIF"
	nsx rp-gw ip addr add $NEWDE4/32 dev "$UPIF"
	t0=$EPOCHREALTIME
	if wait_for 5 eval '[ "$(probe rp-inet tcp $NEW4 22 rp-gw $ATK4)" = pass:gateway ]'; then
		pass "addrs: management answers on the new uplink address $NEW4 within $("$PY" -c "import sys; print('%.2f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$EPOCHREALTIME" "$t0") s"
	else
		fail "addrs: management does not answer on the new uplink address $NEW4 after 5 s (uplink_in does not know it)"
	fi
	row rp-cloud-a tcp $NEWDE4 22 drop rp-gw -- "addrs: cloud alpha -> the gateway's new address $NEWDE4 tcp/22 (egress = nat to DE) dropped"
	row rp-cloud-a tcp $NEWDE4 2222 drop rp-gw -- "addrs: cloud alpha -> $NEWDE4 tcp/2222 dropped"
	# a site that routes the new address into its tunnel (alpha: egress = nat)
	site_widen rp-site-a1 wgs-a1 $NEWDE4/32
	row rp-site-a1 tcp $NEWDE4 22 drop rp-gw "$A1_4" -- "addrs: site alpha-1 -> the gateway's new address $NEWDE4 tcp/22 through its tunnel dropped"
	counter_grows "addrs: counted as gateway" alpha gateway \
		ip netns exec rp-cloud-a "$PY" "$LABNET" probe tcp $NEWDE4 22 --timeout 1
	check "addrs: the daemon logged that the policy follows the gateway's addresses" \
		grep -q "watch: the gateway's addresses changed .*the policy follows them" "$LAB_STATE/logs/rempart.log"
	nsx rp-gw ip addr del $NEWDE4/32 dev "$UPIF"
	nsx rp-gw ip addr del $NEW4/24 dev "$UPIF"
	row rp-inet tcp "$PUB" 22 pass:gateway rp-gw $ATK4 -- "addrs: after both were removed, management to the uplink address still answers"
	row rp-cloud-a tcp $NET_DE4 80 pass:net rp-net -- "addrs: after both were removed, cloud alpha -> $NET_DE4 still passes"
	check "addrs: the daemon is still running" alive rempart
	grep "watch: \|reload" "$LAB_STATE/logs/rempart.log" | tail -n 8 | sed 's/^/# /'
fi
[ "$T_FAILS" = 0 ]
