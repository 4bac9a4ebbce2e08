/* cli.h — how every `rempart COMMAND` is described and parses its options.
 *
 * A command is a struct cli_cmd: its name, the synopsis of its arguments,
 * one paragraph of description and a table of options (struct cli_opt).
 * main.c lists the commands; `--help`, `rempart help [--json]`, the man
 * page check and the bash completion check all read the same tables, so
 * what the help shows, what the completion offers and what the parser
 * accepts cannot drift apart (tests/e2e/ops_cli.sh).
 *
 * Parsing is getopt_long's: options before or after the arguments,
 * `--opt value` and `--opt=value`, unique prefixes, `--` ends the options.
 * Every command also takes the global options -c/--config PATH,
 * -v/--verbose and -h/--help, so `rempart apply -c DIR` works like
 * `rempart -c DIR apply`.
 *
 *	struct cli_parse p;
 *	int key;
 *
 *	cli_begin(&p, argc, argv, g);
 *	while ((key = cli_next(&p)) > 0)
 *		switch (key) { case O_JSON: json = true; break; ... p.val ... }
 *	if (key < 0)
 *		return cli_status(key);		(help printed: 0; error printed: 1)
 *	if (cli_args(&p, 1, 1))
 *		return RP_EXIT_CONFIG;
 *	... p.pos[0] ...
 */
#ifndef REMPART_CLI_H
#define REMPART_CLI_H
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#define RP_DEFAULT_CONFIG "/etc/rempart/rempart.ini"

/* An option.  KEY is what cli_next() returns for it: a letter is also
 * the short option (-c), anything else (>= 256) only the long one. */
struct cli_opt {
	const char *name;	/* without the leading "--" */
	int key;
	const char *arg;	/* the value's name ("SECONDS"); NULL: a flag */
	const char *values;	/* the accepted values when they are a fixed
				 * set, '|'-separated ("first|later"), for the
				 * help and the completion; NULL: free */
	const char *help;	/* one line; NULL: internal, not shown */
};

struct globals;
typedef int (*command_fn)(int argc, char **argv, struct globals *g);

struct cli_cmd {
	const char *name;
	const char *args;	/* the arguments after the options ("TENANT NAME") */
	const char *summary;	/* one line, for the list of commands */
	const char *text;	/* the --help text after the options; NULL: none */
	const struct cli_opt *opts;	/* { 0 }-terminated; NULL: none */
	command_fn fn;
	const struct cli_cmd *const *subs;	/* subcommands, NULL-terminated */
};

/* What main() parsed, and the command being run. */
struct globals {
	const char *config_path;	/* -c PATH, or RP_DEFAULT_CONFIG */
	const struct cli_cmd *cmd;	/* the command (or subcommand) running */
	const char *cmd_name;		/* "geo lookup": for messages */
	const struct cli_cmd *const *commands;	/* main.c's table (for `help`) */
};

/* Options every command takes (their keys). */
enum { CLI_O_CONFIG = 'c', CLI_O_VERBOSE = 'v', CLI_O_HELP = 'h' };
extern const struct cli_opt cli_global_opts[];

/* cli_next() results besides an option's key: the end (0), help printed,
 * an error printed. */
enum { CLI_END = 0, CLI_HELP_SHOWN = -1, CLI_ERROR = -2 };

struct cli_parse {
	int argc;
	char **argv;
	struct globals *g;
	const char *val;	/* the value of the option just returned */
	char **pos;		/* the arguments, once cli_next() returned 0 */
	int npos;
	bool started;
	struct option lopts[48];	/* getopt_long's tables, built by cli_begin() */
	char shorts[48];
};

void cli_begin(struct cli_parse *p, int argc, char **argv, struct globals *g);
/* The next option's key (p->val its value), 0 at the end (p->pos and
 * p->npos then hold the arguments), or CLI_HELP_SHOWN / CLI_ERROR once the
 * help or one error line was printed. */
int cli_next(struct cli_parse *p);
/* The exit code after cli_next() returned < 0. */
int cli_status(int key);
/* Between MIN and MAX arguments (MAX < 0: no limit); else one error line
 * naming what is missing or extra.  0 or -1. */
int cli_args(const struct cli_parse *p, int min, int max);
/* Parse a command that takes only the global options and at most MAX
 * arguments: RP_EXIT_OK (*done false: go on), or the exit code to return
 * with *done true. */
int cli_parse_simple(struct cli_parse *p, int argc, char **argv, struct globals *g, int max,
		     bool *done);

/* One error line: "rempart: CMD: ..." on stderr.  Returns -1. */
__attribute__((format(printf, 2, 3)))
int cli_err(const struct globals *g, const char *fmt, ...);

/* An unsigned number in MIN..MAX for option NAME; one error line if not. */
int cli_ulong(const struct globals *g, const char *name, const char *v, unsigned long min,
	      unsigned long max, unsigned long *out);

/* The help of CMD (NAME: "site add") to F. */
void cli_usage(FILE *f, const struct cli_cmd *cmd, const char *name);
#endif
