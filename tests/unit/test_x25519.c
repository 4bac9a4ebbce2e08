// SPDX-License-Identifier: GPL-2.0
/* test_x25519.c — key_public_from_private() (OpenSSL's X25519) against
 * RFC 7748's vectors and against the embeddable WireGuard library's
 * wg_generate_public_key() on random keys (X25519_KEYS, default 2000).
 * The speed of both is printed, not asserted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wireguard.h>
#include "lib/keys.h"
#include "tap.h"
#include "xorshift.h"

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
	unsigned n = env ? strtoul(env, NULL, 0) : 2000, bad = 0;
	uint8_t k[32], want[32], got[32], ref[32];
	uint64_t s = 0x9e3779b97f4a7c15ULL ^ (uint64_t)time(NULL);
	double t0, t1, t2;

	printf("# random keys seeded with %llu\n", (unsigned long long)s);
	/* RFC 7748 §6.1: Alice's and Bob's public keys */
	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", k);
	unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", want);
	key_public_from_private(got, k);
	tap_result(!memcmp(got, want, 32), "x25519: RFC 7748 6.1 Alice's public key");
	unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", k);
	unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", want);
	key_public_from_private(got, k);
	tap_result(!memcmp(got, want, 32), "x25519: RFC 7748 6.1 Bob's public key");

	/* random private keys (and a few extreme ones) against the library */
	for (unsigned i = 0; i < n; i++) {
		for (int j = 0; j < 32; j++) {
			k[j] = (uint8_t)xorshift64(&s);
		}
		if (i < 2)
			memset(k, i ? 0xff : 0x00, 32);
		wg_generate_public_key(ref, k);
		key_public_from_private(got, k);
		if (memcmp(ref, got, 32) && !bad++)
			printf("# mismatch at key %u\n", i);
	}
	tap_result(!bad, "x25519: %u random public keys equal wg_generate_public_key()'s (%u differ)", n, bad);
	t0 = now_us();
	for (int i = 0; i < 200; i++)
		wg_generate_public_key(ref, k);
	t1 = now_us();
	for (int i = 0; i < 200; i++)
		key_public_from_private(got, k);
	t2 = now_us();
	printf("# per public key: embeddable library %.1f us, OpenSSL %.1f us\n",
	       (t1 - t0) / 200, (t2 - t1) / 200);
	tap_exit();
}
