/* policy_int.h — the policy compiler's shared internals (policy.c walks
 * prefixes into atoms and classes, policy_trie.c builds the multibit tries,
 * policy_rules.c the port tables).  Not an interface: see policy.h. */
#ifndef REMPART_POLICY_INT_H
#define REMPART_POLICY_INT_H
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "policy/policy.h"
#include "policy/policy_hmap.h"

#define WORK_BUDGET 400000000ULL	/* candidate checks before giving up */

enum tag {
	TG_ZSITE, TG_ZCLOUD, TG_ZGW, TG_ZSHARE, TG_ALLOW_FROM, TG_FROM, TG_TO,
	TG_MGMT, TG_SITE_OWNER, TG_OWNER, TG_GW,
};

struct item {
	struct rp_prefix p;	/* host bits cleared */
	uint8_t tag;
	uint32_t a, b, c;
};

struct nstate {
	struct rp_prefix p;
	struct rp_atom v;
	uint32_t zorder;
};

/* Source classes: full sorted sets of `from` groups.  Destination classes:
 * (parent, rules at this prefix in file order) chains. */
struct tctx {
	const struct rp_config *cfg;
	struct rp_policy *out;
	struct diag *d;
	unsigned tid;
	const struct rp_tenant *t;
	struct item *items;
	size_t n_items, cap_items;
	uint32_t *rule_group, *rule_id;
	size_t n_groups;
	struct hmap sc_map, dc_map;
	uint32_t **sc_set; uint32_t *sc_n; uint8_t *sc_fam; size_t n_sc, cap_sc;
	uint32_t *dc_parent; uint32_t **dc_rules; uint32_t *dc_n; uint8_t *dc_fam; size_t n_dc, cap_dc;
	unsigned long long work;
	struct hmap *atom_map;		/* atom contents -> local id, whole policy */
	uint32_t *root[2];		/* where to put the IPv4 / IPv6 roots */
	struct pent *ents;		/* prefixes of the family being walked */
	size_t n_ents, cap_ents;
};

struct pent {
	struct rp_prefix p;
	uint32_t atom;			/* absolute atom id */
};

#define GROW(arr, n, cap)                                                   \
	({                                                                  \
		int _e = 0;                                                 \
		if ((n) >= (cap)) {                                         \
			size_t _nc = (cap) ? (cap) * 2 : 64;                \
			void *_p = realloc((arr), _nc * sizeof(*(arr)));    \
			if (_p) {                                           \
				(arr) = _p;                                 \
				(cap) = _nc;                                \
			} else {                                            \
				_e = -ENOMEM;                               \
			}                                                   \
		}                                                           \
		_e;                                                         \
	})


struct cand {
	enum rp_proto proto;
	const struct rp_port_list *ports;
	uint8_t act;
	uint32_t rule;
};

int cmp_u32(const void *a, const void *b);
/* tries (policy_trie.c) */
int atom_id(struct tctx *x, const struct rp_atom *a, uint32_t *id);
int build_trie(struct tctx *x, uint32_t *root);
/* Once every trie is built: identical nodes made one, the rest renumbered,
 * the slot's node count checked.  0, -ENOSPC (said in d), -ENOMEM. */
int trie_share(struct rp_policy *o, struct diag *d);
/* port tables (policy_rules.c) */
int add_table(struct tctx *x, int kind, uint16_t tenant, uint32_t sc, uint32_t dc,
	      const struct cand *cs, size_t n, const char *what);
int build_pairs(struct tctx *x);
#endif
