// SPDX-License-Identifier: GPL-2.0
/* test_tn_netdrv.c — drive net_apply()/net_down() alone (no BPF) on a
 * configuration, for tests/e2e/tunnels.sh and bench/bench_apply.sh:
 *
 *   test_tn_netdrv CONFIG apply|down     prints "changes N backend B ms T"
 *
 * Run with no arguments it prints a SKIP line (it is not a unit test). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "config/config.h"
#include "kernel/wg/wg.h"
#include "net/net.h"
#include "net/net_priv.h"
#include "tap.h"

int main(int argc, char **argv)
{
	struct rp_config cfg = { 0 };
	struct diag d = { 0 };
	struct timespec a, b;
	int err;

	if (argc < 3) {
		tap_skip("test_tn_netdrv: a driver for tests/e2e/tunnels.sh, not run alone");
		return 0;
	}
	if (config_load(argv[1], 0, &cfg, &d)) {
		diag_print(&d, stderr);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (!strcmp(argv[2], "apply"))
		err = net_apply(&cfg, NULL, &d);
	else
		err = net_down(cfg.state_dir, &d);
	clock_gettime(CLOCK_MONOTONIC, &b);
	diag_print(&d, stderr);
	printf("changes %u backend %s ms %.1f\n", net_apply_changes(), wg_backend_get()->name,
	       (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
	diag_free(&d);
	config_free(&cfg);
	return err ? 2 : 0;
}
