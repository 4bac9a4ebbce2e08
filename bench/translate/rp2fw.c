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
 *
 * rp2fw.c reads the policy, flattens its zones into intervals and writes
 * the random sources; rp2fw_nft.c and rp2fw_ipt.c render (rp2fw.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "config/country.h"
#include "rp2fw.h"

/* ---- small helpers ---------------------------------------------------- */

void *fw_calloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p) {
		fprintf(stderr, "rp2fw: out of memory\n");
		abort();
	}
	return p;
}

u128 prefix_lo(const struct rp_prefix *p)
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

u128 prefix_hi(const struct rp_prefix *p)
{
	int bits = p->family == AF_INET ? 32 : 128;

	if (p->len == 0)
		return bits == 32 ? 0xffffffffu : ~(u128)0;
	return prefix_lo(p) | ((((u128)1) << (bits - p->len)) - 1);
}

void fmt_int(int family, u128 v, char *buf, size_t len)
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
void put_range(FILE *f, int family, u128 lo, u128 hi)
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
void range_cidrs(int family, u128 lo, u128 hi,
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

void put_prefix(FILE *f, const struct rp_prefix *p)
{
	char a[INET6_ADDRSTRLEN];

	fmt_int(p->family, prefix_lo(p), a, sizeof(a));
	fprintf(f, "%s/%u", a, p->len);
}

size_t count_family(const struct rp_prefix_list *l, int family)
{
	size_t i, n = 0;

	for (i = 0; i < l->n; i++)
		n += l->v[i].family == family;
	return n;
}

/* nft "{ a, b-c }" of the prefixes of one family (caller checks count > 0) */
void put_prefix_set(FILE *f, const struct rp_prefix_list *l, int family)
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




void ivals_add(struct ivals *iv, u128 lo, u128 hi, int verdict)
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
void flatten(struct pfx_item *it, size_t n, struct ivals *out)
{
	struct pfx_item **st = fw_calloc(n + 1, sizeof(*st));
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



void add_items(struct pfx_item **it, size_t *n, size_t *cap, const struct rp_prefix_list *l,
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

/* The other tenants' shares that list t, in config order, into out (when
 * not NULL); how many. */
static size_t shares_to(const struct rp_config *cfg, const struct rp_tenant *t, struct zshare *out)
{
	size_t n = 0;

	for (size_t u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *o = &cfg->tenants[u];

		if (o == t)
			continue;
		for (size_t s = 0; s < o->n_shares; s++) {
			if (!share_lists(&o->shares[s], t, cfg))
				continue;
			if (out)
				out[n] = (struct zshare){ o, &o->shares[s] };
			n++;
		}
	}
	return n;
}

void tenant_zones(const struct rp_config *cfg, const struct rp_tenant *t, struct tzones *z)
{
	size_t s, fi;

	memset(z, 0, sizeof(*z));
	z->n_shares = shares_to(cfg, t, NULL);
	z->shares = fw_calloc(z->n_shares, sizeof(*z->shares));
	shares_to(cfg, t, z->shares);
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

void tzones_free(struct tzones *z)
{
	free(z->z[0].v);
	free(z->z[1].v);
	free(z->shares);
}


static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->to->len != y->to->len)
		return y->to->len - x->to->len;
	return x->order < y->order ? -1 : x->order > y->order;
}

struct pair *tenant_pairs(const struct rp_tenant *t, size_t *np)
{
	size_t r, k, n = 0;
	struct pair *p;

	for (r = 0; r < t->n_rules; r++)
		n += t->rules[r].to.n;
	p = fw_calloc(n, sizeof(*p));
	n = 0;
	for (r = 0; r < t->n_rules; r++)
		for (k = 0; k < t->rules[r].to.n; k++)
			p[n++] = (struct pair){ &t->rules[r], &t->rules[r].to.v[k], r };
	qsort(p, n, sizeof(*p), pair_cmp);
	*np = n;
	return p;
}

/* the union of every tenant's networks (sites, cloud, gateway hosts) */
void all_networks(const struct rp_config *cfg, int family, struct ivals *out)
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

void all_sites(const struct rp_config *cfg, int family, struct ivals *out)
{
	struct pfx_item *it = NULL;
	size_t n = 0, cap = 0, u, s;

	for (u = 0; u < cfg->n_tenants; u++)
		for (s = 0; s < cfg->tenants[u].n_sites; s++)
			add_items(&it, &n, &cap, &cfg->tenants[u].sites[s].allowed_ips, family, 0, 0, 0);
	flatten(it, n, out);
	free(it);
}

void sites_of(const struct rp_tenant *t, int family, struct ivals *out)
{
	struct pfx_item *it = NULL;
	size_t n = 0, cap = 0, s;

	for (s = 0; s < t->n_sites; s++)
		add_items(&it, &n, &cap, &t->sites[s].allowed_ips, family, 0, 0, 0);
	flatten(it, n, out);
	free(it);
}

void list_ivals(const struct rp_prefix_list *l, int family, struct ivals *out)
{
	struct pfx_item *it = NULL;
	size_t n = 0, cap = 0;

	add_items(&it, &n, &cap, l, family, 0, 0, 0);
	flatten(it, n, out);
	free(it);
}

/* geo ranges whose country is in the set (none: in no set) */
void geo_ivals(const struct geo_db *db, const struct rp_ccset *cs, int family,
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

/* The ports of pl separated by sep, a range written lo DASH hi. */
void put_ports(FILE *f, const struct rp_port_list *pl, const char *sep, char dash)
{
	for (size_t i = 0; i < pl->n; i++) {
		if (i)
			fputs(sep, f);
		if (pl->v[i].lo == pl->v[i].hi)
			fprintf(f, "%u", pl->v[i].lo);
		else
			fprintf(f, "%u%c%u", pl->v[i].lo, dash, pl->v[i].hi);
	}
}

size_t ccsets_index(struct ccsets *c, const struct rp_ccset *s)
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
	size_t *idx = fw_calloc(total, sizeof(*idx));
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
