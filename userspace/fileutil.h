/* fileutil.h — small file helpers shared by the commands and modules. */
#ifndef REMPART_FILEUTIL_H
#define REMPART_FILEUTIL_H
#include <stddef.h>
#include <sys/types.h>

/* The whole file as a NUL-terminated string (an unreadable body reads as
 * ""); NULL if it cannot be opened (errno set).  *len gets its length when
 * len is not NULL.  The caller frees. */
char *file_read_all(const char *path, size_t *len);

/* All len bytes of buf to fd (retrying short writes and EINTR); 0 or a
 * negative errno (-EIO when write makes no progress). */
int fd_write_all(int fd, const void *buf, size_t len);

/* Create or truncate path with mode and write all len bytes of data.
 * 0 or a negative errno. */
int file_write_all(const char *path, const void *data, size_t len, mode_t mode);
#endif
