// SPDX-License-Identifier: GPL-2.0
/* confirm_files.c — the file work behind confirm.c: atomic copies,
 * configuration snapshots, the state lock; see confirm_files.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "app/confirm_files.h"
#include "lib/fileutil.h"
#include "lib/statedir.h"

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int copy_file(const char *src, const char *dst)
{
	struct iovec iov;
	struct stat st;
	size_t len;
	char *data;
	int in, err;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	data = fstat(in, &st) ? NULL : fd_read_all(in, &len);
	err = data ? 0 : -errno;
	close(in);
	if (err)
		return err;
	iov = (struct iovec){ data, len };
	err = file_replace(dst, &iov, 1, st.st_mode & 0777, true);
	free(data);
	return err;
}

int write_text(const char *path, const char *text)
{
	const struct iovec iov = { (void *)text, strlen(text) };

	return file_replace(path, &iov, 1, 0600, false);
}

int read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
	return 0;
}

bool is_ini(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && !strcmp(name + n - 4, ".ini") && name[0] != '.';
}

/* Whether files a and b hold the same bytes. */
static bool same_file(const char *a, const char *b)
{
	char x[8192], y[8192];
	struct stat sa, sb;
	bool same = false;
	int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fa < 0 || fb < 0 || fstat(fa, &sa) || fstat(fb, &sb) || sa.st_size != sb.st_size ||
	    (sa.st_mode & 0777) != (sb.st_mode & 0777))
		goto out;
	while ((n = read(fa, x, sizeof(x))) > 0)
		if (read(fb, y, n) != n || memcmp(x, y, n))
			goto out;
	same = n == 0;
out:
	explicit_bzero(x, sizeof(x));	/* key files are compared too */
	explicit_bzero(y, sizeof(y));
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

/* dst as a copy of src: a hard link to prev when prev (the same file in the
 * snapshot being replaced, already on disk) holds the same bytes, else a
 * copy.  A one-file change to 100 tenant files costs one copy and one
 * fsync, not 100. */
static int copy_or_link(const char *src, const char *dst, const char *prev)
{
	if (prev && same_file(src, prev) && !link(prev, dst))
		return 0;
	return copy_file(src, dst);
}

static int copy_inis_from(const char *src, const char *dst, const char *prev_dir)
{
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX];
	struct dirent *e;
	DIR *dir = opendir(src);
	int err = 0;

	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while (!err && (e = readdir(dir))) {
		if (!is_ini(e->d_name))
			continue;
		snprintf(a, sizeof(a), "%s/%s", src, e->d_name);
		snprintf(b, sizeof(b), "%s/%s", dst, e->d_name);
		snprintf(c, sizeof(c), "%s/%s", prev_dir ? prev_dir : "", e->d_name);
		err = copy_or_link(a, b, prev_dir ? c : NULL);
	}
	closedir(dir);
	return err;
}

/* Copy every *.ini of src into dst (a directory that exists). */
int copy_inis(const char *src, const char *dst)
{
	return copy_inis_from(src, dst, NULL);
}

/* ---- key files ------------------------------------------------------------
 * A snapshot's keys/ holds the key files its configuration names: keys/list
 * has their paths, one a line; keys/N holds line N's file.  Mode 0600 in a
 * 0700 directory of the state directory (root's); wiped from memory. */

static int key_copy(const char *src, const char *dst, const char *prev)
{
	struct iovec iov;
	size_t len;
	char *data;
	int fd, err;

	if (prev && same_file(src, prev) && !link(prev, dst))
		return 0;
	fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	data = fd_read_all(fd, &len);
	err = data ? 0 : -errno;
	close(fd);
	if (err)
		return err;
	iov = (struct iovec){ data, len };
	err = file_replace(dst, &iov, 1, 0600, true);
	explicit_bzero(data, len);
	free(data);
	return err;
}

/* The key files KEYS into TMP/keys (files that did not change since
 * PREV_DIR/keys are hard links to its copies). */
static int keys_save(const char *tmp, const char *prev_dir, char *const *keys, size_t n)
{
	char p[PATH_MAX + 32], q[PATH_MAX + 32], *list = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	if (!n)
		return 0;
	snprintf(p, sizeof(p), "%s/keys", tmp);
	if (mkdir(p, 0700))
		return -errno;
	f = open_memstream(&list, &len);
	if (!f)
		return -errno;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", keys[i]);
	if (fclose(f)) {
		free(list);
		return -ENOMEM;
	}
	snprintf(p, sizeof(p), "%s/keys/list", tmp);
	err = write_text(p, list);
	free(list);
	for (size_t i = 0; i < n && !err; i++) {
		snprintf(p, sizeof(p), "%s/keys/%zu", tmp, i);
		snprintf(q, sizeof(q), "%s/keys/%zu", prev_dir ? prev_dir : "", i);
		err = key_copy(keys[i], p, prev_dir ? q : NULL);
	}
	return err;
}

/* Read SNAP/keys/list: its paths (n of them, malloc'd), or none. */
static int keys_list(const char *snap, char ***keys, size_t *n)
{
	char p[PATH_MAX + 32], *text, *line, *save = NULL;

	*keys = NULL;
	*n = 0;
	snprintf(p, sizeof(p), "%s/keys/list", snap);
	text = file_read_all(p, NULL);
	if (!text)
		return errno == ENOENT ? 0 : -errno;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char **v = realloc(*keys, (*n + 1) * sizeof(*v));

		if (!v || !(v[*n] = strdup(line))) {
			free(v ? v : *keys);
			free(text);
			return -ENOMEM;
		}
		*keys = v;
		(*n)++;
	}
	free(text);
	return 0;
}

static void keys_free(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

int snap_keys_restore(const char *snap, char *why, size_t whylen)
{
	char p[PATH_MAX + 32];
	char **keys;
	size_t n;
	int err = keys_list(snap, &keys, &n);

	if (err) {
		snprintf(why, whylen, "%s/keys/list: %s", snap, strerror(-err));
		return err;
	}
	for (size_t i = 0; i < n && !err; i++) {
		snprintf(p, sizeof(p), "%s/keys/%zu", snap, i);
		err = key_copy(p, keys[i], NULL);
		if (err)
			snprintf(why, whylen, "%s: %s", keys[i], strerror(-err));
	}
	keys_free(keys, n);
	return err;
}

/* Build the snapshot of MAIN, the .ini files of TENANTS and the key files
 * KEYS, with SOURCE, beside DIR in a directory of this process (tmp,
 * PATH_MAX): files that did not change since DIR are hard links to DIR's. */
int snap_prepare(const char *dir, const char *main, const char *tenants, const char *source,
		 char *const *keys, size_t n_keys, char *tmp)
{
	char p[PATH_MAX], prev[PATH_MAX];
	int err;

	snprintf(tmp, PATH_MAX, "%s.new.%d", dir, (int)getpid());
	rm_rf(tmp);
	statedir_path(p, tmp, SD_SNAP_TENANTS);
	err = mkdir_p(p, 0700);
	if (err)
		return err;
	statedir_path(p, tmp, SD_SNAP_CONFIG);
	statedir_path(prev, dir, SD_SNAP_CONFIG);
	err = copy_or_link(main, p, prev);
	if (!err) {
		statedir_path(p, tmp, SD_SNAP_TENANTS);
		statedir_path(prev, dir, SD_SNAP_TENANTS);
		err = copy_inis_from(tenants, p, prev);
	}
	if (!err)
		err = keys_save(tmp, dir, keys, n_keys);
	if (!err) {
		statedir_path(p, tmp, SD_SNAP_SOURCE);
		err = write_text(p, source);
	}
	if (err)
		rm_rf(tmp);
	return err;
}

/* Put the prepared snapshot tmp in DIR's place: one atomic exchange (a plain
 * rename the first time), then the old one is removed. */
int snap_commit(const char *dir, const char *tmp)
{
	int err;

	if (!renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE)) {
		rm_rf(tmp);	/* now the old snapshot */
		return 0;
	}
	if (errno == ENOENT && !rename(tmp, dir))
		return 0;
	rm_rf(dir);	/* no exchange here (filesystem): remove, then rename */
	if (!rename(tmp, dir))
		return 0;
	err = -errno;
	rm_rf(tmp);
	return err;
}

/* Snapshot MAIN and the .ini files of TENANTS into DIR (replaced whole), with SOURCE. */
int snap_save(const char *dir, const char *main, const char *tenants, const char *source)
{
	char tmp[PATH_MAX];
	int err = snap_prepare(dir, main, tenants, source, NULL, 0, tmp);

	return err ? err : snap_commit(dir, tmp);
}

/* b as the same file as a: a hard link, or a copy where linking fails.  A
 * snapshot's files are never written in place (every write replaces a file
 * by rename()), so a link is a copy that costs no data write and no fsync. */
static int link_or_copy(const char *a, const char *b)
{
	return link(a, b) ? copy_file(a, b) : 0;
}

/* SRC's keys/ (its list and the files the list names) into TMP/keys. */
static int keys_link(const char *src, const char *tmp)
{
	char a[PATH_MAX + 64], b[PATH_MAX + 64];
	char **keys;
	size_t n;
	int err = keys_list(src, &keys, &n);

	if (err || !n)
		return err;
	snprintf(b, sizeof(b), "%s/keys", tmp);
	err = mkdir(b, 0700) ? -errno : 0;
	if (!err) {
		snprintf(a, sizeof(a), "%s/keys/list", src);
		snprintf(b, sizeof(b), "%s/keys/list", tmp);
		err = link_or_copy(a, b);
	}
	for (size_t i = 0; i < n && !err; i++) {
		snprintf(a, sizeof(a), "%s/keys/%zu", src, i);
		snprintf(b, sizeof(b), "%s/keys/%zu", tmp, i);
		err = link_or_copy(a, b);
	}
	keys_free(keys, n);
	return err;
}

/* Snapshot SRC into DST (replaced whole), with its keys: its configuration,
 * .ini files, keys and source, as links to SRC's files.  Nothing else of
 * SRC (a history entry's meta) comes along. */
int snap_copy(const char *src, const char *dst)
{
	char tmp[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
	struct dirent *e;
	DIR *dir;
	int err;

	snprintf(tmp, sizeof(tmp), "%s.new.%d", dst, (int)getpid());
	rm_rf(tmp);
	statedir_path(a, src, SD_SNAP_SOURCE);
	statedir_path(b, tmp, SD_SNAP_TENANTS);
	err = access(a, F_OK) ? -errno : mkdir_p(b, 0700);
	if (err)
		return err;
	statedir_path(b, tmp, SD_SNAP_SOURCE);
	err = link_or_copy(a, b);
	if (!err) {
		statedir_path(a, src, SD_SNAP_CONFIG);
		statedir_path(b, tmp, SD_SNAP_CONFIG);
		err = link_or_copy(a, b);
	}
	statedir_path(a, src, SD_SNAP_TENANTS);
	dir = err ? NULL : opendir(a);
	if (!err && !dir && errno != ENOENT)
		err = -errno;
	while (dir && !err && (e = readdir(dir))) {
		char x[PATH_MAX + 256], y[PATH_MAX + 256];

		if (!is_ini(e->d_name))
			continue;
		statedir_path(b, tmp, SD_SNAP_TENANTS);
		snprintf(x, sizeof(x), "%s/%s", a, e->d_name);
		snprintf(y, sizeof(y), "%s/%s", b, e->d_name);
		err = link_or_copy(x, y);
	}
	if (dir)
		closedir(dir);
	if (!err)
		err = keys_link(src, tmp);
	if (err) {
		rm_rf(tmp);
		return err;
	}
	return snap_commit(dst, tmp);
}

/* "config PATH\ntenants DIR\n" */
int snap_source(const char *snap, char *main, char *tenants)
{
	char p[PATH_MAX], text[2 * PATH_MAX + 32];
	int err;

	statedir_path(p, snap, SD_SNAP_SOURCE);
	err = read_text(p, text, sizeof(text));
	if (err)
		return err;
	if (sscanf(text, "config %4095[^\n]\ntenants %4095[^\n]", main, tenants) != 2)
		return -EINVAL;
	return 0;
}
