// SPDX-License-Identifier: GPL-2.0
/* config_check.c — checks between the sections of a tenant file (sites
 * overlapping, rule selectors expanded, shares inside the cloud), then
 * across tenant files and between rempart.ini and the tenants: duplicate
 * names, ids, listen ports, interfaces and keys, cloud interfaces shared
 * without distinct VLANs, shares naming unknown tenants, countries without
 * a geo database.  Then tenants are sorted by id
 * and shares resolved to tenant indexes.  Errors are reported on the later
 * file (tenant files are read in name order). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config/config_internal.h"
#include "config/country.h"

/* ---- within one tenant file --------------------------------------------- */

/* ports make sense only for protocols that have them. */
static void check_ports_proto(struct where *w, enum rp_proto proto, const struct rp_port_list *ports)
{
	if (ports->n && proto != RP_PROTO_TCP && proto != RP_PROTO_UDP && proto != RP_PROTO_ANY) {
		w->key = "ports";
		cfg_err(w, "only with proto tcp, udp or any (proto is %s)", proto_name(proto));
	}
	w->key = NULL;
}

/* Expand "sites", "cloud", "site:NAME" and prefixes into out. */
static bool overlaps_list(const struct rp_prefix *p, const struct rp_prefix_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (prefix_overlap(p, &l->v[i]))
			return true;
	return false;
}

static bool overlaps_host(const struct rp_prefix *p, const struct rp_prefix_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct rp_addr a;

		prefix_host(&l->v[i], &a);
		if (prefix_contains(p, &a))
			return true;
	}
	return false;
}

/* Rules judge only traffic between the tenant's own networks (docs/policy.md):
 * a prefix of a rule outside them is a typo that would never match.  `to`
 * also covers the gateway's own addresses. */
static bool in_tenant(const struct rp_tenant *t, const struct rp_prefix *p, bool to)
{
	for (size_t s = 0; s < t->n_sites; s++)
		if (overlaps_list(p, &t->sites[s].allowed_ips))
			return true;
	return overlaps_list(p, &t->cloud_prefixes) ||
	       (to && (overlaps_host(p, &t->tunnel_address) || overlaps_host(p, &t->cloud_address)));
}

/* check_scope: complain about prefixes outside the tenant (only when the
 * file has no other error: its networks are then known). */
static void expand_selectors(struct where *w, const struct rp_tenant *t, const char *text,
			     bool to, bool check_scope, struct rp_prefix_list *out)
{
	size_t n;
	char **items = list_split(text, &n);

	for (size_t i = 0; i < n; i++) {
		const char *it = items[i];

		if (!strcmp(it, "sites")) {
			if (!t->n_sites)
				cfg_err(w, "'sites': the tenant has no sites");
			for (size_t s = 0; s < t->n_sites; s++)
				prefix_list_append(out, &t->sites[s].allowed_ips);
		} else if (!strcmp(it, "cloud")) {
			prefix_list_append(out, &t->cloud_prefixes);
		} else if (!strncmp(it, "site:", 5)) {
			size_t s;

			for (s = 0; s < t->n_sites; s++)
				if (!strcmp(t->sites[s].name, it + 5))
					break;
			if (s == t->n_sites)
				cfg_err(w, "'%s': no site '%s' in this tenant", it, it + 5);
			else
				prefix_list_append(out, &t->sites[s].allowed_ips);
		} else {
			struct rp_prefix_list l = { 0 };
			struct rp_prefix p;

			if (prefix_parse(it, &p)) {
				cfg_err(w, "'%s' is neither a prefix nor one of sites, cloud, site:NAME", it);
				continue;
			}
			if (!val_prefixes(w, it, true, &l)) {
				if (check_scope && !in_tenant(t, &p, to))
					cfg_err(w, "'%s' is outside the tenant's networks (sites, cloud%s): "
						   "the rule would never match", it, to ? ", own addresses" : "");
				prefix_list_append(out, &l);
			}
			free(l.v);
		}
	}
	list_free(items, n);
}

/* Name site I's section in w and the prefix p in a, for a message. */
static void site_where(struct where *w, const struct rp_site *s, const struct rp_prefix *p,
		       char *sec, size_t sec_len, char *a, size_t a_len)
{
	snprintf(sec, sec_len, "site %s", s->name);
	w->section = sec;
	w->key = "allowed_ips";
	prefix_format(p, a, a_len);
}

static void check_sites_overlap(struct where *w, const struct rp_tenant *t)
{
	char a[64], b[64], sec[64];

	for (size_t i = 0; i < t->n_sites; i++) {
		const struct rp_site *s = &t->sites[i];

		for (size_t k = 0; k < s->allowed_ips.n; k++) {
			const struct rp_prefix *p = &s->allowed_ips.v[k];

			for (size_t j = 0; j < i; j++)
				for (size_t m = 0; m < t->sites[j].allowed_ips.n; m++)
					if (prefix_overlap(p, &t->sites[j].allowed_ips.v[m])) {
						site_where(w, s, p, sec, sizeof(sec), a, sizeof(a));
						prefix_format(&t->sites[j].allowed_ips.v[m], b, sizeof(b));
						cfg_err(w, "'%s' overlaps '%s' of site '%s'", a, b,
							t->sites[j].name);
					}
			for (size_t m = 0; m < t->cloud_prefixes.n; m++)
				if (prefix_overlap(p, &t->cloud_prefixes.v[m])) {
					site_where(w, s, p, sec, sizeof(sec), a, sizeof(a));
					prefix_format(&t->cloud_prefixes.v[m], b, sizeof(b));
					cfg_err(w, "'%s' overlaps the tenant's cloud_prefixes '%s'", a, b);
				}
		}
	}
	w->key = NULL;
}

static bool inside(const struct rp_prefix *p, const struct rp_prefix_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct rp_addr a;

		prefix_host(p, &a);
		if (l->v[i].len <= p->len && prefix_contains(&l->v[i], &a))
			return true;
	}
	return false;
}

void tenant_finish(struct where *w, struct rp_tenant *t, bool have_tenant)
{
	unsigned errors = w->errors;
	char sec[64], buf[64];

	if (!have_tenant) {
		w->section = "tenant";
		w->key = NULL;
		cfg_err(w, "missing section (every tenant file has one)");
	}
	if (t->name && !t->tunnel_interface) {
		if (asprintf(&t->tunnel_interface, "wg-%s", t->name) < 0)
			abort();
	}
	if (t->has_egress_countries && t->egress != RP_EGRESS_NAT) {
		w->section = "tenant";
		w->key = "egress_countries";
		cfg_err(w, "only with egress = nat (egress is none: nothing leaves anyway)");
	}
	check_sites_overlap(w, t);
	for (size_t i = 0; i < t->n_rules; i++) {
		struct rp_rule *r = &t->rules[i];

		snprintf(sec, sizeof(sec), "rule %s", r->name);
		w->section = sec;
		check_ports_proto(w, r->proto, &r->ports);
		if (r->from_text) {
			w->key = "from";
			expand_selectors(w, t, r->from_text, false, !errors, &r->from);
		}
		if (r->to_text) {
			w->key = "to";
			expand_selectors(w, t, r->to_text, true, !errors, &r->to);
		}
	}
	for (size_t i = 0; i < t->n_shares; i++) {
		struct rp_share *sh = &t->shares[i];

		snprintf(sec, sizeof(sec), "share %s", sh->name);
		w->section = sec;
		check_ports_proto(w, sh->proto, &sh->ports);
		w->key = "to";
		for (size_t k = 0; k < sh->to.n && t->cloud_prefixes.n; k++)
			if (!inside(&sh->to.v[k], &t->cloud_prefixes)) {
				prefix_format(&sh->to.v[k], buf, sizeof(buf));
				cfg_err(w, "'%s' is not inside the tenant's cloud_prefixes", buf);
			}
		w->key = "tenants";
		for (size_t k = 0; k < sh->n_tenants && t->name; k++)
			if (!strcmp(sh->tenants[k], t->name))
				cfg_err(w, "'%s' is this tenant itself", t->name);
	}
	w->key = NULL;
}

/* ---- across files ------------------------------------------------------- */

struct check {
	struct rp_config *cfg;
	struct diag *d;
	unsigned *errors;
};

__attribute__((format(printf, 5, 6)))
static void err(struct check *c, const struct rp_tenant *t, const char *section,
		const char *key, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	diag_add(c->d, "%s: [%s] %s: %s", config_rel(c->cfg, t->file), section, key,
		 msg ? msg : "?");
	free(msg);
	(*c->errors)++;
}

static const char *tname(const struct rp_tenant *t)
{
	return t->name ? t->name : "?";
}

static bool key_zero(const uint8_t *k)
{
	uint8_t acc = 0;

	for (int i = 0; i < RP_KEY_LEN; i++)
		acc |= k[i];
	return !acc;
}

static void check_pair(struct check *c, const struct rp_tenant *a, const struct rp_tenant *b)
{
	const char *arel = config_rel(c->cfg, a->file);

	if (a->name && b->name && !strcmp(a->name, b->name))
		err(c, b, "tenant", "name", "'%s' is already the name of the tenant in %s",
		    b->name, arel);
	if (a->id && a->id == b->id)
		err(c, b, "tenant", "id", "%u is already the id of tenant '%s' (%s)", b->id,
		    tname(a), arel);
	if (a->listen_port && a->listen_port == b->listen_port)
		err(c, b, "tenant", "listen_port", "%u is already the listen_port of tenant '%s' (%s)",
		    b->listen_port, tname(a), arel);
	if (a->tunnel_interface && b->tunnel_interface &&
	    !strcmp(a->tunnel_interface, b->tunnel_interface))
		err(c, b, "tenant", "tunnel_interface",
		    "'%s' is already the tunnel interface of tenant '%s' (%s)", b->tunnel_interface,
		    tname(a), arel);
	if (a->tunnel_interface && b->cloud_interface &&
	    !strcmp(a->tunnel_interface, b->cloud_interface))
		err(c, b, "tenant", "cloud_interface", "'%s' is the tunnel interface of tenant '%s' (%s)",
		    b->cloud_interface, tname(a), arel);
	if (b->tunnel_interface && a->cloud_interface &&
	    !strcmp(b->tunnel_interface, a->cloud_interface))
		err(c, b, "tenant", "tunnel_interface", "'%s' is the cloud interface of tenant '%s' (%s)",
		    b->tunnel_interface, tname(a), arel);
	if (!key_zero(a->public_key) && !memcmp(a->public_key, b->public_key, RP_KEY_LEN))
		err(c, b, "tenant", "private_key_file", "the same key as tenant '%s' (%s): "
		    "every tenant needs its own", tname(a), arel);
	if (a->cloud_interface && b->cloud_interface &&
	    !strcmp(a->cloud_interface, b->cloud_interface)) {
		if (!a->vlan || !b->vlan)
			err(c, b, "tenant", "vlan",
			    "cloud interface '%s' is shared with tenant '%s' (%s): both need a vlan id",
			    b->cloud_interface, tname(a), arel);
		else if (a->vlan == b->vlan)
			err(c, b, "tenant", "vlan",
			    "%u is already the vlan of tenant '%s' (%s) on cloud interface '%s'",
			    b->vlan, tname(a), arel, b->cloud_interface);
	}
}

/* Site public keys, unique across every tenant, and none the gateway's own
 * key of a tenant.  One pass in file order over a hash table of the keys
 * seen (10,000 sites compared pairwise would be 50 million comparisons):
 * each duplicate names the first site with the same key, and the messages
 * come in file order. */
struct key_seen {
	const uint8_t *key;	/* NULL: empty slot */
	size_t i, s;		/* tenant, site; s == SIZE_MAX: the tenant's own key */
};

static struct key_seen *key_find(struct key_seen *tab, size_t mask, const uint8_t *key)
{
	uint64_t h;
	size_t k;

	memcpy(&h, key, sizeof(h));	/* a public key is as good as a hash */
	for (k = (h * 0x9e3779b97f4a7c15ULL >> 20) & mask; tab[k].key; k = (k + 1) & mask)
		if (!memcmp(tab[k].key, key, RP_KEY_LEN))
			break;
	return &tab[k];
}

static void check_site_keys(struct check *c)
{
	struct rp_config *cfg = c->cfg;
	struct key_seen *tab;
	size_t total = cfg->n_tenants, size = 16;
	char sec[64];

	for (size_t i = 0; i < cfg->n_tenants; i++)
		total += cfg->tenants[i].n_sites;
	while (size < 2 * total)
		size *= 2;
	tab = calloc(size, sizeof(*tab));
	if (!tab)
		return;	/* out of memory: config_load fails elsewhere */
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		struct key_seen *e;

		if (key_zero(cfg->tenants[i].public_key))
			continue;
		e = key_find(tab, size - 1, cfg->tenants[i].public_key);
		if (!e->key)	/* two tenants with one key: check_pair says so */
			*e = (struct key_seen){ cfg->tenants[i].public_key, i, SIZE_MAX };
	}
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		for (size_t s = 0; s < t->n_sites; s++) {
			const uint8_t *key = t->sites[s].public_key;
			struct key_seen *e;

			if (key_zero(key))
				continue;	/* already reported */
			e = key_find(tab, size - 1, key);
			if (!e->key) {
				*e = (struct key_seen){ key, i, s };
				continue;
			}
			snprintf(sec, sizeof(sec), "site %s", t->sites[s].name);
			if (e->s == SIZE_MAX)
				err(c, t, sec, "public_key", "is the gateway's own key of tenant '%s'",
				    tname(&cfg->tenants[e->i]));
			else
				err(c, t, sec, "public_key", "already the key of site '%s' of tenant '%s'",
				    cfg->tenants[e->i].sites[e->s].name, tname(&cfg->tenants[e->i]));
		}
	}
	free(tab);
}

static void check_against_gateway(struct check *c, const struct rp_tenant *t)
{
	const struct rp_config *cfg = c->cfg;
	bool geo = cfg->geo_ipv4 || cfg->geo_ipv6;

	if (cfg->uplink && t->cloud_interface && !strcmp(cfg->uplink, t->cloud_interface))
		err(c, t, "tenant", "cloud_interface", "'%s' is the uplink", t->cloud_interface);
	if (cfg->uplink && t->tunnel_interface && !strcmp(cfg->uplink, t->tunnel_interface))
		err(c, t, "tenant", "tunnel_interface", "'%s' is the uplink", t->tunnel_interface);
	if (t->cloud_interface && t->tunnel_interface &&
	    !strcmp(t->cloud_interface, t->tunnel_interface))
		err(c, t, "tenant", "tunnel_interface", "'%s' is also the tenant's cloud_interface",
		    t->tunnel_interface);
	if (!geo && !ccset_empty(&t->site_countries))
		err(c, t, "tenant", "site_countries",
		    "needs a geo database ([geo] ipv4 or ipv6 in rempart.ini)");
	if (!geo && t->has_egress_countries)
		err(c, t, "tenant", "egress_countries",
		    "needs a geo database ([geo] ipv4 or ipv6 in rempart.ini)");
}

static void check_shares(struct check *c, const struct rp_tenant *t)
{
	char sec[64];

	for (size_t i = 0; i < t->n_shares; i++)
		for (size_t k = 0; k < t->shares[i].n_tenants; k++)
			if (!config_tenant_by_name(c->cfg, t->shares[i].tenants[k])) {
				snprintf(sec, sizeof(sec), "share %s", t->shares[i].name);
				err(c, t, sec, "tenants", "'%s': no such tenant", t->shares[i].tenants[k]);
			}
}

static int by_id(const void *a, const void *b)
{
	const struct rp_tenant *x = a, *y = b;

	return (int)x->id - (int)y->id;
}

static void resolve_shares(struct rp_config *cfg)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		for (size_t s = 0; s < cfg->tenants[i].n_shares; s++) {
			struct rp_share *sh = &cfg->tenants[i].shares[s];

			sh->tenant_idx = xcalloc(sh->n_tenants, sizeof(int));
			for (size_t k = 0; k < sh->n_tenants; k++) {
				const struct rp_tenant *u = config_tenant_by_name(cfg, sh->tenants[k]);

				sh->tenant_idx[k] = u ? (int)(u - cfg->tenants) : -1;
			}
		}
}

void config_check(struct rp_config *cfg, bool complete, struct diag *d, unsigned *errors)
{
	struct check c = { .cfg = cfg, .d = d, .errors = errors };

	for (size_t i = 0; i < cfg->n_tenants; i++)
		complete &= cfg->tenants[i].name != NULL;	/* a bad name: unknown to shares */

	for (size_t j = 0; j < cfg->n_tenants; j++) {
		for (size_t i = 0; i < j; i++)
			check_pair(&c, &cfg->tenants[i], &cfg->tenants[j]);
		check_against_gateway(&c, &cfg->tenants[j]);
		if (complete)
			check_shares(&c, &cfg->tenants[j]);
	}
	check_site_keys(&c);
	if (cfg->has_mgmt_countries && !cfg->geo_ipv4 && !cfg->geo_ipv6) {
		diag_add(d, "%s: [management] countries: needs a geo database ([geo] ipv4 or ipv6)",
			 config_rel(cfg, cfg->path));
		(*errors)++;
	}
	if (cfg->n_tenants)
		qsort(cfg->tenants, cfg->n_tenants, sizeof(*cfg->tenants), by_id);
	resolve_shares(cfg);
}
