/* site_watch.h — one log line per site up and down: the daemon reads every
 * tenant's WireGuard device every few seconds and logs a site "up" when it
 * gained a handshake (its last one is younger than the up time of
 * metrics.h, rempart(8): 180 s) and "down" when it has had none for that
 * long; a site whose tunnel is gone is down.  Lines are notices with the
 * journal fields TENANT= SITE= SITE_STATE=up|down. */
#ifndef REMPART_SITE_WATCH_H
#define REMPART_SITE_WATCH_H
#include <stddef.h>
#include "config/config.h"

struct site_watch {
	long long next_ms;		/* monotonic: the next poll */
	struct site_seen {
		char *tenant, *site;
		int up;			/* -1 not seen yet, 0 down, 1 up */
	} *v;
	size_t n;
};

/* Milliseconds until the next poll (0: now). */
int site_watch_timeout(const struct site_watch *w);
/* Poll if it is time: log the sites that changed.  A site new to the watch
 * (start, a reload that added it) is logged only when it is up. */
void site_watch_run(struct site_watch *w, const struct rp_config *cfg);
void site_watch_free(struct site_watch *w);
#endif
