/* SPDX-License-Identifier: GPL-2.0 */
/* geo.h — the geo database map and its lookups, for the dataplane programs.
 *
 *   #include "geo.h"
 *   __u16 cc = rp_geo_lookup_v4(iph->saddr);	// RP_CC_NONE: no country,
 *   __u16 cc = rp_geo_lookup_v6(ip6h->saddr.in6_u.u6_addr8);	// RP_CC_NODB: no db
 *
 * The structure (layout in rempart_abi.h): a direct index on the top 16
 * bits of the address gives either the country of the whole /16 or the
 * /16's search structure, in one block: two map lookups (block 0, the
 * /16's block), then plain loads.  IPv4: a sorted interval array, 8-way
 * steps (7 independent probes a step: their cache misses overlap).  IPv6:
 * a static B-tree, one cache line a level (docs/geo.md says why).
 * Against up to 32 (IPv4) or 128 (IPv6) dependent pointer chases down an
 * LPM trie, each a likely cache miss under random sources.
 *
 * rp_geo is an ARRAY_OF_MAPS with one slot: the database is one inner ARRAY
 * map, replaced as a whole by userspace (geo_bpf_load), so each lookup sees
 * one database, never a mix.  The loader pins rp_geo as RP_PIN_DIR/RP_PIN_GEO
 * (or reuses the pinned one) and fills it with geo_bpf_load(). */
#ifndef REMPART_BPF_GEO_H
#define REMPART_BPF_GEO_H
#ifndef __VMLINUX_H__		/* a program built on vmlinux.h has these types */
#include <linux/bpf.h>
#endif
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "rempart_abi.h"

struct rp_geo_db {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	/* INNER_MAP: every database has its own number of blocks; MMAPABLE:
	 * userspace fills and reads it with one memcpy. */
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[RP_GEO_BLOCK_WORDS]);	/* struct rp_geo_block */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct rp_geo_db);
} rp_geo SEC(".maps");

#define RP_GEO_WMASK (RP_GEO_BLOCK_WORDS - 1)
#define RP_GEO_UMASK (2 * RP_GEO_BLOCK_WORDS - 1)

static __always_inline struct rp_geo_block *rp_geo_block(void *db, __u32 b)
{
	return bpf_map_lookup_elem(db, &b);
}

/* Comparisons without branches: a branch per probe would make the verifier
 * walk 2^7 paths per 8-way step (it tracks j exactly); as arithmetic, j is
 * one unknown scalar and the paths stay one.  The empty asm keeps clang from
 * turning the arithmetic back into a compare-and-branch. */
static __always_inline __u32 rp_geo_le16(__u32 k, __u32 x)	/* k <= x, both < 2^16 */
{
	__u64 d = (__u64)x - (__u64)k;

	asm volatile("" : "+r"(d));
	return 1 - (__u32)(d >> 63);
}

/* a < b for a, b < 2^48: the sign of a - b says it. */
static __always_inline __u32 rp_geo_lt48(__u64 a, __u64 b)
{
	__u64 d = a - b;

	asm volatile("" : "+r"(d));
	return (__u32)(d >> 63);
}

/* IPv4 interval i of the slice at u32 number e0 starts at or below x. */
#define RP_GEO_LE4(e, e0, i, x) rp_geo_le16(e[((e0) + (i)) & RP_GEO_UMASK] >> 16, (x))

/* Country of an IPv4 address (network order).  Its opening (the database,
 * the index block, the /16's word) is written again in rp_geo_lookup_v6 on
 * purpose: as one inline helper taking the index, 6.1's verifier loses the
 * index's bounds ("math between map_value pointer and register with
 * unbounded min value"; tests/verifier61). */
static __always_inline __u16 rp_geo_lookup_v4(__u32 addr_be)
{
	__u32 x = bpf_ntohl(addr_be), e0, base = 0, n, i, zero = 0;
	struct rp_geo_block *b;
	const __u32 *e;
	void *db;
	__u64 ix;

	db = bpf_map_lookup_elem(&rp_geo, &zero);
	if (!db)
		return RP_CC_NODB;
	b = rp_geo_block(db, 0);
	if (!b)
		return RP_CC_NODB;
	ix = b->w[RP_GEO_IDX4 + (x >> 16)];
	if (ix & RP_GEO_DIRECT)
		return (__u16)ix;
	b = rp_geo_block(db, (__u32)ix >> (RP_GEO_BLOCK_SHIFT + 1));
	if (!b)
		return RP_CC_NODB;
	e = (const __u32 *)b->w;
	e0 = (__u32)ix & RP_GEO_UMASK;
	n = (__u32)(ix >> 32);
	x &= 0xffff;
	/* 8-way steps: 7 independent probes (their cache misses overlap). */
	for (i = 0; i < RP_GEO_KARY_STEPS; i++) {
		__u32 s, j = 0;

		if (n <= 8)
			break;
		s = n >> 3;
		j += RP_GEO_LE4(e, e0, base + s, x);
		j += RP_GEO_LE4(e, e0, base + 2 * s, x);
		j += RP_GEO_LE4(e, e0, base + 3 * s, x);
		j += RP_GEO_LE4(e, e0, base + 4 * s, x);
		j += RP_GEO_LE4(e, e0, base + 5 * s, x);
		j += RP_GEO_LE4(e, e0, base + 6 * s, x);
		j += RP_GEO_LE4(e, e0, base + 7 * s, x);
		base += s * j;
		n = j == 7 ? n - 7 * s : s;
	}
	for (i = 0; i < 3; i++) {
		__u32 half;

		if (n <= 1)
			break;
		half = n >> 1;
		if (RP_GEO_LE4(e, e0, base + half, x))
			base += half;
		n -= half;
	}
	return (__u16)e[(e0 + base) & RP_GEO_UMASK];
}

/* Tree words at or below x1 (= key << 15 | 0x7fff, + 1): all words < 2^63,
 * so the sign of the difference says it. */
#define RP_GEO_LE6(p, i, x1) ((p[i] - (x1)) >> 63)

/* Country of an IPv6 address (16 bytes, network order).  The /16's keys
 * (start bits 111..64) form a static B-tree of RP_GEO_FAN-word nodes, one
 * cache line each (layout in rempart_abi.h): one line a level, its 7 keys
 * compared without a branch.  A /64 with boundaries inside is one key whose
 * value sends the search to that /64's short list, by the low 64 bits. */
static __always_inline __u16 rp_geo_lookup_v6(const __u8 *addr)
{
	__u32 o, n, levels, l, node = 0, zero = 0;
	struct rp_geo_block *b;
	__u64 xhi, xlo, ix, x1;
	void *db;

	__builtin_memcpy(&xhi, addr, 8);
	__builtin_memcpy(&xlo, addr + 8, 8);
	xhi = bpf_be64_to_cpu(xhi);
	xlo = bpf_be64_to_cpu(xlo);
	db = bpf_map_lookup_elem(&rp_geo, &zero);
	if (!db)
		return RP_CC_NODB;
	b = rp_geo_block(db, 0);
	if (!b)
		return RP_CC_NODB;
	ix = b->w[RP_GEO_IDX6 + (__u32)(xhi >> 48)];
	if (ix & RP_GEO_DIRECT)
		return (__u16)ix;
	b = rp_geo_block(db, (__u32)ix >> RP_GEO_BLOCK_SHIFT);
	if (!b)
		return RP_CC_NODB;
	o = (__u32)ix & RP_GEO_WMASK;
	n = (__u32)(ix >> 32) & RP_GEO_V6_NMASK;
	levels = (__u32)(ix >> RP_GEO_V6_LSHIFT) & 7;
	x1 = ((xhi & RP_GEO_M48) << RP_GEO_V6_KSHIFT | RP_GEO_V6_VMASK) + 1;
	/* Unrolled: no back-edge (clang lays this loop out with one on a
	 * fall-through, which 6.1's check_cfg rejects), and l is a constant. */
#pragma unroll
	for (l = 0; l < RP_GEO_V6_LEVELS; l++) {
		/* level l: m lines (n / FAN^(levels - l), rounded up) at o */
		__u32 sh = RP_GEO_FAN_SHIFT * (levels - l), m, j;
		const __u64 *p;
		__u64 v;

		m = (n + (1u << sh) - 1) >> sh;
		p = &b->w[(o + RP_GEO_FAN * node) & (RP_GEO_WMASK & ~(RP_GEO_FAN - 1))];
		j = RP_GEO_LE6(p, 1, x1) + RP_GEO_LE6(p, 2, x1) + RP_GEO_LE6(p, 3, x1) +
		    RP_GEO_LE6(p, 4, x1) + RP_GEO_LE6(p, 5, x1) + RP_GEO_LE6(p, 6, x1) +
		    RP_GEO_LE6(p, 7, x1);
		if (l + 1 < levels) {
			o += RP_GEO_FAN * m;
			node = node * RP_GEO_FAN + j;
			/* a copied key past the level's last node: clamp */
			sh -= RP_GEO_FAN_SHIFT;
			m = (n + (1u << sh) - 1) >> sh;
			if (node >= m)
				node = m - 1;
			continue;
		}
		/* the bottom: padding repeats the last key, same answer */
		v = p[j & (RP_GEO_FAN - 1)] & RP_GEO_V6_VMASK;
		if (v == RP_GEO_V6_NONE)
			return RP_CC_NONE;
		if (!(v & RP_GEO_V6_EXC))
			return (__u16)v;
		/* exception: the /64's (low bits, country) pairs, binary search */
		{
			__u64 dw = b->w[(o + RP_GEO_FAN * m + (__u32)(v & ~RP_GEO_V6_EXC)) & RP_GEO_WMASK];
			__u32 off = (__u32)dw, cnt = (__u32)(dw >> 32), base = 0, i;

			for (i = 0; i < RP_GEO_V6_XSTEPS; i++) {
				__u32 half;

				if (cnt <= 1)
					break;
				half = cnt >> 1;
				if (b->w[(off + 2 * (base + half)) & RP_GEO_WMASK] <= xlo)
					base += half;
				cnt -= half;
			}
			return (__u16)b->w[(off + 2 * base + 1) & RP_GEO_WMASK];
		}
	}
	return RP_CC_NODB;
}
#undef RP_GEO_LE4
#undef RP_GEO_LE6
#endif /* REMPART_BPF_GEO_H */
