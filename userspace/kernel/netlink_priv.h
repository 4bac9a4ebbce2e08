/* netlink_priv.h — what netlink.c and netlink_route.c share (not an API). */
#ifndef REMPART_NETLINK_PRIV_H
#define REMPART_NETLINK_PRIV_H
#include <time.h>
#include <linux/netlink.h>
#include "kernel/netlink.h"

typedef int (*nl_msg_cb)(const struct nlmsghdr *nlh, void *data);

struct nlmsghdr *nl_msg_start(struct nl_ctx *nl, char *buf, uint16_t type, uint16_t flags);
int nl_talk(struct nl_ctx *nl, struct nlmsghdr *nlh, nl_msg_cb cb, void *data);

/* A growable array of fixed-size elements, for dumps. */
struct nl_vec {
	void *v;
	size_t n, cap, elem;
};
void *nl_vec_push(struct nl_vec *vec);	/* zeroed slot, NULL on ENOMEM */
#endif
