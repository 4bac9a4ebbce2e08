// SPDX-License-Identifier: GPL-2.0
/* test_diff.c — differential test: the BPF programs against the reference
 * evaluator (docs/policy.md).
 *
 * Random configs (tenants with overlapping prefixes, sites, rules, shares,
 * countries, a random geo database) and random, then mutated, frames.  Each
 * frame runs through the BPF program of its hook (loaded `stateless`: no
 * flow or fragment state, so only stateless decisions are compared) and
 * through packet_parse() + eval_packet(); the verdict must be the same and
 * the (tenant, reason) counter the evaluator names must be the one that
 * moved.  The seed is printed; DIFF_SEED=N reproduces a run, DIFF_PACKETS=N
 * sets the number of frames.  A mismatch is written to
 * $DIFF_OUT (default build/tests/diff-mismatch.txt) with the seed, the
 * config number and the frame in hex, and `test_diff --replay FILE` runs it
 * again with a verbose comparison. */
#include <time.h>
#include "config/country.h"
#include "eval/eval.h"
#include "eval/packet.h"
#include "eval/reason.h"
#include "fixture.h"
#include "fixture_rand.h"
#include "geo/geo_bpf.h"
#include "packet_parse.h"
#include "policy/gwaddr.h"
#include "tap.h"

/* A random geo database: random boundaries, random countries, gaps. */
static void rand_geo(struct geo_db *db)
{
	uint32_t b4[64];
	unsigned __int128 b6[64];
	unsigned n = 40;

	memset(db, 0, sizeof(*db));
	db->v4 = calloc(n, sizeof(*db->v4));
	db->v6 = calloc(n, sizeof(*db->v6));
	for (unsigned i = 0; i < n; i++) {
		b4[i] = (uint32_t)rnd64();
		if (chance(50))	/* near the pools */
			b4[i] = (uint32_t)pool4[rnd(5)][0] << 24 | (uint32_t)rnd(4) << 16 | (uint32_t)rnd(65536);
		b6[i] = (unsigned __int128)rnd64() << 64 | rnd64();
		if (chance(50))
			b6[i] = (unsigned __int128)pool6[rnd(3)][0] << 112 | (unsigned __int128)pool6[rnd(3)][1] << 96 |
				(unsigned __int128)rnd(3) << 80;
	}
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++) {
			if (b4[j] < b4[i]) { uint32_t t = b4[i]; b4[i] = b4[j]; b4[j] = t; }
			if (b6[j] < b6[i]) { unsigned __int128 t = b6[i]; b6[i] = b6[j]; b6[j] = t; }
		}
	for (unsigned i = 0; i + 1 < n; i++) {
		uint16_t cc4, cc6;

		cc_parse(ccs[rnd(4)], &cc4);
		cc_parse(ccs[rnd(4)], &cc6);
		if (b4[i] < b4[i + 1] && chance(70)) {
			if (db->n4 && db->v4[db->n4 - 1].hi + 1 == b4[i] && db->v4[db->n4 - 1].cc == cc4)
				db->v4[db->n4 - 1].hi = b4[i + 1] - 1;
			else
				db->v4[db->n4++] = (struct geo_range4){ b4[i], b4[i + 1] - 1, cc4 };
		}
		if (b6[i] < b6[i + 1] && chance(70)) {
			if (db->n6 && db->v6[db->n6 - 1].hi + 1 == b6[i] && db->v6[db->n6 - 1].cc == cc6)
				db->v6[db->n6 - 1].hi = b6[i + 1] - 1;
			else
				db->v6[db->n6++] = (struct geo_range6){ b6[i], b6[i + 1] - 1, cc6 };
		}
	}
}

/* ---- random frames ------------------------------------------------------- */

struct gen {
	const struct rp_config *cfg;
	struct rp_prefix *all;	/* every prefix of the config */
	size_t n_all;
	struct rp_prefix *gw;	/* the gateway's addresses and their neighbours (hosts) */
	size_t n_gw;
};

static void gw_push(struct gen *g, const struct rp_prefix *p)
{
	g->gw = realloc(g->gw, (g->n_gw + 1) * sizeof(*g->gw));
	g->gw[g->n_gw] = *p;
	g->gw[g->n_gw++].len = p->family == AF_INET ? 32 : 128;
}

/* An interface address, its subnet's broadcast / anycast and first / last
 * addresses, and the host right after it. */
static void gw_collect(struct gen *g, const struct rp_prefix_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct rp_prefix p = l->v[i], q;
		unsigned nb = p.family == AF_INET ? 4 : 16, full = nb * 8;

		gw_push(g, &p);
		for (int k = 0; k < 2; k++) {	/* all-zeros and all-ones host part */
			q = p;
			for (unsigned b = p.len; b < full; b++) {
				uint8_t bit = 0x80 >> (b % 8);

				q.addr[b / 8] = k ? q.addr[b / 8] | bit : q.addr[b / 8] & ~bit;
			}
			gw_push(g, &q);
		}
		q = p;
		q.addr[nb - 1]++;
		gw_push(g, &q);
	}
}

static const char *const gw_fixed[] = {
	"0.0.0.0", "0.1.2.3", "127.0.0.1", "127.1.2.3", "169.254.169.254", "224.0.0.1", "224.0.0.251",
	"239.255.255.250", "255.255.255.255", "255.255.255.254", "223.255.255.255", "240.0.0.1",
	"::", "::1", "::2", "fe80::1", "fe80::2", "febf::1", "fec0::1", "ff02::1", "ff02::2",
	"ff02::1:ff00:1", "ff02::1:2", "ff05::1:3", "ff01::1", "ff0e::1", "::ffff:10.1.2.3",
};

static void collect(struct gen *g, const struct rp_prefix_list *l)
{
	g->all = realloc(g->all, (g->n_all + l->n + 1) * sizeof(*g->all));
	memcpy(g->all + g->n_all, l->v, l->n * sizeof(*l->v));
	g->n_all += l->n;
}

static void gen_init(struct gen *g, const struct rp_config *c)
{
	memset(g, 0, sizeof(*g));
	g->cfg = c;
	collect(g, &c->mgmt_allow_from);
	for (size_t i = 0; i < c->n_tenants; i++) {
		const struct rp_tenant *t = &c->tenants[i];

		collect(g, &t->cloud_prefixes);
		collect(g, &t->cloud_address);
		collect(g, &t->tunnel_address);
		for (size_t s = 0; s < t->n_sites; s++) {
			collect(g, &t->sites[s].allowed_ips);
			collect(g, &t->sites[s].tunnel_ip);
			collect(g, &t->sites[s].allow_from);
		}
		for (size_t r = 0; r < t->n_rules; r++) {
			collect(g, &t->rules[r].from);
			collect(g, &t->rules[r].to);
		}
		for (size_t s = 0; s < t->n_shares; s++)
			collect(g, &t->shares[s].to);
		gw_collect(g, &t->tunnel_address);
		gw_collect(g, &t->cloud_address);
	}
	gw_collect(g, &c->host.all);
	gw_collect(g, &c->host.uplink);
	for (size_t i = 0; i < sizeof(gw_fixed) / sizeof(gw_fixed[0]); i++) {
		struct rp_prefix p;

		if (!prefix_parse(gw_fixed[i], &p))
			gw_push(g, &p);
	}
	if (c->public_endpoint) {
		struct rp_prefix p;

		if (!prefix_parse(c->public_endpoint, &p))
			gw_push(g, &p);
	}
}

/* One of the gateway's addresses (or a neighbour of one) of family v6. */
static bool gw_addr(const struct gen *g, bool v6, char *out)
{
	for (int tries = 0; tries < 8 && g->n_gw; tries++) {
		const struct rp_prefix *p = &g->gw[rnd(g->n_gw)];

		if ((p->family == AF_INET6) == v6) {
			inet_ntop(v6 ? AF_INET6 : AF_INET, p->addr, out, INET6_ADDRSTRLEN);
			return true;
		}
	}
	return false;
}

/* An address of family fam: inside a prefix of l (or of the config), in a
 * pool, or anywhere. */
static void rand_addr(const struct gen *g, const struct rp_prefix_list *l, bool v6, char *out)
{
	struct rp_prefix p;
	uint8_t a[16];
	unsigned bits = v6 ? 128 : 32;

	if (l && l->n && chance(80)) {
		p = l->v[rnd(l->n)];
	} else if (g->n_all && chance(50)) {
		p = g->all[rnd(g->n_all)];
	} else {
		rand_prefix(&p, v6);
		if (chance(50)) {
			p.len = 0;
			if (v6)
				p.addr[0] = 0x20 | rnd(16);
		}
	}
	if ((p.family == AF_INET6) != v6) {
		rand_prefix(&p, v6);
		p.len = chance(50) ? 0 : p.len;
	}
	for (unsigned i = 0; i < bits / 8; i++) {
		uint8_t r = rnd(256);
		int keep = (int)p.len - (int)(i * 8);

		if (keep >= 8)
			a[i] = p.addr[i];
		else if (keep <= 0)
			a[i] = r;
		else
			a[i] = (p.addr[i] & (0xff << (8 - keep))) | (r & (0xff >> keep));
	}
	inet_ntop(v6 ? AF_INET6 : AF_INET, a, out, INET6_ADDRSTRLEN);
}

static uint16_t rand_port(const struct rp_config *c)
{
	static const uint16_t ports[] = { 22, 53, 80, 443, 999, 1000, 1500, 2000, 2001, 8443, 8450, 8451,
					  65535, 1, 2222, 67, 68, 546, 547 };

	if (chance(25) && c->n_tenants)
		return c->tenants[rnd(c->n_tenants)].listen_port;
	if (chance(70))
		return ports[rnd(sizeof(ports) / sizeof(ports[0]))];
	return 1 + rnd(65535);
}

/* Destinations that exercise zones and rules. */
static const struct rp_prefix_list *pick_dst(const struct rp_tenant *t)
{
	if (t->n_rules && chance(50))
		return &t->rules[rnd(t->n_rules)].to;
	if (chance(30))
		return chance(50) ? &t->cloud_prefixes : &t->sites[rnd(t->n_sites)].allowed_ips;
	return NULL;
}

struct frame {
	int hook;
	const char *ifname;
	int tenant;		/* eval's: index or -1 */
	uint8_t b[PK_MAX];
	size_t n;
};

static void rand_frame(const struct gen *g, struct frame *f)
{
	const struct rp_config *c = g->cfg;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	static char isrc[INET6_ADDRSTRLEN], idst[INET6_ADDRSTRLEN];
	static struct ps inner;
	static const uint8_t exts[] = { 0, 43, 60, 44 };
	static const uint8_t others[] = { 47, 50, 51, 59, 0, 132 };
	static const uint8_t types4[] = { 0, 8, 3, 11, 12, 5, 13, 9, 0, 8 };
	static const uint8_t types6[] = { 128, 129, 1, 2, 3, 4, 133, 134, 135, 136, 137, 138, 130, 143,
					  135, 136 };
	struct ps s = { 0 };
	unsigned ti = rnd(c->n_tenants), h = rnd(100);
	const struct rp_tenant *t = &c->tenants[ti];
	const struct rp_prefix_list *sl = NULL, *dl = NULL;
	bool v6 = chance(35);

	s.fam = v6 ? 6 : 4;
	f->tenant = -1;
	if (h < 30) {
		f->hook = RP_HOOK_UPLINK_IN;
		f->ifname = "dpup";
		if (chance(40))
			sl = chance(50) ? &c->mgmt_allow_from : &t->sites[rnd(t->n_sites)].allow_from;
	} else if (h < 40) {
		f->hook = RP_HOOK_UPLINK_OUT;
		f->ifname = "dpup";
		dl = chance(50) ? &t->sites[rnd(t->n_sites)].allowed_ips : NULL;
	} else if (h < 70) {
		f->hook = RP_HOOK_CLOUD_IN;
		f->ifname = t->cloud_interface;
		if (t->vlan) {
			s.nvlan = 1;
			s.vid[0] = t->vlan;
		}
		if (chance(8)) {
			s.nvlan = 1;
			s.vid[0] = rnd(4096);
		} else if (chance(5)) {
			s.nvlan = 2 + chance(30);
			s.tpid[0] = chance(50) ? 0x88a8 : 0x8100;
			s.vid[0] = t->vlan ? t->vlan : rnd(200);
			s.vid[1] = rnd(4096);
		}
		sl = chance(90) ? &t->cloud_prefixes : NULL;
		dl = pick_dst(t);
	} else {
		f->hook = RP_HOOK_TUNNEL_IN;
		f->ifname = t->tunnel_interface;
		f->tenant = ti;
		s.ethertype = 0x88b5;	/* test_run's fake L2: see test_dataplane.c */
		sl = chance(90) ? &t->sites[rnd(t->n_sites)].allowed_ips : NULL;
		if (sl && chance(20))	/* the site's own tunnel address */
			sl = &t->sites[rnd(t->n_sites)].tunnel_ip;
		dl = pick_dst(t);
	}
	rand_addr(g, sl, v6, src);
	rand_addr(g, dl, v6, dst);
	/* the uplink's own addresses: most of what is judged there is for them */
	if (f->hook == RP_HOOK_UPLINK_IN && chance(50)) {
		struct rp_addr u[RP_UPLINK_ADDRS];
		size_t nu = gw_uplink_list(c, v6 ? AF_INET6 : AF_INET, u);

		if (nu)
			inet_ntop(v6 ? AF_INET6 : AF_INET, u[rnd(nu)].addr, dst, INET6_ADDRSTRLEN);
	} else if (chance(20)) {	/* a destination of the gateway itself */
		gw_addr(g, v6, dst);
	} else if (f->hook == RP_HOOK_CLOUD_IN && t->cloud_address.n && chance(10)) {
		/* its own cloud_address (answers and errors NATed back to it) */
		const struct rp_prefix *ca = &t->cloud_address.v[rnd(t->cloud_address.n)];

		if ((ca->family == AF_INET6) == v6)
			inet_ntop(ca->family, ca->addr, dst, INET6_ADDRSTRLEN);
	}
	s.src = src;
	s.dst = dst;
	switch (rnd(7)) {
	case 0: case 1:
		s.proto = IPPROTO_TCP;
		s.tcp_flags = chance(50) ? 0x02 : 0x10;
		break;
	case 2: case 3:
		s.proto = IPPROTO_UDP;
		break;
	case 4: case 5:
		s.proto = chance(90) ? (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP) : (v6 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
		s.icmp_type = v6 ? types6[rnd(sizeof(types6))] : types4[rnd(sizeof(types4))];
		if (chance(50)) {
			inner = (struct ps){ .fam = s.fam, .proto = chance(50) ? 6 : 17,
					     .sport = rand_port(c), .dport = rand_port(c) };
			rand_addr(g, NULL, v6, isrc);
			rand_addr(g, NULL, v6, idst);
			/* often quoting a packet of the error's receiver, as a
			 * real error does (the path MTU cases) */
			inner.src = chance(40) ? s.dst : isrc;
			inner.dst = idst;
			if (chance(30)) {	/* a connection that left NATed */
				uint16_t lo, hi;

				gw_nat_ports(c, &lo, &hi);
				if (hi)
					inner.sport = lo + rnd(hi - lo + 1u);
			}
			s.inner = &inner;
		}
		break;
	default:
		s.proto = others[rnd(sizeof(others))];
		s.payload = rnd(16);
		break;
	}
	s.sport = rand_port(c);
	s.dport = rand_port(c);
	if (t->n_rules && chance(40)) {	/* a rule's port edges */
		const struct rp_rule *ru = &t->rules[rnd(t->n_rules)];

		if (ru->ports.n) {
			const struct rp_port_range *pr = &ru->ports.v[rnd(ru->ports.n)];

			s.dport = (uint16_t)((const int[]){ pr->lo, pr->hi, pr->lo - 1, pr->hi + 1 }[rnd(4)]);
		}
	}
	s.ttl = chance(50) ? 255 : 64;
	if (chance(20))
		s.frag = 1 + rnd(3);
	s.frag_id = rnd(65536);
	if (!v6 && chance(10))
		s.ip_opts = 4 * (1 + rnd(10));
	if (v6 && (chance(15) || s.frag)) {
		s.n_ext = rnd(8);
		for (int i = 0; i < s.n_ext; i++)
			s.ext[i] = exts[rnd(3)];
		if (s.frag)
			s.ext[s.n_ext++] = 44;
		else if (chance(20) && s.n_ext)
			s.ext[rnd(s.n_ext)] = 44;
		s.ext_len = rnd(3);
	}
	if (chance(10))
		s.payload += rnd(64);
	f->n = pk_build(&s, f->b);
	/* mutations */
	if (chance(25)) {
		for (unsigned k = 0, nk = 1 + rnd(4); k < nk; k++)
			f->b[rnd(f->n < 96 ? f->n : 96)] ^= 1 << rnd(8);
	}
	if (chance(12))
		f->n = 14 + rnd(f->n - 14 + 1);
	if (f->hook == RP_HOOK_TUNNEL_IN) {
		f->b[12] = 0x88;	/* keep the fake ethertype whatever the mutation */
		f->b[13] = 0xb5;
	}
}

/* eval's tenant index for a cloud frame: from the VLAN the reference parser read. */
static int cloud_tenant(const struct rp_config *c, const char *ifname, uint16_t vlan)
{
	for (size_t i = 0; i < c->n_tenants; i++)
		if (!strcmp(c->tenants[i].cloud_interface, ifname) && c->tenants[i].vlan == vlan)
			return i;
	return -1;
}

/* ---- one comparison ------------------------------------------------------ */

static unsigned long hist[RP_HOOK__COUNT][RP_R__COUNT][2];

static int compare(struct fx *f, const struct rp_config *c, const struct geo_db *geo,
		   struct frame *fr, bool verbose, int *skipped)
{
	struct eval_ctx ctx = { .cfg = c, .geo = geo };
	struct eval_where w = { .hook = fr->hook, .tenant = fr->tenant };
	struct eval_result r;
	struct rp_packet p;
	unsigned long long before, after;
	unsigned tid;
	int ret, err;
	bool allow;

	if (fr->hook == RP_HOOK_TUNNEL_IN)
		packet_parse(fr->b + 14, fr->n - 14, false, &p);
	else
		packet_parse(fr->b, fr->n, true, &p);
	if (fr->hook == RP_HOOK_CLOUD_IN)
		w.tenant = cloud_tenant(c, fr->ifname, p.vlan);
	eval_packet(&ctx, &w, &p, &r);
	tid = r.tenant < 0 ? 0 : c->tenants[r.tenant].id;
	before = fx_counter(f, tid, r.reason);
	err = fx_run_prog(f->prog[fr->hook], fx_is_xdp(fr->hook), if_nametoindex(fr->ifname),
			  fr->b, fr->n, 1, &ret, NULL);
	if (err) {
		(*skipped)++;
		return 0;
	}
	after = fx_counter(f, tid, r.reason);
	allow = fx_allowed(fr->hook, ret);
	hist[fr->hook][r.reason][r.verdict == RP_ALLOW]++;
	if (verbose || allow != (r.verdict == RP_ALLOW) || after != before + 1) {
		printf("# hook %d if %s: eval %s %s tenant %u (%s); bpf %s, counter %s\n", fr->hook,
		       fr->ifname, verdict_name(r.verdict), reason_name(r.reason), tid, r.why,
		       allow ? "allow" : "drop", after == before + 1 ? "moved" : "did not move");
		return allow != (r.verdict == RP_ALLOW) || after != before + 1;
	}
	return 0;
}

static void save_mismatch(const char *path, uint64_t seed, unsigned cfgno, const struct frame *fr)
{
	FILE *o = fopen(path, "w");

	if (!o)
		return;
	fprintf(o, "seed %llu config %u hook %d if %s tenant %d\n", (unsigned long long)seed, cfgno,
		fr->hook, fr->ifname, fr->tenant);
	for (size_t i = 0; i < fr->n; i++)
		fprintf(o, "%02x%s", fr->b[i], (i + 1) % 32 ? "" : "\n");
	fputc('\n', o);
	fclose(o);
	printf("# mismatching frame written to %s\n", path);
}

/* Config k of a run: generated from the run's seed alone. */
static void make_config(uint64_t seed, unsigned k, struct rp_config *c, struct geo_db *geo)
{
	rs = seed * 0x9e3779b97f4a7c15ULL + k + 1;
	rnd64();
	rand_config(c);
	rand_geo(geo);
}

static int install(struct fx *f, const struct rp_config *c, const struct geo_db *geo)
{
	struct diag d = { 0 };
	int err = geo_bpf_load(bpf_map__fd(f->skel->maps.rp_geo), geo, &d);

	if (!err)
		err = dp_policy_install(&f->m, c, NULL, NULL, &d);
	diag_print(&d, stdout);
	diag_free(&d);
	return err;
}

static int replay(struct fx *f, const char *path)
{
	unsigned long long seed;
	unsigned cfgno, x;
	char ifname[32];
	struct frame fr = { 0 };
	struct rp_config c;
	struct geo_db geo;
	int skipped = 0, bad;
	FILE *in = fopen(path, "r");

	if (!in || fscanf(in, "seed %llu config %u hook %d if %31s tenant %d\n", &seed, &cfgno, &fr.hook,
			  ifname, &fr.tenant) != 5) {
		tap_result(0, "diff: cannot read %s", path);
		return 1;
	}
	while (fr.n < PK_MAX && fscanf(in, "%2x", &x) == 1)
		fr.b[fr.n++] = x;
	fclose(in);
	fr.ifname = ifname;
	make_config(seed, cfgno, &c, &geo);
	if (install(f, &c, &geo))
		return 1;
	bad = compare(f, &c, &geo, &fr, true, &skipped);
	tap_result(!bad && !skipped, "diff: replay of %s", path);
	return bad;
}

int main(int argc, char **argv)
{
	const char *env = getenv("DIFF_SEED"), *out = getenv("DIFF_OUT");
	unsigned long total = getenv("DIFF_PACKETS") ? strtoul(getenv("DIFF_PACKETS"), NULL, 0) : 1000000;
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	unsigned configs = 40, mismatches = 0;
	unsigned long done = 0;
	int skipped = 0;
	struct fx f;
	time_t t0 = time(NULL);

	if (geteuid() != 0) {
		tap_skip("test_diff: needs root (BPF, network namespace)");
		return 0;
	}
	if (fx_netns() || fx_load(&f, true)) {
		tap_result(0, "diff: set-up (namespace, skeleton)");
		return 1;
	}
	if (argc == 3 && !strcmp(argv[1], "--replay"))
		return replay(&f, argv[2]);
	if (!out)
		out = "build/tests/diff-mismatch.txt";
	printf("# seed %llu (DIFF_SEED=%llu reproduces), %lu frames over %u configs\n",
	       (unsigned long long)seed, (unsigned long long)seed, total, configs);
	for (unsigned k = 0; k < configs; k++) {
		struct rp_config c;
		struct geo_db geo;
		struct gen g;
		unsigned long n = total / configs + (k < total % configs);

		make_config(seed, k, &c, &geo);
		if (install(&f, &c, &geo)) {
			tap_result(0, "diff: config %u compiles and installs", k);
			mismatches++;
			continue;
		}
		gen_init(&g, &c);
		for (unsigned long i = 0; i < n; done++) {
			struct frame fr;
			int sk = skipped;

			rand_frame(&g, &fr);
			if (compare(&f, &c, &geo, &fr, false, &skipped)) {
				if (!mismatches)
					save_mismatch(out, seed, k, &fr);
				if (++mismatches > 20)
					goto end;
			}
			i += sk == skipped;	/* count the frames actually compared */
		}
		free(g.all);
		free(g.gw);
	}
end:
	done -= skipped;
	printf("# %lu frames compared in %lds; %d more not runnable by BPF_PROG_TEST_RUN (skipped)\n",
	       done, (long)(time(NULL) - t0), skipped);
	for (int h = 0; h < RP_HOOK__COUNT; h++) {
		printf("# hook %d:", h);
		for (int r = 0; r < RP_R__COUNT; r++)
			for (int v = 0; v < 2; v++)
				if (hist[h][r][v])
					printf(" %s/%s %lu", v ? "allow" : "drop", reason_name(r), hist[h][r][v]);
		printf("\n");
	}
	tap_result(mismatches == 0 && done >= total, "diff: %lu frames, BPF and eval_packet agree on verdict, "
		   "reason and tenant (%u mismatches, seed %llu)", done, mismatches, (unsigned long long)seed);
	fx_unload(&f);
	tap_exit();
}
