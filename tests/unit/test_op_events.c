// SPDX-License-Identifier: GPL-2.0
/* test_op_events — struct rp_event as a text line and as JSON (with the
 * rule and the site it is about), the bounded-rate log, and the rule ids
 * named back (policy_refs) against the compiler's own numbering of the
 * example configuration.  Synthetic events: no dataplane needed. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "app/events.h"
#include "policy/policy.h"
#include "policy/policy_refs.h"
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

static unsigned any_ifindex(const char *name, void *arg)
{
	return 7;
}

/* policy_refs() numbers the shares and rules as policy_compile() does. */
static void refs_match_compiler(void)
{
	struct rp_config cfg;
	struct rp_policy p;
	struct policy_ref *refs = NULL, one;
	struct diag d = { 0 };
	size_t n = 0, bad = 0;

	if (config_load("configs/example", RP_CFG_SKIP_KEY_FILES, &cfg, &d)) {
		tap_result(0, "events: configs/example loads");
		diag_free(&d);
		return;
	}
	if (policy_compile(&cfg, 0, any_ifindex, NULL, &p, &d) || policy_refs(&cfg, &refs, &n)) {
		tap_result(0, "events: configs/example compiles");
		goto out;
	}
	for (size_t i = 0; i < n && i < p.n_rule_names; i++) {
		char want[128];

		snprintf(want, sizeof(want), "%s/%s", cfg.tenants[refs[i].tenant].name, refs[i].name);
		bad += refs[i].id != i + 1 || strcmp(want, p.rule_names[i]) ||
		       policy_ref_lookup(&cfg, refs[i].id, &one) || one.tenant != refs[i].tenant ||
		       strcmp(one.name, refs[i].name) || one.share != refs[i].share;
	}
	tap_result(n && n == p.n_rule_names && !bad && policy_ref_lookup(&cfg, n + 1, &one),
		   "events: the rule ids named back are the compiler's (%zu shares and rules of "
		   "configs/example, %zu differ)", n, bad);
	policy_free(&p);
out:
	free(refs);
	diag_free(&d);
	config_free(&cfg);
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
	char line[512], tmpl[] = "/tmp/op_events.XXXXXX", *buf = NULL;
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
	/* a site's packet that a rule dropped: the site by its source (from a
	 * tunnel), the rule by its id (shares first, then the rules) */
	{
		struct rp_prefix lan, tip;
		struct rp_site sites[2] = { { .name = "lyon" }, { .name = "dakar" } };
		struct rp_rule rules[2] = { { .name = "web", .allow = true }, { .name = "no-ssh" } };
		struct rp_share shares[1] = { { .name = "dns" } };
		struct rp_tenant t2[1] = { { .name = "interieur", .id = 10, .sites = sites,
					     .n_sites = 2, .rules = rules, .n_rules = 2,
					     .shares = shares, .n_shares = 1 } };
		struct rp_config c2 = { .tenants = t2, .n_tenants = 1 };
		struct rp_event r = {
			.ifindex = 1, .tenant = 10, .verdict = RP_DROP, .reason = RP_R_NO_RULE,
			.hook = RP_HOOK_TUNNEL_IN, .family = 2, .proto = 6, .sport = 40000,
			.dport = 22, .country = RP_CC_NONE, .len = 60, .rule = 3,
		};
		struct event_fields fl;

		prefix_parse("10.120.1.0/24", &lan);
		prefix_parse("100.64.10.12/32", &tip);
		sites[0].allowed_ips = (struct rp_prefix_list){ &lan, 1 };
		sites[1].tunnel_ip = (struct rp_prefix_list){ &tip, 1 };
		inet_pton(AF_INET, "10.120.1.5", r.src);
		inet_pton(AF_INET, "10.20.1.10", r.dst);
		event_format_text(&r, &c2, line, sizeof(line));
		tap_result(strstr(line, " drop no_rule tenant=interieur site=lyon rule=no-ssh "
					"hook=tunnel_in ") != NULL,
			   "events: a rule's drop from a site names both: '%s'", line);
		o = event_to_json(&r, &c2);
		tap_result(o && !strcmp(jstr(o, "site"), "lyon") && !strcmp(jstr(o, "rule"), "no-ssh"),
			   "events: JSON has site and rule: %s", json_object_to_json_string(o));
		json_object_put(o);
		event_fields(&r, &c2, &fl);
		tap_result(!strcmp(fl.v[0], "TENANT=interieur") && !strcmp(fl.v[1], "REASON=no_rule") &&
			   !strcmp(fl.v[3], "SITE=lyon") && !strcmp(fl.v[4], "RULE=no-ssh") && !fl.v[5],
			   "events: journal fields TENANT= REASON= HOOK= SITE= RULE=");
		/* towards a site (cloud in): the site of the destination, its
		 * tunnel_ip too; a share by its id */
		r.hook = RP_HOOK_CLOUD_IN;
		r.rule = 1;
		inet_pton(AF_INET, "10.20.1.10", r.src);
		inet_pton(AF_INET, "100.64.10.12", r.dst);
		event_format_text(&r, &c2, line, sizeof(line));
		tap_result(strstr(line, "tenant=interieur site=dakar rule=share:dns hook=cloud_in") != NULL,
			   "events: towards a site: its destination's site; a share: '%s'", line);
		/* no site there, no rule: neither field */
		r.rule = 0;
		inet_pton(AF_INET, "10.99.0.1", r.dst);
		o = event_to_json(&r, &c2);
		tap_result(o && jnull(o, "site") && jnull(o, "rule"),
			   "events: no site, no rule: null: %s", json_object_to_json_string(o));
		json_object_put(o);
	}
	refs_match_compiler();

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
