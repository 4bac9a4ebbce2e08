#!/bin/bash
# lab_reload.sh — atomic policy change (docs/dataplane.md "Atomic swap"):
# SIGHUP reloads under traffic that both policies allow lose nothing; the new
# policy takes effect; a bad config leaves the old policy in place.
. "$(dirname "$0")/../lab/e2e-lib.sh"
lab_begin
SVCF=$(tenant_file services)
generation() { rp status --json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["policy_generation"])' 2>/dev/null; }
# flood NS DST COUNT OUTFILE: ping every 10 ms in the background ($! is it)
flood() { ip netns exec "$1" ping -q -i 0.01 -W 1 -c "$3" "$2" >"$4" 2>&1 & }
received() { sed -n 's/.* \([0-9]*\) received.*/\1/p' "$1"; }

if need_rempart "4.8 reload"; then
	cp "$SVCF" "$LAB_STATE/services.orig"
	# policy B: services shares DNS with bravo only (alpha loses it)
	sed 's/^\([[:space:]]*tenants[[:space:]]*=\).*/\1 bravo/' "$LAB_STATE/services.orig" >"$LAB_STATE/services.b"
	row rp-site-a1 udp $SVC4 53 pass:svc rp-svc -- "4.8 before: alpha-1 -> shared DNS"
	g0=$(generation)
	out4=$(mktemp) out6=$(mktemp)
	flood rp-site-a1 $CLOUD_HOST4 600 "$out4"; p4=$!
	flood rp-site-b1 $CLOUD_HOST6 600 "$out6"; p6=$!
	for i in 1 2 3 4 5 6; do
		if [ $((i % 2)) = 1 ]; then cp "$LAB_STATE/services.b" "$SVCF"; else cp "$LAB_STATE/services.orig" "$SVCF"; fi
		g=$(generation)
		kill -HUP "$(pid_of rempart)"
		wait_for 5 eval '[ "$(generation)" -gt "${g:-0}" ] 2>/dev/null' || sleep 0.5
	done
	wait "$p4" "$p6"
	r4=$(received "$out4") r6=$(received "$out6")
	check "4.8 no loss during 6 reloads: site alpha-1 -> cloud IPv4 ($r4/600 echo replies)" test "${r4:-0}" = 600
	check "4.8 no loss during 6 reloads: site bravo-1 -> cloud IPv6 ($r6/600 echo replies)" test "${r6:-0}" = 600
	rm -f "$out4" "$out6"
	check "4.8 rempart survived the reloads" alive rempart
	g1=$(generation)
	if [ -n "$g0" ] && [ -n "$g1" ] && [ "$g1" -gt "$g0" ]; then pass "4.8 policy_generation grew ($g0 -> $g1)"
	else fail "4.8 policy_generation did not grow (${g0:-?} -> ${g1:-?})"; fi
	# the new policy takes effect
	cp "$LAB_STATE/services.b" "$SVCF"; kill -HUP "$(pid_of rempart)"
	if wait_for 10 eval '[ "$(probe rp-site-a1 udp $SVC4 53 rp-svc)" = drop ]'; then pass "4.8 after reload: alpha lost the share (drop)"
	else fail "4.8 after reload: alpha still reaches the DNS that is no longer shared with it"; fi
	row rp-site-b1 udp $SVC4 53 pass:svc rp-svc -- "4.8 after reload: bravo keeps the share"
	# a bad config changes nothing
	printf '[tenant]\nname = services\nbogus_key = 1\n' >"$SVCF"
	kill -HUP "$(pid_of rempart)"
	sleep 1
	check "4.8 bad config: rempart keeps running" alive rempart
	row rp-site-a1 udp $SVC4 53 drop rp-svc -- "4.8 bad config: the old policy stays (alpha still without the share)"
	row rp-site-b1 udp $SVC4 53 pass:svc rp-svc -- "4.8 bad config: the old policy stays (bravo still with it)"
	cp "$LAB_STATE/services.orig" "$SVCF"; kill -HUP "$(pid_of rempart)"
	if wait_for 10 eval '[ "$(probe rp-site-a1 udp $SVC4 53 rp-svc)" = pass:svc ]'; then pass "4.8 good config again: alpha has the share back"
	else fail "4.8 good config again: alpha does not get the share back"; fi
fi
[ "$T_FAILS" = 0 ]
