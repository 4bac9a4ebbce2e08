// SPDX-License-Identifier: GPL-2.0
/* main.c — `rempart [-c PATH] COMMAND …`: the command table and its
 * dispatcher.  Each command's options and help live with it (cmd_*.c, as
 * struct cli_cmd); cli.c parses them all the same way. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "lib/log.h"
#include "lib/version.h"

static const struct cli_cmd *const commands[] = {
	&def_check, &def_apply, &def_confirm, &def_run, &def_down, &def_status,
	&def_monitor, &def_explain, &def_diff, &def_history, &def_rollback, &def_geo, &def_site,
	&def_audit, &def_keygen, &def_help, NULL
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: rempart [-c PATH] [-v] COMMAND [ARGS…]\n"
		   "       rempart --version\n\n"
		   "  -c, --config PATH  configuration file, or a directory holding rempart.ini\n"
		   "                     (default " RP_DEFAULT_CONFIG ")\n"
		   "  -v, --verbose      debug messages\n\nCommands:\n");
	for (size_t i = 0; commands[i]; i++)
		fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\n`rempart COMMAND --help` tells more.  Options may come before or after\n"
		   "a command's arguments; -c PATH also after the command.\n");
}

static const struct cli_cmd *find(const struct cli_cmd *const *table, const char *name)
{
	for (size_t i = 0; table[i]; i++)
		if (!strcmp(table[i]->name, name))
			return table[i];
	return NULL;
}

/* COMMAND SUBCOMMAND …: argv[0] is the command. */
static int run_sub(const struct cli_cmd *cmd, int argc, char **argv, struct globals *g)
{
	static char name[64];
	const struct cli_cmd *sub;
	int i = 1;

	/* the global options may come before the subcommand too */
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			cli_usage(stdout, cmd, cmd->name);
			return RP_EXIT_OK;
		}
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
			g->config_path = argv[++i];
		} else if (!strncmp(argv[i], "--config=", 9)) {
			g->config_path = argv[i] + 9;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			log_set_level(LOG_LVL_DEBUG);
		} else {
			fprintf(stderr, "rempart: %s: '%s' before the subcommand (try --help)\n",
				cmd->name, argv[i]);
			return RP_EXIT_CONFIG;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "rempart: %s: a subcommand is needed (try --help)\n", cmd->name);
		cli_usage(stderr, cmd, cmd->name);
		return RP_EXIT_CONFIG;
	}
	sub = find(cmd->subs, argv[i]);
	if (!sub) {
		fprintf(stderr, "rempart: %s: unknown subcommand '%s' (try --help)\n", cmd->name,
			argv[i]);
		return RP_EXIT_CONFIG;
	}
	snprintf(name, sizeof(name), "%s %s", cmd->name, sub->name);
	g->cmd = sub;
	g->cmd_name = name;
	return sub->fn(argc - i, argv + i, g);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct globals g = { .config_path = RP_DEFAULT_CONFIG, .commands = commands };
	const struct cli_cmd *cmd;
	int c;

	log_route_libbpf();
	opterr = 0;
	/* '+': stop at the command; what follows is the command's */
	while ((c = getopt_long(argc, argv, "+:c:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': g.config_path = optarg; break;
		case 'v': log_set_level(LOG_LVL_DEBUG); break;
		case 'h': usage(stdout); return RP_EXIT_OK;
		case 'V': printf("rempart %s\n", rp_version()); return RP_EXIT_OK;
		default:
			fprintf(stderr, "rempart: %s '%s' (try --help)\n",
				c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
			return RP_EXIT_CONFIG;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return RP_EXIT_CONFIG;
	}
	cmd = find(commands, argv[optind]);
	if (!cmd) {
		fprintf(stderr, "rempart: unknown command '%s' (try --help)\n", argv[optind]);
		return RP_EXIT_CONFIG;
	}
	g.cmd = cmd;
	g.cmd_name = cmd->name;
	if (cmd->subs)
		return run_sub(cmd, argc - optind, argv + optind, &g);
	return cmd->fn(argc - optind, argv + optind, &g);
}
