/* dataplane_maps.h — the policy maps seen as file descriptors: write a
 * compiled policy into the inactive slot and swap it in (docs/dataplane.md).
 * Used by the loader (dataplane.c) and by the BPF tests, which load the
 * skeleton themselves. */
#ifndef REMPART_DATAPLANE_MAPS_H
#define REMPART_DATAPLANE_MAPS_H
#include "config/config.h"
#include "lib/diag.h"
#include "policy/policy.h"

struct dp_maps {
	int state, nodes, atoms, ifidx, portidx, rules, tenants, global, ifaces, ports;
	int sync, sync_inner, flowt4, flowt6, flow_stats, frags, counters, rule_counters, geo_drops;
};

struct rempart;	/* the skeleton (build/bpf/rempart.skel.h) */
void dp_maps_from_skel(const struct rempart *skel, struct dp_maps *m);

/* Compile cfg into the inactive slot, fill it, flip rp_state.active_slot,
 * wait until no program still reads the old slot, then clear it.  On
 * failure the running policy stays (the inactive slot is cleared).
 * ifindex as in policy_compile(). */
int dp_policy_install(const struct dp_maps *m, const struct rp_config *cfg,
		      policy_ifindex_fn ifindex, void *arg, struct diag *d);
/* Lower level, for the swap test: fill the inactive slot from a compiled
 * policy (compiled for that slot), then flip. */
int dp_policy_write(const struct dp_maps *m, const struct rp_policy *p, struct diag *d);
int dp_policy_flip(const struct dp_maps *m, unsigned new_slot, struct diag *d);
/* The flip alone, and the wait alone: returns once no program still runs
 * that started before the call (an RCU grace period, through rp_sync). */
int dp_policy_flip_nowait(const struct dp_maps *m, unsigned new_slot, struct diag *d);
int dp_policy_wait(const struct dp_maps *m);
int dp_slot_clear(const struct dp_maps *m, unsigned slot);	/* what lookups reach */
int dp_slot_clear_all(const struct dp_maps *m, unsigned slot);	/* + tenant entries */
int dp_active_slot(const struct dp_maps *m, unsigned *slot, unsigned long long *generation);
/* The start of every install: the active slot (and its generation, if
 * asked) read, and every tenant of cfg given its flow tables.  0 or -errno,
 * the reason added to d. */
int dp_install_begin(const struct dp_maps *m, const struct rp_config *cfg, unsigned *active,
		     unsigned long long *generation, struct diag *d);
/* One entry of the map fd (named what in the error added to d) written, or
 * deleted (an entry already gone is no error).  0 or -errno. */
int dp_map_put(int fd, const void *k, const void *v, const char *what, struct diag *d);
int dp_map_del(int fd, const void *k, const char *what, struct diag *d);
/* The slot's ifindex array (RP_IFIDX_MAX entries: untagged cloud frames and
 * tunnels) and listen-port array (RP_PORTIDX_PER_SLOT entries) as the
 * programs read them, filled from p into zeroed arrays. */
void dp_ifidx_fill(const struct rp_policy *p, struct rp_ifidx_val *v);
void dp_portidx_fill(const struct rp_policy *p, struct rp_portidx_val *v);
/* The pinned maps under dir (RP_PIN_DIR) by name; every fd -1 on failure.
 * dp_maps_close() closes what is open (for maps opened this way). */
int dp_maps_open_pinned(struct dp_maps *m, const char *dir);
void dp_maps_close(struct dp_maps *m);

/* dp_policy_install(), incremental: with rec_dir (a directory rempart owns,
 * e.g. <state_dir>/dataplane), a record of what each slot holds is kept
 * there, and a slot whose record is still valid is written with only what
 * differs from the new policy, then flipped.  The old slot is left as it is
 * (the next install diffs against it, after an RCU grace period waited for
 * while it compiles), unless it has no valid record: then it is brought up
 * to date at once.  When a record is missing or stale, the slot is cleared
 * and written in full.  rec_dir NULL: dp_policy_install(). */
int dp_policy_install_inc(const struct dp_maps *m, const struct rp_config *cfg,
			  policy_ifindex_fn ifindex, void *arg, const char *rec_dir, struct diag *d);
/* A policy compiled ahead, in a thread started by dp_precompile_start()
 * while the caller changes the network: for slot 0, with the ifindexes the
 * interfaces have at that time.  The thread also waits for the grace period
 * of the last flip (the pinned maps).  dp_policy_install_pre() installs it
 * (renumbered for the slot) when every interface it names still has that
 * ifindex and it fits the slot, and compiles in place otherwise.  NULL from
 * start (no thread): install compiles.  drop joins and frees. */
struct dp_precompiled;
struct dp_precompiled *dp_precompile_start(const struct rp_config *cfg);
void dp_precompile_drop(struct dp_precompiled *pc);
/* Join its thread; if its policy can be installed for cfg (compiled without
 * error, every interface it named still has the same ifindex, its trie fits
 * a slot), move the policy into *p (the caller frees it), tell whether the
 * thread waited for a grace period, and return true. */
bool dp_precompiled_take(struct dp_precompiled *pc, const struct rp_config *cfg,
			 struct rp_policy *p, bool *waited);
int dp_policy_install_pre(const struct dp_maps *m, const struct rp_config *cfg,
			  policy_ifindex_fn ifindex, void *arg, const char *rec_dir,
			  struct dp_precompiled *pc, struct diag *d);
/* Statistics of the last install in this process (tests, bench, debug). */
struct dp_install_stats {
	bool incremental;		/* slot written by difference */
	bool precompiled;		/* the policy compiled ahead was used */
	bool old_updated;		/* the old slot now holds the same policy */
	size_t nodes, atoms, rules, rules_deleted, other;	/* entries written */
};
void dp_install_last_stats(struct dp_install_stats *st);

/* A hash of the BPF object this binary carries (names its pinned programs). */
uint64_t dp_obj_tag(void);
#endif
