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
 * log2(intervals in the /16) + 2 array reads per lookup, against up to 32
 * (IPv4) or 128 (IPv6) dependent pointer chases down an LPM trie.
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
	/* INNER_MAP: every database has its own size; MMAPABLE: userspace
	 * fills and reads it with one memcpy. */
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__uint(max_entries, RP_GEO_FIXED_WORDS);
	__type(key, __u32);
	__type(value, __u64);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct rp_geo_db);
} rp_geo SEC(".maps");

/* Word w of the database, or NULL (then the caller answers RP_CC_NODB). */
static __always_inline __u64 *rp_geo_word(void *db, __u32 w)
{
	return bpf_map_lookup_elem(db, &w);
}

static __always_inline void *rp_geo_db(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&rp_geo, &zero);
}

/* Country of an IPv4 address (network order). */
static __always_inline __u16 rp_geo_lookup_v4(__u32 addr_be)
{
	__u32 x = bpf_ntohl(addr_be), base, n, off, i;
	__u64 *w, ix;
	void *db;

	db = rp_geo_db();
	if (!db)
		return RP_CC_NODB;
	w = rp_geo_word(db, RP_GEO_IDX4 + (x >> 16));
	if (!w)
		return RP_CC_NODB;
	ix = *w;
	if (ix & RP_GEO_DIRECT)
		return (__u16)ix;
	w = rp_geo_word(db, RP_GEO_H_OFF4);
	if (!w)
		return RP_CC_NODB;
	off = (__u32)*w;
	base = (__u32)ix;
	n = (__u32)(ix >> 32);
	x &= 0xffff;
	for (i = 0; i < RP_GEO_MAX_STEPS; i++) {
		__u32 half, mid;

		if (n <= 1)
			break;
		half = n >> 1;
		mid = base + half;
		w = rp_geo_word(db, off + (mid >> 1));
		if (!w)
			return RP_CC_NODB;
		if ((__u32)(*w >> ((mid & 1) * 32)) >> 16 <= x)
			base = mid;
		n -= half;
	}
	w = rp_geo_word(db, off + (base >> 1));
	if (!w)
		return RP_CC_NODB;
	return (__u16)(*w >> ((base & 1) * 32));
}

/* Country of an IPv6 address (16 bytes, network order). */
static __always_inline __u16 rp_geo_lookup_v6(const __u8 *addr)
{
	__u32 base, n, i, ohi, olo, occ;
	__u64 xhi, xlo, *w, ix;
	void *db;

	__builtin_memcpy(&xhi, addr, 8);
	__builtin_memcpy(&xlo, addr + 8, 8);
	xhi = bpf_be64_to_cpu(xhi);
	xlo = bpf_be64_to_cpu(xlo);
	db = rp_geo_db();
	if (!db)
		return RP_CC_NODB;
	w = rp_geo_word(db, RP_GEO_IDX6 + (__u32)(xhi >> 48));
	if (!w)
		return RP_CC_NODB;
	ix = *w;
	if (ix & RP_GEO_DIRECT)
		return (__u16)ix;
	w = rp_geo_word(db, RP_GEO_H_OFF6HI);
	if (!w)
		return RP_CC_NODB;
	ohi = (__u32)*w;
	w = rp_geo_word(db, RP_GEO_H_OFF6LO);
	if (!w)
		return RP_CC_NODB;
	olo = (__u32)*w;
	w = rp_geo_word(db, RP_GEO_H_OFF6CC);
	if (!w)
		return RP_CC_NODB;
	occ = (__u32)*w;
	base = (__u32)ix;
	n = (__u32)(ix >> 32);
	for (i = 0; i < RP_GEO_MAX_STEPS; i++) {
		__u32 half, mid;
		__u64 khi;

		if (n <= 1)
			break;
		half = n >> 1;
		mid = base + half;
		w = rp_geo_word(db, ohi + mid);
		if (!w)
			return RP_CC_NODB;
		khi = *w;
		if (khi == xhi) {	/* rare: a boundary inside this /64 */
			w = rp_geo_word(db, olo + mid);
			if (!w)
				return RP_CC_NODB;
			if (*w <= xlo)
				base = mid;
		} else if (khi < xhi) {
			base = mid;
		}
		n -= half;
	}
	w = rp_geo_word(db, occ + (base >> 2));
	if (!w)
		return RP_CC_NODB;
	return (__u16)(*w >> ((base & 3) * 16));
}
#endif /* REMPART_BPF_GEO_H */
