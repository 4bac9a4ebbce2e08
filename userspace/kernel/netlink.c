// SPDX-License-Identifier: GPL-2.0
/* netlink.c — the rtnetlink socket, requests with extended ACKs, dumps, and
 * links.  Addresses, routes and rules are in netlink_route.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "kernel/netlink.h"
#include "kernel/netlink_priv.h"

int nl_open(struct nl_ctx *nl)
{
	int one = 1, err;

	memset(nl, 0, sizeof(*nl));
	nl->buflen = MNL_SOCKET_BUFFER_SIZE * 4;
	nl->buf = malloc(nl->buflen);
	if (!nl->buf)
		return -ENOMEM;
	nl->sock = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->sock) {
		err = -errno;
		goto fail;
	}
	/* Best effort: old kernels lack them, and we still work. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto fail;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned int)time(NULL);
	return 0;
fail:
	nl_close(nl);
	return err;
}

void nl_close(struct nl_ctx *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	nl->sock = NULL;
	nl->buf = NULL;
}

const char *nl_strerror(struct nl_ctx *nl, int err)
{
	if (nl->ext_msg[0])
		snprintf(nl->errbuf, sizeof(nl->errbuf), "%s (kernel: %s)", strerror(-err), nl->ext_msg);
	else
		snprintf(nl->errbuf, sizeof(nl->errbuf), "%s", strerror(-err));
	return nl->errbuf;
}

/* Pull the NLMSGERR_ATTR_MSG text out of an error message (iproute2's
 * lib/mnl_utils.c does the same walk). */
static void parse_ext_ack(struct nl_ctx *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	unsigned int off;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (mnl_nlmsg_get_payload_len(nlh) <= off)
		return;
	mnl_attr_for_each(attr, nlh, off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
			snprintf(nl->ext_msg, sizeof(nl->ext_msg), "%s", mnl_attr_get_str(attr));
			/* The kernel's texts need no trailing newline. */
			nl->ext_msg[strcspn(nl->ext_msg, "\n")] = 0;
		}
	}
}

/* Send nlh and read until its ACK (or DONE for dumps), calling cb on each
 * data message.  Returns 0, a negative errno from the kernel, or cb's
 * negative return. */
int nl_talk(struct nl_ctx *nl, struct nlmsghdr *nlh, nl_msg_cb cb, void *data)
{
	unsigned int seq = ++nl->seq;
	/* NLM_F_DUMP shares bits with NLM_F_EXCL/REPLACE: only GETs dump. */
	bool dump = (nlh->nlmsg_type & 3) == 2 && (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	int ret = 0;

	nl->ext_msg[0] = 0;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_REQUEST | (dump ? 0 : NLM_F_ACK);
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(nl->sock, nl->buf, nl->buflen);
		const struct nlmsghdr *m;
		int left;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		left = (int)len;
		for (m = (const struct nlmsghdr *)nl->buf; mnl_nlmsg_ok(m, left);
		     m = mnl_nlmsg_next(m, &left)) {
			if (m->nlmsg_seq != seq || m->nlmsg_pid != nl->portid)
				continue;
			if (m->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);

				if (e->error) {
					parse_ext_ack(nl, m);
					return e->error;
				}
				return ret;	/* the ACK */
			}
			if (m->nlmsg_type == NLMSG_DONE)
				return ret;
			if (cb && !ret) {
				int r = cb(m, data);

				if (r < 0)
					ret = r;	/* keep reading to the end */
			}
		}
	}
}

struct nlmsghdr *nl_msg_start(struct nl_ctx *nl, char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	(void)nl;
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	return nlh;
}

/* ---- links ---- */

static int link_kind_cb(const struct nlattr *attr, void *data)
{
	struct nl_link *l = data;

	if (mnl_attr_get_type(attr) == IFLA_INFO_KIND)
		snprintf(l->kind, sizeof(l->kind), "%s", mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

static int link_vlan_cb(const struct nlattr *attr, void *data)
{
	struct nl_link *l = data;

	if (mnl_attr_get_type(attr) == IFLA_VLAN_ID && mnl_attr_get_payload_len(attr) >= 2)
		l->vlan_id = mnl_attr_get_u16(attr);
	return MNL_CB_OK;
}

static int link_info_cb(const struct nlattr *attr, void *data)
{
	struct nl_link *l = data;

	if (mnl_attr_get_type(attr) == IFLA_INFO_KIND)
		link_kind_cb(attr, data);
	else if (mnl_attr_get_type(attr) == IFLA_INFO_DATA && !strcmp(l->kind, "vlan"))
		mnl_attr_parse_nested(attr, link_vlan_cb, l);
	return MNL_CB_OK;
}

static int link_xdp_cb(const struct nlattr *attr, void *data)
{
	struct nl_link *l = data;

	if (mnl_attr_get_type(attr) == IFLA_XDP_ATTACHED &&
	    !mnl_attr_validate(attr, MNL_TYPE_U8))
		l->xdp_attached = mnl_attr_get_u8(attr);
	if (mnl_attr_validate(attr, MNL_TYPE_U32))
		return MNL_CB_OK;
	switch (mnl_attr_get_type(attr)) {
	case IFLA_XDP_DRV_PROG_ID: l->xdp_prog_id[XDP_ATTACHED_DRV] = mnl_attr_get_u32(attr); break;
	case IFLA_XDP_SKB_PROG_ID: l->xdp_prog_id[XDP_ATTACHED_SKB] = mnl_attr_get_u32(attr); break;
	case IFLA_XDP_HW_PROG_ID: l->xdp_prog_id[XDP_ATTACHED_HW] = mnl_attr_get_u32(attr); break;
	case IFLA_XDP_PROG_ID:	/* the one program of a single mode */
		if (l->xdp_attached && l->xdp_attached < 4 && l->xdp_attached != XDP_ATTACHED_MULTI)
			l->xdp_prog_id[l->xdp_attached] = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

static void link_parse(const struct nlmsghdr *nlh, struct nl_link *l)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	mnl_attr_for_each(attr, nlh, sizeof(*ifi)) {
		switch (mnl_attr_get_type(attr)) {
		case IFLA_IFNAME:
			snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(attr));
			break;
		case IFLA_MTU:
			l->mtu = mnl_attr_get_u32(attr);
			break;
		case IFLA_LINK:
			l->parent = (int)mnl_attr_get_u32(attr);
			break;
		case IFLA_MASTER:
			l->master = (int)mnl_attr_get_u32(attr);
			break;
		case IFLA_LINKINFO:
			mnl_attr_parse_nested(attr, link_info_cb, l);
			break;
		case IFLA_XDP:
			mnl_attr_parse_nested(attr, link_xdp_cb, l);
			break;
		}
	}
}

static int link_one_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		link_parse(nlh, data);
	return 0;
}

int nl_link_get(struct nl_ctx *nl, const char *name, struct nl_link *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	int err;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	memset(out, 0, sizeof(*out));
	/* A GET with ACK answers with the message then the ACK. */
	err = nl_talk(nl, nlh, link_one_cb, out);
	if (err == -ENODEV || (!err && !out->ifindex))
		return -ENODEV;
	return err;
}

struct link_vec {
	struct nl_link *v;
	size_t n, cap;
};

static int link_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_vec *lv = data;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	if (lv->n == lv->cap) {
		size_t cap = lv->cap ? lv->cap * 2 : 16;
		struct nl_link *v = realloc(lv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		lv->v = v;
		lv->cap = cap;
	}
	link_parse(nlh, &lv->v[lv->n++]);
	return 0;
}

int nl_link_dump(struct nl_ctx *nl, struct nl_link **v, size_t *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, RTM_GETLINK, NLM_F_DUMP);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct link_vec lv = { 0 };
	int err;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	err = nl_talk(nl, nlh, link_dump_cb, &lv);
	if (err) {
		free(lv.v);
		return err;
	}
	*v = lv.v;
	*n = lv.n;
	return 0;
}

int nl_link_add(struct nl_ctx *nl, const char *name, const char *kind)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct nlattr *info;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_add_vlan(struct nl_ctx *nl, const char *name, int parent, uint16_t vlan_id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct nlattr *info, *idata;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)parent);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vlan");
	idata = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u16(nlh, IFLA_VLAN_ID, vlan_id);
	mnl_attr_nest_end(nlh, idata);
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_del(struct nl_ctx *nl, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, RTM_DELLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return nl_talk(nl, nlh, NULL, NULL);
}

/* RTM_NEWLINK on ifindex: the flags of change set to flags, the MTU if
 * not 0. */
static int link_change(struct nl_ctx *nl, int ifindex, unsigned int mtu, unsigned int change,
		       unsigned int flags)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg_start(nl, buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_change = change;
	ifi->ifi_flags = flags;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_set(struct nl_ctx *nl, int ifindex, unsigned int mtu, bool up)
{
	return link_change(nl, ifindex, mtu, up ? IFF_UP : 0, up ? IFF_UP : 0);
}

int nl_link_set_down(struct nl_ctx *nl, int ifindex)
{
	return link_change(nl, ifindex, 0, IFF_UP, 0);
}
