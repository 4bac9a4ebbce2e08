/* net_priv.h — what the files of net/ share (not an API). */
#ifndef REMPART_NET_PRIV_H
#define REMPART_NET_PRIV_H
#include <stdbool.h>
#include <string.h>
#include <net/if.h>
#include "config/config.h"
#include "lib/diag.h"
#include "net/net.h"

/* Tables, rule priorities, metrics and marks of what rempart installs
 * (route_plan.h tells how they fit). */
#define RP_TABLE_BASE 1000		/* tenant table = 1000 + id */
#define RP_RULE_PRIO_BASE 1000		/* rule priority = 1000 + id */
#define RP_METRIC_ROUTE 100		/* a tenant's reachable routes */
#define RP_METRIC_SHARED 200		/* routes to another tenant's share / consumer */
#define RP_METRIC_UNREACH 10000		/* the unreachable fallbacks */
/* RP_MARK_BASE, RP_MARK_MASK: bpf/rempart_abi.h (the programs set them) */

/* The addresses the config gives one of tenant T's links, NAME the link's:
 * WHICH 0, its tunnel_address on its tunnel interface; 1, its cloud_address
 * on its cloud link (tenant.c). */
const struct rp_prefix_list *net_tenant_addrs(const struct rp_tenant *t, int which, char *name,
					      size_t len);
/* Does tenant index P offer one of its shares to another, C? */
bool net_share_offered(const struct rp_config *cfg, size_t p, size_t c);
/* Is tenant index c offered a share by another tenant (its cloud's
 * connections to it are NATed and routed back by mark)? */
bool nat_share_consumer(const struct rp_config *cfg, size_t c);
/* An interface name into a struct nl_rule / nl_link field. */
static inline void net_ifname_copy(char dst[IFNAMSIZ], const char *src)
{
	size_t n = strnlen(src, IFNAMSIZ - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

/* nat.c: the nftables table "inet rempart" (egress = nat: masquerade to the
 * uplink, per-tenant conntrack zones and marks).  *changed tells whether the
 * kernel was touched.  nat_down removes the table if it exists. */
#define RP_NFT_TABLE "rempart"
/* verify: ask nft whether the table is there even when the recorded
 * ruleset is unchanged (an nft run costs 10-30 ms). */
int nat_apply(const struct rp_config *cfg, bool verify, bool *changed, struct diag *d);
int nat_down(struct diag *d);
bool nat_present(void);
/* The ruleset text nat_apply would load ("" when no tenant has egress). */
char *nat_ruleset(const struct rp_config *cfg);
/* fwmark rules route marked replies before any iif rule */
#define RP_RULE_PRIO_MARK (RP_RULE_PRIO_BASE - 1)
#define RP_RULE_PRIO_GW (RP_RULE_PRIO_BASE - 2)	/* uplink and lo, unmarked: main */
#endif
