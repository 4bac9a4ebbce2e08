// SPDX-License-Identifier: GPL-2.0
/* routes.c — every tenant's routing table made to hold what the plan
 * (route_plan.c) wants: what is missing added first, then what is extra
 * removed, so there is no gap; the tables of tenants that are gone emptied.
 * A clean tenant (fingerprint.c) is not read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/netlink.h"
#include "net/net_priv.h"
#include "net/reconcile.h"
#include "net/route_plan.h"

/* The ifindexes the plan routes through, from the link table. */
static int resolve_links(const struct apply *a, struct net_ifindex *ix, int **tun, int **cloud)
{
	const struct rp_config *cfg = a->cfg;
	const struct nl_link *l;
	char name[IFNAMSIZ + 8];

	*tun = calloc(cfg->n_tenants + 1, sizeof(int));
	*cloud = calloc(cfg->n_tenants + 1, sizeof(int));
	if (!*tun || !*cloud)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		l = net_link_find(a, cfg->tenants[i].tunnel_interface);
		(*tun)[i] = l ? l->ifindex : 0;
		net_cloud_ifname(&cfg->tenants[i], name, sizeof(name));
		l = net_link_find(a, name);
		(*cloud)[i] = l ? l->ifindex : 0;
	}
	l = cfg->uplink ? net_link_find(a, cfg->uplink) : NULL;
	*ix = (struct net_ifindex){ .uplink = l ? l->ifindex : 0, .tunnel = *tun, .cloud = *cloud };
	return 0;
}

int net_reconcile_routes(struct apply *a)
{
	struct nl_route *have = NULL;
	size_t n_have = 0;
	struct route_set want = { 0 };
	struct net_ifindex ix;
	int *tun = NULL, *cloud = NULL;
	char buf[160];
	int err = 0;

	err = resolve_links(a, &ix, &tun, &cloud);
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

			for (size_t h = first; h < last && !present; h++)
				present = nl_route_same(&have[h], &want.v[w]);
			if (present)
				continue;
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
	free(tun);
	free(cloud);
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
