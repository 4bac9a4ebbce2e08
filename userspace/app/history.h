/* history.h — the last HISTORY_MAX applied configurations, to list
 * (`rempart history`, history_store.c) and go back to (`rempart rollback
 * [N]`, history.c).
 *
 * STATE_DIR/history/0 is the configuration applied now, 1 the one before,
 * and so on: each a copy of applied/ (rempart.ini, the tenant files, the
 * key files they name, mode 0600, and where they came from) with "meta"
 * (when it was applied and a one-line summary) and "geo.fp" (the geo
 * database's fingerprint then, dataplane/geo.fp).  Every commit of applied/
 * (an apply, a reload of `rempart run`, a rollback) pushes one: the oldest
 * falls off.  The directory is 0700 like the state directory. */
#ifndef REMPART_HISTORY_H
#define REMPART_HISTORY_H
#include <limits.h>
#include <stddef.h>
#include "lib/diag.h"

#define HISTORY_MAX 10

struct history_entry {
	int n;			/* 0: the current one */
	long long time;		/* unix seconds it was applied */
	char summary[200];	/* "3 tenants, 12 sites, 4 rules, 1 share" */
	char geo[200];		/* the geo files then ("" when none loaded) */
};

/* STATE_DIR/history/N into buf. */
void history_dir(char buf[PATH_MAX], const char *state_dir, int n);
/* Copy applied/ in as history/0, shifting the others (under confirm.lock).
 * 0 or -errno (logged: the apply itself stands). */
int history_push(const char *state_dir);
/* The entries, newest first: how many (at most max), or -errno. */
int history_list(const char *state_dir, struct history_entry *v, size_t max);
/* `rollback N`: history/N put back in place and applied (it becomes
 * history/0).  An exit code, with messages in *d. */
int history_rollback(const char *state_dir, int n, struct diag *d);
#endif
