// SPDX-License-Identifier: GPL-2.0
/* geo_cidr.c — "PREFIX,CC" per line, IPv4 and IPv6 mixed; '#' comments and
 * blank lines ignored.  A bare address is a host prefix.  Nested prefixes:
 * the longest wins (geo.c's overlap rule). */
#include <errno.h>
#include <string.h>
#include "geo/geo_int.h"

int geo_read_cidr(struct geo_acc *acc, const char *path, struct diag *d)
{
	struct geo_lines l;
	char *f[3];
	int err;

	err = geo_lines_open(&l, path, d);
	if (err)
		return err;
	while ((err = geo_lines_fields(&l, f, 2, "PREFIX,CC", d)) > 0) {
		struct rp_prefix p;
		uint16_t cc;

		if (prefix_parse(f[0], &p)) {
			err = geo_lines_err(&l, d, "'%s' is not a prefix", f[0]);
			break;
		}
		if (geo_cc_parse(f[1], &cc)) {
			err = geo_lines_err(&l, d, "'%s' is not a country code (two letters, or ?\?)", f[1]);
			break;
		}
		err = geo_acc_add_prefix(acc, &p, cc);
		if (err) {
			geo_lines_err(&l, d, "%s", strerror(-err));
			break;
		}
	}
	geo_lines_close(&l);
	return err < 0 ? err : 0;
}
