/* xorshift.h — xorshift64 (Marsaglia, 13/7/17): the reproducible generator
 * of the tests and benches, one step per call on the caller's state (any
 * value but 0).  Not for anything secret. */
#ifndef REMPART_TESTS_XORSHIFT_H
#define REMPART_TESTS_XORSHIFT_H
#include <stdint.h>

static inline uint64_t xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}
#endif
