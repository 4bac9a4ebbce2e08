// SPDX-License-Identifier: GPL-2.0
/* dataplane_size.c — every map's size from the configuration
 * (dataplane_size.h, docs/dataplane.md "Map sizes"). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dataplane/dataplane_maps.h"
#include "dataplane/dataplane_size.h"

/* Floors of a map created for a configuration, and the ceilings (the sizes
 * maps.h declares: what the programs and the compiler were written for). */
static const struct {
	const char *name;
	unsigned floor, ceil;
} spec[DPS__COUNT] = {
	[DPS_NODES] = { RP_PIN_NODES, RP_SLOTS * 256, RP_SLOTS * (1u << 24) },
	[DPS_ATOMS] = { RP_PIN_ATOMS, RP_SLOTS * 1024, RP_SLOTS * RP_ATOMS_PER_SLOT },
	[DPS_RULES] = { RP_PIN_RULES, 1024, RP_RULES_MAX },
	[DPS_IFACES] = { RP_PIN_IFACES, 256, RP_IFACES_MAX },
	[DPS_PORTS] = { RP_PIN_PORTS, 256, RP_PORTS_MAX },
	[DPS_RULE_COUNTERS] = { RP_PIN_RULE_COUNTERS, 1024, RP_RULE_COUNTERS_MAX },
	[DPS_COUNTERS] = { RP_PIN_COUNTERS, 16 * RP_R__COUNT, RP_COUNTERS_MAX },
	[DPS_FRAGS] = { RP_PIN_FRAGS, 1024, RP_FRAG_MAX },
	[DPS_TENANTS] = { RP_PIN_TENANTS, 64, RP_TENANT_SLOTS },
};

/* Flow tables are preallocated LRU maps (an LRU hash cannot be
 * BPF_F_NO_PREALLOC): ~120 bytes an IPv6 entry, ~96 an IPv4 one, used or
 * not.  A table starts small (dp_flow_table_first()) and is grown by
 * replacement under load (dp_flow_tables_grow()) up to its ceiling: for a
 * tenant 64 entries per site per family.  When full, the connections idle
 * the longest are pushed out first, and only by the tenant's own. */
#define FRAGS_PER_TENANT 128
#define FLOW_PER_SITE 64
#define FLOW_TENANT_MIN 1024
#define FLOW_GATEWAY 1024
#define FLOW_NAT_PER_TENANT 1024
/* The kernel's LRU hands each CPU its free entries in batches of 128
 * (LOCAL_FREE_TARGET, kernel/bpf/bpf_lru_list.c): a table smaller than 128
 * per possible CPU could push flows out before it is full. */
#define FLOW_FIRST_PER_CPU 128
#define FLOW_FIRST_MIN 256

const char *dp_sized_name(enum dp_sized i)
{
	return spec[i].name;
}

static unsigned pow2_at_least(unsigned long long n)
{
	unsigned long long p = 1;

	while (p < n)
		p <<= 1;
	return p > 0x80000000ull ? 0x80000000u : (unsigned)p;
}

static unsigned clamp(unsigned long long v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : (unsigned)v;
}

void dp_sizes_need(const struct rp_config *cfg, const struct rp_policy *p, struct dp_sizes *need)
{
	unsigned max_id = 0;

	for (size_t i = 0; i < cfg->n_tenants; i++)
		if (cfg->tenants[i].id > max_id)
			max_id = cfg->tenants[i].id;
	memset(need, 0, sizeof(*need));
	/* p->n_nodes / n_atoms count local id 0 (unused) */
	need->n[DPS_NODES] = RP_SLOTS * (p->n_nodes + 1);
	need->n[DPS_ATOMS] = RP_SLOTS * (p->n_atoms + 1);
	need->n[DPS_RULES] = RP_SLOTS * p->n_rules;
	need->n[DPS_IFACES] = RP_SLOTS * p->n_ifaces;
	need->n[DPS_PORTS] = RP_SLOTS * p->n_ports;
	need->n[DPS_RULE_COUNTERS] = p->n_rule_names + 1;
	need->n[DPS_COUNTERS] = (max_id + 1) * RP_R__COUNT;
	need->n[DPS_FRAGS] = FRAGS_PER_TENANT * (cfg->n_tenants + 1);
	need->n[DPS_TENANTS] = RP_SLOTS * (max_id + 1);
}

void dp_sizes_room(const struct dp_sizes *need, struct dp_sizes *room)
{
	for (int i = 0; i < DPS__COUNT; i++) {
		unsigned long long n = need->n[i];

		if (i == DPS_NODES)	/* 1 KiB a node: a quarter to spare, in steps of 256 per slot */
			n = (n / RP_SLOTS + n / RP_SLOTS / 4 + 255) / 256 * 256 * RP_SLOTS;
		else
			n = pow2_at_least(2 * n);
		room->n[i] = clamp(n, spec[i].floor, spec[i].ceil);
	}
	/* an array of slots holds a whole number of them */
	room->n[DPS_ATOMS] -= room->n[DPS_ATOMS] % RP_SLOTS;
}

int dp_sizes_compile(const struct rp_config *cfg, struct dp_sizes *need, struct diag *d)
{
	size_t nodes = policy_nodes_per_slot(), atoms = policy_atoms_per_slot();
	struct rp_policy p = { 0 };
	int err;

	policy_set_nodes_per_slot(1u << 24);
	policy_set_atoms_per_slot(RP_ATOMS_PER_SLOT);
	err = policy_compile(cfg, 0, NULL, NULL, &p, d);
	if (!err)
		dp_sizes_need(cfg, &p, need);
	policy_free(&p);
	policy_set_nodes_per_slot(nodes);
	policy_set_atoms_per_slot(atoms);
	return err;
}

bool dp_sizes_keep(enum dp_sized i, unsigned pinned, const struct dp_sizes *need)
{
	if (i == DPS_TENANTS && pinned == RP_SLOTS * (RP_TENANT_ID_MAX + 1))
		return false;
	return i == DPS_FRAGS || pinned >= need->n[i];
}

static unsigned max_entries(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	return fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

int dp_sizes_check(const struct dp_maps *m, const struct rp_config *cfg, const struct rp_policy *p,
		   struct diag *d)
{
	const int fds[DPS__COUNT] = {
		[DPS_NODES] = m->nodes, [DPS_ATOMS] = m->atoms, [DPS_RULES] = m->rules,
		[DPS_IFACES] = m->ifaces, [DPS_PORTS] = m->ports, [DPS_RULE_COUNTERS] = m->rule_counters,
		[DPS_COUNTERS] = m->counters, [DPS_FRAGS] = -1,	/* any size works */
		[DPS_TENANTS] = m->tenants,
	};
	struct dp_sizes need;

	dp_sizes_need(cfg, p, &need);
	for (int i = 0; i < DPS__COUNT; i++) {
		unsigned have = fds[i] < 0 ? 0 : max_entries(fds[i]);

		if (fds[i] < 0 || !have)
			continue;	/* not open here (a test's skeleton), or unreadable */
		if (need.n[i] > have) {
			diag_add(d, "dataplane: the policy needs %u entries of %s, which holds %u: the "
				    "maps are made anew, larger (by `rempart apply`)",
				 need.n[i], spec[i].name, have);
			return -ENOSPC;
		}
	}
	return 0;
}

unsigned dp_flow_table_size(const struct rp_config *cfg, unsigned table)
{
	unsigned long long n = 0;

	if (table == RP_TENANT_GATEWAY)
		return FLOW_GATEWAY;
	if (table == RP_FLOW_NAT) {
		for (size_t i = 0; cfg && i < cfg->n_tenants; i++)
			n += cfg->tenants[i].egress == RP_EGRESS_NAT ? FLOW_NAT_PER_TENANT : 0;
		return clamp(pow2_at_least(n), FLOW_NAT_PER_TENANT, RP_FLOW_NAT_MAX);
	}
	for (size_t i = 0; cfg && i < cfg->n_tenants; i++)
		if (cfg->tenants[i].id == table)
			n = (unsigned long long)FLOW_PER_SITE * cfg->tenants[i].n_sites;
	return clamp(pow2_at_least(n), FLOW_TENANT_MIN, RP_FLOW_TENANT_MAX);
}

unsigned dp_flow_table_first(const struct rp_config *cfg, unsigned table)
{
	int ncpu = libbpf_num_possible_cpus();
	unsigned ceil = dp_flow_table_size(cfg, table);
	unsigned first = pow2_at_least((unsigned long long)FLOW_FIRST_PER_CPU * (ncpu > 0 ? ncpu : 1));

	if (first < FLOW_FIRST_MIN)
		first = FLOW_FIRST_MIN;
	return first < ceil ? first : ceil;
}
