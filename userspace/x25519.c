// SPDX-License-Identifier: GPL-2.0
/* x25519.c — X25519 public keys (RFC 7748) with 64-bit limbs.
 *
 * Loading a configuration derives every tenant's public key from its
 * private key; the portable implementation of the embeddable WireGuard
 * library takes about a millisecond per key, most of what reading 100
 * tenants costs.  This one works in radix 2^51 (five limbs, 128-bit
 * products): the same Montgomery ladder of RFC 7748 §5, constant time (no
 * branch or index depends on the key).  tests/unit/test_x25519.c compares
 * it with the library's on random keys and with RFC 7748's vectors.
 */
#include <string.h>
#include "keys.h"

typedef unsigned __int128 u128;
typedef uint64_t fe[5];

#define MASK51 ((1ULL << 51) - 1)

static uint64_t load64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void fe_frombytes(fe h, const uint8_t s[32])
{
	h[0] = load64(s) & MASK51;
	h[1] = (load64(s + 6) >> 3) & MASK51;
	h[2] = (load64(s + 12) >> 6) & MASK51;
	h[3] = (load64(s + 19) >> 1) & MASK51;
	h[4] = (load64(s + 24) >> 12) & MASK51;
}

/* Limbs back under 2^51 (limb 0 a little above at most). */
static void fe_carry(fe h)
{
	for (int i = 0; i < 4; i++) {
		h[i + 1] += h[i] >> 51;
		h[i] &= MASK51;
	}
	h[0] += 19 * (h[4] >> 51);
	h[4] &= MASK51;
}

static void fe_add(fe h, const fe f, const fe g)
{
	for (int i = 0; i < 5; i++)
		h[i] = f[i] + g[i];
}

/* f - g for g with limbs below 2^52 (products): f + 4p - g */
static void fe_sub(fe h, const fe f, const fe g)
{
	h[0] = f[0] + 0x1fffffffffffb4ULL - g[0];
	for (int i = 1; i < 5; i++)
		h[i] = f[i] + 0x1ffffffffffffcULL - g[i];
	fe_carry(h);
}

static void fe_mul(fe h, const fe f, const fe g)
{
	const uint64_t g1 = 19 * g[1], g2 = 19 * g[2], g3 = 19 * g[3], g4 = 19 * g[4];
	u128 t[5];
	uint64_t c;

	t[0] = (u128)f[0] * g[0] + (u128)f[1] * g4 + (u128)f[2] * g3 + (u128)f[3] * g2 + (u128)f[4] * g1;
	t[1] = (u128)f[0] * g[1] + (u128)f[1] * g[0] + (u128)f[2] * g4 + (u128)f[3] * g3 + (u128)f[4] * g2;
	t[2] = (u128)f[0] * g[2] + (u128)f[1] * g[1] + (u128)f[2] * g[0] + (u128)f[3] * g4 + (u128)f[4] * g3;
	t[3] = (u128)f[0] * g[3] + (u128)f[1] * g[2] + (u128)f[2] * g[1] + (u128)f[3] * g[0] + (u128)f[4] * g4;
	t[4] = (u128)f[0] * g[4] + (u128)f[1] * g[3] + (u128)f[2] * g[2] + (u128)f[3] * g[1] + (u128)f[4] * g[0];
	for (int i = 0; i < 4; i++) {
		t[i + 1] += (uint64_t)(t[i] >> 51);
		h[i] = (uint64_t)t[i] & MASK51;
	}
	c = (uint64_t)(t[4] >> 51);
	h[4] = (uint64_t)t[4] & MASK51;
	h[0] += 19 * c;
	h[1] += h[0] >> 51;
	h[0] &= MASK51;
}

static void fe_mul_small(fe h, const fe f, uint64_t k)
{
	u128 t[5];
	uint64_t c;

	for (int i = 0; i < 5; i++)
		t[i] = (u128)f[i] * k;
	for (int i = 0; i < 4; i++) {
		t[i + 1] += (uint64_t)(t[i] >> 51);
		h[i] = (uint64_t)t[i] & MASK51;
	}
	c = (uint64_t)(t[4] >> 51);
	h[4] = (uint64_t)t[4] & MASK51;
	h[0] += 19 * c;
	h[1] += h[0] >> 51;
	h[0] &= MASK51;
}

static void fe_sqn(fe h, const fe f, int n)
{
	fe_mul(h, f, f);
	while (--n > 0)
		fe_mul(h, h, h);
}

/* z^(p-2) = 1/z, p - 2 = 2^255 - 21: the usual chain, 254 squarings and
 * 11 multiplications */
static void fe_invert(fe out, const fe z)
{
	fe z2, z9, z11, z5_0, z10_0, z20_0, z50_0, z100_0, t;

	fe_mul(z2, z, z);
	fe_sqn(t, z2, 2);
	fe_mul(z9, t, z);
	fe_mul(z11, z9, z2);
	fe_mul(t, z11, z11);
	fe_mul(z5_0, t, z9);		/* 2^5 - 1 */
	fe_sqn(t, z5_0, 5);
	fe_mul(z10_0, t, z5_0);		/* 2^10 - 1 */
	fe_sqn(t, z10_0, 10);
	fe_mul(z20_0, t, z10_0);	/* 2^20 - 1 */
	fe_sqn(t, z20_0, 20);
	fe_mul(t, t, z20_0);		/* 2^40 - 1 */
	fe_sqn(t, t, 10);
	fe_mul(z50_0, t, z10_0);	/* 2^50 - 1 */
	fe_sqn(t, z50_0, 50);
	fe_mul(z100_0, t, z50_0);	/* 2^100 - 1 */
	fe_sqn(t, z100_0, 100);
	fe_mul(t, t, z100_0);		/* 2^200 - 1 */
	fe_sqn(t, t, 50);
	fe_mul(t, t, z50_0);		/* 2^250 - 1 */
	fe_sqn(t, t, 5);
	fe_mul(out, t, z11);		/* 2^255 - 32 + 11 */
}

static void fe_tobytes(uint8_t s[32], const fe f)
{
	uint64_t t[5], u[5], m;

	memcpy(t, f, sizeof(t));
	fe_carry(t);
	fe_carry(t);
	/* t < 2^255 + small: t - p = t + 19 - 2^255, kept when not negative */
	memcpy(u, t, sizeof(u));
	u[0] += 19;
	for (int i = 0; i < 4; i++) {
		u[i + 1] += u[i] >> 51;
		u[i] &= MASK51;
	}
	m = 0 - (u[4] >> 51);	/* all ones when t >= p */
	u[4] &= MASK51;
	for (int i = 0; i < 5; i++)
		t[i] = (u[i] & m) | (t[i] & ~m);
	for (int i = 0; i < 32; i++) {
		unsigned bit = i * 8, limb = bit / 51, off = bit % 51;
		uint64_t v = t[limb] >> off;

		if (off > 43 && limb < 4)
			v |= t[limb + 1] << (51 - off);
		s[i] = (uint8_t)v;
	}
}

static void fe_cswap(fe a, fe b, uint64_t swap)
{
	uint64_t m = 0 - swap;

	for (int i = 0; i < 5; i++) {
		uint64_t x = m & (a[i] ^ b[i]);

		a[i] ^= x;
		b[i] ^= x;
	}
}

void x25519(uint8_t out[32], const uint8_t scalar[32], const uint8_t point[32])
{
	uint8_t k[32];
	fe x1, x2 = { 1 }, z2 = { 0 }, x3, z3 = { 1 }, a, aa, b, bb, e, c, dd, da, cb, t;
	uint64_t swap = 0;

	memcpy(k, scalar, 32);
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
	fe_frombytes(x1, point);
	memcpy(x3, x1, sizeof(x3));
	for (int i = 254; i >= 0; i--) {
		uint64_t bit = (k[i / 8] >> (i % 8)) & 1;

		swap ^= bit;
		fe_cswap(x2, x3, swap);
		fe_cswap(z2, z3, swap);
		swap = bit;
		fe_add(a, x2, z2);
		fe_mul(aa, a, a);
		fe_sub(b, x2, z2);
		fe_mul(bb, b, b);
		fe_sub(e, aa, bb);
		fe_add(c, x3, z3);
		fe_sub(dd, x3, z3);
		fe_mul(da, dd, a);
		fe_mul(cb, c, b);
		fe_add(t, da, cb);
		fe_mul(x3, t, t);
		fe_sub(t, da, cb);
		fe_mul(t, t, t);
		fe_mul(z3, x1, t);
		fe_mul(x2, aa, bb);
		fe_mul_small(t, e, 121665);
		fe_add(t, aa, t);
		fe_mul(z2, e, t);
	}
	fe_cswap(x2, x3, swap);
	fe_cswap(z2, z3, swap);
	fe_invert(z2, z2);
	fe_mul(x2, x2, z2);
	fe_tobytes(out, x2);
	explicit_bzero(k, sizeof(k));
	explicit_bzero(x2, sizeof(x2));
	explicit_bzero(z2, sizeof(z2));
	explicit_bzero(x3, sizeof(x3));
	explicit_bzero(z3, sizeof(z3));
}

void x25519_public(uint8_t pub[32], const uint8_t priv[32])
{
	static const uint8_t nine[32] = { 9 };

	x25519(pub, priv, nine);
}
