// SPDX-License-Identifier: GPL-2.0
/* netlink_route.c — addresses, routes and policy rules over rtnetlink. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include "kernel/netlink.h"
#include "kernel/netlink_priv.h"

void *nl_vec_push(struct nl_vec *vec)
{
	char *slot;

	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 32;
		void *v = realloc(vec->v, cap * vec->elem);

		if (!v)
			return NULL;
		vec->v = v;
		vec->cap = cap;
	}
	slot = (char *)vec->v + vec->n++ * vec->elem;
	memset(slot, 0, vec->elem);
	return slot;
}

static size_t family_bytes(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* ---- addresses ---- */

struct addr_dump {
	struct nl_vec vec;
	int ifindex;
};

static int addr_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr_dump *ad = data;
	const struct nlattr *attr;
	const void *local = NULL, *address = NULL;
	uint32_t flags = ifa->ifa_flags;
	struct nl_addr *a;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return 0;
	if (ad->ifindex && (int)ifa->ifa_index != ad->ifindex)
		return 0;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		bool addr_sized = mnl_attr_get_payload_len(attr) >= family_bytes(ifa->ifa_family);

		if (mnl_attr_get_type(attr) == IFA_LOCAL && addr_sized)
			local = mnl_attr_get_payload(attr);
		else if (mnl_attr_get_type(attr) == IFA_ADDRESS && addr_sized)
			address = mnl_attr_get_payload(attr);
		/* 4 bytes: not address-sized for IPv6 */
		else if (mnl_attr_get_type(attr) == IFA_FLAGS && mnl_attr_get_payload_len(attr) >= 4)
			flags = mnl_attr_get_u32(attr);
	}
	if (!local)
		local = address;
	if (!local)
		return 0;
	a = nl_vec_push(&ad->vec);
	if (!a)
		return -ENOMEM;
	a->ifindex = (int)ifa->ifa_index;
	a->scope = ifa->ifa_scope;
	a->flags = flags;
	a->p.family = ifa->ifa_family;
	a->p.len = ifa->ifa_prefixlen;
	memcpy(a->p.addr, local, family_bytes(ifa->ifa_family));
	return 0;
}

int nl_addr_dump(struct nl_ctx *nl, int ifindex, struct nl_addr **v, size_t *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	struct addr_dump ad = { .vec.elem = sizeof(struct nl_addr), .ifindex = ifindex };
	int err;

	ifa->ifa_family = AF_UNSPEC;
	err = nl_talk(nl, nlh, addr_dump_cb, &ad);
	if (err) {
		free(ad.vec.v);
		return err;
	}
	*v = ad.vec.v;
	*n = ad.vec.n;
	return 0;
}

static int addr_req(struct nl_ctx *nl, int type, int ifindex, const struct rp_prefix *p)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, type,
					    type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	size_t alen = family_bytes(p->family);

	ifa->ifa_family = p->family;
	ifa->ifa_prefixlen = p->len;
	ifa->ifa_index = (unsigned int)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	mnl_attr_put(nlh, IFA_LOCAL, alen, p->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, p->addr);
	/* no prefix route: a tenant's subnets are routed in its own table
	 * only, never in the main table that routes the uplink (docs/policy.md) */
	if (type == RTM_NEWADDR)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NOPREFIXROUTE |
				 (p->family == AF_INET6 ? IFA_F_NODAD : 0));
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_addr_add(struct nl_ctx *nl, int ifindex, const struct rp_prefix *p)
{
	return addr_req(nl, RTM_NEWADDR, ifindex, p);
}

int nl_addr_del(struct nl_ctx *nl, int ifindex, const struct rp_prefix *p)
{
	return addr_req(nl, RTM_DELADDR, ifindex, p);
}

/* ---- routes ---- */

struct route_dump {
	struct nl_vec vec;
	uint32_t table;
};

static int route_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_dump *rd = data;
	const struct nlattr *attr;
	struct nl_route r = { 0 };

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return 0;
	r.family = rtm->rtm_family;
	r.dst_len = rtm->rtm_dst_len;
	r.type = rtm->rtm_type;
	r.protocol = rtm->rtm_protocol;
	r.table = rtm->rtm_table;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm)) {
		uint16_t len = mnl_attr_get_payload_len(attr);

		switch (mnl_attr_get_type(attr)) {
		case RTA_DST:
			if (len >= family_bytes(r.family))
				memcpy(r.dst, mnl_attr_get_payload(attr), family_bytes(r.family));
			break;
		case RTA_GATEWAY:
			if (len >= family_bytes(r.family)) {
				memcpy(r.gw, mnl_attr_get_payload(attr), family_bytes(r.family));
				r.has_gw = true;
			}
			break;
		case RTA_OIF:
			r.oif = (int)mnl_attr_get_u32(attr);
			break;
		case RTA_PRIORITY:
			r.metric = mnl_attr_get_u32(attr);
			break;
		case RTA_TABLE:
			r.table = mnl_attr_get_u32(attr);
			break;
		}
	}
	if (rd->table && r.table != rd->table)
		return 0;
	/* The kernel's own cache/local entries are not ours to compare. */
	if (r.family == AF_INET6 && r.type == RTN_UNREACHABLE && r.dst_len == 0 &&
	    r.table == RT_TABLE_MAIN && r.oif == 1)
		return 0;
	struct nl_route *slot = nl_vec_push(&rd->vec);

	if (!slot)
		return -ENOMEM;
	*slot = r;
	return 0;
}

int nl_route_dump(struct nl_ctx *nl, int family, uint32_t table, struct nl_route **v, size_t *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct route_dump rd = { .vec.elem = sizeof(struct nl_route), .table = table };
	int err;

	rtm->rtm_family = (uint8_t)family;
	if (table) {
		/* Let the kernel filter (strict checking): one table of 100
		 * costs 1/100th of a full dump. */
		int one = 1, zero = 0;

		rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
		mnl_attr_put_u32(nlh, RTA_TABLE, table);
		mnl_socket_setsockopt(nl->sock, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
		err = nl_talk(nl, nlh, route_dump_cb, &rd);
		mnl_socket_setsockopt(nl->sock, NETLINK_GET_STRICT_CHK, &zero, sizeof(zero));
	} else {
		err = nl_talk(nl, nlh, route_dump_cb, &rd);
	}
	if (err) {
		free(rd.vec.v);
		return err;
	}
	*v = rd.vec.v;
	*n = rd.vec.n;
	return 0;
}

static int route_req_flags(struct nl_ctx *nl, int type, uint16_t flags, const struct nl_route *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, type, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	size_t alen = family_bytes(r->family);

	rtm->rtm_family = r->family;
	rtm->rtm_dst_len = r->dst_len;
	rtm->rtm_table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = type == RTM_NEWROUTE ? RTPROT_STATIC : 0;
	rtm->rtm_type = r->type ? r->type : RTN_UNICAST;
	rtm->rtm_scope = rtm->rtm_type == RTN_UNICAST && !r->has_gw ? RT_SCOPE_LINK
								     : RT_SCOPE_UNIVERSE;
	if (type == RTM_DELROUTE)
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	/* A gateway route copied into a tenant table: its gateway is on the
	 * device's link, but the table has no connected route to prove it. */
	if (type == RTM_NEWROUTE && r->has_gw && r->oif && r->table != RT_TABLE_MAIN)
		rtm->rtm_flags |= RTNH_F_ONLINK;
	mnl_attr_put_u32(nlh, RTA_TABLE, r->table);
	if (r->dst_len)
		mnl_attr_put(nlh, RTA_DST, alen, r->dst);
	if (r->has_gw)
		mnl_attr_put(nlh, RTA_GATEWAY, alen, r->gw);
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)r->oif);
	mnl_attr_put_u32(nlh, RTA_PRIORITY, r->metric);
	return nl_talk(nl, nlh, NULL, NULL);
}

static int route_req(struct nl_ctx *nl, int type, const struct nl_route *r)
{
	return route_req_flags(nl, type, type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0, r);
}

int nl_route_add(struct nl_ctx *nl, const struct nl_route *r)
{
	return route_req(nl, RTM_NEWROUTE, r);
}

int nl_route_replace(struct nl_ctx *nl, const struct nl_route *r)
{
	return route_req_flags(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r);
}

int nl_route_del(struct nl_ctx *nl, const struct nl_route *r)
{
	return route_req(nl, RTM_DELROUTE, r);
}

bool nl_route_same(const struct nl_route *a, const struct nl_route *b)
{
	size_t alen = family_bytes(a->family);

	return a->family == b->family && a->dst_len == b->dst_len &&
	       (a->type ? a->type : RTN_UNICAST) == (b->type ? b->type : RTN_UNICAST) &&
	       !memcmp(a->dst, b->dst, alen) && a->has_gw == b->has_gw &&
	       (!a->has_gw || !memcmp(a->gw, b->gw, alen)) &&
	       /* IPv6 reports unreachable routes on "lo": only unicast has a device. */
	       (a->oif == b->oif || ((a->type ? a->type : RTN_UNICAST) != RTN_UNICAST)) &&
	       a->table == b->table && a->metric == b->metric;
}

void nl_route_text(const struct nl_route *r, const char *dev, char *buf, size_t len)
{
	char dst[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN] = "";

	inet_ntop(r->family, r->dst, dst, sizeof(dst));
	if (r->has_gw)
		inet_ntop(r->family, r->gw, gw, sizeof(gw));
	snprintf(buf, len, "%s%s/%u%s%s%s table %u metric %u",
		 r->type == RTN_UNREACHABLE ? "unreachable " : "", dst, r->dst_len,
		 r->has_gw ? " via " : "", gw, dev, r->table, r->metric);
}

void nl_route_format(const struct nl_route *r, char *buf, size_t len)
{
	char dev[24];

	snprintf(dev, sizeof(dev), " dev#%d", r->oif);
	nl_route_text(r, dev, buf, len);
}

/* ---- rules ---- */

struct rule_dump {
	struct nl_vec vec;
};

static int rule_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	struct rule_dump *rd = data;
	const struct nlattr *attr;
	struct nl_rule *r;

	if (nlh->nlmsg_type != RTM_NEWRULE || frh->action != FR_ACT_TO_TBL)
		return 0;
	r = nl_vec_push(&rd->vec);
	if (!r)
		return -ENOMEM;
	r->family = frh->family;
	r->table = frh->table;
	mnl_attr_for_each(attr, nlh, sizeof(*frh)) {
		switch (mnl_attr_get_type(attr)) {
		case FRA_PRIORITY:
			r->priority = mnl_attr_get_u32(attr);
			break;
		case FRA_TABLE:
			r->table = mnl_attr_get_u32(attr);
			break;
		case FRA_IIFNAME:
			snprintf(r->iif, sizeof(r->iif), "%s", mnl_attr_get_str(attr));
			break;
		case FRA_FWMARK:
			r->fwmark = mnl_attr_get_u32(attr);
			break;
		case FRA_FWMASK:
			r->fwmask = mnl_attr_get_u32(attr);
			break;
		}
	}
	return 0;
}

int nl_rule_dump(struct nl_ctx *nl, int family, struct nl_rule **v, size_t *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, RTM_GETRULE, NLM_F_DUMP);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	struct rule_dump rd = { .vec.elem = sizeof(struct nl_rule) };
	int err;

	frh->family = (uint8_t)family;
	err = nl_talk(nl, nlh, rule_dump_cb, &rd);
	if (err) {
		free(rd.vec.v);
		return err;
	}
	*v = rd.vec.v;
	*n = rd.vec.n;
	return 0;
}

static int rule_req(struct nl_ctx *nl, int type, const struct nl_rule *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, type,
					    type == RTM_NEWRULE ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));

	frh->family = r->family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_TABLE, r->table);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, r->priority);
	if (r->iif[0])
		mnl_attr_put_strz(nlh, FRA_IIFNAME, r->iif);
	if (r->fwmark || r->fwmask) {	/* mark 0 with a mask: "these bits clear" */
		mnl_attr_put_u32(nlh, FRA_FWMARK, r->fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, r->fwmask ? r->fwmask : 0xffffffffu);
	}
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_rule_add(struct nl_ctx *nl, const struct nl_rule *r)
{
	return rule_req(nl, RTM_NEWRULE, r);
}

int nl_rule_del(struct nl_ctx *nl, const struct nl_rule *r)
{
	return rule_req(nl, RTM_DELRULE, r);
}

/* The mask a rule matches with: none without mark and mask, all bits for a
 * mark without a mask. */
static uint32_t rule_mask(const struct nl_rule *r)
{
	return r->fwmask ? r->fwmask : r->fwmark ? 0xffffffffu : 0;
}

bool nl_rule_same(const struct nl_rule *a, const struct nl_rule *b)
{
	return a->family == b->family && a->priority == b->priority && a->table == b->table &&
	       !strcmp(a->iif, b->iif) && a->fwmark == b->fwmark && rule_mask(a) == rule_mask(b);
}

void nl_rule_format(const struct nl_rule *r, char *buf, size_t len)
{
	char mark[48] = "";

	if (r->fwmark || r->fwmask)
		snprintf(mark, sizeof(mark), " fwmark 0x%x/0x%x", r->fwmark, rule_mask(r));
	snprintf(buf, len, "%s priority %u%s%s%s lookup %u",
		 r->family == AF_INET ? "ipv4" : "ipv6", r->priority,
		 r->iif[0] ? " iif " : "", r->iif, mark, r->table);
}
