// SPDX-License-Identifier: GPL-2.0
/* history_store.c — the applied configurations kept, pushed and listed;
 * see history.h (history.c goes back to one). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "app/confirm_files.h"
#include "app/history.h"
#include "lib/fileutil.h"
#include "lib/log.h"
#include "lib/statedir.h"

void history_dir(char buf[PATH_MAX], const char *state_dir, int n)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "%s/%d", SD_HISTORY_DIR, n);
	statedir_path(buf, state_dir, rel);
}

/* "N tenants, N sites, N rules, N shares" from a snapshot's tenant files. */
static void summarize(const char *snap, char *buf, size_t len)
{
	char dir[PATH_MAX + 16], path[2 * PATH_MAX], *line = NULL;
	unsigned tenants = 0, sites = 0, rules = 0, shares = 0;
	struct dirent *e;
	size_t cap = 0;
	DIR *d;

	statedir_path(dir, snap, SD_SNAP_TENANTS);
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		FILE *f;

		if (!is_ini(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		tenants++;
		while (getline(&line, &cap, f) >= 0) {
			const char *l = line + strspn(line, " \t");

			sites += !strncasecmp(l, "[site ", 6);
			rules += !strncasecmp(l, "[rule ", 6);
			shares += !strncasecmp(l, "[share ", 7);
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	free(line);
	snprintf(buf, len, "%u tenant%s, %u site%s, %u rule%s, %u share%s", tenants,
		 tenants == 1 ? "" : "s", sites, sites == 1 ? "" : "s", rules, rules == 1 ? "" : "s",
		 shares, shares == 1 ? "" : "s");
}

int history_push(const char *state_dir)
{
	char applied[PATH_MAX], top[PATH_MAX], a[PATH_MAX], b[PATH_MAX], fp[PATH_MAX];
	char meta[400], summary[200], p[PATH_MAX + 16];
	int err;

	statedir_path(applied, state_dir, SD_APPLIED);
	statedir_path(top, state_dir, SD_HISTORY_DIR);
	err = mkdir_p(top, 0700);
	if (err)
		goto fail;
	history_dir(a, state_dir, HISTORY_MAX - 1);
	rm_rf(a);
	for (int n = HISTORY_MAX - 2; n >= 0; n--) {
		history_dir(a, state_dir, n);
		history_dir(b, state_dir, n + 1);
		if (rename(a, b) && errno != ENOENT) {
			err = -errno;
			goto fail;
		}
	}
	history_dir(a, state_dir, 0);
	err = snap_copy(applied, a);
	if (err)
		goto fail;
	summarize(a, summary, sizeof(summary));
	snprintf(meta, sizeof(meta), "time %lld\nsummary %s\n", (long long)time(NULL), summary);
	snprintf(p, sizeof(p), "%s/meta", a);
	err = write_text(p, meta);
	statedir_path(fp, state_dir, SD_GEO_FP);
	snprintf(p, sizeof(p), "%s/geo.fp", a);
	if (!err && !access(fp, F_OK))
		err = copy_file(fp, p);
	if (!err)
		return 0;
fail:
	pr_warn("history: cannot keep the applied configuration in %s: %s", top, strerror(-err));
	return err;
}

/* The geo files of a geo.fp ("PATH dev ino size mtime ctime" lines). */
static void geo_text(const char *path, char *buf, size_t len)
{
	char *text = file_read_all(path, NULL), *line, *save = NULL;
	size_t w = 0;

	buf[0] = 0;
	if (!text)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char file[PATH_MAX];
		unsigned long long dev, ino;
		long long size, mtime;

		if (line[0] != '/' ||
		    sscanf(line, "%4095s %llu %llu %lld %lld", file, &dev, &ino, &size, &mtime) != 5)
			continue;
		if (w < len)
			w += snprintf(buf + w, len - w, "%s%s (%lld bytes)", w ? ", " : "", file, size);
	}
	free(text);
}

int history_list(const char *state_dir, struct history_entry *v, size_t max)
{
	char dir[PATH_MAX], p[PATH_MAX + 16], meta[400];
	size_t k = 0;

	for (int n = 0; n < HISTORY_MAX && k < max; n++) {
		char *s;

		history_dir(dir, state_dir, n);
		snprintf(p, sizeof(p), "%s/meta", dir);
		if (read_text(p, meta, sizeof(meta)))
			continue;
		v[k] = (struct history_entry){ .n = n };
		s = strstr(meta, "time ");
		if (s)
			v[k].time = atoll(s + 5);
		s = strstr(meta, "summary ");
		if (s)
			snprintf(v[k].summary, sizeof(v[k].summary), "%.*s", (int)strcspn(s + 8, "\n"), s + 8);
		snprintf(p, sizeof(p), "%s/geo.fp", dir);
		geo_text(p, v[k].geo, sizeof(v[k].geo));
		k++;
	}
	return (int)k;
}
