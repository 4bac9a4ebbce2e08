/* ha_conntrackd.h — the NAT tenants' conntrack synced by conntrackd in an
 * [ha] pair (docs/ha.md "NAT state: conntrackd").
 *
 * With [ha] and at least one tenant with egress = nat, `rempart run` writes
 * STATE_DIR/conntrackd.conf (ha_ct_text), runs conntrackd in the
 * foreground as its child (restarted a second after it dies, SIGTERM when
 * the daemon dies, stopped at exit) and drives it at each role change as
 * conntrackd's primary-backup script does (ha_ct_role): on becoming active
 * the external cache is committed into the kernel, the committed entries
 * get back the conntrack zone of their tenant (ha_ct_rezone: conntrackd
 * carries no directional zone), then the caches are flushed, resynced from
 * the kernel and sent to the peer; on becoming standby the kernel's
 * entries are given a purge timer and a resync is asked of the peer; in
 * fault, the purge timer only.  Role changes run in a child process: the
 * daemon's loop never waits on conntrackd. */
#ifndef REMPART_HA_CONNTRACKD_H
#define REMPART_HA_CONNTRACKD_H
#include <stdbool.h>
#include <sys/types.h>
#include "config/config.h"
#include "lib/diag.h"

struct ha_ct {
	bool on;			/* conntrackd is wanted and supervised */
	const struct rp_config *cfg;	/* the daemon's, for a restart */
	char *state_dir;
	char *bin;			/* conntrackd */
	pid_t pid;			/* conntrackd; 0: not running */
	pid_t hook;			/* the role change being carried out; 0: none */
	int pending;			/* the role to carry out after it (-2: none) */
	double restart_at;		/* ms: start conntrackd again then (0: none due) */
	unsigned restarts;
};

/* The child's side of a fork of the daemon (keepalived, conntrackd, a role
 * change): default signal mask and dispositions, its own process group
 * when OWN_GROUP, SIGTERM when the daemon dies (PR_SET_PDEATHSIG).  false:
 * the daemon PARENT is already gone. */
bool ha_child_setup(pid_t parent, bool own_group);
/* Start BIN with ARGV as a supervised child of the daemon (ha_child_setup,
 * its own process group): its pid, or -errno when fork fails. */
pid_t ha_spawn(const char *bin, char *const argv[]);

/* Whether the pair syncs conntrack: [ha] and a tenant with egress = nat. */
bool ha_ct_wanted(const struct rp_config *cfg);
/* conntrackd.conf for cfg into *buf (allocated), with LOCAL this gateway's
 * address on sync_interface (the peer's family).  0 or -ENOMEM. */
int ha_ct_text(const struct rp_config *cfg, const char *state_dir, const struct rp_addr *local,
	       char **buf);
/* Write the configuration and start conntrackd (nothing when not wanted).
 * 0 or -errno with a message in *d. */
int ha_ct_start(struct ha_ct *c, const struct rp_config *cfg, struct diag *d);
/* After a reload: started, restarted with the new configuration, or
 * stopped. */
int ha_ct_reconfigure(struct ha_ct *c, const struct rp_config *cfg, struct diag *d);
/* A role change (1 active, 0 standby, -1 fault), carried out in a child. */
void ha_ct_role(struct ha_ct *c, int role);
/* Reap conntrackd and the role child, restart conntrackd when it died;
 * the poll timeout it wants in ms (-1: none). */
int ha_ct_tick(struct ha_ct *c);
/* Stop conntrackd (SIGTERM, SIGKILL after 2 s) and any role child. */
void ha_ct_stop(struct ha_ct *c);

/* Give every NATed conntrack entry of a tenant (mark RP_MARK_BASE | id,
 * source NAT) that sits in the default zone its tenant's zone in the
 * original direction, as the nftables table inet rempart gives the
 * tenant's packets (net/nat.c): each is deleted and created again with the
 * same tuple, NAT, state, mark and timeout.  The number moved, or
 * -errno. */
int ha_ct_rezone(void);
/* Make every NATed TCP entry of a tenant (any zone) liberal in both
 * directions (IP_CT_TCP_FLAG_BE_LIBERAL): one left from an earlier time as
 * the active, stale since the connection went on through the peer, passes
 * again instead of being invalid.  The number changed, or -errno. */
int ha_ct_liberal(void);
#endif
