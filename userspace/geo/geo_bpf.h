/* geo_bpf.h — the geo database in BPF maps (layout: rempart_abi.h, lookups:
 * bpf/geo.h).
 *
 * For the dataplane loader: the BPF object that includes bpf/geo.h has a map
 * `rp_geo` (ARRAY_OF_MAPS, one slot).  Pin it as RP_PIN_DIR "/" RP_PIN_GEO,
 * or reuse the pinned one before load (bpf_map__reuse_fd with
 * geo_bpf_open_pinned()), then, after load:
 *
 *	err = geo_bpf_load(bpf_map__fd(skel->maps.rp_geo), &db, &diag);
 *
 * geo_bpf_load builds the whole database as a new inner map beside the
 * running one and swaps it in with one map update: a packet sees the old
 * database or the new one, never a mix.  On failure the running one stays.
 * Until a database is loaded the programs get RP_CC_NODB (fail closed as
 * `unknown = deny` wants, or treat as the caller sees fit).
 */
#ifndef REMPART_GEO_BPF_H
#define REMPART_GEO_BPF_H
#include <stddef.h>
#include <stdint.h>
#include "geo/geo.h"
#include "lib/addrnum.h"

/* The database as the BPF programs see it: an array of 64-bit words. */
struct geo_image {
	uint64_t *w;
	size_t n;
};

int geo_image_build(const struct geo_db *db, struct geo_image *img, struct diag *d);
void geo_image_free(struct geo_image *img);
/* The BPF lookup algorithm, on words (an image, or a mapped BPF map). */
uint16_t geo_words_lookup(const uint64_t *w, size_t n, const struct rp_addr *a);
/* The same answers for every address of a family at once: maximal runs
 * [lo, hi] (addrnum.h numbers) covering the whole space in order, each with
 * the country geo_words_lookup gives (RP_CC_NONE: none).  -EPROTO when the
 * words are not laid out as the builder lays them out. */
struct geo_run {
	rp_u128 lo, hi;
	uint16_t cc;
};
int geo_words_runs(const uint64_t *w, size_t n, int family, struct geo_run **v, size_t *count);

/* Build db and swap it into the outer map `rp_geo` (fd).  0 or -errno, with
 * the reason in *d. */
int geo_bpf_load(int outer_fd, const struct geo_db *db, struct diag *d);
/* Swap an image already built (geo_bpf_load = build + this). */
int geo_bpf_swap(int outer_fd, const struct geo_image *img, struct diag *d);

/* The pinned rp_geo: an fd, or -errno (-ENOENT: no dataplane loaded).
 * The path is RP_PIN_DIR/RP_PIN_GEO; the environment variable
 * REMPART_PIN_DIR replaces RP_PIN_DIR (for tests). */
int geo_bpf_open_pinned(void);
const char *geo_bpf_pin_path(void);

/* The active database, mapped read-only, for `geo lookup` and `status`. */
struct geo_bpf_view {
	int fd;			/* the inner map */
	const uint64_t *w;	/* header: w[RP_GEO_H_*] */
	size_t n;
	size_t map_len;
};
/* 0, -ENOENT when no database is loaded, or -errno. */
int geo_bpf_view_open(int outer_fd, struct geo_bpf_view *v);
void geo_bpf_view_close(struct geo_bpf_view *v);

/* What `status` and `geo lookup` say about a loaded database (from an
 * image or a mapped view: geo_bpf_info(v.w, v.n, &info)). */
struct geo_bpf_info {
	uint64_t ranges_v4, ranges_v6;	/* entries = ranges_v4 + ranges_v6 */
	time_t loaded_at;
	enum rp_geo_format format;
	uint64_t hash;
	size_t bytes;			/* map size */
	char source_v4[RP_GEO_NAMES_BYTES], source_v6[RP_GEO_NAMES_BYTES];
};
int geo_bpf_info(const uint64_t *w, size_t n, struct geo_bpf_info *info);

/* FNV-1a 64 of db's ranges (the RP_GEO_H_HASH word). */
uint64_t geo_db_hash(const struct geo_db *db);
#endif
