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
	int err, n;

	err = geo_lines_open(&l, path, d);
	if (err)
		return err;
	while ((err = geo_lines_next(&l, d)) > 0) {
		char *line = geo_trim(l.buf);
		struct rp_prefix p;
		uint16_t cc;

		if (!*line || *line == '#')
			continue;
		n = geo_split_csv(line, f, 2);
		if (n != 2) {
			diag_add(d, "%s:%lu: expected PREFIX,CC, got %d field%s", path, l.lineno, n,
				 n == 1 ? "" : "s");
			err = -EINVAL;
			break;
		}
		if (prefix_parse(f[0], &p)) {
			diag_add(d, "%s:%lu: '%s' is not a prefix", path, l.lineno, f[0]);
			err = -EINVAL;
			break;
		}
		if (geo_cc_parse(f[1], &cc)) {
			diag_add(d, "%s:%lu: '%s' is not a country code (two letters, or ?\?)", path,
				 l.lineno, f[1]);
			err = -EINVAL;
			break;
		}
		err = geo_acc_add_prefix(acc, &p, cc);
		if (err) {
			diag_add(d, "%s:%lu: %s", path, l.lineno, strerror(-err));
			break;
		}
	}
	geo_lines_close(&l);
	return err < 0 ? err : 0;
}
