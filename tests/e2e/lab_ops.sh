#!/bin/bash
# lab_ops.sh — operating the gateway (issue 17; docs/reference.md "Metrics",
# "Logs and events"): what `rempart run` tells an operator about real
# traffic in the lab.
#
#   - a real scrape of its metrics passes `promtool check metrics`, with the
#     names of rempart(8): rempart_build_info{version}, per-rule counters that
#     grow with the packets a [rule] drops, rempart_site_up per site, the
#     series of a site that never connected (alpha-x, abroad) at 0,
#     rempart_events_lost_total, rempart_flows{tenant} (a series per tenant,
#     alpha's flow to the dns share counted);
#   - the log has a line per site up and down, and drop events that name
#     the rule and the site;
#   - a site without a handshake for the up time goes down (log and
#     metric), and comes back up at its next handshake.
#
# The up time is 180 s (rempart(8)); RP_SITE_DOWN_AFTER=15 shortens it for the
# lab's daemon of this suite only.
export RP_SITE_DOWN_AFTER=15
. "$(dirname "$0")/../lab/e2e-lib.sh"
lab_begin
LOG=$LAB_STATE/logs/rempart.log
scrape() { nsx rp-gw curl -sf http://127.0.0.1:9542/metrics; }
value() { scrape | awk -v m="$1" '$1 == m { print $2 }'; }
site_up() { value "rempart_site_up{tenant=\"$1\",site=\"$2\"}"; }
logged() { grep -c -- "$1" "$LOG"; }

if need_rempart "ops"; then
	A1_4=$(lan wgs-a1 4)
	body=$(mktemp)
	scrape >"$body"
	if promtool check metrics <"$body" >"$body.lint" 2>&1; then
		pass "ops: a real scrape of rempart run passes promtool check metrics"
	else
		fail "ops: promtool check metrics: $(head -5 "$body.lint" | tr '\n' ' ')"
	fi
	for m in rempart_packets_total rempart_bytes_total rempart_geo_drops_total \
		rempart_site_last_handshake_seconds rempart_site_rx_bytes_total \
		rempart_site_tx_bytes_total rempart_policy_generation rempart_reload_total \
		rempart_build_info rempart_rule_packets_total rempart_site_up \
		rempart_events_lost_total; do
		grep -q "^# TYPE $m " "$body" || bad="${bad:-} $m"
	done
	check "ops: the scrape has every family of rempart(8)${bad:+ (lacks$bad)}" test -z "${bad:-}"
	# rempart_flows{tenant}: a gauge, a series for every tenant and the
	# gateway's own; a share's answer recorded for alpha's site shows in it
	check "ops: rempart_flows is a gauge" grep -qxF '# TYPE rempart_flows gauge' "$body"
	for t in alpha bravo services _gateway; do
		grep -qE "^rempart_flows\{tenant=\"$t\"\} [0-9]+$" "$body" || nof="${nof:-} $t"
	done
	check "ops: rempart_flows has a series per tenant and _gateway${nof:+ (lacks$nof)}" test -z "${nof:-}"
	fl='rempart_flows{tenant="alpha"}'
	probe rp-site-a1 udp "$SVC4" 53 rp-svc >/dev/null
	check "ops: $fl counts alpha's flow to the dns share" \
		wait_for 5 eval '[ "$(value "$fl")" -gt 0 ] 2>/dev/null'
	ver=$("$REMPART" --version | awk '{ print $2 }')
	check "ops: rempart_build_info{version=\"$ver\"} 1" grep -qxF "rempart_build_info{version=\"$ver\"} 1" "$body"
	check "ops: alpha-x (abroad, never connected) has its series, at 0" \
		grep -qxF 'rempart_site_up{tenant="alpha",site="alpha-x"} 0' "$body"
	check "ops: ... and its last handshake reads 0" \
		grep -qxF 'rempart_site_last_handshake_seconds{tenant="alpha",site="alpha-x"} 0' "$body"
	rm -f "$body" "$body.lint"

	# a rule's counter, and its drop event naming rule and site
	r='rempart_rule_packets_total{tenant="alpha",rule="no-ssh-a1",action="deny"}'
	before=$(value "$r")
	for i in 1 2 3; do probe rp-site-a2 tcp "$A1_4" 22 rp-site-a1 >/dev/null; done
	wait_for 5 eval '[ "$(value "$r")" -gt "${before:-0}" ] 2>/dev/null'
	after=$(value "$r")
	check "ops: $r grows with the packets it drops (${before:-?} -> ${after:-?})" \
		test -n "$before" -a "${after:-0}" -gt "${before:-0}"
	check "ops: the drop event in the log names the site and the rule" \
		wait_for 5 grep -q 'event: .* drop no_rule tenant=alpha site=alpha-2 rule=no-ssh-a1 hook=tunnel_in' "$LOG"

	# sites up (their handshakes at lab up), then down with no handshake
	for s in alpha:alpha-1 alpha:alpha-2 bravo:bravo-1; do
		check "ops: 'site up' logged for ${s#*:}" grep -q "site up: tenant=${s%:*} site=${s#*:} " "$LOG"
	done
	check "ops: 'site down' logged for bravo-1 once its handshake is older than 15 s" \
		wait_for 40 grep -q 'site down: tenant=bravo site=bravo-1 (no handshake for' "$LOG"
	check "ops: rempart_site_up for bravo-1 reads 0, its series still there" \
		test "$(site_up bravo bravo-1)" = 0
	check "ops: ... and its byte counters stay" \
		test -n "$(value 'rempart_site_rx_bytes_total{tenant="bravo",site="bravo-1"}')"
	# a new handshake: the peer removed and set again on the site, a packet
	ups=$(logged 'site up: tenant=bravo site=bravo-1 ')
	peer=$(nsx rp-site-b1 wg show wgs-b1 peers | head -n1)
	nsx rp-site-b1 wg set wgs-b1 peer "$peer" remove
	nsx rp-site-b1 wg setconf wgs-b1 "$LAB_STATE/sites/wgs-b1.wg"
	kick_handshake rp-site-b1 wgs-b1
	check "ops: a new handshake of bravo-1: 'site up' again" \
		wait_for 10 eval '[ "$(logged "site up: tenant=bravo site=bravo-1 ")" -gt "$ups" ]'
	check "ops: rempart_site_up for bravo-1 reads 1" wait_for 5 eval '[ "$(site_up bravo bravo-1)" = 1 ]'
	check "ops: every site line is one line per change (bravo-1: $(logged 'site .*: tenant=bravo site=bravo-1 ') lines)" \
		test "$(logged 'site .*: tenant=bravo site=bravo-1 ')" -eq $((ups + 2))
fi
[ "$T_FAILS" = 0 ]
