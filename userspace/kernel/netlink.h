/* netlink.h — rtnetlink on libmnl: links, addresses, routes, policy rules.
 *
 * Every request asks for an ACK with NETLINK_EXT_ACK on; a failing request
 * returns -errno and leaves the kernel's own error text (if it sent one) in
 * nl->ext_msg, so the caller can write "what, where, why" in one line:
 * use nl_strerror(nl, err).
 */
#ifndef REMPART_NETLINK_H
#define REMPART_NETLINK_H
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/addr.h"

struct mnl_socket;

struct nl_ctx {
	struct mnl_socket *sock;
	unsigned int seq, portid;
	char *buf;			/* receive buffer */
	size_t buflen;
	char ext_msg[256];		/* kernel's extended ACK text of the last error */
	char errbuf[384];		/* nl_strerror() result */
};

int nl_open(struct nl_ctx *nl);
void nl_close(struct nl_ctx *nl);
/* "strerror(-err) (kernel: TEXT)" for the last request's error. */
const char *nl_strerror(struct nl_ctx *nl, int err);

/* Links. */
struct nl_link {
	int ifindex;
	char name[IFNAMSIZ];
	char kind[16];			/* IFLA_INFO_KIND, "" if none */
	unsigned int mtu;
	unsigned int flags;		/* IFF_* */
	int parent;			/* IFLA_LINK, 0 if none */
	uint16_t vlan_id;		/* kind "vlan" */
	uint8_t xdp_attached;		/* XDP_ATTACHED_*, 0: no XDP program */
	uint32_t xdp_prog_id[4];	/* by XDP_ATTACHED_* mode (DRV, SKB, HW), 0: none */
	int master;			/* IFLA_MASTER (bridge, bond, VRF), 0 if none */
};
int nl_link_get(struct nl_ctx *nl, const char *name, struct nl_link *out);	/* -ENODEV if none */
int nl_link_dump(struct nl_ctx *nl, struct nl_link **v, size_t *n);
int nl_link_add(struct nl_ctx *nl, const char *name, const char *kind);
int nl_link_add_vlan(struct nl_ctx *nl, const char *name, int parent, uint16_t vlan_id);
int nl_link_del(struct nl_ctx *nl, int ifindex);
/* Set the MTU (0: leave) and bring the link up (up) or leave it. */
int nl_link_set(struct nl_ctx *nl, int ifindex, unsigned int mtu, bool up);
int nl_link_set_down(struct nl_ctx *nl, int ifindex);

/* Addresses (prefix: the address with its prefix length). */
struct nl_addr {
	int ifindex;
	uint8_t scope;
	uint32_t flags;			/* IFA_F_* */
	struct rp_prefix p;
};
int nl_addr_dump(struct nl_ctx *nl, int ifindex, struct nl_addr **v, size_t *n);	/* 0: all */
/* Without a prefix route (IFA_F_NOPREFIXROUTE): rempart routes its subnets
 * itself, in the tenant's table.  IPv6: no DAD. */
int nl_addr_add(struct nl_ctx *nl, int ifindex, const struct rp_prefix *p);
int nl_addr_del(struct nl_ctx *nl, int ifindex, const struct rp_prefix *p);

/* Routes. type: RTN_UNICAST, RTN_UNREACHABLE, … */
struct nl_route {
	uint8_t family, dst_len, type, protocol;
	uint8_t dst[16];
	bool has_gw;
	uint8_t gw[16];
	int oif;			/* 0: none */
	uint32_t table, metric;
};
int nl_route_dump(struct nl_ctx *nl, int family, uint32_t table,
		  struct nl_route **v, size_t *n);	/* family/table 0: all */
int nl_route_add(struct nl_ctx *nl, const struct nl_route *r);	/* create, exclusive */
int nl_route_del(struct nl_ctx *nl, const struct nl_route *r);
/* The route with R's destination, table and metric now R (one change: the
 * destination is never without a route), or R added. */
int nl_route_replace(struct nl_ctx *nl, const struct nl_route *r);
bool nl_route_same(const struct nl_route *a, const struct nl_route *b);
void nl_route_format(const struct nl_route *r, char *buf, size_t len);	/* "10.0.0.0/8 dev#3 table 1010 metric 100" */
/* The same with the device as DEV says it (" dev wg-a"; "": none). */
void nl_route_text(const struct nl_route *r, const char *dev, char *buf, size_t len);

/* Policy rules: "[iif NAME] [fwmark M/MASK] lookup TABLE priority P". */
struct nl_rule {
	uint8_t family;
	uint32_t priority, table;
	char iif[IFNAMSIZ];		/* "" if none */
	uint32_t fwmark, fwmask;	/* 0: none */
};
int nl_rule_dump(struct nl_ctx *nl, int family, struct nl_rule **v, size_t *n);
int nl_rule_add(struct nl_ctx *nl, const struct nl_rule *r);
int nl_rule_del(struct nl_ctx *nl, const struct nl_rule *r);
bool nl_rule_same(const struct nl_rule *a, const struct nl_rule *b);
void nl_rule_format(const struct nl_rule *r, char *buf, size_t len);

/* Notifications (netlink_watch.c): a socket of its own, bound to the link,
 * address, route and rule groups of IPv4 and IPv6. */
enum nl_ev_kind { NL_EV_LINK, NL_EV_ADDR, NL_EV_ROUTE, NL_EV_RULE };
struct nl_event {
	enum nl_ev_kind kind;
	bool del;			/* RTM_DEL*; else RTM_NEW* (also a change) */
	int ifindex;			/* link, address; a route's oif */
	char ifname[IFNAMSIZ];		/* link */
	unsigned int flags;		/* link: IFF_* */
	uint8_t family;			/* address, route, rule */
	struct rp_prefix addr;		/* address */
	uint32_t table;			/* route, rule */
	uint8_t dst_len, route_type;	/* route */
	uint32_t priority;		/* rule */
};
typedef void (*nl_event_fn)(const struct nl_event *e, void *arg);
int nl_watch_open(struct nl_ctx *nl);
int nl_watch_fd(const struct nl_ctx *nl);
/* FN for every notification queued, without blocking: how many, or -errno
 * (-ENOBUFS: the socket overflowed and some were lost). */
int nl_watch_read(struct nl_ctx *nl, nl_event_fn fn, void *arg);
#endif
