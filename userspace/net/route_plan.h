/* route_plan.h — the routes and policy rules the config wants, planned
 * without the kernel: a pure function of the config, the ifindexes of the
 * links it names and the main table's routes (egress = nat copies the
 * uplink's defaults from there).  net_apply reconciles the kernel with the
 * plan (routes.c, rules.c); tests/unit/test_route_plan.c checks the plan
 * alone.
 *
 * Tenant ID's table is 1000+ID (RP_TABLE_BASE), selected by the rules
 * "fwmark RP_MARK_BASE|ID lookup T" (priority 999, every tenant: the mark
 * the programs give the tenant's packets at its ingress, that the kernel
 * reflects onto the gateway's answers and conntrack restores on NAT
 * replies), then "iif TUNNEL lookup T" and "iif CLOUD lookup T" (priority
 * 1000+ID), IPv4 and IPv6.  In front of them, the uplink and lo go to the
 * main table (priority 998, unmarked packets only).  The tenant's own
 * addresses are added without their prefix route (netlink_route.c): the
 * main table, which routes what comes from the uplink, holds no route into
 * a tenant (docs/policy.md).  The table holds
 *   - the tenant's cloud_prefixes via the cloud attachment   (metric 100)
 *   - the subnets of its cloud_address and tunnel_address, via the
 *     attachment and the tunnel                               (metric 100)
 *   - every site's allowed_ips and tunnel_ip via the tunnel  (metric 100)
 *   - the shares offered to the tenant via the provider's cloud (metric 200),
 *     and in the provider's table the consumer's sites via the consumer's
 *     tunnel (the replies; metric 200);
 *   - egress = nat: the uplink's default route(s) copied from the main table
 *     (metric 100);
 *   - "unreachable default" (metric 10000) in every case;
 *   - "unreachable" for every site prefix that another route of the table
 *     also covers (the uplink's default of an egress = nat tenant, a cloud
 *     or shared prefix; metric 10000), so that a site's traffic never falls
 *     through to that route when the tunnel is gone.
 */
#ifndef REMPART_ROUTE_PLAN_H
#define REMPART_ROUTE_PLAN_H
#include <stddef.h>
#include "config/config.h"
#include "kernel/netlink.h"

/* The links the plan routes through, resolved by the caller (0: absent). */
struct net_ifindex {
	int uplink;
	const int *tunnel;	/* per tenant index: its tunnel_interface */
	const int *cloud;	/* per tenant index: CLOUD or CLOUD.VLAN */
	/* A tenant key rotation (docs/keys.md): per tenant index, its second
	 * tunnel wn-NAME (0: none), and per site whether the site is there
	 * (NULL: none is).  Either may be NULL. */
	const int *next;
	bool *const *moved;
};

/* The tunnel site S of tenant I is routed through. */
int net_plan_site_if(const struct net_ifindex *ix, size_t i, size_t s);

struct route_set {
	struct nl_route *v;
	size_t n, cap;
};

/* Append the routes of tenant index I's table to RS (duplicates of a share
 * or of a copied default are left out).  MAIN_V: the main table, whose
 * default routes through the uplink an egress = nat tenant copies.  0 or
 * -ENOMEM. */
int net_plan_routes(const struct rp_config *cfg, const struct net_ifindex *ix, size_t i,
		    const struct nl_route *main_v, size_t main_n, struct route_set *rs);

/* A policy rule the config wants, and whose it is (for messages). */
struct net_rule_want {
	struct nl_rule rule;
	int tenant;		/* tenant index; -1: the gateway's (uplink, lo) */
};

/* Every rule, in the order they are added: the gateway's (IPv4, then
 * IPv6; none without tenants), then each tenant's (per family: tunnel,
 * cloud, then the fwmark rule).  *out is the caller's to
 * free.  0 or -ENOMEM. */
int net_plan_rules(const struct rp_config *cfg, struct net_rule_want **out, size_t *n);
#endif
