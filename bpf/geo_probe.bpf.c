// SPDX-License-Identifier: GPL-2.0
/* geo_probe.bpf.c — test and benchmark harness for bpf/geo.h, run only
 * through BPF_PROG_TEST_RUN (never attached).
 *
 * rp_geo_probe (XDP) reads the packet's IPv4/IPv6 source address; `mode`
 * says what it does with it:
 *   PROBE_GEO      look it up with rp_geo_lookup_v4/v6 (result in result_cc)
 *   PROBE_NONE     parse only: the cost of everything but the lookup
 *   PROBE_TRIE     look it up in the LPM tries (the baseline)
 * With `random` set, the address is not the packet's: BPF_PROG_TEST_RUN
 * repeats one packet, so each run picks one of n_addrs pre-filled addresses
 * of probe_addrs with bpf_get_prandom_u32() (cheap, per-CPU, and the same
 * cost in every mode, so the difference between modes is the lookup).
 * Every mode reads the address the same way, so PROBE_NONE is the baseline
 * to subtract. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "geo.h"

enum { PROBE_GEO = 0, PROBE_NONE = 1, PROBE_TRIE = 2 };

__u32 mode;
__u32 random;
__u32 n_addrs;
__u32 result_cc;
__u64 sink;

struct probe_addr {
	__u8 a[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);		/* resized before load */
	__type(key, __u32);
	__type(value, struct probe_addr);
} probe_addrs SEC(".maps");

struct trie4_key {
	__u32 prefixlen;
	__u8 a[4];
};

struct trie6_key {
	__u32 prefixlen;
	__u8 a[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);		/* resized before load */
	__type(key, struct trie4_key);
	__type(value, __u16);
} probe_trie4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct trie6_key);
	__type(value, __u16);
} probe_trie6 SEC(".maps");

static __always_inline __u16 lookup(int v6, const __u8 *a)
{
	if (mode == PROBE_GEO) {
		if (v6)
			return rp_geo_lookup_v6(a);
		__u32 x;

		__builtin_memcpy(&x, a, 4);
		return rp_geo_lookup_v4(x);
	}
	if (mode == PROBE_TRIE) {
		__u16 *cc;

		if (v6) {
			struct trie6_key k = { .prefixlen = 128 };

			__builtin_memcpy(k.a, a, 16);
			cc = bpf_map_lookup_elem(&probe_trie6, &k);
		} else {
			struct trie4_key k = { .prefixlen = 32 };

			__builtin_memcpy(k.a, a, 4);
			cc = bpf_map_lookup_elem(&probe_trie4, &k);
		}
		return cc ? *cc : RP_CC_NONE;
	}
	sink += a[0];
	return RP_CC_NONE;
}

SEC("xdp")
int rp_geo_probe(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct probe_addr *pa;
	const __u8 *src;
	int v6;

	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > end)
			return XDP_ABORTED;
		src = (const __u8 *)&iph->saddr;
		v6 = 0;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = (void *)(eth + 1);

		if ((void *)(ip6h + 1) > end)
			return XDP_ABORTED;
		src = ip6h->saddr.in6_u.u6_addr8;
		v6 = 1;
	} else {
		return XDP_DROP;
	}
	if (random && n_addrs) {
		__u32 k = bpf_get_prandom_u32() % n_addrs;

		pa = bpf_map_lookup_elem(&probe_addrs, &k);
		if (!pa)
			return XDP_ABORTED;
		src = pa->a;
	}
	result_cc = lookup(v6, src);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
