// SPDX-License-Identifier: GPL-2.0
/* metrics.c — Prometheus text format at /metrics; see metrics.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <microhttpd.h>
#include "app/metrics.h"
#include "config/country.h"
#include "dataplane/dataplane_flows.h"
#include "eval/reason.h"
#include "lib/clock.h"
#include "lib/lazylib.h"
#include "lib/log.h"
#include "lib/version.h"

struct metrics {
	struct MHD_Daemon *mhd;
	const struct metrics_state *st;
	unsigned port;
};

static int pinned_fd(const struct metrics_state *st, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", st->pin_dir ? st->pin_dir : RP_PIN_DIR, name);
	return bpf_obj_get(path);
}

/* Sum a per-CPU struct rp_counter cell over every possible CPU. */
static int percpu_sum(int fd, __u32 key, struct rp_counter *sum, struct rp_counter *buf, int ncpu)
{
	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(fd, &key, buf))
		return -errno;
	for (int c = 0; c < ncpu; c++) {
		sum->packets += buf[c].packets;
		sum->bytes += buf[c].bytes;
	}
	return 0;
}

static void tenant_label(const struct metrics_state *st, unsigned id, char *buf, size_t len)
{
	const struct rp_tenant *t = NULL;

	if (id == RP_TENANT_GATEWAY) {
		snprintf(buf, len, "%s", RP_GATEWAY_TENANT_NAME);
		return;
	}
	for (size_t i = 0; st->cfg && i < st->cfg->n_tenants; i++)
		if (st->cfg->tenants[i].id == id)
			t = &st->cfg->tenants[i];
	if (t)
		snprintf(buf, len, "%s", t->name);	/* [a-z0-9-]: nothing to escape */
	else
		snprintf(buf, len, "%u", id);
}

static void render_counters(const struct metrics_state *st, FILE *f, int ncpu,
			    struct rp_counter *buf)
{
	size_t nt = st->cfg ? st->cfg->n_tenants : 0;
	struct rp_counter *cells;
	int fd = pinned_fd(st, RP_PIN_COUNTERS);
	char name[32];

	if (fd < 0)
		return;
	cells = calloc((nt + 1) * RP_R__COUNT, sizeof(*cells));
	if (!cells)
		goto out;
	for (size_t t = 0; t <= nt; t++) {
		unsigned id = t ? st->cfg->tenants[t - 1].id : RP_TENANT_GATEWAY;

		for (int r = 0; r < RP_R__COUNT; r++)
			percpu_sum(fd, rp_counter_key(id, r), &cells[t * RP_R__COUNT + r], buf, ncpu);
	}
	for (int which = 0; which < 2; which++) {
		const char *m = which ? "rempart_bytes_total" : "rempart_packets_total";

		fprintf(f, "# HELP %s %s judged by the dataplane, by tenant and reason.\n",
			m, which ? "Bytes" : "Packets");
		fprintf(f, "# TYPE %s counter\n", m);
		for (size_t t = 0; t <= nt; t++) {
			tenant_label(st, t ? st->cfg->tenants[t - 1].id : 0, name, sizeof(name));
			for (int r = 0; r < RP_R__COUNT; r++) {
				const struct rp_counter *c = &cells[t * RP_R__COUNT + r];

				fprintf(f, "%s{tenant=\"%s\",reason=\"%s\"} %llu\n", m, name,
					reason_name(r),
					(unsigned long long)(which ? c->bytes : c->packets));
			}
		}
	}
	free(cells);
out:
	close(fd);
}

static void render_geo(const struct metrics_state *st, FILE *f, int ncpu, struct rp_counter *buf)
{
	int fd = pinned_fd(st, RP_PIN_GEO_DROPS);
	struct rp_counter c;
	char cc[3];

	if (fd < 0)
		return;
	fprintf(f, "# HELP rempart_geo_drops_total Packets dropped by a geo-fence, by the "
		   "country of the address that mattered (\"unknown\": in no country).\n"
		   "# TYPE rempart_geo_drops_total counter\n");
	for (__u32 k = 0; k < RP_GEO_DROPS_MAX; k++) {
		if (percpu_sum(fd, k, &c, buf, ncpu) || !c.packets)
			continue;	/* 676 zero series would only be noise */
		cc_format(k, cc);
		fprintf(f, "rempart_geo_drops_total{country=\"%s\"} %llu\n",
			k == RP_CC_COUNT ? "unknown" : cc, (unsigned long long)c.packets);
	}
	close(fd);
}

/* Connection state (rempart_flows{tenant} of rempart(8), docs/policy.md
 * "Flows"): what each tenant holds across the tables (its own, the NAT
 * one), and per table its size, use and evictions: a tenant's sweep shows
 * as evictions in its own table only. */
static void render_flows(const struct metrics_state *st, FILE *f)
{
	int t4 = pinned_fd(st, RP_PIN_FLOWT4), t6 = pinned_fd(st, RP_PIN_FLOWT6);
	int stats = pinned_fd(st, RP_PIN_FLOW_STATS);
	size_t nt = st->cfg ? st->cfg->n_tenants : 0;
	unsigned long long *live = calloc(RP_TENANT_ID_MAX + 1, sizeof(*live));
	struct dp_flow_usage *u = calloc(nt + 2, sizeof(*u));
	bool *have = calloc(nt + 2, sizeof(*have));
	static const char *const fam[] = { "rempart_flow_table_capacity", "rempart_flow_table_entries",
					   "rempart_flow_evictions_total", "rempart_flow_refused_total" };
	static const char *const help[] = {
		"Entries a flow table can hold (both families).",
		"Entries a flow table holds, expired ones included.",
		"Entries the table's LRU pushed out to make room (a tenant's own only).",
		"Flows that could not be recorded.",
	};
	char name[32];

	if (t4 < 0 || t6 < 0 || stats < 0 || !live || !u || !have)
		goto out;
	/* tables: 0 the gateway's, 1..nt the tenants', nt + 1 the NAT one */
	for (size_t i = 0; i < nt + 2; i++) {
		__u32 table = !i ? RP_TENANT_GATEWAY : i <= nt ? st->cfg->tenants[i - 1].id : RP_FLOW_NAT;

		have[i] = !dp_flow_usage(t4, t6, stats, table, &u[i], live);
	}
	fprintf(f, "# HELP rempart_flows Connection-state entries (flows) alive, by the tenant they "
		   "belong to (its own table and its NATed connections).\n# TYPE rempart_flows gauge\n");
	for (size_t t = 0; t <= nt; t++) {
		unsigned id = t ? st->cfg->tenants[t - 1].id : RP_TENANT_GATEWAY;

		tenant_label(st, id, name, sizeof(name));
		fprintf(f, "rempart_flows{tenant=\"%s\"} %llu\n", name, live[id]);
	}
	for (int k = 0; k < 4; k++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam[k], help[k], fam[k], k < 2 ? "gauge" : "counter");
		for (size_t i = 0; i < nt + 2; i++) {
			unsigned long long v[] = { u[i].capacity, u[i].present, u[i].evicted, u[i].refused };

			if (!have[i])
				continue;
			if (i > nt)
				snprintf(name, sizeof(name), "_nat");
			else
				tenant_label(st, i ? st->cfg->tenants[i - 1].id : 0, name, sizeof(name));
			fprintf(f, "%s{table=\"%s\"} %llu\n", fam[k], name, v[k]);
		}
	}
out:
	free(live);
	free(u);
	free(have);
	if (t4 >= 0)
		close(t4);
	if (t6 >= 0)
		close(t6);
	if (stats >= 0)
		close(stats);
}

static void render_state(const struct metrics_state *st, FILE *f)
{
	int fd = pinned_fd(st, RP_PIN_STATE);
	struct rp_state s;
	__u32 key = 0;
	int ok;

	ok = fd >= 0 && !bpf_map_lookup_elem(fd, &key, &s);
	fprintf(f, "# HELP rempart_dataplane_loaded 1 when the pinned dataplane state is "
		   "readable.\n# TYPE rempart_dataplane_loaded gauge\n"
		   "rempart_dataplane_loaded %d\n", ok);
	if (ok)
		fprintf(f, "# HELP rempart_policy_generation Generation of the live policy "
			   "(bumped by every policy swap).\n"
			   "# TYPE rempart_policy_generation gauge\n"
			   "rempart_policy_generation %llu\n", (unsigned long long)s.generation);
	if (fd >= 0)
		close(fd);
}

/* Events the dataplane could not report (rp_evstats, per CPU). */
static void render_events(const struct metrics_state *st, FILE *f, int ncpu)
{
	int fd = pinned_fd(st, RP_PIN_EVSTATS);
	struct rp_evstats *v = calloc(ncpu, sizeof(*v));
	unsigned long long lost = 0, limited = 0;
	__u32 zero = 0;

	if (v && fd >= 0 && !bpf_map_lookup_elem(fd, &zero, v))
		for (int c = 0; c < ncpu; c++) {
			lost += v[c].lost;
			limited += v[c].limited;
		}
	/* always there: 0 until the dataplane has its map */
	fprintf(f, "# HELP rempart_events_lost_total Drop events lost because the ring buffer "
		   "was full (no reader kept up).\n# TYPE rempart_events_lost_total counter\n"
		   "rempart_events_lost_total %llu\n"
		   "# HELP rempart_events_ratelimited_total Drop events not reported by the "
		   "dataplane's rate limit (counted all the same).\n"
		   "# TYPE rempart_events_ratelimited_total counter\n"
		   "rempart_events_ratelimited_total %llu\n", lost, limited);
	free(v);
	if (fd >= 0)
		close(fd);
}

/* rempart_ha_sync_lag_seconds: the standby's time since the active's last
 * flow-sync datagram (one comes every pass, empty when nothing changed);
 * 0 on the active; NaN before the first. */
static const char *ha_lag(const struct ha *h, char *buf, size_t len)
{
	if (h->role == HA_ACTIVE)
		return "0";
	if (!h->flows.rx_ms)
		return "NaN";
	snprintf(buf, len, "%.3f", (clock_ms() - h->flows.rx_ms) / 1000.0);
	return buf;
}

int metrics_render(const struct metrics_state *st, FILE *f)
{
	int ncpu = libbpf_num_possible_cpus();
	struct rp_counter *buf;
	char lag[32];

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	buf = calloc(ncpu, sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	fprintf(f, "# HELP rempart_build_info The build of rempart serving these metrics.\n"
		   "# TYPE rempart_build_info gauge\n"
		   "rempart_build_info{version=\"%s\"} 1\n", rp_version());
	render_counters(st, f, ncpu, buf);
	render_geo(st, f, ncpu, buf);
	free(buf);
	render_state(st, f);
	render_events(st, f, ncpu);
	render_flows(st, f);
	metrics_render_rules(st, f);
	metrics_render_sites(st, f);
	fprintf(f, "# HELP rempart_reload_total Configuration reloads (SIGHUP), by result.\n"
		   "# TYPE rempart_reload_total counter\n"
		   "rempart_reload_total{result=\"success\"} %llu\n"
		   "rempart_reload_total{result=\"error\"} %llu\n",
		(unsigned long long)st->reload_success, (unsigned long long)st->reload_error);
	if (st->audit && st->audit->violations >= 0)
		fprintf(f, "# HELP rempart_audit_violations Violations the last audit that could judge the "
			   "live state found (0: isolation proven).\n"
			   "# TYPE rempart_audit_violations gauge\n"
			   "rempart_audit_violations %lld\n"
			   "# HELP rempart_audit_last_run_seconds When that audit finished (unix time).\n"
			   "# TYPE rempart_audit_last_run_seconds gauge\n"
			   "rempart_audit_last_run_seconds %lld\n",
			(long long)st->audit->violations, (long long)st->audit->last_run);
	if (st->audit)
		fprintf(f, "# HELP rempart_audit_runs_total Audits run by the daemon, by result.\n"
			   "# TYPE rempart_audit_runs_total counter\n"
			   "rempart_audit_runs_total{result=\"judged\"} %llu\n"
			   "rempart_audit_runs_total{result=\"error\"} %llu\n",
			(unsigned long long)(st->audit->runs - st->audit->errors),
			(unsigned long long)st->audit->errors);
	if (st->ha && st->ha->on)
		fprintf(f, "# HELP rempart_ha_role This gateway's role in its [ha] pair: 1 active, "
			   "0 standby, -1 fault.\n"
			   "# TYPE rempart_ha_role gauge\n"
			   "rempart_ha_role %d\n"
			   "# HELP rempart_ha_transitions_total Role changes since the daemon started.\n"
			   "# TYPE rempart_ha_transitions_total counter\n"
			   "rempart_ha_transitions_total %llu\n"
			   "# HELP rempart_ha_sync_lag_seconds Age of the flow state synced from the peer: "
			   "on the standby, the time since the active's last flow-sync datagram (NaN: none "
			   "yet); 0 on the active, which is the source (docs/ha.md).\n"
			   "# TYPE rempart_ha_sync_lag_seconds gauge\n"
			   "rempart_ha_sync_lag_seconds %s\n",
			(int)st->ha->role, (unsigned long long)st->ha->transitions, ha_lag(st->ha, lag, sizeof(lag)));
	return ferror(f) ? -EIO : 0;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **con_cls)
{
	struct metrics *m = cls;
	struct MHD_Response *resp;
	unsigned status = MHD_HTTP_OK;
	char *text = NULL;
	size_t len = 0;
	enum MHD_Result ret;
	FILE *f;

	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		text = strdup("only GET\n");
	} else if (strcmp(url, "/metrics")) {
		status = MHD_HTTP_NOT_FOUND;
		text = strdup("rempart: metrics are at /metrics\n");
	} else {
		f = open_memstream(&text, &len);
		if (!f)
			return MHD_NO;
		if (metrics_render(m->st, f))
			status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		fclose(f);
	}
	if (!text)
		return MHD_NO;
	resp = LAZY(LAZY_MHD, MHD_create_response_from_buffer)(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	LAZY(LAZY_MHD, MHD_add_response_header)(resp, "Content-Type",
						 "text/plain; version=0.0.4; charset=utf-8");
	ret = LAZY(LAZY_MHD, MHD_queue_response)(conn, status, resp);
	LAZY(LAZY_MHD, MHD_destroy_response)(resp);
	return ret;
}

static int parse_listen(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;
	size_t hl;

	if (!colon)
		return -EINVAL;
	port = strtol(colon + 1, &end, 10);
	hl = colon - s;
	if (!colon[1] || *end || port < 0 || port > 65535 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	memset(ss, 0, sizeof(*ss));
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = 0;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	a4->sin_family = AF_INET;
	a4->sin_port = htons(port);
	if (!hl)
		return 0;	/* ":9542": every IPv4 address */
	return inet_pton(AF_INET, host, &a4->sin_addr) == 1 ? 0 : -EINVAL;
}

int metrics_start(struct metrics **mp, const char *listen, const struct metrics_state *st,
		  struct diag *d)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct metrics *m;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int err;

	err = parse_listen(listen, &ss);
	if (err) {
		diag_add(d, "metrics: listen '%s': not ADDRESS:PORT or [IPV6]:PORT", listen);
		return err;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->st = st;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->mhd = LAZY(LAZY_MHD, MHD_start_daemon)(flags, 0, NULL, NULL, answer, m,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, 32u,
				  MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				  MHD_OPTION_END);
	if (!m->mhd) {
		err = errno ? -errno : -EADDRNOTAVAIL;
		diag_add(d, "metrics: cannot listen on %s: %s", listen, strerror(-err));
		free(m);
		return err;
	}
	info = LAZY(LAZY_MHD, MHD_get_daemon_info)(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
	m->port = info ? info->port : 0;
	*mp = m;
	return 0;
}

int metrics_fd(const struct metrics *m)
{
	const union MHD_DaemonInfo *info =
		LAZY(LAZY_MHD, MHD_get_daemon_info)(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);

	return info ? info->epoll_fd : -1;
}

int metrics_timeout_ms(const struct metrics *m)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (LAZY(LAZY_MHD, MHD_get_timeout)(m->mhd, &t) != MHD_YES)
		return -1;
	return t > INT_MAX ? INT_MAX : (int)t;
}

void metrics_run(struct metrics *m)
{
	LAZY(LAZY_MHD, MHD_run)(m->mhd);
}

unsigned metrics_port(const struct metrics *m)
{
	return m->port;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	LAZY(LAZY_MHD, MHD_stop_daemon)(m->mhd);
	free(m);
}
