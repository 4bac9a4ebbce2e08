// SPDX-License-Identifier: GPL-2.0
/* fileutil.c — see fileutil.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fileutil.h"

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
