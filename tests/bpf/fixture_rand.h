/* fixture_rand.h — random configurations for the BPF tests (the
 * differential test, the incremental-install test): a few tenants with
 * random prefixes, sites, rules, shares, VLANs.  rs is the generator's
 * state: set it, then call rand_config(). */
#ifndef REMPART_TESTS_FIXTURE_RAND_H
#define REMPART_TESTS_FIXTURE_RAND_H
#include "config/country.h"
#include "fixture.h"
#include "xorshift.h"

static uint64_t rs;

static __attribute__((unused)) uint64_t rnd64(void)
{
	return xorshift64(&rs);
}

static __attribute__((unused)) unsigned rnd(unsigned n)
{
	return n ? rnd64() % n : 0;
}

static __attribute__((unused)) bool chance(unsigned pct)
{
	return rnd(100) < pct;
}

static __attribute__((unused)) const char *const ccs[] = { "FR", "DE", "US", "CN" };

/* ---- random prefixes ----------------------------------------------------- */

static __attribute__((unused)) const uint8_t pool4[][2] = { { 10, 0 }, { 10, 1 }, { 10, 2 }, { 172, 16 }, { 100, 64 } };
static __attribute__((unused)) const uint16_t pool6[][2] = { { 0xfd00, 0 }, { 0xfd00, 1 }, { 0x2001, 0xdb8 } };

static __attribute__((unused)) void rand_prefix(struct rp_prefix *p, bool v6)
{
	static __attribute__((unused)) const uint8_t len4[] = { 8, 12, 16, 20, 24, 28, 30, 32 };
	static __attribute__((unused)) const uint8_t len6[] = { 16, 32, 48, 56, 64, 96, 120, 128 };

	memset(p, 0, sizeof(*p));
	if (!v6) {
		unsigned k = rnd(5);

		p->family = AF_INET;
		p->addr[0] = pool4[k][0];
		p->addr[1] = pool4[k][1];
		p->addr[2] = rnd(4);
		p->addr[3] = rnd(256);
		p->len = len4[rnd(8)];
	} else {
		unsigned k = rnd(3);

		p->family = AF_INET6;
		p->addr[0] = pool6[k][0] >> 8;
		p->addr[1] = pool6[k][0];
		p->addr[2] = pool6[k][1] >> 8;
		p->addr[3] = pool6[k][1];
		p->addr[5] = rnd(3);
		p->addr[7] = rnd(3);
		p->addr[15] = rnd(256);
		p->len = len6[rnd(8)];
	}
}

static __attribute__((unused)) struct rp_prefix_list rand_plist(unsigned max, unsigned v6pct)
{
	struct rp_prefix_list l = { .v = calloc(max + 1, sizeof(struct rp_prefix)) };
	unsigned n = 1 + rnd(max);

	for (unsigned i = 0; i < n; i++)
		rand_prefix(&l.v[l.n++], chance(v6pct));
	return l;
}

static __attribute__((unused)) struct rp_port_list rand_ports(void)
{
	static __attribute__((unused)) const struct rp_port_range pick[] = {
		{ 22, 22 }, { 53, 53 }, { 80, 80 }, { 443, 443 }, { 1000, 2000 }, { 8443, 8450 },
		{ 1, 1024 }, { 65535, 65535 }, { 1500, 1600 },
	};
	struct rp_port_list l = { 0 };
	unsigned n = chance(50) ? 0 : 1 + rnd(3);

	if (!n)
		return l;
	l.v = calloc(n, sizeof(*l.v));
	for (unsigned i = 0; i < n; i++) {
		if (chance(20)) {
			unsigned a = 1 + rnd(65535), b = 1 + rnd(65535);

			l.v[l.n++] = (struct rp_port_range){ a < b ? a : b, a < b ? b : a };
		} else {
			l.v[l.n++] = pick[rnd(sizeof(pick) / sizeof(pick[0]))];
		}
	}
	return l;
}

static __attribute__((unused)) void rand_ccset(struct rp_ccset *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < 4; i++)
		if (chance(40))
			ccset_add_item(s, ccs[i]);
}

static const char *const sels[] = { "sites", "cloud", "site:s0", "site:s1" };

static __attribute__((unused)) void rand_config(struct rp_config *c)
{
	unsigned nt = 1 + rnd(4), id = 0;
	char name[16];

	fx_cfg_init(c, 8);
	/* the gateway's own addresses: public_endpoint, the uplink's, others
	 * (another interface, the loopback), sometimes none on the uplink */
	if (chance(80))
		c->public_endpoint = strdup(chance(80) ? "198.51.100.2" : "2001:db8:1::2");
	if (chance(80))
		c->host.uplink = fx_plist(chance(50) ? "198.51.100.2/24, 2001:db8:1::2/64"
						     : "198.51.100.7/28, 198.51.100.2/24, 2001:db8:1::9/127");
	c->host.all = fx_pcat(fx_plist("127.0.0.1/8, ::1/128, 192.0.2.77/24, 10.1.2.3/31"), &c->host.uplink);
	c->geo_unknown_allow = chance(50);
	c->mgmt_allow_from = rand_plist(2, 30);
	c->mgmt_tcp_ports = chance(70) ? fx_ports("22") : chance(50) ? fx_ports("22, 2222-2230") : fx_ports(NULL);
	c->has_mgmt_countries = chance(50);
	rand_ccset(&c->mgmt_countries);
	for (unsigned i = 0; i < nt; i++) {
		struct rp_tenant *t;

		id += 1 + rnd(1000);
		snprintf(name, sizeof(name), "t%u", i);
		t = fx_tenant(c, name, id, 16);
		t->cloud_interface = strdup(i == 0 ? "dpcloud" : "dptrunk");
		t->vlan = i == 0 ? 0 : 100 + i;
		t->cloud_prefixes = rand_plist(3, 30);
		t->cloud_address = chance(50) ? rand_plist(1, 30) : fx_plist(NULL);
		snprintf(name, sizeof(name), "dptun%u", i + 1);
		free(t->tunnel_interface);
		t->tunnel_interface = strdup(name);
		t->tunnel_address = rand_plist(2, 30);
		t->listen_port = 51800 + 10 * i + rnd(10);
		t->intra_allow = chance(50);
		t->egress = chance(60) ? RP_EGRESS_NAT : RP_EGRESS_NONE;
		t->has_egress_countries = chance(50);
		rand_ccset(&t->egress_countries);
		rand_ccset(&t->site_countries);
		for (unsigned s = 0, ns = 1 + rnd(3); s < ns; s++) {
			struct rp_site *st;

			snprintf(name, sizeof(name), "s%u", s);
			st = fx_site(t, name, NULL, NULL);
			st->allowed_ips = rand_plist(2, 30);
			if (chance(40)) {	/* its own tunnel addresses: hosts */
				st->tunnel_ip = rand_plist(2, 30);
				for (size_t k = 0; k < st->tunnel_ip.n; k++)
					st->tunnel_ip.v[k].len = st->tunnel_ip.v[k].family == AF_INET ? 32 : 128;
			}
			if (chance(30)) {
				st->allow_from = rand_plist(1, 30);
				if (chance(50))	/* on the internet */
					st->allow_from.v[0].addr[0] = 1 + rnd(200);
			}
		}
		for (unsigned r = 0, nr = rnd(16); r < nr; r++) {
			struct rp_rule *ru;
			const char *from = chance(60) ? sels[rnd(4)] : NULL;
			const char *to = chance(25) ? sels[rnd(4)] : NULL;

			snprintf(name, sizeof(name), "r%u", r);
			ru = fx_rule(t, name, from ? from : "10.0.0.0/8", to ? to : "10.0.0.0/8",
				     (const char *[]){ "any", "tcp", "udp", "icmp" }[rnd(4)], NULL, chance(50));
			if (!from)
				ru->from = rand_plist(2, 30);
			if (!to)
				ru->to = rand_plist(2, 30);
			ru->ports = rand_ports();
		}
	}
	for (unsigned i = 0; i < nt; i++) {
		struct rp_tenant *t = &c->tenants[i];

		for (unsigned s = 0, ns = rnd(3); s < ns; s++) {
			char list[64] = "";
			struct rp_share *sh;

			for (unsigned k = 0; k < nt; k++)
				if (k != i && chance(60))
					snprintf(list + strlen(list), sizeof(list) - strlen(list), "%st%u",
						 *list ? "," : "", k);
			snprintf(name, sizeof(name), "sh%u", s);
			sh = fx_share(t, name, "10.0.0.0/8", (const char *[]){ "any", "tcp", "udp", "icmp" }[rnd(4)],
				      NULL, chance(30) || !*list ? "*" : list);
			sh->to = chance(60) ? rand_plist(1, 20) : fx_pcat(fx_plist(NULL), &t->cloud_prefixes);
			sh->ports = rand_ports();
		}
	}
	fx_resolve(c);
}

#endif
