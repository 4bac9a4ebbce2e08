// SPDX-License-Identifier: GPL-2.0
/* fuzz_packet.c — libFuzzer harness for the reference packet parser and the
 * evaluator.  The first input byte picks the interface (uplink in/out, a
 * tunnel, a cloud interface), the rest is the frame (a bare IP packet for a
 * tunnel).  Each frame is parsed and judged against tests/eval/base (loaded
 * once, run from the top of the tree) with a small geo database; the
 * harness traps when an invariant of packet.h / eval.h breaks.
 * Build: make tests (build/fuzz/fuzz_packet); run: tests/fuzz/run.sh fuzz_packet. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "eval/eval.h"
#include "packet_parse.h"

static struct rp_config cfg;
static struct geo_db geo;
static struct geo_range4 r4[] = { { 0x0a000000, 0x0affffff, 5 * 26 + 17 },	/* 10/8 FR */
				  { 0xc0000200, 0xc00002ff, 5 * 26 + 17 },	/* 192.0.2/24 FR */
				  { 0xcb007100, 0xcb0071ff, 3 * 26 + 4 } };	/* 203.0.113/24 DE */
static struct geo_range6 r6[1];
static const char *const ifaces[] = { "eth0", "eth0", "wg-alpha", "wg-beta", "wg-gamma",
				      "wg-delta", "eth1", "eth2", "eth3" };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct diag d = { 0 };

	if (config_load("tests/eval/base", RP_CFG_SKIP_KEY_FILES, &cfg, &d))
		abort();
	diag_free(&d);
	r6[0].lo = (unsigned __int128)0x20010db8 << 96;
	r6[0].hi = r6[0].lo | (((unsigned __int128)1 << 96) - 1);	/* 2001:db8::/32 */
	r6[0].cc = 20 * 26 + 18;	/* US */
	geo.v4 = r4;
	geo.n4 = sizeof(r4) / sizeof(r4[0]);
	geo.v6 = r6;
	geo.n6 = 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eval_ctx ctx = { .cfg = &cfg, .geo = &geo };
	struct eval_where w;
	struct eval_result r;
	struct rp_packet p;
	unsigned which;
	bool l2;
	int ret;

	if (!size)
		return 0;
	which = data[0] % (sizeof(ifaces) / sizeof(ifaces[0]));
	l2 = strncmp(ifaces[which], "wg-", 3) != 0;
	ret = packet_parse(data + 1, size - 1, l2, &p);
	if ((ret != 0 && ret != RP_R_MALFORMED) || (ret != 0) != p.malformed || p.len != size - 1)
		__builtin_trap();
	if (!ret && p.kind == RP_PKT_IP) {
		if (p.src.family != p.dst.family || (p.frag == RP_FRAG_LATER && p.l4_present) ||
		    (!p.l4_present && (p.sport || p.dport)) ||
		    (p.has_inner && p.inner_src.family != p.src.family))
			__builtin_trap();
	}
	if (eval_where_from_ifname(&cfg, ifaces[which], l2 ? p.vlan : 0, which == 1, &w))
		__builtin_trap();
	eval_packet(&ctx, &w, &p, &r);
	if (!r.why || (r.verdict != RP_ALLOW && r.verdict != RP_DROP) || r.reason >= RP_R__COUNT ||
	    r.tenant < -1 || r.tenant >= (int)cfg.n_tenants ||
	    (p.malformed && (r.verdict != RP_DROP || r.reason != RP_R_MALFORMED)) ||
	    (r.verdict == RP_ALLOW) != (r.reason == RP_R_ALLOWED || r.reason == RP_R_MANAGEMENT))
		__builtin_trap();
	return 0;
}
