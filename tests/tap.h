/* Minimal result printer for C tests: PASS:/FAIL:/SKIP: lines that
 * tests/run-all.sh counts.  Header-only on purpose (used by every test). */
#ifndef REMPART_TESTS_TAP_H
#define REMPART_TESTS_TAP_H
#include <stdarg.h>
#include <stdio.h>

static int tap_failed;

static inline void tap_result(int ok, const char *fmt, ...)
{
	va_list ap;

	printf(ok ? "PASS: " : "FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok)
		tap_failed++;
}

#define tap_skip(...) do { printf("SKIP: "); printf(__VA_ARGS__); putchar('\n'); } while (0)
#define tap_exit() return tap_failed ? 1 : 0
#endif
