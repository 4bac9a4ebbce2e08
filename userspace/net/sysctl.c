// SPDX-License-Identifier: GPL-2.0
/* sysctl.c — the sysctls an apply needs (IPv4 and IPv6 forwarding): set
 * if they differ, the value before rempart's first change kept in net.state
 * for `down`. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "lib/fileutil.h"
#include "net/net_priv.h"
#include "net/reconcile.h"

static int read_sysctl(const char *path, char *val, size_t len)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	if (!fgets(val, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	val[strcspn(val, "\n")] = 0;
	return 0;
}

int net_set_sysctl(struct apply *a, const char *path, const char *want)
{
	char cur[32];
	bool known = false;
	struct undo *u;
	int err;

	err = read_sysctl(path, cur, sizeof(cur));
	if (err) {
		diag_add(a->d, "cannot read %s: %s", path, strerror(-err));
		return err;
	}
	if (!strcmp(cur, want))
		return 0;
	/* Remember the value before rempart's first change, for `down`:
	 * recorded before the write, so that a killed apply leaves it known. */
	for (size_t i = 0; i < a->old.n && !known; i++)
		known = !strncmp(a->old.lines[i], "sysctl ", 7) &&
			!strncmp(a->old.lines[i] + 7, path, strlen(path)) &&
			a->old.lines[i][7 + strlen(path)] == ' ';
	if (!known && ((err = net_intend(a, "sysctl %s %s", path, cur)) || (err = net_intent_flush(a))))
		return err;
	err = file_write_all(path, want, strlen(want), 0644);
	if (err) {
		diag_add(a->d, "cannot write %s: %s", path, strerror(-err));
		return err;
	}
	u = net_journal(a, U_SYSCTL);
	if (!u)
		return -ENOMEM;
	snprintf(u->path, sizeof(u->path), "%s", path);
	snprintf(u->val, sizeof(u->val), "%s", cur);
	a->changes++;
	return 0;
}
