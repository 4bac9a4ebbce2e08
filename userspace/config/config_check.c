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
		if (overlaps_list(p, &t->sites[s].allowed_ips) ||
		    overlaps_list(p, &t->sites[s].tunnel_ip))
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
			for (size_t s = 0; s < t->n_sites; s++) {
				prefix_list_append(out, &t->sites[s].allowed_ips);
				prefix_list_append(out, &t->sites[s].tunnel_ip);
			}
		} else if (!strcmp(it, "cloud")) {
			prefix_list_append(out, &t->cloud_prefixes);
		} else if (!strncmp(it, "site:", 5)) {
			size_t s;

			for (s = 0; s < t->n_sites; s++)
				if (!strcmp(t->sites[s].name, it + 5))
					break;
			if (s == t->n_sites)
				cfg_err(w, "'%s': no site '%s' in this tenant", it, it + 5);
			else {
				prefix_list_append(out, &t->sites[s].allowed_ips);
				prefix_list_append(out, &t->sites[s].tunnel_ip);
			}
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

/* The host part of p as text. */
static void host_text(const struct rp_prefix *p, char *buf, size_t len)
{
	struct rp_addr a;

	prefix_host(p, &a);
	addr_format(&a, buf, len);
}

/* The host bits of address a in a network of length len: all zero (0), all
 * one (1), or mixed (-1). */
static int host_bits(const struct rp_addr *a, unsigned len)
{
	unsigned bits = a->family == AF_INET ? 32 : 128, ones = 0;

	for (unsigned b = len; b < bits; b++)
		ones += !!(a->addr[b / 8] & (0x80 >> (b % 8)));
	return !ones ? 0 : ones == bits - len ? 1 : -1;
}

/* A site's tunnel_ip: a host inside one of the tenant's tunnel networks,
 * neither the gateway's own address there nor the network's (or, IPv4, its
 * broadcast) address, no other site's tunnel_ip, and no LAN's address (the
 * site's wg-quick Address must never sit next to its own LAN). */
static void check_tunnel_ips(struct where *w, const struct rp_tenant *t)
{
	char sec[64], a[64], n[64];

	for (size_t i = 0; i < t->n_sites; i++) {
		const struct rp_site *s = &t->sites[i];

		snprintf(sec, sizeof(sec), "site %s", s->name);
		w->section = sec;
		w->key = "tunnel_ip";
		for (size_t k = 0; k < s->tunnel_ip.n; k++) {
			const struct rp_prefix *p = &s->tunnel_ip.v[k], *net = NULL;
			struct rp_addr h;
			int hb;

			prefix_host(p, &h);
			host_text(p, a, sizeof(a));
			for (size_t m = 0; m < t->tunnel_address.n && !net; m++)
				if (prefix_contains(&t->tunnel_address.v[m], &h))
					net = &t->tunnel_address.v[m];
			if (!net) {
				char list[256] = "";

				for (size_t m = 0; m < t->tunnel_address.n; m++) {
					prefix_format(&t->tunnel_address.v[m], n, sizeof(n));
					snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
						 m ? ", " : "", n);
				}
				cfg_err(w, "'%s' is outside the tenant's tunnel networks (tunnel_address %s)",
					a, t->tunnel_address.n ? list : "not set");
				continue;
			}
			prefix_format(net, n, sizeof(n));
			hb = host_bits(&h, net->len);
			if (!memcmp(net->addr, h.addr, sizeof(h.addr)))
				cfg_err(w, "'%s' is the gateway's own address (tunnel_address %s)", a, n);
			else if (p->family == AF_INET && net->len <= 30 && hb == 0)
				cfg_err(w, "'%s' is the network address of tunnel_address %s", a, n);
			else if (p->family == AF_INET && net->len <= 30 && hb == 1)
				cfg_err(w, "'%s' is the broadcast address of tunnel_address %s", a, n);
			else if (p->family == AF_INET6 && net->len <= 126 && hb == 0)
				cfg_err(w, "'%s' is the subnet-router anycast address of tunnel_address %s", a, n);
			for (size_t j = 0; j < i; j++)
				for (size_t m = 0; m < t->sites[j].tunnel_ip.n; m++)
					if (!memcmp(&t->sites[j].tunnel_ip.v[m], p, sizeof(*p)))
						cfg_err(w, "'%s' is already the tunnel_ip of site '%s'", a,
							t->sites[j].name);
			for (size_t j = 0; j < t->n_sites; j++)
				for (size_t m = 0; m < t->sites[j].allowed_ips.n; m++)
					if (prefix_contains(&t->sites[j].allowed_ips.v[m], &h)) {
						prefix_format(&t->sites[j].allowed_ips.v[m], n, sizeof(n));
						cfg_err(w, "'%s' is inside %sallowed_ips '%s'%s%s: a tunnel "
							   "address is never an address of a LAN", a,
							j == i ? "the site's own " : "the ", n,
							j == i ? "" : " of site ", j == i ? "" : t->sites[j].name);
					}
			for (size_t m = 0; m < t->cloud_prefixes.n; m++)
				if (prefix_contains(&t->cloud_prefixes.v[m], &h)) {
					prefix_format(&t->cloud_prefixes.v[m], n, sizeof(n));
					cfg_err(w, "'%s' is inside the tenant's cloud_prefixes '%s'", a, n);
				}
		}
		w->key = NULL;
	}
}

/* A rekey in progress (`site rekey`) names the key pair it replaces. */
static void check_previous(struct where *w, const struct rp_tenant *t)
{
	char sec[64];

	for (size_t i = 0; i < t->n_sites; i++) {
		const struct rp_site *s = &t->sites[i];

		snprintf(sec, sizeof(sec), "site %s", s->name);
		w->section = sec;
		if (s->has_previous && !memcmp(s->previous_public_key, s->public_key, RP_KEY_LEN)) {
			w->key = "previous_public_key";
			cfg_err(w, "the same key as public_key (a rekey replaces the key)");
		}
		if (s->previous_preshared_key_file && !s->has_previous) {
			w->key = "previous_preshared_key_file";
			cfg_err(w, "only with previous_public_key (a rekey in progress)");
		}
		w->key = NULL;
	}
}

/* A tenant key rotation: both next_* keys or neither; a new key on a port
 * of its own. */
static void check_next(struct where *w, struct rp_tenant *t)
{
	bool zero = true;

	w->section = "tenant";
	if (!!t->next_private_key_file != !!t->next_listen_port) {
		w->key = t->next_listen_port ? "next_listen_port" : "next_private_key_file";
		cfg_err(w, "a tenant key rotation needs both next_private_key_file and "
			   "next_listen_port (docs/keys.md)");
	}
	if (t->next_listen_port && t->next_listen_port == t->listen_port) {
		w->key = "next_listen_port";
		cfg_err(w, "%u is the tenant's listen_port: the next key needs a port of its own "
			   "while the sites move", t->next_listen_port);
	}
	for (int i = 0; i < RP_KEY_LEN; i++)
		zero &= !t->next_public_key[i];
	if (t->next_private_key_file && !zero &&
	    !memcmp(t->next_public_key, t->public_key, RP_KEY_LEN)) {
		w->key = "next_private_key_file";
		cfg_err(w, "the same key as private_key_file (a rotation needs a new key)");
	}
	w->key = NULL;
	/* wn-NAME; a tunnel_interface "wg-X" of its own gets "wn-X" */
	if (t->name && t->next_private_key_file && t->next_listen_port && !t->next_interface &&
	    asprintf(&t->next_interface, "wn-%s",
		     t->tunnel_interface && !strncmp(t->tunnel_interface, "wg-", 3)
			     ? t->tunnel_interface + 3 : t->name) < 0)
		abort();
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
	check_tunnel_ips(w, t);
	check_previous(w, t);
	check_next(w, t);
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

static void check_pair(struct cfg_check *c, const struct rp_tenant *a, const struct rp_tenant *b)
{
	const char *arel = config_rel(c->cfg, a->file);

	if (a->name && b->name && !strcmp(a->name, b->name))
		cfg_check_err(c, b, "tenant", "name",
			      "'%s' is already the name of the tenant in %s",
			      b->name, arel);
	if (a->id && a->id == b->id)
		cfg_check_err(c, b, "tenant", "id",
			      "%u is already the id of tenant '%s' (%s)", b->id,
			      tname(a), arel);
	if (a->listen_port && a->listen_port == b->listen_port)
		cfg_check_err(c, b, "tenant", "listen_port",
			      "%u is already the listen_port of tenant '%s' (%s)",
			      b->listen_port, tname(a), arel);
	if (b->next_listen_port &&
	    (b->next_listen_port == a->listen_port || b->next_listen_port == a->next_listen_port))
		cfg_check_err(c, b, "tenant", "next_listen_port",
			      "%u is already a listen port of tenant '%s' (%s)",
			      b->next_listen_port, tname(a), arel);
	if (a->next_listen_port && a->next_listen_port == b->listen_port)
		cfg_check_err(c, b, "tenant", "listen_port",
			      "%u is already the next_listen_port of tenant '%s' (%s)",
			      b->listen_port, tname(a), arel);
	if (b->next_interface && a->cloud_interface && !strcmp(b->next_interface, a->cloud_interface))
		cfg_check_err(c, b, "tenant", "next_private_key_file",
			      "its second tunnel '%s' is the cloud interface of tenant '%s' (%s)",
			      b->next_interface, tname(a), arel);
	if (b->next_interface && a->tunnel_interface && !strcmp(b->next_interface, a->tunnel_interface))
		cfg_check_err(c, b, "tenant", "next_private_key_file",
			      "its second tunnel '%s' is the tunnel interface of tenant '%s' (%s)",
			      b->next_interface, tname(a), arel);
	if (a->next_interface && b->tunnel_interface && !strcmp(a->next_interface, b->tunnel_interface))
		cfg_check_err(c, b, "tenant", "tunnel_interface",
			      "'%s' is the second tunnel of tenant '%s' (%s) during its key rotation",
			      b->tunnel_interface, tname(a), arel);
	if (a->next_interface && b->cloud_interface && !strcmp(a->next_interface, b->cloud_interface))
		cfg_check_err(c, b, "tenant", "cloud_interface",
			      "'%s' is the second tunnel of tenant '%s' (%s) during its key rotation",
			      b->cloud_interface, tname(a), arel);
	if (b->next_private_key_file && !key_zero(b->next_public_key) &&
	    (!memcmp(a->public_key, b->next_public_key, RP_KEY_LEN) ||
	     (a->next_private_key_file && !memcmp(a->next_public_key, b->next_public_key, RP_KEY_LEN))))
		cfg_check_err(c, b, "tenant", "next_private_key_file",
			      "the same key as tenant '%s' (%s): every tenant needs its own",
			      tname(a), arel);
	if (a->tunnel_interface && b->tunnel_interface &&
	    !strcmp(a->tunnel_interface, b->tunnel_interface))
		cfg_check_err(c, b, "tenant", "tunnel_interface",
			      "'%s' is already the tunnel interface of tenant '%s' (%s)", b->tunnel_interface,
			      tname(a), arel);
	if (a->tunnel_interface && b->cloud_interface &&
	    !strcmp(a->tunnel_interface, b->cloud_interface))
		cfg_check_err(c, b, "tenant", "cloud_interface",
			      "'%s' is the tunnel interface of tenant '%s' (%s)",
			      b->cloud_interface, tname(a), arel);
	if (b->tunnel_interface && a->cloud_interface &&
	    !strcmp(b->tunnel_interface, a->cloud_interface))
		cfg_check_err(c, b, "tenant", "tunnel_interface",
			      "'%s' is the cloud interface of tenant '%s' (%s)",
			      b->tunnel_interface, tname(a), arel);
	if (!key_zero(a->public_key) && !memcmp(a->public_key, b->public_key, RP_KEY_LEN))
		cfg_check_err(c, b, "tenant", "private_key_file",
			      "the same key as tenant '%s' (%s): "
			      "every tenant needs its own", tname(a), arel);
	if (a->cloud_interface && b->cloud_interface &&
	    !strcmp(a->cloud_interface, b->cloud_interface)) {
		if (!a->vlan || !b->vlan)
			cfg_check_err(c, b, "tenant", "vlan",
				      "cloud interface '%s' is shared with tenant '%s' (%s): both need a vlan id",
				      b->cloud_interface, tname(a), arel);
		else if (a->vlan == b->vlan)
			cfg_check_err(c, b, "tenant", "vlan",
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

static void check_site_keys(struct cfg_check *c)
{
	const struct rp_config *cfg = c->cfg;
	struct key_seen *tab;
	size_t total = cfg->n_tenants, size = 16;
	char sec[64];

	for (size_t i = 0; i < cfg->n_tenants; i++)
		total += 2 * cfg->tenants[i].n_sites;
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

		for (size_t s = 0; s < t->n_sites; s++)
			for (int prev = 0; prev < 2; prev++) {
				const struct rp_site *site = &t->sites[s];
				const uint8_t *key = prev ? site->previous_public_key : site->public_key;
				const char *what = prev ? "previous_public_key" : "public_key";
				struct key_seen *e;

				if ((prev && !site->has_previous) || key_zero(key))
					continue;	/* none, or already reported */
				e = key_find(tab, size - 1, key);
				if (!e->key) {
					*e = (struct key_seen){ key, i, s };
					continue;
				}
				if (e->i == i && e->s == s)
					continue;	/* the same as its public_key: said elsewhere */
				snprintf(sec, sizeof(sec), "site %s", site->name);
				if (e->s == SIZE_MAX)
					cfg_check_err(c, t, sec, what,
						      "is the gateway's own key of tenant '%s'",
						      tname(&cfg->tenants[e->i]));
				else
					cfg_check_err(c, t, sec, what,
						      "already the key of site '%s' of tenant '%s'",
						      cfg->tenants[e->i].sites[e->s].name, tname(&cfg->tenants[e->i]));
			}
	}
	free(tab);
}

static void check_against_gateway(struct cfg_check *c, const struct rp_tenant *t)
{
	const struct rp_config *cfg = c->cfg;
	bool geo = cfg->geo_ipv4 || cfg->geo_ipv6;

	if (cfg->uplink && t->cloud_interface && !strcmp(cfg->uplink, t->cloud_interface))
		cfg_check_err(c, t, "tenant", "cloud_interface",
			      "'%s' is the uplink", t->cloud_interface);
	if (cfg->uplink && t->next_interface && !strcmp(cfg->uplink, t->next_interface))
		cfg_check_err(c, t, "tenant", "next_private_key_file",
			      "its second tunnel '%s' is the uplink", t->next_interface);
	if (t->next_interface && t->cloud_interface && !strcmp(t->cloud_interface, t->next_interface))
		cfg_check_err(c, t, "tenant", "cloud_interface",
			      "'%s' is the tenant's second tunnel during its key rotation",
			      t->next_interface);
	if (cfg->uplink && t->tunnel_interface && !strcmp(cfg->uplink, t->tunnel_interface))
		cfg_check_err(c, t, "tenant", "tunnel_interface",
			      "'%s' is the uplink", t->tunnel_interface);
	if (t->cloud_interface && t->tunnel_interface &&
	    !strcmp(t->cloud_interface, t->tunnel_interface))
		cfg_check_err(c, t, "tenant", "tunnel_interface",
			      "'%s' is also the tenant's cloud_interface",
			      t->tunnel_interface);
	if (!geo && !ccset_empty(&t->site_countries))
		cfg_check_err(c, t, "tenant", "site_countries",
			      "needs a geo database ([geo] ipv4 or ipv6 in rempart.ini)");
	if (!geo && t->has_egress_countries)
		cfg_check_err(c, t, "tenant", "egress_countries",
			      "needs a geo database ([geo] ipv4 or ipv6 in rempart.ini)");
}

static void check_shares(struct cfg_check *c, const struct rp_tenant *t)
{
	char sec[64];

	for (size_t i = 0; i < t->n_shares; i++)
		for (size_t k = 0; k < t->shares[i].n_tenants; k++)
			if (!config_tenant_by_name(c->cfg, t->shares[i].tenants[k])) {
				snprintf(sec, sizeof(sec), "share %s", t->shares[i].name);
				cfg_check_err(c, t, sec, "tenants",
					      "'%s': no such tenant", t->shares[i].tenants[k]);
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

/* A resolver the tenant's sites are told to use (site_dns) must be one they
 * can reach: in the tenant's cloud, or in a share offered to the tenant
 * that carries DNS (udp port 53).  After resolve_shares. */
static bool dns_offered(const struct rp_config *cfg, size_t ti, const struct rp_addr *a)
{
	for (size_t u = 0; u < cfg->n_tenants; u++) {
		if (u == ti)
			continue;
		for (size_t k = 0; k < cfg->tenants[u].n_shares; k++) {
			const struct rp_share *sh = &cfg->tenants[u].shares[k];

			if (config_share_offered_to(sh, ti) &&
			    (sh->proto == RP_PROTO_UDP || sh->proto == RP_PROTO_ANY) &&
			    port_list_contains(&sh->ports, 53) &&
			    prefix_list_longest_match(&sh->to, a) >= 0)
				return true;
		}
	}
	return false;
}

static void check_site_dns(struct cfg_check *c)
{
	char buf[64];

	for (size_t i = 0; i < c->cfg->n_tenants; i++) {
		const struct rp_tenant *t = &c->cfg->tenants[i];

		for (size_t k = 0; k < t->site_dns.n; k++) {
			struct rp_addr a;

			prefix_host(&t->site_dns.v[k], &a);
			if (prefix_list_longest_match(&t->cloud_prefixes, &a) >= 0 ||
			    dns_offered(c->cfg, i, &a))
				continue;
			addr_format(&a, buf, sizeof(buf));
			cfg_check_err(c, t, "tenant", "site_dns",
				      "'%s' is neither in the tenant's cloud_prefixes "
				      "nor offered to it by a [share] with udp port 53: its sites could not "
				      "reach it", buf);
		}
	}
}

void config_check(struct rp_config *cfg, bool complete, struct diag *d, unsigned *errors)
{
	struct cfg_check c = { .cfg = cfg, .d = d, .errors = errors };

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
	if (complete) {
		check_site_dns(&c);
		config_check_net(cfg, d, errors);
	}
}
