/* geo_int.h — internals shared by the geo format readers (geo_*.c):
 * the raw-range accumulator that geo.c sorts, resolves and merges, and a
 * line reader that knows file and line for error messages. */
#ifndef REMPART_GEO_INT_H
#define REMPART_GEO_INT_H
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include "geo/geo.h"

typedef unsigned __int128 u128;

#define U128_MAX (~(u128)0)

/* The largest key of a family: 2^32 - 1 (IPv4) or 2^128 - 1. */
static inline u128 geo_family_max(int family)
{
	return family == AF_INET ? (u128)UINT32_MAX : U128_MAX;
}

/* One range as read, before sorting: both families in 128-bit keys. */
struct geo_raw {
	u128 lo, hi;		/* inclusive, host order */
	uint32_t seq;		/* reading order: later wins ties */
	uint16_t cc;		/* RP_CC_NONE: "??" / empty (punches a hole) */
};

struct geo_rawvec {
	struct geo_raw *v;
	size_t n, cap;
};

struct geo_acc {
	struct geo_rawvec v4, v6;
	uint32_t seq;
};

int geo_acc_add(struct geo_acc *a, int family, u128 lo, u128 hi, uint16_t cc);
int geo_acc_add_prefix(struct geo_acc *a, const struct rp_prefix *p, uint16_t cc);
void geo_acc_free(struct geo_acc *a);

/* A line reader: strips '\n', '\r'; counts lines. */
struct geo_lines {
	FILE *f;
	const char *path;
	unsigned long lineno;
	char *buf;
	size_t cap;
};

int geo_lines_open(struct geo_lines *l, const char *path, struct diag *d);
/* 1 with a line in l->buf, 0 at EOF, -errno on a read error (reported). */
int geo_lines_next(struct geo_lines *l, struct diag *d);
/* The next line that is neither blank nor a '#' comment, split into its n
 * CSV fields (f: room for n + 1; what names them, "PREFIX,CC").  1, 0 at
 * EOF, or -errno (reported). */
int geo_lines_fields(struct geo_lines *l, char **f, int n, const char *what, struct diag *d);
/* "PATH:LINE: " and the message added to d; returns -EINVAL. */
__attribute__((format(printf, 3, 4)))
int geo_lines_err(const struct geo_lines *l, struct diag *d, const char *fmt, ...);
void geo_lines_close(struct geo_lines *l);

/* Country code in a database: two letters A-Z (any case) -> number;
 * "??", "", and two letters that are no assigned ISO 3166-1 code (EU, AP,
 * CS...) -> RP_CC_NONE; UK -> GB.  -EINVAL otherwise. */
int geo_cc_parse(const char *s, uint16_t *cc);
/* Trim blanks at both ends, in place. */
char *geo_trim(char *s);
/* Split s on ',' into at most max fields (quotes "..." of CSV honoured,
 * quotes removed).  Returns the number of fields. */
int geo_split_csv(char *s, char **fields, int max);

u128 geo_addr_to_u128(const struct rp_addr *a);	/* v4: the 32-bit value */
void geo_u128_to_addr(int family, u128 v, struct rp_addr *a);

/* Format readers: append every range of path to a. */
int geo_read_tor(struct geo_acc *a, const char *path, int family_hint, struct diag *d);
int geo_read_cidr(struct geo_acc *a, const char *path, struct diag *d);
int geo_read_maxmind_csv(struct geo_acc *a, const char *path, struct diag *d);
int geo_read_mmdb(struct geo_acc *a, const char *path, struct diag *d);
#endif
