/* SPDX-License-Identifier: GPL-2.0 */
/* geo.h — the geo database map and its lookups, for the dataplane programs.
 *
 *   #include "geo.h"
 *   __u16 cc = rp_geo_lookup_v4(iph->saddr);	// RP_CC_NONE: no country,
 *   __u16 cc = rp_geo_lookup_v6(ip6h->saddr.in6_u.u6_addr8);	// RP_CC_NODB: no db
 *
 * The structure (layout in rempart_abi.h): a direct index on the top 16
 * bits of the address gives either the country of the whole /16 or a slice
 * of a sorted interval array, searched in a bounded number of steps: about
 * two map lookups (block 0, the /16's block) and an 8-way search of plain
 * loads (7 independent probes a step: their cache misses overlap); IPv6
 * searches a summary of every 8th start first, then one cache line of 8.
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

/* Country of an IPv4 address (network order). */
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

/* Is the IPv6 start (key word kw, low word at lw) at or below the address
 * (xk = its bits 111..64, xlo = bits 63..0)? */
#define RP_GEO_M48 0xffffffffffffULL
static __always_inline __u32 rp_geo_le6(const struct rp_geo_block *b, __u32 kw, __u32 lw,
					__u64 xk, __u64 xlo)
{
	__u64 k = b->w[kw & RP_GEO_WMASK] & RP_GEO_M48;
	__u32 le = rp_geo_lt48(k, xk);

	if (k == xk) {	/* rare: a boundary inside this /64 */
		__u64 klo = b->w[lw & RP_GEO_WMASK], d = xlo - klo;

		asm volatile("" : "+r"(d));
		/* klo <= xlo, unsigned: no borrow out of xlo - klo */
		le = 1 - (__u32)(((~xlo & klo) | (~(xlo ^ klo) & d)) >> 63);
	}
	return le;
}

/* Summary entry i (interval 8i) at or below the address. */
#define RP_GEO_LES(i) rp_geo_le6(b, w0 + (i), l0 + 8 * (i), xhi, xlo)

/* Country of an IPv6 address (16 bytes, network order). */
static __always_inline __u16 rp_geo_lookup_v6(const __u8 *addr)
{
	__u32 w0, k0, l0, g, base = 0, n, i, j, zero = 0;
	struct rp_geo_block *b;
	__u64 xhi, xlo, ix;
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
	/* The /16: g summary words (every 8th key), then its keys in lines of
	 * 8 from the next 8-word boundary, then their low words. */
	w0 = (__u32)ix & RP_GEO_WMASK;
	g = n = ((__u32)(ix >> 32) + 7) >> 3;
	k0 = (w0 + g + 7) & ~7u;
	l0 = k0 + 8 * g;
	xhi &= RP_GEO_M48;
	/* Which line of 8: an 8-way search on the summary (small, cached). */
	for (i = 0; i < RP_GEO_KARY_STEPS; i++) {
		__u32 s;

		if (n <= 8)
			break;
		s = n >> 3;
		j = RP_GEO_LES(base + s);
		j += RP_GEO_LES(base + 2 * s);
		j += RP_GEO_LES(base + 3 * s);
		j += RP_GEO_LES(base + 4 * s);
		j += RP_GEO_LES(base + 5 * s);
		j += RP_GEO_LES(base + 6 * s);
		j += RP_GEO_LES(base + 7 * s);
		base += s * j;
		n = j == 7 ? n - 7 * s : s;
	}
	for (i = 0; i < 3; i++) {
		__u32 half;

		if (n <= 1)
			break;
		half = n >> 1;
		if (RP_GEO_LES(base + half))
			base += half;
		n -= half;
	}
	/* Within the line (one cache miss at most): its first key is <= the
	 * address; padding repeats the last interval, so it answers the same. */
	k0 += 8 * base;
	l0 += 8 * base;
	j = rp_geo_le6(b, k0 + 1, l0 + 1, xhi, xlo);
	j += rp_geo_le6(b, k0 + 2, l0 + 2, xhi, xlo);
	j += rp_geo_le6(b, k0 + 3, l0 + 3, xhi, xlo);
	j += rp_geo_le6(b, k0 + 4, l0 + 4, xhi, xlo);
	j += rp_geo_le6(b, k0 + 5, l0 + 5, xhi, xlo);
	j += rp_geo_le6(b, k0 + 6, l0 + 6, xhi, xlo);
	j += rp_geo_le6(b, k0 + 7, l0 + 7, xhi, xlo);
	return (__u16)(b->w[(k0 + j) & RP_GEO_WMASK] >> 48);
}
#undef RP_GEO_LE4
#undef RP_GEO_LES
#endif /* REMPART_BPF_GEO_H */
