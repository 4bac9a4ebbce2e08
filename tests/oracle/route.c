/* route.c — the delivery side: the kernel's own input route lookup, asked
 * over rtnetlink (RTM_GETROUTE with RTA_IIF: what `ip route get DST from
 * SRC iif IF` does), so every policy rule, per-tenant table, local and
 * broadcast route of the lab's apply decides, not the compiler.  Answers
 * are cached by (iif, source, destination[, protocol and ports when a
 * routing rule selects on them]). */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/in_route.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "oracle.h"

struct rkey {
	int iif;
	uint8_t family, proto;
	uint16_t sport, dport;
	uint8_t src[16], dst[16];
};

struct rent {
	struct rkey k;
	struct o_route r;
	bool used;
};

struct router {
	struct mnl_socket *nl;
	unsigned portid, seq;
	bool use_l4;
	struct rent *tab;
	size_t cap, n;
	unsigned long lookups;
	char buf[16384];
};

static uint64_t hkey(const struct rkey *k)
{
	const uint8_t *b = (const uint8_t *)k;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static int grow(struct router *r)
{
	size_t ncap = r->cap ? r->cap * 2 : 65536;
	struct rent *nt = calloc(ncap, sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < r->cap; i++) {
		size_t j;

		if (!r->tab[i].used)
			continue;
		for (j = hkey(&r->tab[i].k) & (ncap - 1); nt[j].used; j = (j + 1) & (ncap - 1))
			;
		nt[j] = r->tab[i];
	}
	free(r->tab);
	r->tab = nt;
	r->cap = ncap;
	return 0;
}

/* Does a routing rule select on the protocol or the ports? */
static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct router *r = data;
	struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct fib_rule_hdr)) {
		int t = mnl_attr_get_type(a);

		if (t == FRA_IP_PROTO || t == FRA_SPORT_RANGE || t == FRA_DPORT_RANGE)
			r->use_l4 = true;
	}
	return MNL_CB_OK;
}

static int dump_rules(struct router *r, int family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->buf);
	struct fib_rule_hdr *h;
	int n;

	nlh->nlmsg_type = RTM_GETRULE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++r->seq;
	h = mnl_nlmsg_put_extra_header(nlh, sizeof(*h));
	h->family = family;
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while ((n = mnl_socket_recvfrom(r->nl, r->buf, sizeof(r->buf))) > 0) {
		n = mnl_cb_run(r->buf, n, r->seq, r->portid, rule_cb, r);
		if (n <= MNL_CB_STOP)
			break;
	}
	return n < 0 ? -errno : 0;
}

struct router *router_open(const struct world *w, char *err, size_t errlen)
{
	struct router *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->nl = mnl_socket_open(NETLINK_ROUTE);
	if (!r->nl || mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "rtnetlink: %s", strerror(errno));
		router_close(r);
		return NULL;
	}
	r->portid = mnl_socket_get_portid(r->nl);
	r->seq = time(NULL);
	if (dump_rules(r, AF_INET) || dump_rules(r, AF_INET6)) {
		snprintf(err, errlen, "cannot dump the routing rules: %s", strerror(errno));
		router_close(r);
		return NULL;
	}
	if (grow(r)) {
		router_close(r);
		return NULL;
	}
	return r;
}

void router_close(struct router *r)
{
	if (!r)
		return;
	if (r->nl)
		mnl_socket_close(r->nl);
	free(r->tab);
	free(r);
}

unsigned long router_lookups(const struct router *r)
{
	return r->lookups;
}

struct reply {
	struct o_route *out;
	int family;
	bool got;
};

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct reply *x = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct nlattr *a;
	int oif = 0;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*rtm))
		if (mnl_attr_get_type(a) == RTA_OIF)
			oif = mnl_attr_get_u32(a);
	x->got = true;
	x->out->oif = oif;
	switch (rtm->rtm_type) {
	case RTN_LOCAL:
	case RTN_BROADCAST:
	case RTN_ANYCAST:
		x->out->type = OR_LOCAL;
		break;
	case RTN_MULTICAST:
		if (x->family == AF_INET)	/* an IPv4 group the interface joined: local */
			x->out->type = rtm->rtm_flags & RTCF_LOCAL ? OR_LOCAL : OR_ERR;
		else
			x->out->type = OR_MCAST;	/* the caller checks the membership */
		break;
	case RTN_UNICAST:
		x->out->type = OR_FORWARD;
		break;
	default:
		x->out->type = OR_ERR;
		x->out->err = EHOSTUNREACH;
	}
	return MNL_CB_OK;
}

static int ask(struct router *r, const struct rkey *k, struct o_route *out)
{
	int alen = k->family == AF_INET ? 4 : 16, n;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->buf);
	struct reply x = { .out = out, .family = k->family };
	struct rtmsg *rtm;

	memset(out, 0, sizeof(*out));
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++r->seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = k->family;
	rtm->rtm_dst_len = alen * 8;
	rtm->rtm_src_len = alen * 8;
	mnl_attr_put(nlh, RTA_DST, alen, k->dst);
	mnl_attr_put(nlh, RTA_SRC, alen, k->src);
	mnl_attr_put_u32(nlh, RTA_IIF, k->iif);
	mnl_attr_put_u32(nlh, RTA_MARK, 0);
	if (r->use_l4 && (k->proto == 6 || k->proto == 17 ||
			  (k->proto == 1 && k->family == AF_INET) || (k->proto == 58 && k->family == AF_INET6))) {
		mnl_attr_put_u8(nlh, RTA_IP_PROTO, k->proto);
		if (k->proto == 6 || k->proto == 17) {
			mnl_attr_put_u16(nlh, RTA_SPORT, htons(k->sport));
			mnl_attr_put_u16(nlh, RTA_DPORT, htons(k->dport));
		}
	}
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	r->lookups++;
	n = mnl_socket_recvfrom(r->nl, r->buf, sizeof(r->buf));
	if (n < 0)
		return -errno;
	n = mnl_cb_run(r->buf, n, r->seq, r->portid, route_cb, &x);
	if (n < 0) {		/* the kernel refused the route: errno says why */
		out->type = OR_ERR;
		out->err = errno;
		return 0;
	}
	if (!x.got) {
		out->type = OR_ERR;
		out->err = ENOENT;
	}
	return 0;
}

int route_get(struct router *r, int iif, int family, const uint8_t *src, const uint8_t *dst,
	      uint8_t proto, uint16_t sport, uint16_t dport, struct o_route *out)
{
	struct rkey k;
	size_t i;
	int err;

	memset(&k, 0, sizeof(k));
	k.iif = iif;
	k.family = family;
	memcpy(k.src, src, family == AF_INET ? 4 : 16);
	memcpy(k.dst, dst, family == AF_INET ? 4 : 16);
	if (r->use_l4) {
		k.proto = proto;
		k.sport = sport;
		k.dport = dport;
	}
	for (i = hkey(&k) & (r->cap - 1); r->tab[i].used; i = (i + 1) & (r->cap - 1))
		if (!memcmp(&r->tab[i].k, &k, sizeof(k))) {
			*out = r->tab[i].r;
			return 0;
		}
	err = ask(r, &k, out);
	if (err)
		return err;
	if ((r->n + 1) * 2 > r->cap) {
		if (grow(r))
			return 0;	/* answered, not cached */
		for (i = hkey(&k) & (r->cap - 1); r->tab[i].used; i = (i + 1) & (r->cap - 1))
			;
	}
	r->tab[i].used = true;
	r->tab[i].k = k;
	r->tab[i].r = *out;
	r->n++;
	return 0;
}
