// SPDX-License-Identifier: GPL-2.0
/* test_eval_table.c — the evaluator table: tests/eval/cases.txt, one case a
 * line, against the INI configs under tests/eval/ (config_load with
 * RP_CFG_SKIP_KEY_FILES).  Countries come from the config's cidr file,
 * read here by hand into a struct geo_db so that this test judges the
 * evaluator alone.  Usage: test_eval_table [CASES] (default
 * tests/eval/cases.txt, run from the top of the tree).
 *
 * A case:
 *   in|out IFACE SRC DST PROTO SPORT DPORT [vlan=N] [frag=first|later]
 *         [hop=N] [type=N] -> VERDICT REASON TENANT RULE COUNTRY
 * PROTO is tcp, udp, icmp (an echo request), a number, or arp, other (a
 * non-IP ethertype), malformed; "-" stands for nothing (no port, no rule,
 * no country); TENANT is a name or _gateway.  `config NAME` loads
 * tests/eval/NAME for the cases that follow; `uplink P,P...` and
 * `host P,P...` give the gateway addresses on its uplink and on other
 * interfaces (what `explain` reads from the kernel), until the next config.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "config/country.h"
#include "eval/eval.h"
#include "eval/reason.h"
#include "frame.h"
#include "geo/geo_int.h"
#include "packet_parse.h"
#include "tap.h"

#define MIN_CASES 80
#define BENCH_ROUNDS 20000	/* every case of a config judged this many times */
#define BENCH_MAX_NS 20000	/* a loose bound: the machine is shared */

struct state {
	const char *dir;		/* tests/eval */
	bool loaded;
	struct rp_config cfg;
	struct geo_db geo;
	int cases;
	/* the cases of the loaded config, judged again for timing */
	struct { struct eval_where w; struct rp_packet p; } batch[512];
	int nbatch;
	unsigned long judged;
	double ns;
	int bytes_checked, bytes_failed;
};

static int cmp4(const void *a, const void *b)
{
	const struct geo_range4 *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp6(const void *a, const void *b)
{
	const struct geo_range6 *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* "PREFIX,CC" lines (disjoint prefixes) into sorted ranges; codes read as
 * the geo module reads them (geo_cc_parse: EU is no country, UK is GB). */
static int load_cidr(const char *path, struct geo_db *db)
{
	char line[256];
	FILE *f = fopen(path, "r");

	memset(db, 0, sizeof(*db));
	if (!f)
		return -errno;
	db->v4 = calloc(256, sizeof(*db->v4));
	db->v6 = calloc(256, sizeof(*db->v6));
	while (fgets(line, sizeof(line), f)) {
		struct rp_prefix pf;
		char *comma = strchr(line, ',');
		uint16_t cc;

		if (line[0] == '#' || !comma)
			continue;
		*comma = '\0';
		comma[strcspn(comma + 1, "\r\n") + 1] = '\0';
		if (prefix_parse(line, &pf) || geo_cc_parse(comma + 1, &cc) || db->n4 == 256 || db->n6 == 256) {
			fclose(f);
			return -EINVAL;
		}
		if (pf.family == AF_INET) {
			uint32_t lo = (uint32_t)pf.addr[0] << 24 | pf.addr[1] << 16 | pf.addr[2] << 8 | pf.addr[3];
			uint32_t host = pf.len ? (uint32_t)(((uint64_t)1 << (32 - pf.len)) - 1) : UINT32_MAX;

			db->v4[db->n4++] = (struct geo_range4){ lo & ~host, lo | host, cc };
		} else {
			unsigned __int128 lo = 0, host;

			for (int i = 0; i < 16; i++)
				lo = lo << 8 | pf.addr[i];
			host = pf.len ? (((unsigned __int128)1 << (128 - pf.len)) - 1) : ~(unsigned __int128)0;
			db->v6[db->n6++] = (struct geo_range6){ lo & ~host, lo | host, cc };
		}
	}
	fclose(f);
	qsort(db->v4, db->n4, sizeof(*db->v4), cmp4);
	qsort(db->v6, db->n6, sizeof(*db->v6), cmp6);
	return 0;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Judge the batch BENCH_ROUNDS times; the verdicts feed a checksum so the
 * loop is not optimised away. */
static void bench(struct state *st)
{
	struct eval_ctx ctx = { .cfg = &st->cfg, .geo = &st->geo };
	struct eval_result r;
	unsigned long sum = 0;
	double t0 = now_ns();

	for (int round = 0; round < BENCH_ROUNDS; round++) {
		for (int i = 0; i < st->nbatch; i++) {
			eval_packet(&ctx, &st->batch[i].w, &st->batch[i].p, &r);
			sum += r.reason + r.verdict;
		}
	}
	st->ns += now_ns() - t0;
	st->judged += (unsigned long)BENCH_ROUNDS * st->nbatch;
	st->nbatch = 0;
	if (sum == 1)
		printf("# checksum %lu\n", sum);
}

static void unload(struct state *st)
{
	if (!st->loaded)
		return;
	bench(st);
	config_free(&st->cfg);
	free(st->geo.v4);
	free(st->geo.v6);
	st->loaded = false;
}

static int load(struct state *st, const char *name, int lineno)
{
	struct diag d = { 0 };
	char path[PATH_MAX];
	int ret;

	unload(st);
	snprintf(path, sizeof(path), "%s/%s", st->dir, name);
	ret = config_load(path, RP_CFG_SKIP_KEY_FILES, &st->cfg, &d);
	if (ret) {
		tap_result(0, "eval_table:%d: config %s does not load", lineno, path);
		diag_print(&d, stdout);
		diag_free(&d);
		return ret;
	}
	diag_free(&d);
	ret = st->cfg.geo_ipv4 ? load_cidr(st->cfg.geo_ipv4, &st->geo) : 0;
	if (ret) {
		tap_result(0, "eval_table:%d: %s: cannot read the cidr file", lineno, st->cfg.geo_ipv4);
		config_free(&st->cfg);
		return ret;
	}
	st->loaded = true;
	return 0;
}

static int parse_proto(const char *s, struct rp_packet *p)
{
	char *end;
	long n;

	if (!strcmp(s, "tcp"))
		return IPPROTO_TCP;
	if (!strcmp(s, "udp"))
		return IPPROTO_UDP;
	if (!strcmp(s, "icmp"))
		return p->src.family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	n = strtol(s, &end, 10);
	return *end || n < 0 || n > 255 ? -1 : (int)n;
}

static long num(const char *s, long max)
{
	char *end;
	long n;

	if (!strcmp(s, "-"))
		return 0;
	n = strtol(s, &end, 10);
	return *end || n < 0 || n > max ? -1 : n;
}

/* Build the packet and the hook from the left side of a case; 0 or -1. */
static int build(const struct state *st, char **tok, int n, struct rp_packet *p,
		 struct eval_where *w)
{
	struct rp_addr src = { 0 }, dst = { 0 };
	long sport, dport, vlan = 0, hop = -1, type = -1;
	enum rp_frag frag = RP_FRAG_NONE;
	int proto = 0;

	if (n < 7 || (strcmp(tok[0], "in") && strcmp(tok[0], "out")))
		return -1;
	sport = num(tok[5], 65535);
	dport = num(tok[6], 65535);
	if (sport < 0 || dport < 0)
		return -1;
	for (int i = 7; i < n; i++) {
		if (!strncmp(tok[i], "vlan=", 5))
			vlan = num(tok[i] + 5, 4094);
		else if (!strncmp(tok[i], "hop=", 4))
			hop = num(tok[i] + 4, 255);
		else if (!strncmp(tok[i], "type=", 5))
			type = num(tok[i] + 5, 255);
		else if (!strcmp(tok[i], "frag=first"))
			frag = RP_FRAG_FIRST;
		else if (!strcmp(tok[i], "frag=later"))
			frag = RP_FRAG_LATER;
		else
			return -1;
		if (vlan < 0)
			return -1;
	}
	if (!strcmp(tok[4], "arp") || !strcmp(tok[4], "other") || !strcmp(tok[4], "malformed")) {
		memset(p, 0, sizeof(*p));
		p->kind = tok[4][0] == 'a' ? RP_PKT_ARP : tok[4][0] == 'o' ? RP_PKT_OTHER_L2 : RP_PKT_IP;
		p->malformed = tok[4][0] == 'm';
	} else {
		if (addr_parse(tok[2], &src) || addr_parse(tok[3], &dst) || src.family != dst.family)
			return -1;
		p->src = src;
		proto = parse_proto(tok[4], p);
		if (proto < 0)
			return -1;
		packet_from_tuple(p, &src, &dst, (uint8_t)proto, (uint16_t)sport, (uint16_t)dport, frag);
		if (hop >= 0)
			p->hop_limit = (uint8_t)hop;
		if (type >= 0)
			p->icmp_type = (uint8_t)type;
	}
	p->vlan = (uint16_t)vlan;
	return eval_where_from_ifname(&st->cfg, tok[1], (uint16_t)vlan, tok[0][0] == 'o', w) ? -1 : 0;
}

/* The case's packet as bytes: Ethernet (+ one 802.1Q tag for vlan) unless
 * l2 is false, IPv4 or IPv6 (a fragment header for IPv6 fragments), then
 * the L4 header, or 8 bytes of payload for a later fragment. */
static void frame_of(struct fb *f, const struct rp_packet *p, bool l2, uint16_t vlan)
{
	uint16_t tpid = ETH_P_8021Q;
	bool v6 = p->src.family == AF_INET6;
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	addr_format(&p->src, s, sizeof(s));
	addr_format(&p->dst, d, sizeof(d));
	f->n = 0;
	if (l2)
		eth(f, vlan ? 1 : 0, &tpid, &vlan, v6 ? ETH_P_IPV6 : ETH_P_IP);
	if (!v6) {
		ip4(f, p->proto, 0, p->frag == RP_FRAG_FIRST ? 0x2000 : p->frag == RP_FRAG_LATER ? 0x2001 : 0,
		    s, d);
		f->b[f->ip + 8] = p->hop_limit;
	} else if (p->frag) {
		ip6(f, IPPROTO_FRAGMENT, p->hop_limit, s, d);
		frag6(f, p->proto, p->frag == RP_FRAG_LATER ? 1 : 0, 1, 99);
	} else {
		ip6(f, p->proto, p->hop_limit, s, d);
	}
	if (p->frag == RP_FRAG_LATER || !p->l4_present)
		pz(f, 8);
	else if (p->proto == IPPROTO_TCP)
		tcp(f, p->sport, p->dport, p->tcp_flags, 5);
	else if (p->proto == IPPROTO_UDP)
		udp(f, p->sport, p->dport);
	else
		icmp(f, p->icmp_type, p->icmp_code);
	fin(f);
}

/* The interface without a ".VID" suffix, and that VID. */
static void split_iface(const char *in, char *base, size_t len, uint16_t *vid)
{
	const char *dot = strrchr(in, '.');

	snprintf(base, len, "%s", in);
	if (dot && dot[1] >= '0' && dot[1] <= '9' && strspn(dot + 1, "0123456789") == strlen(dot + 1)) {
		base[dot - in] = '\0';
		*vid = (uint16_t)atoi(dot + 1);
	}
}

/* Judge the case again as the dataplane sees it: bytes through
 * packet_parse, the hook from the interface and the parsed VLAN id. */
static bool same_from_bytes(struct state *st, const struct eval_ctx *ctx, char **tok,
			    const struct eval_where *w, const struct rp_packet *p,
			    const struct eval_result *want, int lineno)
{
	bool l2 = w->hook != RP_HOOK_TUNNEL_IN;
	struct eval_where w2;
	struct eval_result r;
	struct rp_packet q;
	char base[64];
	uint16_t vid = p->vlan;
	struct fb f;

	if (p->kind != RP_PKT_IP || p->malformed)
		return true;
	split_iface(tok[1], base, sizeof(base), &vid);
	frame_of(&f, p, l2, w->hook == RP_HOOK_CLOUD_IN ? vid : 0);
	st->bytes_checked++;
	if (packet_parse(f.b, f.n, l2, &q) ||
	    eval_where_from_ifname(&st->cfg, base, l2 ? q.vlan : 0, tok[0][0] == 'o', &w2)) {
		tap_result(0, "eval_table:%d: the case's frame does not parse, or its hook is unknown", lineno);
		return false;
	}
	eval_packet(ctx, &w2, &q, &r);
	if (r.verdict == want->verdict && r.reason == want->reason && r.tenant == want->tenant &&
	    r.rule == want->rule && r.country == want->country)
		return true;
	tap_result(0, "eval_table:%d: judged from its bytes: %s %s tenant %d (from the tuple: %s %s tenant %d)",
		   lineno, verdict_name(r.verdict), reason_name(r.reason), r.tenant,
		   verdict_name(want->verdict), reason_name(want->reason), want->tenant);
	return false;
}

/* "uplink P,P..." / "host P,P...": the gateway's addresses as the kernel
 * would have them (struct rp_host_addrs): on the uplink (and so on the
 * gateway), or on another interface.  They last until the next config. */
static void host_addrs(struct state *st, char *s, int lineno)
{
	bool up = s[0] == 'u';
	char *tok, *save;

	for (tok = strtok_r(s + (up ? 7 : 5), ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct rp_prefix p;

		if (prefix_parse(tok, &p)) {
			tap_result(0, "eval_table:%d: '%s' is not a prefix", lineno, tok);
			continue;
		}
		for (int k = 0; k < 1 + up; k++) {
			struct rp_prefix_list *l = k ? &st->cfg.host.uplink : &st->cfg.host.all;

			l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
			l->v[l->n++] = p;
		}
	}
}

static const char *tenant_name(const struct rp_config *cfg, int t)
{
	return t < 0 ? RP_GATEWAY_TENANT_NAME : cfg->tenants[t].name;
}

static void run_case(struct state *st, char *line, int lineno)
{
	char *arrow = strstr(line, "->"), *tok[16], *want[8], *save;
	char got_cc[3], desc[256];
	struct eval_ctx ctx = { .cfg = &st->cfg, .geo = &st->geo };
	struct eval_where w;
	struct rp_packet p;
	struct eval_result r;
	int n = 0, m = 0;
	bool ok;

	*arrow = '\0';
	snprintf(desc, sizeof(desc), "%s", line);
	desc[strcspn(desc, "\n")] = '\0';
	for (char *t = strtok_r(line, " \t", &save); t && n < 16; t = strtok_r(NULL, " \t", &save))
		tok[n++] = t;
	for (char *t = strtok_r(arrow + 2, " \t\n", &save); t && m < 8; t = strtok_r(NULL, " \t\n", &save))
		want[m++] = t;
	st->cases++;
	if (!st->loaded || m != 5 || reason_from_name(want[1]) < 0 ||
	    (strcmp(want[0], "allow") && strcmp(want[0], "drop")) || build(st, tok, n, &p, &w)) {
		tap_result(0, "eval_table:%d: bad case or unknown interface: %s", lineno, desc);
		return;
	}
	eval_packet(&ctx, &w, &p, &r);
	if (!same_from_bytes(st, &ctx, tok, &w, &p, &r, lineno))
		st->bytes_failed++;
	if (st->nbatch < (int)(sizeof(st->batch) / sizeof(st->batch[0]))) {
		st->batch[st->nbatch].w = w;
		st->batch[st->nbatch++].p = p;
	}
	cc_format(r.country, got_cc);
	if (r.country == RP_CC_NONE)
		strcpy(got_cc, "-");
	ok = !strcmp(want[0], verdict_name(r.verdict)) && !strcmp(want[1], reason_name(r.reason)) &&
	     !strcmp(want[2], tenant_name(&st->cfg, r.tenant)) &&
	     !strcmp(want[3], r.rule ? r.rule : "-") && !strcasecmp(want[4], got_cc);
	tap_result(ok, "eval_table:%d: %s-> %s %s %s %s %s%s%s %s %s %s %s%s%s", lineno, desc,
		   want[0], want[1], want[2], want[3], want[4],
		   ok ? "" : " (got ", ok ? "" : verdict_name(r.verdict),
		   ok ? "" : reason_name(r.reason), ok ? "" : tenant_name(&st->cfg, r.tenant),
		   ok ? "" : r.rule ? r.rule : "-", ok ? "" : got_cc,
		   ok ? "" : ": ", ok ? "" : r.why);
}

int main(int argc, char **argv)
{
	const char *cases = argc > 1 ? argv[1] : "tests/eval/cases.txt";
	struct state st = { 0 };
	char line[512], dir[PATH_MAX];
	int lineno = 0;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", cases);
	st.dir = strrchr(dir, '/') ? (*strrchr(dir, '/') = '\0', dir) : ".";
	f = fopen(cases, "r");
	if (!f) {
		tap_result(0, "eval_table: cannot open %s: %s", cases, strerror(errno));
		tap_exit();
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t");

		lineno++;
		if (*s == '#' || *s == '\n' || !*s)
			continue;
		if (!strncmp(s, "config ", 7)) {
			s[strcspn(s, "\n")] = '\0';
			load(&st, s + 7, lineno);
			continue;
		}
		if (!strncmp(s, "uplink ", 7) || !strncmp(s, "host ", 5)) {
			s[strcspn(s, "\n")] = '\0';
			host_addrs(&st, s, lineno);
			continue;
		}
		if (!strstr(s, "->")) {
			tap_result(0, "eval_table:%d: no '->' in the case", lineno);
			continue;
		}
		run_case(&st, s, lineno);
	}
	fclose(f);
	unload(&st);
	tap_result(st.cases >= MIN_CASES, "eval_table: %d cases (at least %d)", st.cases, MIN_CASES);
	tap_result(st.bytes_checked >= MIN_CASES && !st.bytes_failed,
		   "eval_table: %d IP cases judged alike from their bytes (packet_parse) and from "
		   "their tuple (%d differ)", st.bytes_checked, st.bytes_failed);
	if (st.judged)
		tap_result(st.ns / st.judged < BENCH_MAX_NS,
			   "eval_table: %lu packets judged in %.0f ms: %.0f ns/packet (bound %d)",
			   st.judged, st.ns / 1e6, st.ns / st.judged, BENCH_MAX_NS);
	tap_exit();
}
