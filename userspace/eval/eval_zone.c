// SPDX-License-Identifier: GPL-2.0
/* eval_zone.c — zones, sites and intra rules for the reference evaluator;
 * see eval_zone.h and docs/policy.md.  Linear scans over one tenant's
 * prefixes: the reference favours being obviously right. */
#include <netinet/in.h>
#include <string.h>
#include "eval/eval_zone.h"

static int host_len(const struct rp_addr *a)
{
	return a->family == AF_INET ? 32 : 128;
}

/* a is the address part of one of the prefixes of l (the gateway's own). */
static bool is_host_of(const struct rp_prefix_list *l, const struct rp_addr *a)
{
	size_t n = a->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].family == a->family && !memcmp(l->v[i].addr, a->addr, n))
			return true;
	return false;
}

static bool share_lists(const struct rp_share *sh, int t)
{
	if (sh->all_tenants)
		return true;
	for (size_t i = 0; i < sh->n_tenants; i++)
		if (sh->tenant_idx && sh->tenant_idx[i] == t)
			return true;
	return false;
}

/* A site's addresses: its allowed_ips (LANs) and its own tunnel_ip. */
static int site_match(const struct rp_site *s, const struct rp_addr *a)
{
	int lan = prefix_list_longest_match(&s->allowed_ips, a);
	int tun = prefix_list_longest_match(&s->tunnel_ip, a);

	return lan > tun ? lan : tun;
}

const struct rp_site *site_of(const struct rp_tenant *T, const struct rp_addr *a)
{
	const struct rp_site *best = NULL;
	int best_len = -1;

	for (size_t i = 0; i < T->n_sites; i++) {
		int len = site_match(&T->sites[i], a);

		if (len > best_len) {
			best_len = len;
			best = &T->sites[i];
		}
	}
	return best;
}

void zone_of(const struct rp_config *cfg, int t, const struct rp_addr *a, struct zone *z)
{
	const struct rp_tenant *T = &cfg->tenants[t];
	int len;

	memset(z, 0, sizeof(*z));
	z->len = -1;
	/* Strict ">" everywhere: at equal length the earlier kind wins. */
	for (size_t i = 0; i < T->n_sites; i++) {
		len = site_match(&T->sites[i], a);
		if (len > z->len) {
			z->kind = ZONE_SITE;
			z->len = len;
			z->site = &T->sites[i];
		}
	}
	len = prefix_list_longest_match(&T->cloud_prefixes, a);
	if (len > z->len) {
		z->kind = ZONE_CLOUD;
		z->len = len;
		z->site = NULL;
	}
	if (host_len(a) > z->len &&
	    (is_host_of(&T->tunnel_address, a) || is_host_of(&T->cloud_address, a))) {
		z->kind = ZONE_GATEWAY;
		z->len = host_len(a);
		z->site = NULL;
	}
	for (size_t u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *U = &cfg->tenants[u];

		if ((int)u == t)
			continue;
		for (size_t s = 0; s < U->n_shares; s++) {
			const struct rp_share *sh = &U->shares[s];

			if (!share_lists(sh, t))
				continue;
			len = prefix_list_longest_match(&sh->to, a);
			if (len > z->len) {
				z->kind = ZONE_SHARE;
				z->len = len;
				z->site = NULL;
				z->owner = (int)u;
				z->share = sh;
			}
		}
	}
}

bool in_other_tenants(const struct rp_config *cfg, int t, const struct rp_addr *a)
{
	for (size_t u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *U = &cfg->tenants[u];

		if ((int)u == t)
			continue;
		if (site_of(U, a) || prefix_list_longest_match(&U->cloud_prefixes, a) >= 0 ||
		    is_host_of(&U->tunnel_address, a) || is_host_of(&U->cloud_address, a))
			return true;
	}
	return false;
}

bool proto_ports_match(enum rp_proto proto, const struct rp_port_list *ports,
		       const struct rp_packet *p)
{
	switch (proto) {
	case RP_PROTO_ANY:
		break;
	case RP_PROTO_TCP:
		if (p->proto != IPPROTO_TCP)
			return false;
		break;
	case RP_PROTO_UDP:
		if (p->proto != IPPROTO_UDP)
			return false;
		break;
	case RP_PROTO_ICMP:
		if (p->proto != IPPROTO_ICMP && p->proto != IPPROTO_ICMPV6)
			return false;
		break;
	}
	if (!ports->n)
		return true;
	if ((p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) || !p->l4_present)
		return false;
	return port_list_contains(ports, p->dport);
}

void judge_intra(const struct rp_tenant *T, const struct rp_packet *p, struct eval_result *r)
{
	const struct rp_rule *best = NULL;
	int best_len = -1;

	for (size_t i = 0; i < T->n_rules; i++) {
		const struct rp_rule *rule = &T->rules[i];
		int len;

		if (!proto_ports_match(rule->proto, &rule->ports, p) ||
		    prefix_list_longest_match(&rule->from, &p->src) < 0)
			continue;
		len = prefix_list_longest_match(&rule->to, &p->dst);
		if (len > best_len) {	/* ">": the first in file order wins a tie */
			best_len = len;
			best = rule;
		}
	}
	if (best) {
		r->rule = best->name;
		r->verdict = best->allow ? RP_ALLOW : RP_DROP;
		r->reason = best->allow ? RP_R_ALLOWED : RP_R_NO_RULE;
		r->why = best->allow ? "between the tenant's own networks; the most specific "
				       "matching rule allows it"
				     : "between the tenant's own networks; the most specific "
				       "matching rule denies it";
		return;
	}
	r->verdict = T->intra_allow ? RP_ALLOW : RP_DROP;
	r->reason = T->intra_allow ? RP_R_ALLOWED : RP_R_NO_RULE;
	r->why = T->intra_allow ? "between the tenant's own networks, no rule matches, intra = allow"
				: "between the tenant's own networks, no rule matches, intra = deny";
}
