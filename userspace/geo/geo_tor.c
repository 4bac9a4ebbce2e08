// SPDX-License-Identifier: GPL-2.0
/* geo_tor.c — Tor's geoip files (Debian tor-geoipdb: /usr/share/tor/geoip,
 * geoip6): "INTIPLOW,INTIPHIGH,CC" (IPv4 as 32-bit integers) and
 * "IPV6LOW,IPV6HIGH,CC"; '#' starts a comment line; "??" is no country.
 * Either family may appear in either file (dotted IPv4 is accepted too). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "geo/geo_int.h"

/* One bound: a decimal 32-bit integer, or an address. */
static int parse_bound(const char *s, int *family, u128 *v)
{
	struct rp_addr a = { 0 };
	const char *p = s;
	uint64_t x = 0;

	/* The common case first: up to 10 digits (strtoull is slower). */
	while (*p >= '0' && *p <= '9' && p - s < 11)
		x = x * 10 + (uint64_t)(*p++ - '0');
	if (!*p && p > s && p - s <= 10 && x <= UINT32_MAX) {
		*family = AF_INET;
		*v = x;
		return 0;
	}
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, a.addr) != 1)
			return -EINVAL;
		a.family = AF_INET6;
		*family = AF_INET6;
		*v = geo_addr_to_u128(&a);
		return 0;
	}

	if (*s >= '0' && *s <= '9' && !strpbrk(s, ".:")) {
		char *end;
		unsigned long long x;

		errno = 0;
		x = strtoull(s, &end, 10);
		if (errno || *end || x > UINT32_MAX)
			return -EINVAL;
		*family = AF_INET;
		*v = x;
		return 0;
	}
	if (addr_parse(s, &a))
		return -EINVAL;
	*family = a.family;
	*v = geo_addr_to_u128(&a);
	return 0;
}

int geo_read_tor(struct geo_acc *acc, const char *path, int family_hint, struct diag *d)
{
	struct geo_lines l;
	char *f[4];
	int err;

	err = geo_lines_open(&l, path, d);
	if (err)
		return err;
	while ((err = geo_lines_fields(&l, f, 3, "LOW,HIGH,CC", d)) > 0) {
		int fam_lo, fam_hi;
		u128 lo, hi;
		uint16_t cc;

		if (parse_bound(f[0], &fam_lo, &lo) || parse_bound(f[1], &fam_hi, &hi)) {
			err = geo_lines_err(&l, d, "'%s' is not an address or a 32-bit integer",
					    parse_bound(f[0], &fam_lo, &lo) ? f[0] : f[1]);
			break;
		}
		if (fam_lo != fam_hi || lo > hi) {
			err = geo_lines_err(&l, d, "range %s..%s is %s", f[0], f[1],
					    fam_lo != fam_hi ? "of two families" : "reversed (low > high)");
			break;
		}
		if (geo_cc_parse(f[2], &cc)) {
			err = geo_lines_err(&l, d, "'%s' is not a country code (two letters, or ?\?)", f[2]);
			break;
		}
		err = geo_acc_add(acc, fam_lo, lo, hi, cc);
		if (err) {
			geo_lines_err(&l, d, "%s", strerror(-err));
			break;
		}
	}
	geo_lines_close(&l);
	return err < 0 ? err : 0;
}
