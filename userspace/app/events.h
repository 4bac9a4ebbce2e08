/* events.h — dataplane events (struct rp_event, bpf/rempart_abi.h) from the
 * ring buffer pinned at PIN_DIR/RP_PIN_EVENTS: reading, formatting as one
 * text line or as a JSON object (json-c), and logging at a bounded rate. */
#ifndef REMPART_EVENTS_H
#define REMPART_EVENTS_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <json-c/json.h>
#include "config/config.h"
#include "lib/diag.h"
#include "rempart_abi.h"

struct events;
typedef void (*events_cb)(const struct rp_event *e, void *ctx);

/* Open the pinned ring buffer (pin_dir NULL: RP_PIN_DIR); cb is called for
 * each event by events_consume().  0, or -errno with a message in *d. */
int events_open(struct events **ep, const char *pin_dir, events_cb cb, void *ctx,
		struct diag *d);
int events_fd(const struct events *ev);		/* poll for POLLIN */
int events_consume(struct events *ev);		/* events handled, or -errno */
void events_close(struct events *ev);		/* NULL is fine */

/* Names used in both formats. */
const char *hook_name(unsigned hook);		/* "uplink_in", …; "?" */
const char *ip_proto_name(unsigned proto);	/* "tcp", "udp", "icmp", "icmpv6"; NULL */

/* The rule or share that decided (rp_event.rule): "NAME" or "share:NAME";
 * false when none (or no cfg). */
bool event_rule(const struct rp_event *e, const struct rp_config *cfg, char *buf, size_t len);
/* The site the event is about, where one applies (cfg's names; NULL:
 * none): from a tunnel, the site of the source; towards a tunnel (cloud in,
 * clear text out), the site of the destination; a handshake on the uplink,
 * the site whose allow_from holds the source. */
const char *event_site(const struct rp_event *e, const struct rp_config *cfg);
/* The journal fields of an event: TENANT=, REASON=, HOOK=, SITE=, RULE=. */
struct event_fields {
	char tenant[80], reason[32], hook[32], site[80], rule[96];
	const char *v[6];	/* NULL-terminated */
};
void event_fields(const struct rp_event *e, const struct rp_config *cfg, struct event_fields *f);

/* One line, no newline:
 *   TIME drop REASON tenant=T [site=S] [rule=R] hook=H dev=IF [vlan=V] PROTO SRC[:P] > DST[:P]
 *   [country=CC] len=N
 * cfg (may be NULL) gives tenant names; the interface name is looked up in
 * the caller's network namespace. */
void event_format_text(const struct rp_event *e, const struct rp_config *cfg,
		       char *buf, size_t len);
/* {"time", "ts_ns", "verdict", "reason", "tenant", "tenant_id", "site", "rule", "hook",
 *  "interface", "vlan", "family", "proto", "src", "dst", "sport", "dport",
 *  "country", "len"} — null where not applicable.  Caller puts the object. */
struct json_object *event_to_json(const struct rp_event *e, const struct rp_config *cfg);

/* Logging drop events at most per_sec a second; the rest are counted and
 * reported as one "suppressed K" line when the next second starts. */
struct event_ratelimit {
	unsigned per_sec;
	time_t window;
	unsigned n;
	unsigned long suppressed;
};
void event_log(struct event_ratelimit *rl, const struct rp_event *e, const struct rp_config *cfg);
void event_log_flush(struct event_ratelimit *rl);	/* report what was suppressed */
void event_log_tick(struct event_ratelimit *rl);	/* flush once the second is over */
#endif
