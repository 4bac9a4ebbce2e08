// SPDX-License-Identifier: GPL-2.0
/* flow_grow.c — the daemon's pass over the flow tables; see flow_grow.h. */
#include <unistd.h>
#include "app/flow_grow.h"
#include "dataplane/dataplane_flows.h"
#include "dataplane/dataplane_maps.h"
#include "lib/clock.h"
#include "lib/diag.h"
#include "lib/log.h"
#include "lib/statedir.h"

int flow_grow_tick(struct flow_grow *g, const struct rp_config *cfg)
{
	struct diag d = { 0 };
	struct dp_maps m;
	double now = clock_ms();
	int lock, n;

	if (now < g->next)
		return 0;
	g->next = now + FLOW_GROW_EVERY_MS;
	/* a change running (apply, reload, down) gives its tables to its
	 * config: never replace one beside it */
	lock = statedir_trylock(cfg->state_dir, SD_CHANGE_LOCK);
	if (lock < 0)
		return 0;
	if (dp_maps_open_pinned(&m, RP_PIN_DIR)) {
		close(lock);	/* nothing loaded (down, or not yet) */
		return 0;
	}
	n = dp_flow_tables_grow(&m, cfg, &d);
	dp_maps_close(&m);
	close(lock);
	for (size_t i = 0; i < d.n; i++)
		pr_warn("flows: %s", d.msgs[i]);
	diag_free(&d);
	if (n > 0)
		g->grown += n;
	return n;
}
