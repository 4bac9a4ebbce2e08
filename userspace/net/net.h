/* net.h — links, addresses, routes, rules, NAT and WireGuard peers seen from
 * the commands: reconcile the kernel with the config.  Implemented by the
 * tunnels module (netlink + WireGuard backends). */
#ifndef REMPART_NET_H
#define REMPART_NET_H
#include <stddef.h>
#include "config/config.h"
#include "lib/diag.h"

/* Make interfaces, addresses, routing tables, policy rules, NAT and
 * WireGuard devices/peers match cfg, changing only what differs (peers that
 * did not change keep their sessions).  0, or -errno with messages in *d. */
int net_apply(const struct rp_config *cfg, struct diag *d);
/* Remove exactly what rempart created (recorded in cfg->state_dir).  */
int net_down(const struct rp_config *cfg, struct diag *d);

/* What the network side names after a tenant (`rempart audit` reads them
 * back, tenant.c): its cloud attachment link, "CLOUD" or "CLOUD.VLAN", and
 * its routing table, 1000 + id. */
void net_cloud_ifname(const struct rp_tenant *t, char *buf, size_t len);
unsigned net_tenant_table(unsigned id);
#endif
