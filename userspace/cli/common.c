// SPDX-License-Identifier: GPL-2.0
/* common.c — what every cmd_*.c shares: --help, and loading the config with
 * every error printed (commands.h). */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "config/config.h"

bool want_help(int argc, char **argv, const char *usage_text)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage_text, stdout);
			return true;
		}
	}
	return false;
}

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
