// SPDX-License-Identifier: GPL-2.0
/* cmd_site_import.c — `rempart site import TENANT WG-QUICK.conf`: the peers
 * of an existing WireGuard server (its wg-quick file) become [site]
 * sections of TENANT, so that a ministry that already runs WireGuard moves
 * onto rempart with the keys its sites have.
 *
 *   # lyon                      <- the name (or "# Name = lyon", also inside
 *   [Peer]                         the section; else peer-N, N its rank)
 *   PublicKey = ...             -> public_key
 *   PresharedKey = ...          -> a key file TENANT-NAME.psk (0600) next to the
 *                                  tenant's private key, preshared_key_file
 *   AllowedIPs = 10.0.0.2/32, 192.168.1.0/24
 *                               -> addresses inside the tenant's tunnel
 *                                  networks: tunnel_ip; the rest: allowed_ips
 *   Endpoint, PersistentKeepalive -> endpoint, keepalive
 *
 * [Interface] is the old server's own: ignored.  Everything is checked
 * before anything is written (names, keys, the peers' own duplicates), then
 * the whole configuration must load with the new sections (overlaps with the
 * tenant's other sites or cloud, keys of other tenants' sites); otherwise
 * nothing is changed. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "app/site_conf.h"
#include "cli/cmd_site.h"
#include "lib/fileutil.h"
#include "lib/ini_edit.h"
#include "lib/keys.h"
#include "lib/text.h"

struct peer {
	int line;			/* of its [Peer] */
	char name[RP_NAME_MAX + 1];
	bool named;			/* from a comment */
	uint8_t pub[32], psk[32];
	bool has_pub, has_psk, pub_seen;
	char *lans, *tips;		/* comma-separated, as written into the INI */
	char *endpoint;
	int keepalive;
	char psk_abs[4096], psk_rel[4096];
};

struct import {
	const char *path;
	const struct rp_config *cfg;
	const struct rp_tenant *t;
	struct peer *v;
	size_t n;
	unsigned errors;
};

__attribute__((format(printf, 3, 4)))
static void err_at(struct import *im, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rempart: site import: %s:%d: ", im->path, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	im->errors++;
}

/* A site name from a comment: "lyon", "Name = Lyon prefecture", "name: x"
 * -> lower case, other characters as '-'. */
static bool name_from_comment(const char *c, char *out)
{
	char buf[256], *p;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", c);
	p = str_trim(buf);
	if (!strncasecmp(p, "name", 4) && (p[4] == '=' || p[4] == ':' || isspace((unsigned char)p[4]))) {
		p = str_trim(p + 4);
		if (*p == '=' || *p == ':')
			p = str_trim(p + 1);
	}
	for (; *p && n < RP_NAME_MAX; p++) {
		char ch = (char)tolower((unsigned char)*p);

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
			ch = '-';
		if (ch == '-' && (!n || out[n - 1] == '-'))
			continue;
		out[n++] = ch;
	}
	while (n && out[n - 1] == '-')
		n--;
	out[n] = 0;
	return config_name_ok(out, RP_NAME_MAX);
}

static int append(char **list, const char *item)
{
	char *n = NULL;

	if (asprintf(&n, "%s%s%s", *list ? *list : "", *list ? ", " : "", item) < 0)
		return -ENOMEM;
	free(*list);
	*list = n;
	return 0;
}

/* AllowedIPs: masked prefixes; hosts inside the tenant's tunnel networks
 * are the site's own tunnel addresses. */
static void allowed_ips(struct import *im, struct peer *p, char *v, int line)
{
	char *save = NULL;

	for (char *it = strtok_r(v, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		struct rp_prefix pf;
		struct rp_addr h;
		char buf[INET6_ADDRSTRLEN + 4];
		bool tunnel = false;

		it = str_trim(it);
		if (prefix_parse(it, &pf)) {
			err_at(im, line, "[Peer] AllowedIPs: '%s' is not a prefix", it);
			continue;
		}
		prefix_host(&pf, &h);
		if (pf.len == (pf.family == AF_INET ? 32 : 128))
			for (size_t k = 0; k < im->t->tunnel_address.n && !tunnel; k++)
				tunnel = prefix_contains(&im->t->tunnel_address.v[k], &h);
		if (tunnel) {
			addr_format(&h, buf, sizeof(buf));
			append(&p->tips, buf);
			continue;
		}
		prefix_mask(&pf);
		prefix_format(&pf, buf, sizeof(buf));
		append(&p->lans, buf);
	}
}

static struct peer *new_peer(struct import *im, int line)
{
	struct peer *v = realloc(im->v, (im->n + 1) * sizeof(*v));

	if (!v)
		abort();
	im->v = v;
	memset(&v[im->n], 0, sizeof(v[0]));
	v[im->n].line = line;
	v[im->n].keepalive = -1;
	return &v[im->n++];
}

static void peer_key(struct import *im, struct peer *p, const char *key, char *v, int line)
{
	if (!strcasecmp(key, "PublicKey") || !strcasecmp(key, "PresharedKey")) {
		bool pub = !strcasecmp(key, "PublicKey");

		p->pub_seen |= pub;
		if (key_from_base64(v, pub ? p->pub : p->psk)) {
			err_at(im, line, "[Peer] %s: '%s' is not a key (base64 of 32 bytes, 44 "
			       "characters)", key, pub ? v : "(hidden)");
			return;
		}
		if (pub)
			p->has_pub = true;
		else
			p->has_psk = true;
	} else if (!strcasecmp(key, "AllowedIPs")) {
		allowed_ips(im, p, v, line);
	} else if (!strcasecmp(key, "Endpoint")) {
		if (!ini_value_ok(v) || !strchr(v, ':'))
			err_at(im, line, "[Peer] Endpoint: '%s' is not HOST:PORT", v);
		else
			p->endpoint = strdup(v);
	} else if (!strcasecmp(key, "PersistentKeepalive")) {
		char *end;
		long k = strtol(v, &end, 10);

		if (!strcasecmp(v, "off"))
			p->keepalive = 0;
		else if (!*v || *end || k < 0 || k > 65535)
			err_at(im, line, "[Peer] PersistentKeepalive: '%s' is not 0..65535 or off", v);
		else
			p->keepalive = (int)k;
	} else {
		err_at(im, line, "[Peer] %s: unknown key (PublicKey, PresharedKey, AllowedIPs, "
		       "Endpoint, PersistentKeepalive)", key);
	}
}

static int read_file(struct import *im)
{
	char *text = file_read_all(im->path, NULL), *save = NULL, *raw;
	char comment[256] = "";
	struct peer *p = NULL;
	bool in_peer = false;
	int line = 0;

	if (!text) {
		fprintf(stderr, "rempart: site import: cannot read %s: %s\n", im->path, strerror(errno));
		return -errno;
	}
	for (raw = text; raw; raw = save) {
		char *nl = strchr(raw, '\n'), *l, *hash, *eq;

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = 0;
		line++;
		l = str_trim(raw);
		hash = strchr(l, '#');
		if (hash) {
			if (hash == l) {
				snprintf(comment, sizeof(comment), "%s", hash + 1);
				/* "# Name = x" inside a [Peer]: its name */
				if (in_peer && p && !strncasecmp(str_trim(comment), "name", 4) &&
				    name_from_comment(comment, p->name))
					p->named = true;
				continue;
			}
			*hash = 0;
			l = str_trim(l);
		}
		if (!*l)
			continue;
		if (*l == '[') {
			in_peer = !strcasecmp(l, "[Peer]");
			if (!in_peer && strcasecmp(l, "[Interface]"))
				err_at(im, line, "'%s': a wg-quick file has [Interface] and [Peer] "
				       "sections", l);
			if (in_peer) {
				p = new_peer(im, line);
				if (*comment && name_from_comment(comment, p->name))
					p->named = true;
			}
			comment[0] = 0;
			continue;
		}
		comment[0] = 0;
		eq = strchr(l, '=');
		if (!eq) {
			err_at(im, line, "expected 'Key = value', got '%s'", l);
			continue;
		}
		*eq = 0;
		if (in_peer)
			peer_key(im, p, str_trim(l), str_trim(eq + 1), line);
		else if (!p && strcasecmp(str_trim(l), "PrivateKey") && strcasecmp(str_trim(l), "ListenPort") &&
			 strcasecmp(str_trim(l), "Address") && strcasecmp(str_trim(l), "DNS") &&
			 strcasecmp(str_trim(l), "MTU") && strcasecmp(str_trim(l), "Table") &&
			 strcasecmp(str_trim(l), "FwMark") && strncasecmp(str_trim(l), "Pre", 3) &&
			 strncasecmp(str_trim(l), "Post", 4) && strcasecmp(str_trim(l), "SaveConfig"))
			err_at(im, line, "[Interface] %s: not a wg-quick key", str_trim(l));
	}
	explicit_bzero(text, strlen(text));	/* keys, and the server's own */
	free(text);
	return 0;
}

/* Names, keys and the peers' own duplicates; the files each would write. */
static void check(struct import *im)
{
	char b64[RP_KEY_B64_LEN + 1];

	if (!im->n)
		err_at(im, 1, "no [Peer] section: nothing to import");
	for (size_t i = 0; i < im->n; i++) {
		struct peer *p = &im->v[i];

		if (!p->named)
			snprintf(p->name, sizeof(p->name), "peer-%zu", i + 1);
		if (!p->pub_seen)
			err_at(im, p->line, "[Peer] PublicKey: missing");
		if (!p->lans)
			err_at(im, p->line, "[Peer] '%s': no AllowedIPs outside the tenant's tunnel "
			       "networks: a site needs its LAN in allowed_ips", p->name);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(im->v[j].name, p->name))
				err_at(im, p->line, "[Peer] '%s': the name of the peer at line %d too "
				       "(name them with a '# NAME' comment above [Peer])", p->name,
				       im->v[j].line);
			if (p->has_pub && im->v[j].has_pub && !memcmp(im->v[j].pub, p->pub, 32))
				err_at(im, p->line, "[Peer] PublicKey: the key of the peer at line %d "
				       "too", im->v[j].line);
		}
		if (site_by_name(im->t, p->name))
			err_at(im, p->line, "[Peer] '%s': tenant %s already has a [site %s]", p->name,
			       im->t->name, p->name);
		for (size_t u = 0; p->has_pub && u < im->cfg->n_tenants; u++) {
			const struct rp_tenant *o = &im->cfg->tenants[u];

			for (size_t s = 0; s < o->n_sites; s++)
				if (!memcmp(o->sites[s].public_key, p->pub, 32)) {
					key_to_base64(p->pub, b64);
					err_at(im, p->line, "[Peer] PublicKey: '%s' is already the key of "
					       "site '%s' of tenant '%s'", b64, o->sites[s].name, o->name);
				}
		}
		if (p->has_psk) {
			if (site_key_path(im->t, NULL, p->name, "psk", p->psk_abs, sizeof(p->psk_abs),
					  p->psk_rel, sizeof(p->psk_rel)))
				err_at(im, p->line, "[Peer] '%s': the preshared key's path is too long",
				       p->name);
			else if (!access(p->psk_abs, F_OK))
				err_at(im, p->line, "[Peer] '%s': %s exists already (left from an "
				       "earlier site? remove it)", p->name, p->psk_abs);
		}
	}
}

static char *sections(const struct import *im)
{
	char *text = NULL, b64[RP_KEY_B64_LEN + 1];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < im->n; i++) {
		const struct peer *p = &im->v[i];

		key_to_base64(p->pub, b64);
		fprintf(f, "%s; imported from %s:%d\n[site %s]\npublic_key = %s\n", i ? "\n" : "",
			im->path, p->line, p->name, b64);
		if (p->has_psk)
			fprintf(f, "preshared_key_file = %s\n", p->psk_rel);
		fprintf(f, "allowed_ips = %s\n", p->lans);
		if (p->tips)
			fprintf(f, "tunnel_ip = %s\n", p->tips);
		if (p->endpoint)
			fprintf(f, "endpoint = %s\n", p->endpoint);
		if (p->keepalive > 0)
			fprintf(f, "keepalive = %d\n", p->keepalive);
	}
	return fclose(f) ? (free(text), NULL) : text;
}

static void unlink_psks(const struct import *im, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (im->v[i].has_psk)
			unlink(im->v[i].psk_abs);
}

static json_object *summary(const struct import *im, bool written)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	char b64[RP_KEY_B64_LEN + 1];

	json_object_object_add(o, "tenant", json_object_new_string(im->t->name));
	json_object_object_add(o, "file", json_object_new_string(im->path));
	json_object_object_add(o, "written", json_object_new_boolean(written));
	for (size_t i = 0; i < im->n; i++) {
		const struct peer *p = &im->v[i];
		json_object *s = json_object_new_object();

		key_to_base64(p->pub, b64);
		json_object_object_add(s, "name", json_object_new_string(p->name));
		json_object_object_add(s, "line", json_object_new_int(p->line));
		json_object_object_add(s, "public_key", json_object_new_string(b64));
		json_object_object_add(s, "allowed_ips", json_object_new_string(p->lans));
		json_object_object_add(s, "tunnel_ip", p->tips ? json_object_new_string(p->tips) : NULL);
		json_object_object_add(s, "preshared_key_file",
				       p->has_psk ? json_object_new_string(p->psk_rel) : NULL);
		json_object_object_add(s, "endpoint",
				       p->endpoint ? json_object_new_string(p->endpoint) : NULL);
		json_object_object_add(s, "keepalive", json_object_new_int(p->keepalive > 0 ?
									    p->keepalive : 0));
		json_object_array_add(a, s);
	}
	json_object_object_add(o, "sites", a);
	return o;
}

enum { O_DRY_RUN = 256, O_JSON };

static const struct cli_opt opts[] = {
	{ "dry-run", O_DRY_RUN, NULL, NULL, "print the [site] sections, write nothing" },
	{ "json", O_JSON, NULL, NULL, "the sites imported as one JSON object" },
	{ 0 }
};

static int site_import(int argc, char **argv, struct globals *g);

const struct cli_cmd def_site_import = {
	.name = "import",
	.args = "TENANT WG-QUICK.conf",
	.summary = "A WireGuard server's peers as sites of a tenant",
	.text = "Turn the [Peer] sections of a wg-quick file (a WireGuard server's\n"
		"wg0.conf) into [site] sections of TENANT: names from a '# NAME' comment\n"
		"above each peer (else peer-N), preshared keys into key files (0600),\n"
		"AllowedIPs inside the tenant's tunnel networks as tunnel_ip.  A\n"
		"duplicate, a bad key or an overlap changes nothing.\n",
	.opts = opts,
	.fn = site_import,
};

static int site_import(int argc, char **argv, struct globals *g)
{
	struct import im = { 0 };
	struct rp_config cfg = { 0 }, cfg2 = { 0 };
	const struct rp_site *none;
	const char *pos[2];
	char *orig = NULL, *add = NULL, *text = NULL;
	bool dry = false, json = false;
	struct cli_parse p;
	size_t written = 0;
	int c, rc, err;

	cli_begin(&p, argc, argv, g);
	while ((c = cli_next(&p)) > 0) {
		if (c == O_DRY_RUN)
			dry = true;
		else if (c == O_JSON)
			json = true;
	}
	if (c < 0)
		return cli_status(c);
	if (cli_args(&p, 2, 2))
		return RP_EXIT_CONFIG;
	pos[0] = p.pos[0];
	pos[1] = p.pos[1];
	rc = site_load(g, &cfg);
	if (rc)
		return rc;
	im.path = pos[1];
	im.cfg = &cfg;
	rc = site_find("import", g, &cfg, pos[0], "", false, &im.t, &none);
	if (rc)
		goto out;
	rc = RP_EXIT_RUNTIME;
	if (read_file(&im))
		goto out;
	check(&im);
	if (im.errors) {
		fprintf(stderr, "rempart: site import: %s: %u error%s: nothing imported, nothing "
				"changed\n", im.path, im.errors, im.errors > 1 ? "s" : "");
		rc = RP_EXIT_CONFIG;
		goto out;
	}
	add = sections(&im);
	orig = file_read_all(im.t->file, NULL);
	if (!add || !orig) {
		fprintf(stderr, "rempart: site import: %s: %s\n", im.t->file, strerror(errno));
		goto out;
	}
	if (dry) {
		if (json) {
			json_object *o = summary(&im, false);

			puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
		} else {
			fputs(add, stdout);
		}
		fprintf(stderr, "rempart: site import: --dry-run: %s would get the %zu section%s "
				"above; nothing written\n", im.t->file, im.n, im.n > 1 ? "s" : "");
		rc = RP_EXIT_OK;
		goto out;
	}
	for (; written < im.n; written++) {
		struct peer *p = &im.v[written];

		if (!p->has_psk)
			continue;
		err = key_file_write(p->psk_abs, p->psk);
		if (err) {
			fprintf(stderr, "rempart: site import: cannot write %s: %s; nothing imported\n",
				p->psk_abs, strerror(-err));
			goto undo;
		}
	}
	text = ini_text_append(orig, add);
	if (!text)
		goto undo;
	rc = site_write_checked("import", g, im.t, orig, text, &cfg2);
	if (rc)
		goto undo;
	if (json) {
		json_object *o = summary(&im, true);

		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		for (size_t i = 0; i < im.n; i++)
			printf("[site %s] from %s:%d: allowed_ips %s%s%s%s\n", im.v[i].name, im.path,
			       im.v[i].line, im.v[i].lans, im.v[i].tips ? ", tunnel_ip " : "",
			       im.v[i].tips ? im.v[i].tips : "",
			       im.v[i].has_psk ? ", preshared key kept" : "");
	}
	fprintf(stderr, "rempart: site import: %zu site%s written to %s; run `rempart apply`, "
			"then give each site the gateway's key and endpoint (`rempart site config "
			"%s NAME`, its own private key kept)\n", im.n, im.n > 1 ? "s" : "", im.t->file,
		im.t->name);
	goto out;
undo:
	unlink_psks(&im, written);
	if (rc != RP_EXIT_CONFIG)
		rc = RP_EXIT_RUNTIME;
	fprintf(stderr, "rempart: site import: nothing imported\n");
out:
	for (size_t i = 0; i < im.n; i++) {
		explicit_bzero(im.v[i].psk, sizeof(im.v[i].psk));
		free(im.v[i].lans);
		free(im.v[i].tips);
		free(im.v[i].endpoint);
	}
	free(im.v);
	free(orig);
	free(add);
	free(text);
	config_free(&cfg);
	config_free(&cfg2);
	return rc;
}
