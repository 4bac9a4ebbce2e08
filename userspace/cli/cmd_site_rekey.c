// SPDX-License-Identifier: GPL-2.0
/* cmd_site_rekey.c — `rempart site rekey TENANT NAME [--psk-only |
 * --public-key KEY]`: a new key pair and preshared key for a site, without
 * an interruption of its traffic (rekey.h, docs/keys.md).
 *
 * The tenant file gets the new key in public_key and the new preshared key
 * in the site's preshared key file; the key pair it replaces goes to
 * previous_public_key, its preshared key to a file named by
 * previous_preshared_key_file.  `apply` then gives the gateway both peers
 * (the previous one keeps the site's addresses), and at the site's first
 * handshake with the new key `rempart run` moves them and removes the
 * previous one.  Rekeying again before the site switched replaces the new
 * key and keeps the previous one (the key in use).
 *
 * --psk-only keeps the key pair: WireGuard holds one preshared key per peer,
 * so the new one replaces the old at `apply`; the site's established session
 * goes on (its keys do not depend on the preshared key once made) and its
 * next handshake, at most two minutes later, needs the new key.
 *
 * Nothing is written unless the whole configuration loads with the change;
 * a failure restores the files as they were. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "app/site_conf.h"
#include "cli/cmd_site.h"
#include "lib/fileutil.h"
#include "lib/ini_edit.h"
#include "lib/keys.h"
#include "net/rekey.h"

enum { O_PSK_ONLY = 256, O_PUBKEY, O_JSON, O_QR };

static const struct cli_opt opts[] = {
	{ "psk-only", O_PSK_ONLY, NULL, NULL, "a new preshared key only; the key pair stays" },
	{ "public-key", O_PUBKEY, "KEY", NULL,
	  "the public key of a new key pair the site made itself" },
	{ "json", O_JSON, NULL, NULL, "the configuration as a JSON object (with its wg-quick text)" },
	{ "qr", O_QR, NULL, NULL, "the configuration as a QR code" },
	{ 0 }
};

static int site_rekey(int argc, char **argv, struct globals *g);

const struct cli_cmd def_site_rekey = {
	.name = "rekey",
	.args = "TENANT NAME",
	.summary = "New keys for a site, without interrupting it",
	.text = "A new key pair (or only a new preshared key) for the site: prints its new\n"
		"configuration.  Apply it on the gateway first (`rempart apply`), then\n"
		"install it on the site (`wg syncconf`): the previous key keeps working\n"
		"until the site's first handshake with the new one, then `rempart run`\n"
		"moves the site's addresses to it (docs/keys.md).\n",
	.opts = opts,
	.fn = site_rekey,
};

struct args {
	bool psk_only;
	const char *pubkey;
	enum site_out out;
};

/* CLI_HELP_SHOWN, RP_EXIT_CONFIG (said why) or 0. */
static int parse(int argc, char **argv, struct globals *g, struct args *a, const char **pos)
{
	struct cli_parse p;
	int c;

	cli_begin(&p, argc, argv, g);
	while ((c = cli_next(&p)) > 0) {
		switch (c) {
		case O_PSK_ONLY: a->psk_only = true; break;
		case O_PUBKEY: a->pubkey = p.val; break;
		case O_JSON:
		case O_QR:
			if (a->out != SITE_OUT_TEXT) {
				fprintf(stderr, "rempart: site rekey: --json and --qr exclude each other\n");
				return RP_EXIT_CONFIG;
			}
			a->out = c == O_JSON ? SITE_OUT_JSON : SITE_OUT_QR;
			break;
		}
	}
	if (c < 0)
		return c == CLI_HELP_SHOWN ? CLI_HELP_SHOWN : RP_EXIT_CONFIG;
	if (cli_args(&p, 2, 2))
		return RP_EXIT_CONFIG;
	pos[0] = p.pos[0];
	pos[1] = p.pos[1];
	if (a->psk_only && a->pubkey) {
		fprintf(stderr, "rempart: site rekey: --psk-only keeps the key pair: no --public-key\n");
		return RP_EXIT_CONFIG;
	}
	return 0;
}

/* Did the site already switch to the key the file calls new (the rotation
 * is done on the tunnel, the file not tidied yet)?  -errno: cannot tell. */
static int switched(const struct rp_tenant *t, const struct rp_site *s)
{
	const struct wg_backend *wg = wg_backend_get();
	wg_device *dev = NULL;
	bool yes;
	int err;

	if (!wg)
		return -ENODEV;
	err = wg->get(t->tunnel_interface, &dev);
	if (err || !dev)
		return err ? err : -ENODEV;
	yes = rekey_switched(s, dev);
	wg_device_wipe_free(dev);
	return yes;
}

/* What was on disk before, to put back if the change does not load. */
struct undo {
	const char *psk_path;		/* its content was replaced */
	bool had_psk;
	uint8_t psk[32];
	char prev_path[4096];		/* created: removed */
	bool prev_created;
};

static void undo(struct undo *u)
{
	if (u->psk_path) {
		if (u->had_psk)
			site_key_replace(u->psk_path, u->psk);
		else
			unlink(u->psk_path);
	}
	if (u->prev_created)
		unlink(u->prev_path);
}

static int site_rekey(int argc, char **argv, struct globals *g)
{
	struct args a = { 0 };
	const char *pos[2];
	struct rp_config cfg = { 0 }, cfg2 = { 0 };
	const struct rp_tenant *t;
	const struct rp_site *s;
	struct undo u = { 0 };
	struct ini_change ch[4];
	uint8_t priv[32], pub[32], psk[32], cur_psk[32], gw[32];
	char why[512], section[64], b64[RP_KEY_B64_LEN + 1], prev_b64[RP_KEY_B64_LEN + 1];
	char psk_abs[4096], psk_rel[4096], prev_rel[4096];
	char *orig = NULL, *text = NULL;
	int rc, has_psk, n = 0, sw, err;
	bool fresh;

	rc = parse(argc, argv, g, &a, pos);
	if (rc)
		return rc == CLI_HELP_SHOWN ? RP_EXIT_OK : rc;
	if (a.pubkey && key_from_base64(a.pubkey, pub)) {
		fprintf(stderr, "rempart: site rekey: --public-key: '%s' is not a WireGuard key "
				"(44 characters of base64 for 32 bytes)\n", a.pubkey);
		return RP_EXIT_CONFIG;
	}
	rc = site_load(g, &cfg);
	if (rc)
		return rc;
	rc = site_find("rekey", g, &cfg, pos[0], pos[1], true, &t, &s);
	if (rc)
		goto out;
	rc = RP_EXIT_RUNTIME;
	if (site_tenant_pubkey(&cfg, t, gw, why, sizeof(why))) {
		fprintf(stderr, "rempart: site rekey: tenant %s: %s\n", t->name, why);
		goto out;
	}
	has_psk = site_psk(s, cur_psk, why, sizeof(why));
	if (has_psk < 0) {
		fprintf(stderr, "rempart: site rekey: [site %s]: %s\n", s->name, why);
		goto out;
	}
	/* A rotation in progress: the previous key stays the one in use, unless
	 * the site already switched to the new one. */
	fresh = !s->has_previous;
	if (s->has_previous) {
		sw = switched(t, s);
		if (sw < 0)
			fprintf(stderr, "rempart: site rekey: [site %s] is being rekeyed and its tunnel "
					"%s cannot be read (%s): taking its previous key as the one in "
					"use\n", s->name, t->tunnel_interface, strerror(-sw));
		fresh = sw == 1;
	}
	if (a.psk_only && !fresh) {
		fprintf(stderr, "rempart: site rekey: [site %s] is being rekeyed (previous_public_key "
				"in %s): --psk-only would leave that rotation without its key; rekey "
				"without --psk-only\n", s->name, t->file);
		rc = RP_EXIT_CONFIG;
		goto out;
	}
	if (a.pubkey && (!memcmp(pub, s->public_key, 32) ||
			 (s->has_previous && !memcmp(pub, s->previous_public_key, 32)))) {
		fprintf(stderr, "rempart: site rekey: --public-key: '%s' is the site's %s key: a "
				"rekey needs a new one\n", a.pubkey,
			!memcmp(pub, s->public_key, 32) ? "present" : "previous");
		rc = RP_EXIT_CONFIG;
		goto out;
	}
	if (site_key_path(t, s, s->name, "psk", psk_abs, sizeof(psk_abs), psk_rel, sizeof(psk_rel)))
		goto out;
	if (s->preshared_key_file) {	/* the new preshared key goes where the old one was */
		snprintf(psk_abs, sizeof(psk_abs), "%s", s->preshared_key_file);
		if (site_rel_path(t, psk_abs, psk_rel, sizeof(psk_rel)))
			goto out;
	}
	orig = file_read_all(t->file, NULL);
	if (!orig) {
		fprintf(stderr, "rempart: site rekey: cannot read %s: %s\n", t->file, strerror(errno));
		goto out;
	}

	snprintf(section, sizeof(section), "site %s", s->name);
	if (!a.psk_only) {
		if (a.pubkey) {
			memset(priv, 0, sizeof(priv));
		} else {
			key_generate_private(priv);
			key_public_from_private(pub, priv);
		}
		key_to_base64(pub, b64);
		ch[n++] = (struct ini_change){ section, "public_key", b64 };
	} else {
		memcpy(pub, s->public_key, 32);
	}
	ch[n++] = (struct ini_change){ section, "preshared_key_file", psk_rel };
	if (!a.psk_only && fresh) {
		/* the key pair in use becomes the previous one */
		key_to_base64(s->public_key, prev_b64);
		ch[n++] = (struct ini_change){ section, "previous_public_key", prev_b64 };
		ch[n] = (struct ini_change){ section, "previous_preshared_key_file", NULL };
		if (has_psk) {
			char tmp[4200];

			if (site_key_path(t, s, s->name, "previous.psk", u.prev_path, sizeof(u.prev_path),
					  prev_rel, sizeof(prev_rel)))
				goto out;
			snprintf(tmp, sizeof(tmp), "%s", u.prev_path);
			err = site_key_replace(tmp, cur_psk);
			if (err) {
				fprintf(stderr, "rempart: site rekey: cannot write %s: %s\n", u.prev_path,
					strerror(-err));
				goto out;
			}
			u.prev_created = true;
			ch[n].value = prev_rel;
		}
		n++;
	}
	key_generate_preshared(psk);
	u.psk_path = psk_abs;
	u.had_psk = has_psk > 0 && s->preshared_key_file;
	memcpy(u.psk, cur_psk, 32);
	err = site_key_replace(psk_abs, psk);
	if (err) {
		fprintf(stderr, "rempart: site rekey: cannot write %s: %s\n", psk_abs, strerror(-err));
		goto fail;
	}
	text = ini_text_change(orig, ch, n);
	if (!text) {
		fprintf(stderr, "rempart: site rekey: %s: [%s]: %s\n", t->file, section, strerror(errno));
		goto fail;
	}
	rc = site_write_checked("rekey", g, t, orig, text, &cfg2);
	if (rc)
		goto fail;
	t = config_tenant_by_name(&cfg2, pos[0]);
	s = t ? site_by_name(t, pos[1]) : NULL;
	if (!s) {
		rc = RP_EXIT_RUNTIME;
		goto out;
	}
	{
		json_object *extra = json_object_new_object();

		json_object_object_add(extra, "psk_only", json_object_new_boolean(a.psk_only));
		if (s->has_previous)
			key_to_base64(s->previous_public_key, prev_b64);
		json_object_object_add(extra, "previous_public_key",
				       s->has_previous ? json_object_new_string(prev_b64) : NULL);
		rc = site_emit("rekey", &cfg2, t, s, a.psk_only || a.pubkey ? NULL : priv, psk, a.out, false,
			       extra);
	}
	if (a.psk_only)
		fprintf(stderr, "rempart: site rekey: [site %s]: new preshared key in %s.  Run "
				"`rempart apply`, then install it on the site at once (wg syncconf): "
				"its session goes on, its next handshake (within two minutes) needs "
				"it\n", s->name, psk_abs);
	else
		fprintf(stderr, "rempart: site rekey: [site %s]: new key pair written to %s (the "
				"previous key stays in previous_public_key).  Run `rempart apply`, "
				"then install this configuration on the site (wg syncconf: no "
				"interruption); the previous key works until the site's first "
				"handshake with the new one%s\n", s->name, t->file,
			a.pubkey ? "" : "; the private key above is not stored anywhere");
	goto out;
fail:
	undo(&u);
out:
	explicit_bzero(priv, sizeof(priv));
	explicit_bzero(psk, sizeof(psk));
	explicit_bzero(cur_psk, sizeof(cur_psk));
	explicit_bzero(u.psk, sizeof(u.psk));
	free(orig);
	free(text);
	config_free(&cfg);
	config_free(&cfg2);
	return rc;
}
