// SPDX-License-Identifier: GPL-2.0
/* keyrot_end.c — the end of a tenant key rotation (docs/keys.md "The
 * end"): the second tunnel wn-NAME, recorded in net.state and no longer
 * wanted, is retired before the tenant's devices are configured, because
 * when the rotation ended the first tunnel takes the second one's port (the
 * sites use it), which must be free by then: the port is released at once
 * (listen port 0), the link removed once the sites are called.  The routes through it were
 * re-pointed to the first tunnel already, one change per route
 * (routes.c).
 *
 * The sites' sessions were with wn-NAME, and WireGuard cannot move a
 * session from one device to another: each site needs a new handshake with
 * wg-NAME, which now has the same key on the same port.  A site would start
 * it only after REKEY_TIMEOUT and more of sending into nothing; the gateway
 * starts it at once instead.  Before wn-NAME goes, the endpoint each moved
 * site last had there is read (what WireGuard learned from the site's
 * authenticated packets, or its configured endpoint: nothing else); once
 * wg-NAME has the key and port, each such peer gets that endpoint and its
 * persistent keepalive turned on from 0, which makes both WireGuards send a
 * keepalive at once (the kernel's set_peer, wireguard-go's pkaOn): no
 * session, so a handshake initiation goes out (the key change reset the
 * rate limit on initiations).  Then the configured keepalive is put back.
 * The retransmission of a lost initiation is WireGuard's own timer, which
 * does not depend on the keepalive. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/wg/wg.h"
#include "lib/log.h"
#include "net/keyrot.h"
#include "net/net_priv.h"
#include "net/reconcile.h"

/* The keepalive a peer gets for the kick when its configured one is 0 (and
 * which is taken back at once): any value turns it on. */
#define KICK_KEEPALIVE 25

/* Line I of net.state is a second tunnel that is no longer wanted and
 * exists; NAME gets its name. */
static bool retiring(const struct apply *a, size_t i, char name[64])
{
	char kind[32];

	return sscanf(a->old.lines[i], "link %63s %31s", name, kind) == 2 &&
	       !strcmp(kind, "wireguard") && !strncmp(name, "wn-", 3) &&
	       rp_tunnel_owner(a->cfg, name, NULL) < 0 && net_link_find(a, name);
}

bool net_keyrot_retiring_port(struct apply *a, uint16_t port)
{
	char name[64];
	bool hit = false;

	for (size_t i = 0; i < a->old.n && !hit; i++) {
		wg_device *dev = NULL;

		if (!retiring(a, i, name) || a->wg->get(name, &dev) || !dev)
			continue;
		hit = dev->listen_port == port;
		wg_device_wipe_free(dev);
	}
	return hit;
}

/* The tenant whose first tunnel takes over RETIRED: it now has the retired
 * tunnel's key and port (the rotation ended); -1 if none (given up: its
 * sites go back to the present key and port themselves). */
static int heir(const struct apply *a, const wg_device *retired)
{
	if (!(retired->flags & WGDEVICE_HAS_PUBLIC_KEY) || !retired->listen_port)
		return -1;
	for (size_t i = 0; i < a->cfg->n_tenants; i++) {
		const struct rp_tenant *t = &a->cfg->tenants[i];

		if (!t->next_interface && t->listen_port == retired->listen_port &&
		    !memcmp(t->public_key, retired->public_key, RP_KEY_LEN))
			return (int)i;
	}
	return -1;
}

static bool has_endpoint(const wg_peer *p)
{
	return p->endpoint.addr.sa_family == AF_INET || p->endpoint.addr.sa_family == AF_INET6;
}

/* The peers of RETIRED that tenant T's first tunnel must call: for each site
 * on the second tunnel (its handshake there the newer, keyrot.h), its keys
 * that had a handshake there, with the endpoint they had.  As a device named
 * after the first tunnel, in *out (NULL: none). */
static int handover_peers(const struct apply *a, const struct rp_tenant *t, const wg_device *retired,
			  wg_device **out)
{
	wg_device *first = NULL, *h;
	int err;

	*out = NULL;
	err = a->wg->get(t->tunnel_interface, &first);
	if (err)
		return err;
	if (!(h = calloc(1, sizeof(*h)))) {
		wg_device_wipe_free(first);
		return -ENOMEM;
	}
	snprintf(h->name, sizeof(h->name), "%s", t->tunnel_interface);
	for (size_t k = 0; k < t->n_sites; k++) {
		const struct rp_site *s = &t->sites[k];
		const uint8_t *keys[2] = { s->public_key, s->has_previous ? s->previous_public_key : NULL };

		if (!keyrot_site_moved(s, first, retired))
			continue;
		for (size_t j = 0; j < 2 && keys[j]; j++) {
			const wg_peer *p = wg_device_find_peer(retired, keys[j]);
			wg_peer *q;

			if (!p || !has_endpoint(p) || !p->last_handshake_time.tv_sec)
				continue;
			if (!(q = calloc(1, sizeof(*q)))) {
				err = -ENOMEM;
				goto out;
			}
			memcpy(q->public_key, p->public_key, 32);
			q->flags = WGPEER_HAS_PUBLIC_KEY;
			q->endpoint = p->endpoint;
			wg_device_append_peer(h, q);
		}
	}
out:
	wg_device_wipe_free(first);
	if (err || !h->first_peer) {
		wg_device_wipe_free(h);
		return err;
	}
	*out = h;
	return 0;
}

/* The port the second tunnel holds, released at once (set to 0: the kernel
 * and wireguard-go bind another): stopping wireguard-go takes longer, and
 * until the first tunnel has the port, its sites' packets go nowhere.
 * 0 or -errno. */
static int release_port(struct apply *a, const char *name)
{
	wg_device *set = calloc(1, sizeof(*set));
	int err;

	if (!set)
		return -ENOMEM;
	memcpy(set->name, name, strnlen(name, sizeof(set->name) - 1));
	set->flags = WGDEVICE_HAS_LISTEN_PORT;
	set->listen_port = 0;
	err = a->wg->set(set);
	wg_device_wipe_free(set);
	return err;
}

void net_keyrot_retire(struct apply *a)
{
	char name[64];

	for (size_t i = 0; i < a->old.n; i++) {
		wg_device *dev = NULL;
		int t, err;

		if (!retiring(a, i, name))
			continue;
		/* read before it goes: where its sites are */
		if (a->handover && !a->wg->get(name, &dev) && (t = heir(a, dev)) >= 0 &&
		    !a->handover[t]) {
			err = handover_peers(a, &a->cfg->tenants[t], dev, &a->handover[t]);
			if (err)
				pr_warn("keyrot: tenant %s: cannot read where its sites are (%s): "
					"they re-handshake with %s on their own", a->cfg->tenants[t].name,
					strerror(-err), a->cfg->tenants[t].tunnel_interface);
		}
		wg_device_wipe_free(dev);
		a->changes++;
		if (!release_port(a, name)) {
			/* removed by net_keyrot_retired() once its sites are called */
			if (a->wg->stop_async)
				a->wg->stop_async(name, a->cfg->state_dir);
			continue;
		}
		a->wg->destroy(name, a->cfg->state_dir);
	}
}

void net_keyrot_retired(struct apply *a)
{
	char name[64];

	for (size_t i = 0; i < a->old.n; i++)
		if (retiring(a, i, name))
			a->wg->destroy(name, a->cfg->state_dir);
}

/* One "set" of DEV's name: every peer of H that CUR has, with KA as its
 * keepalive (KA < 0: the one it has in CUR, or KICK_KEEPALIVE if that is 0;
 * ONLY_ZERO: only the peers whose keepalive in CUR is 0), and the endpoint
 * from H when WITH_EP.  NULL when no peer is in it. */
static wg_device *kick_set(const wg_device *h, const wg_device *cur, int ka, bool only_zero,
			   bool with_ep, int *err)
{
	wg_device *set = calloc(1, sizeof(*set));
	wg_peer *p;

	*err = set ? 0 : -ENOMEM;
	if (!set)
		return NULL;
	snprintf(set->name, sizeof(set->name), "%s", h->name);
	wg_for_each_peer((wg_device *)h, p) {
		const wg_peer *c = wg_device_find_peer(cur, p->public_key);
		wg_peer *q;

		if (!c || (only_zero && c->persistent_keepalive_interval))
			continue;
		if (!(q = calloc(1, sizeof(*q)))) {
			*err = -ENOMEM;
			break;
		}
		memcpy(q->public_key, p->public_key, 32);
		q->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_HAS_PERSISTENT_KEEPALIVE_INTERVAL;
		q->persistent_keepalive_interval =
			ka >= 0 ? (uint16_t)ka
				: c->persistent_keepalive_interval ? c->persistent_keepalive_interval
								   : KICK_KEEPALIVE;
		if (with_ep)
			q->endpoint = p->endpoint;
		wg_device_append_peer(set, q);
	}
	if (*err || !set->first_peer) {
		wg_device_wipe_free(set);
		return NULL;
	}
	return set;
}

/* Tenant T's first tunnel calls the peers of H; the number called, or
 * -errno. */
static int kick(struct apply *a, const struct rp_tenant *t, const wg_device *h)
{
	wg_device *cur = NULL, *set;
	int err, n = 0;
	wg_peer *p;

	err = a->wg->get(t->tunnel_interface, &cur);
	if (err)
		return err;
	/* the endpoint, the keepalive off; then on (the send); then off again
	 * where the configuration has none */
	for (int step = 0; step < 3 && !err; step++) {
		set = kick_set(h, cur, step == 1 ? -1 : 0, step == 2, step == 0,
			       &err);
		if (!set)
			continue;
		if (step == 1)
			wg_for_each_peer(set, p)
				n++;
		err = a->wg->set(set);
		wg_device_wipe_free(set);
	}
	wg_device_wipe_free(cur);
	if (!err && a->wg->changed)
		a->wg->changed(t->tunnel_interface, a->cfg->state_dir);
	return err ? err : n;
}

void net_keyrot_handover(struct apply *a)
{
	for (size_t i = 0; a->handover && i < a->cfg->n_tenants; i++) {
		const struct rp_tenant *t = &a->cfg->tenants[i];
		int n;

		if (!a->handover[i])
			continue;
		n = kick(a, t, a->handover[i]);
		if (n < 0) {
			pr_warn("keyrot: tenant %s: %s cannot start the handshakes of its sites (%s): "
				"they re-handshake on their own", t->name, t->tunnel_interface,
				strerror(-n));
			continue;
		}
		pr_info("keyrot: the rotation of tenant %s ended: %s has the next key on port %u; "
			"%d site key(s) called at the endpoint they had on the second tunnel",
			t->name, t->tunnel_interface, t->listen_port, n);
		a->changes += (unsigned int)n;
	}
}

void net_keyrot_handover_free(struct apply *a)
{
	for (size_t i = 0; a->handover && i < a->cfg->n_tenants; i++)
		wg_device_wipe_free(a->handover[i]);
	free(a->handover);
	a->handover = NULL;
}
