// SPDX-License-Identifier: GPL-2.0
/* config_tenant.c — one tenant file: [tenant], [site NAME], [rule NAME],
 * [share NAME]: one validator per key.  The checks between sections of the
 * file, and across files, are in config_check.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config/config_internal.h"
#include "lib/keys.h"

/* ---- [tenant] ----------------------------------------------------------- */

#define T ((struct rp_tenant *)obj)

static int t_name(struct where *w, const char *v, void *obj)
{
	return val_name(w, v, RP_TENANT_NAME_MAX, &T->name);
}

static int t_id(struct where *w, const char *v, void *obj)
{
	unsigned long x;

	if (val_uint(w, v, 1, 4000, &x))
		return -EINVAL;
	T->id = x;
	return 0;
}

static int t_cloud_interface(struct where *w, const char *v, void *obj)
{
	return val_ifname(w, v, &T->cloud_interface);
}

static int t_vlan(struct where *w, const char *v, void *obj)
{
	unsigned long x;

	if (val_uint(w, v, 1, 4094, &x))
		return -EINVAL;
	T->vlan = x;
	return 0;
}

static int t_cloud_address(struct where *w, const char *v, void *obj)
{
	return val_prefixes(w, v, false, &T->cloud_address);
}

static int t_cloud_prefixes(struct where *w, const char *v, void *obj)
{
	return val_prefixes(w, v, true, &T->cloud_prefixes);
}

static int t_tunnel_interface(struct where *w, const char *v, void *obj)
{
	return val_ifname(w, v, &T->tunnel_interface);
}

static int t_tunnel_address(struct where *w, const char *v, void *obj)
{
	return val_prefixes(w, v, false, &T->tunnel_address);
}

static int t_listen_port(struct where *w, const char *v, void *obj)
{
	return val_port(w, v, &T->listen_port);
}

/* The tenant's public key is derived from its private key.  public_key, if
 * written, must be that same key: commands that print site configs (site
 * add, config, rekey) then need no access to the private key. */
static int t_private_key_file(struct where *w, const char *v, void *obj)
{
	uint8_t pub[RP_KEY_LEN];

	if (val_key_file(w, v, &T->private_key_file, T->private_key))
		return -EINVAL;
	if (w->flags & RP_CFG_SKIP_KEY_FILES)
		return 0;
	key_public_from_private(pub, T->private_key);
	if (T->has_public_key && memcmp(pub, T->public_key, RP_KEY_LEN)) {
		char b64[RP_KEY_B64_LEN + 1];

		key_to_base64(pub, b64);
		cfg_err(w, "'%s' is not the private key of public_key (its public key is %s)", v, b64);
		return -EINVAL;
	}
	memcpy(T->public_key, pub, RP_KEY_LEN);
	return 0;
}

/* The key the tenant moves to (docs/keys.md "A tenant's key"). */
static int t_next_private_key_file(struct where *w, const char *v, void *obj)
{
	if (val_key_file(w, v, &T->next_private_key_file, T->next_private_key))
		return -EINVAL;
	if (!(w->flags & RP_CFG_SKIP_KEY_FILES))
		key_public_from_private(T->next_public_key, T->next_private_key);
	return 0;
}

static int t_next_listen_port(struct where *w, const char *v, void *obj)
{
	return val_port(w, v, &T->next_listen_port);
}

static int t_public_key(struct where *w, const char *v, void *obj)
{
	uint8_t pub[RP_KEY_LEN], derived = 0;

	if (val_key(w, v, pub))
		return -EINVAL;
	for (int i = 0; i < RP_KEY_LEN; i++)
		derived |= T->public_key[i];	/* private_key_file came first */
	if (derived && memcmp(pub, T->public_key, RP_KEY_LEN)) {
		char b64[RP_KEY_B64_LEN + 1];

		key_to_base64(T->public_key, b64);
		cfg_err(w, "'%s' is not the public key of private_key_file (that is %s)", v, b64);
		return -EINVAL;
	}
	memcpy(T->public_key, pub, RP_KEY_LEN);
	T->has_public_key = true;
	return 0;
}

static int t_site_countries(struct where *w, const char *v, void *obj)
{
	return val_countries(w, v, &T->site_countries);
}

static int t_egress(struct where *w, const char *v, void *obj)
{
	static const char *const modes[] = { "none", "nat", NULL };
	int m;

	if (val_choice(w, v, modes, &m))
		return -EINVAL;
	T->egress = m;
	return 0;
}

static int t_egress_countries(struct where *w, const char *v, void *obj)
{
	if (val_countries(w, v, &T->egress_countries))
		return -EINVAL;
	T->has_egress_countries = true;
	return 0;
}

static int t_intra(struct where *w, const char *v, void *obj)
{
	static const char *const verdicts[] = { "deny", "allow", NULL };
	int a;

	if (val_choice(w, v, verdicts, &a))
		return -EINVAL;
	T->intra_allow = a == 1;
	return 0;
}

static int t_mtu(struct where *w, const char *v, void *obj)
{
	unsigned long x;
	char *end;

	errno = 0;
	x = strtoul(v, &end, 10);
	if (!*v || *v < '0' || *v > '9' || *end || errno || x < RP_MTU_MIN || x > RP_MTU_MAX) {
		cfg_err(w, "'%s' is not a tunnel MTU from %d (IPv6's minimum link MTU: the tunnel "
			   "carries IPv6) to %d (a 9000-byte jumbo uplink less WireGuard's 80 bytes "
			   "over IPv6)", v, RP_MTU_MIN, RP_MTU_MAX);
		return -EINVAL;
	}
	T->mtu = x;
	T->has_mtu = true;
	return 0;
}

static int t_site_dns(struct where *w, const char *v, void *obj)
{
	return val_addresses(w, v, &T->site_dns);
}

static const struct key_spec tenant_keys[] = {
	{ "name", t_name, true },
	{ "id", t_id, true },
	{ "cloud_interface", t_cloud_interface, true },
	{ "vlan", t_vlan, false },
	{ "cloud_address", t_cloud_address, false },
	{ "cloud_prefixes", t_cloud_prefixes, true },
	{ "tunnel_interface", t_tunnel_interface, false },
	{ "tunnel_address", t_tunnel_address, true },
	{ "listen_port", t_listen_port, true },
	{ "private_key_file", t_private_key_file, true },
	{ "public_key", t_public_key, false },
	{ "site_countries", t_site_countries, false },
	{ "egress", t_egress, false },
	{ "egress_countries", t_egress_countries, false },
	{ "intra", t_intra, false },
	{ "mtu", t_mtu, false },
	{ "site_dns", t_site_dns, false },
	{ "next_private_key_file", t_next_private_key_file, false },
	{ "next_listen_port", t_next_listen_port, false },
	{ 0 }
};

/* ---- [site NAME] -------------------------------------------------------- */

#define S ((struct rp_site *)obj)

static int s_public_key(struct where *w, const char *v, void *obj)
{
	return val_key(w, v, S->public_key);
}

static int s_preshared_key_file(struct where *w, const char *v, void *obj)
{
	if (val_key_file(w, v, &S->preshared_key_file, S->psk))
		return -EINVAL;
	S->has_psk = true;
	return 0;
}

static int s_allowed_ips(struct where *w, const char *v, void *obj)
{
	return val_prefixes(w, v, true, &S->allowed_ips);
}

static int s_endpoint(struct where *w, const char *v, void *obj)
{
	return val_hostport(w, v, false, &S->endpoint);
}

static int s_keepalive(struct where *w, const char *v, void *obj)
{
	unsigned long x;

	if (val_uint(w, v, 0, 65535, &x))
		return -EINVAL;
	S->keepalive = x;
	return 0;
}

static int s_allow_from(struct where *w, const char *v, void *obj)
{
	return val_prefixes(w, v, true, &S->allow_from);
}

static int s_tunnel_ip(struct where *w, const char *v, void *obj)
{
	return val_addresses(w, v, &S->tunnel_ip);
}

static int s_previous_public_key(struct where *w, const char *v, void *obj)
{
	if (val_key(w, v, S->previous_public_key))
		return -EINVAL;
	S->has_previous = true;
	return 0;
}

static int s_previous_preshared_key_file(struct where *w, const char *v, void *obj)
{
	if (val_key_file(w, v, &S->previous_preshared_key_file, S->previous_psk))
		return -EINVAL;
	S->has_previous_psk = true;
	return 0;
}

static const struct key_spec site_keys[] = {
	{ "public_key", s_public_key, true },
	{ "preshared_key_file", s_preshared_key_file, false },
	{ "allowed_ips", s_allowed_ips, true },
	{ "endpoint", s_endpoint, false },
	{ "keepalive", s_keepalive, false },
	{ "allow_from", s_allow_from, false },
	{ "tunnel_ip", s_tunnel_ip, false },
	{ "previous_public_key", s_previous_public_key, false },
	{ "previous_preshared_key_file", s_previous_preshared_key_file, false },
	{ 0 }
};

/* ---- [rule NAME] -------------------------------------------------------- */

/* Selectors are kept as written here and expanded once every site is known. */
#define R ((struct rp_rule *)obj)

static int r_from(struct where *w, const char *v, void *obj)
{
	if (*v == '\0') {
		cfg_err(w, "empty value");
		return -EINVAL;
	}
	R->from_text = xstrdup(v);
	return 0;
}

static int r_to(struct where *w, const char *v, void *obj)
{
	if (*v == '\0') {
		cfg_err(w, "empty value");
		return -EINVAL;
	}
	R->to_text = xstrdup(v);
	return 0;
}

static int r_proto(struct where *w, const char *v, void *obj)
{
	return val_proto(w, v, &R->proto);
}

static int r_ports(struct where *w, const char *v, void *obj)
{
	return val_ports(w, v, &R->ports);
}

static int r_action(struct where *w, const char *v, void *obj)
{
	static const char *const actions[] = { "deny", "allow", NULL };
	int a;

	if (val_choice(w, v, actions, &a))
		return -EINVAL;
	R->allow = a == 1;
	return 0;
}

static const struct key_spec rule_keys[] = {
	{ "from", r_from, true },
	{ "to", r_to, true },
	{ "proto", r_proto, false },
	{ "ports", r_ports, false },
	{ "action", r_action, true },
	{ 0 }
};

/* ---- [share NAME] ------------------------------------------------------- */

#define SH ((struct rp_share *)obj)

static int sh_to(struct where *w, const char *v, void *obj)
{
	return val_prefixes(w, v, true, &SH->to);
}

static int sh_proto(struct where *w, const char *v, void *obj)
{
	return val_proto(w, v, &SH->proto);
}

static int sh_ports(struct where *w, const char *v, void *obj)
{
	return val_ports(w, v, &SH->ports);
}

static int sh_tenants(struct where *w, const char *v, void *obj)
{
	unsigned bad = 0;
	size_t n;
	char **items;

	if (*v == '\0') {
		cfg_err(w, "empty value");
		return -EINVAL;
	}
	if (!strcmp(v, "*")) {
		SH->all_tenants = true;
		return 0;
	}
	items = list_split(v, &n);
	SH->tenants = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		char *name = NULL;

		if (!strcmp(items[i], "*")) {
			cfg_err(w, "'*' means every tenant: it cannot be mixed with names");
			bad++;
		} else if (val_name(w, items[i], RP_TENANT_NAME_MAX, &name)) {
			bad++;
		} else {
			for (size_t j = 0; j < SH->n_tenants; j++)
				if (!strcmp(SH->tenants[j], name)) {
					cfg_err(w, "'%s' is listed twice", name);
					bad++;
				}
			SH->tenants[SH->n_tenants++] = name;
		}
	}
	list_free(items, n);
	return bad ? -EINVAL : 0;
}

static const struct key_spec share_keys[] = {
	{ "to", sh_to, true },
	{ "proto", sh_proto, false },
	{ "ports", sh_ports, false },
	{ "tenants", sh_tenants, true },
	{ 0 }
};

/* ---- the file ----------------------------------------------------------- */

/* Append a zeroed site, rule or share named NAME; returns it. */
static void *add_site(struct rp_tenant *t, char *name)
{
	t->sites = xgrow(t->sites, t->n_sites, sizeof(*t->sites));
	t->sites[t->n_sites].name = name;
	return &t->sites[t->n_sites++];
}

static void *add_rule(struct rp_tenant *t, char *name)
{
	t->rules = xgrow(t->rules, t->n_rules, sizeof(*t->rules));
	t->rules[t->n_rules].name = name;
	return &t->rules[t->n_rules++];
}

static void *add_share(struct rp_tenant *t, char *name)
{
	t->shares = xgrow(t->shares, t->n_shares, sizeof(*t->shares));
	t->shares[t->n_shares].name = name;
	return &t->shares[t->n_shares++];
}

/* The named sections of a tenant file: [KIND NAME]. */
static const struct {
	const char *kind;
	const struct key_spec *keys;
	void *(*add)(struct rp_tenant *t, char *name);
} named_sections[] = {
	{ "site", site_keys, add_site },
	{ "rule", rule_keys, add_rule },
	{ "share", share_keys, add_share },
};

void tenant_load(const struct ini_file *f, unsigned flags, struct rp_tenant *t,
		 struct diag *d, unsigned *errors)
{
	struct where w = { .d = d, .f = f, .flags = flags };
	bool have_tenant = false;

	memset(t, 0, sizeof(*t));
	t->file = xstrdup(f->path);
	t->intra_allow = true;
	t->mtu = RP_MTU_DEFAULT;
	for (size_t i = 0; i < f->n; i++) {
		const struct ini_section *s = &f->s[i];
		const char *arg = strchr(s->name, ' ');
		size_t kind_len = arg ? (size_t)(arg - s->name) : strlen(s->name), k;
		char *name = NULL;

		w.section = s->name;
		w.key = NULL;
		if (!strcmp(s->name, "tenant")) {
			have_tenant = true;
			parse_section(&w, s, tenant_keys, t);
			continue;
		}
		if (arg && kind_len == 6 && !strncmp(s->name, "tenant", 6)) {
			cfg_err(&w, "the tenant section has no name: write [tenant] and name = ...");
			continue;
		}
		for (k = 0; k < sizeof(named_sections) / sizeof(named_sections[0]); k++)
			if (strlen(named_sections[k].kind) == kind_len &&
			    !strncmp(s->name, named_sections[k].kind, kind_len))
				break;
		if (k == sizeof(named_sections) / sizeof(named_sections[0])) {
			cfg_err(&w, "unknown section (valid: tenant, site NAME, rule NAME, share NAME)");
			continue;
		}
		if (!arg) {
			cfg_err(&w, "needs a name: [%s NAME]", s->name);
			continue;
		}
		if (val_name(&w, arg + 1, RP_NAME_MAX, &name))
			continue;
		parse_section(&w, s, named_sections[k].keys, named_sections[k].add(t, name));
	}
	tenant_finish(&w, t, have_tenant);
	*errors += w.errors;
}

void tenant_free(struct rp_tenant *t)
{
	for (size_t i = 0; i < t->n_sites; i++) {
		struct rp_site *s = &t->sites[i];

		explicit_bzero(s->psk, sizeof(s->psk));
		explicit_bzero(s->previous_psk, sizeof(s->previous_psk));
		free(s->name);
		free(s->previous_preshared_key_file);
		free(s->tunnel_ip.v);
		free(s->preshared_key_file);
		free(s->allowed_ips.v);
		free(s->endpoint);
		free(s->allow_from.v);
	}
	free(t->sites);
	for (size_t i = 0; i < t->n_rules; i++) {
		struct rp_rule *r = &t->rules[i];

		free(r->name);
		free(r->from.v);
		free(r->to.v);
		free(r->from_text);
		free(r->to_text);
		free(r->ports.v);
	}
	free(t->rules);
	for (size_t i = 0; i < t->n_shares; i++) {
		struct rp_share *sh = &t->shares[i];

		free(sh->name);
		free(sh->to.v);
		free(sh->ports.v);
		for (size_t k = 0; k < sh->n_tenants; k++)
			free(sh->tenants[k]);
		free(sh->tenants);
		free(sh->tenant_idx);
	}
	free(t->shares);
	explicit_bzero(t->private_key, sizeof(t->private_key));
	explicit_bzero(t->next_private_key, sizeof(t->next_private_key));
	free(t->next_private_key_file);
	free(t->next_interface);
	free(t->name);
	free(t->file);
	free(t->cloud_interface);
	free(t->cloud_address.v);
	free(t->cloud_prefixes.v);
	free(t->tunnel_interface);
	free(t->tunnel_address.v);
	free(t->site_dns.v);
	free(t->private_key_file);
	memset(t, 0, sizeof(*t));
}
