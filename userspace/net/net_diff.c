// SPDX-License-Identifier: GPL-2.0
/* net_diff.c — what net_apply() would change, read from the kernel and
 * changed nowhere (net.h: net_diff).  It walks the same steps in the same
 * order with the same inputs (the link table, net.state, the route and rule
 * plans of route_plan.c, net_wg_diff() for the devices, the fingerprints
 * that let apply skip a clean tenant), and says each change instead of
 * making it.  A change that depends on an earlier one (the routes through a
 * tunnel that is still to be created) is said with the name the link will
 * have. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "lib/fileutil.h"
#include "lib/keys.h"
#include "lib/statedir.h"
#include "net/net.h"
#include "net/net_state.h"
#include "net/net_priv.h"
#include "net/net_wg.h"
#include "net/reconcile.h"
#include "net/route_plan.h"

struct differ {
	struct apply a;
	struct net_plan out;
	/* ifindexes planned for links that do not exist yet: negative, so
	 * they name nothing in the kernel; names by index */
	char (*planned)[IFNAMSIZ + 8];
	size_t n_planned;
};

void net_plan_say(struct net_plan *p, char op, const char *what, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	p->emit(p->ctx, op, what, text);
	p->n++;
}

static const char *ifname_of(const struct differ *df, int ifindex)
{
	if (ifindex < 0 && (size_t)-ifindex <= df->n_planned)
		return df->planned[-ifindex - 1];
	return net_ifname_of(&df->a, ifindex);
}

/* The ifindex of NAME, or a planned one when it is still to be made. */
static int link_index(struct differ *df, const char *name)
{
	const struct nl_link *l = net_link_find(&df->a, name);

	if (l)
		return l->ifindex;
	for (size_t i = 0; i < df->n_planned; i++)
		if (!strcmp(df->planned[i], name))
			return -(int)i - 1;
	return 0;
}

static void route_text(const struct differ *df, const struct nl_route *r, char *buf, size_t len)
{
	char dev[IFNAMSIZ + 16] = "";

	if (r->oif)
		snprintf(dev, sizeof(dev), " dev %s", ifname_of(df, r->oif));
	nl_route_text(r, dev, buf, len);
}

/* ---- sysctls, links ---- */

static void diff_sysctl(struct differ *df, const char *path, const char *want)
{
	char cur[32] = "";
	FILE *f = fopen(path, "re");

	if (f) {
		if (fgets(cur, sizeof(cur), f))
			cur[strcspn(cur, "\n")] = 0;
		fclose(f);
	}
	if (strcmp(cur, want))
		net_plan_say(&df->out, '~', "sysctl", "%s %s -> %s", path + strlen("/proc/sys/"),
			     cur[0] ? cur : "?", want);
}

static int plan_link(struct differ *df, const char *name)
{
	void *p = realloc(df->planned, (df->n_planned + 1) * sizeof(*df->planned));

	if (!p)
		return -ENOMEM;
	df->planned = p;
	snprintf(df->planned[df->n_planned++], sizeof(*df->planned), "%s", name);
	return 0;
}

static int diff_links(struct differ *df)
{
	const struct rp_config *cfg = df->a.cfg;
	char name[IFNAMSIZ + 8];
	int err;

	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		net_cloud_ifname(t, name, sizeof(name));
		if (t->vlan && !net_link_find(&df->a, name)) {
			net_plan_say(&df->out, '+', "link", "%s vlan %u on %s", name, t->vlan,
				     t->cloud_interface);
			if ((err = plan_link(df, name)))
				return err;
		}
	}
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		const struct nl_link *tl = net_link_find(&df->a, t->tunnel_interface), *cl;

		net_cloud_ifname(t, name, sizeof(name));
		cl = net_link_find(&df->a, name);
		if (!tl) {
			net_plan_say(&df->out, '+', "link", "%s wireguard (%s), mtu %u, up",
				     t->tunnel_interface, df->a.wg->name, t->mtu);
			if ((err = plan_link(df, t->tunnel_interface)))
				return err;
		} else if (tl->mtu != t->mtu || !(tl->flags & IFF_UP)) {
			net_plan_say(&df->out, '~', "link", "%s mtu %u%s", t->tunnel_interface,
				     t->mtu, tl->flags & IFF_UP ? "" : ", up");
		}
		if (cl && !(cl->flags & IFF_UP))
			net_plan_say(&df->out, '~', "link", "%s up", name);
		/* a key rotation's second tunnel (net/keyrot.h) */
		if (t->next_interface && !net_link_find(&df->a, t->next_interface)) {
			net_plan_say(&df->out, '+', "link", "%s wireguard (%s), mtu %u, up: the next key "
				     "on port %u", t->next_interface, df->a.wg->name, t->mtu,
				     t->next_listen_port);
			if ((err = plan_link(df, t->next_interface)))
				return err;
		}
	}
	return 0;
}

/* A link rempart made (net.state) that the config no longer names. */
static bool link_wanted(const struct rp_config *cfg, const char *name, const char *kind)
{
	char cl[IFNAMSIZ + 8];

	for (size_t i = 0; i < cfg->n_tenants; i++) {
		net_cloud_ifname(&cfg->tenants[i], cl, sizeof(cl));
		if (!strcmp(kind, "wireguard") && !strcmp(name, cfg->tenants[i].tunnel_interface))
			return true;
		if (!strcmp(kind, "wireguard") && cfg->tenants[i].next_interface &&
		    !strcmp(name, cfg->tenants[i].next_interface))
			return true;
		if (!strcmp(kind, "vlan") && cfg->tenants[i].vlan && !strcmp(name, cl))
			return true;
	}
	return false;
}

static void diff_stale_links(struct differ *df)
{
	char name[64], kind[32];

	for (size_t i = 0; i < df->a.old.n; i++)
		if (sscanf(df->a.old.lines[i], "link %63s %31s", name, kind) == 2 &&
		    !link_wanted(df->a.cfg, name, kind) && net_link_find(&df->a, name))
			net_plan_say(&df->out, '-', "link", "%s %s", name, kind);
}

/* ---- addresses ---- */

static bool addr_wanted(const struct rp_config *cfg, const char *ifname, const struct rp_prefix *p)
{
	char name[IFNAMSIZ + 8];

	for (size_t i = 0; i < cfg->n_tenants; i++)
		for (int which = 0; which < 2; which++) {
			const struct rp_prefix_list *l = net_tenant_addrs(&cfg->tenants[i], which,
									  name, sizeof(name));

			for (size_t k = 0; k < l->n && !strcmp(name, ifname); k++)
				if (l->v[k].family == p->family && l->v[k].len == p->len &&
				    !memcmp(l->v[k].addr, p->addr, p->family == AF_INET ? 4 : 16))
					return true;
		}
	return false;
}

static int diff_addr(struct apply *a, const struct addr_want *w, void *ctx)
{
	struct differ *df = ctx;
	char pbuf[INET6_ADDRSTRLEN + 4];

	(void)a;
	if (w->have)
		return 0;
	prefix_format(w->p, pbuf, sizeof(pbuf));
	net_plan_say(&df->out, '+', "addr", "%s dev %s", pbuf, w->ifname);
	return 0;
}

static int diff_addrs(struct differ *df)
{
	char pbuf[INET6_ADDRSTRLEN + 4], ifname[64];
	struct nl_addr *have = NULL;
	size_t n_have = 0;
	int err;

	err = nl_addr_dump(&df->a.nl, 0, &have, &n_have);
	if (err) {
		diag_add(df->a.d, "cannot list addresses: %s", nl_strerror(&df->a.nl, err));
		return err;
	}
	net_addrs_walk(&df->a, have, n_have, diff_addr, df);
	/* addresses rempart added that the config no longer names */
	for (size_t i = 0; i < df->a.old.n; i++) {
		const struct nl_link *lk;
		struct rp_prefix p;

		if (sscanf(df->a.old.lines[i], "addr %63s %45s", ifname, pbuf) != 2 ||
		    prefix_parse(pbuf, &p) || addr_wanted(df->a.cfg, ifname, &p))
			continue;
		lk = net_link_find(&df->a, ifname);
		if (lk && net_addr_present(have, n_have, lk->ifindex, &p))
			net_plan_say(&df->out, '-', "addr", "%s dev %s", pbuf, ifname);
	}
	free(have);
	return 0;
}

/* ---- routes ---- */

static int diff_routes(struct differ *df)
{
	const struct rp_config *cfg = df->a.cfg;
	struct nl_route *have = NULL;
	struct route_set want = { 0 };
	int *tun = calloc(cfg->n_tenants + 1, sizeof(int));
	int *cloud = calloc(cfg->n_tenants + 1, sizeof(int));
	char name[IFNAMSIZ + 8], buf[256];
	struct net_ifindex ix;
	size_t n_have = 0;
	unsigned table;
	int err = -ENOMEM;

	if (!tun || !cloud)
		goto out;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		tun[i] = link_index(df, cfg->tenants[i].tunnel_interface);
		net_cloud_ifname(&cfg->tenants[i], name, sizeof(name));
		cloud[i] = link_index(df, name);
	}
	ix = (struct net_ifindex){ .uplink = cfg->uplink ? link_index(df, cfg->uplink) : 0,
				   .tunnel = tun, .cloud = cloud };
	err = 0;
	for (size_t i = 0; i < cfg->n_tenants && !err; i++) {
		table = RP_TABLE_BASE + cfg->tenants[i].id;
		if (df->a.clean[i])
			continue;	/* apply does not look at a clean tenant */
		free(have);
		have = NULL;
		err = nl_route_dump(&df->a.nl, AF_UNSPEC, table, &have, &n_have);
		if (err) {
			diag_add(df->a.d, "cannot list the routes of table %u: %s", table,
				 nl_strerror(&df->a.nl, err));
			break;
		}
		want.n = 0;
		err = net_plan_routes(cfg, &ix, i, df->a.main_v, df->a.main_n, &want);
		for (size_t w = 0; w < want.n && !err; w++) {
			bool present = false, dup = false;

			for (size_t h = 0; h < n_have && !present; h++)
				present = nl_route_same(&have[h], &want.v[w]);
			for (size_t k = 0; k < w && !dup; k++)	/* masked to the same route */
				dup = nl_route_same(&want.v[k], &want.v[w]);
			if (present || dup)
				continue;
			route_text(df, &want.v[w], buf, sizeof(buf));
			net_plan_say(&df->out, '+', "route", "%s", buf);
		}
		for (size_t h = 0; h < n_have && !err; h++) {
			bool wanted = false;

			for (size_t w = 0; w < want.n && !wanted; w++)
				wanted = nl_route_same(&have[h], &want.v[w]);
			if (wanted)
				continue;
			route_text(df, &have[h], buf, sizeof(buf));
			net_plan_say(&df->out, '-', "route", "%s", buf);
		}
	}
	/* the tables of tenants that are gone */
	for (size_t i = 0; i < df->a.old.n && !err; i++) {
		bool wanted = false;

		if (sscanf(df->a.old.lines[i], "table %u", &table) != 1)
			continue;
		for (size_t t = 0; t < cfg->n_tenants && !wanted; t++)
			wanted = (unsigned)(RP_TABLE_BASE + cfg->tenants[t].id) == table;
		if (wanted)
			continue;
		free(have);
		have = NULL;
		if (nl_route_dump(&df->a.nl, AF_UNSPEC, table, &have, &n_have))
			continue;
		for (size_t h = 0; h < n_have; h++)
			if (have[h].table == table) {
				route_text(df, &have[h], buf, sizeof(buf));
				net_plan_say(&df->out, '-', "route", "%s", buf);
			}
	}
out:
	free(want.v);
	free(have);
	free(tun);
	free(cloud);
	return err;
}

/* ---- rules ---- */

static int diff_rules(struct differ *df)
{
	struct net_rule_want *want = NULL;
	struct nl_rule *have = NULL;
	size_t n_want = 0, n_have = 0;
	char line[160], buf[160];
	int err;

	err = net_plan_rules(df->a.cfg, &want, &n_want);
	if (err)
		return err;
	err = nl_rule_dump(&df->a.nl, AF_UNSPEC, &have, &n_have);
	if (err) {
		diag_add(df->a.d, "cannot list policy rules: %s", nl_strerror(&df->a.nl, err));
		goto out;
	}
	for (size_t w = 0; w < n_want; w++) {
		bool present = false;

		for (size_t h = 0; h < n_have && !present; h++)
			present = nl_rule_same(&have[h], &want[w].rule);
		if (present)
			continue;
		nl_rule_format(&want[w].rule, buf, sizeof(buf));
		net_plan_say(&df->out, '+', "rule", "%s", buf);
	}
	/* rules rempart added that the plan no longer has */
	for (size_t i = 0; i < df->a.old.n; i++) {
		struct nl_rule r;
		bool wanted = false, present = false;

		if (strncmp(df->a.old.lines[i], "rule ", 5) || net_rule_from_state(df->a.old.lines[i], &r))
			continue;
		for (size_t w = 0; w < n_want && !wanted; w++) {
			net_rule_state_line(&want[w].rule, line, sizeof(line));
			wanted = !strcmp(line, df->a.old.lines[i]);
		}
		for (size_t h = 0; h < n_have && !present; h++)
			present = nl_rule_same(&have[h], &r);
		if (wanted || !present)
			continue;
		nl_rule_format(&r, buf, sizeof(buf));
		net_plan_say(&df->out, '-', "rule", "%s", buf);
	}
out:
	free(want);
	free(have);
	return err;
}

/* ---- WireGuard devices and peers ---- */

static const char *peer_site(const struct rp_tenant *t, const uint8_t *key, bool *previous)
{
	for (size_t i = 0; i < t->n_sites; i++) {
		*previous = t->sites[i].has_previous &&
			    !memcmp(key, t->sites[i].previous_public_key, RP_KEY_LEN);
		if (*previous || !memcmp(key, t->sites[i].public_key, RP_KEY_LEN))
			return t->sites[i].name;
	}
	return NULL;
}

static void say_peer(struct differ *df, const struct rp_tenant *t, const wg_device *cur,
		     const wg_peer *p)
{
	char key[RP_KEY_B64_LEN + 1], what[160] = "";
	bool previous = false;
	const char *site = peer_site(t, p->public_key, &previous);
	const wg_peer *c = wg_device_find_peer(cur, p->public_key);

	key_to_base64(p->public_key, key);
	if (p->flags & WGPEER_REMOVE_ME) {
		net_plan_say(&df->out, '-', "peer", "%s %s%s", t->tunnel_interface,
			     site ? site : key,
			     site ? (previous ? " (its previous key)" : "") : "");
		return;
	}
	if (!c) {
		net_plan_say(&df->out, '+', "peer", "%s %s%s (%s)", t->tunnel_interface,
			     site ? site : "?", previous ? " (its previous key)" : "", key);
		return;
	}
	snprintf(what, sizeof(what), "%s%s%s%s",
		 p->flags & WGPEER_REPLACE_ALLOWEDIPS ? ", allowed ips" : "",
		 p->endpoint.addr.sa_family ? ", endpoint" : "",
		 p->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE_INTERVAL ? ", keepalive" : "",
		 p->flags & WGPEER_HAS_PRESHARED_KEY ? ", preshared key" : "");
	net_plan_say(&df->out, '~', "peer", "%s %s%s: %s", t->tunnel_interface, site ? site : key,
		     previous ? " (its previous key)" : "", what[0] ? what + 2 : "?");
}

static int diff_peers(struct differ *df)
{
	const struct rp_config *cfg = df->a.cfg;
	char why[256];
	int err = 0;

	for (size_t i = 0; i < cfg->n_tenants && !err; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		wg_device *cur = NULL, *set = NULL;
		unsigned n = 0;
		wg_peer *p;

		if (df->a.clean[i])
			continue;
		if (net_link_find(&df->a, t->tunnel_interface) && df->a.wg->get(t->tunnel_interface, &cur))
			cur = NULL;
		if (!cur && df->a.wg->start)
			net_plan_say(&df->out, '+', "device", "%s: wireguard-go started",
				     t->tunnel_interface);
		err = net_wg_diff(t, cur, &set, &n, why, sizeof(why));
		if (err) {
			diag_add(df->a.d, "tenant %s: %s", t->name, why[0] ? why : strerror(-err));
		} else if (set) {
			if (set->flags & (WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT))
				net_plan_say(&df->out, '~', "device", "%s:%s%s",
					     t->tunnel_interface,
					     set->flags & WGDEVICE_HAS_PRIVATE_KEY ? " private key" : "",
					     set->flags & WGDEVICE_HAS_LISTEN_PORT ? " listen port" : "");
			wg_for_each_peer(set, p)
				say_peer(df, t, cur, p);
		}
		wg_device_wipe_free(set);
		wg_device_wipe_free(cur);
	}
	return err;
}

/* ---- NAT ---- */

static void diff_nat(struct differ *df)
{
	char path[PATH_MAX], *want = nat_ruleset(df->a.cfg), *have = NULL;
	bool wants = want && *want, had = net_state_has(&df->a.old, "nat");
	size_t len = 0;

	statedir_path(path, df->a.cfg->state_dir, SD_NAT_RULESET);
	if (had)
		have = file_read_all(path, &len);
	if (wants && !had)
		net_plan_say(&df->out, '+', "nat", "nftables table inet %s (egress = nat)",
			     RP_NFT_TABLE);
	else if (!wants && had)
		net_plan_say(&df->out, '-', "nat", "nftables table inet %s", RP_NFT_TABLE);
	else if (wants && (!have || strcmp(have, want)))
		net_plan_say(&df->out, '~', "nat", "nftables table inet %s", RP_NFT_TABLE);
	free(want);
	free(have);
}

int net_diff(const struct rp_config *cfg, net_diff_fn emit, void *ctx, struct diag *d)
{
	struct differ df = { .a = { .cfg = cfg, .d = d }, .out = { emit, ctx } };
	struct apply *a = &df.a;
	int err;

	a->wg = wg_backend_get();
	err = nl_open(&a->nl);
	if (err) {
		diag_add(d, "cannot open rtnetlink: %s", strerror(-err));
		return err;
	}
	err = net_state_load(&a->old, cfg->state_dir, d);
	if (err) {
		if (err != -EINVAL)	/* a refused line: the message is in *d */
			diag_add(d, "cannot read %s/net.state: %s", cfg->state_dir, strerror(-err));
		goto out;
	}
	a->fp = calloc(cfg->n_tenants + 1, sizeof(*a->fp));
	a->clean = calloc(cfg->n_tenants + 1, sizeof(*a->clean));
	a->routes = calloc(cfg->n_tenants + 1, sizeof(*a->routes));
	err = -ENOMEM;
	if (!a->fp || !a->clean || !a->routes)
		goto out;
	err = net_links_refresh(a);
	if (err) {
		diag_add(d, "cannot list links: %s", nl_strerror(&a->nl, err));
		goto out;
	}
	err = nl_route_dump(&a->nl, AF_UNSPEC, RT_TABLE_MAIN, &a->main_v, &a->main_n);
	if (err) {
		diag_add(d, "cannot list the main routing table: %s", nl_strerror(&a->nl, err));
		goto out;
	}
	net_compute_clean(a);
	for (size_t i = 0; i < net_n_gateway_sysctls; i++)
		diff_sysctl(&df, net_gateway_sysctls[i], "1");
	if ((err = diff_links(&df)) || (err = diff_addrs(&df)) || (err = diff_routes(&df)) ||
	    (err = diff_rules(&df)) || (err = diff_peers(&df)))
		goto out;
	diff_nat(&df);
	diff_stale_links(&df);
out:
	free(df.planned);
	free(a->links);
	free(a->main_v);
	free(a->fp);
	free(a->clean);
	free(a->routes);
	net_state_free(&a->old);
	nl_close(&a->nl);
	return err ? err : (int)df.out.n;
}
