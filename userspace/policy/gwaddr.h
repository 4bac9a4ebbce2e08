/* gwaddr.h — the gateway's own addresses and ports as the policy sees
 * them (docs/policy.md "The gateway itself"), one definition for the
 * policy compiler and the reference evaluator:
 *
 *   G, the addresses of the gateway: every tenant's tunnel_address and
 *   cloud_address, every address found on the gateway's interfaces
 *   (cfg->host.all), the IPv4 subnet broadcast (prefix < 31) and IPv6
 *   subnet-router anycast (prefix < 127) of each of those, and the fixed
 *   ranges the kernel keeps for itself (this host, loopback, link-local,
 *   multicast, limited broadcast);
 *   U, the uplink's addresses: public_endpoint when it is an address, then
 *   those of cfg->host.uplink, the first RP_UPLINK_ADDRS of each family
 *   (what the programs hold);
 *   the NAT source ports: where masquerade puts a tenant's connections,
 *   clear of every port the gateway serves.
 */
#ifndef REMPART_GWADDR_H
#define REMPART_GWADDR_H
#include <stdbool.h>
#include <stdint.h>
#include "config/config.h"

/* Call fn for every prefix of G (duplicates possible); stops at the first
 * non-zero return, which it returns. */
typedef int (*gw_prefix_fn)(const struct rp_prefix *p, void *arg);
int gw_addrs_each(const struct rp_config *cfg, gw_prefix_fn fn, void *arg);
/* a is in G. */
bool gw_addr_is(const struct rp_config *cfg, const struct rp_addr *a);
/* a is the host address of one of t's tunnel_address / cloud_address. */
bool gw_addr_own(const struct rp_tenant *t, const struct rp_addr *a);
bool gw_addr_own_cloud(const struct rp_tenant *t, const struct rp_addr *a);
/* a is in U. */
bool gw_uplink_is(const struct rp_config *cfg, const struct rp_addr *a);
/* U holds no address of family fam. */
bool gw_uplink_none(const struct rp_config *cfg, uint8_t family);
/* The first RP_UPLINK_ADDRS addresses of family fam on the uplink, as
 * host prefixes; returns how many. */
size_t gw_uplink_list(const struct rp_config *cfg, uint8_t family, struct rp_addr *out);

/* Link-scoped destinations: IPv6 link-local unicast (fe80::/10) or
 * link-local multicast (ff02::/16). */
bool gw_addr_link_scope(const struct rp_addr *a);
/* IPv4 255.255.255.255. */
bool gw_addr_limited_broadcast(const struct rp_addr *a);

/* The source ports masquerade gives a tenant's NATed connections: the
 * widest run of [RP_NAT_LO, 65535] holding no port the gateway serves
 * (listen ports, [management] tcp_ports, [metrics] listen).  Above the
 * kernel's default ephemeral range (32768-60999), so the gateway's own
 * connections never use them either. */
#define RP_NAT_LO 61000
void gw_nat_ports(const struct rp_config *cfg, uint16_t *lo, uint16_t *hi);
/* Tenant index ti offers a [share] to another tenant. */
bool gw_share_provider(const struct rp_config *cfg, size_t ti);
#endif
