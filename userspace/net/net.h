/* net.h — links, addresses, routes, rules, NAT and WireGuard peers seen from
 * the commands: reconcile the kernel with the config.  Implemented by the
 * tunnels module (netlink + WireGuard backends).
 *
 * The caller serialises changes (app/changelock.h): net_apply and net_down
 * take no lock of their own. */
#ifndef REMPART_NET_H
#define REMPART_NET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config/config.h"
#include "lib/diag.h"

/* What the caller adds to an apply. */
struct net_hooks {
	/* IFNAME (a tunnel just created, or a configured tunnel or cloud link
	 * found down) is about to be brought up: the caller attaches its
	 * programs now, so that the link never carries a packet unfiltered.
	 * 0, or -errno after a message in *d: the apply then fails and undoes
	 * what it did, leaving the link down. */
	int (*before_up)(const char *ifname, void *arg, struct diag *d);
	void *arg;
	/* Per tenant index (NULL: none): read and compare everything of that
	 * tenant even when its fingerprint says nothing changed (the daemon
	 * saw one of its routes, addresses or links go). */
	const bool *verify;
};

/* Make interfaces, addresses, routing tables, policy rules, NAT and
 * WireGuard devices/peers match cfg, changing only what differs (peers that
 * did not change keep their sessions).  What it is about to create is
 * recorded in net.state before it is made, so that `down` finds it even if
 * the apply is killed.  h may be NULL.  0, or -errno with messages in *d. */
int net_apply(const struct rp_config *cfg, const struct net_hooks *h, struct diag *d);
/* Objects the last net_apply of this process changed (0: a no-op). */
unsigned int net_apply_changes(void);
/* What net_apply(cfg, NULL) would change, changing nothing: each change is given
 * to EMIT as OP ('+' add, '-' remove, '~' change), WHAT ("link", "addr",
 * "route", "rule", "device", "peer", "sysctl", "nat") and one line of TEXT
 * ("10.1.0.0/24 dev wg-a table 1010 metric 100"), in the order apply would
 * make them.  The number of changes (0: apply would change nothing), or
 * -errno with messages in *d. */
typedef void (*net_diff_fn)(void *ctx, char op, const char *what, const char *text);
int net_diff(const struct rp_config *cfg, net_diff_fn emit, void *ctx, struct diag *d);
/* A plan being said (net_diff, apply_plan): net_plan_say formats one line,
 * hands it to emit and counts it in n. */
struct net_plan {
	net_diff_fn emit;
	void *ctx;
	unsigned int n;
};
__attribute__((format(printf, 4, 5)))
void net_plan_say(struct net_plan *p, char op, const char *what, const char *fmt, ...);
/* Remove exactly what rempart created, as recorded in STATE_DIR/net.state
 * (no configuration needed: it may no longer load): the forwarding sysctls
 * back to what they were, then tunnels and VLAN links, policy rules, routing
 * tables, addresses and NAT.  The BPF programs are the caller's to remove,
 * after this.  0, or -errno with messages in *d: -EINVAL or -EPERM when it
 * refused before changing anything (a net.state line that rempart did not
 * write, a recorded link of another kind: nothing is removed), -EIO when
 * some removal failed (the rest was removed; `down` again finishes). */
int net_down(const char *state_dir, struct diag *d);

/* What the network side names after a tenant (`rempart audit` reads them
 * back, tenant.c): its cloud attachment link, "CLOUD" or "CLOUD.VLAN".
 * rempart's own range: a tenant's routing table (1000 + id), and whether a
 * policy rule priority is one of those rempart adds (route_plan.h). */
void net_cloud_ifname(const struct rp_tenant *t, char *buf, size_t len);
uint32_t net_tenant_table(const struct rp_tenant *t);
bool net_rule_priority_ours(uint32_t priority);

/* Run `nft ARGV...` (argv[0] "nft") with INPUT (may be NULL) on its stdin:
 * 0, or -errno / -EIO with nft's first error line in why (net/nat.c). */
int nft_run(const char *const argv[], const char *input, char *why, size_t whylen);
#endif
