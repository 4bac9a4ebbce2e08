/* judge.c — where the kernel would deliver a packet, and whether what the
 * programs let through keeps SPEC §4's guarantees.  Written from SPEC §4
 * (docs/testing.md lists each invariant and its reading of the SPEC); the
 * kernel model (what happens before and after the route lookup) is
 * written from the kernel's input path, every assumption named here. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "judge.h"

static bool icmp_error(const struct o_pkt *p);

#define A4(p) ((p)->family == 4)
#define ALEN(f) ((f) == 4 ? 4 : 16)

static struct rp_addr mk(int family, const uint8_t *a)
{
	struct rp_addr x;

	memset(&x, 0, sizeof(x));
	x.family = family == 4 ? AF_INET : AF_INET6;
	memcpy(x.addr, a, ALEN(family));
	return x;
}

static bool in_list(const struct rp_prefix_list *l, int family, const uint8_t *a)
{
	struct rp_addr x = mk(family, a);

	for (size_t i = 0; i < l->n; i++)
		if (prefix_contains(&l->v[i], &x))
			return true;
	return false;
}

static bool is_zero(const uint8_t *a, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i])
			return false;
	return true;
}

static bool v6_loopback(const uint8_t *a)
{
	return is_zero(a, 15) && a[15] == 1;
}

int origin_of(const struct o_pkt *p)
{
	switch (p->hook) {
	case OH_UPLINK_IN: return OWN_INET;
	case OH_GW_OUT: return OWN_GW;
	default: return p->tenant >= 0 ? OWN_T0 + p->tenant : OWN_NONE;
	}
}

/* ---- shapes and destinations -------------------------------------------- */

/* Neighbour/router discovery, redirects, DHCP (SPEC §4.5, §4.13).  From the
 * uplink only what §4.5 names: ND/RD and DHCP replies. */
bool link_shape(const struct o_pkt *p, bool uplink)
{
	if (p->frag == OF_LATER)
		return false;
	if (!A4(p) && p->proto == 58 && p->icmp_type >= 133 && p->icmp_type <= 137 && p->ttl == 255)
		return true;
	if (A4(p) && p->proto == 1 && !uplink && (p->icmp_type == 5 || p->icmp_type == 9 || p->icmp_type == 10))
		return true;
	if (p->proto != 17)
		return false;
	if (A4(p))
		return uplink ? p->sport == 67 && p->dport == 68 :
		       (p->sport == 67 || p->sport == 68) && (p->dport == 67 || p->dport == 68);
	return uplink ? p->sport == 547 && p->dport == 546 :
	       (p->sport == 546 || p->sport == 547) && (p->dport == 546 || p->dport == 547);
}

static bool bcast_of(const struct o_iface *f, const uint8_t *a)
{
	for (int k = 0; k < f->n_addr; k++) {
		const struct rp_prefix *x = &f->addr[k];
		uint32_t m, net, d;

		if (x->family != AF_INET || x->len >= 31)
			continue;
		m = x->len ? ~0u << (32 - x->len) : 0;
		memcpy(&net, x->addr, 4);
		memcpy(&d, a, 4);
		if ((ntohl(d) & m) == (ntohl(net) & m) && (ntohl(d) | m) == ~0u)
			return true;
	}
	return false;
}

/* Addressed to the link of interface ifi (SPEC §4.13), or, on the uplink,
 * "addressed to the gateway" (SPEC §4.12: its uplink addresses, link-local
 * and the link's multicast groups): the gateway's own addresses on it,
 * link-local, link-scope multicast, broadcast.  A link-local destination
 * that is not the gateway's stays on its link (the kernel sends it back out
 * of the interface it came from, if anywhere). */
bool link_dst(const struct world *w, const struct o_pkt *p, int ifi, bool strict)
{
	struct rp_addr d = mk(p->family, p->dst);

	(void)strict;
	if (world_is_gateway_addr(w, &d, ifi))
		return true;
	if (A4(p))
		return (p->dst[0] == 169 && p->dst[1] == 254) ||
		       (p->dst[0] == 224 && p->dst[1] == 0 && p->dst[2] == 0) ||
		       (p->dst[0] == 255 && p->dst[1] == 255 && p->dst[2] == 255 && p->dst[3] == 255) ||
		       bcast_of(&w->ifs[ifi], p->dst);
	return (p->dst[0] == 0xfe && (p->dst[1] & 0xc0) == 0x80) || (p->dst[0] == 0xff && p->dst[1] == 0x02);
}

static bool link_local(const struct o_pkt *p)
{
	return A4(p) ? p->dst[0] == 169 && p->dst[1] == 254 : p->dst[0] == 0xfe && (p->dst[1] & 0xc0) == 0x80;
}

void make_twin(const struct o_pkt *p, struct o_pkt *t)
{
	*t = *p;
	t->twin = 1;
	t->trunc_at = 0;
	if (p->proto == 17)
		t->sport = 40000 + p->sport;	/* no longer a DHCP shape, same destination port */
	else
		t->icmp_type = 200;		/* an unassigned informational type */
}

bool uplink_global_addr(const struct world *w, int family, uint8_t *out)
{
	const struct o_iface *f = &w->ifs[w->uplink_if];

	for (int k = 0; k < f->n_addr; k++) {
		const struct rp_prefix *x = &f->addr[k];

		if (family == 4 && x->family == AF_INET) {
			memcpy(out, x->addr, 4);
			return true;
		}
		if (family == 6 && x->family == AF_INET6 && !(x->addr[0] == 0xfe && (x->addr[1] & 0xc0) == 0x80)) {
			memcpy(out, x->addr, 16);
			return true;
		}
	}
	return false;
}

/* ---- delivery ------------------------------------------------------------ */

static int peer_tenant(const struct world *w, int tenant, int family, const uint8_t *dst)
{
	struct rp_addr d = mk(family, dst);

	for (int i = 0; i < w->n_peers; i++)
		if (w->peers[i].tenant == tenant && prefix_contains(&w->peers[i].pfx, &d))
			return 1;
	return 0;
}

static bool mcast_joined(const struct o_iface *f, int family, const uint8_t *a)
{
	for (int i = 0; i < f->n_mcast; i++)
		if (f->mcast[i].family == (family == 4 ? AF_INET : AF_INET6) && !memcmp(f->mcast[i].addr, a, ALEN(family)))
			return true;
	return false;
}

#define WHY(...) snprintf(d->why, sizeof(d->why), __VA_ARGS__)

void deliver(const struct world *w, struct router *r, const struct o_pkt *p, const struct o_view *v,
	     struct o_delivery *d)
{
	const struct o_iface *in = &w->ifs[p->ifi];
	struct o_route rt;
	int oi;

	d->owner = d->intended = OWN_NONE;
	d->oif = -1;
	if (p->hook == OH_GW_OUT) {
		d->owner = d->intended = OWN_INET;
		d->oif = w->uplink_if;
		WHY("out of %s", in->name);
		return;
	}
	if (v->malformed) {
		WHY("malformed");
		return;
	}
	for (int i = 0; i < p->ntags; i++)
		if (p->vid[i]) {	/* no VLAN device here: the kernel drops it */
			WHY("tagged %u: no VLAN device", p->vid[i]);
			return;
		}
	if (p->ethertype == 0x0806) {
		d->owner = d->intended = OWN_GW;
		WHY("ARP");
		return;
	}
	if (p->family != 4 && p->family != 6) {
		WHY("not IP");
		return;
	}
	if (!A4(p)) {		/* ipv6_rcv()'s address checks */
		if (p->src[0] == 0xff || v6_loopback(p->src) || v6_loopback(p->dst) ||
		    (is_zero(p->src, 10) && p->src[10] == 0xff && p->src[11] == 0xff) ||
		    (p->dst[0] == 0xff && ((p->dst[1] & 15) == 0 || (p->dst[1] & 15) == 1))) {
			WHY("refused by ipv6_rcv (address)");
			return;
		}
	}
	if (route_get(r, in->ifindex, A4(p) ? AF_INET : AF_INET6, p->src, p->dst, p->proto, p->sport, p->dport, &rt)) {
		WHY("route lookup failed");
		return;
	}
	switch (rt.type) {
	case OR_ERR:
		WHY("no route: %s", strerror(rt.err));
		return;
	case OR_LOCAL:
		d->intended = OWN_GW;
		if (v->kernel_drops) {
			WHY("local, but the kernel drops it (checksum or source route)");
			return;
		}
		/* nftables' nat_guard (userspace/net/nat.c): on a NAT port,
		 * conntrack takes a NATed connection's reply back (forwarded,
		 * never local) and the input chain drops the rest */
		if ((p->proto == 6 || p->proto == 17) && p->frag != OF_LATER && v->l4 && w->nat_guard_hi &&
		    p->dport >= w->nat_guard_lo && p->dport <= w->nat_guard_hi) {
			WHY("local, on a NAT port: conntrack takes it back or nat_guard drops it");
			return;
		}
		/* an ICMP error: conntrack takes it back with the connection it
		 * quotes (forwarded, never local), or nat_guard drops it */
		if (icmp_error(p) && (w->nat_guard_icmp & (p->family == 4 ? 1 : 2))) {
			WHY("local, an ICMP error: conntrack takes it back with its connection or nat_guard drops it");
			return;
		}
		d->owner = OWN_GW;
		WHY("local");
		return;
	case OR_MCAST:
		if (!mcast_joined(in, p->family, p->dst)) {
			WHY("multicast group not joined on %s", in->name);
			return;
		}
		d->owner = d->intended = v->kernel_drops ? OWN_NONE : OWN_GW;
		WHY("multicast, joined on %s", in->name);
		return;
	}
	oi = world_if_by_index(w, rt.oif);
	if (oi < 0) {
		WHY("forwarded to ifindex %d, which the configuration does not name", rt.oif);
		return;
	}
	d->oif = oi;
	switch (w->ifs[oi].kind) {
	case OK_UPLINK:
		d->intended = OWN_INET;
		break;
	case OK_CLOUD:
		d->intended = w->ifs[oi].tenant >= 0 ? OWN_T0 + w->ifs[oi].tenant : OWN_NONE;
		break;
	case OK_TUNNEL:
		d->intended = OWN_T0 + w->ifs[oi].tenant;
		if (!peer_tenant(w, w->ifs[oi].tenant, p->family, p->dst)) {
			WHY("forward %s: no WireGuard peer has it in allowed-ips", w->ifs[oi].name);
			return;
		}
		break;
	default:
		WHY("forward %s (not rempart's)", w->ifs[oi].name);
		return;
	}
	if (v->kernel_drops) {
		WHY("forward %s, but the kernel drops it (checksum or source route)", w->ifs[oi].name);
		return;
	}
	if (p->ttl <= 1) {
		WHY("forward %s, but hop limit %u", w->ifs[oi].name, p->ttl);
		return;
	}
	if (!A4(p) && oi != p->ifi &&
	    (is_zero(p->src, 16) || (p->src[0] == 0xfe && (p->src[1] & 0xc0) == 0x80))) {
		WHY("forward %s, but ip6_forward refuses its source", w->ifs[oi].name);
		return;
	}
	d->owner = d->intended;
	WHY("forward %s", w->ifs[oi].name);
}

/* ---- flows ------------------------------------------------------------------ */

static bool icmp_echo(const struct o_pkt *p)
{
	return (A4(p) && p->proto == 1 && (p->icmp_type == 8 || p->icmp_type == 0)) ||
	       (!A4(p) && p->proto == 58 && (p->icmp_type == 128 || p->icmp_type == 129));
}

static bool icmp_error(const struct o_pkt *p)
{
	if (A4(p))
		return p->proto == 1 && (p->icmp_type == 3 || p->icmp_type == 4 || p->icmp_type == 11 ||
					 p->icmp_type == 12);
	return p->proto == 58 && p->icmp_type >= 1 && p->icmp_type <= 4;
}

static void key_of(struct o_fkey *k, int from, int family, uint8_t proto, const uint8_t *src, const uint8_t *dst,
		   uint16_t sport, uint16_t dport)
{
	memset(k, 0, sizeof(*k));
	k->from = from;
	k->family = family;
	k->proto = proto;
	k->sport = sport;
	k->dport = dport;
	memcpy(k->src, src, ALEN(family));
	memcpy(k->dst, dst, ALEN(family));
}

/* the packet's tuple, forward (rev = false) or reversed; ICMP: echo only
 * (request or reply, by identifier), the one ICMP exchange SPEC §4.4's
 * "connection" covers: other ICMP messages open nothing and answer nothing
 * (errors are judged by what they quote) */
static void tuple(struct o_fkey *k, int from, const struct o_pkt *p, bool rev)
{
	uint16_t sp = p->sport, dp = p->dport;

	if (p->proto == 1 || p->proto == 58)
		sp = dp = p->echo_id;
	else if (p->proto != 6 && p->proto != 17)
		sp = dp = 0;
	if (rev)
		key_of(k, from, p->family, p->proto, p->dst, p->src, dp, sp);
	else
		key_of(k, from, p->family, p->proto, p->src, p->dst, sp, dp);
}

/* P (from origin o) is a reply to a flow that `from` sent towards o;
 * from < 0: any sender */
static bool is_reply(const struct world *w, const struct o_pkt *p, const struct o_view *v, int o, int from, bool *nat)
{
	struct o_fkey k;

	if (!v->ids)	/* a reply is known by its ports or identifier */
		return false;

	if ((p->proto == 1 || p->proto == 58) && !icmp_echo(p))
		return false;
	for (int f = from < 0 ? OWN_GW : from; f <= (from < 0 ? OWN_T0 + (int)w->cfg.n_tenants - 1 : from); f++) {
		tuple(&k, f, p, true);
		if (flow_has(&k, o, nat))
			return true;
	}
	return false;
}

/* P is an ICMP error (from origin o) about a flow between `from` and o */
static bool is_error_about(const struct world *w, const struct o_pkt *p, int o, int from)
{
	struct o_fkey k;
	uint16_t sp, dp;

	if (!icmp_error(p) || !p->has_inner || p->inner.family != p->family)
		return false;
	sp = p->inner.sport;
	dp = p->inner.dport;
	if (p->inner.proto == (p->family == 4 ? 1 : 58)) {
		bool echo = p->family == 4 ? p->inner.icmp_type == 8 || p->inner.icmp_type == 0
					   : p->inner.icmp_type == 128 || p->inner.icmp_type == 129;

		if (!echo)
			return false;
		sp = dp = p->inner.sport;
	} else if (p->inner.proto != 6 && p->inner.proto != 17) {
		sp = dp = 0;
	}
	for (int f = from < 0 ? OWN_GW : from; f <= (from < 0 ? OWN_T0 + (int)w->cfg.n_tenants - 1 : from); f++) {
		/* about a packet f sent towards o */
		key_of(&k, f, p->family, p->inner.proto, p->inner.src, p->inner.dst, sp, dp);
		if (flow_has(&k, o, NULL))
			return true;
		/* about a reply that f sent back to o's flow */
		key_of(&k, o, p->family, p->inner.proto, p->inner.dst, p->inner.src, dp, sp);
		if (flow_has(&k, f, NULL))
			return true;
	}
	return false;
}

void remember(const struct world *w, const struct o_pkt *p, const struct o_view *v, const struct o_result *res)
{
	struct o_fkey k;
	int from = res->origin;

	if (p->family != 4 && p->family != 6)
		return;
	/* a first fragment, even malformed (that is reported once, as such):
	 * its later fragments inherit its verdict */
	if (p->frag == OF_FIRST) {
		key_of(&k, from, p->family, p->proto, p->src, p->dst, p->frag_id >> 16, p->frag_id & 0xffff);
		frag_add(&k, res->allowed == 1);
	}
	if (v->malformed)
		return;
	if (res->allowed != 1 || p->frag == OF_LATER || !v->l4 || !v->ids ||
	    ((p->proto == 1 || p->proto == 58) && !icmp_echo(p)))
		return;
	if (res->d.intended == OWN_NONE)
		return;
	tuple(&k, from, p, false);
	flow_add(&k, res->d.intended, false);
	if (res->nat && res->egress == 1) {
		memcpy(k.src, res->nat_src, ALEN(p->family));
		if (p->proto == 6 || p->proto == 17)
			k.sport = res->nat_sport;
		flow_add(&k, OWN_INET, true);
	}
}

/* ---- invariants ---------------------------------------------------------- */

const char *const inv_name[OI__COUNT] = {
	"isolation", "anti_spoofing", "uplink_tenant", "uplink_gateway", "geo_fence", "egress",
	"tenant_gateway", "link_shape", "cleartext", "fragment", "malformed",
};
const char *const inv_what[OI__COUNT] = {
	"§4.1 tenant A reaches tenant B only through B's share offered to A, or as a reply",
	"§4.2 a cloud packet's source is in the tenant's cloud_prefixes, a tunnel packet's in its sites'",
	"§4.12 the uplink reaches a tenant only as a reply to that tenant's egress",
	"§4.5/§4.12 what the uplink lets in is one of its exceptions, addressed to the gateway",
	"§4.5 a listen port is reached only from site_countries or a site's allow_from",
	"§4.6 a tenant leaves through the uplink only with egress = nat, to egress_countries",
	"§4.14 a tenant reaches the gateway only with echo on its own gateway addresses",
	"§4.13 link shapes skip the policy only when addressed to the link",
	"§4.11 nothing to a site's prefixes leaves through the uplink",
	"§4.7 a later fragment passes only after its first fragment passed",
	"§4.7 truncated or malformed headers are dropped",
};

static char *ip_txt(int family, const uint8_t *a, char *buf)
{
	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, INET6_ADDRSTRLEN);
	return buf;
}

#define VIOL(which, fmt, ...) do {                                                 \
	if (j->n < O_MAX_VIOL) {                                                   \
		j->v[j->n].inv = (which);                                          \
		j->v[j->n].kind = (fmt);                                           \
		snprintf(j->v[j->n].why, sizeof(j->v[j->n].why), fmt, ##__VA_ARGS__); \
		j->n++;                                                            \
	}                                                                          \
} while (0)

static bool country_ok(const struct world *w, const struct rp_ccset *set, uint16_t cc)
{
	if (cc == RP_CC_NONE)
		return w->cfg.geo_unknown_allow;
	return rp_ccset_has(set, cc);
}

static const char *cc_txt(uint16_t cc, char *b)
{
	if (cc == RP_CC_NONE)
		return "no country";
	b[0] = 'A' + cc / 26;
	b[1] = 'A' + cc % 26;
	b[2] = 0;
	return b;
}

/* Is a share of tenant b offered to tenant a, covering this packet? */
static bool shared(const struct world *w, int a, int b, const struct o_pkt *p)
{
	const struct rp_tenant *tb = &w->cfg.tenants[b];

	for (size_t s = 0; s < tb->n_shares; s++) {
		const struct rp_share *sh = &tb->shares[s];
		bool offered = sh->all_tenants;

		for (size_t k = 0; k < sh->n_tenants && !offered; k++)
			offered = !strcmp(sh->tenants[k], w->cfg.tenants[a].name);
		if (!offered || !in_list(&sh->to, p->family, p->dst))
			continue;
		switch (sh->proto) {
		case RP_PROTO_ANY:
			return true;
		case RP_PROTO_TCP:
		case RP_PROTO_UDP:
			if (p->proto == (sh->proto == RP_PROTO_TCP ? 6 : 17) && port_list_contains(&sh->ports, p->dport))
				return true;
			break;
		case RP_PROTO_ICMP:
			if (p->proto == (A4(p) ? 1 : 58))
				return true;
			break;
		}
	}
	return false;
}

static void judge_uplink(const struct world *w, const struct o_pkt *p, const struct o_view *v,
			 const struct o_result *res, struct o_judgement *j)
{
	char a[INET6_ADDRSTRLEN], cb[4];
	struct rp_addr s = mk(p->family, p->src);
	bool addressed = link_dst(w, p, w->uplink_if, true), nat = false;
	const char *what = NULL;
	int owner = res->d.owner;

	/* §4.5: a listen port only from allowed countries or a site's allow_from */
	if (p->proto == 17 && p->frag != OF_LATER && w->have_geo && (addressed || owner == OWN_GW)) {
		for (size_t t = 0; t < w->cfg.n_tenants; t++) {
			const struct rp_tenant *tn = &w->cfg.tenants[t];
			uint16_t cc;

			if (tn->listen_port != p->dport)
				continue;
			j->checked[OI_GEO_FENCE] = true;
			cc = world_country(w, &s);
			if (!country_ok(w, &tn->site_countries, cc) && !in_list(&w->t[t].allow_from, p->family, p->src))
				VIOL(OI_GEO_FENCE, "to %s's listen port %u from %s (%s), not in site_countries nor a site's allow_from",
				     tn->name, p->dport, ip_txt(p->family, p->src, a), cc_txt(cc, cb));
		}
	}
	/* §4.12: into a tenant only as a reply to its egress */
	j->checked[OI_UPLINK_TENANT] = j->checked[OI_UPLINK_GATEWAY] = true;
	if (owner >= OWN_T0) {
		if (is_reply(w, p, v, OWN_INET, owner, NULL) || is_error_about(w, p, OWN_INET, owner))
			j->reply = true;
		else
			VIOL(OI_UPLINK_TENANT, "delivered into %s (%s), not a reply to its egress",
			     w->cfg.tenants[owner - OWN_T0].name, res->d.why);
		return;
	}
	/* §4.5, §4.12: the exceptions, addressed to the gateway */
	if (is_reply(w, p, v, OWN_INET, -1, &nat) || is_error_about(w, p, OWN_INET, -1)) {
		j->reply = true;
		if (owner == OWN_INET && !link_local(p))
			VIOL(OI_UPLINK_GATEWAY, "a reply forwarded back out of the uplink (%s)", res->d.why);
		return;
	}
	if (p->ethertype == 0x0806)
		return;
	if (p->family != 4 && p->family != 6) {
		VIOL(OI_UPLINK_GATEWAY, "ethertype 0x%04x: only ARP and IP pass the uplink", p->ethertype);
		return;
	}
	if (p->frag == OF_LATER)
		return;		/* the fragment invariant judges it */
	if (link_shape(p, true))
		what = "neighbour discovery or DHCP reply";
	else if (p->proto == 17) {
		for (size_t t = 0; t < w->cfg.n_tenants && !what; t++)
			if (w->cfg.tenants[t].listen_port == p->dport)
				what = "WireGuard listen port";
	} else if (p->proto == 6 && port_list_contains(&w->cfg.mgmt_tcp_ports, p->dport) && w->cfg.mgmt_tcp_ports.n) {
		if (!in_list(&w->cfg.mgmt_allow_from, p->family, p->src)) {
			VIOL(OI_UPLINK_GATEWAY, "management port %u from %s, not in [management] allow_from (%s)",
			     p->dport, ip_txt(p->family, p->src, a), res->d.why);
			return;
		}
		if (w->cfg.has_mgmt_countries && w->have_geo &&
		    !country_ok(w, &w->cfg.mgmt_countries, world_country(w, &s))) {
			VIOL(OI_UPLINK_GATEWAY, "management port %u from %s (%s), not in [management] countries",
			     p->dport, ip_txt(p->family, p->src, a), cc_txt(world_country(w, &s), cb));
			return;
		}
		what = "management";
	}
	if (!what) {
		VIOL(OI_UPLINK_GATEWAY, "none of the uplink's exceptions (%s)", res->d.why);
		return;
	}
	if (!addressed)
		VIOL(OI_UPLINK_GATEWAY, "%s, but addressed to %s, not to the gateway (%s)", what,
		     ip_txt(p->family, p->dst, a), res->d.why);
	else if (owner == OWN_INET && !link_local(p))
		VIOL(OI_UPLINK_GATEWAY, "%s forwarded back out of the uplink (%s)", what, res->d.why);
}

static void judge_tenant(const struct world *w, const struct o_pkt *p, const struct o_view *v,
			 const struct o_result *res, struct o_judgement *j, bool exempt)
{
	int t = p->tenant, owner = res->d.owner;
	const struct rp_tenant *tn = &w->cfg.tenants[t];
	char a[INET6_ADDRSTRLEN], cb[4];

	j->checked[OI_TENANT_GATEWAY] = j->checked[OI_EGRESS] = j->checked[OI_CLEARTEXT] = true;
	j->checked[OI_ISOLATION] = true;
	if (owner == OWN_GW) {
		bool echo_own = p->frag != OF_LATER &&
				icmp_echo(p) &&	/* a request, or the reply to the gateway's own ping */
				in_list(&w->t[t].gw_addrs, p->family, p->dst);

		if (!exempt && !echo_own)
			VIOL(OI_TENANT_GATEWAY, "reaches the gateway at %s (%s): only echo on %s's own gateway addresses may",
			     ip_txt(p->family, p->dst, a), res->d.why, tn->name);
		return;
	}
	if (owner == OWN_INET) {
		struct rp_addr d = mk(p->family, p->dst);
		uint16_t cc = world_country(w, &d);

		if (in_list(&w->t[t].sites, p->family, p->dst))
			VIOL(OI_CLEARTEXT, "to %s, a prefix of %s's sites, out of the uplink in clear",
			     ip_txt(p->family, p->dst, a), tn->name);
		if (is_reply(w, p, v, OWN_T0 + t, OWN_INET, NULL)) {
			j->reply = true;
			return;
		}
		if (tn->egress != RP_EGRESS_NAT)
			VIOL(OI_EGRESS, "out of the uplink to %s with egress = none", ip_txt(p->family, p->dst, a));
		else if (tn->has_egress_countries && w->have_geo && !country_ok(w, &tn->egress_countries, cc))
			VIOL(OI_EGRESS, "out of the uplink to %s (%s), not in egress_countries",
			     ip_txt(p->family, p->dst, a), cc_txt(cc, cb));
		return;
	}
	if (owner >= OWN_T0 && owner != OWN_T0 + t) {
		int b = owner - OWN_T0;

		if (p->frag != OF_LATER && shared(w, t, b, p))
			return;
		if (is_reply(w, p, v, OWN_T0 + t, owner, NULL) || is_error_about(w, p, OWN_T0 + t, owner)) {
			j->reply = true;
			return;
		}
		VIOL(OI_ISOLATION, "from %s reaches %s (%s): no share of %s offered to %s covers it, not a reply",
		     tn->name, w->cfg.tenants[b].name, res->d.why, w->cfg.tenants[b].name, tn->name);
	}
}

void judge(const struct world *w, const struct o_pkt *p, const struct o_view *v, const struct o_result *res,
	   struct o_judgement *j)
{
	char a[INET6_ADDRSTRLEN];
	bool exempt = false;

	memset(j, 0, sizeof(*j));
	if (res->allowed != 1)
		return;		/* a drop never breaks a guarantee */
	j->checked[OI_MALFORMED] = true;
	if (v->malformed) {
		VIOL(OI_MALFORMED, "a malformed frame passed");
		return;
	}
	if (p->hook == OH_GW_OUT) {
		j->checked[OI_CLEARTEXT] = true;
		for (size_t t = 0; t < w->cfg.n_tenants; t++)
			if (in_list(&w->t[t].sites, p->family, p->dst))
				VIOL(OI_CLEARTEXT, "the gateway's packet to %s (a prefix of %s's sites) leaves the uplink",
				     ip_txt(p->family, p->dst, a), w->cfg.tenants[t].name);
		return;
	}
	if (p->family == 4 || p->family == 6) {
		if (p->frag == OF_LATER) {
			struct o_fkey k;
			int seen;

			key_of(&k, res->origin, p->family, p->proto, p->src, p->dst, p->frag_id >> 16,
			       p->frag_id & 0xffff);
			seen = frag_seen(&k);
			j->checked[OI_FRAGMENT] = true;
			if (seen != 1)
				VIOL(OI_FRAGMENT, "a later fragment passed, its first fragment %s",
				     seen < 0 ? "never seen" : "was dropped");
		}
		exempt = link_shape(p, p->hook == OH_UPLINK_IN) && link_dst(w, p, p->ifi, p->hook == OH_UPLINK_IN);
		/* the twin (other ICMP type, other source port) would be no
		 * reply: compare only what is not one */
		if (link_shape(p, p->hook == OH_UPLINK_IN) && !exempt && p->hook != OH_UPLINK_IN &&
		    !is_reply(w, p, v, res->origin, -1, NULL) && !is_error_about(w, p, res->origin, -1))
			j->want_twin = true;
	}
	if (p->hook == OH_UPLINK_IN) {
		if (p->frag != OF_LATER)	/* a later fragment: its first one was judged */
			judge_uplink(w, p, v, res, j);
		return;
	}
	if (p->tenant < 0 || (p->family != 4 && p->family != 6))
		return;
	/* §4.2 */
	j->checked[OI_ANTISPOOF] = true;
	if (!exempt) {
		const struct o_tenant *ot = &w->t[p->tenant];
		const struct rp_tenant *tn = &w->cfg.tenants[p->tenant];

		if (p->hook == OH_CLOUD_IN && !in_list(&tn->cloud_prefixes, p->family, p->src))
			VIOL(OI_ANTISPOOF, "source %s is not in %s's cloud_prefixes", ip_txt(p->family, p->src, a),
			     tn->name);
		if (p->hook == OH_TUNNEL_IN && !in_list(&ot->sites, p->family, p->src))
			VIOL(OI_ANTISPOOF, "source %s is in none of %s's sites' allowed_ips/tunnel_ip",
			     ip_txt(p->family, p->src, a), tn->name);
	}
	if (p->frag == OF_LATER)
		return;
	judge_tenant(w, p, v, res, j, exempt);
}
