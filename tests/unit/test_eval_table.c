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
 * tests/eval/NAME for the cases that follow.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "country.h"
#include "eval.h"
#include "reason.h"
#include "tap.h"

#define MIN_CASES 80

struct state {
	const char *dir;		/* tests/eval */
	bool loaded;
	struct rp_config cfg;
	struct geo_db geo;
	int cases;
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

/* "PREFIX,CC" lines (disjoint prefixes) into sorted ranges. */
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
		if (prefix_parse(line, &pf) || cc_parse(comma + 1, &cc) || db->n4 == 256 || db->n6 == 256) {
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

static void unload(struct state *st)
{
	if (!st->loaded)
		return;
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
		if (!strstr(s, "->")) {
			tap_result(0, "eval_table:%d: no '->' in the case", lineno);
			continue;
		}
		run_case(&st, s, lineno);
	}
	fclose(f);
	unload(&st);
	tap_result(st.cases >= MIN_CASES, "eval_table: %d cases (at least %d)", st.cases, MIN_CASES);
	tap_exit();
}
