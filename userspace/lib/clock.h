/* clock.h — the monotonic clock in milliseconds, for timeouts and for how
 * long a step took (pr_debug lines, benches).  Not the wall clock: it never
 * jumps when the time is set. */
#ifndef REMPART_CLOCK_H
#define REMPART_CLOCK_H
#include <time.h>

static inline double clock_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
#endif
