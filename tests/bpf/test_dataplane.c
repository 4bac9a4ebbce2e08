// SPDX-License-Identifier: GPL-2.0
/* test_dataplane.c — the BPF programs, case by case, through
 * BPF_PROG_TEST_RUN: a frame, the hook and interface it arrives on, the
 * expected verdict and the (tenant, reason) counter that must move by one.
 * Cases run in order with flow and fragment state on, so a case may rely
 * on the state an earlier one created (replies, later fragments).
 * Config: tests/bpf/fixture_cfg.h. */
#include "eval/reason.h"
#include "fixture_cfg.h"
#include "dataplane/dataplane_flows.h"
#include "tap.h"

#define UI RP_HOOK_UPLINK_IN, "dpup"
#define UO RP_HOOK_UPLINK_OUT, "dpup"
#define CL RP_HOOK_CLOUD_IN, "dpcloud"
#define TK RP_HOOK_CLOUD_IN, "dptrunk"
#define T1 RP_HOOK_TUNNEL_IN, "dptun1"
#define T2 RP_HOOK_TUNNEL_IN, "dptun2"
#define T3 RP_HOOK_TUNNEL_IN, "dptun3"
#define T4 RP_HOOK_TUNNEL_IN, "dptun4"

#define V4(S, D) .fam = 4, .src = S, .dst = D
#define V6(S, D) .fam = 6, .src = S, .dst = D
#define TCP(sp, dp) .proto = 6, .sport = sp, .dport = dp
#define UDP(sp, dp) .proto = 17, .sport = sp, .dport = dp
#define ICMP4(t) .proto = 1, .icmp_type = t
#define ICMP6(t) .proto = 58, .icmp_type = t
#define VLAN1(v) .nvlan = 1, .vid = { v }
#define QINQ(o, i) .nvlan = 2, .tpid = { 0x88a8, 0x8100 }, .vid = { o, i }

#define A 1
#define D 0
#define R(x) RP_R_##x

struct tcase {
	const char *name;
	int hook;
	const char *ifname;
	struct ps s;
	int allow;
	int reason;
	unsigned tenant;
};

/* Embedded packets of ICMP errors. */
static const struct ps in_gw_flow = { V4("198.51.100.2", "93.184.216.34"), TCP(40000, 443) };
static const struct ps in_unknown = { V4("198.51.100.2", "93.184.216.35"), TCP(40000, 443) };
/* the gateway's echo (identifier 0) and what an ICMP error may quote of it */
static const struct ps in_gw_echo = { V4("198.51.100.2", "93.184.216.40"), ICMP4(8), .echo_id = 0 };
static const struct ps in_gw_echo_other = { V4("198.51.100.2", "93.184.216.40"), ICMP4(8), .echo_id = 7 };
static const struct ps in_gw_tstamp = { V4("198.51.100.2", "93.184.216.40"), ICMP4(13) };
static const struct ps in_gw_unreach = { V4("198.51.100.2", "93.184.216.40"), ICMP4(3), .icmp_code = 3 };
static const struct ps in_gw_echo6 = { V6("2001:db8::2", "2001:db8:7::40"), ICMP6(128), .echo_id = 0 };
static const struct ps in_gw_nis6 = { V6("2001:db8::2", "2001:db8:7::40"), ICMP6(139) };
static const struct ps in_gw_echo_in6 = { V6("2001:db8::2", "2001:db8:7::40"), ICMP6(8) };
/* flows of alpha's site 10.120.1.5 that the cases below open, as ICMP errors
 * sent back to it quote them (SPEC §4.4: errors about allowed flows) */
static const struct ps in_t1_https = { V4("10.120.1.5", "10.20.1.10"), TCP(6000, 443) };
static const struct ps in_t1_https_other = { V4("10.120.1.5", "10.20.1.10"), TCP(6001, 443) };
static const struct ps in_t1_https_twin = { V4("10.120.1.6", "10.20.1.10"), TCP(6000, 443) };
static const struct ps in_t1_dns = { V4("10.120.1.5", "10.21.0.53"), UDP(7000, 53) };
/* a consumer's connection to gamma's share, NATed to gamma's cloud_address */
static const struct ps in_nat_share = { V4("10.30.0.1", "10.30.5.5"), TCP(61500, 80) };
static const struct ps in_nat_low = { V4("10.30.0.1", "10.30.5.5"), TCP(60999, 80) };
static const struct ps in_nat_other = { V4("10.30.0.2", "10.30.5.5"), TCP(61500, 80) };
static const struct ps in_nat_alpha = { V4("10.20.0.1", "10.20.1.10"), UDP(61500, 53) };
static const struct ps in_t1_v6 = { V6("fd10:120:1::5", "fd00:20::10"), TCP(5555, 80) };

/* Ethernet 14, IPv4 20, IPv6 40, TCP 20, UDP 8 */
static const struct tcase cases[] = {
	/* ---- uplink_in: what the link needs ---- */
	{ "up: ARP", UI, { .ethertype = 0x0806 }, A, R(ALLOWED), 0 },
	{ "up: LLDP is not wireguard", UI, { .ethertype = 0x88cc }, D, R(NOT_WIREGUARD), 0 },
	{ "up: ICMPv6 NS hop 255", UI, { V6("fe80::1", "ff02::1:ff00:1"), ICMP6(135), .ttl = 255 }, A, R(ALLOWED), 0 },
	{ "up: ICMPv6 RA hop 255", UI, { V6("fe80::1", "ff02::1"), ICMP6(134), .ttl = 255 }, A, R(ALLOWED), 0 },
	{ "up: ICMPv6 NS hop 64", UI, { V6("fe80::1", "ff02::1:ff00:1"), ICMP6(135), .ttl = 64 }, D, R(NOT_WIREGUARD), 0 },
	{ "up: ICMPv6 type 138 hop 255", UI, { V6("fe80::1", "ff02::1"), ICMP6(138), .ttl = 255 }, D, R(NOT_WIREGUARD), 0 },
	{ "up: DHCP reply", UI, { V4("192.168.1.1", "255.255.255.255"), UDP(67, 68) }, A, R(ALLOWED), 0 },
	{ "up: DHCPv6 reply", UI, { V6("fe80::1", "fe80::2"), UDP(547, 546) }, A, R(ALLOWED), 0 },
	{ "up: DHCP ports over IPv6", UI, { V6("fe80::1", "fe80::2"), UDP(67, 68) }, D, R(NOT_WIREGUARD), 0 },
	{ "up: DHCP request direction", UI, { V4("192.168.1.1", "255.255.255.255"), UDP(68, 67) }, D, R(NOT_WIREGUARD), 0 },
	/* ---- uplink_in: the gateway's exceptions only when addressed to it ---- */
	{ "up: DHCP reply to the uplink address", UI, { V4("192.168.1.1", "198.51.100.2"), UDP(67, 68) }, A, R(ALLOWED), 0 },
	{ "up: DHCP reply to a cloud host", UI, { V4("192.168.1.1", "10.20.1.10"), UDP(67, 68) }, D, R(NOT_WIREGUARD), 0 },
	{ "up: DHCP reply to a site", UI, { V4("192.168.1.1", "10.120.1.5"), UDP(67, 68) }, D, R(NOT_WIREGUARD), 0 },
	{ "up: DHCP reply to another gateway address", UI, { V4("192.168.1.1", "192.0.2.77"), UDP(67, 68) }, D, R(NOT_WIREGUARD), 0 },
	{ "up: DHCPv6 to the uplink's global address", UI, { V6("fe80::1", "2001:db8::2"), UDP(547, 546) }, A, R(ALLOWED), 0 },
	{ "up: DHCPv6 to a cloud host", UI, { V6("fe80::1", "fd00:20::10"), UDP(547, 546) }, D, R(NOT_WIREGUARD), 0 },
	{ "up: DHCPv6 to link-local multicast", UI, { V6("fe80::1", "ff02::1"), UDP(547, 546) }, D, R(NOT_WIREGUARD), 0 },
	{ "up: NS hop 255 to the uplink's address", UI, { V6("fe80::1", "2001:db8::2"), ICMP6(135), .ttl = 255 }, A, R(ALLOWED), 0 },
	{ "up: NS hop 255 to a link-local address", UI, { V6("fe80::1", "fe80::2"), ICMP6(135), .ttl = 255 }, A, R(ALLOWED), 0 },
	{ "up: NS hop 255 to a cloud host", UI, { V6("fe80::1", "fd00:20::10"), ICMP6(135), .ttl = 255 }, D, R(NOT_WIREGUARD), 0 },
	{ "up: redirect hop 255 to a site", UI, { V6("fe80::1", "fd10:120:1::5"), ICMP6(137), .ttl = 255 }, D, R(NOT_WIREGUARD), 0 },
	{ "up: RA hop 255 to site-local multicast", UI, { V6("fe80::1", "ff05::1"), ICMP6(134), .ttl = 255 }, D, R(NOT_WIREGUARD), 0 },
	{ "up: wg port addressed to a cloud host", UI, { V4("196.200.1.7", "10.20.1.10"), UDP(40000, 51810) }, D, R(NOT_WIREGUARD), 10 },
	{ "up: wg port addressed to a site, v6", UI, { V6("2001:db8:ad::5", "fd10:120:1::5"), UDP(40000, 51810) }, D, R(NOT_WIREGUARD), 10 },
	{ "up: management addressed to a cloud host", UI, { V4("192.0.2.5", "10.20.1.10"), TCP(50000, 22) }, D, R(NOT_WIREGUARD), 0 },
	{ "up: management to a tenant's gateway address", UI, { V4("192.0.2.5", "10.20.0.1"), TCP(50000, 22) }, D, R(NOT_WIREGUARD), 0 },
	{ "up: management to the uplink broadcast", UI, { V4("192.0.2.5", "198.51.100.255"), TCP(50000, 22) }, D, R(NOT_WIREGUARD), 0 },
	/* ---- uplink_in: WireGuard geo-fence (no country known: unknown = deny) ---- */
	{ "up: wg port, no country", UI, { V4("8.8.8.8", "198.51.100.2"), UDP(40000, 51810) }, D, R(GEO_SITE), 10 },
	{ "up: wg port, site allow_from", UI, { V4("196.200.1.7", "198.51.100.2"), UDP(40000, 51810) }, A, R(ALLOWED), 10 },
	{ "up: allow_from is per tenant", UI, { V4("196.200.1.7", "198.51.100.2"), UDP(40000, 51820) }, D, R(GEO_SITE), 20 },
	{ "up: other tenant's port", UI, { V4("8.8.4.4", "198.51.100.2"), UDP(1, 51830) }, D, R(GEO_SITE), 30 },
	{ "up: wg port over IPv6", UI, { V6("2001:4860::8888", "2001:db8::2"), UDP(40000, 51810) }, D, R(GEO_SITE), 10 },
	{ "up: tcp to wg port", UI, { V4("196.200.1.7", "198.51.100.2"), TCP(40000, 51810) }, D, R(NOT_WIREGUARD), 0 },
	{ "up: udp elsewhere", UI, { V4("196.200.1.7", "198.51.100.2"), UDP(40000, 9999) }, D, R(NOT_WIREGUARD), 0 },
	{ "up: wg port through IPv4 options", UI, { V4("196.200.1.7", "198.51.100.2"), UDP(1, 51810), .ip_opts = 40 }, A, R(ALLOWED), 10 },
	{ "up: wg port, one VLAN tag", UI, { VLAN1(7), V4("196.200.1.7", "198.51.100.2"), UDP(1, 51810) }, A, R(ALLOWED), 10 },
	{ "up: wg port, QinQ", UI, { QINQ(7, 8), V4("196.200.1.7", "198.51.100.2"), UDP(1, 51810) }, A, R(ALLOWED), 10 },
	{ "up: three tags", UI, { .nvlan = 3, .vid = { 1, 2, 3 }, V4("196.200.1.7", "198.51.100.2"), UDP(1, 51810) }, D, R(MALFORMED), 0 },
	/* ---- uplink_in: management ---- */
	{ "up: ssh from management", UI, { V4("192.0.2.5", "198.51.100.2"), TCP(50000, 22) }, A, R(MANAGEMENT), 0 },
	{ "up: ssh from management v6", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(50000, 22) }, A, R(MANAGEMENT), 0 },
	{ "up: ssh from elsewhere", UI, { V4("198.18.0.1", "198.51.100.2"), TCP(50000, 22) }, D, R(NOT_WIREGUARD), 0 },
	{ "up: other port from management", UI, { V4("192.0.2.5", "198.51.100.2"), TCP(50000, 23) }, D, R(NOT_WIREGUARD), 0 },
	{ "up: udp 22 from management", UI, { V4("192.0.2.5", "198.51.100.2"), UDP(50000, 22) }, D, R(NOT_WIREGUARD), 0 },
	{ "up: echo from internet", UI, { V4("8.8.8.8", "198.51.100.2"), ICMP4(8), .echo_id = 9 }, D, R(NOT_WIREGUARD), 0 },
	/* ---- replies to the gateway's own connections ---- */
	{ "up: unsolicited https", UI, { V4("93.184.216.34", "198.51.100.2"), TCP(443, 40000) }, D, R(NOT_WIREGUARD), 0 },
	{ "out: gateway connects", UO, { V4("198.51.100.2", "93.184.216.34"), TCP(40000, 443), .tcp_flags = 0x02 }, A, R(ALLOWED), 0 },
	{ "up: reply to the gateway", UI, { V4("93.184.216.34", "198.51.100.2"), TCP(443, 40000), .tcp_flags = 0x12 }, A, R(REPLY), 0 },
	{ "up: other port is no reply", UI, { V4("93.184.216.34", "198.51.100.2"), TCP(443, 40001) }, D, R(NOT_WIREGUARD), 0 },
	{ "up: ICMP error about the flow", UI, { V4("10.9.9.9", "198.51.100.2"), ICMP4(3), .icmp_code = 4, .inner = &in_gw_flow }, A, R(REPLY), 0 },
	{ "up: ICMP error about no flow", UI, { V4("10.9.9.9", "198.51.100.2"), ICMP4(3), .icmp_code = 4, .inner = &in_unknown }, D, R(NOT_WIREGUARD), 0 },
	{ "up: ICMP error without inner bytes", UI, { V4("10.9.9.9", "198.51.100.2"), ICMP4(3), .icmp_code = 4 }, D, R(NOT_WIREGUARD), 0 },
	/* an error is about the gateway's echo only if it quotes that echo:
	 * a quoted non-echo message has no identifier (it matched the echo
	 * flow with identifier 0) */
	{ "out: gateway pings (id 0)", UO, { V4("198.51.100.2", "93.184.216.40"), ICMP4(8), .echo_id = 0 }, A, R(ALLOWED), 0 },
	{ "up: ICMP error quoting that echo", UI, { V4("10.9.9.9", "198.51.100.2"), ICMP4(3), .icmp_code = 1, .inner = &in_gw_echo }, A, R(REPLY), 0 },
	{ "up: ICMP error quoting another echo id", UI, { V4("10.9.9.9", "198.51.100.2"), ICMP4(3), .icmp_code = 1, .inner = &in_gw_echo_other }, D, R(NOT_WIREGUARD), 0 },
	{ "up: ICMP error quoting a timestamp", UI, { V4("10.9.9.9", "198.51.100.2"), ICMP4(11), .inner = &in_gw_tstamp }, D, R(NOT_WIREGUARD), 0 },
	{ "up: ICMP error quoting an ICMP error", UI, { V4("10.9.9.9", "198.51.100.2"), ICMP4(3), .icmp_code = 1, .inner = &in_gw_unreach }, D, R(NOT_WIREGUARD), 0 },
	{ "out: gateway pings v6 (id 0)", UO, { V6("2001:db8::2", "2001:db8:7::40"), ICMP6(128), .echo_id = 0 }, A, R(ALLOWED), 0 },
	{ "up: ICMPv6 error quoting that echo", UI, { V6("2001:db8:7::1", "2001:db8::2"), ICMP6(1), .inner = &in_gw_echo6 }, A, R(REPLY), 0 },
	{ "up: ICMPv6 error quoting a node information query", UI, { V6("2001:db8:7::1", "2001:db8::2"), ICMP6(1), .inner = &in_gw_nis6 }, D, R(NOT_WIREGUARD), 0 },
	{ "up: ICMPv6 error quoting ICMPv4's echo type", UI, { V6("2001:db8:7::1", "2001:db8::2"), ICMP6(1), .inner = &in_gw_echo_in6 }, D, R(NOT_WIREGUARD), 0 },
	{ "out: gateway pings", UO, { V4("198.51.100.2", "9.9.9.9"), ICMP4(8), .echo_id = 77 }, A, R(ALLOWED), 0 },
	{ "up: echo reply", UI, { V4("9.9.9.9", "198.51.100.2"), ICMP4(0), .echo_id = 77 }, A, R(REPLY), 0 },
	{ "up: echo reply, other id", UI, { V4("9.9.9.9", "198.51.100.2"), ICMP4(0), .echo_id = 78 }, D, R(NOT_WIREGUARD), 0 },
	/* a non-echo ICMP message opens nothing (oracle finding-icmp-nonecho-reply) */
	{ "out: gateway's NS to a host", UO, { V6("2001:db8::2", "2001:db8:7::10"), ICMP6(135), .ttl = 255 }, A, R(ALLOWED), 0 },
	{ "up: that host's node information query", UI, { V6("2001:db8:7::10", "2001:db8::2"), ICMP6(139) }, D, R(NOT_WIREGUARD), 0 },
	{ "out: gateway's port unreachable", UO, { V4("198.51.100.2", "9.9.9.11"), ICMP4(3), .icmp_code = 3 }, A, R(ALLOWED), 0 },
	{ "up: a timestamp request from there", UI, { V4("9.9.9.11", "198.51.100.2"), ICMP4(13) }, D, R(NOT_WIREGUARD), 0 },
	{ "out: gateway DNS v6", UO, { V6("2001:db8::2", "2001:4860::8888"), UDP(5353, 53) }, A, R(ALLOWED), 0 },
	{ "up: DNS reply v6", UI, { V6("2001:4860::8888", "2001:db8::2"), UDP(53, 5353) }, A, R(REPLY), 0 },
	/* ---- NATed connections: recorded apart from the gateway's own (issue 13, item 7) ---- */
	{ "out: alpha's NATed connection (its mark)", UO, { V4("198.51.100.2", "93.184.216.40"), TCP(61001, 443), .tcp_flags = 0x02, .mark = 0x5250000a }, A, R(ALLOWED), 0 },
	{ "up: its reply, to the NAT port", UI, { V4("93.184.216.40", "198.51.100.2"), TCP(443, 61001), .tcp_flags = 0x12 }, A, R(REPLY), 0 },
	{ "out: a NATed connection that kept port 22", UO, { V4("198.51.100.2", "93.184.216.41"), TCP(22, 8022), .tcp_flags = 0x02, .mark = 0x5250000a }, A, R(ALLOWED), 0 },
	{ "up: the remote to the gateway's port 22 is no reply", UI, { V4("93.184.216.41", "198.51.100.2"), TCP(8022, 22), .tcp_flags = 0x02 }, D, R(NOT_WIREGUARD), 0 },
	{ "out: the gateway's own from port 22", UO, { V4("198.51.100.2", "93.184.216.42"), TCP(22, 8022), .tcp_flags = 0x12 }, A, R(ALLOWED), 0 },
	{ "up: and its reply", UI, { V4("93.184.216.42", "198.51.100.2"), TCP(8022, 22), .tcp_flags = 0x10 }, A, R(REPLY), 0 },
	{ "out: alpha's NATed ping", UO, { V4("198.51.100.2", "9.9.9.10"), ICMP4(8), .echo_id = 61002, .mark = 0x5250000a }, A, R(ALLOWED), 0 },
	{ "up: its echo reply", UI, { V4("9.9.9.10", "198.51.100.2"), ICMP4(0), .echo_id = 61002 }, A, R(REPLY), 0 },
	{ "up: an echo request is never a reply", UI, { V4("9.9.9.10", "198.51.100.2"), ICMP4(8), .echo_id = 61002 }, D, R(NOT_WIREGUARD), 0 },
	{ "up: a reply not addressed to the gateway", UI, { V4("93.184.216.40", "10.20.1.10"), TCP(443, 61001), .tcp_flags = 0x12 }, D, R(NOT_WIREGUARD), 0 },
	/* ---- uplink_in: fragments ---- */
	{ "up: middle fragment alone", UI, { V4("196.200.1.7", "198.51.100.2"), UDP(1, 51810), .frag = 2, .frag_id = 1, .payload = 16 }, D, R(FRAGMENT), 0 },
	{ "up: last fragment alone", UI, { V4("196.200.1.7", "198.51.100.2"), UDP(1, 51810), .frag = 3, .frag_id = 1, .payload = 16 }, D, R(FRAGMENT), 0 },
	{ "up: first fragment allowed", UI, { V4("196.200.1.7", "198.51.100.2"), UDP(1, 51810), .frag = 1, .frag_id = 2, .payload = 16 }, A, R(ALLOWED), 10 },
	{ "up: its middle fragment", UI, { V4("196.200.1.7", "198.51.100.2"), .proto = 17, .frag = 2, .frag_id = 2, .payload = 16 }, A, R(ALLOWED), 0 },
	{ "up: its last fragment", UI, { V4("196.200.1.7", "198.51.100.2"), .proto = 17, .frag = 3, .frag_id = 2, .payload = 16 }, A, R(ALLOWED), 0 },
	{ "up: other id is orphan", UI, { V4("196.200.1.7", "198.51.100.2"), .proto = 17, .frag = 3, .frag_id = 3, .payload = 16 }, D, R(FRAGMENT), 0 },
	{ "up: first fragment dropped", UI, { V4("8.8.8.8", "198.51.100.2"), UDP(1, 51810), .frag = 1, .frag_id = 4, .payload = 16 }, D, R(GEO_SITE), 10 },
	{ "up: ... so is its last", UI, { V4("8.8.8.8", "198.51.100.2"), .proto = 17, .frag = 3, .frag_id = 4, .payload = 16 }, D, R(FRAGMENT), 0 },
	{ "up: v6 first fragment allowed", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .n_ext = 1, .ext = { 44 }, .frag = 1, .frag_id = 5 }, A, R(MANAGEMENT), 0 },
	{ "up: v6 its last fragment", UI, { V6("2001:db8:ad::5", "2001:db8::2"), .proto = 6, .n_ext = 1, .ext = { 44 }, .frag = 3, .frag_id = 5, .payload = 8 }, A, R(MANAGEMENT), 0 },
	{ "up: v6 orphan fragment", UI, { V6("2001:db8:ad::5", "2001:db8::2"), .proto = 6, .n_ext = 1, .ext = { 44 }, .frag = 3, .frag_id = 6, .payload = 8 }, D, R(FRAGMENT), 0 },
	{ "up: first fragment without room for UDP", UI, { V4("196.200.1.7", "198.51.100.2"), UDP(1, 51810), .frag = 1, .frag_id = 7, .cut = 14 + 20 + 4 }, D, R(MALFORMED), 0 },
	{ "up: v6 first fragment without room for TCP", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .n_ext = 1, .ext = { 44 }, .frag = 1, .frag_id = 8, .cut = 14 + 48 + 10 }, D, R(MALFORMED), 0 },
	/* ---- uplink_in: IPv6 extension headers ---- */
	{ "up: v6 hop-by-hop", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .n_ext = 1, .ext = { 0 } }, A, R(MANAGEMENT), 0 },
	{ "up: v6 routing", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .n_ext = 1, .ext = { 43 } }, A, R(MANAGEMENT), 0 },
	{ "up: v6 destination options", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .n_ext = 1, .ext = { 60 } }, A, R(MANAGEMENT), 0 },
	{ "up: v6 long ext headers", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .n_ext = 2, .ext = { 0, 60 }, .ext_len = 30 }, A, R(MANAGEMENT), 0 },
	{ "up: v6 chain of 6", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .n_ext = 6, .ext = { 0, 43, 60, 43, 60, 60 } }, A, R(MANAGEMENT), 0 },
	{ "up: v6 chain of 7", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .n_ext = 7, .ext = { 0, 43, 60, 43, 60, 60, 60 } }, D, R(MALFORMED), 0 },
	{ "up: v6 chain of 5 + fragment", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .n_ext = 6, .ext = { 0, 43, 60, 43, 60, 44 }, .frag = 1, .frag_id = 9 }, A, R(MANAGEMENT), 0 },
	{ "up: v6 chain of 6 + fragment", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .n_ext = 7, .ext = { 0, 43, 60, 43, 60, 60, 44 }, .frag = 1, .frag_id = 10 }, D, R(MALFORMED), 0 },
	{ "up: v6 ESP ends the chain", UI, { V6("2001:db8:ad::5", "2001:db8::2"), .proto = 50, .n_ext = 1, .ext = { 0 }, .payload = 20 }, D, R(NOT_WIREGUARD), 0 },
	/* ---- truncated or malformed, at every header boundary ---- */
	{ "cut: ethernet + 1", UI, { V4("196.200.1.7", "198.51.100.2"), UDP(1, 51810), .cut_raw = 15 }, D, R(MALFORMED), 0 },
	{ "cut: VLAN tag", UI, { VLAN1(7), V4("196.200.1.7", "198.51.100.2"), UDP(1, 51810), .cut_raw = 16 }, D, R(MALFORMED), 0 },
	{ "cut: IPv4 header", UI, { V4("196.200.1.7", "198.51.100.2"), UDP(1, 51810), .cut_raw = 14 + 19 }, D, R(MALFORMED), 0 },
	{ "cut: IPv4 options", UI, { V4("196.200.1.7", "198.51.100.2"), UDP(1, 51810), .ip_opts = 12, .cut = 14 + 28 }, D, R(MALFORMED), 0 },
	{ "cut: IPv4 total length beyond the frame", UI, { V4("196.200.1.7", "198.51.100.2"), UDP(1, 51810), .cut_raw = 14 + 20 + 6 }, D, R(MALFORMED), 0 },
	{ "cut: UDP header", UI, { V4("196.200.1.7", "198.51.100.2"), UDP(1, 51810), .cut = 14 + 20 + 7 }, D, R(MALFORMED), 0 },
	{ "cut: TCP header", UI, { V4("192.0.2.5", "198.51.100.2"), TCP(1, 22), .cut = 14 + 20 + 19 }, D, R(MALFORMED), 0 },
	{ "cut: ICMP header", UI, { V4("8.8.8.8", "198.51.100.2"), ICMP4(8), .cut = 14 + 20 + 3 }, D, R(MALFORMED), 0 },
	{ "cut: IPv6 header", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .cut_raw = 14 + 39 }, D, R(MALFORMED), 0 },
	{ "cut: IPv6 ext header", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .n_ext = 1, .ext = { 0 }, .cut = 14 + 40 + 4 }, D, R(MALFORMED), 0 },
	{ "cut: IPv6 fragment header", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .n_ext = 1, .ext = { 44 }, .frag = 1, .cut = 14 + 40 + 6 }, D, R(MALFORMED), 0 },
	{ "cut: TCP over IPv6", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .cut = 14 + 40 + 12 }, D, R(MALFORMED), 0 },
	{ "cut: ICMPv6 header", UI, { V6("fe80::1", "ff02::1"), ICMP6(135), .ttl = 255, .cut = 14 + 40 + 2 }, D, R(MALFORMED), 0 },
	{ "bad: IPv6 payload length beyond the frame", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .tot_len_delta = 1 }, D, R(MALFORMED), 0 },
	{ "bad: IPv4 version 5", UI, { V4("192.0.2.5", "198.51.100.2"), TCP(1, 22), .version = 5 }, D, R(MALFORMED), 0 },
	{ "bad: IPv4 IHL 4", UI, { V4("192.0.2.5", "198.51.100.2"), TCP(1, 22), .ihl = 4 }, D, R(MALFORMED), 0 },
	{ "bad: IPv4 total < header", UI, { V4("192.0.2.5", "198.51.100.2"), TCP(1, 22), .tot_len_delta = -30 }, D, R(MALFORMED), 0 },
	{ "bad: TCP data offset 4", UI, { V4("192.0.2.5", "198.51.100.2"), TCP(1, 22), .tcp_doff = 4 }, D, R(MALFORMED), 0 },
	{ "ok: TCP data offset 15, options absent", UI, { V4("192.0.2.5", "198.51.100.2"), TCP(1, 22), .tcp_doff = 15 }, A, R(MANAGEMENT), 0 },
	{ "ok: trailing padding after IPv4", UI, { V4("192.0.2.5", "198.51.100.2"), TCP(1, 22), .tot_len_delta = -4, .payload = 4 }, A, R(MANAGEMENT), 0 },
	{ "bad: IPv6 version in IPv6 frame", UI, { V6("2001:db8:ad::5", "2001:db8::2"), TCP(1, 22), .version = 4 }, D, R(MALFORMED), 0 },

	/* ---- uplink_out: clear-text guard ---- */
	{ "out: ARP", UO, { .ethertype = 0x0806 }, A, R(ALLOWED), 0 },
	{ "out: to alpha's site in clear", UO, { V4("198.51.100.2", "10.120.1.5"), TCP(1, 2) }, D, R(CLEARTEXT), 10 },
	{ "out: to beta's site in clear", UO, { V4("198.51.100.2", "10.130.1.5"), UDP(1, 2) }, D, R(CLEARTEXT), 20 },
	{ "out: to alpha's v6 site in clear", UO, { V6("2001:db8::2", "fd10:120:1::5"), UDP(1, 2) }, D, R(CLEARTEXT), 10 },
	{ "out: to a cloud prefix is fine", UO, { V4("198.51.100.2", "10.20.1.1"), UDP(1, 2) }, A, R(ALLOWED), 0 },
	{ "out: later fragment to a site", UO, { V4("198.51.100.2", "10.140.1.9"), .proto = 17, .frag = 3, .payload = 8 }, D, R(CLEARTEXT), 30 },
	{ "out: malformed", UO, { V4("198.51.100.2", "8.8.8.8"), UDP(1, 2), .cut = 14 + 20 + 3 }, D, R(MALFORMED), 0 },

	/* ---- tunnel_in alpha (intra = deny + rules) ---- */
	{ "t1: web 443", T1, { V4("10.120.1.5", "10.20.1.10"), TCP(5555, 443) }, A, R(ALLOWED), 10 },
	{ "t1: web 8445", T1, { V4("10.120.2.5", "10.20.1.10"), TCP(5555, 8445) }, A, R(ALLOWED), 10 },
	{ "t1: web 8451 no rule", T1, { V4("10.120.1.5", "10.20.1.10"), TCP(5555, 8451) }, D, R(NO_RULE), 10 },
	{ "t1: deny-host beats web (longer to)", T1, { V4("10.120.1.5", "10.20.1.66"), TCP(5555, 443) }, D, R(NO_RULE), 10 },
	{ "t1: deny-host is lyon only", T1, { V4("10.120.2.5", "10.20.1.66"), TCP(5555, 443) }, A, R(ALLOWED), 10 },
	{ "t1: dns udp 53", T1, { V4("10.120.1.5", "10.20.0.53"), UDP(5555, 53) }, A, R(ALLOWED), 10 },
	{ "t1: dns tcp 53", T1, { V4("10.120.1.5", "10.20.0.53"), TCP(5555, 53) }, D, R(NO_RULE), 10 },
	{ "t1: ping", T1, { V4("10.120.1.5", "10.20.5.5"), ICMP4(8), .echo_id = 3 }, A, R(ALLOWED), 10 },
	{ "t1: ping under web's /24", T1, { V4("10.120.1.5", "10.20.1.10"), ICMP4(8), .echo_id = 3 }, A, R(ALLOWED), 10 },
	{ "t1: udp no rule", T1, { V4("10.120.1.5", "10.20.5.5"), UDP(5555, 1234) }, D, R(NO_RULE), 10 },
	{ "t1: gre no rule", T1, { V4("10.120.1.5", "10.20.5.5"), .proto = 47, .payload = 8 }, D, R(NO_RULE), 10 },
	{ "t1: v6 web", T1, { V6("fd10:120:1::5", "fd00:20::10"), TCP(5555, 80) }, A, R(ALLOWED), 10 },
	{ "t1: v6 81", T1, { V6("fd10:120:1::5", "fd00:20::10"), TCP(5555, 81) }, D, R(NO_RULE), 10 },
	{ "t1: v6 web through hop-by-hop+dst", T1, { V6("fd10:120:1::5", "fd00:20::10"), TCP(5555, 80), .n_ext = 2, .ext = { 0, 60 } }, A, R(ALLOWED), 10 },
	{ "t1: lyon's tunnel_ip pings the cloud", T1, { V4("100.64.10.11", "10.20.5.5"), ICMP4(8), .echo_id = 3 }, A, R(ALLOWED), 10 },
	{ "t1: lyon's v6 tunnel_ip, web", T1, { V6("fd64:10::11", "fd00:20::10"), TCP(5555, 80) }, A, R(ALLOWED), 10 },
	{ "t1: a tunnel address no site has", T1, { V4("100.64.10.12", "10.20.5.5"), ICMP4(8), .echo_id = 3 }, D, R(SPOOFED), 10 },
	{ "t1: spoofed source", T1, { V4("10.99.0.1", "10.20.1.10"), TCP(5555, 443) }, D, R(SPOOFED), 10 },
	{ "t1: beta's site as source", T1, { V4("10.130.1.5", "10.20.1.10"), TCP(5555, 443) }, D, R(SPOOFED), 10 },
	{ "t1: cloud address as source", T1, { V4("10.20.1.10", "10.20.1.11"), TCP(5555, 443) }, D, R(SPOOFED), 10 },
	{ "t1: to beta's site", T1, { V4("10.120.1.5", "10.130.1.5"), TCP(5555, 443) }, D, R(CROSS_TENANT), 10 },
	{ "t1: to beta's tunnel address", T1, { V4("10.120.1.5", "100.64.20.1"), TCP(5555, 443) }, D, R(GATEWAY), 10 },
	{ "t1: beta's dns share", T1, { V4("10.120.1.5", "10.21.0.53"), UDP(4444, 53) }, A, R(ALLOWED), 10 },
	{ "cl: first fragment to beta's dns share", CL, { V4("10.20.1.10", "10.21.0.53"), UDP(4445, 53), .frag = 1, .frag_id = 71, .payload = 8 }, A, R(ALLOWED), 10 },
	{ "cl: its last fragment", CL, { V4("10.20.1.10", "10.21.0.53"), .proto = 17, .frag = 3, .frag_id = 71, .payload = 8 }, A, R(ALLOWED), 10 },
	{ "t1: beta's share, tcp", T1, { V4("10.120.1.5", "10.21.0.53"), TCP(4444, 53) }, D, R(CROSS_TENANT), 10 },
	{ "t1: beta's share, port 54", T1, { V4("10.120.1.5", "10.21.0.53"), UDP(4444, 54) }, D, R(CROSS_TENANT), 10 },
	{ "t1: beta's unshared cloud", T1, { V4("10.120.1.5", "10.21.0.54"), UDP(4444, 53) }, D, R(CROSS_TENANT), 10 },
	{ "t1: gamma's share to *", T1, { V4("10.120.1.5", "10.30.5.5"), TCP(4444, 80) }, A, R(ALLOWED), 10 },
	{ "t1: gamma's share, port 81", T1, { V4("10.120.1.5", "10.30.5.5"), TCP(4444, 81) }, D, R(CROSS_TENANT), 10 },
	{ "t1: gamma's cloud", T1, { V4("10.120.1.5", "10.30.1.1"), TCP(4444, 80) }, D, R(CROSS_TENANT), 10 },
	{ "t1: internet, country not FR", T1, { V4("10.120.1.5", "8.8.8.8"), TCP(4444, 80) }, D, R(GEO_EGRESS), 10 },
	{ "t1: own gateway address, ssh", T1, { V4("10.120.1.5", "100.64.10.1"), TCP(4444, 22) }, D, R(GATEWAY), 10 },
	{ "t1: cloud_address inside the cloud, ping", T1, { V4("10.120.1.5", "10.20.0.1"), ICMP4(8) }, A, R(ALLOWED), 10 },
	/* ---- the gateway itself (docs/policy.md) ---- */
	{ "t1: echo to its own tunnel address", T1, { V4("10.120.1.5", "100.64.10.1"), ICMP4(8), .echo_id = 5 }, A, R(ALLOWED), 10 },
	{ "t1: echo to its own v6 tunnel address", T1, { V6("fd10:120:1::5", "fd64:10::1"), ICMP6(128), .echo_id = 5 }, A, R(ALLOWED), 10 },
	{ "t1: echo reply to its own tunnel address", T1, { V4("10.120.1.5", "100.64.10.1"), ICMP4(0), .echo_id = 5 }, A, R(ALLOWED), 10 },
	{ "t1: ICMP error to its own address", T1, { V4("10.120.1.5", "100.64.10.1"), ICMP4(3), .icmp_code = 3 }, D, R(GATEWAY), 10 },
	{ "t1: timestamp request to its own address", T1, { V4("10.120.1.5", "100.64.10.1"), ICMP4(13) }, D, R(GATEWAY), 10 },
	{ "t1: udp to its own tunnel address", T1, { V4("10.120.1.5", "100.64.10.1"), UDP(4444, 51810) }, D, R(GATEWAY), 10 },
	{ "t1: gre to its own tunnel address", T1, { V4("10.120.1.5", "100.64.10.1"), .proto = 47, .payload = 8 }, D, R(GATEWAY), 10 },
	{ "t1: v6 ssh to its own tunnel address", T1, { V6("fd10:120:1::5", "fd64:10::1"), TCP(4444, 22) }, D, R(GATEWAY), 10 },
	{ "t1: ssh to its cloud_address", T1, { V4("10.120.1.5", "10.20.0.1"), TCP(4444, 22) }, D, R(GATEWAY), 10 },
	{ "t1: echo to beta's tunnel address", T1, { V4("10.120.1.5", "100.64.20.1"), ICMP4(8), .echo_id = 5 }, D, R(GATEWAY), 10 },
	{ "t1: echo to gamma's cloud_address", T1, { V4("10.120.1.5", "10.30.0.1"), ICMP4(8), .echo_id = 5 }, D, R(GATEWAY), 10 },
	{ "t1: ssh to the uplink address", T1, { V4("10.120.1.5", "198.51.100.2"), TCP(4444, 22) }, D, R(GATEWAY), 10 },
	{ "t1: echo to the uplink address", T1, { V4("10.120.1.5", "198.51.100.2"), ICMP4(8), .echo_id = 5 }, D, R(GATEWAY), 10 },
	{ "t1: to another interface's address", T1, { V4("10.120.1.5", "192.0.2.77"), TCP(4444, 22) }, D, R(GATEWAY), 10 },
	{ "t1: to the uplink v6 address", T1, { V6("fd10:120:1::5", "2001:db8::2"), TCP(4444, 9542) }, D, R(GATEWAY), 10 },
	{ "t1: to its tunnel subnet's broadcast", T1, { V4("10.120.1.5", "100.64.10.255"), UDP(4444, 137) }, D, R(GATEWAY), 10 },
	{ "t1: to its cloud subnet's broadcast", T1, { V4("10.120.1.5", "10.20.0.255"), ICMP4(8) }, D, R(GATEWAY), 10 },
	{ "t1: to the uplink subnet's broadcast", T1, { V4("10.120.1.5", "198.51.100.255"), UDP(4444, 9) }, D, R(GATEWAY), 10 },
	{ "t1: to 255.255.255.255", T1, { V4("10.120.1.5", "255.255.255.255"), UDP(68, 67) }, D, R(GATEWAY), 10 },
	{ "t1: to 0.0.0.0", T1, { V4("10.120.1.5", "0.0.0.0"), UDP(4444, 53) }, D, R(GATEWAY), 10 },
	{ "t1: to multicast 224.0.0.251", T1, { V4("10.120.1.5", "224.0.0.251"), UDP(5353, 5353) }, D, R(GATEWAY), 10 },
	{ "t1: to multicast 239.1.1.1", T1, { V4("10.120.1.5", "239.1.1.1"), UDP(5000, 5000) }, D, R(GATEWAY), 10 },
	{ "t1: to loopback", T1, { V4("10.120.1.5", "127.0.0.1"), TCP(4444, 9542) }, D, R(GATEWAY), 10 },
	{ "t1: to 169.254.169.254", T1, { V4("10.120.1.5", "169.254.169.254"), TCP(4444, 80) }, D, R(GATEWAY), 10 },
	{ "t1: v6 to ::1", T1, { V6("fd10:120:1::5", "::1"), TCP(4444, 22) }, D, R(GATEWAY), 10 },
	{ "t1: v6 to ::", T1, { V6("fd10:120:1::5", "::"), UDP(4444, 22) }, D, R(GATEWAY), 10 },
	{ "t1: v6 to a link-local address", T1, { V6("fd10:120:1::5", "fe80::1"), TCP(4444, 22) }, D, R(GATEWAY), 10 },
	{ "t1: v6 to the subnet-router anycast", T1, { V6("fd10:120:1::5", "fd64:10::"), ICMP6(128), .echo_id = 5 }, D, R(GATEWAY), 10 },
	{ "t1: v6 to all-nodes multicast", T1, { V6("fd10:120:1::5", "ff02::1"), ICMP6(128), .echo_id = 5 }, D, R(GATEWAY), 10 },
	{ "t1: v6 to site-local multicast", T1, { V6("fd10:120:1::5", "ff05::2"), UDP(4444, 521) }, D, R(GATEWAY), 10 },
	{ "t1: NS hop 255 from a site is no exemption", T1, { V6("fd10:120:1::5", "ff02::1:ff00:1"), ICMP6(135), .ttl = 255 }, D, R(GATEWAY), 10 },
	{ "t1: later fragment to the gateway", T1, { V4("10.120.1.5", "100.64.10.1"), .proto = 6, .frag = 3, .frag_id = 77, .payload = 8 }, D, R(FRAGMENT), 10 },
	{ "t1: spoofed to the gateway", T1, { V4("10.99.9.9", "100.64.10.1"), ICMP4(8) }, D, R(SPOOFED), 10 },
	{ "t1: not IP", T1, { V4("10.120.1.5", "10.20.1.10"), TCP(1, 443), .version = 5 }, D, R(MALFORMED), 10 },
	/* test_run wants a whole IP header behind an IP ethertype; the tunnel
	 * program ignores the (fake) Ethernet header, so use another type */
	{ "t1: truncated IPv4", T1, { .ethertype = 0x88b5, V4("10.120.1.5", "10.20.1.10"), TCP(1, 443), .cut_raw = 14 + 10 }, D, R(MALFORMED), 10 },
	{ "t1: truncated IPv6", T1, { .ethertype = 0x88b5, V6("fd10:120:1::5", "fd00:20::10"), TCP(1, 80), .cut_raw = 14 + 39 }, D, R(MALFORMED), 10 },
	{ "t1: IPv4 total length beyond the packet", T1, { V4("10.120.1.5", "10.20.1.10"), TCP(1, 443), .tot_len_delta = 1 }, D, R(MALFORMED), 10 },
	{ "t1: empty packet", T1, { .ethertype = 0x88b5, V4("10.120.1.5", "10.20.1.10"), .cut_raw = 14 }, D, R(MALFORMED), 10 },
	{ "t1: truncated TCP", T1, { V4("10.120.1.5", "10.20.1.10"), TCP(1, 443), .cut = 14 + 20 + 10 }, D, R(MALFORMED), 10 },
	{ "t1: IPv4 options", T1, { V4("10.120.1.5", "10.20.1.10"), TCP(1, 443), .ip_opts = 20 }, A, R(ALLOWED), 10 },
	{ "t1: orphan fragment", T1, { V4("10.120.1.5", "10.20.0.53"), .proto = 17, .frag = 2, .frag_id = 50, .payload = 8 }, D, R(FRAGMENT), 10 },
	{ "t1: first fragment, dns", T1, { V4("10.120.1.5", "10.20.0.53"), UDP(5, 53), .frag = 1, .frag_id = 51, .payload = 8 }, A, R(ALLOWED), 10 },
	{ "t1: its middle", T1, { V4("10.120.1.5", "10.20.0.53"), .proto = 17, .frag = 2, .frag_id = 51, .payload = 8 }, A, R(ALLOWED), 10 },
	{ "t1: its last", T1, { V4("10.120.1.5", "10.20.0.53"), .proto = 17, .frag = 3, .frag_id = 51, .payload = 8 }, A, R(ALLOWED), 10 },
	{ "t1: first fragment denied", T1, { V4("10.120.1.5", "10.20.0.53"), UDP(5, 54), .frag = 1, .frag_id = 52, .payload = 8 }, D, R(NO_RULE), 10 },
	{ "t1: its last is dropped", T1, { V4("10.120.1.5", "10.20.0.53"), .proto = 17, .frag = 3, .frag_id = 52, .payload = 8 }, D, R(FRAGMENT), 10 },
	/* a later fragment is anti-spoofed before its first fragment is looked
	 * up (oracle finding-fragment-other-ingress) */
	{ "t1: later fragment on another tunnel", T2, { V4("10.120.1.5", "10.20.0.53"), .proto = 17, .frag = 3, .frag_id = 51, .payload = 8 }, D, R(SPOOFED), 20 },
	{ "t1: later fragment from the cloud with the site's source", CL, { V4("10.120.1.5", "10.20.0.53"), .proto = 17, .frag = 3, .frag_id = 51, .payload = 8 }, D, R(SPOOFED), 10 },
	{ "t1: v6 first fragment", T1, { V6("fd10:120:1::5", "fd00:20::10"), TCP(5555, 80), .n_ext = 2, .ext = { 0, 44 }, .frag = 1, .frag_id = 53 }, A, R(ALLOWED), 10 },
	{ "t1: v6 its last", T1, { V6("fd10:120:1::5", "fd00:20::10"), .proto = 6, .n_ext = 2, .ext = { 0, 44 }, .frag = 3, .frag_id = 53, .payload = 8 }, A, R(ALLOWED), 10 },
	{ "t1: unknown tunnel interface", T4, { V4("10.120.1.5", "10.20.1.10"), TCP(5555, 443) }, D, R(MALFORMED), 0 },

	/* ---- flows between a site and the cloud ---- */
	{ "cl: unsolicited cloud->site", CL, { V4("10.20.1.10", "10.120.1.5"), TCP(443, 6000) }, D, R(NO_RULE), 10 },
	{ "t1: site opens https", T1, { V4("10.120.1.5", "10.20.1.10"), TCP(6000, 443), .tcp_flags = 0x02 }, A, R(ALLOWED), 10 },
	{ "cl: its reply", CL, { V4("10.20.1.10", "10.120.1.5"), TCP(443, 6000), .tcp_flags = 0x12 }, A, R(REPLY), 10 },
	{ "cl: reply to other port", CL, { V4("10.20.1.10", "10.120.1.5"), TCP(443, 6001) }, D, R(NO_RULE), 10 },
	{ "cl: reply on another tenant's cloud", TK, { VLAN1(200), V4("10.20.1.10", "10.120.1.5"), TCP(443, 6000) }, D, R(CROSS_TENANT), 20 },
	{ "t1: site uses beta's dns", T1, { V4("10.120.1.5", "10.21.0.53"), UDP(7000, 53) }, A, R(ALLOWED), 10 },
	{ "tk: beta's dns answers", TK, { VLAN1(200), V4("10.21.0.53", "10.120.1.5"), UDP(53, 7000) }, A, R(REPLY), 20 },
	{ "tk: beta's unsolicited", TK, { VLAN1(200), V4("10.21.0.53", "10.120.1.5"), UDP(53, 7001) }, D, R(CROSS_TENANT), 20 },

	/* ---- ICMP errors about those flows, back to the site (path MTU) ---- */
	{ "cl: frag needed about the site's flow", CL, { V4("10.20.1.1", "10.120.1.5"), ICMP4(3), .icmp_code = 4, .inner = &in_t1_https }, A, R(REPLY), 10 },
	{ "cl: time exceeded about it", CL, { V4("10.20.1.1", "10.120.1.5"), ICMP4(11), .inner = &in_t1_https }, A, R(REPLY), 10 },
	{ "cl: an error about a flow never opened", CL, { V4("10.20.1.1", "10.120.1.5"), ICMP4(3), .icmp_code = 4, .inner = &in_t1_https_other }, D, R(NO_RULE), 10 },
	{ "cl: the error sent to another host of the site", CL, { V4("10.20.1.1", "10.120.1.6"), ICMP4(3), .icmp_code = 4, .inner = &in_t1_https }, D, R(NO_RULE), 10 },
	{ "cl: an error quoting another host's flow", CL, { V4("10.20.1.1", "10.120.1.5"), ICMP4(3), .icmp_code = 4, .inner = &in_t1_https_twin }, D, R(NO_RULE), 10 },
	{ "cl: a redirect quoting the flow is no error of it", CL, { V4("10.20.1.1", "10.120.1.5"), ICMP4(5), .inner = &in_t1_https }, D, R(NO_RULE), 10 },
	{ "tk: beta's error about alpha's flow to alpha's cloud", TK, { VLAN1(200), V4("10.20.1.1", "10.120.1.5"), ICMP4(3), .icmp_code = 4, .inner = &in_t1_https }, D, R(CROSS_TENANT), 20 },
	{ "tk: beta's error about alpha's flow to beta's share", TK, { VLAN1(200), V4("10.21.0.1", "10.120.1.5"), ICMP4(3), .icmp_code = 4, .inner = &in_t1_dns }, A, R(REPLY), 20 },
	{ "cl: packet too big about the site's v6 flow", CL, { V6("fd00:20::fe", "fd10:120:1::5"), ICMP6(2), .inner = &in_t1_v6 }, A, R(REPLY), 10 },
	{ "cl: packet too big to another v6 host of the site", CL, { V6("fd00:20::fe", "fd10:120:1::6"), ICMP6(2), .inner = &in_t1_v6 }, D, R(NO_RULE), 10 },
	{ "tk: beta's error about it to another host of alpha", TK, { VLAN1(200), V4("10.21.0.1", "10.120.1.6"), ICMP4(3), .icmp_code = 4, .inner = &in_t1_dns }, D, R(CROSS_TENANT), 20 },

	/* ---- the gateway's address held by a cloud host: no reply path to the gateway ---- */
	{ "cl: a cloud host spoofs the gateway's address to a site", CL, { V4("10.20.0.1", "10.120.2.9"), TCP(2222, 22), .tcp_flags = 0x02 }, A, R(ALLOWED), 10 },
	{ "t1: the site's 'reply' to the gateway is dropped", T1, { V4("10.120.2.9", "10.20.0.1"), TCP(22, 2222), .tcp_flags = 0x12 }, D, R(GATEWAY), 10 },

	/* ---- cloud_in: neighbour discovery only on the link (docs/policy.md) ---- */
	{ "cl: NS to solicited-node multicast", CL, { V6("fe80::1", "ff02::1:ff00:1"), ICMP6(135), .ttl = 255 }, A, R(ALLOWED), 10 },
	{ "cl: NS unicast to a link-local address", CL, { V6("fe80::1", "fe80::2"), ICMP6(135), .ttl = 255 }, A, R(ALLOWED), 10 },
	{ "cl: NA from a global address to link-local", CL, { V6("fd00:20::10", "fe80::2"), ICMP6(136), .ttl = 255 }, A, R(ALLOWED), 10 },
	{ "cl: RS to all-routers", CL, { V6("fd00:20::10", "ff02::2"), ICMP6(133), .ttl = 255 }, A, R(ALLOWED), 10 },
	{ "cl: NS to a site, spoofed source", CL, { V6("fd10:120:2::9", "fd10:120:1::5"), ICMP6(135), .ttl = 255 }, D, R(SPOOFED), 10 },
	{ "cl: NA to a site, link-local source", CL, { V6("fe80::1", "fd10:120:1::5"), ICMP6(136), .ttl = 255 }, D, R(SPOOFED), 10 },
	{ "cl: redirect to a site, intra = deny", CL, { V6("fd00:20::10", "fd10:120:1::5"), ICMP6(137), .ttl = 255 }, D, R(NO_RULE), 10 },
	{ "cl: RA to beta's site", CL, { V6("fd00:20::10", "fd10:120:1::6"), ICMP6(134), .ttl = 255 }, D, R(NO_RULE), 10 },
	{ "cl: NS to the uplink's address", CL, { V6("fd00:20::10", "2001:db8::2"), ICMP6(135), .ttl = 255 }, D, R(GATEWAY), 10 },
	{ "cl: NS to site-local multicast", CL, { V6("fd00:20::10", "ff05::1:3"), ICMP6(135), .ttl = 255 }, D, R(GATEWAY), 10 },
	{ "cl: NS to an internet address", CL, { V6("fd00:20::10", "2001:4860::8888"), ICMP6(135), .ttl = 255 }, D, R(GEO_EGRESS), 10 },
	/* the tenant's tunnel_address is on the tunnel, not on this link (oracle
	 * finding-nd-to-own-tunnel-address): judged like any other packet */
	{ "cl: NA to its own tunnel_address, spoofed source", CL, { V6("fd10:120:2::9", "fd64:10::1"), ICMP6(136), .ttl = 255 }, D, R(SPOOFED), 10 },
	{ "cl: NA to its own tunnel_address", CL, { V6("fd00:20::10", "fd64:10::1"), ICMP6(136), .ttl = 255 }, D, R(GATEWAY), 10 },
	/* ---- cloud_in: the gateway itself ---- */
	{ "cl: echo to its own cloud_address", CL, { V4("10.20.1.10", "10.20.0.1"), ICMP4(8), .echo_id = 9 }, A, R(ALLOWED), 10 },
	{ "cl: ssh to its own cloud_address", CL, { V4("10.20.1.10", "10.20.0.1"), TCP(40000, 22) }, D, R(GATEWAY), 10 },
	{ "cl: wg port on its own cloud_address", CL, { V4("10.20.1.10", "10.20.0.1"), UDP(40000, 51810) }, D, R(GATEWAY), 10 },
	{ "cl: NAT port on its cloud_address (alpha offers no share)", CL, { V4("10.20.1.10", "10.20.0.1"), UDP(53, 61500) }, D, R(GATEWAY), 10 },
	{ "cl: echo to alpha's tunnel address", CL, { V4("10.20.1.10", "100.64.10.1"), ICMP4(8), .echo_id = 9 }, A, R(ALLOWED), 10 },
	{ "cl: echo to gamma's cloud_address", CL, { V4("10.20.1.10", "10.30.0.1"), ICMP4(8), .echo_id = 9 }, D, R(GATEWAY), 10 },
	{ "cl: to the uplink address", CL, { V4("10.20.1.10", "198.51.100.2"), TCP(40000, 22) }, D, R(GATEWAY), 10 },
	{ "tk: gamma's share answers a consumer's cloud (NAT port)", TK, { VLAN1(300), V4("10.30.5.5", "10.30.0.1"), TCP(80, 61500) }, A, R(ALLOWED), 30 },
	{ "tk: gamma's cloud to its gateway, UDP NAT port", TK, { VLAN1(300), V4("10.30.1.1", "10.30.0.1"), UDP(53, 65535) }, A, R(ALLOWED), 30 },
	{ "tk: gamma's cloud to its gateway, ssh", TK, { VLAN1(300), V4("10.30.5.5", "10.30.0.1"), TCP(80, 22) }, D, R(GATEWAY), 30 },
	{ "tk: gamma's cloud to its gateway, below the NAT ports", TK, { VLAN1(300), V4("10.30.5.5", "10.30.0.1"), TCP(80, 60999) }, D, R(GATEWAY), 30 },
	{ "tk: frag needed about a consumer's connection NATed to gamma's cloud_address", TK, { VLAN1(300), V4("10.30.5.1", "10.30.0.1"), ICMP4(3), .icmp_code = 4, .inner = &in_nat_share }, A, R(ALLOWED), 30 },
	{ "tk: an error about a connection from below the NAT ports", TK, { VLAN1(300), V4("10.30.5.1", "10.30.0.1"), ICMP4(3), .icmp_code = 4, .inner = &in_nat_low }, D, R(GATEWAY), 30 },
	{ "tk: an error quoting another source than the cloud_address", TK, { VLAN1(300), V4("10.30.5.1", "10.30.0.1"), ICMP4(3), .icmp_code = 4, .inner = &in_nat_other }, D, R(GATEWAY), 30 },
	{ "cl: an error about a NAT port to alpha's cloud_address (alpha offers no share)", CL, { V4("10.20.1.10", "10.20.0.1"), ICMP4(3), .icmp_code = 4, .inner = &in_nat_alpha }, D, R(GATEWAY), 10 },
	{ "tk: gamma's cloud to its gateway, NAT port, ICMP", TK, { VLAN1(300), V4("10.30.5.5", "10.30.0.1"), ICMP4(3) }, D, R(GATEWAY), 30 },
	{ "t3: gamma's site to its cloud_address, NAT port", T3, { V4("10.140.1.5", "10.30.0.1"), TCP(80, 61500) }, D, R(GATEWAY), 30 },

	/* ---- cloud_in ---- */
	{ "cl: cloud to site ssh (c2s)", CL, { V4("10.20.1.10", "10.120.2.9"), TCP(1, 22) }, A, R(ALLOWED), 10 },
	{ "cl: cloud to site 23", CL, { V4("10.20.1.10", "10.120.2.9"), TCP(1, 23) }, D, R(NO_RULE), 10 },
	{ "cl: spoofed (a site address)", CL, { V4("10.120.1.5", "10.20.1.10"), TCP(1, 22) }, D, R(SPOOFED), 10 },
	{ "cl: spoofed v6", CL, { V6("fd99::1", "fd00:20::10"), TCP(1, 22) }, D, R(SPOOFED), 10 },
	{ "cl: ARP", CL, { .ethertype = 0x0806 }, A, R(ALLOWED), 10 },
	{ "cl: LLDP", CL, { .ethertype = 0x88cc }, D, R(MALFORMED), 10 },
	{ "cl: RA hop 255", CL, { V6("fe80::1", "ff02::1"), ICMP6(134), .ttl = 255 }, A, R(ALLOWED), 10 },
	{ "cl: beta's dns share", CL, { V4("10.20.1.10", "10.21.0.53"), UDP(1, 53) }, A, R(ALLOWED), 10 },
	{ "cl: internet", CL, { V4("10.20.1.10", "1.1.1.1"), UDP(1, 53) }, D, R(GEO_EGRESS), 10 },
	{ "cl: tagged frame on untagged attachment", CL, { VLAN1(200), V4("10.20.1.10", "10.120.2.9"), TCP(1, 22) }, D, R(MALFORMED), 0 },
	{ "tk: beta intra allow", TK, { VLAN1(200), V4("10.20.1.10", "10.130.1.5"), TCP(1, 1) }, A, R(ALLOWED), 20 },
	{ "tk: beta to gamma's share", TK, { VLAN1(200), V4("10.20.1.10", "10.30.5.1"), TCP(1, 80) }, A, R(ALLOWED), 20 },
	{ "tk: beta no egress", TK, { VLAN1(200), V4("10.20.1.10", "8.8.8.8"), TCP(1, 80) }, D, R(NO_RULE), 20 },
	{ "tk: beta to alpha's tunnel address", TK, { VLAN1(200), V4("10.20.1.10", "100.64.10.1"), TCP(1, 80) }, D, R(GATEWAY), 20 },
	{ "tk: gamma", TK, { VLAN1(300), V4("10.30.1.1", "10.140.1.5"), UDP(1, 1) }, A, R(ALLOWED), 30 },
	{ "tk: gamma egress nat", TK, { VLAN1(300), V4("10.30.1.1", "8.8.8.8"), UDP(1, 1) }, A, R(ALLOWED), 30 },
	{ "tk: gamma spoofed", TK, { VLAN1(300), V4("10.20.1.1", "10.140.1.5"), UDP(1, 1) }, D, R(SPOOFED), 30 },
	{ "tk: QinQ outer 300", TK, { QINQ(300, 5), V4("10.30.1.1", "10.140.1.5"), UDP(1, 1) }, A, R(ALLOWED), 30 },
	{ "tk: 802.1Q in 802.1Q", TK, { .nvlan = 2, .vid = { 300, 5 }, V4("10.30.1.1", "10.140.1.5"), UDP(1, 1) }, A, R(ALLOWED), 30 },
	{ "tk: three tags", TK, { .nvlan = 3, .vid = { 300, 5, 6 }, V4("10.30.1.1", "10.140.1.5"), UDP(1, 1) }, D, R(MALFORMED), 30 },
	{ "tk: unknown VLAN", TK, { VLAN1(999), V4("10.30.1.1", "10.140.1.5"), UDP(1, 1) }, D, R(MALFORMED), 0 },
	{ "tk: untagged on a trunk", TK, { V4("10.30.1.1", "10.140.1.5"), UDP(1, 1) }, D, R(MALFORMED), 0 },
	{ "tk: truncated inner tag", TK, { QINQ(300, 5), V4("10.30.1.1", "10.140.1.5"), UDP(1, 1), .cut_raw = 14 + 4 + 2 }, D, R(MALFORMED), 30 },
	{ "tk: truncated IPv4 under a tag", TK, { VLAN1(300), V4("10.30.1.1", "10.140.1.5"), UDP(1, 1), .cut_raw = 18 + 12 }, D, R(MALFORMED), 30 },
	{ "cl: v6 cloud to site, routing header", CL, { V6("fd00:20::10", "fd10:120:1::5"), TCP(1, 22), .n_ext = 1, .ext = { 43 } }, A, R(ALLOWED), 10 },
	{ "cl: v6 chain of 7", CL, { V6("fd00:20::10", "fd10:120:1::5"), TCP(1, 22), .n_ext = 7, .ext = { 60, 60, 60, 60, 60, 60, 60 } }, D, R(MALFORMED), 10 },
	{ "cl: orphan v6 fragment", CL, { V6("fd00:20::10", "fd10:120:1::5"), .proto = 6, .n_ext = 1, .ext = { 44 }, .frag = 2, .frag_id = 99, .payload = 8 }, D, R(FRAGMENT), 10 },

	/* ---- tunnel_in beta and gamma ---- */
	{ "t2: beta intra", T2, { V4("10.130.1.5", "10.20.3.3"), TCP(1, 1) }, A, R(ALLOWED), 20 },
	{ "t2: beta to alpha's site", T2, { V4("10.130.1.5", "10.120.1.5"), TCP(1, 1) }, D, R(CROSS_TENANT), 20 },
	{ "t2: beta no egress", T2, { V4("10.130.1.5", "8.8.8.8"), TCP(1, 1) }, D, R(NO_RULE), 20 },
	{ "t2: alpha's source on beta's tunnel", T2, { V4("10.120.1.5", "10.20.3.3"), TCP(1, 1) }, D, R(SPOOFED), 20 },
	{ "t3: gamma egress", T3, { V4("10.140.1.5", "8.8.8.8"), TCP(1, 1) }, A, R(ALLOWED), 30 },
	{ "t3: v6 source not a site", T3, { V6("fd00::1", "2001:4860::8888"), TCP(1, 1) }, D, R(SPOOFED), 30 },

	/* ---- AH (51) ends the chain: malformed on every hook (no SA, nothing
	 * behind it is judged; docs/policy.md) ---- */
	{ "ah: beta's site to its cloud (intra allow)", T2, { V4("10.130.1.5", "10.20.1.10"), .proto = 51, .payload = 24 }, D, R(MALFORMED), 20 },
	{ "ah: lyon v6, hop-by-hop then AH", T1, { V6("fd10:120:1::5", "fd00:20::10"), .proto = 51, .n_ext = 1, .ext = { 0 }, .payload = 24 }, D, R(MALFORMED), 10 },
	{ "ah: beta's cloud to its site (intra allow)", TK, { VLAN1(200), V4("10.20.1.10", "10.130.1.5"), .proto = 51, .payload = 24 }, D, R(MALFORMED), 20 },
	{ "ah: alpha's cloud to the internet", CL, { V6("fd00:20::10", "2001:4860::8888"), .proto = 51, .payload = 24 }, D, R(MALFORMED), 10 },
	{ "ah: gamma's site, NAT egress", T3, { V4("10.140.1.5", "8.8.8.8"), .proto = 51, .payload = 24 }, D, R(MALFORMED), 30 },
	{ "ah: the gateway sends AH", UO, { V6("2001:db8::2", "2001:db8:7::20"), .proto = 51, .payload = 24 }, D, R(MALFORMED), 0 },
	{ "ah: that host's AH is no reply", UI, { V6("2001:db8:7::20", "2001:db8::2"), .proto = 51, .payload = 24 }, D, R(MALFORMED), 0 },
	{ "ah: v4 AH to the gateway", UI, { V4("192.0.2.5", "198.51.100.2"), .proto = 51, .payload = 24 }, D, R(MALFORMED), 0 },
	{ "ah: v6 later fragment of an AH packet", UI, { V6("2001:db8:7::20", "2001:db8::2"), .proto = 51, .n_ext = 1, .ext = { 44 }, .frag = 3, .frag_id = 81, .payload = 8 }, D, R(MALFORMED), 0 },
	{ "ah: v4 AH to a site in clear", UO, { V4("198.51.100.2", "10.120.1.5"), .proto = 51, .payload = 24 }, D, R(MALFORMED), 0 },
};


/* The events the dataplane could not report are counted (rp_evstats,
 * rempart_events_lost_total): with no reader, a ring buffer of one page
 * (51 events of 80 bytes with their headers) and no rate limit to speak of,
 * 500 drops lose about 450 events; with the shipped rate limit (burst 100)
 * and the full buffer, 500 drops are about 400 events held back and none
 * lost. */
static void evstats_case(const struct rp_config *cfg, __u32 rate, __u32 burst, __u32 ring,
			 const char *what, bool want_lost)
{
	const struct ps pk = { V4("196.200.1.7", "198.51.100.2"), UDP(40000, 9999) };
	struct rempart *s = rempart__open();
	struct rp_evstats v[512] = { 0 }, sum = { 0 };
	int ncpu = libbpf_num_possible_cpus(), ret = -1, err = -1;
	struct diag d = { 0 };
	uint8_t pkt[PK_MAX];
	struct dp_maps m;
	__u32 zero = 0;
	size_t len;

	if (!s || ncpu <= 0 || ncpu > 512)
		goto out;
	s->rodata->tunnel_l2_skip = 14;
	if (rate) {
		s->rodata->ev_rate = rate;
		s->rodata->ev_burst = burst;
	}
	if (ring && bpf_map__set_max_entries(s->maps.rp_events, ring))
		goto out;
	if (rempart__load(s))
		goto out;
	dp_maps_from_skel(s, &m);
	if (dp_policy_install(&m, cfg, NULL, NULL, &d))
		goto out;
	len = pk_build(&pk, pkt);
	if (fx_run_prog(bpf_program__fd(s->progs.uplink_in), true, if_nametoindex("dpup"), pkt, len,
			500, &ret, NULL) || ret != XDP_DROP)
		goto out;
	err = bpf_map_lookup_elem(bpf_map__fd(s->maps.rp_evstats), &zero, v);
	for (int c = 0; !err && c < ncpu; c++) {
		sum.lost += v[c].lost;
		sum.limited += v[c].limited;
	}
out:
	diag_print(&d, stderr);
	diag_free(&d);
	if (want_lost)
		tap_result(!err && sum.lost >= 400 && sum.lost <= 460 && !sum.limited,
			   "dataplane: %s: 500 drops, events lost %llu (449 expected), held back %llu",
			   what, (unsigned long long)sum.lost, (unsigned long long)sum.limited);
	else
		tap_result(!err && !sum.lost && sum.limited >= 390 && sum.limited <= 400,
			   "dataplane: %s: 500 drops, events held back %llu (about 400 expected), lost %llu",
			   what, (unsigned long long)sum.limited, (unsigned long long)sum.lost);
	rempart__destroy(s);
}

/* One frame through hook/ifname: did (tenant, reason) move by one? */
static bool run_counted(struct fx *f, int hook, const char *ifname, const struct ps *ps, unsigned tenant,
			int reason, bool *allow)
{
	uint8_t pkt[PK_MAX];
	size_t len = pk_build(ps, pkt);
	unsigned long long before = fx_counter(f, tenant, reason);
	int ret = -1;

	fx_skb_mark = ps->mark;
	if (fx_run_prog(f->prog[hook], fx_is_xdp(hook), if_nametoindex(ifname), pkt, len, 1, &ret, NULL))
		ret = -1;
	fx_skb_mark = 0;
	*allow = fx_allowed(hook, ret);
	return fx_counter(f, tenant, reason) == before + 1;
}

/* A port table with every segment a pair may have (RP_SEGS_MAX): a rule
 * with 15 TCP port ranges and one to 65535 gives 32 segments, allowed and
 * not in turn.  Each range's edges (lo - 1, lo, hi, hi + 1) and 0, 65535,
 * through tunnel_in: allowed by the rule (`allowed`, its counter) inside a
 * range, `no_rule` outside (alpha's intra default is deny).  The search in
 * table_lookup() must find the last segment at or below any port. */
static void port_segments(struct fx *f, const struct rp_config *base)
{
	unsigned lo[16], hi[16], bad = 0, n = 0;
	struct rp_config c;
	struct diag d = { 0 };
	char ports[512] = "";
	size_t off = 0;
	int err;

	for (unsigned k = 0; k < 16; k++) {
		lo[k] = k < 15 ? 1000 + 100 * k : 65000;
		hi[k] = k < 15 ? lo[k] + 10 + k : 65535;
		off += snprintf(ports + off, sizeof(ports) - off, "%s%u-%u", k ? ", " : "", lo[k], hi[k]);
	}
	fx_config_a(&c, false);
	fx_rule(&c.tenants[0], "segs", "sites", "10.20.9.9/32", "tcp", ports, true);
	err = dp_policy_install(&f->m, &c, NULL, NULL, &d);
	diag_print(&d, stderr);
	tap_result(!err, "segments: a rule with 16 port ranges (32 port segments) installed (%d)", err);
	for (unsigned k = 0; k < 16 && !err; k++) {
		unsigned probe[6] = { lo[k] - 1, lo[k], hi[k], hi[k] + 1, (lo[k] + hi[k]) / 2,
					 k == 0 ? 0 : k == 15 ? 65535 : 65536 };

		for (unsigned i = 0; i < 6; i++) {
			struct ps s = { V4("10.120.1.5", "10.20.9.9"), TCP(40000, 0) };
			bool in = false, allow, counted;

			if (probe[i] > 65535)
				continue;
			s.dport = probe[i];
			for (unsigned j = 0; j < 16; j++)
				in |= probe[i] >= lo[j] && probe[i] <= hi[j];
			counted = run_counted(f, RP_HOOK_TUNNEL_IN, "dptun1", &s, 10,
					      in ? RP_R_ALLOWED : RP_R_NO_RULE, &allow);
			n++;
			if (allow != in || !counted) {
				bad++;
				printf("#   port %u: %s, want %s\n", probe[i], allow ? "allowed" : "dropped",
				       in ? "allowed" : "no_rule");
			}
		}
	}
	tap_result(!err && !bad, "segments: %u ports at the ranges' edges judged by the right segment "
		   "(%u wrong)", n, bad);
	err = dp_policy_install(&f->m, base, NULL, NULL, &d);
	diag_print(&d, stderr);
	tap_result(!err, "segments: the fixture's policy back (%d)", err);
}

/* The tenant's mark on what enters from its tunnel or cloud (docs/policy.md:
 * the gateway's answer goes back the way the question came). */
static void marks(struct fx *f)
{
	struct ps p = { V4("10.20.1.10", "10.20.0.1"), ICMP4(8), .echo_id = 1 };
	uint8_t pkt[PK_MAX];
	size_t len = pk_build(&p, pkt);
	bool allow;
	int ret;

	fx_skb_mark_out = 0;
	fx_run_prog(f->mark_prog, false, if_nametoindex("dpcloud"), pkt, len, 1, &ret, NULL);
	tap_result(ret == TC_ACT_OK && fx_skb_mark_out == (RP_MARK_BASE | 10),
		   "cloud_mark: alpha's untagged cloud gets mark 0x%x (0x%x, ret %d)", RP_MARK_BASE | 10,
		   fx_skb_mark_out, ret);
	fx_skb_mark_out = 0;
	fx_run_prog(f->mark_prog, false, if_nametoindex("dptun4"), pkt, len, 1, &ret, NULL);
	tap_result(ret == TC_ACT_OK && fx_skb_mark_out == 0,
		   "cloud_mark: no mark on an interface of no tenant (0x%x)", fx_skb_mark_out);
	p = (struct ps){ V4("10.120.1.5", "100.64.10.1"), ICMP4(8), .echo_id = 1 };
	fx_skb_mark_out = 0;
	run_counted(f, RP_HOOK_TUNNEL_IN, "dptun1", &p, 10, RP_R_ALLOWED, &allow);
	tap_result(allow && fx_skb_mark_out == (RP_MARK_BASE | 10),
		   "tunnel_in: an allowed packet of alpha gets mark 0x%x (0x%x)", RP_MARK_BASE | 10,
		   fx_skb_mark_out);
}

/* docs/policy.md, last sentence: one tenant cannot evict another's connection
 * state.  A site of beta sweeps ports (more flows than any table holds),
 * then a NAT tenant sweeps the internet; alpha's reply and the gateway's
 * own reply still get in. */
static void sweeps(struct fx *f)
{
	const unsigned n = RP_FLOW_NAT_MAX + 4096;
	struct ps a_open = { V4("10.120.1.5", "10.20.1.10"), TCP(7100, 443), .tcp_flags = 0x02 };
	struct ps a_reply = { V4("10.20.1.10", "10.120.1.5"), TCP(443, 7100), .tcp_flags = 0x12 };
	struct ps g_open = { V4("198.51.100.2", "93.184.216.50"), TCP(40100, 443), .tcp_flags = 0x02 };
	struct ps g_reply = { V4("93.184.216.50", "198.51.100.2"), TCP(443, 40100), .tcp_flags = 0x12 };
	struct dp_flow_usage ua, ub, un, ug;
	unsigned bad = 0;
	bool allow, ok;

	ok = run_counted(f, RP_HOOK_TUNNEL_IN, "dptun1", &a_open, 10, RP_R_ALLOWED, &allow) && allow;
	ok = ok && run_counted(f, RP_HOOK_UPLINK_OUT, "dpup", &g_open, 0, RP_R_ALLOWED, &allow) && allow;
	tap_result(ok, "sweep: alpha's site and the gateway open a connection each");
	for (unsigned i = 0; i < n; i++) {
		struct ps b = { V4("10.130.1.5", "10.20.3.3"), TCP(1024 + i % 60000, 1 + i / 60000),
				.tcp_flags = 0x02 };

		if (!run_counted(f, RP_HOOK_TUNNEL_IN, "dptun2", &b, 20, RP_R_ALLOWED, &allow) || !allow)
			bad++;
	}
	tap_result(!bad, "sweep: beta's site opens %u connections (%u not allowed)", n, bad);
	bad = 0;
	for (unsigned i = 0; i < n; i++) {
		struct ps nat = { V4("198.51.100.2", "203.0.113.9"), TCP(61000 + i % 4536, 1 + i / 4536),
				  .tcp_flags = 0x02, .mark = RP_MARK_BASE | 30 };

		if (!run_counted(f, RP_HOOK_UPLINK_OUT, "dpup", &nat, 0, RP_R_ALLOWED, &allow) || !allow)
			bad++;
	}
	tap_result(!bad, "sweep: gamma's NATed connections, %u of them (%u not allowed)", n, bad);
	ok = run_counted(f, RP_HOOK_CLOUD_IN, "dpcloud", &a_reply, 10, RP_R_REPLY, &allow) && allow;
	tap_result(ok, "sweep: alpha's reply still gets in after beta's sweep (allow reply: %s)",
		   allow ? "allowed" : "dropped");
	ok = run_counted(f, RP_HOOK_UPLINK_IN, "dpup", &g_reply, 0, RP_R_REPLY, &allow) && allow;
	tap_result(ok, "sweep: the gateway's own reply still gets in after gamma's NAT sweep (%s)",
		   allow ? "allowed" : "dropped");
	ok = !dp_flow_usage(f->m.flowt4, f->m.flowt6, f->m.flow_stats, 20, &ub, NULL) &&
	     !dp_flow_usage(f->m.flowt4, f->m.flowt6, f->m.flow_stats, 10, &ua, NULL) &&
	     !dp_flow_usage(f->m.flowt4, f->m.flowt6, f->m.flow_stats, RP_FLOW_NAT, &un, NULL) &&
	     !dp_flow_usage(f->m.flowt4, f->m.flowt6, f->m.flow_stats, RP_TENANT_GATEWAY, &ug, NULL);
	tap_result(ok && ub.present <= ub.capacity && ub.evicted >= n - ub.capacity && ua.evicted == 0 &&
		   ug.evicted == 0 && un.evicted > 0,
		   "sweep: evictions stay in the sweeper's table (beta %llu of %llu created, alpha %llu, "
		   "NAT %llu, gateway %llu)", ub.evicted, ub.created, ua.evicted, un.evicted, ug.evicted);
}

int main(void)
{
	unsigned tenants[] = { 0, 10, 20, 30 };
	struct rp_config cfg;
	struct diag d = { 0 };
	struct fx f;
	size_t n = sizeof(cases) / sizeof(cases[0]);
	int err;

	if (geteuid() != 0) {
		tap_skip("test_dataplane: needs root (BPF, network namespace)");
		return 0;
	}
	if (fx_netns())
		return 1;
	err = fx_load(&f, false);
	tap_result(!err, "dataplane: skeleton loads and the verifier accepts all programs (%d)", err);
	if (err)
		return 1;
	fx_config_a(&cfg, false);
	err = dp_policy_install(&f.m, &cfg, NULL, NULL, &d);
	diag_print(&d, stderr);
	tap_result(!err, "dataplane: policy compiled and installed (%d)", err);
	if (err)
		return 1;
	printf("# %zu cases\n", n);
	for (size_t i = 0; i < n; i++) {
		const struct tcase *c = &cases[i];
		uint8_t pkt[PK_MAX];
		unsigned long long before[4][RP_R__COUNT], after;
		size_t len = pk_build(&c->s, pkt);
		bool ok_counter = true, allow;
		int ret = -1, moved = 0;

		for (int t = 0; t < 4; t++)
			for (int r = 0; r < RP_R__COUNT; r++)
				before[t][r] = fx_counter(&f, tenants[t], r);
		fx_skb_mark = c->s.mark;
		err = fx_run_prog(f.prog[c->hook], fx_is_xdp(c->hook), if_nametoindex(c->ifname),
				  pkt, len, 1, &ret, NULL);
		fx_skb_mark = 0;
		if (err) {
			tap_result(0, "%s: test run failed: %s", c->name, strerror(-err));
			continue;
		}
		allow = fx_allowed(c->hook, ret);
		for (int t = 0; t < 4; t++)
			for (int r = 0; r < RP_R__COUNT; r++) {
				after = fx_counter(&f, tenants[t], r);
				moved += after - before[t][r];
				if (tenants[t] == c->tenant && r == c->reason && after != before[t][r] + 1)
					ok_counter = false;
			}
		if (moved != 1)
			ok_counter = false;
		tap_result(allow == c->allow && ok_counter, "%s: %s %s/tenant %u (got %s%s)", c->name,
			   c->allow ? "allow" : "drop", reason_name(c->reason), c->tenant,
			   allow ? "allow" : "drop", ok_counter ? "" : ", counter mismatch");
		if (!ok_counter)
			for (int t = 0; t < 4; t++)
				for (int r = 0; r < RP_R__COUNT; r++)
					if (fx_counter(&f, tenants[t], r) != before[t][r])
						printf("#   counted: tenant %u %s\n", tenants[t], reason_name(r));
	}
	port_segments(&f, &cfg);
	marks(&f);
	sweeps(&f);
	fx_unload(&f);
	evstats_case(&cfg, 1000000, 1000000, 4096, "a full ring buffer, nobody reading", true);
	evstats_case(&cfg, 0, 0, 0, "the shipped event rate limit", false);
	tap_exit();
}
