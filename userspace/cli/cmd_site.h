/* cmd_site.h — what the `rempart site` subcommands share (cmd_site*.c):
 * add and config (cmd_site.c), rekey (cmd_site_rekey.c), import
 * (cmd_site_import.c).  Each prints one clear line on stderr per error and
 * returns an exit code (commands.h). */
#ifndef REMPART_CMD_SITE_H
#define REMPART_CMD_SITE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "cli/commands.h"
#include "config/config.h"

/* The configuration as `check --no-keys` reads it (key files are read only
 * where a command needs them), errors printed.  0 or RP_EXIT_CONFIG. */
int site_load(const struct globals *g, struct rp_config *cfg);
/* Tenant TENANT and its site NAME (s NULL: it must not exist). */
int site_find(const char *cmd, const struct globals *g, const struct rp_config *cfg,
	      const char *tenant, const char *name, bool must_exist,
	      const struct rp_tenant **t, const struct rp_site **s);
/* NAME follows the rule of the configuration ([site NAME]). */
int site_check_name(const char *cmd, const char *name);

enum site_out { SITE_OUT_TEXT, SITE_OUT_JSON, SITE_OUT_QR };
/* Print site S's wg-quick configuration (PRIV: the site's private key, or
 * NULL for the placeholder; PSK NULL: none).  During a tenant key rotation
 * with the tenant's next key and port, unless CURRENT.  EXTRA: more members
 * for the JSON object (consumed).  0 or RP_EXIT_RUNTIME. */
int site_emit(const char *cmd, const struct rp_config *cfg, const struct rp_tenant *t,
	      const struct rp_site *s, const uint8_t *priv, const uint8_t *psk,
	      enum site_out out, bool current, json_object *extra);

/* Where a new preshared key of site NAME goes: next to the site's present
 * one, else to the tenant's private key: DIR/TENANT-NAME.SUFFIX.  abs gets
 * the absolute path, rel the one relative to the tenant file (as written
 * into it).  0 or -ENAMETOOLONG. */
int site_key_path(const struct rp_tenant *t, const struct rp_site *s, const char *name,
		  const char *suffix, char *abs, size_t abs_len, char *rel, size_t rel_len);
/* PATH relative to the tenant file's directory (as written into it). */
int site_rel_path(const struct rp_tenant *t, const char *path, char *rel, size_t rel_len);

/* Write TEXT over the tenant file (its mode kept), then load the whole
 * configuration again: if it does not load, its errors are printed and the
 * file gets ORIG back.  0, RP_EXIT_CONFIG (not loaded, restored) or
 * RP_EXIT_RUNTIME.  *cfg2 holds the new configuration on success. */
int site_write_checked(const char *cmd, const struct globals *g, const struct rp_tenant *t,
		       const char *orig, const char *text, struct rp_config *cfg2);

/* Replace a key file with KEY (mode 0600, durable).  0 or -errno. */
int site_key_replace(const char *path, const uint8_t key[32]);

extern const struct cli_cmd def_site_rekey, def_site_import;
#endif
