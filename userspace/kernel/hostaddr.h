/* hostaddr.h — the gateway's own addresses as the kernel has them
 * (struct rp_host_addrs, config.h), read over rtnetlink: what the policy
 * compiler and `explain` take as "the addresses of the gateway" beyond the
 * config's.  The daemon reads them again when they change (DHCP, SLAAC, a
 * moved HA address): dataplane_addrs_changed(). */
#ifndef REMPART_HOSTADDR_H
#define REMPART_HOSTADDR_H
#include "config/config.h"

/* Every address of every interface into out->all; those of the interface
 * named uplink (NULL: none), link-local ones left out, into out->uplink.
 * 0 or -errno (out is then empty).  Frees what out held. */
int host_addrs_read(const char *uplink, struct rp_host_addrs *out);
/* Same lists (order included). */
bool host_addrs_equal(const struct rp_host_addrs *a, const struct rp_host_addrs *b);
void host_addrs_free(struct rp_host_addrs *h);
/* A copy (deep). 0 or -ENOMEM. */
int host_addrs_copy(struct rp_host_addrs *dst, const struct rp_host_addrs *src);
#endif
