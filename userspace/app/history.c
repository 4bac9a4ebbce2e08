// SPDX-License-Identifier: GPL-2.0
/* history.c — `rollback N`: back to a configuration of the history; see
 * history.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "app/confirm.h"
#include "app/confirm_files.h"
#include "app/exitcode.h"
#include "app/history.h"
#include "lib/statedir.h"

int history_rollback(const char *state_dir, int n, struct diag *d)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 16], meta[PATH_MAX + 16];
	bool restored = false;
	int lock, ret;

	history_dir(dir, state_dir, n);
	snprintf(meta, sizeof(meta), "%s/meta", dir);
	if (access(meta, F_OK)) {
		diag_add(d, "rollback: no configuration %d in the history (rempart history lists them)", n);
		return RP_EXIT_CONFIG;
	}
	if (confirm_pending(state_dir, NULL)) {
		diag_add(d, "rollback: an apply --confirm is pending: `rempart confirm` it, or let it "
			    "roll back, first");
		return RP_EXIT_CONFIG;
	}
	lock = statedir_lock(state_dir, SD_CONFIRM_LOCK);
	if (lock < 0) {
		diag_add(d, "%s: %s", state_dir, strerror(-lock));
		return RP_EXIT_RUNTIME;
	}
	/* history/N moves when the restore pushes: restore from a copy */
	snprintf(tmp, sizeof(tmp), "%s/%s/restoring", state_dir, SD_HISTORY_DIR);
	rm_rf(tmp);
	if (snap_copy(dir, tmp)) {
		diag_add(d, "rollback: cannot read %s", dir);
		close(lock);
		return RP_EXIT_RUNTIME;
	}
	ret = confirm_restore_locked(state_dir, tmp, "rollback", &restored, d);
	rm_rf(tmp);
	if (restored)
		confirm_hup_daemon(state_dir);
	close(lock);
	return ret;
}
