// SPDX-License-Identifier: GPL-2.0
/* test_audit_route.c — the audit's routing model (userspace/audit/
 * audit_route.c) against the kernel itself.
 *
 * In a private network namespace: six veth interfaces with addresses, then
 * ROUTE_ROUNDS (default 12) rounds of random policy routing — rules on iif,
 * fwmark/mask, from/to, ipproto and port ranges, "not", goto, nop,
 * suppress_prefixlength, unreachable/blackhole/prohibit actions; tables with
 * unicast (some multipath), unreachable, blackhole, prohibit and throw
 * routes of random metrics over overlapping prefixes, some interfaces down;
 * random forwarding and rp_filter settings — read back over rtnetlink, and
 * for ROUTE_PACKETS (default 3000) random packets per round the model's
 * answer (rt_route, and rt_rpf_ok for IPv4) is compared with the kernel's
 * (RTM_GETROUTE with the input interface, mark, protocol and ports): the
 * same interface (one of the model's, for multipath), local delivery, or a
 * refusal.  Each round also checks rt_src_sig, on which the audit's walk
 * caches the routing of a source class: pairs of packets that differ only
 * by source and share a signature get the same partition of every
 * destination.  ROUTE_SEED replays a run. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/rtnetlink.h>
#include "audit/audit_route.h"
#include "kernel/netlink_fib.h"
#include "tap.h"
#include "xorshift.h"

static uint64_t rs;
static uint64_t rnd64(void) { return xorshift64(&rs); }
static unsigned rnd(unsigned n) { return n ? rnd64() % n : 0; }
static int chance(unsigned pct) { return rnd(100) < pct; }

#define NDEV 6
static const char *devs[NDEV] = { "rta", "rtb", "rtc", "rtd", "rte", "rtf" };

static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	return system(cmd);
}

/* Prefixes from a small pool, so that they nest and overlap. */
static void pfx4(char *b, size_t n)
{
	static const unsigned len[] = { 0, 8, 16, 20, 24, 25, 28, 32 };
	unsigned l = len[rnd(8)];

	snprintf(b, n, "10.%u.%u.%u/%u", rnd(3), rnd(4) * 16, rnd(4) * 64, l);
}

static void pfx6(char *b, size_t n)
{
	static const unsigned len[] = { 0, 16, 32, 48, 56, 64, 120, 128 };

	snprintf(b, n, "fd00:%x:%x::%x/%u", rnd(3), rnd(4) * 16, rnd(4) * 64, len[rnd(8)]);
}

static void pfx(int v6, char *b, size_t n)
{
	if (v6)
		pfx6(b, n);
	else
		pfx4(b, n);
}

static void random_round(void)
{
	char p[64];

	sh("ip -4 rule flush; ip -6 rule flush; ip -4 rule add pref 0 lookup local 2>/dev/null;"
	   "ip -6 rule add pref 0 lookup local 2>/dev/null;"
	   "for t in main 100 101 102 103; do ip -4 route flush table $t; ip -6 route flush table $t; done 2>/dev/null");
	for (int i = 0; i < NDEV; i++) {
		sh("ip link set %s %s; ip link set %sp %s", devs[i], chance(85) ? "up" : "down", devs[i],
		   chance(85) ? "up" : "down");
		sh("sysctl -qw net.ipv4.conf.%s.ignore_routes_with_linkdown=%d "
		   "net.ipv6.conf.%s.ignore_routes_with_linkdown=%d", devs[i], chance(50), devs[i], chance(50));
		sh("sysctl -qw net.ipv4.conf.%s.forwarding=%d net.ipv4.conf.%s.rp_filter=%d", devs[i],
		   chance(85), devs[i], rnd(3));
	}
	sh("sysctl -qw net.ipv4.conf.all.rp_filter=%d net.ipv6.conf.all.forwarding=1", chance(30) ? rnd(3) : 0);
	for (int v6 = 0; v6 < 2; v6++) {
		const char *f = v6 ? "-6" : "-4";

		for (int k = 0, n = 10 + rnd(30); k < n; k++) {
			static const char *const tables[] = { "main", "100", "101", "102", "103" };
			static const char *const types[] = { "unreachable", "blackhole", "prohibit", "throw" };
			const char *t = tables[rnd(5)];

			pfx(v6, p, sizeof(p));
			if (chance(70)) {
				if (chance(20))
					sh("ip %s route add %s table %s metric %u nexthop dev %s nexthop dev %s 2>/dev/null",
					   f, p, t, rnd(4) * 100, devs[rnd(NDEV)], devs[rnd(NDEV)]);
				else
					sh("ip %s route add %s dev %s table %s metric %u 2>/dev/null", f, p,
					   devs[rnd(NDEV)], t, rnd(4) * 100);
			} else {
				sh("ip %s route add %s %s table %s metric %u 2>/dev/null", f, types[rnd(4)], p, t,
				   rnd(4) * 100);
			}
		}
		for (int k = 0, n = 3 + rnd(8); k < n; k++) {
			char sel[256] = "", q[64];
			unsigned prio = 100 + rnd(30) * 10;

			if (chance(40))
				snprintf(sel + strlen(sel), sizeof(sel) - strlen(sel), " iif %s", devs[rnd(NDEV)]);
			if (chance(25))
				snprintf(sel + strlen(sel), sizeof(sel) - strlen(sel), " fwmark 0x%x/0x%x", rnd(4),
					 chance(50) ? 0xff : 0x3);
			if (chance(30)) {
				pfx(v6, q, sizeof(q));
				snprintf(sel + strlen(sel), sizeof(sel) - strlen(sel), " from %s", q);
			}
			if (chance(30)) {
				pfx(v6, q, sizeof(q));
				snprintf(sel + strlen(sel), sizeof(sel) - strlen(sel), " to %s", q);
			}
			if (chance(15))
				snprintf(sel + strlen(sel), sizeof(sel) - strlen(sel), " ipproto %s", chance(50) ? "tcp" : "udp");
			if (chance(15))
				snprintf(sel + strlen(sel), sizeof(sel) - strlen(sel), " dport %u-%u", 1000, 2000 + rnd(3) * 1000);
			if (chance(10))
				snprintf(sel + strlen(sel), sizeof(sel) - strlen(sel), " not");
			switch (rnd(10)) {
			case 0: sh("ip %s rule add pref %u%s unreachable", f, prio, sel); break;
			case 1: sh("ip %s rule add pref %u%s blackhole", f, prio, sel); break;
			case 2: sh("ip %s rule add pref %u%s goto %u", f, prio, sel, prio + 10 * (1 + rnd(5))); break;
			case 3: sh("ip %s rule add pref %u%s nop", f, prio, sel); break;
			case 4: sh("ip %s rule add pref %u%s lookup %u suppress_prefixlength %u", f, prio, sel,
				   100 + rnd(4), rnd(3) * 8); break;
			default: sh("ip %s rule add pref %u%s lookup %s", f, prio, sel,
				    (const char *[]){ "main", "100", "101", "102", "103" }[rnd(5)]); break;
			}
		}
		sh("ip %s rule add pref 32766 lookup main; ip %s rule add pref 32767 lookup default 2>/dev/null", f, f);
	}
}

static int read_model(struct nl_ctx *nl, struct rt_model **m, struct rt_dev *dv)
{
	struct nl_fib_rule *ru = NULL;
	struct nl_fib_route *ro = NULL;
	size_t nru = 0, nro = 0;
	char why[256];
	int err;

	for (int i = 0; i < NDEV; i++) {
		char path[128], buf[16];
		FILE *f;

		memset(&dv[i], 0, sizeof(dv[i]));
		dv[i].ifindex = (int)if_nametoindex(devs[i]);
		snprintf(dv[i].name, sizeof(dv[i].name), "%s", devs[i]);
		dv[i].has_addr4 = true;
		snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", devs[i]);
		if ((f = fopen(path, "r")) && fgets(buf, sizeof(buf), f))
			dv[i].fwd4 = atoi(buf);
		if (f)
			fclose(f);
		snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/ignore_routes_with_linkdown", devs[i]);
		if ((f = fopen(path, "r")) && fgets(buf, sizeof(buf), f))
			dv[i].ign_linkdown4 = atoi(buf);
		if (f)
			fclose(f);
		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/ignore_routes_with_linkdown", devs[i]);
		if ((f = fopen(path, "r")) && fgets(buf, sizeof(buf), f))
			dv[i].ign_linkdown6 = atoi(buf);
		if (f)
			fclose(f);
		snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", devs[i]);
		if ((f = fopen(path, "r")) && fgets(buf, sizeof(buf), f))
			dv[i].rpf4 = atoi(buf);
		if (f)
			fclose(f);
		if ((f = fopen("/proc/sys/net/ipv4/conf/all/rp_filter", "r")) && fgets(buf, sizeof(buf), f) &&
		    atoi(buf) > dv[i].rpf4)
			dv[i].rpf4 = atoi(buf);
		if (f)
			fclose(f);
	}
	if ((err = nl_fib_rules(nl, AF_UNSPEC, &ru, &nru)) || (err = nl_fib_routes(nl, AF_UNSPEC, &ro, &nro)))
		return err;
	struct rt_input in = { .rules = ru, .n_rules = nru, .routes = ro, .n_routes = nro, .devs = dv,
			       .n_devs = NDEV, .fwd6 = true };

	err = rt_build(m, &in, why, sizeof(why));
	if (err)
		printf("# rt_build: %s\n", why);
	free(ru);
	free(ro);
	return err;
}

/* Addresses RTM_GETROUTE treats apart from the input path (martians,
 * multicast, link-local): the model follows the input path there, the
 * lookup does not, so they are not drawn. */
static bool special(int v6, rp_u128 a)
{
	if (!v6)
		return (a >> 24) == 0 || (a >> 24) == 127 || (a >> 28) >= 0xe;
	return a <= 1 || (a >> 118) == (0xfe80 >> 6) || (a >> 120) == 0xff;
}

static rp_u128 addr_in1(int v6);
static rp_u128 addr_in(int v6)
{
	rp_u128 a;

	do
		a = addr_in1(v6);
	while (special(v6, a));
	return a;
}

static rp_u128 addr_in1(int v6)
{
	char p[64];
	rp_u128 lo, hi, span;
	struct rp_prefix pr;

	pfx(v6, p, sizeof(p));
	prefix_parse(p, &pr);
	an_prefix_range(&pr, &lo, &hi);
	span = hi - lo;
	if (chance(10))
		return lo;
	if (chance(10))
		return hi;
	return span == ~(rp_u128)0 ? lo : lo + (((rp_u128)rnd64() << 64 | rnd64()) % (span + 1));
}

/* rt_partition's outcomes over the family's whole space, as a list. */
struct plist {
	struct { rp_u128 lo, hi; struct rt_out o; } v[4096];
	size_t n;
	bool full;
};

static int plist_cb(rp_u128 lo, rp_u128 hi, const struct rt_out *o, void *arg)
{
	struct plist *l = arg;

	if (l->n == sizeof(l->v) / sizeof(l->v[0])) {
		l->full = true;
		return -E2BIG;
	}
	l->v[l->n].lo = lo;
	l->v[l->n].hi = hi;
	l->v[l->n].o = *o;
	l->n++;
	return 0;
}

static bool plist_same(const struct plist *a, const struct plist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct rt_out *x = &a->v[i].o, *y = &b->v[i].o;

		if (a->v[i].lo != b->v[i].lo || a->v[i].hi != b->v[i].hi || x->kind != y->kind ||
		    x->n_oif != y->n_oif || x->table != y->table || x->prio != y->prio || x->why != y->why ||
		    memcmp(x->oif, y->oif, x->n_oif * sizeof(int)))
			return false;
	}
	return true;
}

/* The audit routes once for every source with the same rt_src_sig
 * (audit_walk.c route_part): two packets that differ only in their sources
 * and have equal signatures must get the same partition of every
 * destination; the signature is 0 words only when it does not fit. */
static void sig_round(const struct rt_model *m, const struct rt_dev *dv, unsigned r)
{
	static struct plist la, lb;
	unsigned same = 0, differ = 0, bad = 0, nosig = 0;

	for (unsigned k = 0; k < 200; k++) {
		int v6 = chance(40), family = v6 ? AF_INET6 : AF_INET;
		struct rt_pkt a = { .family = family, .iif = dv[rnd(NDEV)].ifindex, .mark = chance(30) ? rnd(4) : 0,
				    .src = chance(10) ? addr_in1(v6) : addr_in(v6), .proto = chance(50) ? 6 : 17,
				    .sport = 40000, .dport = (uint16_t)(500 + rnd(4) * 700) };
		struct rt_pkt b = a;
		uint32_t sa[16], sb[16];
		size_t na, nb;
		bool eq;

		b.src = chance(10) ? addr_in1(v6) : addr_in(v6);
		na = rt_src_sig(m, &a, sa, 16);
		nb = rt_src_sig(m, &b, sb, 16);
		if (!na || !nb) {
			nosig++;
			continue;
		}
		eq = na == nb && !memcmp(sa, sb, na * sizeof(sa[0]));
		la.n = lb.n = 0;
		la.full = lb.full = false;
		rt_partition(m, &a, 0, v6 ? ~(rp_u128)0 : 0xffffffffu, plist_cb, &la);
		rt_partition(m, &b, 0, v6 ? ~(rp_u128)0 : 0xffffffffu, plist_cb, &lb);
		if (la.full || lb.full) {
			nosig++;
			continue;
		}
		if (plist_same(&la, &lb)) {
			same++;
			continue;
		}
		differ++;
		if (eq && bad++ < 3)
			printf("# round %u: two sources with one signature routed apart (%zu and %zu outcomes)\n", r,
			       la.n, lb.n);
	}
	tap_result(!bad && same > 0, "route: round %u: 200 pairs of packets differing only by source: %u routed "
		   "alike, %u apart (each with two signatures), %u not compared; the same signature never routes "
		   "apart", r, same, differ, nosig);
}

int main(void)
{
	unsigned rounds = getenv("ROUTE_ROUNDS") ? atoi(getenv("ROUTE_ROUNDS")) : 12;
	unsigned packets = getenv("ROUTE_PACKETS") ? atoi(getenv("ROUTE_PACKETS")) : 3000;
	struct rt_dev dv[NDEV];
	struct nl_ctx nl;

	if (geteuid() != 0) {
		tap_skip("test_audit_route: needs root (network namespace)");
		return 0;
	}
	if (unshare(CLONE_NEWNET)) {
		tap_skip("test_audit_route: no network namespace: %s", strerror(errno));
		return 0;
	}
	sh("ip link set lo up");
	for (int i = 0; i < NDEV; i++)
		sh("ip link add %s type veth peer name %sp && ip link set %sp up && ip link set %s up &&"
		   "ip addr add 192.168.%d.1/24 dev %s && ip addr add fd99:%d::1/64 dev %s nodad",
		   devs[i], devs[i], devs[i], devs[i], i, devs[i], i, devs[i]);
	if (nl_open(&nl)) {
		tap_result(0, "route: rtnetlink");
		tap_exit();
	}
	rs = getenv("ROUTE_SEED") ? strtoull(getenv("ROUTE_SEED"), NULL, 0) : (uint64_t)time(NULL) | 1;
	printf("# ROUTE_SEED=%llu\n", (unsigned long long)rs);
	for (unsigned r = 0; r < rounds; r++) {
		struct rt_model *m = NULL;
		unsigned bad = 0, fwd = 0, local = 0, drop = 0;

		random_round();
		if (read_model(&nl, &m, dv)) {
			tap_result(0, "route: round %u: the model refused the state", r);
			continue;
		}
		for (unsigned k = 0; k < packets; k++) {
			int v6 = chance(40), family = v6 ? AF_INET6 : AF_INET;
			struct rt_pkt p = { .family = family, .iif = dv[rnd(NDEV)].ifindex,
					    .mark = chance(30) ? rnd(4) : 0, .src = addr_in(v6),
					    .proto = chance(50) ? 6 : 17, .sport = 40000,
					    .dport = (uint16_t)(500 + rnd(4) * 700) };
			rp_u128 dst = chance(5) ? (v6 ? ((rp_u128)0xfd99 << 112) + 1 : 0xc0a80001) : addr_in(v6);
			struct nl_fib_query q = { .family = family, .iif = p.iif, .mark = p.mark, .proto = p.proto,
						  .sport = p.sport, .dport = p.dport };
			struct nl_fib_answer a;
			struct rt_out o;
			const char *why = NULL;
			bool rpf, same;
			int err;

			an_to_bytes(family, p.src, q.src);
			an_to_bytes(family, dst, q.dst);
			rt_route(m, &p, dst, &o);
			err = nl_fib_get(&nl, &q, &a);
			if (o.kind == RT_FWD) {
				/* the kernel took one next hop; the source check
				 * depends on it */
				bool in = false;

				for (unsigned i = 0; i < o.n_oif; i++)
					in |= o.oif[i] == a.oif;
				rpf = rt_rpf_ok(m, &p, dst, in ? a.oif : o.oif[0], &why);
				same = rpf ? !err && a.type == RTN_UNICAST && in : err != 0;
				fwd++;
			} else if (o.kind == RT_LOCAL) {
				rpf = rt_rpf_ok(m, &p, dst, 0, &why);
				same = rpf ? !err && (a.type == RTN_LOCAL || a.type == RTN_BROADCAST) : err != 0;
				local++;
			} else {
				same = err != 0;
				drop++;
			}
			if (!same && bad++ < 5) {
				char s[64], d[64];
				struct rp_addr x;

				an_to_addr(family, p.src, &x);
				addr_format(&x, s, sizeof(s));
				an_to_addr(family, dst, &x);
				addr_format(&x, d, sizeof(d));
				printf("# iif %d mark %u %s -> %s proto %u dport %u: model %s (oif %d, table %u, %s%s%s), "
				       "kernel %s (type %u oif %d table %u)\n", p.iif, p.mark, s, d, p.proto, p.dport,
				       o.kind == RT_FWD ? "forward" : o.kind == RT_LOCAL ? "local" : "drop",
				       o.n_oif ? o.oif[0] : 0, o.table, o.why ? o.why : "-", why ? ", rpf: " : "",
				       why ? why : "", err ? strerror(-err) : "ok", a.type, a.oif, a.table);
			}
		}
		tap_result(!bad, "route: round %u: %u packets (%u forwarded, %u local, %u not), the model and the "
			   "kernel agree on each%s", r, packets, fwd, local, drop, bad ? "" : "");
		if (bad)
			sh("(ip -4 rule; ip -4 route show table all; ip -6 rule; ip -6 route show table all | grep -v \"local\\|fe80\\|ff00\"; for d in rta rtb rtc rtd rte rtf; do echo $d $(cat /proc/sys/net/ipv4/conf/$d/rp_filter /proc/sys/net/ipv4/conf/$d/forwarding) $(ip -o link show $d | grep -o \"state [A-Z]*\"); done) | sed \"s/^/#   /\"");
		sig_round(m, dv, r);
		rt_free(m);
	}
	nl_close(&nl);
	tap_exit();
}
