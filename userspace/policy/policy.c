// SPDX-License-Identifier: GPL-2.0
/* policy.c — the policy compiler; see policy.h and docs/policy.md.
 *
 * Per tenant T (and tenant 0 for the gateway-wide prefixes), every prefix
 * the policy mentions is an item tagged with what it means (a zone, a flag,
 * a rule's `from` group or `to`).  Items sorted by address then length are
 * walked with a stack, so each prefix inherits the state of its nearest
 * ancestor: the entry (atom) of a prefix says everything about the addresses
 * for which it is the longest match.  Rule `from` sets and `to` chains are
 * interned into classes; a (source class, destination class) pair that
 * shares a rule gets a port table with the first matching rule in
 * "longest destination, then file order" already decided.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include "lib/log.h"
#include "policy/gwaddr.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

static unsigned bits_of(uint8_t family)
{
	return family == AF_INET ? 32 : 128;
}

static int add_item(struct tctx *x, const struct rp_prefix *p, int tag, uint32_t a, uint32_t b, uint32_t c)
{
	struct item *it;

	if (GROW(x->items, x->n_items, x->cap_items))
		return -ENOMEM;
	it = &x->items[x->n_items++];
	memset(it, 0, sizeof(*it));
	it->p = *p;
	prefix_mask(&it->p);
	it->tag = tag;
	it->a = a;
	it->b = b;
	it->c = c;
	return 0;
}

static int add_list(struct tctx *x, const struct rp_prefix_list *l, int tag, uint32_t a, uint32_t b, uint32_t c)
{
	for (size_t i = 0; i < l->n; i++)
		if (add_item(x, &l->v[i], tag, a, b, c))
			return -ENOMEM;
	return 0;
}

static int add_hosts(struct tctx *x, const struct rp_prefix_list *l, int tag, uint32_t a)
{
	for (size_t i = 0; i < l->n; i++) {
		struct rp_prefix h = l->v[i];

		h.len = bits_of(h.family);
		if (add_item(x, &h, tag, a, 0, 0))
			return -ENOMEM;
	}
	return 0;
}

/* By address, then prefix length (outer first), tag, a.  The sort of every
 * compile: two integer compares instead of a memcmp call. */
static int cmp_item(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	uint64_t x = addr_be64(a->p.addr), y = addr_be64(b->p.addr);

	if (x == y) {
		x = addr_be64(a->p.addr + 8);
		y = addr_be64(b->p.addr + 8);
	}
	if (x != y)
		return x < y ? -1 : 1;
	if (a->p.len != b->p.len)
		return a->p.len < b->p.len ? -1 : 1;
	if (a->tag != b->tag)
		return a->tag < b->tag ? -1 : 1;
	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return 0;
}

static bool is_ancestor(const struct rp_prefix *anc, const struct rp_prefix *p)
{
	struct rp_addr a = { .family = p->family };

	if (anc->len > p->len)
		return false;
	memcpy(a.addr, p->addr, 16);
	return prefix_contains(anc, &a);
}

/* Intern the source class "parent's groups + these" for family fam. */
static int intern_src(struct tctx *x, uint8_t fam, uint32_t parent, const uint32_t *g, size_t ng, uint32_t *out)
{
	size_t pn = parent ? x->sc_n[parent] : 0, n = 0;
	uint32_t *set = malloc((pn + ng + 1) * sizeof(*set)), *slot;
	bool added;

	if (!set)
		return -ENOMEM;
	set[n++] = fam;
	if (pn)
		memcpy(set + n, x->sc_set[parent], pn * sizeof(*set));
	n += pn;
	memcpy(set + n, g, ng * sizeof(*set));
	n += ng;
	qsort(set + 1, n - 1, sizeof(*set), cmp_u32);
	{
		size_t w = 1;

		for (size_t i = 1; i < n; i++)
			if (w == 1 || set[i] != set[w - 1])
				set[w++] = set[i];
		n = w;
	}
	slot = hmap_get_or_add(&x->sc_map, set, n * sizeof(*set), &added);
	if (!slot) {
		free(set);
		return -ENOMEM;
	}
	if (added) {
		if (x->n_sc == 0)
			x->n_sc = 1;	/* class 0: none */
		if (GROW(x->sc_set, x->n_sc, x->cap_sc) ||
		    !(x->sc_n = realloc(x->sc_n, x->cap_sc * sizeof(*x->sc_n))) ||
		    !(x->sc_fam = realloc(x->sc_fam, x->cap_sc * sizeof(*x->sc_fam)))) {
			free(set);
			return -ENOMEM;
		}
		memmove(set, set + 1, (n - 1) * sizeof(*set));
		x->sc_set[x->n_sc] = set;
		x->sc_n[x->n_sc] = n - 1;
		x->sc_fam[x->n_sc] = fam;
		*slot = x->n_sc++;
	} else {
		free(set);
	}
	*out = *slot;
	return 0;
}

static int intern_dst(struct tctx *x, uint8_t fam, uint32_t parent, const uint32_t *r, size_t nr, uint32_t *out)
{
	uint32_t *key = malloc((nr + 2) * sizeof(*key)), *slot;
	bool added;

	if (!key)
		return -ENOMEM;
	key[0] = fam;
	key[1] = parent;
	memcpy(key + 2, r, nr * sizeof(*key));
	slot = hmap_get_or_add(&x->dc_map, key, (nr + 2) * sizeof(*key), &added);
	if (!slot) {
		free(key);
		return -ENOMEM;
	}
	if (added) {
		if (x->n_dc == 0)
			x->n_dc = 1;
		if (GROW(x->dc_rules, x->n_dc, x->cap_dc) ||
		    !(x->dc_n = realloc(x->dc_n, x->cap_dc * sizeof(*x->dc_n))) ||
		    !(x->dc_parent = realloc(x->dc_parent, x->cap_dc * sizeof(*x->dc_parent))) ||
		    !(x->dc_fam = realloc(x->dc_fam, x->cap_dc * sizeof(*x->dc_fam)))) {
			free(key);
			return -ENOMEM;
		}
		memmove(key, key + 2, nr * sizeof(*key));
		x->dc_rules[x->n_dc] = key;
		x->dc_n[x->n_dc] = nr;
		x->dc_parent[x->n_dc] = parent;
		x->dc_fam[x->n_dc] = fam;
		*slot = x->n_dc++;
	} else {
		free(key);
	}
	*out = *slot;
	return 0;
}

static int emit(struct tctx *x, const struct nstate *st)
{
	struct pent *e;

	if (GROW(x->ents, x->n_ents, x->cap_ents))
		return -ENOMEM;
	e = &x->ents[x->n_ents];
	e->p = st->p;
	if (atom_id(x, &st->v, &e->atom))
		return diag_count(x->d) ? -E2BIG : -ENOMEM;
	x->n_ents++;
	return 0;
}

/* Zone rank: lower wins at equal length. */
static uint64_t zone_rank(const struct item *it)
{
	switch (it->tag) {
	case TG_ZSITE: return 0;
	case TG_ZCLOUD: return 1;
	case TG_ZGW: return 2;
	default: return 3 + (uint64_t)it->c;
	}
}

static int apply_tags(struct tctx *x, struct nstate *st, const struct item *it, size_t n)
{
	uint32_t *groups = NULL, *rules = NULL;
	size_t ng = 0, nr = 0;
	const struct item *best = NULL;
	int err = 0;

	groups = malloc(n * sizeof(*groups));
	rules = malloc(n * sizeof(*rules));
	if (!groups || !rules) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct item *t = &it[i];

		switch (t->tag) {
		case TG_ZSITE: case TG_ZCLOUD: case TG_ZGW: case TG_ZSHARE:
			if (!best || zone_rank(t) < zone_rank(best))
				best = t;
			if (t->tag == TG_ZSITE)
				st->v.flags |= RP_A_IN_SITE;
			if (t->tag == TG_ZCLOUD)
				st->v.flags |= RP_A_IN_CLOUD;
			if (t->tag == TG_ZGW)	/* a: 1 for a cloud_address */
				st->v.flags |= RP_A_GW | RP_A_GW_OWN | (t->a ? RP_A_GW_CLOUD : 0);
			break;
		case TG_GW:
			st->v.flags |= RP_A_GW;
			break;
		case TG_ALLOW_FROM:
			st->v.flags |= RP_A_ALLOW_FROM;
			break;
		case TG_MGMT:
			st->v.flags |= RP_A_MGMT;
			break;
		case TG_FROM:
			groups[ng++] = t->a;
			break;
		case TG_TO:
			if (!nr || rules[nr - 1] != t->a)
				rules[nr++] = t->a;
			break;
		case TG_SITE_OWNER:
			if (!st->v.site_owner || t->a < st->v.site_owner)
				st->v.site_owner = t->a;
			break;
		case TG_OWNER: {
			uint16_t id = t->a, a = st->v.owner_a, b = st->v.owner_b;

			if (id == a || id == b)
				break;
			if (!a || id < a) {
				b = a;
				a = id;
			} else if (!b || id < b) {
				b = id;
			}
			st->v.owner_a = a;
			st->v.owner_b = b;
			break;
		}
		}
	}
	if (best) {
		st->v.zone = best->tag == TG_ZSITE ? RP_Z_SITE : best->tag == TG_ZCLOUD ? RP_Z_CLOUD :
			     best->tag == TG_ZGW ? RP_Z_GATEWAY : RP_Z_SHARE;
		st->v.share_id = best->tag == TG_ZSHARE ? best->a : 0;
		st->v.share_owner = best->tag == TG_ZSHARE ? best->b : 0;
	}
	if (ng)
		err = intern_src(x, st->p.family, st->v.src_class, groups, ng, &st->v.src_class);
	if (!err && nr)
		err = intern_dst(x, st->p.family, st->v.dst_class, rules, nr, &st->v.dst_class);
out:
	free(groups);
	free(rules);
	return err;
}

static int walk_family(struct tctx *x, uint8_t family)
{
	struct nstate stack[130], root = { 0 };
	struct item *it = x->items;
	size_t n = 0, depth = 0;
	int err = 0;

	/* items of this family first */
	for (size_t i = 0; i < x->n_items; i++)
		if (x->items[i].p.family == family) {
			struct item tmp = x->items[n];

			x->items[n++] = x->items[i];
			x->items[i] = tmp;
		}
	qsort(it, n, sizeof(*it), cmp_item);
	for (size_t i = 0, j; i < n; i = j) {
		struct nstate st;

		for (j = i + 1; j < n && it[j].p.len == it[i].p.len &&
				!memcmp(it[j].p.addr, it[i].p.addr, 16); j++)
			;
		while (depth && !is_ancestor(&stack[depth - 1].p, &it[i].p))
			depth--;
		st = depth ? stack[depth - 1] : root;
		st.p = it[i].p;
		err = apply_tags(x, &st, &it[i], j - i);
		if (!err)
			err = emit(x, &st);
		if (err)
			return err;
		stack[depth++] = st;
	}
	for (size_t i = 0; x->out->keep_prefixes && i < x->n_ents; i++) {
		struct rp_policy *o = x->out;

		if (GROW(o->prefixes, o->n_prefixes, o->cap_prefixes))
			return -ENOMEM;
		o->prefixes[o->n_prefixes++] = (struct pol_prefix){ x->tid, x->ents[i].p, x->ents[i].atom };
	}
	return build_trie(x, x->root[family == AF_INET6]);
}

static void tctx_free(struct tctx *x)
{
	for (size_t i = 1; i < x->n_sc; i++)
		free(x->sc_set[i]);
	for (size_t i = 1; i < x->n_dc; i++)
		free(x->dc_rules[i]);
	free(x->sc_set); free(x->sc_n); free(x->sc_fam);
	free(x->dc_rules); free(x->dc_n); free(x->dc_parent); free(x->dc_fam);
	hmap_free(&x->sc_map);
	hmap_free(&x->dc_map);
	free(x->items);
	free(x->ents);
	free(x->rule_group);
	free(x->rule_id);
	memset(x, 0, sizeof(*x));
}

/* ---- tenants ------------------------------------------------------------- */

static int name_rule(struct rp_policy *o, const char *tenant, const char *name, uint32_t *id)
{
	size_t cap = o->n_rule_names;
	char **p;

	if (o->n_rule_names + 1 >= RP_RULE_COUNTERS_MAX)
		return -E2BIG;
	p = realloc(o->rule_names, (cap + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	o->rule_names = p;
	if (asprintf(&p[cap], "%s/%s", tenant, name) < 0)
		return -ENOMEM;
	o->n_rule_names++;
	*id = o->n_rule_names;
	return 0;
}

/* ---- the gateway's addresses in a tenant's trie ----------------------------
 *
 * A tenant's trie marks RP_A_GW on the gateway's addresses that lie inside
 * its zones (its sites, cloud, gateway addresses and the shares offered to
 * it): there the longest match is the tenant's own, and must say so.  An
 * address outside every zone of the tenant is looked up in tenant 0's trie,
 * which marks all of them (compile_gateway).  So a tenant's trie holds the
 * few gateway addresses that overlap its networks, not every tenant's. */
struct gw_zones {
	struct tctx *x;
	struct item *z;		/* the tenant's zone items */
	size_t n;
	struct hmap set;	/* (family, len, addr) of each of them */
	bool lens[2][129];	/* zone prefix lengths present, per family */
};

struct zkey {
	uint8_t family, len;
	uint8_t addr[16];
};

static void zkey_of(const struct rp_prefix *p, unsigned len, struct zkey *k)
{
	struct rp_prefix m = *p;

	m.len = len;
	prefix_mask(&m);
	memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->len = len;
	memcpy(k->addr, m.addr, 16);
}

static int gw_in_zones(const struct rp_prefix *g, void *arg)
{
	struct gw_zones *gz = arg;
	unsigned full = bits_of(g->family), f = g->family == AF_INET6;
	bool covered = false;

	for (unsigned len = 0; len <= g->len && len <= full && !covered; len++) {
		struct zkey k;
		bool added;
		uint32_t *v;

		if (!gz->lens[f][len])
			continue;
		zkey_of(g, len, &k);
		v = hmap_get_or_add(&gz->set, &k, sizeof(k), &added);
		if (!v)
			return -ENOMEM;
		if (added)	/* looked up, not meant to be in it: mark it absent */
			*v = 0;
		covered = *v != 0;
	}
	if (covered)
		return add_item(gz->x, g, TG_GW, 0, 0, 0);
	if (g->len >= full)
		return 0;
	/* a range (the kernel's fixed ones): the zones inside it are */
	for (size_t i = 0; i < gz->n; i++) {
		struct rp_addr a = { .family = gz->z[i].p.family };

		memcpy(a.addr, gz->z[i].p.addr, 16);
		if (gz->z[i].p.len >= g->len && prefix_contains(g, &a) &&
		    add_item(gz->x, &gz->z[i].p, TG_GW, 0, 0, 0))
			return -ENOMEM;
	}
	return 0;
}

static int add_gateway_in_zones(struct tctx *x)
{
	struct gw_zones gz = { .x = x };
	int err = -ENOMEM;

	gz.z = malloc((x->n_items + 1) * sizeof(*gz.z));
	if (!gz.z)
		return -ENOMEM;
	for (size_t i = 0; i < x->n_items; i++) {
		const struct item *it = &x->items[i];
		struct zkey k;
		bool added;
		uint32_t *v;

		if (it->tag != TG_ZSITE && it->tag != TG_ZCLOUD && it->tag != TG_ZGW && it->tag != TG_ZSHARE)
			continue;
		gz.z[gz.n++] = *it;
		gz.lens[it->p.family == AF_INET6][it->p.len] = true;
		zkey_of(&it->p, it->p.len, &k);
		v = hmap_get_or_add(&gz.set, &k, sizeof(k), &added);
		if (!v)
			goto out;
		*v = 1;
	}
	err = gw_addrs_each(x->cfg, gw_in_zones, &gz);
out:
	hmap_free(&gz.set);
	free(gz.z);
	return err;
}

static int add_gateway_all(const struct rp_prefix *g, void *arg)
{
	return add_item(arg, g, TG_GW, 0, 0, 0);
}

static int compile_tenant(const struct rp_config *cfg, size_t ti, const uint32_t *share_gid,
			  struct rp_policy *o, struct hmap *atoms, struct diag *d)
{
	const struct rp_tenant *t = &cfg->tenants[ti];
	struct tctx x = { .cfg = cfg, .out = o, .d = d, .tid = t->id, .t = t, .atom_map = atoms,
			  .root = { &o->tenants[ti].v.root4, &o->tenants[ti].v.root6 } };
	struct hmap groups = { 0 };
	uint32_t order = 0;
	int err = -ENOMEM;

	for (size_t s = 0; s < t->n_sites; s++) {
		if (add_list(&x, &t->sites[s].allowed_ips, TG_ZSITE, s, 0, 0) ||
		    add_list(&x, &t->sites[s].tunnel_ip, TG_ZSITE, s, 0, 0) ||
		    add_list(&x, &t->sites[s].allow_from, TG_ALLOW_FROM, s, 0, 0))
			goto out;
	}
	if (add_list(&x, &t->cloud_prefixes, TG_ZCLOUD, 0, 0, 0) ||
	    add_hosts(&x, &t->tunnel_address, TG_ZGW, 0) ||
	    add_hosts(&x, &t->cloud_address, TG_ZGW, 1))
		goto out;
	for (size_t ui = 0, gid_i = 0; ui < cfg->n_tenants; ui++) {
		const struct rp_tenant *u = &cfg->tenants[ui];

		for (size_t s = 0; s < u->n_shares; s++, gid_i++, order++) {
			if (ui == ti || !config_share_offered_to(&u->shares[s], ti))
				continue;
			if (add_list(&x, &u->shares[s].to, TG_ZSHARE, share_gid[gid_i], u->id, order))
				goto out;
		}
	}
	if (add_gateway_in_zones(&x))
		goto out;
	x.rule_group = calloc(t->n_rules + 1, sizeof(uint32_t));
	x.rule_id = calloc(t->n_rules + 1, sizeof(uint32_t));
	if (!x.rule_group || !x.rule_id)
		goto out;
	for (size_t r = 0; r < t->n_rules; r++) {
		const struct rp_rule *ru = &t->rules[r];
		struct rp_prefix *key = malloc((ru->from.n + 1) * sizeof(*key));
		uint32_t *g;
		bool added;

		if (!key)
			goto out;
		for (size_t k = 0; k < ru->from.n; k++) {
			key[k] = ru->from.v[k];
			prefix_mask(&key[k]);
		}
		g = hmap_get_or_add(&groups, key, ru->from.n * sizeof(*key), &added);
		free(key);
		if (!g)
			goto out;
		if (added)
			*g = ++x.n_groups;
		x.rule_group[r] = *g;
		if (added && add_list(&x, &ru->from, TG_FROM, *g, 0, 0))
			goto out;
		if (add_list(&x, &ru->to, TG_TO, r, 0, 0))
			goto out;
		err = name_rule(o, t->name, ru->name, &x.rule_id[r]);
		if (err)
			goto out;
		err = -ENOMEM;
	}
	err = walk_family(&x, AF_INET);
	if (!err)
		err = walk_family(&x, AF_INET6);
	if (!err)
		err = build_pairs(&x);
out:
	hmap_free(&groups);
	tctx_free(&x);
	if (err == -ENOMEM)
		diag_add(d, "tenant %s: out of memory compiling the policy", t->name);
	else if (err == -E2BIG && !diag_count(d))
		diag_add(d, "tenant %s: policy larger than the dataplane's maps", t->name);
	return err;
}

/* Tenant 0: management prefixes, every tenant's networks and site prefixes. */
static int compile_gateway(const struct rp_config *cfg, struct rp_policy *o, struct hmap *atoms,
			   struct diag *d)
{
	struct pol_tenant *g0 = &o->tenants[o->n_tenants - 1];	/* compile_tables put it last */
	struct tctx x = { .cfg = cfg, .out = o, .d = d, .tid = RP_TENANT_GATEWAY, .atom_map = atoms,
			  .root = { &g0->v.root4, &g0->v.root6 } };
	int err = -ENOMEM;

	if (add_list(&x, &cfg->mgmt_allow_from, TG_MGMT, 0, 0, 0))
		goto out;
	for (size_t ti = 0; ti < cfg->n_tenants; ti++) {
		const struct rp_tenant *t = &cfg->tenants[ti];

		for (size_t s = 0; s < t->n_sites; s++)
			if (add_list(&x, &t->sites[s].allowed_ips, TG_SITE_OWNER, t->id, 0, 0) ||
			    add_list(&x, &t->sites[s].allowed_ips, TG_OWNER, t->id, 0, 0) ||
			    add_list(&x, &t->sites[s].tunnel_ip, TG_SITE_OWNER, t->id, 0, 0) ||
			    add_list(&x, &t->sites[s].tunnel_ip, TG_OWNER, t->id, 0, 0))
				goto out;
		if (add_list(&x, &t->cloud_prefixes, TG_OWNER, t->id, 0, 0) ||
		    add_hosts(&x, &t->tunnel_address, TG_OWNER, t->id) ||
		    add_hosts(&x, &t->cloud_address, TG_OWNER, t->id))
			goto out;
	}
	if (gw_addrs_each(cfg, add_gateway_all, &x))
		goto out;
	err = walk_family(&x, AF_INET);
	if (!err)
		err = walk_family(&x, AF_INET6);
out:
	tctx_free(&x);
	if (err == -ENOMEM)
		diag_add(d, "out of memory compiling the gateway prefixes");
	return err;
}

static unsigned default_ifindex(const char *name, void *arg)
{
	return if_nametoindex(name);
}

static int add_iface(struct rp_policy *o, unsigned ifindex, uint16_t vid, int hook, uint16_t tid)
{
	struct pol_iface *e;

	if (GROW(o->ifaces, o->n_ifaces, o->cap_ifaces))
		return -ENOMEM;
	e = &o->ifaces[o->n_ifaces++];
	memset(e, 0, sizeof(*e));
	e->k.ifindex = ifindex;
	e->k.vid = vid;
	e->k.slot = o->slot;
	e->k.hook = hook;
	e->v.tenant = tid;
	return 0;
}

static int compile_tables(const struct rp_config *cfg, struct rp_policy *o,
			  policy_ifindex_fn ifindex, void *arg, struct diag *d)
{
	struct rp_global_cfg *g = &o->global;

	g->flags = RP_G_VALID | (cfg->geo_unknown_allow ? RP_G_UNKNOWN_ALLOW : 0) |
		   (cfg->has_mgmt_countries ? RP_G_MGMT_CC : 0);
	g->mgmt_cc = cfg->mgmt_countries;
	if (cfg->mgmt_tcp_ports.n > RP_MGMT_PORTS_MAX) {
		diag_add(d, "[management] tcp_ports: more than %d ranges", RP_MGMT_PORTS_MAX);
		return -E2BIG;
	}
	g->n_mgmt_ports = cfg->mgmt_tcp_ports.n;
	for (size_t i = 0; i < cfg->mgmt_tcp_ports.n; i++) {
		g->mgmt_ports[i].lo = cfg->mgmt_tcp_ports.v[i].lo;
		g->mgmt_ports[i].hi = cfg->mgmt_tcp_ports.v[i].hi;
	}
	gw_nat_ports(cfg, &g->nat.lo, &g->nat.hi);
	{
		struct rp_addr u[RP_UPLINK_ADDRS];

		g->n_up4 = gw_uplink_list(cfg, AF_INET, u);
		for (unsigned i = 0; i < g->n_up4; i++)
			memcpy(&g->up4[i], u[i].addr, 4);
		g->n_up6 = gw_uplink_list(cfg, AF_INET6, u);
		for (unsigned i = 0; i < g->n_up6; i++)
			memcpy(g->up6[i], u[i].addr, 16);
	}
	o->tenants = calloc(cfg->n_tenants + 2, sizeof(*o->tenants));
	o->ports = calloc(2 * cfg->n_tenants + 1, sizeof(*o->ports));
	if (!o->tenants || !o->ports)
		return -ENOMEM;
	for (size_t ti = 0; ti < cfg->n_tenants; ti++) {
		const struct rp_tenant *t = &cfg->tenants[ti];
		struct pol_tenant *pt = &o->tenants[o->n_tenants++];
		struct pol_port *pp;
		unsigned ifi;

		pt->key = rp_tenant_key(o->slot, t->id);
		pt->v.id = t->id;
		pt->v.flags = RP_T_VALID | (t->intra_allow ? RP_T_INTRA_ALLOW : 0) |
			      (t->egress == RP_EGRESS_NAT ? RP_T_EGRESS_NAT : 0) |
			      (t->has_egress_countries ? RP_T_EGRESS_CC : 0) |
			      (gw_share_provider(cfg, ti) ? RP_T_SHARE_NAT : 0);
		pt->v.site_cc = t->site_countries;
		pt->v.egress_cc = t->egress_countries;
		if (t->listen_port) {
			pp = &o->ports[o->n_ports++];
			pp->k.slot = o->slot;
			pp->k.port = t->listen_port;
			pp->v.tenant = t->id;
		}
		if (t->next_interface && t->next_listen_port) {	/* key rotation: both ports fenced */
			pp = &o->ports[o->n_ports++];
			pp->k.slot = o->slot;
			pp->k.port = t->next_listen_port;
			pp->v.tenant = t->id;
		}
		ifi = t->cloud_interface ? ifindex(t->cloud_interface, arg) : 0;
		if (ifi) {
			if (add_iface(o, ifi, t->vlan, RP_HOOK_CLOUD_IN, t->id))
				return -ENOMEM;
		} else if (t->cloud_interface) {
			diag_add(d, "tenant %s: cloud_interface %s does not exist (not filtered yet)",
				 t->name, t->cloud_interface);
		}
		ifi = t->tunnel_interface ? ifindex(t->tunnel_interface, arg) : 0;
		if (ifi && add_iface(o, ifi, 0, RP_HOOK_TUNNEL_IN, t->id))
			return -ENOMEM;
		ifi = t->next_interface ? ifindex(t->next_interface, arg) : 0;
		if (ifi && add_iface(o, ifi, 0, RP_HOOK_TUNNEL_IN, t->id))
			return -ENOMEM;
	}
	/* tenant 0 of the slot: only the roots of the gateway-wide tries */
	o->tenants[o->n_tenants++].key = rp_tenant_key(o->slot, RP_TENANT_GATEWAY);
	return 0;
}

int policy_compile(const struct rp_config *cfg, unsigned slot, policy_ifindex_fn ifindex,
		   void *arg, struct rp_policy *out, struct diag *d)
{
	struct diag warn = { 0 };
	struct hmap atoms = { 0 };
	uint32_t *share_gid = NULL, *share_rid = NULL;
	size_t n_shares = 0;
	int err;

	bool keep = out->keep_prefixes;

	memset(out, 0, sizeof(*out));
	out->keep_prefixes = keep;
	out->slot = slot & 1;
	if (!ifindex)
		ifindex = default_ifindex;
	for (size_t ti = 0; ti < cfg->n_tenants; ti++)
		n_shares += cfg->tenants[ti].n_shares;
	share_gid = calloc(n_shares + 1, sizeof(*share_gid));
	share_rid = calloc(n_shares + 1, sizeof(*share_rid));
	err = -ENOMEM;
	if (!share_gid || !share_rid)
		goto out;
	/* interfaces, ports, tenant entries (the tries put their roots there) */
	err = compile_tables(cfg, out, ifindex, arg, &warn);
	if (err)
		goto out;
	/* shares: an id and a port table each */
	for (size_t ti = 0, k = 0; ti < cfg->n_tenants; ti++) {
		const struct rp_tenant *u = &cfg->tenants[ti];

		for (size_t s = 0; s < u->n_shares; s++, k++) {
			const struct rp_share *sh = &u->shares[s];
			struct tctx x = { .cfg = cfg, .out = out, .d = d };
			struct cand c;

			share_gid[k] = k + 1;
			err = name_rule(out, u->name, sh->name, &share_rid[k]);
			if (err)
				goto out;
			c = (struct cand){ sh->proto, &sh->ports, RP_ACT_ALLOW, share_rid[k] };
			err = add_table(&x, RP_RK_SHARE, 0, 0, share_gid[k], &c, 1, u->name);
			if (err)
				goto out;
		}
	}
	for (size_t ti = 0; ti < cfg->n_tenants; ti++) {
		err = compile_tenant(cfg, ti, share_gid, out, &atoms, d);
		if (err)
			goto out;
	}
	err = compile_gateway(cfg, out, &atoms, d);
	if (!err)
		err = trie_share(out, d);
out:
	hmap_free(&atoms);
	for (size_t i = 0; i < warn.n; i++)
		pr_warn("%s", warn.msgs[i]);
	diag_free(&warn);
	free(share_gid);
	free(share_rid);
	if (err)
		policy_free(out);
	return err;
}

void policy_rule_val(const struct rp_policy *p, const struct pol_rule *r, struct rp_rule_val *out)
{
	memset(out, 0, sizeof(*out));
	out->n = r->n;
	memcpy(out->seg, p->segs + r->off, r->n * sizeof(*out->seg));
}

void policy_free(struct rp_policy *p)
{
	free(p->nodes);
	free(p->atoms);
	free(p->rules);
	free(p->segs);
	free(p->tenants);
	free(p->ifaces);
	free(p->ports);
	free(p->prefixes);
	for (size_t i = 0; i < p->n_rule_names; i++)
		free(p->rule_names[i]);
	free(p->rule_names);
	memset(p, 0, sizeof(*p));
}
