// SPDX-License-Identifier: GPL-2.0
/* cmd_site_common.c — what the `rempart site` subcommands share: loading
 * the configuration, finding a site, printing its wg-quick configuration,
 * key paths and key files, writing the tenant file under a check; see
 * cmd_site.h. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "app/rekey_watch.h"
#include "app/site_conf.h"
#include "cli/cmd_site.h"
#include "lib/fileutil.h"
#include "lib/keys.h"

int site_load(const struct globals *g, struct rp_config *cfg)
{
	int rc = load_config_or_report(g, RP_CFG_SKIP_KEY_FILES, cfg);

	if (!rc)
		rekey_done_load(cfg, false);	/* rotations the tunnel finished */
	return rc;
}

int site_check_name(const char *cmd, const char *name)
{
	if (config_name_ok(name, RP_NAME_MAX))
		return 0;
	fprintf(stderr, "rempart: site %s: '%s' is not a site name (a-z, 0-9 and '-', not first, "
			"at most %d characters)\n", cmd, name, RP_NAME_MAX);
	return RP_EXIT_CONFIG;
}

int site_find(const char *cmd, const struct globals *g, const struct rp_config *cfg,
	      const char *tenant, const char *name, bool must_exist,
	      const struct rp_tenant **t, const struct rp_site **s)
{
	*t = config_tenant_by_name(cfg, tenant);
	if (!*t) {
		fprintf(stderr, "rempart: site %s: no tenant '%s' in %s\n", cmd, tenant, g->config_path);
		return RP_EXIT_CONFIG;
	}
	*s = site_by_name(*t, name);
	if (must_exist && !*s) {
		fprintf(stderr, "rempart: site %s: tenant %s has no site '%s' (%s)\n", cmd, (*t)->name,
			name, (*t)->file);
		return RP_EXIT_CONFIG;
	}
	if (!must_exist && *s) {
		fprintf(stderr, "rempart: site %s: %s: [site %s] already exists\n", cmd, (*t)->file,
			(*s)->name);
		return RP_EXIT_CONFIG;
	}
	return 0;
}

static void print_site_json(json_object *o)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_NOSLASHESCAPE);

	puts(text);
	explicit_bzero((char *)text, strlen(text));	/* it may hold a private key */
}

int site_emit(const char *cmd, const struct rp_config *cfg, const struct rp_tenant *t,
	      const struct rp_site *s, const uint8_t *priv, const uint8_t *psk,
	      enum site_out out, bool current, json_object *extra)
{
	uint8_t gw[32];
	char why[512];
	bool next = t->next_interface && !current;	/* docs/keys.md: sites move to it */
	const struct site_conf_keys k = { .private_key = priv, .psk = psk, .gateway = gw,
					  .port = next ? t->next_listen_port : 0 };
	int rc = RP_EXIT_OK;

	if (next ? site_tenant_next_pubkey(cfg, t, gw, why, sizeof(why))
		 : site_tenant_pubkey(cfg, t, gw, why, sizeof(why))) {
		fprintf(stderr, "rempart: site %s: tenant %s: %s\n", cmd, t->name, why);
		json_object_put(extra);
		return RP_EXIT_RUNTIME;
	}
	if (out == SITE_OUT_JSON) {
		json_object *o = site_conf_json(cfg, t, s, &k);

		if (!o) {
			fprintf(stderr, "rempart: site %s: out of memory\n", cmd);
			rc = RP_EXIT_RUNTIME;
		} else {
			if (extra) {
				json_object_object_foreach(extra, key, val)
					json_object_object_add(o, key, json_object_get(val));
			}
			print_site_json(o);
			json_object_put(o);
		}
	} else {
		char *text = site_conf_text(cfg, t, s, &k);
		int err;

		if (!text) {
			fprintf(stderr, "rempart: site %s: out of memory\n", cmd);
			rc = RP_EXIT_RUNTIME;
		} else if (out == SITE_OUT_QR) {
			err = site_conf_qr(stdout, text);
			if (err) {
				fprintf(stderr, "rempart: site %s: cannot encode a QR code: %s\n", cmd,
					strerror(-err));
				rc = RP_EXIT_RUNTIME;
			}
		} else {
			fputs(text, stdout);
		}
		if (text) {
			explicit_bzero(text, strlen(text));
			free(text);
		}
	}
	json_object_put(extra);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "rempart: site %s: stdout: %s\n", cmd, strerror(errno));
		rc = RP_EXIT_RUNTIME;
	}
	return rc;
}

int site_rel_path(const struct rp_tenant *t, const char *path, char *rel, size_t rel_len)
{
	char *dir = strdup(t->file);
	int err;

	if (!dir)
		return -ENOMEM;
	err = path_relative(dirname(dir), path, rel, rel_len);
	free(dir);
	return err;
}

int site_key_path(const struct rp_tenant *t, const struct rp_site *s, const char *name,
		  const char *suffix, char *abs, size_t abs_len, char *rel, size_t rel_len)
{
	char *dir = strdup(s && s->preshared_key_file ? s->preshared_key_file : t->private_key_file);
	int n;

	if (!dir)
		return -ENOMEM;
	n = snprintf(abs, abs_len, "%s/%s-%s.%s", dirname(dir), t->name, name, suffix);
	free(dir);
	if (n < 0 || (size_t)n >= abs_len)
		return -ENAMETOOLONG;
	return site_rel_path(t, abs, rel, rel_len);
}

int site_key_replace(const char *path, const uint8_t key[32])
{
	char b64[RP_KEY_B64_LEN + 2];
	struct iovec iov = { b64, 0 };
	int err;

	key_to_base64(key, b64);
	strcat(b64, "\n");
	iov.iov_len = strlen(b64);
	err = file_replace(path, &iov, 1, 0600, true);
	explicit_bzero(b64, sizeof(b64));
	return err;
}

static int write_text(const char *path, const char *text)
{
	const struct iovec iov = { (void *)text, strlen(text) };
	struct stat st;

	if (stat(path, &st))
		return -errno;
	return file_replace(path, &iov, 1, st.st_mode & 07777, true);
}

int site_write_checked(const char *cmd, const struct globals *g, const struct rp_tenant *t,
		       const char *orig, const char *text, struct rp_config *cfg2)
{
	struct diag d = { 0 };
	int err = write_text(t->file, text);

	if (err) {
		fprintf(stderr, "rempart: site %s: cannot write %s: %s\n", cmd, t->file, strerror(-err));
		return RP_EXIT_RUNTIME;
	}
	if (!config_load(g->config_path, RP_CFG_SKIP_KEY_FILES, cfg2, &d)) {
		diag_free(&d);
		return 0;
	}
	diag_print(&d, stderr);
	diag_free(&d);
	err = write_text(t->file, orig);
	fprintf(stderr, "rempart: site %s: the configuration does not load with this change; "
			"%s %s\n", cmd, t->file, err ? "could NOT be restored" : "is unchanged");
	return err ? RP_EXIT_RUNTIME : RP_EXIT_CONFIG;
}

