/* ha.h — the active/standby pair (docs/ha.md): keepalived does VRRP,
 * rempart writes its configuration (ha_conf.c) and supervises it (ha.c).
 *
 * The daemon owns one struct ha: ha_start() after the first apply,
 * ha_fd() in its poll set, ha_tick() on every turn of its loop (reads role
 * changes, restarts keepalived when it died), ha_reconfigure() after a
 * reload, ha_set_health() when the dataplane is or is not enforced,
 * ha_stop() at exit.  `status` reads the recorded role with ha_role_read(). */
#ifndef REMPART_HA_H
#define REMPART_HA_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include "config/config.h"
#include "ha/ha_conntrackd.h"
#include "ha/ha_flows.h"
#include "lib/diag.h"

enum ha_role { HA_FAULT = -1, HA_STANDBY = 0, HA_ACTIVE = 1 };

/* Where a site was last seen on the active (peer endpoint sync). */
struct ha_hint {
	uint32_t tenant;		/* its tenant's id */
	uint8_t key[32];		/* the site's public key */
	struct sockaddr_storage ep;	/* its endpoint there */
};

struct ha {
	bool on;			/* [ha] is configured and keepalived supervised */
	char *state_dir;
	char *keepalived;		/* the binary */
	pid_t pid;			/* keepalived's parent process; 0: not running */
	int fifo;			/* the notify FIFO, read end; -1 */
	char buf[512];			/* a partial line from the FIFO */
	size_t len;
	enum ha_role role;
	uint64_t transitions;		/* role changes since the daemon started */
	double since;			/* CLOCK_MONOTONIC ms of the last change */
	double restart_at;		/* ms: start keepalived again then (0: none due) */
	unsigned restarts;
	bool healthy;			/* what the track file says */
	/* peer endpoint sync (ha_peers.c) */
	const struct rp_config *cfg;	/* the daemon's, for the sync */
	int sync_fd;			/* UDP, HA_SYNC_PORT on sync_interface; -1 */
	double sync_next;		/* ms: the active's next export */
	double sync_rx;			/* ms: the last hints received (0: none) */
	uint64_t sync_bad;		/* datagrams refused */
	struct ha_flows flows;		/* flow sync (ha_flows.c) over the same socket */
	struct ha_hint *hints;		/* the newest endpoint per (tenant, key) */
	size_t n_hints;
	/* both active (ha_peers.c): the peer's datagrams (only an active
	 * sends) reached this active one: renew the sessions */
	bool peer_was_active;		/* a datagram from the peer this turn */
	double renew_next;		/* ms: no renewal before then */
	double renew_at;		/* ms: renew then (0: none due) */
	uint64_t renewals;		/* sessions renewed after both were active */
	struct ha_ct ct;		/* conntrackd, for NAT tenants (ha_conntrackd.c) */
};

/* The sync's UDP port on sync_interface (IANA's ha-cluster), and the most
 * (tenant, site key) hints kept. */
#define HA_SYNC_PORT RP_HA_SYNC_PORT
#define HA_MAX_HINTS 65536

/* The role's name in status and logs: "active", "standby", "fault". */
const char *ha_role_name(enum ha_role r);

/* keepalived.conf for cfg into buf (allocated; the caller frees).  0 or
 * -ENOMEM. */
int ha_conf_text(const struct rp_config *cfg, const char *state_dir, char **buf);

/* Write the configuration, create the FIFO and the health file (fault
 * until ha_set_health), start keepalived.  Nothing when cfg has no [ha].
 * 0 or -errno with a message in *d. */
int ha_start(struct ha *h, const struct rp_config *cfg, struct diag *d);
/* After a reload: [ha] added, removed or changed — the configuration is
 * rewritten and keepalived reloaded (SIGHUP), started or stopped. */
int ha_reconfigure(struct ha *h, const struct rp_config *cfg, struct diag *d);
/* The FIFO's fd to poll (-1: none). */
int ha_fd(const struct ha *h);
/* Read role changes, reap and restart keepalived; returns the poll timeout
 * it wants in ms (-1: none). */
int ha_tick(struct ha *h);
/* rempart's health as keepalived tracks it: false puts the instance in
 * FAULT (it gives the virtual addresses up). */
void ha_set_health(struct ha *h, bool healthy);
/* Stop keepalived (SIGTERM, then SIGKILL after 2 s) and forget the role. */
void ha_stop(struct ha *h);

/* Peer endpoint sync (ha_peers.c): open and close the socket; every turn
 * of the loop, read the peer's hints and, while active, send ours each
 * second (returns the poll timeout it wants, -1: none); at takeover, call
 * every hinted site.  ha_sync_parse takes one datagram (the number of
 * entries, or -EINVAL); ha_hint_endpoint_ok says whether an endpoint may
 * be used. */
int ha_sync_open(struct ha *h, const struct rp_config *cfg);
void ha_sync_close(struct ha *h);
int ha_sync_tick(struct ha *h);
void ha_sync_takeover(struct ha *h);
/* The peer's datagrams reached this gateway while it is active, or its
 * keepalived heard the peer's advert as master (MASTER_RX_LOWER_PRI): both
 * were active (it was frozen, or the sync link was cut).  Whichever gateway the
 * sites went to meanwhile, their sessions may be with the other: call every
 * site again as at a takeover, unless this gateway became active less than
 * HA_RENEW_AFTER_MS ago (the old active's last datagrams) or renewed less
 * than HA_RENEW_EVERY_MS ago.  true if a renewal is now due, HA_RENEW_DELAY_MS
 * later (ha_sync_tick makes the call). */
#define HA_RENEW_AFTER_MS 1000
#define HA_RENEW_EVERY_MS 5000
#define HA_RENEW_DELAY_MS 500	/* the call is made this much later (ha_sync_tick) */
bool ha_sync_renew_due(struct ha *h, double now_ms, const char *why);
/* The active steps down: one last flow datagram tells the peer it was
 * active (a split brain's loser renews nothing; the winner does). */
void ha_sync_goodbye(struct ha *h);
int ha_sync_parse(struct ha *h, const struct rp_config *cfg, const uint8_t *buf, size_t len);
bool ha_hint_endpoint_ok(const struct sockaddr_storage *ss);

/* WireGuard out of the uplink only from public_endpoint, and only while
 * it is here (ha_nft.c): table inet rempart_ha.  ha_nft_text gives the
 * ruleset (allocated), ha_nft_apply loads it (0 or -errno with a message
 * in *d), ha_nft_remove deletes the table if there. */
int ha_nft_text(const struct rp_config *cfg, char **buf);
int ha_nft_apply(const struct rp_config *cfg, struct diag *d);
void ha_nft_remove(void);

/* The role the running daemon recorded in STATE_DIR (ha.role), and when
 * it changed (unix seconds); HA_FAULT when no daemon records one.
 * 0 or -errno. */
int ha_role_read(const char *state_dir, enum ha_role *role, uint64_t *transitions,
		 uint64_t *since_unix);
#endif
