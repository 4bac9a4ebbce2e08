// SPDX-License-Identifier: GPL-2.0
/* ha_ct_zone.c — the zone conntrackd does not carry (docs/ha.md "NAT state:
 * conntrackd").
 *
 * The nftables table inet rempart (net/nat.c) puts a tenant's packets in
 * conntrack zone = tenant id in the ORIGINAL direction only, so that two
 * tenants with the same addresses never share an entry while the replies
 * from the internet (default zone) still find theirs.  conntrackd 1.4
 * carries the tuple, the NAT, the state, the mark and a symmetric zone, but
 * no directional one: what `conntrackd -c` commits lands in the default
 * zone, where the tenant's next packet (looked up in its zone) does not
 * find it; conntrack would make a new entry, and masquerade a new source
 * port, and the connection would be reset.
 *
 * The mark tells the tenant (RP_MARK_BASE | id, set on the tenant's NATed
 * connections by the table's forward_mark chain and carried by
 * conntrackd).  So after a commit, every entry with a tenant's mark, source
 * NAT and no zone is deleted and created again in its tenant's zone, by
 * ctnetlink: the same original tuple, the NAT to the same address and port
 * (CTA_NAT_SRC: the kernel sets the reply tuple and the NAT status), the
 * TCP state, the mark and the remaining timeout.  An entry the tenant's
 * traffic already made in its zone meanwhile (a packet between the commit
 * and this) is replaced.  TCP and UDP only: the NAT ports are theirs.
 *
 * An entry the kernel already holds is not committed over (conntrackd's
 * create fails: its reply tuple, in the default zone, is taken), and one
 * left from an earlier time as the active is stale: the connection went on
 * through the peer, and its sequence numbers are past the window the entry
 * tracked.  Its packets are then invalid to conntrack and are not NATed:
 * the connection dies (lab: the fail back, 2 of 2 runs).
 * So on becoming active every NATed TCP entry of a tenant is made liberal
 * (IP_CT_TCP_FLAG_BE_LIBERAL both ways, ha_ct_liberal), as an entry
 * committed without window data is in effect: only its tuple, NAT and
 * state are kept. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include "ha/ha_conntrackd.h"
#include "rempart_abi.h"

#define CT_REZONE_MAX 262144	/* entries moved at most per commit */

struct ct_tuple {
	uint8_t src[16], dst[16];
	uint16_t sport, dport;		/* network order */
	uint8_t proto;
	uint16_t zone;			/* CTA_TUPLE_ZONE, host order; 0: none */
};

struct ct_moved {
	uint8_t family;
	struct ct_tuple orig, reply;
	uint32_t status, mark, timeout;
	uint16_t info_len;
	uint8_t info[128];		/* CTA_PROTOINFO's payload, as dumped */
};

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, CTA_MAX) > 0)
		tb[type] = a;
	return MNL_CB_OK;
}

/* CTA_TUPLE_* into t; -EINVAL if a part is missing. */
static int parse_tuple(const struct nlattr *nest, uint8_t family, struct ct_tuple *t)
{
	const struct nlattr *tb[CTA_MAX + 1] = { 0 }, *ip[CTA_MAX + 1] = { 0 },
			    *pr[CTA_MAX + 1] = { 0 };
	size_t alen = family == AF_INET ? 4 : 16;

	memset(t, 0, sizeof(*t));
	if (mnl_attr_parse_nested(nest, attr_cb, tb) < 0 || !tb[CTA_TUPLE_IP] || !tb[CTA_TUPLE_PROTO])
		return -EINVAL;
	if (mnl_attr_parse_nested(tb[CTA_TUPLE_IP], attr_cb, ip) < 0 ||
	    mnl_attr_parse_nested(tb[CTA_TUPLE_PROTO], attr_cb, pr) < 0)
		return -EINVAL;
	{
		int s = family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC;
		int d = family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST;

		if (!ip[s] || !ip[d] || mnl_attr_get_payload_len(ip[s]) != alen ||
		    mnl_attr_get_payload_len(ip[d]) != alen)
			return -EINVAL;
		memcpy(t->src, mnl_attr_get_payload(ip[s]), alen);
		memcpy(t->dst, mnl_attr_get_payload(ip[d]), alen);
	}
	if (!pr[CTA_PROTO_NUM] || !pr[CTA_PROTO_SRC_PORT] || !pr[CTA_PROTO_DST_PORT])
		return -EINVAL;
	t->proto = mnl_attr_get_u8(pr[CTA_PROTO_NUM]);
	t->sport = mnl_attr_get_u16(pr[CTA_PROTO_SRC_PORT]);
	t->dport = mnl_attr_get_u16(pr[CTA_PROTO_DST_PORT]);
	if (tb[CTA_TUPLE_ZONE])
		t->zone = ntohs(mnl_attr_get_u16(tb[CTA_TUPLE_ZONE]));
	return 0;
}

struct ct_list {
	struct ct_moved *v;
	size_t n, cap;
	bool any_zone;		/* keep entries in a tenant's zone too */
};

/* One dumped entry: kept if a tenant's NATed TCP or UDP connection sits in
 * the default zone (or in any zone, with any_zone). */
static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CTA_MAX + 1] = { 0 };
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	struct ct_list *l = data;
	struct ct_moved m = { .family = nfg->nfgen_family };
	uint32_t id;

	if (mnl_attr_parse(nlh, sizeof(*nfg), attr_cb, tb) < 0)
		return MNL_CB_OK;
	if ((m.family != AF_INET && m.family != AF_INET6) || !tb[CTA_TUPLE_ORIG] ||
	    !tb[CTA_TUPLE_REPLY] || !tb[CTA_STATUS] || !tb[CTA_MARK] || tb[CTA_ZONE])
		return MNL_CB_OK;
	m.status = ntohl(mnl_attr_get_u32(tb[CTA_STATUS]));
	m.mark = ntohl(mnl_attr_get_u32(tb[CTA_MARK]));
	m.timeout = tb[CTA_TIMEOUT] ? ntohl(mnl_attr_get_u32(tb[CTA_TIMEOUT])) : 0;
	id = m.mark & ~RP_MARK_MASK;
	if ((m.mark & RP_MARK_MASK) != RP_MARK_BASE || !id || id > RP_TENANT_ID_MAX ||
	    !(m.status & IPS_SRC_NAT) || !m.timeout)
		return MNL_CB_OK;
	if (parse_tuple(tb[CTA_TUPLE_ORIG], m.family, &m.orig) ||
	    parse_tuple(tb[CTA_TUPLE_REPLY], m.family, &m.reply) || (m.orig.zone && !l->any_zone) ||
	    (m.orig.proto != IPPROTO_TCP && m.orig.proto != IPPROTO_UDP))
		return MNL_CB_OK;
	if (tb[CTA_PROTOINFO]) {
		uint16_t len = mnl_attr_get_payload_len(tb[CTA_PROTOINFO]);

		if (len > sizeof(m.info))
			return MNL_CB_OK;
		memcpy(m.info, mnl_attr_get_payload(tb[CTA_PROTOINFO]), len);
		m.info_len = len;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct ct_moved *v;

		if (cap > CT_REZONE_MAX)
			return MNL_CB_OK;
		v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return MNL_CB_ERROR;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = m;
	return MNL_CB_OK;
}

static struct nlmsghdr *ct_msg(char *buf, int type, int flags, uint8_t family, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

/* CTA_TUPLE_ORIG or _REPLY from src to dst; zone (host order) in the
 * tuple when not 0. */
static void put_tuple(struct nlmsghdr *nlh, int type, uint8_t family, const uint8_t *src,
		      const uint8_t *dst, uint8_t proto, uint16_t sport, uint16_t dport, uint16_t zone)
{
	struct nlattr *t = mnl_attr_nest_start(nlh, type), *n;
	size_t alen = family == AF_INET ? 4 : 16;

	n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, alen, src);
	mnl_attr_put(nlh, family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST, alen, dst);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, sport);
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, dport);
	mnl_attr_nest_end(nlh, n);
	if (zone)
		mnl_attr_put_u16(nlh, CTA_TUPLE_ZONE, htons(zone));
	mnl_attr_nest_end(nlh, t);
}

/* Send one request and read its acknowledgement: 0 or -errno. */
static int ct_talk(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	if (mnl_cb_run(buf, n, nlh->nlmsg_seq, mnl_socket_get_portid(nl), NULL, NULL) < 0)
		return -errno;
	return 0;
}

static int ct_delete(struct mnl_socket *nl, const struct ct_moved *m, uint16_t zone, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, 0, m->family, seq);

	put_tuple(nlh, CTA_TUPLE_ORIG, m->family, m->orig.src, m->orig.dst, m->orig.proto,
		  m->orig.sport, m->orig.dport, zone);
	return ct_talk(nl, nlh);
}

/* The entry again, in zone `zone` in the original direction; the reply
 * tuple is the original one inverted, and CTA_NAT_SRC makes the kernel
 * NAT it to the dumped reply's destination, as before. */
static int ct_create(struct mnl_socket *nl, const struct ct_moved *m, uint16_t zone, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = ct_msg(buf, IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL, m->family, seq);
	size_t alen = m->family == AF_INET ? 4 : 16;
	struct nlattr *nat, *pn;

	put_tuple(nlh, CTA_TUPLE_ORIG, m->family, m->orig.src, m->orig.dst, m->orig.proto,
		  m->orig.sport, m->orig.dport, zone);
	put_tuple(nlh, CTA_TUPLE_REPLY, m->family, m->orig.dst, m->orig.src, m->orig.proto,
		  m->orig.dport, m->orig.sport, 0);
	nat = mnl_attr_nest_start(nlh, CTA_NAT_SRC);
	mnl_attr_put(nlh, m->family == AF_INET ? CTA_NAT_V4_MINIP : CTA_NAT_V6_MINIP, alen, m->reply.dst);
	mnl_attr_put(nlh, m->family == AF_INET ? CTA_NAT_V4_MAXIP : CTA_NAT_V6_MAXIP, alen, m->reply.dst);
	pn = mnl_attr_nest_start(nlh, CTA_NAT_PROTO);
	mnl_attr_put_u16(nlh, CTA_PROTONAT_PORT_MIN, m->reply.dport);
	mnl_attr_put_u16(nlh, CTA_PROTONAT_PORT_MAX, m->reply.dport);
	mnl_attr_nest_end(nlh, pn);
	mnl_attr_nest_end(nlh, nat);
	/* the status as dumped: a bit that differs from what the kernel set
	 * on the new entry (confirmed, NAT done) is refused (-EBUSY) */
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(m->status & (IPS_CONFIRMED | IPS_NAT_MASK |
							     IPS_NAT_DONE_MASK | IPS_SEEN_REPLY |
							     IPS_ASSURED)));
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(m->timeout));
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(m->mark));
	if (m->info_len)
		mnl_attr_put(nlh, CTA_PROTOINFO | NLA_F_NESTED, m->info_len, m->info);
	return ct_talk(nl, nlh);
}

/* Dump the tenants' NATed entries (by their mark) into *l on a new socket
 * *nlp; 0 or -errno (the socket closed). */
static int ct_dump(struct ct_list *l, struct mnl_socket **nlp, uint32_t *seqp)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	uint32_t seq = *seqp, portid;
	int err = 0;
	ssize_t n;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = ct_msg(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, AF_UNSPEC, seq);
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(RP_MARK_BASE));
	mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(RP_MARK_MASK));
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		int r = mnl_cb_run(buf, n, seq, portid, dump_cb, l);

		if (r < 0) {
			err = -errno;
			goto out;
		}
		if (r == MNL_CB_STOP)
			break;
	}
	if (n < 0)
		err = -errno;
out:
	if (err) {
		mnl_socket_close(nl);
		return err;
	}
	*nlp = nl;
	*seqp = seq;
	return 0;
}

int ha_ct_rezone(void)
{
	struct ct_list l = { 0 };
	struct mnl_socket *nl;
	uint32_t seq = (uint32_t)time(NULL);
	int moved = 0, err;

	err = ct_dump(&l, &nl, &seq);
	if (err) {
		free(l.v);
		return err;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct ct_moved *m = &l.v[i];
		uint16_t zone = (uint16_t)(m->mark & ~RP_MARK_MASK);
		int r;

		r = ct_delete(nl, m, 0, ++seq);
		if (r && r != -ENOENT)
			continue;	/* left as conntrackd committed it */
		r = ct_create(nl, m, zone, ++seq);
		if (r == -EEXIST) {	/* the tenant's traffic made one meanwhile */
			ct_delete(nl, m, zone, ++seq);
			r = ct_create(nl, m, zone, ++seq);
		}
		if (!r)
			moved++;
		else if (!err)
			err = r;
	}
	free(l.v);
	mnl_socket_close(nl);
	return err && !moved ? err : moved;
}

/* IP_CT_TCP_FLAG_BE_LIBERAL set in both directions of one entry (an
 * update: no NLM_F_CREATE), found by its original tuple and zone. */
static int ct_liberal(struct mnl_socket *nl, const struct ct_moved *m, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = ct_msg(buf, IPCTNL_MSG_CT_NEW, 0, m->family, seq);
	struct nf_ct_tcp_flags f = { .flags = IP_CT_TCP_FLAG_BE_LIBERAL,
				     .mask = IP_CT_TCP_FLAG_BE_LIBERAL };
	struct nlattr *pi, *tcp;

	put_tuple(nlh, CTA_TUPLE_ORIG, m->family, m->orig.src, m->orig.dst, m->orig.proto,
		  m->orig.sport, m->orig.dport, m->orig.zone);
	pi = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
	tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
	mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, sizeof(f), &f);
	mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_REPLY, sizeof(f), &f);
	mnl_attr_nest_end(nlh, tcp);
	mnl_attr_nest_end(nlh, pi);
	return ct_talk(nl, nlh);
}

int ha_ct_liberal(void)
{
	struct ct_list l = { .any_zone = true };
	struct mnl_socket *nl;
	uint32_t seq = (uint32_t)time(NULL);
	int done = 0, err;

	err = ct_dump(&l, &nl, &seq);
	if (err) {
		free(l.v);
		return err;
	}
	for (size_t i = 0; i < l.n; i++) {
		int r;

		if (l.v[i].orig.proto != IPPROTO_TCP)
			continue;
		r = ct_liberal(nl, &l.v[i], ++seq);
		if (!r)
			done++;
		else if (r != -ENOENT && !err)	/* gone meanwhile: nothing to do */
			err = r;
	}
	free(l.v);
	mnl_socket_close(nl);
	return err && !done ? err : done;
}
