#!/bin/bash
# lab_failclosed.sh — fail closed (docs/dataplane.md "Loader"): after
# `kill -9` of rempart (fail_mode = closed) the programs stay attached and
# the last policy stays enforced; a new `rempart run` adopts the running
# state without an open window.
. "$(dirname "$0")/../lab/e2e-lib.sh"
lab_begin
UPLINK=$(ini_get "$CFG/rempart.ini" gateway uplink)
PUB=$(cat "$LAB_STATE/public4")
B1_4=$(lan wgs-b1 4)
check_policy() { # PREFIX: what was allowed passes, what was dropped is dropped
	row rp-site-a1 tcp $CLOUD_HOST4 80 pass:cloud-a rp-cloud-a -- "$1: alpha-1 -> own cloud passes"
	row rp-site-b1 tcp $CLOUD_HOST6 80 pass:cloud-b rp-cloud-b -- "$1: bravo-1 -> own cloud passes (IPv6)"
	row rp-site-a1 udp $SVC4 53 pass:svc rp-svc -- "$1: the DNS share passes"
	row rp-site-a1 tcp "$B1_4" 80 drop rp-site-b1 -- "$1: alpha -> bravo's site still dropped"
	row rp-site-a1 udp $SVC4 123 drop rp-svc -- "$1: an unshared port still dropped"
	row rp-cloud-a tcp $NET_CN4 80 drop rp-net -- "$1: egress to CN still dropped"
	row rp-net tcp "$PUB" 22 drop rp-gw -- "$1: uplink tcp/22 from outside allow_from still dropped"
	row rp-abroad wg wgs-x 0 drop rp-gw -- "$1: abroad still gets no handshake"
}

# site alpha-1 sends bravo's prefixes into its tunnel: the gateway decides
[ -e /run/netns/rp-site-a1 ] && site_widen rp-site-a1 wgs-a1 10.130.0.0/16 fd02::/16

if need_rempart "4.9 fail closed"; then
	grep -qi '^[[:space:]]*fail_mode[[:space:]]*=[[:space:]]*closed' "$CFG/rempart.ini" || fail "4.9: the lab config is not fail_mode = closed"
	kill -KILL "$(pid_of rempart)"
	wait_for 3 eval '! alive rempart'
	check "4.9 rempart is gone after SIGKILL" eval '! alive rempart'
	check "4.9 XDP stays attached to the uplink" eval "ip -n rp-gw -d link show $UPLINK 2>/dev/null | grep -q xdp"
	check_policy "4.9 after kill -9"
	counter_grows "4.9 after kill -9: still counted" alpha cross_tenant probe rp-site-a1 udp $SVC4 123 rp-svc
	# restart under traffic: allowed keeps flowing, forbidden never passes
	out=$(mktemp)
	ip netns exec rp-site-a1 ping -q -i 0.01 -W 1 -c 800 $CLOUD_HOST4 >"$out" 2>&1 &
	pp=$!
	start_bg rempart rp-gw "$REMPART" -c "$CFG" run
	leaks=0 tries=0
	while running "$pp"; do
		tries=$((tries + 1))
		[ "$(probe rp-site-a1 udp $SVC4 123 rp-svc)" = drop ] || leaks=$((leaks + 1))
		[ "$(probe rp-site-a1 tcp "$B1_4" 80 rp-site-b1)" = drop ] || leaks=$((leaks + 1))
	done
	wait "$pp"
	r=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$out"); rm -f "$out"
	check "4.9 restart: no loss of allowed traffic while the new rempart adopts ($r/800)" test "${r:-0}" = 800
	check "4.9 restart: forbidden probes never passed during adoption ($leaks leaks in $tries rounds)" test "$leaks" = 0
	if wait_for 20 rempart_ready; then pass "4.9 the new rempart run is up"; else fail "4.9 the new rempart run did not come up: $(tail -n 2 "$LAB_STATE/logs/rempart.log" | tr '\n' ' ')"; fi
	check_policy "4.9 after adoption"
fi
[ "$T_FAILS" = 0 ]
