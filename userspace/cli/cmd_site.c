// SPDX-License-Identifier: GPL-2.0
/* cmd_site.c — `rempart site add|config`: add a ministry site to a tenant,
 * and print the wg-quick configuration the site installs. */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <qrencode.h>
#include "cli/commands.h"
#include "config/config.h"
#include "lib/fileutil.h"
#include "lib/keys.h"
#include "lib/lazylib.h"

static const char usage[] =
	"Usage: rempart site add TENANT NAME --allowed-ips P[,P...] [--public-key KEY]\n"
	"                        [--endpoint HOST:PORT] [--keepalive SECONDS]\n"
	"       rempart site config TENANT NAME [--qr]\n\n"
	"add     write a [site NAME] section into TENANT's file: the site's key pair is\n"
	"        generated (unless --public-key gives the public key of one the site\n"
	"        made itself), and a preshared key is written next to the tenant's\n"
	"        private key (mode 0600).  The configuration is checked again after\n"
	"        the change; if it does not load, the file is restored.  Prints the\n"
	"        site's wg-quick configuration, with its private key: the only time\n"
	"        it is shown, it is never stored on the gateway.\n"
	"config  print the site's wg-quick configuration (as a QR code with --qr),\n"
	"        with 'PrivateKey = REPLACE_WITH_SITE_PRIVATE_KEY'.\n\n"
	"The site's Address is the first address of each of its allowed IPs; its\n"
	"AllowedIPs are the tenant's cloud prefixes, tunnel networks, its other\n"
	"sites' allowed IPs and the shares offered to the tenant.  Apply the\n"
	"change with `rempart apply`.\n";

#define PLACEHOLDER "REPLACE_WITH_SITE_PRIVATE_KEY"

static bool site_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 32)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

static struct rp_site *site_by_name(const struct rp_tenant *t, const char *name)
{
	for (size_t i = 0; i < t->n_sites; i++)
		if (!strcasecmp(t->sites[i].name, name))
			return &t->sites[i];
	return NULL;
}

struct seen {
	struct rp_prefix v[256];
	size_t n;
};

static void print_prefix_network(FILE *f, const struct rp_prefix *p, bool *first, struct seen *seen)
{
	struct rp_prefix m = *p;
	char buf[INET6_ADDRSTRLEN + 4];
	unsigned int bytes = p->family == AF_INET ? 4 : 16;

	for (unsigned int i = 0; i < bytes; i++) {
		int keep = (int)p->len - (int)i * 8;

		if (keep < 8)
			m.addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
	for (size_t i = 0; i < seen->n; i++)
		if (!memcmp(&seen->v[i], &m, sizeof(m)))
			return;	/* two shares naming one address */
	if (seen->n < sizeof(seen->v) / sizeof(seen->v[0]))
		seen->v[seen->n++] = m;
	prefix_format(&m, buf, sizeof(buf));
	fprintf(f, "%s%s", *first ? "" : ", ", buf);
	*first = false;
}

/* The site's own address on its tunnel: the first address of each of its
 * allowed IPs (the network address itself for a host prefix). */
static void print_site_address(FILE *f, const struct rp_prefix *p, bool *first)
{
	struct rp_prefix m = *p;
	char buf[INET6_ADDRSTRLEN + 4];
	unsigned int bytes = p->family == AF_INET ? 4 : 16, bits = bytes * 8;

	for (unsigned int i = 0; i < bytes; i++) {
		int keep = (int)p->len - (int)i * 8;

		if (keep < 8)
			m.addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
	if ((unsigned int)p->len + 1 < bits)
		m.addr[bytes - 1] |= 1;
	prefix_format(&m, buf, sizeof(buf));
	fprintf(f, "%s%s", *first ? "" : ", ", buf);
	*first = false;
}

static char *wgquick_text(const struct rp_config *cfg, const struct rp_tenant *t,
			  const struct rp_site *s, const uint8_t *priv)
{
	char b64[RP_KEY_B64_LEN + 1], *text = NULL;
	size_t len = 0;
	bool first = true;
	static struct seen seen;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	seen.n = 0;
	fprintf(f, "# rempart: site %s of tenant %s, gateway %s\n", s->name, t->name,
		cfg->name ? cfg->name : "");
	fprintf(f, "[Interface]\n");
	if (priv) {
		key_to_base64(priv, b64);
		fprintf(f, "PrivateKey = %s\n", b64);
	} else {
		fprintf(f, "PrivateKey = " PLACEHOLDER "\n");
	}
	fprintf(f, "Address = ");
	for (size_t i = 0; i < s->allowed_ips.n; i++)
		print_site_address(f, &s->allowed_ips.v[i], &first);
	fprintf(f, "\n\n[Peer]\n");
	key_to_base64(t->public_key, b64);
	fprintf(f, "PublicKey = %s\n", b64);
	if (s->has_psk) {
		key_to_base64(s->psk, b64);
		fprintf(f, "PresharedKey = %s\n", b64);
	}
	first = true;
	fprintf(f, "AllowedIPs = ");
	for (size_t i = 0; i < t->cloud_prefixes.n; i++)
		print_prefix_network(f, &t->cloud_prefixes.v[i], &first, &seen);
	for (size_t i = 0; i < t->tunnel_address.n; i++)
		print_prefix_network(f, &t->tunnel_address.v[i], &first, &seen);
	/* the tenant's other sites: intra-tenant site-to-site goes through the
	 * gateway too (judged by intra and the rules there) */
	for (size_t o = 0; o < t->n_sites; o++)
		for (size_t i = 0; &t->sites[o] != s && i < t->sites[o].allowed_ips.n; i++)
			print_prefix_network(f, &t->sites[o].allowed_ips.v[i], &first, &seen);
	for (size_t p = 0; p < cfg->n_tenants; p++) {
		const struct rp_tenant *o = &cfg->tenants[p];

		if (o == t)
			continue;
		for (size_t k = 0; k < o->n_shares; k++) {
			const struct rp_share *sh = &o->shares[k];
			bool offered = sh->all_tenants;

			for (size_t j = 0; j < sh->n_tenants && !offered; j++)
				offered = sh->tenant_idx && sh->tenant_idx[j] == (int)(t - cfg->tenants);
			for (size_t j = 0; offered && j < sh->to.n; j++)
				print_prefix_network(f, &sh->to.v[j], &first, &seen);
		}
	}
	fprintf(f, "\n");
	if (cfg->public_endpoint) {
		bool v6 = strchr(cfg->public_endpoint, ':') != NULL;

		fprintf(f, "Endpoint = %s%s%s:%u\n", v6 ? "[" : "", cfg->public_endpoint,
			v6 ? "]" : "", t->listen_port);
	}
	if (s->keepalive)
		fprintf(f, "PersistentKeepalive = %u\n", s->keepalive);
	explicit_bzero(b64, sizeof(b64));
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Print as terminal text: two module rows per line with half blocks, light
 * modules drawn (like `qrencode -t UTF8`), a quiet zone of 2. */
static int print_qr(const char *text)
{
	QRcode *qr = LAZY(LAZY_QR, QRcode_encodeString)(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	const int q = 2;

	if (!qr)
		return -errno;
	int w = qr->width;

	for (int y = -q; y < w + q; y += 2) {
		for (int x = -q; x < w + q; x++) {
			bool top = y >= 0 && y < w && x >= 0 && x < w && (qr->data[y * w + x] & 1);
			bool bot = y + 1 >= 0 && y + 1 < w && x >= 0 && x < w &&
				   (qr->data[(y + 1) * w + x] & 1);

			/* dark module = blank, light = ink */
			fputs(!top && !bot ? "█" : !top ? "▀" : !bot ? "▄" : " ", stdout);
		}
		putchar('\n');
	}
	LAZY(LAZY_QR, QRcode_free)(qr);
	return 0;
}

static int site_config(int argc, char **argv, const struct globals *g)
{
	struct rp_config cfg = { 0 };
	const struct rp_tenant *t;
	const struct rp_site *s;
	bool qr = false;
	const char *pos[2];
	int npos = 0, rc;
	char *text;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--qr"))
			qr = true;
		else if (argv[i][0] == '-' || npos == 2) {
			fprintf(stderr, "rempart: site config: unexpected argument '%s' (try --help)\n", argv[i]);
			return RP_EXIT_CONFIG;
		} else
			pos[npos++] = argv[i];
	}
	if (npos != 2) {
		fprintf(stderr, "rempart: site config: TENANT and NAME are needed (try --help)\n");
		return RP_EXIT_CONFIG;
	}
	rc = load_config_or_report(g, 0, &cfg);
	if (rc)
		return rc;
	t = config_tenant_by_name(&cfg, pos[0]);
	if (!t) {
		fprintf(stderr, "rempart: site config: no tenant '%s' in %s\n", pos[0], g->config_path);
		rc = RP_EXIT_CONFIG;
		goto out;
	}
	s = site_by_name(t, pos[1]);
	if (!s) {
		fprintf(stderr, "rempart: site config: tenant %s has no site '%s' (%s)\n", t->name,
			pos[1], t->file);
		rc = RP_EXIT_CONFIG;
		goto out;
	}
	text = wgquick_text(&cfg, t, s, NULL);
	if (!text) {
		fprintf(stderr, "rempart: site config: out of memory\n");
		rc = RP_EXIT_RUNTIME;
		goto out;
	}
	if (qr) {
		if (print_qr(text)) {
			fprintf(stderr, "rempart: site config: cannot encode a QR code\n");
			rc = RP_EXIT_RUNTIME;
		}
	} else {
		fputs(text, stdout);
	}
	wipe_free(text);
out:
	config_free(&cfg);
	return rc;
}

/* Replace PATH's content atomically and durably, keeping its mode. */
static int write_whole(const char *path, const char *data, size_t len)
{
	const struct iovec iov = { (void *)data, len };
	struct stat st;

	if (stat(path, &st))
		return -errno;
	return file_replace(path, &iov, 1, st.st_mode & 07777, true);
}

/* INI values: no newline, no ';' or '#' that would start a comment. */
static bool ini_value_ok(const char *v)
{
	return v && !strpbrk(v, "\n\r;#[]=") && v[0] != ' ';
}

static int site_add(int argc, char **argv, const struct globals *g)
{
	const char *pos[2], *allowed = NULL, *pubkey = NULL, *endpoint = NULL, *keepalive = NULL;
	uint8_t priv[32], pub[32], psk[32];
	char b64[RP_KEY_B64_LEN + 1], psk_path[4096], *orig = NULL, *text = NULL, *section = NULL;
	struct rp_config cfg = { 0 }, cfg2 = { 0 };
	struct rp_tenant *t;
	struct rp_site *s;
	struct diag d = { 0 };
	size_t orig_len = 0;
	int npos = 0, rc = RP_EXIT_CONFIG, err;
	bool have_priv = false, psk_written = false;

	for (int i = 2; i < argc; i++) {
		const char **slot = NULL;

		if (!strcmp(argv[i], "--allowed-ips"))
			slot = &allowed;
		else if (!strcmp(argv[i], "--public-key"))
			slot = &pubkey;
		else if (!strcmp(argv[i], "--endpoint"))
			slot = &endpoint;
		else if (!strcmp(argv[i], "--keepalive"))
			slot = &keepalive;
		if (slot) {
			if (i + 1 >= argc) {
				fprintf(stderr, "rempart: site add: %s needs a value\n", argv[i]);
				return RP_EXIT_CONFIG;
			}
			*slot = argv[++i];
		} else if (argv[i][0] == '-' || npos == 2) {
			fprintf(stderr, "rempart: site add: unexpected argument '%s' (try --help)\n", argv[i]);
			return RP_EXIT_CONFIG;
		} else {
			pos[npos++] = argv[i];
		}
	}
	if (npos != 2 || !allowed) {
		fprintf(stderr, "rempart: site add: TENANT, NAME and --allowed-ips are needed (try --help)\n");
		return RP_EXIT_CONFIG;
	}
	if (!site_name_ok(pos[1])) {
		fprintf(stderr, "rempart: site add: '%s' is not a site name (a-z, 0-9, '-', '_', at most 32)\n", pos[1]);
		return RP_EXIT_CONFIG;
	}
	/* Check every argument before touching anything. */
	{
		char *copy = strdup(allowed), *save = NULL;

		for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
			struct rp_prefix pf;

			while (*p == ' ')
				p++;
			if (prefix_parse(p, &pf)) {
				fprintf(stderr, "rempart: site add: --allowed-ips: '%s' is not a prefix\n", p);
				free(copy);
				return RP_EXIT_CONFIG;
			}
		}
		free(copy);
	}
	if (pubkey && key_from_base64(pubkey, pub)) {
		fprintf(stderr, "rempart: site add: --public-key: '%s' is not a WireGuard key "
				"(44 characters of base64 for 32 bytes)\n", pubkey);
		return RP_EXIT_CONFIG;
	}
	if (endpoint && (!ini_value_ok(endpoint) || !strchr(endpoint, ':'))) {
		fprintf(stderr, "rempart: site add: --endpoint: '%s' is not HOST:PORT\n", endpoint);
		return RP_EXIT_CONFIG;
	}
	if (keepalive) {
		char *end;
		long v = strtol(keepalive, &end, 10);

		if (*end || v < 0 || v > 65535) {
			fprintf(stderr, "rempart: site add: --keepalive: '%s' is not 0..65535 seconds\n", keepalive);
			return RP_EXIT_CONFIG;
		}
	}
	if (!ini_value_ok(allowed)) {
		fprintf(stderr, "rempart: site add: --allowed-ips: '%s' has characters an INI value cannot hold\n", allowed);
		return RP_EXIT_CONFIG;
	}
	rc = load_config_or_report(g, 0, &cfg);
	if (rc)
		return rc;
	rc = RP_EXIT_CONFIG;
	t = config_tenant_by_name(&cfg, pos[0]);
	if (!t) {
		fprintf(stderr, "rempart: site add: no tenant '%s' in %s\n", pos[0], g->config_path);
		goto out;
	}
	if (site_by_name(t, pos[1])) {
		fprintf(stderr, "rempart: site add: %s: [site %s] already exists\n", t->file, pos[1]);
		goto out;
	}

	/* Keys: the site's pair (unless given), and a preshared key on disk. */
	if (!pubkey) {
		key_generate_private(priv);
		key_public_from_private(pub, priv);
		have_priv = true;
	}
	{
		char *dir = strdup(t->private_key_file);

		snprintf(psk_path, sizeof(psk_path), "%s/%s-%s.psk", dirname(dir), t->name, pos[1]);
		free(dir);
	}
	key_generate_preshared(psk);
	err = key_file_write(psk_path, psk);
	explicit_bzero(psk, sizeof(psk));
	if (err) {
		fprintf(stderr, "rempart: site add: cannot write the preshared key %s: %s\n", psk_path,
			strerror(-err));
		rc = RP_EXIT_RUNTIME;
		goto out;
	}
	psk_written = true;

	/* Append the section; the file stays valid INI. */
	orig = file_read_all(t->file, &orig_len);
	if (!orig) {
		fprintf(stderr, "rempart: site add: cannot read %s: %s\n", t->file, strerror(errno));
		rc = RP_EXIT_RUNTIME;
		goto out;
	}
	key_to_base64(pub, b64);
	if (asprintf(&section, "%s%s[site %s]\npublic_key = %s\npreshared_key_file = %s\n"
			       "allowed_ips = %s\n%s%s%s%s%s%s",
		     orig_len && orig[orig_len - 1] != '\n' ? "\n" : "", orig_len ? "\n" : "",
		     pos[1], b64, psk_path, allowed,
		     endpoint ? "endpoint = " : "", endpoint ? endpoint : "", endpoint ? "\n" : "",
		     keepalive ? "keepalive = " : "", keepalive ? keepalive : "",
		     keepalive ? "\n" : "") < 0) {
		section = NULL;
		rc = RP_EXIT_RUNTIME;
		goto out;
	}
	{
		size_t slen = strlen(section);
		char *all = malloc(orig_len + slen + 1);

		if (!all) {
			rc = RP_EXIT_RUNTIME;
			goto out;
		}
		memcpy(all, orig, orig_len);
		memcpy(all + orig_len, section, slen + 1);
		err = write_whole(t->file, all, orig_len + slen);
		free(all);
	}
	if (err) {
		fprintf(stderr, "rempart: site add: cannot write %s: %s\n", t->file, strerror(-err));
		rc = RP_EXIT_RUNTIME;
		goto out;
	}
	/* The whole configuration must still load. */
	if (config_load(g->config_path, 0, &cfg2, &d)) {
		diag_print(&d, stderr);
		err = write_whole(t->file, orig, orig_len);
		fprintf(stderr, "rempart: site add: the configuration does not load with [site %s]; "
				"%s %s\n", pos[1], t->file, err ? "could NOT be restored" : "is unchanged");
		rc = RP_EXIT_CONFIG;
		goto out;
	}
	t = config_tenant_by_name(&cfg2, pos[0]);
	s = t ? site_by_name(t, pos[1]) : NULL;
	if (!s) {
		fprintf(stderr, "rempart: site add: [site %s] is not in %s after writing it\n", pos[1],
			t ? t->file : pos[0]);
		rc = RP_EXIT_RUNTIME;
		goto out;
	}
	psk_written = false;	/* it is part of the config now */
	text = wgquick_text(&cfg2, t, s, have_priv ? priv : NULL);
	if (!text) {
		rc = RP_EXIT_RUNTIME;
		goto out;
	}
	fputs(text, stdout);
	fflush(stdout);
	fprintf(stderr, "rempart: site add: [site %s] written to %s; run `rempart apply`%s\n",
		pos[1], t->file, have_priv ? "; the private key above is not stored anywhere" : "");
	rc = RP_EXIT_OK;
out:
	if (psk_written)
		unlink(psk_path);
	explicit_bzero(priv, sizeof(priv));
	explicit_bzero(b64, sizeof(b64));
	wipe_free(text);
	free(orig);
	free(section);
	diag_free(&d);
	config_free(&cfg);
	config_free(&cfg2);
	return rc;
}

int cmd_site(int argc, char **argv, const struct globals *g)
{
	if (want_help(argc, argv, usage))
		return RP_EXIT_OK;
	if (argc >= 2 && !strcmp(argv[1], "add"))
		return site_add(argc, argv, g);
	if (argc >= 2 && !strcmp(argv[1], "config"))
		return site_config(argc, argv, g);
	fprintf(stderr, "rempart: site: expected 'add' or 'config' (try --help)\n");
	return RP_EXIT_CONFIG;
}
