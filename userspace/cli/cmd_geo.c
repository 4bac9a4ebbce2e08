// SPDX-License-Identifier: GPL-2.0
/* cmd_geo.c — `rempart geo lookup IP…` and `rempart geo reload`.
 *
 * lookup answers from the dataplane's pinned database (RP_PIN_DIR/rp_geo)
 * when one is loaded, with the same algorithm the BPF programs run, else
 * from the configured files (and says which).  reload reads the configured
 * files and swaps them into the pinned map at once; when they fail to load,
 * the running database stays and the exit code is 2. */
#include <errno.h>
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

enum { O_JSON = 256, O_FILES, O_FORMAT, O_IPV4, O_IPV6 };

static const struct cli_opt lookup_opts[] = {
	{ "json", O_JSON, NULL, NULL, "one JSON object: the database and each answer" },
	{ "files", O_FILES, NULL, NULL, "answer from the configured files even if the dataplane runs" },
	{ "format", O_FORMAT, "F", "tor|cidr|maxmind-csv|mmdb",
	  "with --ipv4/--ipv6: answer from these files instead of the config's" },
	{ "ipv4", O_IPV4, "FILE", NULL, "the IPv4 (or only) file of --format" },
	{ "ipv6", O_IPV6, "FILE", NULL, "the IPv6 file of --format" },
	{ 0 }
};

static const struct cli_opt reload_opts[] = {
	{ "json", O_JSON, NULL, NULL, "the database loaded, as one JSON object" },
	{ 0 }
};

static int geo_lookup_cmd(int argc, char **argv, struct globals *g);
static int geo_reload_cmd(int argc, char **argv, struct globals *g);

static const struct cli_cmd def_geo_lookup = {
	.name = "lookup",
	.args = "IP…",
	.summary = "The country of each address (\"--\" for none)",
	.text = "From the database the dataplane has loaded (the same lookup the BPF\n"
		"programs do), else from the configured files; the last line says which.\n",
	.opts = lookup_opts,
	.fn = geo_lookup_cmd,
};

static const struct cli_cmd def_geo_reload = {
	.name = "reload",
	.summary = "Load the configured database into the running dataplane",
	.text = "The configured files are read and swapped in at once; when they fail to\n"
		"load, the running database stays and the exit status is 2.\n",
	.opts = reload_opts,
	.fn = geo_reload_cmd,
};

static const struct cli_cmd *const geo_subs[] = { &def_geo_lookup, &def_geo_reload, NULL };

const struct cli_cmd def_geo = {
	.name = "geo",
	.summary = "Geo database: lookup, reload",
	.text = "The geo database ([geo] of rempart.ini; formats: docs/geo.md).\n",
	.subs = geo_subs,
};

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

static void print_answers_json(const struct answer *a, struct rp_addr *addrs, char **argv, int n)
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

static int geo_lookup_cmd(int argc, char **argv, struct globals *g)
{
	struct cli_parse p;
	struct rp_config cfg = { 0 }, own = { 0 };
	struct answer a = { .view.fd = -1 };
	bool json = false, files = false, have_cfg = false;
	struct rp_addr *addrs = NULL;
	char **args;
	int c, n, ret = RP_EXIT_OK, outer;

	cli_begin(&p, argc, argv, g);
	while ((c = cli_next(&p)) > 0) {
		switch (c) {
		case O_JSON: json = true; break;
		case O_FILES: files = true; break;
		case O_FORMAT:
			if (geo_format_parse(p.val, &own.geo_format)) {
				fprintf(stderr, "rempart: geo lookup: --format '%s': not tor, cidr, maxmind-csv or mmdb\n",
					p.val);
				return RP_EXIT_CONFIG;
			}
			break;
		case O_IPV4: own.geo_ipv4 = (char *)p.val; break;	/* not freed: own is not config_free()d */
		case O_IPV6: own.geo_ipv6 = (char *)p.val; break;
		}
	}
	if (c < 0)
		return cli_status(c);
	if (p.npos < 1) {
		fprintf(stderr, "rempart: geo lookup: no address given (try --help)\n");
		return RP_EXIT_CONFIG;
	}
	n = p.npos;
	args = p.pos;
	addrs = calloc(n, sizeof(*addrs));
	if (!addrs)
		return RP_EXIT_RUNTIME;
	for (int k = 0; k < n; k++)
		if (addr_parse(args[k], &addrs[k])) {
			fprintf(stderr, "rempart: geo lookup: '%s' is not an IPv4 or IPv6 address\n",
				args[k]);
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
		print_answers_json(&a, addrs, args, n);
	else
		print_text(&a, addrs, args, n);
out:
	if (a.from_maps)
		geo_bpf_view_close(&a.view);
	geo_free(&a.db);
	if (have_cfg)
		config_free(&cfg);
	free(addrs);
	return ret;
}

static int geo_reload_cmd(int argc, char **argv, struct globals *g)
{
	struct rp_config cfg = { 0 };
	struct geo_db db = { 0 };
	struct diag d = { 0 };
	struct cli_parse p;
	bool json = false;
	int ret, outer = -1, err;

	cli_begin(&p, argc, argv, g);
	while ((ret = cli_next(&p)) > 0)
		if (ret == O_JSON)
			json = true;
	if (ret < 0)
		return cli_status(ret);
	if (cli_args(&p, 0, 0))
		return RP_EXIT_CONFIG;
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
	if (json) {
		struct json_object *o = json_object_new_object();
		char hash[24];

		snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)geo_db_hash(&db));
		json_object_object_add(o, "loaded", json_object_new_boolean(true));
		json_object_object_add(o, "format", json_object_new_string(geo_format_name(db.format)));
		json_object_object_add(o, "ranges_v4", json_object_new_int64((int64_t)db.n4));
		json_object_object_add(o, "ranges_v6", json_object_new_int64((int64_t)db.n6));
		json_object_object_add(o, "hash", json_object_new_string(hash));
		ret = print_json(g, o, false);
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

