// SPDX-License-Identifier: GPL-2.0
/* routes.c — every tenant's routing table made to hold what the plan
 * (route_plan.c) wants: what is missing added first, then what is extra
 * removed, so there is no gap; the tables of tenants that are gone emptied.
 * A clean tenant (fingerprint.c) is not read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include "kernel/netlink.h"
#include "net/keyrot.h"
#include "net/net_priv.h"
#include "net/reconcile.h"
#include "net/route_plan.h"

struct links {
	int *tun, *cloud, *next;
	bool **moved;
	size_t n;
};

static void links_free(struct links *k)
{
	for (size_t i = 0; k->moved && i < k->n; i++)
		free(k->moved[i]);
	free(k->moved);
	free(k->tun);
	free(k->cloud);
	free(k->next);
}

/* The ifindexes the plan routes through, from the link table; for a
 * tenant in key rotation, where each site is (keyrot.h). */
static int resolve_links(const struct apply *a, struct net_ifindex *ix, struct links *k)
{
	const struct rp_config *cfg = a->cfg;
	const struct nl_link *l;
	char name[IFNAMSIZ + 8];

	k->n = cfg->n_tenants;
	k->tun = calloc(cfg->n_tenants + 1, sizeof(int));
	k->cloud = calloc(cfg->n_tenants + 1, sizeof(int));
	k->next = calloc(cfg->n_tenants + 1, sizeof(int));
	k->moved = calloc(cfg->n_tenants + 1, sizeof(bool *));
	if (!k->tun || !k->cloud || !k->next || !k->moved)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		l = net_link_find(a, t->tunnel_interface);
		k->tun[i] = l ? l->ifindex : 0;
		net_cloud_ifname(t, name, sizeof(name));
		l = net_link_find(a, name);
		k->cloud[i] = l ? l->ifindex : 0;
		l = t->next_interface ? net_link_find(a, t->next_interface) : NULL;
		k->next[i] = l ? l->ifindex : 0;
		if (!l)
			continue;
		k->moved[i] = calloc(t->n_sites + 1, sizeof(bool));
		if (!k->moved[i])
			return -ENOMEM;
		/* devices not running yet (a first apply): no site has moved */
		keyrot_read_moved(a->wg, t, k->moved[i]);
	}
	l = cfg->uplink ? net_link_find(a, cfg->uplink) : NULL;
	*ix = (struct net_ifindex){ .uplink = l ? l->ifindex : 0, .tunnel = k->tun,
				    .cloud = k->cloud, .next = k->next, .moved = k->moved };
	return 0;
}

/* The route of HAVE with W's destination, table and metric through another
 * device (a site of a tenant in key rotation that changed tunnels): W
 * replaces it in one change. */
static size_t same_but_device(const struct nl_route *have, size_t n, const struct nl_route *w)
{
	for (size_t h = 0; h < n; h++) {
		struct nl_route x = have[h];

		if (x.type != RTN_UNICAST || w->type != RTN_UNICAST || x.oif == w->oif || !x.oif)
			continue;
		x.oif = w->oif;
		if (nl_route_same(&x, w))
			return h;
	}
	return SIZE_MAX;
}

/* OLD re-pointed to W's device; journalled as: remove W, put OLD back. */
static int replace(struct apply *a, struct nl_route *old, const struct nl_route *w)
{
	char buf[160];
	struct undo *u;
	int err = nl_route_replace(&a->nl, w);

	if (err) {
		nl_route_format(w, buf, sizeof(buf));
		diag_add(a->d, "cannot re-point route %s (%s): %s", buf, net_ifname_of(a, w->oif),
			 nl_strerror(&a->nl, err));
		return err;
	}
	if (!(u = net_journal(a, U_ROUTE_ADD)))
		return -ENOMEM;
	u->route = *old;
	if (!(u = net_journal(a, U_ROUTE_DEL)))
		return -ENOMEM;
	u->route = *w;
	old->oif = w->oif;	/* what the table holds now: not removed below */
	a->changes++;
	return 0;
}

int net_reconcile_routes(struct apply *a)
{
	struct nl_route *have = NULL;
	size_t n_have = 0;
	struct route_set want = { 0 };
	struct net_ifindex ix;
	struct links lk = { 0 };
	char buf[160];
	int err = 0;

	err = resolve_links(a, &ix, &lk);
	if (err)
		return err;
	for (size_t i = 0; i < a->cfg->n_tenants && !err; i++) {
		uint32_t table = RP_TABLE_BASE + a->cfg->tenants[i].id;
		size_t first = 0, last;

		if (a->clean[i]) {
			net_state_add(&a->st, "table %u", table);
			continue;
		}
		free(have);
		have = NULL;
		err = nl_route_dump(&a->nl, AF_UNSPEC, table, &have, &n_have);
		if (err) {
			diag_add(a->d, "cannot list the routes of table %u: %s", table,
				 nl_strerror(&a->nl, err));
			break;
		}
		last = n_have;
		want.n = 0;
		err = net_plan_routes(a->cfg, &ix, i, a->main_v, a->main_n, &want);
		if (err)
			break;
		net_state_add(&a->st, "table %u", table);
		/* Add what is missing, then remove what is extra: no gap. */
		for (size_t w = 0; w < want.n && !err; w++) {
			bool present = false;
			struct undo *u;
			size_t o;

			for (size_t h = first; h < last && !present; h++)
				present = nl_route_same(&have[h], &want.v[w]);
			if (present)
				continue;
			/* through another device now (a site that changed tunnels
			 * in a key rotation, or the rotation's end): re-pointed in
			 * one change, the prefix never without a route */
			o = same_but_device(have + first, last - first, &want.v[w]);
			if (o != SIZE_MAX) {
				err = replace(a, &have[first + o], &want.v[w]);
				if (err)
					break;
				continue;
			}
			err = nl_route_add(&a->nl, &want.v[w]);
			if (err == -EEXIST)
				err = 0;	/* two site prefixes masked to the same route */
			else if (err) {
				nl_route_format(&want.v[w], buf, sizeof(buf));
				diag_add(a->d, "tenant %s: cannot add route %s (%s): %s",
					 a->cfg->tenants[i].name, buf, net_ifname_of(a, want.v[w].oif),
					 nl_strerror(&a->nl, err));
				break;
			} else {
				u = net_journal(a, U_ROUTE_DEL);
				if (!u) {
					err = -ENOMEM;
					break;
				}
				u->route = want.v[w];
				a->changes++;
			}
		}
		for (size_t h = first; h < last && !err; h++) {
			bool wanted = false;
			struct undo *u;

			for (size_t w = 0; w < want.n && !wanted; w++)
				wanted = nl_route_same(&have[h], &want.v[w]);
			if (wanted)
				continue;
			err = nl_route_del(&a->nl, &have[h]);
			if (err == -ESRCH) {
				err = 0;
				continue;
			}
			if (err) {
				nl_route_format(&have[h], buf, sizeof(buf));
				diag_add(a->d, "tenant %s: cannot remove route %s: %s",
					 a->cfg->tenants[i].name, buf, nl_strerror(&a->nl, err));
				break;
			}
			u = net_journal(a, U_ROUTE_ADD);
			if (!u) {
				err = -ENOMEM;
				break;
			}
			u->route = have[h];
			a->changes++;
		}
	}
	free(want.v);
	free(have);
	links_free(&lk);
	return err;
}

/* Tables of tenants that are gone: empty them. */
int net_remove_stale_tables(struct apply *a, bool journal_it)
{
	struct nl_route *have = NULL;
	size_t n_have = 0;
	unsigned int table;
	char buf[160];
	int err = 0;

	for (size_t i = 0; i < a->old.n; i++) {
		if (sscanf(a->old.lines[i], "table %u", &table) != 1)
			continue;
		if (net_state_has(&a->st, "table %u", table))
			continue;
		free(have);
		have = NULL;
		if ((err = nl_route_dump(&a->nl, AF_UNSPEC, table, &have, &n_have))) {
			diag_add(a->d, "cannot list routes: %s", nl_strerror(&a->nl, err));
			return err;
		}
		for (size_t h = 0; h < n_have; h++) {
			int r;
			struct undo *u;

			if (have[h].table != table)
				continue;
			r = nl_route_del(&a->nl, &have[h]);
			if (r && r != -ESRCH) {
				nl_route_format(&have[h], buf, sizeof(buf));
				diag_add(a->d, "cannot remove route %s: %s", buf, nl_strerror(&a->nl, r));
				err = r;
				continue;
			}
			a->changes += !r;
			if (!r && journal_it) {
				u = net_journal(a, U_ROUTE_ADD);
				if (!u) {
					free(have);
					return -ENOMEM;
				}
				u->route = have[h];
			}
		}
	}
	free(have);
	return err;
}
