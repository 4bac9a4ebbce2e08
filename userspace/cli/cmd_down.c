// SPDX-License-Identifier: GPL-2.0
/* cmd_down.c — `rempart down`: remove everything rempart created, and
 * nothing else, from what it recorded: the kernel configuration in
 * net.state (net/), then the BPF side (links and maps pinned under
 * RP_PIN_DIR).  The forwarding paths go first and the programs last, so
 * that no packet is forwarded unjudged at any moment; a `down` that fails
 * or is killed half-way leaves the programs in place, and the next one
 * finishes.  It needs no loadable configuration: only its state_dir (read
 * from rempart.ini even when the rest is broken; rempart(8), down). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "app/changelock.h"
#include "cli/commands.h"
#include "config/config.h"
#include "dataplane/dataplane.h"
#include "lib/statedir.h"
#include "net/net.h"

static int cmd_down(int argc, char **argv, struct globals *g);

const struct cli_cmd def_down = {
	.name = "down",
	.summary = "Remove everything rempart created",
	.text = "Remove the interfaces, addresses, routes, rules, NAT and forwarding settings\n"
		"rempart created (as recorded in its state directory), then detach the BPF\n"
		"programs and remove the pinned maps.  Nothing else is touched.  Works even\n"
		"when the configuration no longer loads.\n",
	.fn = cmd_down,
};

/* The state directory: the configuration's, or (it does not load) the
 * state_dir line of rempart.ini, else the default. */
static char *state_dir_of(const struct globals *g)
{
	struct rp_config cfg = { 0 };
	struct diag d = { 0 };
	char *dir = NULL;

	if (!config_load(g->config_path, RP_CFG_SKIP_KEY_FILES, &cfg, &d)) {
		dir = strdup(cfg.state_dir);
		config_free(&cfg);
	} else {
		int from_file = config_state_dir(g->config_path, &dir);
		char rec[PATH_MAX];

		statedir_path(rec, dir ? dir : "", SD_NET_STATE);
		fprintf(stderr, "rempart: down: the configuration does not load (%s%s); removing "
			"what %s and %s record (state_dir %s)\n",
			d.n ? d.msgs[0] : "?", d.n > 1 ? ", ..." : "", rec, RP_PIN_DIR,
			from_file ? "from rempart.ini" : "by default");
	}
	diag_free(&d);
	return dir;
}

static int cmd_down(int argc, char **argv, struct globals *g)
{
	struct change_lock lock;
	struct diag d = { 0 };
	struct cli_parse p;
	char *state_dir;
	bool done;
	int rc, err;

	rc = cli_parse_simple(&p, argc, argv, g, 0, &done);
	if (done)
		return rc;
	rc = RP_EXIT_OK;
	if (geteuid() != 0) {
		fprintf(stderr, "rempart: down: needs root\n");
		return RP_EXIT_RUNTIME;
	}
	state_dir = state_dir_of(g);
	if (!state_dir) {
		fprintf(stderr, "rempart: down: %s\n", strerror(ENOMEM));
		return RP_EXIT_RUNTIME;
	}
	lock.fd = -1;
	/* a state directory that is not there holds nothing to remove (and
	 * is not made for the lock) */
	if (!access(state_dir, F_OK) && change_lock(state_dir, &lock, &d)) {
		rc = RP_EXIT_RUNTIME;
		goto out;
	}
	/* forwarding paths first; the programs only once nothing of ours
	 * forwards any more */
	err = net_down(state_dir, &d);
	if (err) {
		rc = RP_EXIT_RUNTIME;
		diag_add(&d, "rempart: down: the BPF programs stay attached while rempart's "
			 "network configuration is not all removed (run `down` again once fixed)");
	} else if (dataplane_down(&d)) {
		rc = RP_EXIT_RUNTIME;
	}
	/* refused before any change (net.state not rempart's): no `down` to
	 * record, the daemon goes on restoring */
	change_unlock(&lock, err && err != -EIO ? CH_NONE : CH_DOWN);
out:
	diag_print(&d, stderr);
	diag_free(&d);
	free(state_dir);
	return rc;
}
