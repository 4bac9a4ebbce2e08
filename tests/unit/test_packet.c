// SPDX-License-Identifier: GPL-2.0
/* test_packet.c — the reference parser (tests/lib/packet_parse.c) on hand-built
 * frames: every header, every bound of docs/policy.md "Parsing". */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <string.h>
#include "eval/packet.h"
#include "frame.h"
#include "packet_parse.h"
#include "tap.h"

static int parse(const struct fb *f, struct rp_packet *p)
{
	return packet_parse(f->b, f->n, true, p);
}

static bool addr_is(const struct rp_addr *a, const char *s)
{
	struct rp_addr b;

	return !addr_parse(s, &b) && a->family == b.family &&
	       !memcmp(a->addr, b.addr, a->family == AF_INET ? 4 : 16);
}

static void test_ipv4_tcp(void)
{
	struct rp_packet p;
	struct fb f;
	int ret;

	eth0(&f, ETH_P_IP);
	ip4(&f, IPPROTO_TCP, 0, 0, "10.1.2.3", "10.20.0.5");
	tcp(&f, 40000, 443, 0x02, 5);
	fin(&f);
	ret = parse(&f, &p);
	tap_result(ret == 0 && !p.malformed && p.kind == RP_PKT_IP && addr_is(&p.src, "10.1.2.3") &&
		   addr_is(&p.dst, "10.20.0.5") && p.proto == IPPROTO_TCP && p.sport == 40000 &&
		   p.dport == 443 && p.tcp_flags == 0x02 && p.hop_limit == 64 && p.l4_present &&
		   p.frag == RP_FRAG_NONE && p.vlan == 0 && p.len == f.n,
		   "packet: IPv4 TCP fields");

	/* Every truncation of the frame: the IP length no longer fits. */
	int bad = 0;
	for (size_t n = 0; n < f.n; n++)
		if (packet_parse(f.b, n, true, &p) != RP_R_MALFORMED || !p.malformed)
			bad++;
	tap_result(bad == 0, "packet: IPv4 TCP truncated at each of %zu lengths is malformed", f.n);

	/* The same packet without Ethernet, at the tunnel hook. */
	ret = packet_parse(f.b + ETH_HLEN, f.n - ETH_HLEN, false, &p);
	tap_result(ret == 0 && p.dport == 443 && addr_is(&p.src, "10.1.2.3"), "packet: bare IPv4 (l2=false)");
	bad = 0;
	for (size_t n = 0; n < f.n - ETH_HLEN; n++)
		if (packet_parse(f.b + ETH_HLEN, n, false, &p) != RP_R_MALFORMED)
			bad++;
	tap_result(bad == 0, "packet: bare IPv4 truncated at every length is malformed");
}

/* The IP length says the L4 header is cut at each boundary inside it. */
static void test_l4_bounds(void)
{
	struct { uint8_t proto; size_t need; const char *name; } l4[] = {
		{ IPPROTO_TCP, 20, "TCP" }, { IPPROTO_UDP, 8, "UDP" }, { IPPROTO_ICMP, 4, "ICMP" },
	};
	struct rp_packet p;
	struct fb f;

	for (size_t i = 0; i < 3; i++) {
		int bad = 0;

		for (size_t cut = 0; cut <= 20; cut++) {
			int want = cut < l4[i].need ? RP_R_MALFORMED : 0;

			eth0(&f, ETH_P_IP);
			ip4(&f, l4[i].proto, 0, 0, "10.1.2.3", "10.20.0.5");
			tcp(&f, 1, 2, 0, 5);	/* 20 bytes of something */
			f.n -= 20 - cut;
			fin(&f);
			pz(&f, 30);		/* Ethernet padding is not the packet */
			if (parse(&f, &p) != want)
				bad++;
		}
		tap_result(bad == 0, "packet: IPv4 %s needs %zu bytes inside the total length",
			   l4[i].name, l4[i].need);
	}

	eth0(&f, ETH_P_IP);
	ip4(&f, IPPROTO_UDP, 0, 0, "10.1.2.3", "10.20.0.5");
	udp(&f, 53, 53);
	fin(&f);
	pz(&f, 18);
	tap_result(parse(&f, &p) == 0 && p.dport == 53 && p.len == f.n,
		   "packet: Ethernet padding after the IPv4 packet is accepted");

	eth0(&f, ETH_P_IP);
	ip4(&f, IPPROTO_TCP, 0, 0, "10.1.2.3", "10.20.0.5");
	tcp(&f, 1, 2, 0, 4);
	fin(&f);
	tap_result(parse(&f, &p) == RP_R_MALFORMED, "packet: TCP data offset 4 is malformed");
	eth0(&f, ETH_P_IP);
	ip4(&f, IPPROTO_TCP, 0, 0, "10.1.2.3", "10.20.0.5");
	tcp(&f, 1, 2, 0, 15);
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.l4_present,
		   "packet: TCP data offset 15 without its options present is accepted");

	eth0(&f, ETH_P_IP);
	ip4(&f, 47, 0, 0, "10.1.2.3", "10.20.0.5");	/* GRE: no ports */
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.proto == 47 && !p.l4_present && !p.dport,
		   "packet: IPv4 protocol without ports, empty payload");
}

static void test_ipv4_header(void)
{
	struct rp_packet p;
	struct fb f;
	int bad = 0;

	for (int words = 1; words <= 10; words++) {
		eth0(&f, ETH_P_IP);
		ip4(&f, IPPROTO_UDP, words, 0, "10.1.2.3", "10.20.0.5");
		udp(&f, 1234, 4321);
		fin(&f);
		if (parse(&f, &p) || p.sport != 1234 || p.dport != 4321)
			bad++;
	}
	tap_result(bad == 0, "packet: IPv4 options (IHL 6..15) skipped by IHL");

	eth0(&f, ETH_P_IP);
	ip4(&f, IPPROTO_UDP, 0, 0, "10.1.2.3", "10.20.0.5");
	udp(&f, 1, 2);
	fin(&f);
	f.b[ETH_HLEN] = 0x44;
	tap_result(parse(&f, &p) == RP_R_MALFORMED, "packet: IPv4 IHL 4 is malformed");
	f.b[ETH_HLEN] = 0x55;
	tap_result(parse(&f, &p) == RP_R_MALFORMED, "packet: IP version 5 in an IPv4 ethertype is malformed");
	f.b[ETH_HLEN] = 0x47;	/* IHL 28 bytes, total length 28: UDP missing */
	tap_result(parse(&f, &p) == RP_R_MALFORMED, "packet: IPv4 options eat the UDP header: malformed");
	f.b[ETH_HLEN] = 0x4f;	/* IHL 60 > total length 28 */
	tap_result(parse(&f, &p) == RP_R_MALFORMED, "packet: IPv4 IHL beyond the total length is malformed");
	f.b[ETH_HLEN] = 0x45;
	f.b[ETH_HLEN + 2] = 0;
	f.b[ETH_HLEN + 3] = 19;
	tap_result(parse(&f, &p) == RP_R_MALFORMED, "packet: IPv4 total length 19 is malformed");
	f.b[ETH_HLEN + 3] = 29;
	tap_result(parse(&f, &p) == RP_R_MALFORMED, "packet: IPv4 total length beyond the frame is malformed");
}

static void test_ipv4_fragments(void)
{
	struct rp_packet p;
	struct fb f;

	eth0(&f, ETH_P_IP);
	ip4(&f, IPPROTO_TCP, 0, 0x2000, "10.1.2.3", "10.20.0.5");
	tcp(&f, 40000, 22, 0x02, 5);
	pz(&f, 8);
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.frag == RP_FRAG_FIRST && p.l4_present && p.dport == 22 &&
		   p.frag_id == 0x1234, "packet: IPv4 first fragment (MF, offset 0) keeps its ports");

	eth0(&f, ETH_P_IP);
	ip4(&f, IPPROTO_TCP, 0, 0x2000, "10.1.2.3", "10.20.0.5");
	pz(&f, 8);
	fin(&f);
	tap_result(parse(&f, &p) == RP_R_MALFORMED, "packet: IPv4 first fragment too short for TCP is malformed");

	eth0(&f, ETH_P_IP);
	ip4(&f, IPPROTO_TCP, 0, 0x2000 | 3, "10.1.2.3", "10.20.0.5");
	pz(&f, 1);
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.frag == RP_FRAG_LATER && !p.l4_present && !p.dport &&
		   p.proto == IPPROTO_TCP, "packet: IPv4 middle fragment: later, no L4");

	eth0(&f, ETH_P_IP);
	ip4(&f, IPPROTO_UDP, 0, 185, "10.1.2.3", "10.20.0.5");
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.frag == RP_FRAG_LATER && !p.l4_present,
		   "packet: IPv4 last fragment with no payload: later");

	eth0(&f, ETH_P_IP);
	ip4(&f, IPPROTO_UDP, 0, 0x4000, "10.1.2.3", "10.20.0.5");	/* DF */
	udp(&f, 1, 2);
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.frag == RP_FRAG_NONE, "packet: IPv4 DF is not a fragment");
}

static void test_ipv6(void)
{
	struct rp_packet p;
	struct fb f;
	int bad;

	eth0(&f, ETH_P_IPV6);
	ip6(&f, IPPROTO_UDP, 64, "fd00:1::2", "fd00:20::53");
	udp(&f, 5353, 53);
	fin(&f);
	tap_result(parse(&f, &p) == 0 && addr_is(&p.src, "fd00:1::2") && addr_is(&p.dst, "fd00:20::53") &&
		   p.proto == IPPROTO_UDP && p.dport == 53 && p.hop_limit == 64,
		   "packet: IPv6 UDP fields");
	bad = 0;
	for (size_t n = 0; n < f.n; n++)
		if (packet_parse(f.b, n, true, &p) != RP_R_MALFORMED)
			bad++;
	tap_result(bad == 0, "packet: IPv6 UDP truncated at every length is malformed");

	/* hop-by-hop, routing (24 bytes), destination options, fragment (first), TCP */
	eth0(&f, ETH_P_IPV6);
	ip6(&f, IPPROTO_HOPOPTS, 64, "fd00:1::2", "fd00:20::5");
	ext6(&f, IPPROTO_ROUTING, 0);
	ext6(&f, IPPROTO_DSTOPTS, 2);
	ext6(&f, IPPROTO_FRAGMENT, 0);
	frag6(&f, IPPROTO_TCP, 0, 1, 0xabcdef01);
	tcp(&f, 40000, 443, 0x12, 5);
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.proto == IPPROTO_TCP && p.dport == 443 &&
		   p.frag == RP_FRAG_FIRST && p.frag_id == 0xabcdef01 && p.tcp_flags == 0x12,
		   "packet: IPv6 hop-by-hop, routing, destination, fragment headers walked");
	/* cut inside each header of that chain (payload length consistent) */
	size_t bounds[] = { 40, 48, 72, 80, 88 };
	bad = 0;
	for (size_t i = 0; i < 5; i++) {
		for (size_t extra = 0; extra < 8; extra += 3) {
			struct fb g = f;

			g.n = ETH_HLEN + bounds[i] + extra;
			if (i == 4 && extra == 0)
				g.n = ETH_HLEN + 88 + 19;
			fin(&g);
			if (parse(&g, &p) != RP_R_MALFORMED)
				bad++;
		}
	}
	tap_result(bad == 0, "packet: IPv6 chain cut inside each extension header is malformed");

	for (int n = 5; n <= 7; n++) {
		eth0(&f, ETH_P_IPV6);
		ip6(&f, IPPROTO_DSTOPTS, 64, "fd00:1::2", "fd00:20::5");
		for (int i = 0; i < n; i++)
			ext6(&f, i == n - 1 ? IPPROTO_UDP : IPPROTO_DSTOPTS, 0);
		udp(&f, 1, 53);
		fin(&f);
		int want = n <= RP_MAX_IPV6_EXT ? 0 : RP_R_MALFORMED;
		tap_result(parse(&f, &p) == want && (want || p.dport == 53),
			   "packet: IPv6 chain of %d extension headers is %s", n, want ? "malformed" : "walked");
	}

	eth0(&f, ETH_P_IPV6);
	ip6(&f, IPPROTO_FRAGMENT, 64, "fd00:1::2", "fd00:20::5");
	frag6(&f, IPPROTO_UDP, 100, 1, 77);
	pz(&f, 3);
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.frag == RP_FRAG_LATER && p.proto == IPPROTO_UDP &&
		   !p.l4_present && p.frag_id == 77, "packet: IPv6 later fragment: no L4, proto from the fragment header");

	eth0(&f, ETH_P_IPV6);
	ip6(&f, IPPROTO_FRAGMENT, 64, "fd00:1::2", "fd00:20::5");
	frag6(&f, IPPROTO_UDP, 0, 0, 77);
	udp(&f, 1, 53);
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.frag == RP_FRAG_NONE && p.dport == 53,
		   "packet: IPv6 atomic fragment (offset 0, no M) is not a fragment");

	eth0(&f, ETH_P_IPV6);
	ip6(&f, IPPROTO_FRAGMENT, 64, "fd00:1::2", "fd00:20::5");
	frag6(&f, IPPROTO_TCP, 0, 1, 77);
	pz(&f, 12);
	fin(&f);
	tap_result(parse(&f, &p) == RP_R_MALFORMED, "packet: IPv6 first fragment too short for TCP is malformed");

	eth0(&f, ETH_P_IPV6);
	ip6(&f, IPPROTO_HOPOPTS, 64, "fd00:1::2", "fd00:20::5");
	ext6(&f, 50, 0);	/* ESP */
	pz(&f, 16);
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.proto == 50 && !p.l4_present && !p.dport,
		   "packet: IPv6 ESP ends the chain, no ports");

	eth0(&f, ETH_P_IPV6);
	ip6(&f, 59, 64, "fd00:1::2", "fd00:20::5");
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.proto == 59 && !p.l4_present, "packet: IPv6 no next header");

	eth0(&f, ETH_P_IPV6);
	ip6(&f, IPPROTO_UDP, 64, "fd00:1::2", "fd00:20::5");
	udp(&f, 1, 2);
	fin(&f);
	f.b[ETH_HLEN + 5] += 1;		/* payload length one beyond the frame */
	tap_result(parse(&f, &p) == RP_R_MALFORMED, "packet: IPv6 payload length beyond the frame is malformed");
	f.b[ETH_HLEN + 5] -= 1;
	f.b[ETH_HLEN] = 0x40;
	tap_result(parse(&f, &p) == RP_R_MALFORMED, "packet: version 4 in an IPv6 ethertype is malformed");

	eth0(&f, ETH_P_IPV6);
	ip6(&f, IPPROTO_UDP, 64, "fd00:1::2", "fd00:20::5");
	udp(&f, 1, 2);
	fin(&f);
	pz(&f, 10);
	f.b[ETH_HLEN + 5] = 4;		/* payload length 4: UDP cut */
	tap_result(parse(&f, &p) == RP_R_MALFORMED,
		   "packet: IPv6 UDP beyond the payload length is malformed (padding ignored)");
}

static void test_vlan(void)
{
	uint16_t q[3] = { ETH_P_8021Q, ETH_P_8021Q, ETH_P_8021Q };
	uint16_t ad[2] = { ETH_P_8021AD, ETH_P_8021Q };
	uint16_t vids[3] = { 0x2000 | 110, 120, 130 };	/* PCP bits ignored */
	struct rp_packet p;
	struct fb f;

	eth(&f, 1, q, vids, ETH_P_IP);
	ip4(&f, IPPROTO_UDP, 0, 0, "10.1.2.3", "10.20.0.5");
	udp(&f, 1, 2);
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.vlan == 110 && p.dport == 2, "packet: 802.1Q tag: VID 110");

	uint16_t vids2[2] = { 200, 110 };
	eth(&f, 2, ad, vids2, ETH_P_IPV6);
	ip6(&f, IPPROTO_UDP, 64, "fd00:1::2", "fd00:20::5");
	udp(&f, 1, 2);
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.vlan == 200 && p.dport == 2, "packet: QinQ: the outer VID (200)");

	eth(&f, 2, q, vids, ETH_P_ARP);
	pz(&f, 28);
	tap_result(parse(&f, &p) == 0 && p.kind == RP_PKT_ARP && p.vlan == 110, "packet: ARP under two 802.1Q tags");

	eth(&f, 3, q, vids, ETH_P_IP);
	ip4(&f, IPPROTO_UDP, 0, 0, "10.1.2.3", "10.20.0.5");
	udp(&f, 1, 2);
	fin(&f);
	tap_result(parse(&f, &p) == RP_R_MALFORMED && p.vlan == 110,
		   "packet: a third VLAN tag is malformed (outer VID still known)");

	eth(&f, 1, q, vids, ETH_P_IP);
	tap_result(packet_parse(f.b, 16, true, &p) == RP_R_MALFORMED && p.vlan == 0,
		   "packet: a cut VLAN tag is malformed, VID unknown");
	tap_result(packet_parse(f.b, 18, true, &p) == RP_R_MALFORMED && p.vlan == 110,
		   "packet: a whole tag then nothing: malformed, VID known");
}

static void test_l2(void)
{
	struct rp_packet p;
	struct fb f;

	eth0(&f, ETH_P_ARP);
	pz(&f, 28);
	tap_result(parse(&f, &p) == 0 && p.kind == RP_PKT_ARP, "packet: ARP");
	eth0(&f, 0x88cc);
	pz(&f, 40);
	tap_result(parse(&f, &p) == 0 && p.kind == RP_PKT_OTHER_L2, "packet: LLDP is another ethertype");
	tap_result(packet_parse(f.b, 13, true, &p) == RP_R_MALFORMED, "packet: 13-byte frame is malformed");
	tap_result(packet_parse(f.b, 0, false, &p) == RP_R_MALFORMED, "packet: empty L3 packet is malformed");
	f.b[0] = 0x50;
	tap_result(packet_parse(f.b, 40, false, &p) == RP_R_MALFORMED, "packet: L3 version 5 is malformed");
}

static void test_icmp(void)
{
	struct rp_packet p;
	struct fb f;

	eth0(&f, ETH_P_IP);
	ip4(&f, IPPROTO_ICMP, 0, 0, "10.1.2.3", "10.20.0.5");
	icmp(&f, 8, 0);
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.icmp_type == 8 && p.l4_present && !p.has_inner && !p.dport,
		   "packet: ICMP echo request");

	/* destination unreachable quoting an IPv4 header with options + UDP */
	eth0(&f, ETH_P_IP);
	ip4(&f, IPPROTO_ICMP, 0, 0, "192.0.2.1", "198.51.100.10");
	icmp(&f, 3, 4);
	size_t inner = f.n;
	p8(&f, 0x46); p8(&f, 0); p16(&f, 1400); p32(&f, 0); p8(&f, 64); p8(&f, IPPROTO_UDP); p16(&f, 0);
	paddr(&f, AF_INET, "198.51.100.10"); paddr(&f, AF_INET, "203.0.113.5"); p32(&f, 0x01010101);
	udp(&f, 51820, 4500);
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.has_inner && p.inner_proto == IPPROTO_UDP &&
		   p.inner_sport == 51820 && p.inner_dport == 4500 && addr_is(&p.inner_src, "198.51.100.10") &&
		   addr_is(&p.inner_dst, "203.0.113.5"), "packet: ICMP error with inner IPv4 (options) + UDP");
	f.n -= 1;
	fin(&f);
	tap_result(parse(&f, &p) == 0 && !p.has_inner, "packet: ICMP error with 7 inner L4 bytes: no inner, not malformed");
	f.n = inner + 10;
	fin(&f);
	tap_result(parse(&f, &p) == 0 && !p.has_inner && p.icmp_type == 3, "packet: ICMP error cut in the inner IP header: no inner");

	eth0(&f, ETH_P_IP);
	ip4(&f, IPPROTO_ICMP, 0, 0, "10.1.2.3", "10.20.0.5");
	p8(&f, 8); p8(&f, 0); p8(&f, 0);
	fin(&f);
	tap_result(parse(&f, &p) == RP_R_MALFORMED, "packet: 3-byte ICMP header is malformed");

	eth0(&f, ETH_P_IPV6);
	ip6(&f, IPPROTO_ICMPV6, 64, "2001:db8::1", "2001:db8:1::2");
	icmp(&f, 1, 4);
	ip6(&f, IPPROTO_TCP, 60, "2001:db8:1::2", "2001:db8:9::9");
	f.ip = ETH_HLEN;
	f.v6 = 1;
	tcp(&f, 443, 50000, 0x10, 5);
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.icmp_type == 1 && p.has_inner && p.inner_proto == IPPROTO_TCP &&
		   p.inner_sport == 443 && p.inner_dport == 50000 && addr_is(&p.inner_dst, "2001:db8:9::9"),
		   "packet: ICMPv6 error with inner IPv6 + TCP");

	eth0(&f, ETH_P_IPV6);
	ip6(&f, IPPROTO_ICMPV6, 255, "fe80::1", "ff02::1");
	icmp(&f, 135, 0);
	pz(&f, 16);
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.icmp_type == 135 && p.hop_limit == 255 && !p.has_inner,
		   "packet: ICMPv6 neighbour solicitation");

	eth0(&f, ETH_P_IPV6);
	ip6(&f, IPPROTO_ICMP, 64, "fd00:1::2", "fd00:20::5");	/* ICMPv4 number in IPv6 */
	fin(&f);
	tap_result(parse(&f, &p) == 0 && p.proto == IPPROTO_ICMP && !p.l4_present,
		   "packet: protocol 1 in IPv6 has no L4 header to parse");
}

int main(void)
{
	test_ipv4_tcp();
	test_l4_bounds();
	test_ipv4_header();
	test_ipv4_fragments();
	test_ipv6();
	test_vlan();
	test_l2();
	test_icmp();
	tap_exit();
}
