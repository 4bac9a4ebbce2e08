// SPDX-License-Identifier: GPL-2.0
/* test_op_confirm — what `apply` does, following the call sequence of
 * confirm.h, for tests/e2e/ops_confirm.sh (until and besides cmd_apply's own
 * --confirm):
 *
 *   test_op_confirm apply PATH            plain apply (records it as applied)
 *   test_op_confirm apply PATH SECONDS    apply --confirm SECONDS
 *
 * The rollback timer is the rempart binary named by $REMPART. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "app/confirm.h"
#include "app/daemon.h"
#include "cli/commands.h"
#include "lib/log.h"

int main(int argc, char **argv)
{
	struct rp_config cfg;
	struct geo_db geo;
	struct diag d = { 0 };
	int ret = RP_EXIT_OK, armed = 0;

	if (argc < 3 || strcmp(argv[1], "apply")) {
		fprintf(stderr, "usage: test_op_confirm apply PATH [SECONDS]\n");
		return RP_EXIT_CONFIG;
	}
	confirm_exe = getenv("REMPART");
	if (daemon_load(argv[2], &cfg, &geo, &d)) {
		diag_print(&d, stderr);
		diag_free(&d);
		return RP_EXIT_CONFIG;
	}
	if (argc > 3) {
		if (confirm_arm(&cfg, argv[2], atoi(argv[3]), &d)) {
			ret = RP_EXIT_RUNTIME;
			goto out;
		}
		armed = 1;
	}
	if (daemon_enforce(&cfg, &geo, NULL, &d)) {
		ret = RP_EXIT_RUNTIME;
		if (armed)
			confirm_rollback_now(cfg.state_dir, &d);
		goto out;
	}
	if (confirm_record_applied(&cfg, &d))
		ret = RP_EXIT_RUNTIME;
out:
	diag_print(&d, stderr);
	diag_free(&d);
	geo_free(&geo);
	config_free(&cfg);
	return ret;
}
