#!/bin/bash
# lab_cleartext.sh — no clear-text leak (docs/policy.md "uplink_out"): a
# packet from a tenant's cloud to one of its sites' prefixes leaves only
# through the tunnel; with the peer down or the tunnel down it is dropped,
# never routed out through the uplink in clear.  Watched with tcpdump on the
# "internet" side of the uplink.
. "$(dirname "$0")/../lab/e2e-lib.sh"
lab_begin
A1_4=$(lan wgs-a1 4) A1_6=$(lan wgs-a1 6)
WGA=$(tenant_get alpha tunnel_interface); [ -n "$WGA" ] || WGA=wg-alpha
CAP=$LAB_STATE/cleartext.pcap
start_capture() {
	start_bg tcpdump rp-inet tcpdump -Z root -i i-gw -nn -U -w "$CAP" \
		'(ip and net 10.120.0.0/16) or (ip6 and net fd01::/16)'
	wait_for 5 grep -q 'listening on' "$LAB_STATE/logs/tcpdump.log" && wait_for 2 test -s "$CAP"
}
clear_packets() { tcpdump -nn -r "$CAP" 2>/dev/null | wc -l; }
send_to_site() {
	probe rp-cloud-a tcp "$A1_4" 80 rp-site-a1 >/dev/null
	probe rp-cloud-a udp "$A1_6" 5000 rp-site-a1 >/dev/null
	ip netns exec rp-cloud-a ping -c2 -i 0.2 -W1 -q "$A1_4" >/dev/null 2>&1
}

if need_rempart "4.11 cleartext"; then
	start_capture || fail "4.11: tcpdump did not start"
	row rp-cloud-a tcp "$A1_4" 80 pass:alpha-1 rp-site-a1 -- "4.11 control: cloud alpha -> site alpha-1 through the tunnel"
	check "4.11 control: nothing in clear on the uplink with the tunnel up ($(clear_packets))" test "$(clear_packets)" = 0
	# the peer goes down: the site's wireguard-go stops
	stop_pid "$(pid_of wg-wgs-a1)"
	send_to_site
	n=$(clear_packets)
	check "4.11 peer down: nothing to alpha-1's LAN in clear on the uplink ($n packets)" test "$n" = 0
	# the tunnel goes down on the gateway
	nsx rp-gw ip link set "$WGA" down
	send_to_site
	n=$(clear_packets)
	check "4.11 tunnel $WGA down: nothing in clear on the uplink ($n packets)" test "$n" = 0
	ip -n rp-gw link show "$WGA" >/dev/null 2>&1 && nsx rp-gw ip link del "$WGA"
	send_to_site
	n=$(clear_packets)
	check "4.11 tunnel $WGA deleted: nothing in clear on the uplink ($n packets)" test "$n" = 0
	check "4.11 the cloud's packets were dropped, not delivered" eval "[ \"\$(probe rp-cloud-a tcp $A1_4 80 rp-site-a1)\" = drop ]"
	# sanity of the capture itself: a clear-text frame put on that link is seen
	ip netns exec rp-inet "$PY" "$LABNET" shape plain --iface i-gw --dst-mac ff:ff:ff:ff:ff:ff \
		--src 198.18.1.254 --dst "$A1_4" --dport 9 >/dev/null 2>&1
	check "4.11 control: the capture does see a clear-text packet to the site's LAN" wait_for 5 eval '[ "$(clear_packets)" -gt 0 ]'
	stop_pid "$(pid_of tcpdump)"
fi
[ "$T_FAILS" = 0 ]
