/* diag.h — a list of error messages, so that every error is reported, not
 * only the first.  Each message is one line: what, where, why. */
#ifndef REMPART_DIAG_H
#define REMPART_DIAG_H
#include <stddef.h>
#include <stdio.h>

struct diag {
	char **msgs;
	size_t n, cap;
};

__attribute__((format(printf, 2, 3)))
void diag_add(struct diag *d, const char *fmt, ...);
void diag_print(const struct diag *d, FILE *f);	/* one line each */
void diag_move(struct diag *to, struct diag *from);	/* append, empty from */
void diag_free(struct diag *d);
static inline size_t diag_count(const struct diag *d) { return d->n; }
#endif
