// SPDX-License-Identifier: GPL-2.0
/* policy_trie.c — the address tries of a compiled policy: atoms interned,
 * prefixes expanded into 8-bit-stride nodes (layout: bpf/rempart_abi.h). */
#include "lib/log.h"
#include "policy/policy_int.h"

/* Per thread: a compile ahead has its own.  Set from the maps' sizes
 * (dataplane_maps.c), else what maps.h declares. */
static __thread size_t nodes_per_slot = RP_NODES_PER_SLOT;
static __thread size_t atoms_per_slot = RP_ATOMS_PER_SLOT;

size_t policy_atoms_per_slot(void)
{
	return atoms_per_slot;
}

void policy_set_atoms_per_slot(size_t n)
{
	atoms_per_slot = n && n <= RP_ATOMS_PER_SLOT ? n : RP_ATOMS_PER_SLOT;
}

uint32_t policy_atom_key(unsigned slot, uint32_t atom)
{
	return (uint32_t)(slot * atoms_per_slot) + atom;
}

int atom_id(struct tctx *x, const struct rp_atom *a, uint32_t *id)
{
	struct rp_policy *o = x->out;
	uint32_t *slot;
	bool added;

	if (!o->n_atoms) {	/* local id 0: unused */
		if (GROW(o->atoms, o->n_atoms, o->cap_atoms))
			return -ENOMEM;
		memset(&o->atoms[o->n_atoms++], 0, sizeof(*o->atoms));
	}
	slot = hmap_get_or_add(x->atom_map, a, sizeof(*a), &added);
	if (!slot)
		return -ENOMEM;
	if (added) {
		if (o->n_atoms >= RP_ATOMS_PER_SLOT) {
			diag_add(x->d, "policy: more than %d distinct address classes", RP_ATOMS_PER_SLOT - 1);
			return -E2BIG;
		}
		if (o->n_atoms >= atoms_per_slot) {
			diag_add(x->d, "policy: more than the %zu address classes per slot that rp_atoms "
				    "holds (the maps are made anew, larger, by `rempart apply`)",
				 atoms_per_slot - 1);
			return -ENOSPC;
		}
		if (GROW(o->atoms, o->n_atoms, o->cap_atoms))
			return -ENOMEM;
		o->atoms[o->n_atoms] = *a;
		*slot = o->n_atoms++;
	}
	*id = policy_atom_key(o->slot, *slot);
	return 0;
}

size_t policy_nodes_per_slot(void)
{
	return nodes_per_slot;
}

void policy_set_nodes_per_slot(size_t n)
{
	nodes_per_slot = n ? n : RP_NODES_PER_SLOT;
}

static uint32_t *node_at(struct rp_policy *o, uint32_t abs)
{
	return o->nodes + (size_t)(abs - o->slot * nodes_per_slot) * RP_NODE_STRIDE;
}

static int node_new(struct tctx *x, uint32_t fill, uint32_t *abs)
{
	struct rp_policy *o = x->out;

	if (!o->n_nodes)
		o->n_nodes = 1;	/* local id 0: "no node" */
	if (o->n_nodes >= nodes_per_slot) {
		diag_add(x->d, "policy: address tries need more than the %zu nodes per slot that rp_nodes "
			    "holds (the maps are made anew, larger, by `rempart apply`)", nodes_per_slot - 1);
		return nodes_per_slot >= (1u << 24) ? -E2BIG : -ENOSPC;
	}
	if (o->n_nodes + 1 > o->cap_nodes) {
		size_t nc = o->cap_nodes ? o->cap_nodes * 2 : 64;
		uint32_t *p = realloc(o->nodes, nc * RP_NODE_STRIDE * sizeof(*p));

		if (!p)
			return -ENOMEM;
		memset(p + o->cap_nodes * RP_NODE_STRIDE, 0, (nc - o->cap_nodes) * RP_NODE_STRIDE * sizeof(*p));
		o->nodes = p;
		o->cap_nodes = nc;
	}
	for (unsigned i = 0; i < RP_NODE_STRIDE; i++)
		o->nodes[o->n_nodes * RP_NODE_STRIDE + i] = fill;
	*abs = o->slot * nodes_per_slot + o->n_nodes++;
	return 0;
}

/* Prefixes come shortest first, so a prefix never covers a child node: the
 * children made later start as copies of the entry they replace. */
static int trie_insert(struct tctx *x, uint32_t root, const struct pent *e)
{
	unsigned len = e->p.len, d = len ? (len - 1) / 8 : 0, span, first;
	uint32_t node = root;
	int err;

	for (unsigned lvl = 0; lvl < d; lvl++) {
		uint32_t cur = node_at(x->out, node)[e->p.addr[lvl]], child;

		if (cur & RP_NODE_CHILD) {
			node = cur & ~RP_NODE_CHILD;
			continue;
		}
		err = node_new(x, cur, &child);
		if (err)
			return err;
		node_at(x->out, node)[e->p.addr[lvl]] = RP_NODE_CHILD | child;
		node = child;
	}
	span = 8 * (d + 1) - len;
	first = len ? e->p.addr[d] & (0xff << span) & 0xff : 0;
	for (unsigned i = first; i < first + (1u << span); i++)
		node_at(x->out, node)[i] = e->atom;
	return 0;
}

static int cmp_pent(const void *a, const void *b)
{
	const struct pent *x = a, *y = b;

	return x->p.len < y->p.len ? -1 : x->p.len > y->p.len;
}

int build_trie(struct tctx *x, uint32_t *root)
{
	int err;

	*root = 0;
	if (!x->n_ents)
		return 0;
	qsort(x->ents, x->n_ents, sizeof(*x->ents), cmp_pent);
	err = node_new(x, 0, root);
	for (size_t i = 0; !err && i < x->n_ents; i++)
		err = trie_insert(x, *root, &x->ents[i]);
	x->n_ents = 0;
	return err;
}

