// SPDX-License-Identifier: GPL-2.0
/* rempart.bpf.c — the dataplane: docs/policy.md on real packets.
 *
 *   uplink_in   XDP on the uplink: WireGuard geo-fence, management, replies
 *   uplink_out  TC egress on the uplink: clear-text guard, flow recording
 *   cloud_in    XDP on cloud attachments (VLAN/QinQ aware)
 *   tunnel_in   TC ingress on tunnel interfaces (L3, no Ethernet header)
 *
 * Every lookup is scoped by the policy slot read once per packet from
 * rp_state, so a policy swap is atomic (docs/dataplane.md "Atomic swap").
 * The compiler (userspace/policy/policy.c) has folded "longest prefix, then
 * file order" into the maps: the programs only look things up.  The maps
 * are in maps.h, the verdict and its accounting in verdict.h, connection
 * and fragment state in flow.h; the packet parser is parse.h, the country
 * lookup geo.h.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "rempart_abi.h"
#include "parse.h"
#include "geo.h"

char LICENSE[] SEC("license") = "GPL";

/* Load-time knobs (set through the skeleton before load). */
const volatile __u32 tunnel_l2_skip = 0;	/* bytes before the IP header at tunnel_in (tests: 14) */
const volatile __u32 stateless = 0;		/* 1: no flow/fragment state (differential test) */
const volatile __u32 ev_rate = 200;		/* drop events per second per CPU */
const volatile __u32 ev_burst = 100;

#include "maps.h"
#include "verdict.h"
#include "flow.h"

/* ---- country lookup ------------------------------------------------------ */

/* Global (non-static, noinline) functions below are BPF-to-BPF calls that the
 * verifier checks once, on their own, with only their argument types known,
 * instead of once per path of every caller: the 6.1 verifier's 1M-insn
 * budget does not survive inlining the trie and geo walks into every branch
 * of the policy.  Their arguments are scalars (or one read-only pointer) and
 * their results come back in the return value only: a global function's
 * writes through a pointer to the caller's stack are not seen by the 6.1
 * verifier's view of that stack. */
#define RP_GLOBAL __attribute__((noinline))

/* The one place that asks for a country (bpf/geo.h).  No database loaded
 * is "no country", as for the reference evaluator without one: `unknown`
 * decides (deny: nothing passes the fence).  Address in network-order words. */
RP_GLOBAL int rp_geo_cc(__u32 family, __u32 a0, __u32 a1, __u32 a2, __u32 a3)
{
	__u32 a[4] = { a0, a1, a2, a3 };
	__u16 cc = family == RP_AF_INET ? rp_geo_lookup_v4(a0) : rp_geo_lookup_v6((const __u8 *)a);

	return cc == RP_CC_NODB ? RP_CC_NONE : cc;
}

static __always_inline __u16 rp_country_of(int family, const __u32 *addr)
{
	return rp_geo_cc(family, addr[0], addr[1], addr[2], addr[3]) & 0xffff;
}

/* ---- lookups ------------------------------------------------------------- */

static __always_inline __u32 read_slot(void)
{
	__u32 zero = 0;
	struct rp_state *st = bpf_map_lookup_elem(&rp_state, &zero);

	return st ? st->active_slot & 1 : 0;
}

/* The atom id of the longest prefix holding the address in the trie at
 * node_fam's low 32 bits (family in the high 32), or 0. */
RP_GLOBAL __u32 rp_atom_id(__u64 node_fam, __u32 a0, __u32 a1, __u32 a2, __u32 a3)
{
	__u32 node = (__u32)node_fam, family = node_fam >> 32;
	__u32 nbytes = family == RP_AF_INET ? 4 : 16, v = 0;
	__u32 a[4] = { a0, a1, a2, a3 };
	const __u8 *b = (const __u8 *)a;
	__u32 i;

	if (!node)
		return 0;
	for (i = 0; i < 16; i++) {
		struct rp_node *n;

		if (i >= nbytes)
			break;
		n = bpf_map_lookup_elem(&rp_nodes, &node);
		if (!n)
			return 0;
		v = n->e[b[i]];
		if (!(v & RP_NODE_CHILD))
			break;
		node = v & ~RP_NODE_CHILD;
	}
	if (v & RP_NODE_CHILD)
		return 0;
	return v;
}

/* The atom of the longest prefix holding addr in tc's trie, or NULL. */
static __always_inline struct rp_atom *atom_of(const struct rp_tenant_cfg *tc, int family, const __u32 *addr)
{
	__u32 node = family == RP_AF_INET ? tc->root4 : tc->root6;
	__u32 v;

	if (!node)
		return NULL;
	v = rp_atom_id((__u64)(__u32)family << 32 | node, addr[0], addr[1], addr[2], addr[3]);
	if (!v)
		return NULL;
	return bpf_map_lookup_elem(&rp_atoms, &v);
}

static __always_inline struct rp_tenant_cfg *tenant_cfg(__u32 slot, __u16 id)
{
	__u32 k = rp_tenant_key(slot, id);

	return bpf_map_lookup_elem(&rp_tenants, &k);
}

static __always_inline int pcls_of(const struct rp_pkt *p, __u16 *port)
{
	*port = 0;
	if (p->proto == IPPROTO_TCP) {
		*port = p->dport;
		return RP_PC_TCP;
	}
	if (p->proto == IPPROTO_UDP) {
		*port = p->dport;
		return RP_PC_UDP;
	}
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)
		return RP_PC_ICMP;
	return RP_PC_OTHER;
}

/* The port table of (kind, tenant, classes, protocol class): act + rule. */
static __always_inline void table_lookup(__u32 slot, int kind, __u16 tenant, __u32 sc, __u32 dc,
					 const struct rp_pkt *p, __u8 *act, __u32 *rule)
{
	struct rp_rule_key k = { .slot = slot, .kind = kind, .tenant = tenant,
				 .src_class = sc, .dst_class = dc };
	struct rp_rule_val *rv;
	__u32 lo = 0, n;
	__u16 port;
	int i;

	k.pcls = pcls_of(p, &port);
	*act = RP_ACT_NONE;
	*rule = 0;
	rv = bpf_map_lookup_elem(&rp_rules, &k);
	if (!rv)
		return;
	n = rv->n;
	if (n == 0 || n > RP_SEGS_MAX)
		return;
	/* the last segment whose lo <= port (segment 0 starts at 0): the
	 * segments are sorted, so add the largest steps that stay at or
	 * below port, 16, 8, 4, 2, 1 (unrolled: no loop state) */
#pragma unroll
	for (i = RP_SEGS_LOG2 - 1; i >= 0; i--) {
		__u32 j = lo + (1u << i);

		if (j < n && rv->seg[j & (RP_SEGS_MAX - 1)].lo <= port)
			lo = j;
	}
	*act = rv->seg[lo & (RP_SEGS_MAX - 1)].act;
	*rule = rv->seg[lo & (RP_SEGS_MAX - 1)].rule;
}

/* ---- judging ------------------------------------------------------------- */

/* ICMPv6 neighbour/router discovery and redirect shapes (types 133-137,
 * hop limit 255). */
static __always_inline int is_nd(const struct rp_pkt *p)
{
	return p->family == RP_AF_INET6 && p->proto == IPPROTO_ICMPV6 && p->l4 &&
	       p->icmp_type >= 133 && p->icmp_type <= 137 && p->hop == 255;
}

/* IPv6 link-local unicast destination (fe80::/10). */
static __always_inline int dst_ll6(const struct rp_pkt *p)
{
	__u32 a = bpf_ntohl(p->dst[0]);

	return p->family == RP_AF_INET6 && (a & 0xffc00000) == 0xfe800000;
}

/* IPv6 link-scope multicast destination (ff02::/16). */
static __always_inline int dst_llmc6(const struct rp_pkt *p)
{
	return p->family == RP_AF_INET6 && (bpf_ntohl(p->dst[0]) >> 16) == 0xff02;
}

static __always_inline int country_allowed(const struct rp_ccset *set, __u16 cc, int unknown_allow)
{
	__u32 w = cc / 64;

	if (cc == RP_CC_NONE)
		return unknown_allow;
	/* rp_ccset_has(), with the word index bounded for the verifier (the
	 * empty asm keeps clang from folding the second test into the first) */
	if (cc >= RP_CC_COUNT)
		return 0;
	asm volatile("" : "+r"(w));
	if (w >= RP_CC_WORDS)
		return 0;
	return (set->bits[w] >> (cc % 64)) & 1;
}

static __always_inline struct rp_global_cfg *global_cfg(__u32 slot)
{
	return bpf_map_lookup_elem(&rp_global, &slot);
}

/* Where an allowed packet's flow goes: the table (the tenant whose table
 * holds it) and the zone its key carries (where its reply will enter). */
struct rp_flowto {
	__u32 table;		/* 0xffffffff: not recorded */
	__u16 zone;
	__u16 site_owner;	/* policy(): the lowest tenant with a site prefix at dst */
};

/* Step 0 of policy(): a packet addressed to the gateway itself. */
static __always_inline void to_gateway(__u32 slot, const struct rp_tenant_cfg *tc,
				       const struct rp_atom *da, const struct rp_pkt *p,
				       struct rp_verd *v, int from_cloud)
{
	struct rp_global_cfg *g;

	set_v(v, 0, RP_R_GATEWAY);
	if (!da)
		return;
	if ((da->flags & RP_A_GW_OWN) && p->is_echo) {
		set_v(v, 1, RP_R_ALLOWED);
		return;
	}
	/* a share's answer to a consumer's cloud, NATed to this cloud_address:
	 * conntrack takes it back (no service of the gateway is on NAT ports);
	 * so does an ICMP error about such a connection (path MTU): its quoted
	 * header left from this address, from a NAT port */
	if (!from_cloud || !(da->flags & RP_A_GW_CLOUD) || !(tc->flags & RP_T_SHARE_NAT))
		return;
	g = global_cfg(slot);
	if (!g || !g->nat.hi)
		return;
	if (p->l4 && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) &&
	    p->dport >= g->nat.lo && p->dport <= g->nat.hi)
		set_v(v, 1, RP_R_ALLOWED);
	else if (p->has_inner && (p->iproto == IPPROTO_TCP || p->iproto == IPPROTO_UDP) &&
		 p->isport >= g->nat.lo && p->isport <= g->nat.hi &&
		 p->isrc[0] == p->dst[0] && p->isrc[1] == p->dst[1] &&
		 p->isrc[2] == p->dst[2] && p->isrc[3] == p->dst[3])
		set_v(v, 1, RP_R_ALLOWED);
}

/* policy(T, from, src, dst) of docs/policy.md. */
static __always_inline void policy(__u32 slot, __u16 tid, const struct rp_tenant_cfg *tc,
				   const struct rp_atom *sa, const struct rp_atom *da,
				   const struct rp_pkt *p, struct rp_verd *v, struct rp_flowto *ft,
				   int from_cloud)
{
	__u8 zone = da ? da->zone : RP_Z_NONE;
	struct rp_atom *ga = NULL;
	struct rp_tenant_cfg *g0;
	struct rp_global_cfg *g;
	__u8 act;
	__u32 rule;

	/* the gateway's addresses inside the tenant's zones are marked in its
	 * own trie; any other one in tenant 0's */
	if (zone == RP_Z_NONE && !(da && (da->flags & RP_A_GW))) {
		g0 = tenant_cfg(slot, RP_TENANT_GATEWAY);
		ga = g0 ? atom_of(g0, p->family, p->dst) : NULL;
		if (ga)
			ft->site_owner = ga->site_owner;
	}
	if ((da && (da->flags & RP_A_GW)) || (ga && (ga->flags & RP_A_GW))) {
		to_gateway(slot, tc, da, p, v, from_cloud);
		return;
	}
	if (zone == RP_Z_SITE || zone == RP_Z_CLOUD || zone == RP_Z_GATEWAY) {
		act = RP_ACT_NONE;
		rule = 0;
		if (sa && sa->src_class && da->dst_class)
			table_lookup(slot, RP_RK_RULES, tid, sa->src_class, da->dst_class, p, &act, &rule);
		v->rule = rule;
		if (act == RP_ACT_ALLOW)
			set_v(v, 1, RP_R_ALLOWED);
		else if (act == RP_ACT_DENY)
			set_v(v, 0, RP_R_NO_RULE);
		else if (tc->flags & RP_T_INTRA_ALLOW)
			set_v(v, 1, RP_R_ALLOWED);
		else
			set_v(v, 0, RP_R_NO_RULE);
		ft->table = tid;
		ft->zone = tid;
		return;
	}
	if (zone == RP_Z_SHARE) {
		table_lookup(slot, RP_RK_SHARE, 0, 0, da->share_id, p, &act, &rule);
		if (act == RP_ACT_ALLOW) {
			v->rule = rule;
			set_v(v, 1, RP_R_ALLOWED);
			/* in the consumer's own table, under the owner's zone:
			 * the reply enters from the owner's cloud, and finds the
			 * consumer from its destination (a site of the consumer) */
			ft->table = tid;
			ft->zone = da->share_owner;
		} else {
			set_v(v, 0, RP_R_CROSS_TENANT);
		}
		return;
	}
	if (ga && ((ga->owner_a && ga->owner_a != tid) || (ga->owner_b && ga->owner_b != tid))) {
		set_v(v, 0, RP_R_CROSS_TENANT);
		return;
	}
	if (!(tc->flags & RP_T_EGRESS_NAT)) {
		set_v(v, 0, RP_R_NO_RULE);
		return;
	}
	if (!(tc->flags & RP_T_EGRESS_CC)) {
		set_v(v, 1, RP_R_ALLOWED);
		return;
	}
	g = global_cfg(slot);
	v->country = rp_country_of(p->family, p->dst);
	if (country_allowed(&tc->egress_cc, v->country, g && (g->flags & RP_G_UNKNOWN_ALLOW)))
		set_v(v, 1, RP_R_ALLOWED);
	else
		set_v(v, 0, RP_R_GEO_EGRESS);
}

/* AH (51) as the last header: the gateway holds no security association and
 * reads nothing behind it, so no hook takes it, before flows, fragments and
 * rules (docs/policy.md, `malformed`).  uplink_in and uplink_out call this
 * global function: as an inline test, clang threads the parser's branches
 * through it, which takes uplink_in from ~290k to 340k-970k instructions
 * processed by the verifier.  (cloud_in and tunnel_in test it inside
 * rp_judge_tenant(), already a global function.) */
RP_GLOBAL int rp_is_ah(const struct rp_pkt *p)
{
	return p && p->proto == IPPROTO_AH;
}

/* cloud_in / tunnel_in after parsing: steps from "neighbour discovery" on. */
static __always_inline void judge_tenant_v(__u32 slot, __u16 tid, const struct rp_pkt *p,
					   struct rp_verd *v, int from_cloud)
{
	struct rp_tenant_cfg *tc = tenant_cfg(slot, tid);
	struct rp_flowto ft = { .table = 0xffffffff };
	struct rp_atom *sa, *da = NULL;

	if (!tc || !(tc->flags & RP_T_VALID) || p->proto == IPPROTO_AH) {
		set_v(v, 0, RP_R_MALFORMED);
		return;
	}
	/* what the link needs, while it stays on the link: to a link-scoped
	 * destination or to the gateway's address on this link (the tenant's
	 * cloud_address; its tunnel_address is on another link) */
	if (from_cloud && is_nd(p)) {
		if (dst_ll6(p) || dst_llmc6(p)) {
			set_v(v, 1, RP_R_ALLOWED);
			return;
		}
		da = atom_of(tc, p->family, p->dst);
		if (da && (da->flags & RP_A_GW_CLOUD)) {
			set_v(v, 1, RP_R_ALLOWED);
			return;
		}
	}
	/* anti-spoofing first, also for a later fragment: the fragment state
	 * is the tenant's, so a later fragment with a site's source must not
	 * pass from the cloud (or a cloud host's from a tunnel) */
	sa = atom_of(tc, p->family, p->src);
	if (!sa || !(sa->flags & (from_cloud ? RP_A_IN_CLOUD : RP_A_IN_SITE))) {
		set_v(v, 0, RP_R_SPOOFED);
		return;
	}
	if (p->frag == RP_FRAG_LATER) {
		frag_judge(tid, p, v);
		return;
	}
	/* the policy first: the flow table is only asked about what the
	 * policy would drop (a reply the policy allows anyway is `allowed`) */
	if (!da)
		da = atom_of(tc, p->family, p->dst);
	policy(slot, tid, tc, sa, da, p, v, &ft, from_cloud);
	if (v->allow) {
		if (ft.table != 0xffffffff)
			flow_record(ft.table, ft.zone, tid, p);
	} else if (v->reason != RP_R_GATEWAY &&
		   (flow_is_reply(tid, tid, p) || flow_error_about(tid, tid, p) ||
		    (ft.site_owner && ft.site_owner != tid &&
		     (flow_is_reply(ft.site_owner, tid, p) || flow_error_about(ft.site_owner, tid, p))))) {
		/* a reply (or an ICMP error about the flow) in this tenant's
		 * own table, or (a share's answer to a consumer's site) in the
		 * consumer's */
		v->rule = 0;
		v->country = RP_CC_NONE;
		set_v(v, 1, RP_R_REPLY);
	}
	frag_remember(tid, p, v);
}

/* judge_tenant_v() as one global function for cloud_in and tunnel_in; the
 * verdict packed: allow | reason << 8 | country << 16 | rule << 32. */
RP_GLOBAL __u64 rp_judge_tenant(__u32 slot, __u32 tid, const struct rp_pkt *p, __u32 from_cloud)
{
	struct rp_verd v = { .tenant = tid, .country = RP_CC_NONE };

	if (!p)
		return RP_R_MALFORMED << 8 | (__u64)RP_CC_NONE << 16;
	judge_tenant_v(slot, tid, p, &v, from_cloud);
	return v.allow | (__u64)v.reason << 8 | (__u64)v.country << 16 | (__u64)v.rule << 32;
}

static __always_inline void judge_tenant(__u32 slot, __u16 tid, const struct rp_pkt *p,
					 struct rp_verd *v, int from_cloud)
{
	__u64 r = rp_judge_tenant(slot, tid, p, from_cloud);

	v->allow = r & 1;
	v->reason = (r >> 8) & 0xff;
	v->country = (r >> 16) & 0xffff;
	v->rule = r >> 32;
}

/* ---- programs ------------------------------------------------------------ */

static __always_inline int iface_tenant(__u32 slot, __u32 ifindex, __u16 vid, int hook)
{
	struct rp_iface_key k = { .ifindex = ifindex, .vid = vid, .slot = slot, .hook = hook };
	struct rp_iface_val *iv;

	if (vid == 0 && ifindex < RP_IFIDX_MAX) {
		__u32 i = rp_ifidx_key(slot, ifindex);
		struct rp_ifidx_val *e = bpf_map_lookup_elem(&rp_ifidx, &i);
		__u16 t = e ? (hook == RP_HOOK_CLOUD_IN ? e->cloud : e->tunnel) : 0;

		return t ? t : -1;
	}
	iv = bpf_map_lookup_elem(&rp_ifaces, &k);
	return iv ? iv->tenant : -1;
}

SEC("xdp")
int cloud_in(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct rp_cur c = { .data = data, .data_end = data_end, .lim = data_end - data };
	struct rp_verd v = { .hook = RP_HOOK_CLOUD_IN, .country = RP_CC_NONE };
	struct rp_pkt p = { .len = data_end - data };
	__u32 slot = read_slot();
	int bad = parse_frame(&c, &p), t;

	t = iface_tenant(slot, ctx->ingress_ifindex, p.vlan, RP_HOOK_CLOUD_IN);
	if (t < 0) {
		set_v(&v, 0, RP_R_MALFORMED);
		goto out;
	}
	v.tenant = t;
	if (bad)
		set_v(&v, 0, RP_R_MALFORMED);
	else if (p.kind == RP_K_ARP)
		set_v(&v, 1, RP_R_ALLOWED);
	else if (p.kind != RP_K_IP)
		set_v(&v, 0, RP_R_MALFORMED);
	else
		judge_tenant(slot, t, &p, &v, 1);
out:
	account(&p, &v, ctx->ingress_ifindex);
	return v.allow ? XDP_PASS : XDP_DROP;
}

/* TC ingress on a cloud attachment, after cloud_in let the frame in: the
 * tenant's mark (RP_MARK_BASE | id), which XDP cannot set.  What the gateway
 * answers then inherits it (fwmark_reflect) and is routed in the tenant's
 * own table, out of the attachment it came in by. */
SEC("tc")
int cloud_mark(struct __sk_buff *skb)
{
	int t = iface_tenant(read_slot(), skb->ifindex, skb->vlan_tci & 0x0fff, RP_HOOK_CLOUD_IN);

	if (t > 0)
		skb->mark = RP_MARK_BASE | t;
	return TC_ACT_OK;
}

SEC("tc")
int tunnel_in(struct __sk_buff *skb)
{
	struct rp_verd v = { .hook = RP_HOOK_TUNNEL_IN, .country = RP_CC_NONE };
	struct rp_pkt p = { .len = skb->len };
	__u32 slot = read_slot();
	struct rp_cur c;
	int t;

	t = iface_tenant(slot, skb->ifindex, 0, RP_HOOK_TUNNEL_IN);
	if (t < 0) {
		set_v(&v, 0, RP_R_MALFORMED);
		goto out;
	}
	v.tenant = t;
	/* headers beyond the linear part: pull them (rarely needed) */
	if ((__u32)(skb->data_end - skb->data) < (skb->len < 256 ? skb->len : 256))
		bpf_skb_pull_data(skb, skb->len < 1024 ? skb->len : 1024);
	c.data = (void *)(long)skb->data;
	c.data_end = (void *)(long)skb->data_end;
	c.off = tunnel_l2_skip;
	c.lim = skb->len;
	if (parse_ip(&c, &p, 0))
		set_v(&v, 0, RP_R_MALFORMED);
	else
		judge_tenant(slot, t, &p, &v, 0);
	/* the tenant's mark: see cloud_mark */
	if (v.allow)
		skb->mark = RP_MARK_BASE | t;
out:
	account(&p, &v, skb->ifindex);
	return v.allow ? TC_ACT_OK : TC_ACT_SHOT;
}

/* The destination is one of the uplink's addresses (rp_global). */
static __always_inline int to_uplink(const struct rp_global_cfg *g, const struct rp_pkt *p)
{
	__u32 i;

	if (!g)
		return 0;
	if (p->family == RP_AF_INET) {
		for (i = 0; i < RP_UPLINK_ADDRS; i++) {
			if (i >= g->n_up4)
				break;
			if (g->up4[i] == p->dst[0])
				return 1;
		}
		return 0;
	}
	for (i = 0; i < RP_UPLINK_ADDRS; i++) {
		if (i >= g->n_up6)
			break;
		if (g->up6[i][0] == p->dst[0] && g->up6[i][1] == p->dst[1] &&
		    g->up6[i][2] == p->dst[2] && g->up6[i][3] == p->dst[3])
			return 1;
	}
	return 0;
}

/* A reply of a tenant's NATed connection comes to a NAT port (TCP, UDP):
 * never to a port the gateway serves, whatever the NAT table holds. */
static __always_inline int nat_port(const struct rp_global_cfg *g, const struct rp_pkt *p)
{
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return 1;
	return g && g->nat.hi && p->dport >= g->nat.lo && p->dport <= g->nat.hi;
}

/* A DHCPv4 reply the gateway may take: to the uplink's address, to
 * 255.255.255.255, or, while the uplink has no IPv4 address yet (a server
 * that offers by unicast), to an address that is neither the gateway's nor
 * in any tenant's networks. */
static __always_inline int dhcp4_for_us(__u32 slot, const struct rp_global_cfg *g,
					const struct rp_pkt *p, int to_gw)
{
	struct rp_tenant_cfg *g0;
	struct rp_atom *a;

	if (to_gw || p->dst[0] == 0xffffffff)
		return 1;
	if (!g || g->n_up4)
		return 0;
	g0 = tenant_cfg(slot, RP_TENANT_GATEWAY);
	a = g0 ? atom_of(g0, p->family, p->dst) : NULL;
	return !a || (!(a->flags & RP_A_GW) && !a->owner_a);
}

SEC("xdp")
int uplink_in(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct rp_cur c = { .data = data, .data_end = data_end, .lim = data_end - data };
	struct rp_verd v = { .hook = RP_HOOK_UPLINK_IN, .country = RP_CC_NONE };
	struct rp_pkt p = { .len = data_end - data };
	__u32 slot = read_slot();
	struct rp_tenant_cfg *g0;
	struct rp_global_cfg *g;
	struct rp_portidx_val *pv;
	struct rp_atom *a;
	int to_gw;
	__u32 i;

	if (parse_frame(&c, &p)) {
		set_v(&v, 0, RP_R_MALFORMED);
		goto out;
	}
	if (p.kind == RP_K_ARP) {
		set_v(&v, 1, RP_R_ALLOWED);
		goto out;
	}
	if (p.kind != RP_K_IP) {
		set_v(&v, 0, RP_R_NOT_WIREGUARD);
		goto out;
	}
	pv = NULL;
	if (p.proto == IPPROTO_UDP && p.l4) {
		__u32 pi = rp_portidx_key(slot, p.dport);

		pv = bpf_map_lookup_elem(&rp_portidx, &pi);
		if (pv && !pv->tenant)
			pv = NULL;
		if (pv)
			v.tenant = pv->tenant;
	}
	/* every exception below is for the gateway itself: it must be
	 * addressed to it (docs/policy.md) */
	g = global_cfg(slot);
	to_gw = to_uplink(g, &p);
	if ((is_nd(&p) && (to_gw || dst_ll6(&p) || dst_llmc6(&p))) ||
	    (p.proto == IPPROTO_UDP && p.l4 && p.family == RP_AF_INET && p.sport == 67 && p.dport == 68 &&
	     dhcp4_for_us(slot, g, &p, to_gw)) ||
	    (p.proto == IPPROTO_UDP && p.l4 && p.family == RP_AF_INET6 && p.sport == 547 && p.dport == 546 &&
	     (to_gw || dst_ll6(&p)))) {
		set_v(&v, 1, RP_R_ALLOWED);
		goto out;
	}
	if (rp_is_ah(&p)) {
		set_v(&v, 0, RP_R_MALFORMED);
		goto out;
	}
	if (p.frag == RP_FRAG_LATER) {
		frag_judge(RP_TENANT_GATEWAY, &p, &v);
		goto out;
	}
	set_v(&v, 0, RP_R_NOT_WIREGUARD);
	if (pv && to_gw) {
		struct rp_tenant_cfg *tc = tenant_cfg(slot, pv->tenant);

		v.country = rp_country_of(p.family, p.src);
		a = tc ? atom_of(tc, p.family, p.src) : NULL;
		if (a && (a->flags & RP_A_ALLOW_FROM))
			set_v(&v, 1, RP_R_ALLOWED);
		else if (tc && country_allowed(&tc->site_cc, v.country,
					       g && (g->flags & RP_G_UNKNOWN_ALLOW)))
			set_v(&v, 1, RP_R_ALLOWED);
		else
			set_v(&v, 0, RP_R_GEO_SITE);
		goto reply;
	}
	if (p.proto == IPPROTO_TCP && p.l4 && g && to_gw) {
		int port_ok = 0;

		for (i = 0; i < RP_MGMT_PORTS_MAX; i++) {
			if (i >= g->n_mgmt_ports)
				break;
			if (p.dport >= g->mgmt_ports[i].lo && p.dport <= g->mgmt_ports[i].hi) {
				port_ok = 1;
				break;
			}
		}
		g0 = port_ok ? tenant_cfg(slot, RP_TENANT_GATEWAY) : NULL;
		a = g0 ? atom_of(g0, p.family, p.src) : NULL;
		if (a && (a->flags & RP_A_MGMT)) {
			if (!(g->flags & RP_G_MGMT_CC)) {
				set_v(&v, 1, RP_R_MANAGEMENT);
			} else {
				v.country = rp_country_of(p.family, p.src);
				if (country_allowed(&g->mgmt_cc, v.country, g->flags & RP_G_UNKNOWN_ALLOW))
					set_v(&v, 1, RP_R_MANAGEMENT);
			}
		}
	}
reply:
	/* step 5 of docs/policy.md, asked only about what steps 6-8 drop: the
	 * gateway's own connections, then the tenants' NATed ones */
	if (!v.allow && to_gw &&
	    (flow_is_reply(RP_TENANT_GATEWAY, RP_TENANT_GATEWAY, &p) ||
	     (nat_port(g, &p) && flow_is_reply(RP_FLOW_NAT, RP_FLOW_NAT, &p)) || flow_inner_known(&p))) {
		v.country = RP_CC_NONE;
		set_v(&v, 1, RP_R_REPLY);
	}
	frag_remember(RP_TENANT_GATEWAY, &p, &v);
out:
	account(&p, &v, ctx->ingress_ifindex);
	return v.allow ? XDP_PASS : XDP_DROP;
}

SEC("tc")
int uplink_out(struct __sk_buff *skb)
{
	struct rp_verd v = { .hook = RP_HOOK_UPLINK_OUT, .country = RP_CC_NONE };
	struct rp_pkt p = { .len = skb->len };
	__u32 slot = read_slot(), mark = skb->mark;
	struct rp_tenant_cfg *g0;
	struct rp_atom *ga;
	struct rp_cur c;

	if ((__u32)(skb->data_end - skb->data) < (skb->len < 256 ? skb->len : 256))
		bpf_skb_pull_data(skb, skb->len < 1024 ? skb->len : 1024);
	c.data = (void *)(long)skb->data;
	c.data_end = (void *)(long)skb->data_end;
	c.off = 0;
	c.lim = skb->len;
	if (parse_frame(&c, &p)) {
		set_v(&v, 0, RP_R_MALFORMED);
		goto out;
	}
	if (p.kind != RP_K_IP) {
		set_v(&v, 1, RP_R_ALLOWED);
		goto out;
	}
	if (rp_is_ah(&p)) {
		set_v(&v, 0, RP_R_MALFORMED);
		goto out;
	}
	g0 = tenant_cfg(slot, RP_TENANT_GATEWAY);
	ga = g0 ? atom_of(g0, p.family, p.dst) : NULL;
	if (ga && ga->site_owner) {
		v.tenant = ga->site_owner;
		set_v(&v, 0, RP_R_CLEARTEXT);
		goto out;
	}
	set_v(&v, 1, RP_R_ALLOWED);
	/* a tenant's connection (its mark, from its ingress), NATed to the
	 * uplink's address: in the NAT table, where a reply can only reach
	 * that connection (conntrack takes it back) */
	if ((mark & RP_MARK_MASK) == RP_MARK_BASE && (mark & 0xffff) && (mark & 0xffff) <= RP_TENANT_ID_MAX)
		flow_record(RP_FLOW_NAT, RP_FLOW_NAT, mark & 0xffff, &p);
	else
		flow_record(RP_TENANT_GATEWAY, RP_TENANT_GATEWAY, RP_TENANT_GATEWAY, &p);
out:
	account(&p, &v, skb->ifindex);
	return v.allow ? TC_ACT_OK : TC_ACT_SHOT;
}

/* The benchmark's reference point: the cheapest XDP program there is. */
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
