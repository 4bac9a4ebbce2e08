// SPDX-License-Identifier: GPL-2.0
/* tunnel_restore.c — after an apply, each userspace tunnel's addresses and
 * the routes through it go to the backend's restore file
 * (kernel/wg/wg_restore.c), which its supervisor replays if wireguard-go
 * restarts. */
#include <stdlib.h>
#include <linux/rtnetlink.h>
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "net/net_priv.h"
#include "net/reconcile.h"

/* A userspace tunnel's addresses and the routes through it, for its
 * supervisor to put back if wireguard-go restarts (kernel/wg/wg_restore.c). */
void net_remember_tunnel(struct apply *a, const struct rp_tenant *t,
			    const struct nl_route *rv, size_t rn)
{
	const struct nl_link *tl = net_link_find(a, t->tunnel_interface);
	struct nl_route *mine = calloc(rn + 1, sizeof(*mine));
	struct wg_netstate ns = { .mtu = t->mtu, .addrs = t->tunnel_address.v,
				  .n_addrs = t->tunnel_address.n, .routes = mine,
				  .ifindex = tl ? tl->ifindex : 0 };

	if (!tl || !mine) {
		free(mine);
		return;
	}
	for (size_t k = 0; k < rn; k++) {
		if (rv[k].oif != tl->ifindex || rv[k].table < RP_TABLE_BASE ||
		    rv[k].table > RP_TABLE_BASE + RP_TENANT_ID_MAX || rv[k].type != RTN_UNICAST)
			continue;
		mine[ns.n_routes++] = rv[k];
	}
	a->wg->remember(t->tunnel_interface, a->cfg->state_dir, &ns);
	free(mine);
}
