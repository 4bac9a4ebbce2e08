/* commands.h — `rempart COMMAND`: the table lives in main.c, one file per
 * command (cmd_*.c), their shared helpers in common.c.  Exit codes are
 * those of rempart(8) (app/exitcode.h). */
#ifndef REMPART_COMMANDS_H
#define REMPART_COMMANDS_H
#include <stdbool.h>
#include "app/exitcode.h"

#define RP_DEFAULT_CONFIG "/etc/rempart/rempart.ini"

struct globals {
	const char *config_path;	/* -c PATH, or RP_DEFAULT_CONFIG */
};

/* Each command gets argv with argv[0] = its name; returns an exit code. */
typedef int (*command_fn)(int argc, char **argv, const struct globals *g);

/* True (and the usage printed to stdout) when argv holds --help / -h
 * (common.c). */
bool want_help(int argc, char **argv, const char *usage);

/* Load the config named by g, printing every error to stderr.  Returns 0,
 * or RP_EXIT_CONFIG after printing.  flags: RP_CFG_* of config.h. */
struct rp_config;
int load_config_or_report(const struct globals *g, unsigned flags, struct rp_config *cfg);

int cmd_check(int argc, char **argv, const struct globals *g);
int cmd_apply(int argc, char **argv, const struct globals *g);
int cmd_confirm(int argc, char **argv, const struct globals *g);
int cmd_run(int argc, char **argv, const struct globals *g);
int cmd_down(int argc, char **argv, const struct globals *g);
int cmd_status(int argc, char **argv, const struct globals *g);
int cmd_monitor(int argc, char **argv, const struct globals *g);
int cmd_explain(int argc, char **argv, const struct globals *g);
int cmd_geo(int argc, char **argv, const struct globals *g);
int cmd_site(int argc, char **argv, const struct globals *g);
int cmd_keygen(int argc, char **argv, const struct globals *g);
int cmd_audit(int argc, char **argv, const struct globals *g);
#endif
