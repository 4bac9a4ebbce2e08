/* daemon.h — `rempart run` (daemon.c) and the load/enforce steps that the
 * daemon, its reloads and confirm's rollback share (daemon_apply.c). */
#ifndef REMPART_DAEMON_H
#define REMPART_DAEMON_H
#include <stdbool.h>
#include <stdint.h>
#include "app/changelock.h"
#include "config/config.h"
#include "geo/geo.h"
#include "lib/diag.h"

struct daemon_opts {
	const char *config_path;
	unsigned event_log_per_sec;	/* drop events logged per second; 0: none */
	unsigned audit_interval;	/* seconds between periodic audits; 0: only after changes */
};

/* The foreground daemon; returns an exit code (exitcode.h). */
int daemon_run(const struct daemon_opts *o);

/* config_load (every check) then geo_load.  0; -EINVAL (config or geo
 * error: exit code 1) or -errno, with every message in *d.  On failure
 * *cfg and *geo are untouched-and-empty (nothing to free). */
int daemon_load(const char *path, struct rp_config *cfg, struct geo_db *geo, struct diag *d);
/* One change: what it is, and what the change lock tells. */
struct enforce {
	enum change_kind kind;		/* recorded in change.lock (0: CH_APPLY) */
	const bool *verify;		/* per tenant: compare everything (net.h) */
	bool check_seq;			/* refuse with -ESTALE, changing nothing, if
					 * the last change is not seq (someone else
					 * changed the system since) */
	uint64_t seq;			/* in (check_seq): the last change known;
					 * out: this one's (or the last one's) */
	enum change_kind other;		/* out, -ESTALE: the change that came between */
};
/* Under the change lock (app/changelock.h): the programs attached to every
 * configured interface that exists (before anything changes), net_apply
 * (a link it brings up gets its programs first), then dataplane_apply.
 * e may be NULL.  0 or -errno with messages in *d. */
int daemon_enforce(const struct rp_config *cfg, const struct geo_db *geo, struct enforce *e,
		   struct diag *d);
/* The gateway's addresses changed (the daemon's watch): the policy is
 * compiled against them and installed (dataplane_addrs_changed), under the
 * change lock, with e's rule on the last change (-ESTALE).  0 or -errno
 * with messages in *d. */
int daemon_addrs_changed(const struct rp_config *cfg, struct enforce *e, struct diag *d);
/* Load and enforce PATH in one go (confirm's rollback); logs what it does.
 * Returns an exit code (exitcode.h). */
int daemon_apply_path(const char *path, const char *why, enum change_kind kind);

/* The live policy generation from the pinned rp_state; -errno if none. */
int daemon_generation(uint64_t *gen);

/* A fingerprint of the files a config was read from, to log what changed. */
struct cfg_fingerprint {
	uint64_t main;			/* rempart.ini */
	size_t n;
	struct { char *name; uint64_t hash; } *tenants;
};
void cfg_fingerprint(const struct rp_config *cfg, struct cfg_fingerprint *fp);
/* Log one line per difference ("tenant X added/removed/changed"); returns
 * the number of differences. */
int cfg_fingerprint_log(const struct cfg_fingerprint *old, const struct cfg_fingerprint *new,
			const char *prefix);
void cfg_fingerprint_free(struct cfg_fingerprint *fp);

#endif
