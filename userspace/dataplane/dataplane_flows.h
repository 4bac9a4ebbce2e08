/* dataplane_flows.h — the flow tables (bpf/rempart_abi.h "Flow tables"):
 * one per tenant, one for the gateway's own connections, one for the
 * tenants' NATed connections; created by userspace, filled by the
 * programs.  Used by the policy install (dataplane_maps.c) and the
 * metrics. */
#ifndef REMPART_DATAPLANE_FLOWS_H
#define REMPART_DATAPLANE_FLOWS_H
#include "config/config.h"
#include "dataplane/dataplane_maps.h"
#include "lib/diag.h"

/* Give the gateway, the NAT and every tenant of cfg its tables (empty ones
 * of dp_flow_table_first() entries where they are missing; a table smaller
 * than that is replaced, its flows kept; a larger one is kept), and remove
 * the tables of tenants cfg no longer has. */
int dp_flow_tables_sync(const struct dp_maps *m, const struct rp_config *cfg, struct diag *d);

/* Grow the tables of cfg whose live flows (not expired) fill half of them
 * or more, each family alone: replaced by one four times larger (more if
 * the live flows need it), at most dp_flow_table_size(), the flows kept
 * (what the programs record meanwhile too, after a grace period).  Called
 * by the daemon every few seconds (app/flow_grow.c), under the change lock.
 * The number of tables grown, or -errno with the reason in d. */
int dp_flow_tables_grow(const struct dp_maps *m, const struct rp_config *cfg, struct diag *d);

/* Into m's (new, empty) rp_flowt4/rp_flowt6: the tables of cfg that the
 * maps pinned in old_dir hold (an upgrade that made its flow maps anew:
 * dataplane_upgrade.c), where the new outer map accepts them, with their
 * counters.  The number carried over. */
int dp_flow_tables_adopt(const struct dp_maps *m, const char *old_dir, const struct rp_config *cfg);

/* A table's use, both families together. */
struct dp_flow_usage {
	unsigned long long capacity;	/* entries it can hold */
	unsigned long long present;	/* entries it holds, expired ones too */
	unsigned long long live;	/* not expired */
	unsigned long long created;	/* since the table was made (rp_flow_stats) */
	unsigned long long refused;	/* flows that could not be recorded */
	unsigned long long evicted;	/* created - present: pushed out by the LRU */
};
/* Usage of table (a tenant id, RP_TENANT_GATEWAY, RP_FLOW_NAT) from the
 * maps rp_flowt4, rp_flowt6 and rp_flow_stats; live_by_owner (NULL, or
 * RP_TENANT_ID_MAX + 1 counters) gets the live entries by the tenant they
 * belong to.  -ENOENT: no such table. */
int dp_flow_usage(int flowt4, int flowt6, int stats, __u32 table, struct dp_flow_usage *u,
		  unsigned long long *live_by_owner);
/* Empty every flow table. */
int dp_flows_clear(const struct dp_maps *m);
#endif
