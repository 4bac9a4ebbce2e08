// SPDX-License-Identifier: GPL-2.0
/* cmd_run.c — `rempart run`: the foreground daemon (daemon.c). */
#include <stdlib.h>
#include <string.h>
#include "app/daemon.h"
#include "cli/commands.h"

enum { O_LOG_EVENTS = 256, O_AUDIT_INTERVAL };

static const struct cli_opt opts[] = {
	{ "log-events", O_LOG_EVENTS, "N", NULL,
	  "log at most N drop events a second (default 10; 0: none)" },
	{ "audit-interval", O_AUDIT_INTERVAL, "S", NULL,
	  "run `rempart audit` every S seconds (default 300; 0: only after changes)" },
	{ 0 }
};

static int cmd_run(int argc, char **argv, struct globals *g);

const struct cli_cmd def_run = {
	.name = "run",
	.summary = "Foreground daemon: apply, serve metrics and events",
	.text = "The daemon for systemd (Type=notify): apply the configuration, report\n"
		"READY=1, serve metrics on [metrics] listen, log drop events.  SIGHUP (or\n"
		"`rempart apply` of the same configuration) reloads it: a bad one is logged with all\n"
		"its errors and the running policy stays.  SIGTERM and SIGINT exit: with\n"
		"fail_mode = closed the programs stay attached and the last policy stays\n"
		"enforced, with fail_mode = open they are detached.\n\n"
		"The daemon runs `rempart audit` after every change it makes, when the\n"
		"live policy changes under it, and every S seconds: each violation is\n"
		"logged at error priority, and the metrics rempart_audit_violations and\n"
		"rempart_audit_last_run_seconds tell the last result.\n",
	.opts = opts,
	.fn = cmd_run,
};

static int cmd_run(int argc, char **argv, struct globals *g)
{
	struct daemon_opts o = { .event_log_per_sec = 10, .audit_interval = 300 };
	struct cli_parse p;
	unsigned long n;
	int key;

	cli_begin(&p, argc, argv, g);
	while ((key = cli_next(&p)) > 0)
		switch (key) {
		case O_LOG_EVENTS:
			if (cli_ulong(g, "log-events", p.val, 0, 100000, &n))
				return RP_EXIT_CONFIG;
			o.event_log_per_sec = (unsigned)n;
			break;
		case O_AUDIT_INTERVAL:
			if (cli_ulong(g, "audit-interval", p.val, 0, 86400, &n))
				return RP_EXIT_CONFIG;
			o.audit_interval = (unsigned)n;
			break;
		}
	if (key < 0)
		return cli_status(key);
	if (cli_args(&p, 0, 0))
		return RP_EXIT_CONFIG;
	o.config_path = g->config_path;
	return daemon_run(&o);
}
