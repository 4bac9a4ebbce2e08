// SPDX-License-Identifier: GPL-2.0
/* net_apply.c — make links, addresses, routing tables, policy rules,
 * WireGuard devices/peers and egress NAT match the config (net.h).
 *
 * Reconcile: read the running state, compute the difference, change only
 * what differs.  A second apply with the same config changes nothing.
 *
 * Routing (SPEC §1, §4.11, §4.12, §4.14): tenant ID has table 1000+ID,
 * selected by the rules "fwmark RP_MARK_BASE|ID lookup T" (priority 999:
 * the mark the programs give the tenant's packets at its ingress, that the
 * kernel reflects onto the gateway's answers and conntrack restores on NAT
 * replies), then "iif TUNNEL lookup T" and "iif CLOUD lookup T" (priority
 * 1000+ID), IPv4 and IPv6.  The tenant's own addresses (tunnel_address,
 * cloud_address) are added without their prefix route: the main table,
 * which routes what comes from the uplink, holds no route into a tenant.
 * The table holds
 *   - the tenant's cloud_prefixes via the cloud attachment   (metric 100)
 *   - the subnets of its cloud_address and tunnel_address, via the
 *     attachment and the tunnel                               (metric 100)
 *   - every site's allowed_ips via the tunnel                 (metric 100)
 *   - "unreachable" for every site prefix that another route of the table
 *     also covers (the uplink's default of an egress = nat tenant, a cloud
 *     or shared prefix; metric 10000), so that a site's traffic never falls
 *     through to that route when the tunnel is gone;
 *   - the shares offered to the tenant via the provider's cloud (metric 200),
 *     and in the provider's table the consumer's sites via the consumer's
 *     tunnel (replies);
 *   - egress = nat: the uplink's default route(s) copied from the main table;
 *   - "unreachable default" (metric 10000) in every case.
 *
 * Everything changed is journalled; if a step fails, the journal is undone
 * in reverse so the system is left as it was, and one message says what,
 * where and why (with the kernel's extended-ACK text).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include "fnv.h"
#include "log.h"
#include "net.h"
#include "net_priv.h"
#include "net_state.h"
#include "net_wg.h"
#include "netlink.h"
#include "wg.h"

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
	struct diag *d;
	struct nl_ctx nl;
	const struct wg_backend *wg;
	struct net_state old, st;
	struct undo *undo;
	size_t n_undo, cap_undo;
	unsigned int changes;
	struct nl_link *links;
	size_t n_links;
	unsigned int links_gen;		/* bumped by each refresh_links() */
	unsigned int fp_links_gen;	/* links_gen when fp was computed */
	struct nl_route *main_v;	/* the main table (egress copies its defaults) */
	size_t main_n;
	int *tun_ifindex;		/* per tenant: its tunnel's (while routing) */
	uint64_t *fp;			/* per tenant: fingerprint of what it wants */
	bool *clean;			/* per tenant: same fingerprint as applied, links fine */
};

static unsigned int last_changes;

/* RP_NET_PROFILE=1: time of each stage on stderr (benchmarks). */
static void stage(const char *name)
{
	static struct timespec last;
	static int on = -1;
	struct timespec now;

	if (on < 0)
		on = getenv("RP_NET_PROFILE") != NULL;
	if (!on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (name)
		fprintf(stderr, "net: %-12s %8.2f ms\n", name,
			(now.tv_sec - last.tv_sec) * 1e3 + (now.tv_nsec - last.tv_nsec) / 1e6);
	last = now;
}

unsigned int net_apply_changes(void)
{
	return last_changes;
}

static struct undo *journal(struct apply *a, enum undo_kind kind)
{
	if (a->n_undo == a->cap_undo) {
		size_t cap = a->cap_undo ? a->cap_undo * 2 : 64;
		struct undo *v = realloc(a->undo, cap * sizeof(*v));

		if (!v)
			return NULL;
		a->undo = v;
		a->cap_undo = cap;
	}
	memset(&a->undo[a->n_undo], 0, sizeof(a->undo[0]));
	a->undo[a->n_undo].kind = kind;
	return &a->undo[a->n_undo++];
}

static void rollback(struct apply *a)
{
	/* Tell every supervisor we started to stop first: they exit in
	 * parallel instead of one after the other. */
	for (size_t i = 0; a->wg->start && i < a->n_undo; i++)
		if (a->undo[i].kind == U_WG_STOP || a->undo[i].kind == U_WG_DESTROY) {
			int pid = wgs_pid(a->undo[i].ifname, a->cfg->state_dir);

			if (pid > 0)
				kill(pid, SIGTERM);
		}
	while (a->n_undo) {
		struct undo *u = &a->undo[--a->n_undo];

		switch (u->kind) {
		case U_LINK_DEL:
			nl_link_del(&a->nl, u->ifindex);
			break;
		case U_LINK_DOWN:
			nl_link_set_down(&a->nl, u->ifindex);
			break;
		case U_WG_DESTROY:
			a->wg->destroy(u->ifname, a->cfg->state_dir);
			break;
		case U_WG_STOP:
			wgs_stop(u->ifname, a->cfg->state_dir);
			break;
		case U_WG_RESTORE:
			net_wg_make_restore(u->dev);
			a->wg->set(u->dev);
			break;
		case U_ADDR_DEL:
			nl_addr_del(&a->nl, u->ifindex, &u->p);
			break;
		case U_ADDR_ADD:
			nl_addr_add(&a->nl, u->ifindex, &u->p);
			break;
		case U_ROUTE_DEL:
			nl_route_del(&a->nl, &u->route);
			break;
		case U_ROUTE_ADD:
			nl_route_add(&a->nl, &u->route);
			break;
		case U_RULE_DEL:
			nl_rule_del(&a->nl, &u->rule);
			break;
		case U_RULE_ADD:
			nl_rule_add(&a->nl, &u->rule);
			break;
		case U_SYSCTL: {
			FILE *f = fopen(u->path, "we");

			if (f) {
				fputs(u->val, f);
				fclose(f);
			}
			break;
		}
		}
	}
}

static void free_journal(struct apply *a)
{
	for (size_t i = 0; i < a->n_undo; i++)
		wg_device_wipe_free(a->undo[i].dev);
	free(a->undo);
	a->undo = NULL;
	a->n_undo = a->cap_undo = 0;
}

/* ---- helpers ---- */

static bool nat_ruleset_nonempty(const struct rp_config *cfg)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		if (cfg->tenants[i].egress == RP_EGRESS_NAT || nat_share_consumer(cfg, i))
			return true;
	return false;
}

void net_cloud_ifname(const struct rp_tenant *t, char *buf, size_t len)
{
	if (t->vlan)
		snprintf(buf, len, "%s.%u", t->cloud_interface, t->vlan);
	else
		snprintf(buf, len, "%s", t->cloud_interface);
}

static int refresh_links(struct apply *a)
{
	free(a->links);
	a->links = NULL;
	a->n_links = 0;
	a->links_gen++;
	return nl_link_dump(&a->nl, &a->links, &a->n_links);
}

static const struct nl_link *find_link(const struct apply *a, const char *name)
{
	for (size_t i = 0; i < a->n_links; i++)
		if (!strcmp(a->links[i].name, name))
			return &a->links[i];
	return NULL;
}

static const char *ifname_of(const struct apply *a, int ifindex)
{
	for (size_t i = 0; i < a->n_links; i++)
		if (a->links[i].ifindex == ifindex)
			return a->links[i].name;
	return "?";
}

static int read_sysctl(const char *path, char *val, size_t len)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	if (!fgets(val, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	val[strcspn(val, "\n")] = 0;
	return 0;
}

static int set_sysctl(struct apply *a, const char *path, const char *want)
{
	char cur[32];
	struct undo *u;
	FILE *f;
	int err;

	err = read_sysctl(path, cur, sizeof(cur));
	if (err) {
		diag_add(a->d, "cannot read %s: %s", path, strerror(-err));
		return err;
	}
	if (!strcmp(cur, want))
		return 0;
	f = fopen(path, "we");
	if (!f || fputs(want, f) < 0 || fclose(f)) {
		err = -errno;
		diag_add(a->d, "cannot write %s: %s", path, strerror(-err));
		return err;
	}
	u = journal(a, U_SYSCTL);
	if (!u)
		return -ENOMEM;
	snprintf(u->path, sizeof(u->path), "%s", path);
	snprintf(u->val, sizeof(u->val), "%s", cur);
	/* Remember the value before rempart's first change, for `down`. */
	bool known = false;

	for (size_t i = 0; i < a->old.n && !known; i++)
		known = !strncmp(a->old.lines[i], "sysctl ", 7) &&
			!strncmp(a->old.lines[i] + 7, path, strlen(path)) &&
			a->old.lines[i][7 + strlen(path)] == ' ';
	if (!known)
		net_state_add(&a->old, "sysctl %s %s", path, cur);
	a->changes++;
	return 0;
}

static bool tenant_offers_to(const struct rp_tenant *prov, const struct rp_share *s, size_t consumer);

/* ---- fingerprints: what a tenant wants, in 64 bits ----
 *
 * A tenant whose fingerprint equals the one recorded by the last successful
 * apply, and whose links are present, up and (userspace) supervised, is not
 * read again: with 100 tunnels of 100 peers and 20,000 routes, reading all
 * of it costs most of a second, while a one-site change must take less than
 * 100 ms.  RP_NET_FULL=1 reads and compares everything. */

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv1a(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static uint64_t fnv_list(uint64_t h, const struct rp_prefix_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		h = fnv1a(h, &l->v[i], sizeof(l->v[i]));
	return fnv1a(h, &l->n, sizeof(l->n));
}

static uint64_t tenant_fp(const struct apply *a, size_t i)
{
	const struct rp_config *cfg = a->cfg;
	const struct rp_tenant *t = &cfg->tenants[i];
	uint64_t h = 0xcbf29ce484222325ULL;

	/* what wanted_routes() makes of a tenant: a table recorded by an
	 * older version is read again */
	h = fnv_str(h, "routes 2: the subnets of its own addresses");
	h = fnv1a(h, &t->id, sizeof(t->id));
	h = fnv_str(h, t->tunnel_interface);
	h = fnv_str(h, t->cloud_interface);
	h = fnv1a(h, &t->vlan, sizeof(t->vlan));
	h = fnv1a(h, &t->listen_port, sizeof(t->listen_port));
	h = fnv1a(h, t->private_key, sizeof(t->private_key));
	h = fnv1a(h, &t->egress, sizeof(t->egress));
	h = fnv_str(h, cfg->uplink);
	h = fnv_list(h, &t->tunnel_address);
	h = fnv_list(h, &t->cloud_address);
	h = fnv_list(h, &t->cloud_prefixes);
	for (size_t s = 0; s < t->n_sites; s++) {
		const struct rp_site *st = &t->sites[s];

		h = fnv1a(h, st->public_key, sizeof(st->public_key));
		h = fnv1a(h, &st->has_psk, sizeof(st->has_psk));
		if (st->has_psk)
			h = fnv1a(h, st->psk, sizeof(st->psk));
		h = fnv_str(h, st->endpoint);
		h = fnv1a(h, &st->keepalive, sizeof(st->keepalive));
		h = fnv_list(h, &st->allowed_ips);
	}
	/* Shares both ways put other tenants' routes in this table. */
	for (size_t p = 0; p < cfg->n_tenants; p++) {
		const struct rp_tenant *o = &cfg->tenants[p];

		if (p == i)
			continue;
		for (size_t k = 0; k < o->n_shares; k++)
			if (tenant_offers_to(o, &o->shares[k], i)) {
				h = fnv_str(h, o->cloud_interface);
				h = fnv1a(h, &o->vlan, sizeof(o->vlan));
				h = fnv_list(h, &o->shares[k].to);
			}
		for (size_t k = 0; k < t->n_shares; k++)
			if (tenant_offers_to(t, &t->shares[k], p)) {
				h = fnv_str(h, o->tunnel_interface);
				for (size_t s = 0; s < o->n_sites; s++)
					h = fnv_list(h, &o->sites[s].allowed_ips);
			}
	}
	if (t->egress == RP_EGRESS_NAT)
		for (size_t k = 0; k < a->main_n; k++)
			if (!a->main_v[k].dst_len)
				h = fnv1a(h, &a->main_v[k], sizeof(a->main_v[k]));
	/* ifindexes: a link recreated by hand means routes to redo */
	for (int w = 0; w < 2; w++) {
		char name[IFNAMSIZ + 8];
		const struct nl_link *l;

		if (w)
			net_cloud_ifname(t, name, sizeof(name));
		else
			snprintf(name, sizeof(name), "%s", t->tunnel_interface);
		l = find_link(a, name);
		h = fnv1a(h, l ? &l->ifindex : &w, sizeof(int));
	}
	return h;
}

static void compute_clean(struct apply *a)
{
	bool full = getenv("RP_NET_FULL") != NULL;

	a->fp_links_gen = a->links_gen;
	for (size_t i = 0; i < a->cfg->n_tenants; i++) {
		const struct rp_tenant *t = &a->cfg->tenants[i];
		const struct nl_link *tl = find_link(a, t->tunnel_interface), *cl;
		char name[IFNAMSIZ + 8];

		a->fp[i] = tenant_fp(a, i);
		net_cloud_ifname(t, name, sizeof(name));
		cl = find_link(a, name);
		a->clean[i] = !full && tl && cl && (tl->flags & IFF_UP) && (cl->flags & IFF_UP) &&
			      tl->mtu == RP_WG_MTU &&
			      net_state_has(&a->old, "fp %u %016llx", t->id, (unsigned long long)a->fp[i]) &&
			      (!a->wg->start || wgs_pid(t->tunnel_interface, a->cfg->state_dir) > 0);
	}
}

/* ---- preflight: everything that can be checked without changing anything ---- */

static int port_free(uint16_t port, int family)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0, one = 1;

	if (fd < 0)
		return 0;	/* no such family here: nothing can use it */
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, family == AF_INET ? (struct sockaddr *)&s4 : (struct sockaddr *)&s6,
		 family == AF_INET ? sizeof(s4) : sizeof(s6)) < 0)
		err = errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT ? 0 : -errno;
	close(fd);
	return err;
}

struct get_job {
	const struct wg_backend *wg;
	const char *ifname;
	wg_device *dev;
	int err;
};

static void *get_thread(void *arg)
{
	struct get_job *j = arg;

	j->err = j->wg->get(j->ifname, &j->dev);
	return NULL;
}

/* Read every existing tunnel at once: each read is a round trip to a
 * wireguard-go process (or the kernel), and they overlap. */
static void get_all(struct apply *a, wg_device **cur, int *errs)
{
	const struct rp_config *cfg = a->cfg;
	struct get_job *jobs = calloc(cfg->n_tenants + 1, sizeof(*jobs));
	pthread_t th[32];
	size_t i, n = 0;

	for (i = 0; i < cfg->n_tenants; i++)
		errs[i] = -ENODEV;
	if (!jobs)
		return;
	for (i = 0; i < cfg->n_tenants; i++) {
		jobs[i].wg = a->wg;
		jobs[i].ifname = cfg->tenants[i].tunnel_interface;
		jobs[i].err = -ENODEV;
	}
	for (i = 0; i < cfg->n_tenants; i += n) {
		size_t started = 0;

		n = cfg->n_tenants - i < 32 ? cfg->n_tenants - i : 32;
		for (size_t k = 0; k < n; k++) {
			if (!find_link(a, jobs[i + k].ifname) || a->clean[i + k])
				continue;
			if (pthread_create(&th[k], NULL, get_thread, &jobs[i + k]))
				get_thread(&jobs[i + k]);
			else
				started |= (size_t)1 << k;
		}
		for (size_t k = 0; k < n; k++)
			if (started & ((size_t)1 << k))
				pthread_join(th[k], NULL);
	}
	for (i = 0; i < cfg->n_tenants; i++) {
		cur[i] = jobs[i].dev;
		errs[i] = jobs[i].err;
	}
	free(jobs);
}

static int preflight(struct apply *a, wg_device **cur)
{
	const struct rp_config *cfg = a->cfg;
	char name[IFNAMSIZ + 8], why[256];
	int err = 0, *errs = calloc(cfg->n_tenants + 1, sizeof(int));

	if (!errs)
		return -ENOMEM;
	get_all(a, cur, errs);
	if (!cfg->uplink || !find_link(a, cfg->uplink)) {
		diag_add(a->d, "[gateway] uplink: interface '%s' does not exist",
			 cfg->uplink ? cfg->uplink : "");
		err = -ENODEV;
	}
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		const struct nl_link *tl = find_link(a, t->tunnel_interface);

		if (!find_link(a, t->cloud_interface)) {
			diag_add(a->d, "%s: [tenant] cloud_interface: interface '%s' does not exist",
				 t->file ? t->file : t->name, t->cloud_interface);
			err = -ENODEV;
		}
		if (t->vlan) {
			net_cloud_ifname(t, name, sizeof(name));
			if (strlen(name) >= IFNAMSIZ) {
				diag_add(a->d, "%s: [tenant] vlan: interface name '%s' is longer than %d characters",
					 t->file ? t->file : t->name, name, IFNAMSIZ - 1);
				err = -EINVAL;
			}
		}
		if (a->clean[i])
			continue;
		if (tl) {
			int r = errs[i];

			/* Our persistent tun whose wireguard-go is gone: start it. */
			if (r && a->wg->start && !strcmp(tl->kind, "tun"))
				r = 0;
			if (r) {
				diag_add(a->d, "%s: [tenant] tunnel_interface: '%s' exists and is not a WireGuard device (%s backend: %s)",
					 t->file ? t->file : t->name, t->tunnel_interface,
					 a->wg->name, strerror(-r));
				err = -EEXIST;
				continue;
			}
		}
		if (!cur[i] || cur[i]->listen_port != t->listen_port) {
			int r = port_free(t->listen_port, AF_INET);

			if (!r)
				r = port_free(t->listen_port, AF_INET6);
			if (r) {
				diag_add(a->d, "%s: [tenant] listen_port: UDP port %u is already in use (%s)",
					 t->file ? t->file : t->name, t->listen_port, strerror(-r));
				err = r;
			}
		}
		for (size_t s = 0; s < t->n_sites; s++) {
			wg_peer p;

			if (!t->sites[s].endpoint)
				continue;
			if (net_wg_endpoint(t->sites[s].endpoint, &p, why, sizeof(why))) {
				diag_add(a->d, "%s: [site %s] %s", t->file ? t->file : t->name,
					 t->sites[s].name, why);
				err = -EINVAL;
			}
		}
	}
	free(errs);
	return err;
}

/* ---- links and devices ---- */

static int ensure_links(struct apply *a, wg_device **cur)
{
	const struct rp_config *cfg = a->cfg;
	char name[IFNAMSIZ + 8], why[512];
	unsigned int changes = a->changes;
	bool created = false;
	int err;

	/* VLAN links first: the cheap failure (no 802.1Q) before any tunnel. */
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		const struct nl_link *parent = find_link(a, t->cloud_interface);
		struct undo *u;
		struct nl_link l;

		if (!t->vlan)
			continue;
		net_cloud_ifname(t, name, sizeof(name));
		if (find_link(a, name))
			continue;
		err = nl_link_add_vlan(&a->nl, name, parent->ifindex, t->vlan);
		if (err) {
			diag_add(a->d, "%s: [tenant] vlan: cannot create VLAN link '%s' (id %u on %s): %s",
				 t->file ? t->file : t->name, name, t->vlan, t->cloud_interface,
				 nl_strerror(&a->nl, err));
			return err;
		}
		if (!nl_link_get(&a->nl, name, &l)) {
			u = journal(a, U_LINK_DEL);
			if (!u)
				return -ENOMEM;
			u->ifindex = l.ifindex;
		}
		net_state_add(&a->st, "link %s vlan", name);
		created = true;
		a->changes++;
	}
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		struct undo *u;

		if (find_link(a, t->tunnel_interface))
			continue;
		err = a->wg->create(t->tunnel_interface, cfg->state_dir, why, sizeof(why));
		if (err) {
			diag_add(a->d, "%s: [tenant] tunnel_interface: cannot create '%s': %s",
				 t->file ? t->file : t->name, t->tunnel_interface, why);
			return err;
		}
		u = journal(a, U_WG_DESTROY);
		if (!u)
			return -ENOMEM;
		snprintf(u->ifname, sizeof(u->ifname), "%s", t->tunnel_interface);
		net_state_add(&a->st, "link %s wireguard", t->tunnel_interface);
		created = true;
		a->changes++;
	}
	if (created) {
		err = refresh_links(a);
		if (err)
			return err;
	}
	/* MTU and up. */
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		const struct nl_link *tl = find_link(a, t->tunnel_interface), *cl;

		net_cloud_ifname(t, name, sizeof(name));
		cl = find_link(a, name);
		if (!tl || !cl) {
			diag_add(a->d, "tenant %s: interface '%s' vanished", t->name,
				 tl ? name : t->tunnel_interface);
			return -ENODEV;
		}
		if (tl->mtu != RP_WG_MTU || !(tl->flags & IFF_UP)) {
			err = nl_link_set(&a->nl, tl->ifindex, RP_WG_MTU, true);
			if (err) {
				diag_add(a->d, "tenant %s: cannot set %s up with MTU %d: %s", t->name,
					 t->tunnel_interface, RP_WG_MTU, nl_strerror(&a->nl, err));
				return err;
			}
			a->changes++;
		}
		if (!(cl->flags & IFF_UP)) {
			struct undo *u;

			err = nl_link_set(&a->nl, cl->ifindex, 0, true);
			if (err) {
				diag_add(a->d, "tenant %s: cannot set %s up: %s", t->name, name,
					 nl_strerror(&a->nl, err));
				return err;
			}
			u = journal(a, U_LINK_DOWN);
			if (!u)
				return -ENOMEM;
			u->ifindex = cl->ifindex;
			a->changes++;
		}
	}
	/* flags and MTU as they are now, if anything was changed */
	return a->changes == changes ? 0 : refresh_links(a);
}

/* Userspace backend: start wireguard-go on every tunnel that has none (new,
 * or its process is gone), all at once, then wait for each.  Done after
 * addresses and routes: wireguard-go listens to route changes, and 100 of
 * them woken by each of 20,000 route additions is what makes applies slow. */
static int start_devices(struct apply *a, wg_device **cur)
{
	char why[512];
	int err;

	if (!a->wg->start)
		return 0;
	for (size_t i = 0; i < a->cfg->n_tenants; i++) {
		const struct rp_tenant *t = &a->cfg->tenants[i];
		struct undo *u;

		if (cur[i] || a->clean[i])
			continue;
		err = a->wg->start(t->tunnel_interface, a->cfg->state_dir, why, sizeof(why));
		if (err) {
			diag_add(a->d, "%s: [tenant] tunnel_interface: cannot start wireguard-go on '%s': %s",
				 t->file ? t->file : t->name, t->tunnel_interface, why);
			return err;
		}
		u = journal(a, U_WG_STOP);
		if (!u)
			return -ENOMEM;
		snprintf(u->ifname, sizeof(u->ifname), "%s", t->tunnel_interface);
		a->changes++;
	}
	for (size_t i = 0; i < a->cfg->n_tenants; i++) {
		const struct rp_tenant *t = &a->cfg->tenants[i];

		if (cur[i] || a->clean[i])
			continue;
		err = a->wg->start_wait(t->tunnel_interface, a->cfg->state_dir, why, sizeof(why));
		if (err) {
			diag_add(a->d, "%s: [tenant] tunnel_interface: '%s': %s",
				 t->file ? t->file : t->name, t->tunnel_interface, why);
			return err;
		}
	}
	return 0;
}

static int configure_wg(struct apply *a, wg_device **cur)
{
	char why[256];
	int err = 0;

	for (size_t i = 0; i < a->cfg->n_tenants; i++) {
		const struct rp_tenant *t = &a->cfg->tenants[i];
		wg_device *set = NULL;
		unsigned int n = 0;
		struct undo *u;

		if (a->clean[i])
			continue;
		if (!cur[i]) {
			err = a->wg->get(t->tunnel_interface, &cur[i]);
			if (err) {
				diag_add(a->d, "tenant %s: cannot read WireGuard device %s: %s", t->name,
					 t->tunnel_interface, strerror(-err));
				return err;
			}
		}
		err = net_wg_diff(t, cur[i], &set, &n, why, sizeof(why));
		if (err) {
			diag_add(a->d, "tenant %s: %s", t->name, why[0] ? why : strerror(-err));
			return err;
		}
		if (!set)
			continue;
		err = a->wg->set(set);
		wg_device_wipe_free(set);
		if (err) {
			diag_add(a->d, "tenant %s: WireGuard device %s refused the configuration: %s%s",
				 t->name, t->tunnel_interface, strerror(-err),
				 err == -EADDRINUSE ? " (listen_port in use?)" : "");
			return err;
		}
		u = journal(a, U_WG_RESTORE);
		if (!u)
			return -ENOMEM;
		u->dev = cur[i];
		cur[i] = NULL;
		a->changes += n;
		a->wg->changed(t->tunnel_interface, a->cfg->state_dir);
	}
	return 0;
}

/* ---- addresses ---- */

static int reconcile_addrs(struct apply *a)
{
	struct nl_addr *have = NULL;
	size_t n_have = 0;
	char name[IFNAMSIZ + 8], pbuf[INET6_ADDRSTRLEN + 4];
	int err;

	err = nl_addr_dump(&a->nl, 0, &have, &n_have);
	if (err) {
		diag_add(a->d, "cannot list addresses: %s", nl_strerror(&a->nl, err));
		return err;
	}
	for (size_t i = 0; i < a->cfg->n_tenants && !err; i++) {
		const struct rp_tenant *t = &a->cfg->tenants[i];

		for (int which = 0; which < 2 && !err; which++) {
			const struct rp_prefix_list *l = which ? &t->cloud_address : &t->tunnel_address;
			const struct nl_link *lk;

			if (which)
				net_cloud_ifname(t, name, sizeof(name));
			else
				snprintf(name, sizeof(name), "%s", t->tunnel_interface);
			lk = find_link(a, name);
			for (size_t k = 0; k < l->n && !err; k++) {
				const struct nl_addr *present = NULL;
				struct undo *u;

				prefix_format(&l->v[k], pbuf, sizeof(pbuf));
				for (size_t h = 0; h < n_have && !present; h++)
					if (have[h].ifindex == lk->ifindex &&
					    have[h].p.family == l->v[k].family &&
					    have[h].p.len == l->v[k].len &&
					    !memcmp(have[h].p.addr, l->v[k].addr,
						    l->v[k].family == AF_INET ? 4 : 16))
						present = &have[h];
				if (present && !(present->flags & IFA_F_NOPREFIXROUTE)) {
					/* with a prefix route in the main table (an older
					 * apply, or someone else's): added again without */
					err = nl_addr_del(&a->nl, lk->ifindex, &l->v[k]);
					if (err) {
						diag_add(a->d, "%s: [tenant] %s: cannot re-add %s to %s "
							 "without its main-table route: %s",
							 t->file ? t->file : t->name,
							 which ? "cloud_address" : "tunnel_address", pbuf, name,
							 nl_strerror(&a->nl, err));
						break;
					}
					u = journal(a, U_ADDR_ADD);
					if (!u) {
						err = -ENOMEM;
						break;
					}
					u->ifindex = lk->ifindex;
					u->p = l->v[k];
					present = NULL;
				}
				if (present) {
					/* Ours if we added it before. */
					if (net_state_has(&a->old, "addr %s %s", name, pbuf))
						net_state_add(&a->st, "addr %s %s", name, pbuf);
					continue;
				}
				err = nl_addr_add(&a->nl, lk->ifindex, &l->v[k]);
				if (err) {
					diag_add(a->d, "%s: [tenant] %s: cannot add %s to %s: %s",
						 t->file ? t->file : t->name,
						 which ? "cloud_address" : "tunnel_address", pbuf, name,
						 nl_strerror(&a->nl, err));
					break;
				}
				u = journal(a, U_ADDR_DEL);
				if (!u) {
					err = -ENOMEM;
					break;
				}
				u->ifindex = lk->ifindex;
				u->p = l->v[k];
				net_state_add(&a->st, "addr %s %s", name, pbuf);
				a->changes++;
			}
		}
	}
	free(have);
	return err;
}

/* Addresses rempart added earlier and the config no longer names. */
static int remove_stale_addrs(struct apply *a)
{
	char ifname[64], pbuf[64];
	int err = 0;

	for (size_t i = 0; i < a->old.n; i++) {
		const struct nl_link *lk;
		struct rp_prefix p;
		struct undo *u;
		int r;

		if (sscanf(a->old.lines[i], "addr %63s %63s", ifname, pbuf) != 2)
			continue;
		if (net_state_has(&a->st, "%s", a->old.lines[i]))
			continue;
		lk = find_link(a, ifname);
		if (!lk || prefix_parse(pbuf, &p))
			continue;	/* the link went away, and its addresses with it */
		r = nl_addr_del(&a->nl, lk->ifindex, &p);
		if (r && r != -EADDRNOTAVAIL && r != -ENODEV) {
			diag_add(a->d, "cannot remove address %s from %s: %s", pbuf, ifname,
				 nl_strerror(&a->nl, r));
			err = r;
			continue;
		}
		if (!r) {
			u = journal(a, U_ADDR_ADD);
			if (!u)
				return -ENOMEM;
			u->ifindex = lk->ifindex;
			u->p = p;
			a->changes++;
		}
	}
	return err;
}

/* ---- routes ---- */

struct route_set {
	struct nl_route *v;
	size_t n, cap;
};

static int rs_push(struct route_set *rs, const struct nl_route *r, bool dedupe)
{
	if (dedupe)
		for (size_t i = 0; i < rs->n; i++)
			if (nl_route_same(&rs->v[i], r))
				return 0;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct nl_route *v = realloc(rs->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		rs->v = v;
		rs->cap = cap;
	}
	rs->v[rs->n++] = *r;
	return 0;
}

static int push_prefix(struct route_set *rs, const struct rp_prefix *p, uint32_t table,
		       int oif, uint8_t type, uint32_t metric, bool dedupe)
{
	struct nl_route r = { .family = p->family, .dst_len = p->len, .type = type,
			      .oif = type == RTN_UNICAST ? oif : 0, .table = table, .metric = metric };
	struct rp_prefix m = *p;

	net_prefix_mask(&m);
	memcpy(r.dst, m.addr, 16);
	return rs_push(rs, &r, dedupe);
}

static bool tenant_offers_to(const struct rp_tenant *prov, const struct rp_share *s, size_t consumer)
{
	if (s->all_tenants)
		return true;
	for (size_t k = 0; k < s->n_tenants; k++)
		if (s->tenant_idx && s->tenant_idx[k] == (int)consumer)
			return true;
	(void)prov;
	return false;
}

static bool is_tunnel(const struct apply *a, int ifindex)
{
	for (size_t i = 0; i < a->cfg->n_tenants; i++)
		if (a->tun_ifindex[i] == ifindex)
			return true;
	return false;
}

static bool route_covers(const struct nl_route *outer, const struct nl_route *inner)
{
	struct rp_prefix p = { .family = inner->family, .len = outer->dst_len };

	if (outer->family != inner->family || outer->dst_len > inner->dst_len)
		return false;
	memcpy(p.addr, inner->dst, 16);
	net_prefix_mask(&p);
	return !memcmp(p.addr, outer->dst, 16);
}

/* A route through a tunnel (a site prefix) gets its own "unreachable"
 * fallback (metric RP_METRIC_UNREACH) when another unicast route of the
 * table, through some other interface, also covers it: the uplink's default
 * of an egress = nat tenant, a cloud or shared prefix.  With the tunnel gone
 * the packet then stops here instead of taking that route.  A prefix that
 * nothing else covers falls to the table's "unreachable default" already,
 * and one route fewer per site prefix is one netlink notification fewer on
 * every change (each one wakes every wireguard-go). */
static int push_site_fallbacks(const struct apply *a, struct route_set *rs)
{
	size_t n = rs->n;
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		const struct nl_route *r = &rs->v[i];
		bool covered = false;

		if (r->type != RTN_UNICAST || !is_tunnel(a, r->oif))
			continue;
		for (size_t j = 0; j < n && !covered; j++)
			covered = rs->v[j].type == RTN_UNICAST && rs->v[j].oif != r->oif &&
				  route_covers(&rs->v[j], r);
		if (covered) {
			struct nl_route u = { .family = r->family, .dst_len = r->dst_len,
					      .type = RTN_UNREACHABLE, .table = r->table,
					      .metric = RP_METRIC_UNREACH };

			memcpy(u.dst, r->dst, 16);
			err = rs_push(rs, &u, true);
		}
	}
	return err;
}

/* The routes tenant I's table must hold. */
static int wanted_routes(struct apply *a, size_t i, const struct nl_route *main_v, size_t main_n,
			 struct route_set *rs)
{
	const struct rp_config *cfg = a->cfg;
	const struct rp_tenant *t = &cfg->tenants[i];
	uint32_t table = RP_TABLE_BASE + t->id;
	char name[IFNAMSIZ + 8];
	const struct nl_link *tl = find_link(a, t->tunnel_interface), *cl, *up;
	int err = 0;

	net_cloud_ifname(t, name, sizeof(name));
	cl = find_link(a, name);
	up = find_link(a, cfg->uplink);
	for (size_t k = 0; k < t->cloud_prefixes.n && !err; k++)
		err = push_prefix(rs, &t->cloud_prefixes.v[k], table, cl->ifindex, RTN_UNICAST,
				  RP_METRIC_ROUTE, false);
	/* The subnets of the tenant's own addresses: here only, never in the
	 * main table (the addresses are added without their prefix route), so
	 * that nothing from the uplink is routed into them (SPEC §4.12). */
	for (size_t k = 0; k < t->cloud_address.n && !err; k++)
		err = push_prefix(rs, &t->cloud_address.v[k], table, cl->ifindex, RTN_UNICAST,
				  RP_METRIC_ROUTE, true);
	for (size_t k = 0; k < t->tunnel_address.n && !err; k++)
		err = push_prefix(rs, &t->tunnel_address.v[k], table, tl->ifindex, RTN_UNICAST,
				  RP_METRIC_ROUTE, true);
	for (size_t s = 0; s < t->n_sites && !err; s++)
		for (size_t k = 0; k < t->sites[s].allowed_ips.n && !err; k++)
			err = push_prefix(rs, &t->sites[s].allowed_ips.v[k], table, tl->ifindex,
					  RTN_UNICAST, RP_METRIC_ROUTE, false);
	/* Shares: offered to us by others (forward path), and ours offered to
	 * others (their sites, for the replies). */
	for (size_t p = 0; p < cfg->n_tenants && !err; p++) {
		const struct rp_tenant *o = &cfg->tenants[p];
		char oname[IFNAMSIZ + 8];
		const struct nl_link *ocl, *otl = find_link(a, o->tunnel_interface);

		if (p == i)
			continue;
		net_cloud_ifname(o, oname, sizeof(oname));
		ocl = find_link(a, oname);
		for (size_t s = 0; s < o->n_shares && !err; s++) {
			if (!tenant_offers_to(o, &o->shares[s], i))
				continue;
			for (size_t k = 0; k < o->shares[s].to.n && !err; k++)
				err = push_prefix(rs, &o->shares[s].to.v[k], table, ocl->ifindex,
						  RTN_UNICAST, RP_METRIC_SHARED, true);
		}
		for (size_t s = 0; s < t->n_shares && !err; s++) {
			if (!tenant_offers_to(t, &t->shares[s], p))
				continue;
			for (size_t st = 0; st < o->n_sites && !err; st++)
				for (size_t k = 0; k < o->sites[st].allowed_ips.n && !err; k++)
					err = push_prefix(rs, &o->sites[st].allowed_ips.v[k], table,
							  otl->ifindex, RTN_UNICAST, RP_METRIC_SHARED, true);
		}
	}
	/* The way out. */
	for (int fam = 0; fam < 2 && !err; fam++) {
		uint8_t family = fam ? AF_INET6 : AF_INET;
		struct rp_prefix any = { .family = family };

		if (t->egress == RP_EGRESS_NAT && up) {
			for (size_t k = 0; k < main_n && !err; k++) {
				struct nl_route r = main_v[k];

				if (r.family != family || r.dst_len || r.oif != up->ifindex ||
				    r.type != RTN_UNICAST)
					continue;
				r.table = table;
				r.metric = RP_METRIC_ROUTE;
				r.protocol = 0;
				err = rs_push(rs, &r, true);
			}
		}
		if (!err)
			err = push_prefix(rs, &any, table, 0, RTN_UNREACHABLE, RP_METRIC_UNREACH, false);
	}
	if (!err)
		err = push_site_fallbacks(a, rs);
	return err;
}

static int reconcile_routes(struct apply *a)
{
	struct nl_route *have = NULL;
	size_t n_have = 0;
	struct route_set want = { 0 };
	char buf[160];
	int err = 0;

	a->tun_ifindex = calloc(a->cfg->n_tenants + 1, sizeof(*a->tun_ifindex));
	if (!a->tun_ifindex)
		return -ENOMEM;
	for (size_t i = 0; i < a->cfg->n_tenants; i++) {
		const struct nl_link *l = find_link(a, a->cfg->tenants[i].tunnel_interface);

		a->tun_ifindex[i] = l ? l->ifindex : -1;
	}
	for (size_t i = 0; i < a->cfg->n_tenants && !err; i++) {
		uint32_t table = RP_TABLE_BASE + a->cfg->tenants[i].id;
		size_t first = 0, last;

		if (a->clean[i]) {
			net_state_add(&a->st, "table %u", table);
			continue;
		}
		free(have);
		have = NULL;
		err = nl_route_dump(&a->nl, AF_UNSPEC, table, &have, &n_have);
		if (err) {
			diag_add(a->d, "cannot list the routes of table %u: %s", table,
				 nl_strerror(&a->nl, err));
			break;
		}
		last = n_have;
		want.n = 0;
		err = wanted_routes(a, i, a->main_v, a->main_n, &want);
		if (err)
			break;
		net_state_add(&a->st, "table %u", table);
		/* Add what is missing, then remove what is extra: no gap. */
		for (size_t w = 0; w < want.n && !err; w++) {
			bool present = false;
			struct undo *u;

			for (size_t h = first; h < last && !present; h++)
				present = nl_route_same(&have[h], &want.v[w]);
			if (present)
				continue;
			err = nl_route_add(&a->nl, &want.v[w]);
			if (err == -EEXIST)
				err = 0;	/* two site prefixes masked to the same route */
			else if (err) {
				nl_route_format(&want.v[w], buf, sizeof(buf));
				diag_add(a->d, "tenant %s: cannot add route %s (%s): %s",
					 a->cfg->tenants[i].name, buf, ifname_of(a, want.v[w].oif),
					 nl_strerror(&a->nl, err));
				break;
			} else {
				u = journal(a, U_ROUTE_DEL);
				if (!u) {
					err = -ENOMEM;
					break;
				}
				u->route = want.v[w];
				a->changes++;
			}
		}
		for (size_t h = first; h < last && !err; h++) {
			bool wanted = false;
			struct undo *u;

			for (size_t w = 0; w < want.n && !wanted; w++)
				wanted = nl_route_same(&have[h], &want.v[w]);
			if (wanted)
				continue;
			err = nl_route_del(&a->nl, &have[h]);
			if (err == -ESRCH) {
				err = 0;
				continue;
			}
			if (err) {
				nl_route_format(&have[h], buf, sizeof(buf));
				diag_add(a->d, "tenant %s: cannot remove route %s: %s",
					 a->cfg->tenants[i].name, buf, nl_strerror(&a->nl, err));
				break;
			}
			u = journal(a, U_ROUTE_ADD);
			if (!u) {
				err = -ENOMEM;
				break;
			}
			u->route = have[h];
			a->changes++;
		}
	}
	free(want.v);
	free(have);
	free(a->tun_ifindex);
	a->tun_ifindex = NULL;
	return err;
}

/* Tables of tenants that are gone: empty them. */
static int remove_stale_tables(struct apply *a, bool journal_it)
{
	struct nl_route *have = NULL;
	size_t n_have = 0;
	unsigned int table;
	char buf[160];
	int err = 0;

	for (size_t i = 0; i < a->old.n; i++) {
		if (sscanf(a->old.lines[i], "table %u", &table) != 1)
			continue;
		if (net_state_has(&a->st, "table %u", table))
			continue;
		free(have);
		have = NULL;
		if ((err = nl_route_dump(&a->nl, AF_UNSPEC, table, &have, &n_have))) {
			diag_add(a->d, "cannot list routes: %s", nl_strerror(&a->nl, err));
			return err;
		}
		for (size_t h = 0; h < n_have; h++) {
			int r;
			struct undo *u;

			if (have[h].table != table)
				continue;
			r = nl_route_del(&a->nl, &have[h]);
			if (r && r != -ESRCH) {
				nl_route_format(&have[h], buf, sizeof(buf));
				diag_add(a->d, "cannot remove route %s: %s", buf, nl_strerror(&a->nl, r));
				err = r;
				continue;
			}
			a->changes += !r;
			if (!r && journal_it) {
				u = journal(a, U_ROUTE_ADD);
				if (!u) {
					free(have);
					return -ENOMEM;
				}
				u->route = have[h];
			}
		}
	}
	free(have);
	return err;
}

/* ---- rules ---- */

static void ifname_copy(char dst[IFNAMSIZ], const char *src)
{
	size_t n = strnlen(src, IFNAMSIZ - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

static void rule_state_line(const struct nl_rule *r, char *buf, size_t len)
{
	char mask[24] = "";

	if (r->fwmask && r->fwmask != 0xffffffffu)	/* a mark without a mask matches all bits */
		snprintf(mask, sizeof(mask), "/0x%x", r->fwmask);
	snprintf(buf, len, "rule %u %u %u iif=%s mark=0x%x%s", r->family == AF_INET ? 4 : 6,
		 r->priority, r->table, r->iif[0] ? r->iif : "-", r->fwmark, mask);
}

static int rule_from_state(const char *line, struct nl_rule *r)
{
	char iif[IFNAMSIZ + 8];
	unsigned int fam;

	memset(r, 0, sizeof(*r));
	if (sscanf(line, "rule %u %u %u iif=%23s mark=0x%x", &fam, &r->priority, &r->table, iif,
		   &r->fwmark) != 5)
		return -EINVAL;
	r->family = fam == 4 ? AF_INET : AF_INET6;
	if (strcmp(iif, "-"))
		ifname_copy(r->iif, iif);
	if (strstr(line, " mark=") && sscanf(strstr(line, " mark=") + 6, "0x%*x/0x%x", &r->fwmask) != 1)
		r->fwmask = r->fwmark ? 0xffffffffu : 0;
	return 0;
}

/* Add WANT unless it is in HAVE; either way it goes in the new state. */
static int want_rule(struct apply *a, const struct nl_rule *want, const struct nl_rule *have,
		     size_t n_have, const char *who)
{
	char line[160], buf[160];
	bool present = false;
	struct undo *u;
	int err;

	rule_state_line(want, line, sizeof(line));
	for (size_t h = 0; h < n_have && !present; h++)
		present = nl_rule_same(&have[h], want);
	if (present) {
		if (net_state_has(&a->old, "%s", line))
			net_state_add(&a->st, "%s", line);
		return 0;
	}
	err = nl_rule_add(&a->nl, want);
	if (err) {
		nl_rule_format(want, buf, sizeof(buf));
		diag_add(a->d, "%s: cannot add rule '%s': %s", who, buf, nl_strerror(&a->nl, err));
		return err;
	}
	u = journal(a, U_RULE_DEL);
	if (!u)
		return -ENOMEM;
	u->rule = *want;
	net_state_add(&a->st, "%s", line);
	a->changes++;
	return 0;
}

static int reconcile_rules(struct apply *a)
{
	struct nl_rule *have = NULL;
	size_t n_have = 0;
	char name[IFNAMSIZ + 8], who[64];
	int err;

	err = nl_rule_dump(&a->nl, AF_UNSPEC, &have, &n_have);
	if (err) {
		diag_add(a->d, "cannot list policy rules: %s", nl_strerror(&a->nl, err));
		return err;
	}
	/* Packets from the uplink without a NAT mark, the gateway's own output
	 * and the kernel's source validation (both with the loopback as input
	 * interface) match no tenant's rule: send them to the main table in
	 * front of the tenants' rules rather than after a walk through every
	 * one of them, which cost each WireGuard packet ~2 us with 100
	 * tenants.  "fwmark 0/RP_MARK_MASK": NAT-marked replies go on to
	 * their tenant's fwmark rule. */
	for (int fam = 0; fam < 2 && !err && a->cfg->n_tenants; fam++) {
		struct nl_rule r = { .family = fam ? AF_INET6 : AF_INET,
				     .priority = RP_RULE_PRIO_GW, .table = RT_TABLE_MAIN,
				     .fwmask = RP_MARK_MASK };

		ifname_copy(r.iif, a->cfg->uplink);
		err = want_rule(a, &r, have, n_have, "[gateway] uplink");
		if (!err) {
			ifname_copy(r.iif, "lo");
			err = want_rule(a, &r, have, n_have, "[gateway] uplink");
		}
	}
	for (size_t i = 0; i < a->cfg->n_tenants && !err; i++) {
		const struct rp_tenant *t = &a->cfg->tenants[i];
		struct nl_rule want[6];
		size_t n = 0;

		net_cloud_ifname(t, name, sizeof(name));
		for (int fam = 0; fam < 2; fam++) {
			struct nl_rule r = { .family = fam ? AF_INET6 : AF_INET,
					     .priority = RP_RULE_PRIO_BASE + t->id,
					     .table = RP_TABLE_BASE + t->id };

			ifname_copy(r.iif, t->tunnel_interface);
			want[n++] = r;
			ifname_copy(r.iif, name);
			want[n++] = r;
			/* the tenant's mark (set at its ingress, reflected onto the
			 * gateway's answers, restored on NAT replies): its table */
			r.iif[0] = 0;
			r.priority = RP_RULE_PRIO_MARK;
			r.fwmark = RP_MARK_BASE | t->id;
			r.fwmask = 0xffffffffu;
			want[n++] = r;
		}
		snprintf(who, sizeof(who), "tenant %s", t->name);
		for (size_t w = 0; w < n && !err; w++)
			err = want_rule(a, &want[w], have, n_have, who);
	}
	free(have);
	return err;
}

static int remove_stale_rules(struct apply *a)
{
	int err = 0;

	for (size_t i = 0; i < a->old.n; i++) {
		struct nl_rule r;
		struct undo *u;
		int e;

		if (strncmp(a->old.lines[i], "rule ", 5) || net_state_has(&a->st, "%s", a->old.lines[i]))
			continue;
		if (rule_from_state(a->old.lines[i], &r))
			continue;
		e = nl_rule_del(&a->nl, &r);
		if (e == -ENOENT)
			continue;
		if (e) {
			char buf[160];

			nl_rule_format(&r, buf, sizeof(buf));
			diag_add(a->d, "cannot remove rule '%s': %s", buf, nl_strerror(&a->nl, e));
			err = e;
			continue;
		}
		u = journal(a, U_RULE_ADD);
		if (!u)
			return -ENOMEM;
		u->rule = r;
		a->changes++;
	}
	return err;
}

/* Links rempart created that the config no longer names. */
static int remove_stale_links(struct apply *a)
{
	char name[64], kind[32];
	int err = 0;

	/* Signal every supervisor first, so they all stop at once. */
	for (size_t i = 0; a->wg->start && i < a->old.n; i++) {
		int pid;

		if (sscanf(a->old.lines[i], "link %63s %31s", name, kind) != 2 ||
		    strcmp(kind, "wireguard") || net_state_has(&a->st, "%s", a->old.lines[i]))
			continue;
		pid = wgs_pid(name, a->cfg->state_dir);
		if (pid > 0)
			kill(pid, SIGTERM);
	}
	for (size_t i = 0; i < a->old.n; i++) {
		const struct nl_link *l;
		int e;

		if (sscanf(a->old.lines[i], "link %63s %31s", name, kind) != 2)
			continue;
		if (net_state_has(&a->st, "%s", a->old.lines[i]))
			continue;
		if (!strcmp(kind, "wireguard"))
			a->wg->destroy(name, a->cfg->state_dir);
		l = find_link(a, name);
		if (!l)
			continue;
		e = nl_link_del(&a->nl, l->ifindex);
		if (e && e != -ENODEV) {
			diag_add(a->d, "cannot remove link %s: %s", name, nl_strerror(&a->nl, e));
			err = e;
		}
		a->changes++;
	}
	return err;
}

/* ---- the supervisor's restore file ---- */

static void write_tunnel_netstate(struct apply *a, const struct rp_tenant *t,
				  const struct nl_route *rv, size_t rn)
{
	char path[4096], tmp[4200], pbuf[INET6_ADDRSTRLEN + 4], dst[INET6_ADDRSTRLEN];
	const struct nl_link *tl = find_link(a, t->tunnel_interface);
	FILE *f;

	if (!tl)
		return;
	snprintf(path, sizeof(path), "%s/wg/%s.net", a->cfg->state_dir, t->tunnel_interface);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "mtu %d\n", RP_WG_MTU);
	for (size_t k = 0; k < t->tunnel_address.n; k++) {
		prefix_format(&t->tunnel_address.v[k], pbuf, sizeof(pbuf));
		fprintf(f, "addr %s\n", pbuf);
	}
	for (size_t k = 0; k < rn; k++) {
		if (rv[k].oif != tl->ifindex || rv[k].table < RP_TABLE_BASE ||
		    rv[k].table > RP_TABLE_BASE + RP_TENANT_ID_MAX || rv[k].type != RTN_UNICAST)
			continue;
		inet_ntop(rv[k].family, rv[k].dst, dst, sizeof(dst));
		fprintf(f, "route %s/%u %u %u\n", dst, rv[k].dst_len, rv[k].table, rv[k].metric);
	}
	if (fclose(f) == 0)
		rename(tmp, path);
}

int net_tunnel_restore(const char *ifname, const char *state_dir)
{
	char path[4096], line[256], a1[80];
	unsigned int u1, u2;
	struct nl_ctx nl;
	struct nl_link l;
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/wg/%s.net", state_dir, ifname);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	err = nl_open(&nl);
	if (err)
		goto out;
	err = nl_link_get(&nl, ifname, &l);
	if (err)
		goto out_nl;
	err = nl_link_set(&nl, l.ifindex, RP_WG_MTU, true);
	while (!err && fgets(line, sizeof(line), f)) {
		struct rp_prefix p;

		if (sscanf(line, "addr %79s", a1) == 1 && !prefix_parse(a1, &p)) {
			int e = nl_addr_add(&nl, l.ifindex, &p);

			if (e && e != -EEXIST)
				err = e;
		} else if (sscanf(line, "route %79s %u %u", a1, &u1, &u2) == 3 && !prefix_parse(a1, &p)) {
			struct nl_route r = { .family = p.family, .dst_len = p.len, .type = RTN_UNICAST,
					      .oif = l.ifindex, .table = u1, .metric = u2 };
			int e;

			memcpy(r.dst, p.addr, 16);
			e = nl_route_add(&nl, &r);
			if (e && e != -EEXIST)
				err = e;
		}
	}
out_nl:
	nl_close(&nl);
out:
	fclose(f);
	return err;
}

/* ---- entry points ---- */

static int lock_state(const char *state_dir, struct diag *d)
{
	char path[4096];
	int fd, err;

	err = net_mkdir_p(state_dir, 0700);
	if (err) {
		diag_add(d, "cannot create state directory %s: %s", state_dir, strerror(-err));
		return err;
	}
	snprintf(path, sizeof(path), "%s/net.lock", state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		err = -errno;
		diag_add(d, "cannot lock %s: %s", path, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

int net_apply(const struct rp_config *cfg, struct diag *d)
{
	struct apply a = { .cfg = cfg, .d = d };
	wg_device **cur = NULL;
	bool nat_changed = false;
	int lock, err;

	last_changes = 0;
	stage(NULL);
	lock = lock_state(cfg->state_dir, d);
	if (lock < 0)
		return lock;
	a.wg = wg_backend_get();
	err = nl_open(&a.nl);
	if (err) {
		diag_add(d, "cannot open rtnetlink: %s", strerror(-err));
		goto out_lock;
	}
	err = net_state_load(&a.old, cfg->state_dir);
	if (err) {
		diag_add(d, "cannot read %s/net.state: %s", cfg->state_dir, strerror(-err));
		goto out;
	}
	cur = calloc(cfg->n_tenants + 1, sizeof(*cur));
	a.fp = calloc(cfg->n_tenants + 1, sizeof(*a.fp));
	a.clean = calloc(cfg->n_tenants + 1, sizeof(*a.clean));
	if (!cur || !a.fp || !a.clean) {
		err = -ENOMEM;
		goto out;
	}
	err = refresh_links(&a);
	if (err) {
		diag_add(d, "cannot list links: %s", nl_strerror(&a.nl, err));
		goto out;
	}
	err = nl_route_dump(&a.nl, AF_UNSPEC, RT_TABLE_MAIN, &a.main_v, &a.main_n);
	if (err) {
		diag_add(d, "cannot list the main routing table: %s", nl_strerror(&a.nl, err));
		goto out;
	}
	compute_clean(&a);
	stage("start");
	err = preflight(&a, cur);
	if (err)
		goto out;
	stage("preflight");

	/* Things rempart created and still wants stay recorded as created. */
	for (size_t i = 0; i < a.old.n; i++)
		if (!strncmp(a.old.lines[i], "link ", 5)) {
			char name[64];

			for (size_t t = 0; t < cfg->n_tenants; t++) {
				net_cloud_ifname(&cfg->tenants[t], name, sizeof(name));
				if (net_state_has(&a.old, "link %s wireguard", cfg->tenants[t].tunnel_interface))
					net_state_add(&a.st, "link %s wireguard", cfg->tenants[t].tunnel_interface);
				if (cfg->tenants[t].vlan && net_state_has(&a.old, "link %s vlan", name))
					net_state_add(&a.st, "link %s vlan", name);
			}
			break;
		}
	/* fwmark_reflect: what the gateway answers a tenant (echo, TCP resets,
	 * ICMP errors) carries the tenant's mark, and goes back through the
	 * tenant's own table and interface (SPEC §4.14) */
	if ((err = set_sysctl(&a, "/proc/sys/net/ipv4/ip_forward", "1")) ||
	    (err = set_sysctl(&a, "/proc/sys/net/ipv6/conf/all/forwarding", "1")) ||
	    (err = set_sysctl(&a, "/proc/sys/net/ipv4/fwmark_reflect", "1")) ||
	    (err = set_sysctl(&a, "/proc/sys/net/ipv6/fwmark_reflect", "1")))
		goto fail;
	if ((err = ensure_links(&a, cur)))
		goto fail;
	stage("links");
	if ((err = reconcile_addrs(&a)))
		goto fail;
	stage("addresses");
	if ((err = reconcile_routes(&a)))
		goto fail;
	stage("routes");
	if ((err = reconcile_rules(&a)))
		goto fail;
	stage("rules");
	if ((err = start_devices(&a, cur)))
		goto fail;
	stage("start");
	if ((err = configure_wg(&a, cur)))
		goto fail;
	stage("wireguard");
	/* What the config no longer wants. */
	if ((err = remove_stale_rules(&a)) || (err = remove_stale_tables(&a, true)) ||
	    (err = remove_stale_addrs(&a)))
		goto fail;
	stage("stale");
	/* No NAT wanted and none made by us: nothing to ask nft. */
	if (nat_ruleset_nonempty(cfg) || net_state_has(&a.old, "nat") || getenv("RP_NET_FULL"))
		err = nat_apply(cfg, getenv("RP_NET_FULL") || !net_state_has(&a.old, "nat"),
				&nat_changed, d);
	if (err)
		goto fail;
	stage("nat");
	a.changes += nat_changed;
	if (nat_ruleset_nonempty(cfg))
		net_state_add(&a.st, "nat");
	/* From here on nothing is rolled back: links last, they hold sessions. */
	remove_stale_links(&a);
	for (size_t i = 0; i < a.old.n; i++)
		if (!strncmp(a.old.lines[i], "sysctl ", 7))
			net_state_add(&a.st, "%s", a.old.lines[i]);
	net_state_add(&a.st, "backend %s", a.wg->name);
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		struct nl_route *rv = NULL;
		size_t rn = 0;

		/* Now that every link exists: the fingerprint the next apply
		 * will compute if nothing changes (the same as before, a
		 * function of the config and the links, if no link changed). */
		if (a.links_gen != a.fp_links_gen)
			a.fp[i] = tenant_fp(&a, i);
		net_state_add(&a.st, "fp %u %016llx", cfg->tenants[i].id, (unsigned long long)a.fp[i]);
		if (a.wg != &wg_backend_uapi || a.clean[i])
			continue;
		if (!nl_route_dump(&a.nl, AF_UNSPEC, RP_TABLE_BASE + cfg->tenants[i].id, &rv, &rn))
			write_tunnel_netstate(&a, &cfg->tenants[i], rv, rn);
		free(rv);
	}
	stage("netstate");
	err = net_state_save(&a.st, cfg->state_dir);
	stage("save");
	if (err)
		diag_add(d, "cannot write %s/net.state: %s (`down` will not know what apply created)",
			 cfg->state_dir, strerror(-err));
	last_changes = a.changes;
	pr_debug("net: %u change(s)", a.changes);
	goto out;
fail:
	rollback(&a);
out:
	if (cur) {
		for (size_t i = 0; i < cfg->n_tenants; i++)
			wg_device_wipe_free(cur[i]);
		free(cur);
	}
	free_journal(&a);
	free(a.links);
	free(a.main_v);
	free(a.fp);
	free(a.clean);
	net_state_free(&a.old);
	net_state_free(&a.st);
	nl_close(&a.nl);
out_lock:
	close(lock);
	return err;
}

int net_down(const struct rp_config *cfg, struct diag *d)
{
	struct apply a = { .cfg = cfg, .d = d };
	char path[4096], val[64];
	int lock, err, ret = 0;

	lock = lock_state(cfg->state_dir, d);
	if (lock < 0)
		return lock;
	a.wg = wg_backend_get();
	err = nl_open(&a.nl);
	if (err) {
		diag_add(d, "cannot open rtnetlink: %s", strerror(-err));
		goto out;
	}
	err = net_state_load(&a.old, cfg->state_dir);
	if (err) {
		diag_add(d, "cannot read %s/net.state: %s", cfg->state_dir, strerror(-err));
		goto out;
	}
	/* a.st stays empty: nothing is wanted any more. */
	if ((err = refresh_links(&a))) {
		diag_add(d, "cannot list links: %s", nl_strerror(&a.nl, err));
		goto out;
	}
	if (net_state_has(&a.old, "nat") && nat_down(d))
		ret = -EIO;
	/* Links before tables: deleting a tunnel takes its routes with it at
	 * once, and no wireguard-go is left to wake up for each route. */
	if (remove_stale_rules(&a))
		ret = -EIO;
	if (remove_stale_addrs(&a))
		ret = -EIO;
	if (remove_stale_links(&a))
		ret = -EIO;
	if (remove_stale_tables(&a, false))
		ret = -EIO;
	for (size_t i = 0; i < a.old.n; i++) {
		FILE *f;

		if (sscanf(a.old.lines[i], "sysctl %4095s %63s", path, val) != 2)
			continue;
		f = fopen(path, "we");
		if (f) {
			fputs(val, f);
			fclose(f);
		}
	}
	/* Anything left over by an older, unrecorded run is not ours to touch. */
	if (!ret) {
		snprintf(path, sizeof(path), "%s/net.state", cfg->state_dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/nat.nft", cfg->state_dir);
		unlink(path);
	}
	err = ret;
	free_journal(&a);
out:
	free(a.links);
	net_state_free(&a.old);
	nl_close(&a.nl);
	close(lock);
	return err;
}
