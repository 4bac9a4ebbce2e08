// SPDX-License-Identifier: GPL-2.0
/* keyrot.c — where each site of a tenant in key rotation is; see keyrot.h. */
#include <errno.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include "lib/addr.h"
#include "net/keyrot.h"
#include "net/net_priv.h"

void keyrot_view(const struct rp_tenant *t, struct rp_tenant *view)
{
	*view = *t;
	view->tunnel_interface = t->next_interface;
	view->listen_port = t->next_listen_port;
	memcpy(view->private_key, t->next_private_key, RP_KEY_LEN);
	memcpy(view->public_key, t->next_public_key, RP_KEY_LEN);
	view->next_interface = NULL;
}

static long long ts_ns(const wg_peer *p)
{
	return p ? (long long)p->last_handshake_time.tv_sec * 1000000000LL +
			   p->last_handshake_time.tv_nsec
		 : 0;
}

long long keyrot_site_handshake(const struct rp_site *s, const wg_device *dev)
{
	long long a, b = 0;

	if (!dev)
		return 0;
	a = ts_ns(wg_device_find_peer(dev, s->public_key));
	if (s->has_previous)
		b = ts_ns(wg_device_find_peer(dev, s->previous_public_key));
	return a > b ? a : b;
}

bool keyrot_site_moved(const struct rp_site *s, const wg_device *old, const wg_device *nw)
{
	long long n = keyrot_site_handshake(s, nw);

	return n && n >= keyrot_site_handshake(s, old);
}

int keyrot_read_moved(const struct wg_backend *wg, const struct rp_tenant *t, bool *moved)
{
	wg_device *old = NULL, *nw = NULL;
	int err;

	memset(moved, 0, t->n_sites * sizeof(*moved));
	if (!t->next_interface)
		return 0;
	err = wg->get(t->next_interface, &nw);
	if (!err)
		err = wg->get(t->tunnel_interface, &old);
	if (!err)
		for (size_t s = 0; s < t->n_sites; s++)
			moved[s] = keyrot_site_moved(&t->sites[s], old, nw);
	wg_device_wipe_free(old);
	wg_device_wipe_free(nw);
	return err;
}

/* Every route of S's prefixes at METRIC in TABLE through IFINDEX now. */
static int route_prefixes(struct nl_ctx *nl, const struct rp_prefix_list *l, uint32_t table,
			  uint32_t metric, int ifindex)
{
	int err = 0;

	for (size_t k = 0; k < l->n && !err; k++) {
		struct rp_prefix m = l->v[k];
		struct nl_route r = { .family = m.family, .dst_len = m.len, .type = RTN_UNICAST,
				      .oif = ifindex, .table = table, .metric = metric };

		prefix_mask(&m);
		memcpy(r.dst, m.addr, 16);
		err = nl_route_replace(nl, &r);
	}
	return err;
}

int keyrot_route_site(struct nl_ctx *nl, const struct rp_config *cfg, size_t ti, size_t si,
		      int ifindex)
{
	const struct rp_tenant *t = &cfg->tenants[ti];
	const struct rp_site *s = &t->sites[si];
	uint32_t table = RP_TABLE_BASE + t->id;
	int err;

	err = route_prefixes(nl, &s->allowed_ips, table, RP_METRIC_ROUTE, ifindex);
	if (!err)
		err = route_prefixes(nl, &s->tunnel_ip, table, RP_METRIC_ROUTE, ifindex);
	/* the replies of the shares other tenants offer this one (route_plan.c) */
	for (size_t p = 0; p < cfg->n_tenants && !err; p++) {
		if (!net_share_offered(cfg, p, ti))
			continue;
		table = RP_TABLE_BASE + cfg->tenants[p].id;
		err = route_prefixes(nl, &s->allowed_ips, table, RP_METRIC_SHARED, ifindex);
		if (!err)
			err = route_prefixes(nl, &s->tunnel_ip, table, RP_METRIC_SHARED, ifindex);
	}
	return err;
}
