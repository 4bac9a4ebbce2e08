/* audit_route.h — the kernel's routing decision for a forwarded packet, as a
 * function of its fields, computed from the live rules and tables
 * (netlink_fib.h) over whole address ranges at once.
 *
 * What it models (docs/audit.md): policy rules in priority order with every
 * selector the kernel matches a forwarded packet on (iif, mark, from/to,
 * ipproto, ports, uid, invert) and every action (lookup, goto, nop,
 * blackhole, unreachable, prohibit), suppress_prefixlength; per table the
 * longest prefix whose best route (lowest metric, a live next hop, reject
 * types first in their place) is usable, throw; local and broadcast
 * destinations; martian sources and destinations; per-interface forwarding;
 * IPv4 reverse-path filtering (strict, loose, and the checks made without
 * it).  What it refuses (rt_build fails, the audit cannot judge): next-hop
 * objects, IPv6 source-specific routes, TOS/DSCP routes and rules, rules
 * on tunnel ids or interface groups, VRF/l3mdev, multicast routing,
 * directed broadcast forwarding, route_localnet. */
#ifndef REMPART_AUDIT_ROUTE_H
#define REMPART_AUDIT_ROUTE_H
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/addrnum.h"
#include "dataplane/dp_read.h"
#include "kernel/netlink_fib.h"

#define RT_OIF_MAX NL_FIB_NH_MAX

/* What the model needs to know of an interface. */
struct rt_dev {
	int ifindex;
	char name[IFNAMSIZ];
	bool up;
	bool fwd4;			/* net.ipv4.conf.DEV.forwarding */
	int rpf4;			/* max(conf.all, conf.DEV).rp_filter */
	bool accept_local4;
	bool ign_linkdown4, ign_linkdown6;
	bool has_addr4;			/* an IPv4 address (rp_filter: none = last resort) */
};

struct rt_input {
	const struct nl_fib_rule *rules; size_t n_rules;	/* both families, as dumped */
	const struct nl_fib_route *routes; size_t n_routes;	/* every table, both families */
	const struct rt_dev *devs; size_t n_devs;
	bool fwd6;			/* net.ipv6.conf.all.forwarding */
	bool mc_forwarding;		/* IPv4 or IPv6 multicast routing active */
	bool bc_forwarding;		/* some interface forwards directed broadcasts */
	bool route_localnet;		/* some interface routes 127/8 */
};

struct rt_model;
/* 0, or -EOPNOTSUPP with why saying which rule, route or setting the model
 * does not know how to judge. */
int rt_build(struct rt_model **out, const struct rt_input *in, char *why, size_t whylen);
void rt_free(struct rt_model *m);

/* A packet as the routing sees it (the destination apart). */
struct rt_pkt {
	int family;
	int iif;			/* ingress ifindex */
	uint32_t mark;
	rp_u128 src;
	uint8_t proto;
	uint16_t sport, dport;
};

enum rt_kind {
	RT_DROP = 0,			/* no route, a reject route or rule, martian, not forwarded */
	RT_LOCAL,			/* delivered to the gateway itself (local, broadcast, multicast) */
	RT_FWD,				/* forwarded out of one of oif[] */
};

struct rt_out {
	uint8_t kind;
	uint8_t n_oif;
	int oif[RT_OIF_MAX];
	uint32_t table;			/* the table that decided (0: a rule or none) */
	uint32_t prio;			/* the rule that decided */
	const char *why;		/* RT_DROP: a few words */
};

/* Route every destination in [lo, hi] for p: cb gets maximal runs with one
 * outcome, in order.  Forwarding settings and martians are applied; the
 * reverse-path filter is not (rt_rpf_ok, it depends on both addresses). */
typedef int (*rt_cb)(rp_u128 lo, rp_u128 hi, const struct rt_out *o, void *arg);
int rt_partition(const struct rt_model *m, const struct rt_pkt *p, rp_u128 lo, rp_u128 hi, rt_cb cb,
		 void *arg);
/* What rt_partition reads of p's source address (its kind: martian,
 * IPv6 link-local; the rules whose `from` selector holds it), as words in
 * sig: two packets equal but for their sources, with equal signatures,
 * are routed alike for every destination.  The number of words written,
 * or 0 when more than max are needed (then compare nothing). */
size_t rt_src_sig(const struct rt_model *m, const struct rt_pkt *p, uint32_t *sig, size_t max);
/* One destination. */
void rt_route(const struct rt_model *m, const struct rt_pkt *p, rp_u128 dst, struct rt_out *o);
/* Does the source check of an IPv4 packet routed out of oif (0: delivered
 * locally) pass — reverse-path filter, or the checks made without it
 * (fib_validate_source)?  Always true for IPv6.  The kernel looks the
 * source up as arriving on oif, so the answer may differ between the next
 * hops of a multipath route.  why: a few words when not. */
bool rt_rpf_ok(const struct rt_model *m, const struct rt_pkt *p, rp_u128 dst, int oif, const char **why);

/* Boundaries (range starts) at which the outcome may change with the
 * source address, or, through rules' `from` selectors in the reverse-path
 * lookup, with the destination: the caller cuts both dimensions there. */
int rt_cuts(const struct rt_model *m, int family, rp_u128 **v, size_t *n);
/* The gateway's own addresses (local and broadcast routes of every table)
 * as runs over the family's space: val 1 inside, 0 outside. */
int rt_local_runs(const struct rt_model *m, int family, struct dpr_run **v, size_t *n);

/* Whether any rule selects on the protocol or ports (then the routing of a
 * class is asked per protocol and port segment), and the cuts: protocols
 * named, destination and source port boundaries (range starts, 0 first). */
/* The protocols and port cuts the routing rules (and nftables, nft_cuts)
 * tell apart, as sets: every value a rule names is kept, none dropped. */
struct rt_l4 {
	uint64_t protos[256 / 64];
	uint64_t dcuts[65536 / 64], scuts[65536 / 64];	/* segment starts, 0..65535 */
};
static inline void rt_l4_set(uint64_t *bits, uint32_t x)
{
	bits[x / 64] |= 1ull << (x % 64);
}
static inline bool rt_l4_has(const uint64_t *bits, uint32_t x)
{
	return bits[x / 64] >> (x % 64) & 1;
}
void rt_l4_cuts(const struct rt_model *m, int family, struct rt_l4 *out);
/* Some source whose source check passes among [lo, hi] (each range of v,
 * in order), for p arriving with destination dst and routed out of oif;
 * false when none does.  IPv6: the first address. */
bool rt_rpf_find(const struct rt_model *m, const struct rt_pkt *p, rp_u128 dst, int oif,
		 const rp_u128 (*v)[2], size_t n, rp_u128 *src);
#endif
