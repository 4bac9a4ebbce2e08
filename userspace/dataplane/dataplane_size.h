/* dataplane_size.h — every map's size from the configuration
 * (docs/dataplane.md "Map sizes").
 *
 * need: what cfg's compiled policy takes (both slots of a hash map count:
 * the install writes the new slot beside the running one).  room: what a
 * map is created with: the next power of two >= 2 x need, at least a floor
 * (trie nodes, 1 KiB each: need + a quarter, in steps of 256).  A pinned
 * map that holds the need is kept, whatever its size; one that does not is
 * made anew at room size beside it, and the policy moves over without a gap
 * (dataplane_upgrade.c, dataplane.c "grow"). */
#ifndef REMPART_DATAPLANE_SIZE_H
#define REMPART_DATAPLANE_SIZE_H
#include <stdbool.h>
#include "config/config.h"
#include "lib/diag.h"
#include "policy/policy.h"

enum dp_sized {
	DPS_NODES,		/* rp_nodes: both slots (trie nodes) */
	DPS_ATOMS,		/* rp_atoms: both slots */
	DPS_RULES,		/* rp_rules (hash) */
	DPS_IFACES,		/* rp_ifaces (hash) */
	DPS_PORTS,		/* rp_ports (hash) */
	DPS_RULE_COUNTERS,	/* rp_rule_counters: rule id -> counter */
	DPS_COUNTERS,		/* rp_counters: tenant id x reason */
	DPS_FRAGS,		/* rp_frags (LRU) */
	DPS_TENANTS,		/* rp_tenants: tenant id x slot */
	DPS__COUNT
};

struct dp_sizes {
	unsigned n[DPS__COUNT];		/* max_entries */
};

/* The map each size is for (its name in RP_PIN_DIR). */
const char *dp_sized_name(enum dp_sized i);

/* May a pinned map of map i with `pinned` entries be kept for a policy
 * that needs need->n[i]?  It holds it (rp_frags: any size: one made anew
 * would lose the fragments in flight), and is of this layout (rp_tenants
 * of RP_SLOTS * (RP_TENANT_ID_MAX + 1) entries are keyed by the older
 * slot-major formula). */
bool dp_sizes_keep(enum dp_sized i, unsigned pinned, const struct dp_sizes *need);

/* need from a compiled policy (p) of cfg; room from need. */
void dp_sizes_need(const struct rp_config *cfg, const struct rp_policy *p, struct dp_sizes *need);
void dp_sizes_room(const struct dp_sizes *need, struct dp_sizes *room);
/* need by compiling cfg once (slot 0, with no capacity limit). */
int dp_sizes_compile(const struct rp_config *cfg, struct dp_sizes *need, struct diag *d);

/* Does the policy p fit the maps m has?  0, or -ENOSPC with the map that is
 * too small said in d (the loader then grows the maps: dataplane.c). */
struct dp_maps;
int dp_sizes_check(const struct dp_maps *m, const struct rp_config *cfg, const struct rp_policy *p,
		   struct diag *d);

/* The most entries a flow table of cfg grows to, per family
 * (docs/dataplane.md "Map sizes"): a tenant's 64 per site, at least 1024,
 * at most RP_FLOW_TENANT_MAX, a power of two; the gateway's 1024; the NAT
 * table 1024 per tenant with egress = nat, at least 1024, at most
 * RP_FLOW_NAT_MAX. */
unsigned dp_flow_table_size(const struct rp_config *cfg, unsigned table);
/* The entries a new flow table starts with: 128 per possible CPU (the
 * kernel LRU's per-CPU batch), at least 256, a power of two, at most the
 * ceiling above.  dp_flow_tables_grow() grows it under load. */
unsigned dp_flow_table_first(const struct rp_config *cfg, unsigned table);
#endif
