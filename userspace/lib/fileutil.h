/* fileutil.h — small file helpers shared by the commands and modules. */
#ifndef REMPART_FILEUTIL_H
#define REMPART_FILEUTIL_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* The whole file as a NUL-terminated string (an unreadable body reads as
 * ""); NULL if it cannot be opened (errno set).  *len gets its length when
 * len is not NULL.  The caller frees. */
char *file_read_all(const char *path, size_t *len);

/* The rest of fd, NUL-terminated; it may hold NULs: *len says where it
 * ends.  NULL with errno set.  The caller frees. */
char *fd_read_all(int fd, size_t *len);

/* All len bytes of buf to fd (retrying short writes and EINTR); 0 or a
 * negative errno (-EIO when write makes no progress). */
int fd_write_all(int fd, const void *buf, size_t len);

/* Create or truncate path with mode and write all len bytes of data.
 * 0 or a negative errno. */
int file_write_all(const char *path, const void *data, size_t len, mode_t mode);

/* Replace path with the n buffers of iov, written to "<path>.rempart-tmp"
 * (mode) and renamed over it: a reader sees the old file or the new one,
 * never a part.  durable: fsync before the rename (a file that must
 * survive a crash, like the operator's config).  0 or a negative errno;
 * the temporary file is gone on failure. */
int file_replace(const char *path, const struct iovec *iov, size_t n, mode_t mode, bool durable);
/* Whether path is a regular file of mode (permission bits) holding exactly
 * the len bytes of data: a rewrite (and its fsync) would change nothing. */
bool file_holds(const char *path, const void *data, size_t len, mode_t mode);
/* TO (an absolute path) relative to the directory FROM_DIR (absolute, no
 * trailing '/'), into buf: "/etc/r/keys/a.psk" from "/etc/r/tenants.d" is
 * "../keys/a.psk".  Lexical: both normalized.  0 or -errno. */
int path_relative(const char *from_dir, const char *to, char *buf, size_t len);

/* mkdir -p: path and every missing parent, each with mode (0700 for the
 * state directory and its parts).  0 or a negative errno. */
int mkdir_p(const char *path, mode_t mode);
#endif
