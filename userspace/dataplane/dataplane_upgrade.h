/* SPDX-License-Identifier: GPL-2.0 */
/* dataplane_upgrade.h — maps of another layout made beside the pinned ones
 * and put in their place once every attachment runs the new programs
 * (inside the dataplane folder only; dataplane_upgrade.c). */
#ifndef RP_DATAPLANE_UPGRADE_H
#define RP_DATAPLANE_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include "config/config.h"
#include "dataplane/dataplane_maps.h"
#include "lib/diag.h"

/* The subdirectory of RP_PIN_DIR where the new maps wait. */
#define RP_PIN_NEXT "next"

struct bpf_object;

struct dp_upgrade {
	size_t n;		/* pinned maps this build cannot reuse */
	bool policy;		/* the policy's maps are made anew, all of them */
	bool flows;		/* the flow tables' maps are made anew, all of them */
};

/* Before the load: every map of obj that cannot reuse its pin (and those
 * read together with it) gets a pin path under RP_PIN_DIR/next, so that
 * the load creates it beside the old one.  0 or -errno (d says why). */
int dp_upgrade_plan(struct bpf_object *obj, struct dp_upgrade *up, struct diag *d);
/* After the load, before the policy install: what carries over from the old
 * maps into the new ones (the policy generation, the flow tables). */
void dp_upgrade_carry(const struct dp_upgrade *up, const struct dp_maps *m, const struct rp_config *cfg);
/* Once every attachment runs the new programs: the new pins replace the
 * old ones (the maps of older builds this one lacks are unpinned). */
int dp_upgrade_promote(const struct dp_upgrade *up, struct diag *d);
/* Remove RP_PIN_DIR/next (an upgrade that failed or was interrupted). */
void dp_upgrade_clear(void);

#endif
