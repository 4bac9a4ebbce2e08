/* confirm_files.h — file helpers of confirm.c (internal).  Paths are
 * PATH_MAX buffers; functions return 0 or -errno. */
#ifndef REMPART_CONFIRM_FILES_H
#define REMPART_CONFIRM_FILES_H
#include <stdbool.h>
#include <stddef.h>

void rm_rf(const char *path);
int copy_file(const char *src, const char *dst);	/* file_replace(): keeps the mode, durable */
int write_text(const char *path, const char *text);	/* file_replace(), mode 0600 */
int read_text(const char *path, char *buf, size_t len);
bool is_ini(const char *name);
int copy_inis(const char *src, const char *dst);	/* every *.ini of SRC into DST */
/* A snapshot directory: rempart.ini, tenants/ (the .ini files) and "source"
 * ("config PATH\ntenants DIR\n": where they came from).  Replaced whole. */
int snap_save(const char *dir, const char *main, const char *tenants, const char *source);
/* snap_save in two steps: build it beside DIR (tmp: PATH_MAX, this
 * process's), then swap it in (under the state lock); rm_rf(tmp) drops it. */
int snap_prepare(const char *dir, const char *main, const char *tenants, const char *source,
		 char *tmp);
int snap_commit(const char *dir, const char *tmp);
int snap_copy(const char *src, const char *dst);
int snap_source(const char *snap, char *main, char *tenants);	/* PATH_MAX each */
#endif
