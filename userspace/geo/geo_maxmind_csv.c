// SPDX-License-Identifier: GPL-2.0
/* geo_maxmind_csv.c — the GeoLite2 / GeoIP2 Country CSV format: a blocks
 * file (network,geoname_id,registered_country_geoname_id,...) and, beside
 * it, the locations file (GeoLite2-Country-Locations-en.csv, or any
 * *Locations-en.csv) mapping geoname_id to country_iso_code.  A block whose
 * geoname_id is empty uses registered_country_geoname_id; a location
 * without country_iso_code (a continent) is no country.  Columns are found
 * by the header line's names. */
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "geo/geo_int.h"

struct loc {
	unsigned long id;
	uint16_t cc;
};

struct locs {
	struct loc *v;
	size_t n, cap;
};

static int loc_cmp(const void *pa, const void *pb)
{
	const struct loc *a = pa, *b = pb;

	return a->id < b->id ? -1 : a->id > b->id;
}

#define MAX_COLUMNS 16

/* The index of the header column called name, or -1; n is what
 * geo_split_csv returned, which is MAX_COLUMNS + 1 when the line had more
 * columns than f holds: only the first MAX_COLUMNS are looked at. */
static int column(char **f, int n, const char *name)
{
	if (n > MAX_COLUMNS)
		n = MAX_COLUMNS;
	for (int i = 0; i < n; i++)
		if (!strcmp(f[i], name))
			return i;
	return -1;
}

static int parse_id(const char *s, unsigned long *id)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*id = strtoul(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

/* The next line split into its fields (*n of them; f holds MAX_COLUMNS):
 * the header (line 1) as it is, then rows, blank lines skipped.  1, 0 at
 * EOF, or -errno (reported). */
static int next_row(struct geo_lines *l, char **f, int *n, struct diag *d)
{
	int err;

	while ((err = geo_lines_next(l, d)) > 0) {
		*n = geo_split_csv(l->buf, f, MAX_COLUMNS);
		if (l->lineno == 1)
			return 1;
		if (*n == 1 && !*f[0])
			continue;
		if (*n > MAX_COLUMNS)
			return geo_lines_err(l, d, "more than %d fields", MAX_COLUMNS);
		return 1;
	}
	return err;
}

/* The locations file beside blocks: 0 and a malloc'ed path, or -ENOENT. */
static int find_locations(const char *blocks, char **out, struct diag *d)
{
	char *copy = strdup(blocks), *dir, *pat = NULL;
	glob_t g = { 0 };
	int err = -ENOENT;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	if (asprintf(&pat, "%s/GeoLite2-Country-Locations-en.csv", dir) < 0) {
		pat = NULL;
		err = -ENOMEM;
		goto out;
	}
	if (!access(pat, R_OK)) {
		*out = pat;
		pat = NULL;
		err = 0;
		goto out;
	}
	free(pat);
	if (asprintf(&pat, "%s/*Locations-en.csv", dir) < 0) {
		pat = NULL;
		err = -ENOMEM;
		goto out;
	}
	if (!glob(pat, 0, NULL, &g) && g.gl_pathc >= 1) {
		*out = strdup(g.gl_pathv[0]);
		err = *out ? 0 : -ENOMEM;
	}
	if (err == -ENOENT)
		diag_add(d, "%s: no locations file beside it (GeoLite2-Country-Locations-en.csv or *Locations-en.csv in %s)",
			 blocks, dir);
out:
	globfree(&g);
	free(pat);
	free(copy);
	return err;
}

static int read_locations(const char *path, struct locs *ls, struct diag *d)
{
	struct geo_lines l;
	int c_id = -1, c_cc = -1, err, n;
	char *f[MAX_COLUMNS];

	err = geo_lines_open(&l, path, d);
	if (err)
		return err;
	while ((err = next_row(&l, f, &n, d)) > 0) {
		struct loc lo;

		if (l.lineno == 1) {
			c_id = column(f, n, "geoname_id");
			c_cc = column(f, n, "country_iso_code");
			if (c_id < 0 || c_cc < 0) {
				diag_add(d, "%s:1: header lacks geoname_id or country_iso_code", path);
				err = -EINVAL;
				break;
			}
			continue;
		}
		if (n <= c_id || n <= c_cc) {
			err = geo_lines_err(&l, d, "expected at least %d fields, got %d",
					    (c_id > c_cc ? c_id : c_cc) + 1, n);
			break;
		}
		if (parse_id(f[c_id], &lo.id)) {
			err = geo_lines_err(&l, d, "geoname_id '%s' is not a number", f[c_id]);
			break;
		}
		if (geo_cc_parse(f[c_cc], &lo.cc)) {
			err = geo_lines_err(&l, d, "'%s' is not a country code", f[c_cc]);
			break;
		}
		if (ls->n == ls->cap) {
			size_t cap = ls->cap ? 2 * ls->cap : 512;
			struct loc *v = realloc(ls->v, cap * sizeof(*v));

			if (!v) {
				err = -ENOMEM;
				break;
			}
			ls->v = v;
			ls->cap = cap;
		}
		ls->v[ls->n++] = lo;
	}
	geo_lines_close(&l);
	if (err < 0)
		return err;
	qsort(ls->v, ls->n, sizeof(*ls->v), loc_cmp);
	return 0;
}

static int loc_find(const struct locs *ls, unsigned long id, uint16_t *cc)
{
	struct loc key = { .id = id }, *r;

	r = bsearch(&key, ls->v, ls->n, sizeof(*ls->v), loc_cmp);
	if (!r)
		return -ENOENT;
	*cc = r->cc;
	return 0;
}

int geo_read_maxmind_csv(struct geo_acc *acc, const char *path, struct diag *d)
{
	int c_net = -1, c_geo = -1, c_reg = -1, err, n;
	struct locs ls = { 0 };
	char *locpath = NULL;
	struct geo_lines l = { 0 };
	char *f[MAX_COLUMNS];

	err = find_locations(path, &locpath, d);
	if (err)
		goto out;
	err = read_locations(locpath, &ls, d);
	if (err)
		goto out;
	err = geo_lines_open(&l, path, d);
	if (err)
		goto out;
	while ((err = next_row(&l, f, &n, d)) > 0) {
		struct rp_prefix p;
		unsigned long id;
		const char *ids;
		uint16_t cc = RP_CC_NONE;

		if (l.lineno == 1) {
			c_net = column(f, n, "network");
			c_geo = column(f, n, "geoname_id");
			c_reg = column(f, n, "registered_country_geoname_id");
			if (c_net < 0 || c_geo < 0 || c_reg < 0) {
				diag_add(d, "%s:1: header lacks network, geoname_id or registered_country_geoname_id",
					 path);
				err = -EINVAL;
				break;
			}
			continue;
		}
		if (n <= c_net || n <= c_geo || n <= c_reg) {
			err = geo_lines_err(&l, d, "too few fields (%d)", n);
			break;
		}
		if (prefix_parse(f[c_net], &p) || !strchr(f[c_net], '/')) {
			err = geo_lines_err(&l, d, "network '%s' is not a prefix", f[c_net]);
			break;
		}
		ids = *f[c_geo] ? f[c_geo] : f[c_reg];
		if (*ids) {
			if (parse_id(ids, &id)) {
				err = geo_lines_err(&l, d, "geoname_id '%s' is not a number", ids);
				break;
			}
			if (loc_find(&ls, id, &cc)) {
				err = geo_lines_err(&l, d, "geoname_id %lu is not in %s", id, locpath);
				break;
			}
		}
		err = geo_acc_add_prefix(acc, &p, cc);
		if (err) {
			geo_lines_err(&l, d, "%s", strerror(-err));
			break;
		}
	}
out:
	geo_lines_close(&l);
	free(ls.v);
	free(locpath);
	return err < 0 ? err : 0;
}
