/* frame.h — build test frames byte by byte: Ethernet, VLAN tags, IPv4
 * (with options), IPv6 and its extension headers, TCP, UDP, ICMP.  For the
 * parser and evaluator tests; header-only. */
#ifndef REMPART_TESTS_FRAME_H
#define REMPART_TESTS_FRAME_H
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

/* A frame under construction; IP length fields are patched by fin(). */
struct fb {
	uint8_t b[1024];
	size_t n;
	size_t ip;	/* offset of the outer IP header */
	int v6;
};

static inline void p8(struct fb *f, uint8_t v) { f->b[f->n++] = v; }
static inline void p16(struct fb *f, uint16_t v) { p8(f, v >> 8); p8(f, v & 0xff); }
static inline void p32(struct fb *f, uint32_t v) { p16(f, v >> 16); p16(f, v & 0xffff); }
static inline void pz(struct fb *f, size_t n) { memset(f->b + f->n, 0, n); f->n += n; }

static inline void paddr(struct fb *f, int family, const char *s)
{
	uint8_t a[16];

	inet_pton(family, s, a);
	memcpy(f->b + f->n, a, family == AF_INET ? 4 : 16);
	f->n += family == AF_INET ? 4 : 16;
}

/* Ethernet with tags (tpids[i], vids[i]) then et. */
static inline void eth(struct fb *f, int ntags, const uint16_t *tpids, const uint16_t *vids, uint16_t et)
{
	f->n = 0;
	pz(f, 12);
	for (int i = 0; i < ntags; i++) {
		p16(f, tpids[i]);
		p16(f, vids[i]);
	}
	p16(f, et);
}

static inline void eth0(struct fb *f, uint16_t et) { eth(f, 0, NULL, NULL, et); }

/* An IPv4 header with optwords 4-byte option words (NOPs). */
static inline void ip4(struct fb *f, uint8_t proto, int optwords, uint16_t frag, const char *src,
		const char *dst)
{
	f->ip = f->n;
	f->v6 = 0;
	p8(f, 0x40 | (5 + optwords));
	p8(f, 0);
	p16(f, 0);		/* total length: fin() */
	p16(f, 0x1234);		/* id */
	p16(f, frag);
	p8(f, 64);
	p8(f, proto);
	p16(f, 0);
	paddr(f, AF_INET, src);
	paddr(f, AF_INET, dst);
	for (int i = 0; i < optwords * 4; i++)
		p8(f, 1);
}

static inline void ip6(struct fb *f, uint8_t nh, uint8_t hop, const char *src, const char *dst)
{
	f->ip = f->n;
	f->v6 = 1;
	p32(f, 0x60000000);
	p16(f, 0);		/* payload length: fin() */
	p8(f, nh);
	p8(f, hop);
	paddr(f, AF_INET6, src);
	paddr(f, AF_INET6, dst);
}

/* A generic IPv6 extension header of (len8 + 1) * 8 bytes. */
static inline void ext6(struct fb *f, uint8_t nh, uint8_t len8)
{
	p8(f, nh);
	p8(f, len8);
	pz(f, (size_t)(len8 + 1) * 8 - 2);
}

static inline void frag6(struct fb *f, uint8_t nh, uint16_t offset, int more, uint32_t id)
{
	p8(f, nh);
	p8(f, 0);
	p16(f, (uint16_t)(offset << 3 | (more ? 1 : 0)));
	p32(f, id);
}

static inline void tcp(struct fb *f, uint16_t sport, uint16_t dport, uint8_t flags, uint8_t doff)
{
	p16(f, sport);
	p16(f, dport);
	p32(f, 1);
	p32(f, 0);
	p8(f, doff << 4);
	p8(f, flags);
	p16(f, 1024);
	p32(f, 0);
}

static inline void udp(struct fb *f, uint16_t sport, uint16_t dport)
{
	p16(f, sport);
	p16(f, dport);
	p16(f, 8);
	p16(f, 0);
}

static inline void icmp(struct fb *f, uint8_t type, uint8_t code)
{
	p8(f, type);
	p8(f, code);
	p16(f, 0);
	p32(f, 0x00070001);	/* echo id 7, seq 1, or unused */
}

/* Patch the outer IP length to the current end. */
static inline void fin(struct fb *f)
{
	size_t len = f->n - f->ip - (f->v6 ? 40 : 0);

	f->b[f->ip + (f->v6 ? 4 : 2)] = len >> 8;
	f->b[f->ip + (f->v6 ? 5 : 3)] = len & 0xff;
}

#endif
