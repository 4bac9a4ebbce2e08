/* geo_probe.h — shared by tests/bpf/test_geo.c and bench/bench_geo.c: load
 * bpf/geo_probe.bpf.c and ask it for the country of addresses through
 * BPF_PROG_TEST_RUN. */
#ifndef REMPART_TESTS_GEO_PROBE_H
#define REMPART_TESTS_GEO_PROBE_H
#include <errno.h>
#include <string.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "geo_probe.skel.h"
#include "lib/addr.h"

/* An Ethernet + IPv4/IPv6 header with src as source. */
static inline size_t probe_packet(const struct rp_addr *src, unsigned char *pkt)
{
	memset(pkt, 0, 128);
	if (src->family == AF_INET) {
		pkt[12] = 0x08, pkt[13] = 0x00;
		pkt[14] = 0x45;
		pkt[14 + 9] = 17;
		memcpy(pkt + 14 + 12, src->addr, 4);
		return 14 + 20 + 8;
	}
	pkt[12] = 0x86, pkt[13] = 0xdd;
	pkt[14] = 0x60;
	pkt[14 + 6] = 17;
	memcpy(pkt + 14 + 8, src->addr, 16);
	return 14 + 40 + 8;
}

/* One run; returns the country (result_cc) or -errno. */
static inline int probe_lookup(struct geo_probe *skel, const struct rp_addr *src)
{
	unsigned char pkt[128];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .repeat = 1);

	o.data_size_in = probe_packet(src, pkt);
	skel->bss->result_cc = 0xdead;
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.rp_geo_probe), &o))
		return -errno;
	if (o.retval != 2 /* XDP_PASS */)
		return -EPROTO;
	return (int)skel->bss->result_cc;
}
#endif
