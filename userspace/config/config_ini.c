// SPDX-License-Identifier: GPL-2.0
/* config_ini.c — read one INI file, the way iniparser 4.1 reads it (section
 * and key names lower-cased, values unquoted, inline ';' and '#' comments
 * stripped, a trailing '\' continues a line), into an ordered list of
 * sections and entries with their line numbers, and an iniparser
 * dictionary of the same values, filled at the first ini_get() (its insert
 * walks every entry: 10,000 sites made it a quarter of reading a config,
 * and only the main file is looked up by name).
 *
 * Why not iniparser_load() alone: it cannot say on which line a key was
 * (every later error must name its place), it merges duplicate sections and
 * silently keeps the last of duplicate keys (a typo must never silently
 * weaken policy), and it rejects a comment after a section header
 * ("[rule web]   ; why"), which docs/config.md itself writes. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <iniparser/iniparser.h>
#include "config/config_internal.h"
#include "lib/fileutil.h"
#include "lib/fnv.h"

#define INI_MAX_LINE 4096

static void lower(char *s)
{
	for (; *s; s++)
		*s = tolower((unsigned char)*s);
}

static void collapse_spaces(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (isspace((unsigned char)*p)) {
			if (o > s && o[-1] == ' ')
				continue;
			*p = ' ';
		}
		*o++ = *p;
	}
	*o = '\0';
}

/* Quote at most 40 characters of a line, in case it is bad (every line
 * passes here before it is cut up, so no printf). */
static void excerpt(const char *s, char *buf, size_t len)
{
	size_t n = strnlen(s, 41), k = n > 40 ? 40 : n;

	if (len < 40 + sizeof("…"))
		abort();
	memcpy(buf, s, k);
	for (size_t i = 0; i < k; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	strcpy(buf + k, n > 40 ? "…" : "");
}

static struct ini_section *find_section(struct ini_file *f, const char *name)
{
	uint64_t h = fnv1a_str(FNV1A_BASIS, name);

	for (size_t i = 0; i < f->n; i++)
		if (f->s[i].hash == h && !strcmp(f->s[i].name, name))
			return &f->s[i];
	return NULL;
}

static struct ini_section *add_section(struct ini_file *f, const char *name, int line)
{
	struct ini_section *v;

	f->s = xgrow(f->s, f->n, sizeof(*f->s));
	v = &f->s[f->n++];
	v->name = xstrdup(name);
	v->hash = fnv1a_str(FNV1A_BASIS, name);
	v->line = line;
	return v;
}

static void add_entry(struct ini_section *s, const char *key, const char *value, int line)
{
	struct ini_entry *v;

	s->e = xgrow(s->e, s->n, sizeof(*s->e));
	v = &s->e[s->n++];
	v->key = xstrdup(key);
	v->value = xstrdup(value);
	v->line = line;
}

/* iniparser's dictionary of f: "section" and "section:key" entries. */
static void fill_dict(struct ini_file *f)
{
	f->dict = dictionary_new(0);
	if (!f->dict)
		abort();
	for (size_t i = 0; i < f->n; i++) {
		iniparser_set(f->dict, f->s[i].name, NULL);
		for (size_t j = 0; j < f->s[i].n; j++) {
			char *full;

			if (asprintf(&full, "%s:%s", f->s[i].name, f->s[i].e[j].key) < 0)
				abort();
			iniparser_set(f->dict, full, f->s[i].e[j].value);
			free(full);
		}
	}
}

/* The value part after '=': "quoted" or 'quoted' as is, otherwise up to an
 * inline comment, stripped. */
static char *parse_value(char *v)
{
	char *end;

	v = str_trim(v);
	if ((v[0] == '"' || v[0] == '\'') && (end = strchr(v + 1, v[0]))) {
		*end = '\0';
		return v + 1;
	}
	v[strcspn(v, ";#")] = '\0';
	return str_trim(v);
}

/* Where the reader is: the current section, or none (before the first one,
 * or after a bad or duplicate header, whose keys are then skipped). */
struct ini_state {
	struct ini_section *cur;
	bool skipping;
};

static int bad_header(struct ini_state *st)
{
	st->cur = NULL;
	st->skipping = true;
	return -EINVAL;
}

/* One logical line: returns 0, or -EINVAL after reporting it. */
static int parse_line(struct ini_file *f, struct ini_state *st, char *line, int lineno,
		      struct diag *d)
{
	char bad[64], *p = str_trim(line), *eq, *end, *key, *val;

	if (!*p || *p == ';' || *p == '#')
		return 0;
	excerpt(p, bad, sizeof(bad));
	if (*p == '[') {
		end = strchr(p, ']');
		if (!end) {
			diag_add(d, "%s:%d: syntax error: section header '%s' has no closing ']'",
				 f->rel, lineno, bad);
			return bad_header(st);
		}
		*end = '\0';
		char *rest = str_trim(end + 1);
		if (*rest && *rest != ';' && *rest != '#') {
			diag_add(d, "%s:%d: syntax error: text after the section header: '%s'",
				 f->rel, lineno, bad);
			return bad_header(st);
		}
		char *name = str_trim(p + 1);
		collapse_spaces(name);	/* "site  lyon" and "site lyon" are one section */
		lower(name);
		if (!*name || strchr(name, ':') || strchr(name, '[')) {
			diag_add(d, "%s:%d: syntax error: bad section name '%s'", f->rel, lineno, bad);
			return bad_header(st);
		}
		struct ini_section *prev = find_section(f, name);
		if (prev) {
			diag_add(d, "%s:%d: [%s]: duplicate section (first at line %d)",
				 f->rel, lineno, name, prev->line);
			return bad_header(st);
		}
		st->cur = add_section(f, name, lineno);
		st->skipping = false;
		return 0;
	}
	eq = strchr(p, '=');
	if (!eq) {
		diag_add(d, "%s:%d: syntax error: expected '[section]' or 'key = value', got '%s'",
			 f->rel, lineno, bad);
		return -EINVAL;
	}
	*eq = '\0';
	key = str_trim(p);
	lower(key);
	if (!*key) {
		diag_add(d, "%s:%d: syntax error: no key before '=' in '%s'", f->rel, lineno, bad);
		return -EINVAL;
	}
	if (strpbrk(key, " \t:[]")) {
		diag_add(d, "%s:%d: syntax error: bad key name '%s'", f->rel, lineno, key);
		return -EINVAL;
	}
	val = parse_value(eq + 1);
	if (!st->cur) {
		if (st->skipping)	/* under a bad header: already reported */
			return -EINVAL;
		diag_add(d, "%s:%d: %s: key outside of any section", f->rel, lineno, key);
		return -EINVAL;
	}
	for (size_t i = 0; i < st->cur->n; i++)
		if (!strcmp(st->cur->e[i].key, key)) {
			diag_add(d, "%s:%d: [%s] %s: duplicate key (first at line %d)",
				 f->rel, lineno, st->cur->name, key, st->cur->e[i].line);
			return -EINVAL;
		}
	add_entry(st->cur, key, val, lineno);
	return 0;
}

int ini_read(const char *path, const char *rel, struct ini_file *f, struct diag *d)
{
	char *data, *p, *end, *logical = NULL;
	size_t size, llen = 0;
	int lineno = 0, first = 0, ret = 0;
	struct ini_state st = { 0 };
	int fd;

	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	f->rel = xstrdup(rel);
	char *tmp = xstrdup(path);
	f->dir = xstrdup(dirname(tmp));
	free(tmp);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		diag_add(d, "%s: cannot open: %s", rel, strerror(-ret));
		return ret;
	}
	data = fd_read_all(fd, &size);
	if (!data)
		diag_add(d, "%s: read error: %s", rel, strerror(errno));
	close(fd);
	if (!data)
		return -EIO;
	for (p = data, end = data + size; p < end; ) {
		char *nl = memchr(p, '\n', end - p), *line = p;
		size_t n = (nl ? nl + 1 : end) - p;

		p += n;
		lineno++;
		if (memchr(line, '\0', n)) {
			diag_add(d, "%s:%d: syntax error: NUL byte in the line", rel, lineno);
			ret = -EINVAL;
			continue;
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		line[n] = '\0';
		if (llen + n >= INI_MAX_LINE) {
			diag_add(d, "%s:%d: syntax error: line longer than %d characters",
				 rel, lineno, INI_MAX_LINE);
			ret = -EINVAL;
			llen = 0;
			continue;
		}
		if (!llen) {
			first = lineno;
			if (!logical)
				logical = xcalloc(1, INI_MAX_LINE);
		}
		memcpy(logical + llen, line, n + 1);
		llen += n;
		if (llen && logical[llen - 1] == '\\') {	/* continued on the next line */
			logical[--llen] = '\0';
			continue;
		}
		if (parse_line(f, &st, logical, first, d))
			ret = -EINVAL;
		llen = 0;
	}
	if (llen && parse_line(f, &st, logical, first, d))
		ret = -EINVAL;
	free(logical);
	free(data);
	return ret;
}

const char *ini_get(struct ini_file *f, const char *section, const char *key)
{
	const char *v;
	char *full;

	if (!f->dict)
		fill_dict(f);
	if (asprintf(&full, "%s:%s", section, key) < 0)
		abort();
	v = iniparser_getstring(f->dict, full, NULL);
	free(full);
	return v;
}

void ini_free(struct ini_file *f)
{
	for (size_t i = 0; i < f->n; i++) {
		for (size_t j = 0; j < f->s[i].n; j++) {
			free(f->s[i].e[j].key);
			free(f->s[i].e[j].value);
		}
		free(f->s[i].e);
		free(f->s[i].name);
	}
	free(f->s);
	if (f->dict)
		iniparser_freedict(f->dict);
	free(f->path);
	free(f->rel);
	free(f->dir);
	memset(f, 0, sizeof(*f));
}
