// SPDX-License-Identifier: GPL-2.0
/* fuzz_geo.c — libFuzzer harness for the geo readers and the BPF lookup
 * image.
 *
 * The first input byte picks the format (tor, cidr, maxmind-csv with a
 * fixed locations file beside it, mmdb); the rest is the database file.
 * When it loads, the ranges must be sorted and disjoint, and the image the
 * BPF programs search must answer exactly as geo_lookup for every range's
 * lo, hi, lo-1, hi+1 (the BPF search mirrored in userspace): abort()
 * otherwise.  ASan/UBSan and the leak checker do the rest.
 * Build: make tests (build/fuzz/fuzz_geo); run: tests/fuzz/run.sh fuzz_geo. */
#include <fcntl.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "geo/geo.h"
#include "geo/geo_bpf.h"
#include "geo/geo_int.h"
#include "lib/fileutil.h"

static char dir[64], path[128];

static void write_file(const char *p, const uint8_t *data, size_t len)
{
	if (file_write_all(p, data, len, 0600))
		abort();
}

static void setup(void)
{
	static const char locs[] =
		"geoname_id,locale_code,continent_code,continent_name,country_iso_code,country_name,is_in_european_union\n"
		"1,en,EU,Europe,FR,France,1\n2,en,EU,Europe,DE,Germany,1\n3,en,EU,Europe,,,0\n";
	char p[160];

	snprintf(dir, sizeof(dir), "/tmp/rempart-fuzz-geo.%d", getpid());
	mkdir(dir, 0700);
	snprintf(p, sizeof(p), "%s/GeoLite2-Country-Locations-en.csv", dir);
	write_file(p, (const uint8_t *)locs, sizeof(locs) - 1);
	snprintf(path, sizeof(path), "%s/db", dir);
}

static void same(const struct geo_image *img, const struct geo_db *db, int family, u128 v)
{
	struct rp_addr a;

	geo_u128_to_addr(family, v, &a);
	if (geo_words_lookup(img->w, img->n, &a) != geo_lookup(db, &a))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct geo_image img = { 0 };
	struct geo_db db = { 0 };
	struct diag d = { 0 };

	if (!dir[0])
		setup();
	if (size < 1)
		return 0;
	write_file(path, data + 1, size - 1);
	if (geo_load_file(&db, path, (enum rp_geo_format)(data[0] % 4), AF_INET, &d))
		goto out;
	for (size_t i = 1; i < db.n4; i++)
		if (db.v4[i].lo <= db.v4[i - 1].hi)
			abort();
	for (size_t i = 1; i < db.n6; i++)
		if (db.v6[i].lo <= db.v6[i - 1].hi)
			abort();
	if (geo_image_build(&db, &img, &d))
		goto out;
	for (size_t i = 0; i < db.n4; i++) {
		same(&img, &db, AF_INET, db.v4[i].lo);
		same(&img, &db, AF_INET, db.v4[i].hi);
		same(&img, &db, AF_INET, (db.v4[i].lo - 1) & UINT32_MAX);
		same(&img, &db, AF_INET, (db.v4[i].hi + 1) & UINT32_MAX);
	}
	for (size_t i = 0; i < db.n6; i++) {
		same(&img, &db, AF_INET6, db.v6[i].lo);
		same(&img, &db, AF_INET6, db.v6[i].hi);
		same(&img, &db, AF_INET6, db.v6[i].lo - 1);
		same(&img, &db, AF_INET6, db.v6[i].hi + 1);
	}
out:
	geo_image_free(&img);
	geo_free(&db);
	diag_free(&d);
	return 0;
}
