// SPDX-License-Identifier: GPL-2.0
/* common.c — what every cmd_*.c shares: loading the config with every
 * error printed, JSON on stdout (commands.h). */
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include "cli/commands.h"
#include "config/config.h"

int load_config_or_report(const struct globals *g, unsigned flags, struct rp_config *cfg)
{
	struct diag d = { 0 };

	if (config_load(g->config_path, flags, cfg, &d)) {
		diag_print(&d, stderr);
		if (!diag_count(&d))
			fprintf(stderr, "rempart: %s: cannot load the configuration\n", g->config_path);
		diag_free(&d);
		return RP_EXIT_CONFIG;
	}
	diag_free(&d);
	return RP_EXIT_OK;
}

int print_json(const struct globals *g, struct json_object *o, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (pretty ? JSON_C_TO_STRING_PRETTY : 0) | JSON_C_TO_STRING_SPACED;

	if (!o) {
		cli_err(g, "out of memory");
		return RP_EXIT_RUNTIME;
	}
	puts(json_object_to_json_string_ext(o, flags));
	json_object_put(o);
	if (fflush(stdout) || ferror(stdout)) {
		cli_err(g, "stdout: %m");
		return RP_EXIT_RUNTIME;
	}
	return RP_EXIT_OK;
}
