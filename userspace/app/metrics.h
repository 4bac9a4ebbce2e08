/* metrics.h — Prometheus text exposition (rempart(8)) on `[metrics] listen`,
 * served at /metrics by libmicrohttpd driven from the caller's poll loop (no
 * thread: MHD's epoll fd is polled with the rest, then metrics_run()).
 *
 * Counters come from the pinned maps under a pin directory (RP_PIN_DIR in
 * production, another bpffs directory in tests): rp_counters (per tenant and
 * reason), rp_geo_drops (per country), rp_state (policy generation).  What
 * only the daemon knows (reload results, tenant names) is in metrics_state,
 * which the caller owns and may change between two metrics_run() calls. */
#ifndef REMPART_METRICS_H
#define REMPART_METRICS_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "app/daemon_audit.h"
#include "config/config.h"
#include "ha/ha.h"
#include "lib/diag.h"

/* The per-rule series as the daemon follows them across reloads
 * (metrics_rules.c). */
struct metrics_rules {
	struct rule_series *v;
	size_t n;
	bool followed;		/* metrics_rules_follow() ran at least once */
};

struct metrics_state {
	const struct rp_config *cfg;	/* tenant names; NULL: only _gateway */
	const char *pin_dir;		/* NULL: RP_PIN_DIR */
	uint64_t reload_success;
	uint64_t reload_error;
	struct metrics_rules *rules;	/* NULL: the cells as they are */
	const struct daemon_audit *audit;	/* the daemon's audits; NULL: none */
	const struct ha *ha;		/* [ha]: the role (docs/ha.md); NULL or off: none */
};

struct metrics;

/* Listen on LISTEN ("ADDR:PORT", "[V6ADDR]:PORT"; port 0 picks one).
 * 0, or -errno with a message in *d. */
int metrics_start(struct metrics **mp, const char *listen,
		  const struct metrics_state *st, struct diag *d);
int metrics_fd(const struct metrics *m);	/* poll for POLLIN */
int metrics_timeout_ms(const struct metrics *m);	/* for poll(); -1: none */
void metrics_run(struct metrics *m);		/* after poll said so, or on timeout */
unsigned metrics_port(const struct metrics *m);	/* the bound port */
void metrics_stop(struct metrics *m);		/* NULL is fine */

/* Write the whole exposition text to f (what GET /metrics answers).
 * 0, or -errno on a write error; missing maps only leave their series out. */
int metrics_render(const struct metrics_state *st, FILE *f);
/* The rempart_site_* families, from each tenant's WireGuard device through
 * the tunnels module's backend (metrics_sites.c); a tunnel that cannot be
 * read leaves its sites out. */
void metrics_render_sites(const struct metrics_state *st, FILE *f);

/* rempart_rule_packets_total: call metrics_rules_follow() with the new
 * configuration right after each policy swap (and once at start), so the
 * series follow each rule by name when ids move.  0 or -ENOMEM. */
int metrics_rules_follow(struct metrics_rules *r, const struct rp_config *cfg, const char *pin_dir);
void metrics_rules_free(struct metrics_rules *r);
void metrics_render_rules(const struct metrics_state *st, FILE *f);

/* A site is up while its last handshake is younger than this (rempart(8):
 * 180 s; $RP_SITE_DOWN_AFTER, seconds, for tests). */
unsigned metrics_site_up_seconds(void);
#endif
