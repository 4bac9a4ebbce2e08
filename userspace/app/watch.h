/* watch.h — the daemon's watch over what it configured (rempart(8), run): an
 * rtnetlink socket (links, addresses, routes, rules of both families) read
 * in the daemon's poll loop.  It tells when something the configuration
 * wants went away and must be put back — a tunnel or cloud link that came
 * back (recreated, or up again after a flap: the kernel dropped its routes),
 * a route of a tenant's table, an address, a rule of rempart's — and for
 * which tenants; the daemon then runs a restore (daemon_enforce with those
 * tenants verified in full).  It also tells when the gateway's own addresses
 * changed (the dataplane compiles the policy against them). */
#ifndef REMPART_WATCH_H
#define REMPART_WATCH_H
#include <stdbool.h>
#include <stddef.h>
#include "config/config.h"
#include "lib/diag.h"

struct watch;

int watch_open(struct watch **w, struct diag *d);
void watch_close(struct watch *w);
int watch_fd(const struct watch *w);
/* The links of cfg as they are now become the reference (after a change,
 * after a reload: what the daemon did itself is no news). */
void watch_reset(struct watch *w, const struct rp_config *cfg);
/* Take in what the kernel told since the last call. */
void watch_read(struct watch *w, const struct rp_config *cfg);
/* Milliseconds until a restore is due (0: now), -1 if none is pending. */
int watch_timeout_ms(const struct watch *w);
/* A restore is due: per tenant index, whether to verify it in full
 * (cfg->n_tenants entries, owned by w), and why, one line for the log.
 * The flags stay until watch_done. */
bool watch_due(const struct watch *w, const bool **verify, const char **why);
/* The restore ran: ok, or failed and is to be tried again in RETRY_MS. */
void watch_done(struct watch *w, bool ok, int retry_ms);
/* The gateway's addresses changed since the last call (and clears it). */
bool watch_addrs_changed(struct watch *w);
#endif
