/* apply_plan.h — what `rempart apply` would change, without changing it
 * (`apply --dry-run`, `rempart diff`): the kernel side from net_diff()
 * (links, addresses, routes, rules, WireGuard devices and peers, NAT), then
 * the policy by tenant and section: the configuration last applied
 * (STATE_DIR/applied/, app/confirm.h) against the files now, section by
 * section, so a [rule] added, removed or edited is one line each; the geo
 * database when its files changed since the dataplane loaded them; the
 * dataplane when it is not loaded.
 *
 * Lines, in the order apply works:
 *   + link wg-x wireguard (wireguard-go), mtu 1420, up
 *   + route 10.1.0.0/24 dev wg-x table 1010 metric 100
 *   - peer wg-x lyon
 *   ~ policy tenant interieur [rule web]: ports, action
 *   + policy tenant justice [site vendome]
 */
#ifndef REMPART_APPLY_PLAN_H
#define REMPART_APPLY_PLAN_H
#include "config/config.h"
#include "lib/diag.h"
#include "net/net.h"

/* Every change through EMIT (net.h's callback; WHAT is also "policy",
 * "geo", "dataplane").  The number of changes, or -errno with messages in
 * *d. */
int apply_plan(const struct rp_config *cfg, net_diff_fn emit, void *ctx, struct diag *d);
/* Only the policy part (no kernel access): the applied snapshot against
 * cfg's files.  The number of changes, or -errno. */
int apply_plan_policy(const struct rp_config *cfg, net_diff_fn emit, void *ctx, struct diag *d);
#endif
