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

const struct nl_addr *net_addr_present(const struct nl_addr *have, size_t n_have, int ifindex,
				       const struct rp_prefix *p)
{
	for (size_t h = 0; h < n_have; h++)
		if (have[h].ifindex == ifindex && have[h].p.family == p->family &&
		    have[h].p.len == p->len &&
		    !memcmp(have[h].p.addr, p->addr, p->family == AF_INET ? 4 : 16))
			return &have[h];
	return NULL;
}

int net_addrs_walk(struct apply *a, const struct nl_addr *have, size_t n_have,
		   int (*fn)(struct apply *a, const struct addr_want *w, void *ctx), void *ctx)
{
	char name[IFNAMSIZ + 8];
	int err = 0;

	for (size_t i = 0; i < a->cfg->n_tenants && !err; i++) {
		const struct rp_tenant *t = &a->cfg->tenants[i];

		for (int which = 0; which < 2 && !err; which++) {
			const struct rp_prefix_list *l = net_tenant_addrs(t, which, name,
									  sizeof(name));

			/* [ha]: the cloud addresses are virtual, keepalived's on
			 * the active gateway only (docs/ha.md) */
			if (which && a->cfg->ha.enabled)
				continue;
			struct addr_want w = {
				.t = t,
				.key = which ? "cloud_address" : "tunnel_address",
				.ifname = name,
			};

			w.lk = net_link_find(a, name);
			for (size_t k = 0; k < l->n && !err; k++) {
				w.p = &l->v[k];
				w.have = w.lk ? net_addr_present(have, n_have, w.lk->ifindex, w.p) : NULL;
				err = fn(a, &w, ctx);
			}
		}
	}
	return err;
}

/* The addresses about to be added go into net.state first (one write). */
static int intend_addr(struct apply *a, const struct addr_want *w, void *ctx)
{
	char pbuf[INET6_ADDRSTRLEN + 4];

	(void)ctx;
	if (!w->lk)
		return 0;
	/* present with its main-table route: re-added below */
	if (w->have && (w->have->flags & IFA_F_NOPREFIXROUTE))
		return 0;
	prefix_format(w->p, pbuf, sizeof(pbuf));
	return net_intend(a, "addr %s %s", w->ifname, pbuf);
}

static int reconcile_addr(struct apply *a, const struct addr_want *w, void *ctx)
{
	const struct nl_addr *present = w->have;
	char pbuf[INET6_ADDRSTRLEN + 4];
	struct undo *u;
	int ifindex, err;

	(void)ctx;
	prefix_format(w->p, pbuf, sizeof(pbuf));
	if (!w->lk) {	/* the links were checked before: gone since, or never made */
		diag_add(a->d, "%s: [tenant] %s: cannot add %s: no interface %s",
			 w->t->file ? w->t->file : w->t->name, w->key, pbuf, w->ifname);
		return -ENODEV;
	}
	ifindex = w->lk->ifindex;
	if (present && !(present->flags & IFA_F_NOPREFIXROUTE)) {
		/* with a prefix route in the main table (an older apply, or
		 * someone else's): added again without (docs/policy.md: the
		 * main table routes the uplink) */
		err = nl_addr_del(&a->nl, ifindex, w->p);
		if (err) {
			diag_add(a->d, "%s: [tenant] %s: cannot re-add %s to %s "
				 "without its main-table route: %s",
				 w->t->file ? w->t->file : w->t->name, w->key, pbuf, w->ifname,
				 nl_strerror(&a->nl, err));
			return err;
		}
		u = net_journal(a, U_ADDR_ADD);
		if (!u)
			return -ENOMEM;
		u->ifindex = ifindex;
		u->p = *w->p;
		present = NULL;
	}
	if (present) {
		/* Ours if we added it before. */
		if (net_state_has(&a->old, "addr %s %s", w->ifname, pbuf))
			net_state_add(&a->st, "addr %s %s", w->ifname, pbuf);
		return 0;
	}
	err = nl_addr_add(&a->nl, ifindex, w->p);
	if (err) {
		diag_add(a->d, "%s: [tenant] %s: cannot add %s to %s: %s",
			 w->t->file ? w->t->file : w->t->name, w->key, pbuf, w->ifname,
			 nl_strerror(&a->nl, err));
		return err;
	}
	u = net_journal(a, U_ADDR_DEL);
	if (!u)
		return -ENOMEM;
	u->ifindex = ifindex;
	u->p = *w->p;
	net_state_add(&a->st, "addr %s %s", w->ifname, pbuf);
	a->changes++;
	return 0;
}

int net_reconcile_addrs(struct apply *a)
{
	struct nl_addr *have = NULL;
	size_t n_have = 0;
	int err;

	err = nl_addr_dump(&a->nl, 0, &have, &n_have);
	if (err) {
		diag_add(a->d, "cannot list addresses: %s", nl_strerror(&a->nl, err));
		return err;
	}
	err = net_addrs_walk(a, have, n_have, intend_addr, NULL);
	if (!err)
		err = net_intent_flush(a);
	if (!err)
		err = net_addrs_walk(a, have, n_have, reconcile_addr, NULL);
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
