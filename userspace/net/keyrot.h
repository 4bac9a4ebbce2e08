/* keyrot.h — a tenant's key rotation without a flag day (docs/keys.md "A
 * tenant's key"): while [tenant] next_private_key_file and next_listen_port
 * are set, the tenant has a second WireGuard interface, wn-NAME
 * (t->next_interface), with the next key on the next port and every site a
 * peer of both.  A site is routed through the tunnel it last had a
 * handshake on: wg-NAME until its first handshake on wn-NAME, wn-NAME from
 * then (the daemon's watch re-points its routes at once: app/keyrot_watch.h;
 * `apply` routes each site the same way). */
#ifndef REMPART_KEYROT_H
#define REMPART_KEYROT_H
#include <stdbool.h>
#include "config/config.h"
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"

/* The tenant as its second tunnel sees it: T with the next interface, key
 * and port (a shallow copy: nothing to free). */
void keyrot_view(const struct rp_tenant *t, struct rp_tenant *view);

/* S's latest handshake on DEV, over its keys (the previous one too during
 * a site rekey); 0 if none. */
long long keyrot_site_handshake(const struct rp_site *s, const wg_device *dev);
/* Is S on the second tunnel: a handshake there, none newer on the first.
 * OLD and NEW may be NULL (no device: no handshake). */
bool keyrot_site_moved(const struct rp_site *s, const wg_device *old, const wg_device *nw);
/* moved[s] for every site of T, from its two devices as they run now
 * (false for all when one cannot be read).  0 or -errno. */
int keyrot_read_moved(const struct wg_backend *wg, const struct rp_tenant *t, bool *moved);
/* Site SI of tenant index TI routed through IFINDEX: its routes in the
 * tenant's table, and in the tables of the tenants that offer it a share,
 * re-pointed one by one (each replaced in one change: never absent).
 * 0 or -errno (netlink's). */
int keyrot_route_site(struct nl_ctx *nl, const struct rp_config *cfg, size_t ti, size_t si,
		      int ifindex);
#endif
