/* rp2fw — render a rempart policy as nftables or as iptables + ipset, for
 * the comparison benchmark only (bench/bench_compare.sh).
 *
 *   rp2fw nft CONFIG                  whole nftables ruleset on stdout
 *   rp2fw nft-tenant CONFIG TENANT    that tenant's chains, flushed and refilled
 *   rp2fw ipt CONFIG DIR              DIR/ipset.restore, iptables.rules, ip6tables.rules
 *   rp2fw ipt-tenant CONFIG TENANT DIR  DIR/iptables.tenant, ip6tables.tenant (--noflush)
 *   rp2fw sources CONFIG TENANT allowed|blocked N SEED [4|6]
 *                                     N random source addresses of the geo
 *                                     database, one per line: in (allowed) or
 *                                     outside (blocked) the tenant's site_countries
 *
 * The policy is read with config_load() and the geo database with geo_load(),
 * so the semantics are rempart's own (docs/policy.md).  What is rendered is
 * what an expert would write, not a strawman:
 *
 * nftables
 *   - table netdev rp_up, ingress hook on the uplink: one geo lookup per
 *     packet to a listen port (interval map address -> country + 1 in the
 *     mark), then one hash lookup of (listen port . country) and one of
 *     (listen port . source) for the sites' allow_from; drop otherwise.
 *   - table inet rp: raw prerouting untracks the fenced WireGuard traffic;
 *     input takes replies (conntrack), WireGuard, DHCP, ND and management;
 *     forward dispatches by input interface through a verdict map to the
 *     tenant's chains: anti-spoofing set, then one interval verdict map of
 *     the destination zone (the longest-prefix zones of docs/policy.md
 *     flattened into disjoint intervals), then the intra rules in
 *     longest-destination-prefix order (first match = rempart's winner),
 *     shares, other tenants (one global set), egress geo-fence.
 * iptables + ipset
 *   - raw PREROUTING fences listen ports with a list:set of per-country
 *     hash:net sets per tenant; filter INPUT/FORWARD the same structure as
 *     above with hash:net sets for zones and sites (iptables has no verdict
 *     maps: dispatch by port and interface is linear).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "config/config.h"
#include "config/country.h"
#include "geo/geo.h"

typedef unsigned __int128 u128;

/* ---- small helpers ---------------------------------------------------- */

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p) {
		fprintf(stderr, "rp2fw: out of memory\n");
		abort();
	}
	return p;
}

static u128 prefix_lo(const struct rp_prefix *p)
{
	u128 v = 0;
	int i, n = p->family == AF_INET ? 4 : 16, bits = n * 8;

	for (i = 0; i < n; i++)
		v = (v << 8) | p->addr[i];
	if (p->len < bits) {
		u128 mask = ((u128)1 << (bits - p->len)) - 1;
		v &= ~mask;
	}
	return v;
}

static u128 prefix_hi(const struct rp_prefix *p)
{
	int bits = p->family == AF_INET ? 32 : 128;

	if (p->len == 0)
		return bits == 32 ? 0xffffffffu : ~(u128)0;
	return prefix_lo(p) | ((((u128)1) << (bits - p->len)) - 1);
}

static void fmt_int(int family, u128 v, char *buf, size_t len)
{
	uint8_t b[16];
	int i;

	if (family == AF_INET) {
		uint32_t x = htonl((uint32_t)v);
		inet_ntop(AF_INET, &x, buf, len);
		return;
	}
	for (i = 15; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	inet_ntop(AF_INET6, b, buf, len);
}

/* "lo-hi" or "addr" (nft) */
static void put_range(FILE *f, int family, u128 lo, u128 hi)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	fmt_int(family, lo, a, sizeof(a));
	if (lo == hi) {
		fputs(a, f);
		return;
	}
	fmt_int(family, hi, b, sizeof(b));
	fprintf(f, "%s-%s", a, b);
}

/* Calls fn for each CIDR block of [lo, hi] (ipset hash:net needs prefixes). */
static void range_cidrs(int family, u128 lo, u128 hi,
			void (*fn)(void *, int, u128, int), void *arg)
{
	int bits = family == AF_INET ? 32 : 128;

	for (;;) {
		int k = 0;	/* block = 2^k addresses */

		while (k < bits) {
			u128 size = (u128)1 << (k + 1);
			if (lo & (size - 1))
				break;
			if (lo + size - 1 > hi || lo + size - 1 < lo)
				break;
			k++;
		}
		fn(arg, family, lo, bits - k);
		if (k == bits)
			return;
		{
			u128 last = lo + (((u128)1 << k) - 1);
			if (last >= hi)
				return;
			lo = last + 1;
		}
	}
}

static void put_prefix(FILE *f, const struct rp_prefix *p)
{
	char a[INET6_ADDRSTRLEN];

	fmt_int(p->family, prefix_lo(p), a, sizeof(a));
	fprintf(f, "%s/%u", a, p->len);
}

static size_t count_family(const struct rp_prefix_list *l, int family)
{
	size_t i, n = 0;

	for (i = 0; i < l->n; i++)
		n += l->v[i].family == family;
	return n;
}

/* nft "{ a, b-c }" of the prefixes of one family (caller checks count > 0) */
static void put_prefix_set(FILE *f, const struct rp_prefix_list *l, int family)
{
	size_t i;
	int first = 1;

	fputs("{ ", f);
	for (i = 0; i < l->n; i++) {
		if (l->v[i].family != family)
			continue;
		if (!first)
			fputs(", ", f);
		put_prefix(f, &l->v[i]);
		first = 0;
	}
	fputs(" }", f);
}

/* ---- intervals: longest-prefix zones flattened ------------------------ */

struct pfx_item {
	u128 lo, hi;
	int len, tie;	/* tie: lower wins at equal length */
	int verdict;	/* index into the caller's verdict table */
};

struct ival {
	u128 lo, hi;
	int verdict;
};

struct ivals {
	struct ival *v;
	size_t n, cap;
};

static void ivals_add(struct ivals *iv, u128 lo, u128 hi, int verdict)
{
	if (iv->n && iv->v[iv->n - 1].verdict == verdict && iv->v[iv->n - 1].hi + 1 == lo) {
		iv->v[iv->n - 1].hi = hi;
		return;
	}
	if (iv->n == iv->cap) {
		iv->cap = iv->cap ? iv->cap * 2 : 64;
		iv->v = realloc(iv->v, iv->cap * sizeof(*iv->v));
		if (!iv->v)
			abort();
	}
	iv->v[iv->n++] = (struct ival){ lo, hi, verdict };
}

static int item_cmp(const void *a, const void *b)
{
	const struct pfx_item *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->len != y->len)
		return x->len - y->len;		/* outer first */
	return x->tie - y->tie;
}

/* Prefixes are nested or disjoint: one sweep with a stack of open prefixes.
 * Each address gets the verdict of the longest prefix holding it (ties: the
 * lowest tie).  Addresses in no prefix get no interval. */
static void flatten(struct pfx_item *it, size_t n, struct ivals *out)
{
	struct pfx_item **st = xcalloc(n + 1, sizeof(*st));
	size_t i, sp = 0, m = 0;
	u128 cur = 0;
	int cur_valid = 1;	/* cur wrapped past the top: nothing left */

	qsort(it, n, sizeof(*it), item_cmp);
	/* the same prefix twice: keep the first (lowest tie) */
	for (i = 0; i < n; i++)
		if (!m || it[i].lo != it[m - 1].lo || it[i].len != it[m - 1].len)
			it[m++] = it[i];
	n = m;
	for (i = 0; i <= n; i++) {
		/* close the prefixes that end before this one starts */
		while (sp && (i == n || st[sp - 1]->hi < it[i].lo)) {
			struct pfx_item *t = st[--sp];
			if (cur_valid && cur <= t->hi)
				ivals_add(out, cur, t->hi, t->verdict);
			cur = t->hi + 1;
			cur_valid = cur != 0;
		}
		if (i == n)
			break;
		if (sp && cur_valid && cur < it[i].lo)
			ivals_add(out, cur, it[i].lo - 1, st[sp - 1]->verdict);
		cur = it[i].lo;
		cur_valid = 1;
		st[sp++] = &it[i];
	}
	free(st);
}

/* ---- the policy, per tenant ------------------------------------------- */

enum { V_INTRA = 0, V_SHARE0 = 1 };	/* verdict indexes; shares follow */

struct zshare {
	const struct rp_tenant *owner;
	const struct rp_share *sh;
};

struct tzones {
	struct ivals z[2];		/* [0] v4, [1] v6 */
	struct zshare *shares;
	size_t n_shares;
};

static void add_items(struct pfx_item **it, size_t *n, size_t *cap, const struct rp_prefix_list *l,
		      int family, int host_only, int tie, int verdict)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		struct rp_prefix p = l->v[i];
		if (p.family != family)
			continue;
		if (host_only)
			p.len = family == AF_INET ? 32 : 128;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*it = realloc(*it, *cap * sizeof(**it));
			if (!*it)
				abort();
		}
		(*it)[(*n)++] = (struct pfx_item){ prefix_lo(&p), prefix_hi(&p), p.len, tie, verdict };
	}
}

static int share_lists(const struct rp_share *sh, const struct rp_tenant *t,
		       const struct rp_config *cfg)
{
	size_t k;

	if (sh->all_tenants)
		return 1;
	for (k = 0; k < sh->n_tenants; k++)
		if (sh->tenant_idx && sh->tenant_idx[k] >= 0 &&
		    &cfg->tenants[sh->tenant_idx[k]] == t)
			return 1;
	return 0;
}

static void tenant_zones(const struct rp_config *cfg, const struct rp_tenant *t, struct tzones *z)
{
	size_t u, s, fi;

	memset(z, 0, sizeof(*z));
	for (u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *o = &cfg->tenants[u];
		if (o == t)
			continue;
		for (s = 0; s < o->n_shares; s++)
			if (share_lists(&o->shares[s], t, cfg))
				z->n_shares++;
	}
	z->shares = xcalloc(z->n_shares, sizeof(*z->shares));
	z->n_shares = 0;
	for (u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *o = &cfg->tenants[u];
		if (o == t)
			continue;
		for (s = 0; s < o->n_shares; s++)
			if (share_lists(&o->shares[s], t, cfg))
				z->shares[z->n_shares++] = (struct zshare){ o, &o->shares[s] };
	}
	for (fi = 0; fi < 2; fi++) {
		int family = fi ? AF_INET6 : AF_INET;
		struct pfx_item *it = NULL;
		size_t n = 0, cap = 0;

		/* ties: site, cloud, gateway, share (config order) */
		for (s = 0; s < t->n_sites; s++)
			add_items(&it, &n, &cap, &t->sites[s].allowed_ips, family, 0, 0, V_INTRA);
		add_items(&it, &n, &cap, &t->cloud_prefixes, family, 0, 1, V_INTRA);
		add_items(&it, &n, &cap, &t->tunnel_address, family, 1, 2, V_INTRA);
		add_items(&it, &n, &cap, &t->cloud_address, family, 1, 2, V_INTRA);
		for (s = 0; s < z->n_shares; s++)
			add_items(&it, &n, &cap, &z->shares[s].sh->to, family, 0, 3 + (int)s,
				  V_SHARE0 + (int)s);
		flatten(it, n, &z->z[fi]);
		free(it);
	}
}

static void tzones_free(struct tzones *z)
{
	free(z->z[0].v);
	free(z->z[1].v);
	free(z->shares);
}

/* (rule, to prefix) pairs in evaluation order: longest to first, then file order */
struct pair {
	const struct rp_rule *r;
	const struct rp_prefix *to;
	size_t order;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->to->len != y->to->len)
		return y->to->len - x->to->len;
	return x->order < y->order ? -1 : x->order > y->order;
}

static struct pair *tenant_pairs(const struct rp_tenant *t, size_t *np)
{
	size_t r, k, n = 0;
	struct pair *p;

	for (r = 0; r < t->n_rules; r++)
		n += t->rules[r].to.n;
	p = xcalloc(n, sizeof(*p));
	n = 0;
	for (r = 0; r < t->n_rules; r++)
		for (k = 0; k < t->rules[r].to.n; k++)
			p[n++] = (struct pair){ &t->rules[r], &t->rules[r].to.v[k], r };
	qsort(p, n, sizeof(*p), pair_cmp);
	*np = n;
	return p;
}

/* the union of every tenant's networks (sites, cloud, gateway hosts) */
static void all_networks(const struct rp_config *cfg, int family, struct ivals *out)
{
	struct pfx_item *it = NULL;
	size_t n = 0, cap = 0, u, s;

	for (u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *t = &cfg->tenants[u];
		for (s = 0; s < t->n_sites; s++)
			add_items(&it, &n, &cap, &t->sites[s].allowed_ips, family, 0, 0, 0);
		add_items(&it, &n, &cap, &t->cloud_prefixes, family, 0, 0, 0);
		add_items(&it, &n, &cap, &t->tunnel_address, family, 1, 0, 0);
		add_items(&it, &n, &cap, &t->cloud_address, family, 1, 0, 0);
	}
	flatten(it, n, out);
	free(it);
}

static void all_sites(const struct rp_config *cfg, int family, struct ivals *out)
{
	struct pfx_item *it = NULL;
	size_t n = 0, cap = 0, u, s;

	for (u = 0; u < cfg->n_tenants; u++)
		for (s = 0; s < cfg->tenants[u].n_sites; s++)
			add_items(&it, &n, &cap, &cfg->tenants[u].sites[s].allowed_ips, family, 0, 0, 0);
	flatten(it, n, out);
	free(it);
}

static void sites_of(const struct rp_tenant *t, int family, struct ivals *out)
{
	struct pfx_item *it = NULL;
	size_t n = 0, cap = 0, s;

	for (s = 0; s < t->n_sites; s++)
		add_items(&it, &n, &cap, &t->sites[s].allowed_ips, family, 0, 0, 0);
	flatten(it, n, out);
	free(it);
}

static void list_ivals(const struct rp_prefix_list *l, int family, struct ivals *out)
{
	struct pfx_item *it = NULL;
	size_t n = 0, cap = 0;

	add_items(&it, &n, &cap, l, family, 0, 0, 0);
	flatten(it, n, out);
	free(it);
}

/* geo ranges whose country is in the set (none: in no set) */
static void geo_ivals(const struct geo_db *db, const struct rp_ccset *cs, int family,
		      struct ivals *out)
{
	size_t i;

	if (family == AF_INET) {
		for (i = 0; i < db->n4; i++)
			if (db->v4[i].cc != RP_CC_NONE && (!cs || rp_ccset_has(cs, db->v4[i].cc)))
				ivals_add(out, db->v4[i].lo, db->v4[i].hi, 0);
	} else {
		for (i = 0; i < db->n6; i++)
			if (db->v6[i].cc != RP_CC_NONE && (!cs || rp_ccset_has(cs, db->v6[i].cc)))
				ivals_add(out, db->v6[i].lo, db->v6[i].hi, 0);
	}
}

/* ---- nftables --------------------------------------------------------- */

static const char *fam_kw(int family) { return family == AF_INET ? "ip" : "ip6"; }
static const char *fam_type(int family) { return family == AF_INET ? "ipv4_addr" : "ipv6_addr"; }

/* a named interval set; "elements" only when non-empty */
static void nft_set(FILE *f, const char *name, int family, const struct ivals *iv)
{
	size_t i;

	fprintf(f, "\tset %s {\n\t\ttype %s; flags interval;\n", name, fam_type(family));
	if (iv->n) {
		fputs("\t\telements = {", f);
		for (i = 0; i < iv->n; i++) {
			fputs(i % 8 ? ", " : (i ? ",\n\t\t\t" : "\n\t\t\t"), f);
			put_range(f, family, iv->v[i].lo, iv->v[i].hi);
		}
		fputs(" }\n", f);
	}
	fputs("\t}\n", f);
}

static void put_ports_nft(FILE *f, const struct rp_port_list *pl)
{
	size_t i;

	fputs("{ ", f);
	for (i = 0; i < pl->n; i++) {
		if (i)
			fputs(", ", f);
		if (pl->v[i].lo == pl->v[i].hi)
			fprintf(f, "%u", pl->v[i].lo);
		else
			fprintf(f, "%u-%u", pl->v[i].lo, pl->v[i].hi);
	}
	fputs(" }", f);
}

/* protocol and ports as docs/policy.md: icmp = 1 and 58 in either family;
 * ports restrict to TCP/UDP. */
static void put_l4_nft(FILE *f, enum rp_proto proto, const struct rp_port_list *ports)
{
	switch (proto) {
	case RP_PROTO_TCP:
		fputs(" meta l4proto tcp", f);
		break;
	case RP_PROTO_UDP:
		fputs(" meta l4proto udp", f);
		break;
	case RP_PROTO_ICMP:
		fputs(" meta l4proto { icmp, ipv6-icmp }", f);
		break;
	case RP_PROTO_ANY:
		if (ports->n)
			fputs(" meta l4proto { tcp, udp }", f);
		break;
	}
	if (ports->n && proto != RP_PROTO_ICMP) {
		fputs(" th dport ", f);
		put_ports_nft(f, ports);
	}
}

struct ccsets {		/* distinct country sets, numbered */
	struct rp_ccset *v;
	size_t n;
};

static size_t ccsets_index(struct ccsets *c, const struct rp_ccset *s)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (!memcmp(&c->v[i], s, sizeof(*s)))
			return i;
	c->v = realloc(c->v, (c->n + 1) * sizeof(*c->v));
	if (!c->v)
		abort();
	c->v[c->n] = *s;
	return c->n++;
}

static void nft_intra_chain(FILE *f, const struct rp_tenant *t)
{
	const char *n = t->name;
	struct pair *p;
	size_t np, i;

	fprintf(f, "\tchain %s_intra {\n", n);
	p = tenant_pairs(t, &np);
	for (i = 0; i < np; i++) {
		const struct rp_rule *r = p[i].r;
		int family = p[i].to->family;
		if (!count_family(&r->from, family))
			continue;
		fprintf(f, "\t\t%s saddr ", fam_kw(family));
		put_prefix_set(f, &r->from, family);
		fprintf(f, " %s daddr ", fam_kw(family));
		put_prefix(f, p[i].to);
		put_l4_nft(f, r->proto, &r->ports);
		fprintf(f, " %s comment \"%s\"\n", r->allow ? "accept" : "drop", r->name);
	}
	fprintf(f, "\t\t%s\n\t}\n", t->intra_allow ? "accept" : "drop");
	free(p);
}

static void nft_tenant_chains(FILE *f, const struct rp_config *cfg, const struct rp_tenant *t,
			      struct ccsets *egress)
{
	const char *n = t->name;
	struct tzones z;
	size_t i, fi;

	tenant_zones(cfg, t, &z);
	/* sets and maps of the tenant */
	for (fi = 0; fi < 2; fi++) {
		int family = fi ? AF_INET6 : AF_INET;
		struct ivals sv = { 0 }, cv = { 0 };
		char name[64];

		sites_of(t, family, &sv);
		list_ivals(&t->cloud_prefixes, family, &cv);
		snprintf(name, sizeof(name), "%s_sites%d", n, fi ? 6 : 4);
		nft_set(f, name, family, &sv);
		snprintf(name, sizeof(name), "%s_cloud%d", n, fi ? 6 : 4);
		nft_set(f, name, family, &cv);
		fprintf(f, "\tmap %s_z%d {\n\t\ttype %s : verdict; flags interval;\n", n, fi ? 6 : 4,
			fam_type(family));
		if (z.z[fi].n) {
			fputs("\t\telements = {", f);
			for (i = 0; i < z.z[fi].n; i++) {
				const struct ival *v = &z.z[fi].v[i];
				fputs(i ? ",\n\t\t\t" : "\n\t\t\t", f);
				put_range(f, family, v->lo, v->hi);
				if (v->verdict == V_INTRA)
					fprintf(f, " : goto %s_intra", n);
				else
					fprintf(f, " : goto %s_sh%d", n, v->verdict - V_SHARE0);
			}
			fputs(" }\n", f);
		}
		fputs("\t}\n", f);
		free(sv.v);
		free(cv.v);
	}
	fprintf(f, "\tchain %s_tun {\n", n);
	fprintf(f, "\t\tip saddr != @%s_sites4 drop\n\t\tip6 saddr != @%s_sites6 drop\n", n, n);
	fprintf(f, "\t\tgoto %s_pol\n\t}\n", n);
	fprintf(f, "\tchain %s_cloud {\n", n);
	fprintf(f, "\t\tip saddr != @%s_cloud4 drop\n\t\tip6 saddr != @%s_cloud6 drop\n", n, n);
	fprintf(f, "\t\tgoto %s_pol\n\t}\n", n);

	fprintf(f, "\tchain %s_pol {\n", n);
	fprintf(f, "\t\tip daddr vmap @%s_z4\n\t\tip6 daddr vmap @%s_z6\n", n, n);
	fputs("\t\tip daddr @allnets4 drop\n\t\tip6 daddr @allnets6 drop\n", f);
	if (t->egress == RP_EGRESS_NONE) {
		fputs("\t\tdrop\n", f);
	} else if (!t->has_egress_countries) {
		fputs("\t\taccept\n", f);
	} else {
		size_t k = ccsets_index(egress, &t->egress_countries);
		fprintf(f, "\t\tip daddr @egress%zu_4 accept\n\t\tip6 daddr @egress%zu_6 accept\n", k, k);
		if (cfg->geo_unknown_allow)
			fputs("\t\tip daddr != @geoany4 accept\n\t\tip6 daddr != @geoany6 accept\n", f);
		fputs("\t\tdrop\n", f);
	}
	fputs("\t}\n", f);

	for (i = 0; i < z.n_shares; i++) {
		const struct rp_share *sh = z.shares[i].sh;
		fprintf(f, "\tchain %s_sh%zu {\n\t\t", n, i);
		put_l4_nft(f, sh->proto, &sh->ports);
		fprintf(f, " accept\n\t\tdrop\n\t}\n");
	}

	nft_intra_chain(f, t);
	tzones_free(&z);
}

static void put_mark(FILE *f, uint16_t cc) { fprintf(f, "0x%x", (unsigned)cc + 1); }

static int render_nft(FILE *f, const struct rp_config *cfg, const struct geo_db *db)
{
	struct ccsets fences = { 0 }, egress = { 0 };
	size_t i, u, s, k, fi;
	int first;

	fprintf(f, "# rempart policy %s rendered by bench/translate/rp2fw for the benchmark\n\n",
		cfg->path);
	fprintf(f, "table netdev rp_up {\n");
	for (fi = 0; fi < 2; fi++) {
		int family = fi ? AF_INET6 : AF_INET;
		size_t n = fi ? db->n6 : db->n4, c = 0;
		fprintf(f, "\tmap geo%d {\n\t\ttype %s : mark; flags interval;\n", fi ? 6 : 4,
			fam_type(family));
		for (i = 0; i < n; i++) {
			u128 lo = fi ? db->v6[i].lo : db->v4[i].lo, hi = fi ? db->v6[i].hi : db->v4[i].hi;
			uint16_t cc = fi ? db->v6[i].cc : db->v4[i].cc;
			if (cc == RP_CC_NONE)
				continue;
			fputs(c % 6 ? ", " : (c ? ",\n\t\t\t" : "\t\telements = {\n\t\t\t"), f);
			put_range(f, family, lo, hi);
			fputs(" : ", f);
			put_mark(f, cc);
			c++;
		}
		if (c)
			fputs(" }\n", f);
		fputs("\t}\n", f);
	}
	/* (listen port . country) pairs */
	fputs("\tset fence {\n\t\ttype inet_service . mark;\n", f);
	first = 1;
	for (u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *t = &cfg->tenants[u];
		for (k = 0; k < RP_CC_COUNT; k++) {
			if (!rp_ccset_has(&t->site_countries, k))
				continue;
			fprintf(f, "%s%u . ", first ? "\t\telements = {\n\t\t\t" : ", ", t->listen_port);
			put_mark(f, k);
			first = 0;
		}
		if (cfg->geo_unknown_allow) {
			fprintf(f, "%s%u . 0x0", first ? "\t\telements = {\n\t\t\t" : ", ", t->listen_port);
			first = 0;
		}
	}
	fputs(first ? "\t}\n" : " }\n\t}\n", f);
	fputs("\tset listen {\n\t\ttype inet_service;\n", f);
	for (u = 0; u < cfg->n_tenants; u++)
		fprintf(f, "%s%u", u ? ", " : "\t\telements = { ", cfg->tenants[u].listen_port);
	fputs(cfg->n_tenants ? " }\n\t}\n" : "\t}\n", f);
	for (fi = 0; fi < 2; fi++) {
		int family = fi ? AF_INET6 : AF_INET;
		fprintf(f, "\tset pin%d {\n\t\ttype inet_service . %s; flags interval;\n", fi ? 6 : 4,
			fam_type(family));
		first = 1;
		for (u = 0; u < cfg->n_tenants; u++) {
			const struct rp_tenant *t = &cfg->tenants[u];
			for (s = 0; s < t->n_sites; s++)
				for (k = 0; k < t->sites[s].allow_from.n; k++) {
					const struct rp_prefix *pp = &t->sites[s].allow_from.v[k];
					if (pp->family != family)
						continue;
					fprintf(f, "%s%u . ", first ? "\t\telements = {\n\t\t\t" : ",\n\t\t\t",
						t->listen_port);
					put_prefix(f, pp);
					first = 0;
				}
		}
		fputs(first ? "\t}\n" : " }\n\t}\n", f);
	}
	if (cfg->mgmt_tcp_ports.n) {
		fputs("\tset mgmt_ports {\n\t\ttype inet_service; flags interval;\n\t\telements = ", f);
		put_ports_nft(f, &cfg->mgmt_tcp_ports);
		fputs("\n\t}\n", f);
	}
	fprintf(f, "\tchain in {\n\t\ttype filter hook ingress device \"%s\" priority -500; policy accept;\n",
		cfg->uplink);
	fputs("\t\tmeta protocol vmap { ip : jump in4, ip6 : jump in6, arp : accept }\n", f);
	fputs("\t\tdrop\n\t}\n", f);
	for (fi = 0; fi < 2; fi++) {
		int v = fi ? 6 : 4;
		fprintf(f, "\tchain in%d {\n", v);
		if (!fi)
			fputs("\t\tip frag-off & 0x1fff != 0 accept\n", f);
		fprintf(f, "\t\tudp dport @listen goto fence%d\n", v);
		if (cfg->mgmt_tcp_ports.n && cfg->has_mgmt_countries)
			fprintf(f, "\t\ttcp dport @mgmt_ports meta mark set %s saddr map @geo%d\n",
				fam_kw(fi ? AF_INET6 : AF_INET), v);
		fputs("\t}\n", f);
		fprintf(f, "\tchain fence%d {\n", v);
		fprintf(f, "\t\tudp dport . %s saddr @pin%d accept\n", fam_kw(fi ? AF_INET6 : AF_INET), v);
		fprintf(f, "\t\tmeta mark set %s saddr map @geo%d\n", fam_kw(fi ? AF_INET6 : AF_INET), v);
		fputs("\t\tudp dport . meta mark @fence accept\n\t\tdrop\n\t}\n", f);
	}
	fputs("}\n\n", f);

	/* inet: input, forward, the tenants */
	fputs("table inet rp {\n", f);
	fputs("\tset listen {\n\t\ttype inet_service;\n", f);
	for (u = 0; u < cfg->n_tenants; u++)
		fprintf(f, "%s%u", u ? ", " : "\t\telements = { ", cfg->tenants[u].listen_port);
	fputs(cfg->n_tenants ? " }\n\t}\n" : "\t}\n", f);
	for (fi = 0; fi < 2; fi++) {
		int family = fi ? AF_INET6 : AF_INET;
		struct ivals a = { 0 }, m = { 0 }, st = { 0 };
		char name[32];

		all_networks(cfg, family, &a);
		snprintf(name, sizeof(name), "allnets%d", fi ? 6 : 4);
		nft_set(f, name, family, &a);
		all_sites(cfg, family, &st);
		snprintf(name, sizeof(name), "allsites%d", fi ? 6 : 4);
		nft_set(f, name, family, &st);
		list_ivals(&cfg->mgmt_allow_from, family, &m);
		snprintf(name, sizeof(name), "mgmt%d", fi ? 6 : 4);
		nft_set(f, name, family, &m);
		free(a.v);
		free(m.v);
		free(st.v);
	}
	if (cfg->mgmt_tcp_ports.n) {
		fputs("\tset mgmt_ports {\n\t\ttype inet_service; flags interval;\n\t\telements = ", f);
		put_ports_nft(f, &cfg->mgmt_tcp_ports);
		fputs("\n\t}\n", f);
	}
	if (cfg->has_mgmt_countries) {
		fputs("\tset mgmt_cc {\n\t\ttype mark;\n", f);
		first = 1;
		for (k = 0; k < RP_CC_COUNT; k++)
			if (rp_ccset_has(&cfg->mgmt_countries, k)) {
				fputs(first ? "\t\telements = { " : ", ", f);
				put_mark(f, k);
				first = 0;
			}
		if (cfg->geo_unknown_allow) {
			fputs(first ? "\t\telements = { " : ", ", f);
			fputs("0x0", f);
			first = 0;
		}
		fputs(first ? "\t}\n" : " }\n\t}\n", f);
	}
	for (fi = 0; fi < 2; fi++) {
		struct ivals nat = { 0 };
		struct pfx_item *it = NULL;
		size_t n = 0, cap = 0;
		char name[16];

		for (u = 0; u < cfg->n_tenants; u++)
			if (cfg->tenants[u].egress == RP_EGRESS_NAT)
				add_items(&it, &n, &cap, &cfg->tenants[u].cloud_prefixes,
					  fi ? AF_INET6 : AF_INET, 0, 0, 0);
		flatten(it, n, &nat);
		snprintf(name, sizeof(name), "nat%d", fi ? 6 : 4);
		nft_set(f, name, fi ? AF_INET6 : AF_INET, &nat);
		free(nat.v);
		free(it);
	}
	fputs("\tmap ifmap {\n\t\ttype ifname : verdict;\n", f);
	for (u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *t = &cfg->tenants[u];
		fprintf(f, "%s\"%s\" : goto %s_tun, \"%s\" : goto %s_cloud",
			u ? ",\n\t\t\t" : "\t\telements = {\n\t\t\t", t->tunnel_interface, t->name,
			t->cloud_interface, t->name);
	}
	fputs(cfg->n_tenants ? " }\n\t}\n" : "\t}\n", f);
	fprintf(f, "\tchain raw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n"
		"\t\tiifname \"%s\" udp dport @listen notrack\n\t}\n", cfg->uplink);
	fprintf(f, "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n"
		"\t\tiifname != \"%s\" accept\n"
		"\t\tct state established,related accept\n"
		"\t\tudp dport @listen accept\n"
		"\t\tmeta nfproto ipv4 udp sport 67 udp dport 68 accept\n"
		"\t\tmeta nfproto ipv6 udp sport 547 udp dport 546 accept\n"
		"\t\ticmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } ip6 hoplimit 255 accept\n",
		cfg->uplink);
	if (cfg->mgmt_tcp_ports.n)
		for (fi = 0; fi < 2; fi++)
			fprintf(f, "\t\ttcp dport @mgmt_ports %s saddr @mgmt%d%s accept\n",
				fam_kw(fi ? AF_INET6 : AF_INET), fi ? 6 : 4,
				cfg->has_mgmt_countries ? " meta mark @mgmt_cc" : "");
	fputs("\t\tdrop\n\t}\n", f);
	fputs("\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n"
	      "\t\tct state established,related accept\n"
	      "\t\tiifname vmap @ifmap\n\t}\n", f);
	fprintf(f, "\tchain postrouting {\n\t\ttype filter hook postrouting priority filter; policy accept;\n"
		"\t\toifname \"%s\" ip daddr @allsites4 drop\n"
		"\t\toifname \"%s\" ip6 daddr @allsites6 drop\n\t}\n", cfg->uplink, cfg->uplink);
	fprintf(f, "\tchain nat {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		"\t\toifname \"%s\" ip saddr @nat4 masquerade\n"
		"\t\toifname \"%s\" ip6 saddr @nat6 masquerade\n\t}\n", cfg->uplink, cfg->uplink);
	for (u = 0; u < cfg->n_tenants; u++)
		nft_tenant_chains(f, cfg, &cfg->tenants[u], &egress);
	for (k = 0; k < egress.n; k++)
		for (fi = 0; fi < 2; fi++) {
			struct ivals g = { 0 };
			char name[32];
			geo_ivals(db, &egress.v[k], fi ? AF_INET6 : AF_INET, &g);
			snprintf(name, sizeof(name), "egress%zu_%d", k, fi ? 6 : 4);
			nft_set(f, name, fi ? AF_INET6 : AF_INET, &g);
			free(g.v);
		}
	if (cfg->geo_unknown_allow)
		for (fi = 0; fi < 2; fi++) {
			struct ivals g = { 0 };
			geo_ivals(db, NULL, fi ? AF_INET6 : AF_INET, &g);
			nft_set(f, fi ? "geoany6" : "geoany4", fi ? AF_INET6 : AF_INET, &g);
			free(g.v);
		}
	fputs("}\n", f);
	free(fences.v);
	free(egress.v);
	return 0;
}

/* One rule of a tenant changed: its rule chain flushed and refilled in one
 * transaction (zones and sets do not change when a rule does). */
static int render_nft_tenant(FILE *f, const struct rp_tenant *t)
{
	fprintf(f, "flush chain inet rp %s_intra\ntable inet rp {\n", t->name);
	nft_intra_chain(f, t);
	fputs("}\n", f);
	return 0;
}

/* ---- iptables + ipset ------------------------------------------------- */

struct ipset_ctx {
	FILE *f;
	const char *set;
};

static void ipset_add_cidr(void *arg, int family, u128 lo, int len)
{
	struct ipset_ctx *c = arg;
	char a[INET6_ADDRSTRLEN];

	fmt_int(family, lo, a, sizeof(a));
	fprintf(c->f, "add %s %s/%d\n", c->set, a, len);
}

static void ipset_net(FILE *f, const char *name, int family, const struct ivals *iv)
{
	struct ipset_ctx c = { f, name };
	size_t i, n = iv->n * 4 + 1024;

	fprintf(f, "create %s hash:net family %s hashsize %zu maxelem %zu\n", name,
		family == AF_INET ? "inet" : "inet6", n / 2 < 1024 ? 1024 : n / 2, n);
	for (i = 0; i < iv->n; i++)
		range_cidrs(family, iv->v[i].lo, iv->v[i].hi, ipset_add_cidr, &c);
}

static void put_ports_ipt(FILE *f, const struct rp_port_list *pl)
{
	size_t i;

	for (i = 0; i < pl->n; i++) {
		if (i)
			fputc(',', f);
		if (pl->v[i].lo == pl->v[i].hi)
			fprintf(f, "%u", pl->v[i].lo);
		else
			fprintf(f, "%u:%u", pl->v[i].lo, pl->v[i].hi);
	}
}

/* Lines "-A CHAIN <match> -j TARGET" for proto/ports (two lines for any+ports). */
static void ipt_l4(FILE *f, int family, const char *prefix, enum rp_proto proto,
		   const struct rp_port_list *ports, const char *target)
{
	static const char *tu[] = { "tcp", "udp" };
	int i;

	if (ports->n && (proto == RP_PROTO_ANY || proto == RP_PROTO_TCP || proto == RP_PROTO_UDP)) {
		for (i = 0; i < 2; i++) {
			if ((proto == RP_PROTO_TCP && i) || (proto == RP_PROTO_UDP && !i))
				continue;
			fprintf(f, "%s -p %s -m multiport --dports ", prefix, tu[i]);
			put_ports_ipt(f, ports);
			fprintf(f, " -j %s\n", target);
		}
		return;
	}
	switch (proto) {
	case RP_PROTO_TCP: fprintf(f, "%s -p tcp -j %s\n", prefix, target); break;
	case RP_PROTO_UDP: fprintf(f, "%s -p udp -j %s\n", prefix, target); break;
	case RP_PROTO_ICMP:
		/* 1 and 58 in either family */
		fprintf(f, "%s -p 1 -j %s\n%s -p 58 -j %s\n", prefix, target, prefix, target);
		break;
	case RP_PROTO_ANY: fprintf(f, "%s -j %s\n", prefix, target); break;
	}
	(void)family;
}

static void ipt_tenant_chains(FILE *f, const struct rp_config *cfg, const struct rp_tenant *t,
			      int family, struct ccsets *egress, int declare_only, int rules_only)
{
	const char *n = t->name;
	int v = family == AF_INET ? 4 : 6;
	struct tzones z;
	struct pair *p;
	size_t np, i, k;
	char pre[8192];

	tenant_zones(cfg, t, &z);
	if (declare_only) {
		fprintf(f, ":%s_tun - [0:0]\n:%s_cloud - [0:0]\n:%s_pol - [0:0]\n:%s_intra - [0:0]\n",
			n, n, n, n);
		for (i = 0; i < z.n_shares; i++)
			fprintf(f, ":%s_sh%zu - [0:0]\n", n, i);
		tzones_free(&z);
		return;
	}
	if (!rules_only) {
		fprintf(f, "-A %s_tun -m set ! --match-set %s_sites%d src -j DROP\n-A %s_tun -j %s_pol\n",
			n, n, v, n, n);
		fprintf(f, "-A %s_cloud -m set ! --match-set %s_cloud%d src -j DROP\n-A %s_cloud -j %s_pol\n",
			n, n, v, n, n);
		fprintf(f, "-A %s_pol -m set --match-set %s_zi%d dst -j %s_intra\n", n, n, v, n);
		for (i = 0; i < z.n_shares; i++) {
			fprintf(f, "-A %s_pol -m set --match-set %s_zs%zu_%d dst -j %s_sh%zu\n", n, n, i, v, n, i);
			snprintf(pre, sizeof(pre), "-A %s_sh%zu", n, i);
			ipt_l4(f, family, pre, z.shares[i].sh->proto, &z.shares[i].sh->ports, "ACCEPT");
			fprintf(f, "-A %s_sh%zu -j DROP\n", n, i);
		}
		fprintf(f, "-A %s_pol -m set --match-set allnets%d dst -j DROP\n", n, v);
		if (t->egress == RP_EGRESS_NONE) {
			fprintf(f, "-A %s_pol -j DROP\n", n);
		} else if (!t->has_egress_countries) {
			fprintf(f, "-A %s_pol -j ACCEPT\n", n);
		} else {
			k = ccsets_index(egress, &t->egress_countries);
			fprintf(f, "-A %s_pol -m set --match-set ccs%zu_%d dst -j ACCEPT\n", n, k, v);
			if (cfg->geo_unknown_allow)
				fprintf(f, "-A %s_pol -m set ! --match-set geoany%d dst -j ACCEPT\n", n, v);
			fprintf(f, "-A %s_pol -j DROP\n", n);
		}
	}
	p = tenant_pairs(t, &np);
	for (i = 0; i < np; i++) {
		const struct rp_rule *r = p[i].r;
		char to[INET6_ADDRSTRLEN + 8], from[4096];
		size_t m, used = 0;

		if (p[i].to->family != family || !count_family(&r->from, family))
			continue;
		{
			char a[INET6_ADDRSTRLEN];
			fmt_int(family, prefix_lo(p[i].to), a, sizeof(a));
			snprintf(to, sizeof(to), "%s/%u", a, p[i].to->len);
		}
		if (r->from_text && !strcmp(r->from_text, "sites")) {
			snprintf(from, sizeof(from), "-m set --match-set %s_sites%d src", n, v);
		} else if (r->from_text && !strcmp(r->from_text, "cloud")) {
			snprintf(from, sizeof(from), "-m set --match-set %s_cloud%d src", n, v);
		} else {
			used = snprintf(from, sizeof(from), "-s ");
			for (m = 0; m < r->from.n && used < sizeof(from) - 64; m++) {
				char a[INET6_ADDRSTRLEN];
				if (r->from.v[m].family != family)
					continue;
				fmt_int(family, prefix_lo(&r->from.v[m]), a, sizeof(a));
				used += snprintf(from + used, sizeof(from) - used, "%s%s/%u",
						 used > 3 ? "," : "", a, r->from.v[m].len);
			}
		}
		snprintf(pre, sizeof(pre), "-A %s_intra %s -d %s -m comment --comment %s", n, from, to, r->name);
		ipt_l4(f, family, pre, r->proto, &r->ports, r->allow ? "ACCEPT" : "DROP");
	}
	fprintf(f, "-A %s_intra -j %s\n", n, t->intra_allow ? "ACCEPT" : "DROP");
	free(p);
	tzones_free(&z);
}

static int render_ipset(FILE *f, const struct rp_config *cfg, const struct geo_db *db,
			struct ccsets *fences, struct ccsets *egress)
{
	uint8_t used[RP_CC_COUNT] = { 0 };
	size_t u, s, k, i, fi;

	for (u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *t = &cfg->tenants[u];
		ccsets_index(fences, &t->site_countries);
		if (t->egress == RP_EGRESS_NAT && t->has_egress_countries)
			ccsets_index(egress, &t->egress_countries);
	}
	for (i = 0; i < fences->n; i++)
		for (k = 0; k < RP_CC_COUNT; k++)
			used[k] |= rp_ccset_has(&fences->v[i], k);
	for (i = 0; i < egress->n; i++)
		for (k = 0; k < RP_CC_COUNT; k++)
			used[k] |= rp_ccset_has(&egress->v[i], k);
	if (cfg->has_mgmt_countries)
		for (k = 0; k < RP_CC_COUNT; k++)
			used[k] |= rp_ccset_has(&cfg->mgmt_countries, k);
	/* one hash:net per country and family, list:set per country set */
	for (k = 0; k < RP_CC_COUNT; k++) {
		struct rp_ccset one = { 0 };
		char code[3], name[32];
		if (!used[k])
			continue;
		ccset_add(&one, k);
		cc_format(k, code);
		for (fi = 0; fi < 2; fi++) {
			struct ivals g = { 0 };
			geo_ivals(db, &one, fi ? AF_INET6 : AF_INET, &g);
			snprintf(name, sizeof(name), "cc_%s_%d", code, fi ? 6 : 4);
			ipset_net(f, name, fi ? AF_INET6 : AF_INET, &g);
			free(g.v);
		}
	}
	for (i = 0; i < fences->n + egress->n; i++) {
		const struct rp_ccset *cs = i < fences->n ? &fences->v[i] : &egress->v[i - fences->n];
		for (fi = 0; fi < 2; fi++) {
			char name[32];
			if (i < fences->n)
				snprintf(name, sizeof(name), "fence%zu_%d", i, fi ? 6 : 4);
			else
				snprintf(name, sizeof(name), "ccs%zu_%d", i - fences->n, fi ? 6 : 4);
			fprintf(f, "create %s list:set size 64\n", name);
			for (k = 0; k < RP_CC_COUNT; k++)
				if (rp_ccset_has(cs, k)) {
					char code[3];
					cc_format(k, code);
					fprintf(f, "add %s cc_%s_%d\n", name, code, fi ? 6 : 4);
				}
		}
	}
	if (cfg->has_mgmt_countries)
		for (fi = 0; fi < 2; fi++) {
			fprintf(f, "create mgmtcc_%d list:set size 64\n", fi ? 6 : 4);
			for (k = 0; k < RP_CC_COUNT; k++)
				if (rp_ccset_has(&cfg->mgmt_countries, k)) {
					char code[3];
					cc_format(k, code);
					fprintf(f, "add mgmtcc_%d cc_%s_%d\n", fi ? 6 : 4, code, fi ? 6 : 4);
				}
		}
	for (fi = 0; fi < 2; fi++) {
		int family = fi ? AF_INET6 : AF_INET, v = fi ? 6 : 4;
		struct ivals a = { 0 }, m = { 0 }, st = { 0 }, g = { 0 };
		char name[48];

		all_networks(cfg, family, &a);
		snprintf(name, sizeof(name), "allnets%d", v);
		ipset_net(f, name, family, &a);
		all_sites(cfg, family, &st);
		snprintf(name, sizeof(name), "allsites%d", v);
		ipset_net(f, name, family, &st);
		list_ivals(&cfg->mgmt_allow_from, family, &m);
		snprintf(name, sizeof(name), "mgmt%d", v);
		ipset_net(f, name, family, &m);
		if (cfg->geo_unknown_allow) {
			geo_ivals(db, NULL, family, &g);
			snprintf(name, sizeof(name), "geoany%d", v);
			ipset_net(f, name, family, &g);
		}
		free(a.v); free(m.v); free(st.v); free(g.v);
		for (u = 0; u < cfg->n_tenants; u++) {
			const struct rp_tenant *t = &cfg->tenants[u];
			struct ivals sv = { 0 }, cv = { 0 }, pv = { 0 };
			struct tzones z;

			sites_of(t, family, &sv);
			snprintf(name, sizeof(name), "%s_sites%d", t->name, v);
			ipset_net(f, name, family, &sv);
			list_ivals(&t->cloud_prefixes, family, &cv);
			snprintf(name, sizeof(name), "%s_cloud%d", t->name, v);
			ipset_net(f, name, family, &cv);
			for (s = 0; s < t->n_sites; s++)
				for (k = 0; k < t->sites[s].allow_from.n; k++)
					if (t->sites[s].allow_from.v[k].family == family)
						ivals_add(&pv, prefix_lo(&t->sites[s].allow_from.v[k]),
							  prefix_hi(&t->sites[s].allow_from.v[k]), 0);
			snprintf(name, sizeof(name), "%s_pin%d", t->name, v);
			ipset_net(f, name, family, &pv);
			tenant_zones(cfg, t, &z);
			for (k = 0; k <= z.n_shares; k++) {
				struct ivals zz = { 0 };
				for (i = 0; i < z.z[fi].n; i++)
					if (z.z[fi].v[i].verdict == (int)k)
						ivals_add(&zz, z.z[fi].v[i].lo, z.z[fi].v[i].hi, 0);
				if (k == 0)
					snprintf(name, sizeof(name), "%s_zi%d", t->name, v);
				else
					snprintf(name, sizeof(name), "%s_zs%zu_%d", t->name, k - 1, v);
				ipset_net(f, name, family, &zz);
				free(zz.v);
			}
			tzones_free(&z);
			free(sv.v); free(cv.v); free(pv.v);
		}
	}
	return 0;
}

static int render_ipt(FILE *f, const struct rp_config *cfg, int family, struct ccsets *fences,
		      struct ccsets *egress)
{
	int v = family == AF_INET ? 4 : 6;
	struct ccsets eg = { 0 };
	size_t u;

	fprintf(f, "# rempart policy %s rendered by bench/translate/rp2fw (IPv%d)\n", cfg->path, v);
	/* raw: the geo-fence, before conntrack */
	fputs("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:rp_ok - [0:0]\n", f);
	for (u = 0; u < cfg->n_tenants; u++)
		fprintf(f, ":fence_%s - [0:0]\n", cfg->tenants[u].name);
	fputs("-A rp_ok -j CT --notrack\n-A rp_ok -j ACCEPT\n", f);
	for (u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *t = &cfg->tenants[u];
		size_t k = ccsets_index(fences, &t->site_countries);
		fprintf(f, "-A PREROUTING -i %s -p udp --dport %u -j fence_%s\n", cfg->uplink,
			t->listen_port, t->name);
		fprintf(f, "-A fence_%s -m set --match-set %s_pin%d src -j rp_ok\n", t->name, t->name, v);
		fprintf(f, "-A fence_%s -m set --match-set fence%zu_%d src -j rp_ok\n", t->name, k, v);
		if (cfg->geo_unknown_allow)
			fprintf(f, "-A fence_%s -m set ! --match-set geoany%d src -j rp_ok\n", t->name, v);
		fprintf(f, "-A fence_%s -j DROP\n", t->name);
	}
	fputs("COMMIT\n", f);
	fputs("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n", f);
	for (u = 0; u < cfg->n_tenants; u++)
		if (cfg->tenants[u].egress == RP_EGRESS_NAT)
			fprintf(f, "-A POSTROUTING -o %s -m set --match-set %s_cloud%d src -j MASQUERADE\n",
				cfg->uplink, cfg->tenants[u].name, v);
	fputs("COMMIT\n", f);
	fputs("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:rp_up - [0:0]\n", f);
	for (u = 0; u < cfg->n_tenants; u++)
		ipt_tenant_chains(f, cfg, &cfg->tenants[u], family, &eg, 1, 0);
	fprintf(f, "-A INPUT -i %s -j rp_up\n", cfg->uplink);
	fputs("-A rp_up -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n", f);
	fputs("-A rp_up -m conntrack --ctstate UNTRACKED -p udp -j ACCEPT\n", f);
	if (v == 4)
		fputs("-A rp_up -p udp --sport 67 --dport 68 -j ACCEPT\n", f);
	else {
		fputs("-A rp_up -p udp --sport 547 --dport 546 -j ACCEPT\n", f);
		fputs("-A rp_up -p ipv6-icmp -m icmp6 --icmpv6-type 133 -m hl --hl-eq 255 -j ACCEPT\n"
		      "-A rp_up -p ipv6-icmp -m icmp6 --icmpv6-type 134 -m hl --hl-eq 255 -j ACCEPT\n"
		      "-A rp_up -p ipv6-icmp -m icmp6 --icmpv6-type 135 -m hl --hl-eq 255 -j ACCEPT\n"
		      "-A rp_up -p ipv6-icmp -m icmp6 --icmpv6-type 136 -m hl --hl-eq 255 -j ACCEPT\n"
		      "-A rp_up -p ipv6-icmp -m icmp6 --icmpv6-type 137 -m hl --hl-eq 255 -j ACCEPT\n", f);
	}
	if (cfg->mgmt_tcp_ports.n) {
		fprintf(f, "-A rp_up -p tcp -m multiport --dports ");
		put_ports_ipt(f, &cfg->mgmt_tcp_ports);
		fprintf(f, " -m set --match-set mgmt%d src", v);
		if (cfg->has_mgmt_countries)
			fprintf(f, " -m set --match-set mgmtcc_%d src", v);
		fputs(" -j ACCEPT\n", f);
	}
	fputs("-A rp_up -j DROP\n", f);
	fputs("-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n", f);
	for (u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *t = &cfg->tenants[u];
		fprintf(f, "-A FORWARD -i %s -j %s_tun\n-A FORWARD -i %s -j %s_cloud\n",
			t->tunnel_interface, t->name, t->cloud_interface, t->name);
	}
	for (u = 0; u < cfg->n_tenants; u++)
		ipt_tenant_chains(f, cfg, &cfg->tenants[u], family, &eg, 0, 0);
	fprintf(f, "-A OUTPUT -o %s -m set --match-set allsites%d dst -j DROP\n", cfg->uplink, v);
	fputs("COMMIT\n", f);
	free(eg.v);
	return 0;
}

/* ---- random sources --------------------------------------------------- */

static uint64_t rng_state;
static uint64_t rng(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int render_sources(FILE *f, const struct geo_db *db, const struct rp_tenant *t,
			  int allowed, long n, int family)
{
	size_t i, m = 0, total = family == AF_INET ? db->n4 : db->n6;
	size_t *idx = xcalloc(total, sizeof(*idx));
	long k;

	for (i = 0; i < total; i++) {
		uint16_t cc = family == AF_INET ? db->v4[i].cc : db->v6[i].cc;
		int in;
		if (cc == RP_CC_NONE)
			continue;
		in = rp_ccset_has(&t->site_countries, cc);
		if (in == allowed)
			idx[m++] = i;
	}
	if (!m) {
		fprintf(stderr, "rp2fw: sources: no %s range for tenant %s\n",
			allowed ? "allowed" : "blocked", t->name);
		free(idx);
		return -ENOENT;
	}
	/* uniform over the ranges, then uniform inside the range */
	for (k = 0; k < n; k++) {
		size_t r = idx[rng() % m];
		char a[INET6_ADDRSTRLEN];
		u128 lo, hi, v;

		if (family == AF_INET) {
			lo = db->v4[r].lo;
			hi = db->v4[r].hi;
		} else {
			lo = db->v6[r].lo;
			hi = db->v6[r].hi;
		}
		v = (((u128)rng() << 64) | rng());
		if (hi - lo + 1 != 0)
			v = lo + v % (hi - lo + 1);
		fmt_int(family, v, a, sizeof(a));
		fprintf(f, "%s\n", a);
	}
	free(idx);
	return 0;
}

/* ---- main ------------------------------------------------------------- */

static int usage(void)
{
	fputs("usage: rp2fw nft CONFIG | nft-tenant CONFIG TENANT | ipt CONFIG DIR |\n"
	      "       ipt-tenant CONFIG TENANT DIR | sources CONFIG TENANT allowed|blocked N SEED [4|6]\n",
	      stderr);
	return 1;
}

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "rp2fw: %s: %s\n", path, strerror(errno));
	return f;
}

int main(int argc, char **argv)
{
	struct rp_config cfg = { 0 };
	struct geo_db db = { 0 };
	struct diag d = { 0 };
	struct rp_tenant *t = NULL;
	const char *mode;
	int err, ret = 2;

	if (argc < 3)
		return usage();
	mode = argv[1];
	err = config_load(argv[2], RP_CFG_SKIP_KEY_FILES, &cfg, &d);
	if (err) {
		diag_print(&d, stderr);
		diag_free(&d);
		return 1;
	}
	err = geo_load(&cfg, &db, &d);
	if (err) {
		diag_print(&d, stderr);
		goto out;
	}
	if (!strcmp(mode, "nft-tenant") || !strcmp(mode, "ipt-tenant") || !strcmp(mode, "sources")) {
		if (argc < 4) {
			ret = usage();
			goto out;
		}
		t = config_tenant_by_name(&cfg, argv[3]);
		if (!t) {
			fprintf(stderr, "rp2fw: no tenant '%s' in %s\n", argv[3], argv[2]);
			ret = 1;
			goto out;
		}
	}
	if (!strcmp(mode, "nft")) {
		ret = render_nft(stdout, &cfg, &db) ? 2 : 0;
	} else if (!strcmp(mode, "nft-tenant")) {
		ret = render_nft_tenant(stdout, t) ? 2 : 0;
	} else if (!strcmp(mode, "ipt") && argc == 4) {
		struct ccsets fences = { 0 }, egress = { 0 };
		FILE *s = open_out(argv[3], "ipset.restore");
		FILE *f4 = open_out(argv[3], "iptables.rules");
		FILE *f6 = open_out(argv[3], "ip6tables.rules");
		if (s && f4 && f6) {
			render_ipset(s, &cfg, &db, &fences, &egress);
			render_ipt(f4, &cfg, AF_INET, &fences, &egress);
			render_ipt(f6, &cfg, AF_INET6, &fences, &egress);
			ret = 0;
		}
		if (s && fclose(s))
			ret = 2;
		if (f4 && fclose(f4))
			ret = 2;
		if (f6 && fclose(f6))
			ret = 2;
		free(fences.v);
		free(egress.v);
	} else if (!strcmp(mode, "ipt-tenant") && argc == 5) {
		/* iptables-restore --noflush: flush the tenant's rule chain, refill it */
		int fi;
		ret = 0;
		for (fi = 0; fi < 2; fi++) {
			struct ccsets eg = { 0 };
			FILE *f = open_out(argv[4], fi ? "ip6tables.tenant" : "iptables.tenant");
			if (!f) {
				ret = 2;
				break;
			}
			fprintf(f, "*filter\n-F %s_intra\n", t->name);
			ipt_tenant_chains(f, &cfg, t, fi ? AF_INET6 : AF_INET, &eg, 0, 1);
			fputs("COMMIT\n", f);
			if (fclose(f))
				ret = 2;
			free(eg.v);
		}
	} else if (!strcmp(mode, "sources") && argc >= 7) {
		int allowed = !strcmp(argv[4], "allowed");
		if (!allowed && strcmp(argv[4], "blocked")) {
			ret = usage();
			goto out;
		}
		rng_state = strtoull(argv[6], NULL, 0);
		ret = render_sources(stdout, &db, t, allowed, atol(argv[5]),
				     argc > 7 && !strcmp(argv[7], "6") ? AF_INET6 : AF_INET) ? 2 : 0;
	} else {
		ret = usage();
	}
	if (fflush(stdout))
		ret = 2;
out:
	diag_free(&d);
	geo_free(&db);
	config_free(&cfg);
	return ret;
}
