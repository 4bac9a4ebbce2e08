/* scratch.h — a scratch configuration directory for a C test (scratch.c):
 * made under /tmp with tenants.d/ in it, filled file by file, removed. */
#ifndef REMPART_TESTS_SCRATCH_H
#define REMPART_TESTS_SCRATCH_H

/* dir (64 bytes) = mkdtemp("/tmp/rempart-test-TAG.XXXXXX"), with
 * tenants.d/ made in it.  0, or -errno. */
int scratch_make(char dir[64], const char *tag);
/* DIR/NAME holds text; a test that cannot write it stops (exit 2). */
void scratch_put(const char *dir, const char *name, const char *text);
/* rm -rf DIR. */
void scratch_remove(const char *dir);
#endif
