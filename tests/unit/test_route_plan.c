// SPDX-License-Identifier: GPL-2.0
/* test_route_plan.c — the routes and policy rules net_apply wants
 * (userspace/net/route_plan.c), planned without a kernel: configs/example
 * (three ministries: interieur and justice on VLANs 110 and 120 of eth1,
 * sante on eth2 with egress = nat, offering DNS and NTP shares) and a
 * small config written here, with an ifindex table made up for the test:
 *
 *   eth0 (uplink) 2     wg-interieur 11   eth1.110 21
 *   other link    5     wg-justice   12   eth1.120 22
 *                       wg-sante     13   eth2     23
 *
 * Every expected route and rule is written out from route_plan.h's
 * description, not computed with the planner's own helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/rtnetlink.h>
#include "config/config.h"
#include "net/net_priv.h"
#include "net/route_plan.h"
#include "scratch.h"
#include "tap.h"

enum { UPLINK = 2, OTHER = 5 };
static const int tun[] = { 11, 12, 13 }, cloud[] = { 21, 22, 23 };

/* A route from "PREFIX" (host bits already clear). */
static struct nl_route route(const char *prefix, uint8_t type, int oif, uint32_t table,
			     uint32_t metric)
{
	struct nl_route r = { .type = type, .oif = oif, .table = table, .metric = metric };
	struct rp_prefix p;

	if (prefix_parse(prefix, &p)) {
		fprintf(stderr, "bad prefix in the test: %s\n", prefix);
		exit(2);
	}
	r.family = p.family;
	r.dst_len = p.len;
	memcpy(r.dst, p.addr, 16);
	return r;
}

/* How many routes of RS equal R (nl_route_same: family, prefix, type, oif,
 * table, metric). */
static int count(const struct route_set *rs, struct nl_route r)
{
	int n = 0;

	for (size_t i = 0; i < rs->n; i++)
		n += nl_route_same(&rs->v[i], &r);
	return n;
}

static int count_type(const struct route_set *rs, uint8_t type)
{
	int n = 0;

	for (size_t i = 0; i < rs->n; i++)
		n += rs->v[i].type == type;
	return n;
}

static size_t tenant_index(const struct rp_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		if (!strcmp(cfg->tenants[i].name, name))
			return i;
	fprintf(stderr, "no tenant %s\n", name);
	exit(2);
}

static int plan(const struct rp_config *cfg, const struct net_ifindex *ix, const char *tenant,
		const struct nl_route *main_v, size_t main_n, struct route_set *rs)
{
	rs->n = 0;
	return net_plan_routes(cfg, ix, tenant_index(cfg, tenant), main_v, main_n, rs);
}

static void test_routes(const struct rp_config *cfg)
{
	struct net_ifindex ix = { .uplink = UPLINK, .tunnel = tun, .cloud = cloud };
	/* the main table: a default through the uplink in each family, one
	 * more specific route through it, a default through another link */
	const struct nl_route main_v[] = {
		route("0.0.0.0/0", RTN_UNICAST, UPLINK, RT_TABLE_MAIN, 0),
		route("::/0", RTN_UNICAST, UPLINK, RT_TABLE_MAIN, 1024),
		route("10.0.0.0/8", RTN_UNICAST, UPLINK, RT_TABLE_MAIN, 0),
		route("0.0.0.0/0", RTN_UNICAST, OTHER, RT_TABLE_MAIN, 50),
	};
	size_t main_n = sizeof(main_v) / sizeof(main_v[0]);
	struct route_set rs = { 0 };
	int err;

	/* interieur (id 10): egress none, cloud eth1.110, consumes sante's DNS */
	err = plan(cfg, &ix, "interieur", main_v, main_n, &rs);
	tap_result(!err && rs.n > 0, "route plan: interieur planned (%d, %zu routes)", err, rs.n);
	tap_result(count(&rs, route("10.20.0.0/16", RTN_UNICAST, 21, 1010, 100)) == 1 &&
		   count(&rs, route("fd00:20::/48", RTN_UNICAST, 21, 1010, 100)) == 1,
		   "route plan: cloud_prefixes via the cloud attachment (VLAN link), table 1010, metric 100");
	tap_result(count(&rs, route("10.110.0.0/22", RTN_UNICAST, 11, 1010, 100)) == 1 &&
		   count(&rs, route("fd10:110::/56", RTN_UNICAST, 11, 1010, 100)) == 1 &&
		   count(&rs, route("10.110.4.0/24", RTN_UNICAST, 11, 1010, 100)) == 1 &&
		   count(&rs, route("10.110.200.0/26", RTN_UNICAST, 11, 1010, 100)) == 1,
		   "route plan: every site's allowed_ips via the tunnel, metric 100");
	tap_result(count(&rs, route("10.30.0.53/32", RTN_UNICAST, 23, 1010, 200)) == 1 &&
		   count(&rs, route("fd00:30::53/128", RTN_UNICAST, 23, 1010, 200)) == 1,
		   "route plan: a share offered to the tenant via the provider's cloud, metric 200, "
		   "once for two shares of the same prefix");
	tap_result(count(&rs, route("0.0.0.0/0", RTN_UNREACHABLE, 0, 1010, 10000)) == 1 &&
		   count(&rs, route("::/0", RTN_UNREACHABLE, 0, 1010, 10000)) == 1 &&
		   count_type(&rs, RTN_UNREACHABLE) == 2,
		   "route plan: egress none: the unreachable defaults and no other unreachable route");
	tap_result(count(&rs, route("0.0.0.0/0", RTN_UNICAST, UPLINK, 1010, 100)) == 0 &&
		   count(&rs, route("::/0", RTN_UNICAST, UPLINK, 1010, 100)) == 0,
		   "route plan: egress none: no default through the uplink");
	tap_result(count(&rs, route("10.30.0.123/32", RTN_UNICAST, 23, 1010, 200)) == 1,
		   "route plan: every share offered (sante's NTP too)");
	tap_result(count(&rs, route("100.64.10.2/32", RTN_UNICAST, 11, 1010, 100)) == 1 &&
		   count(&rs, route("fd64:10::2/128", RTN_UNICAST, 11, 1010, 100)) == 1 &&
		   count(&rs, route("100.64.10.3/32", RTN_UNICAST, 11, 1010, 100)) == 1,
		   "route plan: every site's tunnel_ip via the tunnel, a host route, metric 100");
	tap_result(count(&rs, route("10.20.0.0/24", RTN_UNICAST, 21, 1010, 100)) == 1 &&
		   count(&rs, route("fd00:20::/64", RTN_UNICAST, 21, 1010, 100)) == 1 &&
		   count(&rs, route("100.64.10.0/24", RTN_UNICAST, 11, 1010, 100)) == 1 &&
		   count(&rs, route("fd64:10::/64", RTN_UNICAST, 11, 1010, 100)) == 1,
		   "route plan: the subnets of cloud_address and tunnel_address in the tenant's table "
		   "(the main table has none: docs/policy.md)");
	/* 2 cloud + 4 own subnets + 7 site prefixes + 4 tunnel_ip + 3 shared + 2 unreachable */
	tap_result(rs.n == 22, "route plan: interieur's table holds nothing else (%zu routes)", rs.n);

	/* sante (id 30): egress nat, the share's provider */
	err = plan(cfg, &ix, "sante", main_v, main_n, &rs);
	tap_result(!err && count(&rs, route("10.30.0.0/16", RTN_UNICAST, 23, 1030, 100)) == 1 &&
		   count(&rs, route("10.130.0.0/22", RTN_UNICAST, 13, 1030, 100)) == 1,
		   "route plan: sante's cloud (no VLAN) and sites");
	tap_result(count(&rs, route("0.0.0.0/0", RTN_UNICAST, UPLINK, 1030, 100)) == 1 &&
		   count(&rs, route("::/0", RTN_UNICAST, UPLINK, 1030, 100)) == 1,
		   "route plan: egress nat copies the main table's defaults through the uplink (metric 100)");
	tap_result(count(&rs, route("10.0.0.0/8", RTN_UNICAST, UPLINK, 1030, 100)) == 0 &&
		   count(&rs, route("0.0.0.0/0", RTN_UNICAST, OTHER, 1030, 100)) == 0 &&
		   count(&rs, route("0.0.0.0/0", RTN_UNICAST, OTHER, 1030, 50)) == 0,
		   "route plan: ... and only those (not a more specific route, not another link's default)");
	tap_result(count(&rs, route("10.110.0.0/22", RTN_UNICAST, 11, 1030, 200)) == 1 &&
		   count(&rs, route("10.120.0.0/22", RTN_UNICAST, 12, 1030, 200)) == 1 &&
		   count(&rs, route("10.120.11.0/24", RTN_UNICAST, 12, 1030, 200)) == 1,
		   "route plan: the provider's table routes the consumers' sites via their tunnels (replies), metric 200");
	tap_result(count(&rs, route("10.130.0.0/22", RTN_UNREACHABLE, 0, 1030, 10000)) == 1 &&
		   count(&rs, route("fd30:130::/56", RTN_UNREACHABLE, 0, 1030, 10000)) == 1 &&
		   count(&rs, route("10.130.10.0/24", RTN_UNREACHABLE, 0, 1030, 10000)) == 1,
		   "route plan: site fallbacks: a site prefix the uplink's default also covers gets "
		   "its own unreachable route");
	tap_result(count(&rs, route("10.110.0.0/22", RTN_UNREACHABLE, 0, 1030, 10000)) == 1 &&
		   count(&rs, route("10.120.11.0/24", RTN_UNREACHABLE, 0, 1030, 10000)) == 1,
		   "route plan: site fallbacks: so do the consumers' site prefixes in the provider's table");
	tap_result(count(&rs, route("10.30.0.0/16", RTN_UNREACHABLE, 0, 1030, 10000)) == 0 &&
		   count(&rs, route("0.0.0.0/0", RTN_UNREACHABLE, 0, 1030, 10000)) == 1 &&
		   count(&rs, route("::/0", RTN_UNREACHABLE, 0, 1030, 10000)) == 1,
		   "route plan: no fallback for a cloud prefix; the unreachable defaults still there");

	/* no uplink among the links: nothing to copy, nothing covers the sites */
	ix.uplink = 0;
	err = plan(cfg, &ix, "sante", main_v, main_n, &rs);
	tap_result(!err && count(&rs, route("0.0.0.0/0", RTN_UNICAST, UPLINK, 1030, 100)) == 0 &&
		   count_type(&rs, RTN_UNREACHABLE) == 2,
		   "route plan: egress nat without the uplink: no default copied, no site fallback");
	ix.uplink = UPLINK;
	/* an empty main table */
	err = plan(cfg, &ix, "sante", NULL, 0, &rs);
	tap_result(!err && count(&rs, route("0.0.0.0/0", RTN_UNICAST, UPLINK, 1030, 100)) == 0 &&
		   count(&rs, route("0.0.0.0/0", RTN_UNREACHABLE, 0, 1030, 10000)) == 1,
		   "route plan: egress nat with no default in the main table: only the unreachable default");
	free(rs.v);
}

static const struct net_rule_want *find_rule(const struct net_rule_want *v, size_t n, int family,
					     uint32_t prio, uint32_t table, const char *iif,
					     uint32_t mark, uint32_t mask)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].rule.family == family && v[i].rule.priority == prio &&
		    v[i].rule.table == table && !strcmp(v[i].rule.iif, iif) &&
		    v[i].rule.fwmark == mark && v[i].rule.fwmask == mask)
			return &v[i];
	return NULL;
}

static void test_rules(const struct rp_config *cfg)
{
	struct net_rule_want *v = NULL;
	size_t n = 0, ok = 0;
	int err = net_plan_rules(cfg, &v, &n);

	/* 4 of the gateway's, and per tenant and family: tunnel, cloud, fwmark
	 * (all three tenants: sante NATs, the others consume its share) */
	tap_result(!err && n == 4 + 3 * 6, "rule plan: configs/example wants 22 rules (%d, %zu)", err, n);
	for (int fam = 0; fam < 2; fam++) {
		int f = fam ? AF_INET6 : AF_INET;

		ok += find_rule(v, n, f, 998, RT_TABLE_MAIN, "eth0", 0, 0xffff0000u) != NULL;
		ok += find_rule(v, n, f, 998, RT_TABLE_MAIN, "lo", 0, 0xffff0000u) != NULL;
	}
	tap_result(ok == 4 && n >= 4 && v[0].tenant == -1 && v[3].tenant == -1 &&
		   v[0].rule.family == AF_INET && v[2].rule.family == AF_INET6,
		   "rule plan: first the gateway's: uplink and lo, unmarked, to main (998), IPv4 then IPv6");
	ok = 0;
	for (int fam = 0; fam < 2; fam++) {
		int f = fam ? AF_INET6 : AF_INET;

		ok += find_rule(v, n, f, 1010, 1010, "wg-interieur", 0, 0) != NULL;
		ok += find_rule(v, n, f, 1010, 1010, "eth1.110", 0, 0) != NULL;
		ok += find_rule(v, n, f, 1020, 1020, "wg-justice", 0, 0) != NULL;
		ok += find_rule(v, n, f, 1020, 1020, "eth1.120", 0, 0) != NULL;
		ok += find_rule(v, n, f, 1030, 1030, "wg-sante", 0, 0) != NULL;
		ok += find_rule(v, n, f, 1030, 1030, "eth2", 0, 0) != NULL;
	}
	tap_result(ok == 12, "rule plan: iif TUNNEL and iif CLOUD (the VLAN link's name) lookup 1000+id, "
		   "priority 1000+id, both families");
	ok = 0;
	for (int fam = 0; fam < 2; fam++) {
		int f = fam ? AF_INET6 : AF_INET;

		ok += find_rule(v, n, f, 999, 1030, "", 0x5250001eu, 0xffffffffu) != NULL;
		ok += find_rule(v, n, f, 999, 1010, "", 0x5250000au, 0xffffffffu) != NULL;
		ok += find_rule(v, n, f, 999, 1020, "", 0x52500014u, 0xffffffffu) != NULL;
	}
	tap_result(ok == 6, "rule plan: fwmark 0x5250<id> lookup 1000+id (999) for every tenant");
	ok = 1;
	for (size_t i = 4; i < n; i++)
		ok &= v[i].tenant >= 0 &&
		      (uint32_t)RP_TABLE_BASE + cfg->tenants[v[i].tenant].id == v[i].rule.table;
	tap_result(ok, "rule plan: each tenant rule names its tenant (for messages)");
	free(v);
}

static char tmp[64];

/* Two tenants with egress none and no share: their fwmark rules all the
 * same (what the gateway answers them goes back by their mark). */
static void test_rules_plain(void)
{
	struct rp_config cfg;
	struct diag d = { 0 };
	struct net_rule_want *v = NULL;
	size_t n = 0;
	char path[128];
	int err;

	if (scratch_make(tmp, "plan")) {
		tap_skip("rule plan: no temporary directory");
		return;
	}
	scratch_put(tmp, "rempart.ini", "[gateway]\nuplink = up0\n");
	scratch_put(tmp, "tenants.d/a.ini", "[tenant]\nname = a\nid = 7\ncloud_interface = c1\n"
			       "cloud_prefixes = 10.1.0.0/16\ntunnel_address = 100.64.1.1/24\n"
			       "listen_port = 51820\nprivate_key_file = /nonexistent\n");
	scratch_put(tmp, "tenants.d/b.ini", "[tenant]\nname = b\nid = 8\ncloud_interface = c0\nvlan = 44\n"
			       "cloud_prefixes = 10.2.0.0/16\ntunnel_address = 100.64.2.1/24\n"
			       "listen_port = 51821\nprivate_key_file = /nonexistent\n");
	err = config_load(tmp, RP_CFG_SKIP_KEY_FILES, &cfg, &d);
	diag_print(&d, stdout);
	diag_free(&d);
	tap_result(!err, "rule plan: a config of two plain tenants loads (%d)", err);
	if (!err) {
		err = net_plan_rules(&cfg, &v, &n);
		tap_result(!err && n == 4 + 2 * 6 &&
			   find_rule(v, n, AF_INET, 1007, 1007, "wg-a", 0, 0) &&
			   find_rule(v, n, AF_INET6, 1007, 1007, "c1", 0, 0) &&
			   find_rule(v, n, AF_INET, 1008, 1008, "c0.44", 0, 0) &&
			   find_rule(v, n, AF_INET6, 999, 1008, "", 0x52500008u, 0xffffffffu) &&
			   find_rule(v, n, AF_INET, 998, RT_TABLE_MAIN, "up0", 0, 0xffff0000u),
			   "rule plan: egress none and no share: tunnel and cloud rules, and the fwmark "
			   "rule (the gateway's echo replies) (%zu)", n);
		free(v);
		config_free(&cfg);
	}
	/* no tenant at all: no rule, not even the gateway's */
	unlink(strcat(strcpy(path, tmp), "/tenants.d/a.ini"));
	unlink(strcat(strcpy(path, tmp), "/tenants.d/b.ini"));
	err = config_load(tmp, RP_CFG_SKIP_KEY_FILES, &cfg, &d);
	diag_free(&d);
	if (!err) {
		err = net_plan_rules(&cfg, &v, &n);
		tap_result(!err && n == 0, "rule plan: no tenant, no rule (%zu)", n);
		free(v);
		config_free(&cfg);
	} else {
		tap_skip("rule plan: a config without tenants does not load (%d)", err);
	}
	scratch_remove(tmp);
}

/* A tenant key rotation (net/keyrot.h): the rules of the second tunnel
 * wn-a, and each site routed through the tunnel it is on. */
static void test_keyrot(void)
{
	static const int t1[] = { 11 }, c1[] = { 21 }, n1[] = { 31 };
	bool moved_a[] = { true, false };
	bool *const moved[] = { moved_a };
	struct net_ifindex ix = { .uplink = UPLINK, .tunnel = t1, .cloud = c1, .next = n1,
				  .moved = moved };
	struct route_set rs = { 0 };
	struct net_rule_want *v = NULL;
	struct rp_config cfg;
	struct diag d = { 0 };
	size_t n = 0;
	int err;

	if (scratch_make(tmp, "keyrot")) {
		tap_skip("keyrot plan: no temporary directory");
		return;
	}
	scratch_put(tmp, "rempart.ini", "[gateway]\nuplink = up0\n");
	scratch_put(tmp, "tenants.d/a.ini", "[tenant]\nname = a\nid = 7\ncloud_interface = c1\n"
			       "cloud_prefixes = 10.1.0.0/16\ntunnel_address = 100.64.1.1/24\n"
			       "listen_port = 51820\nprivate_key_file = /nonexistent\n"
			       "next_private_key_file = /nonexistent2\nnext_listen_port = 51821\n"
			       "[site s1]\npublic_key = ujXI9SDJaHONzWV/E7BehZHkHfsF/duDcHMrw68eGFU=\n"
			       "allowed_ips = 10.120.1.0/24\ntunnel_ip = 100.64.1.2\n"
			       "[site s2]\npublic_key = kBGItsqorhMIGJ1M3Z50mWWqoe1ROL37RXKmYP3aA3A=\n"
			       "allowed_ips = 10.120.2.0/24\n");
	err = config_load(tmp, RP_CFG_SKIP_KEY_FILES, &cfg, &d);
	diag_print(&d, stdout);
	diag_free(&d);
	tap_result(!err && cfg.tenants[0].next_interface &&
		   !strcmp(cfg.tenants[0].next_interface, "wn-a"),
		   "keyrot plan: a tenant in key rotation loads, its second tunnel is wn-a (%d)", err);
	if (err) {
		scratch_remove(tmp);
		return;
	}
	err = net_plan_rules(&cfg, &v, &n);
	tap_result(!err && n == 4 + 8 &&
		   find_rule(v, n, AF_INET, 1007, 1007, "wn-a", 0, 0) &&
		   find_rule(v, n, AF_INET6, 1007, 1007, "wn-a", 0, 0) &&
		   find_rule(v, n, AF_INET, 1007, 1007, "wg-a", 0, 0),
		   "keyrot plan: iif wn-a lookup 1007 (both families) beside iif wg-a (%zu rules)", n);
	free(v);
	err = net_plan_routes(&cfg, &ix, 0, NULL, 0, &rs);
	tap_result(!err && count(&rs, route("10.120.1.0/24", RTN_UNICAST, 31, 1007, 100)) == 1 &&
		   count(&rs, route("100.64.1.2/32", RTN_UNICAST, 31, 1007, 100)) == 1 &&
		   count(&rs, route("10.120.1.0/24", RTN_UNICAST, 11, 1007, 100)) == 0,
		   "keyrot plan: a site that moved: its allowed_ips and tunnel_ip through wn-a only");
	tap_result(count(&rs, route("10.120.2.0/24", RTN_UNICAST, 11, 1007, 100)) == 1 &&
		   count(&rs, route("10.120.2.0/24", RTN_UNICAST, 31, 1007, 100)) == 0 &&
		   count(&rs, route("100.64.1.0/24", RTN_UNICAST, 11, 1007, 100)) == 1,
		   "keyrot plan: a site that did not: through wg-a, as the tunnel_address subnet");
	moved_a[0] = false;
	rs.n = 0;
	err = net_plan_routes(&cfg, &ix, 0, NULL, 0, &rs);
	tap_result(!err && count(&rs, route("10.120.1.0/24", RTN_UNICAST, 11, 1007, 100)) == 1,
		   "keyrot plan: a site back on the current key: through wg-a again");
	free(rs.v);
	config_free(&cfg);
	scratch_remove(tmp);
}

int main(void)
{
	struct rp_config cfg;
	struct diag d = { 0 };
	int err = config_load("configs/example", RP_CFG_SKIP_KEY_FILES, &cfg, &d);

	diag_print(&d, stdout);
	diag_free(&d);
	tap_result(!err && cfg.n_tenants == 3 && !strcmp(cfg.tenants[0].name, "interieur") &&
		   !strcmp(cfg.tenants[2].name, "sante"),
		   "route plan: configs/example loads, tenants in id order (%d)", err);
	if (!err) {
		test_routes(&cfg);
		test_rules(&cfg);
		config_free(&cfg);
	}
	test_rules_plain();
	test_keyrot();
	tap_exit();
}
