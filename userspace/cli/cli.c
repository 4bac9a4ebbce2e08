// SPDX-License-Identifier: GPL-2.0
/* cli.c — one option parser for every command, and the help built from the
 * same tables (cli.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "app/exitcode.h"
#include "cli/cli.h"
#include "lib/log.h"

const struct cli_opt cli_global_opts[] = {
	{ "config", CLI_O_CONFIG, "PATH", NULL,
	  "the configuration: a file, or a directory holding rempart.ini" },
	{ "verbose", CLI_O_VERBOSE, NULL, NULL, "debug messages, libbpf's included" },
	{ "help", CLI_O_HELP, NULL, NULL, "this help" },
	{ 0 }
};

int cli_err(const struct globals *g, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%srempart: %s: ", log_prefix(LOG_LVL_ERR), g->cmd_name ? g->cmd_name : "?");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static void add_opt(struct cli_parse *p, size_t *n, const struct cli_opt *o)
{
	size_t len = strlen(p->shorts);

	if (*n + 1 >= sizeof(p->lopts) / sizeof(p->lopts[0]))
		return;	/* the tables are small: a static limit is enough */
	p->lopts[(*n)++] = (struct option){ o->name, o->arg ? required_argument : no_argument,
					    NULL, o->key };
	if (o->key > 0 && o->key < 128 && len + 3 < sizeof(p->shorts)) {
		p->shorts[len++] = (char)o->key;
		if (o->arg)
			p->shorts[len++] = ':';
		p->shorts[len] = 0;
	}
}

void cli_begin(struct cli_parse *p, int argc, char **argv, struct globals *g)
{
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	p->argc = argc;
	p->argv = argv;
	p->g = g;
	p->shorts[0] = ':';	/* a missing value is ':', not '?' */
	for (const struct cli_opt *o = g->cmd && g->cmd->opts ? g->cmd->opts : NULL; o && o->name; o++)
		add_opt(p, &n, o);
	for (const struct cli_opt *o = cli_global_opts; o->name; o++)
		add_opt(p, &n, o);
	p->lopts[n] = (struct option){ 0 };
}

/* The option argv[optind - 1] as written, for a message. */
static const char *bad_opt(const struct cli_parse *p, char *buf, size_t len)
{
	const char *w = optind >= 1 && optind <= p->argc ? p->argv[optind - 1] : NULL;

	if (optopt && optopt < 128 && (!w || strncmp(w, "--", 2))) {
		snprintf(buf, len, "-%c", optopt);
		return buf;
	}
	return w ? w : "?";
}

int cli_next(struct cli_parse *p)
{
	char buf[8];
	int c;

	if (!p->started) {
		p->started = true;
		optind = 0;	/* getopt's full reset: another argv */
	}
	opterr = 0;
	optopt = 0;
	c = getopt_long(p->argc, p->argv, p->shorts, p->lopts, NULL);
	p->val = optarg;
	switch (c) {
	case -1:
		p->pos = p->argv + optind;
		p->npos = p->argc - optind;
		return CLI_END;
	case '?':
		cli_err(p->g, "unknown option '%s' (try --help)", bad_opt(p, buf, sizeof(buf)));
		return CLI_ERROR;
	case ':':
		cli_err(p->g, "%s needs a value (try --help)", bad_opt(p, buf, sizeof(buf)));
		return CLI_ERROR;
	case CLI_O_CONFIG:
		p->g->config_path = optarg;
		return cli_next(p);
	case CLI_O_VERBOSE:
		log_set_level(LOG_LVL_DEBUG);
		return cli_next(p);
	case CLI_O_HELP:
		cli_usage(stdout, p->g->cmd, p->g->cmd_name);
		return CLI_HELP_SHOWN;
	}
	return c;
}

int cli_status(int key)
{
	return key == CLI_HELP_SHOWN ? RP_EXIT_OK : RP_EXIT_CONFIG;
}

int cli_args(const struct cli_parse *p, int min, int max)
{
	const char *args = p->g->cmd && p->g->cmd->args ? p->g->cmd->args : "";

	if (p->npos < min)
		return cli_err(p->g, "%s needed (try --help)", *args ? args : "an argument is");
	if (max >= 0 && p->npos > max)
		return cli_err(p->g, "unexpected argument '%s' (try --help)", p->pos[max]);
	return 0;
}

int cli_parse_simple(struct cli_parse *p, int argc, char **argv, struct globals *g, int max,
		     bool *done)
{
	int key;

	*done = true;
	cli_begin(p, argc, argv, g);
	key = cli_next(p);
	if (key < 0)
		return cli_status(key);
	if (key > 0)	/* the table has an option the command does not handle */
		return cli_err(g, "option not handled (a bug)"), RP_EXIT_CONFIG;
	if (cli_args(p, 0, max))
		return RP_EXIT_CONFIG;
	*done = false;
	return RP_EXIT_OK;
}

int cli_ulong(const struct globals *g, const char *name, const char *v, unsigned long min,
	      unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end || errno || *out < min || *out > max)
		return cli_err(g, "--%s: '%s' is not a number in %lu..%lu", name, v, min, max);
	return 0;
}

/* ---- help ----------------------------------------------------------------- */

/* TEXT from column 27, words wrapped before column 80. */
static void wrapped(FILE *f, const char *text, size_t col)
{
	const char *w = text;

	while (*w) {
		size_t n = strcspn(w, " ");

		if (col > 27 && col + 1 + n > 79) {
			fprintf(f, "\n%27s", "");
			col = 27;
		} else if (col > 27) {
			fputc(' ', f);
			col++;
		}
		fwrite(w, 1, n, f);
		col += n;
		w += n;
		w += strspn(w, " ");
	}
	fputc('\n', f);
}

static void opt_line(FILE *f, const struct cli_opt *o)
{
	char left[64], text[512];
	int n;

	if (!o->help)
		return;	/* internal */
	if (o->key > 0 && o->key < 128)
		n = snprintf(left, sizeof(left), "  -%c, --%s", o->key, o->name);
	else
		n = snprintf(left, sizeof(left), "      --%s", o->name);
	if (o->arg && n > 0 && (size_t)n < sizeof(left))
		snprintf(left + n, sizeof(left) - n, " %s", o->arg);
	if (strlen(left) < 26)
		fprintf(f, "%-26s ", left);
	else
		fprintf(f, "%s\n%27s", left, "");
	snprintf(text, sizeof(text), "%s%s%s%s", o->help, o->values ? " (" : "",
		 o->values ? o->values : "", o->values ? ")" : "");
	wrapped(f, text, 27);
}

static void synopsis(FILE *f, const struct cli_cmd *c, const char *name, const char *lead)
{
	fprintf(f, "%s rempart [-c PATH] %s%s%s%s\n", lead, name, c->opts ? " [OPTIONS]" : "",
		c->args ? " " : "", c->args ? c->args : "");
}

void cli_usage(FILE *f, const struct cli_cmd *cmd, const char *name)
{
	if (!cmd)
		return;
	if (cmd->subs) {
		char sub[64];
		bool first = true;

		for (const struct cli_cmd *const *s = cmd->subs; *s; s++) {
			snprintf(sub, sizeof(sub), "%s %s", name, (*s)->name);
			synopsis(f, *s, sub, first ? "Usage:" : "      ");
			first = false;
		}
		fputc('\n', f);
		if (cmd->text)
			fprintf(f, "%s\n", cmd->text);
		for (const struct cli_cmd *const *s = cmd->subs; *s; s++)
			fprintf(f, "  %-8s %s\n", (*s)->name, (*s)->summary);
		fprintf(f, "\n`rempart %s SUBCOMMAND --help` tells a subcommand's options.\n", name);
		return;
	}
	synopsis(f, cmd, name, "Usage:");
	fprintf(f, "\n%s\n", cmd->summary);
	if (cmd->text)
		fprintf(f, "\n%s", cmd->text);
	fprintf(f, "\nOptions:\n");
	for (const struct cli_opt *o = cmd->opts; o && o->name; o++)
		opt_line(f, o);
	for (const struct cli_opt *o = cli_global_opts; o->name; o++)
		opt_line(f, o);
}
