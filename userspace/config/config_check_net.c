// SPDX-License-Identifier: GPL-2.0
/* config_check_net.c — checks of what the configuration makes of the
 * network, across tenants (after config_check has resolved the shares):
 *
 *  - link names: a VLAN attachment's link is named CLOUD.VLAN (eth1 + vlan
 *    110 = eth1.110); rempart creates and deletes it, so no other tenant
 *    may name it as its cloud or tunnel interface, nor may it be the uplink;
 *  - share replies: a provider's routing table routes its consumers' sites
 *    by destination, through each consumer's tunnel (the answers of the
 *    share).  A consumer's site prefix that overlaps one of the provider's
 *    own prefixes (its cloud, its sites, a share offered to it), or a site
 *    of another consumer of the same provider, would take the more specific
 *    route: the provider's own traffic into the consumer's tunnel, or one
 *    consumer's answers into another's tunnel.  Refused, naming both
 *    tenants, the share and the prefixes (docs/config.md "Checks across
 *    files").
 *
 * The overlap check sorts the prefixes of one provider's table and walks
 * them with a stack of the prefixes that contain the current one: O(n log n)
 * for 100 tenants of 100 sites offered a share by `tenants = *`. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config/config_internal.h"

struct ncheck {
	const struct rp_config *cfg;
	struct diag *d;
	unsigned *errors;
};

__attribute__((format(printf, 5, 6)))
static void nerr(struct ncheck *c, const struct rp_tenant *t, const char *section,
		 const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_verr(c->d, config_rel(c->cfg, t->file), section, key, fmt, ap);
	va_end(ap);
	(*c->errors)++;
}

static bool same_name(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* ---- link names ---------------------------------------------------------- */

static void check_vlan_names(struct ncheck *c)
{
	const struct rp_config *cfg = c->cfg;
	char v[64];

	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		if (!t->vlan || !t->cloud_interface)
			continue;
		snprintf(v, sizeof(v), "%s.%u", t->cloud_interface, t->vlan);
		if (same_name(cfg->uplink, v))
			nerr(c, t, "tenant", "vlan",
			     "%u on '%s' makes the VLAN link '%s', which is the uplink", t->vlan,
			     t->cloud_interface, v);
		if (same_name(t->tunnel_interface, v))
			nerr(c, t, "tenant", "tunnel_interface",
			     "'%s' is also the tenant's own VLAN link (cloud_interface %s, vlan %u)", v,
			     t->cloud_interface, t->vlan);
		for (size_t j = 0; j < cfg->n_tenants; j++) {
			const struct rp_tenant *u = &cfg->tenants[j];

			if (j == i)
				continue;
			if (same_name(u->cloud_interface, v))
				nerr(c, u, "tenant", "cloud_interface",
				     "'%s' is the VLAN link that rempart makes for tenant '%s' "
				     "(%s: cloud_interface %s, vlan %u)", v, t->name,
				     config_rel(cfg, t->file), t->cloud_interface, t->vlan);
			if (same_name(u->tunnel_interface, v))
				nerr(c, u, "tenant", "tunnel_interface",
				     "'%s' is the VLAN link that rempart makes for tenant '%s' "
				     "(%s: cloud_interface %s, vlan %u)", v, t->name,
				     config_rel(cfg, t->file), t->cloud_interface, t->vlan);
		}
	}
}

/* ---- share replies --------------------------------------------------------- */

/* A prefix of a provider's table: its own (owner -1: what = the key or
 * section that names it) or a consumer's site (owner = consumer index). */
struct rent {
	struct rp_prefix p;	/* host bits cleared */
	int owner;
	char what[96];		/* "cloud_prefixes", "site 'NAME'", "share 'NAME' of tenant 'T'" */
};

static bool offered(const struct rp_share *s, size_t consumer)
{
	if (s->all_tenants)
		return true;
	for (size_t k = 0; k < s->n_tenants; k++)
		if (s->tenant_idx && s->tenant_idx[k] == (int)consumer)
			return true;
	return false;
}

/* The first share of P offered to C, NULL if none. */
static const struct rp_share *share_to(const struct rp_tenant *p, size_t c)
{
	for (size_t s = 0; s < p->n_shares; s++)
		if (offered(&p->shares[s], c))
			return &p->shares[s];
	return NULL;
}

static int by_prefix(const void *x, const void *y)
{
	const struct rent *a = x, *b = y;
	int r;

	if (a->p.family != b->p.family)
		return (int)a->p.family - (int)b->p.family;
	r = memcmp(a->p.addr, b->p.addr, 16);
	if (r)
		return r;
	return (int)a->p.len - (int)b->p.len;
}

static bool contains(const struct rp_prefix *outer, const struct rp_prefix *inner)
{
	return outer->len <= inner->len && prefix_overlap(outer, inner);
}

static void push(struct rent **v, size_t *n, const struct rp_prefix *p, int owner, const char *what)
{
	struct rent *e;

	*v = xgrow(*v, *n, sizeof(**v));
	e = &(*v)[(*n)++];
	e->p = *p;
	prefix_mask(&e->p);
	e->owner = owner;
	snprintf(e->what, sizeof(e->what), "%s", what);
}

static void push_list(struct rent **v, size_t *n, const struct rp_prefix_list *l, int owner,
		      const char *what)
{
	for (size_t k = 0; k < l->n; k++)
		push(v, n, &l->v[k], owner, what);
}

/* One error for the pair (outer contains inner, different owners, at
 * least one a consumer), on the provider's share section. */
static void report(struct ncheck *c, size_t pi, const struct rent *outer, const struct rent *inner)
{
	const struct rp_config *cfg = c->cfg;
	const struct rp_tenant *p = &cfg->tenants[pi];
	const struct rent *cons = outer->owner >= 0 ? outer : inner;
	const struct rent *other = cons == outer ? inner : outer;
	const struct rp_tenant *ct = &cfg->tenants[cons->owner];
	const struct rp_share *sh = share_to(p, (size_t)cons->owner);
	char sec[64], a[64], b[64];

	prefix_format(&cons->p, a, sizeof(a));
	prefix_format(&other->p, b, sizeof(b));
	snprintf(sec, sizeof(sec), "share %s", sh ? sh->name : "?");
	if (other->owner < 0 && cons->p.len > other->p.len) {
		nerr(c, p, sec, "tenants",
		     "the share's replies to tenant '%s' are routed to its sites by destination, "
		     "and its %s allowed_ips '%s' lies inside %s's own %s '%s': %s's own traffic "
		     "to '%s' would go into %s's tunnel", ct->name, cons->what, a, p->name,
		     other->what, b, p->name, a, ct->name);
		return;
	}
	if (other->owner < 0) {
		nerr(c, p, sec, "tenants",
		     "the share's replies to tenant '%s' are routed to its sites by destination, "
		     "and its %s allowed_ips '%s' overlaps %s's own %s '%s': the replies to %s's "
		     "hosts in '%s' would go to %s's own network instead", ct->name, cons->what, a,
		     p->name, other->what, b, ct->name, b, p->name);
		return;
	}
	nerr(c, p, sec, "tenants",
	     "tenants '%s' and '%s' both get this tenant's replies, routed to their sites by "
	     "destination, and %s's %s allowed_ips '%s' overlaps %s's %s allowed_ips '%s': "
	     "the replies to one would go into the other's tunnel", ct->name,
	     cfg->tenants[other->owner].name, ct->name, cons->what, a,
	     cfg->tenants[other->owner].name, other->what, b);
}

static void check_provider(struct ncheck *c, size_t pi)
{
	const struct rp_config *cfg = c->cfg;
	const struct rp_tenant *p = &cfg->tenants[pi];
	struct rent *v = NULL, **stack = NULL;
	size_t n = 0, depth = 0;
	bool any = false;
	char what[96];

	for (size_t ci = 0; ci < cfg->n_tenants; ci++) {
		const struct rp_tenant *ct = &cfg->tenants[ci];

		if (ci == pi || !share_to(p, ci))
			continue;
		any = true;
		for (size_t s = 0; s < ct->n_sites; s++) {
			snprintf(what, sizeof(what), "site '%s'", ct->sites[s].name);
			push_list(&v, &n, &ct->sites[s].allowed_ips, (int)ci, what);
		}
	}
	if (!any)
		return;
	push_list(&v, &n, &p->cloud_prefixes, -1, "cloud_prefixes");
	for (size_t s = 0; s < p->n_sites; s++) {
		snprintf(what, sizeof(what), "site '%s' allowed_ips", p->sites[s].name);
		push_list(&v, &n, &p->sites[s].allowed_ips, -1, what);
	}
	for (size_t qi = 0; qi < cfg->n_tenants; qi++) {
		const struct rp_tenant *q = &cfg->tenants[qi];

		if (qi == pi)
			continue;
		for (size_t s = 0; s < q->n_shares; s++)
			if (offered(&q->shares[s], pi)) {
				snprintf(what, sizeof(what), "share '%s' of tenant '%s'",
					 q->shares[s].name, q->name);
				push_list(&v, &n, &q->shares[s].to, -1, what);
			}
	}
	qsort(v, n, sizeof(*v), by_prefix);
	stack = xcalloc(n + 1, sizeof(*stack));
	for (size_t i = 0; i < n; i++) {
		while (depth && !contains(&stack[depth - 1]->p, &v[i].p))
			depth--;
		for (size_t k = 0; k < depth; k++) {
			const struct rent *o = stack[k];

			if (o->owner == v[i].owner || (o->owner < 0 && v[i].owner < 0))
				continue;
			report(c, pi, o, &v[i]);
		}
		stack[depth++] = &v[i];
	}
	free(stack);
	free(v);
}

void config_check_net(const struct rp_config *cfg, struct diag *d, unsigned *errors)
{
	struct ncheck c = { .cfg = cfg, .d = d, .errors = errors };

	check_vlan_names(&c);
	for (size_t p = 0; p < cfg->n_tenants; p++)
		if (cfg->tenants[p].n_shares)
			check_provider(&c, p);
}
