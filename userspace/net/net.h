/* net.h — links, addresses, routes, rules, NAT and WireGuard peers seen from
 * the commands: reconcile the kernel with the config.  Implemented by the
 * tunnels module (netlink + WireGuard backends). */
#ifndef REMPART_NET_H
#define REMPART_NET_H
#include "config/config.h"
#include "lib/diag.h"

/* Make interfaces, addresses, routing tables, policy rules, NAT and
 * WireGuard devices/peers match cfg, changing only what differs (peers that
 * did not change keep their sessions).  0, or -errno with messages in *d. */
int net_apply(const struct rp_config *cfg, struct diag *d);
/* What net_apply(cfg) would change, changing nothing: each change is given
 * to EMIT as OP ('+' add, '-' remove, '~' change), WHAT ("link", "addr",
 * "route", "rule", "device", "peer", "sysctl", "nat") and one line of TEXT
 * ("10.1.0.0/24 dev wg-a table 1010 metric 100"), in the order apply would
 * make them.  The number of changes (0: apply would change nothing), or
 * -errno with messages in *d. */
typedef void (*net_diff_fn)(void *ctx, char op, const char *what, const char *text);
int net_diff(const struct rp_config *cfg, net_diff_fn emit, void *ctx, struct diag *d);
/* Remove exactly what rempart created (recorded in cfg->state_dir).  */
int net_down(const struct rp_config *cfg, struct diag *d);
#endif
