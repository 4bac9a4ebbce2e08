// SPDX-License-Identifier: GPL-2.0
/* policy_hmap.c — see policy_hmap.h.  Open addressing, FNV-1a. */
#include <stdlib.h>
#include <string.h>
#include "lib/fnv.h"
#include "policy/policy_hmap.h"

static uint64_t fnv(const void *key, size_t len)
{
	uint64_t h = fnv1a(FNV1A_BASIS, key, len);

	return h ? h : 1;
}

static int grow(struct hmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024;
	struct hent *nv = calloc(ncap, sizeof(*nv));

	if (!nv)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		struct hent *e = &m->v[i];
		size_t j;

		if (!e->key)
			continue;
		for (j = e->h & (ncap - 1); nv[j].key; j = (j + 1) & (ncap - 1))
			;
		nv[j] = *e;
	}
	free(m->v);
	m->v = nv;
	m->cap = ncap;
	return 0;
}

uint32_t *hmap_get_or_add(struct hmap *m, const void *key, size_t klen, bool *added)
{
	uint64_t h = fnv(key, klen);
	size_t j;

	*added = false;
	if ((m->n + 1) * 2 > m->cap && grow(m))
		return NULL;
	for (j = h & (m->cap - 1); m->v[j].key; j = (j + 1) & (m->cap - 1)) {
		struct hent *e = &m->v[j];

		if (e->h == h && e->klen == klen && !memcmp(e->key, key, klen))
			return &e->val;
	}
	m->v[j].key = malloc(klen ? klen : 1);
	if (!m->v[j].key)
		return NULL;
	memcpy(m->v[j].key, key, klen);
	m->v[j].klen = klen;
	m->v[j].h = h;
	m->v[j].val = 0;
	m->n++;
	*added = true;
	return &m->v[j].val;
}

void hmap_free(struct hmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].key);
	free(m->v);
	memset(m, 0, sizeof(*m));
}
