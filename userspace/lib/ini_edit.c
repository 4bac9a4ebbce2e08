// SPDX-License-Identifier: GPL-2.0
/* ini_edit.c — change keys of an INI file in place; see ini_edit.h. */
#include <ctype.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "lib/fileutil.h"
#include "lib/ini_edit.h"

bool ini_value_ok(const char *v)
{
	size_t n = v ? strlen(v) : 0;

	return n && !strpbrk(v, "\n\r;#=\"'\\") && !isspace((unsigned char)v[0]) &&
	       !isspace((unsigned char)v[n - 1]);
}

/* The normalized name of what [....] holds (lower case, one blank between
 * words), into buf; false when the line is not a section header. */
static bool header(const char *line, size_t len, char *buf, size_t blen)
{
	size_t i = 0, o = 0;
	bool blank = false;

	while (i < len && isspace((unsigned char)line[i]))
		i++;
	if (i == len || line[i] != '[')
		return false;
	for (i++; i < len && line[i] != ']'; i++) {
		if (isspace((unsigned char)line[i])) {
			blank = o > 0;
			continue;
		}
		if (blank && o + 1 < blen)
			buf[o++] = ' ';
		blank = false;
		if (o + 1 < blen)
			buf[o++] = (char)tolower((unsigned char)line[i]);
	}
	buf[o] = 0;
	return i < len;
}

/* The key of a "key = value" line, lower-cased, into buf; false otherwise. */
static bool line_key(const char *line, size_t len, char *buf, size_t blen)
{
	size_t i = 0, o = 0;
	const char *eq = memchr(line, '=', len);

	while (i < len && isspace((unsigned char)line[i]))
		i++;
	if (!eq || i == len || line[i] == ';' || line[i] == '#' || line[i] == '[')
		return false;
	for (; line + i < eq && o + 1 < blen; i++)
		buf[o++] = (char)tolower((unsigned char)line[i]);
	while (o && isspace((unsigned char)buf[o - 1]))
		o--;
	buf[o] = 0;
	return o > 0;
}

struct sbuf {
	char *p;
	size_t n, cap;
	bool oom;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void put_kv(struct sbuf *b, const char *k, const char *v)
{
	put(b, k, strlen(k));
	put(b, " = ", 3);
	put(b, v, strlen(v));
	put(b, "\n", 1);
}

/* One change: TEXT -> new text.  First find the section's key lines, then
 * copy TEXT with the key's line replaced (or dropped), or with a new line
 * after the section's last key. */
static char *change_one(const char *text, const struct ini_change *c)
{
	struct sbuf b = { 0 };
	const char *p = text;
	size_t at = SIZE_MAX;	/* where a missing key goes */
	bool in = false, found = false;
	char name[256];

	for (; *p; ) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);

		if (header(p, len, name, sizeof(name))) {
			in = !strcmp(name, c->section) && !found;
			if (in) {
				found = true;
				at = (size_t)(p - text) + len;
			}
		} else if (in && line_key(p, len, name, sizeof(name))) {
			at = (size_t)(p - text) + len;
		}
		p += len;
	}
	if (!found) {
		errno = ENOENT;
		return NULL;
	}
	in = false;
	bool done = false;

	for (p = text; *p; ) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);

		if (header(p, len, name, sizeof(name)))
			in = !strcmp(name, c->section);
		else if (in && line_key(p, len, name, sizeof(name)) && !strcmp(name, c->key)) {
			if (c->value && !done)
				put_kv(&b, c->key, c->value);
			done = true;	/* a second one (invalid INI anyway) goes too */
			p += len;
			continue;
		}
		if ((size_t)(p - text) == at && !done && c->value) {
			put_kv(&b, c->key, c->value);
			done = true;
		}
		put(&b, p, len);
		if (len && p[len - 1] != '\n' && (size_t)(p - text) + len == at && !done && c->value)
			put(&b, "\n", 1);	/* the last line had no newline */
		p += len;
	}
	if (!done && c->value)
		put_kv(&b, c->key, c->value);
	if (b.oom || !b.p) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	return b.p;
}

char *ini_text_change(const char *text, const struct ini_change *c, size_t n)
{
	char *cur = strdup(text), *next;

	for (size_t i = 0; cur && i < n; i++) {
		next = change_one(cur, &c[i]);
		free(cur);
		cur = next;
	}
	if (!cur && !errno)
		errno = ENOMEM;
	return cur;
}

bool ini_text_has_section(const char *text, const char *section)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
		char name[256];

		if (header(p, len, name, sizeof(name)) && !strcmp(name, section))
			return true;
		p += len;
	}
	return false;
}

char *ini_text_append(const char *text, const char *section_text)
{
	size_t n = strlen(text);
	char *out = NULL;

	if (asprintf(&out, "%s%s%s%s", text, n && text[n - 1] != '\n' ? "\n" : "",
		     n ? "\n" : "", section_text) < 0)
		return NULL;
	return out;
}

int ini_file_change(const char *path, const struct ini_change *c, size_t n)
{
	struct iovec iov;
	struct stat st;
	char *text, *out;
	int err;

	if (stat(path, &st))
		return -errno;
	text = file_read_all(path, NULL);
	if (!text)
		return -errno;
	out = ini_text_change(text, c, n);
	err = out ? 0 : -errno;
	free(text);
	if (err)
		return err;
	iov = (struct iovec){ out, strlen(out) };
	err = file_replace(path, &iov, 1, st.st_mode & 07777, true);
	free(out);
	return err;
}
