/* fixture_cfg.h — the fixed test configuration of the BPF table test and
 * the swap test (three tenants, overlapping cloud prefixes, shares, VLANs).
 *
 *   alpha (10): cloud dpcloud untagged 10.20.0.0/16 fd00:20::/48, tunnel dptun1,
 *               sites lyon 10.120.1.0/24 fd10:120:1::/48 (allow_from 196.200.1.7),
 *               paris 10.120.2.0/24; intra deny + rules; egress nat to FR only.
 *   beta  (20): cloud dptrunk VLAN 200 10.20.0.0/16 (overlaps alpha) 10.21.0.0/24,
 *               tunnel dptun2, site s1 10.130.1.0/24; intra allow; egress none;
 *               share dns 10.21.0.53/32 udp 53 to alpha.
 *   gamma (30): cloud dptrunk VLAN 300 10.30.0.0/16 (cloud_address 10.30.0.1/24),
 *               tunnel dptun3, site g1 10.140.1.0/24; egress nat; share web
 *               10.30.5.0/24 tcp 80 to *.
 *   The uplink: 198.51.100.2/24 (public_endpoint), 2001:db8::2/64; another
 *   interface of the gateway holds 192.0.2.77/24.
 */
#ifndef REMPART_TESTS_FIXTURE_CFG_H
#define REMPART_TESTS_FIXTURE_CFG_H
#include "config/country.h"
#include "fixture.h"

static void fx_config_a(struct rp_config *c, bool unknown_allow)
{
	struct rp_tenant *t;

	fx_cfg_init(c, 8);
	c->geo_unknown_allow = unknown_allow;
	c->mgmt_allow_from = fx_plist("192.0.2.0/24, 2001:db8:ad::/48");
	c->mgmt_tcp_ports = fx_ports("22");
	/* the uplink: public_endpoint, and the addresses found on it */
	c->public_endpoint = strdup("198.51.100.2");
	c->host.uplink = fx_plist("198.51.100.2/24, 2001:db8::2/64");
	c->host.all = fx_plist("198.51.100.2/24, 2001:db8::2/64, 127.0.0.1/8, ::1/128, 192.0.2.77/24");

	t = fx_tenant(c, "alpha", 10, 16);
	t->cloud_interface = strdup("dpcloud");
	t->cloud_prefixes = fx_plist("10.20.0.0/16, fd00:20::/48");
	t->cloud_address = fx_plist("10.20.0.1/24");
	t->tunnel_interface = strdup("dptun1");
	t->tunnel_address = fx_plist("100.64.10.1/24, fd64:10::1/64");
	t->listen_port = 51810;
	t->intra_allow = false;
	t->egress = RP_EGRESS_NAT;
	t->has_egress_countries = true;
	ccset_add_item(&t->egress_countries, "FR");
	ccset_add_item(&t->site_countries, "FR");
	fx_site(t, "lyon", "10.120.1.0/24, fd10:120:1::/48", "196.200.1.7/32")->tunnel_ip =
		fx_plist("100.64.10.11/32, fd64:10::11/128");
	fx_site(t, "paris", "10.120.2.0/24", NULL);
	fx_rule(t, "web", "sites", "10.20.1.0/24", "tcp", "443, 8443-8450", true);
	fx_rule(t, "dns", "sites", "10.20.0.53/32", "udp", "53", true);
	fx_rule(t, "deny-host", "site:lyon", "10.20.1.66/32", "any", NULL, false);
	fx_rule(t, "ping", "sites", "10.20.0.0/16", "icmp", NULL, true);
	fx_rule(t, "c2s", "cloud", "sites", "tcp", "22", true);
	fx_rule(t, "v6web", "sites", "fd00:20::/48", "tcp", "80", true);

	t = fx_tenant(c, "beta", 20, 4);
	t->cloud_interface = strdup("dptrunk");
	t->vlan = 200;
	t->cloud_prefixes = fx_plist("10.20.0.0/16, 10.21.0.0/24");
	t->tunnel_interface = strdup("dptun2");
	t->tunnel_address = fx_plist("100.64.20.1/24");
	t->listen_port = 51820;
	fx_site(t, "s1", "10.130.1.0/24", NULL);
	fx_share(t, "dns", "10.21.0.53/32", "udp", "53", "alpha");

	t = fx_tenant(c, "gamma", 30, 4);
	t->cloud_interface = strdup("dptrunk");
	t->vlan = 300;
	t->cloud_prefixes = fx_plist("10.30.0.0/16");
	t->cloud_address = fx_plist("10.30.0.1/24");
	t->tunnel_interface = strdup("dptun3");
	t->tunnel_address = fx_plist("100.64.30.1/24");
	t->listen_port = 51830;
	t->egress = RP_EGRESS_NAT;
	fx_site(t, "g1", "10.140.1.0/24", NULL);
	fx_share(t, "web", "10.30.5.0/24", "tcp", "80", "*");
	fx_resolve(c);
}
#endif
