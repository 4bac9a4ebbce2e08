/* audit_nft.h — what the nftables ruleset does to a new packet before and
 * after the routing decision, as far as isolation is concerned: whether it
 * is dropped, and whether its destination, destination port or mark is
 * rewritten before the route lookup (a port forward, a policy-routing
 * mark).  Read from `nft -j list ruleset`.
 *
 * Rules that can only matter to packets of an existing connection (ct
 * direction reply, ct state established/related) are left out: the audit
 * judges new packets (docs/audit.md).  A base chain at prerouting whose
 * rules the model cannot read (an expression or statement it does not
 * know, that could rewrite or redirect) makes nft_build fail: the audit
 * cannot judge.  Filter rules it cannot read at the forward hook only ever
 * remove paths: they are treated as letting everything through. */
#ifndef REMPART_AUDIT_NFT_H
#define REMPART_AUDIT_NFT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/addrnum.h"
#include "audit/audit_route.h"

/* The model remembers the answers that depend on the input interface
 * alone for the last one asked about (a walk asks about one at a time):
 * not to be used by two threads at once. */
struct nft_model;

/* json NULL (no nft): an empty model.  0, or -EOPNOTSUPP with why naming
 * the table, chain and what the model does not know. */
int nft_build(struct nft_model **out, const char *json, char *why, size_t whylen);
void nft_free(struct nft_model *n);
/* Rules in the model (statistics) and whether any may change routing. */
size_t nft_rules(const struct nft_model *n);
/* Whether any rule matches on the source address (else the answers below
 * are the same for every source). */
bool nft_reads_saddr(const struct nft_model *n);

struct nft_pkt {
	const char *iif;		/* input interface name */
	int family;
	rp_u128 src, dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint32_t mark;			/* the packet's mark entering netfilter (the programs') */
};

struct nft_out {
	bool drop;
	bool dnat;			/* destination rewritten (dst, and dport when has_dport) */
	rp_u128 dst;
	bool has_dport;
	uint16_t dport;
	bool mark_set;
	uint32_t mark;
	char why[96];			/* the rule that decided, when one did */
};

/* The prerouting hook (raw, mangle, dstnat, filter chains in priority
 * order) for a new packet. */
void nft_prerouting(const struct nft_model *n, const struct nft_pkt *p, struct nft_out *o);
/* The forward hook: does a rule drop the packet going out of oif? */
bool nft_forward_drops(const struct nft_model *n, const struct nft_pkt *p, const char *oif);
/* Where the model's matches may change their answer for a packet that
 * enters at iif (NULL: at any interface): address boundaries (range
 * starts) of one family, added to *v; protocols and port boundaries, added
 * to *l4.  Left out: the rules whose input-interface match refuses iif,
 * the base chains never run for it (input and output hooks, another
 * device's ingress) — nothing they match can tell two of its packets
 * apart. */
int nft_cuts(const struct nft_model *n, int family, const char *iif, rp_u128 **v, size_t *nv, size_t *cap,
	     struct rt_l4 *l4);
#endif
