// SPDX-License-Identifier: GPL-2.0
/* links.c — the links of an apply: the link table read from the kernel,
 * VLAN links and tunnels created (recorded in net.state first), brought up
 * with their MTU once the caller attached their programs (hooks->before_up:
 * a link never carries traffic unfiltered), wireguard-go started (userspace
 * backend), devices and peers configured (the smallest "set", net_wg.c),
 * and the links rempart created that the config no longer names removed
 * (only if the kernel's link is of the kind rempart makes). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "lib/statedir.h"
#include "net/net_priv.h"
#include "net/net_wg.h"
#include "net/reconcile.h"

int net_links_refresh(struct apply *a)
{
	free(a->links);
	a->links = NULL;
	a->n_links = 0;
	a->links_gen++;
	return nl_link_dump(&a->nl, &a->links, &a->n_links);
}

const struct nl_link *net_link_find(const struct apply *a, const char *name)
{
	for (size_t i = 0; i < a->n_links; i++)
		if (!strcmp(a->links[i].name, name))
			return &a->links[i];
	return NULL;
}

/* The kernel kinds of what net.state calls KIND: wireguard-go's tun for a
 * userspace tunnel. */
static bool kind_matches(const char *recorded, const char *kernel)
{
	if (!strcmp(recorded, "wireguard"))
		return !strcmp(kernel, "wireguard") || !strcmp(kernel, "tun");
	return !strcmp(recorded, kernel);
}

int net_check_recorded_links(struct apply *a)
{
	char name[64], kind[32], path[PATH_MAX];
	int err = 0;

	statedir_path(path, a->cfg->state_dir, SD_NET_STATE);
	for (size_t i = 0; i < a->old.n; i++) {
		const struct nl_link *l;

		if (sscanf(a->old.lines[i], "link %63s %31s", name, kind) != 2)
			continue;
		l = net_link_find(a, name);
		if (!l || kind_matches(kind, l->kind))
			continue;
		diag_add(a->d, "%s: '%s': the kernel's %s is a %s link, not one rempart "
			 "makes: nothing done (fix or remove the line)", path,
			 a->old.lines[i], name, l->kind[0] ? l->kind : "physical");
		err = -EPERM;
	}
	return err;
}

int net_before_up(struct apply *a, const char *ifname)
{
	if (!a->hooks || !a->hooks->before_up)
		return 0;
	return a->hooks->before_up(ifname, a->hooks->arg, a->d);
}

const char *net_ifname_of(const struct apply *a, int ifindex)
{
	for (size_t i = 0; i < a->n_links; i++)
		if (a->links[i].ifindex == ifindex)
			return a->links[i].name;
	return "?";
}

int net_ensure_links(struct apply *a, wg_device **cur)
{
	const struct rp_config *cfg = a->cfg;
	char name[IFNAMSIZ + 8], why[512];
	unsigned int changes = a->changes;
	bool created = false;
	int err;

	/* VLAN links first: the cheap failure (no 802.1Q) before any tunnel. */
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		const struct nl_link *parent = net_link_find(a, t->cloud_interface);
		struct undo *u;
		struct nl_link l;

		if (!t->vlan)
			continue;
		net_cloud_ifname(t, name, sizeof(name));
		if (net_link_find(a, name))
			continue;
		if ((err = net_intend(a, "link %s vlan", name)) || (err = net_intent_flush(a)))
			return err;
		err = nl_link_add_vlan(&a->nl, name, parent->ifindex, t->vlan);
		if (err) {
			diag_add(a->d, "%s: [tenant] vlan: cannot create VLAN link '%s' (id %u on %s): %s",
				 t->file ? t->file : t->name, name, t->vlan, t->cloud_interface,
				 nl_strerror(&a->nl, err));
			return err;
		}
		if (!nl_link_get(&a->nl, name, &l)) {
			u = net_journal(a, U_LINK_DEL);
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

		if (net_link_find(a, t->tunnel_interface))
			continue;
		if ((err = net_intend(a, "link %s wireguard", t->tunnel_interface)) ||
		    (err = net_intent_flush(a)))
			return err;
		err = a->wg->create(t->tunnel_interface, cfg->state_dir, why, sizeof(why));
		if (err) {
			diag_add(a->d, "%s: [tenant] tunnel_interface: cannot create '%s': %s",
				 t->file ? t->file : t->name, t->tunnel_interface, why);
			return err;
		}
		u = net_journal(a, U_WG_DESTROY);
		if (!u)
			return -ENOMEM;
		snprintf(u->ifname, sizeof(u->ifname), "%s", t->tunnel_interface);
		net_state_add(&a->st, "link %s wireguard", t->tunnel_interface);
		created = true;
		a->changes++;
	}
	if (created) {
		err = net_links_refresh(a);
		if (err)
			return err;
	}
	/* MTU and up: a link goes up only once its programs are attached. */
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		const struct nl_link *tl = net_link_find(a, t->tunnel_interface), *cl;

		net_cloud_ifname(t, name, sizeof(name));
		cl = net_link_find(a, name);
		if (!tl || !cl) {
			diag_add(a->d, "tenant %s: interface '%s' vanished", t->name,
				 tl ? name : t->tunnel_interface);
			return -ENODEV;
		}
		if (tl->mtu != t->mtu || !(tl->flags & IFF_UP)) {
			if (!(tl->flags & IFF_UP) && (err = net_before_up(a, t->tunnel_interface)))
				return err;
			err = nl_link_set(&a->nl, tl->ifindex, t->mtu, true);
			if (err) {
				diag_add(a->d, "tenant %s: cannot set %s up with MTU %u: %s", t->name,
					 t->tunnel_interface, t->mtu, nl_strerror(&a->nl, err));
				return err;
			}
			a->changes++;
		}
		if (!(cl->flags & IFF_UP)) {
			struct undo *u;

			if ((err = net_before_up(a, name)))
				return err;
			err = nl_link_set(&a->nl, cl->ifindex, 0, true);
			if (err) {
				diag_add(a->d, "tenant %s: cannot set %s up: %s", t->name, name,
					 nl_strerror(&a->nl, err));
				return err;
			}
			u = net_journal(a, U_LINK_DOWN);
			if (!u)
				return -ENOMEM;
			u->ifindex = cl->ifindex;
			a->changes++;
		}
	}
	/* flags and MTU as they are now, if anything was changed */
	return a->changes == changes ? 0 : net_links_refresh(a);
}

/* Userspace backend: start wireguard-go on every tunnel that has none (new,
 * or its process is gone), all at once, then wait for each.  Done after
 * addresses and routes: wireguard-go listens to route changes, and 100 of
 * them woken by each of 20,000 route additions is what makes applies slow. */
int net_start_devices(struct apply *a, wg_device **cur)
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
		u = net_journal(a, U_WG_STOP);
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

/* A tunnel set up before its configuration holds a port the kernel (or
 * wireguard-go) picked at random from the ephemeral range, and it may be the
 * listen_port another tenant wants (51820 is in Linux's default range): a
 * device refused with EADDRINUSE waits until the others have taken their own
 * ports, which frees the random ones, then is set again. */
static int wg_set_one(struct apply *a, size_t i, wg_device *set, unsigned int n)
{
	const struct rp_tenant *t = &a->cfg->tenants[i];
	int err = a->wg->set(set);

	if (err == -EADDRINUSE)
		return err;
	if (err) {
		diag_add(a->d, "tenant %s: WireGuard device %s refused the configuration: %s", t->name,
			 t->tunnel_interface, strerror(-err));
		return err;
	}
	a->changes += n;
	a->wg->changed(t->tunnel_interface, a->cfg->state_dir);
	return 0;
}

int net_configure_wg(struct apply *a, wg_device **cur)
{
	size_t nt = a->cfg->n_tenants, waiting = 0;
	wg_device **later = calloc(nt ? nt : 1, sizeof(*later));
	unsigned int *later_n = calloc(nt ? nt : 1, sizeof(*later_n));
	char why[256];
	int err = 0;

	if (!later || !later_n) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nt; i++) {
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
				goto out;
			}
		}
		err = net_wg_diff(t, cur[i], &set, &n, why, sizeof(why));
		if (err) {
			diag_add(a->d, "tenant %s: %s", t->name, why[0] ? why : strerror(-err));
			goto out;
		}
		if (!set)
			continue;
		/* the device as it was, restored if the apply is undone (also
		 * when a set is refused half way: wireguard-go takes the
		 * private key before it fails on the port) */
		u = net_journal(a, U_WG_RESTORE);
		if (!u) {
			wg_device_wipe_free(set);
			err = -ENOMEM;
			goto out;
		}
		u->dev = cur[i];
		cur[i] = NULL;
		err = wg_set_one(a, i, set, n);
		if (err == -EADDRINUSE) {
			later[i] = set;
			later_n[i] = n;
			waiting++;
			continue;
		}
		wg_device_wipe_free(set);
		if (err)
			goto out;
	}
	/* again while a round takes a port: each success frees the random
	 * port its device held */
	for (bool moved = true; waiting && moved;) {
		moved = false;
		for (size_t i = 0; i < nt; i++) {
			if (!later[i])
				continue;
			err = wg_set_one(a, i, later[i], later_n[i]);
			if (err == -EADDRINUSE)
				continue;
			wg_device_wipe_free(later[i]);
			later[i] = NULL;
			waiting--;
			if (err)
				goto out;
			moved = true;
		}
	}
	err = 0;
	for (size_t i = 0; i < nt; i++) {
		const struct rp_tenant *t = &a->cfg->tenants[i];

		if (!later[i])
			continue;
		diag_add(a->d, "tenant %s: WireGuard device %s cannot listen on port %u: another "
			 "socket of this host holds it (listen_port in use)", t->name,
			 t->tunnel_interface, t->listen_port);
		err = -EADDRINUSE;
		break;
	}
out:
	for (size_t i = 0; later && i < nt; i++)
		if (later[i])
			wg_device_wipe_free(later[i]);
	free(later);
	free(later_n);
	return err;
}

/* Links rempart created that the config no longer names. */
int net_remove_stale_links(struct apply *a)
{
	char name[64], kind[32];
	int err = 0;

	/* Signal every supervisor first, so they all stop at once. */
	for (size_t i = 0; a->wg->stop_async && i < a->old.n; i++) {
		if (sscanf(a->old.lines[i], "link %63s %31s", name, kind) != 2 ||
		    strcmp(kind, "wireguard") || net_state_has(&a->st, "%s", a->old.lines[i]))
			continue;
		a->wg->stop_async(name, a->cfg->state_dir);
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
		l = net_link_find(a, name);
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
