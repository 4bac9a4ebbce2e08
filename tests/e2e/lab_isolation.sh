#!/bin/bash
# lab_isolation.sh — issue 13, the dataplane's side, attacked through real
# interfaces in the lab (docs/policy.md: "uplink_in", "cloud_in", "The
# gateway itself", "Flows"):
#   uplink a host on the uplink's segment that routes a tenant prefix to the
#          gateway gets nothing into the tenant through the gateway's own
#          exceptions (DHCP, DHCPv6, neighbour discovery, WireGuard listen
#          ports, management); the main table routes no tenant network;
#   ND     neighbour-discovery-shaped ICMPv6 from a cloud is judged like any
#          other packet unless it stays on the link (spoofed source, a
#          site whose rules deny it);
#   gatewaya tenant reaches nothing of the gateway (its tunnel address, cloud
#          address, uplink address, link-local, another tenant's address)
#          but ICMP echo on its own addresses, and the echo reply goes back
#          through its own tunnel or attachment (never the uplink);
#   NAT    a NAT tenant's host connecting out from port 22 does not open the
#          gateway's port 22 to the remote side (masquerade to NAT ports);
#   flows  a site sweeping ports does not evict another tenant's reply state.
. "$(dirname "$0")/../lab/e2e-lib.sh"
lab_begin
PUB=$(cat "$LAB_STATE/public4")
UPIF=$(ini_get "$CFG/rempart.ini" gateway uplink)
A1_4=$(lan wgs-a1 4) A1_6=$(lan wgs-a1 6)
B1_4=$(lan wgs-b1 4) B1_6=$(lan wgs-b1 6)
tun_of() { local i; i=$(tenant_get "$1" tunnel_interface); echo "${i:-wg-$1}"; }
WGA=$(tun_of alpha) WGB=$(tun_of bravo)
CA=$(tenant_get alpha cloud_interface) CB=$(tenant_get bravo cloud_interface)
ATK4=198.18.0.99 ATK6=2001:db8:18::99	# a host on the uplink's segment (FR, in [management] allow_from)
NEAR4=10.20.0.10 NEAR6=fd00:20::10	# cloud hosts inside their cloud_address's subnet
LN() { local ns=$1; shift; ip netns exec "$ns" "$PY" "$LABNET" "$@"; }
# ISO_ONLY=4.12,4.13,4.14,nat,4.15: only those parts (debugging)
want() { [ -z "${ISO_ONLY:-}" ] || [[ ",$ISO_ONLY," == *",$1,"* ]]; }
mac_of() { ip -n "$1" -o link show "$2" 2>/dev/null | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
ll_of() { ip -n "$1" -6 -o addr show dev "$2" scope link 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }'; }
# capture NAME NS IFACE FILTER: tcpdump into $LAB_STATE/NAME.pcap
capture() {
	local name=$1 ns=$2 ifc=$3; shift 3
	rm -f "$LAB_STATE/$name.pcap"
	start_bg "tcpdump-$name" "$ns" tcpdump -Z root -i "$ifc" -nn -U -w "$LAB_STATE/$name.pcap" "$@"
	wait_for 5 grep -q 'listening on' "$LAB_STATE/logs/tcpdump-$name.log" && wait_for 2 test -s "$LAB_STATE/$name.pcap"
}
captured() { tcpdump -nn -r "$LAB_STATE/$1.pcap" 2>/dev/null | grep -c -- "${2:-.}"; }
stop_capture() { sleep 0.5; stop_pid "$(pid_of "tcpdump-$1")"; }
# seen_by PROTO SPORT DPORT: the cloud namespaces whose responder logged it
seen_by() {
	local ns out=
	for ns in rp-cloud-a rp-cloud-b rp-svc; do
		grep -q "^$1 .* $2 $3\$" "$LAB_STATE/logs/hits-$ns.log" 2>/dev/null && out="$out $ns"
	done
	echo "${out# }"
}
# attack NAME PROTO TARGET PORT SPORT SRC [NS]: from a host (default the uplink's
# segment) to a tenant host; PASS when nothing answers and no tenant host logged it
attack() {
	local name=$1 proto=$2 target=$3 port=$4 sport=$5 src=$6 ns=${7:-rp-inet} out where
	out=$(LN "$ns" probe "$proto" "$target" "$port" --sport "$sport" --src "$src" --timeout 1 2>&1)
	sleep 0.3
	where=$(seen_by "$proto" "$sport" "$port")
	case $out in timeout | refused | error:* | "") out= ;; esac
	if [ -z "$out" ] && [ -z "$where" ]; then pass "$name: dropped"
	else fail "$name: ${out:+answered by $out}${where:+ arrived in $where}"; fi
}

if need_rempart "4.12 setup" && [ -e /run/netns/rp-inet ]; then
	# the attacker: rp-inet, on the uplink's segment, with addresses in
	# [management] allow_from and in a site country, routing alpha's and
	# bravo's cloud_address subnets to the gateway
	ip -n rp-inet addr add $ATK4/32 dev lo
	ip -n rp-inet addr add $ATK6/128 dev lo nodad
	ip -n rp-inet route add 10.20.0.0/24 via "$PUB" dev i-gw
	ip -n rp-inet -6 route add fd00:20::/64 via "$GW_V6" dev i-gw
	for ns in rp-cloud-a rp-cloud-b; do
		ip -n $ns addr add $NEAR4/32 dev eth0
		start_bg "serve2-$ns" $ns "$PY" "$LABNET" serve "${ns#rp-}" "$LAB_STATE/logs/hits-$ns.log" \
			--udp 68,546,51810
	done
	wait_for 5 eval '[ "$(grep -c ^ready "$LAB_STATE/logs/hits-rp-cloud-b.log")" -ge 2 ]'
fi

# ---- docs/policy.md (issue 13, item 1) ----------------------------------------
if want 4.12 && need_rempart "4.12 uplink exceptions"; then
	left=$(nsx rp-gw ip route show table main | grep -E "dev ($CA|$CB|$WGA|$WGB|gw-cs|wg-services)( |$)")
	left6=$(nsx rp-gw ip -6 route show table main | grep -v '^fe80::' | grep -E "dev ($CA|$CB|$WGA|$WGB|gw-cs|wg-services)( |$)")
	check "4.12 routing: the main table routes no tenant network (${left:-none}${left6:+; $left6})" \
		test -z "$left$left6"
	check "4.12 routing: $NEAR4 from the uplink is not routed to a cloud" \
		bash -c "! ip netns exec rp-gw ip route get $NEAR4 from $ATK4 iif $UPIF 2>&1 | grep -q -E 'dev ($CA|$CB) '"
	attack "4.12 DHCP-shaped UDP 67 -> 68 from the uplink's segment to a cloud host" udp $NEAR4 68 67 $ATK4
	attack "4.12 UDP to alpha's listen port, addressed to a cloud host" udp $NEAR4 51810 40510 $ATK4
	attack "4.12 TCP SYN to the management port from allow_from, addressed to a cloud host" tcp $NEAR4 22 40022 $ATK4
	attack "4.12 TCP SYN to the management port, IPv6, to a cloud host" tcp $NEAR6 22 40023 $ATK6
	attack "4.12 DHCPv6-shaped UDP 547 -> 546 to a cloud host" udp $NEAR6 546 547 $ATK6
	attack "4.12 UDP to bravo's listen port, IPv6, to a cloud host" udp $NEAR6 51810 40511 $ATK6
	# neighbour discovery from the uplink to a cloud host, hop limit 255
	capture nd-up rp-cloud-a eth0 "icmp6 and src $ATK6"
	capture nd-up-b rp-cloud-b eth0 "icmp6 and src $ATK6"
	for t in 135 136 137; do
		LN rp-inet shape nd --iface i-gw --dst-mac "$(mac_of rp-gw "$UPIF")" --src $ATK6 --dst $NEAR6 \
			--icmp-type $t >/dev/null 2>&1
	done
	stop_capture nd-up; stop_capture nd-up-b
	n=$(( $(captured nd-up) + $(captured nd-up-b) ))
	check "4.12 neighbour discovery (135-137, hop 255) from the uplink never reaches a cloud ($n seen)" test "$n" = 0
	counter_grows "4.12 counted" _gateway not_wireguard LN rp-inet probe tcp $NEAR4 22 --src $ATK4 --timeout 1
	# what the exceptions are for still works, addressed to the gateway
	row rp-inet tcp "$PUB" 22 pass:gateway rp-gw $ATK4 -- "4.12 control: management to the uplink address"
	row rp-inet tcp "$GW_V6" 22 pass:gateway rp-gw $ATK6 -- "4.12 control: management to the uplink address (IPv6)"
fi

# ---- docs/policy.md (item 2) ---------------------------------------------------
if want 4.13 && need_rempart "4.13 neighbour discovery"; then
	SHAPER=$LAB_STATE/shaper-iso.sock
	start_bg shaper-iso rp-cloud-a "$PY" "$LABNET" shaper "$SHAPER"
	SHAPER_B=$LAB_STATE/shaper-iso-b.sock
	start_bg shaper-iso-b rp-cloud-b "$PY" "$LABNET" shaper "$SHAPER_B"
	wait_for 60 eval 'grep -q "^ready" "$LAB_STATE/logs/shaper-iso.log" && grep -q "^ready" "$LAB_STATE/logs/shaper-iso-b.log"' ||
		fail "4.13: the scapy senders did not start"
	# a cloud host: ND-shaped ICMPv6 to alpha's site with another site's source
	capture nd-spoof rp-gw "$WGA" "icmp6 and src fd01:2::99"
	for t in 133 134 135 136 137; do
		"$PY" "$LABNET" shape nd --via "$SHAPER" --iface eth0 --dst-mac "$(mac_of rp-gw "$CA")" \
			--src fd01:2::99 --dst "$A1_6" --icmp-type $t >/dev/null 2>&1
	done
	stop_capture nd-spoof
	n=$(captured nd-spoof)
	check "4.13 ND-shaped ICMPv6 (133-137, hop 255) from a cloud with a spoofed source never enters the site's tunnel ($n seen)" \
		test "$n" = 0
	# bravo (intra = deny): a rule now denies ICMP from its cloud to bravo-1
	f=$(tenant_file bravo)
	gen0=$(rp status --json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("policy_generation", 0))')
	printf '\n[rule no-icmp-b1]\nfrom = cloud\nto = %s/128\nproto = icmp\naction = deny\n' "$B1_6" >>"$f"
	kill -HUP "$(pid_of rempart)"
	wait_for 15 eval '[ "$(rp status --json 2>/dev/null | "$PY" -c "import json,sys; print(json.load(sys.stdin).get(\"policy_generation\", 0))")" -gt "${gen0:-0}" ]' ||
		fail "4.13: the reload with a rule for bravo-1 did not take"
	row rp-cloud-b ping "$B1_6" 0 drop rp-site-b1 -- "4.13 control: bravo's rule denies ICMP from its cloud to $B1_6"
	capture nd-deny rp-gw "$WGB" "icmp6 and dst $B1_6"
	for t in 134 135 136 137; do
		"$PY" "$LABNET" shape nd --via "$SHAPER_B" --iface eth0 --dst-mac "$(mac_of rp-gw "$CB")" \
			--src "$CLOUD_HOST6" --dst "$B1_6" --icmp-type $t >/dev/null 2>&1
	done
	stop_capture nd-deny
	n=$(captured nd-deny)
	check "4.13 ND-shaped ICMPv6 from bravo's cloud to a site its rules deny it never enters the tunnel ($n seen)" \
		test "$n" = 0
	counter_grows "4.13 judged and counted" bravo no_rule "$PY" "$LABNET" shape nd --via "$SHAPER_B" --iface eth0 \
		--dst-mac "$(mac_of rp-gw "$CB")" --src "$CLOUD_HOST6" --dst "$B1_6" --icmp-type 137
	# neighbour discovery on the link still works: the cloud reaches its
	# gateway (fd00:20::1, resolved by NS to solicited-node multicast and
	# unicast NUD) and through it the site
	nsx rp-gw ip -6 neigh flush dev "$CA" >/dev/null 2>&1
	ip -n rp-cloud-a -6 neigh flush dev eth0 >/dev/null 2>&1
	row rp-cloud-a ping "$A1_6" 0 pass rp-site-a1 -- "4.13 control: with neighbours flushed, alpha's cloud still reaches site alpha-1 (IPv6)"
fi

# ---- docs/policy.md (item 8) ---------------------------------------------------
if want 4.14 && need_rempart "4.14 the gateway itself"; then
	site_widen rp-site-a1 wgs-a1 100.64.0.0/16 fd64::/16
	site_widen rp-site-b1 wgs-b1 100.64.0.0/16 fd64::/16
	GLL=$(ll_of rp-gw "$CA")
	attack "4.14 cloud alpha -> its cloud_address, ssh (tcp/22)" tcp 10.20.0.1 22 41022 $NEAR4 rp-cloud-a
	attack "4.14 cloud alpha -> its cloud_address, tcp/2222" tcp 10.20.0.1 2222 41023 $NEAR4 rp-cloud-a
	attack "4.14 cloud alpha -> its cloud_address, ssh (IPv6)" tcp fd00:20::1 22 41024 $NEAR6 rp-cloud-a
	attack "4.14 cloud bravo -> its cloud_address, ssh" tcp 10.20.0.1 22 41025 $NEAR4 rp-cloud-b
	attack "4.14 cloud alpha -> the uplink address, ssh" tcp "$PUB" 22 41026 $CLOUD_HOST4 rp-cloud-a
	attack "4.14 cloud alpha -> the uplink address, ssh (IPv6)" tcp "$GW_V6" 22 41027 $CLOUD_HOST6 rp-cloud-a
	[ -n "$GLL" ] && attack "4.14 cloud alpha -> the gateway's link-local address, ssh" tcp "$GLL%eth0" 22 41028 $CLOUD_HOST6 rp-cloud-a
	attack "4.14 cloud bravo -> alpha's tunnel address, ssh" tcp 100.64.10.1 22 41029 $CLOUD_HOST4 rp-cloud-b
	attack "4.14 site alpha-1 -> its tunnel address, ssh" tcp 100.64.10.1 22 41030 "$A1_4" rp-site-a1
	attack "4.14 site alpha-1 -> its tunnel address, ssh (IPv6)" tcp fd64:10::1 22 41031 "$A1_6" rp-site-a1
	attack "4.14 site alpha-1 -> its cloud_address, tcp/2222" tcp 10.20.0.1 2222 41032 "$A1_4" rp-site-a1
	attack "4.14 site alpha-1 -> bravo's tunnel address, ssh" tcp 100.64.20.1 22 41033 "$A1_4" rp-site-a1
	counter_grows "4.14 counted as gateway" alpha gateway LN rp-cloud-a probe tcp 10.20.0.1 22 --src $NEAR4 --timeout 1
	# echo on the tenant's own addresses is answered, through the tenant's own
	# tunnel or attachment: never out of the uplink (watched on its far side)
	capture echo-up rp-inet i-gw "icmp or icmp6"
	row rp-site-a1 ping 100.64.10.1 0 pass rp-gw "$A1_4" -- "4.14 echo: site alpha-1 pings its tunnel address 100.64.10.1"
	row rp-site-a1 ping fd64:10::1 0 pass rp-gw "$A1_6" -- "4.14 echo: site alpha-1 pings fd64:10::1"
	row rp-site-b1 ping 100.64.20.1 0 pass rp-gw "$B1_4" -- "4.14 echo: site bravo-1 pings its tunnel address 100.64.20.1"
	row rp-site-a1 ping 10.20.0.1 0 pass rp-gw "$A1_4" -- "4.14 echo: site alpha-1 pings its cloud_address 10.20.0.1"
	row rp-cloud-a ping 10.20.0.1 0 pass rp-gw -- "4.14 echo: cloud alpha pings 10.20.0.1"
	row rp-cloud-b ping 10.20.0.1 0 pass rp-gw -- "4.14 echo: cloud bravo pings 10.20.0.1 (the same address, its own attachment)"
	row rp-cloud-a ping fd00:20::1 0 pass rp-gw -- "4.14 echo: cloud alpha pings fd00:20::1"
	row rp-cloud-b ping fd00:20::1 0 pass rp-gw -- "4.14 echo: cloud bravo pings fd00:20::1"
	row rp-svc ping 10.99.0.1 0 pass rp-gw -- "4.14 echo: services' cloud pings 10.99.0.1"
	row rp-site-a1 ping 100.64.20.1 0 drop rp-gw "$A1_4" -- "4.14 echo: site alpha-1 gets no echo from bravo's tunnel address"
	row rp-cloud-a ping "$PUB" 0 drop rp-gw -- "4.14 echo: cloud alpha gets no echo from the uplink address"
	stop_capture echo-up
	n=$(captured echo-up "echo reply")
	check "4.14 no echo reply of the gateway's tenant addresses leaves through the uplink ($n seen)" test "$n" = 0
fi

# ---- NAT ports (item 7) ------------------------------------------------------
if want nat && need_rempart "NAT ports"; then
	row rp-cloud-a tcp $NET_DE4 80 pass:net rp-net -- "NAT control: cloud alpha -> $NET_DE4 (egress nat)"
	capture nat-sport rp-net eth0 "tcp and dst port 8022"
	# alpha's cloud host opens a connection from port 22 (the remote side
	# has nothing on 8022: the SYN suffices for the gateway to record it)
	LN rp-cloud-a raw tcp --src $CLOUD_HOST4 --dst $NET_DE4 --sport 22 --dport 8022 --flags S >/dev/null
	sleep 1
	stop_capture nat-sport
	nport=$(tcpdump -nn -r "$LAB_STATE/nat-sport.pcap" 2>/dev/null | sed -n "s/.*IP $PUB\.\([0-9]*\) > .*/\1/p" | head -n1)
	check "NAT: a cloud host's connection from port 22 leaves NATed to a NAT port (>= 61000: ${nport:-none seen})" \
		test "${nport:-0}" -ge 61000
	out=$(LN rp-net probe tcp "$PUB" 22 --src $NET_DE4 --sport 8022 --timeout 1 2>&1)
	check "NAT: the remote side sending to the gateway's port 22 gets nothing (${out})" \
		test "$out" = timeout
	if [ "${nport:-0}" -ge 61000 ]; then
		out=$(LN rp-net probe tcp "$PUB" "$nport" --src $NET_DE4 --sport 8022 --timeout 1 2>&1)
		check "NAT: ... nor to the NAT port itself ($out)" test "$out" = timeout
	fi
fi

# ---- docs/policy.md, last sentence (item 9) --------------------------------------
if want 4.15 && need_rempart "4.15 flow state"; then
	# bravo's cloud opens a TCP connection to its site: the site's answers
	# get back as replies only (bravo: intra = deny)
	S=45678
	row rp-cloud-b tcp "$B1_4" 80 pass:bravo-1 rp-site-b1 -- "4.15 control: cloud bravo -> site bravo-1 tcp/80, answered"
	# bravo's connection is recorded on the CPU the sweep then runs on (the
	# gateway's wireguard-go of alpha pinned there): an LRU shared by all
	# tenants holds a node recorded on another CPU out of reach of this
	# CPU's evictions, so an attacker would need that CPU too (with enough
	# traffic, it has every CPU)
	gopid=$(cat "$LAB_STATE/var/wg/$WGA.gopid" 2>/dev/null)
	[ -n "$gopid" ] && taskset -a -p -c 0 "$gopid" >/dev/null
	taskset -c 0 ip netns exec rp-cloud-b "$PY" "$LABNET" probe tcp "$B1_4" 80 --sport $S --timeout 1 >/dev/null 2>&1
	# alpha's flow tables start small (docs/dataplane.md "Map sizes"): the
	# daemon grows them under the sweep, keeping bravo's flows
	ca0=$(nsx rp-gw curl -s --max-time 5 http://127.0.0.1:9542/metrics |
		sed -n 's/^rempart_flow_table_capacity{table="alpha"} //p')
	# site alpha-1 sweeps: more flows than any flow table holds
	before=$(counter alpha allowed)
	t0=$SECONDS
	# distinct flows: 16 hosts x 8,000 ports, twice what the old single
	# table for all tenants held (65,536), each flow seen twice: in use,
	# as an established connection is (an LRU keeps a flow that was looked
	# up again over one that never was)
	for round in 0 1 2; do
		taskset -c 0 ip netns exec rp-site-a1 "$PY" "$LABNET" raw udp --src "$A1_4" \
			--dst 10.20.$((100 + round * 16)).1 --sport 9 --dport 1 --hosts 16 --ports 8000 --pairs >/dev/null 2>&1
		n=$(( $(counter alpha allowed) - before ))
		[ "$n" -ge 400000 ] && break
	done
	echo "# sweep: $n of alpha's flows recorded in $((SECONDS - t0)) s"
	check "4.15 site alpha-1 sent $n packets of its sweep (more flows than any flow table holds)" test "$n" -ge 200000
	# the sweep's packets drain through the tunnels first (alpha's counter
	# stops moving): what follows is not lost in their queues
	prev=-1
	for i in $(seq 30); do
		c=$(counter alpha allowed); [ "$c" = "$prev" ] && break; prev=$c; sleep 1
	done
	capture late rp-cloud-b eth0 "tcp and src host $B1_4 and src port 80 and dst port $S"
	for i in 1 2 3; do
		LN rp-site-b1 raw tcp --src "$B1_4" --dst $CLOUD_HOST4 --sport 80 --dport $S --flags PA >/dev/null
		wait_for 2 eval '[ "$(captured late)" -ge 1 ]' && break
	done
	stop_capture late
	n=$(captured late)
	check "4.15 after alpha's sweep, bravo's site still answers its cloud's connection ($n packets arrived)" \
		test "$n" -ge 1
	m=$(nsx rp-gw curl -s --max-time 5 http://127.0.0.1:9542/metrics)
	ea=$(echo "$m" | sed -n 's/^rempart_flow_evictions_total{table="alpha"} //p')
	eb=$(echo "$m" | sed -n 's/^rempart_flow_evictions_total{table="bravo"} //p')
	fa=$(echo "$m" | sed -n 's/^rempart_flows{tenant="alpha"} //p')
	check "4.15 metrics: alpha's sweep evicted in alpha's table only (alpha ${ea:-?}, bravo ${eb:-?}; rempart_flows alpha ${fa:-?})" \
		test "${ea:-0}" -gt 0 -a "${eb:-x}" = 0 -a -n "$fa"
	ca1=$(echo "$m" | sed -n 's/^rempart_flow_table_capacity{table="alpha"} //p')
	cb=$(echo "$m" | sed -n 's/^rempart_flow_table_capacity{table="bravo"} //p')
	check "4.15 the daemon grew alpha's flow tables under the sweep (${ca0:-?} -> ${ca1:-?} entries, v4 + v6; bravo's ${cb:-?}), or they started at their ceiling" \
		test "${ca1:-0}" -gt "${ca0:-0}" -o "${ca0:-0}" -ge 2048
fi
[ "$T_FAILS" = 0 ]
