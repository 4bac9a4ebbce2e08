/* state.c — what the oracle itself has seen: the flows it sent and the
 * programs allowed (a reply is justified only by one of these), and the
 * first fragments (a later fragment is justified only by an allowed first
 * one from the same origin). */
#include <stdlib.h>
#include <string.h>
#include "state.h"

static uint64_t hash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h ^ h >> 29;
}

struct slot {
	struct o_fkey k;
	uint64_t to;		/* flows: owners it was delivered (or meant) to; frags: 1 allowed, 2 dropped */
	uint8_t used, nat;
};

struct table {
	struct slot *v;
	size_t cap, n;
};

static struct table flows, frags;

static int grow(struct table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1 << 16;
	struct slot *nv = calloc(ncap, sizeof(*nv));

	if (!nv)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->v[i].used)
			continue;
		for (j = hash(&t->v[i].k, sizeof(t->v[i].k)) & (ncap - 1); nv[j].used; j = (j + 1) & (ncap - 1))
			;
		nv[j] = t->v[i];
	}
	free(t->v);
	t->v = nv;
	t->cap = ncap;
	return 0;
}

static struct slot *find(struct table *t, const struct o_fkey *k, bool add)
{
	size_t i;

	if (!t->cap && grow(t))
		return NULL;
	for (i = hash(k, sizeof(*k)) & (t->cap - 1); t->v[i].used; i = (i + 1) & (t->cap - 1))
		if (!memcmp(&t->v[i].k, k, sizeof(*k)))
			return &t->v[i];
	if (!add)
		return NULL;
	if ((t->n + 1) * 2 > t->cap) {
		if (grow(t))
			return NULL;
		return find(t, k, true);
	}
	t->v[i].used = 1;
	t->v[i].k = *k;
	t->n++;
	return &t->v[i];
}

void state_reset(void)
{
	free(flows.v);
	free(frags.v);
	memset(&flows, 0, sizeof(flows));
	memset(&frags, 0, sizeof(frags));
}

size_t state_flows(void)
{
	return flows.n;
}

void flow_add(const struct o_fkey *k, int to, bool nat)
{
	struct slot *s = find(&flows, k, true);

	if (s) {
		s->to |= 1ULL << to;
		s->nat |= nat;
	}
}

/* Was tuple k (from k->from) seen allowed and meant for `to` (-1: anyone)? */
bool flow_has(const struct o_fkey *k, int to, bool *nat)
{
	struct slot *s = find(&flows, k, false);

	if (!s || (to >= 0 && !(s->to >> to & 1)))
		return false;
	if (nat)
		*nat = s->nat;
	return true;
}

/* the latest first fragment with this key decides */
void frag_add(const struct o_fkey *k, bool allowed)
{
	struct slot *s = find(&frags, k, true);

	if (s)
		s->to = allowed ? 1 : 2;
}

/* 1: the latest first fragment with this key was allowed, 0: it was
 * dropped, -1: never seen */
int frag_seen(const struct o_fkey *k)
{
	struct slot *s = find(&frags, k, false);

	if (!s)
		return -1;
	return s->to == 1 ? 1 : 0;
}
