// SPDX-License-Identifier: GPL-2.0
/* confirm_nothing.c — `apply --confirm` when nothing was applied before (a
 * first apply): the rollback target is "nothing configured", fail closed.
 *
 * At arming, confirm/previous/ holds only "source" (where the configuration
 * lives) and the marker SD_SNAP_NOTHING.  Rolling back to it, under
 * confirm.lock then change.lock: net_down() removes what rempart created in
 * the kernel (tunnels and their wireguard-go, addresses, routes, rules, NAT,
 * the forwarding sysctls back), then dataplane_close() installs a policy
 * without tenants and keeps the programs attached (the uplink admits the
 * management fence and nothing else; a cloud interface is dropped whole).
 * The change is recorded as a `down` (a running daemon restores nothing
 * until its next reload).  The undone files go to rejected/ and leave their
 * place, so that neither a reboot (`rempart run` at boot) nor a reload
 * brings them back unconfirmed; applied/ and history/ (which held only the
 * undone configurations) are removed: the next `apply --confirm` is a first
 * one again. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "app/changelock.h"
#include "app/confirm.h"
#include "app/confirm_files.h"
#include "app/exitcode.h"
#include "dataplane/dataplane.h"
#include "lib/log.h"
#include "lib/statedir.h"
#include "net/net.h"

int confirm_snap_nothing(const char *dir, const char *main, const char *tenants)
{
	char p[PATH_MAX], source[2 * PATH_MAX + 32];
	int err;

	char parent[PATH_MAX], *slash;

	rm_rf(dir);
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = 0;
		if (mkdir(parent, 0700) && errno != EEXIST)
			return -errno;
	}
	if (mkdir(dir, 0700))
		return -errno;
	snprintf(source, sizeof(source), "config %s\ntenants %s\n", main, tenants);
	statedir_path(p, dir, SD_SNAP_SOURCE);
	err = write_text(p, source);
	statedir_path(p, dir, SD_SNAP_NOTHING);
	return err ? err : write_text(p, "nothing was applied before\n");
}

bool confirm_snap_is_nothing(const char *snap)
{
	char p[PATH_MAX];

	statedir_path(p, snap, SD_SNAP_NOTHING);
	return !access(p, F_OK);
}

/* The undone configuration's files into rejected/, then out of their place. */
static void files_away(const char *state_dir, const char *main, const char *tenants)
{
	char rej[PATH_MAX], q[2 * PATH_MAX + 300], source[2 * PATH_MAX + 32];
	struct dirent *e;
	DIR *dir;

	snprintf(source, sizeof(source), "config %s\ntenants %s\n", main, tenants);
	statedir_path(rej, state_dir, SD_REJECTED);
	if (snap_save(rej, main, tenants, source)) {
		pr_warn("rollback: cannot keep the undone configuration in %s: its files stay "
			"in place (a reload or a reboot would apply them)", rej);
		return;
	}
	dir = opendir(tenants);
	while (dir && (e = readdir(dir))) {
		snprintf(q, sizeof(q), "%s/%s", tenants, e->d_name);
		if (is_ini(e->d_name) && unlink(q))
			pr_warn("rollback: %s: %s", q, strerror(errno));
	}
	if (dir)
		closedir(dir);
	if (unlink(main))
		pr_warn("rollback: %s: %s", main, strerror(errno));
}

int confirm_restore_nothing_locked(const char *state_dir, const char *snap, struct diag *d)
{
	char main[PATH_MAX], tenants[PATH_MAX], p[PATH_MAX];
	struct rp_config cfg = { 0 };
	struct diag ld = { 0 };
	struct change_lock cl;
	bool have_cfg;
	int err, ret = RP_EXIT_OK;

	err = snap_source(snap, main, tenants);
	if (err) {
		diag_add(d, "%s: no configuration to roll back from: %s", snap, strerror(-err));
		return RP_EXIT_RUNTIME;
	}
	/* its [gateway] and [management]: the fence that stays */
	have_cfg = !config_load(main, RP_CFG_SKIP_KEY_FILES, &cfg, &ld);
	if (!have_cfg)
		pr_warn("rollback: %s does not load (%s): the programs keep the policy installed now",
			main, ld.n ? ld.msgs[0] : "?");
	diag_free(&ld);
	if (change_lock(state_dir, &cl, d)) {
		config_free(&cfg);
		return RP_EXIT_RUNTIME;
	}
	err = net_down(state_dir, d);
	if (err) {
		ret = RP_EXIT_RUNTIME;
		diag_add(d, "rollback: rempart's network configuration is not all removed; the "
			 "programs stay attached with the policy installed now");
	} else if (have_cfg && dataplane_close(&cfg, d)) {
		ret = RP_EXIT_RUNTIME;
	}
	change_unlock(&cl, err && err != -EIO ? CH_NONE : CH_DOWN);
	config_free(&cfg);
	files_away(state_dir, main, tenants);
	statedir_path(p, state_dir, SD_APPLIED);
	rm_rf(p);
	statedir_path(p, state_dir, SD_HISTORY_DIR);
	rm_rf(p);
	statedir_path(p, state_dir, SD_REJECTED);
	if (!ret)
		pr_warn("rollback: nothing was applied before: back to nothing configured, fail "
			"closed (tunnels, addresses, routes and rules removed; the programs stay "
			"attached and admit management only); the undone configuration is kept "
			"in %s", p);
	return ret;
}
