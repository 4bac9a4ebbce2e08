/* confirm.h — `apply --confirm SECONDS` and `confirm` (rempart(8)): roll back
 * to the previous configuration by itself unless `confirm` comes in time,
 * also when the process that ran `apply` is gone.
 *
 * State, all under cfg->state_dir (created 0700):
 *   applied/            the last configuration applied successfully: a copy of
 *                       rempart.ini, the tenants' .ini files, the key files they
 *                       name (keys/, mode 0600: a rollback puts the keys of a
 *                       rotation back too) and a "source" file naming where
 *                       they live
 *   confirm/previous/   the configuration to roll back to (a copy of applied/
 *                       taken when the first unconfirmed apply was armed)
 *   confirm/token, confirm/deadline, confirm/seconds, confirm/timer.pid
 *   confirm/applying    pid of the apply that armed, until it is done
 *   rejected/           after a rollback: the configuration that was undone,
 *                       so the operator's edits are not lost
 *   confirm.lock        flock between `confirm` and the timer
 *   confirm.log         the timer's log when there is no journal
 *
 * The timer is a detached process (double fork, setsid) running
 *   rempart -c CONFIG confirm --rollback-at UNIXTIME --token T --state-dir DIR
 * The SECONDS window starts when the arming apply is done (its
 * confirm_record_applied() moves the deadline); the timer never rolls back
 * while that apply still runs, and if the apply dies the original deadline
 * (arm time + SECONDS) holds.
 * At the deadline it takes confirm.lock and, if the token is still pending,
 * restores the files of confirm/previous into their places, keeps the undone
 * ones in rejected/, applies the restored config (config_load, geo_load,
 * net_apply, dataplane_apply), records it as applied, and sends SIGHUP to a
 * running `rempart run` (pid in state_dir/rempart.pid) so its view follows.
 * `rempart run` re-arms a pending timer that died (reboot) at start.
 * Under systemd (INVOCATION_ID set, as in rempart.service) the timer is
 * instead a transient timer unit, rempart-rollback-TOKEN.timer made with
 * systemd-run, so that it runs outside the service's sandbox
 * (ProtectSystem=strict makes /etc/rempart read-only there) and survives the
 * service's stop; the double fork is the fallback.
 *
 * The call sequence for cmd_apply.c:
 *
 *   config_load(path, 0, &cfg, &d)            errors: exit 1, nothing armed
 *   if (--confirm SECONDS)
 *       confirm_arm(&cfg, path, SECONDS, &d)  errors: exit 2, apply nothing
 *   confirm_record_begin(&cfg, &rec, &d)      the snapshot, built in a thread
 *   geo_load, net_apply, dataplane_apply      as a plain apply
 *   on success:
 *       confirm_record_end(&rec, true, &d)    (also without --confirm)
 *       if armed: print "confirm within SECONDS s (rempart confirm), or ..."
 *   on failure:
 *       confirm_record_end(&rec, false, &d)   the snapshot is dropped
 *       if armed: confirm_rollback_now(cfg.state_dir, &d)  back to the
 *       previous config
 *
 * A plain `apply` (without --confirm) does not confirm a pending one: the
 * rollback still goes back to the configuration before the first unconfirmed
 * `apply --confirm`.  A second `apply --confirm` re-arms with a new deadline
 * and keeps that same rollback target. */
#ifndef REMPART_CONFIRM_H
#define REMPART_CONFIRM_H
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include "config/config.h"
#include "lib/diag.h"

/* The executable the timer runs; NULL (default): /proc/self/exe.  Tests that
 * arm from a test program point it at the rempart binary. */
extern const char *confirm_exe;

/* Record cfg (read from config_path) as the last applied configuration.
 * 0 or -errno with a message in *d. */
int confirm_record_applied(const struct rp_config *cfg, struct diag *d);
/* The same in two steps, for `apply`: begin right after the configuration
 * is read (the snapshot is built in a thread while the network and the
 * dataplane are changed), end once they are: commit swaps it in as the
 * applied configuration, !commit drops it. */
struct confirm_record {
	const char *state_dir;
	char main[PATH_MAX], tenants[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX];
	char **keys;			/* the key files the configuration names */
	size_t n_keys;
	pthread_t tid;
	bool begun, started;
	int err;
};
int confirm_record_begin(const struct rp_config *cfg, struct confirm_record *r, struct diag *d);
int confirm_record_end(struct confirm_record *r, bool commit, struct diag *d);

/* Before applying cfg with --confirm: keep the previously applied config as
 * the rollback target and start the detached timer.  If no configuration
 * was ever recorded as applied (a first apply), the target is nothing
 * configured, fail closed (confirm_nothing.c). */
int confirm_arm(const struct rp_config *cfg, const char *config_path, unsigned seconds,
		struct diag *d);

/* `rempart confirm`: cancel the pending rollback.  -ENOENT if none. */
int confirm_cancel(const char *state_dir, struct diag *d);

/* Roll back now (the timer at its deadline; apply after a failure).
 * Returns an exit code (exitcode.h). */
int confirm_rollback_now(const char *state_dir, struct diag *d);

/* Under confirm.lock (statedir_lock): put the snapshot directory SNAP
 * (applied/'s layout) back in place (the current files kept in rejected/,
 * the keys first), apply it, record it as applied (and in the history).
 * WHY names the operation in messages; *restored: the files were put back
 * (whatever the apply gave).  An exit code. */
int confirm_restore_locked(const char *state_dir, const char *snap, const char *why,
			   bool *restored, struct diag *d);
/* SIGHUP to a running `rempart run` of state_dir, logged. */
void confirm_hup_daemon(const char *state_dir);

/* confirm_nothing.c: the rollback target of a first `apply --confirm`
 * (DIR: confirm/previous; MAIN, TENANTS: where the configuration lives),
 * whether SNAP is one, and going back to it (under confirm.lock): an exit
 * code. */
int confirm_snap_nothing(const char *dir, const char *main, const char *tenants);
bool confirm_snap_is_nothing(const char *snap);
int confirm_restore_nothing_locked(const char *state_dir, const char *snap, struct diag *d);

/* True when a rollback is pending; *deadline gets its time. */
bool confirm_pending(const char *state_dir, long long *deadline);

/* At `run` start: if a rollback is pending and its timer is gone (reboot),
 * start a new timer for the same deadline (now if it passed). */
int confirm_resume(const struct rp_config *cfg, const char *config_path, struct diag *d);

/* The timer process (hidden `confirm --rollback-at` mode).  Exit code. */
int confirm_timer_main(const char *state_dir, long long deadline, const char *token);
#endif
