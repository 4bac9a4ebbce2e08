// SPDX-License-Identifier: GPL-2.0
/* audit_piece.c — one piece of the walk (audit_walk.c): destinations that
 * leave by one interface towards tenant b, from a tenant's ingress point or
 * from the uplink, cut by what the programs tell apart; one packet per
 * class asked of the real program (audit_probe.c), and a violation
 * reported with a representative source and destination. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "audit/audit_walk.h"

/* ---- the walk of one (ingress, family) ---- */




const char *aw_kind_of(const struct ingress *in)
{
	if (in->outside)
		return "outside";
	if (!in->is_protected)
		return "unprotected";
	return in->uplink ? "uplink" : "cross_tenant";
}

/* Hosts seen on a link inside [lo, hi]: the preferred representatives. */
static bool neigh_in(const struct actx *a, int ifindex, int family, const struct range *r, size_t n, rp_u128 *out)
{
	for (size_t i = 0; i < a->L.n_neighs; i++) {
		const struct nl_neigh *e = &a->L.neighs[i];
		rp_u128 x;

		if (e->ifindex != ifindex || e->family != family)
			continue;
		x = an_from_bytes(family, e->addr);
		for (size_t k = 0; k < n; k++)
			if (x >= r[k].lo && x <= r[k].hi) {
				*out = x;
				return true;
			}
	}
	return false;
}

/* Addresses a test cannot easily send from or to (martian, multicast,
 * reserved, link-local): representatives are taken elsewhere first. */
bool aw_awkward(int family, rp_u128 x)
{
	if (family == AF_INET)
		return (x >> 24) == 0 || (x >> 24) == 127 || (x >> 28) >= 0xe;
	return x <= 1 || (x >> 120) == 0xff || (x >> 118) == (0xfe80 >> 6);
}

/* Candidate sources of a group, best first: hosts seen on the ingress
 * link, then each range from its second address, then single addresses,
 * the awkward ones last. */
static size_t src_cands(const struct walk *w, const struct range *r, size_t n, rp_u128 (*c)[2], size_t max)
{
	size_t k = 0;
	rp_u128 x;

	if (neigh_in(w->a, w->in->ifindex, w->family, r, n, &x) && k < max) {
		c[k][0] = c[k][1] = x;
		k++;
	}
	for (int pass = 0; pass < 3; pass++)
		for (size_t i = 0; i < n && k < max; i++) {
			bool wide = r[i].hi > r[i].lo, odd = aw_awkward(w->family, r[i].lo) && aw_awkward(w->family, r[i].hi);

			if ((pass == 0 && (!wide || odd)) || (pass == 1 && (wide || odd)) || (pass == 2 && !odd))
				continue;
			c[k][0] = wide ? r[i].lo + 1 : r[i].lo;
			c[k][1] = r[i].hi;
			k++;
		}
	return k;
}

rp_u128 aw_dst_rep(const struct walk *w, const struct range *r, size_t n, int oif)
{
	rp_u128 x;

	if (neigh_in(w->a, oif, w->family, r, n, &x))
		return x;
	for (size_t i = 0; i < n; i++)
		if (r[i].hi > r[i].lo && !aw_awkward(w->family, r[i].lo + 1))
			return r[i].lo + 1;
	for (size_t i = 0; i < n; i++)
		if (!aw_awkward(w->family, r[i].lo))
			return r[i].lo;
	return r[0].hi > r[0].lo ? r[0].lo + 1 : r[0].lo;
}

/* The verdict of the real program for one packet, cached by class key. */
/* A mark a program left, as a small index (the verdict cache stores it). */
static int mark_index(struct actx *a, uint32_t mark, uint32_t *idx)
{
	for (size_t i = 0; i < a->n_marks; i++)
		if (a->marks[i] == mark) {
			*idx = (uint32_t)i;
			return 0;
		}
	if (a->n_marks == sizeof(a->marks) / sizeof(a->marks[0])) {
		if (!a->err) {
			a->err = -E2BIG;
			diag_add(a->d, "audit: the programs leave more than %zu different marks: "
				 "the audit cannot judge this state", sizeof(a->marks) / sizeof(a->marks[0]));
		}
		return -E2BIG;
	}
	a->marks[a->n_marks] = mark;
	*idx = (uint32_t)a->n_marks++;
	return 0;
}

/* The verdict of the real program for one packet, cached by class key.
 * A packet it lets through with a mark other than the one this walk routes
 * with is routed by that mark instead: it is kept for another walk
 * (audit_ingress), and answers "no" here. */
int aw_verdict(struct walk *w, const uint32_t *skey, const uint32_t *dkey, const struct shape *sh,
		   rp_u128 src, rp_u128 dst)
{
	struct actx *a = w->a;
	const struct ingress *in = w->in;
	struct {
		int32_t hook, ifindex;
		uint32_t vid, family;
		uint32_t s[NKEY], d[NKEY];
		uint32_t proto, sport, dport, type, hop;
	} k;
	struct probe_pkt pk = { .family = w->family, .vid = in->vid, .proto = sh->proto, .sport = sh->sport,
				.dport = sh->dport, .icmp_type = sh->type, .hop = sh->hop };
	uint32_t *slot, mark = 0, mi;
	bool added;
	int r;

	memset(&k, 0, sizeof(k));
	k.hook = in->hook;
	k.ifindex = in->prog_ifindex;
	k.vid = in->vid;
	k.family = (uint32_t)w->family;
	memcpy(k.s, skey, sizeof(k.s));
	memcpy(k.d, dkey, sizeof(k.d));
	k.proto = sh->proto;
	k.sport = sh->sport;
	k.dport = sh->dport;
	k.type = sh->type;
	k.hop = sh->hop;
	slot = hmap_get_or_add(&a->verdicts, &k, sizeof(k), &added);
	if (!slot)
		return -ENOMEM;
	if (added) {
		an_to_bytes(w->family, src, pk.src);
		an_to_bytes(w->family, dst, pk.dst);
		r = probe_run(a->P, in->hook, (unsigned)in->prog_ifindex, &pk, &mark);
		if (r < 0) {
			if (!a->err) {
				a->err = r;
				diag_add(a->d, "audit: BPF_PROG_TEST_RUN on the copy of the programs failed: %s",
					 strerror(-r));
			}
			return r;
		}
		a->res->probes++;
		/* what cloud_in lets in, cloud_mark then marks */
		if (r > 0 && in->hook == RP_HOOK_CLOUD_IN && in->cloud_mark)
			mark = in->mark_in;
		if (mark_index(a, mark, &mi))
			return a->err;
		*slot = mi << 8 | ((uint32_t)r + 1);
	}
	r = (int)(*slot & 0xff) - 1;
	mi = *slot >> 8;
	/* an unprotected ingress point: the program is only asked what it
	 * would drop; whatever it passes, with any mark, it would pass */
	if (r > 0 && a->marks[mi] != w->mark && in->is_protected) {
		bool seen = false;

		for (size_t i = 0; i < w->n_more; i++)
			seen |= w->more[i] == a->marks[mi];
		if (!seen && w->n_more == sizeof(w->more) / sizeof(w->more[0])) {
			if (!a->err) {
				a->err = -E2BIG;
				diag_add(a->d, "audit: %s: its program leaves more than %zu marks: the audit cannot judge this state",
					 in->name, sizeof(w->more) / sizeof(w->more[0]));
			}
			return -E2BIG;
		}
		if (!seen)
			w->more[w->n_more++] = a->marks[mi];
		return 0;
	}
	return r;
}

/* A concrete packet of the class: a source among the group's whose source
 * check passes, then the violation. */
bool aw_report(struct walk *w, const struct range *sr, size_t sn, rp_u128 dst, const struct shape *sh,
		   int reaches, int oif, rp_u128 routed_dst, const char *why)
{
	struct rt_pkt p = { .family = w->family, .iif = w->in->ifindex, .mark = w->nft.mark_set ? w->nft.mark : w->mark,
			    .proto = sh->proto, .sport = sh->sport,
			    .dport = w->nft.dnat && w->nft.has_dport ? w->nft.dport : sh->dport };
	rp_u128 cands[16][2], src;
	size_t nc = src_cands(w, sr, sn, cands, 16);

	if (!rt_rpf_find(w->a->M, &p, routed_dst, oif, (const rp_u128 (*)[2])cands, nc, &src))
		return false;
	audit_add(w->a, aw_kind_of(w->in), w->in, w->family, src, dst, sh->proto, sh->sport, sh->dport, sh->type,
		  w->mark, reaches, oif, why);
	return true;
}

/* ---- one piece: destinations [lo, hi] leave by oif towards tenant b ---- */

struct dgroups_ctx {
	struct groups *g;
	int err;
};

static int dgroup_cb(rp_u128 lo, rp_u128 hi, const uint32_t *vals, void *arg)
{
	struct dgroups_ctx *c = arg;
	uint32_t key[NKEY] = { vals[0], vals[1], vals[2], vals[3], vals[4], vals[5] };

	return c->err = aw_group_add(c->g, key, lo, hi);
}

/* Tenant ingress (protected or not), outside and uplink alike: the
 * destination classes of the piece. */
static int dst_groups(struct walk *w, const struct range *rg, size_t nr, int b, struct groups *g)
{
	struct actx *a = w->a;
	const struct ingress *in = w->in;
	struct cover c[MAXCOV];
	struct dpr_run *sc = NULL;
	size_t nc = 0, nsc = 0;
	struct dgroups_ctx ctx = { .g = g };
	const struct runs_cache *t, *t0, *gc, *loc;
	struct rp_tenant_cfg tc = { 0 };
	int err;

	if (!in->is_protected || in->outside) {
		uint32_t key[NKEY] = { 0 };

		for (size_t i = 0; i < nr; i++)
			if ((err = aw_group_add(g, key, rg[i].lo, rg[i].hi)))
				return err;
		return 0;
	}
	t0 = aw_trie(a, 0, w->family);
	loc = aw_local_runs(a, w->family);
	if (!t0 || !loc)
		return a->err;
	if (in->uplink) {
		/* the gateway's own addresses apart: what uplink_in lets in
		 * for the gateway may be rewritten (DNAT) towards a tenant */
		const struct runs_cache *up = aw_upaddr_runs(a, w->family);

		if (!up)
			return a->err;
		c[nc++] = (struct cover){ t0->v, t0->n };
		c[nc++] = (struct cover){ w->rtc, w->n_rtc };
		c[nc++] = (struct cover){ loc->v, loc->n };
		c[nc++] = (struct cover){ up->v, up->n };
	} else {
		t = aw_trie(a, in->tid, w->family);
		if (!t)
			return a->err;
		c[nc++] = (struct cover){ t->v, t->n };
		c[nc++] = (struct cover){ t0->v, t0->n };
		err = aw_share_cover(a->cfg, b, in->tenant, w->family, &sc, &nsc);
		if (err)
			return err;
		c[nc++] = (struct cover){ sc, nsc };
		c[nc++] = (struct cover){ w->rtc, w->n_rtc };
		c[nc++] = (struct cover){ loc->v, loc->n };
		/* a country is asked at egress when the tenant has egress_countries */
		if (!dpr_tenant(&a->R, a->R.slot, in->tid, &tc) && (tc.flags & RP_T_EGRESS_CC)) {
			gc = aw_geo(a, w->family);
			if (!gc) {
				free(sc);
				return a->err;
			}
			c[nc++] = (struct cover){ gc->v, gc->n };
		}
	}
	err = 0;
	for (size_t i = 0; i < nr && !err && !ctx.err; i++)
		err = aw_each_elem(c, nc, rg[i].lo, rg[i].hi, dgroup_cb, &ctx);
	free(sc);
	return err ? err : ctx.err;
}

const struct groups *aw_dst_groups_of(struct walk *w, const struct range *rg, size_t nr, int b, int *errp)
{
	size_t klen = sizeof(int) + nr * sizeof(*rg);
	unsigned char *k = malloc(klen);
	uint32_t *slot;
	bool added;

	if (!k) {
		*errp = -ENOMEM;
		return NULL;
	}
	memcpy(k, &b, sizeof(int));
	memcpy(k + sizeof(int), rg, nr * sizeof(*rg));
	slot = hmap_get_or_add(&w->dgcache, k, klen, &added);
	free(k);
	if (!slot) {
		*errp = -ENOMEM;
		return NULL;
	}
	if (added) {
		struct groups g = { 0 };

		if (w->n_dgv == w->cap_dgv) {
			size_t cap = w->cap_dgv ? w->cap_dgv * 2 : 16;
			struct groups *v = realloc(w->dgv, cap * sizeof(*v));

			if (!v) {
				*errp = -ENOMEM;
				return NULL;
			}
			w->dgv = v;
			w->cap_dgv = cap;
		}
		*errp = dst_groups(w, rg, nr, b, &g);
		if (*errp) {
			aw_groups_free(&g);
			return NULL;
		}
		w->dgv[w->n_dgv++] = g;
		*slot = (uint32_t)w->n_dgv;
	}
	if (!*slot) {
		*errp = w->a->err ? w->a->err : -EIO;
		return NULL;
	}
	return &w->dgv[*slot - 1];
}

/* Protected tenant ingress or unprotected: the shapes for a source atom and
 * a destination atom. */
static void tenant_shapes(struct walk *w, uint32_t sa_id, uint32_t da_id, int b, rp_u128 dst, struct shapes *s)
{
	struct actx *a = w->a;
	const struct rp_atom *sa = dpr_atom(&a->R, sa_id), *da = dpr_atom(&a->R, da_id);
	struct ports p = { .n = 0 };
	struct rp_addr d;

	if (sa && da && sa->src_class && da->dst_class)
		aw_table_cuts(a, RP_RK_RULES, w->in->tid, sa->src_class, da->dst_class, &p);
	if (da && da->zone == RP_Z_SHARE)
		aw_table_cuts(a, RP_RK_SHARE, 0, 0, da->share_id, &p);
	an_to_addr(w->family, dst, &d);
	/* the declared shares' ports: the specification's own boundaries */
	for (size_t k = 0; b >= 0 && k < a->cfg->tenants[b].n_shares; k++) {
		const struct rp_share *sh = &a->cfg->tenants[b].shares[k];

		for (size_t j = 0; j < sh->ports.n; j++) {
			aw_port_cut(&p, sh->ports.v[j].lo);
			aw_port_cut(&p, sh->ports.v[j].hi + 1u);
		}
	}
	for (size_t k = 1; k < w->l4.n_dcuts; k++)
		aw_port_cut(&p, w->l4.dcuts[k]);
	aw_shapes_ported(s, &p, w->rs, 40000);
	aw_shapes_fixed(s, w->family, w->rs);
	aw_ports_free(&p);
}

/* The memo of a (source, destination) pair packs the shape count and the
 * first shape that passes in 16 bits each: a state with more shapes than
 * that is refused, never judged in part. */
int aw_shapes_ok(struct walk *w, const struct shapes *s)
{
	if (s->err)
		return s->err;
	if (s->n >= 0xffff) {
		if (!w->a->err) {
			w->a->err = -E2BIG;
			diag_add(w->a->d, "audit: %s: more than %u packet shapes (protocol and port cuts) for one class: "
				 "the audit cannot judge this state", w->in->name, 0xfffeu);
		}
		return -E2BIG;
	}
	return 0;
}

/* Tenant ingress, protected or not, and outside: classes of one piece. */
int aw_check_piece_tenant(struct walk *w, const struct range *rg, size_t nr, int oif, int b, rp_u128 routed_lo)
{
	struct actx *a = w->a;
	const struct ingress *in = w->in;
	const struct groups *dg;
	const char *kind = aw_kind_of(in);
	struct shapes s = { 0 };
	int err = 0;

	dg = aw_dst_groups_of(w, rg, nr, b, &err);
	for (size_t di = 0; dg && !err && di < dg->n; di++) {
		const struct group *dgp = &dg->v[di];
		rp_u128 dst = aw_dst_rep(w, dgp->r, dgp->n, oif);
		rp_u128 routed = w->nft.dnat ? routed_lo : dst;

		size_t s_lo, s_hi;

		aw_src_of(w, w->rc, &s_lo, &s_hi);
		for (size_t si = s_lo; si < s_hi; si++) {
			const struct group *sg = &w->src.v[si];
			uint32_t skey[NKEY] = { 0 }, dkey[NKEY], *memo;
			struct {	/* what the answer for this pair depends on */
				const struct ingress *in;
				uint32_t family, rs, sa, b, dnat;
				uint32_t mark;		/* the walk's: a pass with another mark is deferred */
				uint32_t d[NKEY];
				rp_u128 ndst;
				uint32_t ndport;
			} mk;
			size_t first = 0;
			bool added;

			if (sg->key[0] != w->rc)
				continue;
			skey[0] = sg->key[1];
			memcpy(dkey, dgp->key, sizeof(dkey));
			dkey[3] = 0;	/* the routing class: not something the program sees */
			memset(&mk, 0, sizeof(mk));
			mk.in = in;
			mk.family = (uint32_t)w->family;
			mk.rs = (uint32_t)(w->rs - w->rshapes);
			mk.sa = sg->key[1];
			mk.b = (uint32_t)b;
			mk.dnat = w->nft.dnat;
			mk.mark = w->mark;
			mk.ndst = w->nft.dnat ? w->nft.dst : 0;
			mk.ndport = w->nft.has_dport ? w->nft.dport : 0;
			memcpy(mk.d, dkey, sizeof(mk.d));
			memo = hmap_get_or_add(&a->memo, &mk, sizeof(mk), &added);
			if (!memo) {
				err = -ENOMEM;
				break;
			}
			if (!added) {	/* the same pair in another piece: same answer */
				a->res->paths += *memo >> 16;
				if (!(*memo & 0xffff))
					continue;
				first = (*memo & 0xffff) - 1;
			}
			s.n = 0;
			if (in->outside) {
				aw_shape_add(&s, IPPROTO_TCP, 40000, 443, 0, 64);
			} else {
				tenant_shapes(w, sg->key[1], dgp->key[0], b, dst, &s);
			}
			if ((err = aw_shapes_ok(w, &s)))
				break;
			for (size_t k = first; k < s.n; k++) {
				const struct shape *sh = &s.v[k];
				uint16_t dport = w->nft.dnat && w->nft.has_dport ? w->nft.dport : sh->dport;
				char why[160];
				int v = 1;

				if (added)
					a->res->paths++;
				if (!in->outside && aw_share_allows(a->cfg, b, in->tenant, w->family, routed, sh->proto, dport))
					continue;
				if (in->is_protected && !in->outside) {
					v = aw_verdict(w, skey, dkey, sh, sg->r[0].hi > sg->r[0].lo ? sg->r[0].lo + 1 :
						    sg->r[0].lo, dst);
					if (v < 0) {
						err = v;
						break;
					}
				}
				if (!v)
					continue;
				if (added)
					*(uint32_t *)hmap_get_or_add(&a->memo, &mk, sizeof(mk), &added) =
						(uint32_t)s.n << 16 | (uint32_t)(k + 1);
				snprintf(why, sizeof(why), "%.60s%s%.90s",
					 in->outside ? "an interface rempart does not manage forwards it" :
					 !in->is_protected ? in->unprot : "the program lets it through and the routes lead there",
					 w->nft.why[0] ? "; " : "", w->nft.why);
				if (aw_report(w, sg->r, sg->n, dst, sh, b, oif, routed, why))
					goto out;
				break;	/* no source of the class passes the source check */
			}
			if (added && !err) {	/* none passes: remember */
				uint32_t *m = hmap_get_or_add(&a->memo, &mk, sizeof(mk), &added);

				if (m && !*m)
					*m = (uint32_t)s.n << 16;
			}
			if (err)
				break;
		}
	}
out:
	(void)kind;
	aw_shapes_free(&s);
	return err;
}
