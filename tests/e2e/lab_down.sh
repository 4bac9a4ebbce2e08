#!/bin/bash
# lab_down.sh — what an operator's mistake can do to isolation, and `down`:
#   hijack  a provider whose cloud_prefixes cover a consumer's site prefix
#           would route its own traffic into the consumer's tunnel (the
#           share's reply route is more specific): `check` and `apply`
#           refuse that configuration, and the running one stays;
#   state   net.state is validated: a line naming the main table, a link
#           rempart did not create, a sysctl it never sets, is refused
#           before anything is removed;
#   down    with a configuration that no longer loads, `down` works from
#           what was recorded, removes the forwarding paths (tunnels, rules,
#           routes, forwarding sysctls) before the programs, and no
#           forbidden packet passes at any moment, also when `down` is
#           killed half-way (rempart(8), down).
# LAB_DOWN_PARTS=hijack,state,down (the default) picks the parts.
. "$(dirname "$0")/../lab/e2e-lib.sh"
lab_begin
PARTS=,${LAB_DOWN_PARTS:-hijack,state,down},
STATE_DIR=$(ini_get "$CFG/rempart.ini" gateway state_dir)
UPLINK=$(ini_get "$CFG/rempart.ini" gateway uplink)
A1_4=$(lan wgs-a1 4)
B1_4=$(lan wgs-b1 4)
SVCF=$(tenant_file services)
read -ra GWX <<<"$(ns_prefix rp-gw)"	# exec, no fork: $! is rempart
generation() { rp status --json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("policy_generation", "?"))'; }
main_routes() { ip -n rp-gw route show table main | sort; }

# --- item 4: share reply routes must not hijack a provider's own prefixes --
if [[ $PARTS == *,hijack,* ]] && need_rempart "share hijack"; then
	cp "$SVCF" "$LAB_STATE/services.ini.good"
	gen=$(generation)
	# services' cloud now covers alpha-1's LAN (10.120.1.0/24 in 10.120.0.0/16)
	ini_set "$SVCF" tenant cloud_prefixes "10.99.0.0/24, fd00:99::/64, 10.120.0.0/16"
	out=$(rp check 2>&1); rc=$?
	check "4.1 check refuses a share whose replies would hijack the provider's prefixes (exit $rc)" test $rc = 1
	if grep -q "share dns" <<<"$out" && grep -q "alpha" <<<"$out" && grep -q "services" <<<"$out" &&
	   grep -q "10.120.1.0/24" <<<"$out" && grep -q "10.120.0.0/16" <<<"$out"; then
		pass "4.1 the error names the share, both tenants and both prefixes: $(grep -m1 'share dns' <<<"$out")"
	else
		fail "4.1 the error does not name the share, both tenants and both prefixes: $(head -n2 <<<"$out" | tr '\n' ' ')"
	fi
	out=$(rp apply 2>&1); rc=$?
	check "4.1 apply refuses it too (exit $rc)" test $rc = 1
	# the provider's own traffic to that prefix: into alpha's tunnel if the
	# share's reply route won; a site of alpha must never receive it
	row rp-svc udp "$A1_4" 5000 drop rp-site-a1 -- "4.1 services' cloud -> 10.120.1.x never reaches alpha-1's LAN"
	row rp-svc tcp "$A1_4" 80 drop rp-site-a1 -- "4.1 services' cloud -> alpha-1 tcp/80 dropped"
	cp "$LAB_STATE/services.ini.good" "$SVCF"
	# (status reads the configuration: only once it is the good one again)
	check "4.1 the running policy stayed (generation $gen -> $(generation))" test "$(generation)" = "$gen"
	grep -E "watch|reload" "$LAB_STATE/logs/rempart.log" | tail -n 12 | cut -c1-300 | sed 's/^/# /'
	out=$(rp apply 2>&1); rc=$?
	check "4.1 the good configuration applies again ($(tail -n1 <<<"$out"))" test $rc = 0
	row rp-site-a1 udp $SVC4 53 pass:svc rp-svc -- "4.1 the share works (alpha-1 -> DNS)"
fi

# --- item 11: net.state is checked before it is trusted ------------------
if [[ $PARTS == *,state,* ]] && need_rempart "net.state"; then
	st=$STATE_DIR/net.state
	cp "$st" "$LAB_STATE/net.state.good"
	before=$(main_routes)
	bad_state() { # LINE DESCRIPTION
		local out rc
		cp "$LAB_STATE/net.state.good" "$st"
		echo "$1" >>"$st"
		out=$(rp down 2>&1); rc=$?
		if [ $rc != 0 ] && grep -q "net.state" <<<"$out" && grep -qF "$1" <<<"$out"; then
			pass "11 down refuses a net.state with $2: $(grep -m1 'net.state' <<<"$out")"
		else
			fail "11 down accepted a net.state with $2 (exit $rc): $(head -n2 <<<"$out" | tr '\n' ' ')"
		fi
		check "11 $2: the main table is untouched" test "$(main_routes)" = "$before"
		check "11 $2: the uplink $UPLINK is still there" nsx rp-gw ip link show "$UPLINK"
		check "11 $2: the programs are still attached" prog_on "$UPLINK" xdp uplink_in
		check "11 $2: the tunnels are still there" nsx rp-gw ip link show wg-alpha
	}
	bad_state "table 254" "'table 254' (the main table)"
	bad_state "link $UPLINK wireguard" "the uplink recorded as a tunnel rempart made"
	bad_state "sysctl /proc/sys/kernel/printk 0" "a sysctl rempart never sets"
	cp "$LAB_STATE/net.state.good" "$st"
	out=$(rp apply 2>&1)
	check "11 net.state is written in full again by apply" grep -q "^table " "$st"
	check "11 net.state is mode 0600" test "$(stat -c %a "$st")" = 600
	row rp-site-a1 tcp $CLOUD_HOST4 80 pass:cloud-a rp-cloud-a -- "11 after the refused downs: alpha-1 -> its cloud"
fi

# --- item 5: down with a broken config, under forbidden traffic ---------
if [[ $PARTS == *,down,* ]] && need_rempart "down"; then
	# forbidden all along: alpha-1 -> services udp/123 (not shared),
	# bravo-1 -> its cloud udp/5000 (intra = deny, no rule), and cloud
	# bravo -> alpha-1 (another tenant's site)
	stream_start x1 rp-site-a1 $SVC4 123 41123
	stream_start x2 rp-site-b1 $CLOUD_HOST4 5000 41124
	stream_start x3 rp-cloud-b "$A1_4" 5000 41125
	# the control: the same sender to an allowed port arrives
	stream_start ok rp-site-a1 $SVC4 53 41153
	t0=$SECONDS
	wait_for 10 eval '[ "$(arrivals rp-svc 41153 53)" -gt 50 ] 2>/dev/null'
	stream_stop ok
	n_ok=$(arrivals rp-svc 41153 53)
	check "5 control: the stream to an allowed port arrives ($n_ok datagrams in $((SECONDS - t0)) s)" test "${n_ok:-0}" -gt 50
	# the daemon first (fail_mode = closed keeps the programs), then the
	# config no longer loads: an unknown key in a tenant file
	stop_pid "$(pid_of rempart)"
	echo "bogus_key = 1" >>"$(tenant_file bravo)"
	out=$(rp check 2>&1)
	check "5 the configuration no longer loads" test $? = 1
	# killed half-way, three times: no open path in between
	for k in 1 2 3; do
		"${GWX[@]}" "$REMPART" -c "$CFG" down >"$LAB_STATE/logs/down-$k.log" 2>&1 &
		dp=$!
		sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
		kill -KILL $dp 2>/dev/null
		wait $dp 2>/dev/null
		# a program gone is fine only once nothing of rempart forwards
		open=
		if nsx rp-gw ip link show | grep -q " wg-" || nsx rp-gw ip rule show | grep -Eq "^(99[89]|[1-4][0-9]{3}|5000):"; then
			for ifc in $UPLINK gw-ca gw-cb gw-cs; do
				link_up $ifc && ! attached $ifc | grep -q "xdp=[a-z]" && open="$open $ifc"
			done
		fi
		check "5 down killed ($k): no interface without its program while rempart's tunnels or rules remain${open:+ (open:$open)}" test -z "$open"
	done
	out=$(rp down 2>&1); rc=$?
	check "5 down with a configuration that does not load exits 0 ($(tail -n1 <<<"$out"))" test $rc = 0
	sleep 1
	for s in x1 x2 x3; do stream_stop $s; done
	n1=$(arrivals rp-svc 41123 123); n2=$(arrivals rp-cloud-b 41124 5000); n3=$(arrivals rp-site-a1 41125 5000)
	check "5 no forbidden datagram passed before, during or after down (unshared port $n1, no rule $n2, cross-tenant $n3)" \
		test "${n1:-0}${n2:-0}${n3:-0}" = 000
	# everything rempart made is gone
	check "5 down: no tunnel left" eval '! nsx rp-gw ip link show type tun | grep -q "wg-" && ! nsx rp-gw ip link show | grep -q " wg-"'
	check "5 down: no policy rule of rempart left" eval '! nsx rp-gw ip rule show | grep -Eq "^(99[89]|[1-4][0-9]{3}|5000):" && ! nsx rp-gw ip -6 rule show | grep -Eq "^(99[89]|[1-4][0-9]{3}|5000):"'
	check "5 down: no route in rempart's tables" eval '[ -z "$(nsx rp-gw ip route show table all | grep -E "table (1[0-9]{3}|[2-4][0-9]{3}|5000)\b")" ] && [ -z "$(nsx rp-gw ip -6 route show table all | grep -E "table (1[0-9]{3}|[2-4][0-9]{3}|5000)\b")" ]'
	check "5 down: no nftables table of rempart" eval '! nsx rp-gw nft list table inet rempart >/dev/null 2>&1'
	check "5 down: no cloud_address left on gw-ca" eval '! nsx rp-gw ip addr show dev gw-ca | grep -q "10.20.0.1/"'
	check "5 down: forwarding and fwmark_reflect sysctls back to what they were (0)" \
		test "$(nsx rp-gw cat /proc/sys/net/ipv4/ip_forward)$(nsx rp-gw cat /proc/sys/net/ipv6/conf/all/forwarding)$(nsx rp-gw cat /proc/sys/net/ipv4/fwmark_reflect)$(nsx rp-gw cat /proc/sys/net/ipv6/fwmark_reflect)" = 0000
	check "5 down: no pinned program or map left" eval '! nsx rp-gw test -e /sys/fs/bpf/rempart'
	check "5 down: no program attached to the uplink" eval '! attached $UPLINK | grep -q "xdp=[a-z]"'
	# (the gateway's namespace only: other wireguard-go may run on the host)
	check "5 down: no wireguard-go left" eval '! for p in $(ip netns pids rp-gw); do tr "\\0" " " </proc/$p/cmdline 2>/dev/null; echo; done | grep -q "wireguard-go wg-"'
	check "5 down: net.state removed" test ! -e "$STATE_DIR/net.state"
	check "5 down: the uplink and its routes are the operator's, untouched" eval 'nsx rp-gw ip route show default | grep -q "dev $UPLINK"'
fi
[ "$T_FAILS" = 0 ]
