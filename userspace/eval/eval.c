// SPDX-License-Identifier: GPL-2.0
/* eval.c — the reference evaluator: docs/policy.md "Judging a packet",
 * step by step, one function per hook.  Zones and rules are in eval_zone.c.
 *
 * No allocation, no state: a packet is judged from the config, the geo
 * database and the packet alone.  The `why` strings are static.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "eval/eval.h"
#include "eval/eval_zone.h"
#include "policy/gwaddr.h"

static void verdict(struct eval_result *r, enum rp_verdict v, enum rp_reason reason,
		    const char *why)
{
	r->verdict = v;
	r->reason = reason;
	r->why = why;
}

static uint16_t country_of(const struct eval_ctx *ctx, const struct rp_addr *a)
{
	return ctx->geo ? geo_lookup(ctx->geo, a) : RP_CC_NONE;
}

static bool is_ndp(const struct rp_packet *p)
{
	return p->src.family == AF_INET6 && p->proto == IPPROTO_ICMPV6 && p->l4_present &&
	       p->icmp_type >= 133 && p->icmp_type <= 137 && p->hop_limit == 255;
}

static bool is_dhcp_reply(const struct rp_packet *p)
{
	if (p->proto != IPPROTO_UDP || !p->l4_present)
		return false;
	if (p->src.family == AF_INET)
		return p->sport == 67 && p->dport == 68;
	return p->sport == 547 && p->dport == 546;
}

static bool is_echo(const struct rp_packet *p)
{
	if (!p->l4_present)
		return false;
	if (p->src.family == AF_INET)
		return p->proto == IPPROTO_ICMP && (p->icmp_type == 8 || p->icmp_type == 0);
	return p->proto == IPPROTO_ICMPV6 && (p->icmp_type == 128 || p->icmp_type == 129);
}

static bool addr_same(const struct rp_addr *a, const struct rp_addr *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16);
}

/* Step 0 of policy(): a packet addressed to the gateway itself (docs/policy.md). */
static void judge_to_gateway(const struct eval_ctx *ctx, int t, const struct rp_packet *p,
			     bool from_cloud, struct eval_result *r)
{
	const struct rp_tenant *T = &ctx->cfg->tenants[t];
	uint16_t lo, hi;

	if (gw_addr_own(T, &p->dst) && is_echo(p)) {
		verdict(r, RP_ALLOW, RP_R_ALLOWED,
			"ICMP echo to the tenant's own gateway address: the gateway answers");
		return;
	}
	gw_nat_ports(ctx->cfg, &lo, &hi);
	if (from_cloud && gw_addr_own_cloud(T, &p->dst) && gw_share_provider(ctx->cfg, t) &&
	    p->l4_present && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) && hi &&
	    p->dport >= lo && p->dport <= hi) {
		verdict(r, RP_ALLOW, RP_R_ALLOWED,
			"to the tenant's own cloud_address on a NAT port: a share's answer to a "
			"consumer's cloud, which conntrack takes back");
		return;
	}
	if (from_cloud && gw_addr_own_cloud(T, &p->dst) && gw_share_provider(ctx->cfg, t) && hi &&
	    p->has_inner && (p->inner_proto == IPPROTO_TCP || p->inner_proto == IPPROTO_UDP) &&
	    p->inner_sport >= lo && p->inner_sport <= hi && addr_same(&p->inner_src, &p->dst)) {
		verdict(r, RP_ALLOW, RP_R_ALLOWED,
			"an ICMP error to the tenant's own cloud_address about a connection that left "
			"it from a NAT port (path MTU of a share's answer), which conntrack takes back");
		return;
	}
	verdict(r, RP_DROP, RP_R_GATEWAY,
		"the destination is an address of the gateway itself: only ICMP echo to the "
		"tenant's own gateway address is answered");
}

/* policy(T, from, src, dst) */
static void judge_policy(const struct eval_ctx *ctx, int t, const struct rp_packet *p,
			 bool from_cloud, struct eval_result *r)
{
	const struct rp_tenant *T = &ctx->cfg->tenants[t];
	struct zone z;

	if (gw_addr_is(ctx->cfg, &p->dst)) {
		judge_to_gateway(ctx, t, p, from_cloud, r);
		return;
	}
	zone_of(ctx->cfg, t, &p->dst, &z);
	switch (z.kind) {
	case ZONE_SITE:
	case ZONE_CLOUD:
	case ZONE_GATEWAY:
		judge_intra(T, p, r);
		return;
	case ZONE_SHARE:
		if (proto_ports_match(z.share->proto, &z.share->ports, p)) {
			r->rule = z.share->name;
			verdict(r, RP_ALLOW, RP_R_ALLOWED,
				"the destination is offered to this tenant by another tenant's share, "
				"and the protocol and port are the shared ones");
		} else {
			verdict(r, RP_DROP, RP_R_CROSS_TENANT,
				"the destination is another tenant's share offered to this tenant, "
				"but not for this protocol or port");
		}
		return;
	case ZONE_NONE:
		break;
	}
	if (in_other_tenants(ctx->cfg, t, &p->dst)) {
		verdict(r, RP_DROP, RP_R_CROSS_TENANT,
			"the destination is in another tenant's networks and no share offers it");
		return;
	}
	if (T->egress == RP_EGRESS_NONE) {
		verdict(r, RP_DROP, RP_R_NO_RULE,
			"the destination is outside every network of the tenant and its egress is none");
		return;
	}
	if (!T->has_egress_countries) {
		verdict(r, RP_ALLOW, RP_R_ALLOWED,
			"the destination is on the internet and the tenant has egress = nat");
		return;
	}
	r->country = country_of(ctx, &p->dst);
	if (rp_ccset_has(&T->egress_countries, r->country))
		verdict(r, RP_ALLOW, RP_R_ALLOWED,
			"the destination is on the internet, in one of the tenant's egress_countries");
	else if (r->country == RP_CC_NONE && ctx->cfg->geo_unknown_allow)
		verdict(r, RP_ALLOW, RP_R_ALLOWED,
			"the destination is on the internet, in no known country, and [geo] unknown = allow");
	else
		verdict(r, RP_DROP, RP_R_GEO_EGRESS,
			"the destination is on the internet, outside the tenant's egress_countries");
}

/* The first steps of both Ethernet hooks (docs/policy.md): a malformed frame
 * is dropped, ARP is what the link needs, any other non-IP frame is dropped
 * with the hook's own reason.  True when it decided. */
static bool link_layer(const struct rp_packet *p, enum rp_reason non_ip, const char *non_ip_why,
		       struct eval_result *r)
{
	if (p->malformed) {
		verdict(r, RP_DROP, RP_R_MALFORMED, "the frame is truncated or malformed");
		return true;
	}
	if (p->kind == RP_PKT_ARP) {
		verdict(r, RP_ALLOW, RP_R_ALLOWED, "ARP: the link needs it");
		return true;
	}
	if (p->kind != RP_PKT_IP) {
		verdict(r, RP_DROP, non_ip, non_ip_why);
		return true;
	}
	return false;
}

/* AH (51) as the last header, on every hook once the packet is IP: the
 * gateway holds no security association and reads nothing behind AH, so it
 * judges no ports, flow or fragment of such a packet (docs/policy.md).  True
 * when it decided. */
static bool ah_header(const struct rp_packet *p, struct eval_result *r)
{
	if (p->proto != IPPROTO_AH)
		return false;
	verdict(r, RP_DROP, RP_R_MALFORMED,
		"an AH header (protocol 51): the gateway holds no IPsec security association "
		"and does not judge what follows it");
	return true;
}

static void judge_cloud_in(const struct eval_ctx *ctx, int t, const struct rp_packet *p,
			   struct eval_result *r)
{
	if (t < 0) {
		verdict(r, RP_DROP, RP_R_MALFORMED,
			"the frame's VLAN id (or its absence) belongs to no tenant of this cloud interface");
		return;
	}
	if (link_layer(p, RP_R_MALFORMED, "neither IP nor ARP on a cloud attachment", r) ||
	    ah_header(p, r))
		return;
	if (is_ndp(p) && (gw_addr_link_scope(&p->dst) || gw_addr_own_cloud(&ctx->cfg->tenants[t], &p->dst))) {
		verdict(r, RP_ALLOW, RP_R_ALLOWED,
			"IPv6 neighbour/router discovery with hop limit 255, addressed to the link: "
			"the link needs it");
		return;
	}
	if (prefix_list_longest_match(&ctx->cfg->tenants[t].cloud_prefixes, &p->src) < 0) {
		verdict(r, RP_DROP, RP_R_SPOOFED,
			"the source is not in the tenant's cloud_prefixes");
		return;
	}
	if (p->frag == RP_FRAG_LATER) {
		verdict(r, RP_DROP, RP_R_FRAGMENT,
			"a non-first fragment whose first fragment was not seen");
		return;
	}
	judge_policy(ctx, t, p, true, r);
}

static void judge_tunnel_in(const struct eval_ctx *ctx, int t, const struct rp_packet *p,
			    struct eval_result *r)
{
	if (p->malformed || p->kind != RP_PKT_IP) {
		verdict(r, RP_DROP, RP_R_MALFORMED, "the packet is truncated or malformed");
		return;
	}
	if (ah_header(p, r))
		return;
	if (!site_of(&ctx->cfg->tenants[t], &p->src)) {
		verdict(r, RP_DROP, RP_R_SPOOFED,
			"the source is in no site's allowed_ips of the tenant");
		return;
	}
	if (p->frag == RP_FRAG_LATER) {
		verdict(r, RP_DROP, RP_R_FRAGMENT,
			"a non-first fragment whose first fragment was not seen");
		return;
	}
	judge_policy(ctx, t, p, false, r);
}

/* Step 6 of uplink_in: UDP to tenant t's listen port. */
static void judge_listen_port(const struct eval_ctx *ctx, int t, const struct rp_packet *p,
			      struct eval_result *r)
{
	const struct rp_tenant *T = &ctx->cfg->tenants[t];

	r->country = country_of(ctx, &p->src);
	for (size_t i = 0; i < T->n_sites; i++) {
		if (prefix_list_longest_match(&T->sites[i].allow_from, &p->src) >= 0) {
			verdict(r, RP_ALLOW, RP_R_ALLOWED,
				"WireGuard to the tenant's listen port from a site's allow_from prefix");
			return;
		}
	}
	if (rp_ccset_has(&T->site_countries, r->country))
		verdict(r, RP_ALLOW, RP_R_ALLOWED,
			"WireGuard to the tenant's listen port from one of its site_countries");
	else if (r->country == RP_CC_NONE && ctx->cfg->geo_unknown_allow)
		verdict(r, RP_ALLOW, RP_R_ALLOWED,
			"WireGuard to the tenant's listen port from no known country, and [geo] unknown = allow");
	else
		verdict(r, RP_DROP, RP_R_GEO_SITE,
			"WireGuard to the tenant's listen port from a country not in its site_countries");
}

static bool management_allows(const struct eval_ctx *ctx, const struct rp_packet *p,
			      struct eval_result *r)
{
	const struct rp_config *cfg = ctx->cfg;

	if (p->proto != IPPROTO_TCP || !p->l4_present || !cfg->mgmt_tcp_ports.n ||
	    !port_list_contains(&cfg->mgmt_tcp_ports, p->dport) ||
	    prefix_list_longest_match(&cfg->mgmt_allow_from, &p->src) < 0)
		return false;
	if (!cfg->has_mgmt_countries)
		return true;
	/* The country matters only here: reported whether it lets in or not. */
	r->country = country_of(ctx, &p->src);
	if (rp_ccset_has(&cfg->mgmt_countries, r->country))
		return true;
	return r->country == RP_CC_NONE && cfg->geo_unknown_allow;
}

static int listen_port_owner(const struct rp_config *cfg, uint16_t port)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		if ((cfg->tenants[i].listen_port && cfg->tenants[i].listen_port == port) ||
		    (cfg->tenants[i].next_interface && cfg->tenants[i].next_listen_port == port))
			return (int)i;	/* during a key rotation, both ports */
	return -1;
}

static bool ll6(const struct rp_addr *a)
{
	return a->family == AF_INET6 && a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80;
}

/* A DHCP reply the gateway takes (docs/policy.md uplink_in step 3). */
static bool dhcp_for_us(const struct rp_config *cfg, const struct rp_packet *p, bool to_gw)
{
	if (to_gw)
		return true;
	if (p->src.family == AF_INET6)
		return ll6(&p->dst);
	if (gw_addr_limited_broadcast(&p->dst))
		return true;
	/* no IPv4 address on the uplink yet: a server offering by unicast */
	return gw_uplink_none(cfg, AF_INET) && !gw_addr_is(cfg, &p->dst) &&
	       !in_other_tenants(cfg, -1, &p->dst);
}

static void judge_uplink_in(const struct eval_ctx *ctx, const struct rp_packet *p,
			    struct eval_result *r)
{
	const struct rp_config *cfg = ctx->cfg;
	int listen = -1;
	bool to_gw;

	if (link_layer(p, RP_R_NOT_WIREGUARD, "neither IP nor ARP on the uplink", r) ||
	    ah_header(p, r))
		return;
	/* The tenant is the listen port's owner, whichever step decides. */
	if (p->proto == IPPROTO_UDP && p->l4_present)
		listen = listen_port_owner(cfg, p->dport);
	r->tenant = listen;
	/* Every exception is for the gateway itself: addressed to it (docs/policy.md). */
	to_gw = gw_uplink_is(cfg, &p->dst);
	if (is_ndp(p) && (to_gw || gw_addr_link_scope(&p->dst))) {
		verdict(r, RP_ALLOW, RP_R_ALLOWED,
			"IPv6 neighbour/router discovery with hop limit 255, addressed to the "
			"gateway or the link: the link needs it");
		return;
	}
	if (is_dhcp_reply(p) && dhcp_for_us(cfg, p, to_gw)) {
		verdict(r, RP_ALLOW, RP_R_ALLOWED, "a DHCP reply addressed to the gateway: the link needs it");
		return;
	}
	if (p->frag == RP_FRAG_LATER) {
		verdict(r, RP_DROP, RP_R_FRAGMENT,
			"a non-first fragment whose first fragment was not seen");
		return;
	}
	if (!to_gw) {
		verdict(r, RP_DROP, RP_R_NOT_WIREGUARD,
			"not addressed to the gateway's uplink address: nothing passes the uplink "
			"on the gateway's behalf for another destination");
		return;
	}
	if (listen >= 0) {
		judge_listen_port(ctx, listen, p, r);
		return;
	}
	if (management_allows(ctx, p, r)) {
		verdict(r, RP_ALLOW, RP_R_MANAGEMENT,
			"TCP to a management port from [management] allow_from");
		return;
	}
	verdict(r, RP_DROP, RP_R_NOT_WIREGUARD,
		"not WireGuard to a tenant's listen port, not management, not what the link needs");
}

static void judge_uplink_out(const struct eval_ctx *ctx, const struct rp_packet *p,
			     struct eval_result *r)
{
	const struct rp_config *cfg = ctx->cfg;

	if (p->malformed) {
		verdict(r, RP_DROP, RP_R_MALFORMED, "the frame is truncated or malformed");
		return;
	}
	if (p->kind != RP_PKT_IP) {
		verdict(r, RP_ALLOW, RP_R_ALLOWED, "not IP: the gateway's own link traffic");
		return;
	}
	if (ah_header(p, r))
		return;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		if (site_of(&cfg->tenants[i], &p->dst)) {
			r->tenant = (int)i;
			verdict(r, RP_DROP, RP_R_CLEARTEXT,
				"the destination is in a site's allowed_ips: it must leave through "
				"the tenant's tunnel, never in clear on the uplink");
			return;
		}
	}
	verdict(r, RP_ALLOW, RP_R_ALLOWED, "the gateway may send to the internet");
}

void eval_packet(const struct eval_ctx *ctx, const struct eval_where *w,
		 const struct rp_packet *p, struct eval_result *r)
{
	r->verdict = RP_DROP;
	r->reason = RP_R_MALFORMED;
	r->tenant = w->tenant;
	r->rule = NULL;
	r->country = RP_CC_NONE;
	r->why = "";

	switch (w->hook) {
	case RP_HOOK_CLOUD_IN:
		judge_cloud_in(ctx, w->tenant, p, r);
		break;
	case RP_HOOK_TUNNEL_IN:
		judge_tunnel_in(ctx, w->tenant, p, r);
		break;
	case RP_HOOK_UPLINK_IN:
		r->tenant = -1;
		judge_uplink_in(ctx, p, r);
		break;
	case RP_HOOK_UPLINK_OUT:
		r->tenant = -1;
		judge_uplink_out(ctx, p, r);
		break;
	default:
		verdict(r, RP_DROP, RP_R_MALFORMED, "unknown hook");
		break;
	}
}

const char *eval_hook_name(enum rp_hook h)
{
	static const char *const names[RP_HOOK__COUNT] = {
		[RP_HOOK_UPLINK_IN] = "uplink_in",
		[RP_HOOK_UPLINK_OUT] = "uplink_out",
		[RP_HOOK_CLOUD_IN] = "cloud_in",
		[RP_HOOK_TUNNEL_IN] = "tunnel_in",
	};

	return (unsigned)h < RP_HOOK__COUNT ? names[h] : "?";
}

static bool parse_vlan_suffix(const char *dot, uint16_t *vlan)
{
	char *end;
	unsigned long v;

	if (dot[1] < '0' || dot[1] > '9')
		return false;
	v = strtoul(dot + 1, &end, 10);
	if (*end || v < 1 || v > 4094)
		return false;
	*vlan = (uint16_t)v;
	return true;
}

static int where_exact(const struct rp_config *cfg, const char *ifname, size_t n, uint16_t vlan,
		       bool out, struct eval_where *w)
{
	bool cloud = false;

	w->tenant = -1;
	if (cfg->uplink && strlen(cfg->uplink) == n && !strncmp(cfg->uplink, ifname, n)) {
		w->hook = out ? RP_HOOK_UPLINK_OUT : RP_HOOK_UPLINK_IN;
		return 0;
	}
	if (out)
		return -ENOENT;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const char *tun = cfg->tenants[i].tunnel_interface;
		const char *next = cfg->tenants[i].next_interface;	/* key rotation */

		if ((tun && strlen(tun) == n && !strncmp(tun, ifname, n)) ||
		    (next && strlen(next) == n && !strncmp(next, ifname, n))) {
			w->hook = RP_HOOK_TUNNEL_IN;
			w->tenant = (int)i;
			return 0;
		}
	}
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const char *c = cfg->tenants[i].cloud_interface;

		if (!c || strlen(c) != n || strncmp(c, ifname, n))
			continue;
		cloud = true;
		if (cfg->tenants[i].vlan == vlan) {
			w->hook = RP_HOOK_CLOUD_IN;
			w->tenant = (int)i;
			return 0;
		}
	}
	if (cloud) {
		w->hook = RP_HOOK_CLOUD_IN;	/* tenant -1: dropped `malformed` */
		return 0;
	}
	return -ENOENT;
}

int eval_where_from_ifname(const struct rp_config *cfg, const char *ifname, uint16_t vlan,
			   bool out, struct eval_where *w)
{
	const char *dot = strrchr(ifname, '.');
	uint16_t v;

	if (!where_exact(cfg, ifname, strlen(ifname), vlan, out, w))
		return 0;
	/* "eth1.110": interface eth1, VLAN 110 */
	if (out || !dot || !parse_vlan_suffix(dot, &v) || (vlan && vlan != v))
		return -ENOENT;
	if (where_exact(cfg, ifname, (size_t)(dot - ifname), v, out, w) ||
	    w->hook != RP_HOOK_CLOUD_IN)
		return -ENOENT;
	return 0;
}
