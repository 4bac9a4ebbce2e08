// SPDX-License-Identifier: GPL-2.0
/* cmd_help.c — `rempart help [COMMAND [SUBCOMMAND]] [--json]`: the help of a
 * command, or the whole command table as JSON (what tests/e2e/ops_cli.sh
 * holds the man page and the bash completion to). */
#include <string.h>
#include <json-c/json.h>
#include "cli/commands.h"
#include "lib/version.h"

enum { O_JSON = 256 };

static const struct cli_opt opts[] = {
	{ "json", O_JSON, NULL, NULL,
	  "the commands, their arguments and options (values, hidden ones) as JSON" },
	{ 0 }
};

static int cmd_help(int argc, char **argv, struct globals *g);

const struct cli_cmd def_help = {
	.name = "help",
	.args = "[COMMAND [SUBCOMMAND]]",
	.summary = "The commands and their options",
	.opts = opts,
	.fn = cmd_help,
};

static json_object *opts_json(const struct cli_opt *o)
{
	json_object *a = json_object_new_array();

	for (; o && o->name; o++) {
		json_object *j = json_object_new_object(), *vals = NULL;
		char s[2] = { (char)o->key, 0 };

		if (o->values) {
			char buf[256], *save = NULL;

			vals = json_object_new_array();
			snprintf(buf, sizeof(buf), "%s", o->values);
			for (char *v = strtok_r(buf, "|", &save); v; v = strtok_r(NULL, "|", &save))
				json_object_array_add(vals, json_object_new_string(v));
		}
		json_object_object_add(j, "name", json_object_new_string(o->name));
		json_object_object_add(j, "short", o->key > 0 && o->key < 128 ?
					   json_object_new_string(s) : NULL);
		json_object_object_add(j, "arg", o->arg ? json_object_new_string(o->arg) : NULL);
		json_object_object_add(j, "values", vals);
		json_object_object_add(j, "hidden", json_object_new_boolean(!o->help));
		json_object_object_add(j, "help", o->help ? json_object_new_string(o->help) : NULL);
		json_object_array_add(a, j);
	}
	return a;
}

static json_object *cmd_json(const struct cli_cmd *c)
{
	json_object *j = json_object_new_object(), *subs = NULL;

	json_object_object_add(j, "name", json_object_new_string(c->name));
	json_object_object_add(j, "args", c->args ? json_object_new_string(c->args) : NULL);
	json_object_object_add(j, "summary", json_object_new_string(c->summary));
	json_object_object_add(j, "options", opts_json(c->opts));
	if (c->subs) {
		subs = json_object_new_array();
		for (const struct cli_cmd *const *s = c->subs; *s; s++)
			json_object_array_add(subs, cmd_json(*s));
	}
	json_object_object_add(j, "subcommands", subs);
	return j;
}

static const struct cli_cmd *find(const struct cli_cmd *const *t, const char *name)
{
	for (; t && *t; t++)
		if (!strcmp((*t)->name, name))
			return *t;
	return NULL;
}

static int cmd_help(int argc, char **argv, struct globals *g)
{
	const struct cli_cmd *c = NULL, *sub = NULL;
	struct cli_parse p;
	bool json = false;
	char name[64];
	int key;

	cli_begin(&p, argc, argv, g);
	while ((key = cli_next(&p)) > 0)
		json = json || key == O_JSON;
	if (key < 0)
		return cli_status(key);
	if (cli_args(&p, 0, 2))
		return RP_EXIT_CONFIG;
	if (p.npos >= 1 && !(c = find(g->commands, p.pos[0]))) {
		cli_err(g, "unknown command '%s'", p.pos[0]);
		return RP_EXIT_CONFIG;
	}
	if (p.npos == 2 && !(sub = find(c->subs, p.pos[1]))) {
		cli_err(g, "%s has no subcommand '%s'", c->name, p.pos[1]);
		return RP_EXIT_CONFIG;
	}
	if (json) {
		json_object *o = json_object_new_object(), *cmds = json_object_new_array();

		json_object_object_add(o, "version", json_object_new_string(rp_version()));
		json_object_object_add(o, "global_options", opts_json(cli_global_opts));
		if (c)
			json_object_array_add(cmds, cmd_json(sub ? sub : c));
		for (size_t i = 0; !c && g->commands[i]; i++)
			json_object_array_add(cmds, cmd_json(g->commands[i]));
		json_object_object_add(o, "commands", cmds);
		return print_json(g, o, true);
	}
	if (!c) {
		printf("Commands (`rempart help COMMAND` or `rempart COMMAND --help` tells more):\n");
		for (size_t i = 0; g->commands[i]; i++)
			printf("  %-9s %s\n", g->commands[i]->name, g->commands[i]->summary);
		return RP_EXIT_OK;
	}
	snprintf(name, sizeof(name), "%s%s%s", c->name, sub ? " " : "", sub ? sub->name : "");
	cli_usage(stdout, sub ? sub : c, name);
	return RP_EXIT_OK;
}
