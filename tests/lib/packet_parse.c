// SPDX-License-Identifier: GPL-2.0
/* packet_parse.c — the reference packet parser (docs/policy.md "Parsing"),
 * a test library: the differential test, the evaluator's tables and the
 * packet fuzzer link it; rempart itself never parses packets.
 *
 * Bytes in, struct rp_packet out, with exactly the rules the BPF parser
 * follows: every header is read only after checking that it lies inside the
 * frame (and, above the IP header, inside the IP packet as its length field
 * says).  One small reader per layer; each returns 0 or -1 (malformed).
 */
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <string.h>
#include "eval/packet.h"
#include "packet_parse.h"

#define IPV6_HDR_LEN 40
#define IPV6_FRAG_HDR_LEN 8
#define TCP_HDR_MIN 20
#define UDP_HDR_LEN 8
#define ICMP_HDR_MIN 4
#define ICMP_ERR_HDR 8		/* type, code, checksum, 4 unused/MTU bytes */
#define INNER_L4_BYTES 8	/* an ICMP error quotes the IP header + 8 bytes */

/* A view of the bytes [0, end) of one packet. */
struct buf {
	const uint8_t *b;
	size_t end;
};

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline bool has(const struct buf *f, size_t off, size_t n)
{
	return off <= f->end && f->end - off >= n;
}

static void set_addr(struct rp_addr *a, int family, const uint8_t *p)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->addr, p, family == AF_INET ? 4 : 16);
}

static bool is_icmp_error(int family, uint8_t type)
{
	if (family == AF_INET)
		return type == 3 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

/* The packet quoted by an ICMP error, at off: its IP header (IPv4 options
 * skipped by IHL, IPv6 without extension headers) and 8 bytes.  Missing
 * bytes or another family: no inner header, not an error. */
static void parse_inner(const struct buf *f, size_t off, int family, struct rp_packet *p)
{
	const uint8_t *ip = f->b + off;
	size_t hl;
	uint8_t proto;

	if (family == AF_INET) {
		if (!has(f, off, 20) || ip[0] >> 4 != 4 || (ip[0] & 0xf) < 5)
			return;
		hl = (size_t)(ip[0] & 0xf) * 4;
		proto = ip[9];
		if (!has(f, off, hl + INNER_L4_BYTES))
			return;
		set_addr(&p->inner_src, AF_INET, ip + 12);
		set_addr(&p->inner_dst, AF_INET, ip + 16);
	} else {
		hl = IPV6_HDR_LEN;
		if (!has(f, off, hl + INNER_L4_BYTES) || ip[0] >> 4 != 6)
			return;
		proto = ip[6];
		set_addr(&p->inner_src, AF_INET6, ip + 8);
		set_addr(&p->inner_dst, AF_INET6, ip + 24);
	}
	p->has_inner = true;
	p->inner_proto = proto;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		p->inner_sport = rd16(ip + hl);
		p->inner_dport = rd16(ip + hl + 2);
	}
}

/* The L4 header at off, inside the IP packet [.., f->end). */
static int parse_l4(const struct buf *f, size_t off, int family, struct rp_packet *p)
{
	const uint8_t *l4 = f->b + off;
	uint8_t icmp = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;

	if (p->proto == IPPROTO_TCP) {
		if (!has(f, off, TCP_HDR_MIN) || l4[12] >> 4 < 5)
			return -1;
		p->sport = rd16(l4);
		p->dport = rd16(l4 + 2);
		p->tcp_flags = l4[13];
	} else if (p->proto == IPPROTO_UDP) {
		if (!has(f, off, UDP_HDR_LEN))
			return -1;
		p->sport = rd16(l4);
		p->dport = rd16(l4 + 2);
	} else if (p->proto == icmp) {
		if (!has(f, off, ICMP_HDR_MIN))
			return -1;
		p->icmp_type = l4[0];
		p->icmp_code = l4[1];
		if (is_icmp_error(family, p->icmp_type))
			parse_inner(f, off + ICMP_ERR_HDR, family, p);
	} else {
		return 0;	/* a protocol without ports: nothing more to read */
	}
	p->l4_present = true;
	return 0;
}

static int parse_ipv4(const struct buf *frame, size_t off, struct rp_packet *p)
{
	const uint8_t *ip = frame->b + off;
	struct buf pkt;
	size_t hl, tot;
	uint16_t frag;

	if (!has(frame, off, 20) || ip[0] >> 4 != 4 || (ip[0] & 0xf) < 5)
		return -1;
	hl = (size_t)(ip[0] & 0xf) * 4;
	tot = rd16(ip + 2);
	if (!has(frame, off, hl) || tot < hl || !has(frame, off, tot))
		return -1;
	set_addr(&p->src, AF_INET, ip + 12);
	set_addr(&p->dst, AF_INET, ip + 16);
	p->proto = ip[9];
	p->hop_limit = ip[8];
	p->frag_id = rd16(ip + 4);
	frag = rd16(ip + 6);
	if (frag & 0x1fff) {
		p->frag = RP_FRAG_LATER;
		return 0;
	}
	if (frag & 0x2000)
		p->frag = RP_FRAG_FIRST;
	pkt.b = frame->b;
	pkt.end = off + tot;	/* Ethernet padding beyond total length is not the packet */
	return parse_l4(&pkt, off + hl, AF_INET, p);
}

static bool is_ipv6_ext(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_FRAGMENT;
}

static int parse_ipv6(const struct buf *frame, size_t off, struct rp_packet *p)
{
	const uint8_t *ip = frame->b + off;
	struct buf pkt;
	uint8_t nh;
	size_t cur;

	if (!has(frame, off, IPV6_HDR_LEN) || ip[0] >> 4 != 6)
		return -1;
	if (!has(frame, off + IPV6_HDR_LEN, rd16(ip + 4)))
		return -1;
	set_addr(&p->src, AF_INET6, ip + 8);
	set_addr(&p->dst, AF_INET6, ip + 24);
	p->hop_limit = ip[7];
	pkt.b = frame->b;
	pkt.end = off + IPV6_HDR_LEN + rd16(ip + 4);
	nh = ip[6];
	cur = off + IPV6_HDR_LEN;
	for (int n = 0; is_ipv6_ext(nh); n++) {
		const uint8_t *h = pkt.b + cur;
		size_t hlen;

		if (n == RP_MAX_IPV6_EXT || !has(&pkt, cur, 8))
			return -1;
		if (nh == IPPROTO_FRAGMENT) {
			uint16_t fo = rd16(h + 2);

			hlen = IPV6_FRAG_HDR_LEN;
			p->frag_id = rd32(h + 4);
			if (fo >> 3) {
				p->frag = RP_FRAG_LATER;
				p->proto = h[0];
				return 0;
			}
			if (fo & 1)
				p->frag = RP_FRAG_FIRST;
		} else {
			hlen = ((size_t)h[1] + 1) * 8;
			if (!has(&pkt, cur, hlen))
				return -1;
		}
		nh = h[0];
		cur += hlen;
	}
	p->proto = nh;
	return parse_l4(&pkt, cur, AF_INET6, p);
}

static bool is_vlan_tpid(uint16_t et)
{
	return et == ETH_P_8021Q || et == ETH_P_8021AD;
}

int packet_parse(const void *data, size_t len, bool l2, struct rp_packet *p)
{
	struct buf frame = { .b = data, .end = len };
	size_t off = 0;
	uint16_t et;
	int ret;

	memset(p, 0, sizeof(*p));
	p->len = len;
	if (l2) {
		if (!has(&frame, 0, ETH_HLEN))
			goto malformed;
		et = rd16(frame.b + 12);
		off = ETH_HLEN;
		for (int tags = 0; is_vlan_tpid(et); tags++) {
			if (tags == RP_MAX_VLAN_TAGS || !has(&frame, off, 4))
				goto malformed;
			if (tags == 0)
				p->vlan = rd16(frame.b + off) & 0x0fff;
			et = rd16(frame.b + off + 2);
			off += 4;
		}
		if (et == ETH_P_ARP) {
			p->kind = RP_PKT_ARP;
			return 0;
		}
		if (et != ETH_P_IP && et != ETH_P_IPV6) {
			p->kind = RP_PKT_OTHER_L2;
			return 0;
		}
	} else {
		if (!has(&frame, 0, 1))
			goto malformed;
		if (frame.b[0] >> 4 == 4)
			et = ETH_P_IP;
		else if (frame.b[0] >> 4 == 6)
			et = ETH_P_IPV6;
		else
			goto malformed;
	}
	p->kind = RP_PKT_IP;
	ret = et == ETH_P_IP ? parse_ipv4(&frame, off, p) : parse_ipv6(&frame, off, p);
	if (!ret)
		return 0;
malformed:
	p->malformed = true;
	return RP_R_MALFORMED;
}
