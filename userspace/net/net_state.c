// SPDX-License-Identifier: GPL-2.0
/* net_state.c — the record of what rempart created; see net_state.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/fileutil.h"
#include "lib/fnv.h"
#include "lib/statedir.h"
#include "net/net_state.h"

static void index_put(struct net_state *st, size_t pos)
{
	size_t m = st->n_slot - 1, i = fnv1a_str(FNV1A_BASIS, st->lines[pos]) & m;

	while (st->slot[i])
		i = (i + 1) & m;
	st->slot[i] = pos + 1;
}

/* The position of LINE, or -1. */
static ssize_t find(const struct net_state *st, const char *line)
{
	size_t m = st->n_slot - 1;

	if (!st->n_slot)
		return -1;
	for (size_t i = fnv1a_str(FNV1A_BASIS, line) & m; st->slot[i]; i = (i + 1) & m)
		if (!strcmp(st->lines[st->slot[i] - 1], line))
			return st->slot[i] - 1;
	return -1;
}

static int push(struct net_state *st, char *line)
{
	if (2 * (st->n + 1) >= st->n_slot) {
		size_t n_slot = st->n_slot ? st->n_slot * 2 : 256;
		size_t *slot = calloc(n_slot, sizeof(*slot));

		if (!slot)
			return -ENOMEM;
		free(st->slot);
		st->slot = slot;
		st->n_slot = n_slot;
		for (size_t i = 0; i < st->n; i++)
			index_put(st, i);
	}
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		char **v = realloc(st->lines, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		st->lines = v;
		st->cap = cap;
	}
	st->lines[st->n] = line;
	index_put(st, st->n++);
	return 0;
}

int net_state_load(struct net_state *st, const char *state_dir)
{
	char path[4096], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	int err = 0;

	memset(st, 0, sizeof(*st));
	statedir_path(path, state_dir, SD_NET_STATE);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while ((len = getline(&line, &cap, f)) > 0) {
		char *copy;

		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		copy = strdup(line);
		if (!copy || push(st, copy)) {
			free(copy);
			err = -ENOMEM;
			break;
		}
	}
	free(line);
	fclose(f);
	return err;
}

int net_state_save(const struct net_state *st, const char *state_dir)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	err = mkdir_p(state_dir, 0700);
	if (!err)
		err = statedir_path(path, state_dir, SD_NET_STATE);
	if (err)
		return err;
	f = open_memstream(&text, &len);
	if (!f)
		return -errno;
	fprintf(f, "# what rempart created; `rempart down` removes exactly this\n");
	for (size_t i = 0; i < st->n; i++)
		fprintf(f, "%s\n", st->lines[i]);
	if (fclose(f)) {
		free(text);
		return -ENOMEM;
	}
	/* 0600: it holds fingerprints of key material.  No fsync: what it
	 * lists (links, routes, rules, sysctls) does not outlive a crash of
	 * the machine either. */
	err = file_replace(path, &(struct iovec){ text, len }, 1, 0600, false);
	free(text);
	return err;
}

bool net_state_has(const struct net_state *st, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return find(st, buf) >= 0;
}

int net_state_add(struct net_state *st, const char *fmt, ...)
{
	char buf[512], *copy;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (find(st, buf) >= 0)
		return 0;
	copy = strdup(buf);
	if (!copy)
		return -ENOMEM;
	if (push(st, copy)) {
		free(copy);
		return -ENOMEM;
	}
	return 0;
}

void net_state_free(struct net_state *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->lines[i]);
	free(st->lines);
	free(st->slot);
	memset(st, 0, sizeof(*st));
}
