/* flow_grow.h — the daemon grows the flow tables under load
 * (docs/dataplane.md "Map sizes"): every FLOW_GROW_EVERY_MS, under the
 * change lock when it is free (a change in progress: the next turn), a
 * table whose live flows fill half of it is replaced by a larger one, its
 * flows kept (dp_flow_tables_grow()). */
#ifndef REMPART_FLOW_GROW_H
#define REMPART_FLOW_GROW_H
#include "config/config.h"

#define FLOW_GROW_EVERY_MS 2000

struct flow_grow {
	double next;		/* clock_ms() of the next pass, 0: at once */
	unsigned long grown;	/* tables grown by this daemon */
};

/* Call on each turn of the daemon's loop; does a pass when one is due.
 * The number of tables grown by that pass (0 none or not due). */
int flow_grow_tick(struct flow_grow *g, const struct rp_config *cfg);
#endif
