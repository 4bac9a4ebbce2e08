// SPDX-License-Identifier: GPL-2.0
/* diag.c — collect error messages; see diag.h. */
#include <stdarg.h>
#include <stdlib.h>
#include "lib/diag.h"
#include "lib/log.h"

void diag_add(struct diag *d, const char *fmt, ...)
{
	va_list ap;
	char *m;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		char **v = realloc(d->msgs, cap * sizeof(*v));

		if (!v)
			return;
		d->msgs = v;
		d->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (m)
		d->msgs[d->n++] = m;
}

void diag_move(struct diag *to, struct diag *from)
{
	for (size_t i = 0; i < from->n; i++)
		diag_add(to, "%s", from->msgs[i]);
	diag_free(from);
}

void diag_print(const struct diag *d, FILE *f)
{
	for (size_t i = 0; i < d->n; i++)	/* errors: priority 3 in the journal */
		fprintf(f, "%s%s\n", f == stderr ? log_prefix(LOG_LVL_ERR) : "", d->msgs[i]);
}

void diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	d->msgs = NULL;
	d->n = d->cap = 0;
}
