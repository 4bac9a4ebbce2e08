// SPDX-License-Identifier: GPL-2.0
/* watch.c — the daemon's rtnetlink watch; see watch.h.
 *
 * What it reacts to, and how soon (a burst of notifications, the hundreds
 * of routes a link takes with it, makes one restore):
 *  - a configured link (uplink, cloud interface, VLAN link, tunnel) that
 *    appears with a new ifindex (recreated) or comes up again: its tenant
 *    (every tenant for the uplink) is restored after WATCH_SETTLE_MS; a
 *    link that goes down is only noted (the kernel drops its routes; they
 *    are put back when it comes up again: the operator may have taken it
 *    down on purpose);
 *  - a tunnel deleted: restored after WATCH_GONE_MS (the kernel backend
 *    recreates it then; wireguard-go's supervisor may bring a new one first,
 *    left down for rempart to attach its program: kernel/wg/wg_restore.c);
 *  - a route of a tenant's table removed while its link is up, an address
 *    removed from a tenant's link that is up, a rule in rempart's range of
 *    priorities removed, the uplink's default route changed (the egress =
 *    nat tenants copy it);
 *  - lost notifications (ENOBUFS): every tenant.
 * Any address added or removed anywhere also marks the gateway's addresses
 * as changed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/rtnetlink.h>
#include "app/watch.h"
#include "kernel/netlink.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "net/net.h"

#define WATCH_SETTLE_MS 20	/* let a burst of notifications end */
#define WATCH_GONE_MS 300	/* a deleted tunnel */

enum role { R_UPLINK, R_CLOUD, R_VLAN, R_TUNNEL };
static const char *const role_name[] = { "uplink", "cloud interface", "VLAN link", "tunnel" };

struct known {
	char name[IFNAMSIZ];
	enum role role;
	int tenant;		/* index; -1: the uplink (every tenant) */
	int ifindex;		/* 0: absent */
	bool up;
};

struct watch {
	struct nl_ctx nl;
	struct known *k;
	size_t n;
	bool *verify;		/* per tenant index */
	size_t n_tenants;
	double due;		/* monotonic ms (clock_ms); 0: nothing pending */
	char why[512];
	bool addrs;
};

int watch_open(struct watch **out, struct diag *d)
{
	struct watch *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	err = nl_watch_open(&w->nl);
	if (err) {
		diag_add(d, "watch: cannot listen to rtnetlink: %s", strerror(-err));
		free(w);
		return err;
	}
	*out = w;
	return 0;
}

void watch_close(struct watch *w)
{
	if (!w)
		return;
	nl_close(&w->nl);
	free(w->k);
	free(w->verify);
	free(w);
}

int watch_fd(const struct watch *w)
{
	return nl_watch_fd(&w->nl);
}

/* Ask for a restore of TENANT (-1: every one verified, -2: none verified:
 * rules are compared for all anyway) in DELAY ms, saying why. */
__attribute__((format(printf, 4, 5)))
static void schedule(struct watch *w, int tenant, int delay, const char *fmt, ...)
{
	double due = clock_ms() + delay;
	size_t len = strlen(w->why);
	va_list ap;

	if (tenant == -1)
		for (size_t i = 0; i < w->n_tenants; i++)
			w->verify[i] = true;
	else if ((size_t)tenant < w->n_tenants)
		w->verify[tenant] = true;
	if (!w->due || due < w->due)
		w->due = due;
	if (len + 3 >= sizeof(w->why))
		return;
	if (len)
		len += (size_t)snprintf(w->why + len, sizeof(w->why) - len, "; ");
	va_start(ap, fmt);
	vsnprintf(w->why + len, sizeof(w->why) - len, fmt, ap);
	va_end(ap);
}

static void add_known(struct watch *w, const char *name, enum role role, int tenant)
{
	struct known *k;

	if (!name || !name[0])
		return;
	k = realloc(w->k, (w->n + 1) * sizeof(*k));
	if (!k)
		return;
	w->k = k;
	k = &w->k[w->n++];
	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->role = role;
	k->tenant = tenant;
}

void watch_reset(struct watch *w, const struct rp_config *cfg)
{
	struct nl_link *links = NULL;
	size_t n_links = 0;
	struct nl_ctx nl;
	char name[64];
	bool *v;

	w->n = 0;
	add_known(w, cfg->uplink, R_UPLINK, -1);
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		add_known(w, t->cloud_interface, R_CLOUD, (int)i);
		if (t->vlan) {
			snprintf(name, sizeof(name), "%s.%u", t->cloud_interface, t->vlan);
			add_known(w, name, R_VLAN, (int)i);
		}
		add_known(w, t->tunnel_interface, R_TUNNEL, (int)i);
		if (t->next_interface)	/* a key rotation's second tunnel: watched the same */
			add_known(w, t->next_interface, R_TUNNEL, (int)i);
	}
	if (!nl_open(&nl)) {
		if (!nl_link_dump(&nl, &links, &n_links))
			for (size_t i = 0; i < w->n; i++)
				for (size_t j = 0; j < n_links; j++)
					if (!strcmp(w->k[i].name, links[j].name)) {
						w->k[i].ifindex = links[j].ifindex;
						w->k[i].up = links[j].flags & IFF_UP;
					}
		nl_close(&nl);
	}
	free(links);
	v = realloc(w->verify, (cfg->n_tenants + 1) * sizeof(*v));
	if (v) {
		w->verify = v;
		w->n_tenants = cfg->n_tenants;
		memset(v, 0, (cfg->n_tenants + 1) * sizeof(*v));
	}
	w->due = 0;
	w->why[0] = 0;
}

static const struct known *known_ifindex(const struct watch *w, int ifindex)
{
	for (size_t i = 0; ifindex && i < w->n; i++)
		if (w->k[i].ifindex == ifindex)
			return &w->k[i];
	return NULL;
}

static int tenant_of_table(const struct rp_config *cfg, uint32_t table)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		if (net_tenant_table(&cfg->tenants[i]) == table)
			return (int)i;
	return -1;
}

static void on_link(struct watch *w, const struct nl_event *e)
{
	bool up = e->flags & IFF_UP, said = false;

	for (size_t i = 0; i < w->n; i++) {
		struct known *k = &w->k[i];

		if (strcmp(k->name, e->ifname))
			continue;
		if (e->del) {
			if (k->ifindex != e->ifindex)
				continue;
			k->ifindex = 0;
			k->up = false;
			if (k->role == R_TUNNEL)
				schedule(w, k->tenant, WATCH_GONE_MS, "%s deleted", k->name);
			else if (!said)
				pr_warn("watch: %s %s deleted: restored when it is back", role_name[k->role],
					k->name);
			said = true;
			continue;
		}
		if (k->ifindex != e->ifindex) {
			schedule(w, k->tenant, WATCH_SETTLE_MS, "%s %s %s (ifindex %d)", role_name[k->role],
				 k->name, k->ifindex ? "recreated" : "appeared", e->ifindex);
			k->ifindex = e->ifindex;
			k->up = up;
		} else if (up && !k->up) {
			schedule(w, k->tenant, WATCH_SETTLE_MS, "%s %s up again", role_name[k->role], k->name);
			k->up = true;
		} else if (!up && k->up) {
			if (!said)
				pr_warn("watch: %s %s went down: the kernel drops its routes; they come back "
					"when it is up again", role_name[k->role], k->name);
			said = true;
			k->up = false;
		}
	}
}

static void on_route(struct watch *w, const struct rp_config *cfg, const struct nl_event *e)
{
	const struct known *k = known_ifindex(w, e->ifindex);
	int t;

	if (e->table == RT_TABLE_MAIN && !e->dst_len && k && k->role == R_UPLINK) {
		for (size_t i = 0; i < cfg->n_tenants; i++)
			if (cfg->tenants[i].egress == RP_EGRESS_NAT)
				schedule(w, (int)i, WATCH_SETTLE_MS, "the uplink's default route %s",
					 e->del ? "went" : "changed");
		return;
	}
	if (!e->del || (t = tenant_of_table(cfg, e->table)) < 0)
		return;
	if (e->ifindex && (!k || !k->up))
		return;		/* its link went down or away: that says it all */
	schedule(w, t, WATCH_SETTLE_MS, "a route of table %u removed", e->table);
}

static void on_addr(struct watch *w, const struct nl_event *e)
{
	const struct known *k = known_ifindex(w, e->ifindex);

	w->addrs = true;
	if (e->del && k && k->up && k->tenant >= 0)
		schedule(w, k->tenant, WATCH_SETTLE_MS, "an address of %s removed", k->name);
}

struct ctx {
	struct watch *w;
	const struct rp_config *cfg;
};

static void on_event(const struct nl_event *e, void *arg)
{
	struct ctx *c = arg;

	switch (e->kind) {
	case NL_EV_LINK:
		on_link(c->w, e);
		break;
	case NL_EV_ROUTE:
		on_route(c->w, c->cfg, e);
		break;
	case NL_EV_ADDR:
		on_addr(c->w, e);
		break;
	case NL_EV_RULE:
		if (e->del && net_rule_priority_ours(e->priority))
			schedule(c->w, -2, WATCH_SETTLE_MS, "a rule of rempart's removed (priority %u)",
				 e->priority);
		break;
	}
}

void watch_read(struct watch *w, const struct rp_config *cfg)
{
	struct ctx c = { .w = w, .cfg = cfg };
	int n = nl_watch_read(&w->nl, on_event, &c);

	if (n == -ENOBUFS) {
		schedule(w, -1, WATCH_SETTLE_MS, "notifications lost (the socket overflowed)");
		w->addrs = true;
	} else if (n < 0) {
		pr_warn("watch: reading rtnetlink: %s", strerror(-n));
	}
}

int watch_timeout_ms(const struct watch *w)
{
	double left;

	if (!w || !w->due)
		return -1;
	left = w->due - clock_ms();
	return left < 0 ? 0 : (int)(left > 60000 ? 60000 : left);
}

bool watch_due(const struct watch *w, const bool **verify, const char **why)
{
	if (!w || !w->due || clock_ms() < w->due)
		return false;
	*verify = w->verify;
	*why = w->why;
	return true;
}

void watch_done(struct watch *w, bool ok, int retry_ms)
{
	if (!ok) {
		w->due = clock_ms() + retry_ms;
		return;
	}
	w->due = 0;
	w->why[0] = 0;
	if (w->verify)
		memset(w->verify, 0, (w->n_tenants + 1) * sizeof(*w->verify));
}

bool watch_addrs_changed(struct watch *w)
{
	bool r = w->addrs;

	w->addrs = false;
	return r;
}
