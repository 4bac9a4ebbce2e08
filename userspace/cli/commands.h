/* commands.h — `rempart COMMAND`: the table lives in main.c, one file per
 * command (cmd_*.c) holding its description (struct cli_cmd, cli.h) and
 * its function, their shared helpers in common.c.  Exit codes are those
 * of rempart(8) (app/exitcode.h). */
#ifndef REMPART_COMMANDS_H
#define REMPART_COMMANDS_H
#include <stdbool.h>
#include "app/exitcode.h"
#include "cli/cli.h"

/* Load the config named by g, printing every error to stderr.  Returns 0,
 * or RP_EXIT_CONFIG after printing.  flags: RP_CFG_* of config.h. */
struct rp_config;
int load_config_or_report(const struct globals *g, unsigned flags, struct rp_config *cfg);

/* Print a json-c object on stdout, pretty or on one line; RP_EXIT_OK, or
 * RP_EXIT_RUNTIME (with a message) when stdout fails.  Takes the object. */
struct json_object;
int print_json(const struct globals *g, struct json_object *o, bool pretty);

/* What `apply` would change, one line each (or --json), changing nothing
 * (cmd_diff.c: `diff`, `apply --dry-run`).  An exit code. */
int plan_print(const struct globals *g, const struct rp_config *cfg, bool json);

extern const struct cli_cmd def_check, def_apply, def_confirm, def_run, def_down, def_status,
	def_monitor, def_explain, def_diff, def_history, def_rollback, def_geo, def_site, def_audit,
	def_keygen, def_help;
#endif
