// SPDX-License-Identifier: GPL-2.0
/* cmd_diff.c — `rempart diff`: what differs between the configuration and
 * what is applied (the live kernel, the recorded applied configuration),
 * which is what `rempart apply` would change; `apply --dry-run` prints the
 * same (plan_print). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "app/apply_plan.h"
#include "app/rekey_watch.h"
#include "cli/commands.h"
#include "config/config.h"

enum { O_JSON = 256 };

static const struct cli_opt opts[] = {
	{ "json", O_JSON, NULL, NULL, "{\"changes\": [{\"op\", \"what\", \"text\"}…], \"count\"}" },
	{ 0 }
};

static int cmd_diff(int argc, char **argv, struct globals *g);

const struct cli_cmd def_diff = {
	.name = "diff",
	.summary = "What differs between the configuration and what is applied",
	.text = "One line per change `rempart apply` would make: links, addresses,\n"
		"routes, policy rules, WireGuard devices and peers, NAT (read from the\n"
		"live kernel), then the policy by tenant and section (against the\n"
		"configuration last applied), the geo database and the dataplane.\n"
		"Each line starts with + (added), - (removed) or ~ (changed).  Nothing\n"
		"is changed.  Exit status 0 whether or not something differs.\n",
	.opts = opts,
	.fn = cmd_diff,
};

struct printer {
	json_object *arr;
	unsigned n;
};

static void emit(void *ctx, char op, const char *what, const char *text)
{
	struct printer *p = ctx;

	p->n++;
	if (p->arr) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "op", json_object_new_string(op == '+' ? "add" : op == '-' ?
									"remove" : "change"));
		json_object_object_add(o, "what", json_object_new_string(what));
		json_object_object_add(o, "text", json_object_new_string(text));
		json_object_array_add(p->arr, o);
		return;
	}
	printf("%c %s %s\n", op, what, text);
}

int plan_print(const struct globals *g, const struct rp_config *cfg, bool json)
{
	struct printer p = { .arr = json ? json_object_new_array() : NULL };
	struct diag d = { 0 };
	int n;

	if (geteuid() != 0) {
		cli_err(g, "needs root (reads the WireGuard devices and the pinned dataplane)");
		json_object_put(p.arr);
		return RP_EXIT_RUNTIME;
	}
	n = apply_plan(cfg, emit, &p, &d);
	if (n < 0) {
		diag_print(&d, stderr);
		if (!diag_count(&d))
			cli_err(g, "%s", strerror(-n));
		diag_free(&d);
		json_object_put(p.arr);
		return RP_EXIT_RUNTIME;
	}
	diag_free(&d);
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "changes", p.arr);
		json_object_object_add(o, "count", json_object_new_int((int)p.n));
		return print_json(g, o, true);
	}
	if (!p.n)
		printf("no change: the system matches the configuration\n");
	fflush(stdout);
	return RP_EXIT_OK;
}

static int cmd_diff(int argc, char **argv, struct globals *g)
{
	struct rp_config cfg = { 0 };
	struct cli_parse p;
	bool json = false;
	int key, rc;

	cli_begin(&p, argc, argv, g);
	while ((key = cli_next(&p)) > 0)
		if (key == O_JSON)
			json = true;
	if (key < 0)
		return cli_status(key);
	if (cli_args(&p, 0, 0))
		return RP_EXIT_CONFIG;
	rc = load_config_or_report(g, 0, &cfg);
	if (rc)
		return rc;
	rekey_done_load(&cfg, false);	/* as apply reads it (without tidying) */
	rc = plan_print(g, &cfg, json);
	config_free(&cfg);
	return rc;
}
