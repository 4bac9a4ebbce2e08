/* dataplane_rec.h — the record of what a policy slot holds,
 * STATE_DIR/dataplane/slot<N>.rec (dataplane_rec.c), that the incremental
 * install (dataplane_inc.c) compares a new policy with: the rule keys with
 * a hash of their value, the tenant entries, interfaces, listen ports and
 * the global settings, under a header naming the maps (kernel map ids,
 * boot id) and the generation it was written at. */
#ifndef REMPART_DATAPLANE_REC_H
#define REMPART_DATAPLANE_REC_H
#include <stdbool.h>
#include <stdint.h>
#include "dataplane/dataplane_maps.h"

#define REC_MAGIC "RPSLOT3"	/* a new rule order or layout: a new magic */

struct rec_rule {
	struct rp_rule_key k;
	uint64_t h;			/* hash of the value */
};

struct rec_hdr {
	char magic[8];
	uint32_t slot, pad;
	uint64_t gen;
	uint32_t ids[4];		/* map ids: state, rules, ifaces, tenants */
	char boot[40];
	uint64_t n_rules, n_tenants, n_ifaces, n_ports;
	struct rp_global_cfg global;
};

struct rec {
	struct rec_hdr h;
	struct rec_rule *rules;
	struct pol_tenant *tenants;
	struct pol_iface *ifaces;
	struct pol_port *ports;
};

void dp_rec_free(struct rec *r);
/* What a record must name to describe these maps.  0 or -errno. */
int dp_rec_ident(const struct dp_maps *m, struct rec_hdr *h);
/* The record of SLOT in DIR, if it describes the maps of ID; the header
 * only unless FULL.  0, -ESTALE (another set of maps, boot or layout) or
 * -errno. */
int dp_rec_load(const char *dir, unsigned slot, const struct rec_hdr *id, bool full, struct rec *r);
void dp_rec_drop(const char *dir, unsigned slot);
/* The order of rule keys in records (qsort): any total order does, the same
 * on both sides. */
int dp_rec_cmp_key(const void *a, const void *b);
/* The policy's rule keys sorted, with the hash of each value; *idx_out[i]
 * is the index in p->rules of sorted key i.  NULL: out of memory. */
struct rec_rule *dp_rec_sorted_rules(const struct rp_policy *p, uint32_t **idx_out);
int dp_rec_save(const char *dir, const struct rec_hdr *id, unsigned slot, uint64_t gen,
		const struct rp_policy *p, const struct rec_rule *rules);
#endif
