// SPDX-License-Identifier: GPL-2.0
/* audit_route_build.c — the routing model built from the dumped rules,
 * routes and interfaces (rt_build, audit_route.h), or refused.
 *
 * Each table is flattened once into sorted, disjoint ranges, each with the
 * route the kernel's longest-prefix lookup returns there: per prefix the
 * first route in metric order that is a reject, throw or local route or a
 * unicast route with a live next hop; a prefix with none falls back to the
 * shorter ones (net/ipv4/fib_trie.c fib_table_lookup, net/ipv6 fib6
 * backtracking).  audit_route.c walks the rules over the tables.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include "audit/audit_route_int.h"

const struct rt_dev *rt_dev_of(const struct rt_model *m, int ifindex)
{
	for (size_t i = 0; i < m->n_devs; i++)
		if (m->devs[i].ifindex == ifindex)
			return &m->devs[i];
	return NULL;
}

/* ---- tables ---- */

static struct rt_table *table_get(struct rt_model *m, int family, uint32_t id, bool create)
{
	for (size_t i = 0; i < m->n_tables; i++)
		if (m->tables[i].family == family && m->tables[i].id == id)
			return &m->tables[i];
	if (!create)
		return NULL;
	struct rt_table *p = realloc(m->tables, (m->n_tables + 1) * sizeof(*p));

	if (!p)
		return NULL;
	m->tables = p;
	memset(&p[m->n_tables], 0, sizeof(*p));
	p[m->n_tables].family = family;
	p[m->n_tables].id = id;
	return &p[m->n_tables++];
}

int rt_table_index(const struct rt_model *m, int family, uint32_t id)
{
	for (size_t i = 0; i < m->n_tables; i++)
		if (m->tables[i].family == family && m->tables[i].id == id)
			return (int)i;
	return -1;
}

/* A prefix with its routes (indexes into the input), before resolution. */
struct pfx {
	rp_u128 lo, hi;
	uint8_t len;
	const struct nl_fib_route **r;
	size_t n;
};

static int cmp_route_metric(const void *a, const void *b)
{
	const struct nl_fib_route *x = *(const struct nl_fib_route *const *)a;
	const struct nl_fib_route *y = *(const struct nl_fib_route *const *)b;

	if (x->metric != y->metric)
		return x->metric < y->metric ? -1 : 1;
	/* equal metrics: the order of the dump, the kernel's own (aliases
	 * appended after the first, e.g. two interfaces with addresses in the
	 * same subnet) */
	return x < y ? -1 : x > y;
}

/* The route the lookup takes at this prefix, or false when none is usable. */
static bool resolve(const struct rt_model *m, struct pfx *p, struct rt_res *out)
{
	qsort(p->r, p->n, sizeof(*p->r), cmp_route_metric);
	for (size_t i = 0; i < p->n; i++) {
		const struct nl_fib_route *r = p->r[i];

		memset(out, 0, sizeof(*out));
		out->type = r->type;
		out->plen = p->len;
		if (r->type != RTN_UNICAST)
			return true;
		for (unsigned k = 0; k < r->n_nh; k++) {
			const struct rt_dev *d = rt_dev_of(m, r->nh[k].oif);
			bool ign = d && (r->family == AF_INET ? d->ign_linkdown4 : d->ign_linkdown6);

			out->any_oif[out->n_any++] = r->nh[k].oif;
			if (r->nh[k].flags & RTNH_F_DEAD)
				continue;
			if ((r->nh[k].flags & RTNH_F_LINKDOWN) && ign)
				continue;
			out->oif[out->n_oif++] = r->nh[k].oif;
		}
		if (out->n_oif)
			return true;
	}
	return false;
}

static int cmp_pfx(const void *a, const void *b)
{
	const struct pfx *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->len < y->len ? -1 : x->len > y->len;	/* shorter (wider) first */
}

static int ent_push(struct rt_table *t, size_t *cap, rp_u128 lo, rp_u128 hi, int32_t res)
{
	if (t->n && t->e[t->n - 1].res == res && t->e[t->n - 1].hi + 1 == lo) {
		t->e[t->n - 1].hi = hi;
		return 0;
	}
	if (t->n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct rt_ent *p = realloc(t->e, c * sizeof(*p));

		if (!p)
			return -ENOMEM;
		t->e = p;
		*cap = c;
	}
	t->e[t->n++] = (struct rt_ent){ lo, hi, res };
	return 0;
}

/* Flatten a table's usable prefixes (laminar: nested or disjoint) into
 * disjoint runs, the innermost prefix winning. */
static int flatten(struct rt_table *t, struct pfx *p, size_t n, const int32_t *res)
{
	struct { rp_u128 hi; int32_t res; } stack[130];
	size_t depth = 0, cap = 0;
	rp_u128 cur = 0, max = an_max(t->family);
	bool done = false;
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		if (res[i] < 0)
			continue;
		while (depth && stack[depth - 1].hi < p[i].lo && !err) {
			if (cur <= stack[depth - 1].hi)
				err = ent_push(t, &cap, cur, stack[depth - 1].hi, stack[depth - 1].res);
			cur = stack[depth - 1].hi + 1;
			depth--;
		}
		if (!err && cur < p[i].lo)
			err = ent_push(t, &cap, cur, p[i].lo - 1, depth ? stack[depth - 1].res : -1);
		cur = p[i].lo;
		if (depth >= 130)
			return -EINVAL;
		stack[depth].hi = p[i].hi;
		stack[depth++].res = res[i];
	}
	while (depth && !err && !done) {
		if (cur <= stack[depth - 1].hi)
			err = ent_push(t, &cap, cur, stack[depth - 1].hi, stack[depth - 1].res);
		if (stack[depth - 1].hi == max)
			done = true;
		cur = stack[depth - 1].hi + 1;
		depth--;
	}
	if (!err && !done)
		err = ent_push(t, &cap, cur, max, -1);
	return err;
}

static int build_table(struct rt_model *m, struct rt_table *t, const struct rt_input *in)
{
	struct pfx *p = NULL;
	int32_t *res = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	for (size_t i = 0; i < in->n_routes; i++) {
		const struct nl_fib_route *r = &in->routes[i];
		rp_u128 lo, hi;
		size_t k;

		if (r->family != t->family || r->table != t->id)
			continue;
		/* IPv6's "no route" entry, when a dump shows it */
		if (r->family == AF_INET6 && r->type == RTN_UNREACHABLE && !r->dst_len &&
		    r->metric == 0xffffffffu && r->protocol == RTPROT_KERNEL)
			continue;
		an_range(r->family, r->dst, r->dst_len, &lo, &hi);
		for (k = 0; k < n; k++)
			if (p[k].lo == lo && p[k].len == r->dst_len)
				break;
		if (k == n) {
			if (n == cap) {
				struct pfx *q = realloc(p, (cap = cap ? cap * 2 : 64) * sizeof(*q));

				if (!q) {
					err = -ENOMEM;
					goto out;
				}
				p = q;
			}
			p[n++] = (struct pfx){ lo, hi, r->dst_len, NULL, 0 };
		}
		const struct nl_fib_route **rr = realloc(p[k].r, (p[k].n + 1) * sizeof(*rr));

		if (!rr) {
			err = -ENOMEM;
			goto out;
		}
		p[k].r = rr;
		rr[p[k].n++] = r;
	}
	qsort(p, n, sizeof(*p), cmp_pfx);
	res = calloc(n + 1, sizeof(*res));
	t->res = calloc(n + 1, sizeof(*t->res));
	if (!res || !t->res) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		res[i] = -1;
		if (resolve(m, &p[i], &t->res[t->n_res]))
			res[i] = (int32_t)t->n_res++;
	}
	err = flatten(t, p, n, res);
out:
	for (size_t i = 0; i < n; i++)
		free(p[i].r);
	free(p);
	free(res);
	return err;
}

/* ---- build ---- */

static int refuse(char *why, size_t len, const char *fmt, const char *what)
{
	snprintf(why, len, fmt, what);
	return -EOPNOTSUPP;
}

static void route_text(const struct nl_fib_route *r, char *buf, size_t len)
{
	char a[64];
	struct rp_addr ad = { .family = r->family };

	memcpy(ad.addr, r->dst, 16);
	addr_format(&ad, a, sizeof(a));
	snprintf(buf, len, "%s/%u table %u", a, r->dst_len, r->table);
}

static int check_route(const struct nl_fib_route *r, char *why, size_t len)
{
	char t[96];

	route_text(r, t, sizeof(t));
	if (r->nhid)
		return refuse(why, len, "route %s uses a nexthop object, which the audit does not model", t);
	if (r->encap)
		return refuse(why, len, "route %s encapsulates (lightweight tunnel, BPF or MPLS), which the audit "
			      "does not model", t);
	if (r->nh_truncated)
		return refuse(why, len, "route %s has more next hops than the audit reads", t);
	if (r->src_len)
		return refuse(why, len, "route %s is source-specific, which the audit does not model", t);
	if (r->tos)
		return refuse(why, len, "route %s selects on TOS, which the audit does not model", t);
	switch (r->type) {
	case RTN_UNICAST: case RTN_LOCAL: case RTN_BROADCAST: case RTN_ANYCAST: case RTN_MULTICAST:
	case RTN_BLACKHOLE: case RTN_UNREACHABLE: case RTN_PROHIBIT: case RTN_THROW:
		return 0;
	}
	return refuse(why, len, "route %s has a type the audit does not model", t);
}

static int check_rule(const struct nl_fib_rule *r, char *why, size_t len)
{
	char t[64];

	snprintf(t, sizeof(t), "%s rule priority %u", r->family == AF_INET ? "IPv4" : "IPv6", r->priority);
	if (r->tos || r->has_dscp)
		return refuse(why, len, "%s selects on TOS/DSCP/flow label, which the audit does not model", t);
	if (r->has_tun_id)
		return refuse(why, len, "%s selects on a tunnel id, which the audit does not model", t);
	if (r->l3mdev)
		return refuse(why, len, "%s is an l3mdev (VRF) rule, which the audit does not model", t);
	if (r->suppress_ifgroup != -1)
		return refuse(why, len, "%s suppresses by interface group, which the audit does not model", t);
	switch (r->action) {
	case FR_ACT_TO_TBL: case FR_ACT_GOTO: case FR_ACT_NOP: case FR_ACT_BLACKHOLE:
	case FR_ACT_UNREACHABLE: case FR_ACT_PROHIBIT:
		return 0;
	}
	return refuse(why, len, "%s has an action the audit does not model", t);
}

int rt_build(struct rt_model **out, const struct rt_input *in, char *why, size_t whylen)
{
	struct rt_model *m = calloc(1, sizeof(*m));
	int err = 0;

	if (!m)
		return -ENOMEM;
	if (in->mc_forwarding || in->bc_forwarding || in->route_localnet) {
		err = refuse(why, whylen, "%s is on, which the audit does not model",
			     in->mc_forwarding ? "multicast routing" :
			     in->bc_forwarding ? "directed broadcast forwarding" : "route_localnet");
		goto fail;
	}
	m->fwd6 = in->fwd6;
	m->devs = calloc(in->n_devs + 1, sizeof(*m->devs));
	if (!m->devs)
		goto nomem;
	memcpy(m->devs, in->devs, in->n_devs * sizeof(*m->devs));
	m->n_devs = in->n_devs;
	for (size_t i = 0; i < in->n_routes; i++) {
		const struct nl_fib_route *r = &in->routes[i];

		if ((err = check_route(r, why, whylen)))
			goto fail;
		if (!table_get(m, r->family, r->table, true))
			goto nomem;
		if (r->family == AF_INET && r->table == RT_TABLE_LOCAL && r->protocol != RTPROT_KERNEL)
			m->custom_local4 = true;
	}
	for (size_t i = 0; i < m->n_tables; i++)
		if ((err = build_table(m, &m->tables[i], in)))
			goto fail;
	for (size_t i = 0; i < in->n_rules; i++) {
		const struct nl_fib_rule *r = &in->rules[i];
		int f = rt_fi(r->family);
		struct rt_rule *v;

		if ((err = check_rule(r, why, whylen)))
			goto fail;
		v = realloc(m->rules[f], (m->n_rules[f] + 1) * sizeof(*v));
		if (!v)
			goto nomem;
		m->rules[f] = v;
		v = &v[m->n_rules[f]++];
		memset(v, 0, sizeof(*v));
		v->r = *r;
		an_range(r->family, r->src, r->src_len, &v->src_lo, &v->src_hi);
		an_range(r->family, r->dst, r->dst_len, &v->dst_lo, &v->dst_hi);
		v->table = rt_table_index(m, r->family, r->table);
		v->target = -1;
		v->iif_lo = r->iif[0] && !strcmp(r->iif, "lo");
		for (size_t k = 0; r->iif[0] && k < m->n_devs && !v->iif_index; k++)
			if (!strcmp(m->devs[k].name, r->iif))
				v->iif_index = m->devs[k].ifindex;
	}
	for (int f = 0; f < 2; f++)
		for (size_t i = 0; i < m->n_rules[f]; i++) {
			struct rt_rule *r = &m->rules[f][i];

			if (r->r.action != FR_ACT_GOTO)
				continue;
			for (size_t k = i + 1; k < m->n_rules[f] && r->target < 0; k++)
				if (m->rules[f][k].r.priority == r->r.goto_target)
					r->target = (int)k;
		}
	/* the defaults: local 0, main 32766, default 32767 (fib4_has_custom_rules) */
	m->custom_rules4 = m->n_rules[0] != 3;
	for (size_t i = 0; !m->custom_rules4 && i < 3; i++) {
		const struct nl_fib_rule *r = &m->rules[0][i].r;
		static const uint32_t prio[] = { 0, 32766, 32767 }, tab[] = { 255, 254, 253 };

		m->custom_rules4 = r->priority != prio[i] || r->table != tab[i] || r->iif[0] || r->oif[0] ||
				   r->has_mark || r->src_len || r->dst_len || r->action != FR_ACT_TO_TBL;
	}
	*out = m;
	return 0;
nomem:
	err = -ENOMEM;
	snprintf(why, whylen, "out of memory");
fail:
	rt_free(m);
	return err;
}

void rt_free(struct rt_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_tables; i++) {
		free(m->tables[i].e);
		free(m->tables[i].res);
	}
	free(m->tables);
	free(m->rules[0]);
	free(m->rules[1]);
	free(m->devs);
	free(m);
}

/* ---- the gateway's own addresses ---- */

int rt_push_cut(rp_u128 **v, size_t *n, size_t *cap, rp_u128 x)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		rp_u128 *p = realloc(*v, c * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = x;
	return 0;
}

int rt_cmp_u128(const void *a, const void *b)
{
	rp_u128 x = *(const rp_u128 *)a, y = *(const rp_u128 *)b;

	return x < y ? -1 : x > y;
}

int rt_local_runs(const struct rt_model *m, int family, struct dpr_run **v, size_t *n)
{
	rp_u128 *cuts = NULL;
	size_t nc = 0, cap = 0;
	int err = rt_push_cut(&cuts, &nc, &cap, 0);

	for (size_t t = 0; t < m->n_tables && !err; t++) {
		const struct rt_table *tb = &m->tables[t];

		if (tb->family != family)
			continue;
		for (size_t e = 0; e < tb->n && !err; e++) {
			uint8_t ty = tb->e[e].res >= 0 ? tb->res[tb->e[e].res].type : 0;

			if (ty != RTN_LOCAL && ty != RTN_BROADCAST && ty != RTN_ANYCAST)
				continue;
			err = rt_push_cut(&cuts, &nc, &cap, tb->e[e].lo);
			if (!err && tb->e[e].hi < an_max(family))
				err = rt_push_cut(&cuts, &nc, &cap, tb->e[e].hi + 1);
		}
	}
	if (err) {
		free(cuts);
		return err;
	}
	qsort(cuts, nc, sizeof(*cuts), rt_cmp_u128);
	*v = calloc(nc + 1, sizeof(**v));
	if (!*v) {
		free(cuts);
		return -ENOMEM;
	}
	*n = 0;
	for (size_t i = 0; i < nc; i++) {
		rp_u128 lo = cuts[i], hi;
		uint32_t local = 0;

		if (i + 1 < nc && cuts[i + 1] == lo)
			continue;
		hi = i + 1 < nc ? cuts[i + 1] - 1 : an_max(family);
		/* local in any table (a class boundary is all that matters) */
		for (size_t t = 0; t < m->n_tables && !local; t++) {
			const struct rt_table *tb = &m->tables[t];

			for (size_t e = 0; tb->family == family && e < tb->n && !local; e++)
				if (tb->e[e].lo <= lo && lo <= tb->e[e].hi && tb->e[e].res >= 0) {
					uint8_t ty = tb->res[tb->e[e].res].type;

					local = ty == RTN_LOCAL || ty == RTN_BROADCAST || ty == RTN_ANYCAST;
				}
		}
		(*v)[(*n)++] = (struct dpr_run){ lo, hi, local };
	}
	free(cuts);
	return 0;
}
