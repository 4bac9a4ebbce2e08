// SPDX-License-Identifier: GPL-2.0
/* apply_plan.c — `apply --dry-run` and `diff`; see apply_plan.h.
 *
 * The policy part compares INI text, section by section, after the same
 * normalisation the loader applies (names lower-cased, comments and blanks
 * dropped, continuation lines joined, spaces around commas ignored): a
 * change of layout or comments is no change. */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "app/apply_plan.h"
#include "app/daemon.h"
#include "dataplane/dataplane.h"
#include "lib/statedir.h"

struct ini_sec {
	char *name;		/* "tenant", "rule web" */
	char **kv;		/* "key=value", in file order */
	size_t n;
};

struct ini_file {
	struct ini_sec *s;
	size_t n;
};

static void ini_free(struct ini_file *f)
{
	for (size_t i = 0; i < f->n; i++) {
		for (size_t k = 0; k < f->s[i].n; k++)
			free(f->s[i].kv[k]);
		free(f->s[i].kv);
		free(f->s[i].name);
	}
	free(f->s);
	memset(f, 0, sizeof(*f));
}

/* Drop a comment (outside quotes); in a section header squeeze blanks to
 * one space, elsewhere drop the blanks outside quotes ("a, b" = "a,b"). */
static void norm(char *s)
{
	bool header = false;
	char *w = s, q = 0;
	size_t n;

	while (isspace((unsigned char)*s))
		memmove(s, s + 1, strlen(s));
	header = *s == '[';
	for (char *r = s; *r; r++) {
		if (!q && (*r == ';' || *r == '#'))
			break;
		if (*r == '"' || *r == '\'')
			q = q == *r ? 0 : q ? q : *r;
		if (!q && isspace((unsigned char)*r)) {
			if (!header || w == s || w[-1] == ' ' || w[-1] == '[')
				continue;
			*w++ = ' ';
			continue;
		}
		*w++ = *r;
	}
	*w = 0;
	n = strlen(s);
	while (n && s[n - 1] == ' ')
		s[--n] = 0;
	if (header && n >= 2 && s[n - 2] == ' ' && s[n - 1] == ']')
		memmove(s + n - 2, s + n - 1, 2);
}

static int ini_read(const char *path, struct ini_file *f)
{
	FILE *fp = fopen(path, "re");
	char *line = NULL, *acc = NULL;
	size_t cap = 0;
	int err = 0;

	memset(f, 0, sizeof(*f));
	if (!fp)
		return -errno;
	while (getline(&line, &cap, fp) >= 0) {
		size_t n = strcspn(line, "\r\n");
		char *joined;

		line[n] = 0;
		if (asprintf(&joined, "%s%s", acc ? acc : "", line) < 0) {
			err = -ENOMEM;
			break;
		}
		free(acc);
		acc = NULL;
		n = strlen(joined);
		if (n && joined[n - 1] == '\\') {	/* continues on the next line */
			joined[n - 1] = 0;
			acc = joined;
			continue;
		}
		norm(joined);
		if (joined[0] == '[') {
			struct ini_sec *s = realloc(f->s, (f->n + 1) * sizeof(*s));
			char *end = strchr(joined, ']');

			if (!s) {
				free(joined);
				err = -ENOMEM;
				break;
			}
			f->s = s;
			if (end)
				*end = 0;
			for (char *c = joined; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			f->s[f->n++] = (struct ini_sec){ .name = strdup(joined + 1) };
		} else if (joined[0] && f->n) {
			struct ini_sec *s = &f->s[f->n - 1];
			char **kv = realloc(s->kv, (s->n + 1) * sizeof(*kv));
			char *eq = strchr(joined, '=');

			if (!kv) {
				free(joined);
				err = -ENOMEM;
				break;
			}
			s->kv = kv;
			for (char *c = joined; *c && c != eq; c++)
				*c = (char)tolower((unsigned char)*c);
			s->kv[s->n++] = strdup(joined);
		}
		free(joined);
	}
	free(acc);
	free(line);
	fclose(fp);
	if (err)
		ini_free(f);
	return err;
}

static const struct ini_sec *sec_find(const struct ini_file *f, const char *name)
{
	for (size_t i = 0; f && i < f->n; i++)
		if (!strcmp(f->s[i].name, name))
			return &f->s[i];
	return NULL;
}

static const char *kv_find(const struct ini_sec *s, const char *key, size_t klen)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (!strncmp(s->kv[i], key, klen) && s->kv[i][klen] == '=')
			return s->kv[i] + klen + 1;
	return NULL;
}

/* The keys whose value differs (added, removed, changed), ", "-joined. */
static void keys_changed(const struct ini_sec *a, const struct ini_sec *b, char *buf, size_t len)
{
	size_t w = 0;

	buf[0] = 0;
	for (int pass = 0; pass < 2; pass++) {
		const struct ini_sec *x = pass ? b : a, *y = pass ? a : b;

		for (size_t i = 0; i < x->n; i++) {
			const char *eq = strchr(x->kv[i], '=');
			size_t kl = eq ? (size_t)(eq - x->kv[i]) : strlen(x->kv[i]);
			const char *v = kv_find(y, x->kv[i], kl);

			if (v && (pass || !strcmp(v, eq ? eq + 1 : "")))
				continue;	/* same, or already named in pass 0 */
			if (w < len)
				w += snprintf(buf + w, len - w, "%s%.*s", w ? ", " : "", (int)kl, x->kv[i]);
		}
	}
}

struct plan {
	net_diff_fn emit;
	void *ctx;
	int n;
};

__attribute__((format(printf, 4, 5)))
static void say(struct plan *p, char op, const char *what, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	p->emit(p->ctx, op, what, text);
	p->n++;
}

/* Sections of OLD and NEW (either may be NULL: all added / all removed),
 * said under PREFIX ("tenant interieur", "gateway"). */
static void diff_sections(struct plan *p, const char *prefix, const struct ini_file *old,
			  const struct ini_file *new)
{
	char keys[256];

	for (size_t i = 0; new && i < new->n; i++) {
		const struct ini_sec *o = sec_find(old, new->s[i].name);

		if (!o) {
			if (old)
				say(p, '+', "policy", "%s [%s]", prefix, new->s[i].name);
			continue;
		}
		keys_changed(o, &new->s[i], keys, sizeof(keys));
		if (keys[0])
			say(p, '~', "policy", "%s [%s]: %s", prefix, new->s[i].name, keys);
	}
	for (size_t i = 0; old && new && i < old->n; i++)
		if (!sec_find(new, old->s[i].name))
			say(p, '-', "policy", "%s [%s]", prefix, old->s[i].name);
}

/* The tenant files of DIR, by their [tenant] name. */
struct tenant_file {
	char *name;
	struct ini_file ini;
};

static int read_tenants(const char *dir, struct tenant_file **out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];

	*out = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		struct tenant_file *v;
		const char *name;

		if (e->d_name[0] == '.' || l < 5 || strcmp(e->d_name + l - 4, ".ini"))
			continue;
		v = realloc(*out, (*n + 1) * sizeof(*v));
		if (!v)
			break;
		*out = v;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (ini_read(path, &v[*n].ini))
			continue;
		name = kv_find(sec_find(&v[*n].ini, "tenant"), "name", 4);
		v[*n].name = strdup(name ? name : e->d_name);
		(*n)++;
	}
	closedir(d);
	return 0;
}

static void free_tenants(struct tenant_file *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		ini_free(&v[i].ini);
	}
	free(v);
}

static const struct tenant_file *tenant_find(const struct tenant_file *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

int apply_plan_policy(const struct rp_config *cfg, net_diff_fn emit, void *ctx, struct diag *d)
{
	struct plan p = { .emit = emit, .ctx = ctx };
	struct tenant_file *ov = NULL, *nv = NULL;
	struct ini_file om = { 0 }, nm = { 0 };
	char snap[PATH_MAX], path[PATH_MAX + 16];
	size_t on = 0, nn = 0;
	struct stat st;
	bool first;
	int err;

	statedir_path(snap, cfg->state_dir, SD_APPLIED);
	statedir_path(path, snap, SD_SNAP_CONFIG);
	first = stat(path, &st) != 0;	/* nothing applied yet */
	if (!first && ini_read(path, &om)) {
		diag_add(d, "cannot read %s: %s", path, strerror(errno));
		return -EIO;
	}
	err = ini_read(cfg->path, &nm);
	if (err) {
		diag_add(d, "cannot read %s: %s", cfg->path, strerror(-err));
		goto out;
	}
	statedir_path(path, snap, SD_SNAP_TENANTS);
	if ((!first && (err = read_tenants(path, &ov, &on))) ||
	    (err = read_tenants(cfg->tenants_dir, &nv, &nn))) {
		diag_add(d, "cannot read the tenant files: %s", strerror(-err));
		goto out;
	}
	if (!first)
		diff_sections(&p, "gateway", &om, &nm);
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const char *name = cfg->tenants[i].name;
		const struct tenant_file *o = first ? NULL : tenant_find(ov, on, name);
		const struct tenant_file *n = tenant_find(nv, nn, name);

		if (!o) {
			say(&p, '+', "policy", "tenant %s: %zu sites, %zu rules, %zu shares", name,
			    cfg->tenants[i].n_sites, cfg->tenants[i].n_rules, cfg->tenants[i].n_shares);
			continue;
		}
		if (!n)
			continue;
		snprintf(path, sizeof(path), "tenant %s", name);
		diff_sections(&p, path, &o->ini, &n->ini);
	}
	for (size_t i = 0; i < on; i++)
		if (!config_tenant_by_name(cfg, ov[i].name))
			say(&p, '-', "policy", "tenant %s", ov[i].name);
	err = 0;
out:
	free_tenants(ov, on);
	free_tenants(nv, nn);
	ini_free(&om);
	ini_free(&nm);
	return err ? err : p.n;
}

int apply_plan(const struct rp_config *cfg, net_diff_fn emit, void *ctx, struct diag *d)
{
	struct plan p = { .emit = emit, .ctx = ctx };
	uint64_t gen;
	int n, m;

	n = net_diff(cfg, emit, ctx, d);
	if (n < 0)
		return n;
	if (daemon_generation(&gen))
		say(&p, '+', "dataplane", "programs loaded and attached (fail_mode = %s)",
		    cfg->fail_mode == RP_FAIL_OPEN ? "open" : "closed");
	if ((cfg->geo_ipv4 || cfg->geo_ipv6) && !dataplane_geo_unchanged(cfg))
		say(&p, '~', "geo", "database loaded from %s%s%s", cfg->geo_ipv4 ? cfg->geo_ipv4 : "",
		    cfg->geo_ipv4 && cfg->geo_ipv6 ? ", " : "", cfg->geo_ipv6 ? cfg->geo_ipv6 : "");
	m = apply_plan_policy(cfg, emit, ctx, d);
	if (m < 0)
		return m;
	return n + p.n + m;
}
