/* audit_live.h — the live kernel state `rempart audit` judges, read once:
 * links with their XDP, tcx and cls_bpf programs, addresses, policy rules,
 * the routes of every table, the forwarding, reverse-path and related
 * sysctls, the WireGuard peers of the configured tunnels, the nftables
 * ruleset (JSON).  Only reads: nothing here writes to the kernel. */
#ifndef REMPART_AUDIT_LIVE_H
#define REMPART_AUDIT_LIVE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "audit/audit_route.h"
#include "config/config.h"
#include "lib/diag.h"
#include "kernel/netlink.h"
#include "kernel/netlink_fib.h"
#include "kernel/wg/wg.h"

#define AL_PROGS_MAX 8

struct al_link {
	struct nl_link l;
	uint32_t tcx_in[AL_PROGS_MAX], tcx_out[AL_PROGS_MAX];
	unsigned n_tcx_in, n_tcx_out;
	struct nl_tc_filter *cls_in, *cls_out;	/* clsact/ingress filters */
	size_t n_cls_in, n_cls_out;
	struct rt_dev dev;			/* what the routing model needs */
};

struct al_wg {
	char ifname[IFNAMSIZ];
	wg_device *dev;				/* NULL: unreadable (err) */
	int err;
};

struct audit_live {
	struct al_link *links;
	size_t n_links;
	struct nl_addr *addrs;
	size_t n_addrs;
	struct nl_fib_rule *rules;		/* both families */
	size_t n_rules;
	struct nl_fib_route *routes;		/* every table, both families */
	size_t n_routes;
	bool fwd6, mc_forwarding, bc_forwarding, route_localnet;
	struct al_wg *wg;			/* the configured tunnels that exist */
	size_t n_wg;
	char *nft_json;				/* `nft -j list ruleset`, NULL: no nft */
	struct nl_neigh *neighs;		/* hosts seen on each link */
	size_t n_neighs;
};

/* Read everything.  0, or -errno with one line in *d. */
int audit_live_read(struct audit_live *L, const struct rp_config *cfg, struct diag *d);
void audit_live_free(struct audit_live *L);

const struct al_link *al_link_by_name(const struct audit_live *L, const char *name);
const struct al_link *al_link_by_index(const struct audit_live *L, int ifindex);
const struct al_wg *al_wg_by_name(const struct audit_live *L, const char *name);
#endif
