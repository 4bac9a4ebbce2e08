// SPDX-License-Identifier: GPL-2.0
/* cmd_apply.c — `rempart apply`: make the system match the configuration.
 *
 * Order (daemon_enforce): the kernel side (interfaces, addresses, routes,
 * WireGuard: net/net_apply.c) first, so that the tunnel interfaces exist, then the
 * dataplane (policy swapped in atomically, programs attached or replaced in
 * place); on a first start the uplink is fenced before the tunnels open. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <stdlib.h>
#include "app/confirm.h"
#include "app/daemon.h"
#include "app/rekey_watch.h"
#include "cli/commands.h"
#include "config/config.h"
#include "dataplane/dataplane.h"
#include "geo/geo.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/pidfile.h"
#include "net/net.h"

static const char usage[] =
	"Usage: rempart [-c PATH] apply [--confirm SECONDS]\n\n"
	"Make the system match the configuration: interfaces, addresses, routes,\n"
	"WireGuard peers, BPF programs and maps.  Idempotent.\n\n"
	"  --confirm SECONDS  roll back to the previous configuration by itself\n"
	"                     unless `rempart confirm` comes within SECONDS\n";

int cmd_apply(int argc, char **argv, const struct globals *g)
{
	struct rp_config cfg = { 0 };
	struct geo_db geo = { 0 }, *geop = NULL;
	struct diag d = { 0 };
	struct confirm_record rec = { 0 };
	unsigned long confirm_s = 0;
	bool armed = false;
	pid_t pid;
	int rc, err = 0;
	double t0;

	if (want_help(argc, argv, usage))
		return RP_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "--confirm") && i + 1 < argc) {
			errno = 0;
			confirm_s = strtoul(argv[++i], &end, 10);
			if (errno || *end || !confirm_s || confirm_s > 86400) {
				fprintf(stderr, "rempart: apply: --confirm '%s': want seconds, 1..86400\n",
					argv[i]);
				return RP_EXIT_CONFIG;
			}
			continue;
		}
		fprintf(stderr, "rempart: apply: unexpected argument '%s' (try --help)\n", argv[i]);
		return RP_EXIT_CONFIG;
	}
	t0 = clock_ms();
	rc = load_config_or_report(g, 0, &cfg);
	pr_debug("apply: configuration read (%.1f ms)", clock_ms() - t0);
	if (rc)
		return rc;
	rekey_done_load(&cfg, true);	/* site rotations the tunnel finished */
	if (geteuid() != 0) {
		fprintf(stderr, "rempart: apply: needs root (BPF programs, network configuration)\n");
		rc = RP_EXIT_RUNTIME;
		goto out;
	}
	if (confirm_s) {
		err = confirm_arm(&cfg, g->config_path, confirm_s, &d);
		if (err)
			goto fail;
		armed = true;
	}
	/* the snapshot of what is applied is made meanwhile */
	err = confirm_record_begin(&cfg, &rec, &d);
	if (err)
		goto fail;
	if ((cfg.geo_ipv4 || cfg.geo_ipv6) && dataplane_geo_unchanged(&cfg)) {
		pr_debug("apply: geo database files unchanged since loaded: not read");
	} else if (cfg.geo_ipv4 || cfg.geo_ipv6) {
		err = geo_load(&cfg, &geo, &d);
		if (err)
			goto fail;
		geop = &geo;
	}
	pr_debug("apply: geo database read (%.1f ms)", clock_ms() - t0);
	err = daemon_enforce(&cfg, &geo, &d);	/* net_apply, then dataplane_apply */
	if (err)
		goto fail;
	pr_debug("apply: dataplane done (%.1f ms)", clock_ms() - t0);
	err = confirm_record_end(&rec, true, &d);
	if (err)
		goto fail;
	pr_debug("apply: applied configuration recorded (%.1f ms)", clock_ms() - t0);
	pid = pidfile_hup(cfg.state_dir, cfg.path);
	if (pid)	/* its metrics, events and reloads follow the new config */
		printf("applied; the running daemon (pid %d) reloads it\n", (int)pid);
	if (armed)
		printf("applied; run `rempart confirm` within %lu s to keep it, "
		       "or the previous configuration comes back by itself\n", confirm_s);
	rc = RP_EXIT_OK;
	goto out;
fail:
	confirm_record_end(&rec, false, &d);
	diag_print(&d, stderr);
	if (!diag_count(&d))
		fprintf(stderr, "rempart: apply: %s\n", strerror(-err));
	rc = RP_EXIT_RUNTIME;
	if (armed) {
		struct diag rd = { 0 };

		fprintf(stderr, "rempart: apply: failed; rolling back to the previous configuration\n");
		confirm_rollback_now(cfg.state_dir, &rd);
		diag_print(&rd, stderr);
		diag_free(&rd);
	}
out:
	if (geop)
		geo_free(geop);
	diag_free(&d);
	config_free(&cfg);
	return rc;
}
