// SPDX-License-Identifier: GPL-2.0
/* test_eval.c — the reference evaluator on a config built in C (no loader):
 * interface → hook mapping, the main paths of docs/policy.md, and that
 * eval_packet allocates nothing (malloc is interposed and counted).  The
 * full table over INI configs is test_eval_table.c. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "config/country.h"
#include "eval/eval.h"
#include "eval/reason.h"
#include "tap.h"

/* Count allocations made while `counting` is set. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static volatile int counting, allocations;
void *malloc(size_t n) { allocations += counting; return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { allocations += counting; return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { allocations += counting; return __libc_realloc(p, n); }

static struct rp_prefix_list pl(const char *csv)
{
	struct rp_prefix_list l = { .v = calloc(8, sizeof(struct rp_prefix)) };
	char buf[256], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", csv);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
		if (!prefix_parse(tok, &l.v[l.n]))
			l.n++;
	return l;
}

static struct rp_port_list ports(uint16_t lo, uint16_t hi)
{
	struct rp_port_list l = { .v = calloc(1, sizeof(struct rp_port_range)), .n = 1 };

	l.v[0].lo = lo;
	l.v[0].hi = hi;
	return l;
}

static struct rp_config cfg;
static struct rp_tenant tenants[3];
static struct rp_site sites_a[2], sites_b[1];
static struct rp_rule rules_b[2];
static struct rp_share share_b;
static int share_b_idx[1] = { 0 };

static void build_config(void)
{
	cfg.uplink = "eth0";
	cfg.public_endpoint = "198.51.100.10";	/* the uplink's address (docs/policy.md) */
	cfg.tenants = tenants;
	cfg.n_tenants = 3;
	ccset_add(&cfg.mgmt_countries, 5 * 26 + 17);	/* FR */

	tenants[0] = (struct rp_tenant){
		.name = "alpha", .id = 10, .cloud_interface = "eth1", .vlan = 110,
		.cloud_address = pl("10.20.0.1/24"), .cloud_prefixes = pl("10.20.0.0/16, fd00:20::/48"),
		.tunnel_interface = "wg-alpha", .tunnel_address = pl("100.64.10.1/24"),
		.listen_port = 51810, .egress = RP_EGRESS_NONE, .intra_allow = true,
		.sites = sites_a, .n_sites = 2,
	};
	sites_a[0] = (struct rp_site){ .name = "paris", .allowed_ips = pl("10.120.1.0/24"),
				       .tunnel_ip = pl("100.64.10.11/32") };
	sites_a[1] = (struct rp_site){ .name = "embassy", .allowed_ips = pl("10.120.9.0/24"),
				       .allow_from = pl("196.200.1.7/32") };

	tenants[1] = (struct rp_tenant){
		.name = "beta", .id = 20, .cloud_interface = "eth1", .vlan = 120,
		.cloud_prefixes = pl("10.20.0.0/16"), .tunnel_interface = "wg-beta",
		.tunnel_address = pl("100.64.20.1/24"), .listen_port = 51820,
		.egress = RP_EGRESS_NAT, .intra_allow = false,
		.sites = sites_b, .n_sites = 1, .rules = rules_b, .n_rules = 2,
		.shares = &share_b, .n_shares = 1,
	};
	sites_b[0] = (struct rp_site){ .name = "marseille", .allowed_ips = pl("10.130.1.0/24") };
	rules_b[0] = (struct rp_rule){ .name = "web", .from = pl("10.130.1.0/24"), .to = pl("10.20.1.0/24"),
				       .proto = RP_PROTO_TCP, .ports = ports(443, 443), .allow = true };
	rules_b[1] = (struct rp_rule){ .name = "no-web-host", .from = pl("10.130.1.0/24"),
				       .to = pl("10.20.1.7/32"), .proto = RP_PROTO_ANY, .allow = false };
	share_b = (struct rp_share){ .name = "dns", .to = pl("10.20.0.53/32"), .proto = RP_PROTO_UDP,
				     .ports = ports(53, 53), .tenants = (char *[]){ "alpha" }, .n_tenants = 1,
				     .tenant_idx = share_b_idx };

	tenants[2] = (struct rp_tenant){
		.name = "gamma", .id = 30, .cloud_interface = "eth2", .vlan = 0,
		.cloud_prefixes = pl("10.30.0.0/16"), .tunnel_interface = "wg-gamma",
		.listen_port = 51830, .intra_allow = true,
	};
}

static void where_case(const char *ifname, uint16_t vlan, bool out, int want_ret,
		       enum rp_hook hook, int tenant)
{
	struct eval_where w = { .hook = RP_HOOK__COUNT, .tenant = 99 };
	int ret = eval_where_from_ifname(&cfg, ifname, vlan, out, &w);

	tap_result(ret == want_ret && (ret || (w.hook == hook && w.tenant == tenant)),
		   "eval: where %s vlan %u%s -> %d %s tenant %d (got %d %s %d)", ifname, vlan,
		   out ? " out" : "", want_ret, eval_hook_name(hook), tenant, ret,
		   eval_hook_name(w.hook), w.tenant);
}

static void test_where(void)
{
	where_case("eth0", 0, false, 0, RP_HOOK_UPLINK_IN, -1);
	where_case("eth0", 0, true, 0, RP_HOOK_UPLINK_OUT, -1);
	where_case("wg-beta", 0, false, 0, RP_HOOK_TUNNEL_IN, 1);
	where_case("wg-beta", 0, true, -ENOENT, 0, 0);
	where_case("eth1", 110, false, 0, RP_HOOK_CLOUD_IN, 0);
	where_case("eth1", 120, false, 0, RP_HOOK_CLOUD_IN, 1);
	where_case("eth1.120", 0, false, 0, RP_HOOK_CLOUD_IN, 1);
	where_case("eth1.120", 120, false, 0, RP_HOOK_CLOUD_IN, 1);
	where_case("eth1.120", 110, false, -ENOENT, 0, 0);
	where_case("eth1", 0, false, 0, RP_HOOK_CLOUD_IN, -1);
	where_case("eth1", 999, false, 0, RP_HOOK_CLOUD_IN, -1);
	where_case("eth2", 0, false, 0, RP_HOOK_CLOUD_IN, 2);
	where_case("eth2.5", 0, false, 0, RP_HOOK_CLOUD_IN, -1);
	where_case("eth3", 0, false, -ENOENT, 0, 0);
	where_case("eth1.x", 0, false, -ENOENT, 0, 0);
	where_case("wg-beta.4", 0, false, -ENOENT, 0, 0);
}

static struct rp_packet pkt(const char *src, const char *dst, uint8_t proto, uint16_t sport,
			    uint16_t dport)
{
	struct rp_packet p = { .kind = RP_PKT_IP, .proto = proto, .sport = sport, .dport = dport,
			       .l4_present = true, .hop_limit = 64 };

	addr_parse(src, &p.src);
	addr_parse(dst, &p.dst);
	return p;
}

static void judge(const char *ifname, uint16_t vlan, bool out, struct rp_packet p,
		  enum rp_verdict v, enum rp_reason reason, const char *rule, int tenant)
{
	struct eval_ctx ctx = { .cfg = &cfg, .geo = NULL };
	struct eval_where w;
	struct eval_result r;
	char s[64], d[64];

	addr_format(&p.src, s, sizeof(s));
	addr_format(&p.dst, d, sizeof(d));
	if (eval_where_from_ifname(&cfg, ifname, vlan, out, &w)) {
		tap_result(0, "eval: %s: no hook", ifname);
		return;
	}
	counting = 1;
	eval_packet(&ctx, &w, &p, &r);
	counting = 0;
	tap_result(r.verdict == v && r.reason == reason && r.tenant == tenant &&
		   (rule ? r.rule && !strcmp(rule, r.rule) : !r.rule) && r.why && *r.why,
		   "eval: %s %s -> %s %u/%u: %s %s rule=%s tenant=%d (got %s %s rule=%s tenant=%d)",
		   ifname, s, d, p.proto, p.dport, verdict_name(v), reason_name(reason),
		   rule ? rule : "-", tenant, verdict_name(r.verdict), reason_name(r.reason),
		   r.rule ? r.rule : "-", r.tenant);
}

static void test_judge(void)
{
	struct rp_packet p;

	/* Overlapping 10.20.0.0/16: each tenant stays in its own. */
	judge("wg-alpha", 0, false, pkt("10.120.1.5", "10.20.1.7", IPPROTO_TCP, 40000, 443),
	      RP_ALLOW, RP_R_ALLOWED, NULL, 0);
	judge("wg-beta", 0, false, pkt("10.130.1.5", "10.20.1.7", IPPROTO_TCP, 40000, 443),
	      RP_DROP, RP_R_NO_RULE, "no-web-host", 1);
	judge("wg-beta", 0, false, pkt("10.130.1.5", "10.20.1.8", IPPROTO_TCP, 40000, 443),
	      RP_ALLOW, RP_R_ALLOWED, "web", 1);
	judge("wg-beta", 0, false, pkt("10.130.1.5", "10.20.1.8", IPPROTO_TCP, 40000, 80),
	      RP_DROP, RP_R_NO_RULE, NULL, 1);
	judge("wg-alpha", 0, false, pkt("10.120.1.5", "10.130.1.9", IPPROTO_TCP, 40000, 22),
	      RP_DROP, RP_R_CROSS_TENANT, NULL, 0);
	judge("wg-alpha", 0, false, pkt("10.20.1.5", "10.20.1.9", IPPROTO_TCP, 40000, 22),
	      RP_DROP, RP_R_SPOOFED, NULL, 0);
	/* A site's own tunnel_ip is one of its addresses; the rest of the
	 * tunnel network is nobody's. */
	judge("wg-alpha", 0, false, pkt("100.64.10.11", "10.20.1.7", IPPROTO_TCP, 40000, 443),
	      RP_ALLOW, RP_R_ALLOWED, NULL, 0);
	judge("wg-alpha", 0, false, pkt("100.64.10.12", "10.20.1.7", IPPROTO_TCP, 40000, 443),
	      RP_DROP, RP_R_SPOOFED, NULL, 0);
	judge("eth1", 110, false, pkt("10.20.1.7", "100.64.10.11", IPPROTO_TCP, 40000, 22),
	      RP_ALLOW, RP_R_ALLOWED, NULL, 0);
	/* The share of beta wins over alpha's own /16 by prefix length. */
	judge("wg-alpha", 0, false, pkt("10.120.1.5", "10.20.0.53", IPPROTO_UDP, 5353, 53),
	      RP_ALLOW, RP_R_ALLOWED, "dns", 0);
	judge("wg-alpha", 0, false, pkt("10.120.1.5", "10.20.0.53", IPPROTO_TCP, 5353, 53),
	      RP_DROP, RP_R_CROSS_TENANT, NULL, 0);
	judge("eth2", 0, false, pkt("10.30.1.1", "10.20.0.53", IPPROTO_UDP, 5353, 53),
	      RP_DROP, RP_R_CROSS_TENANT, NULL, 2);
	judge("eth1", 110, false, pkt("10.20.3.3", "8.8.8.8", IPPROTO_UDP, 5353, 53),
	      RP_DROP, RP_R_NO_RULE, NULL, 0);
	judge("eth1", 120, false, pkt("10.20.3.3", "8.8.8.8", IPPROTO_UDP, 5353, 53),
	      RP_ALLOW, RP_R_ALLOWED, NULL, 1);
	judge("eth1", 130, false, pkt("10.20.3.3", "8.8.8.8", IPPROTO_UDP, 5353, 53),
	      RP_DROP, RP_R_MALFORMED, NULL, -1);
	/* Uplink: embassy allow_from in no country; geo NULL and unknown = deny. */
	judge("eth0", 0, false, pkt("196.200.1.7", "198.51.100.10", IPPROTO_UDP, 40000, 51810),
	      RP_ALLOW, RP_R_ALLOWED, NULL, 0);
	judge("eth0", 0, false, pkt("196.200.1.8", "198.51.100.10", IPPROTO_UDP, 40000, 51810),
	      RP_DROP, RP_R_GEO_SITE, NULL, 0);
	judge("eth0", 0, false, pkt("196.200.1.8", "198.51.100.10", IPPROTO_UDP, 40000, 51899),
	      RP_DROP, RP_R_NOT_WIREGUARD, NULL, -1);
	judge("eth0", 0, true, pkt("198.51.100.10", "10.130.1.5", IPPROTO_TCP, 40000, 443),
	      RP_DROP, RP_R_CLEARTEXT, NULL, 1);
	judge("eth0", 0, true, pkt("198.51.100.10", "9.9.9.9", IPPROTO_UDP, 40000, 53),
	      RP_ALLOW, RP_R_ALLOWED, NULL, -1);
	p = pkt("10.120.1.5", "10.20.1.7", IPPROTO_TCP, 0, 0);
	p.frag = RP_FRAG_LATER;
	p.l4_present = false;
	judge("wg-alpha", 0, false, p, RP_DROP, RP_R_FRAGMENT, NULL, 0);
	p.malformed = true;
	judge("wg-alpha", 0, false, p, RP_DROP, RP_R_MALFORMED, NULL, 0);
	tap_result(allocations == 0, "eval: eval_packet allocated nothing (%d allocations)", allocations);
}

int main(void)
{
	void *volatile probe;

	counting = 1;
	probe = malloc(16);
	counting = 0;
	free(probe);
	tap_result(allocations == 1, "eval: the allocation counter sees malloc (%d)", allocations);
	allocations = 0;
	build_config();
	test_where();
	test_judge();
	tap_exit();
}
