// SPDX-License-Identifier: GPL-2.0
/* audit_nft.c — the nftables ruleset as it bears on new forwarded packets
 * (audit_nft.h), from `nft -j list ruleset`.
 *
 * Matches understood: meta iifname/oifname (names, sets, a trailing '*'),
 * meta l4proto / ip protocol / ip6 nexthdr, meta nfproto, ip/ip6
 * saddr/daddr (address, prefix, range, set), tcp/udp/th sport/dport
 * (number, range, set), meta mark, ct mark (also masked), ct direction,
 * ct state; each with ==, != and the orderings.  Statements: accept, drop,
 * reject, jump, goto, return, notrack, dnat, redirect, meta mark set (a
 * number, ct mark, or a map on iifname), ct mark set (likewise), and those
 * that change nothing a route depends on (counter, log, ct zone, masquerade,
 * snat, limit, quota, set updates).  Anything else in a chain that can
 * rewrite what the routing sees is refused at build time.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <json-c/json.h>
#include "audit/audit_nft.h"

enum fld { F_IIF, F_OIF, F_L4, F_NFPROTO, F_SADDR, F_DADDR, F_SPORT, F_DPORT, F_MARK, F_CTMARK, F_CTDIR,
	   F_CTSTATE };
enum op { OP_EQ, OP_NE, OP_LT, OP_GT, OP_LE, OP_GE };

/* A value: a range of numbers or addresses, or a name (interface, state). */
struct nval {
	bool is_name;
	char name[32];
	int family;			/* addresses: AF_INET/AF_INET6; 0 numbers */
	rp_u128 lo, hi;
};

struct nmatch {
	enum fld f;
	enum op op;
	int family;			/* payload ip/ip6: the packet must be of it; 0 any */
	uint8_t l4;			/* tcp/udp sport/dport: that protocol; 255: th (tcp or udp) */
	uint32_t mask;			/* & on the left, 0xffffffff none */
	struct nval *v;
	size_t n;
	bool iif_any;			/* F_IIF: a name of v holds the bound interface (bind_iif) */
};

enum skind { S_ACCEPT, S_DROP, S_RETURN, S_JUMP, S_GOTO, S_NOTRACK, S_DNAT, S_REDIRECT, S_MARK, S_CTMARK,
	     S_NOP };

struct nstmt {
	enum skind k;
	char target[64];		/* jump/goto */
	bool from_ct;			/* mark := ct mark */
	bool map_iif;			/* value from a map on iifname */
	struct { char name[32]; uint32_t val; } *map;
	size_t n_map;
	uint32_t iif_val;		/* map_iif: the bound interface's value (bind_iif) */
	uint32_t value;
	int family;			/* dnat address */
	rp_u128 addr;
	bool has_addr, has_port;
	uint16_t port;
};

struct nrule {
	struct nmatch *m;
	size_t nm;
	struct nstmt *s;
	size_t ns;
	bool opaque;			/* a match the model cannot read: never taken */
	char where[128];
};

/* H_LOCAL: input and output, which no forwarded packet goes through (their
 * rules are not read: e.g. [ha]'s source rewrite of the gateway's own
 * WireGuard packets, ha/ha_nft.c) */
enum hook { H_NONE, H_PRE, H_FWD, H_POST, H_INGRESS, H_LOCAL, H_OTHER };

struct nchain {
	char family[8], table[64], name[64];
	enum hook hook;
	bool nat;
	int prio;
	bool drop_policy;
	char devices[8][16];		/* netdev ingress */
	size_t n_devices;
	struct nrule *r;
	size_t nr;
};

struct nft_model {
	struct nchain *c;
	size_t nc;
	size_t rules;
	bool reads_saddr;		/* a rule matches on the source address */
	/* the input interface last asked about, and the answers that
	 * depend on it alone, in each match and map (bind_iif) */
	bool bound, bound_null;
	char *bound_iif;
};

/* ---- reading values ---- */

static bool addr_val(const char *s, struct nval *v)
{
	struct rp_prefix p;

	memset(v, 0, sizeof(*v));
	if (prefix_parse(s, &p))
		return false;
	v->family = p.family;
	an_prefix_range(&p, &v->lo, &v->hi);
	return true;
}

static bool one_val(json_object *o, bool addr, struct nval *v)
{
	json_object *x;

	memset(v, 0, sizeof(*v));
	v->hi = 0;
	if (json_object_is_type(o, json_type_int)) {
		v->lo = v->hi = (rp_u128)(uint64_t)json_object_get_int64(o);
		return true;
	}
	if (json_object_is_type(o, json_type_string)) {
		const char *s = json_object_get_string(o);

		if (addr)
			return addr_val(s, v);
		/* names: interfaces, protocols, states, directions */
		if (!strcmp(s, "tcp")) { v->lo = v->hi = IPPROTO_TCP; return true; }
		if (!strcmp(s, "udp")) { v->lo = v->hi = IPPROTO_UDP; return true; }
		if (!strcmp(s, "icmp")) { v->lo = v->hi = IPPROTO_ICMP; return true; }
		if (!strcmp(s, "ipv6-icmp") || !strcmp(s, "icmpv6")) { v->lo = v->hi = IPPROTO_ICMPV6; return true; }
		v->is_name = true;
		snprintf(v->name, sizeof(v->name), "%s", s);
		return true;
	}
	if (json_object_object_get_ex(o, "prefix", &x)) {
		json_object *a, *l;
		char buf[80];

		if (!json_object_object_get_ex(x, "addr", &a) || !json_object_object_get_ex(x, "len", &l))
			return false;
		if (json_object_is_type(a, json_type_int)) {	/* a masked number (ct mark) */
			uint32_t n = (uint32_t)json_object_get_int64(a), len = (uint32_t)json_object_get_int(l);
			uint32_t m = len ? 0xffffffffu << (32 - len) : 0;

			v->lo = n & m;
			v->hi = n | ~m;
			return true;
		}
		snprintf(buf, sizeof(buf), "%s/%d", json_object_get_string(a), json_object_get_int(l));
		return addr_val(buf, v);
	}
	if (json_object_object_get_ex(o, "range", &x) && json_object_array_length(x) == 2) {
		struct nval a, b;

		if (!one_val(json_object_array_get_idx(x, 0), addr, &a) ||
		    !one_val(json_object_array_get_idx(x, 1), addr, &b) || a.is_name || b.is_name)
			return false;
		*v = a;
		v->hi = b.hi;
		return true;
	}
	return false;
}

/* A right-hand side: a value or a set of them; false when not readable. */
static bool vals(json_object *o, bool addr, struct nmatch *m)
{
	json_object *set;
	size_t n = 1;

	if (json_object_object_get_ex(o, "set", &set) && json_object_is_type(set, json_type_array))
		n = json_object_array_length(set);
	else
		set = NULL;
	m->v = calloc(n + 1, sizeof(*m->v));
	if (!m->v)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!one_val(set ? json_object_array_get_idx(set, i) : o, addr, &m->v[m->n++]))
			return false;
	return true;
}

static bool key_is(json_object *o, const char *kind, const char *key)
{
	json_object *k, *x;

	return json_object_object_get_ex(o, kind, &k) && json_object_object_get_ex(k, "key", &x) &&
	       !strcmp(json_object_get_string(x), key);
}

/* A match expression; false when the model cannot read it. */
static bool read_match(json_object *mo, struct nmatch *m)
{
	json_object *op, *left, *right, *p, *amp;
	const char *o;

	memset(m, 0, sizeof(*m));
	m->mask = 0xffffffffu;
	if (!json_object_object_get_ex(mo, "op", &op) || !json_object_object_get_ex(mo, "left", &left) ||
	    !json_object_object_get_ex(mo, "right", &right))
		return false;
	o = json_object_get_string(op);
	m->op = !strcmp(o, "==") || !strcmp(o, "in") ? OP_EQ : !strcmp(o, "!=") ? OP_NE : !strcmp(o, "<") ? OP_LT :
		!strcmp(o, ">") ? OP_GT : !strcmp(o, "<=") ? OP_LE : !strcmp(o, ">=") ? OP_GE : -1;
	if ((int)m->op < 0)
		return false;
	if (json_object_object_get_ex(left, "&", &amp) && json_object_array_length(amp) == 2 &&
	    json_object_is_type(json_object_array_get_idx(amp, 1), json_type_int)) {
		m->mask = (uint32_t)json_object_get_int64(json_object_array_get_idx(amp, 1));
		left = json_object_array_get_idx(amp, 0);
	}
	if (key_is(left, "meta", "iifname") || key_is(left, "meta", "iif"))
		m->f = F_IIF;
	else if (key_is(left, "meta", "oifname") || key_is(left, "meta", "oif"))
		m->f = F_OIF;
	else if (key_is(left, "meta", "l4proto"))
		m->f = F_L4;
	else if (key_is(left, "meta", "nfproto"))
		m->f = F_NFPROTO;
	else if (key_is(left, "meta", "mark"))
		m->f = F_MARK;
	else if (key_is(left, "ct", "mark"))
		m->f = F_CTMARK;
	else if (key_is(left, "ct", "direction"))
		m->f = F_CTDIR;
	else if (key_is(left, "ct", "state"))
		m->f = F_CTSTATE;
	else if (json_object_object_get_ex(left, "payload", &p)) {
		json_object *pr, *fl;
		const char *proto, *field;

		if (!json_object_object_get_ex(p, "protocol", &pr) || !json_object_object_get_ex(p, "field", &fl))
			return false;
		proto = json_object_get_string(pr);
		field = json_object_get_string(fl);
		if ((!strcmp(proto, "ip") || !strcmp(proto, "ip6")) &&
		    (!strcmp(field, "saddr") || !strcmp(field, "daddr"))) {
			m->f = field[0] == 's' ? F_SADDR : F_DADDR;
			m->family = !strcmp(proto, "ip") ? AF_INET : AF_INET6;
			return vals(right, true, m);
		}
		if ((!strcmp(proto, "ip") && !strcmp(field, "protocol")) ||
		    (!strcmp(proto, "ip6") && !strcmp(field, "nexthdr"))) {
			m->f = F_L4;
			m->family = !strcmp(proto, "ip") ? AF_INET : AF_INET6;
			return vals(right, false, m);
		}
		if ((!strcmp(proto, "tcp") || !strcmp(proto, "udp") || !strcmp(proto, "th")) &&
		    (!strcmp(field, "sport") || !strcmp(field, "dport"))) {
			m->f = field[0] == 's' ? F_SPORT : F_DPORT;
			m->l4 = !strcmp(proto, "tcp") ? IPPROTO_TCP : !strcmp(proto, "udp") ? IPPROTO_UDP : 255;
			return vals(right, false, m);
		}
		return false;
	} else {
		return false;
	}
	return vals(right, false, m);
}

/* A mark value: a number, ct mark, or a map on iifname. */
static bool read_markval(json_object *v, struct nstmt *s)
{
	json_object *map, *key, *data, *set;

	if (json_object_is_type(v, json_type_int)) {
		s->value = (uint32_t)json_object_get_int64(v);
		return true;
	}
	if (key_is(v, "ct", "mark")) {
		s->from_ct = true;
		return true;
	}
	if (json_object_object_get_ex(v, "map", &map) && json_object_object_get_ex(map, "key", &key) &&
	    key_is(key, "meta", "iifname") && json_object_object_get_ex(map, "data", &data) &&
	    json_object_object_get_ex(data, "set", &set)) {
		size_t n = json_object_array_length(set);

		s->map_iif = true;
		s->map = calloc(n + 1, sizeof(*s->map));
		if (!s->map)
			return false;
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(set, i);

			if (json_object_array_length(e) != 2)
				return false;
			snprintf(s->map[s->n_map].name, sizeof(s->map[0].name), "%s",
				 json_object_get_string(json_object_array_get_idx(e, 0)));
			s->map[s->n_map++].val = (uint32_t)json_object_get_int64(json_object_array_get_idx(e, 1));
		}
		return true;
	}
	return false;
}

/* A statement.  *danger: it rewrites or redirects and could not be read. */
static bool read_stmt(json_object *so, struct nstmt *s, bool *routing)
{
	json_object *x, *k;

	memset(s, 0, sizeof(*s));
	*routing = false;
	json_object_object_foreach(so, name, val) {
		if (!strcmp(name, "accept")) { s->k = S_ACCEPT; return true; }
		if (!strcmp(name, "drop") || !strcmp(name, "reject")) { s->k = S_DROP; return true; }
		if (!strcmp(name, "return")) { s->k = S_RETURN; return true; }
		if (!strcmp(name, "jump") || !strcmp(name, "goto")) {
			s->k = name[0] == 'j' ? S_JUMP : S_GOTO;
			if (!json_object_object_get_ex(val, "target", &x))
				return false;
			snprintf(s->target, sizeof(s->target), "%s", json_object_get_string(x));
			return true;
		}
		if (!strcmp(name, "notrack")) { s->k = S_NOTRACK; return true; }
		if (!strcmp(name, "counter") || !strcmp(name, "log") || !strcmp(name, "masquerade") ||
		    !strcmp(name, "snat") || !strcmp(name, "limit") || !strcmp(name, "quota") ||
		    !strcmp(name, "set") || !strcmp(name, "meter")) {
			s->k = S_NOP;
			return true;
		}
		if (!strcmp(name, "redirect")) { s->k = S_REDIRECT; *routing = true; return true; }
		if (!strcmp(name, "dnat")) {
			*routing = true;
			s->k = S_DNAT;
			if (json_object_object_get_ex(val, "addr", &x)) {
				struct nval v;

				if (!json_object_is_type(x, json_type_string) || !addr_val(json_object_get_string(x), &v) ||
				    v.lo != v.hi)
					return false;
				s->has_addr = true;
				s->family = v.family;
				s->addr = v.lo;
			}
			if (json_object_object_get_ex(val, "port", &x)) {
				if (!json_object_is_type(x, json_type_int))
					return false;
				s->has_port = true;
				s->port = (uint16_t)json_object_get_int(x);
			}
			return true;
		}
		if (!strcmp(name, "mangle")) {
			json_object *v;

			if (!json_object_object_get_ex(val, "key", &k) || !json_object_object_get_ex(val, "value", &v))
				return false;
			if (key_is(k, "ct", "zone")) {
				s->k = S_NOP;
				return true;
			}
			if (key_is(k, "meta", "mark") || key_is(k, "ct", "mark")) {
				s->k = key_is(k, "meta", "mark") ? S_MARK : S_CTMARK;
				*routing = s->k == S_MARK;
				return read_markval(v, s);
			}
			*routing = true;	/* a payload or another meta field rewritten */
			return false;
		}
		*routing = true;		/* queue, tproxy, fwd, dup, xt, … */
		return false;
	}
	return false;
}

/* ---- building ---- */

static struct nchain *chain_find(struct nft_model *n, const char *family, const char *table, const char *name)
{
	for (size_t i = 0; i < n->nc; i++)
		if (!strcmp(n->c[i].family, family) && !strcmp(n->c[i].table, table) && !strcmp(n->c[i].name, name))
			return &n->c[i];
	return NULL;
}

static int add_chain(struct nft_model *n, json_object *o, char *why, size_t whylen)
{
	json_object *x;
	struct nchain *c, *p = realloc(n->c, (n->nc + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	n->c = p;
	c = &p[n->nc++];
	memset(c, 0, sizeof(*c));
	if (json_object_object_get_ex(o, "family", &x))
		snprintf(c->family, sizeof(c->family), "%s", json_object_get_string(x));
	if (json_object_object_get_ex(o, "table", &x))
		snprintf(c->table, sizeof(c->table), "%s", json_object_get_string(x));
	if (json_object_object_get_ex(o, "name", &x))
		snprintf(c->name, sizeof(c->name), "%s", json_object_get_string(x));
	if (json_object_object_get_ex(o, "hook", &x)) {
		const char *h = json_object_get_string(x);

		c->hook = !strcmp(h, "prerouting") ? H_PRE : !strcmp(h, "forward") ? H_FWD :
			  !strcmp(h, "postrouting") ? H_POST : !strcmp(h, "ingress") ? H_INGRESS :
			  !strcmp(h, "input") || !strcmp(h, "output") ? H_LOCAL : H_OTHER;
	}
	if (json_object_object_get_ex(o, "type", &x))
		c->nat = !strcmp(json_object_get_string(x), "nat");
	if (json_object_object_get_ex(o, "prio", &x))
		c->prio = json_object_get_int(x);
	if (json_object_object_get_ex(o, "policy", &x))
		c->drop_policy = !strcmp(json_object_get_string(x), "drop");
	if (json_object_object_get_ex(o, "dev", &x)) {
		size_t nd = sizeof(c->devices) / sizeof(c->devices[0]);

		/* a device left out would be a chain the audit does not apply */
		if (json_object_is_type(x, json_type_array) && json_object_array_length(x) > nd) {
			snprintf(why, whylen, "nftables: chain %s %s %s hooks more than %zu devices: "
				 "the audit cannot judge this state", c->family, c->table, c->name, nd);
			return -E2BIG;
		}
		if (json_object_is_type(x, json_type_array))
			for (size_t i = 0; i < json_object_array_length(x); i++)
				snprintf(c->devices[c->n_devices++], 16, "%s",
					 json_object_get_string(json_object_array_get_idx(x, i)));
		else
			snprintf(c->devices[c->n_devices++], 16, "%s", json_object_get_string(x));
	}
	return 0;
}

static int add_rule(struct nft_model *n, json_object *o, char *why, size_t whylen)
{
	json_object *x, *expr;
	const char *fam = "", *tab = "", *ch = "";
	struct nchain *c;
	struct nrule *r;
	bool danger = false, ok = true;

	if (json_object_object_get_ex(o, "family", &x))
		fam = json_object_get_string(x);
	if (json_object_object_get_ex(o, "table", &x))
		tab = json_object_get_string(x);
	if (json_object_object_get_ex(o, "chain", &x))
		ch = json_object_get_string(x);
	c = chain_find(n, fam, tab, ch);
	if (!c || c->hook == H_LOCAL || !json_object_object_get_ex(o, "expr", &expr))
		return 0;
	r = realloc(c->r, (c->nr + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	c->r = r;
	r = &r[c->nr++];
	memset(r, 0, sizeof(*r));
	snprintf(r->where, sizeof(r->where), "table %s %s, chain %s", fam, tab, ch);
	n->rules++;
	for (size_t i = 0; i < json_object_array_length(expr); i++) {
		json_object *e = json_object_array_get_idx(expr, i), *mo;

		if (json_object_object_get_ex(e, "match", &mo)) {
			struct nmatch *m = realloc(r->m, (r->nm + 1) * sizeof(*m));

			if (!m)
				return -ENOMEM;
			r->m = m;
			if (read_match(mo, &m[r->nm]))
				r->nm++;
			else
				r->opaque = true;
		} else {
			struct nstmt *s = realloc(r->s, (r->ns + 1) * sizeof(*s));
			bool routing;

			if (!s)
				return -ENOMEM;
			r->s = s;
			if (read_stmt(e, &s[r->ns], &routing))
				r->ns++;
			else if (routing)
				ok = false;
			else
				r->opaque = true;	/* e.g. a statement that works as a match */
			danger |= routing;
		}
	}
	/* a rule that may rewrite what the routing sees must be read whole */
	if (!ok || (danger && r->opaque)) {
		snprintf(why, whylen, "nftables: %s (rule %d) may rewrite or redirect packets in a way the "
			 "audit does not model", r->where, (int)c->nr);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int cmp_chain(const void *a, const void *b)
{
	const struct nchain *x = a, *y = b;

	return x->prio < y->prio ? -1 : x->prio > y->prio;
}

int nft_build(struct nft_model **out, const char *json, char *why, size_t whylen)
{
	struct nft_model *n = calloc(1, sizeof(*n));
	json_object *root = NULL, *arr;
	int err = 0;

	if (!n)
		return -ENOMEM;
	*out = n;
	if (!json)
		return 0;
	root = json_tokener_parse(json);
	if (!root || !json_object_object_get_ex(root, "nftables", &arr)) {
		snprintf(why, whylen, "nftables: the ruleset could not be read (nft -j list ruleset)");
		err = -EOPNOTSUPP;
		goto out;
	}
	for (int pass = 0; pass < 2 && !err; pass++)
		for (size_t i = 0; i < json_object_array_length(arr) && !err; i++) {
			json_object *o = json_object_array_get_idx(arr, i), *x;

			if (pass == 0 && json_object_object_get_ex(o, "chain", &x))
				err = add_chain(n, x, why, whylen);
			if (pass == 1 && json_object_object_get_ex(o, "rule", &x))
				err = add_rule(n, x, why, whylen);
		}
	/* chains in the order the hooks run them; rules keep theirs */
	if (!err)
		qsort(n->c, n->nc, sizeof(*n->c), cmp_chain);
	for (size_t i = 0; !err && i < n->nc; i++)
		for (size_t j = 0; j < n->c[i].nr; j++)
			for (size_t k = 0; k < n->c[i].r[j].nm; k++)
				n->reads_saddr |= n->c[i].r[j].m[k].f == F_SADDR;
out:
	json_object_put(root);
	if (err) {
		nft_free(n);
		*out = NULL;
	}
	return err;
}

void nft_free(struct nft_model *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nc; i++) {
		for (size_t k = 0; k < n->c[i].nr; k++) {
			struct nrule *r = &n->c[i].r[k];

			for (size_t j = 0; j < r->nm; j++)
				free(r->m[j].v);
			for (size_t j = 0; j < r->ns; j++)
				free(r->s[j].map);
			free(r->m);
			free(r->s);
		}
		free(n->c[i].r);
	}
	free(n->c);
	free(n->bound_iif);
	free(n);
}

size_t nft_rules(const struct nft_model *n)
{
	return n ? n->rules : 0;
}

bool nft_reads_saddr(const struct nft_model *n)
{
	return n && n->reads_saddr;
}

/* ---- evaluating ---- */

struct state {
	const struct nft_pkt *p;
	const char *oif;
	uint32_t mark, ctmark;
	bool notrack;
	struct nft_out *o;
};

static bool name_eq(const char *pattern, const char *name)
{
	size_t n = strlen(pattern);

	if (n && pattern[n - 1] == '*')
		return !strncmp(pattern, name, n - 1);
	return !strcmp(pattern, name);
}

static bool cmp(enum op op, rp_u128 x, const struct nval *v)
{
	switch (op) {
	case OP_EQ: return x >= v->lo && x <= v->hi;
	case OP_NE: return x < v->lo || x > v->hi;
	case OP_LT: return x < v->lo;
	case OP_GT: return x > v->hi;
	case OP_LE: return x <= v->hi;
	case OP_GE: return x >= v->lo;
	}
	return false;
}

/* Does the match hold?  A set holds when one element does (== / in), or
 * when none does (!=). */
static bool match(const struct nmatch *m, const struct state *st)
{
	const struct nft_pkt *p = st->p;
	bool any = false, ported = p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP;
	rp_u128 x = 0;
	const char *name = NULL;

	if (m->family && m->family != p->family)
		return false;
	switch (m->f) {
	case F_IIF:	/* bound for p->iif by the caller (bind_iif) */
		return m->op == OP_NE ? !m->iif_any : m->iif_any;
	case F_OIF: name = st->oif ? st->oif : ""; break;
	case F_L4: x = p->proto; break;
	case F_NFPROTO: name = p->family == AF_INET ? "ipv4" : "ipv6"; break;
	case F_SADDR: x = p->src; break;
	case F_DADDR: x = p->dst; break;
	case F_SPORT:
	case F_DPORT:
		if (!ported || (m->l4 != 255 && m->l4 != p->proto))
			return false;
		x = m->f == F_SPORT ? p->sport : p->dport;
		break;
	case F_MARK: x = st->mark & m->mask; break;
	case F_CTMARK: x = st->ctmark & m->mask; break;
	case F_CTDIR: name = "original"; break;
	case F_CTSTATE: name = st->notrack ? "untracked" : "new"; break;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct nval *v = &m->v[i];
		bool hit;

		if (name || v->is_name)
			hit = name && v->is_name && name_eq(v->name, name);
		else if ((m->f == F_SADDR || m->f == F_DADDR) && v->family != p->family)
			hit = false;
		else
			hit = cmp(OP_EQ, x, v);
		if (name || v->is_name || m->op == OP_EQ || m->op == OP_NE) {
			if (hit) {
				any = true;
				break;
			}
			continue;
		}
		if (cmp(m->op, x, v)) {
			any = true;
			break;
		}
	}
	return m->op == OP_NE ? !any : any;
}

/* What depends on the input interface alone — whether an iifname match
 * holds, the value a map on iifname gives — computed once for iif and
 * kept in the model until another interface is asked about: the walk of
 * one ingress point asks about that one only, and rempart's own ruleset
 * names every tenant interface in a set or a map.  The answers are those
 * match() and run_chain() computed name by name (the model is not to be
 * shared between threads). */
static void bind_iif(const struct nft_model *cn, const char *iif)
{
	struct nft_model *n = (struct nft_model *)cn;

	if (n->bound && (iif ? !n->bound_null && !strcmp(n->bound_iif, iif) : n->bound_null))
		return;
	free(n->bound_iif);
	n->bound_iif = iif ? strdup(iif) : NULL;
	n->bound_null = !iif;
	n->bound = !iif || n->bound_iif;	/* no copy: bound again at the next call */
	for (size_t i = 0; i < n->nc; i++)
		for (size_t k = 0; k < n->c[i].nr; k++) {
			struct nrule *r = &n->c[i].r[k];

			for (size_t j = 0; j < r->nm; j++) {
				struct nmatch *m = &r->m[j];

				if (m->f != F_IIF)
					continue;
				m->iif_any = false;
				for (size_t e = 0; iif && e < m->n && !m->iif_any; e++)
					m->iif_any = m->v[e].is_name && name_eq(m->v[e].name, iif);
			}
			for (size_t j = 0; j < r->ns; j++) {
				struct nstmt *s = &r->s[j];

				if (!s->map_iif)
					continue;
				s->iif_val = 0;
				for (size_t e = 0; iif && e < s->n_map; e++)
					if (name_eq(s->map[e].name, iif))
						s->iif_val = s->map[e].val;
			}
		}
}

enum res { R_NEXT, R_ACCEPT, R_DROP, R_RETURN };

static const struct nchain *target(const struct nft_model *n, const struct nchain *c, const char *name)
{
	for (size_t i = 0; i < n->nc; i++)
		if (!strcmp(n->c[i].family, c->family) && !strcmp(n->c[i].table, c->table) &&
		    !strcmp(n->c[i].name, name))
			return &n->c[i];
	return NULL;
}

static enum res run_chain(const struct nft_model *n, const struct nchain *c, struct state *st, int depth)
{
	if (depth > 16)
		return R_NEXT;
	for (size_t i = 0; i < c->nr; i++) {
		const struct nrule *r = &c->r[i];
		bool all = !r->opaque;

		for (size_t k = 0; all && k < r->nm; k++)
			all = match(&r->m[k], st);
		if (!all)
			continue;
		for (size_t k = 0; k < r->ns; k++) {
			const struct nstmt *s = &r->s[k];
			const struct nchain *t;
			enum res x;

			switch (s->k) {
			case S_ACCEPT:
				return R_ACCEPT;
			case S_DROP:
			case S_REDIRECT:	/* to the gateway itself: not forwarded */
				if (st->o) {
					st->o->drop = true;
					snprintf(st->o->why, sizeof(st->o->why), "%.90s", r->where);
				}
				return R_DROP;
			case S_RETURN:
				return R_RETURN;
			case S_JUMP:
			case S_GOTO:
				t = target(n, c, s->target);
				x = t ? run_chain(n, t, st, depth + 1) : R_NEXT;
				if (x == R_ACCEPT || x == R_DROP)
					return x;
				if (s->k == S_GOTO)
					return R_RETURN;
				break;
			case S_NOTRACK:
				st->notrack = true;
				break;
			case S_DNAT:
				if (!c->nat || st->notrack || !st->o)
					break;
				if (s->has_addr && s->family == st->p->family) {
					st->o->dnat = true;
					st->o->dst = s->addr;
				}
				if (s->has_port) {
					st->o->dnat = true;
					if (!s->has_addr)
						st->o->dst = st->p->dst;
					st->o->has_dport = true;
					st->o->dport = s->port;
				}
				snprintf(st->o->why, sizeof(st->o->why), "dnat in %.80s", r->where);
				return R_ACCEPT;
			case S_MARK:
			case S_CTMARK: {
				uint32_t v = s->from_ct ? st->ctmark : s->value;

				if (s->map_iif)
					v = s->iif_val;	/* bound for p->iif (bind_iif) */
				if (s->k == S_MARK) {
					st->mark = v;
					if (st->o) {
						st->o->mark_set = true;
						st->o->mark = v;
						if (!st->o->why[0])
							snprintf(st->o->why, sizeof(st->o->why), "mark set in %.80s",
								 r->where);
					}
				} else {
					st->ctmark = v;
				}
				break;
			}
			case S_NOP:
				break;
			}
		}
	}
	return R_NEXT;
}

static bool chain_applies(const struct nchain *c, int family, enum hook h, const char *iif)
{
	if (c->hook != h)
		return false;
	if (h == H_INGRESS) {
		if (strcmp(c->family, "netdev") && strcmp(c->family, "inet"))
			return false;
		for (size_t i = 0; i < c->n_devices; i++)
			if (!strcmp(c->devices[i], iif))
				return true;
		return false;
	}
	if (!strcmp(c->family, "inet"))
		return true;
	return !strcmp(c->family, family == AF_INET ? "ip" : "ip6");
}

void nft_prerouting(const struct nft_model *n, const struct nft_pkt *p, struct nft_out *o)
{
	struct state st = { .p = p, .o = o, .mark = p->mark };

	memset(o, 0, sizeof(*o));
	if (!n)
		return;
	bind_iif(n, p->iif);
	for (int h = 0; h < 2; h++)
		for (size_t i = 0; i < n->nc; i++) {
			const struct nchain *c = &n->c[i];
			enum res r;

			if (!chain_applies(c, p->family, h ? H_PRE : H_INGRESS, p->iif))
				continue;
			if (c->nat && st.notrack)
				continue;	/* NAT needs the connection tracked */
			r = run_chain(n, c, &st, 0);
			if (r == R_DROP || (r != R_ACCEPT && c->drop_policy)) {
				o->drop = true;
				if (!o->why[0])
					snprintf(o->why, sizeof(o->why), "policy drop of table %.6s %.24s, chain %.24s",
						 c->family, c->table, c->name);
				return;
			}
		}
}

bool nft_forward_drops(const struct nft_model *n, const struct nft_pkt *p, const char *oif)
{
	struct state st = { .p = p, .oif = oif, .mark = p->mark };

	if (!n)
		return false;
	bind_iif(n, p->iif);
	for (int h = 0; h < 2; h++)
		for (size_t i = 0; i < n->nc; i++) {
			const struct nchain *c = &n->c[i];
			enum res r;

			if (!chain_applies(c, p->family, h ? H_POST : H_FWD, p->iif) || c->nat)
				continue;
			r = run_chain(n, c, &st, 0);
			if (r == R_DROP || (r != R_ACCEPT && c->drop_policy))
				return true;
		}
	return false;
}

/* ---- cuts ---- */

/* Can rule r hold for some packet entering at iif (family)?  False only
 * when one of its input-interface matches refuses iif itself: every answer
 * the model gives for such a packet skips r (run_chain evaluates the same
 * match with the same name). */
static bool rule_may_see(const struct nrule *r, int family, const char *iif)
{
	struct nft_pkt p = { .iif = iif, .family = family };
	struct state st = { .p = &p };

	for (size_t j = 0; iif && j < r->nm; j++)
		if (r->m[j].f == F_IIF && !match(&r->m[j], &st))
			return false;
	return true;
}

/* Can chain c be run for a packet entering at iif?  Base chains of hooks
 * the model never runs (input, output) cannot; neither can a netdev
 * ingress chain of other devices.  Regular chains (reached by jump) can. */
static bool chain_may_see(const struct nchain *c, int family, const char *iif)
{
	switch (c->hook) {
	case H_NONE:
	case H_FWD:
	case H_POST:
		return true;
	case H_PRE:
		return !iif || chain_applies(c, family, H_PRE, iif);
	case H_INGRESS:
		return !iif || chain_applies(c, family, H_INGRESS, iif);
	case H_LOCAL:	/* input, output: never run, their rules not read */
	case H_OTHER:
		return !iif;
	}
	return true;
}

int nft_cuts(const struct nft_model *n, int family, const char *iif, rp_u128 **v, size_t *nv, size_t *cap,
	     struct rt_l4 *l4)
{
	if (n && iif)
		bind_iif(n, iif);
	for (size_t i = 0; n && i < n->nc; i++) {
		if (!chain_may_see(&n->c[i], family, iif))
			continue;
		for (size_t k = 0; k < n->c[i].nr; k++) {
			if (!rule_may_see(&n->c[i].r[k], family, iif))
				continue;
			for (size_t j = 0; j < n->c[i].r[k].nm; j++) {
				const struct nmatch *m = &n->c[i].r[k].m[j];

				for (size_t e = 0; e < m->n; e++) {
					const struct nval *x = &m->v[e];

					if ((m->f == F_SADDR || m->f == F_DADDR) && x->family == family) {
						for (int b = 0; b < 2; b++) {
							rp_u128 c = b ? x->hi + 1 : x->lo;

							if (b && x->hi == an_max(family))
								continue;
							if (*nv == *cap) {
								size_t nc = *cap ? *cap * 2 : 64;
								rp_u128 *p = realloc(*v, nc * sizeof(*p));

								if (!p)
									return -ENOMEM;
								*v = p;
								*cap = nc;
							}
							(*v)[(*nv)++] = c;
						}
					} else if ((m->f == F_SPORT || m->f == F_DPORT) && !x->is_name) {
						uint64_t *cv = m->f == F_DPORT ? l4->dcuts : l4->scuts;

						rt_l4_set(cv, (uint32_t)x->lo & 0xffff);
						if (x->hi < 65535)
							rt_l4_set(cv, (uint32_t)x->hi + 1);
						if (m->l4 != 255)
							rt_l4_set(l4->protos, m->l4);
					} else if (m->f == F_L4 && !x->is_name) {
						rt_l4_set(l4->protos, (uint8_t)x->lo);
					}
				}
			}
		}
	}
	return 0;
}
