// SPDX-License-Identifier: GPL-2.0
/* route_plan.c — the routes and rules the config wants; see route_plan.h.
 * No netlink here: only the config and the ifindexes the caller resolved. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include "net/net_priv.h"
#include "net/net_wg.h"
#include "net/route_plan.h"

static int rs_push(struct route_set *rs, const struct nl_route *r, bool dedupe)
{
	if (dedupe)
		for (size_t i = 0; i < rs->n; i++)
			if (nl_route_same(&rs->v[i], r))
				return 0;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct nl_route *v = realloc(rs->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		rs->v = v;
		rs->cap = cap;
	}
	rs->v[rs->n++] = *r;
	return 0;
}

static int push_prefix(struct route_set *rs, const struct rp_prefix *p, uint32_t table,
		       int oif, uint8_t type, uint32_t metric, bool dedupe)
{
	struct nl_route r = { .family = p->family, .dst_len = p->len, .type = type,
			      .oif = type == RTN_UNICAST ? oif : 0, .table = table, .metric = metric };
	struct rp_prefix m = *p;

	prefix_mask(&m);
	memcpy(r.dst, m.addr, 16);
	return rs_push(rs, &r, dedupe);
}

int net_plan_site_if(const struct net_ifindex *ix, size_t i, size_t s)
{
	if (ix->next && ix->next[i] && ix->moved && ix->moved[i] && ix->moved[i][s])
		return ix->next[i];
	return ix->tunnel[i];
}

static bool is_tunnel(const struct rp_config *cfg, const struct net_ifindex *ix, int ifindex)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		if ((ix->tunnel[i] && ix->tunnel[i] == ifindex) ||
		    (ix->next && ix->next[i] && ix->next[i] == ifindex))
			return true;
	return false;
}

static bool route_covers(const struct nl_route *outer, const struct nl_route *inner)
{
	struct rp_prefix p = { .family = inner->family, .len = outer->dst_len };

	if (outer->family != inner->family || outer->dst_len > inner->dst_len)
		return false;
	memcpy(p.addr, inner->dst, 16);
	prefix_mask(&p);
	return !memcmp(p.addr, outer->dst, 16);
}

/* A route through a tunnel (a site prefix) gets its own "unreachable"
 * fallback (metric RP_METRIC_UNREACH) when another unicast route of the
 * table, through some other interface, also covers it: the uplink's default
 * of an egress = nat tenant, a cloud or shared prefix.  With the tunnel gone
 * the packet then stops here instead of taking that route.  A prefix that
 * nothing else covers falls to the table's "unreachable default" already,
 * and one route fewer per site prefix is one netlink notification fewer on
 * every change (each one wakes every wireguard-go). */
static int push_site_fallbacks(const struct rp_config *cfg, const struct net_ifindex *ix,
			       struct route_set *rs)
{
	size_t n = rs->n;
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		const struct nl_route *r = &rs->v[i];
		bool covered = false;

		if (r->type != RTN_UNICAST || !is_tunnel(cfg, ix, r->oif))
			continue;
		for (size_t j = 0; j < n && !covered; j++)
			covered = rs->v[j].type == RTN_UNICAST && rs->v[j].oif != r->oif &&
				  route_covers(&rs->v[j], r);
		if (covered) {
			struct nl_route u = { .family = r->family, .dst_len = r->dst_len,
					      .type = RTN_UNREACHABLE, .table = r->table,
					      .metric = RP_METRIC_UNREACH };

			memcpy(u.dst, r->dst, 16);
			err = rs_push(rs, &u, true);
		}
	}
	return err;
}

int net_plan_routes(const struct rp_config *cfg, const struct net_ifindex *ix, size_t i,
		    const struct nl_route *main_v, size_t main_n, struct route_set *rs)
{
	const struct rp_tenant *t = &cfg->tenants[i];
	uint32_t table = RP_TABLE_BASE + t->id;
	int err = 0;

	for (size_t k = 0; k < t->cloud_prefixes.n && !err; k++)
		err = push_prefix(rs, &t->cloud_prefixes.v[k], table, ix->cloud[i], RTN_UNICAST,
				  RP_METRIC_ROUTE, false);
	/* The subnets of the tenant's own addresses: here only, never in the
	 * main table (the addresses are added without their prefix route), so
	 * that nothing from the uplink is routed into them (docs/policy.md). */
	for (size_t k = 0; k < t->cloud_address.n && !err; k++)
		err = push_prefix(rs, &t->cloud_address.v[k], table, ix->cloud[i], RTN_UNICAST,
				  RP_METRIC_ROUTE, true);
	for (size_t k = 0; k < t->tunnel_address.n && !err; k++)
		err = push_prefix(rs, &t->tunnel_address.v[k], table, ix->tunnel[i], RTN_UNICAST,
				  RP_METRIC_ROUTE, true);
	for (size_t s = 0; s < t->n_sites && !err; s++) {
		for (size_t k = 0; k < t->sites[s].allowed_ips.n && !err; k++)
			err = push_prefix(rs, &t->sites[s].allowed_ips.v[k], table,
					  net_plan_site_if(ix, i, s), RTN_UNICAST, RP_METRIC_ROUTE, false);
		for (size_t k = 0; k < t->sites[s].tunnel_ip.n && !err; k++)
			err = push_prefix(rs, &t->sites[s].tunnel_ip.v[k], table,
					  net_plan_site_if(ix, i, s), RTN_UNICAST, RP_METRIC_ROUTE, false);
	}
	/* Shares: offered to us by others (forward path), and ours offered to
	 * others (their sites, for the replies). */
	for (size_t p = 0; p < cfg->n_tenants && !err; p++) {
		const struct rp_tenant *o = &cfg->tenants[p];

		if (p == i)
			continue;
		for (size_t s = 0; s < o->n_shares && !err; s++) {
			if (!config_share_offered_to(&o->shares[s], i))
				continue;
			for (size_t k = 0; k < o->shares[s].to.n && !err; k++)
				err = push_prefix(rs, &o->shares[s].to.v[k], table, ix->cloud[p],
						  RTN_UNICAST, RP_METRIC_SHARED, true);
		}
		for (size_t s = 0; s < t->n_shares && !err; s++) {
			if (!config_share_offered_to(&t->shares[s], p))
				continue;
			for (size_t st = 0; st < o->n_sites && !err; st++) {
				for (size_t k = 0; k < o->sites[st].allowed_ips.n && !err; k++)
					err = push_prefix(rs, &o->sites[st].allowed_ips.v[k], table,
							  net_plan_site_if(ix, p, st), RTN_UNICAST,
							  RP_METRIC_SHARED, true);
				for (size_t k = 0; k < o->sites[st].tunnel_ip.n && !err; k++)
					err = push_prefix(rs, &o->sites[st].tunnel_ip.v[k], table,
							  net_plan_site_if(ix, p, st), RTN_UNICAST,
							  RP_METRIC_SHARED, true);
			}
		}
	}
	/* The way out. */
	for (int fam = 0; fam < 2 && !err; fam++) {
		uint8_t family = fam ? AF_INET6 : AF_INET;
		struct rp_prefix any = { .family = family };

		if (t->egress == RP_EGRESS_NAT && ix->uplink) {
			for (size_t k = 0; k < main_n && !err; k++) {
				struct nl_route r = main_v[k];

				if (r.family != family || r.dst_len || r.oif != ix->uplink ||
				    r.type != RTN_UNICAST)
					continue;
				r.table = table;
				r.metric = RP_METRIC_ROUTE;
				r.protocol = 0;
				err = rs_push(rs, &r, true);
			}
		}
		if (!err)
			err = push_prefix(rs, &any, table, 0, RTN_UNREACHABLE, RP_METRIC_UNREACH, false);
	}
	if (!err)
		err = push_site_fallbacks(cfg, ix, rs);
	return err;
}

int net_plan_rules(const struct rp_config *cfg, struct net_rule_want **out, size_t *n)
{
	/* at most 4 of the gateway's, and 8 per tenant (6, and 2 for a key rotation's second tunnel) */
	struct net_rule_want *v = calloc(4 + 8 * cfg->n_tenants, sizeof(*v));
	char name[IFNAMSIZ + 8];
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (!v)
		return -ENOMEM;
	/* Packets from the uplink without a NAT mark, the gateway's own output
	 * and the kernel's source validation (both with the loopback as input
	 * interface) match no tenant's rule: send them to the main table in
	 * front of the tenants' rules rather than after a walk through every
	 * one of them, which cost each WireGuard packet ~2 us with 100
	 * tenants.  "fwmark 0/RP_MARK_MASK": NAT-marked replies go on to
	 * their tenant's fwmark rule. */
	for (int fam = 0; fam < 2 && cfg->n_tenants; fam++) {
		struct nl_rule r = { .family = fam ? AF_INET6 : AF_INET,
				     .priority = RP_RULE_PRIO_GW, .table = RT_TABLE_MAIN,
				     .fwmask = RP_MARK_MASK };

		net_ifname_copy(r.iif, cfg->uplink);
		v[k++] = (struct net_rule_want){ .rule = r, .tenant = -1 };
		net_ifname_copy(r.iif, "lo");
		v[k++] = (struct net_rule_want){ .rule = r, .tenant = -1 };
	}
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		net_cloud_ifname(t, name, sizeof(name));
		for (int fam = 0; fam < 2; fam++) {
			struct nl_rule r = { .family = fam ? AF_INET6 : AF_INET,
					     .priority = RP_RULE_PRIO_BASE + t->id,
					     .table = RP_TABLE_BASE + t->id };

			net_ifname_copy(r.iif, t->tunnel_interface);
			v[k++] = (struct net_rule_want){ .rule = r, .tenant = (int)i };
			if (t->next_interface) {	/* a key rotation's second tunnel */
				net_ifname_copy(r.iif, t->next_interface);
				v[k++] = (struct net_rule_want){ .rule = r, .tenant = (int)i };
			}
			net_ifname_copy(r.iif, name);
			v[k++] = (struct net_rule_want){ .rule = r, .tenant = (int)i };
			/* the tenant's mark (set at its ingress, reflected onto the
			 * gateway's answers, restored on NAT replies): its table */
			r.iif[0] = 0;
			r.priority = RP_RULE_PRIO_MARK;
			r.fwmark = RP_MARK_BASE | t->id;
			r.fwmask = 0xffffffffu;
			v[k++] = (struct net_rule_want){ .rule = r, .tenant = (int)i };
		}
	}
	*out = v;
	*n = k;
	return 0;
}
