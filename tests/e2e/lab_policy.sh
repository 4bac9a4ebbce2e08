#!/bin/bash
# lab_policy.sh — docs/policy.md in the lab: isolation (overlapping prefixes)
# and shares, anti-spoofing (from a site and from a cloud), intra/rules,
# replies and unsolicited reverse packets: real traffic in the lab,
# IPv4 and IPv6.  Config: configs/lab.
. "$(dirname "$0")/../lab/e2e-lib.sh"
lab_begin
A1_4=$(lan wgs-a1 4) A1_6=$(lan wgs-a1 6)
A2_4=$(lan wgs-a2 4) A2_6=$(lan wgs-a2 6)
B1_4=$(lan wgs-b1 4) B1_6=$(lan wgs-b1 6)

if need_rempart "4.3 sites as printed"; then
	# with exactly the config `rempart site config` prints, intra = allow
	# lets a site reach the tenant's other sites
	row rp-site-a1 tcp "$A2_4" 80 pass:alpha-2 rp-site-a2 -- "4.3 intra=allow with the printed site configs: site alpha-1 -> site alpha-2"
	row rp-site-a2 tcp "$A1_6" 80 pass:alpha-1 rp-site-a1 -- "4.3 intra=allow with the printed site configs: site alpha-2 -> site alpha-1 (IPv6)"
fi
# From here on the sites send everything below into their tunnels (a
# misconfigured or malicious site): the gateway's verdicts are what is tested.
if [ -e /run/netns/rp-site-a1 ]; then
	site_widen rp-site-a1 wgs-a1 10.120.0.0/16 fd01::/16 10.130.0.0/16 fd02::/16 100.64.0.0/16 10.99.0.0/24 fd00:99::/64
	site_widen rp-site-a2 wgs-a2 10.120.0.0/16 fd01::/16 10.130.0.0/16 fd02::/16 100.64.0.0/16
	site_widen rp-site-b1 wgs-b1 10.120.0.0/16 fd01::/16 100.64.0.0/16
fi

if need_rempart "4.1 isolation"; then
	for d in $CLOUD_HOST4 $CLOUD_HOST6; do
		row rp-site-a1 tcp $d 80 pass:cloud-a rp-cloud-a -- "4.1 isolation: site alpha-1 -> $d answered by alpha's cloud"
		row rp-site-b1 tcp $d 80 pass:cloud-b rp-cloud-b -- "4.1 isolation: site bravo-1 -> $d (same address) answered by bravo's cloud"
	done
	for d in $CLOUD_B_ONLY4 $CLOUD_B_ONLY6; do
		row rp-site-a1 tcp $d 80 drop rp-cloud-b -- "4.1 isolation: site alpha-1 -> $d (a host only in bravo's cloud) never reaches bravo"
		row rp-cloud-a tcp $d 80 drop rp-cloud-b -- "4.1 isolation: cloud alpha -> $d never reaches bravo's cloud"
	done
	row rp-site-a1 tcp "$B1_4" 80 drop rp-site-b1 -- "4.1 isolation: site alpha-1 -> bravo's site $B1_4"
	row rp-site-a1 udp "$B1_6" 5000 drop rp-site-b1 -- "4.1 isolation: site alpha-1 -> bravo's site $B1_6"
	row rp-site-b1 tcp "$A1_4" 80 drop rp-site-a1 -- "4.1 isolation: site bravo-1 -> alpha's site $A1_4"
	row rp-cloud-b tcp "$A1_4" 80 drop rp-site-a1 -- "4.1 isolation: cloud bravo -> alpha's site $A1_4"
	row rp-cloud-b tcp "$A1_6" 80 drop rp-site-a1 -- "4.1 isolation: cloud bravo -> alpha's site $A1_6"
	bt=$(first_of_family "$(tenant_get bravo tunnel_address)" 4 addr)
	row rp-site-a1 ping "$bt" 0 drop rp-gw -- "4.1 isolation: site alpha-1 -> bravo's tunnel address $bt"
	counter_grows "4.1 isolation: alpha -> bravo" alpha cross_tenant probe rp-site-a1 tcp "$B1_4" 80 rp-site-b1
	row rp-svc tcp $CLOUD_HOST4 80 drop rp-cloud-a -- "4.1 isolation: services (sharing DNS) -> alpha's cloud: a share is one-way"
fi

if need_rempart "4.1 shares"; then
	row rp-site-a1 udp $SVC4 53 pass:svc rp-svc -- "4.1 share dns: site alpha-1 -> $SVC4 udp/53"
	row rp-site-a1 udp $SVC6 53 pass:svc rp-svc -- "4.1 share dns: site alpha-1 -> $SVC6 udp/53"
	row rp-site-b1 udp $SVC4 53 pass:svc rp-svc -- "4.1 share dns: site bravo-1 -> $SVC4 udp/53"
	row rp-cloud-a udp $SVC6 53 pass:svc rp-svc -- "4.3 share dns offered to clouds too: cloud alpha -> $SVC6 udp/53"
	row rp-cloud-b udp $SVC4 53 pass:svc rp-svc -- "4.3 share dns offered to clouds too: cloud bravo -> $SVC4 udp/53"
	row rp-site-a1 udp $SVC4 123 drop rp-svc -- "4.1 share dns: udp/123 is not shared"
	row rp-site-a1 tcp $SVC6 53 drop rp-svc -- "4.1 share dns: tcp/53 is not shared"
	row rp-cloud-a tcp $SVC4 80 drop rp-svc -- "4.1 share dns: tcp/80 is not shared"
	counter_grows "4.1 share: unshared port" alpha cross_tenant probe rp-site-a1 udp $SVC4 123 rp-svc
fi

if need_rempart "4.2 anti-spoofing"; then
	row rp-site-a1 tcp $CLOUD_HOST4 80 drop rp-cloud-a 10.120.2.99 -- "4.2 spoof from a site: alpha-1 with alpha-2's source 10.120.2.99"
	row rp-site-a1 tcp $CLOUD_HOST6 80 drop rp-cloud-a fd01:2::99 -- "4.2 spoof from a site: alpha-1 with alpha-2's source fd01:2::99"
	row rp-site-a1 udp $SVC4 53 drop rp-svc 10.20.9.9 -- "4.2 spoof from a site: alpha-1 with a cloud source 10.20.9.9"
	row rp-cloud-a udp $SVC4 53 drop rp-svc 10.120.1.99 -- "4.2 spoof from a cloud: cloud alpha with a site source 10.120.1.99"
	row rp-cloud-a udp $SVC6 53 drop rp-svc fd01:1::99 -- "4.2 spoof from a cloud: cloud alpha with a site source fd01:1::99"
	row rp-cloud-a udp $SVC4 53 drop rp-svc 10.99.0.7 -- "4.2 spoof from a cloud: cloud alpha with services' source 10.99.0.7"
	row rp-cloud-b udp $SVC6 53 drop rp-svc fd00:99::7 -- "4.2 spoof from a cloud: cloud bravo with services' source fd00:99::7"
	# control: any source inside the cloud prefixes is accepted (no answer
	# comes back: that host does not exist)
	row rp-cloud-a udp $SVC4 53 arrived rp-svc 10.20.7.7 -- "4.2 control: cloud alpha with an in-prefix source 10.20.7.7 is let through"
	counter_grows "4.2 spoof from a cloud" alpha spoofed probe rp-cloud-a udp $SVC4 53 rp-svc 10.120.1.99
fi

if need_rempart "4.3 intra"; then
	row rp-site-a1 tcp "$A2_4" 80 pass:alpha-2 rp-site-a2 -- "4.3 intra=allow (routed sites): site alpha-1 -> site alpha-2 tcp/80"
	row rp-site-a2 tcp "$A1_6" 80 pass:alpha-1 rp-site-a1 -- "4.3 intra=allow (routed sites): site alpha-2 -> site alpha-1 tcp/80 (IPv6)"
	row rp-site-a2 tcp "$A1_4" 22 drop rp-site-a1 -- "4.3 rule no-ssh-a1: site alpha-2 -> alpha-1 tcp/22 denied"
	row rp-site-a2 tcp "$A1_6" 22 drop rp-site-a1 -- "4.3 rule no-ssh-a1: site alpha-2 -> alpha-1 tcp/22 denied (IPv6)"
	row rp-site-a1 tcp "$A2_4" 22 pass:alpha-2 rp-site-a2 -- "4.3 rule no-ssh-a1 is one-way: alpha-1 -> alpha-2 tcp/22"
	row rp-cloud-a tcp "$A1_4" 80 pass:alpha-1 rp-site-a1 -- "4.3 intra=allow: cloud alpha -> site alpha-1"
	row rp-site-b1 tcp $CLOUD_HOST4 443 pass:cloud-b rp-cloud-b -- "4.3 intra=deny, rule web: site bravo-1 -> cloud tcp/443"
	row rp-site-b1 tcp $CLOUD_HOST6 80 pass:cloud-b rp-cloud-b -- "4.3 intra=deny, rule web: site bravo-1 -> cloud tcp/80 (IPv6)"
	row rp-site-b1 tcp $CLOUD_HOST4 22 drop rp-cloud-b -- "4.3 intra=deny: site bravo-1 -> cloud tcp/22 (no rule)"
	row rp-site-b1 tcp $CLOUD_HOST6 22 drop rp-cloud-b -- "4.3 intra=deny: site bravo-1 -> cloud tcp/22 (no rule, IPv6)"
	row rp-site-b1 ping $CLOUD_HOST6 0 pass rp-cloud-b -- "4.3 intra=deny, rule ping: site bravo-1 -> cloud ICMPv6"
	counter_grows "4.3 intra=deny" bravo no_rule probe rp-site-b1 tcp $CLOUD_HOST4 22 rp-cloud-b
	counter_grows "4.3 rule no-ssh-a1" alpha no_rule probe rp-site-a2 tcp "$A1_4" 22 rp-site-a1
fi

if need_rempart "4.4 flows"; then
	# bravo: cloud -> site any is allowed, site -> cloud udp/5000 is not
	row rp-cloud-b udp "$B1_4" 5000 pass:bravo-1 rp-site-b1 -- "4.4 reply: cloud bravo -> site bravo-1 udp/5000, the site's answer gets back"
	row rp-cloud-b udp "$B1_6" 5000 pass:bravo-1 rp-site-b1 -- "4.4 reply: cloud bravo -> site bravo-1 udp/5000 (IPv6)"
	row rp-site-b1 udp $CLOUD_HOST4 5000 drop rp-cloud-b -- "4.4 unsolicited reverse: site bravo-1 -> cloud udp/5000"
	row rp-site-b1 udp $CLOUD_HOST6 5000 drop rp-cloud-b -- "4.4 unsolicited reverse: site bravo-1 -> cloud udp/5000 (IPv6)"
	counter_grows "4.4 replies counted" bravo reply probe rp-cloud-b udp "$B1_4" 5000 rp-site-b1
fi
[ "$T_FAILS" = 0 ]
