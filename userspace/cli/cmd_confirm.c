// SPDX-License-Identifier: GPL-2.0
/* cmd_confirm.c — `rempart confirm`: keep the configuration applied with
 * `apply --confirm`.  The same command, with --rollback-at, is the detached
 * rollback timer that confirm_arm() starts (confirm.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "app/confirm.h"
#include "cli/commands.h"
#include "config/config.h"
#include "lib/log.h"

enum { O_STATE_DIR = 256, O_ROLLBACK_AT, O_TOKEN, O_JSON };

static const struct cli_opt opts[] = {
	{ "state-dir", O_STATE_DIR, "DIR", NULL,
	  "the state directory (default: the configuration's state_dir)" },
	{ "json", O_JSON, NULL, NULL, "{\"confirmed\": true} on stdout" },
	/* the rollback timer that confirm_arm() starts (confirm.h) */
	{ "rollback-at", O_ROLLBACK_AT, "UNIXTIME", NULL, NULL },
	{ "token", O_TOKEN, "TOKEN", NULL, NULL },
	{ 0 }
};

static int cmd_confirm(int argc, char **argv, struct globals *g);

const struct cli_cmd def_confirm = {
	.name = "confirm",
	.summary = "Keep the configuration applied with --confirm",
	.text = "Cancel the rollback that `rempart apply --confirm SECONDS` armed: the\n"
		"configuration applied stays.  Exit 1 when nothing waits for a confirm.\n",
	.opts = opts,
	.fn = cmd_confirm,
};

static int cmd_confirm(int argc, char **argv, struct globals *g)
{
	const char *state_dir = NULL, *token = NULL;
	unsigned long deadline = 0;
	bool timer = false, json = false;
	struct rp_config cfg;
	struct diag d = { 0 };
	struct cli_parse p;
	bool have_cfg = false;
	int ret = RP_EXIT_OK, err, key;

	cli_begin(&p, argc, argv, g);
	while ((key = cli_next(&p)) > 0)
		switch (key) {
		case O_STATE_DIR: state_dir = p.val; break;
		case O_TOKEN: token = p.val; break;
		case O_JSON: json = true; break;
		case O_ROLLBACK_AT:
			if (cli_ulong(g, "rollback-at", p.val, 0, ~0UL >> 1, &deadline))
				return RP_EXIT_CONFIG;
			timer = true;
			break;
		}
	if (key < 0)
		return cli_status(key);
	if (cli_args(&p, 0, 0))
		return RP_EXIT_CONFIG;
	if (timer) {
		if (!state_dir || !token) {
			fprintf(stderr, "rempart: confirm: --rollback-at needs --token and --state-dir\n");
			return RP_EXIT_CONFIG;
		}
		return confirm_timer_main(state_dir, (long long)deadline, token);
	}
	if (!state_dir) {
		ret = load_config_or_report(g, RP_CFG_SKIP_KEY_FILES, &cfg);
		if (ret)
			return ret;
		have_cfg = true;
		state_dir = cfg.state_dir;
	}
	err = confirm_cancel(state_dir, &d);
	if (err) {
		for (size_t i = 0; i < d.n; i++)
			pr_err("confirm: %s", d.msgs[i]);
		ret = err == -ENOENT ? RP_EXIT_CONFIG : RP_EXIT_RUNTIME;
	}
	diag_free(&d);
	if (!ret && json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "confirmed", json_object_new_boolean(true));
		ret = print_json(g, o, false);
	}
	if (have_cfg)
		config_free(&cfg);
	return ret;
}
