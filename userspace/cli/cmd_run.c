// SPDX-License-Identifier: GPL-2.0
/* cmd_run.c — `rempart run`: the foreground daemon (daemon.c). */
#include <stdlib.h>
#include <string.h>
#include "app/daemon.h"
#include "cli/commands.h"

static const char usage[] =
	"Usage: rempart [-c PATH] run [--log-events N] [--audit-interval S]\n\n"
	"Foreground daemon for systemd (Type=notify): apply the configuration,\n"
	"report READY=1, serve metrics on [metrics] listen, log drop events (at\n"
	"most N a second, default 10; 0: none).  SIGHUP reloads the configuration\n"
	"(a bad one is logged with all its errors and the running policy stays);\n"
	"SIGTERM and SIGINT exit: with fail_mode = closed the programs stay\n"
	"attached and the last policy stays enforced, with fail_mode = open they\n"
	"are detached.\n\n"
	"The daemon runs `rempart audit` after every change it makes, when the\n"
	"live policy changes under it, and every S seconds (default 300; 0: only\n"
	"after changes): each violation is logged at error priority, and the\n"
	"metrics rempart_audit_violations and rempart_audit_last_run_seconds\n"
	"tell the last result.\n";

int cmd_run(int argc, char **argv, const struct globals *g)
{
	struct daemon_opts o = { .config_path = g->config_path, .event_log_per_sec = 10,
				 .audit_interval = 300 };

	if (want_help(argc, argv, usage))
		return RP_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "--log-events") && i + 1 < argc) {
			unsigned long n = strtoul(argv[++i], &end, 10);

			if (*end || !*argv[i] || n > 100000) {
				fprintf(stderr, "rempart: run: --log-events '%s': not a number "
					"0..100000\n", argv[i]);
				return RP_EXIT_CONFIG;
			}
			o.event_log_per_sec = n;
		} else if (!strcmp(argv[i], "--audit-interval") && i + 1 < argc) {
			unsigned long n = strtoul(argv[++i], &end, 10);

			if (*end || !*argv[i] || n > 86400) {
				fprintf(stderr, "rempart: run: --audit-interval '%s': not a number of seconds "
					"0..86400\n", argv[i]);
				return RP_EXIT_CONFIG;
			}
			o.audit_interval = n;
		} else {
			fprintf(stderr, "rempart: run: unknown argument '%s' (try --help)\n", argv[i]);
			return RP_EXIT_CONFIG;
		}
	}
	return daemon_run(&o);
}
