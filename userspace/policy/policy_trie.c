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

#define MAX_NODES (1u << 24)

static uint32_t *node_at(struct rp_policy *o, uint32_t abs)
{
	return o->nodes + (size_t)(abs - o->slot * nodes_per_slot) * RP_NODE_STRIDE;
}

static int node_new(struct tctx *x, uint32_t fill, uint32_t *abs)
{
	struct rp_policy *o = x->out;

	if (!o->n_nodes)
		o->n_nodes = 1;	/* local id 0: "no node" */
	/* a slot's node count is checked once its nodes are shared
	 * (trie_share): until then ids may pass it */
	if (o->n_nodes >= MAX_NODES) {
		diag_add(x->d, "policy: address tries need more than %u nodes", MAX_NODES - 1);
		return -E2BIG;
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


/* Nodes with the same 256 entries (children included) are made one: the
 * tries become a graph without cycles whose lookups read what the tree's
 * did (the same entries, level by level), in fewer nodes: a /64 site
 * prefix's chain below its tenant's /48 is a node or two per site, the
 * same for every site of the same address class.  Done once the policy is
 * compiled, when no node changes any more.  A child's id is larger than
 * its parent's (made after it, in its trie), so going down from the last
 * id, every child is already shared when its parent is looked at.  The
 * nodes left keep their order, renumbered from 1, roots with them. */
static __thread bool share_nodes = true;

void policy_set_node_sharing(bool on)
{
	share_nodes = on;
}

static uint64_t node_hash(const uint32_t *n)
{
	uint64_t h[4] = { 1, 2, 3, 4 };

	for (unsigned i = 0; i < RP_NODE_STRIDE; i += 4)
		for (unsigned k = 0; k < 4; k++)
			h[k] = (h[k] ^ n[i + k]) * 0x9e3779b97f4a7c15ull;
	return (h[0] ^ h[1] >> 17 ^ h[2] >> 31 ^ h[3] >> 47) * 0xff51afd7ed558ccdull;
}

int trie_share(struct rp_policy *o, struct diag *d)
{
	size_t n = o->n_nodes, cap = 1, k = 1;
	uint32_t base = o->slot * nodes_per_slot, *canon, *tab;
	const size_t nb = RP_NODE_STRIDE * sizeof(*o->nodes);

	if (!share_nodes || n <= 2)
		goto check;
	while (cap < 2 * n)
		cap <<= 1;
	canon = calloc(n, sizeof(*canon));
	tab = calloc(cap, sizeof(*tab));
	if (!canon || !tab) {
		free(canon);
		free(tab);
		return -ENOMEM;
	}
	for (size_t i = n - 1; i >= 1; i--) {
		uint32_t *nd = o->nodes + i * RP_NODE_STRIDE;
		size_t j;

		for (unsigned e = 0; e < RP_NODE_STRIDE; e++)
			if (nd[e] & RP_NODE_CHILD)
				nd[e] = RP_NODE_CHILD | (base + canon[(nd[e] & ~RP_NODE_CHILD) - base]);
		for (j = node_hash(nd) & (cap - 1); tab[j]; j = (j + 1) & (cap - 1))
			if (!memcmp(o->nodes + (size_t)tab[j] * RP_NODE_STRIDE, nd, nb))
				break;
		if (!tab[j])
			tab[j] = i;
		canon[i] = tab[j];
	}
	/* new ids (in tab's place: canon[i] == i for the nodes kept) */
	free(tab);
	tab = calloc(n, sizeof(*tab));
	if (!tab) {
		free(canon);
		return -ENOMEM;
	}
	for (size_t i = 1; i < n; i++)
		if (canon[i] == i)
			tab[i] = k++;
	for (size_t i = 1; i < n; i++) {
		uint32_t *nd;

		if (canon[i] != i)
			continue;
		nd = o->nodes + (size_t)tab[i] * RP_NODE_STRIDE;
		if (tab[i] != i)
			memmove(nd, o->nodes + i * RP_NODE_STRIDE, nb);
		for (unsigned e = 0; e < RP_NODE_STRIDE; e++)
			if (nd[e] & RP_NODE_CHILD)
				nd[e] = RP_NODE_CHILD | (base + tab[(nd[e] & ~RP_NODE_CHILD) - base]);
	}
	for (size_t t = 0; t < o->n_tenants; t++) {
		uint32_t *r[2] = { &o->tenants[t].v.root4, &o->tenants[t].v.root6 };

		for (int f = 0; f < 2; f++)
			if (*r[f])
				*r[f] = base + tab[canon[*r[f] - base]];
	}
	o->n_nodes = k;
	free(canon);
	free(tab);
check:
	if (o->n_nodes > nodes_per_slot) {
		diag_add(d, "policy: address tries need more than the %zu nodes per slot that rp_nodes "
			    "holds (the maps are made anew, larger, by `rempart apply`)", nodes_per_slot - 1);
		return -ENOSPC;
	}
	return 0;
}
