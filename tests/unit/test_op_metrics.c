// SPDX-License-Identifier: GPL-2.0
/* test_op_metrics — a metrics server over maps this program creates and pins
 * with the documented types (no dataplane needed).  Driven by
 * tests/e2e/ops_metrics.sh, which scrapes it with curl and promtool:
 *
 *   test_op_metrics PIN_DIR   pins rp_counters, rp_geo_drops, rp_state,
 *                             rp_rule_counters, rp_evstats, the flow
 *                             tables (rp_flowt4/6, rp_flow_stats) in
 *                             PIN_DIR (on bpffs), writes per-CPU values,
 *                             serves 127.0.0.1:0, prints "port N", then the
 *                             expected samples ("expect LINE"), then "ready",
 *                             and serves until stdin closes.
 * The values written are split over the CPUs so the per-CPU sum is tested.
 * The tenants' sites have no tunnel here (no such interface): their series
 * are there all the same, at 0 (rempart(8), docs/reference.md "Metrics": a site's series never vanish). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "app/metrics.h"
#include "eval/reason.h"
#include "lib/version.h"

static int make_pinned(const char *dir, const char *name, enum bpf_map_type type,
		       __u32 vsize, __u32 max)
{
	char path[512];
	int fd = bpf_map_create(type, name, 4, vsize, max, NULL);

	if (fd < 0) {
		fprintf(stderr, "bpf_map_create %s: %s\n", name, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (bpf_obj_pin(fd, path)) {
		fprintf(stderr, "pin %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Write (pk, by) split over the CPUs; the last CPU takes the remainder. */
static int put_percpu(int fd, __u32 key, __u64 pk, __u64 by, int ncpu)
{
	struct rp_counter *cells = calloc(ncpu, sizeof(*cells));
	int err;

	for (int c = 0; c < ncpu; c++) {
		cells[c].packets = pk / ncpu;
		cells[c].bytes = by / ncpu;
	}
	cells[ncpu - 1].packets = pk - (pk / ncpu) * (ncpu - 1);
	cells[ncpu - 1].bytes = by - (by / ncpu) * (ncpu - 1);
	err = bpf_map_update_elem(fd, &key, cells, BPF_ANY);
	free(cells);
	return err;
}

/* The flow tables (rp_flowt4/6 + rp_flow_stats) with one table, tenant
 * 10's: two live entries and an expired one, five created. */
static int make_flows(const char *dir, int ncpu)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	struct rp_flow_stat *st = calloc(ncpu, sizeof(*st));
	struct timespec ts;
	char path[512];
	int in4, in6, o4, o6, sfd, err = 0;
	__u32 t = 10;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	in4 = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "f4", sizeof(struct rp_flow4_key),
			     sizeof(struct rp_flow_val), 64, NULL);
	in6 = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "f6", sizeof(struct rp_flow_key),
			     sizeof(struct rp_flow_val), 64, NULL);
	if (in4 < 0 || in6 < 0 || !st)
		return -1;
	o.inner_map_fd = in4;
	o4 = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, RP_PIN_FLOWT4, 4, 4, RP_FLOW_TABLES, &o);
	o.inner_map_fd = in6;
	o6 = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, RP_PIN_FLOWT6, 4, 4, RP_FLOW_TABLES, &o);
	sfd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, RP_PIN_FLOW_STATS, 4, sizeof(*st), RP_FLOW_TABLES, NULL);
	if (o4 < 0 || o6 < 0 || sfd < 0)
		return -1;
	for (int i = 0; i < 3; i++) {
		struct rp_flow4_key k = { .zone = 10, .proto = 6, .sport = 1000 + i, .dport = 443 };
		struct rp_flow_val v = { .owner = 10,
					 .expires_ns = i < 2 ? (ts.tv_sec + 3600) * 1000000000ULL : 1 };

		err |= bpf_map_update_elem(in4, &k, &v, BPF_ANY);
	}
	st[0].created = 5;
	err |= bpf_map_update_elem(sfd, &t, st, BPF_ANY);
	err |= bpf_map_update_elem(o4, &t, &in4, BPF_ANY);
	err |= bpf_map_update_elem(o6, &t, &in6, BPF_ANY);
	snprintf(path, sizeof(path), "%s/%s", dir, RP_PIN_FLOWT4);
	err |= bpf_obj_pin(o4, path);
	snprintf(path, sizeof(path), "%s/%s", dir, RP_PIN_FLOWT6);
	err |= bpf_obj_pin(o6, path);
	snprintf(path, sizeof(path), "%s/%s", dir, RP_PIN_FLOW_STATS);
	err |= bpf_obj_pin(sfd, path);
	free(st);
	return err;
}

int main(int argc, char **argv)
{
	struct rp_site isites[2] = { { .name = "lyon" }, { .name = "pointe-a-pitre" } };
	struct rp_site jsites[1] = { { .name = "vendome" } };
	/* ids: shares first (justice's dns = 1), then the rules in order */
	struct rp_share jshares[1] = { { .name = "dns" } };
	struct rp_rule irules[2] = { { .name = "web", .allow = true }, { .name = "no-ssh" } };
	struct rp_rule jrules[1] = { { .name = "no-sites-to-archive" } };
	struct rp_tenant tenants[2] = {
		{ .name = "interieur", .id = 10, .tunnel_interface = "wg-opm-none-a",
		  .sites = isites, .n_sites = 2, .rules = irules, .n_rules = 2 },
		{ .name = "justice", .id = 20, .tunnel_interface = "wg-opm-none-b",
		  .sites = jsites, .n_sites = 1, .rules = jrules, .n_rules = 1,
		  .shares = jshares, .n_shares = 1 },
	};
	struct rp_config cfg = { .tenants = tenants, .n_tenants = 2 };
	struct rp_evstats *ev;
	struct metrics_state st = { .cfg = &cfg, .reload_success = 3, .reload_error = 2 };
	struct rp_state state = { .generation = 42 };
	struct metrics *m = NULL;
	struct diag d = { 0 };
	int ncpu = libbpf_num_possible_cpus();
	int cfd, gfd, sfd, rfd, efd, err;
	__u32 zero = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: test_op_metrics PIN_DIR\n");
		return 2;
	}
	st.pin_dir = argv[1];
	if (mkdir(argv[1], 0700) && errno != EEXIST)
		return 2;
	cfd = make_pinned(argv[1], RP_PIN_COUNTERS, BPF_MAP_TYPE_PERCPU_ARRAY,
			  sizeof(struct rp_counter), RP_COUNTERS_MAX);
	gfd = make_pinned(argv[1], RP_PIN_GEO_DROPS, BPF_MAP_TYPE_PERCPU_ARRAY,
			  sizeof(struct rp_counter), RP_GEO_DROPS_MAX);
	sfd = make_pinned(argv[1], RP_PIN_STATE, BPF_MAP_TYPE_ARRAY, sizeof(struct rp_state), 1);
	rfd = make_pinned(argv[1], RP_PIN_RULE_COUNTERS, BPF_MAP_TYPE_PERCPU_ARRAY,
			  sizeof(struct rp_counter), RP_RULE_COUNTERS_MAX);
	efd = make_pinned(argv[1], RP_PIN_EVSTATS, BPF_MAP_TYPE_PERCPU_ARRAY,
			  sizeof(struct rp_evstats), 1);
	if (cfd < 0 || gfd < 0 || sfd < 0 || rfd < 0 || efd < 0)
		return 2;
	err = put_percpu(cfd, rp_counter_key(10, RP_R_NO_RULE), 1001, 150150, ncpu);
	err |= put_percpu(cfd, rp_counter_key(20, RP_R_ALLOWED), 77, 7700, ncpu);
	err |= put_percpu(cfd, rp_counter_key(0, RP_R_NOT_WIREGUARD), 5, 300, ncpu);
	err |= put_percpu(gfd, 2 * 26 + 13 /* CN */, 9, 900, ncpu);
	err |= put_percpu(gfd, RP_CC_COUNT, 4, 400, ncpu);
	err |= bpf_map_update_elem(sfd, &zero, &state, BPF_ANY);
	err |= put_percpu(rfd, 1 /* justice/dns */, 12, 1200, ncpu);
	err |= put_percpu(rfd, 2 /* interieur/web */, 30, 3000, ncpu);
	err |= put_percpu(rfd, 4 /* justice/no-sites-to-archive */, 8, 800, ncpu);
	ev = calloc(ncpu, sizeof(*ev));
	for (int c = 0; ev && c < ncpu; c++) {
		ev[c].lost = c == 0 ? 6 : 1;
		ev[c].limited = 2;
	}
	err |= !ev || bpf_map_update_elem(efd, &zero, ev, BPF_ANY);
	free(ev);
	err |= make_flows(argv[1], ncpu);
	if (err) {
		fprintf(stderr, "writing the maps: %s\n", strerror(errno));
		return 2;
	}
	if (metrics_start(&m, "127.0.0.1:0", &st, &d)) {
		diag_print(&d, stderr);
		return 2;
	}
	printf("port %u\n", metrics_port(m));
	printf("expect rempart_packets_total{tenant=\"interieur\",reason=\"no_rule\"} 1001\n");
	printf("expect rempart_bytes_total{tenant=\"interieur\",reason=\"no_rule\"} 150150\n");
	printf("expect rempart_packets_total{tenant=\"justice\",reason=\"allowed\"} 77\n");
	printf("expect rempart_packets_total{tenant=\"justice\",reason=\"no_rule\"} 0\n");
	printf("expect rempart_packets_total{tenant=\"_gateway\",reason=\"not_wireguard\"} 5\n");
	printf("expect rempart_bytes_total{tenant=\"_gateway\",reason=\"not_wireguard\"} 300\n");
	printf("expect rempart_geo_drops_total{country=\"CN\"} 9\n");
	printf("expect rempart_geo_drops_total{country=\"unknown\"} 4\n");
	printf("expect rempart_policy_generation 42\n");
	printf("expect rempart_reload_total{result=\"success\"} 3\n");
	printf("expect rempart_reload_total{result=\"error\"} 2\n");
	printf("expect rempart_build_info{version=\"%s\"} 1\n", rp_version());
	printf("expect rempart_rule_packets_total{tenant=\"justice\",rule=\"share:dns\",action=\"allow\"} 12\n");
	printf("expect rempart_rule_packets_total{tenant=\"interieur\",rule=\"web\",action=\"allow\"} 30\n");
	printf("expect rempart_rule_packets_total{tenant=\"interieur\",rule=\"no-ssh\",action=\"deny\"} 0\n");
	printf("expect rempart_rule_packets_total{tenant=\"justice\",rule=\"no-sites-to-archive\",action=\"deny\"} 8\n");
	printf("expect rempart_events_lost_total %d\n", 6 + (ncpu - 1));
	printf("expect rempart_events_ratelimited_total %d\n", 2 * ncpu);
	printf("expect rempart_site_up{tenant=\"interieur\",site=\"lyon\"} 0\n");
	printf("expect rempart_site_up{tenant=\"interieur\",site=\"pointe-a-pitre\"} 0\n");
	printf("expect rempart_site_up{tenant=\"justice\",site=\"vendome\"} 0\n");
	printf("expect rempart_site_last_handshake_seconds{tenant=\"justice\",site=\"vendome\"} 0\n");
	printf("expect rempart_site_rx_bytes_total{tenant=\"interieur\",site=\"lyon\"} 0\n");
	printf("expect rempart_site_tx_bytes_total{tenant=\"interieur\",site=\"lyon\"} 0\n");
	printf("expect rempart_packets_total{tenant=\"justice\",reason=\"gateway\"} 0\n");
	printf("expect rempart_flows{tenant=\"interieur\"} 2\n");
	printf("expect rempart_flows{tenant=\"justice\"} 0\n");
	printf("expect rempart_flow_table_capacity{table=\"interieur\"} 128\n");
	printf("expect rempart_flow_table_entries{table=\"interieur\"} 3\n");
	printf("expect rempart_flow_evictions_total{table=\"interieur\"} 2\n");
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p[2] = { { .fd = metrics_fd(m), .events = POLLIN },
				       { .fd = 0, .events = POLLIN } };

		if (poll(p, 2, metrics_timeout_ms(m)) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;	/* stdin closed (or anything on it): stop */
		metrics_run(m);
	}
	metrics_stop(m);
	return 0;
}
