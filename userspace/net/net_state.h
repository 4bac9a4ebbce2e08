/* net_state.h — what rempart created, recorded in STATE_DIR/net.state so
 * that `down` (and the next `apply`) removes exactly that.  One object per
 * line, e.g. "link wg-a wireguard", "addr eth1 10.20.0.1/24",
 * "rule 4 1010 1010 iif=wg-a mark=0", "table 1010", "sysctl PATH OLD". */
#ifndef REMPART_NET_STATE_H
#define REMPART_NET_STATE_H
#include <stdbool.h>
#include <stddef.h>
#include "lib/diag.h"

struct net_state {
	char **lines;
	size_t n, cap;
	size_t *slot;		/* hash index of lines: position + 1, 0 = empty */
	size_t n_slot;		/* a power of two, more than twice n */
};

/* The sysctls an apply sets, each to "1" (net_apply.c; the dry run lists
 * them, net_diff.c), the only ones `down` writes back: forwarding, and
 * fwmark_reflect, so that what the gateway answers a tenant (echo, TCP
 * resets, ICMP errors) carries the tenant's mark back through its own
 * table and interface (docs/policy.md). */
extern const char *const net_gateway_sysctls[];
extern const size_t net_n_gateway_sysctls;

/* Read STATE_DIR/net.state (missing: empty).  Every line is checked
 * (net_state_check_line): one that rempart does not write refuses the
 * whole file, -EINVAL with one message naming file, line and why in *d
 * (d may be NULL). */
int net_state_load(struct net_state *st, const char *state_dir, struct diag *d);
/* NULL if LINE is one rempart writes, with its tables, rule priorities,
 * link kinds and sysctls; else why not. */
const char *net_state_check_line(const char *line);
/* Written whole to a temporary file, synced, renamed over it (mode 0600). */
int net_state_save(const struct net_state *st, const char *state_dir);
__attribute__((format(printf, 2, 3)))
bool net_state_has(const struct net_state *st, const char *fmt, ...);
__attribute__((format(printf, 2, 3)))
int net_state_add(struct net_state *st, const char *fmt, ...);	/* no duplicates */
void net_state_free(struct net_state *st);
#endif
