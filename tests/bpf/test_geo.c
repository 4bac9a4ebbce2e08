// SPDX-License-Identifier: GPL-2.0
/* test_geo.c — the BPF geo lookup (bpf/geo.h through bpf/geo_probe.bpf.c,
 * BPF_PROG_TEST_RUN) gives the database's answer.
 *
 * With the whole Tor database (/usr/share/tor/geoip, geoip6): 10,000 random
 * IPv4 and 10,000 random IPv6 addresses (half uniform, half inside ranges of
 * the file) and lo, hi, lo-1, hi+1 of 1,000 ranges per family are looked up
 * in BPF and compared with geo_lookup (a binary search over the loaded
 * ranges), itself checked against a naive scan of the file's lines on a
 * sample.  Then the same for each format's test data (tests/geo/), a live
 * swap, and a failed reload that must leave the running database alone.
 *
 * Usage: test_geo [TESTDATA_DIR]   (default tests/geo)
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "config/country.h"
#include "geo/geo.h"
#include "geo/geo_bpf.h"
#include "geo/geo_int.h"
#include "geo_mmdb_writer.h"
#include "geo_probe.h"
#include "tap.h"
#include "xorshift.h"

static const char *datadir = "tests/geo";

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd64(void)
{
	return xorshift64(&rng);
}

static u128 rnd_in(u128 lo, u128 hi)
{
	u128 span = hi - lo, r = ((u128)rnd64() << 64) | rnd64();

	return span == ~(u128)0 ? r : lo + r % (span + 1);
}

/* Compare BPF with geo_lookup (and the image lookup) for one address. */
static int check_one(struct geo_probe *skel, const struct geo_db *db, const struct geo_image *img,
		     int family, u128 v, unsigned *bad, const char *what)
{
	struct rp_addr a;
	int got;
	uint16_t want, img_cc;

	geo_u128_to_addr(family, v, &a);
	want = geo_lookup(db, &a);
	img_cc = geo_words_lookup(img->w, img->n, &a);
	got = probe_lookup(skel, &a);
	if (got != want || img_cc != want) {
		if ((*bad)++ < 5) {
			char s[64], w[3], g[3];

			addr_format(&a, s, sizeof(s));
			cc_format(want, w);
			cc_format(got < 0 ? RP_CC_NONE : (uint16_t)got, g);
			printf("# %s: %s: want %s, bpf %s (%d), image %u\n", what, s, w, g, got, img_cc);
		}
		return -1;
	}
	return 0;
}

/* Random and boundary addresses of db through BPF. */
static void compare_db(struct geo_probe *skel, const struct geo_db *db, const char *name,
		       unsigned n_random, unsigned n_bounds)
{
	struct geo_image img = { 0 };
	struct diag d = { 0 };
	unsigned bad, count;
	int err;

	err = geo_image_build(db, &img, &d);
	if (!err)
		err = geo_bpf_load(bpf_map__fd(skel->maps.rp_geo), db, &d);
	tap_result(!err, "%s: build and load into BPF (%zu v4 + %zu v6 ranges, %zu words)", name,
		   db->n4, db->n6, img.n);
	if (err) {
		diag_print(&d, stdout);
		goto out;
	}
	for (int fam = 0; fam < 2; fam++) {
		int family = fam ? AF_INET6 : AF_INET;
		size_t nr = fam ? db->n6 : db->n4;
		u128 max = fam ? ~(u128)0 : UINT32_MAX;

		bad = count = 0;
		for (unsigned i = 0; i < n_random; i++, count++) {
			u128 v;

			if (i % 2 == 0 || !nr) {
				v = rnd_in(0, max);
				if (fam && i % 4 == 1)	/* uniform v6 is mostly empty: 2000::/3 too */
					v = ((u128)1 << 125) | (v >> 3);
			} else {
				size_t r = rnd64() % nr;

				v = fam ? rnd_in(db->v6[r].lo, db->v6[r].hi) :
					  rnd_in(db->v4[r].lo, db->v4[r].hi);
			}
			check_one(skel, db, &img, family, v, &bad, name);
		}
		tap_result(!bad, "%s: %u random IPv%d addresses: BPF == binary search (%u differ)",
			   name, count, fam ? 6 : 4, bad);
		bad = count = 0;
		for (unsigned i = 0; i < n_bounds && nr; i++) {
			size_t r = n_bounds >= nr ? i % nr : rnd64() % nr;
			u128 lo = fam ? db->v6[r].lo : db->v4[r].lo;
			u128 hi = fam ? db->v6[r].hi : db->v4[r].hi;

			if (n_bounds >= nr && i >= nr)
				break;
			check_one(skel, db, &img, family, lo, &bad, name);
			check_one(skel, db, &img, family, hi, &bad, name);
			count += 2;
			if (lo > 0) {
				check_one(skel, db, &img, family, lo - 1, &bad, name);
				count++;
			}
			if (hi < max) {
				check_one(skel, db, &img, family, hi + 1, &bad, name);
				count++;
			}
		}
		tap_result(!bad, "%s: %u IPv%d range boundaries (lo, hi, lo-1, hi+1): BPF == binary search (%u differ)",
			   name, count, fam ? 6 : 4, bad);
	}
out:
	geo_image_free(&img);
	diag_free(&d);
}

/* Naive: scan the file's lines (first range containing v), as written. */
struct naive { struct geo_acc acc; };

static void naive_check(const struct geo_db *db, const char *path, int family, unsigned samples)
{
	struct geo_acc a = { 0 };
	struct diag d = { 0 };
	unsigned bad = 0;

	if (geo_read_tor(&a, path, family, &d)) {
		tap_result(0, "naive scan: read %s", path);
		diag_print(&d, stdout);
		goto out;
	}
	struct geo_rawvec *v = family == AF_INET ? &a.v4 : &a.v6;

	for (unsigned i = 0; i < samples && v->n; i++) {
		const struct geo_raw *r = &v->v[rnd64() % v->n];
		u128 x = i % 3 == 0 ? r->lo : i % 3 == 1 ? r->hi : rnd_in(r->lo, r->hi);
		uint16_t want = RP_CC_NONE, got;
		struct rp_addr ad;

		if (i % 5 == 4)
			x = rnd_in(0, family == AF_INET ? UINT32_MAX : ~(u128)0);
		for (size_t k = 0; k < v->n; k++)
			if (v->v[k].lo <= x && x <= v->v[k].hi) {
				want = v->v[k].cc;
				break;
			}
		geo_u128_to_addr(family, x, &ad);
		got = geo_lookup(db, &ad);
		if (got != want)
			bad++;
	}
	tap_result(!bad, "%s: geo_lookup == naive scan of the file on %u addresses (%u differ)", path,
		   samples, bad);
out:
	geo_acc_free(&a);
	diag_free(&d);
}

/* Every IPv6 range with a bound inside a /64 (where the high 64 bits alone
 * cannot decide): lo, hi, lo-1, hi+1 through BPF. */
static void unaligned6(struct geo_probe *skel, const struct geo_db *db)
{
	struct geo_image img = { 0 };
	struct diag d = { 0 };
	unsigned bad = 0, count = 0, ranges = 0;
	const u128 m64 = ((u128)1 << 64) - 1;

	if (geo_image_build(db, &img, &d)) {
		tap_result(0, "tor: build the image");
		return;
	}
	for (size_t i = 0; i < db->n6; i++) {
		u128 lo = db->v6[i].lo, hi = db->v6[i].hi;

		if (!(lo & m64) && (hi & m64) == m64)
			continue;
		ranges++;
		check_one(skel, db, &img, AF_INET6, lo, &bad, "tor-unaligned");
		check_one(skel, db, &img, AF_INET6, hi, &bad, "tor-unaligned");
		check_one(skel, db, &img, AF_INET6, lo - 1, &bad, "tor-unaligned");
		check_one(skel, db, &img, AF_INET6, hi + 1, &bad, "tor-unaligned");
		count += 4;
	}
	tap_result(!bad && ranges > 0, "tor: all %u IPv6 ranges with a bound inside a /64: %u boundaries, BPF == binary search (%u differ)",
		   ranges, count, bad);
	geo_image_free(&img);
	diag_free(&d);
}

static int load_cfg(struct geo_db *db, const char *v4, const char *v6, enum rp_geo_format fmt,
		    struct diag *d)
{
	struct rp_config cfg = { .geo_ipv4 = (char *)v4, .geo_ipv6 = (char *)v6, .geo_format = fmt };

	return geo_load(&cfg, db, d);
}

static char *path(const char *name)
{
	static char buf[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", datadir, name);
	return buf[i];
}

static void tor_full(struct geo_probe *skel)
{
	struct geo_db db = { 0 };
	struct diag d = { 0 };
	struct timespec t0, t1;

	if (access("/usr/share/tor/geoip", R_OK) || access("/usr/share/tor/geoip6", R_OK)) {
		tap_skip("tor: /usr/share/tor/geoip{,6} missing (package tor-geoipdb)");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (load_cfg(&db, "/usr/share/tor/geoip", "/usr/share/tor/geoip6", RP_GEO_TOR, &d)) {
		tap_result(0, "tor: load the whole database");
		diag_print(&d, stdout);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	tap_result(db.n4 > 100000 && db.n6 > 100000, "tor: whole database loaded: %zu v4, %zu v6 ranges in %.0f ms",
		   db.n4, db.n6, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	naive_check(&db, "/usr/share/tor/geoip", AF_INET, 300);
	naive_check(&db, "/usr/share/tor/geoip6", AF_INET6, 300);
	compare_db(skel, &db, "tor", 10000, 1000);
	unaligned6(skel, &db);
out:
	geo_free(&db);
	diag_free(&d);
}

static void formats(struct geo_probe *skel)
{
	static const struct { const char *name, *v4, *v6; enum rp_geo_format fmt; } f[] = {
		{ "tor-small", "tor-geoip", "tor-geoip6", RP_GEO_TOR },
		{ "cidr", "cidr.txt", NULL, RP_GEO_CIDR },
		{ "maxmind-csv", "GeoLite2-Country-Blocks-IPv4.csv", "GeoLite2-Country-Blocks-IPv6.csv",
		  RP_GEO_MAXMIND_CSV },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		struct geo_db db = { 0 };
		struct diag d = { 0 };

		if (load_cfg(&db, path(f[i].v4), f[i].v6 ? path(f[i].v6) : NULL, f[i].fmt, &d)) {
			tap_result(0, "%s: load test data", f[i].name);
			diag_print(&d, stdout);
		} else {
			compare_db(skel, &db, f[i].name, 2000, 100000);
		}
		geo_free(&db);
		diag_free(&d);
	}
}

static void mmdb(struct geo_probe *skel)
{
	char tmp[] = "/tmp/geo-test-XXXXXX.mmdb";
	struct geo_db db = { 0 };
	struct diag d = { 0 };
	int fd = mkstemps(tmp, 5);

	if (fd < 0 || mmdb_write_test_db(fd)) {
		tap_result(0, "mmdb: write the test database");
		goto out;
	}
	if (load_cfg(&db, tmp, tmp, RP_GEO_MMDB, &d)) {
		tap_result(0, "mmdb: load the test database");
		diag_print(&d, stdout);
		goto out;
	}
	compare_db(skel, &db, "mmdb", 2000, 100000);
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	geo_free(&db);
	diag_free(&d);
}

/* The IPv6 B-tree's corners, in a Tor-format file the test writes: a /16 of
 * ~50,000 intervals (6 levels), /64s with boundaries inside (the first and
 * the last /64 of the /16, two adjacent ones, one whose last interval runs
 * into the next /64, ranges crossing a /64 boundary), a /16 whose only
 * boundaries are inside one /64, region codes; every boundary checked. */
static void fmt6(char *buf, size_t len, u128 v)
{
	struct rp_addr a;

	geo_u128_to_addr(AF_INET6, v, &a);
	addr_format(&a, buf, len);
}

static void line6(FILE *f, u128 lo, u128 hi, const char *cc)
{
	char a[64], b[64];

	fmt6(a, sizeof(a), lo);
	fmt6(b, sizeof(b), hi);
	fprintf(f, "%s,%s,%s\n", a, b, cc);
}

static void synthetic6(struct geo_probe *skel)
{
	static const char *ccs[] = { "DE", "IT", "ES", "??", "EU", "FR", "NL", "uk" };
	char tmp[] = "/tmp/geo-test6-XXXXXX";
	u128 p16 = (u128)0x2a10 << 112, one64 = (u128)1 << 64;
	struct geo_db db = { 0 };
	struct diag d = { 0 };
	int fd = mkstemp(tmp);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f) {
		tap_result(0, "synthetic6: write the test database");
		if (fd >= 0)
			close(fd);
		goto out;
	}
	line6(f, p16, p16 | (((u128)1 << 112) - 1), "FR");
	for (int i = 0; i < 25000; i++) {	/* /48s: ~50,000 intervals */
		u128 lo = p16 | (u128)(rnd64() & 0xffffffffULL) << 80;

		line6(f, lo, lo | (((u128)1 << 80) - 1), ccs[i % 8]);
	}
	for (int i = 0; i < 300; i++) {		/* /64s with boundaries inside */
		u128 x = p16 | (u128)(rnd64() & 0xffffffffffffULL) << 64;
		int k = 1 + rnd64() % 12;

		if (i == 0)
			x = p16;			/* the /16's first /64 */
		if (i == 1)
			x = p16 | (((u128)1 << 112) - one64);	/* its last */
		if (i == 2 || i == 3)
			x = p16 | (u128)0x123456789aULL << 64 | (u128)(i - 2) << 64;	/* adjacent */
		for (int j = 0; j < k; j++) {
			u128 lo = x | (rnd64() & ~0xffULL), hi = lo + (rnd64() & 0xffffffff);

			if (hi < lo || hi >> 64 != x >> 64)
				hi = x | (one64 - 1);	/* runs to the end of the /64 */
			line6(f, lo, hi, ccs[(i + j) % 8]);
		}
		if (i % 10 == 4)		/* crossing into the next /64 */
			line6(f, x | 0x8000000000000000ULL, (x + one64) | 0x7fffffffULL, "SE");
	}
	/* a /16 whose boundaries are all inside one /64 */
	line6(f, ((u128)0x2b00 << 112) | 5, ((u128)0x2b00 << 112) | 9, "JP");
	line6(f, ((u128)0x2b00 << 112) | 0x100, ((u128)0x2b00 << 112) | 0x1ff, "AP");
	line6(f, ((u128)0x2b00 << 112) | 0x200, ((u128)0x2b00 << 112) | 0x2ff, "KR");
	fclose(f);
	if (load_cfg(&db, NULL, tmp, RP_GEO_TOR, &d)) {
		tap_result(0, "synthetic6: load the test database");
		diag_print(&d, stdout);
		goto out;
	}
	compare_db(skel, &db, "synthetic6", 20000, 1000000);
out:
	unlink(tmp);
	geo_free(&db);
	diag_free(&d);
}

/* A database swapped in is answered at once; a failed load keeps the old. */
static void swap(struct geo_probe *skel)
{
	struct geo_db a = { 0 }, b = { 0 };
	struct diag d = { 0 };
	struct rp_addr x;
	int outer = bpf_map__fd(skel->maps.rp_geo), err;
	uint16_t fr, de;

	cc_parse("FR", &fr);
	cc_parse("DE", &de);
	addr_parse("203.0.113.7", &x);
	err = load_cfg(&a, path("swap-a.txt"), NULL, RP_GEO_CIDR, &d);
	err = err ?: load_cfg(&b, path("swap-b.txt"), NULL, RP_GEO_CIDR, &d);
	err = err ?: geo_bpf_load(outer, &a, &d);
	tap_result(!err && probe_lookup(skel, &x) == fr, "swap: database A answers FR");
	err = geo_bpf_load(outer, &b, &d);
	tap_result(!err && probe_lookup(skel, &x) == de, "swap: after one update database B answers DE");
	diag_free(&d);
	geo_free(&a);
	err = load_cfg(&a, path("bad-cidr.txt"), NULL, RP_GEO_CIDR, &d);
	tap_result(err && probe_lookup(skel, &x) == de,
		   "swap: a database that fails to load leaves the running one (%s)",
		   d.n ? d.msgs[0] : "no error?");
	geo_free(&a);
	geo_free(&b);
	diag_free(&d);
}

int main(int argc, char **argv)
{
	struct geo_probe *skel;
	struct rp_addr x;

	if (argc > 2 && !strcmp(argv[1], "--pin")) {	/* for test_cmd_geo.sh */
		char p[512];

		skel = geo_probe__open_and_load();
		snprintf(p, sizeof(p), "%s/%s", argv[2], RP_PIN_GEO);
		if (!skel || bpf_map__pin(skel->maps.rp_geo, p)) {
			fprintf(stderr, "test_geo: cannot pin rp_geo at %s: %s\n", p, strerror(errno));
			return 1;
		}
		geo_probe__destroy(skel);
		return 0;
	}
	if (argc > 1)
		datadir = argv[1];
	if (geteuid()) {
		tap_skip("test_geo: needs root for BPF");
		return 0;
	}
	skel = geo_probe__open_and_load();
	if (!skel) {
		tap_result(0, "load geo_probe.bpf.o: %s", strerror(errno));
		tap_exit();
	}
	addr_parse("8.8.8.8", &x);
	tap_result(probe_lookup(skel, &x) == RP_CC_NODB, "no database loaded: RP_CC_NODB");
	addr_parse("2001:db8::1", &x);
	tap_result(probe_lookup(skel, &x) == RP_CC_NODB, "no database loaded (IPv6): RP_CC_NODB");
	tor_full(skel);
	formats(skel);
	mmdb(skel);
	synthetic6(skel);
	swap(skel);
	geo_probe__destroy(skel);
	tap_exit();
}
