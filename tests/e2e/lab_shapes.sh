#!/bin/bash
# lab_shapes.sh — no bypass by packet shape (docs/policy.md "Parsing"): frames
# built with scapy (labnet.py shape) and sent raw from alpha's cloud host to
# the gateway: IPv4 options, IPv6 extension-header chains, 802.1Q and QinQ
# tags, fragments (whole, later-only), truncated headers.  Each is either
# judged correctly (what the policy allows arrives, what it forbids does not)
# or dropped and counted.
. "$(dirname "$0")/../lab/e2e-lib.sh"
lab_begin
MAC=$(ip -n rp-gw -o link show "$(tenant_get alpha cloud_interface)" 2>/dev/null | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
# a long-lived scapy sender in alpha's cloud namespace (imports once)
SHAPER=$LAB_STATE/shaper.sock
start_bg shaper rp-cloud-a "$PY" "$LABNET" shaper "$SHAPER"
wait_for 60 grep -q '^ready' "$LAB_STATE/logs/shaper.log" || fail "4.7: the scapy sender did not start"
# shape KIND SRC DST DPORT [extra labnet args]: send, print the sport used
shape() {
	local kind=$1 src=$2 dst=$3 dport=$4 sport=$((20000 + RANDOM % 40000)); shift 4
	"$PY" "$LABNET" shape "$kind" --via "$SHAPER" --iface eth0 --dst-mac "$MAC" \
		--src "$src" --dst "$dst" --sport "$sport" --dport "$dport" "$@" >/dev/null 2>&1
	echo "$sport"
}
arrived() { # SPORT DPORT: the svc responder logged it (within 2 s)
	wait_for 2 grep -q "^udp .* $1 $2\$" "$LAB_STATE/logs/hits-rp-svc.log"
}
drops() { # TENANT...: sum of the drop counters of those tenants
	local t r n s=0
	s=$(rp status --json 2>/dev/null | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
want = sys.argv[1:]
tot = 0
for x in d.get("tenants", []):
    if x.get("name") in want:
        for r in ("cross_tenant", "spoofed", "no_rule", "fragment", "malformed"):
            tot += x.get("counters", {}).get(r, {}).get("packets", 0)
if "_gateway" in want:
    for r in ("cross_tenant", "spoofed", "no_rule", "fragment", "malformed"):
        tot += d.get("gateway_counters", {}).get(r, {}).get("packets", 0)
print(tot)' "$@" 2>/dev/null) && [ -n "$s" ] && { echo "$s"; return; }
	s=0
	for t in "$@"; do
		for r in cross_tenant spoofed no_rule fragment malformed; do
			n=$(counter "$t" "$r"); s=$((s + ${n:-0}))
		done
	done
	echo $s
}
# allowed_shape NAME KIND SRC DST [args]: to the shared DNS, which the policy
# allows: PASS only if it arrives (judged correctly means delivered; a drop,
# counted or not, is a FAIL)
allowed_shape() {
	local name=$1 kind=$2 src=$3 dst=$4 before sp; shift 4
	before=$(drops alpha _gateway)
	sp=$(shape "$kind" "$src" "$dst" 53 "$@")
	if arrived "$sp" 53; then pass "$name: delivered"
	elif [ "$(drops alpha _gateway)" -gt "$before" ]; then fail "$name: allowed by the policy, but dropped (counted)"
	else fail "$name: allowed by the policy, but never arrived (and no drop counted)"; fi
}
# forbidden_shape NAME KIND SRC DST DPORT [args]: must not arrive, must be counted
forbidden_shape() {
	local name=$1 kind=$2 src=$3 dst=$4 dport=$5 before sp; shift 5
	before=$(drops alpha _gateway)
	sp=$(shape "$kind" "$src" "$dst" "$dport" "$@")
	if arrived "$sp" "$dport"; then fail "$name: delivered (bypass)"; return; fi
	if [ "$(drops alpha _gateway)" -gt "$before" ]; then pass "$name: dropped and counted"
	else fail "$name: not delivered but no drop counted"; fi
}

if [ -z "$MAC" ]; then
	fail "4.7 shapes: no MAC for alpha's cloud interface in rp-gw"
elif need_rempart "4.7 shapes"; then
	sp=$(shape plain $CLOUD_HOST4 $SVC4 53)
	check "4.7 control: a plain raw UDP frame to the shared DNS arrives" arrived "$sp" 53
	sp=$(shape plain $CLOUD_HOST6 $SVC6 53)
	check "4.7 control: a plain raw UDP frame to the shared DNS arrives (IPv6)" arrived "$sp" 53
	allowed_shape "4.7 IPv4 options (NOP, RR), allowed flow" ipopts $CLOUD_HOST4 $SVC4
	forbidden_shape "4.7 IPv4 options, spoofed source" ipopts 10.120.1.99 $SVC4 53
	forbidden_shape "4.7 IPv4 options, port not shared" ipopts $CLOUD_HOST4 $SVC4 123
	allowed_shape "4.7 IPv6 hop-by-hop + destination options, allowed flow" ext $CLOUD_HOST6 $SVC6
	forbidden_shape "4.7 IPv6 extension headers, spoofed source" ext fd01:1::99 $SVC6 53
	forbidden_shape "4.7 IPv6 extension headers, port not shared" ext $CLOUD_HOST6 $SVC6 123
	forbidden_shape "4.7 IPv6 7 extension headers (over RP_MAX_IPV6_EXT)" ext7 $CLOUD_HOST6 $SVC6 53
	forbidden_shape "4.7 802.1Q tag on an untagged attachment" vlan $CLOUD_HOST4 $SVC4 53 --vlan 42
	forbidden_shape "4.7 QinQ tags on an untagged attachment" qinq $CLOUD_HOST6 $SVC6 53 --vlan 42
	allowed_shape "4.7 IPv4 fragments (first + later), allowed flow" frags $CLOUD_HOST4 $SVC4
	allowed_shape "4.7 IPv6 fragments (first + later), allowed flow" frags $CLOUD_HOST6 $SVC6
	forbidden_shape "4.7 IPv4 fragments, port not shared" frags $CLOUD_HOST4 $SVC4 123
	forbidden_shape "4.7 IPv6 fragments, port not shared" frags $CLOUD_HOST6 $SVC6 123
	forbidden_shape "4.7 IPv4 fragments, spoofed source" frags 10.120.1.99 $SVC4 53
	counter_grows "4.7 later fragment without its first (IPv4)" alpha fragment shape frag-later-only $CLOUD_HOST4 $SVC4 53
	counter_grows "4.7 later fragment without its first (IPv6)" alpha fragment shape frag-later-only $CLOUD_HOST6 $SVC6 53
	counter_grows "4.7 truncated IPv4 header" alpha malformed shape trunc $CLOUD_HOST4 $SVC4 53
	counter_grows "4.7 truncated IPv6 header" alpha malformed shape trunc $CLOUD_HOST6 $SVC6 53
	counter_grows "4.7 VLAN id of no tenant" _gateway malformed shape vlan $CLOUD_HOST4 $SVC4 53 --vlan 42
	check "4.7 rempart still running" alive rempart
fi

# --- ICMP errors about a site's connection go back to it (SPEC §4.4 replies;
# path MTU): the services tenant's network tells alpha-1's host "fragmentation
# needed" about the host's live DNS flow to the share; the host's kernel must
# receive it (its ICMP counters, /proc/net/snmp of its namespace).  The same
# error about a flow the host never opened, or sent to another host, must not
# arrive (services may not reach alpha otherwise).
A1_4=$(lan wgs-a1 4) A1_6=$(lan wgs-a1 6)
SVC_MAC=$(ip -n rp-gw -o link show "$(tenant_get services cloud_interface)" 2>/dev/null | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
SVC_SHAPER=$LAB_STATE/shaper-svc.sock
snmp() { # NS 4|6 FIELD: an ICMP counter of the namespace
	if [ "$2" = 4 ]; then
		ip netns exec "$1" awk -v f="$3" '/^Icmp:/ { if (!n) { for (i = 2; i <= NF; i++) h[i] = $i; n = 1 } else { for (i = 2; i <= NF; i++) if (h[i] == f) print $i } }' /proc/net/snmp
	else
		ip netns exec "$1" awk -v f="$3" '$1 == f { print $2 }' /proc/net/snmp6
	fi
}
# icmperr NAME FAM DST SPORT EXPECT: services' DNS host sends the error to
# DST about DST:SPORT -> DNS:53; EXPECT arrives|dropped
icmperr() {
	local name=$1 fam=$2 dst=$3 sport=$4 expect=$5 field src before after drops0
	if [ "$fam" = 4 ]; then field=InDestUnreachs src=$SVC4; else field=Icmp6InPktTooBigs src=$SVC6; fi
	before=$(snmp rp-site-a1 "$fam" "$field"); drops0=$(counter services cross_tenant)
	"$PY" "$LABNET" shape icmperr --via "$SVC_SHAPER" --iface eth0 --dst-mac "$SVC_MAC" \
		--src "$src" --dst "$dst" --sport "$sport" --dport 53 --count 3 >/dev/null 2>&1
	if [ "$expect" = arrives ]; then
		if wait_for 3 eval '[ "$(snmp rp-site-a1 $fam $field)" -ge $((before + 3)) ]'; then
			pass "$name: the site's host received it ($field $before -> $(snmp rp-site-a1 "$fam" "$field"))"
		else fail "$name: never reached the site's host ($field $before -> $(snmp rp-site-a1 "$fam" "$field"), services cross_tenant $drops0 -> $(counter services cross_tenant))"; fi
	else
		sleep 1; after=$(snmp rp-site-a1 "$fam" "$field")
		if [ "$after" != "$before" ]; then fail "$name: reached the site ($field $before -> $after)"
		elif [ "$(counter services cross_tenant)" -ge $((drops0 + 3)) ]; then pass "$name: dropped and counted cross_tenant"
		else fail "$name: not delivered but not counted cross_tenant ($drops0 -> $(counter services cross_tenant))"; fi
	fi
}
if [ -z "$SVC_MAC" ] || [ -z "$A1_4" ]; then
	fail "4.4 ICMP errors: no MAC for the services cloud interface or no alpha-1 LAN address"
elif need_rempart "4.4 ICMP errors"; then
	start_bg shaper-svc rp-svc "$PY" "$LABNET" shaper "$SVC_SHAPER"
	wait_for 60 grep -q '^ready' "$LAB_STATE/logs/shaper-svc.log" || fail "4.4: the scapy sender in rp-svc did not start"
	stream_start pm4 rp-site-a1 $SVC4 53 41953 "$A1_4"
	stream_start pm6 rp-site-a1 $SVC6 53 41954 "$A1_6"
	wait_for 5 eval '[ "$(arrivals rp-svc 41953 53)" -gt 0 ] && [ "$(arrivals rp-svc 41954 53)" -gt 0 ]' ||
		fail "4.4: alpha-1's DNS flows to the share do not arrive"
	icmperr "4.4 frag needed about the site's flow to a share (IPv4)" 4 "$A1_4" 41953 arrives
	icmperr "4.4 packet too big about the site's flow to a share (IPv6)" 6 "$A1_6" 41954 arrives
	icmperr "4.4 an error about a flow the site never opened (IPv4)" 4 "$A1_4" 41999 dropped
	icmperr "4.4 an error about a flow the site never opened (IPv6)" 6 "$A1_6" 41999 dropped
	icmperr "4.4 the error sent to another host of the site (IPv4)" 4 "${A1_4%.*}.77" 41953 dropped
	stream_stop pm4; stream_stop pm6
fi
[ "$T_FAILS" = 0 ]
