/* geo.h — country databases (docs/geo.md) in memory: sorted, merged,
 * non-overlapping ranges per family, and an exact lookup.  The BPF lookup
 * structure is built from these ranges (geo_bpf.h, docs/geo.md). */
#ifndef REMPART_GEO_H
#define REMPART_GEO_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "config/config.h"
#include "lib/addr.h"
#include "lib/diag.h"

struct geo_range4 { uint32_t lo, hi; uint16_t cc; };		/* host order, inclusive */
struct geo_range6 { unsigned __int128 lo, hi; uint16_t cc; };	/* host order, inclusive */

struct geo_db {
	struct geo_range4 *v4; size_t n4;	/* sorted by lo, disjoint, adjacent same-cc merged */
	struct geo_range6 *v6; size_t n6;
	char *source_v4, *source_v6;		/* file names as loaded */
	enum rp_geo_format format;
	time_t loaded_at;
};

/* Overlapping input: the narrowest range wins, then the one read last (see
 * geo.c).  "??" or an empty code means no country (RP_CC_NONE).
 * Load the files of cfg's [geo] section.  0, or -errno with one line per
 * error (file and line) in *d; *db is untouched on failure. */
int geo_load(const struct rp_config *cfg, struct geo_db *db, struct diag *d);
/* Load one file of a given format into db (both families may appear). */
int geo_load_file(struct geo_db *db, const char *path, enum rp_geo_format fmt,
		  int family_hint, struct diag *d);
void geo_free(struct geo_db *db);
uint16_t geo_lookup(const struct geo_db *db, const struct rp_addr *a);	/* RP_CC_NONE if none */
/* The same on host-order integers (binary search over the ranges). */
uint16_t geo_lookup4(const struct geo_db *db, uint32_t addr);
uint16_t geo_lookup6(const struct geo_db *db, unsigned __int128 addr);
const char *geo_format_name(enum rp_geo_format fmt);	/* "tor", "cidr", "maxmind-csv", "mmdb" */
/* Parse a format name as written in [geo] format; 0 or -EINVAL. */
int geo_format_parse(const char *s, enum rp_geo_format *out);
#endif
