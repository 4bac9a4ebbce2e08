// SPDX-License-Identifier: GPL-2.0
/* zz_tmp_ops_stubs.c — TEMPORARY stand-ins so the ops branch (run, metrics,
 * monitor, confirm) links and can be tested before the tunnels and dataplane
 * modules are merged.  DELETE THIS FILE once `git merge main` brings net*.c
 * and dataplane*.c.
 *
 * Every symbol is weak, so a real module linked next to it wins.  They do
 * nothing and succeed; the tests tell "dataplane not in this build" by
 * probing for the pinned maps after `run` is ready. */
#include "dataplane.h"
#include "net.h"

#define WEAK __attribute__((weak))

WEAK int net_apply(const struct rp_config *cfg, struct diag *d)
{
	return 0;
}

WEAK int net_down(const struct rp_config *cfg, struct diag *d)
{
	return 0;
}

WEAK int dataplane_apply(const struct rp_config *cfg, const struct geo_db *geo, struct diag *d)
{
	return 0;	/* pins nothing: tests probe RP_PIN_DIR to see that */
}

WEAK int dataplane_down(struct diag *d)
{
	return 0;
}
