// SPDX-License-Identifier: GPL-2.0
/* gwaddr.c — the gateway's own addresses and ports; see gwaddr.h. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "policy/gwaddr.h"

/* What the kernel keeps for itself whatever the interfaces hold. */
static const char *const fixed_ranges[] = {
	"0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32",
	"::/128", "::1/128", "fe80::/10", "ff00::/8",
};

static unsigned full_len(uint8_t family)
{
	return family == AF_INET ? 32 : 128;
}

/* The host address of an interface address, and the address the kernel
 * adds beside it: the subnet broadcast (IPv4) or subnet-router anycast
 * (IPv6). */
static int each_of_addr(const struct rp_prefix *ifa, gw_prefix_fn fn, void *arg)
{
	unsigned full = full_len(ifa->family);
	struct rp_prefix h = *ifa, x = *ifa;
	int err;

	h.len = full;
	err = fn(&h, arg);
	if (err)
		return err;
	if (ifa->family == AF_INET ? ifa->len >= 31 : ifa->len >= 127)
		return 0;
	for (unsigned i = 0; i < full / 8; i++) {
		unsigned lo = i * 8;
		uint8_t keep = lo >= ifa->len ? 0 : ifa->len - lo >= 8 ? 0xff :
			       (uint8_t)(0xff << (8 - (ifa->len - lo)));

		x.addr[i] = ifa->family == AF_INET ? (ifa->addr[i] | (uint8_t)~keep) : (ifa->addr[i] & keep);
	}
	x.len = full;
	return fn(&x, arg);
}

static int each_of_list(const struct rp_prefix_list *l, gw_prefix_fn fn, void *arg)
{
	int err = 0;

	for (size_t i = 0; i < l->n && !err; i++)
		err = each_of_addr(&l->v[i], fn, arg);
	return err;
}

int gw_addrs_each(const struct rp_config *cfg, gw_prefix_fn fn, void *arg)
{
	int err = 0;

	for (size_t i = 0; i < cfg->n_tenants && !err; i++) {
		err = each_of_list(&cfg->tenants[i].tunnel_address, fn, arg);
		if (!err)
			err = each_of_list(&cfg->tenants[i].cloud_address, fn, arg);
	}
	if (!err)
		err = each_of_list(&cfg->host.all, fn, arg);
	for (size_t i = 0; i < sizeof(fixed_ranges) / sizeof(fixed_ranges[0]) && !err; i++) {
		struct rp_prefix p;

		if (prefix_parse(fixed_ranges[i], &p))
			abort();	/* a typo above */
		err = fn(&p, arg);
	}
	return err;
}

static int contains_cb(const struct rp_prefix *p, void *arg)
{
	return prefix_contains(p, arg);
}

bool gw_addr_is(const struct rp_config *cfg, const struct rp_addr *a)
{
	return gw_addrs_each(cfg, contains_cb, (void *)a) != 0;
}

static bool host_of(const struct rp_prefix_list *l, const struct rp_addr *a)
{
	size_t n = a->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].family == a->family && !memcmp(l->v[i].addr, a->addr, n))
			return true;
	return false;
}

bool gw_addr_own(const struct rp_tenant *t, const struct rp_addr *a)
{
	return host_of(&t->tunnel_address, a) || host_of(&t->cloud_address, a);
}

bool gw_addr_own_cloud(const struct rp_tenant *t, const struct rp_addr *a)
{
	return host_of(&t->cloud_address, a);
}

static size_t push_unique(struct rp_addr *out, size_t n, const struct rp_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(out[i].addr, a->addr, a->family == AF_INET ? 4 : 16))
			return n;
	if (n < RP_UPLINK_ADDRS)
		out[n++] = *a;
	return n;
}

size_t gw_uplink_list(const struct rp_config *cfg, uint8_t family, struct rp_addr *out)
{
	struct rp_addr a;
	size_t n = 0;

	/* public_endpoint, when it is an address: what sites are told to use
	 * (a moved HA address, an address NATed in front of the gateway) */
	if (cfg->public_endpoint && !addr_parse(cfg->public_endpoint, &a) && a.family == family)
		n = push_unique(out, n, &a);
	for (size_t i = 0; i < cfg->host.uplink.n; i++) {
		const struct rp_prefix *p = &cfg->host.uplink.v[i];

		if (p->family != family)
			continue;
		memset(&a, 0, sizeof(a));
		a.family = family;
		memcpy(a.addr, p->addr, 16);
		n = push_unique(out, n, &a);
	}
	return n;
}

bool gw_uplink_is(const struct rp_config *cfg, const struct rp_addr *a)
{
	struct rp_addr u[RP_UPLINK_ADDRS];
	size_t n = gw_uplink_list(cfg, a->family, u);

	for (size_t i = 0; i < n; i++)
		if (!memcmp(u[i].addr, a->addr, a->family == AF_INET ? 4 : 16))
			return true;
	return false;
}

bool gw_uplink_none(const struct rp_config *cfg, uint8_t family)
{
	struct rp_addr u[RP_UPLINK_ADDRS];

	return gw_uplink_list(cfg, family, u) == 0;
}

bool gw_addr_link_scope(const struct rp_addr *a)
{
	return a->family == AF_INET6 &&
	       ((a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80) ||
		(a->addr[0] == 0xff && a->addr[1] == 0x02));
}

bool gw_addr_limited_broadcast(const struct rp_addr *a)
{
	static const uint8_t all[4] = { 255, 255, 255, 255 };

	return a->family == AF_INET && !memcmp(a->addr, all, 4);
}

static uint16_t metrics_port(const char *listen)
{
	const char *c = listen ? strrchr(listen, ':') : NULL;
	long v;
	char *end;

	if (!c)
		return 0;
	v = strtol(c + 1, &end, 10);
	return *end || v < 1 || v > 65535 ? 0 : (uint16_t)v;
}

static bool served(const struct rp_config *cfg, unsigned port)
{
	if (port == metrics_port(cfg->metrics_listen))
		return true;
	for (size_t i = 0; i < cfg->n_tenants; i++)
		if (cfg->tenants[i].listen_port == port ||
		    (cfg->tenants[i].next_interface && cfg->tenants[i].next_listen_port == port))
			return true;
	for (size_t i = 0; i < cfg->mgmt_tcp_ports.n; i++)
		if (port >= cfg->mgmt_tcp_ports.v[i].lo && port <= cfg->mgmt_tcp_ports.v[i].hi)
			return true;
	return false;
}

/* The widest run of [from, 65535] without a served port. */
static void widest_run(const struct rp_config *cfg, unsigned from, unsigned *lo, unsigned *hi)
{
	unsigned start = from;

	*lo = *hi = 0;
	for (unsigned p = from; p <= 65536; p++) {
		if (p <= 65535 && !served(cfg, p))
			continue;
		if (p > start && (!*hi || p - 1 - start > *hi - *lo)) {
			*lo = start;
			*hi = p - 1;
		}
		start = p + 1;
	}
}

void gw_nat_ports(const struct rp_config *cfg, uint16_t *lo, uint16_t *hi)
{
	unsigned l, h;

	widest_run(cfg, RP_NAT_LO, &l, &h);
	if (!h)	/* every port up there is served: anywhere above 1023 */
		widest_run(cfg, 1024, &l, &h);
	*lo = (uint16_t)l;
	*hi = (uint16_t)h;
}

bool gw_share_provider(const struct rp_config *cfg, size_t ti)
{
	const struct rp_tenant *u = &cfg->tenants[ti];

	for (size_t s = 0; s < u->n_shares; s++) {
		const struct rp_share *sh = &u->shares[s];

		if (sh->all_tenants && cfg->n_tenants > 1)
			return true;
		for (size_t k = 0; k < sh->n_tenants; k++)
			if (sh->tenant_idx && sh->tenant_idx[k] >= 0 && (size_t)sh->tenant_idx[k] != ti)
				return true;
	}
	return false;
}
