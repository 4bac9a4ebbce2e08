#!/bin/bash
# lab_uplink.sh — the uplink geo-fence of docs/policy.md (a host abroad with a
# valid site key never reaches WireGuard), management access, a site's
# allow_from, and the egress geo-fence: real traffic in the lab, IPv4 and IPv6.
. "$(dirname "$0")/../lab/e2e-lib.sh"
lab_begin
PUB=$(cat "$LAB_STATE/public4")
WGA=$(tenant_get alpha tunnel_interface); [ -n "$WGA" ] || WGA=wg-alpha
PORTA=$(tenant_get alpha listen_port)
XPUB=$(wg pubkey <"$LAB_STATE/sitekeys/$ABROAD_SITE.key")
gw_hs() { # the gateway's latest handshake with the peer of public key $1
	nsx rp-gw wg show "$WGA" latest-handshakes 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'
}

if need_rempart "4.5 geo-fence"; then
	check "4.5 control: site alpha-1 (FR) has a WireGuard session" handshake_done rp-site-a1 wgs-a1
	row rp-abroad wg wgs-x 0 drop rp-gw -- "4.5 geo-fence: abroad (RU) with a valid site key gets no handshake"
	hs=$(gw_hs "$XPUB")
	if [ "$hs" = 0 ]; then pass "4.5 geo-fence: the gateway's WireGuard never saw a handshake from abroad (peer $ABROAD_SITE latest-handshake 0)"
	else fail "4.5 geo-fence: the gateway's WireGuard peer $ABROAD_SITE shows latest-handshake '${hs:-no such peer}'"; fi
	counter_grows "4.5 geo-fence" alpha geo_site probe rp-abroad udp "$PUB" "$PORTA" rp-gw
	row rp-abroad udp "$PUB" "$PORTA" drop rp-gw -- "4.5 geo-fence: plain UDP from abroad to alpha's listen port"
fi

if need_rempart "4.5 management"; then
	row rp-site-a1 tcp "$PUB" 22 pass:gateway rp-gw -- "4.5 management: 198.18.0.11 (allow_from) -> gateway tcp/22"
	row rp-site-a1 tcp "$GW_V6" 22 pass:gateway rp-gw -- "4.5 management: 2001:db8:18::11 (allow_from) -> gateway tcp/22"
	row rp-site-a1 tcp "$PUB" 2222 drop rp-gw -- "4.5 management: tcp/2222 is not a management port"
	row rp-abroad tcp "$PUB" 22 drop rp-gw -- "4.5 management: abroad -> gateway tcp/22"
	row rp-net tcp "$PUB" 22 drop rp-gw -- "4.5 management: internet (DE, not in allow_from) -> gateway tcp/22"
	row rp-net tcp "$GW_V6" 22 drop rp-gw -- "4.5 management: internet (DE) -> gateway tcp/22 (IPv6)"
	counter_grows "4.5 uplink: everything else" _gateway not_wireguard probe rp-net tcp "$PUB" 22 rp-gw
	counter_grows "4.5 management counted" _gateway management probe rp-site-a1 tcp "$PUB" 22 rp-gw
fi

if need_rempart "4.6 egress"; then
	row rp-cloud-a tcp $NET_DE4 80 pass:net rp-net -- "4.6 egress: cloud alpha -> $NET_DE4 (DE, in EU)"
	row rp-cloud-a tcp $NET_DE6 80 pass:net rp-net -- "4.6 egress: cloud alpha -> $NET_DE6 (DE, in EU)"
	src=$(awk '$1 == "tcp" && $2 !~ /:/ { s = $2 } END { print s }' "$LAB_STATE/logs/hits-rp-net.log")
	check "4.6 egress is NATed to the uplink address (IPv4 seen from $src)" test "$src" = "$PUB"
	src=$(awk '$1 == "tcp" && $2 ~ /:/ { s = $2 } END { print s }' "$LAB_STATE/logs/hits-rp-net.log")
	check "4.6 egress is NATed to the uplink address (IPv6 seen from $src)" test "$src" = "$GW_V6"
	row rp-cloud-a tcp $NET_CN4 80 drop rp-net -- "4.6 egress: cloud alpha -> $NET_CN4 (CN)"
	row rp-cloud-a udp $NET_CN6 53 drop rp-net -- "4.6 egress: cloud alpha -> $NET_CN6 (CN)"
	# a site sending internet traffic into its tunnel
	site_widen rp-site-a1 wgs-a1 198.18.77.0/24 198.18.99.0/24
	row rp-site-a1 tcp $NET_DE4 80 pass:net rp-net -- "4.6 egress: site alpha-1 through its tunnel -> $NET_DE4 (DE)"
	row rp-site-a1 tcp $NET_CN4 80 drop rp-net -- "4.6 egress: site alpha-1 through its tunnel -> $NET_CN4 (CN)"
	row rp-cloud-b tcp $NET_DE4 80 drop rp-net -- "4.6 egress: bravo has egress = none"
	counter_grows "4.6 egress geo-fence" alpha geo_egress probe rp-cloud-a tcp $NET_CN4 80 rp-net
fi

# last: a config change.  allow_from lets the embassy in from abroad.
if need_rempart "4.5 site allow_from"; then
	f=$(tenant_file $ABROAD_TENANT)
	ini_set "$f" "site $ABROAD_SITE" allow_from "$ABROAD4/32, $ABROAD6/128"
	kill -HUP "$(pid_of rempart)"
	if wait_for 15 eval 'kick_handshake rp-abroad wgs-x; handshake_done rp-abroad wgs-x'; then
		pass "4.5 allow_from: after reload, $ABROAD_SITE connects from abroad ($ABROAD4)"
		row rp-abroad tcp $CLOUD_HOST4 80 pass:cloud-a rp-cloud-a -- "4.5 allow_from: the embassy reaches alpha's cloud"
	else
		fail "4.5 allow_from: no handshake from $ABROAD4 within 15 s of SIGHUP with allow_from = $ABROAD4/32"
	fi
	check "4.5 allow_from: rempart survived the reload" alive rempart
fi
[ "$T_FAILS" = 0 ]
