// SPDX-License-Identifier: GPL-2.0
/* main.c — `rempart [-c PATH] COMMAND …`: a table dispatcher. */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "lib/log.h"

static const struct {
	const char *name;
	command_fn fn;
	const char *description;
} commands[] = {
	{ "check", cmd_check, "Validate the configuration; print every error" },
	{ "apply", cmd_apply, "Make the system match the configuration" },
	{ "confirm", cmd_confirm, "Keep the configuration applied with --confirm" },
	{ "run", cmd_run, "Foreground daemon: apply, serve metrics and events" },
	{ "down", cmd_down, "Remove everything rempart created" },
	{ "status", cmd_status, "Tenants, sites, counters, geo database" },
	{ "monitor", cmd_monitor, "Stream dataplane events" },
	{ "explain", cmd_explain, "The verdict the policy gives a packet, and why" },
	{ "geo", cmd_geo, "Geo database: lookup, reload" },
	{ "site", cmd_site, "Sites: add, config" },
	{ "audit", cmd_audit, "Prove from the live state that tenants stay apart" },
	{ "keygen", cmd_keygen, "Print a new private key" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: rempart [-c PATH] COMMAND [ARGS…]\n\n"
		   "  -c PATH   configuration file, or a directory holding rempart.ini\n"
		   "            (default " RP_DEFAULT_CONFIG ")\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].description);
	fprintf(f, "\n`rempart COMMAND --help` tells more.\n");
}

int main(int argc, char **argv)
{
	struct globals g = { .config_path = RP_DEFAULT_CONFIG };
	int i = 1;

	log_route_libbpf();
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			g.config_path = argv[++i];
		} else if (!strncmp(argv[i], "--config=", 9)) {
			g.config_path = argv[i] + 9;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			log_set_level(LOG_LVL_DEBUG);
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return RP_EXIT_OK;
		} else {
			fprintf(stderr, "rempart: unknown option '%s' (try --help)\n", argv[i]);
			return RP_EXIT_CONFIG;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return RP_EXIT_CONFIG;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].fn(argc - i, argv + i, &g);
	fprintf(stderr, "rempart: unknown command '%s' (try --help)\n", argv[i]);
	return RP_EXIT_CONFIG;
}
