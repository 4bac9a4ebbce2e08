/* SPDX-License-Identifier: GPL-2.0 */
/* geo.h — the geo database map and its lookups, for the dataplane programs.
 *
 *   #include "geo.h"
 *   __u16 cc = rp_geo_lookup_v4(iph->saddr);	// RP_CC_NONE: no country,
 *   __u16 cc = rp_geo_lookup_v6(ip6h->saddr.in6_u.u6_addr8);	// RP_CC_NODB: no db
 *
 * The structure (layout in rempart_abi.h): a direct index on the top 16
 * bits of the address gives either the country of the whole /16 or a slice
 * of a sorted interval array, searched by a bounded binary search.  About
 * two or three map lookups (block 0, the /16's block, the country block) and
 * log2(intervals in the /16) plain loads, against up to 32 (IPv4) or 128
 * (IPv6) dependent pointer chases down an LPM trie.
 *
 * rp_geo is an ARRAY_OF_MAPS with one slot: the database is one inner ARRAY
 * map, replaced as a whole by userspace (geo_bpf_load), so each lookup sees
 * one database, never a mix.  The loader pins rp_geo as RP_PIN_DIR/RP_PIN_GEO
 * (or reuses the pinned one) and fills it with geo_bpf_load(). */
#ifndef REMPART_BPF_GEO_H
#define REMPART_BPF_GEO_H
#include <linux/bpf.h>
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

/* Country of an IPv4 address (network order). */
static __always_inline __u16 rp_geo_lookup_v4(__u32 addr_be)
{
	__u32 x = bpf_ntohl(addr_be), base, n, i, zero = 0;
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
	base = (__u32)ix & RP_GEO_UMASK;
	n = (__u32)(ix >> 32);
	x &= 0xffff;
	for (i = 0; i < RP_GEO_MAX_STEPS; i++) {
		__u32 half;

		if (n <= 1)
			break;
		half = n >> 1;
		if (e[(base + half) & RP_GEO_UMASK] >> 16 <= x)
			base += half;
		n -= half;
	}
	return (__u16)e[base & RP_GEO_UMASK];
}

/* Country of an IPv6 address (16 bytes, network order). */
static __always_inline __u16 rp_geo_lookup_v6(const __u8 *addr)
{
	__u32 base, n, i, slot, ohi, zero = 0;
	struct rp_geo_block *b0, *b;
	__u64 xhi, xlo, ix, w;
	void *db;

	__builtin_memcpy(&xhi, addr, 8);
	__builtin_memcpy(&xlo, addr + 8, 8);
	xhi = bpf_be64_to_cpu(xhi);
	xlo = bpf_be64_to_cpu(xlo);
	db = bpf_map_lookup_elem(&rp_geo, &zero);
	if (!db)
		return RP_CC_NODB;
	b0 = rp_geo_block(db, 0);
	if (!b0)
		return RP_CC_NODB;
	ix = b0->w[RP_GEO_IDX6 + (__u32)(xhi >> 48)];
	if (ix & RP_GEO_DIRECT)
		return (__u16)ix;
	b = rp_geo_block(db, (__u32)ix >> RP_GEO_BLOCK_SHIFT);
	if (!b)
		return RP_CC_NODB;
	ohi = (__u32)b0->w[RP_GEO_H_OFF6HI];
	base = (__u32)ix & RP_GEO_WMASK;
	n = (__u32)(ix >> 32);
	for (i = 0; i < RP_GEO_MAX_STEPS; i++) {
		__u32 half, mid;
		__u64 khi;

		if (n <= 1)
			break;
		half = n >> 1;
		mid = base + half;
		khi = b->w[mid & RP_GEO_WMASK];
		if (khi < xhi) {
			base = mid;
		} else if (khi == xhi) {	/* rare: a boundary inside this /64 */
			struct rp_geo_block *bl;

			w = (__u32)b0->w[RP_GEO_H_OFF6LO] +
			    (((__u32)ix & ~RP_GEO_WMASK) + mid - ohi);
			bl = rp_geo_block(db, (__u32)(w >> RP_GEO_BLOCK_SHIFT));
			if (!bl)
				return RP_CC_NODB;
			if (bl->w[w & RP_GEO_WMASK] <= xlo)
				base = mid;
		}
		n -= half;
	}
	slot = ((__u32)ix & ~RP_GEO_WMASK) + base - ohi;
	w = (__u32)b0->w[RP_GEO_H_OFF6CC] + (slot >> 2);
	b = rp_geo_block(db, (__u32)(w >> RP_GEO_BLOCK_SHIFT));
	if (!b)
		return RP_CC_NODB;
	return (__u16)(b->w[w & RP_GEO_WMASK] >> ((slot & 3) * 16));
}
#endif /* REMPART_BPF_GEO_H */
