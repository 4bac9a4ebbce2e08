// SPDX-License-Identifier: GPL-2.0
/* cmd_history.c — `rempart history` (the applied configurations kept) and
 * `rempart rollback [N]` (back to one of them); app/history.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "app/history.h"
#include "cli/commands.h"
#include "config/config.h"

enum { O_JSON = 256 };

static const struct cli_opt hist_opts[] = {
	{ "json", O_JSON, NULL, NULL, "{\"history\": [{\"n\", \"time\", \"summary\", \"geo\"}…]}" },
	{ 0 }
};

static int cmd_history(int argc, char **argv, struct globals *g);
static int cmd_rollback(int argc, char **argv, struct globals *g);

const struct cli_cmd def_history = {
	.name = "history",
	.summary = "The configurations applied last",
	.text = "The last 10 configurations applied (by apply, a reload of `rempart\n"
		"run`, a rollback), newest first: 0 is the one applied now.  Each line:\n"
		"its number, when it was applied, its tenants, sites, rules and shares,\n"
		"and the geo database files loaded then.  `rempart rollback N` goes back\n"
		"to one.  They are kept in STATE_DIR/history with their key files\n"
		"(mode 0600, a root-only directory).\n",
	.opts = hist_opts,
	.fn = cmd_history,
};

const struct cli_cmd def_rollback = {
	.name = "rollback",
	.args = "[N]",
	.summary = "Go back to a configuration applied before",
	.text = "Put configuration N of `rempart history` (default 1: the one before the\n"
		"current) back in place, its tenant files and key files included, and\n"
		"apply it; the files it replaces are kept in STATE_DIR/rejected.  A\n"
		"running `rempart run` reloads it.  Refused while an apply --confirm\n"
		"waits for its confirm.\n",
	.fn = cmd_rollback,
};

static int state_dir_of(const struct globals *g, struct rp_config *cfg)
{
	int rc = load_config_or_report(g, RP_CFG_SKIP_KEY_FILES, cfg);

	if (!rc && geteuid() != 0) {
		cli_err(g, "needs root (the state directory)");
		config_free(cfg);
		return RP_EXIT_RUNTIME;
	}
	return rc;
}

static int cmd_history(int argc, char **argv, struct globals *g)
{
	struct history_entry v[HISTORY_MAX];
	struct rp_config cfg = { 0 };
	struct cli_parse p;
	bool json = false;
	int key, rc, n;

	cli_begin(&p, argc, argv, g);
	while ((key = cli_next(&p)) > 0)
		if (key == O_JSON)
			json = true;
	if (key < 0)
		return cli_status(key);
	if (cli_args(&p, 0, 0))
		return RP_EXIT_CONFIG;
	rc = state_dir_of(g, &cfg);
	if (rc)
		return rc;
	n = history_list(cfg.state_dir, v, HISTORY_MAX);
	config_free(&cfg);
	if (json) {
		json_object *o = json_object_new_object(), *a = json_object_new_array();

		for (int i = 0; i < n; i++) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "n", json_object_new_int(v[i].n));
			json_object_object_add(e, "time", json_object_new_int64(v[i].time));
			json_object_object_add(e, "summary", json_object_new_string(v[i].summary));
			json_object_object_add(e, "geo", v[i].geo[0] ? json_object_new_string(v[i].geo) : NULL);
			json_object_array_add(a, e);
		}
		json_object_object_add(o, "history", a);
		return print_json(g, o, true);
	}
	if (n <= 0)
		printf("no configuration applied yet\n");
	for (int i = 0; i < n; i++) {
		char when[32];
		time_t t = (time_t)v[i].time;
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
		printf("%2d  %s  %s%s%s%s\n", v[i].n, when, v[i].summary, v[i].geo[0] ? "; geo " : "",
		       v[i].geo, v[i].n ? "" : "  (applied now)");
	}
	return RP_EXIT_OK;
}

static int cmd_rollback(int argc, char **argv, struct globals *g)
{
	struct rp_config cfg = { 0 };
	struct diag d = { 0 };
	unsigned long n = 1;
	struct cli_parse p;
	bool done;
	int rc;

	rc = cli_parse_simple(&p, argc, argv, g, 1, &done);
	if (done)
		return rc;
	if (p.npos && cli_ulong(g, "N", p.pos[0], 1, HISTORY_MAX - 1, &n))
		return RP_EXIT_CONFIG;
	rc = state_dir_of(g, &cfg);
	if (rc)
		return rc;
	rc = history_rollback(cfg.state_dir, (int)n, &d);
	diag_print(&d, stderr);
	diag_free(&d);
	if (!rc)
		printf("rolled back to configuration %lu of the history; it is applied now\n", n);
	config_free(&cfg);
	return rc;
}
