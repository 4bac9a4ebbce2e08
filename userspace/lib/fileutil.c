// SPDX-License-Identifier: GPL-2.0
/* fileutil.c — see fileutil.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/fileutil.h"

char *file_read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&buf, &cap, 0, f);
	fclose(f);
	if (n < 0) {
		free(buf);
		buf = strdup("");
		n = 0;
	}
	if (len)
		*len = (size_t)n;
	return buf;
}

int fd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int file_write_all(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int err;

	if (fd < 0)
		return -errno;
	err = fd_write_all(fd, data, len);
	if (close(fd) && !err)
		err = -errno;
	return err;
}

int file_replace(const char *path, const struct iovec *iov, size_t n, mode_t mode, bool durable)
{
	char tmp[PATH_MAX + 16];
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.rempart-tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < n && !err; i++)
		err = fd_write_all(fd, iov[i].iov_base, iov[i].iov_len);
	if (!err && durable && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

bool file_holds(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	bool same = false;
	size_t n;
	char *have;

	if (fd < 0)
		return false;
	if (!fstat(fd, &sb) && S_ISREG(sb.st_mode) && (sb.st_mode & 07777) == mode &&
	    (size_t)sb.st_size == len) {
		have = fd_read_all(fd, &n);
		same = have && n == len && !memcmp(have, data, len);
		free(have);
	}
	close(fd);
	return same;
}

/* The whole of fd, NUL-terminated (it may hold NULs: *len says where it
 * ends); NULL with errno. */
char *fd_read_all(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	struct stat sb;
	char *buf, *more;

	if (!fstat(fd, &sb) && sb.st_size > 0)
		cap = (size_t)sb.st_size + 1;
	buf = malloc(cap + 1);
	if (!buf)
		return NULL;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			more = realloc(buf, 2 * cap + 1);
			if (!more)
				goto fail;
			buf = more;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (!r)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	{
		int e = errno;

		free(buf);
		errno = e;
		return NULL;
	}
}

int path_relative(const char *from_dir, const char *to, char *buf, size_t len)
{
	size_t common = 0, i, n = 0;

	if (from_dir[0] != '/' || to[0] != '/')
		return -EINVAL;
	/* the longest common run of whole components */
	for (i = 0; from_dir[i] && from_dir[i] == to[i]; i++)
		if (from_dir[i] == '/')
			common = i;
	if (!from_dir[i] && (to[i] == '/' || !to[i]))
		common = i;
	else if (!from_dir[i] && i == 1)	/* from_dir is "/" */
		common = 0;
	buf[0] = 0;
	/* one ".." per component of from_dir left after the common part */
	for (const char *p = from_dir + common; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/') {
			if (n + 3 >= len)
				return -ENAMETOOLONG;
			memcpy(buf + n, "../", 4);
			n += 3;
		}
	if (n + strlen(to + common + 1) + 1 > len)
		return -ENAMETOOLONG;
	strcpy(buf + n, to + common + (to[common] == '/'));
	return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}
