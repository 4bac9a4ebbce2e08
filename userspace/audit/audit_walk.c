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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "audit/audit_int.h"

#define NKEY 6

struct range {
	rp_u128 lo, hi;
};

struct group {
	uint32_t key[NKEY];
	struct range *r;
	size_t n, cap;
};

struct groups {
	struct group *v;
	size_t n, cap;
	struct hmap idx;
};

static void groups_free(struct groups *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i].r);
	free(g->v);
	hmap_free(&g->idx);
	memset(g, 0, sizeof(*g));
}

static int group_add(struct groups *g, const uint32_t *key, rp_u128 lo, rp_u128 hi)
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

#define MAXCOV 6
struct cover {
	const struct dpr_run *v;
	size_t n;
};

typedef int (*elem_cb)(rp_u128 lo, rp_u128 hi, const uint32_t *vals, void *arg);

static int each_elem(const struct cover *c, size_t nc, rp_u128 lo, rp_u128 hi, elem_cb cb, void *arg)
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

static const struct runs_cache *trie(struct actx *a, unsigned tid, int family)
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

static const struct runs_cache *geo(struct actx *a, int family)
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
static const struct runs_cache *upaddr_runs(struct actx *a, int family)
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

static const struct runs_cache *local_runs(struct actx *a, int family)
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

struct shape {
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t type, hop;
};

/* A routing shape: what the routing may tell apart (protocol, ports). */
struct rshape {
	uint8_t proto;			/* 0: any the rules do not name */
	uint16_t dlo, dhi, slo, shi;
};

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

struct shapes {
	struct shape v[160];
	size_t n;
};

static void shape_add(struct shapes *s, uint8_t proto, uint16_t sport, uint16_t dport, uint8_t type, uint8_t hop)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].proto == proto && s->v[i].sport == sport && s->v[i].dport == dport &&
		    s->v[i].type == type && s->v[i].hop == hop)
			return;
	if (s->n < sizeof(s->v) / sizeof(s->v[0]))
		s->v[s->n++] = (struct shape){ proto, sport, dport, type, hop };
}

static bool in_rshape(const struct rshape *rs, uint8_t proto, uint16_t sport, uint16_t dport, bool ported)
{
	if (rs->proto && rs->proto != proto)
		return false;
	if (!ported)
		return true;
	return dport >= rs->dlo && dport <= rs->dhi && sport >= rs->slo && sport <= rs->shi;
}

struct ports {
	uint32_t v[80];
	size_t n;
};

static void port_cut(struct ports *p, uint32_t x)
{
	if (x > 65535)
		return;
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i] == x)
			return;
	if (p->n < sizeof(p->v) / sizeof(p->v[0]))
		p->v[p->n++] = x;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The non-port shapes every class is asked about: the ICMP types the
 * programs treat apart (echo, errors, redirects, neighbour and router
 * discovery; hop limit 255 and 64), ICMP numbers of the other family, a
 * protocol without ports. */
static void shapes_fixed(struct shapes *s, int family, const struct rshape *rs)
{
	static const uint8_t t4[] = { 0, 3, 5, 8, 11, 12, 13 };
	static const uint8_t t6[] = { 1, 2, 3, 4, 128, 129, 133, 134, 135, 136, 137, 143 };

	if (family == AF_INET) {
		for (size_t i = 0; i < sizeof(t4); i++)
			if (in_rshape(rs, IPPROTO_ICMP, 0, 0, false))
				shape_add(s, IPPROTO_ICMP, 0, 0, t4[i], 64);
		if (in_rshape(rs, IPPROTO_ICMPV6, 0, 0, false))
			shape_add(s, IPPROTO_ICMPV6, 0, 0, 0, 64);
	} else {
		for (size_t i = 0; i < sizeof(t6); i++)
			for (int h = 0; h < 2; h++)
				if (in_rshape(rs, IPPROTO_ICMPV6, 0, 0, false))
					shape_add(s, IPPROTO_ICMPV6, 0, 0, t6[i], h ? 255 : 64);
		if (in_rshape(rs, IPPROTO_ICMP, 0, 0, false))
			shape_add(s, IPPROTO_ICMP, 0, 0, 0, 64);
	}
	if (in_rshape(rs, IPPROTO_GRE, 0, 0, false))
		shape_add(s, IPPROTO_GRE, 0, 0, 0, 64);
	if (rs->proto && rs->proto != IPPROTO_TCP && rs->proto != IPPROTO_UDP && rs->proto != IPPROTO_ICMP &&
	    rs->proto != IPPROTO_ICMPV6)
		shape_add(s, rs->proto, 0, 0, 0, 64);
}

/* TCP and UDP at one representative port per segment of p (sorted). */
static void shapes_ported(struct shapes *s, struct ports *p, const struct rshape *rs, uint16_t sport)
{
	port_cut(p, 0);
	port_cut(p, rs->dlo);
	if (rs->dhi < 65535)
		port_cut(p, rs->dhi + 1u);
	qsort(p->v, p->n, sizeof(uint32_t), cmp_u32);
	if (sport < rs->slo || sport > rs->shi)
		sport = rs->slo ? rs->slo : 1;
	for (int pr = 0; pr < 2; pr++) {
		uint8_t proto = pr ? IPPROTO_UDP : IPPROTO_TCP;

		for (size_t i = 0; i < p->n; i++) {
			uint32_t lo = p->v[i], hi = i + 1 < p->n ? p->v[i + 1] - 1 : 65535;
			uint16_t port = nice_port(lo, hi);

			if (in_rshape(rs, proto, sport, port, true))
				shape_add(s, proto, sport, port, 0, 64);
		}
	}
}

/* The segment starts of one port table (TCP and UDP) of the active slot,
 * read once. */
static void table_cuts(struct actx *a, int kind, uint16_t tenant, uint32_t sc, uint32_t dc, struct ports *p)
{
	uint32_t key[4] = { (uint32_t)kind, tenant, sc, dc };
	uint32_t *slot;
	bool added;
	struct tcut *t;

	slot = hmap_get_or_add(&a->tcuts, key, sizeof(key), &added);
	if (!slot)
		return;
	if (added) {
		struct tcut *v = realloc(a->tcut, (a->n_tcut + 1) * sizeof(*v));

		if (!v)
			return;
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
		port_cut(p, t->v[i]);
}

/* ---- declared shares (the specification) ---- */

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
static bool share_allows(const struct rp_config *cfg, int b, int a, int family, rp_u128 dst, uint8_t proto,
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

/* The shares b offers a as a cover of one family: val = bit i set when
 * inside share prefix i (up to 31; more are folded into bit 31). */
static int share_cover(const struct rp_config *cfg, int b, int a, int family, struct dpr_run **out, size_t *nout)
{
	rp_u128 cuts[130];
	size_t nc = 0;
	struct dpr_run *v;

	cuts[nc++] = 0;
	for (size_t s = 0; b >= 0 && a >= 0 && s < cfg->tenants[b].n_shares; s++) {
		const struct rp_share *sh = &cfg->tenants[b].shares[s];

		if (!offers_to(sh, a))
			continue;
		for (size_t k = 0; k < sh->to.n && nc < 126; k++) {
			rp_u128 lo, hi;

			if (sh->to.v[k].family != family)
				continue;
			an_prefix_range(&sh->to.v[k], &lo, &hi);
			cuts[nc++] = lo;
			if (hi < an_max(family))
				cuts[nc++] = hi + 1;
		}
	}
	for (size_t i = 1; i < nc; i++)
		for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
			rp_u128 t = cuts[j];

			cuts[j] = cuts[j - 1];
			cuts[j - 1] = t;
		}
	v = calloc(nc, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*nout = 0;
	for (size_t i = 0; i < nc; i++) {
		if (i + 1 < nc && cuts[i + 1] == cuts[i])
			continue;
		v[*nout].lo = cuts[i];
		v[*nout].hi = i + 1 < nc ? cuts[i + 1] - 1 : an_max(family);
		v[*nout].val = (uint32_t)i;	/* distinct per piece: what matters is the cut */
		(*nout)++;
	}
	*out = v;
	return 0;
}

/* ---- the walk of one (ingress, family) ---- */

struct pend {				/* a path kept for the unprotected search */
	rp_u128 lo, hi;
	int oif;			/* 0: local delivery */
	size_t rc;			/* routing class */
	struct rshape rs;
};

struct pp {
	rp_u128 lo, hi;
	int oif, b;
};

struct walk {
	struct actx *a;
	const struct ingress *in;
	int family;
	struct dpr_run *rtc;		/* routing classes as a cover */
	size_t n_rtc;
	struct groups src;		/* tenant ingress: (class, atom) */
	struct rt_l4 l4;
	struct rshape rshapes[64];
	size_t n_rshapes;
	/* the class being routed */
	size_t rc;
	const struct rshape *rs;
	rp_u128 rep;			/* its representative source */
	struct nft_out nft;		/* prerouting's doing for the part routed */
	bool done;			/* stop: an error, or nothing more to find here */
	struct groups up_base;		/* uplink: (class, t0 atom, cc), built on first use */
	bool up_built;
	size_t up_rc;
	struct pend pend[16];
	size_t n_pend;
	struct pp *pp;			/* pieces of the part being routed */
	size_t npp, cap_pp;
	uint32_t mark;			/* the packet mark this walk routes with (the programs' or none) */
	uint32_t more[8];		/* marks the program left on packets it let through */
	size_t n_more;
};

static const char *kind_of(const struct ingress *in)
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
static bool awkward(int family, rp_u128 x)
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
			bool wide = r[i].hi > r[i].lo, odd = awkward(w->family, r[i].lo) && awkward(w->family, r[i].hi);

			if ((pass == 0 && (!wide || odd)) || (pass == 1 && (wide || odd)) || (pass == 2 && !odd))
				continue;
			c[k][0] = wide ? r[i].lo + 1 : r[i].lo;
			c[k][1] = r[i].hi;
			k++;
		}
	return k;
}

static rp_u128 dst_rep(const struct walk *w, const struct range *r, size_t n, int oif)
{
	rp_u128 x;

	if (neigh_in(w->a, oif, w->family, r, n, &x))
		return x;
	for (size_t i = 0; i < n; i++)
		if (r[i].hi > r[i].lo && !awkward(w->family, r[i].lo + 1))
			return r[i].lo + 1;
	for (size_t i = 0; i < n; i++)
		if (!awkward(w->family, r[i].lo))
			return r[i].lo;
	return r[0].hi > r[0].lo ? r[0].lo + 1 : r[0].lo;
}

/* The verdict of the real program for one packet, cached by class key. */
/* A mark a program left, as a small index (the verdict cache stores it). */
static uint32_t mark_index(struct actx *a, uint32_t mark)
{
	for (size_t i = 0; i < a->n_marks; i++)
		if (a->marks[i] == mark)
			return (uint32_t)i;
	if (a->n_marks < sizeof(a->marks) / sizeof(a->marks[0]))
		a->marks[a->n_marks++] = mark;
	return (uint32_t)a->n_marks - 1;
}

/* The verdict of the real program for one packet, cached by class key.
 * A packet it lets through with a mark other than the one this walk routes
 * with is routed by that mark instead: it is kept for another walk
 * (audit_ingress), and answers "no" here. */
static int verdict(struct walk *w, const uint32_t *skey, const uint32_t *dkey, const struct shape *sh,
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
		*slot = mark_index(a, mark) << 8 | ((uint32_t)r + 1);
	}
	r = (int)(*slot & 0xff) - 1;
	mi = *slot >> 8;
	/* an unprotected ingress point: the program is only asked what it
	 * would drop; whatever it passes, with any mark, it would pass */
	if (r > 0 && a->marks[mi] != w->mark && in->is_protected) {
		bool seen = false;

		for (size_t i = 0; i < w->n_more; i++)
			seen |= w->more[i] == a->marks[mi];
		if (!seen && w->n_more < sizeof(w->more) / sizeof(w->more[0]))
			w->more[w->n_more++] = a->marks[mi];
		return 0;
	}
	return r;
}

/* A concrete packet of the class: a source among the group's whose source
 * check passes, then the violation. */
static bool report(struct walk *w, const struct range *sr, size_t sn, rp_u128 dst, const struct shape *sh,
		   int reaches, int oif, rp_u128 routed_dst, const char *why)
{
	struct rt_pkt p = { .family = w->family, .iif = w->in->ifindex, .mark = w->nft.mark_set ? w->nft.mark : w->mark,
			    .proto = sh->proto, .sport = sh->sport,
			    .dport = w->nft.dnat && w->nft.has_dport ? w->nft.dport : sh->dport };
	rp_u128 cands[16][2], src;
	size_t nc = src_cands(w, sr, sn, cands, 16);

	if (!rt_rpf_find(w->a->M, &p, routed_dst, oif, (const rp_u128 (*)[2])cands, nc, &src))
		return false;
	audit_add(w->a, kind_of(w->in), w->in, w->family, src, dst, sh->proto, sh->sport, sh->dport, sh->type,
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

	return c->err = group_add(c->g, key, lo, hi);
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
			if ((err = group_add(g, key, rg[i].lo, rg[i].hi)))
				return err;
		return 0;
	}
	t0 = trie(a, 0, w->family);
	loc = local_runs(a, w->family);
	if (!t0 || !loc)
		return a->err;
	if (in->uplink) {
		/* the gateway's own addresses apart: what uplink_in lets in
		 * for the gateway may be rewritten (DNAT) towards a tenant */
		const struct runs_cache *up = upaddr_runs(a, w->family);

		if (!up)
			return a->err;
		c[nc++] = (struct cover){ t0->v, t0->n };
		c[nc++] = (struct cover){ w->rtc, w->n_rtc };
		c[nc++] = (struct cover){ loc->v, loc->n };
		c[nc++] = (struct cover){ up->v, up->n };
	} else {
		t = trie(a, in->tid, w->family);
		if (!t)
			return a->err;
		c[nc++] = (struct cover){ t->v, t->n };
		c[nc++] = (struct cover){ t0->v, t0->n };
		err = share_cover(a->cfg, b, in->tenant, w->family, &sc, &nsc);
		if (err)
			return err;
		c[nc++] = (struct cover){ sc, nsc };
		c[nc++] = (struct cover){ w->rtc, w->n_rtc };
		c[nc++] = (struct cover){ loc->v, loc->n };
		/* a country is asked at egress when the tenant has egress_countries */
		if (!dpr_tenant(&a->R, a->R.slot, in->tid, &tc) && (tc.flags & RP_T_EGRESS_CC)) {
			gc = geo(a, w->family);
			if (!gc) {
				free(sc);
				return a->err;
			}
			c[nc++] = (struct cover){ gc->v, gc->n };
		}
	}
	err = 0;
	for (size_t i = 0; i < nr && !err && !ctx.err; i++)
		err = each_elem(c, nc, rg[i].lo, rg[i].hi, dgroup_cb, &ctx);
	free(sc);
	return err ? err : ctx.err;
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
		table_cuts(a, RP_RK_RULES, w->in->tid, sa->src_class, da->dst_class, &p);
	if (da && da->zone == RP_Z_SHARE)
		table_cuts(a, RP_RK_SHARE, 0, 0, da->share_id, &p);
	an_to_addr(w->family, dst, &d);
	/* the declared shares' ports: the specification's own boundaries */
	for (size_t k = 0; b >= 0 && k < a->cfg->tenants[b].n_shares; k++) {
		const struct rp_share *sh = &a->cfg->tenants[b].shares[k];

		for (size_t j = 0; j < sh->ports.n; j++) {
			port_cut(&p, sh->ports.v[j].lo);
			port_cut(&p, sh->ports.v[j].hi + 1u);
		}
	}
	for (size_t k = 1; k < w->l4.n_dcuts; k++)
		port_cut(&p, w->l4.dcuts[k]);
	shapes_ported(s, &p, w->rs, 40000);
	shapes_fixed(s, w->family, w->rs);
}

/* Tenant ingress, protected or not, and outside: classes of one piece. */
static int check_piece_tenant(struct walk *w, const struct range *rg, size_t nr, int oif, int b, rp_u128 routed_lo)
{
	struct actx *a = w->a;
	const struct ingress *in = w->in;
	struct groups dg = { 0 };
	const char *kind = kind_of(in);
	int err;

	err = dst_groups(w, rg, nr, b, &dg);
	for (size_t di = 0; !err && di < dg.n; di++) {
		const struct group *dgp = &dg.v[di];
		rp_u128 dst = dst_rep(w, dgp->r, dgp->n, oif);
		rp_u128 routed = w->nft.dnat ? routed_lo : dst;

		for (size_t si = 0; si < w->src.n; si++) {
			const struct group *sg = &w->src.v[si];
			struct shapes s = { .n = 0 };
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
			if (in->outside) {
				shape_add(&s, IPPROTO_TCP, 40000, 443, 0, 64);
			} else {
				tenant_shapes(w, sg->key[1], dgp->key[0], b, dst, &s);
			}
			for (size_t k = first; k < s.n; k++) {
				const struct shape *sh = &s.v[k];
				uint16_t dport = w->nft.dnat && w->nft.has_dport ? w->nft.dport : sh->dport;
				char why[160];
				int v = 1;

				if (added)
					a->res->paths++;
				if (!in->outside && share_allows(a->cfg, b, in->tenant, w->family, routed, sh->proto, dport))
					continue;
				if (in->is_protected && !in->outside) {
					v = verdict(w, skey, dkey, sh, sg->r[0].hi > sg->r[0].lo ? sg->r[0].lo + 1 :
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
				if (report(w, sg->r, sg->n, dst, sh, b, oif, routed, why))
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
	groups_free(&dg);
	(void)kind;
	return err;
}

/* ---- the uplink ---- */

struct ugroups_ctx {
	struct groups *g;
	size_t rc;
	int err;
};

static int ubase_cb(rp_u128 lo, rp_u128 hi, const uint32_t *vals, void *arg)
{
	struct ugroups_ctx *c = arg;
	uint32_t key[NKEY] = { (uint32_t)c->rc, vals[0], vals[1], 0, 0, 0 };

	return c->err = group_add(c->g, key, lo, hi);
}

/* The uplink's source classes of routing class rc: (t0 atom, country). */
static int uplink_base(struct walk *w)
{
	struct actx *a = w->a;
	const struct runs_cache *t0 = trie(a, 0, w->family), *gc = geo(a, w->family);
	struct cover c[2];
	struct ugroups_ctx ctx = { .g = &w->up_base, .rc = w->rc };
	int err;

	if (w->up_built && w->up_rc == w->rc)
		return 0;
	groups_free(&w->up_base);
	if (!t0 || !gc)
		return a->err;
	c[0] = (struct cover){ t0->v, t0->n };
	c[1] = (struct cover){ gc->v, gc->n };
	err = each_elem(c, 2, w->rtc[w->rc].lo, w->rtc[w->rc].hi, ubase_cb, &ctx);
	w->up_built = true;
	w->up_rc = w->rc;
	return err ? err : ctx.err;
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

static int check_piece_uplink(struct walk *w, const struct range *rg, size_t nr, int oif, int b, rp_u128 routed_lo)
{
	struct actx *a = w->a;
	struct groups dg = { 0 };
	struct dpr_port *ports = NULL;
	size_t n_ports = 0;
	struct rp_global_cfg g = { 0 };
	int err;

	err = uplink_base(w);
	if (!err)
		err = dst_groups(w, rg, nr, b, &dg);
	/* the gateway's own addresses first: what a port forward rewrites */
	for (size_t i = 1; !err && i < dg.n; i++)
		for (size_t j = i; j > 0 && dg.v[j].key[2] > dg.v[j - 1].key[2]; j--) {
			struct group t = dg.v[j];

			dg.v[j] = dg.v[j - 1];
			dg.v[j - 1] = t;
		}
	if (!err)
		err = dpr_ports(&a->R, a->R.slot, &ports, &n_ports);
	dpr_global(&a->R, a->R.slot, &g);
	for (size_t di = 0; !err && di < dg.n; di++) {
		const struct group *dgp = &dg.v[di];
		rp_u128 dst = dst_rep(w, dgp->r, dgp->n, oif);
		rp_u128 routed = w->nft.dnat ? routed_lo : dst;
		struct shapes s = { .n = 0 };
		struct ports p = { .n = 0 };

		/* UDP to each listen port, DHCP, TCP at the management ports'
		 * boundaries, one port of neither, the fixed shapes */
		for (size_t i = 0; i < n_ports; i++)
			if (in_rshape(w->rs, IPPROTO_UDP, 40000, ports[i].port, true))
				shape_add(&s, IPPROTO_UDP, 40000, ports[i].port, 0, 64);
		if (w->family == AF_INET && in_rshape(w->rs, IPPROTO_UDP, 67, 68, true))
			shape_add(&s, IPPROTO_UDP, 67, 68, 0, 64);
		if (w->family == AF_INET6 && in_rshape(w->rs, IPPROTO_UDP, 547, 546, true))
			shape_add(&s, IPPROTO_UDP, 547, 546, 0, 64);
		for (uint32_t i = 0; i < g.n_mgmt_ports && i < RP_MGMT_PORTS_MAX; i++) {
			port_cut(&p, g.mgmt_ports[i].lo);
			port_cut(&p, g.mgmt_ports[i].hi + 1u);
		}
		for (size_t k = 1; k < w->l4.n_dcuts; k++)
			port_cut(&p, w->l4.dcuts[k]);
		shapes_ported(&s, &p, w->rs, 40000);
		shapes_fixed(&s, w->family, w->rs);
		for (size_t k = 0; !err && k < s.n; k++) {
			const struct shape *sh = &s.v[k];
			unsigned lt = sh->proto == IPPROTO_UDP ? dpr_port_tenant(&a->R, a->R.slot, sh->dport) : 0;
			const struct runs_cache *tt = lt ? trie(a, lt, w->family) : NULL;

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
					if (!point_with_atom(tt, bg->r, bg->n, 0, &src))
						continue;
				} else {
					src = bg->r[0].hi > bg->r[0].lo ? bg->r[0].lo + 1 : bg->r[0].lo;
				}
				a->res->paths++;
				v = verdict(w, skey, dkey, sh, src, dst);
				if (v < 0) {
					err = v;
					break;
				}
				one = (struct range){ src, src };
				if (v && report(w, &one, 1, dst, sh, b, oif, routed,
						"the uplink's program lets it through and the routes lead there"))
					goto out;
			}
			/* sources inside them: (t0 atom, country, the tenant's atom) */
			for (size_t i = 0; tt && !err && i < tt->n; i++) {
				rp_u128 rlo = w->rtc[w->rc].lo, rhi = w->rtc[w->rc].hi;
				rp_u128 x = tt->v[i].lo > rlo ? tt->v[i].lo : rlo, y = tt->v[i].hi < rhi ? tt->v[i].hi : rhi;
				struct groups ig = { 0 };
				struct ugroups_ctx ctx = { .g = &ig, .rc = tt->v[i].val };
				const struct runs_cache *t0 = trie(a, 0, w->family), *gc = geo(a, w->family);
				struct cover c[2];

				if (!tt->v[i].val || x > y)
					continue;
				if (!t0 || !gc) {
					err = a->err;
					break;
				}
				c[0] = (struct cover){ t0->v, t0->n };
				c[1] = (struct cover){ gc->v, gc->n };
				err = each_elem(c, 2, x, y, ubase_cb, &ctx);
				if (!err)
					err = ctx.err;
				for (size_t gi = 0; !err && gi < ig.n; gi++) {
					const struct group *g2 = &ig.v[gi];
					uint32_t skey[NKEY] = { g2->key[1], g2->key[2], g2->key[0], 0, 0, 0 }, dkey[NKEY];
					rp_u128 src = g2->r[0].hi > g2->r[0].lo ? g2->r[0].lo + 1 : g2->r[0].lo;
					struct range one = { src, src };
					int v;

					memcpy(dkey, dgp->key, sizeof(dkey));
					dkey[1] = 0;
					a->res->paths++;
					v = verdict(w, skey, dkey, sh, src, dst);
					if (v < 0) {
						err = v;
						break;
					}
					if (v && report(w, &one, 1, dst, sh, b, oif, routed,
							"the uplink's program lets it through and the routes lead there")) {
						groups_free(&ig);
						goto out;
					}
				}
				groups_free(&ig);
			}
		}
	}
out:
	free(ports);
	groups_free(&dg);
	return err;
}

/* ---- routing one class ---- */

static void keep_pend(struct walk *w, rp_u128 lo, rp_u128 hi, int oif)
{
	if (w->n_pend < sizeof(w->pend) / sizeof(w->pend[0]))
		w->pend[w->n_pend++] = (struct pend){ lo, hi, oif, w->rc, *w->rs };
}

static int check_pieces(struct walk *w, const struct range *rg, size_t nr, int oif, int b, rp_u128 routed)
{
	if (w->in->uplink && w->in->is_protected)
		return check_piece_uplink(w, rg, nr, oif, b, routed);
	return check_piece_tenant(w, rg, nr, oif, b, routed);
}

static int piece(struct walk *w, rp_u128 lo, rp_u128 hi, int oif, int b, rp_u128 routed)
{
	const struct ingress *in = w->in;
	const char *kind = kind_of(in);

	if (b == -2)
		return 0;	/* a tunnel with no peer for it: WireGuard drops it */
	if (!in->uplink && !in->outside && b == in->tenant)
		return 0;	/* within the tenant: not an isolation question */
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
		if (!audit_seen(w->a, kind_of(w->in), w->in, w->pp[i].b, w->pp[i].oif))
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

	if (!e || e->kind == EG_OTHER || e->kind == EG_UPLINK) {
		keep_pend(w, lo, hi, oif);
		return 0;
	}
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
			    e->tenant == w->in->tenant)
				keep_pend(w, a, b, oif);
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
	if (o->kind == RT_LOCAL) {
		keep_pend(w, olo, ohi, 0);
		return 0;
	}
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

static int route_class(struct walk *w)
{
	struct actx *a = w->a;
	int err = 0;

	/* the destinations, part by part of the cuts (nftables matches are
	 * uniform within a part) */
	for (size_t i = 0; i < 2 * w->n_rtc && !err && !a->err; i++) {
		size_t d = i % w->n_rtc;
		bool odd = awkward(w->family, w->rtc[d].lo) && awkward(w->family, w->rtc[d].hi);

		if ((i < w->n_rtc) == odd)
			continue;	/* the awkward parts after the others */
		struct nft_pkt np = { .iif = w->in->name, .family = w->family, .src = w->rep,
				      .dst = w->rtc[d].lo, .proto = w->rs->proto, .sport = w->rs->slo,
				      .dport = w->rs->dlo, .mark = w->mark };
		struct rt_pkt p = { .family = w->family, .iif = w->in->ifindex, .mark = w->mark, .src = w->rep,
				    .proto = w->rs->proto, .sport = w->rs->slo, .dport = w->rs->dlo };
		struct route_ctx rc = { .w = w, .dnat_lo = w->rtc[d].lo, .dnat_hi = w->rtc[d].hi };

		struct nft_out prev = w->nft;

		nft_prerouting(a->N, &np, &w->nft);
		/* pieces gathered over parts that nftables treats alike are
		 * asked together; a different treatment asks the earlier ones
		 * first, with theirs */
		if (w->npp && (w->nft.drop || w->nft.dnat || w->nft.mark_set != prev.mark_set ||
			       w->nft.mark != prev.mark || strcmp(w->nft.why, prev.why))) {
			struct nft_out cur = w->nft;

			w->nft = prev;
			err = flush_pieces(w);
			w->nft = cur;
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
	if (!err && w->npp)
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

	for (size_t i = 0; i < w->n_pend; i++) {
		const struct pend *pd = &w->pend[i];
		const struct egress *e = pd->oif ? audit_egress(a, pd->oif) : NULL;
		int reaches = !pd->oif ? -3 : e && (e->kind == EG_CLOUD || e->kind == EG_TUNNEL) ? e->tenant : -4;
		struct range dr = { pd->lo, pd->hi };
		rp_u128 dst = dst_rep(w, &dr, 1, pd->oif);

		if (audit_seen(a, "unprotected", in, reaches, pd->oif))
			return 0;
		w->rc = pd->rc;
		w->rs = &pd->rs;
		for (size_t si = 0; si < w->src.n; si++) {
			const struct group *sg = &w->src.v[si];
			struct shapes s = { .n = 0 };
			uint32_t skey[NKEY] = { sg->key[1], 0, 0, 0, 0, 0 }, dkey[NKEY] = { 0xffffffff, 0, 0, 0, 0, 0 };

			if (sg->key[0] != pd->rc)
				continue;
			shape_add(&s, IPPROTO_TCP, 40000, 443, 0, 64);
			shape_add(&s, IPPROTO_UDP, 40000, 53, 0, 64);
			shapes_fixed(&s, w->family, &pd->rs);
			for (size_t k = 0; k < s.n; k++) {
				int v;

				a->res->paths++;
				if (!in_rshape(&pd->rs, s.v[k].proto, s.v[k].sport, s.v[k].dport,
					       s.v[k].proto == IPPROTO_TCP || s.v[k].proto == IPPROTO_UDP))
					continue;
				/* the program, asked as if it were attached: what it drops gets through */
				v = in->hook >= 0 ? verdict(w, skey, dkey, &s.v[k], sg->r[0].lo, dst) : 0;
				if (v < 0)
					return v;
				if (v)
					continue;
				if (report(w, sg->r, sg->n, dst, &s.v[k], reaches, pd->oif, dst, in->unprot))
					return 0;
			}
		}
	}
	return 0;
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
	return c->err = group_add(c->g, key, lo, hi);
}

static int cmp_u128(const void *a, const void *b)
{
	rp_u128 x = *(const rp_u128 *)a, y = *(const rp_u128 *)b;

	return x < y ? -1 : x > y;
}

static void rshapes_build(struct walk *w)
{
	const struct rt_l4 *l = &w->l4;
	uint8_t protos[24];
	size_t np = 0;

	w->n_rshapes = 0;
	if (!l->n_protos && l->n_dcuts <= 1 && l->n_scuts <= 1) {
		w->rshapes[w->n_rshapes++] = (struct rshape){ 0, 0, 65535, 0, 65535 };
		return;
	}
	/* the protocols the rules name, and the others as one */
	for (size_t i = 0; i < l->n_protos; i++)
		protos[np++] = l->protos[i];
	for (size_t i = 0; i < 4; i++) {
		static const uint8_t base[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 };
		bool seen = false;

		for (size_t k = 0; k < np; k++)
			seen |= protos[k] == base[i];
		if (!seen)
			protos[np++] = base[i];
	}
	protos[np++] = 0;
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
				if (w->n_rshapes < sizeof(w->rshapes) / sizeof(w->rshapes[0]))
					w->rshapes[w->n_rshapes++] = rs;
			}
	}
}

static int walk_family(struct actx *a, const struct ingress *in, int family, uint32_t mark, uint32_t *more,
		       size_t *n_more)
{
	struct walk w = { .a = a, .in = in, .family = family, .mark = mark };
	rp_u128 *cuts = NULL;
	size_t ncuts = 0, cap;
	int err;

	err = rt_cuts(a->M, family, &cuts, &ncuts);
	cap = ncuts;
	if (!err)
		err = nft_cuts(a->N, family, &cuts, &ncuts, &cap, &w.l4);
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
		struct rt_l4 rl;

		rt_l4_cuts(a->M, family, &rl);
		for (size_t i = 0; i < rl.n_protos && w.l4.n_protos < sizeof(w.l4.protos); i++)
			w.l4.protos[w.l4.n_protos++] = rl.protos[i];
		for (size_t i = 0; i < rl.n_dcuts && w.l4.n_dcuts < 64; i++)
			w.l4.dcuts[w.l4.n_dcuts++] = rl.dcuts[i];
		for (size_t i = 0; i < rl.n_scuts && w.l4.n_scuts < 64; i++)
			w.l4.scuts[w.l4.n_scuts++] = rl.scuts[i];
		/* sorted, unique, 0 first */
		qsort(w.l4.dcuts, w.l4.n_dcuts, sizeof(uint32_t), cmp_u32);
		qsort(w.l4.scuts, w.l4.n_scuts, sizeof(uint32_t), cmp_u32);
		for (int pass = 0; pass < 2; pass++) {
			uint32_t *v = pass ? w.l4.scuts : w.l4.dcuts;
			size_t *n = pass ? &w.l4.n_scuts : &w.l4.n_dcuts, k = 0;

			for (size_t i = 0; i < *n; i++)
				if (!k || v[k - 1] != v[i])
					v[k++] = v[i];
			*n = k;
			if (!*n || v[0]) {	/* 0 first */
				memmove(v + 1, v, *n * sizeof(*v));
				v[0] = 0;
				(*n)++;
			}
		}
	}
	rshapes_build(&w);
	/* the sources: (routing class, atom of the ingress tenant's trie);
	 * through a tunnel, only what its WireGuard peers' allowed IPs let in
	 * (cryptokey routing drops the rest before any program sees it) */
	{
		struct cover c[3];
		struct sgroups_ctx ctx = { .g = &w.src };
		const struct runs_cache *t = in->tenant >= 0 ? trie(a, in->tid, family) : NULL;
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
		err = each_elem(c, 3, 0, an_max(family), sgroup_cb, &ctx);
		free(wg);
		if (!err)
			err = ctx.err;
		if (err)
			goto out;
	}
	for (size_t r = 0; r < w.n_rtc && !err; r++) {
		w.rc = r;
		w.rep = w.rtc[r].lo;
		for (size_t s = 0; s < w.n_rshapes && !err; s++) {
			w.rs = &w.rshapes[s];
			err = route_class(&w);
		}
	}
	if (!err && !in->is_protected && !in->outside)
		err = unprotected_search(&w);
	for (size_t i = 0; i < w.n_more && *n_more < 8; i++)
		more[(*n_more)++] = w.more[i];
out:
	free(cuts);
	free(w.rtc);
	groups_free(&w.src);
	groups_free(&w.up_base);
	free(w.pp);
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
	 * never a verdict) */
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
