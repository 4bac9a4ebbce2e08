/* pkt.h — a small packet builder for the BPF tests: Ethernet, VLAN tags,
 * IPv4 (options), IPv6 (extension headers), fragments, TCP/UDP/ICMP,
 * ICMP errors with an embedded packet, and truncation.  Header-only. */
#ifndef REMPART_TESTS_PKT_H
#define REMPART_TESTS_PKT_H
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#define PK_MAX 2048

struct ps {
	int nvlan;			/* tags before the ethertype */
	uint16_t tpid[4], vid[4];
	uint16_t ethertype;		/* 0: from fam */
	int fam;			/* 4 | 6 | 0 (non-IP: ethertype) */
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint8_t tcp_doff;		/* 0: 5 */
	uint8_t icmp_type, icmp_code;
	uint16_t echo_id;
	int ip_opts;			/* IPv4 option bytes, multiple of 4, <= 40 */
	uint8_t ext[10];		/* IPv6 extension headers in order (0, 43, 60, 44) */
	int n_ext;
	int ext_len;			/* extra 8-byte units in each non-fragment ext header */
	int frag;			/* 0 none, 1 first, 2 middle, 3 last */
	uint32_t frag_id;
	uint8_t ttl;			/* 0: 64 */
	uint8_t version;		/* 0: from fam (malformed tests) */
	uint8_t ihl;			/* 0: from ip_opts */
	int payload;			/* bytes after L4 */
	const struct ps *inner;		/* ICMP error: this packet (L3) as payload */
	int cut;			/* > 0: keep this many bytes, IP lengths adjusted */
	int cut_raw;			/* > 0: keep this many bytes, lengths untouched */
	int tot_len_delta;		/* added to the IPv4 total / IPv6 payload length */
	uint32_t mark;			/* not in the frame: the skb mark a TC program sees */
};

static inline void pk_put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static inline void pk_put32(uint8_t *p, uint32_t v) { pk_put16(p, v >> 16); pk_put16(p + 2, v); }

/* Build the L3 packet (no L2) into b; returns its length. */
static inline size_t pk_l3(const struct ps *s, uint8_t *b, int *l4off_out)
{
	size_t n = 0, ip = 0, l4;
	int later = s->frag == 2 || s->frag == 3;
	uint8_t last_nh_pos = 6;	/* where the next-header byte to patch lives */

	if (s->fam == 4) {
		int hl = 20 + s->ip_opts;

		memset(b, 0, hl);
		b[0] = ((s->version ? s->version : 4) << 4) | (s->ihl ? s->ihl : hl / 4);
		b[8] = s->ttl ? s->ttl : 64;
		b[9] = s->proto;
		pk_put16(b + 4, s->frag_id);
		if (s->frag == 1)
			pk_put16(b + 6, 0x2000);
		else if (s->frag == 2)
			pk_put16(b + 6, 0x2000 | 1);
		else if (s->frag == 3)
			pk_put16(b + 6, 2);
		inet_pton(AF_INET, s->src, b + 12);
		inet_pton(AF_INET, s->dst, b + 16);
		for (int i = 20; i < hl; i++)
			b[i] = 1;	/* NOP options */
		n = hl;
	} else {
		uint8_t *nhp;

		memset(b, 0, 40);
		b[0] = (s->version ? s->version : 6) << 4;
		b[7] = s->ttl ? s->ttl : 64;
		inet_pton(AF_INET6, s->src, b + 8);
		inet_pton(AF_INET6, s->dst, b + 24);
		n = 40;
		nhp = b + last_nh_pos;
		for (int i = 0; i < s->n_ext; i++) {
			*nhp = s->ext[i];
			if (s->ext[i] == 44) {
				memset(b + n, 0, 8);
				nhp = b + n;
				pk_put16(b + n + 2, (s->frag == 2 ? 1 << 3 : s->frag == 3 ? 2 << 3 : 0) |
						     (s->frag == 1 || s->frag == 2 ? 1 : 0));
				pk_put32(b + n + 4, s->frag_id);
				n += 8;
			} else {
				int len = 8 + 8 * s->ext_len;

				memset(b + n, 0, len);
				b[n + 1] = s->ext_len;
				if (s->ext[i] == 0 || s->ext[i] == 60) {
					b[n + 2] = 1;	/* PadN */
					b[n + 3] = len - 4;
				}
				nhp = b + n;
				n += len;
			}
		}
		*nhp = s->proto;
	}
	l4 = n;
	if (l4off_out)
		*l4off_out = l4;
	if (!later) {
		if (s->proto == IPPROTO_TCP) {
			memset(b + n, 0, 20);
			pk_put16(b + n, s->sport);
			pk_put16(b + n + 2, s->dport);
			b[n + 12] = (s->tcp_doff ? s->tcp_doff : 5) << 4;
			b[n + 13] = s->tcp_flags ? s->tcp_flags : 0x10;
			n += 20;
		} else if (s->proto == IPPROTO_UDP) {
			memset(b + n, 0, 8);
			pk_put16(b + n, s->sport);
			pk_put16(b + n + 2, s->dport);
			n += 8;
		} else if (s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6) {
			memset(b + n, 0, 8);
			b[n] = s->icmp_type;
			b[n + 1] = s->icmp_code;
			pk_put16(b + n + 4, s->echo_id);
			n += 8;
			if (s->inner)
				n += pk_l3(s->inner, b + n, NULL);
		}
	}
	memset(b + n, 0xab, s->payload);
	n += s->payload;
	if (s->fam == 4)
		pk_put16(b + 2, n + s->tot_len_delta);
	else
		pk_put16(b + 4, n - 40 + s->tot_len_delta);
	(void)ip;
	return n;
}

/* A whole frame (Ethernet + tags + L3); returns its length. */
static inline size_t pk_build(const struct ps *s, uint8_t *b)
{
	size_t n = 12, ip;
	uint16_t et = s->ethertype ? s->ethertype : s->fam == 4 ? 0x0800 : s->fam == 6 ? 0x86dd : 0x88cc;

	memset(b, 0, 12);
	b[0] = 0x02; b[5] = 0x01; b[6] = 0x02; b[11] = 0x02;
	for (int i = 0; i < s->nvlan; i++) {
		pk_put16(b + n, s->tpid[i] ? s->tpid[i] : 0x8100);
		pk_put16(b + n + 2, s->vid[i]);
		n += 4;
	}
	pk_put16(b + n, et);
	n += 2;
	ip = n;
	if (s->fam)
		n += pk_l3(s, b + n, NULL);
	else {
		memset(b + n, 0x11, 46);	/* ARP/LLDP body */
		n += 46;
	}
	if (s->cut > 0 && (size_t)s->cut < n) {
		n = s->cut;
		if (s->fam == 4 && n >= ip + 4)
			pk_put16(b + ip + 2, n - ip);
		else if (s->fam == 6 && n >= ip + 40)
			pk_put16(b + ip + 4, n - ip - 40);
	}
	if (s->cut_raw > 0 && (size_t)s->cut_raw < n)
		n = s->cut_raw;
	return n;
}
#endif
