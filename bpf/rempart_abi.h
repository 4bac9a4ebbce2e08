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

/* Reasons (docs/policy.md, the `reason` label of metrics and events).  The X-macro
 * keeps the enum and the names in one list; order is ABI (counter index):
 * a new reason is appended.  `gateway`: a tenant's packet addressed to the
 * gateway itself that is not ICMP echo on that tenant's own gateway address
 * (docs/policy.md). */
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
	X(RP_R_MALFORMED, "malformed")       \
	X(RP_R_GATEWAY, "gateway")

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
#define RP_PIN_EVSTATS "rp_evstats"	/* PERCPU_ARRAY[1] of struct rp_evstats */

/* rp_counters key: tenant id (0 = _gateway) * RP_R__COUNT + reason.  A
 * macro, not an inline function like the keys below: as a function, clang
 * lays out the programs' account() otherwise (uplink_in 66 instructions
 * longer, 12% more verifier work on 6.1). */
#define RP_COUNTERS_MAX ((RP_TENANT_ID_MAX + 1) * RP_R__COUNT)
#define rp_counter_key(tenant, reason) ((tenant) * RP_R__COUNT + (reason))
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
	__u32 rule;		/* the rule or share that decided (rp_rule_counters id), 0 none */
	__u32 pad1;
};
_Static_assert(sizeof(struct rp_event) == 72, "rp_event layout");
/* Readers take the first RP_EVENT_MIN bytes of an event from an older build
 * (rule 0), so the ring buffer's reader and writer may differ in a change. */
#define RP_EVENT_MIN 64

/* Events that did not reach the ring buffer (per CPU, since the map was
 * made): the token bucket said no (ev_rate), or the buffer was full because
 * no reader kept up. */
struct rp_evstats {
	__u64 limited;
	__u64 lost;
};
_Static_assert(sizeof(struct rp_evstats) == 16, "rp_evstats layout");

/* Dataplane-wide state: which policy generation is live. */
struct rp_state {
	__u64 generation;	/* bumped by every successful policy swap */
	__u32 active_slot;	/* which of the two policy slots the programs read */
	__u32 flags;
};
_Static_assert(sizeof(struct rp_state) == 16, "rp_state layout");

/* ---- Policy maps (written by the compiler, userspace/policy/policy.c) ----------
 *
 * The policy lives in two slots; every key carries its slot and the programs
 * read rp_state.active_slot once per packet (docs/dataplane.md).  The compiler fills
 * the inactive slot completely, flips active_slot, waits for running
 * programs to finish (an RCU grace period) and clears the old slot.
 */
#define RP_SLOTS 2
#define RP_PIN_NODES "rp_nodes"		/* ARRAY of 256 x __u32 nodes: address tries, see below */
#define RP_PIN_ATOMS "rp_atoms"		/* ARRAY rp_atom */
#define RP_PIN_RULES "rp_rules"		/* HASH rp_rule_key -> rp_rule_val */
#define RP_PIN_TENANTS "rp_tenants"	/* ARRAY rp_tenant_key(slot, id) -> rp_tenant_cfg */
#define RP_PIN_GLOBAL "rp_global"	/* ARRAY slot -> rp_global_cfg */
#define RP_PIN_IFACES "rp_ifaces"	/* HASH rp_iface_key -> rp_iface_val */
#define RP_PIN_PORTS "rp_ports"		/* HASH rp_port_key -> rp_port_val */
#define RP_PIN_IFIDX "rp_ifidx"		/* ARRAY rp_ifidx_key(slot, ifindex) -> rp_ifidx_val */
#define RP_PIN_PORTIDX "rp_portidx"	/* ARRAY rp_portidx_key(slot, port) -> rp_portidx_val */
#define RP_PIN_FLOWT6 "rp_flowt6"	/* ARRAY_OF_MAPS table -> LRU_HASH rp_flow_key -> rp_flow_val (IPv6) */
#define RP_PIN_FLOWT4 "rp_flowt4"	/* ARRAY_OF_MAPS table -> LRU_HASH rp_flow4_key -> rp_flow_val (IPv4) */
#define RP_PIN_FLOW_STATS "rp_flow_stats"	/* PERCPU_ARRAY table -> rp_flow_stat */
#define RP_PIN_FRAGS "rp_frags"		/* LRU_HASH rp_frag_key -> rp_frag_val */
#define RP_PIN_RULE_COUNTERS "rp_rule_counters"	/* PERCPU_ARRAY rule id -> rp_counter */
#define RP_PIN_SYNC "rp_sync"		/* ARRAY_OF_MAPS, updated only to wait for an RCU grace period */

#define RP_RULES_MAX (1 << 20)
#define RP_IFACES_MAX 16384
#define RP_PORTS_MAX 16384
/* Flow tables (docs/policy.md "Flows"): one LRU table per family for each
 * tenant (index = its id), one for the gateway's own connections (index 0)
 * and one for the tenants' NATed connections (RP_FLOW_NAT), so that what a
 * tenant records can only ever push out its own entries.  Created by
 * userspace (dp_flow_tables_sync) for the tenants of the config. */
#define RP_FLOW_NAT (RP_TENANT_ID_MAX + 1)
#define RP_FLOW_TABLES (RP_TENANT_ID_MAX + 2)
#define RP_FLOW_TENANT_MAX 16384	/* entries per family of a tenant's table */
#define RP_FLOW_GATEWAY_MAX 16384	/* of the gateway's own */
#define RP_FLOW_NAT_MAX 65536		/* of the NAT table */
#define RP_FRAG_MAX 16384
#define RP_RULE_COUNTERS_MAX 262144	/* rule ids 1.., 0 = no rule */

/* Address lookups: per (slot, tenant, family) a multibit trie with 8-bit
 * strides (4 levels for IPv4, up to 16 for IPv6), prefixes expanded into
 * the slots they cover, so a lookup is a few array reads whatever the
 * number of prefixes.  rp_nodes is an array of nodes, each 256 __u32
 * entries (one per value of the next address byte).  An entry is 0 (no prefix covers
 * it), RP_NODE_CHILD | child node, or the id of an rp_atom in rp_atoms.
 * Node and atom ids are absolute: slot s owns ids [s * PER_SLOT,
 * (s + 1) * PER_SLOT), id 0 of each region unused.  Roots are in
 * rp_tenant_cfg (tenant 0 of a slot: the gateway-wide prefixes:
 * management, every tenant's networks and site prefixes).  Nodes with the
 * same entries are one node, shared within a trie and across tries (the
 * compiler's trie_share()): the tries are a graph without cycles, a child's
 * id always larger than its parent's. */
#define RP_NODE_STRIDE 256
#define RP_NODES_PER_SLOT 16384
#define RP_ATOMS_PER_SLOT 262144
#define RP_NODE_CHILD 0x80000000u

/* The keys of the arrays that keep one region per slot (rp_tenants,
 * rp_ifidx, rp_portidx) are formulas written once, here, for the programs
 * and userspace alike.  rp_nodes' and rp_atoms' regions are sized at load
 * from the configuration (policy_nodes_per_slot(), policy_atom_key():
 * userspace/dataplane/dataplane_size.c); RP_NODES_PER_SLOT and
 * RP_ATOMS_PER_SLOT are what maps.h declares, the largest. */

/* Zones of docs/policy.md. */
enum rp_zone {
	RP_Z_NONE = 0,
	RP_Z_SITE = 1,
	RP_Z_CLOUD = 2,
	RP_Z_GATEWAY = 3,
	RP_Z_SHARE = 4,
};

/* rp_atom.flags */
#define RP_A_IN_SITE 0x01	/* in one of the tenant's sites' allowed_ips */
#define RP_A_IN_CLOUD 0x02	/* in the tenant's cloud_prefixes */
#define RP_A_ALLOW_FROM 0x04	/* in one of the tenant's sites' allow_from */
#define RP_A_MGMT 0x08		/* tenant 0: in [management] allow_from */
#define RP_A_GW 0x10		/* an address of the gateway itself (docs/policy.md "The gateway's addresses") */
#define RP_A_GW_OWN 0x20	/* the tenant's own gateway address (tunnel_address, cloud_address host) */
#define RP_A_GW_CLOUD 0x40	/* the tenant's own cloud_address host */

/* The value of an address lookup: everything the policy needs to know about
 * the longest prefix that matched (the compiler folds every shorter prefix
 * of the same tenant into it). */
struct rp_atom {
	__u32 src_class;	/* rule classes: 0 = matches no rule's from */
	__u32 dst_class;	/* 0 = matches no rule's to */
	__u32 share_id;		/* zone share: the share's id (rp_rule_key.dst_class) */
	__u16 flags;		/* RP_A_* */
	__u8 zone;		/* enum rp_zone */
	__u8 pad;
	__u16 share_owner;	/* zone share: the offering tenant's id */
	__u16 site_owner;	/* tenant 0: lowest tenant id with a site prefix here, 0 none */
	__u16 owner_a, owner_b;	/* tenant 0: two lowest ids owning a network here, 0 none */
};
_Static_assert(sizeof(struct rp_atom) == 24, "rp_atom layout");

/* Protocol classes of rule tables. */
enum rp_pcls {
	RP_PC_TCP = 0,
	RP_PC_UDP = 1,
	RP_PC_ICMP = 2,		/* ICMP and ICMPv6 */
	RP_PC_OTHER = 3,
	RP_PC__COUNT
};

enum rp_rule_kind {
	RP_RK_RULES = 0,	/* (tenant, src_class, dst_class): intra rules */
	RP_RK_SHARE = 1,	/* (0, 0, share id): a share's proto/ports */
};

struct rp_rule_key {
	__u8 slot;
	__u8 kind;		/* enum rp_rule_kind */
	__u8 pcls;		/* enum rp_pcls */
	__u8 pad;
	__u16 tenant;
	__u16 pad2;
	__u32 src_class;
	__u32 dst_class;
};
_Static_assert(sizeof(struct rp_rule_key) == 16, "rp_rule_key layout");

/* A destination-port table: segments sorted by lo, the first at 0, each
 * running to the next one's lo - 1 (the last to 65535).  Protocols without
 * ports use segment 0 only. */
#define RP_SEGS_MAX 32
#define RP_SEGS_LOG2 5
enum rp_act { RP_ACT_NONE = 0, RP_ACT_ALLOW = 1, RP_ACT_DENY = 2 };
struct rp_seg {
	__u16 lo;
	__u8 act;		/* enum rp_act */
	__u8 pad;
	__u32 rule;		/* rule id (rp_rule_counters), 0 none */
};
struct rp_rule_val {
	__u32 n;		/* segments used, 1..RP_SEGS_MAX */
	__u32 pad;
	struct rp_seg seg[RP_SEGS_MAX];
};
_Static_assert(sizeof(struct rp_seg) == 8, "rp_seg layout");
_Static_assert(sizeof(struct rp_rule_val) == 8 + 8 * RP_SEGS_MAX, "rp_rule_val layout");

/* rp_tenant_cfg.flags */
#define RP_T_VALID 0x01
#define RP_T_INTRA_ALLOW 0x02
#define RP_T_EGRESS_NAT 0x04
#define RP_T_EGRESS_CC 0x08	/* egress_countries set */
#define RP_T_SHARE_NAT 0x10	/* offers a share to another tenant: its answers to a consumer's
				 * cloud come NATed to the tenant's own cloud_address */
struct rp_tenant_cfg {
	__u16 id;
	__u16 flags;
	__u32 root4;		/* trie roots (rp_nodes), 0: no prefix */
	__u32 root6;
	__u32 pad;
	struct rp_ccset site_cc;
	struct rp_ccset egress_cc;
};
_Static_assert(sizeof(struct rp_tenant_cfg) == 192, "rp_tenant_cfg layout");
/* rp_tenants: the slots of a tenant side by side, so that the map is sized
 * from the highest tenant id of the configuration (dataplane_size.c).  The
 * largest size, a power of two, is never the size of a map of the older
 * layout (slot * (RP_TENANT_ID_MAX + 1) + id, 8002 entries): an upgrade
 * always makes the policy maps anew. */
#define RP_TENANT_SLOTS 8192
_Static_assert(RP_TENANT_SLOTS >= RP_SLOTS * (RP_TENANT_ID_MAX + 1), "rp_tenants holds every id");
static inline __u32 rp_tenant_key(__u32 slot, __u32 id)
{
	return id * RP_SLOTS + slot;
}

/* rp_global_cfg.flags */
#define RP_G_VALID 0x01
#define RP_G_UNKNOWN_ALLOW 0x02	/* [geo] unknown = allow */
#define RP_G_MGMT_CC 0x04	/* [management] countries set */
#define RP_MGMT_PORTS_MAX 16
#define RP_UPLINK_ADDRS 8		/* uplink addresses per family the programs know */
struct rp_port_span {
	__u16 lo, hi;
};
struct rp_global_cfg {
	__u32 flags;
	__u32 n_mgmt_ports;
	struct rp_port_span mgmt_ports[RP_MGMT_PORTS_MAX];
	struct rp_ccset mgmt_cc;
	struct rp_port_span nat;	/* source ports of NATed connections (0-0: none) */
	__u8 n_up4, n_up6;		/* the uplink's addresses, as found at apply */
	__u16 pad;
	__u32 up4[RP_UPLINK_ADDRS];	/* network order */
	__u32 up6[RP_UPLINK_ADDRS][4];
};
_Static_assert(sizeof(struct rp_global_cfg) == 8 + 64 + 88 + 8 + 32 + 128, "rp_global_cfg layout");

/* Interfaces: (ifindex, outer VLAN id, hook) -> tenant. */
struct rp_iface_key {
	__u32 ifindex;
	__u16 vid;		/* cloud: outer VID, 0 untagged; tunnel: 0 */
	__u8 slot;
	__u8 hook;		/* RP_HOOK_CLOUD_IN | RP_HOOK_TUNNEL_IN */
};
_Static_assert(sizeof(struct rp_iface_key) == 8, "rp_iface_key layout");
struct rp_iface_val {
	__u16 tenant;
	__u16 pad;
};

/* The same for untagged frames and tunnels on interfaces with a small
 * ifindex: an array read instead of a hash lookup (rp_ifaces stays the
 * reference, and the only table for VLANs and large ifindexes). */
#define RP_IFIDX_MAX 4096
struct rp_ifidx_val {
	__u16 cloud;		/* tenant id of untagged frames, 0 none */
	__u16 tunnel;		/* tenant id of the tunnel, 0 none */
	__u32 pad;		/* 8 bytes: the mmap stride of an array */
};
_Static_assert(sizeof(struct rp_ifidx_val) == 8, "rp_ifidx_val layout");
static inline __u32 rp_ifidx_key(__u32 slot, __u32 ifindex)
{
	return slot * RP_IFIDX_MAX + ifindex;
}

/* Uplink UDP listen ports -> tenant, as an array (what uplink_in reads);
 * rp_ports holds the same as a hash, for tools. */
struct rp_portidx_val {
	__u16 tenant;		/* 0: no tenant listens there */
	__u16 pad[3];		/* 8 bytes: the mmap stride of an array */
};
_Static_assert(sizeof(struct rp_portidx_val) == 8, "rp_portidx_val layout");
#define RP_PORTIDX_PER_SLOT 65536
static inline __u32 rp_portidx_key(__u32 slot, __u32 port)
{
	return slot * RP_PORTIDX_PER_SLOT + port;
}

/* Uplink UDP listen ports -> tenant. */
struct rp_port_key {
	__u8 slot;
	__u8 pad;
	__u16 port;		/* host order */
};
struct rp_port_val {
	__u16 tenant;
	__u16 pad;
};

/* Flows (docs/policy.md "Flows"): the 5-tuple of the packet that was
 * allowed, in the zone it was recorded for.  ICMP echo: the id in both
 * ports. */
struct rp_flow_key {
	__u16 zone;		/* tenant id, 0 = _gateway */
	__u8 family;
	__u8 proto;
	__u16 sport, dport;	/* host order */
	__u8 src[16], dst[16];
};
_Static_assert(sizeof(struct rp_flow_key) == 40, "rp_flow_key layout");
struct rp_flow4_key {
	__u16 zone;
	__u8 proto;
	__u8 pad;
	__u16 sport, dport;
	__u32 src, dst;		/* network order */
};
_Static_assert(sizeof(struct rp_flow4_key) == 16, "rp_flow4_key layout");

struct rp_flow_val {
	__u64 expires_ns;
	__u16 owner;		/* the tenant whose connection it is (0: the gateway's) */
	__u16 pad[3];
};
_Static_assert(sizeof(struct rp_flow_val) == 16, "rp_flow_val layout");

/* Per table, per CPU: entries created (an entry leaves a table only when
 * the LRU evicts it: evictions = created - present), and flows that could
 * not be recorded (no table for the zone, or the kernel refused). */
struct rp_flow_stat {
	__u64 created;
	__u64 refused;
};
_Static_assert(sizeof(struct rp_flow_stat) == 16, "rp_flow_stat layout");

/* The skb mark of a tenant's packets (RP_MARK_BASE | tenant id): set by
 * tunnel_in and cloud_mark at the tenant's ingress, reflected by the kernel
 * onto what the gateway answers (net.ipv4.fwmark_reflect), restored from
 * conntrack on NAT replies; the rule "fwmark RP_MARK_BASE|id lookup
 * 1000+id" routes it in the tenant's own table.  uplink_out tells a
 * tenant's NATed connection from the gateway's own by it. */
#define RP_MARK_BASE 0x52500000u
#define RP_MARK_MASK 0xffff0000u

struct rp_frag_key {
	__u16 zone;
	__u8 family;
	__u8 proto;
	__u32 id;
	__u8 src[16], dst[16];
};
_Static_assert(sizeof(struct rp_frag_key) == 40, "rp_frag_key layout");
struct rp_frag_val {
	__u64 expires_ns;
	__u8 reason;		/* the first fragment's (allowed) reason */
	__u8 pad[3];
	__u16 tenant;		/* counted against */
	__u16 pad2;
};

/* Timeouts (docs/policy.md). */
#define RP_NS 1000000000ULL
#define RP_TO_TCP_EST (7200 * RP_NS)
#define RP_TO_TCP_SYN (60 * RP_NS)
#define RP_TO_UDP (60 * RP_NS)
#define RP_TO_ICMP (30 * RP_NS)
#define RP_TO_OTHER (60 * RP_NS)
#define RP_TO_FRAG (30 * RP_NS)

/* Event rate limit (token bucket per CPU). */
struct rp_ratelimit {
	__u64 last_ns;
	__u64 tokens;		/* in 1/1000 of an event */
};

/* Geo database in BPF (bpf/geo.h looks up, userspace/geo/geo_bpf.c builds).
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
 *   from H_OFF6: IPv6, per /16 (from a multiple of 8 words), a static
 *             B-tree of n keys, RP_GEO_FAN (8) words a node, one cache
 *             line: levels = the least L with 8^L >= n; level l (0: root)
 *             has m_l = ceil(n / 8^(L - l)) nodes, stored level after
 *             level; node k of level l + 1 is child k % 8 of node k / 8.
 *             A word is key << 15 | value, key = start bits 111..64; at
 *             the bottom, entry i is key i, in internal nodes entry i is
 *             the first key of child i; past the last child or key, a copy
 *             of the last.  value: a country, RP_GEO_V6_NONE, or
 *             RP_GEO_V6_EXC | x: the key's /64 has boundaries inside, its
 *             intervals are exception x.  After the tree, one word per
 *             exception (count << 32 | word of its list), then the lists:
 *             (start bits 63..0, cc) word pairs, sorted, the first at 0.
 *             Keys are distinct: the search compares 7 keys a level
 *             without ties (key <= address bits 111..64).
 * An index word with RP_GEO_DIRECT set means the whole /16 is one country
 * (cc in the low 16 bits, RP_CC_NONE for none); otherwise the low 32 bits
 * number the /16's first word (IPv4: its first __u32), and the rest says
 * how many: IPv4, bits 32..62 count the /16's intervals (>= 2), searched
 * with 8-way steps (7 probes split the slice in 8) while more than 8
 * remain, then a binary search, RP_GEO_KARY_STEPS 8-way steps at most;
 * IPv6, bits 32..55 count the tree's keys, bits 56..58 its levels
 * (RP_GEO_V6_LEVELS at most; the builder checks).  A /16's words never
 * straddle a block, so the search runs on one block with plain loads.  The
 * first interval of every /16 starts at the /16's first address, so the
 * answer is the last interval whose start is <= the address.  Intervals
 * cover gaps too (cc RP_CC_NONE), so every address has exactly one.  Block
 * 0 holds the header and both indexes. */
#define RP_PIN_GEO "rp_geo"
#define RP_CC_NODB 0xfffe		/* lookup result: no database loaded */
#define RP_GEO_MAGIC 0x3430425244474552ULL	/* "REGDRB04" */
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
#define RP_GEO_FAN 8			/* IPv6 B-tree: entries per node (one line) */
#define RP_GEO_FAN_SHIFT 3
#define RP_GEO_V6_LEVELS 7		/* IPv6 B-tree levels at most */
#define RP_GEO_V6_NMASK 0xffffff	/* IPv6 index word: bits 32..55 count */
#define RP_GEO_V6_LSHIFT 56		/* bits 56..58: levels */
#define RP_GEO_M48 0xffffffffffffULL
#define RP_GEO_V6_KSHIFT 15		/* tree word: key << 15 | value */
#define RP_GEO_V6_VMASK 0x7fffULL
#define RP_GEO_V6_NONE 0x7fff		/* value: no country */
#define RP_GEO_V6_EXC 0x4000		/* value: exception number | this */
#define RP_GEO_V6_XMAX 0x3fff		/* exceptions per /16 */
#define RP_GEO_V6_XSTEPS 20		/* binary steps in an exception */

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
