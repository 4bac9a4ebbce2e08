#!/bin/bash
# lab_lock.sh — one change at a time, and a killed change leaves no open path
# (docs/dataplane.md "Atomic swap", "Loader").  Applies that add and remove a
# tenant (a new tunnel each time) are killed with SIGKILL at random moments
# while the daemon reloads (SIGHUP) and `apply --confirm` rollbacks run
# alongside.  After every kill: each of the gateway's interfaces that is up
# runs its program (asked of the kernel, tests/lab/attached.py); all along,
# forbidden datagrams stream from a site and a cloud and none may arrive.  At
# the end the configuration applies cleanly and the policy holds.
. "$(dirname "$0")/../lab/e2e-lib.sh"
lab_begin
ROUNDS=${LOCK_ROUNDS:-16}
STATE_DIR=$(ini_get "$CFG/rempart.ini" gateway state_dir)
UPLINK=$(ini_get "$CFG/rempart.ini" gateway uplink)
TD=$(tenants_dir)
A1_4=$(lan wgs-a1 4)
read -ra GWX <<<"$(ns_prefix rp-gw)"

# tenant delta: its own tunnel (wg-delta, created and removed by the
# applies) and cloud attachment (a veth whose other end stays in rp-gw)
delta_setup() {
	ip -n rp-gw link add gw-cd type veth peer name gw-cdp
	ip -n rp-gw link set gw-cdp up
	(umask 077; wg genkey >"$CFG/keys/delta.key")
	cat >"$LAB_STATE/delta.ini" <<-EOF
	[tenant]
	name = delta
	id = 40
	cloud_interface = gw-cd
	cloud_address = 10.40.0.1/24
	cloud_prefixes = 10.40.0.0/16
	tunnel_address = 100.64.40.1/24
	listen_port = 51840
	private_key_file = ../keys/delta.key
	site_countries = FR

	[site delta-1]
	public_key = $(wg genkey | wg pubkey)
	allowed_ips = 10.140.1.0/24
	EOF
}
# open_ifaces: the interfaces that are up without their program
open_ifaces() {
	local l ifc st rest
	attached $UPLINK gw-ca gw-cb gw-cs wg-alpha wg-bravo wg-services wg-delta | while read -r ifc st rest; do
		[ "$st" = up ] || continue
		case $ifc in
		"$UPLINK") grep -q 'xdp=uplink_in' <<<"$rest" && grep -Eq 'tc_out=([^ ]*,)?uplink_out' <<<"$rest" || echo "$ifc" ;;
		gw-c?) grep -q 'xdp=cloud_in' <<<"$rest" && grep -Eq 'tc_in=([^ ]*,)?cloud_mark' <<<"$rest" || echo "$ifc" ;;
		wg-*) grep -Eq 'tc_in=([^ ]*,)?tunnel_in' <<<"$rest" || echo "$ifc" ;;
		esac
	done | paste -sd' '
}
rand_delay() { "$PY" -c "import random; print('%.2f' % random.uniform($1, $2))"; }

if need_rempart "one change at a time"; then
	delta_setup
	# forbidden all along (cross-tenant, unshared port, no rule)
	stream_start x1 rp-site-a1 $SVC4 123 42123
	stream_start x2 rp-site-b1 $CLOUD_HOST4 5000 42124
	stream_start x3 rp-cloud-b "$A1_4" 5000 42125
	# how long one apply that adds delta takes, to spread the kills over it
	cp "$LAB_STATE/delta.ini" "$TD/delta.ini"
	t0=$EPOCHREALTIME
	out=$(rp apply 2>&1); rc=$?
	t_apply=$("$PY" -c "import sys; print('%.2f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$EPOCHREALTIME" "$t0")
	check "6 control: an apply adding tenant delta works (exit $rc, $t_apply s)" test $rc = 0
	check "6 control: wg-delta runs tunnel_in" prog_on wg-delta tc_in tunnel_in
	rm -f "$TD/delta.ini"
	rp apply >/dev/null 2>&1
	check "6 control: an apply removing tenant delta removes wg-delta" eval '! nsx rp-gw ip link show wg-delta >/dev/null 2>&1'
	hi=$("$PY" -c "import sys; print(max(0.3, float(sys.argv[1])))" "$t_apply")

	bad=0 kills=0 hups=0 confirms=0
	for i in $(seq 1 "$ROUNDS"); do
		if [ $((i % 2)) = 1 ]; then cp "$LAB_STATE/delta.ini" "$TD/delta.ini"; else rm -f "$TD/delta.ini"; fi
		if [ $((i % 5)) = 0 ]; then
			# a change that rolls itself back a second later, alongside
			"${GWX[@]}" "$REMPART" -c "$CFG" apply --confirm 1 >>"$LAB_STATE/logs/lock-confirm.log" 2>&1 &
			cpids="${cpids:-} $!"
			confirms=$((confirms + 1))
		fi
		"${GWX[@]}" "$REMPART" -c "$CFG" apply >>"$LAB_STATE/logs/lock-apply.log" 2>&1 &
		ap=$!
		if [ $((RANDOM % 2)) = 0 ]; then
			(sleep "$(rand_delay 0 "$hi")"; kill -HUP "$(pid_of rempart)" 2>/dev/null) &
			hups=$((hups + 1))
		fi
		sleep "$(rand_delay 0.02 "$hi")"
		kill -KILL $ap 2>/dev/null && kills=$((kills + 1))
		wait $ap 2>/dev/null
		open=$(open_ifaces)
		if [ -n "$open" ]; then
			bad=$((bad + 1))
			echo "# round $i: up without their program: $open"
		fi
	done
	check "6 after $ROUNDS rounds ($kills applies killed, $hups reloads, $confirms rollbacks): every interface that is up ran its program ($bad rounds with one open)" test $bad = 0
	# settle: the rollbacks run out, then the lab's configuration again
	for p in ${cpids:-}; do wait "$p" 2>/dev/null; done
	wait_for 15 eval '! ls "$STATE_DIR/confirm/deadline" >/dev/null 2>&1'
	rm -f "$TD/delta.ini"
	out=$(rp apply 2>&1); rc=$?
	check "6 after the storm: apply exits 0 ($(tail -n1 <<<"$out"))" test $rc = 0
	check "6 after the storm: no interface up without its program ($(open_ifaces))" test -z "$(open_ifaces)"
	check "6 after the storm: wg-delta is gone (it was rempart's, recorded before it was made)" eval '! nsx rp-gw ip link show wg-delta >/dev/null 2>&1'
	check "6 after the storm: the daemon still runs" alive rempart
	for s in x1 x2 x3; do stream_stop $s; done
	n1=$(arrivals rp-svc 42123 123); n2=$(arrivals rp-cloud-b 42124 5000); n3=$(arrivals rp-site-a1 42125 5000)
	check "6 no forbidden datagram passed during the storm (unshared port $n1, no rule $n2, cross-tenant $n3)" \
		test "${n1:-0}${n2:-0}${n3:-0}" = 000
	row rp-site-a1 tcp $CLOUD_HOST4 80 pass:cloud-a rp-cloud-a -- "6 after the storm: alpha-1 -> its cloud"
	row rp-site-b1 tcp $CLOUD_HOST4 80 pass:cloud-b rp-cloud-b -- "6 after the storm: bravo-1 -> its cloud (overlapping address)"
	row rp-site-a1 udp $SVC4 53 pass:svc rp-svc -- "6 after the storm: the DNS share"
	row rp-site-a1 tcp "$(lan wgs-b1 4)" 80 drop rp-site-b1 -- "6 after the storm: alpha -> bravo's site dropped"
fi
[ "$T_FAILS" = 0 ]
