// SPDX-License-Identifier: GPL-2.0
/* cmd_down.c — `rempart down`: remove everything rempart created, and
 * nothing else: the BPF side (links, pinned maps under RP_PIN_DIR), then
 * the kernel configuration recorded by net/ (net.state). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/commands.h"
#include "config/config.h"
#include "dataplane/dataplane.h"
#include "net/net.h"

static const char usage[] =
	"Usage: rempart [-c PATH] down\n\n"
	"Detach the BPF programs, remove the pinned maps, and remove the interfaces,\n"
	"addresses, routes and rules rempart created.  Nothing else is touched.\n";

int cmd_down(int argc, char **argv, const struct globals *g)
{
	struct rp_config cfg = { 0 };
	struct diag d = { 0 };
	int rc = RP_EXIT_OK;

	if (want_help(argc, argv, usage))
		return RP_EXIT_OK;
	if (argc > 1) {
		fprintf(stderr, "rempart: down: unexpected argument '%s' (try --help)\n", argv[1]);
		return RP_EXIT_CONFIG;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "rempart: down: needs root\n");
		return RP_EXIT_RUNTIME;
	}
	if (dataplane_down(&d))
		rc = RP_EXIT_RUNTIME;
	/* net_down needs the config for its state_dir */
	if (load_config_or_report(g, RP_CFG_SKIP_KEY_FILES, &cfg) == RP_EXIT_OK) {
		if (net_down(&cfg, &d))
			rc = RP_EXIT_RUNTIME;
		config_free(&cfg);
	} else {
		rc = RP_EXIT_CONFIG;
	}
	diag_print(&d, stderr);
	diag_free(&d);
	return rc;
}
