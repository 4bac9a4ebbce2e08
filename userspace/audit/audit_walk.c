// SPDX-License-Identifier: GPL-2.0
/* audit_walk.c — every packet entering at one ingress point, by classes.
 *
 * A class is a set of packets the programs and the kernel cannot tell
 * apart: the address space is cut wherever something the packet meets
 * changes its answer — the tries of the policy maps (sources in the
 * ingress tenant's trie, destinations in its trie and the gateway-wide
 * one), the geo database where a country is asked, the routing rules'
 * selectors and martian ranges, the nftables matches, the routes (through
 * the routing partition), the WireGuard peers of a tunnel, the declared
 * shares — and the protocols and ports are cut at the rule tables' port
 * segments, the shares' ports, the listen and management ports.
 *
 * For each routing class of sources, the destinations are routed all at
 * once (audit_route.c).  Only the parts that leave towards a tenant other
 * than the ingress point's own (or any tenant, from the uplink or an
 * outside interface) are asked further: one packet per (source class,
 * destination class, shape) goes through the real program (audit_probe.c,
 * answers cached by class key), and one that passes, that no declared
 * share covers and whose source check passes is a violation.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "audit/audit_walk.h"

/* ---- routing one class ---- */

static int ev_add(struct walk *w, const struct ev *e)
{
	struct evlist *l = w->rec;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ev *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *e;
	return 0;
}

/* Every path is kept: the unprotected search judges each of them (one
 * left out could be the only one whose packet the program would drop). */
static int keep_pend(struct walk *w, rp_u128 lo, rp_u128 hi, int oif)
{
	if (w->rec) {	/* only an unprotected ingress point looks for them */
		if (!w->in->is_protected && !w->in->outside && !w->rec_err)
			w->rec_err = ev_add(w, &(struct ev){ .k = EV_PEND, .lo = lo, .hi = hi, .oif = oif });
		return 0;
	}
	if (w->in->is_protected || w->in->outside)
		return 0;
	if (w->n_pend == w->cap_pend) {
		size_t cap = w->cap_pend ? w->cap_pend * 2 : 16;
		struct pend *v = realloc(w->pend, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		w->pend = v;
		w->cap_pend = cap;
	}
	w->pend[w->n_pend++] = (struct pend){ lo, hi, oif, w->rc, *w->rs };
	return 0;
}

static int check_pieces(struct walk *w, const struct range *rg, size_t nr, int oif, int b, rp_u128 routed)
{
	if (w->in->uplink && w->in->is_protected)
		return aw_check_piece_uplink(w, rg, nr, oif, b, routed);
	return aw_check_piece_tenant(w, rg, nr, oif, b, routed);
}

static int piece(struct walk *w, rp_u128 lo, rp_u128 hi, int oif, int b, rp_u128 routed)
{
	const struct ingress *in = w->in;
	const char *kind = aw_kind_of(in);

	if (b == -2)
		return 0;	/* a tunnel with no peer for it: WireGuard drops it */
	if (!in->uplink && !in->outside && b == in->tenant)
		return 0;	/* within the tenant: not an isolation question */
	if (w->rec)
		return ev_add(w, &(struct ev){ .k = EV_PIECE, .lo = lo, .hi = hi, .oif = oif, .b = b,
					       .routed = routed });
	if (audit_seen(w->a, kind, in, b, oif))
		return 0;
	if (w->nft.dnat) {	/* one destination stands for the part */
		struct range r = { lo, hi };

		return check_pieces(w, &r, 1, oif, b, routed);
	}
	/* the pieces to one (egress, tenant) of a part are asked together
	 * (flush_pieces): the same classes recur in many of them */
	if (w->npp == w->cap_pp) {
		size_t cap = w->cap_pp ? w->cap_pp * 2 : 64;
		struct pp *p = realloc(w->pp, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		w->pp = p;
		w->cap_pp = cap;
	}
	w->pp[w->npp++] = (struct pp){ lo, hi, oif, b };
	return 0;
}

static int cmp_pp(const void *x, const void *y)
{
	const struct pp *a = x, *b = y;

	if (a->oif != b->oif)
		return a->oif < b->oif ? -1 : 1;
	if (a->b != b->b)
		return a->b < b->b ? -1 : 1;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

static int flush_pieces(struct walk *w)
{
	struct range *rg;
	int err = 0;

	if (!w->npp)
		return 0;
	rg = calloc(w->npp, sizeof(*rg));
	if (!rg)
		return -ENOMEM;
	qsort(w->pp, w->npp, sizeof(*w->pp), cmp_pp);
	for (size_t i = 0, j; i < w->npp && !err; i = j) {
		size_t n = 0;

		for (j = i; j < w->npp && w->pp[j].oif == w->pp[i].oif && w->pp[j].b == w->pp[i].b; j++)
			rg[n++] = (struct range){ w->pp[j].lo, w->pp[j].hi };
		if (!audit_seen(w->a, aw_kind_of(w->in), w->in, w->pp[i].b, w->pp[i].oif))
			err = check_pieces(w, rg, n, w->pp[i].oif, w->pp[i].b, rg[0].lo);
	}
	free(rg);
	w->npp = 0;
	return err;
}

/* A forwarded part: the egress and, through a tunnel, its peers. */
static int forwarded(struct walk *w, rp_u128 lo, rp_u128 hi, int oif, rp_u128 routed)
{
	const struct egress *e = audit_egress(w->a, oif);
	int err = 0;

	if (!e || e->kind == EG_OTHER || e->kind == EG_UPLINK)
		return keep_pend(w, lo, hi, oif);
	if (e->kind == EG_CLOUD)
		return piece(w, lo, hi, oif, e->tenant, routed);
	/* a tunnel: the peer whose allowed IPs hold the (routed) destination */
	if (!e->peers_known)
		return piece(w, lo, hi, oif, e->tenant, routed);
	{
		const struct peer_run *pr = e->runs[w->family == AF_INET6];
		size_t n = e->n_runs[w->family == AF_INET6];

		if (w->nft.dnat) {	/* the whole part goes to one destination */
			for (size_t k = 0; k < n; k++)
				if (pr[k].lo <= routed && routed <= pr[k].hi)
					return piece(w, lo, hi, oif, pr[k].owner, routed);
			return 0;
		}
		for (size_t k = 0; k < n && !err; k++) {
			rp_u128 a = pr[k].lo > lo ? pr[k].lo : lo, b = pr[k].hi < hi ? pr[k].hi : hi;

			if (a > b)
				continue;
			if (pr[k].owner == e->tenant && !w->in->uplink && !w->in->outside &&
			    e->tenant == w->in->tenant && (err = keep_pend(w, a, b, oif)))
				break;
			err = piece(w, a, b, oif, pr[k].owner, a);
		}
	}
	return err;
}

struct route_ctx {
	struct walk *w;
	rp_u128 dnat_lo, dnat_hi;	/* the original destinations a DNAT part stands for */
};

static int outcome(rp_u128 lo, rp_u128 hi, const struct rt_out *o, void *arg)
{
	struct route_ctx *c = arg;
	struct walk *w = c->w;
	rp_u128 olo = w->nft.dnat ? c->dnat_lo : lo, ohi = w->nft.dnat ? c->dnat_hi : hi;
	int err = 0;

	if (w->a->err)
		return w->a->err;
	if (o->kind == RT_LOCAL)
		return keep_pend(w, olo, ohi, 0);
	if (o->kind != RT_FWD)
		return 0;
	for (unsigned k = 0; k < o->n_oif && !err; k++) {
		struct nft_pkt np = { .iif = w->in->name, .family = w->family, .src = w->rep, .dst = lo,
				      .proto = w->rs->proto, .sport = w->rs->slo, .dport = w->rs->dlo,
				      .mark = w->nft.mark_set ? w->nft.mark : w->mark };
		const struct egress *e = audit_egress(w->a, o->oif[k]);

		if (nft_forward_drops(w->a->N, &np, e ? e->name : ""))
			continue;
		err = forwarded(w, olo, ohi, o->oif[k], lo);
	}
	return err;
}

/* What one source class meets, in order: the nftables treatment of each
 * destination part (EV_NFT, when it changes) and the routing's parts that
 * leave towards a tenant (EV_PIECE) or are kept for the unprotected search
 * (EV_PEND).  Nothing here depends on what was found so far. */
static int record_class(struct walk *w)
{
	struct actx *a = w->a;
	struct nft_out last;
	int err = 0;

	memset(&w->nft, 0, sizeof(w->nft));
	last = w->nft;
	/* the destinations, part by part of the cuts (nftables matches are
	 * uniform within a part) */
	for (size_t i = 0; i < 2 * w->n_rtc && !err && !a->err && !w->rec_err; i++) {
		size_t d = i % w->n_rtc;
		bool odd = aw_awkward(w->family, w->rtc[d].lo) && aw_awkward(w->family, w->rtc[d].hi);

		if ((i < w->n_rtc) == odd)
			continue;	/* the awkward parts after the others */
		struct nft_pkt np = { .iif = w->in->name, .family = w->family, .src = w->rep,
				      .dst = w->rtc[d].lo, .proto = w->rs->proto, .sport = w->rs->slo,
				      .dport = w->rs->dlo, .mark = w->mark };
		struct rt_pkt p = { .family = w->family, .iif = w->in->ifindex, .mark = w->mark, .src = w->rep,
				    .proto = w->rs->proto, .sport = w->rs->slo, .dport = w->rs->dlo };
		struct route_ctx rc = { .w = w, .dnat_lo = w->rtc[d].lo, .dnat_hi = w->rtc[d].hi };

		nft_prerouting(a->N, &np, &w->nft);
		if (memcmp(&w->nft, &last, sizeof(last))) {
			if (w->n_nfts == w->cap_nfts) {
				size_t cap = w->cap_nfts ? w->cap_nfts * 2 : 16;
				struct nft_out *v = realloc(w->nfts, cap * sizeof(*v));

				if (!v) {
					err = -ENOMEM;
					break;
				}
				w->nfts = v;
				w->cap_nfts = cap;
			}
			w->nfts[w->n_nfts] = w->nft;
			err = ev_add(w, &(struct ev){ .k = EV_NFT, .b = (int)w->n_nfts++ });
			last = w->nft;
			if (err)
				break;
		}
		if (w->nft.drop)
			continue;
		if (w->nft.mark_set)
			p.mark = w->nft.mark;
		if (w->nft.dnat) {
			if (w->nft.has_dport)
				p.dport = w->nft.dport;
			err = rt_partition(a->M, &p, w->nft.dst, w->nft.dst, outcome, &rc);
		} else {
			err = rt_partition(a->M, &p, w->rtc[d].lo, w->rtc[d].hi, outcome, &rc);
		}
	}
	memset(&w->nft, 0, sizeof(w->nft));
	if (!err)
		err = w->rec_err;
	return err ? err : a->err;
}

/* The events of the current source class: recorded once for every class
 * the routing and nftables cannot tell apart (the same rt_src_sig, and
 * nftables matching no source address; else the class itself), in the
 * same routing shape. */
static const struct evlist *class_events(struct walk *w, int *errp)
{
	struct {
		uint32_t rs, rc;
		uint32_t sig[16];
	} k;
	struct rt_pkt p = { .family = w->family, .iif = w->in->ifindex, .mark = w->mark, .src = w->rep };
	size_t ns;
	uint32_t *slot;
	bool added;

	memset(&k, 0, sizeof(k));
	k.rs = (uint32_t)(w->rs - w->rshapes);
	ns = rt_src_sig(w->a->M, &p, k.sig, sizeof(k.sig) / sizeof(k.sig[0]));
	if (!ns || nft_reads_saddr(w->a->N))
		k.rc = (uint32_t)w->rc + 1;
	slot = hmap_get_or_add(&w->ccache, &k, offsetof(__typeof__(k), sig) + ns * sizeof(k.sig[0]), &added);
	if (!slot) {
		*errp = -ENOMEM;
		return NULL;
	}
	if (added) {
		struct evlist l = { 0 };

		if (w->n_evl == w->cap_evl) {
			size_t cap = w->cap_evl ? w->cap_evl * 2 : 16;
			struct evlist *v = realloc(w->evl, cap * sizeof(*v));

			if (!v) {
				*errp = -ENOMEM;
				return NULL;
			}
			w->evl = v;
			w->cap_evl = cap;
		}
		w->rec = &l;
		w->rec_err = 0;
		*errp = record_class(w);
		w->rec = NULL;
		if (*errp) {
			free(l.v);
			return NULL;
		}
		w->evl[w->n_evl++] = l;
		*slot = (uint32_t)w->n_evl;
	}
	if (!*slot) {
		*errp = w->a->err ? w->a->err : -EIO;
		return NULL;
	}
	return &w->evl[*slot - 1];
}

/* Every destination for the current source class and routing shape: its
 * events replayed — the pieces asked (those of one nftables treatment
 * together), the paths kept. */
static int route_class(struct walk *w)
{
	struct actx *a = w->a;
	const struct evlist *l;
	int err = 0;

	l = class_events(w, &err);
	if (!l)
		return err;
	for (size_t i = 0; i < l->n && !err && !a->err; i++) {
		const struct ev *e = &l->v[i];

		switch (e->k) {
		case EV_NFT: {
			const struct nft_out *cur = &w->nfts[e->b], prev = w->nft;

			/* pieces gathered over parts that nftables treats
			 * alike are asked together; a different treatment
			 * asks the earlier ones first, with theirs */
			if (w->npp && (cur->drop || cur->dnat || cur->mark_set != prev.mark_set ||
				       cur->mark != prev.mark || strcmp(cur->why, prev.why)))
				err = flush_pieces(w);
			w->nft = *cur;
			break;
		}
		case EV_PIECE:
			err = piece(w, e->lo, e->hi, e->oif, e->b, e->routed);
			break;
		case EV_PEND:
			err = keep_pend(w, e->lo, e->hi, e->oif);
			break;
		}
	}
	if (!err && !a->err && w->npp)
		err = flush_pieces(w);
	w->npp = 0;
	memset(&w->nft, 0, sizeof(w->nft));
	return err ? err : a->err;
}

/* ---- an unprotected ingress that reaches no other tenant: a path of its
 * own (or to the gateway) for a packet its program would have dropped ---- */

static int unprotected_search(struct walk *w)
{
	struct actx *a = w->a;
	const struct ingress *in = w->in;
	struct shapes s = { 0 };
	int err = 0;

	for (size_t i = 0; i < w->n_pend && !err; i++) {
		const struct pend *pd = &w->pend[i];
		const struct egress *e = pd->oif ? audit_egress(a, pd->oif) : NULL;
		int reaches = !pd->oif ? -3 : e && (e->kind == EG_CLOUD || e->kind == EG_TUNNEL) ? e->tenant : -4;
		struct range dr = { pd->lo, pd->hi };
		rp_u128 dst = aw_dst_rep(w, &dr, 1, pd->oif);

		if (audit_seen(a, "unprotected", in, reaches, pd->oif))
			break;
		w->rc = pd->rc;
		w->rs = &pd->rs;
		size_t s_lo, s_hi;

		aw_src_of(w, pd->rc, &s_lo, &s_hi);
		for (size_t si = s_lo; si < s_hi && !err; si++) {
			const struct group *sg = &w->src.v[si];
			uint32_t skey[NKEY] = { sg->key[1], 0, 0, 0, 0, 0 }, dkey[NKEY] = { 0xffffffff, 0, 0, 0, 0, 0 };

			if (sg->key[0] != pd->rc)
				continue;
			s.n = 0;
			aw_shape_add(&s, IPPROTO_TCP, 40000, 443, 0, 64);
			aw_shape_add(&s, IPPROTO_UDP, 40000, 53, 0, 64);
			aw_shapes_fixed(&s, w->family, &pd->rs);
			if ((err = aw_shapes_ok(w, &s)))
				break;
			for (size_t k = 0; k < s.n; k++) {
				int v;

				a->res->paths++;
				if (!aw_in_rshape(&pd->rs, s.v[k].proto, s.v[k].sport, s.v[k].dport,
					       s.v[k].proto == IPPROTO_TCP || s.v[k].proto == IPPROTO_UDP))
					continue;
				/* the program, asked as if it were attached: what it drops gets through */
				v = in->hook >= 0 ? aw_verdict(w, skey, dkey, &s.v[k], sg->r[0].lo, dst) : 0;
				if (v < 0) {
					err = v;
					break;
				}
				if (v)
					continue;
				if (aw_report(w, sg->r, sg->n, dst, &s.v[k], reaches, pd->oif, dst, in->unprot))
					goto out;
			}
		}
	}
out:
	aw_shapes_free(&s);
	return err;
}

/* ---- the walk ---- */

struct sgroups_ctx {
	struct groups *g;
	int err;
};

static int sgroup_cb(rp_u128 lo, rp_u128 hi, const uint32_t *vals, void *arg)
{
	struct sgroups_ctx *c = arg;
	uint32_t key[NKEY] = { vals[1], vals[0], 0, 0, 0, 0 };

	if (!vals[2])
		return 0;	/* WireGuard accepts no such source from any peer */
	return c->err = aw_group_add(c->g, key, lo, hi);
}

static int cmp_u128(const void *a, const void *b)
{
	rp_u128 x = *(const rp_u128 *)a, y = *(const rp_u128 *)b;

	return x < y ? -1 : x > y;
}

/* Every routing shape: the protocols the rules name (and the others as
 * one), TCP and UDP cut at every port segment start.  Grown on the heap;
 * a product beyond RSHAPES_MAX is refused, never cut short. */
#define RSHAPES_MAX (1u << 20)

static int rshapes_build(struct walk *w)
{
	const struct l4cuts *l = &w->l4;
	uint8_t protos[256 + 5];
	size_t np = 0, n = 0, k = 0;

	if (!l->n_protos && l->n_dcuts <= 1 && l->n_scuts <= 1) {
		w->rshapes = calloc(1, sizeof(*w->rshapes));
		if (!w->rshapes)
			return -ENOMEM;
		w->rshapes[0] = (struct rshape){ 0, 0, 65535, 0, 65535 };
		w->n_rshapes = 1;
		return 0;
	}
	/* the protocols the rules name, and the others as one */
	for (size_t i = 0; i < l->n_protos; i++)
		protos[np++] = l->protos[i];
	for (size_t i = 0; i < 4; i++) {
		static const uint8_t base[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 };
		bool seen = false;

		for (size_t j = 0; j < np; j++)
			seen |= protos[j] == base[i];
		if (!seen)
			protos[np++] = base[i];
	}
	protos[np++] = 0;
	for (size_t i = 0; i < np; i++) {
		bool ported = protos[i] == IPPROTO_TCP || protos[i] == IPPROTO_UDP;

		n += ported ? l->n_dcuts * l->n_scuts : 1;
	}
	if (n > RSHAPES_MAX) {
		if (!w->a->err) {
			w->a->err = -E2BIG;
			diag_add(w->a->d, "audit: %s: more than %u routing shapes (%zu port segments by %zu, from the "
				 "routing rules and nftables): the audit cannot judge this state", w->in->name,
				 RSHAPES_MAX, l->n_dcuts, l->n_scuts);
		}
		return -E2BIG;
	}
	w->rshapes = calloc(n, sizeof(*w->rshapes));
	if (!w->rshapes)
		return -ENOMEM;
	for (size_t i = 0; i < np; i++) {
		bool ported = protos[i] == IPPROTO_TCP || protos[i] == IPPROTO_UDP;
		size_t nd = ported ? l->n_dcuts : 1, ns = ported ? l->n_scuts : 1;

		for (size_t d = 0; d < nd; d++)
			for (size_t s = 0; s < ns; s++) {
				struct rshape rs = { protos[i], 0, 65535, 0, 65535 };

				if (ported) {
					rs.dlo = (uint16_t)l->dcuts[d];
					rs.dhi = d + 1 < nd ? (uint16_t)(l->dcuts[d + 1] - 1) : 65535;
					rs.slo = (uint16_t)l->scuts[s];
					rs.shi = s + 1 < ns ? (uint16_t)(l->scuts[s + 1] - 1) : 65535;
				}
				w->rshapes[k++] = rs;
			}
	}
	w->n_rshapes = k;
	return 0;
}

/* The protocol and port cuts of the routing rules and nftables as sorted
 * lists (segment starts, 0 first). */
static int l4_build(struct l4cuts *o, const struct rt_l4 *x)
{
	for (unsigned p = 1; p < 256; p++)
		if (rt_l4_has(x->protos, p))
			o->protos[o->n_protos++] = (uint8_t)p;
	for (int pass = 0; pass < 2; pass++) {
		const uint64_t *bits = pass ? x->scuts : x->dcuts;
		uint32_t **v = pass ? &o->scuts : &o->dcuts;
		size_t *n = pass ? &o->n_scuts : &o->n_dcuts, c = 1;

		for (uint32_t i = 1; i < 65536; i++)
			c += rt_l4_has(bits, i);
		*v = calloc(c, sizeof(**v));
		if (!*v)
			return -ENOMEM;
		(*v)[(*n)++] = 0;
		for (uint32_t i = 1; i < 65536; i++)
			if (rt_l4_has(bits, i))
				(*v)[(*n)++] = i;
	}
	return 0;
}

static int walk_family(struct actx *a, const struct ingress *in, int family, uint32_t mark, uint32_t *more,
		       size_t *n_more)
{
	struct walk w = { .a = a, .in = in, .family = family, .mark = mark };
	struct rt_l4 *nl4 = calloc(2, sizeof(*nl4));	/* nftables', the rules' (16 KiB each) */
	rp_u128 *cuts = NULL;
	size_t ncuts = 0, cap;
	int err;

	if (!nl4)
		return a->err = -ENOMEM;
	err = rt_cuts(a->M, family, &cuts, &ncuts);
	cap = ncuts;
	if (!err)
		err = nft_cuts(a->N, family, in->name, &cuts, &ncuts, &cap, nl4);
	if (err)
		goto out;
	qsort(cuts, ncuts, sizeof(*cuts), cmp_u128);
	w.rtc = calloc(ncuts + 1, sizeof(*w.rtc));
	if (!w.rtc) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ncuts; i++) {
		if (i + 1 < ncuts && cuts[i + 1] == cuts[i])
			continue;
		w.rtc[w.n_rtc].lo = cuts[i];
		w.rtc[w.n_rtc].hi = i + 1 < ncuts ? cuts[i + 1] - 1 : an_max(family);
		w.rtc[w.n_rtc].val = (uint32_t)w.n_rtc;
		w.n_rtc++;
	}
	{
		struct rt_l4 *rl = &nl4[1];

		rt_l4_cuts(a->M, family, rl);
		for (size_t i = 0; i < sizeof(rl->protos) / sizeof(rl->protos[0]); i++)
			rl->protos[i] |= nl4->protos[i];
		for (size_t i = 0; i < sizeof(rl->dcuts) / sizeof(rl->dcuts[0]); i++) {
			rl->dcuts[i] |= nl4->dcuts[i];
			rl->scuts[i] |= nl4->scuts[i];
		}
		err = l4_build(&w.l4, rl);
	}
	if (!err)
		err = rshapes_build(&w);
	if (!err && !(w.ush = calloc(w.n_rshapes, sizeof(*w.ush))))
		err = -ENOMEM;
	if (err)
		goto out;
	/* the sources: (routing class, atom of the ingress tenant's aw_trie);
	 * through a tunnel, only what its WireGuard peers' allowed IPs let in
	 * (cryptokey routing drops the rest before any program sees it) */
	{
		struct cover c[3];
		struct sgroups_ctx ctx = { .g = &w.src };
		const struct runs_cache *t = in->tenant >= 0 ? aw_trie(a, in->tid, family) : NULL;
		const struct egress *e = in->hook == RP_HOOK_TUNNEL_IN ? audit_egress(a, in->ifindex) : NULL;
		struct dpr_run none = { 0, an_max(family), 0 }, all = { 0, an_max(family), 1 }, *wg = NULL;
		size_t nwg = 0;

		if (in->tenant >= 0 && !t) {
			err = a->err;
			goto out;
		}
		if (e && e->peers_known) {
			const struct peer_run *pr = e->runs[family == AF_INET6];

			nwg = e->n_runs[family == AF_INET6];
			wg = calloc(nwg + 1, sizeof(*wg));
			if (!wg) {
				err = -ENOMEM;
				goto out;
			}
			for (size_t i = 0; i < nwg; i++)
				wg[i] = (struct dpr_run){ pr[i].lo, pr[i].hi, pr[i].owner != -2 };
		}
		c[0] = t ? (struct cover){ t->v, t->n } : (struct cover){ &none, 1 };
		c[1] = (struct cover){ w.rtc, w.n_rtc };
		c[2] = wg ? (struct cover){ wg, nwg } : (struct cover){ &all, 1 };
		err = aw_each_elem(c, 3, 0, an_max(family), sgroup_cb, &ctx);
		free(wg);
		if (!err)
			err = ctx.err;
		if (err)
			goto out;
	}
	/* the source groups come in address order, so by routing class */
	w.src_at = calloc(w.n_rtc + 1, sizeof(*w.src_at));
	if (!w.src_at) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0, r = 0; i <= w.src.n; i++) {
		size_t key = i < w.src.n ? w.src.v[i].key[0] : w.n_rtc;

		if (key < r || key > w.n_rtc) {	/* not in order: every group is looked at */
			free(w.src_at);
			w.src_at = NULL;
			break;
		}
		while (r < key)
			w.src_at[++r] = i;
	}
	if (getenv("REMPART_AUDIT_PROFILE"))
		fprintf(stderr, "audit-profile: %s family %d mark %#x: %zu routing classes, %zu routing shapes, %zu source groups\n",
			in->name, family, mark, w.n_rtc, w.n_rshapes, w.src.n);
	for (size_t r = 0; r < w.n_rtc && !err; r++) {
		/* a protected tenant ingress point asks only the sources it
		 * has (a tunnel: its peers' allowed IPs); nothing else of the
		 * walk looks at a class without one */
		if (w.src_at && w.src_at[r] == w.src_at[r + 1] && in->is_protected && !in->uplink &&
		    !in->outside)
			continue;
		w.rc = r;
		w.rep = w.rtc[r].lo;
		for (size_t s = 0; s < w.n_rshapes && !err; s++) {
			w.rs = &w.rshapes[s];
			err = route_class(&w);
		}
	}
	if (!err && !in->is_protected && !in->outside)
		err = unprotected_search(&w);
	for (size_t i = 0; i < w.n_more && !err; i++) {
		bool seen = false;

		for (size_t k = 0; k < *n_more; k++)
			seen |= more[k] == w.more[i];
		if (seen)
			continue;
		if (*n_more == 8) {
			a->err = err = -E2BIG;
			diag_add(a->d, "audit: %s: its program leaves more than 8 marks: the audit cannot judge this state",
				 in->name);
			break;
		}
		more[(*n_more)++] = w.more[i];
	}
out:
	free(nl4);
	free(cuts);
	free(w.l4.dcuts);
	free(w.l4.scuts);
	free(w.rshapes);
	free(w.pend);
	free(w.rtc);
	aw_groups_free(&w.src);
	aw_groups_free(&w.up_base);
	for (size_t i = 0; i < w.n_upin; i++)
		aw_groups_free(&w.upin[i]);
	free(w.upin);
	hmap_free(&w.upin_idx);
	free(w.pp);
	free(w.src_at);
	for (size_t i = 0; i < w.n_evl; i++)
		free(w.evl[i].v);
	free(w.evl);
	free(w.nfts);
	hmap_free(&w.ccache);
	aw_uplink_free(&w);
	for (size_t i = 0; i < w.n_dgv; i++)
		aw_groups_free(&w.dgv[i]);
	free(w.dgv);
	hmap_free(&w.dgcache);
	if (err && !a->err) {
		a->err = err;
		diag_add(a->d, "audit: %s: %s", in->name, strerror(-err));
	}
	return a->err;
}

/* Every class of one ingress point, both families, routed with no mark
 * first (with cloud_mark's on a cloud attachment that has it, whether or
 * not cloud_in is there); again with each mark its program left on a
 * packet it let through (isolation programs that mark a tenant's packets
 * for its table). */
int audit_ingress(struct actx *a, const struct ingress *in)
{
	uint32_t done[8] = { in->cloud_mark ? in->mark_in : 0 }, more[8];
	size_t n_done = 1, n_more = 0;
	int err = 0;

	/* tunnel_in gives what it lets through the tenant's mark: walked
	 * with it from the start, whether or not routing without it ever
	 * leads to another tenant (a walk with a mark judges only the packets
	 * the program really leaves that mark on: seeding one costs time,
	 * never a aw_verdict) */
	if (in->is_protected && in->hook == RP_HOOK_TUNNEL_IN && in->tid && done[0] != (RP_MARK_BASE | in->tid))
		done[n_done++] = RP_MARK_BASE | in->tid;

	for (size_t m = 0; m < n_done && !err; m++) {
		n_more = 0;
		err = walk_family(a, in, AF_INET, done[m], more, &n_more);
		if (!err)
			err = walk_family(a, in, AF_INET6, done[m], more, &n_more);
		for (size_t i = 0; i < n_more && !err; i++) {
			bool seen = false;

			for (size_t k = 0; k < n_done; k++)
				seen |= done[k] == more[i];
			if (seen)
				continue;
			if (n_done == 8) {
				diag_add(a->d, "audit: %s: its program leaves more marks than the audit follows", in->name);
				return -EOPNOTSUPP;
			}
			done[n_done++] = more[i];
		}
	}
	return err;
}
