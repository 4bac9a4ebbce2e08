// SPDX-License-Identifier: GPL-2.0
/* test_geo.c — the geo readers: malformed lines are errors naming file and
 * line (the exact messages), the overlap rule, country codes, the CSV's
 * registered_country fallback, and mmdb answers equal to libmaxminddb's on
 * a database written by tests/geo_mmdb_writer.h.
 *
 * Usage: test_geo [TESTDATA_DIR]   (default tests/geo) */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <maxminddb.h>
#include "config/country.h"
#include "geo/geo.h"
#include "geo/geo_int.h"
#include "geo_mmdb_writer.h"
#include "tap.h"
#include "xorshift.h"

static char tmpdir[] = "/tmp/geo-unit-XXXXXX";

static const char *put(const char *name, const char *text)
{
	static char path[8][600];
	static int i;
	FILE *f;

	i = (i + 1) % 8;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tmpdir, name);
	f = fopen(path[i], "w");
	fputs(text, f);
	fclose(f);
	return path[i];
}

static int load(struct geo_db *db, const char *v4, const char *v6, enum rp_geo_format fmt,
		struct diag *d)
{
	struct rp_config cfg = { .geo_ipv4 = (char *)v4, .geo_ipv6 = (char *)v6, .geo_format = fmt };

	return geo_load(&cfg, db, d);
}

/* A broken file: the load fails and the one message is exactly want
 * ("%s" stands for the file's path). */
static void bad(const char *name, enum rp_geo_format fmt, const char *text, const char *want)
{
	struct geo_db db = { 0 };
	struct diag d = { 0 };
	const char *p = put(name, text);
	char exp[1200];
	int err;

	snprintf(exp, sizeof(exp), want, p, tmpdir);	/* second %s: the temporary directory */
	err = load(&db, p, NULL, fmt, &d);
	tap_result(err < 0 && d.n == 1 && !strcmp(d.msgs[0], exp) && !db.v4,
		   "%s: %s", name, d.n ? d.msgs[0] : "(no message)");
	if (!(err < 0 && d.n == 1 && !strcmp(d.msgs[0], exp)))
		printf("#   want: %s\n", exp);
	geo_free(&db);
	diag_free(&d);
}

static uint16_t cc_of(const char *s)
{
	uint16_t c;

	if (!strcmp(s, "--"))
		return RP_CC_NONE;
	if (geo_cc_parse(s, &c))
		abort();
	return c;
}

static uint16_t look(const struct geo_db *db, const char *ip)
{
	struct rp_addr a;

	if (addr_parse(ip, &a))
		abort();
	return geo_lookup(db, &a);
}

static void expect(const struct geo_db *db, const char *name, const char *ip, const char *cc)
{
	char got[3];

	cc_format(look(db, ip), got);
	tap_result(look(db, ip) == cc_of(cc), "%s: %s is %s (got %s)", name, ip, cc, got);
}

static void malformed(void)
{
	bad("tor-fields", RP_GEO_TOR, "# ok\n16777216,16777471,AU\n16777472,16778239\n",
	    "%s:3: expected LOW,HIGH,CC, got 2 fields");
	bad("tor-number", RP_GEO_TOR, "16777216,1677x471,AU\n",
	    "%s:1: '1677x471' is not an address or a 32-bit integer");
	bad("tor-too-big", RP_GEO_TOR, "0,4294967296,AU\n",
	    "%s:1: '4294967296' is not an address or a 32-bit integer");
	bad("tor-cc", RP_GEO_TOR, "\n\n16777216,16777471,AUS\n",
	    "%s:3: 'AUS' is not a country code (two letters, or ?\?)");
	bad("tor-cc-digit", RP_GEO_TOR, "16777216,16777471,A1\n",
	    "%s:1: 'A1' is not a country code (two letters, or ?\?)");
	bad("tor-reversed", RP_GEO_TOR, "16777471,16777216,AU\n",
	    "%s:1: range 16777471..16777216 is reversed (low > high)");
	bad("tor-families", RP_GEO_TOR, "1.2.3.4,2001:db8::1,AU\n",
	    "%s:1: range 1.2.3.4..2001:db8::1 is of two families");
	bad("tor6-bad", RP_GEO_TOR, "2001:db8::,2001:db8::g,FR\n",
	    "%s:1: '2001:db8::g' is not an address or a 32-bit integer");
	bad("cidr-prefix", RP_GEO_CIDR, "10.0.0.0/8,FR\n10.0.0.0/33,FR\n",
	    "%s:2: '10.0.0.0/33' is not a prefix");
	bad("cidr-fields", RP_GEO_CIDR, "10.0.0.0/8,FR,extra\n",
	    "%s:1: expected PREFIX,CC, got 3 fields");
	bad("cidr-cc", RP_GEO_CIDR, "10.0.0.0/8,F\n",
	    "%s:1: 'F' is not a country code (two letters, or ?\?)");
	bad("cidr-v6", RP_GEO_CIDR, "2001:db8::/129,FR\n", "%s:1: '2001:db8::/129' is not a prefix");

	/* maxmind-csv: a directory of its own, for the locations file. */
	char sub[600];

	snprintf(sub, sizeof(sub), "%s/mm", tmpdir);
	mkdir(sub, 0755);
	put("mm/GeoLite2-Country-Locations-en.csv",
	    "geoname_id,locale_code,continent_code,continent_name,country_iso_code,country_name,is_in_european_union\n"
	    "3017382,en,EU,Europe,FR,France,1\n");
	bad("mm/blocks-unknown-id.csv", RP_GEO_MAXMIND_CSV,
	    "network,geoname_id,registered_country_geoname_id\n1.0.0.0/24,3017382,\n1.0.1.0/24,42,42\n",
	    "%s:3: geoname_id 42 is not in %s/mm/GeoLite2-Country-Locations-en.csv");
	bad("mm/blocks-net.csv", RP_GEO_MAXMIND_CSV,
	    "network,geoname_id,registered_country_geoname_id\n1.0.0.0,3017382,\n",
	    "%s:2: network '1.0.0.0' is not a prefix");
	bad("mm/blocks-header.csv", RP_GEO_MAXMIND_CSV, "net,geoname_id\n1.0.0.0/24,3017382\n",
	    "%s:1: header lacks network, geoname_id or registered_country_geoname_id");
	snprintf(sub, sizeof(sub), "%s/nolocs", tmpdir);
	mkdir(sub, 0755);
	bad("nolocs/blocks.csv", RP_GEO_MAXMIND_CSV, "network,geoname_id,registered_country_geoname_id\n",
	    "%s: no locations file beside it (GeoLite2-Country-Locations-en.csv or *Locations-en.csv in "
	    "%s/nolocs)");
	bad("not-an-mmdb", RP_GEO_MMDB, "hello\n",
	    "%s: cannot open as a MaxMind DB: The MaxMind DB file contains invalid metadata");
}

static void rules(const char *dir)
{
	struct geo_db db = { 0 };
	struct diag d = { 0 };
	char v4[600], v6[600];
	int err;

	/* Tor test data: unsorted, overlapping, adjacent, ?? and EU/AP. */
	snprintf(v4, sizeof(v4), "%s/tor-geoip", dir);
	snprintf(v6, sizeof(v6), "%s/tor-geoip6", dir);
	err = load(&db, v4, v6, RP_GEO_TOR, &d);
	tap_result(!err, "tor test data loads");
	diag_print(&d, stdout);
	expect(&db, "tor", "1.0.0.0", "AU");
	expect(&db, "tor", "1.0.7.255", "AU");
	expect(&db, "tor", "1.0.15.255", "AU");
	expect(&db, "tor", "1.0.16.0", "--");
	expect(&db, "tor", "1.2.3.4", "DE");	/* narrower wins */
	expect(&db, "tor", "1.2.2.255", "FR");
	expect(&db, "tor", "1.2.4.0", "FR");
	/* Region and retired codes are no country (the fence's `unknown`
	 * decides), UK is GB. */
	expect(&db, "tor", "10.200.0.1", "--");
	expect(&db, "tor", "11.0.0.255", "--");
	expect(&db, "tor", "192.168.0.9", "GB");
	expect(&db, "tor", "192.168.2.9", "--");
	expect(&db, "tor", "192.0.2.1", "--");
	expect(&db, "tor", "0.0.0.0", "US");
	expect(&db, "tor", "255.255.255.255", "NZ");
	expect(&db, "tor", "2001:200:134:ffff::1", "JP");
	expect(&db, "tor", "2001::1", "--");
	expect(&db, "tor", "2a00:1:2:3:4::1", "CH");	/* narrower, not /64 aligned */
	expect(&db, "tor", "2a00:1:2:3:3:ffff:ffff:ffff", "GB");
	expect(&db, "tor", "2a00:1:2:3:5::", "GB");
	expect(&db, "tor", "::", "--");
	expect(&db, "tor", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "AQ");
	/* 1.0.0.0/24 AU and 1.0.4.0/22 AU are not adjacent (CN between);
	 * 1.0.4.0-1.0.7.255 AU and 1.0.8.0-1.0.15.255 AU are: one range. */
	bool merged = false;

	for (size_t i = 0; i < db.n4; i++)
		if (db.v4[i].lo == 16778240 && db.v4[i].hi == 16781311)
			merged = true;
	tap_result(merged, "tor: adjacent ranges of one country are merged");
	bool sorted = true;

	for (size_t i = 1; i < db.n4; i++)
		sorted &= db.v4[i].lo > db.v4[i - 1].hi;
	for (size_t i = 1; i < db.n6; i++)
		sorted &= db.v6[i].lo > db.v6[i - 1].hi;
	tap_result(sorted, "tor: ranges sorted and disjoint");
	geo_free(&db);
	diag_free(&d);

	/* Same size, later line wins, whatever the order of the lines. */
	err = load(&db, put("dup-a", "16777216,16777471,AU\n16777216,16777471,NZ\n"), NULL, RP_GEO_TOR, &d);
	tap_result(!err && look(&db, "1.0.0.1") == cc_of("NZ"), "same range twice: the later line wins");
	geo_free(&db);

	/* Every format reads codes alike: a region code is no country, so a
	 * narrower EU prefix is a hole in FR, as "??" is; uk is GB. */
	err = load(&db, put("eu-cidr", "10.0.0.0/8,FR\n10.9.0.0/16,eu\n10.10.0.0/16,uk\n"
			    "2001:db8::/32,AP\n"), NULL, RP_GEO_CIDR, &d);
	tap_result(!err, "cidr with region codes loads");
	expect(&db, "eu-cidr", "10.8.0.1", "FR");
	expect(&db, "eu-cidr", "10.9.0.1", "--");
	expect(&db, "eu-cidr", "10.10.0.1", "GB");
	expect(&db, "eu-cidr", "2001:db8::1", "--");
	geo_free(&db);

	/* CIDR: longest prefix wins, ?? punches a hole, lower case codes. */
	snprintf(v4, sizeof(v4), "%s/cidr.txt", dir);
	err = load(&db, v4, NULL, RP_GEO_CIDR, &d);
	tap_result(!err, "cidr test data loads");
	expect(&db, "cidr", "10.0.0.1", "US");
	expect(&db, "cidr", "10.1.0.1", "FR");
	expect(&db, "cidr", "10.1.2.1", "--");
	expect(&db, "cidr", "10.1.2.200", "DE");
	expect(&db, "cidr", "192.0.2.1", "GB");
	expect(&db, "cidr", "192.0.2.2", "IT");
	expect(&db, "cidr", "127.0.0.1", "BR");
	expect(&db, "cidr", "200.0.0.1", "--");
	expect(&db, "cidr", "2001:db8::5", "FR");
	expect(&db, "cidr", "2001:db8:0:1::5", "DE");
	expect(&db, "cidr", "2001:db8:0:1:8000::2", "JP");
	expect(&db, "cidr", "2001:db8:0:1:8000::1", "--");
	expect(&db, "cidr", "fe80::1", "ZA");
	geo_free(&db);

	/* maxmind-csv: registered_country when geoname_id is empty; a
	 * continent is no country; both empty is no country. */
	snprintf(v4, sizeof(v4), "%s/GeoLite2-Country-Blocks-IPv4.csv", dir);
	snprintf(v6, sizeof(v6), "%s/GeoLite2-Country-Blocks-IPv6.csv", dir);
	err = load(&db, v4, v6, RP_GEO_MAXMIND_CSV, &d);
	tap_result(!err, "maxmind-csv test data loads");
	diag_print(&d, stdout);
	expect(&db, "maxmind-csv", "1.0.0.1", "FR");
	expect(&db, "maxmind-csv", "1.0.1.1", "DE");	/* registered */
	expect(&db, "maxmind-csv", "1.0.2.1", "--");	/* continent */
	expect(&db, "maxmind-csv", "1.0.5.1", "US");	/* geoname_id first */
	expect(&db, "maxmind-csv", "1.0.9.1", "--");
	expect(&db, "maxmind-csv", "2.200.0.1", "GB");
	expect(&db, "maxmind-csv", "2001:200::1", "JP");
	expect(&db, "maxmind-csv", "2001:db8::1", "FR");
	expect(&db, "maxmind-csv", "2a00:1::1", "--");
	expect(&db, "maxmind-csv", "2a01::1", "GB");
	geo_free(&db);
	diag_free(&d);

	err = load(&db, NULL, NULL, RP_GEO_TOR, &d);
	tap_result(err && d.n == 1, "no file configured: %s", d.n ? d.msgs[0] : "?");
	diag_free(&d);
	err = load(&db, "/nonexistent/geoip", NULL, RP_GEO_TOR, &d);
	tap_result(err == -ENOENT && d.n == 1 && !strcmp(d.msgs[0], "/nonexistent/geoip: cannot open: No such file or directory"),
		   "missing file: %s", d.n ? d.msgs[0] : "?");
	diag_free(&d);
}

/* libmaxminddb's answer, with the same rule: country, else registered. */
static uint16_t mmdb_answer(MMDB_s *m, const struct rp_addr *a)
{
	static const char *const paths[2][3] = { { "country", "iso_code", NULL },
						 { "registered_country", "iso_code", NULL } };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	MMDB_lookup_result_s r;
	MMDB_entry_data_s v;
	int err;

	if (a->family == AF_INET) {
		memcpy(&s4.sin_addr, a->addr, 4);
		r = MMDB_lookup_sockaddr(m, (struct sockaddr *)&s4, &err);
	} else {
		memcpy(&s6.sin6_addr, a->addr, 16);
		r = MMDB_lookup_sockaddr(m, (struct sockaddr *)&s6, &err);
	}
	if (err != MMDB_SUCCESS || !r.found_entry)
		return RP_CC_NONE;
	for (int p = 0; p < 2; p++) {
		char code[3];
		uint16_t cc;

		if (MMDB_aget_value(&r.entry, &v, paths[p]) != MMDB_SUCCESS || !v.has_data ||
		    v.type != MMDB_DATA_TYPE_UTF8_STRING || v.data_size != 2)
			continue;
		memcpy(code, v.utf8_string, 2);
		code[2] = 0;
		return geo_cc_parse(code, &cc) ? 0xdead : cc;
	}
	return RP_CC_NONE;
}

static void mmdb(void)
{
	char path[600];
	struct geo_db db = { 0 };
	struct diag d = { 0 };
	uint64_t rng = 12345;
	unsigned bad = 0, n = 0;
	MMDB_s m;
	int fd;

	snprintf(path, sizeof(path), "%s/test.mmdb", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	tap_result(fd >= 0 && !mmdb_write_test_db(fd), "mmdb: write a test database");
	close(fd);
	if (MMDB_open(path, MMDB_MODE_MMAP, &m) != MMDB_SUCCESS) {
		tap_result(0, "mmdb: libmaxminddb opens the test database");
		return;
	}
	if (load(&db, path, path, RP_GEO_MMDB, &d)) {
		tap_result(0, "mmdb: load");
		diag_print(&d, stdout);
		goto out;
	}
	expect(&db, "mmdb", "1.1.1.1", "FR");
	expect(&db, "mmdb", "1.2.4.1", "DE");
	expect(&db, "mmdb", "1.2.3.4", "IT");	/* registered_country only */
	expect(&db, "mmdb", "10.1.1.1", "--");	/* record without country */
	expect(&db, "mmdb", "192.0.2.1", "US");	/* country over registered */
	expect(&db, "mmdb", "2a00:1:2:3:4::1", "CH");
	/* Random addresses and every boundary against libmaxminddb. */
	for (int fam = 0; fam < 2; fam++) {
		size_t nr = fam ? db.n6 : db.n4;

		for (unsigned i = 0; i < 20000 + 4 * nr; i++) {
			struct rp_addr a;
			u128 v;

			if (i < 20000) {
				xorshift64(&rng);
				v = ((u128)rng << 64) | (rng * 0x9e3779b97f4a7c15ULL);
				if (fam && i % 2)
					v = ((u128)1 << 125) | (v >> 4);	/* 2000::/4 */
				if (!fam)
					v &= UINT32_MAX;
			} else {
				size_t r = (i - 20000) / 4;
				u128 lo = fam ? db.v6[r].lo : db.v4[r].lo, hi = fam ? db.v6[r].hi : db.v4[r].hi;

				v = (i % 4 == 0) ? lo : (i % 4 == 1) ? hi : (i % 4 == 2) ? lo - 1 : hi + 1;
				if (!fam)
					v &= UINT32_MAX;
			}
			geo_u128_to_addr(fam ? AF_INET6 : AF_INET, v, &a);
			n++;
			if (geo_lookup(&db, &a) != mmdb_answer(&m, &a) && bad++ < 5) {
				char s[64];

				addr_format(&a, s, sizeof(s));
				printf("# mmdb: %s: geo %u, libmaxminddb %u\n", s, geo_lookup(&db, &a),
				       mmdb_answer(&m, &a));
			}
		}
	}
	tap_result(!bad && n > 40000, "mmdb: %u addresses (random, and lo/hi/lo-1/hi+1 of every range): geo_lookup == libmaxminddb (%u differ)",
		   n, bad);
	/* IPv4 in an IPv6 tree lives under ::/96, as libmaxminddb looks it up. */
	tap_result(look(&db, "::1.1.1.1") == look(&db, "1.1.1.1"),
		   "mmdb: ::1.1.1.1 in the IPv6 tree is 1.1.1.1's country");
out:
	MMDB_close(&m);
	geo_free(&db);
	diag_free(&d);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/geo";

	if (!mkdtemp(tmpdir)) {
		tap_result(0, "mkdtemp");
		tap_exit();
	}
	malformed();
	rules(dir);
	mmdb();
	{
		char cmd[700];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			printf("# could not remove %s\n", tmpdir);
	}
	tap_exit();
}
