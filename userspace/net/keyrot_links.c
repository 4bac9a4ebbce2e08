// SPDX-License-Identifier: GPL-2.0
/* keyrot_links.c — a tenant key rotation's second tunnel, wn-NAME
 * (keyrot.h), made the way links.c makes the first: recorded in net.state
 * before it is created, its programs attached before it goes up
 * (hooks->before_up: its first packet is judged as the tenant's tunnel's),
 * wireguard-go started on it (userspace backend), then its device
 * configured as the tenant's with the next key and port (net_wg_diff on the
 * tenant's keyrot_view).  Journalled like the first: a failed apply undoes
 * it.  When the rotation ends (the next_* keys gone), the link is retired
 * (keyrot_end.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "net/keyrot.h"
#include "net/net_priv.h"
#include "net/net_wg.h"
#include "net/reconcile.h"

static const char *file_of(const struct rp_tenant *t)
{
	return t->file ? t->file : t->name;
}

int net_keyrot_links(struct apply *a)
{
	const struct rp_config *cfg = a->cfg;
	bool created = false;
	char why[512];
	int err;

	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		struct undo *u;

		if (!t->next_interface)
			continue;
		if (net_link_find(a, t->next_interface)) {
			if (net_state_has(&a->old, "link %s wireguard", t->next_interface))
				net_state_add(&a->st, "link %s wireguard", t->next_interface);
			continue;
		}
		if ((err = net_intend(a, "link %s wireguard", t->next_interface)) ||
		    (err = net_intent_flush(a)))
			return err;
		err = a->wg->create(t->next_interface, cfg->state_dir, why, sizeof(why));
		if (err) {
			diag_add(a->d, "%s: [tenant] next_private_key_file: cannot create '%s': %s",
				 file_of(t), t->next_interface, why);
			return err;
		}
		if (!(u = net_journal(a, U_WG_DESTROY)))
			return -ENOMEM;
		snprintf(u->ifname, sizeof(u->ifname), "%s", t->next_interface);
		net_state_add(&a->st, "link %s wireguard", t->next_interface);
		created = true;
		a->changes++;
	}
	if (created && (err = net_links_refresh(a)))
		return err;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		const struct nl_link *l;

		if (!t->next_interface)
			continue;
		l = net_link_find(a, t->next_interface);
		if (!l) {
			diag_add(a->d, "tenant %s: interface '%s' vanished", t->name, t->next_interface);
			return -ENODEV;
		}
		if (l->mtu == t->mtu && (l->flags & IFF_UP))
			continue;
		if (!(l->flags & IFF_UP) && (err = net_before_up(a, t->next_interface)))
			return err;
		err = nl_link_set(&a->nl, l->ifindex, t->mtu, true);
		if (err) {
			diag_add(a->d, "tenant %s: cannot set %s up with MTU %u: %s", t->name,
				 t->next_interface, t->mtu, nl_strerror(&a->nl, err));
			return err;
		}
		a->changes++;
		created = true;
	}
	return created ? net_links_refresh(a) : 0;
}

int net_keyrot_devices(struct apply *a)
{
	const struct rp_config *cfg = a->cfg;
	char why[512];
	int err;

	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		struct rp_tenant view;
		wg_device *cur = NULL, *set = NULL;
		unsigned int n = 0;
		struct undo *u;

		if (!t->next_interface)
			continue;
		if (a->wg->start && !(a->wg->running && a->wg->running(t->next_interface, cfg->state_dir))) {
			err = a->wg->start(t->next_interface, cfg->state_dir, why, sizeof(why));
			if (!err) {
				if (!(u = net_journal(a, U_WG_STOP)))
					return -ENOMEM;
				snprintf(u->ifname, sizeof(u->ifname), "%s", t->next_interface);
				a->changes++;
				err = a->wg->start_wait(t->next_interface, cfg->state_dir, why, sizeof(why));
			}
			if (err) {
				diag_add(a->d, "%s: [tenant] next_private_key_file: cannot start "
					 "wireguard-go on '%s': %s", file_of(t), t->next_interface, why);
				return err;
			}
		}
		err = a->wg->get(t->next_interface, &cur);
		if (err) {
			diag_add(a->d, "tenant %s: cannot read WireGuard device %s: %s", t->name,
				 t->next_interface, strerror(-err));
			return err;
		}
		keyrot_view(t, &view);
		why[0] = 0;
		err = net_wg_diff(&view, cur, &set, &n, why, sizeof(why));
		explicit_bzero(&view, sizeof(view));
		if (err) {
			wg_device_wipe_free(cur);
			diag_add(a->d, "tenant %s: %s", t->name, why[0] ? why : strerror(-err));
			return err;
		}
		if (!set) {
			wg_device_wipe_free(cur);
			continue;
		}
		err = a->wg->set(set);
		wg_device_wipe_free(set);
		if (err) {
			wg_device_wipe_free(cur);
			diag_add(a->d, "tenant %s: WireGuard device %s refused the configuration: %s%s",
				 t->name, t->next_interface, strerror(-err),
				 err == -EADDRINUSE ? " (next_listen_port in use?)" : "");
			return err;
		}
		if (!(u = net_journal(a, U_WG_RESTORE))) {
			wg_device_wipe_free(cur);
			return -ENOMEM;
		}
		u->dev = cur;
		a->changes += n;
		if (a->wg->changed)
			a->wg->changed(t->next_interface, cfg->state_dir);
	}
	return 0;
}
