/* reconcile.h — one apply or down in progress (struct apply), shared by the
 * files of net/ that each reconcile one concern: links and WireGuard
 * (links.c), addresses (addrs.c), routes (routes.c, planned by
 * route_plan.c), rules (rules.c), sysctls (sysctl.c); with the undo journal
 * (journal.c), the per-tenant fingerprints (fingerprint.c), the checks
 * before any change (preflight.c) and the tunnels' restore file
 * (tunnel_restore.c).  The entry points are net_apply.c's.  Each step
 * returns 0 or -errno after one message in a->d, and journals what it
 * changed, so net_rollback() can undo it. */
#ifndef REMPART_NET_RECONCILE_H
#define REMPART_NET_RECONCILE_H
#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include "config/config.h"
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "lib/diag.h"
#include "net/net.h"
#include "net/net_state.h"

enum undo_kind { U_LINK_DEL, U_LINK_DOWN, U_WG_DESTROY, U_WG_STOP, U_WG_RESTORE, U_ADDR_DEL, U_ADDR_ADD,
		 U_ROUTE_DEL, U_ROUTE_ADD, U_RULE_DEL, U_RULE_ADD, U_SYSCTL };

struct undo {
	enum undo_kind kind;
	char ifname[IFNAMSIZ];
	int ifindex;
	struct rp_prefix p;
	struct nl_route route;
	struct nl_rule rule;
	wg_device *dev;
	char path[128], val[32];
};

struct apply {
	const struct rp_config *cfg;
	const struct net_hooks *hooks;	/* NULL: none */
	struct diag *d;
	struct nl_ctx nl;
	const struct wg_backend *wg;
	struct net_state old, st;
	struct undo *undo;
	size_t n_undo, cap_undo;
	unsigned int changes;
	struct nl_link *links;
	size_t n_links;
	unsigned int links_gen;		/* bumped by each net_links_refresh() */
	unsigned int fp_links_gen;	/* links_gen when fp was computed */
	struct nl_route *main_v;	/* the main table (egress copies its defaults) */
	size_t main_n;
	uint64_t *fp;			/* per tenant: fingerprint of what it wants */
	bool *clean;			/* per tenant: same fingerprint as applied, links fine */
	size_t *routes;			/* per tenant: routes in its table (clean ones, read by
					 * net_compute_clean; SIZE_MAX: not read) */
	bool intent_dirty;		/* lines added to old that net.state lacks */
	wg_device **handover;		/* per tenant whose rotation ends: the sites its
					 * first tunnel calls (keyrot_end.c) */
};

/* journal.c: a new zeroed entry of KIND (NULL: out of memory); undo every
 * entry, last first; free them. */
struct undo *net_journal(struct apply *a, enum undo_kind kind);
void net_rollback(struct apply *a);
void net_journal_free(struct apply *a);
/* journal.c, the other way round: what an apply is about to create goes
 * into net.state before it is made (a killed apply leaves nothing that
 * `down` does not know).  net_intend adds a line to a->old (the record as
 * loaded), net_intent_flush writes a->old if it grew: call it before the
 * change.  0 or -errno (a message in a->d). */
__attribute__((format(printf, 2, 3)))
int net_intend(struct apply *a, const char *fmt, ...);
int net_intent_flush(struct apply *a);

/* links.c */
int net_links_refresh(struct apply *a);		/* re-read a->links */
/* Every link net.state records as rempart's and that exists is of the kind
 * rempart makes (a WireGuard device or wireguard-go's tun, a VLAN link): an
 * interface of another kind under that name is not rempart's to remove.
 * 0, or -EPERM after one message per link in a->d. */
int net_check_recorded_links(struct apply *a);
/* hooks->before_up for IFNAME, if any. */
int net_before_up(struct apply *a, const char *ifname);
const struct nl_link *net_link_find(const struct apply *a, const char *name);
const char *net_ifname_of(const struct apply *a, int ifindex);	/* "?" if none */
/* VLAN links and tunnels created, MTU and up; wireguard-go started;
 * devices and peers configured; links rempart made and no longer wants
 * removed.  CUR: per tenant, the running device (NULL: none or clean). */
int net_ensure_links(struct apply *a, wg_device **cur);
int net_start_devices(struct apply *a, wg_device **cur);
int net_configure_wg(struct apply *a, wg_device **cur);
int net_remove_stale_links(struct apply *a);
/* keyrot_links.c: a tenant key rotation's second tunnel (net/keyrot.h)
 * created, its programs attached, up; then wireguard-go started on it and
 * its device configured with the next key and port. */
int net_keyrot_links(struct apply *a);
int net_keyrot_devices(struct apply *a);
/* keyrot_end.c: the second tunnels of rotations that ended: retire releases
 * their ports before the devices are configured (the first tunnel may take
 * one over) and keeps where their sites were in a->handover (when not
 * NULL); net_keyrot_handover, once the first tunnels are configured, makes
 * each call its sites at once (a handshake, no waiting for the sites');
 * net_keyrot_retired removes the second tunnels.  Best effort: what fails
 * is logged, the sites re-handshake on their own. */
void net_keyrot_retire(struct apply *a);
void net_keyrot_handover(struct apply *a);
void net_keyrot_retired(struct apply *a);
void net_keyrot_handover_free(struct apply *a);
/* PORT is held by such a second tunnel (it is free once retired). */
bool net_keyrot_retiring_port(struct apply *a, uint16_t port);

/* sysctl.c: PATH set to WANT, the old value journalled and recorded. */
int net_set_sysctl(struct apply *a, const char *path, const char *want);

/* fingerprint.c: what tenant I wants, in 64 bits; a->fp and a->clean for
 * every tenant (a tenant whose table lost routes since the last apply, a
 * link that flapped, is not clean).  net_count_routes: the routes of one
 * table. */
uint64_t net_tenant_fp(const struct apply *a, size_t i);
void net_compute_clean(struct apply *a);
int net_count_routes(struct apply *a, uint32_t table, size_t *n);

/* preflight.c: everything that can be checked before changing anything;
 * fills CUR with the running devices. */
int net_preflight(struct apply *a, wg_device **cur);

/* addrs.c, routes.c, rules.c: add what the config wants, then (stale)
 * remove what rempart added before and the config no longer wants. */
int net_reconcile_addrs(struct apply *a);
int net_remove_stale_addrs(struct apply *a);
/* addrs.c: one address the config gives a tenant's link, as
 * net_addrs_walk() hands it out. */
struct addr_want {
	const struct rp_tenant *t;
	const char *key;		/* "tunnel_address" or "cloud_address" */
	const char *ifname;		/* the tunnel interface, or the cloud link */
	const struct nl_link *lk;	/* NULL: no such link (yet) */
	const struct rp_prefix *p;
	const struct nl_addr *have;	/* p on lk among HAVE, NULL if not there */
};
/* FN for every address of every tenant (its tunnel_address on its tunnel
 * interface, then its cloud_address on its cloud link), in config order;
 * stops at the first nonzero return, and returns it. */
int net_addrs_walk(struct apply *a, const struct nl_addr *have, size_t n_have,
		   int (*fn)(struct apply *a, const struct addr_want *w, void *ctx), void *ctx);
/* P on IFINDEX among HAVE, NULL if not there. */
const struct nl_addr *net_addr_present(const struct nl_addr *have, size_t n_have, int ifindex,
				       const struct rp_prefix *p);
int net_reconcile_routes(struct apply *a);
int net_remove_stale_tables(struct apply *a, bool journal_it);
int net_reconcile_rules(struct apply *a);
/* A rule as its net.state line ("rule 4 1010 1010 iif=wg-a mark=0x0"), and
 * back (0 or -EINVAL). */
void net_rule_state_line(const struct nl_rule *r, char *buf, size_t len);
int net_rule_from_state(const char *line, struct nl_rule *r);
int net_remove_stale_rules(struct apply *a);

/* tunnel_restore.c: hand a userspace tunnel's addresses and routes (RV:
 * its table) to the backend's restore file. */
void net_remember_tunnel(struct apply *a, const struct rp_tenant *t,
			 const struct nl_route *rv, size_t rn);
#endif
