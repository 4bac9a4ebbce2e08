// SPDX-License-Identifier: GPL-2.0
/* cmd_check.c — `rempart check`: validate the configuration, print every
 * error (exit 1) or a one-line summary (exit 0). */
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include "cli/commands.h"
#include "config/config.h"

enum { O_NO_KEYS = 256, O_JSON };

static const struct cli_opt opts[] = {
	{ "no-keys", O_NO_KEYS, NULL, NULL, "do not read key files (for a non-root user)" },
	{ "json", O_JSON, NULL, NULL,
	  "{\"ok\", \"tenants\", \"sites\", \"errors\": [LINE…]} on stdout" },
	{ 0 }
};

static int cmd_check(int argc, char **argv, struct globals *g);

const struct cli_cmd def_check = {
	.name = "check",
	.summary = "Validate the configuration; print every error",
	.text = "Read rempart.ini and every tenant file and print every error found, one\n"
		"per line (FILE: [SECTION] KEY: what is wrong), and exit 1; or print a\n"
		"summary and exit 0.  Nothing on the system is changed.\n",
	.opts = opts,
	.fn = cmd_check,
};

static int cmd_check(int argc, char **argv, struct globals *g)
{
	struct rp_config cfg;
	struct diag d = { 0 };
	struct cli_parse p;
	unsigned flags = 0;
	size_t sites = 0;
	bool json = false, ok;
	int key;

	cli_begin(&p, argc, argv, g);
	while ((key = cli_next(&p)) > 0)
		switch (key) {
		case O_NO_KEYS: flags |= RP_CFG_SKIP_KEY_FILES; break;
		case O_JSON: json = true; break;
		}
	if (key < 0)
		return cli_status(key);
	if (cli_args(&p, 0, 0))
		return RP_EXIT_CONFIG;
	ok = !config_load(g->config_path, flags, &cfg, &d);
	if (ok)
		for (size_t i = 0; i < cfg.n_tenants; i++)
			sites += cfg.tenants[i].n_sites;
	else if (!diag_count(&d))
		diag_add(&d, "rempart: %s: cannot load the configuration", g->config_path);
	if (json) {
		struct json_object *o = json_object_new_object(), *errs = json_object_new_array();

		for (size_t i = 0; i < d.n; i++)
			json_object_array_add(errs, json_object_new_string(d.msgs[i]));
		json_object_object_add(o, "ok", json_object_new_boolean(ok));
		json_object_object_add(o, "tenants", json_object_new_int64(ok ? cfg.n_tenants : 0));
		json_object_object_add(o, "sites", json_object_new_int64(sites));
		json_object_object_add(o, "errors", errs);
		key = print_json(g, o, true);
	} else if (ok) {
		printf("configuration OK: %zu tenant%s, %zu site%s\n", cfg.n_tenants,
		       cfg.n_tenants == 1 ? "" : "s", sites, sites == 1 ? "" : "s");
		key = RP_EXIT_OK;
	} else {
		diag_print(&d, stderr);
	}
	diag_free(&d);
	if (ok)
		config_free(&cfg);
	return !ok ? RP_EXIT_CONFIG : key;
}
