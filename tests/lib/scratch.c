// SPDX-License-Identifier: GPL-2.0
/* scratch.c — see scratch.h. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "scratch.h"

int scratch_make(char dir[64], const char *tag)
{
	char path[PATH_MAX];

	snprintf(dir, 64, "/tmp/rempart-test-%s.XXXXXX", tag);
	if (!mkdtemp(dir))
		return -errno;
	snprintf(path, sizeof(path), "%s/tenants.d", dir);
	return mkdir(path, 0700) ? -errno : 0;
}

void scratch_put(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

void scratch_remove(const char *dir)
{
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS))
		fprintf(stderr, "cannot remove %s\n", dir);
}
