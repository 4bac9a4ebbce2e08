/* gen.c — the shape-aware adversarial generator: every hook (uplink_in,
 * cloud_in tagged and untagged, tunnel_in, the gateway's own packets out of
 * the uplink), every destination class (the gateway's own addresses,
 * broadcast, anycast, each tenant's cloud, sites and tunnel network, other
 * tenants', shares, link-local, multicast, unspecified, loopback, the
 * internet, management), every ICMP/ICMPv6 type and code, hop limits 1, 2,
 * 64, 128, 255, IPv4 options, IPv6 extension-header chains, 802.1Q/QinQ,
 * fragment trains (first, later, orphans, reused ids), truncations at every
 * header boundary, TCP flag combinations, the ports that matter (listen,
 * management, DHCP, shares, rules), replies to what passed and ICMP errors
 * about it, mutated. */
#include <stdlib.h>
#include <string.h>
#include "gen_int.h"

const char *const why_name[W__COUNT] = {
	"legit source", "any source", "reply", "mutated reply", "ICMP error about a flow", "first fragment",
	"later fragment", "orphan later fragment", "link shape", "twin", "later fragment, reused id",
};

static void pick_icmp(struct gen *g, struct o_pkt *p)
{
	static const uint8_t t4[] = { 0, 3, 3, 3, 4, 5, 8, 8, 9, 10, 11, 12, 13, 14, 17, 18, 30, 40, 42, 43, 200 };
	static const uint8_t t6[] = { 1, 1, 2, 3, 4, 100, 127, 128, 128, 129, 130, 131, 132, 133, 134, 135, 135,
				      136, 137, 138, 139, 140, 141, 142, 143, 151, 152, 153, 200, 255 };

	if (chance(g, 30))
		p->icmp_type = below(g, 256);
	else if (p->family == 4)
		p->icmp_type = t4[below(g, sizeof(t4))];
	else
		p->icmp_type = t6[below(g, sizeof(t6))];
	if (chance(g, 10))
		p->icmp_code = below(g, 256);
	else if (chance(g, 60))
		p->icmp_code = 0;
	else
		p->icmp_code = below(g, 16);
	p->echo_id = 7 + below(g, 16);
}

static uint8_t pick_hop(struct gen *g)
{
	unsigned r = below(g, 100);

	return r < 40 ? 64 : r < 60 ? 255 : r < 75 ? 1 : r < 80 ? 2 : r < 90 ? 128 : below(g, 256);
}

static void pick_options(struct gen *g, struct o_pkt *p)
{
	const uint8_t *a = pick_any(g, 4);

	memset(p->opt, 0, sizeof(p->opt));
	p->srr = 0;
	switch (below(g, 8)) {
	case 0: memcpy(p->opt, "\x01\x01\x01\x00", 4); p->optlen = 4; break;
	case 1: memcpy(p->opt, "\x94\x04\x00\x00", 4); p->optlen = 4; break;
	case 2: memcpy(p->opt, "\x07\x07\x04", 3); p->optlen = 8; break;
	case 3: memcpy(p->opt, "\x44\x08\x05\x00", 4); p->optlen = 8; break;
	case 4:
	case 5:
		p->opt[0] = below(g, 2) ? 0x83 : 0x89;	/* LSRR, SSRR */
		p->opt[1] = 7;
		p->opt[2] = 4;
		memcpy(p->opt + 3, a, 4);
		p->optlen = 8;
		p->srr = 1;
		break;
	case 6: memcpy(p->opt, "\x19\x04\x00\x00", 4); p->optlen = 4; break;
	default: memset(p->opt, 1, 40); p->optlen = 40; break;
	}
}

static void pick_ext(struct gen *g, struct o_pkt *p)
{
	static const uint8_t types[] = { 0, 60, 43, 51, 60 };
	int n = chance(g, 70) ? 1 + below(g, 2) : 1 + below(g, 7);

	p->n_ext = 0;
	for (int i = 0; i < n && p->n_ext < O_MAX_EXT - 1; i++)
		p->ext[p->n_ext++] = types[below(g, sizeof(types))];
	if (chance(g, 80) && p->n_ext && p->ext[0] != 0) {
		for (int i = p->n_ext; i > 0; i--)
			p->ext[i] = p->ext[i - 1];
		p->ext[0] = 0;
		p->n_ext++;
	}
}

static void ensure_frag_ext(struct o_pkt *p)
{
	if (p->family != 6)
		return;
	for (int i = 0; i < p->n_ext; i++)
		if (p->ext[i] == 44)
			return;
	if (p->n_ext < O_MAX_EXT)
		p->ext[p->n_ext++] = 44;
}

/* ---- ingress ------------------------------------------------------------- */
static void set_ingress(struct gen *g, struct o_pkt *p, int hook, int tenant)
{
	const struct world *w = g->w;

	p->hook = hook;
	p->tenant = -1;
	switch (hook) {
	case OH_CLOUD_IN:
		p->tenant = tenant;
		p->ifi = w->t[tenant].cloud_if;
		if (w->cfg.tenants[tenant].vlan) {	/* a trunk: the tenant's tag */
			p->ntags = 1;
			p->tpid[0] = 0x8100;
			p->vid[0] = w->cfg.tenants[tenant].vlan;
		}
		break;
	case OH_TUNNEL_IN:
		p->tenant = tenant;
		p->ifi = w->t[tenant].tunnel_if;
		break;
	default:
		p->ifi = w->uplink_if;
	}
}

static void pick_ingress(struct gen *g, struct o_pkt *p)
{
	unsigned r = below(g, 100);

	if (r < 30)
		set_ingress(g, p, OH_UPLINK_IN, -1);
	else if (r < 65)
		set_ingress(g, p, OH_CLOUD_IN, below(g, g->nt));
	else if (r < 90)
		set_ingress(g, p, OH_TUNNEL_IN, below(g, g->nt));
	else
		set_ingress(g, p, OH_GW_OUT, -1);
}

static const uint8_t *legit_src(struct gen *g, const struct o_pkt *p)
{
	const uint8_t *a = NULL;

	switch (p->hook) {
	case OH_CLOUD_IN: a = pick_in(g, C_CLOUD, p->tenant, p->family); break;
	case OH_TUNNEL_IN: a = pick_in(g, C_SITE, p->tenant, p->family); break;
	case OH_UPLINK_IN: a = pick_in(g, chance(g, 75) ? C_INET : C_MGMT, 0, p->family); break;
	case OH_GW_OUT: a = pick_in(g, C_GW_UP, 0, p->family); break;
	}
	return a ?: p->hook == OH_GW_OUT ? NULL : pick_any(g, p->family);
}

/* ---- scenarios ------------------------------------------------------------- */
static void fill_l4(struct gen *g, struct o_pkt *p)
{
	unsigned r = below(g, 100);

	if (r < 30)
		p->proto = 6;
	else if (r < 60)
		p->proto = 17;
	else if (r < 85)
		p->proto = p->family == 4 ? 1 : 58;
	else {
		static const uint8_t other[] = { 47, 50, 132, 253, 255, 2, 4, 41, 59, 0, 89 };

		p->proto = other[below(g, sizeof(other))];
		if (p->family == 6 && p->proto == 0)
			p->proto = 253;
	}
	p->sport = pick_sport(g);
	p->dport = pick_dport(g);
	if (p->hook == OH_GW_OUT)	/* the gateway never sends from a listen port to strangers */
		for (size_t t = 0; t < g->w->cfg.n_tenants; t++)
			if (p->sport == g->w->cfg.tenants[t].listen_port)
				p->sport = 40000 + below(g, 32);
	{
		static const uint8_t flags[] = { 0x02, 0x12, 0x10, 0x04, 0x11, 0x18, 0x00, 0x3f, 0x03, 0x29, 0xff,
						 0x14, 0x01, 0x02, 0x02 };

		p->tcp_flags = flags[below(g, sizeof(flags))];
	}
	if (p->proto == 1 || p->proto == 58)
		pick_icmp(g, p);
	if ((p->proto == 1 || p->proto == 58) && p->hook == OH_GW_OUT) {
		/* what the gateway's stack sends: echo, errors, ND/RS/MLD */
		static const uint8_t t4[] = { 8, 0, 3, 11, 12 }, t6[] = { 128, 129, 1, 2, 3, 4, 133, 135, 136, 143 };

		p->icmp_type = p->family == 4 ? t4[below(g, sizeof(t4))] : t6[below(g, sizeof(t6))];
		p->icmp_code = p->icmp_type == 3 ? below(g, 16) : 0;
	}
}

static void shape(struct gen *g, struct o_pkt *p)
{
	unsigned r = below(g, 100);

	p->payload = r < 70 ? below(g, 9) : r < 95 ? 9 + below(g, 56) : 65 + below(g, 236);
	if (p->family == 4 && chance(g, 8))
		pick_options(g, p);
	if (p->family == 6 && chance(g, 12))
		pick_ext(g, p);
	if (p->hook != OH_TUNNEL_IN && p->hook != OH_GW_OUT && chance(g, 8)) {
		static const uint16_t vids[] = { 0, 0, 0, 1, 42, 100, 110, 4095 };

		p->ntags = chance(g, 60) ? 1 : chance(g, 75) ? 2 : 3;
		for (int i = 0; i < p->ntags; i++) {
			unsigned t = below(g, 100);

			p->tpid[i] = t < 70 ? 0x8100 : t < 95 ? 0x88a8 : 0x9100;
			p->vid[i] = chance(g, 85) ? vids[below(g, sizeof(vids) / 2)] : below(g, 4096);
		}
	}
	if (chance(g, 3))
		p->frag = OF_ATOMIC, p->frag_id = rnd(g), ensure_frag_ext(p);
	if (chance(g, 6)) {
		p->damage = 1 + below(g, OD__COUNT - 1);
		p->trunc_sel = rnd(g);
		if (p->damage == OD_BAD_OPT && p->family == 4 && !p->optlen)
			pick_options(g, p);
	}
}

static void fresh(struct gen *g, struct o_pkt *p, bool legit)
{
	const uint8_t *s, *d;

	p->ethertype = p->family == 4 ? 0x0800 : 0x86dd;
	s = legit ? legit_src(g, p) : NULL;
	s = s ?: pick_any(g, p->family);
	d = pick_any(g, p->family);
	memcpy(p->src, s, 16);
	memcpy(p->dst, d, 16);
	p->ttl = pick_hop(g);
	fill_l4(g, p);
	shape(g, p);
}

static void link_shape_pkt(struct gen *g, struct o_pkt *p)
{
	const uint8_t *s = chance(g, 50) ? legit_src(g, p) : pick_any(g, p->family), *d;
	static const uint16_t d4[][2] = { { 68, 67 }, { 67, 68 }, { 67, 67 } };
	static const uint16_t d6[][2] = { { 546, 547 }, { 547, 546 }, { 547, 547 } };

	p->ethertype = p->family == 4 ? 0x0800 : 0x86dd;
	memcpy(p->src, s, 16);
	d = chance(g, 50) ? pick_any(g, p->family) :
	    pick_in(g, chance(g, 50) ? C_MCAST : chance(g, 50) ? C_LL : C_GW_TEN, 0, p->family);
	memcpy(p->dst, d ?: pick_any(g, p->family), 16);
	p->ttl = chance(g, 80) ? 255 : pick_hop(g);
	p->payload = 16;
	if (chance(g, 50)) {
		p->proto = 17;
		p->sport = p->family == 4 ? d4[below(g, 3)][0] : d6[below(g, 3)][0];
		p->dport = p->family == 4 ? d4[below(g, 3)][1] : d6[below(g, 3)][1];
	} else if (p->family == 6) {
		p->proto = 58;
		p->icmp_type = 133 + below(g, 5);
		p->echo_id = 7;
	} else {
		static const uint8_t t[] = { 5, 9, 10 };

		p->proto = 1;
		p->icmp_type = t[below(g, 3)];
		p->icmp_code = below(g, 4);
	}
	if (chance(g, 10))
		shape(g, p);
}

/* where a reply to the noted packet comes from */
static bool reply_ingress(struct gen *g, const struct note *n, struct o_pkt *p)
{
	const struct world *w = g->w;
	const struct o_delivery *d = &n->r.d;

	if (n->p.hook == OH_GW_OUT || d->intended == OWN_INET) {
		set_ingress(g, p, OH_UPLINK_IN, -1);
		return true;
	}
	if (d->oif < 0 || d->intended < OWN_T0)
		return false;
	if (w->ifs[d->oif].kind == OK_CLOUD)
		set_ingress(g, p, OH_CLOUD_IN, w->ifs[d->oif].tenant);
	else if (w->ifs[d->oif].kind == OK_TUNNEL)
		set_ingress(g, p, OH_TUNNEL_IN, w->ifs[d->oif].tenant);
	else
		return false;
	return p->tenant >= 0;
}

static bool reply_pkt(struct gen *g, struct o_pkt *p, bool error)
{
	const struct note *n;
	const struct o_pkt *f;

	if (!g->ring_n)
		return false;
	n = &g->ring[below(g, g->ring_n)];
	f = &n->p;
	memset(p, 0, sizeof(*p));
	if (!reply_ingress(g, n, p))
		return false;
	p->family = f->family;
	p->ethertype = f->ethertype;
	memcpy(p->src, f->dst, 16);
	memcpy(p->dst, n->r.nat && p->hook == OH_UPLINK_IN ? n->r.nat_src : f->src, 16);
	p->ttl = 63;
	if (error) {
		p->why = W_ICMP_ERR;
		p->proto = f->family == 4 ? 1 : 58;
		p->icmp_type = f->family == 4 ? (chance(g, 50) ? 3 : 11) : 1 + below(g, 3);
		p->icmp_code = f->family == 4 && p->icmp_type == 3 ? (chance(g, 50) ? 4 : 3) : 0;
		p->has_inner = 1;
		p->inner.family = f->family;
		p->inner.proto = f->proto;
		memcpy(p->inner.src, n->r.nat && p->hook == OH_UPLINK_IN ? n->r.nat_src : f->src, 16);
		memcpy(p->inner.dst, f->dst, 16);
		p->inner.sport = f->proto == 1 || f->proto == 58 ? f->echo_id :
				 n->r.nat && p->hook == OH_UPLINK_IN ? n->r.nat_sport : f->sport;
		p->inner.dport = f->proto == 1 || f->proto == 58 ? f->echo_id : f->dport;
		p->inner.icmp_type = f->icmp_type;
		if (!chance(g, 70)) {		/* about something else */
			p->inner.dport ^= 1 + below(g, 8);
			if (chance(g, 50))
				memcpy(p->inner.dst, pick_any(g, f->family), 16);
		}
		return true;
	}
	p->why = W_REPLY;
	p->proto = f->proto;
	p->sport = f->dport;
	p->dport = n->r.nat && p->hook == OH_UPLINK_IN && (f->proto == 6 || f->proto == 17) ? n->r.nat_sport : f->sport;
	p->tcp_flags = chance(g, 50) ? 0x12 : 0x10;
	p->echo_id = f->echo_id;
	p->icmp_type = f->icmp_type == 8 ? 0 : f->icmp_type == 128 ? 129 :
		       chance(g, 50) ? f->icmp_type : (p->family == 4 ? 13 : 139);	/* timestamp, node information */
	if (chance(g, 30)) {		/* mutated: another ingress, port, address, protocol */
		p->why = W_REPLY_MUT;
		switch (below(g, 5)) {
		case 0:
			set_ingress(g, p, chance(g, 50) ? OH_CLOUD_IN : OH_TUNNEL_IN, below(g, g->nt));
			break;
		case 1:
			p->sport++;
			break;
		case 2:
			memcpy(p->src, pick_any(g, p->family), 16);
			break;
		case 3:
			p->proto = p->proto == 6 ? 17 : 6;
			break;
		default:
			set_ingress(g, p, OH_UPLINK_IN, -1);
			break;
		}
	}
	if (chance(g, 10))
		shape(g, p);
	return true;
}

static void queue_back(struct gen *g, const struct o_pkt *p)
{
	if (g->q_len == QMAX)
		return;
	g->q[(g->q_head + g->q_len) % QMAX] = *p;
	g->q_len++;
}

void gen_push_front(struct gen *g, const struct o_pkt *p)
{
	if (g->q_len == QMAX)
		g->q_len--;
	g->q_head = (g->q_head + QMAX - 1) % QMAX;
	g->q[g->q_head] = *p;
	g->q_len++;
}

static void frag_train(struct gen *g, struct o_pkt *p)
{
	struct o_pkt l;

	p->why = W_FRAG_FIRST;
	p->frag = OF_FIRST;
	p->frag_id = p->family == 4 ? below(g, 65536) : rnd(g);
	p->payload = 8 + below(g, 24);
	if (p->damage == OD_TRUNC || p->damage == OD_TRUNC_FIXED)
		p->damage = OD_NONE;
	ensure_frag_ext(p);
	l = *p;
	l.why = W_FRAG_LATER;
	l.frag = OF_LATER;
	l.frag_off = 1 + below(g, 8);
	l.more = chance(g, 30);
	l.damage = OD_NONE;
	queue_back(g, &l);
	if (chance(g, 40)) {		/* the same id, something else changed */
		l.why = W_FRAG_OVERLAP;
		switch (below(g, 3)) {
		case 0: l.proto = l.proto == 17 ? 6 : 17; break;
		case 1: memcpy(l.dst, pick_any(g, l.family), 16); break;
		default: set_ingress(g, &l, chance(g, 50) ? OH_CLOUD_IN : OH_TUNNEL_IN, below(g, g->nt)); break;
		}
		queue_back(g, &l);
	}
}

void gen_next(struct gen *g, struct o_pkt *p)
{
	unsigned r;

	if (g->q_len) {
		*p = g->q[g->q_head];
		g->q_head = (g->q_head + 1) % QMAX;
		g->q_len--;
		return;
	}
	r = below(g, 100);
	if (r < 15 && reply_pkt(g, p, false))
		return;
	if (r < 20 && reply_pkt(g, p, true))
		return;
	memset(p, 0, sizeof(*p));
	pick_ingress(g, p);
	p->family = chance(g, 50) ? 4 : 6;
	if (chance(g, 2)) {		/* ARP, or another ethertype */
		p->family = 0;
		p->ethertype = chance(g, 60) ? 0x0806 : (uint16_t[]){ 0x88cc, 0x8847, 0x8863, 0x0842, 0x9000 }[below(g, 5)];
		memcpy(p->src, legit_src(g, &(struct o_pkt){ .hook = p->hook, .tenant = p->tenant, .family = 4 }), 16);
		memcpy(p->dst, pick_any(g, 4), 16);
		return;
	}
	if (r < 28 && p->hook != OH_GW_OUT) {
		p->why = W_LINK;
		link_shape_pkt(g, p);
		return;
	}
	/* the gateway's own packets: from its own addresses, well formed (the
	 * stack builds them); what it forwards goes through uplink_out after
	 * the ingress hook */
	p->why = r < 78 || p->hook == OH_GW_OUT ? W_LEGIT : W_ANY;
	fresh(g, p, p->why == W_LEGIT);
	if (p->hook == OH_GW_OUT)
		p->damage = OD_NONE, p->ntags = 0;
	if (chance(g, 7) && p->hook != OH_GW_OUT) {
		frag_train(g, p);
	} else if (chance(g, 2) && p->hook != OH_GW_OUT) {
		p->why = W_FRAG_ORPHAN;
		p->frag = OF_LATER;
		p->frag_id = rnd(g) & (p->family == 4 ? 0xffff : 0xffffffff);
		p->frag_off = 1 + below(g, 100);
		ensure_frag_ext(p);
	}
}

void gen_note(struct gen *g, const struct o_pkt *p, const struct o_result *r)
{
	struct note *n;

	if (!(p->family == 4 || p->family == 6) || p->frag == OF_LATER || p->damage)
		return;
	n = &g->ring[g->ring_pos];
	n->p = *p;
	n->r = *r;
	g->ring_pos = (g->ring_pos + 1) % RING;
	if (g->ring_n < RING)
		g->ring_n++;
}

struct gen *gen_new(const struct world *w, uint64_t seed)
{
	struct gen *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->w = w;
	g->nt = w->cfg.n_tenants;
	for (int i = 0; i < 4; i++) {		/* splitmix64 */
		uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		g->s[i] = z ^ (z >> 31);
	}
	g->ring = calloc(RING, sizeof(*g->ring));
	build_pools(g);
	build_ports(g);
	return g;
}

void gen_free(struct gen *g)
{
	if (!g)
		return;
	for (int c = 0; c < C__COUNT; c++)
		for (int t = 0; t < O_MAX_TENANTS; t++)
			for (int f = 0; f < 2; f++)
				free(g->set[c][t][f].a);
	free(g->ports);
	free(g->ring);
	free(g);
}
