/* main.c — the invariant oracle's driver (docs/testing.md "The invariant
 * oracle").  Runs inside the gateway namespace of a lab apply:
 *
 *   oracle -c CONFIG [--packets N] [--seed S] [--found DIR] [--examples K]
 *   oracle -c CONFIG --replay FILE
 *
 * For each generated packet: the frame goes through the lab's program of
 * its hook (BPF_PROG_TEST_RUN, real ingress ifindex); the kernel's route
 * lookup says where it would go; what leaves through the uplink also goes
 * through uplink_out (source-NATed first for a tenant with egress = nat);
 * the invariants judge (ingress, packet, verdict, delivery).  Prints one
 * PASS/FAIL line per invariant, examples of violations, and saves each
 * example as a replay file (the packet and the earlier packets between the
 * same addresses, which may have made the state it needed). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "gen.h"

#define HIST 65536
#define MAX_CTX 48

struct run {
	struct world w;
	struct progs *pr;
	struct router *rt;
	struct gen *g;
	const char *found;
	unsigned examples;
	uint64_t seed;
	unsigned long long n, allowed, errors, untestable, delivered[OWN_MAX];
	unsigned long long checked[OI__COUNT], viol[OI__COUNT];
	unsigned saved[OI__COUNT];
	struct o_pkt *hist;
	unsigned long long hist_n;
	/* the link-shaped packet whose twin comes next */
	bool twin_pending;
	struct o_pkt twin_of;
	unsigned long long twin_of_n;
	bool replay;
	bool replay_violation;
	unsigned tun_off;		/* bytes of the frame not given to tunnel_in's test_run */
	bool xdp_hook[OH__COUNT];
	/* violations by invariant, kind (message) and packet shape */
	struct kind_count {
		int inv;
		const char *kind;
		unsigned long long n, shape[8];
	} kinds[64];
	int n_kinds;
};

static const char *const shape_name[8] = {
	"AH header", "link shape", "ICMP error", "other ICMP", "later fragment", "reply", "tagged", "plain",
};

static int shape_of(const struct o_pkt *p)
{
	for (int i = 0; i < p->n_ext; i++)
		if (p->ext[i] == 51)
			return 0;
	if (link_shape(p, p->hook == OH_UPLINK_IN))
		return 1;
	if ((p->proto == 1 || p->proto == 58) && p->frag != OF_LATER) {
		bool err = p->family == 4 ? p->icmp_type == 3 || p->icmp_type == 11 || p->icmp_type == 12 ||
					   p->icmp_type == 4 : p->icmp_type >= 1 && p->icmp_type <= 4;
		bool echo = p->family == 4 ? p->icmp_type == 0 || p->icmp_type == 8 :
					     p->icmp_type == 128 || p->icmp_type == 129;

		if (err)
			return 2;
		if (!echo)
			return 3;
	}
	if (p->frag == OF_LATER)
		return 4;
	if (p->why == W_REPLY || p->why == W_REPLY_MUT)
		return 5;
	return p->ntags ? 6 : 7;
}

static void count_kind(struct run *r, const struct o_pkt *p, int inv, const char *kind)
{
	int i;

	for (i = 0; i < r->n_kinds; i++)
		if (r->kinds[i].inv == inv && r->kinds[i].kind == kind)
			break;
	if (i == r->n_kinds) {
		if (r->n_kinds == 64)
			return;
		r->n_kinds++;
		memset(&r->kinds[i], 0, sizeof(r->kinds[i]));
		r->kinds[i].inv = inv;
		r->kinds[i].kind = kind;
	}
	r->kinds[i].n++;
	r->kinds[i].shape[shape_of(p)]++;
}

static void print_kinds(const struct run *r, int inv)
{
	for (int i = 0; i < r->n_kinds; i++) {
		const struct kind_count *k = &r->kinds[i];

		if (k->inv != inv)
			continue;
		printf("  %llu x \"%s\" (", k->n, k->kind);
		for (int s = 0, first = 1; s < 8; s++)
			if (k->shape[s]) {
				printf("%s%s %llu", first ? "" : ", ", shape_name[s], k->shape[s]);
				first = 0;
			}
		printf(")\n");
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool same_pair(const struct o_pkt *a, const struct o_pkt *b)
{
	int n = a->family == 4 ? 4 : 16;
	bool x = !memcmp(a->src, b->src, n) && !memcmp(a->dst, b->dst, n);
	bool y = !memcmp(a->src, b->dst, n) && !memcmp(a->dst, b->src, n);

	if (a->family != b->family)
		return false;
	if (x || y)
		return true;
	if (a->has_inner) {
		x = !memcmp(a->inner.src, b->src, n) || !memcmp(a->inner.src, b->dst, n);
		y = !memcmp(a->inner.dst, b->src, n) || !memcmp(a->inner.dst, b->dst, n);
		return x && y;
	}
	return false;
}

static void save_replay(struct run *r, const struct o_pkt *p, int inv, const char *why, const struct o_pkt *twin)
{
	char path[512], line[2048];
	unsigned long long from = r->hist_n > HIST ? r->hist_n - HIST : 0, ctx[MAX_CTX];
	int nctx = 0;
	FILE *f;

	if (!r->found)
		return;
	mkdir(r->found, 0755);
	snprintf(path, sizeof(path), "%s/%s-%u.replay", r->found, inv_name[inv], r->saved[inv]);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "oracle: cannot write %s: %s\n", path, strerror(errno));
		return;
	}
	/* earlier packets between the same addresses: they may have made the
	 * state (flows, fragments) the programs needed */
	for (unsigned long long i = r->hist_n; i-- > from && nctx < MAX_CTX;) {
		const struct o_pkt *h = &r->hist[i % HIST];

		if (h != p && same_pair(p, h))
			ctx[nctx++] = i;
	}
	fprintf(f, "# rempart invariant oracle replay: oracle -c CONFIG --replay %s (docs/testing.md)\n", path);
	fprintf(f, "# seed %llu, packet %llu; invariant %s (%s)\n# %s\n", (unsigned long long)r->seed, r->n,
		inv_name[inv], inv_what[inv], why);
	pkt_describe(&r->w, p, line, sizeof(line));
	fprintf(f, "# %s\n", line);
	while (nctx--) {
		pkt_to_text(&r->w, &r->hist[ctx[nctx] % HIST], line, sizeof(line));
		fprintf(f, "ctx %s\n", line);
	}
	pkt_to_text(&r->w, p, line, sizeof(line));
	fprintf(f, "pkt %s\n", line);
	if (twin) {
		pkt_to_text(&r->w, twin, line, sizeof(line));
		fprintf(f, "twin %s\n", line);
	}
	fclose(f);
	printf("  replay   %s\n", path);
}

static void report(struct run *r, const struct o_pkt *p, const struct o_result *res, int inv, const char *why,
		   const struct o_pkt *twin)
{
	char d[1024], o[64];

	r->viol[inv]++;
	if (r->replay)
		r->replay_violation = true;
	if (!r->replay && r->viol[inv] > r->examples)
		return;
	pkt_describe(&r->w, p, d, sizeof(d));
	printf("violation %s #%llu (packet %llu, seed %llu, %s): %s\n", inv_name[inv], r->viol[inv], r->n,
	       (unsigned long long)r->seed, why_name[p->why < W__COUNT ? p->why : 0], why);
	printf("  packet   %s\n", d);
	printf("  verdict  allowed by the program at %s%s%s\n", r->w.ifs[p->ifi].name,
	       r->replay ? ", reason " : "", r->replay ? progs_last_reason(r->pr) : "");
	printf("  delivery %s -> %s\n", res->d.why, owner_name(&r->w, res->d.owner, o, sizeof(o)));
	if (twin) {
		pkt_describe(&r->w, twin, d, sizeof(d));
		printf("  twin     %s: dropped\n", d);
	}
	if (!r->replay)
		save_replay(r, p, inv, why, twin);
	r->saved[inv]++;
}

/* A port the gateway itself serves on the uplink: listen ports, management. */
static bool gateway_port(const struct world *w, uint8_t proto, uint16_t port)
{
	if (proto == 6)
		return w->cfg.mgmt_tcp_ports.n && port_list_contains(&w->cfg.mgmt_tcp_ports, port);
	if (proto == 17)
		for (size_t t = 0; t < w->cfg.n_tenants; t++)
			if (w->cfg.tenants[t].listen_port == port)
				return true;
	return false;
}

/* One packet, through the program of its hook, the kernel's routing and
 * the invariants.  Returns the verdict. */
static int process(struct run *r, struct o_pkt *p)
{
	uint8_t frame[O_MAX_FRAME];
	struct o_view v;
	struct o_result res = { .egress = -1 };
	struct o_judgement j;
	const struct world *w = &r->w;

	build_frame(w, p, frame, &v);
	res.origin = origin_of(p);
	if (p->hook == OH_TUNNEL_IN && r->tun_off)	/* see self_check() */
		res.allowed = v.len >= r->tun_off + 14 ? progs_run(r->pr, p->hook, w->ifs[p->ifi].ifindex, frame + r->tun_off,
							       v.len - r->tun_off) : -EMSGSIZE;
	else
		res.allowed = progs_run(r->pr, p->hook, w->ifs[p->ifi].ifindex, frame, v.len);
	if (res.allowed == -EMSGSIZE || (res.allowed == -EINVAL && v.malformed && !r->xdp_hook[p->hook])) {
		/* shorter than test_run takes, or a TC test_run refused a cut header */
		r->untestable++;
		return 0;
	}
	if (res.allowed < 0) {
		if (r->errors++ < 5)
			fprintf(stderr, "oracle: test_run of hook %d on %s, %u bytes: %s\n", p->hook, w->ifs[p->ifi].name,
				v.len, strerror(-res.allowed));
		res.allowed = 0;
	}
	if (r->replay)
		printf("  %s: %s (%s)\n", r->w.ifs[p->ifi].name, res.allowed ? "allowed" : "dropped",
		       progs_last_reason(r->pr));
	deliver(w, r->rt, p, &v, &res.d);
	if (res.allowed && res.d.owner == OWN_INET && p->hook != OH_GW_OUT && p->frag != OF_LATER) {
		/* out of the uplink: uplink_out judges it too (after NAT) */
		struct o_pkt e = *p;
		struct o_view ev;
		uint8_t ef[O_MAX_FRAME];

		e.hook = OH_GW_OUT;
		e.ifi = w->uplink_if;
		e.tenant = -1;
		e.ntags = 0;
		e.ttl--;
		if (res.origin >= OWN_T0 && w->cfg.tenants[res.origin - OWN_T0].egress == RP_EGRESS_NAT &&
		    uplink_global_addr(w, p->family, res.nat_src)) {
			res.nat = true;
			memcpy(e.src, res.nat_src, 16);
			/* the NAT keeps source ports, except the gateway's own
			 * service ports (SPEC §4.12): those are translated */
			if (gateway_port(w, e.proto, e.sport))
				e.sport = 61000 + e.sport % 4000;
			res.nat_sport = e.sport;
		}
		build_frame(w, &e, ef, &ev);
		res.egress = progs_run(r->pr, OH_GW_OUT, w->ifs[w->uplink_if].ifindex, ef, ev.len);
		if (r->replay)
			printf("  then %s (uplink_out%s): %s\n", w->ifs[w->uplink_if].name, res.nat ? ", after NAT" : "",
			       res.egress == 1 ? "allowed" : "dropped");
		if (res.egress != 1) {
			res.d.owner = OWN_NONE;
			strncat(res.d.why, ", dropped by uplink_out", sizeof(res.d.why) - strlen(res.d.why) - 1);
		}
	}
	judge(w, p, &v, &res, &j);
	for (int i = 0; i < OI__COUNT; i++)
		r->checked[i] += j.checked[i];
	for (int i = 0; i < j.n; i++) {
		count_kind(r, p, j.v[i].inv, j.v[i].kind);
		report(r, p, &res, j.v[i].inv, j.v[i].why, NULL);
	}
	if (p->twin && r->twin_pending) {
		/* §4.13: a link shape to a non-link destination gets no more than
		 * the same packet without the shape */
		r->twin_pending = false;
		r->checked[OI_LINK_SHAPE]++;
		if (res.allowed != 1) {
			struct o_result ro = res;
			char why[160];

			snprintf(why, sizeof(why), "a link-shaped packet to a non-link destination passed, "
				 "the same packet without the shape is dropped");
			deliver(w, r->rt, &r->twin_of, &v, &ro.d);
			count_kind(r, &r->twin_of, OI_LINK_SHAPE, "a link-shaped packet to a non-link destination passed, its twin did not");
			report(r, &r->twin_of, &ro, OI_LINK_SHAPE, why, p);
		}
	}
	if (j.want_twin && !j.reply && !p->twin) {
		struct o_pkt t;

		make_twin(p, &t);
		t.why = W_TWIN;
		r->twin_pending = true;
		r->twin_of = *p;
		r->twin_of_n = r->n;
		if (!r->replay)
			gen_push_front(r->g, &t);
	}
	remember(w, p, &v, &res);
	if (res.allowed == 1) {
		r->allowed++;
		r->delivered[res.d.owner]++;
		if (r->g)
			gen_note(r->g, p, &res);
	}
	if (r->hist)
		r->hist[r->hist_n++ % HIST] = *p;
	return res.allowed;
}

/* tunnel_in must see the IP header first on the real tunnel device: a
 * site's packet to its own cloud in a tenant with intra = allow passes, the
 * same with a spoofed source does not. */
static int self_check(struct run *r)
{
	const struct world *w = &r->w;

	for (size_t t = 0; t < w->cfg.n_tenants; t++) {
		const struct rp_tenant *tn = &w->cfg.tenants[t];
		struct o_pkt p;
		int ok, spoofed;

		bool denied = false;

		for (size_t k = 0; k < tn->n_rules; k++)
			denied |= !tn->rules[k].allow && tn->rules[k].proto != RP_PROTO_UDP &&
				  tn->rules[k].proto != RP_PROTO_ICMP && port_list_contains(&tn->rules[k].ports, 80);
		if (!tn->intra_allow || denied || !tn->n_sites || !tn->sites[0].allowed_ips.n || !tn->cloud_prefixes.n)
			continue;
		for (size_t k = 0; k < tn->cloud_prefixes.n; k++) {
			const struct rp_prefix *c = &tn->cloud_prefixes.v[k], *s = NULL;

			for (size_t x = 0; x < tn->sites[0].allowed_ips.n && !s; x++)
				if (tn->sites[0].allowed_ips.v[x].family == c->family)
					s = &tn->sites[0].allowed_ips.v[x];
			if (!s)
				continue;
			memset(&p, 0, sizeof(p));
			p.hook = OH_TUNNEL_IN;
			p.tenant = t;
			p.ifi = w->t[t].tunnel_if;
			p.family = c->family == AF_INET ? 4 : 6;
			p.ethertype = p.family == 4 ? 0x0800 : 0x86dd;
			memcpy(p.src, s->addr, 16);
			p.src[p.family == 4 ? 3 : 15] |= 5;
			memcpy(p.dst, c->addr, 16);
			p.dst[p.family == 4 ? 3 : 15] |= 9;
			p.ttl = 64;
			p.proto = 6;
			p.sport = 40000;
			p.dport = 80;
			p.tcp_flags = 2;
			r->n = 0;
			/* with an Ethernet header before the IP header (test_run
			 * pulls it, and pushes back the device's hard_header_len),
			 * then without it */
			for (r->tun_off = 0; r->tun_off <= 14; r->tun_off += 14) {
				ok = process(r, &p);
				p.src[0] ^= 0x40;
				spoofed = process(r, &p);
				p.src[0] ^= 0x40;
				printf("oracle: tunnel_in on %s, frame %s an Ethernet header: a site's packet to its cloud %s, "
				       "spoofed %s\n", w->ifs[p.ifi].name, r->tun_off ? "without" : "with",
				       ok == 1 ? "passes" : "is dropped", spoofed ? "passes" : "is dropped");
				if (ok == 1 && spoofed == 0)
					break;
			}
			if (!(ok == 1 && spoofed == 0))
				r->tun_off = 0;
			printf("%s: oracle self-check: tunnel_in on %s (a TUN device) judges the IP header%s\n",
			       ok == 1 && spoofed == 0 ? "PASS" : "FAIL", w->ifs[p.ifi].name,
			       ok == 1 && spoofed == 0 ? (r->tun_off ? " of a frame given without an Ethernet header" :
			       " after test_run's Ethernet header") : ": neither way");
			return ok == 1 && spoofed == 0 ? 0 : -1;
		}
	}
	printf("SKIP: oracle self-check (no tenant with intra = allow, a site and a cloud prefix)\n");
	return 0;
}

static int do_replay(struct run *r, const char *path)
{
	char line[4096];
	FILE *f = fopen(path, "r");
	bool last_violates = false;
	int n = 0;

	if (!f) {
		fprintf(stderr, "oracle: %s: %s\n", path, strerror(errno));
		return 2;
	}
	r->replay = true;
	progs_track_reasons(r->pr, true);
	while (fgets(line, sizeof(line), f)) {
		struct o_pkt p;
		char d[1024];
		bool is_pkt = !strncmp(line, "pkt ", 4), is_twin = !strncmp(line, "twin ", 5);

		if (line[0] == '#' || (!is_pkt && !is_twin && strncmp(line, "ctx ", 4)))
			continue;
		if (pkt_from_text(&r->w, strchr(line, ' ') + 1, &p)) {
			fprintf(stderr, "oracle: %s: cannot read: %s", path, line);
			fclose(f);
			return 2;
		}
		if (is_twin)
			p.twin = 1;	/* compared only if the packet before it asked for its twin */
		pkt_describe(&r->w, &p, d, sizeof(d));
		printf("%s %d: %s\n", is_pkt ? "packet" : is_twin ? "twin" : "context", ++n, d);
		r->replay_violation = false;
		process(r, &p);
		if (is_pkt || is_twin)
			last_violates = r->replay_violation || (is_twin && last_violates);
	}
	fclose(f);
	printf("%s: oracle replay %s: %s\n", last_violates ? "FAIL" : "PASS", path,
	       last_violates ? "the violation reproduces" : "no violation");
	return last_violates ? 1 : 0;
}

/* The programs again, over clean maps (state_reset): what earlier packets
 * left in the flow and fragment tables must not answer the next ones. */
static int progs_fresh(struct run *r)
{
	char err[256];

	progs_close(r->pr);
	state_reset();
	r->pr = progs_open(&r->w, stderr, err, sizeof(err));
	if (!r->pr)
		printf("FAIL: oracle: the lab's programs: %s\n", err);
	return !r->pr;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "packets", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' }, { "found", required_argument, NULL, 'f' },
		{ "examples", required_argument, NULL, 'e' }, { "replay", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct run r = { .examples = 3, .xdp_hook = { [OH_UPLINK_IN] = true, [OH_CLOUD_IN] = true } };
	const char *config = "/etc/rempart", *replay[256];
	int n_replay = 0;
	unsigned long long packets = 10000000;
	char err[512] = "";
	double t0, t1;
	int c, fails = 0;

	r.seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 20;
	while ((c = getopt_long(argc, argv, "c:n:s:f:e:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'n': packets = strtoull(optarg, NULL, 0); break;
		case 's': r.seed = strtoull(optarg, NULL, 0); break;
		case 'f': r.found = optarg; break;
		case 'e': r.examples = atoi(optarg); break;
		case 'r':
			if (n_replay < 256)
				replay[n_replay++] = optarg;
			break;
		default:
			fprintf(stderr, "usage: oracle [-c CONFIG] [--packets N] [--seed S] [--found DIR] [--examples K]\n"
					"       oracle [-c CONFIG] --replay FILE [--replay FILE...]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (world_load(&r.w, config, stderr)) {
		printf("FAIL: oracle: cannot load the configuration %s\n", config);
		return 1;
	}
	r.pr = progs_open(&r.w, stderr, err, sizeof(err));
	if (!r.pr) {
		printf("FAIL: oracle: the lab's programs: %s\n", err);
		return 1;
	}
	r.rt = router_open(&r.w, err, sizeof(err));
	if (!r.rt) {
		printf("FAIL: oracle: routing: %s\n", err);
		return 1;
	}
	r.hist = calloc(HIST, sizeof(*r.hist));
	if (self_check(&r))
		fails++;
	/* the self-check's packets leave state: start again from clean maps */
	if (progs_fresh(&r))
		return 1;
	if (n_replay) {		/* each from clean maps and a clean memory */
		int rc = 0;

		for (int i = 0; i < n_replay; i++) {
			if (i && progs_fresh(&r))
				return 1;
			r.twin_pending = false;
			rc |= do_replay(&r, replay[i]);
		}
		return rc;
	}
	memset(r.checked, 0, sizeof(r.checked));
	memset(r.viol, 0, sizeof(r.viol));
	memset(r.delivered, 0, sizeof(r.delivered));
	r.allowed = 0;
	r.hist_n = 0;
	r.g = gen_new(&r.w, r.seed);
	printf("oracle: seed %llu, %llu packets, configuration %s, %zu tenants, geo %s\n",
	       (unsigned long long)r.seed, packets, config, r.w.cfg.n_tenants,
	       r.w.have_geo ? "read (cidr)" : "not read (format is not cidr): geo_fence and egress countries unchecked");
	fflush(stdout);
	t0 = now();
	for (r.n = 0; r.n < packets; r.n++) {
		struct o_pkt p;

		gen_next(r.g, &p);
		process(&r, &p);
	}
	t1 = now();
	printf("oracle: %llu packets in %.1f s (%.0f/s), %llu allowed (to the gateway %llu, out of the uplink %llu, "
	       "into tenants %llu, nowhere %llu), %lu route lookups, %zu flows, %llu test_run errors, "
	       "%llu too short for test_run\n",
	       r.n, t1 - t0, r.n / (t1 - t0), r.allowed, r.delivered[OWN_GW], r.delivered[OWN_INET],
	       r.allowed - r.delivered[OWN_GW] - r.delivered[OWN_INET] - r.delivered[OWN_NONE], r.delivered[OWN_NONE],
	       router_lookups(r.rt), state_flows(), r.errors, r.untestable);
	for (int i = 0; i < OI__COUNT; i++) {
		bool skip = (i == OI_GEO_FENCE && !r.w.have_geo);

		if (skip) {
			printf("SKIP: oracle %s (%s): the geo database is not in cidr format\n", inv_name[i], inv_what[i]);
			continue;
		}
		if (!r.checked[i]) {
			printf("FAIL: oracle %s (%s): never exercised in %llu packets\n", inv_name[i], inv_what[i], r.n);
			fails++;
			continue;
		}
		printf("%s: oracle %s (%s): %llu packets checked, %llu violations%s%s\n", r.viol[i] ? "FAIL" : "PASS",
		       inv_name[i], inv_what[i], r.checked[i], r.viol[i], r.viol[i] && r.found ? ", replays in " : "",
		       r.viol[i] && r.found ? r.found : "");
		fails += r.viol[i] != 0;
		print_kinds(&r, i);
	}
	printf("%s: oracle test_run: %llu errors\n", r.errors ? "FAIL" : "PASS", r.errors);
	fails += r.errors != 0;
	gen_free(r.g);
	router_close(r.rt);
	progs_close(r.pr);
	world_free(&r.w);
	free(r.hist);
	return fails ? 1 : 0;
}
