// SPDX-License-Identifier: GPL-2.0
/* test_op_events — struct rp_event as a text line and as JSON, and the
 * bounded-rate log.  Synthetic events: no dataplane needed. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "app/events.h"
#include "tap.h"

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

static bool jnull(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && !v;
}

int main(void)
{
	struct rp_tenant tenants[1] = { { .name = "interieur", .id = 10 } };
	struct rp_config cfg = { .tenants = tenants, .n_tenants = 1 };
	struct rp_event e = {
		.ts_ns = 123456789, .ifindex = 1, .tenant = 10, .verdict = RP_DROP,
		.reason = RP_R_GEO_SITE, .hook = RP_HOOK_UPLINK_IN, .family = 2, .proto = 17,
		.sport = 5555, .dport = 51810, .country = 2 * 26 + 13 /* CN */, .vlan = 0,
		.len = 148,
	};
	struct rp_event e6 = {
		.ifindex = 999999, .tenant = 0, .verdict = RP_DROP, .reason = RP_R_NOT_WIREGUARD,
		.hook = RP_HOOK_UPLINK_IN, .family = 10, .proto = 6, .sport = 40000, .dport = 22,
		.country = RP_CC_NONE, .vlan = 110, .len = 80,
	};
	struct event_ratelimit rl = { .per_sec = 5 };
	struct json_object *o;
	char line[256], tmpl[] = "/tmp/op_events.XXXXXX", *buf = NULL;
	size_t cap = 0;
	int fd, lines = 0, suppressed = 0;
	FILE *f;

	inet_pton(AF_INET, "203.0.113.5", e.src);
	inet_pton(AF_INET, "198.51.100.10", e.dst);
	inet_pton(AF_INET6, "2001:db8::1", e6.src);
	inet_pton(AF_INET6, "2001:db8::2", e6.dst);

	event_format_text(&e, &cfg, line, sizeof(line));
	tap_result(strstr(line, " drop geo_site tenant=interieur hook=uplink_in dev=lo udp "
				"203.0.113.5:5555 > 198.51.100.10:51810 country=CN len=148") != NULL,
		   "events: text line of an IPv4 geo drop: '%s'", line);
	tap_result(line[4] == '-' && line[10] == 'T' && strchr(line, 'Z') == line + 23,
		   "events: text line starts with an ISO UTC time");
	event_format_text(&e6, &cfg, line, sizeof(line));
	tap_result(strstr(line, " drop not_wireguard tenant=_gateway hook=uplink_in "
				"dev=if999999 vlan=110 tcp [2001:db8::1]:40000 > [2001:db8::2]:22 "
				"len=80") != NULL,
		   "events: text line of an IPv6 drop with VLAN, no country: '%s'", line);

	o = event_to_json(&e, &cfg);
	tap_result(o && !strcmp(jstr(o, "verdict"), "drop") && !strcmp(jstr(o, "reason"), "geo_site") &&
		   !strcmp(jstr(o, "tenant"), "interieur") && !strcmp(jstr(o, "src"), "203.0.113.5") &&
		   !strcmp(jstr(o, "dport"), "51810") && !strcmp(jstr(o, "country"), "CN") &&
		   !strcmp(jstr(o, "proto"), "udp") && !strcmp(jstr(o, "family"), "ipv4") &&
		   !strcmp(jstr(o, "interface"), "lo") && jnull(o, "vlan"),
		   "events: JSON of an IPv4 geo drop: %s", json_object_to_json_string(o));
	json_object_put(o);
	o = event_to_json(&e6, NULL);
	tap_result(o && !strcmp(jstr(o, "tenant"), "_gateway") && jnull(o, "country") &&
		   jnull(o, "interface") && !strcmp(jstr(o, "vlan"), "110") &&
		   !strcmp(jstr(o, "dst"), "2001:db8::2"),
		   "events: JSON of an IPv6 drop: %s", json_object_to_json_string(o));
	json_object_put(o);
	e.tenant = 77;
	o = event_to_json(&e, &cfg);
	tap_result(o && !strcmp(jstr(o, "tenant"), "77"), "events: unknown tenant id shown as its number");
	json_object_put(o);

	/* 50 events in a burst: 5 logged, then one "suppressed 45" line.  Start
	 * early in a second so the burst does not straddle two. */
	for (struct timespec ts;;) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_nsec < 500000000)
			break;
		usleep(10000);
	}
	fd = mkstemp(tmpl);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	for (int i = 0; i < 50; i++)
		event_log(&rl, &e, &cfg);
	event_log_flush(&rl);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fopen(tmpl, "r");
	while (f && getline(&buf, &cap, f) > 0) {
		lines += strstr(buf, "event: ") != NULL && strstr(buf, "geo_site") != NULL;
		suppressed += strstr(buf, "suppressed 45 more events") != NULL;
	}
	if (f)
		fclose(f);
	free(buf);
	unlink(tmpl);
	close(fd);
	tap_result(lines == 5 && suppressed == 1 && rl.suppressed == 0,
		   "events: log rate bounded (%d of 50 logged, suppressed line %d)", lines, suppressed);
	tap_exit();
}
