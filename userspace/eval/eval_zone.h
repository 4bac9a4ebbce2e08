/* eval_zone.h — the pieces of the reference evaluator that look up
 * addresses: zones of a tenant (docs/policy.md "Zones of a tenant T"), other
 * tenants' networks, sites, and the intra rules.  Internal to eval*.c. */
#ifndef REMPART_EVAL_ZONE_H
#define REMPART_EVAL_ZONE_H
#include "eval/eval.h"

enum zone_kind { ZONE_NONE = 0, ZONE_SITE, ZONE_CLOUD, ZONE_GATEWAY, ZONE_SHARE };

struct zone {
	enum zone_kind kind;
	int len;			/* prefix length that matched, -1 for none */
	const struct rp_site *site;	/* ZONE_SITE */
	int owner;			/* ZONE_SHARE: index of the tenant offering it */
	const struct rp_share *share;	/* ZONE_SHARE */
};

/* The zone of a in tenant t (longest prefix, ties site > cloud > gateway >
 * share in config order). */
void zone_of(const struct rp_config *cfg, int t, const struct rp_addr *a, struct zone *z);
/* a is in a site, the cloud or a gateway address of a tenant other than t. */
bool in_other_tenants(const struct rp_config *cfg, int t, const struct rp_addr *a);
/* The site of T whose allowed_ips match a longest, NULL if none. */
const struct rp_site *site_of(const struct rp_tenant *T, const struct rp_addr *a);
/* A rule's or share's proto and ports against the packet. */
bool proto_ports_match(enum rp_proto proto, const struct rp_port_list *ports,
		       const struct rp_packet *p);
/* Step 2 of policy(): T's rules, then its intra default. */
void judge_intra(const struct rp_tenant *T, const struct rp_packet *p, struct eval_result *r);
#endif
