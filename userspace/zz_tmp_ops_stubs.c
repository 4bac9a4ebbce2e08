// SPDX-License-Identifier: GPL-2.0
/* zz_tmp_ops_stubs.c — TEMPORARY stand-ins so the ops branch (run, metrics,
 * monitor, confirm) links and can be tested before the config, geo, tunnels
 * and dataplane modules are merged.  DELETE THIS FILE once `git merge main`
 * brings config.c, geo.c, net*.c and dataplane*.c.
 *
 * Every symbol is weak, so a real module linked next to it wins.  The config
 * loader here reads only what the ops code uses ([gateway] state_dir,
 * fail_mode, tenants; [metrics] listen; [tenant] name, id) and rejects any
 * other key, so a "bad config" exists for the reload tests.  The dataplane
 * and net stubs do nothing and succeed; the tests tell "dataplane not in this
 * build" by probing for the pinned maps after `run` is ready. */
#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <iniparser/iniparser.h>
#include "config.h"
#include "dataplane.h"
#include "geo.h"
#include "net.h"

#define WEAK __attribute__((weak))

static char *abs_path(const char *dir, const char *p)
{
	char *r;

	if (p[0] == '/')
		return strdup(p);
	if (asprintf(&r, "%s/%s", dir, p) < 0)
		return NULL;
	return r;
}

static int check_keys(dictionary *ini, const char *file, const char *sec,
		      const char *const *known, struct diag *d)
{
	int n = iniparser_getsecnkeys(ini, sec), bad = 0;
	const char **keys = calloc(n > 0 ? n : 1, sizeof(*keys));

	if (!keys)
		return 1;
	iniparser_getseckeys(ini, sec, keys);
	for (int i = 0; i < n; i++) {
		const char *k = strchr(keys[i], ':') + 1;
		int ok = 0;

		for (int j = 0; known[j]; j++)
			ok |= !strcmp(k, known[j]);
		if (!ok) {
			diag_add(d, "%s: [%s] %s: unknown key", file, sec, k);
			bad++;
		}
	}
	free(keys);
	return bad;
}

static int load_tenant(struct rp_config *cfg, const char *path, struct diag *d)
{
	static const char *const known[] = { "name", "id", NULL };
	dictionary *ini = iniparser_load(path);
	struct rp_tenant *t;
	int bad = 0, id;

	if (!ini) {
		diag_add(d, "%s: cannot parse", path);
		return 1;
	}
	bad += check_keys(ini, path, "tenant", known, d);
	id = iniparser_getint(ini, "tenant:id", -1);
	if (id < 1 || id > RP_TENANT_ID_MAX) {
		diag_add(d, "%s: [tenant] id: must be 1..%d", path, RP_TENANT_ID_MAX);
		bad++;
	}
	t = realloc(cfg->tenants, (cfg->n_tenants + 1) * sizeof(*t));
	if (t) {
		cfg->tenants = t;
		t = &t[cfg->n_tenants++];
		memset(t, 0, sizeof(*t));
		t->name = strdup(iniparser_getstring(ini, "tenant:name", "?"));
		t->id = id > 0 ? id : 0;
		t->file = strdup(path);
	}
	iniparser_freedict(ini);
	return bad;
}

WEAK int config_load(const char *path, unsigned flags, struct rp_config *cfg, struct diag *d)
{
	static const char *const gw_known[] = { "name", "uplink", "tenants", "state_dir",
						"fail_mode", "public_endpoint", NULL };
	static const char *const m_known[] = { "listen", NULL };
	static const char *const mg_known[] = { "allow_from", "tcp_ports", "countries", NULL };
	struct stat st;
	dictionary *ini = NULL;
	const char *s;
	int bad = 0;
	DIR *dir;

	memset(cfg, 0, sizeof(*cfg));
	if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		if (asprintf(&cfg->path, "%s/rempart.ini", path) < 0)
			return -ENOMEM;
	} else {
		cfg->path = strdup(path);
	}
	cfg->dir = strdup(cfg->path);
	if (strrchr(cfg->dir, '/'))
		*strrchr(cfg->dir, '/') = 0;
	else
		strcpy(cfg->dir, ".");
	ini = iniparser_load(cfg->path);
	if (!ini) {
		diag_add(d, "%s: cannot read or parse", cfg->path);
		bad++;
		goto out;
	}
	bad += check_keys(ini, "rempart.ini", "gateway", gw_known, d);
	bad += check_keys(ini, "rempart.ini", "metrics", m_known, d);
	bad += check_keys(ini, "rempart.ini", "management", mg_known, d);
	cfg->name = strdup(iniparser_getstring(ini, "gateway:name", "gw"));
	cfg->uplink = strdup(iniparser_getstring(ini, "gateway:uplink", "lo"));
	cfg->state_dir = abs_path(cfg->dir, iniparser_getstring(ini, "gateway:state_dir",
								"/var/lib/rempart"));
	cfg->tenants_dir = abs_path(cfg->dir, iniparser_getstring(ini, "gateway:tenants",
								  "tenants.d"));
	s = iniparser_getstring(ini, "gateway:fail_mode", "closed");
	if (!strcmp(s, "open"))
		cfg->fail_mode = RP_FAIL_OPEN;
	else if (strcmp(s, "closed")) {
		diag_add(d, "rempart.ini: [gateway] fail_mode: '%s' is not closed or open", s);
		bad++;
	}
	s = iniparser_getstring(ini, "metrics:listen", NULL);
	cfg->metrics_listen = s && *s ? strdup(s) : NULL;
	dir = opendir(cfg->tenants_dir);
	if (dir) {
		struct dirent *e;

		while ((e = readdir(dir))) {
			size_t n = strlen(e->d_name);
			char *p;

			if (n < 5 || strcmp(e->d_name + n - 4, ".ini"))
				continue;
			if (asprintf(&p, "%s/%s", cfg->tenants_dir, e->d_name) < 0)
				continue;
			bad += load_tenant(cfg, p, d);
			free(p);
		}
		closedir(dir);
	}
out:
	if (ini)
		iniparser_freedict(ini);
	if (bad) {
		config_free(cfg);
		return -EINVAL;
	}
	return 0;
}

WEAK void config_free(struct rp_config *cfg)
{
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		free(cfg->tenants[i].name);
		free(cfg->tenants[i].file);
	}
	free(cfg->tenants);
	free(cfg->path);
	free(cfg->dir);
	free(cfg->name);
	free(cfg->uplink);
	free(cfg->state_dir);
	free(cfg->tenants_dir);
	free(cfg->metrics_listen);
	memset(cfg, 0, sizeof(*cfg));
}

WEAK struct rp_tenant *config_tenant_by_id(const struct rp_config *cfg, unsigned id)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		if (cfg->tenants[i].id == id)
			return &cfg->tenants[i];
	return NULL;
}

WEAK int geo_load(const struct rp_config *cfg, struct geo_db *db, struct diag *d)
{
	memset(db, 0, sizeof(*db));
	return 0;
}

WEAK void geo_free(struct geo_db *db)
{
}

WEAK int net_apply(const struct rp_config *cfg, struct diag *d)
{
	return 0;
}

WEAK int net_down(const struct rp_config *cfg, struct diag *d)
{
	return 0;
}

WEAK int dataplane_apply(const struct rp_config *cfg, const struct geo_db *geo, struct diag *d)
{
	return 0;	/* pins nothing: tests probe RP_PIN_DIR to see that */
}

WEAK int dataplane_down(struct diag *d)
{
	return 0;
}
