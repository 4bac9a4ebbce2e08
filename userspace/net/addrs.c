// SPDX-License-Identifier: GPL-2.0
/* addrs.c — the tunnel and cloud addresses of every tenant: added where
 * missing (recorded as rempart's in net.state before they are added), and
 * those rempart added that the config no longer names removed. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_addr.h>
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "net/net_priv.h"
#include "net/reconcile.h"

static const struct nl_addr *addr_present(const struct nl_addr *have, size_t n_have,
					   int ifindex, const struct rp_prefix *p)
{
	for (size_t h = 0; h < n_have; h++)
		if (have[h].ifindex == ifindex && have[h].p.family == p->family &&
		    have[h].p.len == p->len &&
		    !memcmp(have[h].p.addr, p->addr, p->family == AF_INET ? 4 : 16))
			return &have[h];
	return NULL;
}

/* The addresses about to be added go into net.state first (one write). */
static int intend_addrs(struct apply *a, const struct nl_addr *have, size_t n_have)
{
	char name[IFNAMSIZ + 8], pbuf[INET6_ADDRSTRLEN + 4];
	int err = 0;

	for (size_t i = 0; i < a->cfg->n_tenants && !err; i++) {
		const struct rp_tenant *t = &a->cfg->tenants[i];

		for (int which = 0; which < 2 && !err; which++) {
			const struct rp_prefix_list *l = which ? &t->cloud_address : &t->tunnel_address;
			const struct nl_link *lk;

			if (which)
				net_cloud_ifname(t, name, sizeof(name));
			else
				snprintf(name, sizeof(name), "%s", t->tunnel_interface);
			lk = net_link_find(a, name);
			for (size_t k = 0; lk && k < l->n && !err; k++) {
				const struct nl_addr *h = addr_present(have, n_have, lk->ifindex,
								       &l->v[k]);

				/* present with its main-table route: re-added below */
				if (h && (h->flags & IFA_F_NOPREFIXROUTE))
					continue;
				prefix_format(&l->v[k], pbuf, sizeof(pbuf));
				err = net_intend(a, "addr %s %s", name, pbuf);
			}
		}
	}
	return err ? err : net_intent_flush(a);
}

int net_reconcile_addrs(struct apply *a)
{
	struct nl_addr *have = NULL;
	size_t n_have = 0;
	char name[IFNAMSIZ + 8], pbuf[INET6_ADDRSTRLEN + 4];
	int err;

	err = nl_addr_dump(&a->nl, 0, &have, &n_have);
	if (err) {
		diag_add(a->d, "cannot list addresses: %s", nl_strerror(&a->nl, err));
		return err;
	}
	err = intend_addrs(a, have, n_have);
	for (size_t i = 0; i < a->cfg->n_tenants && !err; i++) {
		const struct rp_tenant *t = &a->cfg->tenants[i];

		for (int which = 0; which < 2 && !err; which++) {
			const struct rp_prefix_list *l = which ? &t->cloud_address : &t->tunnel_address;
			const struct nl_link *lk;

			if (which)
				net_cloud_ifname(t, name, sizeof(name));
			else
				snprintf(name, sizeof(name), "%s", t->tunnel_interface);
			lk = net_link_find(a, name);
			for (size_t k = 0; k < l->n && !err; k++) {
				const struct nl_addr *present = NULL;
				struct undo *u;

				prefix_format(&l->v[k], pbuf, sizeof(pbuf));
				present = addr_present(have, n_have, lk->ifindex, &l->v[k]);
				if (present && !(present->flags & IFA_F_NOPREFIXROUTE)) {
					/* with a prefix route in the main table (an older
					 * apply, or someone else's): added again without
					 * (docs/policy.md: the main table routes the uplink) */
					err = nl_addr_del(&a->nl, lk->ifindex, &l->v[k]);
					if (err) {
						diag_add(a->d, "%s: [tenant] %s: cannot re-add %s to %s "
							 "without its main-table route: %s",
							 t->file ? t->file : t->name,
							 which ? "cloud_address" : "tunnel_address", pbuf, name,
							 nl_strerror(&a->nl, err));
						break;
					}
					u = net_journal(a, U_ADDR_ADD);
					if (!u) {
						err = -ENOMEM;
						break;
					}
					u->ifindex = lk->ifindex;
					u->p = l->v[k];
					present = NULL;
				}
				if (present) {
					/* Ours if we added it before. */
					if (net_state_has(&a->old, "addr %s %s", name, pbuf))
						net_state_add(&a->st, "addr %s %s", name, pbuf);
					continue;
				}
				err = nl_addr_add(&a->nl, lk->ifindex, &l->v[k]);
				if (err) {
					diag_add(a->d, "%s: [tenant] %s: cannot add %s to %s: %s",
						 t->file ? t->file : t->name,
						 which ? "cloud_address" : "tunnel_address", pbuf, name,
						 nl_strerror(&a->nl, err));
					break;
				}
				u = net_journal(a, U_ADDR_DEL);
				if (!u) {
					err = -ENOMEM;
					break;
				}
				u->ifindex = lk->ifindex;
				u->p = l->v[k];
				net_state_add(&a->st, "addr %s %s", name, pbuf);
				a->changes++;
			}
		}
	}
	free(have);
	return err;
}

/* Addresses rempart added earlier and the config no longer names. */
int net_remove_stale_addrs(struct apply *a)
{
	char ifname[64], pbuf[64];
	int err = 0;

	for (size_t i = 0; i < a->old.n; i++) {
		const struct nl_link *lk;
		struct rp_prefix p;
		struct undo *u;
		int r;

		if (sscanf(a->old.lines[i], "addr %63s %63s", ifname, pbuf) != 2)
			continue;
		if (net_state_has(&a->st, "%s", a->old.lines[i]))
			continue;
		lk = net_link_find(a, ifname);
		if (!lk || prefix_parse(pbuf, &p))
			continue;	/* the link went away, and its addresses with it */
		r = nl_addr_del(&a->nl, lk->ifindex, &p);
		if (r && r != -EADDRNOTAVAIL && r != -ENODEV) {
			diag_add(a->d, "cannot remove address %s from %s: %s", pbuf, ifname,
				 nl_strerror(&a->nl, r));
			err = r;
			continue;
		}
		if (!r) {
			u = net_journal(a, U_ADDR_ADD);
			if (!u)
				return -ENOMEM;
			u->ifindex = lk->ifindex;
			u->p = p;
			a->changes++;
		}
	}
	return err;
}
