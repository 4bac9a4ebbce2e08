/* SPDX-License-Identifier: GPL-2.0 */
/* parse.h — bounds-checked packet parsing for the rempart programs.
 *
 * One cursor helper per layer, in the spirit of xdp-tools'
 * parsing_helpers.h, written for rempart's rules (docs/policy.md "Parsing"):
 * the userspace reference parser (tests/lib/packet_parse.c) follows the same
 * rules and the differential test feeds both the same bytes.
 *
 * The cursor carries two limits: data_end (what the verifier needs, the
 * bytes we can touch) and lim (what the packet says: the IP total length
 * once it is known).  A header must fit under both.
 */
#ifndef REMPART_PARSE_H
#define REMPART_PARSE_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "rempart_abi.h"

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define RP_PARSE_MAX 16384	/* no header starts beyond this offset */
#define RP_AF_INET 2
#define RP_AF_INET6 10

enum rp_kind { RP_K_IP = 0, RP_K_ARP = 1, RP_K_OTHER_L2 = 2 };

/* A packet as the programs see it (userspace twin: struct rp_packet). */
struct rp_pkt {
	__u32 src[4], dst[4];		/* network order; IPv4 in [0] */
	__u32 isrc[4], idst[4];		/* ICMP error: the embedded header */
	__u32 frag_id;
	__u32 len;			/* bytes on the wire, for counters */
	__u16 vlan;			/* outer VID, 0 none */
	__u16 sport, dport;		/* host order, TCP/UDP */
	__u16 echo_id;			/* ICMP/ICMPv6 echo, host order */
	__u16 isport, idport;
	__u8 kind;			/* enum rp_kind */
	__u8 family;			/* RP_AF_INET | RP_AF_INET6 */
	__u8 proto;
	__u8 frag;			/* enum rp_frag */
	__u8 l4;			/* L4 header parsed */
	__u8 has_inner;
	__u8 iproto;
	__u8 tcp_flags;
	__u8 icmp_type, icmp_code;
	__u8 hop;
	__u8 is_echo;
};

struct rp_cur {
	void *data;
	void *data_end;
	__u32 off;
	__u32 lim;
};

/* n bytes at the cursor, or NULL; past them if advance. */
static __always_inline void *cur_at(struct rp_cur *c, __u32 n, int advance)
{
	__u32 off = c->off;
	void *p;

	if (off > RP_PARSE_MAX || off + n > c->lim)
		return NULL;
	p = c->data + off;
	if (p + n > c->data_end)
		return NULL;
	if (advance)
		c->off = off + n;
	return p;
}

static __always_inline void *cur_take(struct rp_cur *c, __u32 n)
{
	return cur_at(c, n, 1);
}

static __always_inline void *cur_peek(struct rp_cur *c, __u32 n)
{
	return cur_at(c, n, 0);
}

/* Skip n bytes that must be present; 0 or -1. */
static __always_inline int cur_skip(struct rp_cur *c, __u32 n)
{
	__u32 off = c->off;

	if (n > RP_PARSE_MAX || off > RP_PARSE_MAX || off + n > c->lim)
		return -1;
	if (c->data + off + n > c->data_end)
		return -1;
	c->off = off + n;
	return 0;
}

/* Ethernet and up to RP_MAX_VLAN_TAGS tags; *proto is the ethertype after
 * them (network order).  pkt->vlan gets the outer VID as soon as it is read
 * (a frame malformed further in still names its tenant). */
static __always_inline int parse_eth(struct rp_cur *c, struct rp_pkt *pkt, __u16 *proto)
{
	struct ethhdr *eth = cur_take(c, sizeof(*eth));
	__u16 h;
	int i;

	if (!eth)
		return -1;
	h = eth->h_proto;
#pragma unroll
	for (i = 0; i <= RP_MAX_VLAN_TAGS; i++) {
		__u16 *tag;

		if (h != bpf_htons(ETH_P_8021Q) && h != bpf_htons(ETH_P_8021AD))
			break;
		if (i == RP_MAX_VLAN_TAGS)
			return -1;
		tag = cur_take(c, 4);	/* TCI, encapsulated ethertype */
		if (!tag)
			return -1;
		if (i == 0)
			pkt->vlan = bpf_ntohs(tag[0]) & 0x0fff;
		h = tag[1];
	}
	*proto = h;
	return 0;
}

static __always_inline int parse_ipv4(struct rp_cur *c, struct rp_pkt *pkt)
{
	__u32 start = c->off, hl, tot;
	struct iphdr *ip = cur_take(c, sizeof(*ip));
	__u16 fo;

	if (!ip || ip->version != 4 || ip->ihl < 5)
		return -1;
	hl = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < hl || start + tot > c->lim)
		return -1;
	c->lim = start + tot;
	if (cur_skip(c, hl - sizeof(*ip)))
		return -1;
	pkt->family = RP_AF_INET;
	pkt->proto = ip->protocol;
	pkt->hop = ip->ttl;
	pkt->src[0] = ip->saddr;
	pkt->dst[0] = ip->daddr;
	pkt->frag_id = bpf_ntohs(ip->id);
	fo = bpf_ntohs(ip->frag_off);
	if (fo & 0x1fff)
		pkt->frag = RP_FRAG_LATER;
	else if (fo & 0x2000)
		pkt->frag = RP_FRAG_FIRST;
	return 0;
}

struct rp_ip6frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 id;
};

static __always_inline int parse_ipv6(struct rp_cur *c, struct rp_pkt *pkt)
{
	__u32 start = c->off;
	struct ipv6hdr *ip6 = cur_take(c, sizeof(*ip6));
	__u8 nh;
	int i;

	if (!ip6 || ip6->version != 6)
		return -1;
	if (start + sizeof(*ip6) + bpf_ntohs(ip6->payload_len) > c->lim)
		return -1;
	c->lim = start + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	pkt->family = RP_AF_INET6;
	pkt->hop = ip6->hop_limit;
	__builtin_memcpy(pkt->src, &ip6->saddr, 16);
	__builtin_memcpy(pkt->dst, &ip6->daddr, 16);
	nh = ip6->nexthdr;
	/* unrolled: clang lays this loop out with a fall-through back-edge,
	 * which the 6.1 verifier's CFG check rejects ("back-edge from insn") */
#pragma unroll
	for (i = 0; i <= RP_MAX_IPV6_EXT; i++) {
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS) {
			__u8 *h;

			if (i == RP_MAX_IPV6_EXT)
				return -1;
			h = cur_peek(c, 2);
			if (!h)
				return -1;
			nh = h[0];
			if (cur_skip(c, ((__u32)h[1] + 1) * 8))
				return -1;
		} else if (nh == IPPROTO_FRAGMENT) {
			struct rp_ip6frag *f;
			__u16 fo;

			if (i == RP_MAX_IPV6_EXT)
				return -1;
			f = cur_take(c, sizeof(*f));
			if (!f)
				return -1;
			nh = f->nexthdr;
			fo = bpf_ntohs(f->frag_off);
			pkt->frag_id = bpf_ntohl(f->id);
			if (fo >> 3) {
				pkt->frag = RP_FRAG_LATER;
				break;
			}
			if (fo & 1)
				pkt->frag = RP_FRAG_FIRST;
		} else {
			break;
		}
	}
	pkt->proto = nh;
	return 0;
}

/* ICMP of the packet's own family (ICMP in IPv4, ICMPv6 in IPv6). */
static __always_inline int icmp_of(int family, __u8 proto)
{
	return family == RP_AF_INET ? proto == IPPROTO_ICMP : proto == IPPROTO_ICMPV6;
}

/* An echo request or reply of that family: the messages a flow is kept
 * for, by identifier. */
static __always_inline int icmp_echo_type(int family, __u8 type)
{
	return family == RP_AF_INET ? type == 0 || type == 8 : type == 128 || type == 129;
}

/* ICMP error: the embedded IP header + 8 bytes, when all present. */
static __always_inline void parse_inner(struct rp_cur *c, struct rp_pkt *pkt)
{
	__u16 *ports;

	if (pkt->family == RP_AF_INET) {
		struct iphdr *ip = cur_peek(c, sizeof(*ip));

		if (!ip || ip->version != 4 || ip->ihl < 5)
			return;
		if (cur_skip(c, ip->ihl * 4))
			return;
		pkt->iproto = ip->protocol;
		pkt->isrc[0] = ip->saddr;
		pkt->idst[0] = ip->daddr;
	} else {
		struct ipv6hdr *ip6 = cur_take(c, sizeof(*ip6));

		if (!ip6 || ip6->version != 6)
			return;
		pkt->iproto = ip6->nexthdr;
		__builtin_memcpy(pkt->isrc, &ip6->saddr, 16);
		__builtin_memcpy(pkt->idst, &ip6->daddr, 16);
	}
	ports = cur_peek(c, 8);
	if (!ports)
		return;
	if (pkt->iproto == IPPROTO_TCP || pkt->iproto == IPPROTO_UDP) {
		pkt->isport = bpf_ntohs(ports[0]);
		pkt->idport = bpf_ntohs(ports[1]);
	} else if (icmp_of(pkt->family, pkt->iproto)) {
		/* only an echo has a flow to be about (its identifier as both
		 * ports, as flow_key() records it); an error quoting any other
		 * ICMP message matches no flow, or it would pass as the reply
		 * to an echo flow with identifier 0 */
		if (!icmp_echo_type(pkt->family, *(__u8 *)ports))
			return;
		pkt->isport = pkt->idport = bpf_ntohs(ports[2]);
	}
	pkt->has_inner = 1;
}

static __always_inline int parse_l4(struct rp_cur *c, struct rp_pkt *pkt)
{
	if (pkt->frag == RP_FRAG_LATER)
		return 0;
	if (pkt->proto == IPPROTO_TCP) {
		struct tcphdr *th = cur_take(c, sizeof(*th));

		if (!th || th->doff < 5)
			return -1;
		pkt->sport = bpf_ntohs(th->source);
		pkt->dport = bpf_ntohs(th->dest);
		pkt->tcp_flags = ((__u8 *)th)[13];
		pkt->l4 = 1;
	} else if (pkt->proto == IPPROTO_UDP) {
		struct udphdr *uh = cur_take(c, sizeof(*uh));

		if (!uh)
			return -1;
		pkt->sport = bpf_ntohs(uh->source);
		pkt->dport = bpf_ntohs(uh->dest);
		pkt->l4 = 1;
	} else if (icmp_of(pkt->family, pkt->proto)) {
		__u8 *ih = cur_take(c, 4);
		__u8 t;
		int err;

		if (!ih)
			return -1;
		t = pkt->icmp_type = ih[0];
		pkt->icmp_code = ih[1];
		pkt->l4 = 1;
		pkt->is_echo = icmp_echo_type(pkt->family, t);
		err = pkt->family == RP_AF_INET ? t == 3 || t == 11 || t == 12 : t >= 1 && t <= 4;
		if (pkt->is_echo || err) {
			__u16 *rest = cur_peek(c, 4);	/* id, seq | unused */

			if (!rest)
				return 0;
			if (pkt->is_echo)
				pkt->echo_id = bpf_ntohs(rest[0]);
			else if (!cur_skip(c, 4))
				parse_inner(c, pkt);
		}
	}
	return 0;
}

/* A whole IP packet at the cursor (family from the version nibble). */
static __always_inline int parse_ip(struct rp_cur *c, struct rp_pkt *pkt, int family)
{
	if (family == 0) {
		__u8 *v = cur_peek(c, 1);

		if (!v)
			return -1;
		family = (*v >> 4) == 4 ? RP_AF_INET : (*v >> 4) == 6 ? RP_AF_INET6 : -1;
	}
	if (family == RP_AF_INET) {
		if (parse_ipv4(c, pkt))
			return -1;
	} else if (family == RP_AF_INET6) {
		if (parse_ipv6(c, pkt))
			return -1;
	} else {
		return -1;
	}
	return parse_l4(c, pkt);
}

/* An Ethernet frame: 0, or -1 when malformed. */
static __always_inline int parse_frame(struct rp_cur *c, struct rp_pkt *pkt)
{
	__u16 proto;

	if (parse_eth(c, pkt, &proto))
		return -1;
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ip(c, pkt, RP_AF_INET);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ip(c, pkt, RP_AF_INET6);
	pkt->kind = proto == bpf_htons(ETH_P_ARP) ? RP_K_ARP : RP_K_OTHER_L2;
	return 0;
}
#endif /* REMPART_PARSE_H */
