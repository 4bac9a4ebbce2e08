// SPDX-License-Identifier: GPL-2.0
/* cmd_apply.c — `rempart apply`: make the system match the configuration.
 *
 * Order (daemon_enforce, under the change lock: one change at a time): the
 * programs on every configured interface that exists, the kernel side
 * (interfaces, addresses, routes, WireGuard: net/net_apply.c; a link it
 * brings up gets its programs first), then the dataplane (policy swapped in
 * atomically, programs attached or replaced in place); on a first start the
 * uplink is fenced before the tunnels open. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <stdlib.h>
#include <json-c/json.h>
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

enum { O_CONFIRM = 256, O_JSON, O_DRY_RUN };

static const struct cli_opt opts[] = {
	{ "confirm", O_CONFIRM, "SECONDS", NULL,
	  "roll back by itself unless `rempart confirm` comes within SECONDS" },
	{ "dry-run", O_DRY_RUN, NULL, NULL,
	  "print what apply would change (as `rempart diff`), change nothing" },
	{ "json", O_JSON, NULL, NULL, "the outcome as one JSON object on stdout" },
	{ 0 }
};

static int cmd_apply(int argc, char **argv, struct globals *g);

const struct cli_cmd def_apply = {
	.name = "apply",
	.summary = "Make the system match the configuration",
	.text = "Interfaces, addresses, routes, rules, WireGuard peers, BPF programs and\n"
		"maps, changed only where they differ: a second apply changes nothing.\n"
		"A configuration that fails a check changes nothing.  A running\n"
		"`rempart run` of the same configuration is asked to reload.  With\n"
		"--confirm, the configuration applied before comes back by itself at the\n"
		"deadline unless `rempart confirm` keeps the new one.  With --dry-run,\n"
		"one line per change it would make, and nothing changed.\n",
	.opts = opts,
	.fn = cmd_apply,
};

static void print_outcome(const struct globals *g, bool ok, const struct diag *d, pid_t pid,
			  unsigned long confirm_s)
{
	struct json_object *o = json_object_new_object(), *errs = json_object_new_array();
	uint64_t gen = 0;

	json_object_object_add(o, "applied", json_object_new_boolean(ok));
	if (ok && !daemon_generation(&gen))
		json_object_object_add(o, "policy_generation", json_object_new_uint64(gen));
	json_object_object_add(o, "daemon_pid", pid > 0 ? json_object_new_int(pid) : NULL);
	json_object_object_add(o, "confirm_seconds",
			       ok && confirm_s ? json_object_new_int64((int64_t)confirm_s) : NULL);
	for (size_t i = 0; d && i < d->n; i++)
		json_object_array_add(errs, json_object_new_string(d->msgs[i]));
	json_object_object_add(o, "errors", errs);
	print_json(g, o, true);
}

static int cmd_apply(int argc, char **argv, struct globals *g)
{
	struct rp_config cfg = { 0 };
	struct geo_db geo = { 0 }, *geop = NULL;
	struct diag d = { 0 };
	struct confirm_record rec = { 0 };
	unsigned long confirm_s = 0;
	bool armed = false;
	pid_t pid = 0;
	struct cli_parse p;
	bool json = false, dry = false;
	int rc, err = 0, key;
	double t0;

	cli_begin(&p, argc, argv, g);
	while ((key = cli_next(&p)) > 0)
		switch (key) {
		case O_CONFIRM:
			if (cli_ulong(g, "confirm", p.val, 1, 86400, &confirm_s))
				return RP_EXIT_CONFIG;
			break;
		case O_JSON: json = true; break;
		case O_DRY_RUN: dry = true; break;
		}
	if (key < 0)
		return cli_status(key);
	if (cli_args(&p, 0, 0))
		return RP_EXIT_CONFIG;
	t0 = clock_ms();
	if (config_load(g->config_path, 0, &cfg, &d)) {
		if (!diag_count(&d))
			diag_add(&d, "rempart: %s: cannot load the configuration", g->config_path);
		diag_print(&d, stderr);
		if (json)
			print_outcome(g, false, &d, 0, 0);
		diag_free(&d);
		return RP_EXIT_CONFIG;
	}
	pr_debug("apply: configuration read (%.1f ms)", clock_ms() - t0);
	if (dry && confirm_s) {
		cli_err(g, "--dry-run and --confirm: a dry run applies nothing to confirm");
		rc = RP_EXIT_CONFIG;
		goto out;
	}
	rekey_done_load(&cfg, !dry);	/* site rotations the tunnel finished */
	if (dry) {
		rc = plan_print(g, &cfg, json);
		goto out;
	}
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
	pr_debug("apply: snapshot started (%.1f ms)", clock_ms() - t0);
	if ((cfg.geo_ipv4 || cfg.geo_ipv6) && dataplane_geo_unchanged(&cfg)) {
		pr_debug("apply: geo database files unchanged since loaded: not read");
	} else if (cfg.geo_ipv4 || cfg.geo_ipv6) {
		err = geo_load(&cfg, &geo, &d);
		if (err)
			goto fail;
		geop = &geo;
	}
	pr_debug("apply: geo database read (%.1f ms)", clock_ms() - t0);
	err = daemon_enforce(&cfg, &geo, NULL, &d);	/* net_apply, then dataplane_apply */
	if (err)
		goto fail;
	pr_debug("apply: dataplane done (%.1f ms)", clock_ms() - t0);
	err = confirm_record_end(&rec, true, &d);
	if (err)
		goto fail;
	pr_debug("apply: applied configuration recorded (%.1f ms)", clock_ms() - t0);
	pid = pidfile_hup(cfg.state_dir, cfg.path);
	pr_debug("apply: done (%.1f ms)", clock_ms() - t0);
	if (json)
		print_outcome(g, true, NULL, pid, armed ? confirm_s : 0);
	if (pid && !json)	/* its metrics, events and reloads follow the new config */
		printf("applied; the running daemon (pid %d) reloads it\n", (int)pid);
	if (armed && !json)
		printf("applied; run `rempart confirm` within %lu s to keep it, "
		       "or the previous configuration comes back by itself\n", confirm_s);
	rc = RP_EXIT_OK;
	goto out;
fail:
	confirm_record_end(&rec, false, &d);
	if (!diag_count(&d))
		diag_add(&d, "rempart: apply: %s", strerror(-err));
	diag_print(&d, stderr);
	if (json)
		print_outcome(g, false, &d, 0, 0);
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
