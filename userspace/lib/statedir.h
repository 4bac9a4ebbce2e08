/* statedir.h — the state directory ([gateway] state_dir, mode 0700): every
 * file and folder rempart keeps there is named here and nowhere else.
 *
 *   net.state            what net_apply created, so that `down` removes exactly
 *                        that (net/net_state.c)
 *   change.lock          flock: one change of the system at a time, network
 *                        then dataplane (apply, the daemon's reloads and
 *                        restores, a rollback, down); it holds the last
 *                        change's number, kind and pid (app/changelock.c)
 *   nat.nft              the nftables ruleset last loaded (net/nat.c)
 *   wg/IFNAME.pid        a tunnel's wireguard-go supervisor, .gopid its
 *   wg/IFNAME.gopid      wireguard-go, .log their output
 *   wg/IFNAME.log        (kernel/wg/wg_supervise.c)
 *   wg/IFNAME.net        what the supervisor re-adds when wireguard-go
 *                        restarts (kernel/wg/wg_restore.c)
 *   dataplane/slotN.rec  what policy slot N holds (dataplane/dataplane_rec.c)
 *   dataplane/geo.fp     the geo files the pinned geo map was built from
 *                        (dataplane/dataplane_geo.c)
 *   rempart.pid          the running `rempart run` (lib/pidfile.c)
 *   applied/             the configuration last applied: a snapshot
 *                        directory, rempart.ini, tenants/ (its .ini files) and
 *                        source (where they came from); built beside it as
 *                        applied.new.PID and swapped in
 *   confirm/             a pending `apply --confirm`: token, deadline,
 *                        seconds, applying, timer.pid, previous/ (the
 *                        snapshot a rollback restores)
 *   rejected/            the configuration a rollback undid (a snapshot)
 *   confirm.lock         flock: confirm's records (`apply --confirm`,
 *                        `confirm`, the rollback timer)
 *   confirm.log          the rollback timer's log without a journal
 *                        (app/confirm.c, app/confirm_files.c)
 *   pubkeys/TENANT.pub   each tenant's public key as last applied, for the
 *                        site commands without the private key (mode 0644;
 *                        app/site_conf.c)
 *   rekeyed              site key rotations done on the tunnel whose tenant
 *                        file still names the previous key (app/rekey_watch.c)
 *   history/N/           the last applied configurations, 0 the current one
 *                        (applied/'s layout, keys 0600) with "meta" and the
 *                        geo fingerprint of the time (app/history.c)
 *   keepalived.conf      with [ha]: keepalived's configuration (0600),
 *   keepalived.pid       its pid files (parent, VRRP child), the FIFO its
 *   keepalived-vrrp.pid  role changes come through, the file through which
 *   ha.fifo              it tracks rempart's health ("0" healthy, "1"
 *   ha.health            fault), and the role the daemon recorded for
 *   ha.role              `status` (ha/ha.c, docs/ha.md)
 *
 * The two locks guard different things and nest (a rollback holds
 * confirm.lock while its apply takes change.lock; nothing takes
 * confirm.lock while it holds change.lock); both are taken through
 * statedir_lock().
 */
#ifndef REMPART_STATEDIR_H
#define REMPART_STATEDIR_H
#include <limits.h>

#define SD_NET_STATE		"net.state"
#define SD_CHANGE_LOCK		"change.lock"
#define SD_NAT_RULESET		"nat.nft"
#define SD_WG_DIR		"wg"
#define SD_DATAPLANE_DIR	"dataplane"
#define SD_GEO_FP		"dataplane/geo.fp"
#define SD_PID_FILE		"rempart.pid"
#define SD_APPLIED		"applied"
#define SD_REJECTED		"rejected"
#define SD_CONFIRM_DIR		"confirm"
#define SD_CONFIRM_TOKEN	"confirm/token"
#define SD_CONFIRM_DEADLINE	"confirm/deadline"
#define SD_CONFIRM_SECONDS	"confirm/seconds"
#define SD_CONFIRM_APPLYING	"confirm/applying"
#define SD_CONFIRM_TIMER_PID	"confirm/timer.pid"
#define SD_CONFIRM_PREVIOUS	"confirm/previous"
#define SD_CONFIRM_LOCK		"confirm.lock"
#define SD_CONFIRM_LOG		"confirm.log"
#define SD_PUBKEYS_DIR		"pubkeys"
#define SD_REKEYED		"rekeyed"
#define SD_HISTORY_DIR		"history"
#define SD_HA_CONF		"keepalived.conf"
#define SD_HA_PID		"keepalived.pid"
#define SD_HA_VRRP_PID		"keepalived-vrrp.pid"
#define SD_HA_FIFO		"ha.fifo"
#define SD_HA_HEALTH		"ha.health"
#define SD_HA_ROLE		"ha.role"
#define SD_HA_CT_CONF		"conntrackd.conf"
#define SD_HA_CT_LOCK		"conntrackd.lock"
#define SD_HA_CT_CTL		"conntrackd.ctl"
/* In a snapshot directory (applied/, rejected/, confirm/previous/,
 * history/N/). */
#define SD_SNAP_CONFIG		"rempart.ini"
#define SD_SNAP_TENANTS		"tenants"
#define SD_SNAP_SOURCE		"source"
/* confirm/previous/ of a first `apply --confirm`: nothing was applied before
 * (app/confirm_nothing.c). */
#define SD_SNAP_NOTHING		"nothing"
/* The extensions of statedir_wg_path(). */
#define SD_WG_PID		"pid"
#define SD_WG_GOPID		"gopid"
#define SD_WG_LOG		"log"
#define SD_WG_NET		"net"

/* STATE_DIR/REL into buf (also SNAPSHOT/SD_SNAP_*).  0, or -ENAMETOOLONG
 * with buf "" (no such file). */
int statedir_path(char buf[PATH_MAX], const char *state_dir, const char *rel);
/* STATE_DIR/wg/IFNAME.EXT (EXT: SD_WG_*). */
int statedir_wg_path(char buf[PATH_MAX], const char *state_dir, const char *ifname,
		     const char *ext);
/* DIR/slotN.rec: DIR is STATE_DIR/dataplane (SD_DATAPLANE_DIR), or a
 * directory of a test's own. */
int statedir_slot_rec(char buf[PATH_MAX], const char *dir, unsigned slot);
/* STATE_DIR/pubkeys/TENANT.pub. */
int statedir_pubkey_path(char buf[PATH_MAX], const char *state_dir, const char *tenant);
/* Create the state directory (0700) if needed and flock LOCK (SD_CHANGE_LOCK
 * or SD_CONFIRM_LOCK) in it, waiting for the holder.  The fd to close to
 * release it, or -errno. */
int statedir_lock(const char *state_dir, const char *lock);
/* The same without waiting: -EBUSY while another holds it (the daemon's
 * rekey watch skips a poll rather than wait for an apply). */
int statedir_trylock(const char *state_dir, const char *lock);
#endif
