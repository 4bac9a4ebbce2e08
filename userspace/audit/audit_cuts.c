// SPDX-License-Identifier: GPL-2.0
/* audit_cuts.c — where the audit cuts the packet space (audit_walk.c):
 * groups of address ranges by key, covers walked together (the policy
 * tries, the geo database, the gateway's and local addresses), the packet
 * shapes and port cuts of the rule tables, and the declared shares, which
 * are the specification a delivery is checked against. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "audit/audit_walk.h"

void aw_groups_free(struct groups *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i].r);
	free(g->v);
	hmap_free(&g->idx);
	memset(g, 0, sizeof(*g));
}

int aw_group_add(struct groups *g, const uint32_t *key, rp_u128 lo, rp_u128 hi)
{
	bool added;
	uint32_t *slot = hmap_get_or_add(&g->idx, key, NKEY * sizeof(uint32_t), &added);
	struct group *gr;

	if (!slot)
		return -ENOMEM;
	if (added) {
		if (g->n == g->cap) {
			size_t cap = g->cap ? g->cap * 2 : 32;
			struct group *p = realloc(g->v, cap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			g->v = p;
			g->cap = cap;
		}
		memset(&g->v[g->n], 0, sizeof(g->v[g->n]));
		memcpy(g->v[g->n].key, key, NKEY * sizeof(uint32_t));
		*slot = (uint32_t)++g->n;
	}
	gr = &g->v[*slot - 1];
	if (gr->n && gr->r[gr->n - 1].hi + 1 == lo) {
		gr->r[gr->n - 1].hi = hi;
		return 0;
	}
	if (gr->n == gr->cap) {
		size_t cap = gr->cap ? gr->cap * 2 : 4;
		struct range *p = realloc(gr->r, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		gr->r = p;
		gr->cap = cap;
	}
	gr->r[gr->n++] = (struct range){ lo, hi };
	return 0;
}

/* ---- covers: sorted runs over the whole space, walked together ---- */



int aw_each_elem(const struct cover *c, size_t nc, rp_u128 lo, rp_u128 hi, elem_cb cb, void *arg)
{
	size_t idx[MAXCOV];
	rp_u128 cur = lo;
	int err;

	for (size_t k = 0; k < nc; k++)
		idx[k] = dpr_run_find(c[k].v, c[k].n, lo);
	for (;;) {
		uint32_t vals[MAXCOV] = { 0 };
		rp_u128 end = hi;

		for (size_t k = 0; k < nc; k++) {
			vals[k] = c[k].v[idx[k]].val;
			if (c[k].v[idx[k]].hi < end)
				end = c[k].v[idx[k]].hi;
		}
		err = cb(cur, end, vals, arg);
		if (err || end >= hi)
			return err;
		cur = end + 1;
		for (size_t k = 0; k < nc; k++)
			while (idx[k] + 1 < c[k].n && c[k].v[idx[k]].hi < cur)
				idx[k]++;
	}
}

const struct runs_cache *aw_trie(struct actx *a, unsigned tid, int family)
{
	struct runs_cache *c = &a->trie[family == AF_INET6][tid];

	if (!c->have) {
		if (dpr_trie_runs(&a->R, a->R.slot, tid, family, &c->v, &c->n)) {
			a->err = a->err ? a->err : -ENOMEM;
			return NULL;
		}
		c->have = true;
	}
	return c;
}

const struct runs_cache *aw_geo(struct actx *a, int family)
{
	struct runs_cache *c = &a->geo[family == AF_INET6];

	if (!c->have) {
		int err = dpr_geo_runs(&a->R, family, &c->v, &c->n);

		if (err == -ENOENT) {	/* no database: every address in no country */
			c->v = calloc(1, sizeof(*c->v));
			if (c->v) {
				c->v[0] = (struct dpr_run){ 0, an_max(family), RP_CC_NONE };
				c->n = 1;
				err = 0;
			}
		}
		if (err) {
			if (!a->err) {
				a->err = err;
				diag_add(a->d, "audit: the geo database in %s/%s cannot be read: %s",
					 RP_PIN_DIR, RP_PIN_GEO, strerror(-err));
			}
			return NULL;
		}
		c->have = true;
	}
	return c;
}

/* The uplink's addresses as the active slot's rp_global holds them:
 * uplink_in lets the gateway's own exceptions (management, listen ports,
 * DHCP) in only to them.  Runs over the whole space, val 1 on each. */
const struct runs_cache *aw_upaddr_runs(struct actx *a, int family)
{
	struct runs_cache *c = &a->upaddr[family == AF_INET6];
	struct rp_global_cfg g = { 0 };
	rp_u128 v[2 * RP_UPLINK_ADDRS];
	size_t n = 0, k = 0;

	if (c->have)
		return c;
	dpr_global(&a->R, a->R.slot, &g);
	for (unsigned i = 0; family == AF_INET && i < g.n_up4 && i < RP_UPLINK_ADDRS; i++)
		v[n++] = an_from_bytes(AF_INET, (const uint8_t *)&g.up4[i]);
	for (unsigned i = 0; family == AF_INET6 && i < g.n_up6 && i < RP_UPLINK_ADDRS; i++)
		v[n++] = an_from_bytes(AF_INET6, (const uint8_t *)g.up6[i]);
	for (size_t i = 1; i < n; i++)	/* sorted, unique */
		for (size_t j = i; j > 0 && v[j] < v[j - 1]; j--) {
			rp_u128 t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	c->v = calloc(2 * n + 1, sizeof(*c->v));
	if (!c->v) {
		a->err = a->err ? a->err : -ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		rp_u128 from = k ? c->v[k - 1].hi + 1 : 0;

		if (k && c->v[k - 1].val && c->v[k - 1].lo == v[i])
			continue;	/* a duplicate */
		if (v[i] > from)
			c->v[k++] = (struct dpr_run){ from, v[i] - 1, 0 };
		c->v[k++] = (struct dpr_run){ v[i], v[i], 1 };
	}
	if (!k || c->v[k - 1].hi < an_max(family)) {
		rp_u128 from = k ? c->v[k - 1].hi + 1 : 0;

		c->v[k++] = (struct dpr_run){ from, an_max(family), 0 };
	}
	c->n = k;
	c->have = true;
	return c;
}

const struct runs_cache *aw_local_runs(struct actx *a, int family)
{
	struct runs_cache *c = &a->local[family == AF_INET6];

	if (!c->have) {
		if (rt_local_runs(a->M, family, &c->v, &c->n)) {
			a->err = a->err ? a->err : -ENOMEM;
			return NULL;
		}
		c->have = true;
	}
	return c;
}

/* ---- shapes ---- */



/* The port a segment [lo, hi] is represented by: a well-known one inside
 * it when there is one (a packet a test can send to a real server). */
static uint16_t nice_port(uint32_t lo, uint32_t hi)
{
	static const uint16_t pref[] = { 443, 80, 22, 53, 5000, 123 };

	for (size_t i = 0; i < sizeof(pref) / sizeof(pref[0]); i++)
		if (pref[i] >= lo && pref[i] <= hi)
			return pref[i];
	return lo ? (uint16_t)lo : hi ? 1 : 0;
}


void aw_shapes_free(struct shapes *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void aw_ports_free(struct ports *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* Every shape is kept: the set grows (an allocation failure is remembered
 * in s->err, and the caller refuses to judge an incomplete set). */
void aw_shape_add(struct shapes *s, uint8_t proto, uint16_t sport, uint16_t dport, uint8_t type, uint8_t hop)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].proto == proto && s->v[i].sport == sport && s->v[i].dport == dport &&
		    s->v[i].type == type && s->v[i].hop == hop)
			return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct shape *v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			s->err = -ENOMEM;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (struct shape){ proto, sport, dport, type, hop };
}

bool aw_in_rshape(const struct rshape *rs, uint8_t proto, uint16_t sport, uint16_t dport, bool ported)
{
	if (rs->proto && rs->proto != proto)
		return false;
	if (!ported)
		return true;
	return dport >= rs->dlo && dport <= rs->dhi && sport >= rs->slo && sport <= rs->shi;
}


void aw_port_cut(struct ports *p, uint32_t x)
{
	if (x > 65535)
		return;
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i] == x)
			return;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		uint32_t *v = realloc(p->v, cap * sizeof(*v));

		if (!v) {
			p->err = -ENOMEM;
			return;
		}
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = x;
}

int aw_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The non-port shapes every class is asked about: the ICMP types the
 * programs treat apart (echo, errors, redirects, neighbour and router
 * discovery; hop limit 255 and 64), ICMP numbers of the other family, a
 * protocol without ports. */
void aw_shapes_fixed(struct shapes *s, int family, const struct rshape *rs)
{
	static const uint8_t t4[] = { 0, 3, 5, 8, 11, 12, 13 };
	static const uint8_t t6[] = { 1, 2, 3, 4, 128, 129, 133, 134, 135, 136, 137, 143 };

	if (family == AF_INET) {
		for (size_t i = 0; i < sizeof(t4); i++)
			if (aw_in_rshape(rs, IPPROTO_ICMP, 0, 0, false))
				aw_shape_add(s, IPPROTO_ICMP, 0, 0, t4[i], 64);
		if (aw_in_rshape(rs, IPPROTO_ICMPV6, 0, 0, false))
			aw_shape_add(s, IPPROTO_ICMPV6, 0, 0, 0, 64);
	} else {
		for (size_t i = 0; i < sizeof(t6); i++)
			for (int h = 0; h < 2; h++)
				if (aw_in_rshape(rs, IPPROTO_ICMPV6, 0, 0, false))
					aw_shape_add(s, IPPROTO_ICMPV6, 0, 0, t6[i], h ? 255 : 64);
		if (aw_in_rshape(rs, IPPROTO_ICMP, 0, 0, false))
			aw_shape_add(s, IPPROTO_ICMP, 0, 0, 0, 64);
	}
	if (aw_in_rshape(rs, IPPROTO_GRE, 0, 0, false))
		aw_shape_add(s, IPPROTO_GRE, 0, 0, 0, 64);
	if (rs->proto && rs->proto != IPPROTO_TCP && rs->proto != IPPROTO_UDP && rs->proto != IPPROTO_ICMP &&
	    rs->proto != IPPROTO_ICMPV6)
		aw_shape_add(s, rs->proto, 0, 0, 0, 64);
}

/* TCP and UDP at one representative port per segment of p (sorted). */
void aw_shapes_ported(struct shapes *s, struct ports *p, const struct rshape *rs, uint16_t sport)
{
	aw_port_cut(p, 0);
	aw_port_cut(p, rs->dlo);
	if (rs->dhi < 65535)
		aw_port_cut(p, rs->dhi + 1u);
	qsort(p->v, p->n, sizeof(uint32_t), aw_cmp_u32);
	if (sport < rs->slo || sport > rs->shi)
		sport = rs->slo ? rs->slo : 1;
	for (int pr = 0; pr < 2; pr++) {
		uint8_t proto = pr ? IPPROTO_UDP : IPPROTO_TCP;

		for (size_t i = 0; i < p->n; i++) {
			uint32_t lo = p->v[i], hi = i + 1 < p->n ? p->v[i + 1] - 1 : 65535;
			uint16_t port = nice_port(lo, hi);

			if (aw_in_rshape(rs, proto, sport, port, true))
				aw_shape_add(s, proto, sport, port, 0, 64);
		}
	}
	if (p->err && !s->err)
		s->err = p->err;
}

/* The segment starts of one port table (TCP and UDP) of the active slot,
 * read once. */
void aw_table_cuts(struct actx *a, int kind, uint16_t tenant, uint32_t sc, uint32_t dc, struct ports *p)
{
	uint32_t key[4] = { (uint32_t)kind, tenant, sc, dc };
	uint32_t *slot;
	bool added;
	struct tcut *t;

	slot = hmap_get_or_add(&a->tcuts, key, sizeof(key), &added);
	if (!slot) {
		p->err = -ENOMEM;
		return;
	}
	if (added) {
		struct tcut *v = realloc(a->tcut, (a->n_tcut + 1) * sizeof(*v));

		if (!v) {
			p->err = -ENOMEM;
			return;
		}
		a->tcut = v;
		t = &v[a->n_tcut];
		t->n = 0;
		for (int pc = RP_PC_TCP; pc <= RP_PC_UDP; pc++) {
			struct rp_rule_key k = { .slot = (uint8_t)a->R.slot, .kind = (uint8_t)kind, .pcls = (uint8_t)pc,
						 .tenant = tenant, .src_class = sc, .dst_class = dc };
			struct rp_rule_val rv;

			if (dpr_rule(&a->R, &k, &rv))
				continue;
			for (uint32_t i = 0; i < rv.n && i < RP_SEGS_MAX; i++)
				t->v[t->n++] = rv.seg[i].lo;
		}
		*slot = (uint32_t)++a->n_tcut;
	}
	t = &a->tcut[*slot - 1];
	for (size_t i = 0; i < t->n; i++)
		aw_port_cut(p, t->v[i]);
}

/* ---- declared shares (the specification) ---- */

static int cmp_u128c(const void *x, const void *y)
{
	rp_u128 a = *(const rp_u128 *)x, b = *(const rp_u128 *)y;

	return a < b ? -1 : a > b;
}

static bool offers_to(const struct rp_share *sh, int consumer)
{
	if (sh->all_tenants)
		return true;
	for (size_t k = 0; k < sh->n_tenants; k++)
		if (sh->tenant_idx && sh->tenant_idx[k] == consumer)
			return true;
	return false;
}

static bool share_proto(const struct rp_share *sh, uint8_t proto, uint16_t dport)
{
	bool ported = proto == IPPROTO_TCP || proto == IPPROTO_UDP;

	if (sh->ports.n && !ported)
		return false;
	switch (sh->proto) {
	case RP_PROTO_TCP: if (proto != IPPROTO_TCP) return false; break;
	case RP_PROTO_UDP: if (proto != IPPROTO_UDP) return false; break;
	case RP_PROTO_ICMP: if (proto != IPPROTO_ICMP && proto != IPPROTO_ICMPV6) return false; break;
	default: break;
	}
	return !ported || port_list_contains(&sh->ports, dport);
}

/* Does tenant b offer tenant a (indexes) this packet (delivered dst)? */
bool aw_share_allows(const struct rp_config *cfg, int b, int a, int family, rp_u128 dst, uint8_t proto,
			 uint16_t dport)
{
	struct rp_addr d;

	if (b < 0 || a < 0)
		return false;
	an_to_addr(family, dst, &d);
	for (size_t s = 0; s < cfg->tenants[b].n_shares; s++) {
		const struct rp_share *sh = &cfg->tenants[b].shares[s];

		if (!offers_to(sh, a) || !share_proto(sh, proto, dport))
			continue;
		for (size_t k = 0; k < sh->to.n; k++)
			if (sh->to.v[k].family == family && prefix_contains(&sh->to.v[k], &d))
				return true;
	}
	return false;
}

/* The shares b offers a as a cover of one family: a run between any two
 * consecutive edges of the share prefixes (val distinct per run). */
int aw_share_cover(const struct rp_config *cfg, int b, int a, int family, struct dpr_run **out, size_t *nout)
{
	rp_u128 *cuts;
	size_t nc = 0, max = 1;
	struct dpr_run *v;

	/* every share prefix cuts: one left out could let a class straddle
	 * a share's edge and be judged by a packet the share allows */
	for (size_t s = 0; b >= 0 && a >= 0 && s < cfg->tenants[b].n_shares; s++)
		max += 2 * cfg->tenants[b].shares[s].to.n;
	cuts = calloc(max, sizeof(*cuts));
	if (!cuts)
		return -ENOMEM;
	cuts[nc++] = 0;
	for (size_t s = 0; b >= 0 && a >= 0 && s < cfg->tenants[b].n_shares; s++) {
		const struct rp_share *sh = &cfg->tenants[b].shares[s];

		if (!offers_to(sh, a))
			continue;
		for (size_t k = 0; k < sh->to.n; k++) {
			rp_u128 lo, hi;

			if (sh->to.v[k].family != family)
				continue;
			an_prefix_range(&sh->to.v[k], &lo, &hi);
			cuts[nc++] = lo;
			if (hi < an_max(family))
				cuts[nc++] = hi + 1;
		}
	}
	qsort(cuts, nc, sizeof(*cuts), cmp_u128c);
	v = calloc(nc, sizeof(*v));
	if (!v) {
		free(cuts);
		return -ENOMEM;
	}
	*nout = 0;
	for (size_t i = 0; i < nc; i++) {
		if (i + 1 < nc && cuts[i + 1] == cuts[i])
			continue;
		v[*nout].lo = cuts[i];
		v[*nout].hi = i + 1 < nc ? cuts[i + 1] - 1 : an_max(family);
		v[*nout].val = (uint32_t)i;	/* distinct per piece: what matters is the cut */
		(*nout)++;
	}
	free(cuts);
	*out = v;
	return 0;
}
