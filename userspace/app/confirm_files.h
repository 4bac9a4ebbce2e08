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
/* A snapshot directory: rempart.ini, tenants/ (the .ini files), keys/ (the
 * key files the configuration names: keys/list their paths, keys/N the
 * files, 0600) and "source" ("config PATH\ntenants DIR\n": where they came
 * from).  Replaced whole.  snap_save: without keys. */
int snap_save(const char *dir, const char *main, const char *tenants, const char *source);
/* A snapshot in two steps: build it beside DIR (tmp: PATH_MAX, this
 * process's), then swap it in (under the state lock); rm_rf(tmp) drops it. */
int snap_prepare(const char *dir, const char *main, const char *tenants, const char *source,
		 char *const *keys, size_t n_keys, char *tmp);
/* Put the key files of snapshot SNAP back where they were (mode 0600).
 * 0, or -errno with what failed in WHY. */
int snap_keys_restore(const char *snap, char *why, size_t whylen);
int snap_commit(const char *dir, const char *tmp);
int snap_copy(const char *src, const char *dst);	/* with its keys */
int snap_source(const char *snap, char *main, char *tenants);	/* PATH_MAX each */
#endif
