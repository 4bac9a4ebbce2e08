/* policy_hmap.h — a small hash map (byte-string keys → uint32) for the
 * policy compiler's interning of classes, groups and pairs. */
#ifndef REMPART_POLICY_HMAP_H
#define REMPART_POLICY_HMAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hent {
	uint64_t h;
	void *key;		/* NULL: empty */
	size_t klen;
	uint32_t val;
};

struct hmap {
	struct hent *v;
	size_t cap, n;
};

/* The value slot of key; *added tells whether it was inserted (value 0).
 * NULL on allocation failure. */
uint32_t *hmap_get_or_add(struct hmap *m, const void *key, size_t klen, bool *added);
void hmap_free(struct hmap *m);
#endif
