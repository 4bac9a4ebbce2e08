/* gen_int.h — the generator's state, shared by gen.c (scenarios) and
 * gen_pools.c (address and port pools). */
#ifndef REMPART_ORACLE_GEN_INT_H
#define REMPART_ORACLE_GEN_INT_H
#include "gen.h"

enum cls {
	C_GW_UP, C_GW_TEN, C_BCAST, C_ANYCAST, C_CLOUD, C_SITE, C_TUNNET, C_SHARE, C_LL, C_MCAST, C_UNSPEC,
	C_LOOP, C_INET, C_MGMT, C_MAPPED, C_RANDOM, C__COUNT
};
extern const unsigned cls_weight[C__COUNT];
extern const bool cls_per_tenant[C__COUNT];

struct aset {
	uint8_t (*a)[16];
	int n;
};

#define RING 4096
#define QMAX 64

struct note {
	struct o_pkt p;
	struct o_result r;
};

struct gen {
	const struct world *w;
	uint64_t s[4];
	struct aset set[C__COUNT][O_MAX_TENANTS][2];	/* [class][tenant or 0][v4, v6] */
	uint16_t *ports;
	int n_ports;
	struct note *ring;
	unsigned ring_n, ring_pos;
	struct o_pkt q[QMAX];
	int q_head, q_len;
	unsigned nt;
};

/* ---- randomness (xoshiro256**) ------------------------------------------- */
static inline uint64_t rotl(uint64_t x, int k)
{
	return x << k | x >> (64 - k);
}

static inline uint64_t rnd(struct gen *g)
{
	uint64_t *s = g->s, r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static inline unsigned below(struct gen *g, unsigned n)
{
	return n ? rnd(g) % n : 0;
}

static inline bool chance(struct gen *g, unsigned pct)
{
	return below(g, 100) < pct;
}

void build_pools(struct gen *g);
void build_ports(struct gen *g);
const uint8_t *pick_in(struct gen *g, int c, int t, int family);
const uint8_t *pick_any(struct gen *g, int family);
uint16_t pick_dport(struct gen *g);
uint16_t pick_sport(struct gen *g);
#endif
