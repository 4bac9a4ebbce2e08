/* net_wg.h — WireGuard device/peer diff for the reconcile (net_wg.c). */
#ifndef REMPART_NET_WG_H
#define REMPART_NET_WG_H
#include "config/config.h"
#include "kernel/wg/wg.h"

/* The smallest "set" making the running device CUR (NULL: new) match tenant
 * T; *out NULL when nothing differs.  *n_changes counts device fields and
 * peers touched. */
int net_wg_diff(const struct rp_tenant *t, const wg_device *cur, wg_device **out,
		unsigned int *n_changes, char *why, size_t whylen);
/* Resolve "host:port" into p->endpoint. */
int net_wg_endpoint(const char *s, wg_peer *p, char *why, size_t whylen);
#endif
