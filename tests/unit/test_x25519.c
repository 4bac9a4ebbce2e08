// SPDX-License-Identifier: GPL-2.0
/* test_x25519.c — x25519.c against RFC 7748's vectors and against the
 * embeddable WireGuard library's wg_generate_public_key() on random keys
 * (X25519_KEYS, default 20000), and its speed next to the library's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wireguard.h>
#include "keys.h"
#include "tap.h"

static void unhex(const char *h, uint8_t out[32])
{
	for (int i = 0; i < 32; i++) {
		unsigned v;

		sscanf(h + 2 * i, "%2x", &v);
		out[i] = v;
	}
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(void)
{
	const char *env = getenv("X25519_KEYS");
	unsigned n = env ? strtoul(env, NULL, 0) : 20000, bad = 0;
	uint8_t k[32], u[32], want[32], got[32], ref[32];
	unsigned long long s = 0x9e3779b97f4a7c15ULL ^ (unsigned long long)time(NULL);
	double t0, t1, t2;

	/* RFC 7748 §5.2, first vector: scalar * u */
	unhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", k);
	unhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", u);
	unhex("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552", want);
	x25519(got, k, u);
	tap_result(!memcmp(got, want, 32), "x25519: RFC 7748 5.2 vector 1");
	/* second vector: the u coordinate's top bit is ignored */
	unhex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", k);
	unhex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", u);
	unhex("95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957", want);
	x25519(got, k, u);
	tap_result(!memcmp(got, want, 32), "x25519: RFC 7748 5.2 vector 2");
	/* §6.1: Alice's and Bob's public keys */
	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", k);
	unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", want);
	x25519_public(got, k);
	tap_result(!memcmp(got, want, 32), "x25519: RFC 7748 6.1 Alice's public key");
	unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", k);
	unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", want);
	x25519_public(got, k);
	tap_result(!memcmp(got, want, 32), "x25519: RFC 7748 6.1 Bob's public key");
	/* random private keys (and a few extreme ones) against the library */
	for (unsigned i = 0; i < n; i++) {
		for (int j = 0; j < 32; j++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			k[j] = (uint8_t)s;
		}
		if (i < 2)
			memset(k, i ? 0xff : 0x00, 32);
		wg_generate_public_key(ref, k);
		x25519_public(got, k);
		if (memcmp(ref, got, 32) && !bad++)
			printf("# mismatch at key %u\n", i);
	}
	tap_result(!bad, "x25519: %u random public keys equal wg_generate_public_key()'s (%u differ)", n, bad);
	t0 = now_us();
	for (int i = 0; i < 200; i++)
		wg_generate_public_key(ref, k);
	t1 = now_us();
	for (int i = 0; i < 200; i++)
		x25519_public(got, k);
	t2 = now_us();
	printf("# per public key: library %.1f us, x25519.c %.1f us\n", (t1 - t0) / 200, (t2 - t1) / 200);
	tap_result((t2 - t1) < (t1 - t0), "x25519: faster than the library's (%.1f us vs %.1f us)",
		   (t2 - t1) / 200, (t1 - t0) / 200);
	tap_exit();
}
