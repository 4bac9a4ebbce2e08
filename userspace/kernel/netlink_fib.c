// SPDX-License-Identifier: GPL-2.0
/* netlink_fib.c — rules, routes, route lookups and tc filters read whole
 * (netlink_fib.h).  Every attribute that changes which packets a rule or a
 * route applies to is kept; one this code does not know is flagged, so the
 * caller can refuse to judge instead of guessing. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/pkt_cls.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include "kernel/netlink_fib.h"
#include "kernel/netlink_priv.h"

/* Newer than this system's headers (the kernel may send them). */
#define RP_FRA_DSCP 25
#define RP_FRA_FLOWLABEL 26
#define RP_FRA_FLOWLABEL_MASK 27
#define RP_FRA_SPORT_MASK 28
#define RP_FRA_DPORT_MASK 29

static size_t fam_bytes(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* ---- rules ---- */

static int fib_rule_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	struct nl_vec *vec = data;
	const struct nlattr *attr;
	struct nl_fib_rule *r;

	if (nlh->nlmsg_type != RTM_NEWRULE || (frh->family != AF_INET && frh->family != AF_INET6))
		return 0;
	r = nl_vec_push(vec);
	if (!r)
		return -ENOMEM;
	r->family = frh->family;
	r->action = frh->action;
	r->flags = frh->flags;
	r->table = frh->table;
	r->src_len = frh->src_len;
	r->dst_len = frh->dst_len;
	r->tos = frh->tos;
	r->suppress_prefixlen = -1;
	r->suppress_ifgroup = -1;
	mnl_attr_for_each(attr, nlh, sizeof(*frh)) {
		uint16_t len = mnl_attr_get_payload_len(attr);
		const void *p = mnl_attr_get_payload(attr);

		switch (mnl_attr_get_type(attr)) {
		case FRA_DST:
			if (len >= fam_bytes(r->family))
				memcpy(r->dst, p, fam_bytes(r->family));
			break;
		case FRA_SRC:
			if (len >= fam_bytes(r->family))
				memcpy(r->src, p, fam_bytes(r->family));
			break;
		case FRA_IIFNAME:
			snprintf(r->iif, sizeof(r->iif), "%s", mnl_attr_get_str(attr));
			break;
		case FRA_OIFNAME:
			snprintf(r->oif, sizeof(r->oif), "%s", mnl_attr_get_str(attr));
			break;
		case FRA_GOTO:
			r->goto_target = mnl_attr_get_u32(attr);
			break;
		case FRA_PRIORITY:
			r->priority = mnl_attr_get_u32(attr);
			break;
		case FRA_FWMARK:
			r->fwmark = mnl_attr_get_u32(attr);
			r->has_mark = true;
			break;
		case FRA_FWMASK:
			r->fwmask = mnl_attr_get_u32(attr);
			r->has_mark = true;
			break;
		case FRA_TUN_ID:
			r->has_tun_id = true;
			break;
		case FRA_SUPPRESS_IFGROUP:
			r->suppress_ifgroup = (int)mnl_attr_get_u32(attr);
			break;
		case FRA_SUPPRESS_PREFIXLEN:
			r->suppress_prefixlen = (int)mnl_attr_get_u32(attr);
			break;
		case FRA_TABLE:
			r->table = mnl_attr_get_u32(attr);
			break;
		case FRA_L3MDEV:
			r->l3mdev = len && *(const uint8_t *)p;
			break;
		case FRA_UID_RANGE:
			if (len >= 8) {
				const struct fib_rule_uid_range *u = p;

				r->has_uid = true;
				r->uid_lo = u->start;
				r->uid_hi = u->end;
			}
			break;
		case FRA_IP_PROTO:
			r->ipproto = mnl_attr_get_u8(attr);
			break;
		case FRA_SPORT_RANGE:
			if (len >= 4) {
				const struct fib_rule_port_range *pr = p;

				r->has_sport = true;
				r->sport_lo = pr->start;
				r->sport_hi = pr->end;
			}
			break;
		case FRA_DPORT_RANGE:
			if (len >= 4) {
				const struct fib_rule_port_range *pr = p;

				r->has_dport = true;
				r->dport_lo = pr->start;
				r->dport_hi = pr->end;
			}
			break;
		case RP_FRA_SPORT_MASK:
		case RP_FRA_DPORT_MASK:
			/* 6.16+ gives a single port (not a range) the full
			 * mask and dumps it: that is the port itself */
			if (len >= 2 && mnl_attr_get_u16(attr) == 0xffff)
				break;
			r->has_dscp = true;	/* a partial mask: not modelled */
			break;
		case RP_FRA_DSCP:
		case RP_FRA_FLOWLABEL:
		case RP_FRA_FLOWLABEL_MASK:
			r->has_dscp = true;	/* a selector this reader does not model */
			break;
		}
	}
	if (r->has_mark && !r->fwmask)
		r->fwmask = 0xffffffffu;
	return 0;
}

int nl_fib_rules(struct nl_ctx *nl, int family, struct nl_fib_rule **v, size_t *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, RTM_GETRULE, NLM_F_DUMP);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	struct nl_vec vec = { .elem = sizeof(struct nl_fib_rule) };
	int err;

	frh->family = (uint8_t)family;
	err = nl_talk(nl, nlh, fib_rule_cb, &vec);
	if (err) {
		free(vec.v);
		return err;
	}
	*v = vec.v;
	*n = vec.n;
	return 0;
}

/* ---- routes ---- */

static void nh_add(struct nl_fib_route *r, const struct nl_fib_nh *nh)
{
	if (r->n_nh >= NL_FIB_NH_MAX) {
		r->nh_truncated = true;
		return;
	}
	r->nh[r->n_nh++] = *nh;
}

static void gw_from(const struct nlattr *attr, int family, struct nl_fib_nh *nh)
{
	uint16_t len = mnl_attr_get_payload_len(attr);

	if (mnl_attr_get_type(attr) == RTA_GATEWAY && len >= fam_bytes(family)) {
		memcpy(nh->gw, mnl_attr_get_payload(attr), fam_bytes(family));
		nh->has_gw = true;
	} else if (mnl_attr_get_type(attr) == RTA_VIA && len >= 2) {
		nh->has_gw = true;	/* an IPv6 next hop of an IPv4 route */
	}
}

static void multipath(const struct nlattr *attr, struct nl_fib_route *r)
{
	const struct rtnexthop *rtnh = mnl_attr_get_payload(attr);
	int left = mnl_attr_get_payload_len(attr);

	while (left >= (int)sizeof(*rtnh) && rtnh->rtnh_len >= sizeof(*rtnh) && rtnh->rtnh_len <= left) {
		struct nl_fib_nh nh = { .oif = rtnh->rtnh_ifindex, .flags = rtnh->rtnh_flags };
		const char *end = (const char *)rtnh + rtnh->rtnh_len;
		const struct nlattr *a = (const void *)((const char *)rtnh + RTNH_ALIGN(sizeof(*rtnh)));

		while ((const char *)a + sizeof(*a) <= end && a->nla_len >= sizeof(*a) &&
		       (const char *)a + a->nla_len <= end) {
			gw_from(a, r->family, &nh);
			a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len));
		}
		nh_add(r, &nh);
		left -= RTNH_ALIGN(rtnh->rtnh_len);
		rtnh = (const struct rtnexthop *)((const char *)rtnh + RTNH_ALIGN(rtnh->rtnh_len));
	}
}

static int fib_route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct nl_vec *vec = data;
	const struct nlattr *attr;
	struct nl_fib_route *r;
	struct nl_fib_nh nh = { 0 };
	bool has_mp = false;

	if (nlh->nlmsg_type != RTM_NEWROUTE || (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6))
		return 0;
	if (rtm->rtm_flags & RTM_F_CLONED)	/* an IPv6 cache entry: not a route */
		return 0;
	r = nl_vec_push(vec);
	if (!r)
		return -ENOMEM;
	r->family = rtm->rtm_family;
	r->dst_len = rtm->rtm_dst_len;
	r->src_len = rtm->rtm_src_len;
	r->type = rtm->rtm_type;
	r->scope = rtm->rtm_scope;
	r->tos = rtm->rtm_tos;
	r->protocol = rtm->rtm_protocol;
	r->table = rtm->rtm_table;
	r->flags = rtm->rtm_flags;
	nh.flags = rtm->rtm_flags & 0xff;	/* RTNH_F_* of a single next hop */
	mnl_attr_for_each(attr, nlh, sizeof(*rtm)) {
		uint16_t len = mnl_attr_get_payload_len(attr);

		switch (mnl_attr_get_type(attr)) {
		case RTA_DST:
			if (len >= fam_bytes(r->family))
				memcpy(r->dst, mnl_attr_get_payload(attr), fam_bytes(r->family));
			break;
		case RTA_SRC:
			if (len >= fam_bytes(r->family))
				memcpy(r->src, mnl_attr_get_payload(attr), fam_bytes(r->family));
			break;
		case RTA_GATEWAY:
		case RTA_VIA:
			gw_from(attr, r->family, &nh);
			break;
		case RTA_OIF:
			nh.oif = (int)mnl_attr_get_u32(attr);
			break;
		case RTA_PRIORITY:
			r->metric = mnl_attr_get_u32(attr);
			break;
		case RTA_TABLE:
			r->table = mnl_attr_get_u32(attr);
			break;
		case RTA_MULTIPATH:
			multipath(attr, r);
			has_mp = true;
			break;
		case RTA_NH_ID:
			r->nhid = mnl_attr_get_u32(attr);
			break;
		case RTA_ENCAP_TYPE:
			r->encap = mnl_attr_get_u16(attr);
			break;
		}
	}
	if (!has_mp && (nh.oif || nh.has_gw))
		nh_add(r, &nh);
	return 0;
}

int nl_fib_routes(struct nl_ctx *nl, int family, struct nl_fib_route **v, size_t *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct nl_vec vec = { .elem = sizeof(struct nl_fib_route) };
	int err;

	rtm->rtm_family = (uint8_t)family;
	err = nl_talk(nl, nlh, fib_route_cb, &vec);
	if (err) {
		free(vec.v);
		return err;
	}
	*v = vec.v;
	*n = vec.n;
	return 0;
}

/* ---- one lookup ---- */

static int fib_get_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct nl_fib_answer *a = data;
	const struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	a->type = rtm->rtm_type;
	a->table = rtm->rtm_table;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm)) {
		if (mnl_attr_get_type(attr) == RTA_OIF)
			a->oif = (int)mnl_attr_get_u32(attr);
		else if (mnl_attr_get_type(attr) == RTA_TABLE)
			a->table = mnl_attr_get_u32(attr);
	}
	return 0;
}

int nl_fib_get(struct nl_ctx *nl, const struct nl_fib_query *q, struct nl_fib_answer *a)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, RTM_GETROUTE, 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	size_t alen = fam_bytes(q->family);

	memset(a, 0, sizeof(*a));
	rtm->rtm_family = (uint8_t)q->family;
	rtm->rtm_dst_len = alen * 8;
	rtm->rtm_src_len = alen * 8;
	mnl_attr_put(nlh, RTA_DST, alen, q->dst);
	mnl_attr_put(nlh, RTA_SRC, alen, q->src);
	if (q->iif)
		mnl_attr_put_u32(nlh, RTA_IIF, (uint32_t)q->iif);
	if (q->mark)
		mnl_attr_put_u32(nlh, RTA_MARK, q->mark);
	if (q->proto) {
		mnl_attr_put_u8(nlh, RTA_IP_PROTO, q->proto);
		if (q->proto == IPPROTO_TCP || q->proto == IPPROTO_UDP) {
			mnl_attr_put_u16(nlh, RTA_SPORT, htons(q->sport));
			mnl_attr_put_u16(nlh, RTA_DPORT, htons(q->dport));
		}
	}
	return nl_talk(nl, nlh, fib_get_cb, a);
}

/* ---- tc filters ---- */

static int bpf_opt_cb(const struct nlattr *attr, void *data)
{
	struct nl_tc_filter *f = data;

	if (mnl_attr_get_type(attr) == TCA_BPF_ID && mnl_attr_get_payload_len(attr) >= 4)
		f->bpf_id = mnl_attr_get_u32(attr);
	else if (mnl_attr_get_type(attr) == TCA_BPF_FLAGS && mnl_attr_get_payload_len(attr) >= 4)
		f->bpf_direct_action = mnl_attr_get_u32(attr) & TCA_BPF_FLAG_ACT_DIRECT;
	return MNL_CB_OK;
}

static int tc_filter_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct nl_vec *vec = data;
	const struct nlattr *attr, *opts = NULL;
	struct nl_tc_filter *f;

	if (nlh->nlmsg_type != RTM_NEWTFILTER)
		return 0;
	f = nl_vec_push(vec);
	if (!f)
		return -ENOMEM;
	f->handle = tcm->tcm_handle;
	f->info = tcm->tcm_info;
	mnl_attr_for_each(attr, nlh, sizeof(*tcm)) {
		if (mnl_attr_get_type(attr) == TCA_KIND)
			snprintf(f->kind, sizeof(f->kind), "%s", mnl_attr_get_str(attr));
		else if (mnl_attr_get_type(attr) == TCA_OPTIONS)
			opts = attr;
	}
	if (opts && !strcmp(f->kind, "bpf"))
		mnl_attr_parse_nested(opts, bpf_opt_cb, f);
	/* a chain's or a classifier's header (no handle, no options; the
	 * dump opens each classifier with one, TCA_KIND set, before its
	 * filters): not a filter */
	if (!f->handle && !opts)
		vec->n--;
	return 0;
}

int nl_tc_filters(struct nl_ctx *nl, int ifindex, uint32_t parent, struct nl_tc_filter **v, size_t *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, RTM_GETTFILTER, NLM_F_DUMP);
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	struct nl_vec vec = { .elem = sizeof(struct nl_tc_filter) };
	int err;

	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	err = nl_talk(nl, nlh, tc_filter_cb, &vec);
	if (err == -EINVAL || err == -ENOENT)
		err = 0;	/* no such qdisc: no filters */
	if (err) {
		free(vec.v);
		return err;
	}
	*v = vec.v;
	*n = vec.n;
	return 0;
}

/* ---- neighbours ---- */

static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct nl_vec *vec = data;
	const struct nlattr *attr;
	struct nl_neigh *e;

	if (nlh->nlmsg_type != RTM_NEWNEIGH || (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6))
		return 0;
	if (ndm->ndm_state & (NUD_FAILED | NUD_INCOMPLETE | NUD_NOARP))
		return 0;
	mnl_attr_for_each(attr, nlh, sizeof(*ndm)) {
		if (mnl_attr_get_type(attr) != NDA_DST || mnl_attr_get_payload_len(attr) < fam_bytes(ndm->ndm_family))
			continue;
		e = nl_vec_push(vec);
		if (!e)
			return -ENOMEM;
		e->ifindex = ndm->ndm_ifindex;
		e->family = ndm->ndm_family;
		e->state = ndm->ndm_state;
		memcpy(e->addr, mnl_attr_get_payload(attr), fam_bytes(ndm->ndm_family));
	}
	return 0;
}

int nl_neighs(struct nl_ctx *nl, struct nl_neigh **v, size_t *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, RTM_GETNEIGH, NLM_F_DUMP);
	struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	struct nl_vec vec = { .elem = sizeof(struct nl_neigh) };
	int err;

	ndm->ndm_family = AF_UNSPEC;
	err = nl_talk(nl, nlh, neigh_cb, &vec);
	if (err) {
		free(vec.v);
		return err;
	}
	*v = vec.v;
	*n = vec.n;
	return 0;
}
