// SPDX-License-Identifier: GPL-2.0
/* cmd_geo.c — `rempart geo lookup IP…` and `rempart geo reload`.
 *
 * lookup answers from the dataplane's pinned database (RP_PIN_DIR/rp_geo)
 * when one is loaded, with the same algorithm the BPF programs run, else
 * from the configured files (and says which).  reload reads the configured
 * files and swaps them into the pinned map at once; when they fail to load,
 * the running database stays and the exit code is 2. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "cli/commands.h"
#include "config/config.h"
#include "config/country.h"
#include "geo/geo.h"
#include "geo/geo_bpf.h"

static const char usage[] =
	"Usage: rempart geo lookup [--json] [--files] [--format F --ipv4 FILE --ipv6 FILE] IP…\n"
	"       rempart geo reload\n\n"
	"  lookup   the country of each address (\"--\" for none), from the database\n"
	"           the dataplane has loaded, else from the configured files\n"
	"  reload   load the configured database files into the running dataplane,\n"
	"           swapped in at once; on failure the running database stays\n\n"
	"  --json          machine-readable output\n"
	"  --files         answer from the configured files even if the dataplane runs\n"
	"  --format, --ipv4, --ipv6   answer from these files instead of the config's\n";

static void fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The answer source: the pinned view, or a database loaded from files. */
struct answer {
	bool from_maps;
	struct geo_bpf_view view;
	struct geo_db db;
	struct geo_bpf_info info;
};

static uint16_t answer_lookup(const struct answer *a, const struct rp_addr *x)
{
	return a->from_maps ? geo_words_lookup(a->view.w, a->view.n, x) : geo_lookup(&a->db, x);
}

static void print_text(const struct answer *a, struct rp_addr *addrs, char **argv, int n)
{
	const struct geo_bpf_info *i = &a->info;
	char when[32], cc[3];

	for (int k = 0; k < n; k++) {
		cc_format(answer_lookup(a, &addrs[k]), cc);
		printf("%-40s %s\n", argv[k], cc);
	}
	fmt_time(i->loaded_at, when, sizeof(when));
	printf("# database: %s", geo_format_name(i->format));
	if (i->source_v4[0])
		printf(" %s", i->source_v4);
	if (i->source_v6[0] && strcmp(i->source_v6, i->source_v4))
		printf("%s %s", i->source_v4[0] ? "," : "", i->source_v6);
	printf(" (%llu IPv4 + %llu IPv6 ranges), loaded %s, %s (%s)\n",
	       (unsigned long long)i->ranges_v4, (unsigned long long)i->ranges_v6, when,
	       a->from_maps ? "answered from the dataplane maps" : "answered from the files",
	       a->from_maps ? geo_bpf_pin_path() : "no database in the dataplane");
}

static void print_json(const struct answer *a, struct rp_addr *addrs, char **argv, int n)
{
	const struct geo_bpf_info *i = &a->info;
	struct json_object *o = json_object_new_object(), *db = json_object_new_object();
	struct json_object *res = json_object_new_array();
	char hash[24], cc[3];

	json_object_object_add(o, "source", json_object_new_string(a->from_maps ? "dataplane" : "files"));
	json_object_object_add(db, "format", json_object_new_string(geo_format_name(i->format)));
	json_object_object_add(db, "ipv4", i->source_v4[0] ? json_object_new_string(i->source_v4) : NULL);
	json_object_object_add(db, "ipv6", i->source_v6[0] ? json_object_new_string(i->source_v6) : NULL);
	json_object_object_add(db, "entries", json_object_new_int64(i->ranges_v4 + i->ranges_v6));
	json_object_object_add(db, "ranges_v4", json_object_new_int64(i->ranges_v4));
	json_object_object_add(db, "ranges_v6", json_object_new_int64(i->ranges_v6));
	json_object_object_add(db, "loaded_at", json_object_new_int64(i->loaded_at));
	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)i->hash);
	json_object_object_add(db, "hash", json_object_new_string(hash));
	json_object_object_add(o, "database", db);
	for (int k = 0; k < n; k++) {
		struct json_object *r = json_object_new_object();
		uint16_t c = answer_lookup(a, &addrs[k]);

		cc_format(c, cc);
		json_object_object_add(r, "address", json_object_new_string(argv[k]));
		json_object_object_add(r, "country", c < RP_CC_COUNT ? json_object_new_string(cc) : NULL);
		json_object_array_add(res, r);
	}
	json_object_object_add(o, "results", res);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* Load the files into a->db, and a->info as the maps would say it. */
static int answer_from_files(struct answer *a, const struct rp_config *cfg)
{
	struct geo_image img = { 0 };
	struct diag d = { 0 };
	int err;

	err = geo_load(cfg, &a->db, &d);
	if (err) {
		diag_print(&d, stderr);
		fprintf(stderr, "rempart: geo: cannot load the database: %s\n", strerror(-err));
		goto out;
	}
	err = geo_image_build(&a->db, &img, &d);
	if (!err)
		err = geo_bpf_info(img.w, img.n, &a->info);
	if (err) {
		diag_print(&d, stderr);
		fprintf(stderr, "rempart: geo: cannot build the lookup structure: %s\n", strerror(-err));
	}
out:
	geo_image_free(&img);
	diag_free(&d);
	return err;
}

static int geo_lookup_cmd(int argc, char **argv, const struct globals *g)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "files", no_argument, NULL, 'f' },
		{ "format", required_argument, NULL, 'F' },
		{ "ipv4", required_argument, NULL, '4' },
		{ "ipv6", required_argument, NULL, '6' },
		{ 0 }
	};
	struct rp_config cfg = { 0 }, own = { 0 };
	struct answer a = { .view.fd = -1 };
	bool json = false, files = false, have_cfg = false;
	struct rp_addr *addrs = NULL;
	int c, n, ret = RP_EXIT_OK, outer;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'f': files = true; break;
		case 'F':
			if (geo_format_parse(optarg, &own.geo_format)) {
				fprintf(stderr, "rempart: geo lookup: --format '%s': not tor, cidr, maxmind-csv or mmdb\n",
					optarg);
				return RP_EXIT_CONFIG;
			}
			break;
		case '4': own.geo_ipv4 = optarg; break;
		case '6': own.geo_ipv6 = optarg; break;
		default:
			fputs(usage, stderr);
			return RP_EXIT_CONFIG;
		}
	}
	n = argc - optind;
	if (n < 1) {
		fprintf(stderr, "rempart: geo lookup: no address given (try --help)\n");
		return RP_EXIT_CONFIG;
	}
	addrs = calloc(n, sizeof(*addrs));
	if (!addrs)
		return RP_EXIT_RUNTIME;
	for (int k = 0; k < n; k++)
		if (addr_parse(argv[optind + k], &addrs[k])) {
			fprintf(stderr, "rempart: geo lookup: '%s' is not an IPv4 or IPv6 address\n",
				argv[optind + k]);
			ret = RP_EXIT_CONFIG;
			goto out;
		}
	if (own.geo_ipv4 || own.geo_ipv6) {
		ret = answer_from_files(&a, &own) ? RP_EXIT_RUNTIME : RP_EXIT_OK;
		if (ret)
			goto out;
	} else {
		outer = files ? -ENOENT : geo_bpf_open_pinned();
		if (outer >= 0) {
			int err = geo_bpf_view_open(outer, &a.view);

			close(outer);
			if (!err && !geo_bpf_info(a.view.w, a.view.n, &a.info))
				a.from_maps = true;
			else
				geo_bpf_view_close(&a.view);
		}
		if (!a.from_maps) {
			ret = load_config_or_report(g, RP_CFG_SKIP_KEY_FILES, &cfg);
			if (ret)
				goto out;
			have_cfg = true;
			if (answer_from_files(&a, &cfg)) {
				ret = RP_EXIT_RUNTIME;
				goto out;
			}
		}
	}
	if (json)
		print_json(&a, addrs, argv + optind, n);
	else
		print_text(&a, addrs, argv + optind, n);
out:
	if (a.from_maps)
		geo_bpf_view_close(&a.view);
	geo_free(&a.db);
	if (have_cfg)
		config_free(&cfg);
	free(addrs);
	return ret;
}

static int geo_reload_cmd(int argc, char **argv, const struct globals *g)
{
	struct rp_config cfg = { 0 };
	struct geo_db db = { 0 };
	struct diag d = { 0 };
	int ret, outer = -1, err;

	if (argc > 1) {
		fprintf(stderr, "rempart: geo reload: unexpected argument '%s'\n", argv[1]);
		return RP_EXIT_CONFIG;
	}
	ret = load_config_or_report(g, RP_CFG_SKIP_KEY_FILES, &cfg);
	if (ret)
		return ret;
	ret = RP_EXIT_RUNTIME;
	outer = geo_bpf_open_pinned();
	if (outer < 0) {
		fprintf(stderr, "rempart: geo reload: %s: %s (is the dataplane loaded? `rempart apply` loads it)\n",
			geo_bpf_pin_path(), strerror(-outer));
		goto out;
	}
	err = geo_load(&cfg, &db, &d);
	if (!err)
		err = geo_bpf_load(outer, &db, &d);
	if (err) {
		diag_print(&d, stderr);
		fprintf(stderr, "rempart: geo reload: failed (%s); the running database is unchanged\n",
			strerror(-err));
		goto out;
	}
	printf("geo: %s database loaded into the dataplane: %zu IPv4 + %zu IPv6 ranges (hash %016llx)\n",
	       geo_format_name(db.format), db.n4, db.n6, (unsigned long long)geo_db_hash(&db));
	ret = RP_EXIT_OK;
out:
	if (outer >= 0)
		close(outer);
	geo_free(&db);
	diag_free(&d);
	config_free(&cfg);
	return ret;
}

int cmd_geo(int argc, char **argv, const struct globals *g)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return RP_EXIT_CONFIG;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, stdout);
		return RP_EXIT_OK;
	}
	if (want_help(argc - 1, argv + 1, usage))
		return RP_EXIT_OK;
	if (!strcmp(argv[1], "lookup"))
		return geo_lookup_cmd(argc - 1, argv + 1, g);
	if (!strcmp(argv[1], "reload"))
		return geo_reload_cmd(argc - 1, argv + 1, g);
	fprintf(stderr, "rempart: geo: unknown subcommand '%s' (lookup, reload)\n", argv[1]);
	return RP_EXIT_CONFIG;
}
