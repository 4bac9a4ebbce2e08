// SPDX-License-Identifier: GPL-2.0
/* statedir.c — the state directory's paths and locks; see statedir.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>
#include "lib/fileutil.h"
#include "lib/statedir.h"

int statedir_path(char buf[PATH_MAX], const char *state_dir, const char *rel)
{
	if ((size_t)snprintf(buf, PATH_MAX, "%s/%s", state_dir, rel) < PATH_MAX)
		return 0;
	buf[0] = 0;
	return -ENAMETOOLONG;
}

int statedir_wg_path(char buf[PATH_MAX], const char *state_dir, const char *ifname,
		     const char *ext)
{
	if ((size_t)snprintf(buf, PATH_MAX, "%s/" SD_WG_DIR "/%s.%s", state_dir, ifname, ext) <
	    PATH_MAX)
		return 0;
	buf[0] = 0;
	return -ENAMETOOLONG;
}

int statedir_slot_rec(char buf[PATH_MAX], const char *dir, unsigned slot)
{
	if ((size_t)snprintf(buf, PATH_MAX, "%s/slot%u.rec", dir, slot) < PATH_MAX)
		return 0;
	buf[0] = 0;
	return -ENAMETOOLONG;
}

int statedir_pubkey_path(char buf[PATH_MAX], const char *state_dir, const char *tenant)
{
	if ((size_t)snprintf(buf, PATH_MAX, "%s/" SD_PUBKEYS_DIR "/%s.pub", state_dir, tenant) <
	    PATH_MAX)
		return 0;
	buf[0] = 0;
	return -ENAMETOOLONG;
}

static int lock(const char *state_dir, const char *lock, int how)
{
	char path[PATH_MAX];
	int fd, err = mkdir_p(state_dir, 0700);

	if (err)
		return err;
	err = statedir_path(path, state_dir, lock);
	if (err)
		return err;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, how)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(fd);
		return err;
	}
	return fd;
}

int statedir_lock(const char *state_dir, const char *name)
{
	return lock(state_dir, name, LOCK_EX);
}

int statedir_trylock(const char *state_dir, const char *name)
{
	return lock(state_dir, name, LOCK_EX | LOCK_NB);
}
