/* fnv.h — FNV-1a, 64 bits: the hash of the userspace tables (the policy
 * compiler's map, net.state's index, the INI sections, fingerprints and
 * slot records) and of what must be told apart from its last version (the
 * geo image, the BPF object's tag, the configuration files the daemon
 * reloads).  Not for anything an attacker chooses to collide. */
#ifndef REMPART_FNV_H
#define REMPART_FNV_H
#include <stddef.h>
#include <stdint.h>

#define FNV1A_BASIS 0xcbf29ce484222325ULL

static inline uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* A NUL-terminated string, without its NUL. */
static inline uint64_t fnv1a_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}
#endif
