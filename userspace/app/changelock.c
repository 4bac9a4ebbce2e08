// SPDX-License-Identifier: GPL-2.0
/* changelock.c — STATE_DIR/change.lock; see changelock.h.  The record is
 * one line, "SEQ KIND PID", rewritten in place while the lock is held. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "app/changelock.h"
#include "lib/statedir.h"

static const char *const kind_name[] = { "none", "apply", "reload", "restore", "rollback", "down" };

const char *change_kind_name(enum change_kind k)
{
	return (unsigned)k < sizeof(kind_name) / sizeof(kind_name[0]) ? kind_name[k] : "?";
}

static void parse(const char *buf, uint64_t *seq, enum change_kind *kind, int *pid)
{
	unsigned long long s = 0;
	char name[16] = "";
	int p = 0;

	*seq = 0;
	*kind = CH_NONE;
	*pid = 0;
	if (sscanf(buf, "%llu %15s %d", &s, name, &p) != 3)
		return;
	*seq = s;
	*pid = p;
	for (size_t i = 0; i < sizeof(kind_name) / sizeof(kind_name[0]); i++)
		if (!strcmp(name, kind_name[i]))
			*kind = (enum change_kind)i;
}

static void read_record(int fd, uint64_t *seq, enum change_kind *kind, int *pid)
{
	char buf[64];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = 0;
	parse(buf, seq, kind, pid);
}

int change_lock(const char *state_dir, struct change_lock *l, struct diag *d)
{
	char path[PATH_MAX];

	l->fd = statedir_lock(state_dir, SD_CHANGE_LOCK);
	if (l->fd < 0) {
		statedir_path(path, state_dir, SD_CHANGE_LOCK);
		diag_add(d, "cannot lock %s: %s", path, strerror(-l->fd));
		return l->fd;
	}
	read_record(l->fd, &l->seq, &l->last, &l->last_pid);
	return 0;
}

void change_unlock(struct change_lock *l, enum change_kind kind)
{
	char buf[64];
	int n;

	if (l->fd < 0)
		return;
	if (kind != CH_NONE) {
		n = snprintf(buf, sizeof(buf), "%llu %s %d\n", (unsigned long long)l->seq + 1,
			     change_kind_name(kind), (int)getpid());
		if (pwrite(l->fd, buf, (size_t)n, 0) == n && !ftruncate(l->fd, n)) {
			l->seq++;
			l->last = kind;
			l->last_pid = getpid();
		}
	}
	close(l->fd);
	l->fd = -1;
}

uint64_t change_last(const char *state_dir, enum change_kind *kind, int *pid)
{
	char path[PATH_MAX];
	enum change_kind k;
	uint64_t seq = 0;
	int fd, p;

	if (statedir_path(path, state_dir, SD_CHANGE_LOCK))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	read_record(fd, &seq, &k, &p);
	close(fd);
	if (kind)
		*kind = k;
	if (pid)
		*pid = p;
	return seq;
}
