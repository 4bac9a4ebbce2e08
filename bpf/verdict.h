/* SPDX-License-Identifier: GPL-2.0 */
/* verdict.h — a packet's verdict (struct rp_verd) and what every verdict
 * costs: the per-tenant and per-rule counters, the geo drop counters and a
 * rate-limited drop event on the ring buffer (docs/policy.md "Counters and
 * events").  Included by rempart.bpf.c only, after maps.h and its load-time
 * knobs (ev_rate, ev_burst).
 */
#ifndef REMPART_BPF_VERDICT_H
#define REMPART_BPF_VERDICT_H

struct rp_verd {
	__u32 rule;
	__u16 tenant;		/* counted against */
	__u16 country;
	__u8 allow;
	__u8 reason;
	__u8 hook;
	__u8 pad;
};

static __always_inline void set_v(struct rp_verd *v, int allow, int reason)
{
	v->allow = allow;
	v->reason = reason;
}

static __always_inline void add_counter(void *map, __u32 key, __u32 len)
{
	struct rp_counter *c = bpf_map_lookup_elem(map, &key);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline int take_token(void)
{
	__u32 zero = 0;
	struct rp_ratelimit *rl = bpf_map_lookup_elem(&rp_evlimit, &zero);
	__u64 now, cap;

	if (!rl)
		return 0;
	now = bpf_ktime_get_coarse_ns();
	cap = (__u64)ev_burst * 1000;
	rl->tokens += (now - rl->last_ns) / 1000 * ev_rate / 1000;
	rl->last_ns = now;
	if (rl->tokens > cap)
		rl->tokens = cap;
	if (rl->tokens < 1000)
		return 0;
	rl->tokens -= 1000;
	return 1;
}

static __always_inline void emit_event(const struct rp_pkt *p, const struct rp_verd *v, __u32 ifindex)
{
	__u32 zero = 0;
	struct rp_evstats *st = bpf_map_lookup_elem(&rp_evstats, &zero);
	struct rp_event *e;

	if (!take_token()) {
		if (st)
			st->limited++;
		return;
	}
	e = bpf_ringbuf_reserve(&rp_events, sizeof(*e), 0);
	if (!e) {
		if (st)
			st->lost++;	/* the buffer is full: no reader keeps up */
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->ifindex = ifindex;
	e->tenant = v->tenant;
	e->verdict = v->allow ? RP_ALLOW : RP_DROP;
	e->reason = v->reason;
	e->hook = v->hook;
	e->family = p->kind == RP_K_IP ? p->family : 0;
	e->proto = p->proto;
	e->pad0 = 0;
	e->sport = p->sport;
	e->dport = p->dport;
	e->country = v->country;
	e->vlan = p->vlan;
	__builtin_memcpy(e->src, p->src, 16);
	__builtin_memcpy(e->dst, p->dst, 16);
	e->len = p->len;
	e->rule = v->rule;
	e->pad1 = 0;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void account(const struct rp_pkt *p, const struct rp_verd *v, __u32 ifindex)
{
	__u32 t = v->tenant <= RP_TENANT_ID_MAX ? v->tenant : 0;

	add_counter(&rp_counters, rp_counter_key(t, v->reason), p->len);
	if (v->rule)
		add_counter(&rp_rule_counters, v->rule, p->len);
	if (v->allow)
		return;
	if (v->reason == RP_R_GEO_SITE || v->reason == RP_R_GEO_EGRESS)
		add_counter(&rp_geo_drops, v->country < RP_CC_COUNT ? v->country : RP_CC_COUNT, p->len);
	emit_event(p, v, ifindex);
}

#endif
