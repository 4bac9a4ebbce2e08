// SPDX-License-Identifier: GPL-2.0
/* geo_read.c — what the format readers (geo_tor.c, geo_cidr.c,
 * geo_maxmind_csv.c, geo_mmdb.c) share, see geo_int.h: the raw-range
 * accumulator they fill, address <-> 128-bit key, the country code table,
 * CSV fields and a line reader that knows file and line. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <pthread.h>
#include <arpa/inet.h>
#include "config/country.h"
#include "geo/geo_int.h"

static int rawvec_push(struct geo_rawvec *v, const struct geo_raw *r)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 4096;
		struct geo_raw *nv = realloc(v->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = *r;
	return 0;
}

int geo_acc_add(struct geo_acc *a, int family, u128 lo, u128 hi, uint16_t cc)
{
	struct geo_raw r = { .lo = lo, .hi = hi, .cc = cc, .seq = a->seq++ };

	if (lo > hi || hi > geo_family_max(family))
		return -EINVAL;
	return rawvec_push(family == AF_INET ? &a->v4 : &a->v6, &r);
}

int geo_acc_add_prefix(struct geo_acc *a, const struct rp_prefix *p, uint16_t cc)
{
	struct rp_addr ad = { .family = p->family };
	int bits = p->family == AF_INET ? 32 : 128;
	u128 lo, span;

	memcpy(ad.addr, p->addr, sizeof(ad.addr));
	lo = geo_addr_to_u128(&ad);
	span = p->len == 0 ? geo_family_max(p->family) : (((u128)1 << (bits - p->len)) - 1);
	lo &= ~span;
	return geo_acc_add(a, p->family, lo, lo + span, cc);
}

void geo_acc_free(struct geo_acc *a)
{
	free(a->v4.v);
	free(a->v6.v);
	memset(a, 0, sizeof(*a));
}

u128 geo_addr_to_u128(const struct rp_addr *a)
{
	u128 v = 0;
	int n = a->family == AF_INET ? 4 : 16;

	for (int i = 0; i < n; i++)
		v = (v << 8) | a->addr[i];
	return v;
}

void geo_u128_to_addr(int family, u128 v, struct rp_addr *a)
{
	int n = family == AF_INET ? 4 : 16;

	memset(a, 0, sizeof(*a));
	a->family = family;
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		a->addr[i] = v & 0xff;
}

/* What a database code means for the fence, by number: itself if the
 * config could name it (an assigned ISO 3166-1 code), GB for UK, else no
 * country.  A table: cc_parse() scans the ISO list, too slow for a million
 * lines. */
static uint16_t code_map[RP_CC_COUNT];
static pthread_once_t code_map_once = PTHREAD_ONCE_INIT;

static void code_map_init(void)
{
	for (uint16_t c = 0; c < RP_CC_COUNT; c++) {
		char code[3];
		uint16_t v;

		cc_format(c, code);
		if (!strcmp(code, "UK"))
			strcpy(code, "GB");
		code_map[c] = cc_parse(code, &v) ? RP_CC_NONE : v;
	}
}

int geo_cc_parse(const char *s, uint16_t *cc)
{
	if (!s[0] || !strcmp(s, "??")) {
		*cc = RP_CC_NONE;
		return 0;
	}
	if (!isalpha((unsigned char)s[0]) || !isalpha((unsigned char)s[1]) || s[2] ||
	    !isascii((unsigned char)s[0]) || !isascii((unsigned char)s[1]))
		return -EINVAL;
	/* A code is a country only if the config could name it; UK is ISO's
	 * reserved alias of GB.  Regions (EU, AP: a registry's "somewhere in
	 * its region", which for RIPE's EU is not the European Union) and
	 * retired or private codes (CS, AN, SU, ZZ...) are no country:
	 * `unknown` decides (docs/geo.md). */
	pthread_once(&code_map_once, code_map_init);
	*cc = code_map[(toupper((unsigned char)s[0]) - 'A') * 26 + (toupper((unsigned char)s[1]) - 'A')];
	return 0;
}

char *geo_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

int geo_split_csv(char *s, char **fields, int max)
{
	int n = 0;
	char *w = s, *r = s;

	if (max <= 0)
		return 0;
	fields[n++] = w;
	while (*r) {
		if (*r == '"') {
			for (r++; *r; ) {
				if (*r == '"' && r[1] == '"') {	/* "" is a quote */
					*w++ = '"';
					r += 2;
				} else if (*r == '"') {
					r++;
					break;
				} else {
					*w++ = *r++;
				}
			}
			continue;
		}
		if (*r == ',') {
			*w++ = '\0';
			r++;
			if (n == max)
				return n + 1;	/* too many: caller reports */
			fields[n++] = w;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
	for (int i = 0; i < n; i++)
		fields[i] = geo_trim(fields[i]);
	return n;
}

int geo_lines_open(struct geo_lines *l, const char *path, struct diag *d)
{
	memset(l, 0, sizeof(*l));
	l->path = path;
	l->f = fopen(path, "re");
	if (!l->f) {
		int err = -errno;

		diag_add(d, "%s: cannot open: %s", path, strerror(-err));
		return err;
	}
	return 0;
}

int geo_lines_next(struct geo_lines *l, struct diag *d)
{
	ssize_t n;

	errno = 0;
	n = getline(&l->buf, &l->cap, l->f);
	if (n < 0) {
		if (ferror(l->f)) {
			int err = errno ? -errno : -EIO;

			diag_add(d, "%s:%lu: read error: %s", l->path, l->lineno + 1, strerror(-err));
			return err;
		}
		return 0;
	}
	l->lineno++;
	while (n && (l->buf[n - 1] == '\n' || l->buf[n - 1] == '\r'))
		l->buf[--n] = '\0';
	return 1;
}

int geo_lines_err(const struct geo_lines *l, struct diag *d, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(d, "%s:%lu: %s", l->path, l->lineno, msg);
	return -EINVAL;
}

int geo_lines_fields(struct geo_lines *l, char **f, int n, const char *what, struct diag *d)
{
	int err, got;

	while ((err = geo_lines_next(l, d)) > 0) {
		char *line = geo_trim(l->buf);

		if (!*line || *line == '#')
			continue;
		got = geo_split_csv(line, f, n);
		if (got != n)
			return geo_lines_err(l, d, "expected %s, got %d field%s", what, got,
					     got == 1 ? "" : "s");
		return 1;
	}
	return err;
}

void geo_lines_close(struct geo_lines *l)
{
	if (l->f)
		fclose(l->f);
	free(l->buf);
	memset(l, 0, sizeof(*l));
}
