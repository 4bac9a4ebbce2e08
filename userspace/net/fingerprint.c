// SPDX-License-Identifier: GPL-2.0
/* fingerprint.c — what a tenant wants, in 64 bits.
 *
 * A tenant whose fingerprint equals the one recorded by the last successful
 * apply, and whose links are present, up and (userspace) supervised, is not
 * read again: with 100 tunnels of 100 peers and 20,000 routes, reading all
 * of it costs most of a second, while a one-site change must take less than
 * 100 ms.  RP_NET_FULL=1 reads and compares everything.
 *
 * The fingerprint is what the tenant wants; that the kernel still has it is
 * checked cheaply: the recorded line also holds how many routes its table
 * had, and a table that lost routes (its tunnel or cloud link went down and
 * up: the kernel drops the routes through a link that goes down) makes the
 * tenant unclean, so that `apply` puts them back (rempart(8), apply).  The daemon
 * also names tenants to verify (hooks->verify) from what it watched go. */
#include <stdlib.h>
#include <string.h>
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "lib/fnv.h"
#include "net/net_priv.h"
#include "net/reconcile.h"
#include "net/rekey.h"

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv1a(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static uint64_t fnv_list(uint64_t h, const struct rp_prefix_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		h = fnv1a(h, &l->v[i], sizeof(l->v[i]));
	return fnv1a(h, &l->n, sizeof(l->n));
}

uint64_t net_tenant_fp(const struct apply *a, size_t i)
{
	const struct rp_config *cfg = a->cfg;
	const struct rp_tenant *t = &cfg->tenants[i];
	uint64_t h = FNV1A_BASIS;

	/* what the route plan makes of a tenant: a table recorded by an
	 * older version is read again */
	h = fnv_str(h, "routes 2: the subnets of its own addresses");
	h = fnv1a(h, &t->id, sizeof(t->id));
	h = fnv_str(h, t->tunnel_interface);
	h = fnv_str(h, t->cloud_interface);
	h = fnv1a(h, &t->vlan, sizeof(t->vlan));
	h = fnv1a(h, &t->listen_port, sizeof(t->listen_port));
	h = fnv1a(h, t->private_key, sizeof(t->private_key));
	h = fnv1a(h, &t->egress, sizeof(t->egress));
	h = fnv_str(h, t->next_interface);
	h = fnv_str(h, cfg->uplink);
	h = fnv_list(h, &t->tunnel_address);
	h = fnv_list(h, &t->cloud_address);
	h = fnv_list(h, &t->cloud_prefixes);
	for (size_t s = 0; s < t->n_sites; s++) {
		const struct rp_site *st = &t->sites[s];

		h = fnv1a(h, st->public_key, sizeof(st->public_key));
		h = fnv1a(h, &st->has_psk, sizeof(st->has_psk));
		if (st->has_psk)
			h = fnv1a(h, st->psk, sizeof(st->psk));
		h = fnv_str(h, st->endpoint);
		h = fnv1a(h, &st->keepalive, sizeof(st->keepalive));
		h = fnv_list(h, &st->allowed_ips);
		h = fnv_list(h, &st->tunnel_ip);
		h = fnv1a(h, &st->has_previous, sizeof(st->has_previous));
		if (st->has_previous) {
			h = fnv1a(h, st->previous_public_key, sizeof(st->previous_public_key));
			h = fnv1a(h, st->previous_psk, sizeof(st->previous_psk));
		}
	}
	/* Shares both ways put other tenants' routes in this table. */
	for (size_t p = 0; p < cfg->n_tenants; p++) {
		const struct rp_tenant *o = &cfg->tenants[p];

		if (p == i)
			continue;
		for (size_t k = 0; k < o->n_shares; k++)
			if (config_share_offered_to(&o->shares[k], i)) {
				h = fnv_str(h, o->cloud_interface);
				h = fnv1a(h, &o->vlan, sizeof(o->vlan));
				h = fnv_list(h, &o->shares[k].to);
			}
		for (size_t k = 0; k < t->n_shares; k++)
			if (config_share_offered_to(&t->shares[k], p)) {
				h = fnv_str(h, o->tunnel_interface);
				for (size_t s = 0; s < o->n_sites; s++) {
					h = fnv_list(h, &o->sites[s].allowed_ips);
					h = fnv_list(h, &o->sites[s].tunnel_ip);
				}
			}
	}
	if (t->egress == RP_EGRESS_NAT)
		for (size_t k = 0; k < a->main_n; k++)
			if (!a->main_v[k].dst_len)
				h = fnv1a(h, &a->main_v[k], sizeof(a->main_v[k]));
	/* ifindexes: a link recreated by hand means routes to redo */
	for (int w = 0; w < 2; w++) {
		char name[IFNAMSIZ + 8];
		const struct nl_link *l;

		if (w)
			net_cloud_ifname(t, name, sizeof(name));
		else
			snprintf(name, sizeof(name), "%s", t->tunnel_interface);
		l = net_link_find(a, name);
		h = fnv1a(h, l ? &l->ifindex : &w, sizeof(int));
	}
	return h;
}

int net_count_routes(struct apply *a, uint32_t table, size_t *n)
{
	struct nl_route *v = NULL;
	size_t m = 0;
	int err;

	*n = 0;
	err = nl_route_dump(&a->nl, AF_UNSPEC, table, &v, &m);
	if (err)
		return err;
	for (size_t k = 0; k < m; k++)
		*n += v[k].table == table;
	free(v);
	return 0;
}

void net_compute_clean(struct apply *a)
{
	bool full = getenv("RP_NET_FULL") != NULL;

	a->fp_links_gen = a->links_gen;
	for (size_t i = 0; i < a->cfg->n_tenants; i++) {
		const struct rp_tenant *t = &a->cfg->tenants[i];
		const struct nl_link *tl = net_link_find(a, t->tunnel_interface), *cl;
		char name[IFNAMSIZ + 8];

		a->fp[i] = net_tenant_fp(a, i);
		a->routes[i] = SIZE_MAX;
		net_cloud_ifname(t, name, sizeof(name));
		cl = net_link_find(a, name);
		/* a site in rotation may have switched: its peers are looked at */
		/* a key rotation: where each site is is looked at */
		a->clean[i] = !full && !rekey_pending(t) && !t->next_interface &&
			      !(a->hooks && a->hooks->verify && a->hooks->verify[i]) &&
			      tl && cl && (tl->flags & IFF_UP) && (cl->flags & IFF_UP) &&
			      tl->mtu == t->mtu &&
			      (!a->wg->running || a->wg->running(t->tunnel_interface, a->cfg->state_dir));
		if (a->clean[i] && net_count_routes(a, RP_TABLE_BASE + t->id, &a->routes[i]))
			a->clean[i] = false;
		a->clean[i] = a->clean[i] &&
			      net_state_has(&a->old, "fp %u %016llx %zu", t->id,
					    (unsigned long long)a->fp[i], a->routes[i]);
	}
}
