// SPDX-License-Identifier: GPL-2.0
/* events.c — the event ring buffer, and events as text and JSON; see events.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "app/events.h"
#include "config/country.h"
#include "eval/reason.h"
#include "policy/policy_refs.h"
#include "lib/log.h"

struct events {
	struct ring_buffer *rb;
	int map_fd;
	events_cb cb;
	void *ctx;
};

static int on_sample(void *ctx, void *data, size_t size)
{
	struct events *ev = ctx;
	struct rp_event e;

	if (size < RP_EVENT_MIN)
		return 0;	/* not ours: skip, keep reading */
	memset(&e, 0, sizeof(e));	/* an older build's event: no rule */
	memcpy(&e, data, size < sizeof(e) ? size : sizeof(e));
	ev->cb(&e, ev->ctx);
	return 0;
}

int events_open(struct events **ep, const char *pin_dir, events_cb cb, void *ctx,
		struct diag *d)
{
	char path[PATH_MAX];
	struct events *ev;
	int err;

	snprintf(path, sizeof(path), "%s/%s", pin_dir ? pin_dir : RP_PIN_DIR, RP_PIN_EVENTS);
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	ev->cb = cb;
	ev->ctx = ctx;
	ev->map_fd = bpf_obj_get(path);
	if (ev->map_fd < 0) {
		err = -errno;
		diag_add(d, "%s: %s (is the dataplane loaded? `rempart apply` or `rempart run`)",
			 path, strerror(-err));
		goto out;
	}
	ev->rb = ring_buffer__new(ev->map_fd, on_sample, ev, NULL);
	if (!ev->rb) {
		err = -errno;
		diag_add(d, "%s: cannot read the ring buffer: %s", path, strerror(-err));
		goto out;
	}
	*ep = ev;
	return 0;
out:
	events_close(ev);
	return err;
}

int events_fd(const struct events *ev)
{
	return ring_buffer__epoll_fd(ev->rb);
}

int events_consume(struct events *ev)
{
	return ring_buffer__consume(ev->rb);
}

void events_close(struct events *ev)
{
	if (!ev)
		return;
	ring_buffer__free(ev->rb);
	if (ev->map_fd >= 0)
		close(ev->map_fd);
	free(ev);
}

const char *hook_name(unsigned hook)
{
	static const char *const names[RP_HOOK__COUNT] = {
		[RP_HOOK_UPLINK_IN] = "uplink_in", [RP_HOOK_UPLINK_OUT] = "uplink_out",
		[RP_HOOK_CLOUD_IN] = "cloud_in", [RP_HOOK_TUNNEL_IN] = "tunnel_in",
	};
	return hook < RP_HOOK__COUNT ? names[hook] : "?";
}

const char *ip_proto_name(unsigned proto)
{
	switch (proto) {
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMPV6: return "icmpv6";
	default: return NULL;
	}
}

static bool has_ports(const struct rp_event *e)
{
	return e->family && (e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP);
}

/* bpf_ktime_get_ns() is CLOCK_MONOTONIC: move it to wall-clock time. */
static void event_time(const struct rp_event *e, char *buf, size_t len)
{
	struct timespec mono, real;
	int64_t ns;
	time_t s;
	struct tm tm;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	ns = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec -
	     ((int64_t)mono.tv_sec * 1000000000 + mono.tv_nsec) + (int64_t)e->ts_ns;
	s = ns / 1000000000;
	gmtime_r(&s, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ns % 1000000000 / 1000000));
}

static void tenant_name(const struct rp_event *e, const struct rp_config *cfg,
			char *buf, size_t len)
{
	const struct rp_tenant *t = NULL;

	if (e->tenant == RP_TENANT_GATEWAY) {
		snprintf(buf, len, "%s", RP_GATEWAY_TENANT_NAME);
		return;
	}
	for (size_t i = 0; cfg && i < cfg->n_tenants; i++)
		if (cfg->tenants[i].id == e->tenant)
			t = &cfg->tenants[i];
	if (t)
		snprintf(buf, len, "%s", t->name);
	else
		snprintf(buf, len, "%u", e->tenant);
}

static const struct rp_tenant *event_tenant(const struct rp_event *e, const struct rp_config *cfg)
{
	for (size_t i = 0; cfg && e->tenant != RP_TENANT_GATEWAY && i < cfg->n_tenants; i++)
		if (cfg->tenants[i].id == e->tenant)
			return &cfg->tenants[i];
	return NULL;
}

bool event_rule(const struct rp_event *e, const struct rp_config *cfg, char *buf, size_t len)
{
	struct policy_ref r;

	if (!cfg || policy_ref_lookup(cfg, e->rule, &r))
		return false;
	snprintf(buf, len, "%s%s", r.share ? "share:" : "", r.name);
	return true;
}

/* The site of a tenant an address belongs to: its allowed_ips or tunnel_ip
 * (the longest match), else, for where the site connects from, its
 * allow_from. */
static const struct rp_site *site_of(const struct rp_tenant *t, const struct rp_addr *a,
				     bool from_outside)
{
	const struct rp_site *best = NULL;
	int best_len = -1;

	for (size_t i = 0; i < t->n_sites; i++) {
		const struct rp_site *s = &t->sites[i];
		int l = from_outside ? prefix_list_longest_match(&s->allow_from, a) :
			prefix_list_longest_match(&s->allowed_ips, a);

		if (!from_outside) {
			int k = prefix_list_longest_match(&s->tunnel_ip, a);

			l = k > l ? k : l;
		}
		if (l > best_len) {
			best = s;
			best_len = l;
		}
	}
	return best;
}

const char *event_site(const struct rp_event *e, const struct rp_config *cfg)
{
	const struct rp_tenant *t = event_tenant(e, cfg);
	const struct rp_site *s = NULL;
	struct rp_addr a = { .family = e->family };

	if (!t || (e->family != AF_INET && e->family != AF_INET6))
		return NULL;
	switch (e->hook) {
	case RP_HOOK_TUNNEL_IN:	/* from a site: its source */
		memcpy(a.addr, e->src, 16);
		s = site_of(t, &a, false);
		break;
	case RP_HOOK_CLOUD_IN:	/* towards a site: its destination */
	case RP_HOOK_UPLINK_OUT:
		memcpy(a.addr, e->dst, 16);
		s = site_of(t, &a, false);
		break;
	case RP_HOOK_UPLINK_IN:	/* a handshake from where a site may connect */
		memcpy(a.addr, e->src, 16);
		s = site_of(t, &a, true);
		break;
	}
	return s ? s->name : NULL;
}

static void addr_text(const struct rp_event *e, const __u8 *a, char *buf, size_t len)
{
	if (!inet_ntop(e->family == AF_INET6 ? AF_INET6 : AF_INET, a, buf, len))
		snprintf(buf, len, "?");
}

static void endpoint_text(const struct rp_event *e, const __u8 *a, __u16 port,
			  char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	addr_text(e, a, ip, sizeof(ip));
	if (!has_ports(e))
		snprintf(buf, len, "%s", ip);
	else if (e->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, port);
	else
		snprintf(buf, len, "%s:%u", ip, port);
}

void event_format_text(const struct rp_event *e, const struct rp_config *cfg,
		       char *buf, size_t len)
{
	char when[32], tenant[24], dev[IF_NAMESIZE] = "?", src[64], dst[64];
	char proto[16], vlan[16] = "", country[16] = "", cc[3], rule[80], who[200] = "";
	const char *pn = ip_proto_name(e->proto), *site = event_site(e, cfg);

	event_time(e, when, sizeof(when));
	tenant_name(e, cfg, tenant, sizeof(tenant));
	snprintf(who, sizeof(who), "%s%s", site ? " site=" : "", site ? site : "");
	if (event_rule(e, cfg, rule, sizeof(rule)))
		snprintf(who + strlen(who), sizeof(who) - strlen(who), " rule=%s", rule);
	if (!if_indextoname(e->ifindex, dev))
		snprintf(dev, sizeof(dev), "if%u", e->ifindex);
	if (e->vlan)
		snprintf(vlan, sizeof(vlan), " vlan=%u", e->vlan);
	if (e->country != RP_CC_NONE) {
		cc_format(e->country, cc);
		snprintf(country, sizeof(country), " country=%s", cc);
	}
	if (!e->family) {
		snprintf(buf, len, "%s %s %s tenant=%s%s hook=%s dev=%s%s non-ip%s len=%u", when,
			 verdict_name(e->verdict), reason_name(e->reason), tenant, who,
			 hook_name(e->hook), dev, vlan, country, e->len);
		return;
	}
	if (pn)
		snprintf(proto, sizeof(proto), "%s", pn);
	else
		snprintf(proto, sizeof(proto), "proto%u", e->proto);
	endpoint_text(e, e->src, e->sport, src, sizeof(src));
	endpoint_text(e, e->dst, e->dport, dst, sizeof(dst));
	snprintf(buf, len, "%s %s %s tenant=%s%s hook=%s dev=%s%s %s %s > %s%s len=%u", when,
		 verdict_name(e->verdict), reason_name(e->reason), tenant, who, hook_name(e->hook),
		 dev, vlan, proto, src, dst, country, e->len);
}

struct json_object *event_to_json(const struct rp_event *e, const struct rp_config *cfg)
{
	struct json_object *o = json_object_new_object();
	char buf[64], dev[IF_NAMESIZE], cc[3];
	const char *pn = ip_proto_name(e->proto);
	bool ip = e->family == AF_INET || e->family == AF_INET6;

	if (!o)
		return NULL;
	event_time(e, buf, sizeof(buf));
	json_object_object_add(o, "time", json_object_new_string(buf));
	json_object_object_add(o, "ts_ns", json_object_new_uint64(e->ts_ns));
	json_object_object_add(o, "verdict", json_object_new_string(verdict_name(e->verdict)));
	json_object_object_add(o, "reason", json_object_new_string(reason_name(e->reason)));
	tenant_name(e, cfg, buf, sizeof(buf));
	json_object_object_add(o, "tenant", json_object_new_string(buf));
	json_object_object_add(o, "tenant_id", json_object_new_int(e->tenant));
	json_object_object_add(o, "site", event_site(e, cfg) ?
				   json_object_new_string(event_site(e, cfg)) : NULL);
	json_object_object_add(o, "rule", event_rule(e, cfg, buf, sizeof(buf)) ?
				   json_object_new_string(buf) : NULL);
	json_object_object_add(o, "hook", json_object_new_string(hook_name(e->hook)));
	json_object_object_add(o, "interface", if_indextoname(e->ifindex, dev) ?
				   json_object_new_string(dev) : NULL);
	json_object_object_add(o, "ifindex", json_object_new_int64(e->ifindex));
	json_object_object_add(o, "vlan", e->vlan ? json_object_new_int(e->vlan) : NULL);
	json_object_object_add(o, "family", !ip ? NULL :
				   json_object_new_string(e->family == AF_INET6 ? "ipv6" : "ipv4"));
	json_object_object_add(o, "proto", !ip ? NULL : pn ? json_object_new_string(pn) :
				   json_object_new_int(e->proto));
	addr_text(e, e->src, buf, sizeof(buf));
	json_object_object_add(o, "src", ip ? json_object_new_string(buf) : NULL);
	addr_text(e, e->dst, buf, sizeof(buf));
	json_object_object_add(o, "dst", ip ? json_object_new_string(buf) : NULL);
	json_object_object_add(o, "sport", has_ports(e) ? json_object_new_int(e->sport) : NULL);
	json_object_object_add(o, "dport", has_ports(e) ? json_object_new_int(e->dport) : NULL);
	cc_format(e->country, cc);
	json_object_object_add(o, "country", e->country != RP_CC_NONE ?
				   json_object_new_string(cc) : NULL);
	json_object_object_add(o, "len", json_object_new_int64(e->len));
	return o;
}

void event_log_flush(struct event_ratelimit *rl)
{
	if (rl->suppressed)
		pr_info("event: suppressed %lu more events (log limit %u/s)", rl->suppressed,
			rl->per_sec);
	rl->suppressed = 0;
}

void event_log_tick(struct event_ratelimit *rl)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != rl->window)
		event_log_flush(rl);
}

void event_fields(const struct rp_event *e, const struct rp_config *cfg, struct event_fields *f)
{
	const char *site = event_site(e, cfg);
	char name[64], rule[80];
	size_t n = 0;

	tenant_name(e, cfg, name, sizeof(name));
	snprintf(f->tenant, sizeof(f->tenant), "TENANT=%s", name);
	f->v[n++] = f->tenant;
	snprintf(f->reason, sizeof(f->reason), "REASON=%s", reason_name(e->reason));
	f->v[n++] = f->reason;
	snprintf(f->hook, sizeof(f->hook), "HOOK=%s", hook_name(e->hook));
	f->v[n++] = f->hook;
	if (site) {
		snprintf(f->site, sizeof(f->site), "SITE=%s", site);
		f->v[n++] = f->site;
	}
	if (event_rule(e, cfg, rule, sizeof(rule))) {
		snprintf(f->rule, sizeof(f->rule), "RULE=%s", rule);
		f->v[n++] = f->rule;
	}
	f->v[n] = NULL;
}

void event_log(struct event_ratelimit *rl, const struct rp_event *e, const struct rp_config *cfg)
{
	struct event_fields fl;
	struct timespec now;
	char line[512];

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != rl->window) {
		event_log_flush(rl);
		rl->window = now.tv_sec;
		rl->n = 0;
	}
	if (rl->n >= rl->per_sec) {
		rl->suppressed++;
		return;
	}
	rl->n++;
	event_format_text(e, cfg, line, sizeof(line));
	event_fields(e, cfg, &fl);
	log_fields(LOG_LVL_INFO, fl.v, "event: %s", line);
}
