/* rekey.h — a site's key rotation on the gateway's side (`site rekey`).
 *
 * The tenant file holds a rotation in progress: public_key is the site's new
 * key, previous_public_key (and previous_preshared_key_file) the key pair it
 * replaces.  WireGuard gives an allowed IP to one peer of an interface, so
 * while the site still uses its previous key, that peer keeps the site's
 * addresses and the new one has none: it can answer a handshake, not yet
 * carry traffic.  The site has switched once its new key has had a
 * handshake; then the new peer takes the addresses (moved in one device
 * change, never absent) and the previous peer goes.  `rempart run` watches
 * the tunnels of sites in rotation every RP_REKEY_POLL_MS and does it at
 * once (rekey_watch.h); `apply` does it too when it finds the site
 * switched.  The tenant file is tidied afterwards (rekey_watch.h). */
#ifndef REMPART_REKEY_H
#define REMPART_REKEY_H
#include <stdbool.h>
#include "config/config.h"
#include "kernel/wg/wg.h"
#include "lib/diag.h"

#define RP_REKEY_POLL_MS 10

/* Some site of t is in rotation. */
bool rekey_pending(const struct rp_tenant *t);
/* S is in rotation and its new key has had a handshake on dev (NULL: no). */
bool rekey_switched(const struct rp_site *s, const wg_device *dev);
/* The peer that carries S's traffic on dev: the new key's once switched (or
 * without a rotation), the previous key's before.  NULL if absent. */
const wg_peer *rekey_peer_in_use(const struct rp_site *s, const wg_device *dev);

/* Finish S's rotation on its tenant's device: the new peer takes the site's
 * addresses and its keepalive, the previous peer is removed, in one change.
 * 0 or -errno. */
int rekey_finish_device(const struct wg_backend *wg, const struct rp_tenant *t,
			const struct rp_site *s);
#endif
