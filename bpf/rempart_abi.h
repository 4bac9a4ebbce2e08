/* SPDX-License-Identifier: GPL-2.0 */
/* rempart_abi.h — the one header shared by the BPF programs and userspace.
 *
 * Everything both sides must agree on lives here, with fixed-width fields,
 * explicit padding and _Static_assert on sizes.  Reason codes are defined
 * once, here, and used by BPF, metrics, events and `explain` alike.
 */
#ifndef REMPART_ABI_H
#define REMPART_ABI_H

#ifdef __BPF__
#include <linux/types.h>
#else
#include <linux/types.h>
#include <stddef.h>
#endif

/* Verdicts. */
enum rp_verdict {
	RP_DROP = 0,
	RP_ALLOW = 1,
};

/* Reasons (SPEC §4, the `reason` label of metrics and events).  The X-macro
 * keeps the enum and the names in one list; order is ABI (counter index). */
#define RP_REASONS(X)                  \
	X(RP_R_ALLOWED, "allowed")           \
	X(RP_R_REPLY, "reply")               \
	X(RP_R_CROSS_TENANT, "cross_tenant") \
	X(RP_R_SPOOFED, "spoofed")           \
	X(RP_R_NO_RULE, "no_rule")           \
	X(RP_R_GEO_SITE, "geo_site")         \
	X(RP_R_GEO_EGRESS, "geo_egress")     \
	X(RP_R_NOT_WIREGUARD, "not_wireguard") \
	X(RP_R_MANAGEMENT, "management")     \
	X(RP_R_CLEARTEXT, "cleartext")       \
	X(RP_R_FRAGMENT, "fragment")         \
	X(RP_R_MALFORMED, "malformed")

#define RP_REASON_ENUM(id, name) id,
enum rp_reason {
	RP_REASONS(RP_REASON_ENUM)
	RP_R__COUNT
};
#undef RP_REASON_ENUM

/* Where a packet is judged.  The tenant is implied by the interface (and the
 * VLAN id on a cloud trunk); the uplink belongs to no tenant. */
enum rp_hook {
	RP_HOOK_UPLINK_IN = 0,	/* XDP on the uplink */
	RP_HOOK_UPLINK_OUT = 1,	/* TC egress on the uplink */
	RP_HOOK_CLOUD_IN = 2,	/* XDP on a cloud attachment (VLAN aware) */
	RP_HOOK_TUNNEL_IN = 3,	/* TC ingress on a tenant's tunnel (L3) */
	RP_HOOK__COUNT
};

/* Tenant index used for counters and events: 0 is `_gateway` (uplink packets
 * that belong to no tenant); tenants use their configured id (1..4000). */
#define RP_TENANT_GATEWAY 0
#define RP_TENANT_ID_MAX 4000
#define RP_TENANT_NAME_MAX 12		/* characters, without the NUL */
#define RP_GATEWAY_TENANT_NAME "_gateway"

/* Fragment positions. */
enum rp_frag {
	RP_FRAG_NONE = 0,
	RP_FRAG_FIRST = 1,	/* offset 0, more fragments */
	RP_FRAG_LATER = 2,	/* offset > 0 (middle or last) */
};

/* Bounds both parsers (BPF and the userspace reference) share. */
#define RP_MAX_VLAN_TAGS 2	/* 802.1Q and QinQ; a third tag is malformed */
#define RP_MAX_IPV6_EXT 6	/* longer extension-header chains are malformed */

/* Countries: an ISO 3166-1 alpha-2 code "XY" is the number
 * (X - 'A') * 26 + (Y - 'A'), 0..675.  RP_CC_NONE: an address in no country.
 * A set of countries is a bitmap of RP_CC_COUNT bits. */
#define RP_CC_COUNT 676
#define RP_CC_NONE 0xffff
#define RP_CC_WORDS ((RP_CC_COUNT + 63) / 64)	/* 11 __u64 */

struct rp_ccset {
	__u64 bits[RP_CC_WORDS];
};
_Static_assert(sizeof(struct rp_ccset) == 88, "rp_ccset layout");

static inline int rp_ccset_has(const struct rp_ccset *s, __u32 cc)
{
	if (cc >= RP_CC_COUNT)
		return 0;
	return (s->bits[cc / 64] >> (cc % 64)) & 1;
}

/* Per-CPU counter cell: one per (tenant, reason). */
struct rp_counter {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct rp_counter) == 16, "rp_counter layout");

/* Pinned objects live under RP_PIN_DIR; names below are the contract between
 * the loader (dataplane), the daemon (metrics, monitor) and `status`. */
#define RP_PIN_DIR "/sys/fs/bpf/rempart"
#define RP_PIN_COUNTERS "rp_counters"	/* PERCPU_ARRAY of struct rp_counter */
#define RP_PIN_GEO_DROPS "rp_geo_drops"	/* PERCPU_ARRAY of struct rp_counter, key = cc */
#define RP_PIN_EVENTS "rp_events"	/* RINGBUF of struct rp_event */
#define RP_PIN_STATE "rp_state"		/* ARRAY[1] of struct rp_state */

/* rp_counters key: tenant id (0 = _gateway) * RP_R__COUNT + reason. */
#define RP_COUNTERS_MAX ((RP_TENANT_ID_MAX + 1) * RP_R__COUNT)
/* rp_geo_drops key: country number, RP_CC_COUNT for "no country". */
#define RP_GEO_DROPS_MAX (RP_CC_COUNT + 1)

/* A dataplane event (drops, rate-limited in BPF) in the ring buffer. */
struct rp_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u32 ifindex;
	__u16 tenant;		/* id, 0 = _gateway */
	__u8 verdict;		/* enum rp_verdict */
	__u8 reason;		/* enum rp_reason */
	__u8 hook;		/* enum rp_hook */
	__u8 family;		/* AF_INET (2) | AF_INET6 (10) | 0 for non-IP */
	__u8 proto;
	__u8 pad0;
	__u16 sport, dport;	/* host order */
	__u16 country;		/* the country that mattered, RP_CC_NONE if none */
	__u16 vlan;
	__u8 src[16], dst[16];	/* IPv4 in the first 4 bytes */
	__u32 len;
};
_Static_assert(sizeof(struct rp_event) == 64, "rp_event layout");

/* Dataplane-wide state: which policy generation is live. */
struct rp_state {
	__u64 generation;	/* bumped by every successful policy swap */
	__u32 active_slot;	/* which of the two policy slots the programs read */
	__u32 flags;
};
_Static_assert(sizeof(struct rp_state) == 16, "rp_state layout");

/* Geo database in BPF (bpf/geo.h looks up, userspace/geo_bpf.c builds).
 * RP_PIN_GEO is an ARRAY_OF_MAPS with one slot (key 0) holding the active
 * database: one ARRAY map whose values are blocks of RP_GEO_BLOCK_WORDS
 * __u64 words (2 MB), replaced as a whole by one update (atomic reload).
 * Words are numbered across blocks (word w is in block w >> SHIFT); all
 * host order:
 *   [0, RP_GEO_HDR_WORDS)   header, indexed by enum rp_geo_hdr, then the
 *                           source file names (RP_GEO_H_NAMES)
 *   RP_GEO_IDX4 + (addr >> 16)        IPv4 index, 65536 words
 *   RP_GEO_IDX6 + (addr[0..1])        IPv6 index on the top 16 bits
 *   from H_OFF4: IPv4 intervals as __u32 (u32 number u is in word u / 2,
 *             low half first): (start & 0xffff) << 16 | cc
 *   from H_OFF6: IPv6 intervals, per /16 of c intervals in g = (c + 7) / 8
 *             lines of 8: g summary words (the key of intervals 0, 8, 16...),
 *             then from the next multiple of 8 words, 8g key words
 *             cc << 48 | start bits 111..64 (bits 127..112 are the /16's),
 *             the last line padded with copies of the last interval, then
 *             8g words of start bits 63..0
 * An index word with RP_GEO_DIRECT set means the whole /16 is one country
 * (cc in the low 16 bits, RP_CC_NONE for none); otherwise bits 32..62 count
 * the /16's intervals (>= 2) and the low 32 bits number the first (IPv4: its
 * __u32 number, IPv6: its word).  The intervals of one /16 never straddle a
 * block, so the search runs on one block with plain loads: an 8-way search
 * (7 probes split the slice in 8) while more than 8 remain, then a binary
 * search; RP_GEO_KARY_STEPS 8-way steps at most (the builder checks).  The
 * first interval of every /16 starts at the /16's first address, so the
 * answer is the last interval whose start is <= the address.  Intervals
 * cover gaps too (cc RP_CC_NONE), so every address has exactly one.  Block
 * 0 holds the header and both indexes. */
#define RP_PIN_GEO "rp_geo"
#define RP_CC_NODB 0xfffe		/* lookup result: no database loaded */
#define RP_GEO_MAGIC 0x3330425244474552ULL	/* "REGDRB03" */
#define RP_GEO_BLOCK_SHIFT 18
#define RP_GEO_BLOCK_WORDS (1u << RP_GEO_BLOCK_SHIFT)
#define RP_GEO_H_NAMES 16		/* source file names, "v4\0v6\0" */
#define RP_GEO_NAMES_BYTES 1024
#define RP_GEO_HDR_WORDS (RP_GEO_H_NAMES + RP_GEO_NAMES_BYTES / 8)
#define RP_GEO_IDX4 RP_GEO_HDR_WORDS
#define RP_GEO_IDX6 (RP_GEO_IDX4 + 65536)
#define RP_GEO_FIXED_WORDS (RP_GEO_IDX6 + 65536)
#define RP_GEO_DIRECT (1ULL << 63)
#define RP_GEO_KARY_STEPS 8

struct rp_geo_block {
	__u64 w[RP_GEO_BLOCK_WORDS];
};

enum rp_geo_hdr {
	RP_GEO_H_MAGIC = 0,
	RP_GEO_H_N4,		/* IPv4 intervals (with gaps) */
	RP_GEO_H_N6,		/* IPv6 intervals (per /16, with gaps) */
	RP_GEO_H_OFF4,		/* word offsets of the regions */
	RP_GEO_H_OFF6,
	RP_GEO_H_RESERVED1,
	RP_GEO_H_RESERVED2,
	RP_GEO_H_WORDS,		/* total words (blocks * RP_GEO_BLOCK_WORDS) */
	RP_GEO_H_LOADED_AT,	/* unix seconds */
	RP_GEO_H_RANGES4,	/* ranges with a country, as `geo` counts them */
	RP_GEO_H_RANGES6,
	RP_GEO_H_FORMAT,	/* enum rp_geo_format */
	RP_GEO_H_HASH,		/* FNV-1a 64 of the ranges: same data, same hash */
};

#endif /* REMPART_ABI_H */
