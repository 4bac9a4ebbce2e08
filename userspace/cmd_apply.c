// SPDX-License-Identifier: GPL-2.0
/* cmd_apply.c — `rempart apply`: make the system match the configuration.
 *
 * Order: the kernel side (interfaces, addresses, routes, WireGuard: net.c)
 * first, so that the tunnel interfaces exist, then the dataplane (policy
 * swapped in atomically, programs attached or replaced in place). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "config.h"
#include "dataplane.h"
#include "geo.h"
#include "log.h"
#include "net.h"

static const char usage[] =
	"Usage: rempart [-c PATH] apply\n\n"
	"Make the system match the configuration: interfaces, addresses, routes,\n"
	"WireGuard peers, BPF programs and maps.  Idempotent.\n";

int cmd_apply(int argc, char **argv, const struct globals *g)
{
	struct rp_config cfg = { 0 };
	struct geo_db geo = { 0 }, *geop = NULL;
	struct diag d = { 0 };
	int rc, err = 0;

	if (want_help(argc, argv, usage))
		return RP_EXIT_OK;
	if (argc > 1) {
		fprintf(stderr, "rempart: apply: unexpected argument '%s' (try --help)\n", argv[1]);
		return RP_EXIT_CONFIG;
	}
	rc = load_config_or_report(g, 0, &cfg);
	if (rc)
		return rc;
	if (geteuid() != 0) {
		fprintf(stderr, "rempart: apply: needs root (BPF programs, network configuration)\n");
		rc = RP_EXIT_RUNTIME;
		goto out;
	}
	if (cfg.geo_ipv4 || cfg.geo_ipv6) {
		err = geo_load(&cfg, &geo, &d);
		if (err)
			goto fail;
		geop = &geo;
	}
	err = net_apply(&cfg, &d);
	if (err)
		goto fail;
	err = dataplane_apply(&cfg, geop, &d);
	if (err)
		goto fail;
	rc = RP_EXIT_OK;
	goto out;
fail:
	diag_print(&d, stderr);
	if (!diag_count(&d))
		fprintf(stderr, "rempart: apply: %s\n", strerror(-err));
	rc = RP_EXIT_RUNTIME;
out:
	if (geop)
		geo_free(geop);
	diag_free(&d);
	config_free(&cfg);
	return rc;
}
