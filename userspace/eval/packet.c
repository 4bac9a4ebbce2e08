// SPDX-License-Identifier: GPL-2.0
/* packet.c — a packet from its 5-tuple, as `explain` describes one
 * (packet.h).  The parser of raw bytes is a test library
 * (tests/lib/packet_parse.c). */
#include <netinet/in.h>
#include <string.h>
#include "eval/packet.h"

void packet_from_tuple(struct rp_packet *p, const struct rp_addr *src, const struct rp_addr *dst,
		       uint8_t proto, uint16_t sport, uint16_t dport, enum rp_frag frag)
{
	bool v6 = src->family == AF_INET6;

	memset(p, 0, sizeof(*p));
	p->kind = RP_PKT_IP;
	p->src = *src;
	p->dst = *dst;
	p->proto = proto;
	p->hop_limit = 64;
	p->frag = frag;
	p->len = (v6 ? 40 : 20) + 20;	/* an IP header and a TCP header */
	if (frag == RP_FRAG_LATER)
		return;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		p->sport = sport;
		p->dport = dport;
		p->tcp_flags = proto == IPPROTO_TCP ? 0x02 : 0;	/* SYN */
		p->l4_present = true;
	} else if (proto == (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP)) {
		p->icmp_type = v6 ? 128 : 8;	/* echo request */
		p->l4_present = true;
	}
}
