/* build.c — write a generated packet as a frame, and say what the oracle
 * must expect of it: malformed (truncated or inconsistent headers: the
 * programs must drop it), dropped by the kernel before routing (bad IPv4
 * checksum, a source route the kernel refuses), ports readable.
 *
 * The oracle's definition of "malformed" (docs/testing.md): a frame cut
 * inside a header it announces (802.1Q tags, the IP header with its
 * options, an IPv6 extension header) or before the end of what the policy
 * reads of the upper-layer header (TCP and UDP ports, ICMP type and code,
 * ), or whose IP length fields disagree
 * with the frame (longer than the frame, or ending inside those headers),
 * an IPv4 ihl below 5, a version nibble that is not the ethertype's.  An
 * IPv4 option with a bad length is not "malformed" here (ihl still bounds
 * the header, so the addresses and ports are judged as they are): the
 * kernel drops it before routing. */
#include <arpa/inet.h>
#include <string.h>
#include "oracle.h"

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v;
}

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

static uint32_t sum16(const uint8_t *b, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += b[i] << 8 | b[i + 1];
	if (n & 1)
		s += b[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s;
}

static bool is_bcast4(const struct world *w, const uint8_t *a)
{
	if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255)
		return true;
	for (int i = 0; i < w->n_ifs; i++)
		for (int k = 0; k < w->ifs[i].n_addr; k++) {
			const struct rp_prefix *p = &w->ifs[i].addr[k];
			uint32_t m, x, y;

			if (p->family != AF_INET || p->len >= 31)
				continue;
			m = p->len ? ~0u << (32 - p->len) : 0;
			memcpy(&x, p->addr, 4);
			memcpy(&y, a, 4);
			if ((ntohl(y) & m) == (ntohl(x) & m) && (ntohl(y) | m) == ~0u)
				return true;
		}
	return false;
}

/* What the policy needs of the upper-layer header: the ports (TCP, UDP),
 * type and code (ICMP).  Shorter is malformed: it cannot be judged.  (An
 * echo without its identifier can still be judged, but not as a reply:
 * o_view.ids says whether the identifier is inside the packet.) */
static unsigned l4_min(int family, const struct o_pkt *p)
{
	switch (p->proto) {
	case 6:
	case 17:
		return 4;
	case 1:
		return family == 4 ? 4 : 0;
	case 58:
		return family == 6 ? 4 : 0;
	default:
		return 0;
	}
}

/* An inner (quoted) packet: its IP header and 8 bytes of L4. */
static size_t put_inner(const struct o_inner *in, uint8_t *b)
{
	size_t o = 0, l3 = 0;

	if (in->family == 4) {
		memset(b, 0, 20);
		b[0] = 0x45;
		put16(b + 2, 20 + 8 + 16);
		b[8] = 63;
		b[9] = in->proto;
		memcpy(b + 12, in->src, 4);
		memcpy(b + 16, in->dst, 4);
		put16(b + 10, fold(sum16(b, 20, 0)));
		o = 20;
	} else {
		memset(b, 0, 40);
		b[0] = 0x60;
		put16(b + 4, 8 + 16);
		b[6] = in->proto;
		b[7] = 63;
		memcpy(b + 8, in->src, 16);
		memcpy(b + 24, in->dst, 16);
		o = 40;
	}
	l3 = o;
	memset(b + o, 0, 8);
	if (in->proto == 1 || in->proto == 58) {
		b[o] = in->icmp_type;
		put16(b + o + 4, in->sport);
		put16(b + o + 6, 1);
	} else {
		put16(b + o, in->sport);
		put16(b + o + 2, in->dport);
		if (in->proto == 17)
			put16(b + o + 4, 8 + 16);
	}
	(void)l3;
	return o + 8;
}

struct hdr {
	uint16_t start, end;
};

int build_frame(const struct world *w, struct o_pkt *p, uint8_t *buf, struct o_view *v)
{
	const struct o_iface *f = &w->ifs[p->ifi];
	struct hdr h[24];
	int nh = 0;
	size_t o, l3, l4 = 0, hdr_end, full;
	uint8_t *ip;

	memset(v, 0, sizeof(*v));
	/* Ethernet: to the interface's address, or the group/broadcast one */
	if (p->family == 6 && p->dst[0] == 0xff) {
		buf[0] = 0x33, buf[1] = 0x33;
		memcpy(buf + 2, p->dst + 12, 4);
	} else if (p->family == 4 && p->dst[0] >= 224 && p->dst[0] < 240) {
		buf[0] = 0x01, buf[1] = 0x00, buf[2] = 0x5e;
		buf[3] = p->dst[1] & 0x7f, buf[4] = p->dst[2], buf[5] = p->dst[3];
	} else if ((p->family == 4 && is_bcast4(w, p->dst)) || p->ethertype == 0x0806) {
		memset(buf, 0xff, 6);
	} else {
		memcpy(buf, f->mac, 6);
	}
	memcpy(buf + 6, "\x02\x00\x5e\x10\x00\x01", 6);
	o = 12;
	for (int i = 0; i < p->ntags && i < O_MAX_TAGS; i++) {
		put16(buf + o, p->tpid[i]);
		put16(buf + o + 2, p->vid[i] & 0x0fff);
		o += 4;
	}
	put16(buf + o, p->ethertype);
	o += 2;
	h[nh++] = (struct hdr){ 12, o };
	l3 = o;
	v->l3_off = l3;
	if (p->ethertype == 0x0806) {		/* an ARP request for the interface's address */
		static const uint8_t arp[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };

		memcpy(buf + o, arp, 8);
		memcpy(buf + o + 8, buf + 6, 6);
		memcpy(buf + o + 14, p->src, 4);
		memset(buf + o + 18, 0, 6);
		memcpy(buf + o + 24, p->dst, 4);
		o += 28;
		full = o;
		hdr_end = l3;	/* a short ARP is the kernel's business, not malformed here */
		goto damage;
	}
	if (p->family != 4 && p->family != 6) {	/* some other ethertype */
		memset(buf + o, 0x5a, 46);
		o += 46;
		full = o;
		hdr_end = l3;
		goto damage;
	}
	ip = buf + l3;
	if (p->family == 4) {
		unsigned ihl = 5 + (p->optlen + 3) / 4;
		uint16_t fo = 0;

		memset(ip, 0, ihl * 4);
		ip[0] = 0x40 | ihl;
		ip[1] = p->tos;
		if (p->frag == OF_FIRST)
			fo = 0x2000;
		else if (p->frag == OF_LATER)
			fo = (p->more ? 0x2000 : 0) | (p->frag_off & 0x1fff);
		else if (p->frag == OF_ATOMIC)
			fo = 0x4000;
		put16(ip + 4, p->frag_id);
		put16(ip + 6, fo);
		ip[8] = p->ttl;
		ip[9] = p->proto;
		memcpy(ip + 12, p->src, 4);
		memcpy(ip + 16, p->dst, 4);
		memcpy(ip + 20, p->opt, p->optlen);
		o += ihl * 4;
		h[nh++] = (struct hdr){ l3, o };
	} else {
		uint8_t next;

		memset(ip, 0, 40);
		ip[0] = 0x60 | (p->tos >> 4);
		ip[1] = p->tos << 4;
		ip[7] = p->ttl;
		memcpy(ip + 8, p->src, 16);
		memcpy(ip + 24, p->dst, 16);
		o += 40;
		h[nh++] = (struct hdr){ l3, o };
		next = p->n_ext ? p->ext[0] : p->proto;
		ip[6] = next;
		for (int i = 0; i < p->n_ext && i < O_MAX_EXT; i++) {
			uint8_t *e = buf + o, nx = i + 1 < p->n_ext ? p->ext[i + 1] : p->proto;
			size_t el = 8;

			memset(e, 0, 16);
			e[0] = nx;
			switch (p->ext[i]) {
			case 44:	/* fragment */
				if (p->frag == OF_FIRST)
					put16(e + 2, 1);
				else if (p->frag == OF_LATER)
					put16(e + 2, (p->frag_off & 0x1fff) << 3 | (p->more ? 1 : 0));
				put32(e + 4, p->frag_id);
				break;
			case 43:	/* routing, type 0, no segment left */
				e[1] = 0;
				break;
			case 51:	/* AH: 16 bytes (a multiple of 8 in IPv6), 4 of ICV */
				e[1] = 2;
				put32(e + 4, 0x100);
				el = 16;
				break;
			default:	/* hop-by-hop, destination options: PadN */
				e[2] = 1, e[3] = 4;
				break;
			}
			o += el;
			h[nh++] = (struct hdr){ o - el, o };
		}
	}
	/* upper layer */
	if (p->frag != OF_LATER) {
		uint8_t *u = buf + o;

		l4 = o;
		switch (p->proto) {
		case 6:
			memset(u, 0, 20);
			put16(u, p->sport);
			put16(u + 2, p->dport);
			put32(u + 4, 0x1000 + p->sport);
			u[12] = 5 << 4;
			u[13] = p->tcp_flags;
			put16(u + 14, 65535);
			o += 20;
			break;
		case 17:
			memset(u, 0, 8);
			put16(u, p->sport);
			put16(u + 2, p->dport);
			o += 8;
			break;
		case 1:
		case 58:
			memset(u, 0, 8);
			u[0] = p->icmp_type;
			u[1] = p->icmp_code;
			put16(u + 4, p->echo_id);
			put16(u + 6, 1);
			o += 8;
			if (p->has_inner)
				o += put_inner(&p->inner, buf + o);
			break;
		}
		hdr_end = l4 + l4_min(p->family, p);
		if (hdr_end > l4)
			h[nh++] = (struct hdr){ l4, hdr_end };
	} else {
		hdr_end = o;
	}
	for (unsigned i = 0; i < p->payload && o < O_MAX_FRAME - 64; i++)
		buf[o++] = 0xa5 ^ i;
	full = o;
	/* lengths and checksums */
	if (p->family == 4) {
		put16(ip + 2, full - l3);
		put16(ip + 10, fold(sum16(ip, (ip[0] & 15) * 4, 0)));
		if (l4 && p->proto == 1)
			put16(buf + l4 + 2, fold(sum16(buf + l4, full - l4, 0)));
	} else {
		put16(ip + 4, full - l3 - 40);
		if (l4 && p->proto == 58) {
			uint32_t s = sum16(ip + 8, 32, 0) + (full - l4) + 58;

			put16(buf + l4 + 2, fold(sum16(buf + l4, full - l4, s)));
		}
	}
damage:
	v->len = full;
	v->l4 = (p->family == 4 || p->family == 6) && p->frag != OF_LATER;
	switch (p->damage) {
	case OD_TRUNC:
	case OD_TRUNC_FIXED:
		if (!p->trunc_at) {
			const struct hdr *x = &h[p->trunc_sel % nh];
			unsigned span = x->end - x->start;

			p->trunc_at = x->start + (span ? (p->trunc_sel / nh) % span : 0);
			if (p->trunc_at < 14)
				p->trunc_at = 14;
		}
		if (p->trunc_at >= full)
			break;
		v->len = p->trunc_at;
		v->malformed = p->trunc_at < hdr_end || p->damage == OD_TRUNC;
		if (p->damage == OD_TRUNC_FIXED && (p->family == 4 || p->family == 6)) {
			if (p->family == 4 && v->len >= l3 + 20) {
				put16(buf + l3 + 2, v->len - l3);
			} else if (p->family == 6 && v->len >= l3 + 40) {
				put16(buf + l3 + 4, v->len - l3 - 40);
			} else {
				v->malformed = true;
			}
		}
		break;
	case OD_BAD_IHL:
		if (p->family == 4) {
			buf[l3] = 0x40 | (p->trunc_sel % 5);
			v->malformed = true;
		}
		break;
	case OD_BAD_VERSION:
		if (p->family) {
			static const uint8_t other[] = { 0, 4, 5, 6, 7, 15 };
			uint8_t ver = other[p->trunc_sel % sizeof(other)];

			if (ver == p->family)
				ver = p->family == 4 ? 6 : 4;
			buf[l3] = ver << 4 | (buf[l3] & 15);
			v->malformed = true;
		}
		break;
	case OD_LEN_LONG:
		if (p->family == 4)
			put16(buf + l3 + 2, full - l3 + 1 + p->trunc_sel % 200);
		else if (p->family == 6)
			put16(buf + l3 + 4, full - l3 - 40 + 1 + p->trunc_sel % 200);
		v->malformed = p->family != 0;
		break;
	case OD_LEN_SHORT: {
		/* the length field ends inside the headers (IPv4: perhaps inside
		 * the IP header itself) */
		unsigned hl = hdr_end - l3, base = p->family == 4 ? 0 : 40;

		if (p->family && hl > base) {
			unsigned cut = 1 + p->trunc_sel % (hl - base);

			if (p->family == 4)
				put16(buf + l3 + 2, hl - cut);
			else
				put16(buf + l3 + 4, hl - 40 - cut);
			v->malformed = true;
		}
		break;
	}
	case OD_LEN_L4:
		if ((p->family == 4 || p->family == 6) && l4 && hdr_end > l4) {
			if (p->family == 4)
				put16(buf + l3 + 2, hdr_end - l3);
			else
				put16(buf + l3 + 4, hdr_end - l3 - 40);
		}
		break;
	case OD_BAD_OPT:	/* the kernel drops it; ihl still bounds the header */
		if (p->family == 4 && p->optlen >= 2) {
			buf[l3 + 20] = 7;
			buf[l3 + 21] = p->trunc_sel & 1 ? 1 : 0xfe;
		}
		break;
	case OD_BAD_CSUM:	/* below, with the checksum */
		break;
	}
	if (p->family == 4 && v->len >= l3 + 20) {
		unsigned hl = (buf[l3] & 15) * 4;
		uint16_t c;

		if (hl < 20 || v->len < l3 + hl)
			hl = 20;
		put16(buf + l3 + 10, 0);
		c = fold(sum16(buf + l3, hl, 0));
		put16(buf + l3 + 10, p->damage == OD_BAD_CSUM ? c ^ 1 : c);
	}
	/* the ethertype says one thing, the frame is cut before the tags end */
	if (v->len < l3)
		v->malformed = true;
	if (v->malformed)
		v->l4 = false;
	/* ports or echo identifier inside both the frame and the IP length */
	if (v->l4 && l4) {
		unsigned end = v->len, iplen;

		if (p->family == 4) {
			iplen = (buf[l3 + 2] << 8 | buf[l3 + 3]) + l3;
			if (iplen < end)
				end = iplen;
		} else {
			iplen = (buf[l3 + 4] << 8 | buf[l3 + 5]) + l3 + 40;
			if (iplen < end)
				end = iplen;
		}
		if (p->proto == 6 || p->proto == 17)
			v->ids = end >= l4 + 4;
		else if (p->proto == 1 || p->proto == 58)
			v->ids = end >= l4 + 6;
		else
			v->ids = true;	/* no ports */
	}
	v->kernel_drops = v->malformed || (p->family == 4 && (p->damage == OD_BAD_CSUM || p->damage == OD_BAD_OPT)) ||
			  (p->family == 4 && p->srr && !w->v4_source_route);
	return 0;
}
