/* policy.h — the policy compiler: config model → the contents of the BPF
 * policy maps of one slot (bpf/rempart_abi.h).
 *
 * "Longest prefix, then file order", zone tie-breaks and port ranges are
 * all decided here, so the programs only do lookups: per tenant, every
 * prefix the policy mentions becomes one LPM entry (an "atom") whose value
 * folds in everything the shorter prefixes above it say; rule decisions are
 * tables keyed by (tenant, source class, destination class, protocol class)
 * holding sorted destination-port segments.  Address lookups are multibit
 * tries (bpf/rempart_abi.h), built here with the prefixes expanded.  The cost per packet does not
 * depend on the number of rules.
 */
#ifndef REMPART_POLICY_H
#define REMPART_POLICY_H
#include <stddef.h>
#include <stdint.h>
#include "config/config.h"
#include "lib/diag.h"
#include "rempart_abi.h"

struct pol_rule { struct rp_rule_key k; uint32_t n, off; };	/* segments in segs[off..off+n) */
struct pol_tenant { uint32_t key; struct rp_tenant_cfg v; };
struct pol_iface { struct rp_iface_key k; struct rp_iface_val v; };
struct pol_port { struct rp_port_key k; struct rp_port_val v; };
/* One prefix of a tenant's trie (0: the gateway-wide one) and its atom. */
struct pol_prefix { uint16_t tenant; struct rp_prefix p; uint32_t atom; };

struct rp_policy {
	unsigned slot;
	uint32_t *nodes; size_t n_nodes;	/* trie nodes of this slot, local ids (x RP_NODE_STRIDE) */
	struct rp_atom *atoms; size_t n_atoms;	/* local ids; 0 unused */
	struct pol_rule *rules; size_t n_rules;
	struct rp_seg *segs; size_t n_segs;
	struct pol_tenant *tenants; size_t n_tenants;
	struct rp_global_cfg global;
	struct pol_iface *ifaces; size_t n_ifaces;
	struct pol_port *ports; size_t n_ports;
	char **rule_names; size_t n_rule_names;	/* rule id - 1 -> "tenant/rule" */
	/* Set before policy_compile() (which keeps it): also list every
	 * (tenant, prefix, atom) the tries are built from, whatever the node
	 * format (the dataplane reader's test compares its runs with these). */
	bool keep_prefixes;
	struct pol_prefix *prefixes; size_t n_prefixes, cap_prefixes;
	/* growth bookkeeping */
	size_t cap_nodes, cap_atoms, cap_rules, cap_segs, cap_ifaces;
};

/* Interface name -> ifindex, 0 when the interface does not exist. */
typedef unsigned (*policy_ifindex_fn)(const char *ifname, void *arg);

/* Compile cfg into *out for slot (0 or 1).  ifindex: NULL uses
 * if_nametoindex().  Interfaces that do not exist are left out (a warning
 * in *d).  0, or -errno (-E2BIG: policy beyond a map's bounds, said in *d). */
int policy_compile(const struct rp_config *cfg, unsigned slot, policy_ifindex_fn ifindex,
		   void *arg, struct rp_policy *out, struct diag *d);
void policy_free(struct rp_policy *p);

/* Trie nodes and atoms per slot in rp_nodes and rp_atoms (per thread):
 * what maps.h declares (RP_NODES_PER_SLOT, RP_ATOMS_PER_SLOT) unless set
 * from the maps' sizes (dataplane_size.c sizes them from the
 * configuration; dataplane_maps.c sets these from the maps it opens).  A
 * policy beyond them fails to compile with -ENOSPC (the loader then grows
 * the maps).  0 sets the default. */
size_t policy_nodes_per_slot(void);
void policy_set_nodes_per_slot(size_t n);
size_t policy_atoms_per_slot(void);
void policy_set_atoms_per_slot(size_t n);
/* Identical trie nodes are made one once the policy is compiled (the tries
 * become a graph without cycles; policy_trie.c, trie_share()): on unless
 * turned off here, per thread (a test compares both). */
void policy_set_node_sharing(bool on);
/* The rp_atoms key of a slot's atom (local id). */
uint32_t policy_atom_key(unsigned slot, uint32_t atom);
/* Fill a map value from a compiled rule table. */
void policy_rule_val(const struct rp_policy *p, const struct pol_rule *r, struct rp_rule_val *out);
#endif
