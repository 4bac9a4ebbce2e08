// SPDX-License-Identifier: GPL-2.0
/* cmd_check.c — `rempart check`: validate the configuration, print every
 * error (exit 1) or a one-line summary (exit 0). */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "config/config.h"

static const char usage[] =
	"Usage: rempart [-c PATH] check [--no-keys]\n\n"
	"Validate rempart.ini and every tenant file; print every error found,\n"
	"one per line (FILE: [SECTION] KEY: what is wrong), and exit 1; or print\n"
	"a summary and exit 0.  Nothing on the system is changed.\n\n"
	"  --no-keys  do not read key files (for a non-root user)\n";

int cmd_check(int argc, char **argv, const struct globals *g)
{
	struct rp_config cfg;
	unsigned flags = 0;
	size_t sites = 0;
	int ret;

	if (want_help(argc, argv, usage))
		return RP_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-keys")) {
			flags |= RP_CFG_SKIP_KEY_FILES;
		} else {
			fprintf(stderr, "rempart: check: unknown argument '%s' (try --help)\n", argv[i]);
			return RP_EXIT_CONFIG;
		}
	}
	ret = load_config_or_report(g, flags, &cfg);
	if (ret)
		return ret;
	for (size_t i = 0; i < cfg.n_tenants; i++)
		sites += cfg.tenants[i].n_sites;
	printf("configuration OK: %zu tenant%s, %zu site%s\n", cfg.n_tenants,
	       cfg.n_tenants == 1 ? "" : "s", sites, sites == 1 ? "" : "s");
	config_free(&cfg);
	return RP_EXIT_OK;
}
