/* rekey_watch.h — the daemon's side of a site's key rotation (rekey.h):
 * watch the sites in rotation, finish their rotation at the first
 * handshake with the new key, tidy the tenant file. */
#ifndef REMPART_REKEY_WATCH_H
#define REMPART_REKEY_WATCH_H
#include "config/config.h"
#include "lib/diag.h"

/* Tidy the tenant file after S's rotation: its previous_public_key and
 * previous_preshared_key_file lines removed, the previous preshared key
 * wiped and unlinked.  0 or -errno, with a message in d. */
int rekey_tidy_file(const struct rp_tenant *t, const struct rp_site *s, struct diag *d);

/* After apply: tidy the tenant files of the sites whose rotation apply
 * found done (their new key had a handshake), or record them as done in
 * STATE_DIR/rekeyed when the files cannot be written (the daemon under
 * systemd: /etc/rempart is read-only to it). */
void rekey_tidy_switched(const struct rp_config *cfg);
/* After config_load: the sites STATE_DIR/rekeyed records as done get
 * has_previous cleared (the new key alone).  tidy: also tidy their tenant
 * files where that can be done, and drop the records that are no longer
 * needed (stale: the file names other keys).  0 or -errno. */
int rekey_done_load(struct rp_config *cfg, bool tidy);

/* The daemon's watch: every RP_REKEY_POLL_MS while some site is in rotation,
 * read the devices of those tenants and finish the rotations of the sites
 * that switched (logging each, with the time since the watch first saw the
 * rotation pending). */
struct rekey_watch {
	long long next_ms;	/* monotonic: the next poll */
};
/* Milliseconds until the next poll, -1 when nothing is in rotation. */
int rekey_watch_timeout(struct rekey_watch *w, const struct rp_config *cfg);
/* Poll if it is time.  Sites finished get has_previous cleared in cfg. */
void rekey_watch_run(struct rekey_watch *w, struct rp_config *cfg);
#endif
