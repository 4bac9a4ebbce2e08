/* gen_pools.c — the generator's address pools, one per destination class
 * (the gateway's own addresses, broadcast, anycast, solicited-node groups,
 * each tenant's cloud, sites, tunnel network and shares, link-local,
 * multicast, unspecified, loopback, v4-mapped, the internet of the geo
 * file, management hosts, random), and its ports (listen, management,
 * DHCP, rules and shares with their neighbours). */
#include <stdlib.h>
#include <string.h>
#include "gen_int.h"

const unsigned cls_weight[C__COUNT] = { 6, 8, 3, 2, 14, 12, 5, 6, 4, 8, 1, 1, 12, 3, 1, 3 };
const bool cls_per_tenant[C__COUNT] = {
	[C_GW_TEN] = true, [C_CLOUD] = true, [C_SITE] = true, [C_TUNNET] = true, [C_SHARE] = true,
};

/* ---- address pools -------------------------------------------------------- */
static void add(struct gen *g, int c, int t, int family, const uint8_t *a)
{
	struct aset *s = &g->set[c][t][family == 4 ? 0 : 1];
	int len = family == 4 ? 4 : 16;

	for (int i = 0; i < s->n; i++)
		if (!memcmp(s->a[i], a, len))
			return;
	s->a = realloc(s->a, (s->n + 1) * sizeof(*s->a));
	memset(s->a[s->n], 0, 16);
	memcpy(s->a[s->n], a, len);
	s->n++;
}

static int fam(const struct rp_prefix *p)
{
	return p->family == AF_INET ? 4 : 6;
}

/* host `off` of prefix p (added to the low bits, inside the prefix) */
static void host(const struct rp_prefix *p, uint64_t off, uint8_t *out)
{
	int bits = fam(p) == 4 ? 32 : 128, hostbits = bits - p->len, n = bits / 8;

	memcpy(out, p->addr, n);
	for (int i = 0; i < n; i++) {		/* clear the host bits */
		int keep = p->len - i * 8;

		if (keep <= 0)
			out[i] = 0;
		else if (keep < 8)
			out[i] &= 0xff << (8 - keep);
	}
	if (hostbits < 64)
		off &= hostbits ? (1ULL << hostbits) - 1 : 0;
	for (int i = n - 1; i >= 0 && off; i--, off >>= 8)
		out[i] |= off & 0xff;
}

static void add_hosts(struct gen *g, int c, int t, const struct rp_prefix *p, const uint64_t *offs, int n_offs)
{
	uint8_t a[16];

	for (int i = 0; i < n_offs; i++) {
		host(p, offs[i], a);
		add(g, c, t, fam(p), a);
	}
	for (int i = 0; i < 2; i++) {
		host(p, rnd(g) & 0xffff, a);
		add(g, c, t, fam(p), a);
	}
}

static void add_list(struct gen *g, int c, int t, const struct rp_prefix_list *l, const uint64_t *o4, int n4,
		     const uint64_t *o6, int n6)
{
	for (size_t i = 0; i < l->n; i++)
		if (fam(&l->v[i]) == 4)
			add_hosts(g, c, t, &l->v[i], o4, n4);
		else
			add_hosts(g, c, t, &l->v[i], o6, n6);
}

static void add_text(struct gen *g, int c, const char *s)
{
	struct rp_addr a;

	if (!addr_parse(s, &a))
		add(g, c, 0, a.family == AF_INET ? 4 : 6, a.addr);
}

static void inet_cb(void *ctx, const struct rp_prefix *p)
{
	static const uint64_t inet4[] = { 10, 11, 12, 21, 99 };
	static const uint64_t inet6[] = { 0x10, 0x11, 0x12, 0x21 };

	add_hosts(ctx, C_INET, 0, p, fam(p) == 4 ? inet4 : inet6, fam(p) == 4 ? 5 : 4);
}

void build_pools(struct gen *g)
{
	static const uint64_t cloud4[] = { 1, 2, 10, 0x10a, 0x214, 0x35, 0x100 };
	static const uint64_t cloud6[] = { 1, 2, 0x10, 0x53, 0x20020 };
	static const uint64_t site4[] = { 1, 5, 10, 99 };
	static const uint64_t site6[] = { 1, 5, 0x10, 0x99 };
	static const uint64_t net4[] = { 2, 11, 12, 200 };
	static const uint64_t net6[] = { 2, 0x11, 0x12 };
	static const uint64_t inet4[] = { 10, 11, 12, 21, 99 };
	static const uint64_t inet6[] = { 0x10, 0x11, 0x12, 0x21 };
	static const char *const fixed[][2] = {
		{ "169.254.1.1", "LL" }, { "169.254.7.7", "LL" }, { "fe80::1", "LL" }, { "fe80::2", "LL" },
		{ "fe80::dead:beef", "LL" }, { "224.0.0.1", "MC" }, { "224.0.0.2", "MC" }, { "224.0.0.22", "MC" },
		{ "224.0.0.251", "MC" }, { "224.0.1.1", "MC" }, { "239.1.2.3", "MC" }, { "232.1.1.1", "MC" },
		{ "ff02::1", "MC" }, { "ff02::2", "MC" }, { "ff02::16", "MC" }, { "ff02::fb", "MC" },
		{ "ff02::1:2", "MC" }, { "ff05::2", "MC" }, { "ff05::1:3", "MC" }, { "ff0e::1", "MC" },
		{ "ff01::1", "MC" }, { "ff00::1", "MC" }, { "ff02::1:ff12:3456", "MC" }, { "ff02::1:ff00:1", "MC" },
		{ "0.0.0.0", "UN" }, { "::", "UN" }, { "127.0.0.1", "LO" }, { "127.9.9.9", "LO" }, { "::1", "LO" },
		{ "8.8.8.8", "IN" }, { "1.1.1.1", "IN" }, { "192.0.2.7", "IN" }, { "2606:4700::1111", "IN" },
		{ "2001:db8::1", "IN" }, { "::ffff:10.20.1.10", "MA" }, { "::ffff:198.18.1.1", "MA" },
	};
	const struct world *w = g->w;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		int c = !strcmp(fixed[i][1], "LL") ? C_LL : !strcmp(fixed[i][1], "MC") ? C_MCAST :
			!strcmp(fixed[i][1], "UN") ? C_UNSPEC : !strcmp(fixed[i][1], "LO") ? C_LOOP :
			!strcmp(fixed[i][1], "IN") ? C_INET : C_MAPPED;

		add_text(g, c, fixed[i][0]);
	}
	/* the kernel's addresses: the uplink's, each tenant's interfaces',
	 * broadcasts, anycast, solicited-node groups */
	for (int i = 0; i < w->n_ifs; i++) {
		const struct o_iface *f = &w->ifs[i];

		for (int k = 0; k < f->n_addr; k++) {
			const struct rp_prefix *x = &f->addr[k];
			uint8_t a[16] = { 0 };
			int c = f->kind == OK_UPLINK ? C_GW_UP : C_GW_TEN;
			int t = f->tenant >= 0 ? f->tenant : 0;

			if (f->kind == OK_OTHER)
				continue;
			add(g, c, c == C_GW_TEN ? t : 0, fam(x), x->addr);
			if (fam(x) == 4 && x->len < 31) {
				host(x, ~0ULL, a);
				add(g, C_BCAST, 0, 4, a);
			}
			if (fam(x) == 6) {
				static const uint8_t sn[13] = { 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };

				if (!(x->addr[0] == 0xfe && (x->addr[1] & 0xc0) == 0x80)) {
					host(x, 0, a);
					add(g, C_ANYCAST, 0, 6, a);
				} else {
					add(g, C_LL, 0, 6, x->addr);
				}
				memcpy(a, sn, 13);
				memcpy(a + 13, x->addr + 13, 3);
				add(g, C_MCAST, 0, 6, a);
			}
		}
	}
	add_text(g, C_BCAST, "255.255.255.255");
	for (size_t t = 0; t < w->cfg.n_tenants; t++) {
		const struct rp_tenant *tn = &w->cfg.tenants[t];

		for (size_t k = 0; k < w->t[t].gw_addrs.n; k++)
			add(g, C_GW_TEN, t, fam(&w->t[t].gw_addrs.v[k]), w->t[t].gw_addrs.v[k].addr);
		add_list(g, C_CLOUD, t, &tn->cloud_prefixes, cloud4, 7, cloud6, 5);
		add_list(g, C_SITE, t, &w->t[t].sites, site4, 4, site6, 4);
		add_list(g, C_TUNNET, t, &tn->tunnel_address, net4, 4, net6, 3);
		for (size_t s = 0; s < tn->n_shares; s++)
			add_list(g, C_SHARE, t, &tn->shares[s].to, site4, 1, site6, 1);
		for (size_t s = 0; s < tn->n_sites; s++) {
			add_list(g, C_INET, 0, &tn->sites[s].allow_from, inet4, 2, inet6, 2);
			if (tn->sites[s].endpoint) {
				char ep[128], *c;

				snprintf(ep, sizeof(ep), "%s", tn->sites[s].endpoint);
				if (ep[0] == '[') {
					memmove(ep, ep + 1, strlen(ep));
					c = strchr(ep, ']');
				} else {
					c = strrchr(ep, ':');
				}
				if (c)
					*c = 0;
				add_text(g, C_INET, ep);
			}
		}
	}
	add_list(g, C_MGMT, 0, &w->cfg.mgmt_allow_from, inet4, 3, inet6, 3);
	/* the internet: every prefix of the geo file */
	world_geo_prefixes(inet_cb, g);
	for (int i = 0; i < 24; i++) {
		uint8_t a[16];

		for (int k = 0; k < 16; k++)
			a[k] = rnd(g);
		add(g, C_RANDOM, 0, i & 1 ? 6 : 4, a);
	}
}

const uint8_t *pick_in(struct gen *g, int c, int t, int family)
{
	struct aset *s = &g->set[c][t][family == 4 ? 0 : 1];

	return s->n ? s->a[below(g, s->n)] : NULL;
}

/* any class; tenant-specific classes pick a tenant */
const uint8_t *pick_any(struct gen *g, int family)
{
	unsigned tot = 0, r;
	int c;

	for (c = 0; c < C__COUNT; c++)
		tot += cls_weight[c];
	for (int tries = 0; tries < 8; tries++) {
		const uint8_t *a;

		r = below(g, tot);
		for (c = 0; c < C__COUNT && r >= cls_weight[c]; c++)
			r -= cls_weight[c];
		a = pick_in(g, c, cls_per_tenant[c] ? below(g, g->nt) : 0, family);
		if (a)
			return a;
	}
	return pick_in(g, C_INET, 0, family) ?: pick_in(g, C_RANDOM, 0, family);
}

/* ---- ports, ICMP --------------------------------------------------------- */
static void add_port(struct gen *g, int port)
{
	if (port < 0 || port > 65535)
		return;
	for (int i = 0; i < g->n_ports; i++)
		if (g->ports[i] == port)
			return;
	g->ports = realloc(g->ports, (g->n_ports + 1) * sizeof(*g->ports));
	g->ports[g->n_ports++] = port;
}

static void add_ports(struct gen *g, const struct rp_port_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		add_port(g, l->v[i].lo);
		add_port(g, l->v[i].hi);
		add_port(g, l->v[i].lo - 1);
		add_port(g, l->v[i].hi + 1);
	}
}

void build_ports(struct gen *g)
{
	static const int fixed[] = { 0, 1, 22, 53, 67, 68, 80, 123, 443, 546, 547, 1024, 8080, 51820, 65535 };
	const struct world *w = g->w;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		add_port(g, fixed[i]);
	add_ports(g, &w->cfg.mgmt_tcp_ports);
	for (size_t t = 0; t < w->cfg.n_tenants; t++) {
		const struct rp_tenant *tn = &w->cfg.tenants[t];

		add_port(g, tn->listen_port);
		for (size_t r = 0; r < tn->n_rules; r++)
			add_ports(g, &tn->rules[r].ports);
		for (size_t s = 0; s < tn->n_shares; s++)
			add_ports(g, &tn->shares[s].ports);
	}
}

uint16_t pick_dport(struct gen *g)
{
	return chance(g, 80) ? g->ports[below(g, g->n_ports)] : below(g, 65536);
}

uint16_t pick_sport(struct gen *g)
{
	return chance(g, 60) ? 40000 + below(g, 32) : chance(g, 70) ? g->ports[below(g, g->n_ports)] : below(g, 65536);
}

