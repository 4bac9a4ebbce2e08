// SPDX-License-Identifier: GPL-2.0
/* cmd_confirm.c — `rempart confirm`: keep the configuration applied with
 * `apply --confirm`.  The same command, with --rollback-at, is the detached
 * rollback timer that confirm_arm() starts (confirm.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "app/confirm.h"
#include "cli/commands.h"
#include "config/config.h"
#include "lib/log.h"

static const char usage[] =
	"Usage: rempart [-c PATH] confirm [--state-dir DIR]\n\n"
	"Keep the configuration applied with `rempart apply --confirm SECONDS`:\n"
	"cancel the rollback that would otherwise restore the previous\n"
	"configuration at the deadline.  The state directory is the config's\n"
	"[gateway] state_dir unless --state-dir names it.\n";

int cmd_confirm(int argc, char **argv, const struct globals *g)
{
	const char *state_dir = NULL, *token = NULL;
	long long deadline = -1;
	struct rp_config cfg;
	struct diag d = { 0 };
	bool have_cfg = false;
	int ret = RP_EXIT_OK, err;

	if (want_help(argc, argv, usage))
		return RP_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--state-dir") && i + 1 < argc) {
			state_dir = argv[++i];
		} else if (!strcmp(argv[i], "--rollback-at") && i + 1 < argc) {
			deadline = atoll(argv[++i]);	/* internal: the timer */
		} else if (!strcmp(argv[i], "--token") && i + 1 < argc) {
			token = argv[++i];
		} else {
			fprintf(stderr, "rempart: confirm: unknown argument '%s' (try --help)\n",
				argv[i]);
			return RP_EXIT_CONFIG;
		}
	}
	if (deadline >= 0) {
		if (!state_dir || !token) {
			fprintf(stderr, "rempart: confirm: --rollback-at needs --token and --state-dir\n");
			return RP_EXIT_CONFIG;
		}
		return confirm_timer_main(state_dir, deadline, token);
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
	if (have_cfg)
		config_free(&cfg);
	return ret;
}
