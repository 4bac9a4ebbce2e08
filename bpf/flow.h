/* SPDX-License-Identifier: GPL-2.0 */
/* flow.h — connection state: the per-tenant flow tables (a reply is
 * known by the flow its request recorded) and the fragments that follow a
 * judged first fragment (docs/policy.md "Flows (BPF only)").
 * Included by rempart.bpf.c only, after maps.h, verdict.h and its
 * load-time knob `stateless`.
 */
#ifndef REMPART_BPF_FLOW_H
#define REMPART_BPF_FLOW_H

/* Flow keys: IPv4 flows in their own tables with a 16-byte key (hashing and
 * comparing 40 bytes is most of a flow lookup's cost). */
struct rp_fk {
	union {
		struct rp_flow4_key k4;
		__u64 w4[2];
	};
	struct rp_flow_key k6;
};

struct rp_flow_last {
	__u64 w[2];		/* an rp_flow4_key */
	__u64 to;
	__u64 fresh_until;
	__u32 table;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_flow_last);
} rp_flow_last SEC(".maps");

/* Flow table `table` (a tenant id, RP_TENANT_GATEWAY or RP_FLOW_NAT) of a
 * family, NULL when it has none. */
static __always_inline void *flow_table(int family, __u32 table)
{
	if (family == RP_AF_INET)
		return bpf_map_lookup_elem(&rp_flowt4, &table);
	return bpf_map_lookup_elem(&rp_flowt6, &table);
}

static __always_inline void flow_stat(__u32 table, int refused)
{
	struct rp_flow_stat *st = bpf_map_lookup_elem(&rp_flow_stats, &table);

	if (!st)
		return;
	if (refused)
		st->refused++;
	else
		st->created++;
}

static __always_inline void *fk_make(struct rp_fk *k, __u16 zone, int family, __u8 proto, __u16 sp,
				     __u16 dp, const __u32 *src, const __u32 *dst)
{
	if (family == RP_AF_INET) {
		k->k4.zone = zone;
		k->k4.proto = proto;
		k->k4.sport = sp;
		k->k4.dport = dp;
		k->k4.src = src[0];
		k->k4.dst = dst[0];
		return &k->k4;
	}
	k->k6.zone = zone;
	k->k6.family = family;
	k->k6.proto = proto;
	k->k6.sport = sp;
	k->k6.dport = dp;
	__builtin_memcpy(k->k6.src, src, 16);
	__builtin_memcpy(k->k6.dst, dst, 16);
	return &k->k6;
}

/* The key of p's 5-tuple (reverse: of its reply); ICMP echo: id as ports. */
static __always_inline void *flow_key(struct rp_fk *k, __u16 zone, const struct rp_pkt *p, int reverse)
{
	__u16 sp = p->sport, dp = p->dport;

	if (p->is_echo)
		sp = dp = p->echo_id;
	if (!reverse)
		return fk_make(k, zone, p->family, p->proto, sp, dp, p->src, p->dst);
	return fk_make(k, zone, p->family, p->proto, dp, sp, p->dst, p->src);
}

static __always_inline __u64 flow_timeout(const struct rp_pkt *p)
{
	if (p->proto == IPPROTO_TCP)
		return (p->tcp_flags & 0x12) == 0x02 ? RP_TO_TCP_SYN : RP_TO_TCP_EST;
	if (p->proto == IPPROTO_UDP)
		return RP_TO_UDP;
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)
		return RP_TO_ICMP;
	return RP_TO_OTHER;
}

/* An ICMP message other than echo: it opens no flow and answers none (an
 * error is judged by the header it quotes, flow_inner_known()); without
 * this, a neighbour solicitation or an error the gateway sent would let any
 * non-echo ICMP message of that host in as its "reply". */
static __always_inline int icmp_not_echo(const struct rp_pkt *p)
{
	return icmp_of(p->family, p->proto) && !p->is_echo;
}

/* Keep an entry alive for `to` from now; writes at most about once a second. */
static __always_inline void flow_refresh(struct rp_flow_val *cur, __u64 to)
{
	__u64 now = bpf_ktime_get_coarse_ns();

	if (cur->expires_ns + RP_NS >= now + to)
		return;
	cur->expires_ns = now + to;
}

/* Record (or keep alive) the flow of an allowed packet: under `zone`, in
 * the table of `table` (a tenant's own, the gateway's, the NAT one), for
 * `owner`.  A per-CPU note of the last IPv4 flow recorded, and until when
 * that needs no refresh, spares the LRU lookup for the following packets
 * of the same flow (a burst). */
static __always_inline void flow_record(__u32 table, __u16 zone, __u16 owner, const struct rp_pkt *p)
{
	struct rp_flow_last *last = NULL;
	struct rp_flow_val *cur, nv = {};
	struct rp_fk k = {};
	void *tbl, *key;
	__u32 zero = 0;
	__u64 now, to;
	long err;

	if (stateless || p->frag == RP_FRAG_LATER || icmp_not_echo(p))
		return;
	key = flow_key(&k, zone, p, 0);
	now = bpf_ktime_get_coarse_ns();
	to = flow_timeout(p);
	if (p->family == RP_AF_INET) {
		last = bpf_map_lookup_elem(&rp_flow_last, &zero);
		if (last && last->fresh_until > now && last->to == to && last->table == table &&
		    last->w[0] == k.w4[0] && last->w[1] == k.w4[1])
			return;
	}
	tbl = flow_table(p->family, table);
	if (!tbl) {
		flow_stat(table, 1);
		return;
	}
	cur = bpf_map_lookup_elem(tbl, key);
	if (cur) {
		flow_refresh(cur, to);
	} else {
		nv.expires_ns = now + to;
		nv.owner = owner;
		err = bpf_map_update_elem(tbl, key, &nv, BPF_NOEXIST);
		if (err != -17)	/* EEXIST: another CPU recorded it first */
			flow_stat(table, err != 0);
	}
	if (last) {
		/* refreshed to at least now + to - 1 s: the next refresh is
		 * due in a second at the earliest */
		last->w[0] = k.w4[0];
		last->w[1] = k.w4[1];
		last->to = to;
		last->table = table;
		last->fresh_until = now + RP_NS / 2;
	}
}

/* p answers a flow recorded under `zone` in `table`.  An ICMP echo request
 * never does (the key holds the echo id, not the type). */
static __always_inline int flow_is_reply(__u32 table, __u16 zone, const struct rp_pkt *p)
{
	struct rp_flow_val *v;
	struct rp_fk k = {};
	void *tbl, *key;

	if (stateless)
		return 0;
	if ((p->is_echo && (p->icmp_type == 8 || p->icmp_type == 128)) || icmp_not_echo(p))
		return 0;
	tbl = flow_table(p->family, table);
	if (!tbl)
		return 0;
	key = flow_key(&k, zone, p, 1);
	v = bpf_map_lookup_elem(tbl, key);
	if (!v || v->expires_ns < bpf_ktime_get_coarse_ns())
		return 0;
	/* a reply keeps the flow alive; a TCP answer makes it established */
	flow_refresh(v, p->proto == IPPROTO_TCP ? RP_TO_TCP_EST : flow_timeout(p));
	return 1;
}

/* An ICMP error about a flow the gateway sent out (uplink_in step 5): the
 * inner header as recorded, in the gateway's table or the NAT one. */
static __always_inline int flow_inner_in(__u32 table, __u16 zone, const struct rp_pkt *p)
{
	struct rp_flow_val *v;
	struct rp_fk k = {};
	void *tbl, *key;

	tbl = flow_table(p->family, table);
	if (!tbl)
		return 0;
	key = fk_make(&k, zone, p->family, p->iproto, p->isport, p->idport, p->isrc, p->idst);
	v = bpf_map_lookup_elem(tbl, key);
	return v && v->expires_ns >= bpf_ktime_get_coarse_ns();
}

/* An ICMP error sent back to a tenant host about a flow that host opened
 * (SPEC §4.4: path MTU, unreachable, time exceeded inside the other
 * network): the header it quotes is that flow as recorded under `zone` in
 * `table`, and the error goes to the flow's source.  Only an error of its
 * own table's flows, to the host that opened them: an error quoting another
 * host's flow, or a flow never recorded, is judged on its own. */
static __always_inline int flow_error_about(__u32 table, __u16 zone, const struct rp_pkt *p)
{
	if (stateless || !p->has_inner)
		return 0;
	if (p->isrc[0] != p->dst[0] || p->isrc[1] != p->dst[1] ||
	    p->isrc[2] != p->dst[2] || p->isrc[3] != p->dst[3])
		return 0;
	return flow_inner_in(table, zone, p);
}

static __always_inline int flow_inner_known(const struct rp_pkt *p)
{
	if (stateless || !p->has_inner)
		return 0;
	return flow_inner_in(RP_TENANT_GATEWAY, RP_TENANT_GATEWAY, p) ||
	       flow_inner_in(RP_FLOW_NAT, RP_FLOW_NAT, p);
}

static __always_inline void frag_key(struct rp_frag_key *k, __u16 zone, const struct rp_pkt *p)
{
	k->zone = zone;
	k->family = p->family;
	k->proto = p->proto;
	k->id = p->frag_id;
	__builtin_memcpy(k->src, p->src, 16);
	__builtin_memcpy(k->dst, p->dst, 16);
}

/* A later fragment follows its first fragment's verdict, or is dropped. */
static __always_inline void frag_judge(__u16 zone, const struct rp_pkt *p, struct rp_verd *v)
{
	struct rp_frag_key k = {};
	struct rp_frag_val *fv;

	set_v(v, 0, RP_R_FRAGMENT);
	if (stateless)
		return;
	frag_key(&k, zone, p);
	fv = bpf_map_lookup_elem(&rp_frags, &k);
	if (!fv || fv->expires_ns < bpf_ktime_get_coarse_ns())
		return;
	set_v(v, 1, fv->reason);
}

static __always_inline void frag_remember(__u16 zone, const struct rp_pkt *p, const struct rp_verd *v)
{
	struct rp_frag_key k = {};
	struct rp_frag_val fv = {};

	if (stateless || p->frag != RP_FRAG_FIRST || !v->allow)
		return;
	frag_key(&k, zone, p);
	fv.expires_ns = bpf_ktime_get_coarse_ns() + RP_TO_FRAG;
	fv.reason = v->reason;
	fv.tenant = v->tenant;
	bpf_map_update_elem(&rp_frags, &k, &fv, BPF_ANY);
}

#endif
