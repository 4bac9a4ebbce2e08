/* dp_read.h — the policy as the kernel holds it: the pinned maps under
 * RP_PIN_DIR opened read-only, checked against the layout this build
 * expects, and decoded (tries into address runs, rule tables, tenants,
 * interfaces, listen ports, the geo database).
 *
 * The one module that knows how the maps' contents are laid out beyond
 * bpf/rempart_abi.h's structs: `rempart audit` reads the policy only
 * through it, so a new trie node format changes this file and no other
 * reader.  Every lookup mirrors what the programs do with the same bytes
 * (an out-of-range node or atom id reads as "nothing", as a failed
 * bpf_map_lookup_elem does in BPF). */
#ifndef REMPART_DP_READ_H
#define REMPART_DP_READ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/addrnum.h"
#include "rempart_abi.h"

enum dpr_map {
	DPR_STATE, DPR_NODES, DPR_ATOMS, DPR_RULES, DPR_TENANTS, DPR_GLOBAL,
	DPR_IFACES, DPR_IFIDX, DPR_PORTIDX, DPR_PORTS, DPR_GEO, DPR__COUNT
};

/* Interfaces and listen ports of one slot, as the maps hold them. */
struct dpr_iface {
	struct rp_iface_key k;
	uint16_t tenant;
};
struct dpr_port {
	uint16_t port, tenant;
};

struct dp_read {
	int fd[DPR__COUNT];
	unsigned id[DPR__COUNT];		/* kernel map ids */
	struct rp_state state;			/* read at open */
	unsigned slot;				/* state.active_slot & 1 */
	size_t nodes_per_slot;			/* rp_nodes max_entries / RP_SLOTS */
	/* mmapped, read-only */
	const uint32_t *nodes; size_t n_nodes; size_t nodes_len;
	const struct rp_atom *atoms; size_t n_atoms; size_t atoms_len;
	const struct rp_ifidx_val *ifidx; size_t ifidx_len;
	const struct rp_portidx_val *portidx; size_t portidx_len;
};

/* Open the maps pinned in dir.  0; -ENOENT (no such directory, or a map
 * missing), -EPROTO (a map whose type, key, value or size is not what this
 * build's programs use) or -errno, with one line in why saying which. */
int dpr_open(struct dp_read *r, const char *dir, char *why, size_t whylen);
void dpr_close(struct dp_read *r);

/* A range of addresses (numbers, addrnum.h) and what it maps to. */
struct dpr_run {
	rp_u128 lo, hi;
	uint32_t val;
};

/* The trie of (slot, tenant id, family) as maximal runs covering the whole
 * address space in order, val = the atom id the programs' lookup returns
 * for every address of the run (0: none).  *v is malloc'd. */
int dpr_trie_runs(const struct dp_read *r, unsigned slot, unsigned tenant, int family,
		  struct dpr_run **v, size_t *n);
/* What the programs' lookup returns for one address (the same walk). */
uint32_t dpr_trie_lookup(const struct dp_read *r, unsigned slot, unsigned tenant, int family,
			 const uint8_t *addr);
/* The atom of an id, NULL when the program would find none (0 or beyond
 * the map). */
const struct rp_atom *dpr_atom(const struct dp_read *r, uint32_t id);

int dpr_tenant(const struct dp_read *r, unsigned slot, unsigned id, struct rp_tenant_cfg *out);
int dpr_global(const struct dp_read *r, unsigned slot, struct rp_global_cfg *out);
/* A rule table: 0, or -ENOENT when the key has none. */
int dpr_rule(const struct dp_read *r, const struct rp_rule_key *k, struct rp_rule_val *out);
/* Every rule table of a slot (cb returns non-zero to stop). */
int dpr_rules_foreach(const struct dp_read *r, unsigned slot,
		      int (*cb)(const struct rp_rule_key *k, const struct rp_rule_val *v, void *arg),
		      void *arg);
/* The interfaces of a slot (rp_ifaces, the reference) and the tenant the
 * programs find for (ifindex, vid, hook) — through rp_ifidx for untagged
 * frames and tunnels below RP_IFIDX_MAX, as they do; 0 none. */
int dpr_ifaces(const struct dp_read *r, unsigned slot, struct dpr_iface **v, size_t *n);
unsigned dpr_iface_tenant(const struct dp_read *r, unsigned slot, unsigned ifindex, uint16_t vid, int hook);
/* Listen ports of a slot (rp_ports) and the tenant uplink_in finds for a
 * UDP destination port (rp_portidx); 0 none. */
int dpr_ports(const struct dp_read *r, unsigned slot, struct dpr_port **v, size_t *n);
unsigned dpr_port_tenant(const struct dp_read *r, unsigned slot, uint16_t port);

/* The loaded geo database as runs covering the family's whole space, val =
 * the country number (RP_CC_NONE: none).  -ENOENT when none is loaded (the
 * programs then see every address in no country). */
int dpr_geo_runs(const struct dp_read *r, int family, struct dpr_run **v, size_t *n);

/* Runs helper: the index of the run holding x in a sorted cover. */
size_t dpr_run_find(const struct dpr_run *v, size_t n, rp_u128 x);
#endif
