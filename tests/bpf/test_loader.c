// SPDX-License-Identifier: GPL-2.0
/* test_loader.c — dataplane_apply()/dataplane_down() for real, in private
 * network and mount namespaces (a private BPF filesystem, so RP_PIN_DIR is
 * ours alone):
 *
 *   dpup  <-veth->  dpupp     (uplink: XDP uplink_in + tcx egress uplink_out)
 *   dpcloud <-veth-> dpcloudp (alpha's cloud: XDP cloud_in)
 *   dptrunk <-veth-> dptrunkp (beta/gamma VLAN trunk: XDP cloud_in)
 *   dptun1..3                 (tunnels: tcx ingress tunnel_in)
 *
 * Apply from a child process that exits (the links must stay: fail
 * closed), frames sent into the peers are judged and counted, a second
 * apply swaps programs into the same links, down removes everything. */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <sched.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "dataplane/dataplane.h"
#include "dataplane/dataplane_flows.h"
#include "dataplane/dataplane_maps.h"
#include "fixture_cfg.h"
#include "geo/geo.h"
#include "tap.h"
#include "xorshift.h"

static int apply_in_child(const struct rp_config *cfg)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct diag d = { 0 };
		int err = dataplane_apply(cfg, NULL, &d);

		diag_print(&d, stderr);
		_exit(err ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* apply with the geo database cfg names, read as `rempart apply` does */
static int apply_geo_in_child(const struct rp_config *cfg)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct diag d = { 0 };
		struct geo_db geo = { 0 };
		bool skip = dataplane_geo_unchanged(cfg);
		int err = skip ? 0 : geo_load(cfg, &geo, &d);

		if (!err)
			err = dataplane_apply(cfg, skip ? NULL : &geo, &d);
		diag_print(&d, stderr);
		_exit(err ? 1 : skip ? 2 : 0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int link_prog_id(const char *name, __u32 *link_id)
{
	char path[256];
	struct bpf_link_info info = { 0 };
	__u32 len = sizeof(info);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return -1;
	}
	close(fd);
	*link_id = info.id;
	return info.prog_id;
}

static int send_frame(const char *ifname, const uint8_t *pkt, size_t len)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = if_nametoindex(ifname),
				   .sll_halen = 6 };
	int fd = socket(AF_PACKET, SOCK_RAW, 0), rc;

	if (fd < 0)
		return -errno;
	rc = sendto(fd, pkt, len, 0, (struct sockaddr *)&sll, sizeof(sll));
	close(fd);
	return rc == (int)len ? 0 : -EIO;
}

static unsigned long long pinned_counter(unsigned tenant, unsigned reason)
{
	int ncpu = libbpf_num_possible_cpus();
	struct rp_counter c[ncpu > 0 ? ncpu : 1];
	__u32 k = rp_counter_key(tenant, reason);
	unsigned long long sum = 0;
	int fd = bpf_obj_get(RP_PIN_DIR "/" RP_PIN_COUNTERS);

	if (fd < 0)
		return ~0ULL;
	if (!bpf_map_lookup_elem(fd, &k, c))
		for (int i = 0; i < ncpu; i++)
			sum += c[i].packets;
	close(fd);
	return sum;
}

static bool wait_counter(unsigned tenant, unsigned reason, unsigned long long want)
{
	for (int i = 0; i < 100; i++) {
		if (pinned_counter(tenant, reason) == want)
			return true;
		usleep(10000);
	}
	return false;
}

/* What the kernel says of the map pinned as RP_PIN_DIR/name (zeroes if
 * there is none). */
static struct bpf_map_info pinned_info(const char *name)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return info;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		memset(&info, 0, sizeof(info));
	close(fd);
	return info;
}

static __u32 pinned_id(const char *name)
{
	return pinned_info(name).id;
}

static void unpin_progs(void)
{
	DIR *dir = opendir(RP_PIN_DIR);
	struct dirent *e;
	char path[512];

	while (dir && (e = readdir(dir)))
		if (!strncmp(e->d_name, "prog_", 5)) {
			snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, e->d_name);
			unlink(path);
		}
	if (dir)
		closedir(dir);
}

/* An older build whose rp_state had another layout (docs/dataplane.md
 * "Loader"): every map of the policy is made anew beside the pinned ones
 * (none shared with the programs still running: they would read a slot
 * flipped in a map not written for them), the generation goes on from the
 * old one, maps of the same layout stay shared, and the new pins replace
 * the old ones only once every link runs the new programs. */
static void upgrade_maps_differ(const struct rp_config *cfg)
{
	struct { __u64 generation; __u32 slot, flags; } old = { 77, 1, 0 };
	__u32 zero = 0, rules0 = pinned_id(RP_PIN_RULES), counters0 = pinned_id(RP_PIN_COUNTERS);
	__u32 link = 0, st_id;
	struct rp_state st = { 0 };
	struct stat sb;
	int fd, p0 = link_prog_id("link_xdp_dpup", &link), p;

	unpin_progs();
	unlink(RP_PIN_DIR "/" RP_PIN_STATE);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "rp_state", 4, sizeof(old), 2, NULL);
	if (fd < 0 || bpf_map_update_elem(fd, &zero, &old, BPF_ANY) ||
	    bpf_obj_pin(fd, RP_PIN_DIR "/" RP_PIN_STATE)) {
		tap_result(false, "loader: upgrade: cannot pin an rp_state of another layout: %s", strerror(errno));
		return;
	}
	close(fd);
	st_id = pinned_id(RP_PIN_STATE);
	tap_result(apply_in_child(cfg) == 0, "loader: upgrade: apply over an rp_state of another layout");
	p = link_prog_id("link_xdp_dpup", &link);
	tap_result(p > 0 && p != p0, "loader: upgrade: new programs in the same link (%d -> %d)", p0, p);
	fd = bpf_obj_get(RP_PIN_DIR "/" RP_PIN_STATE);
	tap_result(fd >= 0 && pinned_id(RP_PIN_STATE) != st_id && !bpf_map_lookup_elem(fd, &zero, &st) &&
		   st.generation == 78,
		   "loader: upgrade: rp_state made anew, the generation goes on (77 -> %llu)",
		   (unsigned long long)st.generation);
	if (fd >= 0)
		close(fd);
	tap_result(pinned_id(RP_PIN_RULES) && pinned_id(RP_PIN_RULES) != rules0,
		   "loader: upgrade: the other policy maps made anew with it (rp_rules %u -> %u)", rules0,
		   pinned_id(RP_PIN_RULES));
	tap_result(pinned_id(RP_PIN_COUNTERS) == counters0,
		   "loader: upgrade: maps of the same layout stay shared (rp_counters %u)", counters0);
	tap_result(stat(RP_PIN_DIR "/next", &sb) && errno == ENOENT,
		   "loader: upgrade: the new maps moved into place (no %s/next left)", RP_PIN_DIR);
	{
		uint8_t pkt[PK_MAX];
		struct ps s = { .fam = 4, .src = "8.8.8.8", .dst = "198.51.100.2", .proto = 17,
				.sport = 1, .dport = 51810 };
		size_t n = pk_build(&s, pkt);
		unsigned long long c0 = pinned_counter(10, RP_R_GEO_SITE);

		tap_result(!send_frame("dpupp", pkt, n) && wait_counter(10, RP_R_GEO_SITE, c0 + 1),
			   "loader: upgrade: the new programs judge with the new policy maps (geo_site, alpha)");
	}
}

/* ---- maps sized from the configuration, grown by replacement --------------
 * (docs/dataplane.md "Map sizes") */

static unsigned pinned_max(const char *name)
{
	return pinned_info(name).max_entries;
}

static unsigned pow2(unsigned long long n)
{
	unsigned p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* The entries a new flow table starts with (dp_flow_table_first()): 128
 * per possible CPU, at least 256, at most the table's ceiling. */
static unsigned flow_first(unsigned ceil)
{
	unsigned n = pow2(128ull * libbpf_num_possible_cpus());

	n = n < 256 ? 256 : n;
	return n < ceil ? n : ceil;
}

/* n flows into the pinned table `name` (rp_flow4_t*), from `from` on,
 * expiring at exp. */
static int flows_put(const char *name, unsigned from, unsigned n, __u64 exp)
{
	struct rp_flow_val v = { .expires_ns = exp, .owner = 10 };
	char path[256];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, name);
	if ((fd = bpf_obj_get(path)) < 0)
		return -errno;
	for (unsigned i = from; i < from + n && !err; i++) {
		struct rp_flow4_key k = { .zone = 10, .proto = 17, .src = htonl(0x0a780000 + i),
					  .dst = htonl(0x0a140101) };

		err = bpf_map_update_elem(fd, &k, &v, BPF_ANY) ? -errno : 0;
	}
	close(fd);
	return err;
}

/* Flows found again in the pinned table name, of those flows_put() made
 * (from, n). */
static unsigned flows_found(const char *name, unsigned from, unsigned n)
{
	struct rp_flow_val v;
	unsigned found = 0;
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, name);
	if ((fd = bpf_obj_get(path)) < 0)
		return 0;
	for (unsigned i = from; i < from + n; i++) {
		struct rp_flow4_key k = { .zone = 10, .proto = 17, .src = htonl(0x0a780000 + i),
					  .dst = htonl(0x0a140101) };

		found += !bpf_map_lookup_elem(fd, &k, &v);
	}
	close(fd);
	return found;
}

static int grow_pass(const struct rp_config *cfg)
{
	struct diag d = { 0 };
	struct dp_maps m;
	int n;

	if (dp_maps_open_pinned(&m, RP_PIN_DIR))
		return -ENOENT;
	n = dp_flow_tables_grow(&m, cfg, &d);
	dp_maps_close(&m);
	diag_free(&d);
	return n;
}

/* The daemon's pass (app/flow_grow.c) over alpha's IPv4 table (id 10):
 * expired flows or fewer live ones than half of it grow nothing; live ones
 * filling half of it grow it fourfold, flows kept, up to ceil, no more. */
static void flows_grow(const struct rp_config *cfg, unsigned ceil)
{
	const char *t = "rp_flow4_t10";
	unsigned cap0 = pinned_max(t), id0 = pinned_id(t), cap1, cap2;
	cpu_set_t one, all;
	struct timespec ts;
	__u64 now;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	/* filled from one CPU: the LRU hands each CPU its free entries in
	 * batches, a second CPU's batch would make this one evict early */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_getaffinity(0, sizeof(all), &all);
	sched_setaffinity(0, sizeof(one), &one);
	/* as many expired flows as live ones (alpha's flow fk among them),
	 * together half of it */
	n = flows_put(t, 0, cap0 / 4, 1) ?: flows_put(t, 100000, cap0 / 4 - 1, now + 3600e9) ?:
		grow_pass(cfg);
	tap_result(n == 0 && pinned_max(t) == cap0 && pinned_id(t) == id0,
		   "size: flows: %u expired and %u live flows in a table of %u: not grown (%d)", cap0 / 4,
		   cap0 / 4, cap0, n);
	/* live ones filling half */
	n = flows_put(t, 100000 + cap0 / 4 - 1, cap0 / 4 + 1, now + 3600e9) ?: grow_pass(cfg);
	cap1 = pinned_max(t);
	tap_result(n >= 1 && cap1 == (4 * cap0 < ceil ? 4 * cap0 : ceil) && pinned_id(t) != id0 &&
		   flows_found(t, 100000, cap0 / 2) == cap0 / 2,
		   "size: flows: %u live flows in alpha's table of %u: grown by the pass to %u (ceiling %u), "
		   "all %u found in it", cap0 / 2 + 1, cap0, cap1, ceil, flows_found(t, 100000, cap0 / 2));
	/* live ones beyond the ceiling: grown to it, no more */
	n = flows_put(t, 200000, ceil, now + 3600e9) ?: grow_pass(cfg);
	cap2 = pinned_max(t);
	tap_result(n >= 1 && cap2 == ceil && grow_pass(cfg) == 0 && pinned_max(t) == ceil,
		   "size: flows: %u flows more: grown to the ceiling %u, no further (%u -> %u, pass %d)", ceil,
		   ceil, cap1, cap2, n);
	sched_setaffinity(0, sizeof(all), &all);
	tap_result(pinned_max("rp_flow6_t10") == cap0 && pinned_max("rp_flow4_t20") == cap0,
		   "size: flows: alpha's IPv6 table and beta's IPv4 one kept their %u entries", cap0);
}

/* A frame the policy allows (alpha's cloud to a site, TCP 22: rule c2s),
 * run over and over through the program attached to dpcloud at that moment
 * (the pinned link's), while the main thread applies. */
struct checker {
	atomic_int stop;
	atomic_ulong runs, dropped, errors, moved;
};

static void *check_loop(void *arg)
{
	struct checker *c = arg;
	struct ps s = { .fam = 4, .src = "10.20.1.10", .dst = "10.120.2.9", .proto = 6, .sport = 2222,
			.dport = 22, .tcp_flags = 0x02 };
	uint8_t pkt[PK_MAX];
	size_t n = pk_build(&s, pkt);
	unsigned ifi = if_nametoindex("dpcloud");
	int link = bpf_obj_get(RP_PIN_DIR "/link_xdp_dpcloud");

	while (!atomic_load(&c->stop)) {
		struct bpf_link_info li = { 0 };
		__u32 len = sizeof(li);
		int prog, ret = -1;

		if (link < 0 || bpf_obj_get_info_by_fd(link, &li, &len)) {
			atomic_fetch_add(&c->errors, 1);
			continue;
		}
		prog = bpf_prog_get_fd_by_id(li.prog_id);
		if (prog < 0 && errno == ENOENT) {
			/* the link moved on to the new program and the one it
			 * named was freed between the two calls: ask again */
			atomic_fetch_add(&c->moved, 1);
			continue;
		}
		if (prog < 0) {
			atomic_fetch_add(&c->errors, 1);
			continue;
		}
		if (fx_run_prog(prog, true, ifi, pkt, n, 1, &ret, NULL))
			atomic_fetch_add(&c->errors, 1);
		else if (ret != XDP_PASS)
			atomic_fetch_add(&c->dropped, 1);
		atomic_fetch_add(&c->runs, 1);
		close(prog);
	}
	if (link >= 0)
		close(link);
	return NULL;
}

/* apply cfg in a child while the checker runs; true if no allowed frame
 * was dropped (and some ran, the first 100 before the apply) */
static bool apply_checked(const struct rp_config *cfg, int *err, unsigned long *runs)
{
	struct checker c = { 0 };
	pthread_t tid;

	if (pthread_create(&tid, NULL, check_loop, &c))
		return false;
	while (atomic_load(&c.runs) < 100 && !atomic_load(&c.errors))
		usleep(1000);
	if (atomic_load(&c.dropped) || atomic_load(&c.errors))
		fprintf(stderr, "size: the frame is dropped (%lu) or fails (%lu) before the apply\n",
			atomic_load(&c.dropped), atomic_load(&c.errors));
	*err = apply_in_child(cfg);
	usleep(20000);
	atomic_store(&c.stop, 1);
	pthread_join(tid, NULL);
	*runs = atomic_load(&c.runs);
	if (atomic_load(&c.dropped) || atomic_load(&c.errors))
		fprintf(stderr, "size: during the apply the frame was dropped %lu times, %lu runs failed "
			"(%lu program changes seen between two calls)\n",
			atomic_load(&c.dropped), atomic_load(&c.errors), atomic_load(&c.moved));
	return !atomic_load(&c.dropped) && !atomic_load(&c.errors) && *runs > 100;
}

static void grow(struct rp_config *cfg)
{
	struct rp_tenant *alpha = &cfg->tenants[0];
	struct rp_prefix_list *l = &alpha->cloud_prefixes;
	size_t n0 = l->n, r0 = alpha->n_rules, s0 = alpha->n_sites;
	struct rp_flow4_key fk = { .zone = 10, .proto = 6 };
	struct rp_flow_val fv = { .expires_ns = ~0ull };
	unsigned nodes0, nodes1, rc0, cnt0, ft0, runs, max_id = 0, gamma_id;
	unsigned long long c0;
	uint64_t s = 88172645463325252ULL;
	unsigned long nrun;
	size_t nrules = 0;
	char text[64], path[256];
	bool ok;
	int err, fd;

	/* an rp_tenants of the older layout (slot * 4001 + id) pinned: never
	 * reused, whatever the configuration needs */
	mkdir(RP_PIN_DIR, 0700);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "rp_tenants", 4, sizeof(struct rp_tenant_cfg),
			    RP_SLOTS * (RP_TENANT_ID_MAX + 1), NULL);
	tap_result(fd >= 0 && !bpf_obj_pin(fd, RP_PIN_DIR "/" RP_PIN_TENANTS),
		   "size: an rp_tenants of the older layout pinned (%u entries)", RP_SLOTS * (RP_TENANT_ID_MAX + 1));
	if (fd >= 0)
		close(fd);
	/* sized from the configuration (3 tenants, ids up to 30, a handful of rules) */
	err = apply_in_child(cfg);
	nodes0 = pinned_max(RP_PIN_NODES);
	rc0 = pinned_max(RP_PIN_RULE_COUNTERS);
	cnt0 = pinned_max(RP_PIN_COUNTERS);
	ft0 = pinned_max("rp_flow4_t10");
	for (size_t i = 0; i < cfg->n_tenants; i++)
		max_id = cfg->tenants[i].id > max_id ? cfg->tenants[i].id : max_id;
	tap_result(err == 0 && nodes0 >= 2 * 256 && nodes0 <= 2 * 1024 && rc0 == 1024 &&
		   cnt0 == (pow2(2ull * (max_id + 1) * RP_R__COUNT) > 16 * RP_R__COUNT ?
			    pow2(2ull * (max_id + 1) * RP_R__COUNT) : 16 * RP_R__COUNT) &&
		   pinned_max(RP_PIN_RULES) == 1024 &&
		   pinned_max(RP_PIN_ATOMS) == 2048 && ft0 == flow_first(1024) &&
		   pinned_max("rp_flow6_t10") == flow_first(1024) && pinned_max("rp_flow4_t0") == flow_first(1024) &&
		   pinned_max(RP_PIN_TENANTS) == (pow2(4ull * (max_id + 1)) > 64 ? pow2(4ull * (max_id + 1)) : 64),
		   "size: maps sized from the configuration: rp_nodes %u, rp_rule_counters %u, rp_counters %u "
		   "and rp_tenants %u (tenant ids up to %u), rp_rules %u, rp_atoms %u, alpha's flow tables "
		   "%u/%u, the gateway's %u",
		   nodes0, rc0, cnt0, pinned_max(RP_PIN_TENANTS), max_id, pinned_max(RP_PIN_RULES),
		   pinned_max(RP_PIN_ATOMS), ft0, pinned_max("rp_flow6_t10"), pinned_max("rp_flow4_t0"));
	/* a flow of alpha's, to be found again in its grown table */
	snprintf(path, sizeof(path), "%s/rp_flow4_t10", RP_PIN_DIR);
	fd = bpf_obj_get(path);
	fk.src = htonl(0x0a140101);
	fk.dst = htonl(0x0a780105);
	tap_result(fd >= 0 && !bpf_map_update_elem(fd, &fk, &fv, BPF_ANY), "size: a flow put into alpha's table");
	if (fd >= 0)
		close(fd);
	{	/* a frame counted: the counters must carry over when rp_counters grows */
		uint8_t pkt[PK_MAX];
		struct ps g = { .fam = 4, .src = "8.8.8.8", .dst = "198.51.100.2", .proto = 17,
				.sport = 1, .dport = 51810 };
		size_t n = pk_build(&g, pkt);

		c0 = pinned_counter(10, RP_R_GEO_SITE);
		tap_result(!send_frame("dpupp", pkt, n) && wait_counter(10, RP_R_GEO_SITE, c0 + 1),
			   "size: a geo-fenced frame counted before the growth");
		c0 = pinned_counter(10, RP_R_GEO_SITE);
	}

	/* 1,100 more rules, 20 more sites, 4,000 more IPv6 prefixes: every map
	 * too small, grown by replacement under traffic */
	alpha->rules = realloc(alpha->rules, (r0 + 1101) * sizeof(*alpha->rules));
	for (unsigned i = 0; i < 1100; i++) {
		snprintf(text, sizeof(text), "more%u", i);
		fx_rule(alpha, text, "sites", "10.20.1.0/24", "udp", i % 2 ? "7000" : "7001", true);
	}
	for (unsigned i = 0; i < 20; i++) {
		char a[32];

		snprintf(text, sizeof(text), "x%u", i);
		snprintf(a, sizeof(a), "10.121.%u.0/24", i);
		fx_site(alpha, text, a, "");
	}
	l->v = realloc(l->v, (n0 + 4000) * sizeof(*l->v));
	for (unsigned i = 0; i < 4000; i++) {	/* /64s with every byte random: ~6 nodes each */
		xorshift64(&s);
		snprintf(text, sizeof(text), "fd%02x:%04x:%04x:%04x::/64", (unsigned)(s & 0xff),
			 (unsigned)(s >> 8 & 0xffff), (unsigned)(s >> 24 & 0xffff), (unsigned)(s >> 40 & 0xffff));
		if (prefix_parse(text, &l->v[n0 + i]))
			return;
	}
	l->n = n0 + 4000;
	cfg->n_tenants = 3;	/* beta (20) and gamma back, gamma with id 300 */
	gamma_id = cfg->tenants[2].id;
	cfg->tenants[2].id = 300;
	for (size_t i = 0; i < cfg->n_tenants; i++)
		nrules += cfg->tenants[i].n_rules + cfg->tenants[i].n_shares;	/* each has a rule id */
	ok = apply_checked(cfg, &err, &nrun);
	nodes1 = pinned_max(RP_PIN_NODES);
	tap_result(err == 0 && nodes1 > nodes0 && pinned_max(RP_PIN_RULE_COUNTERS) == pow2(2 * (nrules + 1)),
		   "size: grown by apply: rp_nodes %u -> %u, rp_rule_counters %u -> %u", nodes0, nodes1, rc0,
		   pinned_max(RP_PIN_RULE_COUNTERS));
	tap_result(ok, "size: the allowed frame passed all along the growth (%lu runs through the "
		   "attached program)", nrun);
	tap_result(pinned_max(RP_PIN_TENANTS) == pow2(4ull * 301) &&
		   pinned_max(RP_PIN_COUNTERS) == pow2(2ull * 301 * RP_R__COUNT),
		   "size: two tenants more, ids up to 300: rp_tenants %u -> %u, rp_counters %u -> %u", 64,
		   pinned_max(RP_PIN_TENANTS), cnt0, pinned_max(RP_PIN_COUNTERS));
	fd = bpf_obj_get(path);
	fv.expires_ns = 0;
	tap_result(pinned_max("rp_flow4_t10") == ft0 && fd >= 0 && !bpf_map_lookup_elem(fd, &fk, &fv) &&
		   fv.expires_ns == ~0ull,
		   "size: 20 sites more: alpha's flow table kept (%u entries: the load grows it), its flow too",
		   pinned_max("rp_flow4_t10"));
	if (fd >= 0)
		close(fd);
	flows_grow(cfg, pow2(64 * (s0 + 20)));
	tap_result(c0 > 0 && pinned_counter(10, RP_R_GEO_SITE) == c0,
		   "size: counters carried over into the grown rp_counters (%llu)", c0);
	runs = 0;
	{
		struct stat sb;

		tap_result(stat(RP_PIN_DIR "/next", &sb) && errno == ENOENT, "size: nothing left in %s/next",
			   RP_PIN_DIR);
	}
	/* the same again: nothing to grow (same maps) */
	nodes0 = nodes1;
	err = apply_in_child(cfg);
	tap_result(err == 0 && pinned_max(RP_PIN_NODES) == nodes0, "size: applied again into the same maps");
	/* three times the prefixes again: grows again, never refused */
	l->v = realloc(l->v, (n0 + 12000) * sizeof(*l->v));
	for (unsigned i = 4000; i < 12000; i++) {
		xorshift64(&s);
		snprintf(text, sizeof(text), "fd%02x:%04x:%04x:%04x::/64", (unsigned)(s & 0xff),
			 (unsigned)(s >> 8 & 0xffff), (unsigned)(s >> 24 & 0xffff), (unsigned)(s >> 40 & 0xffff));
		if (prefix_parse(text, &l->v[n0 + i]))
			return;
	}
	l->n = n0 + 12000;
	ok = apply_checked(cfg, &err, &nrun);
	tap_result(err == 0 && ok && pinned_max(RP_PIN_NODES) > nodes0,
		   "size: 8,000 prefixes more: rp_nodes grown again %u -> %u, the frame passed all along (%lu runs)",
		   nodes0, pinned_max(RP_PIN_NODES), nrun);
	(void)runs;
	l->n = n0;
	alpha->n_rules = r0;
	alpha->n_sites = s0;
	cfg->tenants[2].id = gamma_id;
	cfg->n_tenants = 1;
	err = dataplane_down(&(struct diag){ 0 });
	tap_result(err == 0, "size: down after the grown policy");
}

int main(void)
{
	struct rp_config cfg;
	struct diag d = { 0 };
	struct stat st;
	uint8_t pkt[PK_MAX];
	unsigned long long c0;
	__u32 l1 = 0, l2 = 0;
	int p1, p2, err;

	if (geteuid() != 0) {
		tap_skip("test_loader: needs root");
		return 0;
	}
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		tap_skip("test_loader: no private mount namespace with a BPF filesystem: %s", strerror(errno));
		return 0;
	}
	if (fx_netns())
		return 1;
	fx_config_a(&cfg, false);

	err = apply_in_child(&cfg);
	tap_result(err == 0, "loader: apply succeeds (tunnels absent are skipped)");
	tap_result(!stat(RP_PIN_DIR "/" RP_PIN_COUNTERS, &st) && !stat(RP_PIN_DIR "/" RP_PIN_STATE, &st) &&
		   !stat(RP_PIN_DIR "/" RP_PIN_EVENTS, &st) && !stat(RP_PIN_DIR "/" RP_PIN_GEO_DROPS, &st),
		   "loader: maps pinned under %s", RP_PIN_DIR);
	p1 = link_prog_id("link_xdp_dpup", &l1);
	tap_result(p1 > 0, "loader: uplink XDP link pinned and alive after the applying process exited");
	tap_result(link_prog_id("link_tcout_dpup", &l2) > 0, "loader: uplink tcx egress link pinned");
	tap_result(link_prog_id("link_xdp_dptrunk", &l2) > 0 && link_prog_id("link_xdp_dpcloud", &l2) > 0,
		   "loader: cloud XDP links pinned (one for the shared trunk)");
	tap_result(link_prog_id("link_tcin_dptun1", &l2) > 0, "loader: tunnel tcx ingress link pinned");
	tap_result(link_prog_id("link_tcin_dpcloud", &l2) > 0 && link_prog_id("link_tcin_dptrunk", &l2) > 0,
		   "loader: cloud tcx ingress links (cloud_mark) pinned");
	tap_result(!strcmp(dataplane_xdp_mode("dpup"), "native") || !strcmp(dataplane_xdp_mode("dpup"), "generic"),
		   "loader: XDP mode on the uplink reported (%s)", dataplane_xdp_mode("dpup"));

	/* real frames through the attached programs */
	{
		struct ps s = { .fam = 4, .src = "8.8.8.8", .dst = "198.51.100.2", .proto = 17,
				.sport = 1, .dport = 51810 };
		size_t n = pk_build(&s, pkt);

		c0 = pinned_counter(10, RP_R_GEO_SITE);
		err = send_frame("dpupp", pkt, n);
		tap_result(!err && wait_counter(10, RP_R_GEO_SITE, c0 + 1),
			   "loader: a frame into the uplink is judged by uplink_in (geo_site, alpha)");
	}
	{
		struct ps s = { .nvlan = 1, .vid = { 300 }, .fam = 4, .src = "10.20.1.1", .dst = "10.140.1.5",
				.proto = 17, .sport = 1, .dport = 1 };
		size_t n = pk_build(&s, pkt);

		c0 = pinned_counter(30, RP_R_SPOOFED);
		err = send_frame("dptrunkp", pkt, n);
		tap_result(!err && wait_counter(30, RP_R_SPOOFED, c0 + 1),
			   "loader: a tagged frame into the trunk is judged by cloud_in (spoofed, gamma)");
	}
	{
		struct ps s = { .fam = 4, .src = "198.51.100.2", .dst = "10.120.1.9", .proto = 17,
				.sport = 1, .dport = 9 };
		size_t n = pk_build(&s, pkt);

		c0 = pinned_counter(10, RP_R_CLEARTEXT);
		err = send_frame("dpup", pkt, n);
		(void)err;
		tap_result(wait_counter(10, RP_R_CLEARTEXT, c0 + 1),
			   "loader: a frame sent out of the uplink to a site prefix is dropped by uplink_out (cleartext)");
	}

	/* second apply by the same build: same links, the pinned programs
	 * adopted (nothing loaded), counters kept */
	c0 = pinned_counter(10, RP_R_GEO_SITE);
	err = apply_in_child(&cfg);
	p2 = link_prog_id("link_xdp_dpup", &l2);
	tap_result(err == 0 && p2 > 0 && l2 == l1 && p2 == p1,
		   "loader: second apply of the same build keeps the link and its program (link %u, prog %d -> %d)",
		   l2, p1, p2);
	tap_result(pinned_counter(10, RP_R_GEO_SITE) == c0, "loader: counters survive a second apply");
	/* the programs of another build (no pinned programs of this one):
	 * loaded, swapped into the same links */
	{
		DIR *dir = opendir(RP_PIN_DIR);
		struct dirent *e;
		char path[512];
		int n = 0;

		while (dir && (e = readdir(dir)))
			if (!strncmp(e->d_name, "prog_", 5)) {
				snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, e->d_name);
				n += !unlink(path);
			}
		if (dir)
			closedir(dir);
		tap_result(n == 5, "loader: the five programs (cloud_mark too) are pinned (%d)", n);
	}
	err = apply_in_child(&cfg);
	p2 = link_prog_id("link_xdp_dpup", &l2);
	tap_result(err == 0 && p2 > 0 && l2 == l1 && p2 != p1,
		   "loader: new programs replace the program inside the same link (link %u, prog %d -> %d)",
		   l2, p1, p2);
	tap_result(pinned_counter(10, RP_R_GEO_SITE) == c0, "loader: counters survive new programs");
	upgrade_maps_differ(&cfg);

	/* a state directory: policy records and the geo fingerprint */
	{
		char dir[] = "/tmp/ap-loader.XXXXXX", geo[64], rec[96];
		FILE *f;

		if (!mkdtemp(dir))
			return 1;
		snprintf(geo, sizeof(geo), "%s/geo.txt", dir);
		f = fopen(geo, "w");
		fputs("198.51.100.0/24,FR\n", f);
		fclose(f);
		cfg.state_dir = strdup(dir);
		cfg.geo_ipv4 = strdup(geo);
		cfg.geo_format = RP_GEO_CIDR;
		tap_result(!dataplane_geo_unchanged(&cfg), "loader: geo: no fingerprint yet, the files are read");
		err = apply_geo_in_child(&cfg);
		tap_result(err == 0, "loader: apply with a geo database and a state directory (%d)", err);
		tap_result(dataplane_geo_unchanged(&cfg), "loader: geo: files unchanged since loaded are not read again");
		err = apply_geo_in_child(&cfg);
		snprintf(rec, sizeof(rec), "%s/dataplane/slot0.rec", dir);
		tap_result(err == 2 && !stat(rec, &st), "loader: second apply skips the geo files, slot records kept (%d)", err);
		sleep(1);	/* a visible change of the times, whatever the file system's resolution */
		f = fopen(geo, "a");
		fputs("203.0.113.0/24,DE\n", f);
		fclose(f);
		tap_result(!dataplane_geo_unchanged(&cfg), "loader: geo: a changed file is read again");
		err = apply_geo_in_child(&cfg);
		tap_result(err == 0 && dataplane_geo_unchanged(&cfg), "loader: geo: the changed file loaded and recorded");
		utimensat(AT_FDCWD, geo, NULL, 0);
		tap_result(!dataplane_geo_unchanged(&cfg), "loader: geo: a touched file is read again");
		err = apply_geo_in_child(&cfg);
		tap_result(err == 0, "loader: geo: apply after touch");
		cfg.geo_format = RP_GEO_TOR;
		tap_result(!dataplane_geo_unchanged(&cfg), "loader: geo: another format is read again");
		cfg.geo_format = RP_GEO_CIDR;
		free(cfg.geo_ipv4);
		cfg.geo_ipv4 = NULL;
		free(cfg.state_dir);
		cfg.state_dir = NULL;
		snprintf(rec, sizeof(rec), "rm -rf %s", dir);
		if (system(rec) != 0)
			printf("# could not remove %s\n", dir);
	}

	/* a tenant removed: its attachments go */
	cfg.n_tenants = 1;
	err = apply_in_child(&cfg);
	tap_result(err == 0 && link_prog_id("link_xdp_dptrunk", &l2) < 0 && link_prog_id("link_tcin_dptun2", &l2) < 0,
		   "loader: attachments of removed tenants are detached");

	err = dataplane_down(&d);
	diag_print(&d, stderr);
	tap_result(err == 0 && stat(RP_PIN_DIR, &st) && errno == ENOENT, "loader: down removes %s", RP_PIN_DIR);
	tap_result(!strcmp(dataplane_xdp_mode("dpup"), "none") && !strcmp(dataplane_xdp_mode("dpcloud"), "none"),
		   "loader: down detaches XDP");
	{
		struct ps s = { .fam = 4, .src = "8.8.8.8", .dst = "198.51.100.2", .proto = 17, .sport = 1,
				.dport = 51810 };
		size_t n = pk_build(&s, pkt);

		tap_result(send_frame("dpupp", pkt, n) == 0, "loader: traffic still flows after down");
	}
	grow(&cfg);
	err = dataplane_down(&d);
	tap_result(err == 0, "loader: down twice is fine");
	tap_exit();
}
