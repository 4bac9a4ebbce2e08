/* addrnum.h — addresses as numbers: an IPv4 address is 0..2^32-1, an IPv6
 * one 0..2^128-1, in one unsigned 128-bit integer, so that prefixes become
 * ranges [lo, hi] and sets of prefixes become sorted, disjoint ranges (the
 * audit's equivalence classes, the dataplane reader's trie runs).
 * Header-only. */
#ifndef REMPART_ADDRNUM_H
#define REMPART_ADDRNUM_H
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include "lib/addr.h"

typedef unsigned __int128 rp_u128;

/* Bits of the family's addresses: 32 or 128. */
static inline unsigned an_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* The largest address of the family. */
static inline rp_u128 an_max(int family)
{
	return family == AF_INET ? (rp_u128)0xffffffffu : ~(rp_u128)0;
}

static inline rp_u128 an_from_bytes(int family, const uint8_t *b)
{
	unsigned n = family == AF_INET ? 4 : 16;
	rp_u128 v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

static inline void an_to_bytes(int family, rp_u128 v, uint8_t *b)
{
	unsigned n = family == AF_INET ? 4 : 16;

	memset(b, 0, 16);
	for (unsigned i = n; i-- > 0;) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline rp_u128 an_from_addr(const struct rp_addr *a)
{
	return an_from_bytes(a->family, a->addr);
}

static inline void an_to_addr(int family, rp_u128 v, struct rp_addr *a)
{
	a->family = (uint8_t)family;
	an_to_bytes(family, v, a->addr);
}

/* The range a prefix covers (host bits ignored). */
static inline void an_prefix_range(const struct rp_prefix *p, rp_u128 *lo, rp_u128 *hi)
{
	unsigned bits = an_bits(p->family), host = bits - (p->len > bits ? bits : p->len);
	rp_u128 v = an_from_bytes(p->family, p->addr);
	rp_u128 mask = host >= 128 ? ~(rp_u128)0 : ((rp_u128)1 << host) - 1;

	*lo = v & ~mask;
	*hi = (v | mask) & an_max(p->family);
}

/* The range of a prefix given as (family, first bytes, length). */
static inline void an_range(int family, const uint8_t *addr, unsigned len, rp_u128 *lo, rp_u128 *hi)
{
	struct rp_prefix p = { .family = (uint8_t)family, .len = (uint8_t)len };

	memcpy(p.addr, addr, family == AF_INET ? 4 : 16);
	an_prefix_range(&p, lo, hi);
}
#endif
