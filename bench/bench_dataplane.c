// SPDX-License-Identifier: GPL-2.0
/* bench_dataplane.c — ns per packet of each rempart program through
 * BPF_PROG_TEST_RUN, next to a trivial XDP_PASS program measured in the
 * same run, for 10, 1,000, 10,000 and 100,000 rules, with the whole Tor geo
 * database loaded (/usr/share/tor/geoip, geoip6).  Prints one JSON object
 * per line (bench/run-all.sh collects them).
 *
 * The config: tests/bpf/fixture_cfg.h's three tenants, and alpha gets N
 * more rules, each with its own destination /28 inside 10.0.0.0/8 (its
 * cloud), half `from = sites` (tcp 443, 8443-8450), half `from = cloud`
 * (tcp 22), allow and deny alternating.  The measured frames hit the rule
 * in the middle of the list:
 *   uplink_in   UDP to alpha's listen port from a French address (geo lookup, allowed)
 *   cloud_in    alpha's cloud -> the rule after the middle one (from cloud), TCP 22
 *   tunnel_in   a site -> the middle rule's /28, TCP 443 (rule table lookup)
 *   uplink_out  the gateway -> the internet, TCP (clear-text check, flow kept)
 * Each value is the median of ROUNDS rounds of REPEAT repeats (the
 * kernel's own per-run average); "baseline" is xdp_pass's median, "ratio"
 * value / baseline.  Also: compile + install time per rule count, and the
 * cost at 100,000 rules relative to 10 for each program; and for the XDP
 * programs, packets per second through a real veth with the program
 * attached, next to the trivial program (bench/dp_veth.h says how).
 * The TC programs (tunnel_in, uplink_out) are also set against tc_pass, a
 * TC program that returns at once, run through the same BPF_PROG_TEST_RUN
 * path (an skb is built for each run: a few ns that XDP does not pay):
 * "<prog>_ns_<N>_rules_vs_tc_pass" is the same figure with that baseline.
 *
 * Usage: bench_dataplane [ROUNDS [REPEAT]]   (default 5, 1000000)
 * DP_COUNTS=10,1000  only these rule counts (a comma list; default the four)
 * DP_OBJ=file.bpf.o  measure that object instead of this build's, in this
 *                    build's skeleton layout (bench/dp_profile.sh)
 * DP_VETH=0 / DP_VETH_MS=1000  the packets per second (bench/dp_veth.h)
 */
#include <time.h>
#include <linux/pkt_cls.h>
#include "bpf/fixture_cfg.h"
#include "config/country.h"
#include "geo/geo.h"
#include "geo/geo_bpf.h"
#include "lib/clock.h"

static int rounds = 5;
static unsigned repeat = 1000000;

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n, double *lo, double *hi)
{
	qsort(v, n, sizeof(*v), dcmp);
	*lo = v[0];
	*hi = v[n - 1];
	return v[n / 2];
}

static void emit(const char *metric, double value, double lo, double hi, const char *unit,
		 int n, double baseline, const char *note)
{
	printf("{\"bench\": \"dataplane\", \"metric\": \"%s\", \"value\": %.6g, \"min\": %.6g, "
	       "\"max\": %.6g, \"unit\": \"%s\", \"rounds\": %d", metric, value, lo, hi, unit, n);
	if (baseline > 0)
		printf(", \"baseline\": %.6g, \"ratio\": %.4g", baseline, value / baseline);
	if (note)
		printf(", \"note\": \"%s\"", note);
	printf("}\n");
	fflush(stdout);
}

/* The TC baseline: a SCHED_CLS program that returns TC_ACT_OK at once
 * (two instructions, loaded here: not part of the rempart object). */
static int tc_pass_load(void)
{
	static const struct bpf_insn insn[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = TC_ACT_OK },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "tc_pass", "GPL", insn, 2, NULL);

	if (fd < 0)
		fprintf(stderr, "bench_dataplane: tc_pass: %s\n", strerror(errno));
	return fd;
}

#include "dp_veth.h"	/* packets per second (native XDP on a veth) */

/* One round: ns per run of prog on frame. */
static double measure(int prog, bool xdp, unsigned ifindex, const uint8_t *pkt, size_t n)
{
	unsigned ns = 0;
	int ret;

	if (fx_run_prog(prog, xdp, ifindex, pkt, n, repeat, &ret, &ns)) {
		fprintf(stderr, "bench_dataplane: BPF_PROG_TEST_RUN: %s\n", strerror(errno));
		exit(1);
	}
	return ns;
}

static void add_rules(struct rp_config *c, unsigned n)
{
	struct rp_tenant *t = &c->tenants[0];
	char to[32], name[32];

	t->rules = realloc(t->rules, (t->n_rules + n + 1) * sizeof(*t->rules));
	memset(t->rules + t->n_rules, 0, (n + 1) * sizeof(*t->rules));
	for (unsigned i = 0; i < n; i++) {
		/* 10.0.0.0/8 in /28s: rule i owns 10.(i>>12).((i>>4)&255).((i&15)<<4)/28 */
		snprintf(to, sizeof(to), "10.%u.%u.%u/28", 100 + (i >> 12), (i >> 4) & 255, (i & 15) << 4);
		snprintf(name, sizeof(name), "bulk%u", i);
		if (i % 2 == 0)
			fx_rule(t, name, "sites", to, "tcp", "443, 8443-8450", i % 4 == 0);
		else
			fx_rule(t, name, "cloud", to, "tcp", "22", i % 4 == 1);
	}
}

/* A TC program against tc_pass in the same rounds (tcb: tc_pass's ns, v:
 * the program's; xb: xdp_pass's median). */
static void emit_tc_pass(const char *prog, unsigned n, double *tcb, double *v, int nr, double xb)
{
	double lo, hi, b = median(tcb, nr, &lo, &hi), pv;
	char name[64], note[160];

	emit((snprintf(name, sizeof(name), "tc_pass_ns_with_%s_%u_rules", prog, n), name), b, lo, hi, "ns",
	     nr, xb, "a TC program that returns at once, same harness as the TC programs; "
	     "ratio = value / xdp_pass: what the harness's skb costs");
	pv = median(v, nr, &lo, &hi);
	snprintf(note, sizeof(note), "%s against tc_pass in the same run (ns above it = value - baseline)", prog);
	emit((snprintf(name, sizeof(name), "%s_ns_%u_rules_vs_tc_pass", prog, n), name), pv, lo, hi, "ns",
	     nr, b, note);
}

/* DP_OBJ: the object's bytes, for fx_load() (tests/bpf/fixture.h). */
static int read_obj(const char *path)
{
	FILE *fp = fopen(path, "rb");
	static char *buf;
	long n;

	if (!fp || fseek(fp, 0, SEEK_END) || (n = ftell(fp)) <= 0 || fseek(fp, 0, SEEK_SET) ||
	    !(buf = malloc(n)) || fread(buf, 1, n, fp) != (size_t)n) {
		fprintf(stderr, "bench_dataplane: DP_OBJ=%s: cannot read it\n", path);
		if (fp)
			fclose(fp);
		return -1;
	}
	fclose(fp);
	fx_elf = buf;
	fx_elf_sz = n;
	fprintf(stderr, "bench_dataplane: measuring %s\n", path);
	return 0;
}

/* DP_COUNTS: up to four rule counts (10..100000), else the default. */
static unsigned parse_counts(const char *s, unsigned *counts)
{
	unsigned v[4], n = 0;
	char *end;

	while (*s && n < 4) {
		unsigned long x = strtoul(s, &end, 10);

		if (end == s || x < 10 || x > 100000 || (*end && *end != ','))
			break;
		v[n++] = x;
		s = *end ? end + 1 : end;
	}
	if (*s || n == 0) {
		fprintf(stderr, "bench_dataplane: DP_COUNTS: a comma list of up to four counts in 10..100000; "
			"using the default\n");
		return 4;
	}
	memcpy(counts, v, n * sizeof(*v));
	return n;
}

int main(int argc, char **argv)
{
	unsigned counts[4] = { 10, 1000, 10000, 100000 }, n_counts = 4;
	static const char *const names[RP_HOOK__COUNT] = { "uplink_in", "uplink_out", "cloud_in", "tunnel_in" };
	double at[RP_HOOK__COUNT][4] = { { 0 } };
	struct geo_db geo = { 0 };
	struct diag d = { 0 };
	struct fx f;
	char fr_src[32] = "", note[160];
	uint16_t fr_cc;
	double t;
	int tc_pass;

	if (argc > 1)
		rounds = atoi(argv[1]);
	if (argc > 2)
		repeat = strtoul(argv[2], NULL, 0);
	if (rounds < 1)
		rounds = 1;
	if (rounds > 64) {	/* the per-round arrays hold 64 */
		fprintf(stderr, "bench_dataplane: DP_ROUNDS %d: at most 64 rounds, 64 taken\n", rounds);
		rounds = 64;
	}
	if (getenv("DP_OBJ") && read_obj(getenv("DP_OBJ")))
		return 1;
	if (getenv("DP_COUNTS"))
		n_counts = parse_counts(getenv("DP_COUNTS"), counts);
	if (fx_netns() || fx_load(&f, false)) {
		fprintf(stderr, "bench_dataplane: set-up failed\n");
		return 1;
	}
	if ((tc_pass = tc_pass_load()) < 0)
		return 1;
	t = clock_ms();
	if (geo_load_file(&geo, "/usr/share/tor/geoip", RP_GEO_TOR, AF_INET, &d) ||
	    geo_load_file(&geo, "/usr/share/tor/geoip6", RP_GEO_TOR, AF_INET6, &d) ||
	    geo_bpf_load(bpf_map__fd(f.skel->maps.rp_geo), &geo, &d)) {
		diag_print(&d, stderr);
		return 1;
	}
	fprintf(stderr, "bench_dataplane: Tor geo database loaded (%zu + %zu ranges) in %.0f ms\n",
		geo.n4, geo.n6, clock_ms() - t);
	/* a French address for the uplink frame */
	cc_parse("FR", &fr_cc);
	for (size_t i = 0; i < geo.n4; i++)
		if (geo.v4[i].cc == fr_cc) {
			uint32_t a = htonl(geo.v4[i].lo + (geo.v4[i].hi - geo.v4[i].lo) / 2);

			inet_ntop(AF_INET, &a, fr_src, sizeof(fr_src));
			break;
		}

	for (unsigned ci = 0; ci < n_counts; ci++) {
		unsigned n = counts[ci], mid = n / 2 - (n / 2) % 4;	/* an allow rule from sites */
		char dst_tun[32], dst_cl[32], name[64];
		struct rp_config c;
		struct {
			int hook;
			const char *ifname;
			struct ps s;
		} fr[RP_HOOK__COUNT] = {
			{ RP_HOOK_UPLINK_IN, "dpup", { .fam = 4, .src = fr_src, .dst = "198.51.100.2", .proto = 17,
						       .sport = 40000, .dport = 51810, .payload = 32 } },
			{ RP_HOOK_UPLINK_OUT, "dpup", { .fam = 4, .src = "198.51.100.2", .dst = "93.184.216.34",
							.proto = 6, .sport = 40000, .dport = 443 } },
			{ RP_HOOK_CLOUD_IN, "dpcloud", { .fam = 4, .src = "10.20.1.10", .dst = dst_cl,
							 .proto = 6, .sport = 40000, .dport = 22 } },
			{ RP_HOOK_TUNNEL_IN, "dptun1", { .fam = 4, .src = "10.120.1.5", .dst = dst_tun,
							 .proto = 6, .sport = 40000, .dport = 443 } },
		};
		double base[64], tcb[64], v[64], lo, hi, b, install;

		snprintf(dst_tun, sizeof(dst_tun), "10.%u.%u.%u", 100 + (mid >> 12), (mid >> 4) & 255,
			 ((mid & 15) << 4) + 1);
		snprintf(dst_cl, sizeof(dst_cl), "10.%u.%u.%u", 100 + ((mid + 1) >> 12), ((mid + 1) >> 4) & 255,
			 (((mid + 1) & 15) << 4) + 1);
		fx_config_a(&c, false);
		c.tenants[0].cloud_prefixes = fx_plist("10.0.0.0/8, fd00:20::/48");
		add_rules(&c, n);
		t = clock_ms();
		if (dp_policy_install(&f.m, &c, NULL, NULL, &d)) {
			diag_print(&d, stderr);
			return 1;
		}
		install = clock_ms() - t;
		emit((snprintf(name, sizeof(name), "install_ms_%u_rules", n), name), install, install, install,
		     "ms", 1, 0, "compile + fill the inactive slot + swap + clear the old one");
		for (int h = 0; h < RP_HOOK__COUNT; h++) {
			uint8_t pkt[PK_MAX];
			size_t len = pk_build(&fr[h].s, pkt);
			unsigned ifi = if_nametoindex(fr[h].ifname);
			int ret;

			/* the verdict this frame gets (and warm-up) */
			fx_run_prog(f.prog[fr[h].hook], fx_is_xdp(fr[h].hook), ifi, pkt, len, 1, &ret, NULL);
			if (!fx_allowed(fr[h].hook, ret))
				fprintf(stderr, "bench_dataplane: %s frame is dropped (measured anyway)\n", names[h]);
			for (int r = 0; r < rounds; r++) {
				/* baseline and program in the same round, back to back */
				uint8_t bp[64];
				struct ps bs = { .fam = 4, .src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17 };
				size_t bl = pk_build(&bs, bp);

				base[r] = measure(f.pass_prog, true, ifi, bp, bl);
				v[r] = measure(f.prog[fr[h].hook], fx_is_xdp(fr[h].hook), ifi, pkt, len);
				tcb[r] = fx_is_xdp(fr[h].hook) ? 0 : measure(tc_pass, false, ifi, pkt, len);
			}
			b = median(base, rounds, &lo, &hi);
			emit((snprintf(name, sizeof(name), "xdp_pass_ns_with_%s_%u_rules", names[h], n), name),
			     b, lo, hi, "ns", rounds, 0, NULL);
			at[fr[h].hook][ci] = median(v, rounds, &lo, &hi);
			snprintf(note, sizeof(note), "%s, ratio = value / xdp_pass in the same run%s", names[h],
				 h == RP_HOOK_UPLINK_IN ? ", Tor geo database loaded" : "");
			emit((snprintf(name, sizeof(name), "%s_ns_%u_rules", names[h], n), name),
			     at[fr[h].hook][ci], lo, hi, "ns", rounds, b, note);
			if (!fx_is_xdp(fr[h].hook))
				emit_tc_pass(names[h], n, tcb, v, rounds, b);
			else
				dp_veth_pps(f.prog[fr[h].hook], f.pass_prog, fr[h].ifname, pkt, len, names[h], n);
		}
	}
	for (int h = 0; h < RP_HOOK__COUNT && n_counts == 4; h++) {
		char name[64];

		snprintf(name, sizeof(name), "%s_100k_vs_10_rules", names[h]);
		emit(name, at[h][3] / at[h][0], at[h][3] / at[h][0], at[h][3] / at[h][0], "x", 1, 0,
		     "ns at 100,000 rules / ns at 10 rules (target <= 1.2)");
	}
	close(tc_pass);
	fx_unload(&f);
	geo_free(&geo);
	return 0;
}
