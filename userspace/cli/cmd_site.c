// SPDX-License-Identifier: GPL-2.0
/* cmd_site.c — `rempart site add|config|rekey|import`: the sites of a tenant
 * and the wg-quick configuration each installs (rempart(8)).  add and config
 * are here, with what the subcommands share (cmd_site.h); rekey and import
 * have their own files. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "app/rekey_watch.h"
#include "app/site_conf.h"
#include "cli/cmd_site.h"
#include "lib/fileutil.h"
#include "lib/ini_edit.h"
#include "lib/keys.h"

enum { O_ALLOWED = 256, O_PUBKEY, O_ENDPOINT, O_KEEPALIVE, O_TUNNEL_IP, O_NO_TUNNEL_IP, O_JSON,
       O_QR, O_CURRENT };

static const struct cli_opt add_opts[] = {
	{ "allowed-ips", O_ALLOWED, "P[,P…]", NULL, "the site's LAN prefixes (needed)" },
	{ "public-key", O_PUBKEY, "KEY", NULL,
	  "the public key of a key pair the site made itself (no key is generated)" },
	{ "tunnel-ip", O_TUNNEL_IP, "A[,A…]", NULL,
	  "the site's tunnel addresses (default: the next free ones)" },
	{ "no-tunnel-ip", O_NO_TUNNEL_IP, NULL, NULL, "no tunnel_ip" },
	{ "endpoint", O_ENDPOINT, "HOST:PORT", NULL, "where the gateway reaches the site" },
	{ "keepalive", O_KEEPALIVE, "SECONDS", NULL, "persistent keepalive" },
	{ "json", O_JSON, NULL, NULL, "the configuration as a JSON object (with its wg-quick text)" },
	{ "qr", O_QR, NULL, NULL, "the configuration as a QR code" },
	{ 0 }
};

static const struct cli_opt config_opts[] = {
	{ "json", O_JSON, NULL, NULL, "the configuration as a JSON object (with its wg-quick text)" },
	{ "qr", O_QR, NULL, NULL, "the configuration as a QR code" },
	{ "current", O_CURRENT, NULL, NULL,
	  "during a tenant key rotation: the configuration with the tenant's current key and port" },
	{ 0 }
};

static int site_add(int argc, char **argv, struct globals *g);
static int site_config(int argc, char **argv, struct globals *g);

static const struct cli_cmd def_site_add = {
	.name = "add",
	.args = "TENANT NAME",
	.summary = "Add a site: keys, tunnel address, its wg-quick configuration",
	.text = "Write a [site NAME] section into TENANT's file.  The site gets the next\n"
		"free tunnel_ip in each of the tenant's tunnel networks (unless\n"
		"--tunnel-ip names them or --no-tunnel-ip), its key pair is generated\n"
		"(unless --public-key gives the public key of one the site made itself),\n"
		"and a preshared key is written next to the tenant's private key (mode\n"
		"0600; the tenant file names it relative to itself).  The configuration\n"
		"is checked again after the change; if it does not load, nothing is\n"
		"changed.  Prints the site's wg-quick configuration with its private key\n"
		"(as a QR code with --qr): the only time it is shown, it is never stored\n"
		"on the gateway.  Changes take effect with `rempart apply`.\n",
	.opts = add_opts,
	.fn = site_add,
};

static const struct cli_cmd def_site_config = {
	.name = "config",
	.args = "TENANT NAME",
	.summary = "Print the wg-quick configuration a site installs",
	.text = "With the line 'PrivateKey = REPLACE_WITH_SITE_PRIVATE_KEY': the gateway\n"
		"does not hold the site's key, fill it in (its QR code with --qr needs the\n"
		"same).  Address is the site's tunnel_ip (/32, /128), MTU and DNS the\n"
		"tenant's mtu and site_dns; AllowedIPs what the site may reach: the\n"
		"tenant's cloud prefixes and tunnel networks, its other sites' allowed IPs\n"
		"and the shares offered to the tenant.  During a tenant key rotation\n"
		"(next_private_key_file): the configuration with the tenant's next key and\n"
		"next_listen_port, the one sites move to; --current prints the one with\n"
		"its current key and listen_port.\n",
	.opts = config_opts,
	.fn = site_config,
};

static const struct cli_cmd *const site_subs[] = { &def_site_add, &def_site_config,
						   &def_site_rekey, &def_site_import, NULL };

const struct cli_cmd def_site = {
	.name = "site",
	.summary = "Sites: add, config, rekey, import",
	.text = "The sites of a tenant and the wg-quick configuration each installs.  The\n"
		"tenant's public key comes from its private key, from [tenant] public_key,\n"
		"or from the copy `apply` keeps in the state directory: the private key\n"
		"file need not be readable.\n",
	.subs = site_subs,
};

/* getopt_long over argv (argv[0] is the subcommand): options before or
 * after the arguments; pos gets the NPOS arguments. */
static int parse(struct globals *g, int argc, char **argv,
		 int (*opt)(int c, const char *arg, void *ctx), void *ctx, const char **pos, int npos)
{
	struct cli_parse p;
	int c;

	cli_begin(&p, argc, argv, g);
	while ((c = cli_next(&p)) > 0)
		if (opt(c, p.val, ctx))
			return RP_EXIT_CONFIG;
	if (c < 0)
		return c == CLI_HELP_SHOWN ? CLI_HELP_SHOWN : RP_EXIT_CONFIG;
	if (cli_args(&p, npos, npos))
		return RP_EXIT_CONFIG;
	for (int i = 0; i < npos; i++)
		pos[i] = p.pos[i];
	return 0;
}

struct add_args {
	const char *allowed, *pubkey, *endpoint, *keepalive, *tunnel_ip;
	bool no_tunnel_ip;
	enum site_out out;
};

static int out_opt(enum site_out *out, enum site_out want, const char *cmd)
{
	if (*out != SITE_OUT_TEXT && *out != want) {
		fprintf(stderr, "rempart: site %s: --json and --qr exclude each other\n", cmd);
		return -1;
	}
	*out = want;
	return 0;
}

static int add_opt(int c, const char *arg, void *ctx)
{
	struct add_args *a = ctx;

	switch (c) {
	case O_ALLOWED: a->allowed = arg; break;
	case O_PUBKEY: a->pubkey = arg; break;
	case O_ENDPOINT: a->endpoint = arg; break;
	case O_KEEPALIVE: a->keepalive = arg; break;
	case O_TUNNEL_IP: a->tunnel_ip = arg; break;
	case O_NO_TUNNEL_IP: a->no_tunnel_ip = true; break;
	case O_JSON: return out_opt(&a->out, SITE_OUT_JSON, "add");
	case O_QR: return out_opt(&a->out, SITE_OUT_QR, "add");
	}
	return 0;
}

/* A comma-separated list of prefixes (hosts: addresses only). */
static int check_list(const char *cmd, const char *opt, const char *v, bool hosts)
{
	char *copy = strdup(v), *save = NULL, *p;
	int rc = 0;

	if (!copy)
		return RP_EXIT_RUNTIME;
	if (!ini_value_ok(v)) {
		fprintf(stderr, "rempart: site %s: %s: '%s' has characters an INI value cannot hold\n",
			cmd, opt, v);
		rc = RP_EXIT_CONFIG;
	}
	for (p = strtok_r(copy, ",", &save); !rc && p; p = strtok_r(NULL, ",", &save)) {
		struct rp_prefix pf;

		while (*p == ' ')
			p++;
		if (prefix_parse(p, &pf) ||
		    (hosts && pf.len != (pf.family == AF_INET ? 32 : 128))) {
			fprintf(stderr, "rempart: site %s: %s: '%s' is not %s\n", cmd, opt, p,
				hosts ? "an IP address" : "a prefix");
			rc = RP_EXIT_CONFIG;
		}
	}
	free(copy);
	return rc;
}

static int check_add_args(const struct add_args *a, uint8_t pub[32])
{
	int rc;

	if (!a->allowed) {
		fprintf(stderr, "rempart: site add: --allowed-ips is needed (the site's LANs)\n");
		return RP_EXIT_CONFIG;
	}
	rc = check_list("add", "--allowed-ips", a->allowed, false);
	if (!rc && a->tunnel_ip)
		rc = check_list("add", "--tunnel-ip", a->tunnel_ip, true);
	if (rc)
		return rc;
	if (a->tunnel_ip && a->no_tunnel_ip) {
		fprintf(stderr, "rempart: site add: --tunnel-ip and --no-tunnel-ip exclude each other\n");
		return RP_EXIT_CONFIG;
	}
	if (a->pubkey && key_from_base64(a->pubkey, pub)) {
		fprintf(stderr, "rempart: site add: --public-key: '%s' is not a WireGuard key "
				"(44 characters of base64 for 32 bytes)\n", a->pubkey);
		return RP_EXIT_CONFIG;
	}
	if (a->endpoint && (!ini_value_ok(a->endpoint) || !strchr(a->endpoint, ':'))) {
		fprintf(stderr, "rempart: site add: --endpoint: '%s' is not HOST:PORT\n", a->endpoint);
		return RP_EXIT_CONFIG;
	}
	if (a->keepalive) {
		char *end;
		long v = strtol(a->keepalive, &end, 10);

		if (!*a->keepalive || *end || v < 0 || v > 65535) {
			fprintf(stderr, "rempart: site add: --keepalive: '%s' is not 0..65535 seconds\n",
				a->keepalive);
			return RP_EXIT_CONFIG;
		}
	}
	return 0;
}

/* ---- add ------------------------------------------------------------------ */

/* The tunnel_ip value: as given, or the next free ones. */
static int tunnel_ips(const struct add_args *a, const struct rp_tenant *t, char *buf, size_t len)
{
	struct rp_prefix_list lans = { 0 }, ips = { 0 };
	char *copy, *save = NULL, *p;
	int err;

	buf[0] = 0;
	if (a->no_tunnel_ip)
		return 0;
	if (a->tunnel_ip) {
		snprintf(buf, len, "%s", a->tunnel_ip);
		return 0;
	}
	copy = strdup(a->allowed);
	for (p = copy ? strtok_r(copy, ",", &save) : NULL; p; p = strtok_r(NULL, ",", &save)) {
		struct rp_prefix pf, *v;

		while (*p == ' ')
			p++;
		if (prefix_parse(p, &pf) || !(v = realloc(lans.v, (lans.n + 1) * sizeof(*v))))
			continue;
		lans.v = v;
		lans.v[lans.n++] = pf;
	}
	free(copy);
	err = site_next_tunnel_ips(t, &lans, &ips);
	for (size_t i = 0; !err && i < ips.n; i++) {
		struct rp_addr h;
		char one[INET6_ADDRSTRLEN];

		prefix_host(&ips.v[i], &h);
		addr_format(&h, one, sizeof(one));
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? ", " : "", one);
	}
	free(lans.v);
	free(ips.v);
	if (err == -ENOSPC)
		fprintf(stderr, "rempart: site add: tenant %s: a tunnel network (tunnel_address) has "
				"no free address left: give --tunnel-ip or --no-tunnel-ip\n", t->name);
	return err;
}

static int site_add(int argc, char **argv, struct globals *g)
{
	struct add_args a = { 0 };
	const char *pos[2];
	uint8_t priv[32], pub[32], psk[32];
	char b64[RP_KEY_B64_LEN + 1], psk_abs[4096], psk_rel[4096], tips[512];
	char *orig = NULL, *text = NULL, *section = NULL;
	struct rp_config cfg = { 0 }, cfg2 = { 0 };
	const struct rp_tenant *t;
	const struct rp_site *s;
	bool have_priv = false, psk_written = false;
	int rc, err;

	rc = parse(g, argc, argv, add_opt, &a, pos, 2);
	if (rc == CLI_HELP_SHOWN)
		return RP_EXIT_OK;
	if (!rc)
		rc = site_check_name("add", pos[1]);
	if (!rc)
		rc = check_add_args(&a, pub);
	if (rc)
		return rc;
	rc = site_load(g, &cfg);
	if (rc)
		return rc;
	rc = site_find("add", g, &cfg, pos[0], pos[1], false, &t, &s);
	if (rc)
		goto out;
	rc = RP_EXIT_RUNTIME;
	if (site_tenant_pubkey(&cfg, t, priv /* scratch */, tips, sizeof(tips))) {
		fprintf(stderr, "rempart: site add: tenant %s: %s\n", t->name, tips);
		goto out;
	}
	if (tunnel_ips(&a, t, tips, sizeof(tips))) {
		rc = RP_EXIT_CONFIG;
		goto out;
	}
	if (site_key_path(t, NULL, pos[1], "psk", psk_abs, sizeof(psk_abs), psk_rel,
			  sizeof(psk_rel))) {
		fprintf(stderr, "rempart: site add: the preshared key's path is too long\n");
		goto out;
	}
	/* Keys: the site's pair (unless given), and a preshared key on disk. */
	if (!a.pubkey) {
		key_generate_private(priv);
		key_public_from_private(pub, priv);
		have_priv = true;
	}
	key_generate_preshared(psk);
	err = key_file_write(psk_abs, psk);
	if (err) {
		fprintf(stderr, "rempart: site add: cannot write the preshared key %s: %s%s\n", psk_abs,
			strerror(-err), err == -EEXIST ? " (left from an earlier site? remove it)" : "");
		goto out;
	}
	psk_written = true;
	orig = file_read_all(t->file, NULL);
	if (!orig) {
		fprintf(stderr, "rempart: site add: cannot read %s: %s\n", t->file, strerror(errno));
		goto out;
	}
	key_to_base64(pub, b64);
	if (asprintf(&section, "[site %s]\npublic_key = %s\npreshared_key_file = %s\n"
			       "allowed_ips = %s\n%s%s%s%s%s%s%s%s%s",
		     pos[1], b64, psk_rel, a.allowed,
		     *tips ? "tunnel_ip = " : "", tips, *tips ? "\n" : "",
		     a.endpoint ? "endpoint = " : "", a.endpoint ? a.endpoint : "",
		     a.endpoint ? "\n" : "", a.keepalive ? "keepalive = " : "",
		     a.keepalive ? a.keepalive : "", a.keepalive ? "\n" : "") < 0) {
		section = NULL;
		goto out;
	}
	text = ini_text_append(orig, section);
	if (!text)
		goto out;
	rc = site_write_checked("add", g, t, orig, text, &cfg2);
	if (rc)
		goto out;
	t = config_tenant_by_name(&cfg2, pos[0]);
	s = t ? site_by_name(t, pos[1]) : NULL;
	if (!s) {
		fprintf(stderr, "rempart: site add: [site %s] is not in %s after writing it\n", pos[1],
			t ? t->file : pos[0]);
		rc = RP_EXIT_RUNTIME;
		goto out;
	}
	psk_written = false;	/* it is part of the config now */
	rc = site_emit("add", &cfg2, t, s, have_priv ? priv : NULL, psk, a.out, false, NULL);
	fprintf(stderr, "rempart: site add: [site %s] written to %s; run `rempart apply`%s\n",
		pos[1], t->file, have_priv ? "; the private key above is not stored anywhere" : "");
out:
	if (psk_written)
		unlink(psk_abs);
	explicit_bzero(priv, sizeof(priv));
	explicit_bzero(psk, sizeof(psk));
	explicit_bzero(b64, sizeof(b64));
	free(orig);
	free(text);
	free(section);
	config_free(&cfg);
	config_free(&cfg2);
	return rc;
}

/* ---- config --------------------------------------------------------------- */

struct config_args {
	enum site_out out;
	bool current;
};

static int config_opt(int c, const char *arg, void *ctx)
{
	struct config_args *a = ctx;

	if (c == O_CURRENT) {
		a->current = true;
		return 0;
	}
	return out_opt(&a->out, c == O_JSON ? SITE_OUT_JSON : SITE_OUT_QR, "config");
}

static int site_config(int argc, char **argv, struct globals *g)
{
	struct rp_config cfg = { 0 };
	const struct rp_tenant *t;
	const struct rp_site *s;
	struct config_args ca = { .out = SITE_OUT_TEXT };
	enum site_out out;
	const char *pos[2];
	uint8_t psk[32];
	char why[512];
	int rc, has;

	rc = parse(g, argc, argv, config_opt, &ca, pos, 2);
	out = ca.out;
	if (rc)
		return rc == CLI_HELP_SHOWN ? RP_EXIT_OK : rc;
	rc = site_load(g, &cfg);
	if (rc)
		return rc;
	rc = site_find("config", g, &cfg, pos[0], pos[1], true, &t, &s);
	if (rc)
		goto out;
	has = site_psk(s, psk, why, sizeof(why));
	if (has < 0) {
		fprintf(stderr, "rempart: site config: [site %s]: %s\n", s->name, why);
		rc = RP_EXIT_RUNTIME;
		goto out;
	}
	rc = site_emit("config", &cfg, t, s, NULL, has ? psk : NULL, out, ca.current, NULL);
	if (!rc && t->next_interface)
		fprintf(stderr, ca.current ?
			"rempart: site config: tenant %s is rotating its key: this is the configuration "
			"with its current key and listen_port %u; the sites move to the one without "
			"--current\n" :
			"rempart: site config: tenant %s is rotating its key: this is the configuration "
			"with its next key and next_listen_port %u (--current: the one in use before)\n",
			t->name, ca.current ? t->listen_port : t->next_listen_port);
	if (!rc && out == SITE_OUT_QR)
		fprintf(stderr, "rempart: site config: this QR code holds 'PrivateKey = "
				SITE_CONF_PLACEHOLDER "': the gateway never holds the site's private "
				"key, so fill it in after scanning; `site add --qr` and `site rekey "
				"--qr` show a complete one, once\n");
	if (!rc && s->has_previous)
		fprintf(stderr, "rempart: site config: [site %s] is being rekeyed: this is the "
				"configuration with its new key\n", s->name);
out:
	explicit_bzero(psk, sizeof(psk));
	config_free(&cfg);
	return rc;
}
