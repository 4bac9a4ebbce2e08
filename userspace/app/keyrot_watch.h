/* keyrot_watch.h — the daemon's side of a tenant key rotation (net/keyrot.h):
 * every RP_REKEY_POLL_MS while some tenant has a second tunnel, read both
 * of its devices and route each site through the tunnel of its latest
 * handshake, at once: from its first handshake on the next key, replies
 * go back the way it came (and back to the first tunnel if the site goes
 * back to the current key). */
#ifndef REMPART_KEYROT_WATCH_H
#define REMPART_KEYROT_WATCH_H
#include "config/config.h"

struct keyrot_seen;
struct keyrot_watch {
	long long next_ms;		/* monotonic: the next poll */
	struct keyrot_seen *v;		/* where each site was routed last */
	size_t n;
};
/* Milliseconds until the next poll, -1 when no tenant rotates its key. */
int keyrot_watch_timeout(struct keyrot_watch *w, const struct rp_config *cfg);
void keyrot_watch_run(struct keyrot_watch *w, const struct rp_config *cfg);
void keyrot_watch_free(struct keyrot_watch *w);
#endif
