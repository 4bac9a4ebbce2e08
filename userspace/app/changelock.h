/* changelock.h — one change of the system at a time: STATE_DIR/change.lock
 * (lib/statedir.h), held around the network part and the dataplane part of
 * every change (apply, the daemon's reloads and restores, a confirm
 * rollback, down), so that two changes never interleave (one writing into a
 * policy slot the other just activated, one removing a tunnel the other
 * just made).  The file holds the last change: its number, kind and pid,
 * so that the daemon can tell whether someone else changed the system
 * since it last did (then its own view of the configuration is stale). */
#ifndef REMPART_CHANGELOCK_H
#define REMPART_CHANGELOCK_H
#include <stdint.h>
#include "lib/diag.h"

enum change_kind { CH_NONE, CH_APPLY, CH_RELOAD, CH_RESTORE, CH_ROLLBACK, CH_DOWN };

struct change_lock {
	int fd;
	uint64_t seq;			/* the last change recorded in the file */
	enum change_kind last;		/* its kind */
	int last_pid;
};

/* Wait for and take the lock (creating the state directory); *l then tells
 * the last change.  0, or -errno after one message in *d. */
int change_lock(const char *state_dir, struct change_lock *l, struct diag *d);
/* Record a change of KIND by this process (seq + 1) and release.  KIND
 * CH_NONE releases without recording (nothing was changed). */
void change_unlock(struct change_lock *l, enum change_kind kind);
/* The last change recorded, read without the lock: 0 if none. */
uint64_t change_last(const char *state_dir, enum change_kind *kind, int *pid);
const char *change_kind_name(enum change_kind k);
#endif
