// SPDX-License-Identifier: GPL-2.0
/* geo.c — country databases in memory; see geo.h.
 *
 * Every reader (geo_tor.c, geo_cidr.c, geo_maxmind_csv.c, geo_mmdb.c) appends
 * raw ranges to an accumulator (geo_read.c); normalize() then turns them into sorted,
 * disjoint ranges with adjacent ranges of one country merged.
 *
 * Overlaps (the rule, deterministic whatever the input order): where ranges
 * overlap, the narrowest range wins (so a CIDR file means longest-prefix
 * match); between ranges of the same size, the one read last wins.  A range
 * of no country ("??", empty code) takes part like any other, so a narrower
 * "??" range punches a hole into a wider one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <pthread.h>
#include <arpa/inet.h>
#include "config/country.h"
#include "geo/geo_int.h"

/* ---- normalisation ---- */

static int raw_cmp_lo(const void *pa, const void *pb)
{
	const struct geo_raw *a = pa, *b = pb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int u128_cmp(const void *pa, const void *pb)
{
	u128 a = *(const u128 *)pa, b = *(const u128 *)pb;

	return a < b ? -1 : a > b;
}

/* Heap order: narrower first, then read later first. */
static int beats(const struct geo_raw *a, const struct geo_raw *b)
{
	u128 sa = a->hi - a->lo, sb = b->hi - b->lo;

	if (sa != sb)
		return sa < sb;
	return a->seq > b->seq;
}

struct heap {
	const struct geo_raw **v;
	size_t n;
};

static void heap_push(struct heap *h, const struct geo_raw *r)
{
	size_t i = h->n++;

	while (i && beats(r, h->v[(i - 1) / 2])) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = r;
}

static void heap_pop(struct heap *h)
{
	const struct geo_raw *last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && beats(h->v[c + 1], h->v[c]))
			c++;
		if (!beats(h->v[c], last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
}

/* Output: ranges with a country, disjoint, sorted, merged. */
struct outvec {
	struct geo_raw *v;
	size_t n;
};

static void out_emit(struct outvec *o, u128 lo, u128 hi, uint16_t cc)
{
	if (cc == RP_CC_NONE)
		return;
	if (o->n && o->v[o->n - 1].cc == cc && o->v[o->n - 1].hi + 1 == lo) {
		o->v[o->n - 1].hi = hi;
		return;
	}
	o->v[o->n++] = (struct geo_raw){ .lo = lo, .hi = hi, .cc = cc };
}

/* Sorts v in place; fills *out (malloc'ed, at most 2n+1 ranges). */
static int normalize(struct geo_rawvec *v, int family, struct outvec *out)
{
	struct heap h = { 0 };
	u128 *pts = NULL, maxhi = 0;
	size_t npts = 0, next = 0;
	bool overlap = false;
	int err = 0;

	out->n = 0;
	out->v = malloc((2 * v->n + 1) * sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 1; i < v->n; i++)	/* files are usually sorted already */
		if (raw_cmp_lo(&v->v[i - 1], &v->v[i]) > 0) {
			qsort(v->v, v->n, sizeof(*v->v), raw_cmp_lo);
			break;
		}
	for (size_t i = 0; i < v->n; i++) {
		if (i && v->v[i].lo <= maxhi)
			overlap = true;
		if (!i || v->v[i].hi > maxhi)
			maxhi = v->v[i].hi;
	}
	if (!overlap) {
		for (size_t i = 0; i < v->n; i++)
			out_emit(out, v->v[i].lo, v->v[i].hi, v->v[i].cc);
		return 0;
	}

	/* Sweep over the elementary intervals between boundaries. */
	pts = malloc(2 * v->n * sizeof(*pts));
	h.v = malloc(v->n * sizeof(*h.v));
	if (!pts || !h.v) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < v->n; i++) {
		pts[npts++] = v->v[i].lo;
		if (v->v[i].hi < geo_family_max(family))
			pts[npts++] = v->v[i].hi + 1;
	}
	qsort(pts, npts, sizeof(*pts), u128_cmp);
	for (size_t k = 0; k < npts; k++) {
		u128 p = pts[k], end;

		if (k && pts[k - 1] == p)
			continue;
		while (next < v->n && v->v[next].lo == p)
			heap_push(&h, &v->v[next++]);
		while (h.n && h.v[0]->hi < p)
			heap_pop(&h);
		if (!h.n)
			continue;
		end = geo_family_max(family);
		for (size_t j = k + 1; j < npts; j++)
			if (pts[j] != p) {
				end = pts[j] - 1;
				break;
			}
		out_emit(out, p, end, h.v[0]->cc);
	}
out:
	free(pts);
	free(h.v);
	if (err) {
		free(out->v);
		out->v = NULL;
	}
	return err;
}

/* Turn the accumulator into db's arrays (replacing them on success). */
static int acc_to_db(struct geo_acc *a, struct geo_db *db)
{
	struct outvec o4 = { 0 }, o6 = { 0 };
	struct geo_range4 *r4 = NULL;
	struct geo_range6 *r6 = NULL;
	int err;

	err = normalize(&a->v4, AF_INET, &o4);
	if (err)
		goto out;
	err = normalize(&a->v6, AF_INET6, &o6);
	if (err)
		goto out;
	r4 = malloc((o4.n + 1) * sizeof(*r4));
	r6 = malloc((o6.n + 1) * sizeof(*r6));
	if (!r4 || !r6) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < o4.n; i++)
		r4[i] = (struct geo_range4){ (uint32_t)o4.v[i].lo, (uint32_t)o4.v[i].hi, o4.v[i].cc };
	for (size_t i = 0; i < o6.n; i++)
		r6[i] = (struct geo_range6){ o6.v[i].lo, o6.v[i].hi, o6.v[i].cc };
	free(db->v4);
	free(db->v6);
	db->v4 = r4;
	db->n4 = o4.n;
	db->v6 = r6;
	db->n6 = o6.n;
	r4 = NULL;
	r6 = NULL;
out:
	free(r4);
	free(r6);
	free(o4.v);
	free(o6.v);
	return err;
}

/* Seed an accumulator with db's current ranges (read "first"). */
static int acc_from_db(struct geo_acc *a, const struct geo_db *db)
{
	int err = 0;

	for (size_t i = 0; i < db->n4 && !err; i++)
		err = geo_acc_add(a, AF_INET, db->v4[i].lo, db->v4[i].hi, db->v4[i].cc);
	for (size_t i = 0; i < db->n6 && !err; i++)
		err = geo_acc_add(a, AF_INET6, db->v6[i].lo, db->v6[i].hi, db->v6[i].cc);
	return err;
}

static int read_one(struct geo_acc *a, const char *path, enum rp_geo_format fmt,
		    int family_hint, struct diag *d)
{
	switch (fmt) {
	case RP_GEO_TOR:
		return geo_read_tor(a, path, family_hint, d);
	case RP_GEO_CIDR:
		return geo_read_cidr(a, path, d);
	case RP_GEO_MAXMIND_CSV:
		return geo_read_maxmind_csv(a, path, d);
	case RP_GEO_MMDB:
		return geo_read_mmdb(a, path, d);
	}
	diag_add(d, "%s: unknown geo format %d", path, (int)fmt);
	return -EINVAL;
}

int geo_load_file(struct geo_db *db, const char *path, enum rp_geo_format fmt,
		  int family_hint, struct diag *d)
{
	struct geo_acc a = { 0 };
	int err;

	err = acc_from_db(&a, db);
	if (!err)
		err = read_one(&a, path, fmt, family_hint, d);
	if (!err)
		err = acc_to_db(&a, db);
	if (err == -ENOMEM)
		diag_add(d, "%s: out of memory", path);
	geo_acc_free(&a);
	return err;
}

const char *geo_format_name(enum rp_geo_format fmt)
{
	static const char *const names[] = { "tor", "cidr", "maxmind-csv", "mmdb" };

	return (unsigned)fmt < 4 ? names[fmt] : "?";
}

int geo_load(const struct rp_config *cfg, struct geo_db *db, struct diag *d)
{
	struct geo_db n = { .format = cfg->geo_format };
	struct geo_acc a = { 0 };
	int err = 0;

	if (!cfg->geo_ipv4 && !cfg->geo_ipv6) {
		diag_add(d, "[geo]: neither ipv4 nor ipv6 names a database file");
		return -ENOENT;
	}
	if (cfg->geo_ipv4)
		err = read_one(&a, cfg->geo_ipv4, cfg->geo_format, AF_INET, d);
	/* mmdb holds both families in one file: read it once. */
	if (!err && cfg->geo_ipv6 &&
	    !(cfg->geo_format == RP_GEO_MMDB && cfg->geo_ipv4 && !strcmp(cfg->geo_ipv4, cfg->geo_ipv6)))
		err = read_one(&a, cfg->geo_ipv6, cfg->geo_format, AF_INET6, d);
	if (!err)
		err = acc_to_db(&a, &n);
	if (!err && ((cfg->geo_ipv4 && !(n.source_v4 = strdup(cfg->geo_ipv4))) ||
		     (cfg->geo_ipv6 && !(n.source_v6 = strdup(cfg->geo_ipv6)))))
		err = -ENOMEM;
	if (err == -ENOMEM)
		diag_add(d, "[geo]: out of memory loading the database");
	geo_acc_free(&a);
	if (err) {
		geo_free(&n);
		return err;
	}
	n.loaded_at = time(NULL);
	geo_free(db);
	*db = n;
	return 0;
}

void geo_free(struct geo_db *db)
{
	free(db->v4);
	free(db->v6);
	free(db->source_v4);
	free(db->source_v6);
	memset(db, 0, sizeof(*db));
}

uint16_t geo_lookup4(const struct geo_db *db, uint32_t x)
{
	size_t lo = 0, hi = db->n4;

	while (lo < hi) {	/* first range with lo > x */
		size_t mid = lo + (hi - lo) / 2;

		if (db->v4[mid].lo <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && db->v4[lo - 1].hi >= x)
		return db->v4[lo - 1].cc;
	return RP_CC_NONE;
}

uint16_t geo_lookup6(const struct geo_db *db, unsigned __int128 x)
{
	size_t lo = 0, hi = db->n6;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (db->v6[mid].lo <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && db->v6[lo - 1].hi >= x)
		return db->v6[lo - 1].cc;
	return RP_CC_NONE;
}

uint16_t geo_lookup(const struct geo_db *db, const struct rp_addr *a)
{
	if (a->family == AF_INET)
		return geo_lookup4(db, (uint32_t)geo_addr_to_u128(a));
	if (a->family == AF_INET6)
		return geo_lookup6(db, geo_addr_to_u128(a));
	return RP_CC_NONE;
}

int geo_format_parse(const char *s, enum rp_geo_format *out)
{
	for (int f = RP_GEO_TOR; f <= RP_GEO_MMDB; f++)
		if (!strcasecmp(s, geo_format_name(f))) {
			*out = f;
			return 0;
		}
	return -EINVAL;
}
