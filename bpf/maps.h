/* SPDX-License-Identifier: GPL-2.0 */
/* maps.h — the maps of rempart.bpf.c (their keys and values are in
 * rempart_abi.h; RP_PIN_* names how userspace finds them pinned).  Included
 * by rempart.bpf.c only, once: each definition here is one map of the
 * object.
 */
#ifndef REMPART_BPF_MAPS_H
#define REMPART_BPF_MAPS_H

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_state);
} rp_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_COUNTERS_MAX);
	__type(key, __u32);
	__type(value, struct rp_counter);
} rp_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_GEO_DROPS_MAX);
	__type(key, __u32);
	__type(value, struct rp_counter);
} rp_geo_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_RULE_COUNTERS_MAX);
	__type(key, __u32);
	__type(value, struct rp_counter);
} rp_rule_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rp_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_ratelimit);
} rp_evlimit SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_evstats);
} rp_evstats SEC(".maps");

struct rp_node {
	__u32 e[RP_NODE_STRIDE];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_SLOTS * RP_NODES_PER_SLOT);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct rp_node);
} rp_nodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_SLOTS * RP_ATOMS_PER_SLOT);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct rp_atom);
} rp_atoms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RP_RULES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rp_rule_key);
	__type(value, struct rp_rule_val);
} rp_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_TENANT_SLOTS);
	__type(key, __u32);
	__type(value, struct rp_tenant_cfg);
} rp_tenants SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_SLOTS);
	__type(key, __u32);
	__type(value, struct rp_global_cfg);
} rp_global SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RP_IFACES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rp_iface_key);
	__type(value, struct rp_iface_val);
} rp_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_SLOTS * RP_IFIDX_MAX);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct rp_ifidx_val);
} rp_ifidx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_SLOTS * RP_PORTIDX_PER_SLOT);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct rp_portidx_val);
} rp_portidx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RP_PORTS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rp_port_key);
	__type(value, struct rp_port_val);
} rp_ports SEC(".maps");

/* Flow tables, one per tenant (and the gateway's, the NAT one): inner LRU
 * maps created by userspace, sized there (an inner hash map may have any
 * max_entries); the template's size here does not matter. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, RP_FLOW_TABLES);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_LRU_HASH);
		__uint(max_entries, 1);
		__uint(key_size, sizeof(struct rp_flow_key));
		__uint(value_size, sizeof(struct rp_flow_val));
	});
} rp_flowt6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, RP_FLOW_TABLES);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_LRU_HASH);
		__uint(max_entries, 1);
		__uint(key_size, sizeof(struct rp_flow4_key));
		__uint(value_size, sizeof(struct rp_flow_val));
	});
} rp_flowt4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_FLOW_TABLES);
	__type(key, __u32);
	__type(value, struct rp_flow_stat);
} rp_flow_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RP_FRAG_MAX);
	__type(key, struct rp_frag_key);
	__type(value, struct rp_frag_val);
} rp_frags SEC(".maps");

/* Updated by userspace only: an update of a map-in-map waits for an RCU
 * grace period, i.e. for every program still reading the old slot. */
struct rp_sync_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} rp_sync_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct rp_sync_inner);
} rp_sync SEC(".maps") = {
	.values = { [0] = &rp_sync_inner },
};

#endif
