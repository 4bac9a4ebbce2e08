/* netlink_fib.h — the kernel's forwarding state read whole, for `rempart
 * audit`: policy rules with every selector and action, the routes of every
 * table with their next hops, one route lookup the way the kernel does it
 * for a packet arriving on an interface (RTM_GETROUTE with RTA_IIF), and
 * the tc filters of an interface.  Read-only; nl_ctx of netlink.h. */
#ifndef REMPART_NETLINK_FIB_H
#define REMPART_NETLINK_FIB_H
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/netlink.h"

/* A policy rule (`ip rule`): every selector the kernel matches on. */
struct nl_fib_rule {
	uint8_t family;
	uint8_t action;			/* FR_ACT_* */
	uint32_t flags;			/* FIB_RULE_INVERT, … */
	uint32_t priority, table, goto_target;
	uint8_t src_len, dst_len, tos;
	uint8_t src[16], dst[16];
	char iif[IFNAMSIZ], oif[IFNAMSIZ];
	bool has_mark;
	uint32_t fwmark, fwmask;
	uint8_t ipproto;		/* 0: any */
	bool has_sport, has_dport;
	uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
	bool has_uid;
	uint32_t uid_lo, uid_hi;
	bool l3mdev, has_tun_id, has_dscp;
	int suppress_prefixlen;		/* -1: none */
	int suppress_ifgroup;		/* -1: none */
};

#define NL_FIB_NH_MAX 16
struct nl_fib_nh {
	int oif;
	bool has_gw;
	uint8_t gw[16];
	uint32_t flags;			/* RTNH_F_DEAD, RTNH_F_LINKDOWN, … */
};

/* A route of any table, its next hops flattened (multipath: several). */
struct nl_fib_route {
	uint8_t family, dst_len, src_len, type, scope, tos, protocol;
	uint8_t dst[16], src[16];
	uint32_t table, metric, flags;	/* rtm_flags */
	uint32_t nhid;			/* a nexthop object (not expanded): 0 none */
	uint16_t encap;			/* lightweight tunnel type (RTA_ENCAP_TYPE), 0 none */
	uint8_t n_nh;
	bool nh_truncated;		/* more than NL_FIB_NH_MAX next hops */
	struct nl_fib_nh nh[NL_FIB_NH_MAX];
};

int nl_fib_rules(struct nl_ctx *nl, int family, struct nl_fib_rule **v, size_t *n);
int nl_fib_routes(struct nl_ctx *nl, int family, struct nl_fib_route **v, size_t *n);

/* RTM_GETROUTE for a packet arriving on iif (0: sent by the gateway). */
struct nl_fib_query {
	int family, iif;
	uint32_t mark;
	uint8_t src[16], dst[16];
	uint8_t proto;
	uint16_t sport, dport;
};
struct nl_fib_answer {
	uint8_t type;			/* RTN_* of the route found */
	int oif;
	uint32_t table;
};
/* 0 with the answer, or the kernel's error for that packet (-ENETUNREACH,
 * -EHOSTUNREACH, -EXDEV for a source the reverse-path filter refuses,
 * -EINVAL for a martian, …). */
int nl_fib_get(struct nl_ctx *nl, const struct nl_fib_query *q, struct nl_fib_answer *a);

/* The classifier filters of one parent of an interface (e.g. the clsact
 * ingress, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)); none when the
 * interface has no such qdisc. */
struct nl_tc_filter {
	char kind[16];
	uint32_t handle, info;		/* info: priority << 16 | protocol */
	uint32_t bpf_id;		/* kind "bpf": the program's id */
	bool bpf_direct_action;
};
int nl_tc_filters(struct nl_ctx *nl, int ifindex, uint32_t parent, struct nl_tc_filter **v, size_t *n);

/* The neighbour table (hosts seen on a link): the audit names such hosts
 * in the packets it reports, so that a test can send them for real. */
struct nl_neigh {
	int ifindex;
	uint8_t family;
	uint8_t addr[16];
	uint16_t state;			/* NUD_* */
};
int nl_neighs(struct nl_ctx *nl, struct nl_neigh **v, size_t *n);
#endif
