// SPDX-License-Identifier: GPL-2.0
/* test_audit_nft.c — the cuts of the audit's nftables model
 * (userspace/audit/audit_nft.c, nft_cuts) for one input interface.
 *
 * The walk of an ingress point cuts addresses, protocols and ports only
 * where the rules that may see its packets change their answer: a rule
 * whose iifname match refuses the interface, the input and output hooks,
 * another device's ingress chain add no cut.  The property checked: two
 * packets entering at one interface that fall in the same part of that
 * interface's cuts (same address segments, same protocol class, same port
 * segments) get the same answer from prerouting (drop, DNAT target, mark,
 * the rule that decided) and from every forward/postrouting decision.
 *
 * First a fixed ruleset shaped like rempart's own (listen ports matched
 * on the uplink only), then NFT_ROUNDS (default 200) random rulesets
 * (iifname ==/!=, sets and wildcards, tcp/udp/th ports, addresses,
 * l4proto; drop, accept, mark set, dnat, notrack, jump) with NFT_PACKETS
 * (default 400) random pairs per interface.  NFT_SEED replays a run. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include "audit/audit_nft.h"
#include "tap.h"
#include "xorshift.h"

static uint64_t rs;
static uint64_t rnd64(void) { return xorshift64(&rs); }
static unsigned rnd(unsigned n) { return n ? rnd64() % n : 0; }
static int chance(unsigned pct) { return rnd(100) < pct; }

/* ---- a growing JSON text ---- */

struct buf {
	char *s;
	size_t n, cap;
};

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (b->n + (size_t)len + 1 > b->cap) {
		b->cap = (b->n + (size_t)len + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->n, (size_t)len + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)len;
}

/* ---- the cuts of one interface, and the class of a packet under them ---- */

struct cuts {
	rp_u128 *a;			/* IPv4 address cuts, sorted */
	size_t na;
	struct rt_l4 l4;
};

static int cmp128(const void *x, const void *y)
{
	rp_u128 a = *(const rp_u128 *)x, b = *(const rp_u128 *)y;

	return a < b ? -1 : a > b;
}

static int cuts_of(const struct nft_model *n, const char *iif, struct cuts *c)
{
	size_t cap = 0;
	int err;

	memset(c, 0, sizeof(*c));
	rt_l4_set(c->l4.dcuts, 0);
	rt_l4_set(c->l4.scuts, 0);
	err = nft_cuts(n, AF_INET, iif, &c->a, &c->na, &cap, &c->l4);
	if (!err)
		qsort(c->a, c->na, sizeof(*c->a), cmp128);
	return err;
}

/* The segment (index of the last cut at or below x). */
static size_t addr_seg(const struct cuts *c, rp_u128 x)
{
	size_t k = 0;

	for (size_t i = 0; i < c->na; i++)
		if (c->a[i] <= x)
			k = i + 1;
	return k;
}

static uint32_t port_seg(const uint64_t *bits, uint16_t x)
{
	for (uint32_t p = x;; p--)
		if (rt_l4_has(bits, p))
			return p;
}

/* The walk's protocol classes: each protocol named, TCP, UDP, ICMP, ICMPv6
 * on their own, every other one as one. */
static unsigned proto_class(const struct cuts *c, uint8_t p)
{
	if (rt_l4_has(c->l4.protos, p) || p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_ICMP ||
	    p == IPPROTO_ICMPV6)
		return p;
	return 256;
}

static bool same_class(const struct cuts *c, const struct nft_pkt *x, const struct nft_pkt *y)
{
	bool ported = x->proto == IPPROTO_TCP || x->proto == IPPROTO_UDP;

	if (proto_class(c, x->proto) != proto_class(c, y->proto))
		return false;
	if (addr_seg(c, x->src) != addr_seg(c, y->src) || addr_seg(c, x->dst) != addr_seg(c, y->dst))
		return false;
	if (ported && (port_seg(c->l4.dcuts, x->dport) != port_seg(c->l4.dcuts, y->dport) ||
		       port_seg(c->l4.scuts, x->sport) != port_seg(c->l4.scuts, y->sport)))
		return false;
	return true;
}

/* ---- random rulesets ---- */

static const char *ifs[] = { "ia", "ib", "ic", "up" };
#define NIF (sizeof(ifs) / sizeof(ifs[0]))
static const uint16_t ports[] = { 22, 53, 80, 443, 5000, 5999, 51001, 51002, 51003, 60000 };
#define NPORTS (sizeof(ports) / sizeof(ports[0]))

static uint16_t rnd_port(void)
{
	return (uint16_t)(ports[rnd(NPORTS)] + rnd(3) - 1);
}

static rp_u128 v4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return (rp_u128)((a << 24) | (b << 16) | (c << 8) | d);
}

static rp_u128 rnd_addr(void)
{
	return v4(10, 0, rnd(4), rnd(256));
}

static void addr_text(rp_u128 x, char *s, size_t n)
{
	uint32_t a = (uint32_t)x;

	snprintf(s, n, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
}

static void match_iif(struct buf *b)
{
	const char *op = chance(25) ? "!=" : "==";

	if (chance(30)) {
		unsigned k = 1 + rnd(2), first = rnd(NIF);

		put(b, "{\"match\":{\"op\":\"%s\",\"left\":{\"meta\":{\"key\":\"iifname\"}},\"right\":{\"set\":[", op);
		for (unsigned i = 0; i < k; i++)
			put(b, "%s\"%s\"", i ? "," : "", ifs[(first + i) % NIF]);
		put(b, "]}}}");
	} else {
		put(b, "{\"match\":{\"op\":\"%s\",\"left\":{\"meta\":{\"key\":\"iifname\"}},\"right\":\"%s\"}}", op,
		    chance(15) ? "i*" : ifs[rnd(NIF)]);
	}
}

static void match_port(struct buf *b)
{
	static const char *protos[] = { "tcp", "udp", "th" };
	const char *pr = protos[rnd(3)], *fl = chance(70) ? "dport" : "sport";
	uint16_t p = rnd_port();

	put(b, "{\"match\":{\"op\":\"%s\",\"left\":{\"payload\":{\"protocol\":\"%s\",\"field\":\"%s\"}},\"right\":",
	    chance(15) ? "!=" : "==", pr, fl);
	if (chance(30)) {
		put(b, "{\"set\":[%u,%u,%u]}}}", p, rnd_port(), rnd_port());
	} else if (chance(30)) {
		put(b, "{\"range\":[%u,%u]}}}", p, p + rnd(200));
	} else {
		put(b, "%u}}", p);
	}
}

static void match_addr(struct buf *b)
{
	char s[32];
	rp_u128 a = rnd_addr();
	unsigned len = 24 + rnd(9);

	a &= ~(((rp_u128)1 << (32 - len)) - 1);
	addr_text(a, s, sizeof(s));
	put(b, "{\"match\":{\"op\":\"%s\",\"left\":{\"payload\":{\"protocol\":\"ip\",\"field\":\"%s\"}},"
	       "\"right\":{\"prefix\":{\"addr\":\"%s\",\"len\":%u}}}}",
	    chance(15) ? "!=" : "==", chance(70) ? "daddr" : "saddr", s, len);
}

static void match_l4(struct buf *b)
{
	static const char *p[] = { "tcp", "udp", "icmp", "47", "132" };
	unsigned k = rnd(5);

	if (k >= 3)
		put(b, "{\"match\":{\"op\":\"==\",\"left\":{\"meta\":{\"key\":\"l4proto\"}},\"right\":%s}}", p[k]);
	else
		put(b, "{\"match\":{\"op\":\"==\",\"left\":{\"meta\":{\"key\":\"l4proto\"}},\"right\":\"%s\"}}", p[k]);
}

static void rule(struct buf *b, const char *chain, bool nat, bool sub)
{
	unsigned nm = rnd(4);

	put(b, ",{\"rule\":{\"family\":\"inet\",\"table\":\"t\",\"chain\":\"%s\",\"expr\":[", chain);
	for (unsigned i = 0; i < nm; i++) {
		unsigned k = rnd(10);

		if (i)
			put(b, ",");
		if (k < 4)
			match_iif(b);
		else if (k < 7)
			match_port(b);
		else if (k < 9)
			match_addr(b);
		else
			match_l4(b);
	}
	if (nm)
		put(b, ",");
	if (nat && chance(60)) {
		char s[32];

		addr_text(rnd_addr(), s, sizeof(s));
		put(b, "{\"dnat\":{\"addr\":\"%s\",\"port\":%u}}", s, rnd_port());
	} else {
		switch (rnd(sub ? 5 : 6)) {
		case 0: put(b, "{\"drop\":null}"); break;
		case 1: put(b, "{\"accept\":null}"); break;
		case 2:
			put(b, "{\"mangle\":{\"key\":{\"meta\":{\"key\":\"mark\"}},\"value\":%u}}", 1 + rnd(5));
			break;
		case 3: put(b, "{\"notrack\":null}"); break;
		case 4: put(b, "{\"counter\":{\"packets\":0,\"bytes\":0}}"); break;
		default: put(b, "{\"jump\":{\"target\":\"sub\"}}"); break;
		}
	}
	put(b, "]}}");
}

static char *rnd_ruleset(void)
{
	static const struct { const char *name, *hook, *type; int prio; } ch[] = {
		{ "raw_pre", "prerouting", "filter", -300 }, { "mangle_pre", "prerouting", "filter", -150 },
		{ "dnat_pre", "prerouting", "nat", -100 }, { "fwd", "forward", "filter", 0 },
		{ "post", "postrouting", "filter", 100 }, { "out", "output", "filter", -300 },
		{ "in", "input", "filter", 0 },
	};
	struct buf b = { 0 };

	put(&b, "{\"nftables\":[{\"table\":{\"family\":\"inet\",\"name\":\"t\"}}");
	for (size_t i = 0; i < sizeof(ch) / sizeof(ch[0]); i++)
		put(&b, ",{\"chain\":{\"family\":\"inet\",\"table\":\"t\",\"name\":\"%s\",\"type\":\"%s\","
			"\"hook\":\"%s\",\"prio\":%d,\"policy\":\"%s\"}}",
		    ch[i].name, ch[i].type, ch[i].hook, ch[i].prio, chance(10) ? "drop" : "accept");
	put(&b, ",{\"chain\":{\"family\":\"inet\",\"table\":\"t\",\"name\":\"sub\"}}");
	for (size_t i = 0; i < sizeof(ch) / sizeof(ch[0]); i++) {
		unsigned nr = rnd(6);

		for (unsigned k = 0; k < nr; k++)
			rule(&b, ch[i].name, !strcmp(ch[i].type, "nat"), false);
	}
	for (unsigned k = rnd(4); k; k--)
		rule(&b, "sub", false, true);
	put(&b, "]}");
	return b.s;
}

/* ---- packets ---- */

static uint8_t rnd_proto(void)
{
	static const uint8_t p[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, 47, 132, 50, 17, 6 };

	return p[rnd(sizeof(p))];
}

static void rnd_pkt(struct nft_pkt *p, const char *iif)
{
	memset(p, 0, sizeof(*p));
	p->iif = iif;
	p->family = AF_INET;
	p->src = rnd_addr();
	p->dst = rnd_addr();
	p->proto = rnd_proto();
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		p->sport = chance(50) ? rnd_port() : (uint16_t)(1024 + rnd(64000));
		p->dport = chance(70) ? rnd_port() : (uint16_t)(1 + rnd(65535));
	}
	p->mark = chance(20) ? 1 + rnd(3) : 0;
}

/* Another packet of p's class: each field moved by a little, kept when
 * that leaves the class. */
static bool neighbour(const struct cuts *c, const struct nft_pkt *p, struct nft_pkt *q)
{
	for (int tries = 0; tries < 64; tries++) {
		*q = *p;
		switch (rnd(4)) {
		case 0: q->dst = rnd(2) ? p->dst + 1 + rnd(8) : p->dst - 1 - rnd(8); break;
		case 1: q->src = rnd(2) ? p->src + 1 + rnd(8) : p->src - 1 - rnd(8); break;
		case 2: q->proto = rnd_proto(); break;
		default:
			if (rnd(2))
				q->dport = (uint16_t)(p->dport + rnd(5) - 2);
			else
				q->sport = (uint16_t)(p->sport + rnd(5) - 2);
			break;
		}
		if (q->proto != p->proto && (q->proto == IPPROTO_TCP || q->proto == IPPROTO_UDP ||
					     p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP))
			continue;	/* ported and unported are apart */
		if (same_class(c, p, q) && memcmp(q, p, sizeof(*q)))
			return true;
	}
	return false;
}

static bool same_out(const struct nft_out *x, const struct nft_out *y)
{
	return x->drop == y->drop && x->dnat == y->dnat && (!x->dnat || x->dst == y->dst) &&
	       x->has_dport == y->has_dport && (!x->has_dport || x->dport == y->dport) &&
	       x->mark_set == y->mark_set && (!x->mark_set || x->mark == y->mark) && !strcmp(x->why, y->why);
}

/* Every pair: 0, or 1 after printing the first pair told apart.  n2 is
 * the same ruleset asked about another interface before each packet: the
 * answers the model keeps for the interface last asked about must not
 * leak into the next one's. */
static int check_ruleset(const struct nft_model *n, const struct nft_model *n2, unsigned npkts, const char *text)
{
	for (size_t i = 0; i < NIF; i++) {
		struct cuts c;

		if (cuts_of(n, ifs[i], &c))
			return 1;
		for (unsigned k = 0; k < npkts; k++) {
			struct nft_pkt p, q;
			struct nft_out po, qo;
			const char *oif = ifs[rnd(NIF)];
			char a[32], b[32];

			rnd_pkt(&p, ifs[i]);
			{
				struct nft_pkt o;
				struct nft_out oo;

				rnd_pkt(&o, ifs[rnd(NIF)]);
				nft_prerouting(n2, &o, &oo);
				nft_forward_drops(n2, &o, oif);
				nft_prerouting(n2, &p, &oo);
				nft_prerouting(n, &p, &po);
				if (!same_out(&po, &oo) || nft_forward_drops(n, &p, oif) != nft_forward_drops(n2, &p, oif)) {
					printf("# iif %s: the answer depends on the interface asked about before (%s)\n# %s\n",
					       ifs[i], o.iif, text);
					free(c.a);
					return 1;
				}
			}
			if (!neighbour(&c, &p, &q))
				continue;
			nft_prerouting(n, &p, &po);
			nft_prerouting(n, &q, &qo);
			if (same_out(&po, &qo) && nft_forward_drops(n, &p, oif) == nft_forward_drops(n, &q, oif))
				continue;
			addr_text(p.dst, a, sizeof(a));
			addr_text(q.dst, b, sizeof(b));
			printf("# iif %s: proto %u/%u dport %u/%u sport %u/%u dst %s/%s told apart "
			       "(drop %d/%d mark %u/%u why '%s'/'%s')\n# %s\n",
			       ifs[i], p.proto, q.proto, p.dport, q.dport, p.sport, q.sport, a, b, po.drop, qo.drop,
			       po.mark, qo.mark, po.why, qo.why, text);
			free(c.a);
			return 1;
		}
		free(c.a);
	}
	return 0;
}

/* rempart's own shape: the listen ports matched on the uplink only, a
 * notrack on the tunnels, the output hook's source ports. */
static void fixed(void)
{
	static const char *json =
		"{\"nftables\":[{\"table\":{\"family\":\"inet\",\"name\":\"r\"}},"
		"{\"chain\":{\"family\":\"inet\",\"table\":\"r\",\"name\":\"raw_pre\",\"type\":\"filter\","
		"\"hook\":\"prerouting\",\"prio\":-300,\"policy\":\"accept\"}},"
		"{\"chain\":{\"family\":\"inet\",\"table\":\"r\",\"name\":\"raw_out\",\"type\":\"filter\","
		"\"hook\":\"output\",\"prio\":-300,\"policy\":\"accept\"}},"
		"{\"rule\":{\"family\":\"inet\",\"table\":\"r\",\"chain\":\"raw_pre\",\"expr\":["
		"{\"match\":{\"op\":\"==\",\"left\":{\"meta\":{\"key\":\"iifname\"}},\"right\":\"up\"}},"
		"{\"match\":{\"op\":\"==\",\"left\":{\"payload\":{\"protocol\":\"udp\",\"field\":\"dport\"}},"
		"\"right\":{\"set\":[51001,51002,51003]}}},{\"notrack\":null},{\"accept\":null}]}},"
		"{\"rule\":{\"family\":\"inet\",\"table\":\"r\",\"chain\":\"raw_pre\",\"expr\":["
		"{\"match\":{\"op\":\"==\",\"left\":{\"meta\":{\"key\":\"iifname\"}},\"right\":{\"set\":[\"ia\",\"ib\"]}}},"
		"{\"match\":{\"op\":\"==\",\"left\":{\"payload\":{\"protocol\":\"tcp\",\"field\":\"dport\"}},"
		"\"right\":8080}},{\"drop\":null}]}},"
		"{\"rule\":{\"family\":\"inet\",\"table\":\"r\",\"chain\":\"raw_out\",\"expr\":["
		"{\"match\":{\"op\":\"==\",\"left\":{\"meta\":{\"key\":\"oifname\"}},\"right\":\"up\"}},"
		"{\"match\":{\"op\":\"==\",\"left\":{\"payload\":{\"protocol\":\"udp\",\"field\":\"sport\"}},"
		"\"right\":{\"set\":[51001,51002,51003]}}},{\"notrack\":null}]}}]}";
	struct nft_model *n = NULL;
	struct cuts up, ia, ic, all;
	char why[256] = "";
	int err = nft_build(&n, json, why, sizeof(why));

	tap_result(!err, "nft: rempart-shaped ruleset read (%s)", why);
	if (err)
		return;
	if (cuts_of(n, "up", &up) || cuts_of(n, "ia", &ia) || cuts_of(n, "ic", &ic) || cuts_of(n, NULL, &all)) {
		tap_result(0, "nft: cuts computed");
		nft_free(n);
		return;
	}
	tap_result(rt_l4_has(up.l4.dcuts, 51001) && rt_l4_has(up.l4.dcuts, 51004) &&
		   !rt_l4_has(up.l4.dcuts, 8080) && !rt_l4_has(up.l4.scuts, 51001),
		   "nft: the uplink is cut at the listen ports it matches, not at the tunnels' 8080 nor the "
		   "output hook's source ports");
	tap_result(rt_l4_has(ia.l4.dcuts, 8080) && rt_l4_has(ia.l4.dcuts, 8081) && !rt_l4_has(ia.l4.dcuts, 51001) &&
		   !rt_l4_has(ia.l4.scuts, 51001),
		   "nft: a tunnel is cut at the port its rule matches, not at the uplink's listen ports");
	tap_result(!rt_l4_has(ic.l4.dcuts, 8080) && !rt_l4_has(ic.l4.dcuts, 51001),
		   "nft: an interface no rule names is not cut at any port");
	tap_result(rt_l4_has(all.l4.dcuts, 8080) && rt_l4_has(all.l4.dcuts, 51001) && !rt_l4_has(all.l4.scuts, 51001),
		   "nft: without an interface, every rule's ports are cuts, but the output hook's (its rules "
		   "are not read: no forwarded packet passes input or output)");
	{
		struct nft_pkt p = { .iif = "ia", .family = AF_INET, .src = v4(10, 0, 0, 1), .dst = v4(10, 0, 1, 1),
				     .proto = IPPROTO_TCP, .sport = 40000, .dport = 8080 };
		struct nft_out o;
		bool ia_drop, ib_drop, ic_drop, up_drop;

		nft_prerouting(n, &p, &o);
		ia_drop = o.drop;
		p.iif = "up";
		nft_prerouting(n, &p, &o);
		up_drop = o.drop;
		p.iif = "ib";
		nft_prerouting(n, &p, &o);
		ib_drop = o.drop;
		p.iif = "ic";
		nft_prerouting(n, &p, &o);
		ic_drop = o.drop;
		tap_result(ia_drop && ib_drop && !ic_drop && !up_drop,
			   "nft: iifname { ia, ib } tcp dport 8080 drop: drops from ia and ib only, asked in turn");
	}
	free(up.a);
	free(ia.a);
	free(ic.a);
	free(all.a);
	nft_free(n);
}

int main(void)
{
	const char *e;
	unsigned rounds = (e = getenv("NFT_ROUNDS")) ? (unsigned)atoi(e) : 200;
	unsigned npkts = (e = getenv("NFT_PACKETS")) ? (unsigned)atoi(e) : 400;
	uint64_t seed = (e = getenv("NFT_SEED")) ? strtoull(e, NULL, 0) : (uint64_t)time(NULL);
	unsigned bad = 0, built = 0;

	printf("# NFT_SEED=%llu\n", (unsigned long long)seed);
	rs = seed * 2654435761u + 1;
	fixed();
	for (unsigned r = 0; r < rounds && bad < 3; r++) {
		char *text = rnd_ruleset(), why[256];
		struct nft_model *n = NULL, *n2 = NULL;

		if (nft_build(&n, text, why, sizeof(why)) || nft_build(&n2, text, why, sizeof(why))) {
			printf("# round %u: not read: %s\n", r, why);
			nft_free(n);
			free(text);
			continue;
		}
		built++;
		bad += (unsigned)check_ruleset(n, n2, npkts, text);
		nft_free(n);
		nft_free(n2);
		free(text);
	}
	tap_result(built > rounds / 2, "nft: %u of %u random rulesets read", built, rounds);
	tap_result(!bad, "nft: packets of one interface in one part of its cuts get one answer "
			 "(%u rulesets, %u pairs per interface)", built, npkts);
	tap_exit();
}
