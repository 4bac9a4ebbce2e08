// SPDX-License-Identifier: GPL-2.0
/* policy_rules.c — rule and share port tables: for each (source class,
 * destination class) pair that shares a rule, the first matching rule per
 * protocol class and destination-port segment. */
#include "policy/policy_int.h"

int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool cand_pcls(const struct cand *c, int pcls)
{
	bool ports = c->ports->n > 0;

	switch (pcls) {
	case RP_PC_TCP: return c->proto == RP_PROTO_ANY || c->proto == RP_PROTO_TCP;
	case RP_PC_UDP: return c->proto == RP_PROTO_ANY || c->proto == RP_PROTO_UDP;
	case RP_PC_ICMP: return !ports && (c->proto == RP_PROTO_ANY || c->proto == RP_PROTO_ICMP);
	default: return !ports && c->proto == RP_PROTO_ANY;
	}
}

static bool cand_covers(const struct cand *c, uint32_t port)
{
	if (!c->ports->n)
		return true;
	for (size_t i = 0; i < c->ports->n; i++)
		if (port >= c->ports->v[i].lo && port <= c->ports->v[i].hi)
			return true;
	return false;
}

/* Segments of the first-match table for pcls; *nseg 0 when nothing matches. */
static int build_segs(struct tctx *x, const struct cand *cs, size_t n, int pcls,
		      struct rp_seg *seg, size_t *nseg, const char *what)
{
	uint32_t *b = NULL;
	size_t nb = 0, cap = 1, ns = 0, last = n;
	bool any = false;
	int err = 0;

	*nseg = 0;
	for (size_t i = 0; i < n; i++) {
		if (!cand_pcls(&cs[i], pcls))
			continue;
		cap += 2 * cs[i].ports->n;
		if (!cs[i].ports->n) {
			last = i + 1;
			break;
		}
	}
	if (pcls == RP_PC_ICMP || pcls == RP_PC_OTHER) {
		for (size_t i = 0; i < last; i++)
			if (cand_pcls(&cs[i], pcls)) {
				seg[0] = (struct rp_seg){ .lo = 0, .act = cs[i].act, .rule = cs[i].rule };
				*nseg = 1;
				break;
			}
		return 0;
	}
	b = malloc(cap * sizeof(*b));
	if (!b)
		return -ENOMEM;
	b[nb++] = 0;
	for (size_t i = 0; i < last; i++) {
		if (!cand_pcls(&cs[i], pcls))
			continue;
		for (size_t k = 0; k < cs[i].ports->n; k++) {
			b[nb++] = cs[i].ports->v[k].lo;
			if (cs[i].ports->v[k].hi < 65535)
				b[nb++] = cs[i].ports->v[k].hi + 1;
		}
	}
	qsort(b, nb, sizeof(*b), cmp_u32);
	for (size_t i = 0; i < nb; i++) {
		struct rp_seg s = { .lo = b[i] };

		if (i && b[i] == b[i - 1])
			continue;
		for (size_t k = 0; k < last; k++) {
			x->work++;
			if (cand_pcls(&cs[k], pcls) && cand_covers(&cs[k], b[i])) {
				s.act = cs[k].act;
				s.rule = cs[k].rule;
				break;
			}
		}
		if (s.act)
			any = true;
		if (ns && seg[ns - 1].act == s.act && seg[ns - 1].rule == s.rule)
			continue;
		if (ns == RP_SEGS_MAX) {
			diag_add(x->d, "%s: more than %d distinct port ranges for one source/destination pair",
				 what, RP_SEGS_MAX);
			err = -E2BIG;
			goto out;
		}
		seg[ns++] = s;
	}
	if (any)
		*nseg = ns;
out:
	free(b);
	return err;
}

int add_table(struct tctx *x, int kind, uint16_t tenant, uint32_t sc, uint32_t dc,
		     const struct cand *cs, size_t n, const char *what)
{
	struct rp_policy *o = x->out;
	struct rp_seg seg[RP_SEGS_MAX];

	for (int pc = 0; pc < RP_PC__COUNT; pc++) {
		struct pol_rule *r;
		size_t ns;
		int err = build_segs(x, cs, n, pc, seg, &ns, what);

		if (err)
			return err;
		if (!ns)
			continue;
		if (GROW(o->rules, o->n_rules, o->cap_rules))
			return -ENOMEM;
		while (o->n_segs + ns > o->cap_segs) {
			size_t nc = o->cap_segs ? o->cap_segs * 2 : 1024;
			void *p = realloc(o->segs, nc * sizeof(*o->segs));

			if (!p)
				return -ENOMEM;
			o->segs = p;
			o->cap_segs = nc;
		}
		r = &o->rules[o->n_rules++];
		memset(r, 0, sizeof(*r));
		r->k.slot = o->slot;
		r->k.kind = kind;
		r->k.pcls = pc;
		r->k.tenant = tenant;
		r->k.src_class = sc;
		r->k.dst_class = dc;
		r->n = ns;
		r->off = o->n_segs;
		memcpy(o->segs + o->n_segs, seg, ns * sizeof(*seg));
		o->n_segs += ns;
	}
	return 0;
}

static bool set_has(const uint32_t *set, size_t n, uint32_t g)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (set[mid] == g)
			return true;
		if (set[mid] < g)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Every (source class, destination class) pair sharing a rule. */
int build_pairs(struct tctx *x)
{
	const struct rp_tenant *t = x->t;
	uint32_t **g_sc = NULL, *g_n = NULL, *stamp = NULL, *L = NULL;
	struct cand *cs = NULL;
	size_t Lcap = 0;
	char what[64];
	int err = 0;

	snprintf(what, sizeof(what), "tenant %s", t->name);
	g_sc = calloc(x->n_groups + 1, sizeof(*g_sc));
	g_n = calloc(x->n_groups + 1, sizeof(*g_n));
	stamp = calloc(x->n_sc + 1, sizeof(*stamp));
	cs = malloc((t->n_rules + 1) * sizeof(*cs));
	if (!g_sc || !g_n || !stamp || !cs) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t sc = 1; sc < x->n_sc; sc++)
		for (size_t k = 0; k < x->sc_n[sc]; k++) {
			uint32_t g = x->sc_set[sc][k];
			uint32_t *p = realloc(g_sc[g], (g_n[g] + 1) * sizeof(*p));

			if (!p) {
				err = -ENOMEM;
				goto out;
			}
			g_sc[g] = p;
			p[g_n[g]++] = sc;
		}
	for (size_t dc = 1; dc < x->n_dc; dc++) {
		size_t nL = 0;

		for (uint32_t c = dc; c; c = x->dc_parent[c]) {
			if (nL + x->dc_n[c] > Lcap) {
				size_t nc = (nL + x->dc_n[c]) * 2;
				uint32_t *p = realloc(L, nc * sizeof(*L));

				if (!p) {
					err = -ENOMEM;
					goto out;
				}
				L = p;
				Lcap = nc;
			}
			memcpy(L + nL, x->dc_rules[c], x->dc_n[c] * sizeof(*L));
			nL += x->dc_n[c];
		}
		for (size_t i = 0; i < nL; i++) {
			uint32_t g = x->rule_group[L[i]];

			for (size_t k = 0; k < g_n[g]; k++) {
				uint32_t sc = g_sc[g][k];
				size_t nc = 0;

				if (stamp[sc] == dc || x->sc_fam[sc] != x->dc_fam[dc])
					continue;
				stamp[sc] = dc;
				for (size_t j = 0; j < nL; j++) {
					const struct rp_rule *r = &t->rules[L[j]];

					x->work++;
					if (!set_has(x->sc_set[sc], x->sc_n[sc], x->rule_group[L[j]]))
						continue;
					cs[nc++] = (struct cand){ r->proto, &r->ports,
								  r->allow ? RP_ACT_ALLOW : RP_ACT_DENY,
								  x->rule_id[L[j]] };
					if (nc > t->n_rules)
						break;
				}
				err = add_table(x, RP_RK_RULES, x->tid, sc, dc, cs, nc, what);
				if (err)
					goto out;
				if (x->work > WORK_BUDGET) {
					diag_add(x->d, "%s: rules too entangled to compile (more than %llu steps)",
						 what, WORK_BUDGET);
					err = -E2BIG;
					goto out;
				}
			}
		}
	}
out:
	for (size_t g = 0; g_sc && g <= x->n_groups; g++)
		free(g_sc[g]);
	free(g_sc);
	free(g_n);
	free(stamp);
	free(L);
	free(cs);
	return err;
}

