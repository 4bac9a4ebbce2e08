/* config_internal.h — what the config*.c files share, and nothing else
 * includes: the INI reader (config_ini.c), the per-key validators
 * (config_value.c), the tenant file loader (config_tenant.c) and the
 * cross-file checks (config_check.c). */
#ifndef REMPART_CONFIG_INTERNAL_H
#define REMPART_CONFIG_INTERNAL_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config/config.h"
#include "lib/diag.h"
#include "lib/text.h"

/* ---- the INI reader (config_ini.c) ------------------------------------- */

struct ini_entry {
	char *key;		/* lower-cased, as iniparser does */
	char *value;		/* unquoted, inline comment stripped */
	int line;
};

struct ini_section {
	char *name;		/* lower-cased: "tenant", "site lyon" */
	uint64_t hash;		/* of name (fnv.h), to find it among many */
	int line;
	struct ini_entry *e;
	size_t n;
};

struct ini_file {
	char *path;		/* as opened */
	char *rel;		/* relative to the config's directory, for messages */
	char *dir;		/* directory of the file: relative paths start here */
	struct ini_section *s;
	size_t n;
	void *dict;		/* the iniparser dictionary holding the same values,
				 * built by the first ini_get() */
};

/* Read PATH.  Syntax errors, duplicate sections and duplicate keys are
 * reported with their line into d; the return is then -EINVAL.  A file that
 * cannot be read: -errno, one line in d. */
int ini_read(const char *path, const char *rel, struct ini_file *f, struct diag *d);
void ini_free(struct ini_file *f);
/* The value of SECTION:KEY through iniparser, NULL if absent.  The first
 * call fills f's dictionary (the tenant files, read on every apply and
 * walked section by section, never pay for it). */
const char *ini_get(struct ini_file *f, const char *section, const char *key);

/* ---- where an error is (every message names file, section and key) ------ */

struct where {
	struct diag *d;
	const struct ini_file *f;
	const char *section;
	const char *key;
	unsigned flags;		/* RP_CFG_* */
	unsigned errors;	/* bumped by cfg_err */
};

__attribute__((format(printf, 2, 3)))
void cfg_err(struct where *w, const char *fmt, ...);
/* "FILE: [SECTION] KEY: MESSAGE" added to d ("FILE: [SECTION]: MESSAGE"
 * without a key), control characters of the message shown as '?'. */
__attribute__((format(printf, 5, 0)))
void cfg_verr(struct diag *d, const char *file, const char *section, const char *key,
	      const char *fmt, va_list ap);

/* ---- per-key validators (config_value.c): 0, or -EINVAL after cfg_err ---- */

char *xstrdup(const char *s);	/* aborts on ENOMEM: a config loader has no way on */
void *xcalloc(size_t n, size_t size);
/* Room for element n (zeroed) of the array v of n elements of size bytes:
 * it doubles whenever n reaches a power of two, so no capacity is kept. */
void *xgrow(void *v, size_t n, size_t size);

#define RP_TENANT_NAME_MAX 12	/* "wg-" + name fits IFNAMSIZ */
int val_name(struct where *w, const char *v, size_t max, char **out);
int val_uint(struct where *w, const char *v, unsigned long lo, unsigned long hi,
	     unsigned long *out);
int val_port(struct where *w, const char *v, uint16_t *out);
int val_ifname(struct where *w, const char *v, char **out);
int val_prefixes(struct where *w, const char *v, bool network, struct rp_prefix_list *out);
int val_addresses(struct where *w, const char *v, struct rp_prefix_list *out);	/* hosts */
int val_ports(struct where *w, const char *v, struct rp_port_list *out);
int val_countries(struct where *w, const char *v, struct rp_ccset *out);
int val_path(struct where *w, const char *v, char **out);		/* absolute */
int val_hostport(struct where *w, const char *v, bool ip_only, char **out);
int val_host(struct where *w, const char *v, char **out);
int val_proto(struct where *w, const char *v, enum rp_proto *out);
int val_choice(struct where *w, const char *v, const char *const *choices, int *out);
int val_key(struct where *w, const char *v, uint8_t key[RP_KEY_LEN]);	/* base64 */
int val_key_file(struct where *w, const char *v, char **path, uint8_t key[RP_KEY_LEN]);

/* Split a comma-separated list into trimmed items (a copy; free with
 * list_free).  Empty items are kept so callers can complain about them. */
char **list_split(const char *v, size_t *n);
void list_free(char **items, size_t n);

int prefix_list_add(struct rp_prefix_list *l, const struct rp_prefix *p);
int prefix_list_append(struct rp_prefix_list *l, const struct rp_prefix_list *from);

/* One key of a section: its validator, and whether it must be present. */
struct key_spec {
	const char *key;
	int (*parse)(struct where *w, const char *v, void *obj);
	bool required;
};

/* Run the validators of SPECS over the entries of section S (unknown keys
 * and missing required keys are errors). */
void parse_section(struct where *w, const struct ini_section *s,
		   const struct key_spec *specs, void *obj);

/* ---- tenants (config_tenant.c) and cross-file checks (config_check.c) ---- */

/* Load one tenant file into t (which is zeroed). */
void tenant_load(const struct ini_file *f, unsigned flags, struct rp_tenant *t,
		 struct diag *d, unsigned *errors);
void tenant_free(struct rp_tenant *t);
/* After its sections: defaults, checks between sections, rule selectors
 * expanded (config_check.c). */
void tenant_finish(struct where *w, struct rp_tenant *t, bool have_tenant);

/* Checks across tenants and between rempart.ini and the tenants; also
 * resolves shares to tenant indexes (after sorting by id). */
/* complete: false when a tenant file could not be read (its tenant is then
 * missing, and "unknown tenant" errors would be misleading). */
void config_check(struct rp_config *cfg, bool complete, struct diag *d, unsigned *errors);
/* What the configuration makes of the network, across tenants (after
 * config_check, shares resolved): VLAN link names that clash with other
 * interfaces, share replies routed over another tenant's prefixes
 * (config_check_net.c). */
void config_check_net(const struct rp_config *cfg, struct diag *d, unsigned *errors);
/* PATH relative to the config's directory when it lies under it. */
const char *config_rel(const struct rp_config *cfg, const char *path);
#endif
