/* packet.h — a packet as the policy sees it.  The reference parser that
 * turns raw bytes into one with exactly the BPF parser's rules (bpf/parse.h)
 * is a test library, tests/lib/packet_parse.h: the differential test feeds
 * both the same bytes. */
#ifndef REMPART_PACKET_H
#define REMPART_PACKET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/addr.h"
#include "rempart_abi.h"

enum rp_pkt_kind {
	RP_PKT_IP = 0,		/* IPv4 or IPv6, fields below valid */
	RP_PKT_ARP,		/* ARP (allowed where the link needs it) */
	RP_PKT_OTHER_L2,	/* another ethertype */
};

struct rp_packet {
	bool malformed;			/* packet_parse said RP_R_MALFORMED: judged so first */
	enum rp_pkt_kind kind;
	uint16_t vlan;			/* outer 802.1Q VID seen on a cloud trunk, 0: none
					 * (set as soon as the whole outer tag is present,
					 * also in a frame that turns out malformed) */
	struct rp_addr src, dst;	/* same family */
	uint8_t proto;			/* IPPROTO_TCP/UDP/ICMP/ICMPV6/other */
	uint16_t sport, dport;		/* TCP/UDP, host order; 0 otherwise */
	uint8_t icmp_type, icmp_code;	/* ICMP/ICMPv6 */
	uint8_t tcp_flags;
	uint8_t hop_limit;		/* IPv6 hop limit / IPv4 TTL */
	enum rp_frag frag;		/* RP_FRAG_* */
	uint32_t frag_id;		/* IPv4 id or IPv6 fragment id */
	bool l4_present;		/* ports/ICMP header parsed */
	/* ICMP errors: the embedded packet's header (for replies to flows). */
	bool has_inner;
	struct rp_addr inner_src, inner_dst;
	uint8_t inner_proto;
	uint16_t inner_sport, inner_dport;
	uint32_t len;			/* bytes on the wire (counters) */
};

/* A packet from its 5-tuple, as `explain` and tests describe one: TCP (SYN)
 * and UDP get the ports, ICMP (1 with IPv4, 58 with IPv6) is an echo
 * request, other protocols have no L4; a later fragment has no L4 either.
 * Hop limit 64, not malformed, no VLAN. */
void packet_from_tuple(struct rp_packet *p, const struct rp_addr *src, const struct rp_addr *dst,
		       uint8_t proto, uint16_t sport, uint16_t dport, enum rp_frag frag);
#endif
