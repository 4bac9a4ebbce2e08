// SPDX-License-Identifier: GPL-2.0
/* audit_route.c — policy routing over address ranges (audit_route.h), over
 * the model audit_route_build.c builds (each table flattened into ranges).
 *
 * The rules are walked in priority order over the set of destinations
 * still undecided (net/core/fib_rules.c fib_rules_lookup): a lookup decides
 * the part of the set its table routes, a throw or a missing route leaves
 * it to the next rule, a goto splits the set.  ip_route_input_slow /
 * ip6_route_input then add what depends on the addresses themselves:
 * martians, local and broadcast, forwarding.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include "audit/audit_route_int.h"

/* ---- interval vectors ---- */

struct iv {
	rp_u128 lo, hi;
};

struct ivec {
	struct iv *v;
	size_t n, cap;
};

static int iv_push(struct ivec *s, rp_u128 lo, rp_u128 hi)
{
	if (s->n && s->v[s->n - 1].hi + 1 == lo && s->v[s->n - 1].hi != ~(rp_u128)0) {
		s->v[s->n - 1].hi = hi;
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct iv *p = realloc(s->v, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = (struct iv){ lo, hi };
	return 0;
}

/* ---- the rule walk (raw: fib_lookup) ---- */

struct raw_out {
	rp_u128 lo, hi;
	struct rt_out o;
	uint8_t type;
	const struct rt_res *res;	/* the route, NULL: none */
};

struct raw_vec {
	struct raw_out *v;
	size_t n, cap;
	int err;
};

static void raw_emit(struct raw_vec *s, rp_u128 lo, rp_u128 hi, uint8_t kind, const struct rt_res *res,
		     uint32_t table, uint32_t prio, const char *why)
{
	struct raw_out *o;

	if (s->err)
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct raw_out *p = realloc(s->v, cap * sizeof(*p));

		if (!p) {
			s->err = -ENOMEM;
			return;
		}
		s->v = p;
		s->cap = cap;
	}
	o = &s->v[s->n++];
	memset(o, 0, sizeof(*o));
	o->lo = lo;
	o->hi = hi;
	o->o.kind = kind;
	o->o.table = table;
	o->o.prio = prio;
	o->o.why = why;
	o->res = res;
	if (res) {
		o->type = res->type;
		o->o.n_oif = res->n_oif;
		memcpy(o->o.oif, res->oif, res->n_oif * sizeof(int));
	}
}

/* Do the rule's selectors other than the destination match p?  Its input
 * interface by name, as the kernel compares it: the loopback for the
 * gateway's own lookups (LOOPBACK_IFINDEX), else the model's interface of
 * that index; one the model does not know matches no rule's `iif`. */
static bool static_match(const struct rt_rule *r, const struct rt_pkt *p)
{
	const struct nl_fib_rule *x = &r->r;

	if (x->iif[0] && !(p->iif == LOOPBACK_IFINDEX ? r->iif_lo : r->iif_index && r->iif_index == p->iif))
		return false;
	if (x->oif[0])
		return false;	/* input lookups have no output interface */
	if (x->has_mark && ((x->fwmark ^ p->mark) & x->fwmask))
		return false;
	if (x->has_uid && x->uid_lo > 0)
		return false;	/* forwarded packets: uid 0 */
	if (x->src_len && (p->src < r->src_lo || p->src > r->src_hi))
		return false;
	if (x->ipproto && x->ipproto != p->proto)
		return false;
	if (x->has_sport && (p->sport < x->sport_lo || p->sport > x->sport_hi))
		return false;
	if (x->has_dport && (p->dport < x->dport_lo || p->dport > x->dport_hi))
		return false;
	return true;
}

static const char *reject_why(uint8_t type)
{
	return type == RTN_BLACKHOLE ? "blackhole route" : type == RTN_PROHIBIT ? "prohibit route" :
	       "unreachable route";
}

/* Route the undecided set `in` from rule index i on; what stays undecided
 * after the last rule has no route. */
static void walk_rules(const struct rt_model *m, const struct rt_pkt *p, size_t i, struct ivec *in,
		       struct raw_vec *out)
{
	int f = rt_fi(p->family);

	for (; i < m->n_rules[f] && in->n && !out->err; i++) {
		const struct rt_rule *r = &m->rules[f][i];
		bool st = static_match(r, p), inv = r->r.flags & FIB_RULE_INVERT;
		struct ivec match = { 0 }, rest = { 0 };

		/* A rule whose other selectors refuse p matches nothing of it
		 * (nor, inverted, everything: the loop below): most rules of a
		 * gateway name another input interface. */
		if (!st && !inv)
			continue;

		/* matched destinations: (st && dst in range), inverted if asked */
		for (size_t k = 0; k < in->n; k++) {
			rp_u128 lo = in->v[k].lo, hi = in->v[k].hi;
			rp_u128 a = r->r.dst_len ? r->dst_lo : 0, b = r->r.dst_len ? r->dst_hi : an_max(p->family);
			rp_u128 ilo = lo > a ? lo : a, ihi = hi < b ? hi : b;
			bool overlap = ilo <= ihi;

			if (!st) {
				iv_push(inv ? &match : &rest, lo, hi);
				continue;
			}
			if (!overlap) {
				iv_push(inv ? &match : &rest, lo, hi);
				continue;
			}
			if (lo < ilo)
				iv_push(inv ? &match : &rest, lo, ilo - 1);
			iv_push(inv ? &rest : &match, ilo, ihi);
			if (ihi < hi)
				iv_push(inv ? &match : &rest, ihi + 1, hi);
		}
		if (!match.n) {
			free(match.v);
			free(rest.v);
			continue;
		}
		switch (r->r.action) {
		case FR_ACT_NOP:
			/* matched or not, on to the next rule */
			free(match.v);
			free(rest.v);
			continue;
		case FR_ACT_BLACKHOLE:
		case FR_ACT_UNREACHABLE:
		case FR_ACT_PROHIBIT:
			for (size_t k = 0; k < match.n; k++)
				raw_emit(out, match.v[k].lo, match.v[k].hi, RT_DROP, NULL, 0, r->r.priority,
					 r->r.action == FR_ACT_BLACKHOLE ? "blackhole rule" :
					 r->r.action == FR_ACT_PROHIBIT ? "prohibit rule" : "unreachable rule");
			break;
		case FR_ACT_GOTO:
			if (r->target < 0) {	/* unresolved: the rule is skipped */
				free(match.v);
				free(rest.v);
				continue;
			}
			walk_rules(m, p, (size_t)r->target, &match, out);
			break;
		case FR_ACT_TO_TBL: {
			const struct rt_table *t = r->table >= 0 ? &m->tables[r->table] : NULL;

			for (size_t k = 0; k < match.n; k++) {
				rp_u128 lo = match.v[k].lo, hi = match.v[k].hi;
				size_t e;

				if (!t) {
					iv_push(&rest, lo, hi);
					continue;
				}
				{	/* the first entry that ends at or after lo */
					size_t a = 0, b = t->n;

					while (a < b) {
						size_t mid = a + (b - a) / 2;

						if (t->e[mid].hi < lo)
							a = mid + 1;
						else
							b = mid;
					}
					e = a;
				}
				for (; e < t->n && t->e[e].lo <= hi; e++) {
					rp_u128 s = t->e[e].lo > lo ? t->e[e].lo : lo, x = t->e[e].hi < hi ? t->e[e].hi : hi;
					const struct rt_res *res = t->e[e].res >= 0 ? &t->res[t->e[e].res] : NULL;

					bool reject = res && (res->type == RTN_BLACKHOLE ||
							      res->type == RTN_UNREACHABLE ||
							      res->type == RTN_PROHIBIT);

					/* a throw or no route goes on; a successful
					 * lookup (not a reject) may be suppressed */
					if (!res || res->type == RTN_THROW ||
					    (!reject && r->r.suppress_prefixlen >= 0 &&
					     res->plen <= r->r.suppress_prefixlen)) {
						iv_push(&rest, s, x);
						continue;
					}
					switch (res->type) {
					case RTN_UNICAST:
						raw_emit(out, s, x, RT_FWD, res, t->id, r->r.priority, NULL);
						break;
					case RTN_BLACKHOLE: case RTN_UNREACHABLE: case RTN_PROHIBIT:
						raw_emit(out, s, x, RT_DROP, res, t->id, r->r.priority,
							 reject_why(res->type));
						break;
					default:	/* local, broadcast, anycast, multicast */
						raw_emit(out, s, x, RT_LOCAL, res, t->id, r->r.priority, NULL);
						break;
					}
				}
			}
			/* rest must stay sorted: merge what the lookup left */
			break;
		}
		}
		free(match.v);
		/* sort rest (pieces came from two sources) */
		for (size_t a = 1; a < rest.n; a++)
			for (size_t b = a; b > 0 && rest.v[b - 1].lo > rest.v[b].lo; b--) {
				struct iv tmp = rest.v[b];

				rest.v[b] = rest.v[b - 1];
				rest.v[b - 1] = tmp;
			}
		free(in->v);
		*in = rest;
	}
	for (size_t k = 0; k < in->n; k++)
		raw_emit(out, in->v[k].lo, in->v[k].hi, RT_DROP, NULL, 0, 0, "no route");
	free(in->v);
	memset(in, 0, sizeof(*in));
}

static int cmp_raw(const void *a, const void *b)
{
	const struct raw_out *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int raw_partition(const struct rt_model *m, const struct rt_pkt *p, rp_u128 lo, rp_u128 hi,
			 struct raw_vec *out)
{
	struct ivec in = { 0 };

	if (iv_push(&in, lo, hi))
		return -ENOMEM;
	walk_rules(m, p, 0, &in, out);
	if (out->err)
		return out->err;
	qsort(out->v, out->n, sizeof(*out->v), cmp_raw);
	return 0;
}

/* ---- the input path ---- */

/* Special destination and source ranges of the input path. */
struct special {
	rp_u128 lo, hi;
	uint8_t kind;
	const char *why;
};

/* ip_route_input_slow (IPv4) and ip6_rcv_core (IPv6) before any lookup;
 * sorted.  IPv6 link-local destinations are looked up only among the
 * ingress interface's own routes: never forwarded to another link, which
 * is all the audit asks. */
static size_t specials_dst(int family, struct special *s)
{
	size_t n = 0;

	if (family == AF_INET) {
		s[n++] = (struct special){ 0, 0x00ffffff, RT_DROP, "martian destination" };
		s[n++] = (struct special){ 0x7f000000, 0x7fffffff, RT_DROP, "loopback destination" };
		s[n++] = (struct special){ 0xe0000000, 0xefffffff, RT_LOCAL, "multicast" };
		s[n++] = (struct special){ 0xffffffff, 0xffffffff, RT_LOCAL, "limited broadcast" };
	} else {
		s[n++] = (struct special){ 1, 1, RT_DROP, "loopback destination" };
		s[n++] = (struct special){ (rp_u128)0xfe80 << 112, ((rp_u128)0xfec0 << 112) - 1, RT_DROP,
					   "link-local destination (never forwarded to another link)" };
		s[n++] = (struct special){ (rp_u128)0xff00 << 112, ((rp_u128)0xff02 << 112) - 1, RT_DROP,
					   "multicast of scope 0 or 1" };
		s[n++] = (struct special){ (rp_u128)0xff02 << 112, an_max(AF_INET6), RT_LOCAL, "multicast" };
	}
	return n;
}

/* Sources dropped whatever the destination. */
static const char *martian_src(int family, rp_u128 s)
{
	if (family == AF_INET) {
		if ((s >> 24) == 0 || (s >> 28) == 0xe || s == 0xffffffff)
			return "martian source";
		if ((s >> 24) == 127)
			return "loopback source";
		return NULL;
	}
	if (s == 1 || (s >> 120) == 0xff)
		return "martian source";
	return NULL;
}

/* IPv6 sources ip6_forward refuses to forward to another link. */
static bool v6_noforward_src(rp_u128 s)
{
	return s == 0 || (s >> 118) == (0xfe80 >> 6);
}

struct part_ctx {
	rt_cb cb;
	void *arg;
	struct rt_out pend;
	rp_u128 plo, phi;
	bool have;
	int err;
};

static bool out_same(const struct rt_out *a, const struct rt_out *b)
{
	return a->kind == b->kind && a->n_oif == b->n_oif && a->table == b->table && a->prio == b->prio &&
	       a->why == b->why && !memcmp(a->oif, b->oif, a->n_oif * sizeof(int));
}

static void part_emit(struct part_ctx *c, rp_u128 lo, rp_u128 hi, const struct rt_out *o)
{
	if (c->err)
		return;
	if (c->have && c->phi + 1 == lo && out_same(&c->pend, o)) {
		c->phi = hi;
		return;
	}
	if (c->have)
		c->err = c->cb(c->plo, c->phi, &c->pend, c->arg);
	c->pend = *o;
	c->plo = lo;
	c->phi = hi;
	c->have = true;
}

/* What the input path makes of a raw outcome (IPv4 ip_route_input_slow,
 * IPv6 ip6_route_input + ip6_forward). */
static void finish(const struct rt_model *m, const struct rt_pkt *p, const struct raw_out *r, struct rt_out *o)
{
	*o = r->o;
	if (o->kind == RT_FWD) {
		const struct rt_dev *d = rt_dev_of(m, p->iif);
		bool fwd = p->family == AF_INET ? d && d->fwd4 : m->fwd6;

		if (!fwd) {
			o->kind = RT_DROP;
			o->why = "forwarding is off";
		} else if (p->family == AF_INET6 && v6_noforward_src(p->src)) {
			o->kind = RT_DROP;
			o->why = "unspecified or link-local source (not forwarded to another link)";
		}
	}
	if (o->kind != RT_FWD)
		o->n_oif = 0;
}

static void route_range(const struct rt_model *m, const struct rt_pkt *p, rp_u128 lo, rp_u128 hi,
			struct part_ctx *c)
{
	struct raw_vec rv = { 0 };

	c->err = raw_partition(m, p, lo, hi, &rv);
	for (size_t k = 0; k < rv.n && !c->err; k++) {
		struct rt_out o;

		finish(m, p, &rv.v[k], &o);
		part_emit(c, rv.v[k].lo, rv.v[k].hi, &o);
	}
	free(rv.v);
}

int rt_partition(const struct rt_model *m, const struct rt_pkt *p, rp_u128 lo, rp_u128 hi, rt_cb cb,
		 void *arg)
{
	struct special sp[8];
	size_t ns = specials_dst(p->family, sp);
	struct part_ctx c = { .cb = cb, .arg = arg };
	const char *ms = martian_src(p->family, p->src);
	rp_u128 cur = lo;
	bool end = false;

	if (ms) {
		struct rt_out o = { .kind = RT_DROP, .why = ms };

		return cb(lo, hi, &o, arg);
	}
	/* the specials in order (sorted), the ranges between them through
	 * the rules */
	for (size_t s = 0; s < ns && !end && !c.err; s++) {
		if (sp[s].hi < cur)
			continue;
		if (sp[s].lo > hi)
			break;
		if (sp[s].lo > cur)
			route_range(m, p, cur, sp[s].lo - 1 < hi ? sp[s].lo - 1 : hi, &c);
		{
			struct rt_out o = { .kind = sp[s].kind, .why = sp[s].why };

			part_emit(&c, sp[s].lo > cur ? sp[s].lo : cur, sp[s].hi < hi ? sp[s].hi : hi, &o);
		}
		if (sp[s].hi >= hi)
			end = true;
		else
			cur = sp[s].hi + 1;
	}
	if (!end && !c.err)
		route_range(m, p, cur, hi, &c);
	if (c.have && !c.err)
		c.err = cb(c.plo, c.phi, &c.pend, c.arg);
	return c.err;
}

struct one_ctx {
	struct rt_out *o;
};

static int one_cb(rp_u128 lo, rp_u128 hi, const struct rt_out *o, void *arg)
{
	*((struct one_ctx *)arg)->o = *o;
	return 0;
}

void rt_route(const struct rt_model *m, const struct rt_pkt *p, rp_u128 dst, struct rt_out *o)
{
	struct one_ctx c = { o };

	memset(o, 0, sizeof(*o));
	o->why = "out of memory";
	rt_partition(m, p, dst, dst, one_cb, &c);
}

size_t rt_src_sig(const struct rt_model *m, const struct rt_pkt *p, uint32_t *sig, size_t max)
{
	int f = rt_fi(p->family);
	const char *ms = martian_src(p->family, p->src);
	size_t n = 0;

	if (!max)
		return 0;
	/* what martian_src and finish() read: the kind of source */
	sig[n++] = (ms ? (!strcmp(ms, "martian source") ? 1u : 2u) : 0u) |
		   (p->family == AF_INET6 && v6_noforward_src(p->src) ? 4u : 0u);
	/* what static_match reads: the rules whose `from` holds it */
	for (size_t i = 0; i < m->n_rules[f]; i++) {
		const struct rt_rule *r = &m->rules[f][i];

		if (!r->r.src_len || p->src < r->src_lo || p->src > r->src_hi)
			continue;
		if (n == max)
			return 0;
		sig[n++] = (uint32_t)i + 1;
	}
	return n;
}

/* ---- reverse path (IPv4 fib_validate_source) ---- */

static bool is_local_addr(const struct rt_model *m, rp_u128 a)
{
	int t = rt_table_index(m, AF_INET, RT_TABLE_LOCAL);
	const struct rt_table *tb;

	if (t < 0)
		return false;
	tb = &m->tables[t];
	for (size_t e = 0; e < tb->n; e++)
		if (tb->e[e].lo <= a && a <= tb->e[e].hi)
			return tb->e[e].res >= 0 && tb->res[tb->e[e].res].type == RTN_LOCAL;
	return false;
}

bool rt_rpf_ok(const struct rt_model *m, const struct rt_pkt *p, rp_u128 dst, int oif, const char **why)
{
	const struct rt_dev *d = rt_dev_of(m, p->iif);
	struct rt_pkt rp = { .family = AF_INET, .iif = oif ? oif : LOOPBACK_IFINDEX, .src = dst,
			     .proto = p->proto, .sport = p->dport, .dport = p->sport };
	struct raw_vec rv = { 0 };
	int rpf = d ? d->rpf4 : 0;
	bool ok = true, dev_match = false;
	uint8_t type;

	*why = NULL;
	if (p->family != AF_INET || !d)
		return true;
	if (!rpf && oif != p->iif) {
		if (d->accept_local4)
			return true;
		if (m->custom_rules4 || m->custom_local4)
			goto full;
		if (is_local_addr(m, p->src)) {
			*why = "source is one of the gateway's addresses";
			return false;
		}
		return true;
	}
full:
	if (raw_partition(m, &rp, p->src, p->src, &rv) || !rv.n) {
		free(rv.v);
		*why = "reverse-path lookup failed";
		return false;
	}
	type = rv.v[0].type;
	if (rv.v[0].o.kind == RT_DROP) {	/* no route, or a reject: last resort */
		ok = !rpf;
		*why = ok ? NULL : "reverse-path filter: no route back to the source";
		goto out;
	}
	if (type != RTN_UNICAST && !(type == RTN_LOCAL && d->accept_local4)) {
		ok = false;
		*why = type == RTN_LOCAL ? "source is one of the gateway's addresses" : "source is a broadcast address";
		goto out;
	}
	for (unsigned k = 0; rv.v[0].res && k < rv.v[0].res->n_any; k++)
		dev_match |= rv.v[0].res->any_oif[k] == p->iif;
	if (dev_match)
		goto out;
	if (!d->has_addr4) {
		ok = !rpf;
		*why = ok ? NULL : "reverse-path filter: no IPv4 address on the ingress interface";
		goto out;
	}
	if (rpf == 1) {
		ok = false;
		*why = "reverse-path filter (strict): the route back leaves by another interface";
	}
out:
	free(rv.v);
	return ok;
}

/* ---- cuts ---- */

int rt_cuts(const struct rt_model *m, int family, rp_u128 **v, size_t *n)
{
	int f = rt_fi(family), err = 0;
	size_t cap = 0, k = 0;
	struct special sp[8];
	size_t ns = specials_dst(family, sp);
	struct rt_pkt lo_pkt = { .family = family, .iif = LOOPBACK_IFINDEX };
	bool *reach = calloc(m->n_tables + 1, sizeof(*reach));

	*v = NULL;
	*n = 0;
	if (!reach)
		return -ENOMEM;
	err = rt_push_cut(v, n, &cap, 0);
	for (size_t i = 0; i < ns && !err; i++) {
		err = rt_push_cut(v, n, &cap, sp[i].lo);
		if (!err && sp[i].hi < an_max(family))
			err = rt_push_cut(v, n, &cap, sp[i].hi + 1);
	}
	/* martian sources */
	if (family == AF_INET6) {
		static const rp_u128 ms6[] = { 1, 2, (rp_u128)0xfe80 << 112, (rp_u128)0xfec0 << 112,
					       (rp_u128)0xff00 << 112 };

		for (size_t i = 0; i < 5 && !err; i++)
			err = rt_push_cut(v, n, &cap, ms6[i]);
	}
	if (family == AF_INET) {
		static const uint32_t ms[] = { 0x01000000, 0x7f000000, 0x80000000, 0xe0000000, 0xf0000000,
					       0xffffffff };

		for (size_t i = 0; i < 6 && !err; i++)
			err = rt_push_cut(v, n, &cap, ms[i]);
	}
	for (size_t i = 0; i < m->n_rules[f] && !err; i++) {
		const struct rt_rule *r = &m->rules[f][i];

		if (r->r.src_len) {
			err = rt_push_cut(v, n, &cap, r->src_lo);
			if (!err && r->src_hi < an_max(family))
				err = rt_push_cut(v, n, &cap, r->src_hi + 1);
		}
		if (!err && r->r.dst_len) {
			err = rt_push_cut(v, n, &cap, r->dst_lo);
			if (!err && r->dst_hi < an_max(family))
				err = rt_push_cut(v, n, &cap, r->dst_hi + 1);
		}
		/* tables a lookup from the gateway itself may reach (the
		 * reverse-path lookup): the iif and mark as it has them */
		if (r->table >= 0 && (!r->r.iif[0] || !strcmp(r->r.iif, "lo")) && !r->r.oif[0] &&
		    (!r->r.has_mark || !((r->r.fwmark ^ lo_pkt.mark) & r->r.fwmask) || (r->r.flags & FIB_RULE_INVERT)))
			reach[r->table] = true;
	}
	for (size_t t = 0; t < m->n_tables && !err; t++) {
		if (!reach[t] || m->tables[t].family != family)
			continue;
		for (size_t e = 0; e < m->tables[t].n && !err; e++)
			err = rt_push_cut(v, n, &cap, m->tables[t].e[e].lo);
	}
	free(reach);
	if (err) {
		free(*v);
		*v = NULL;
		*n = 0;
		return err;
	}
	qsort(*v, *n, sizeof(**v), rt_cmp_u128);
	for (size_t i = 0; i < *n; i++)
		if (!k || (*v)[k - 1] != (*v)[i])
			(*v)[k++] = (*v)[i];
	*n = k;
	return 0;
}

/* ---- protocol and port cuts ---- */

void rt_l4_cuts(const struct rt_model *m, int family, struct rt_l4 *out)
{
	int f = rt_fi(family);

	memset(out, 0, sizeof(*out));
	rt_l4_set(out->dcuts, 0);
	rt_l4_set(out->scuts, 0);
	for (size_t i = 0; i < m->n_rules[f]; i++) {
		const struct nl_fib_rule *r = &m->rules[f][i].r;

		if (r->ipproto)
			rt_l4_set(out->protos, r->ipproto);
		if (r->has_dport) {
			rt_l4_set(out->dcuts, r->dport_lo);
			if (r->dport_hi < 65535)
				rt_l4_set(out->dcuts, r->dport_hi + 1u);
		}
		if (r->has_sport) {
			rt_l4_set(out->scuts, r->sport_lo);
			if (r->sport_hi < 65535)
				rt_l4_set(out->scuts, r->sport_hi + 1u);
		}
	}
}

/* ---- a source that passes ---- */

bool rt_rpf_find(const struct rt_model *m, const struct rt_pkt *p, rp_u128 dst, int oif,
		 const rp_u128 (*v)[2], size_t n, rp_u128 *src)
{
	struct rt_pkt q = *p;
	const char *why;
	int lt = rt_table_index(m, AF_INET, RT_TABLE_LOCAL);

	for (size_t i = 0; i < n; i++) {
		struct rt_pkt rp = { .family = AF_INET, .iif = oif ? oif : LOOPBACK_IFINDEX, .src = dst,
				     .proto = p->proto, .sport = p->dport, .dport = p->sport };
		struct raw_vec rv = { 0 };
		rp_u128 *cuts;
		size_t nc = 0;

		if (p->family != AF_INET) {
			*src = v[i][0];
			return true;
		}
		if (raw_partition(m, &rp, v[i][0], v[i][1], &rv))
			return false;
		cuts = calloc(2 * rv.n + 2 * (lt >= 0 ? m->tables[lt].n : 0) + 2, sizeof(*cuts));
		if (!cuts) {
			free(rv.v);
			return false;
		}
		for (size_t k = 0; k < rv.n; k++)
			cuts[nc++] = rv.v[k].lo;
		for (size_t k = 0; lt >= 0 && k < m->tables[lt].n; k++) {
			const struct rt_ent *e = &m->tables[lt].e[k];

			if (e->lo >= v[i][0] && e->lo <= v[i][1])
				cuts[nc++] = e->lo;
			if (e->hi < v[i][1] && e->hi + 1 >= v[i][0])
				cuts[nc++] = e->hi + 1;
		}
		free(rv.v);
		qsort(cuts, nc, sizeof(*cuts), rt_cmp_u128);
		for (size_t k = 0; k < nc; k++) {
			q.src = cuts[k];
			if (rt_rpf_ok(m, &q, dst, oif, &why)) {
				*src = cuts[k];
				free(cuts);
				return true;
			}
		}
		free(cuts);
	}
	return false;
}
