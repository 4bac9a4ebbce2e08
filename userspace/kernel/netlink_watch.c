// SPDX-License-Identifier: GPL-2.0
/* netlink_watch.c — rtnetlink notifications: a socket bound to the link,
 * address, route and rule groups of both families, read without blocking
 * into one small struct per message (netlink.h: nl_watch_*). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "kernel/netlink.h"

static const unsigned int groups[] = {
	RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE,
	RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE,
};

int nl_watch_open(struct nl_ctx *nl)
{
	int err = nl_open(nl), fd, big = 4 << 20;

	if (err)
		return err;
	fd = mnl_socket_get_fd(nl->sock);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, (void *)&groups[i],
					  sizeof(groups[i])) < 0) {
			err = -errno;
			nl_close(nl);
			return err;
		}
	/* A burst (a hundred tunnels' routes) must not overflow it; if it
	 * does, the reader hears -ENOBUFS and looks at everything. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	return 0;
}

int nl_watch_fd(const struct nl_ctx *nl)
{
	return mnl_socket_get_fd(nl->sock);
}

static size_t alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void parse_link(const struct nlmsghdr *nlh, struct nl_event *e)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	e->kind = NL_EV_LINK;
	e->ifindex = ifi->ifi_index;
	e->flags = ifi->ifi_flags;
	mnl_attr_for_each(attr, nlh, sizeof(*ifi))
		if (mnl_attr_get_type(attr) == IFLA_IFNAME)
			snprintf(e->ifname, sizeof(e->ifname), "%s", mnl_attr_get_str(attr));
}

static void parse_addr(const struct nlmsghdr *nlh, struct nl_event *e)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	const void *local = NULL, *address = NULL;

	e->kind = NL_EV_ADDR;
	e->ifindex = (int)ifa->ifa_index;
	e->family = ifa->ifa_family;
	e->addr.family = ifa->ifa_family;
	e->addr.len = ifa->ifa_prefixlen;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_payload_len(attr) < alen(ifa->ifa_family))
			continue;
		if (mnl_attr_get_type(attr) == IFA_LOCAL)
			local = mnl_attr_get_payload(attr);
		else if (mnl_attr_get_type(attr) == IFA_ADDRESS)
			address = mnl_attr_get_payload(attr);
	}
	if (local || address)
		memcpy(e->addr.addr, local ? local : address, alen(ifa->ifa_family));
}

static void parse_route(const struct nlmsghdr *nlh, struct nl_event *e)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	e->kind = NL_EV_ROUTE;
	e->family = rtm->rtm_family;
	e->table = rtm->rtm_table;
	e->dst_len = rtm->rtm_dst_len;
	e->route_type = rtm->rtm_type;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm)) {
		if (mnl_attr_get_type(attr) == RTA_TABLE)
			e->table = mnl_attr_get_u32(attr);
		else if (mnl_attr_get_type(attr) == RTA_OIF)
			e->ifindex = (int)mnl_attr_get_u32(attr);
	}
}

static void parse_rule(const struct nlmsghdr *nlh, struct nl_event *e)
{
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	e->kind = NL_EV_RULE;
	e->family = frh->family;
	e->table = frh->table;
	mnl_attr_for_each(attr, nlh, sizeof(*frh)) {
		if (mnl_attr_get_type(attr) == FRA_PRIORITY)
			e->priority = mnl_attr_get_u32(attr);
		else if (mnl_attr_get_type(attr) == FRA_TABLE)
			e->table = mnl_attr_get_u32(attr);
	}
}

int nl_watch_read(struct nl_ctx *nl, nl_event_fn fn, void *arg)
{
	int n = 0;

	for (;;) {
		ssize_t len = recv(mnl_socket_get_fd(nl->sock), nl->buf, nl->buflen, MSG_DONTWAIT);
		const struct nlmsghdr *m;
		int left;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return n;
			return -errno;	/* ENOBUFS: notifications were lost */
		}
		left = (int)len;
		for (m = (const struct nlmsghdr *)nl->buf; mnl_nlmsg_ok(m, left);
		     m = mnl_nlmsg_next(m, &left)) {
			struct nl_event e = { 0 };

			switch (m->nlmsg_type) {
			case RTM_NEWLINK: case RTM_DELLINK:
				parse_link(m, &e);
				break;
			case RTM_NEWADDR: case RTM_DELADDR:
				parse_addr(m, &e);
				break;
			case RTM_NEWROUTE: case RTM_DELROUTE:
				parse_route(m, &e);
				break;
			case RTM_NEWRULE: case RTM_DELRULE:
				parse_rule(m, &e);
				break;
			default:
				continue;
			}
			e.del = m->nlmsg_type == RTM_DELLINK || m->nlmsg_type == RTM_DELADDR ||
				m->nlmsg_type == RTM_DELROUTE || m->nlmsg_type == RTM_DELRULE;
			fn(&e, arg);
			n++;
		}
	}
}
