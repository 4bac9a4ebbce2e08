// SPDX-License-Identifier: GPL-2.0
/* audit_uplink.c — the pieces of the uplink's walk (audit_walk.c):
 * destinations that leave by one interface towards tenant b, for every
 * source class of the routing class — (t0 atom, country), and inside a
 * listen-port tenant's prefixes its atom too — and every shape uplink_in
 * tells apart (each listen port, DHCP, the management ports, the fixed
 * shapes).  One packet per class asked of the real program.
 *
 * The same pieces recur for every routing class of sources, so what does
 * not depend on the class is kept for the walk: the shapes of each
 * routing shape, the listen-port tenant of each shape, and, per
 * (destination class, shape), the source classes whose packet the program
 * drops (the verdict cache's answer, without its key). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "audit/audit_walk.h"

struct ugroups_ctx {
	struct groups *g;
	size_t rc;
	int err;
};

static int ubase_cb(rp_u128 lo, rp_u128 hi, const uint32_t *vals, void *arg)
{
	struct ugroups_ctx *c = arg;
	uint32_t key[NKEY] = { (uint32_t)c->rc, vals[0], vals[1], 0, 0, 0 };

	return c->err = aw_group_add(c->g, key, lo, hi);
}

/* The uplink's source classes of routing class rc: (t0 atom, country). */
static int uplink_base(struct walk *w)
{
	struct actx *a = w->a;
	const struct runs_cache *t0 = aw_trie(a, 0, w->family), *gc = aw_geo(a, w->family);
	struct cover c[2];
	struct ugroups_ctx ctx = { .g = &w->up_base, .rc = w->rc };
	int err;

	if (w->up_built && w->up_rc == w->rc)
		return 0;
	aw_groups_free(&w->up_base);
	free(w->bg_id);
	w->bg_id = NULL;
	for (size_t i = 0; i < w->n_upt_used; i++) {
		free(w->upt[w->upt_used[i]]);
		w->upt[w->upt_used[i]] = NULL;
	}
	w->n_upt_used = 0;
	if (!t0 || !gc)
		return a->err;
	c[0] = (struct cover){ t0->v, t0->n };
	c[1] = (struct cover){ gc->v, gc->n };
	err = aw_each_elem(c, 2, w->rtc[w->rc].lo, w->rtc[w->rc].hi, ubase_cb, &ctx);
	w->up_built = true;
	w->up_rc = w->rc;
	if (!err)
		err = ctx.err;
	/* each group's (t0 atom, country) as a small number, for the memo */
	if (!err && !(w->bg_id = calloc(w->up_base.n + 1, sizeof(*w->bg_id))))
		err = -ENOMEM;
	for (size_t i = 0; !err && i < w->up_base.n; i++) {
		uint32_t k[2] = { w->up_base.v[i].key[1], w->up_base.v[i].key[2] };
		bool added;
		uint32_t *slot = hmap_get_or_add(&w->skid, k, sizeof(k), &added);

		if (!slot) {
			err = -ENOMEM;
			break;
		}
		if (added)
			*slot = ++w->n_skid;
		w->bg_id[i] = *slot - 1;
	}
	if (err)
		w->up_built = false;
	return err;
}

/* The source of group bi of up_base outside listen-port tenant lt's
 * prefixes (point_with_atom, atom 0), kept for the routing class. */
static bool point_with_atom(const struct runs_cache *t, const struct range *r, size_t n, uint32_t want, rp_u128 *out);
static bool outside_point(struct walk *w, unsigned lt, const struct runs_cache *tt, size_t bi, rp_u128 *src,
			  int *errp)
{
	struct upt *u;

	if (!w->upt && !(w->upt = calloc(RP_TENANT_ID_MAX + 1, sizeof(*w->upt)))) {
		*errp = -ENOMEM;
		return false;
	}
	if (!w->upt_used && !(w->upt_used = calloc(RP_TENANT_ID_MAX + 1, sizeof(*w->upt_used)))) {
		*errp = -ENOMEM;
		return false;
	}
	if (lt > RP_TENANT_ID_MAX)
		return point_with_atom(tt, w->up_base.v[bi].r, w->up_base.v[bi].n, 0, src);
	if (!w->upt[lt]) {
		if (!(w->upt[lt] = calloc(w->up_base.n + 1, sizeof(struct upt)))) {
			*errp = -ENOMEM;
			return false;
		}
		w->upt_used[w->n_upt_used++] = (uint16_t)lt;
	}
	u = &w->upt[lt][bi];
	if (!u->state)
		u->state = point_with_atom(tt, w->up_base.v[bi].r, w->up_base.v[bi].n, 0, &u->src) ? 2 : 1;
	*src = u->src;
	return u->state == 2;
}

/* The shapes uplink_in tells apart, for the walk's routing shape: UDP to
 * each listen port (and its tenant), DHCP, TCP at the management ports'
 * boundaries, one port of neither, the fixed shapes. */
struct ushapes {
	struct shapes s;
	unsigned *lt;			/* by shape: the listen port's tenant, 0 */
};

static const struct ushapes *uplink_shapes(struct walk *w, int *errp)
{
	struct actx *a = w->a;
	size_t ri = (size_t)(w->rs - w->rshapes);
	struct ushapes *u;
	struct ports p = { .n = 0 };

	if (w->ush[ri])
		return w->ush[ri];
	u = calloc(1, sizeof(*u));
	if (!u) {
		*errp = -ENOMEM;
		return NULL;
	}
	w->ush[ri] = u;	/* freed with the walk (aw_uplink_free) */
	for (size_t i = 0; i < a->n_ports; i++)
		if (aw_in_rshape(w->rs, IPPROTO_UDP, 40000, a->ports[i].port, true))
			aw_shape_add(&u->s, IPPROTO_UDP, 40000, a->ports[i].port, 0, 64);
	if (w->family == AF_INET && aw_in_rshape(w->rs, IPPROTO_UDP, 67, 68, true))
		aw_shape_add(&u->s, IPPROTO_UDP, 67, 68, 0, 64);
	if (w->family == AF_INET6 && aw_in_rshape(w->rs, IPPROTO_UDP, 547, 546, true))
		aw_shape_add(&u->s, IPPROTO_UDP, 547, 546, 0, 64);
	for (uint32_t i = 0; i < a->glob.n_mgmt_ports && i < RP_MGMT_PORTS_MAX; i++) {
		aw_port_cut(&p, a->glob.mgmt_ports[i].lo);
		aw_port_cut(&p, a->glob.mgmt_ports[i].hi + 1u);
	}
	for (size_t k = 1; k < w->l4.n_dcuts; k++)
		aw_port_cut(&p, w->l4.dcuts[k]);
	aw_shapes_ported(&u->s, &p, w->rs, 40000);
	aw_shapes_fixed(&u->s, w->family, w->rs);
	aw_ports_free(&p);
	if ((*errp = aw_shapes_ok(w, &u->s)))
		return NULL;
	u->lt = calloc(u->s.n + 1, sizeof(*u->lt));
	if (!u->lt) {
		*errp = -ENOMEM;
		return NULL;
	}
	for (size_t k = 0; k < u->s.n; k++)
		u->lt[k] = u->s.v[k].proto == IPPROTO_UDP ? dpr_port_tenant(&a->R, a->R.slot, u->s.v[k].dport) : 0;
	return u;
}

/* The memo of (destination class di of kept groups dgi, shape k): the
 * (t0 atom, country) ids whose packet the program drops. */
static struct vmemo *vmemo_of(struct walk *w, size_t dgi, size_t n_dg, size_t di, size_t k, size_t ns, int *errp)
{
	size_t ri = (size_t)(w->rs - w->rshapes);
	struct vrow *row;

	if (dgi >= w->cap_dgmemo) {
		size_t cap = dgi + 64;
		struct vrow **v = realloc(w->dgmemo, cap * sizeof(*v));

		if (!v) {
			*errp = -ENOMEM;
			return NULL;
		}
		memset(v + w->cap_dgmemo, 0, (cap - w->cap_dgmemo) * sizeof(*v));
		w->dgmemo = v;
		w->cap_dgmemo = cap;
	}
	if (!w->dgmemo[dgi] && !(w->dgmemo[dgi] = calloc(n_dg * w->n_rshapes + 1, sizeof(struct vrow)))) {
		*errp = -ENOMEM;
		return NULL;
	}
	row = &w->dgmemo[dgi][di * w->n_rshapes + ri];
	if (!row->v) {
		if (!(row->v = calloc(ns + 1, sizeof(*row->v)))) {
			*errp = -ENOMEM;
			return NULL;
		}
		row->n = ns;
	}
	return &row->v[k];
}

static bool vmemo_dropped(const struct vmemo *m, uint32_t id)
{
	return id / 64 < m->nw && (m->bits[id / 64] >> (id % 64) & 1);
}

static int vmemo_drop(struct vmemo *m, uint32_t id)
{
	if (id / 64 >= m->nw) {
		uint32_t nw = id / 64 + 4;
		uint64_t *b = realloc(m->bits, nw * sizeof(*b));

		if (!b)
			return -ENOMEM;
		memset(b + m->nw, 0, (nw - m->nw) * sizeof(*b));
		m->bits = b;
		m->nw = nw;
	}
	m->bits[id / 64] |= 1ull << (id % 64);
	return 0;
}

void aw_uplink_free(struct walk *w)
{
	free(w->bg_id);
	hmap_free(&w->skid);
	for (size_t i = 0; w->upt && i < w->n_upt_used; i++)
		free(w->upt[w->upt_used[i]]);
	free(w->upt);
	free(w->upt_used);
	for (size_t i = 0; w->ush && i < w->n_rshapes; i++) {
		if (!w->ush[i])
			continue;
		aw_shapes_free(&w->ush[i]->s);
		free(w->ush[i]->lt);
		free(w->ush[i]);
	}
	free(w->ush);
	for (size_t i = 0; i < w->cap_dgmemo; i++) {
		if (!w->dgmemo[i])
			continue;
		for (size_t j = 0; i < w->n_dgv && j < w->dgv[i].n * w->n_rshapes; j++) {
			struct vrow *row = &w->dgmemo[i][j];

			for (size_t k = 0; row->v && k < row->n; k++)
				free(row->v[k].bits);
			free(row->v);
		}
		free(w->dgmemo[i]);
	}
	free(w->dgmemo);
}

/* The uplink's source classes inside run i of the listen-port tenant lt's
 * trie (atom val), met by the routing class over [x, y]: (t0 atom,
 * country), keyed by the tenant's atom.  The same for every piece, every
 * destination class and every shape of the routing class: built once per
 * routing class. */
static const struct groups *inner_groups(struct walk *w, unsigned lt, size_t i, uint32_t val, rp_u128 x, rp_u128 y,
					 int *errp)
{
	struct actx *a = w->a;
	struct { uint32_t lt; uint64_t i; } k = { lt, i };
	const struct runs_cache *t0, *gc;
	struct ugroups_ctx ctx = { .rc = val };
	struct cover c[2];
	uint32_t *slot;
	bool added;

	if (!w->upin_built || w->upin_rc != w->rc) {
		for (size_t j = 0; j < w->n_upin; j++)
			aw_groups_free(&w->upin[j]);
		w->n_upin = 0;
		hmap_free(&w->upin_idx);
		w->upin_built = true;
		w->upin_rc = w->rc;
	}
	slot = hmap_get_or_add(&w->upin_idx, &k, sizeof(k), &added);
	if (!slot) {
		*errp = -ENOMEM;
		return NULL;
	}
	if (!added && *slot)
		return &w->upin[*slot - 1];
	t0 = aw_trie(a, 0, w->family);
	gc = aw_geo(a, w->family);
	if (!t0 || !gc) {
		*errp = a->err;
		return NULL;
	}
	if (w->n_upin == w->cap_upin) {
		size_t cap = w->cap_upin ? w->cap_upin * 2 : 16;
		struct groups *v = realloc(w->upin, cap * sizeof(*v));

		if (!v) {
			*errp = -ENOMEM;
			return NULL;
		}
		w->upin = v;
		w->cap_upin = cap;
	}
	memset(&w->upin[w->n_upin], 0, sizeof(w->upin[w->n_upin]));
	ctx.g = &w->upin[w->n_upin];
	c[0] = (struct cover){ t0->v, t0->n };
	c[1] = (struct cover){ gc->v, gc->n };
	*errp = aw_each_elem(c, 2, x, y, ubase_cb, &ctx);
	if (!*errp)
		*errp = ctx.err;
	if (*errp) {
		aw_groups_free(ctx.g);
		return NULL;
	}
	*slot = (uint32_t)++w->n_upin;
	return &w->upin[*slot - 1];
}

/* One address of the ranges where tenant tid's trie gives atom `want`
 * (0: none), or false. */
static bool point_with_atom(const struct runs_cache *t, const struct range *r, size_t n, uint32_t want, rp_u128 *out)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = dpr_run_find(t->v, t->n, r[i].lo);

		for (; k < t->n && t->v[k].lo <= r[i].hi; k++) {
			if (t->v[k].val != want)
				continue;
			*out = t->v[k].lo > r[i].lo ? t->v[k].lo : r[i].lo;
			if (*out < r[i].hi && *out < t->v[k].hi)
				(*out)++;
			return true;
		}
	}
	return false;
}

int aw_check_piece_uplink(struct walk *w, const struct range *rg, size_t nr, int oif, int b, rp_u128 routed_lo)
{
	struct actx *a = w->a;
	struct groups *dgm = NULL;
	const struct groups *dg = NULL;
	const struct ushapes *us;
	int err;

	err = uplink_base(w);
	if (!err)
		dg = dgm = (struct groups *)aw_dst_groups_of(w, rg, nr, b, &err);
	/* the gateway's own addresses first: what a port forward rewrites
	 * (stable: a second sort of the kept groups changes nothing) */
	for (size_t i = 1; !err && i < dgm->n; i++)
		for (size_t j = i; j > 0 && dgm->v[j].key[2] > dgm->v[j - 1].key[2]; j--) {
			struct group t = dgm->v[j];

			dgm->v[j] = dgm->v[j - 1];
			dgm->v[j - 1] = t;
		}
	/* the listen ports and rp_global, read from the maps once per audit
	 * (not once per piece: a map walk is two system calls an entry) */
	if (!err && !a->have_ports) {
		err = dpr_ports(&a->R, a->R.slot, &a->ports, &a->n_ports);
		a->have_ports = !err;
	}
	if (!a->have_glob) {
		memset(&a->glob, 0, sizeof(a->glob));
		dpr_global(&a->R, a->R.slot, &a->glob);
		a->have_glob = true;
	}
	us = err ? NULL : uplink_shapes(w, &err);
	for (size_t di = 0; !err && di < dg->n; di++) {
		const struct group *dgp = &dg->v[di];
		rp_u128 dst = aw_dst_rep(w, dgp->r, dgp->n, oif);
		rp_u128 routed = w->nft.dnat ? routed_lo : dst;

		for (size_t k = 0; !err && k < us->s.n; k++) {
			const struct shape *sh = &us->s.v[k];
			unsigned lt = us->lt[k];
			const struct runs_cache *tt = lt ? aw_trie(a, lt, w->family) : NULL;
			struct vmemo *vm = vmemo_of(w, (size_t)(dg - w->dgv), dg->n, di, k, us->s.n, &err);

			if (!vm)
				break;

			/* sources outside the listen port tenant's prefixes (or
			 * every source, for another shape): (t0 atom, country) */
			for (size_t bi = 0; !err && bi < w->up_base.n; bi++) {
				const struct group *bg = &w->up_base.v[bi];
				uint32_t skey[NKEY] = { bg->key[1], bg->key[2], 0, 0, 0, 0 }, dkey[NKEY];
				struct range one;
				rp_u128 src;
				int v;

				memcpy(dkey, dgp->key, sizeof(dkey));
				dkey[1] = 0;	/* the routing class */
				if (tt) {
					if (!outside_point(w, lt, tt, bi, &src, &err))
						continue;
				} else {
					src = bg->r[0].hi > bg->r[0].lo ? bg->r[0].lo + 1 : bg->r[0].lo;
				}
				a->res->paths++;
				/* the program dropped this class's packet before:
				 * aw_verdict would answer 0 again, from its cache */
				if (vmemo_dropped(vm, w->bg_id[bi]))
					continue;
				v = aw_verdict(w, skey, dkey, sh, src, dst);
				if (v < 0) {
					err = v;
					break;
				}
				if (!v && (err = vmemo_drop(vm, w->bg_id[bi])))
					break;
				one = (struct range){ src, src };
				if (v && aw_report(w, &one, 1, dst, sh, b, oif, routed,
						"the uplink's program lets it through and the routes lead there"))
					goto out;
			}
			/* sources inside them: (t0 atom, country, the tenant's atom) */
			/* the runs that meet the routing class: from the one
			 * holding its first address (runs are sorted, disjoint) */
			for (size_t i = tt ? dpr_run_find(tt->v, tt->n, w->rtc[w->rc].lo) : 0;
			     tt && !err && i < tt->n && tt->v[i].lo <= w->rtc[w->rc].hi; i++) {
				rp_u128 rlo = w->rtc[w->rc].lo, rhi = w->rtc[w->rc].hi;
				rp_u128 x = tt->v[i].lo > rlo ? tt->v[i].lo : rlo, y = tt->v[i].hi < rhi ? tt->v[i].hi : rhi;
				const struct groups *igp;

				if (!tt->v[i].val || x > y)
					continue;
				igp = inner_groups(w, lt, i, tt->v[i].val, x, y, &err);
				for (size_t gi = 0; igp && !err && gi < igp->n; gi++) {
					const struct group *g2 = &igp->v[gi];
					uint32_t skey[NKEY] = { g2->key[1], g2->key[2], g2->key[0], 0, 0, 0 }, dkey[NKEY];
					rp_u128 src = g2->r[0].hi > g2->r[0].lo ? g2->r[0].lo + 1 : g2->r[0].lo;
					struct range one = { src, src };
					int v;

					memcpy(dkey, dgp->key, sizeof(dkey));
					dkey[1] = 0;
					a->res->paths++;
					v = aw_verdict(w, skey, dkey, sh, src, dst);
					if (v < 0) {
						err = v;
						break;
					}
					if (v && aw_report(w, &one, 1, dst, sh, b, oif, routed,
							"the uplink's program lets it through and the routes lead there"))
						goto out;
				}
			}
		}
	}
out:
	return err;
}
