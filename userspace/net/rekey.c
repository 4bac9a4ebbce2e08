// SPDX-License-Identifier: GPL-2.0
/* rekey.c — a site's key rotation on the gateway's device; see rekey.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "net/rekey.h"

bool rekey_pending(const struct rp_tenant *t)
{
	for (size_t i = 0; i < t->n_sites; i++)
		if (t->sites[i].has_previous)
			return true;
	return false;
}

static const wg_peer *peer_of(const wg_device *dev, const uint8_t *key)
{
	wg_peer *p;

	if (!dev)
		return NULL;
	wg_for_each_peer((wg_device *)dev, p)
		if (!memcmp(p->public_key, key, 32))
			return p;
	return NULL;
}

bool rekey_switched(const struct rp_site *s, const wg_device *dev)
{
	const wg_peer *p;

	if (!s->has_previous)
		return false;
	p = peer_of(dev, s->public_key);
	return p && (p->last_handshake_time.tv_sec || p->last_handshake_time.tv_nsec);
}

const wg_peer *rekey_peer_in_use(const struct rp_site *s, const wg_device *dev)
{
	if (s->has_previous && !rekey_switched(s, dev))
		return peer_of(dev, s->previous_public_key);
	return peer_of(dev, s->public_key);
}

static int add_ips(wg_peer *p, const struct rp_prefix_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		wg_allowedip *a = calloc(1, sizeof(*a));

		if (!a)
			return -ENOMEM;
		a->family = l->v[i].family;
		a->cidr = l->v[i].len;
		memcpy(a->family == AF_INET ? (void *)&a->ip4 : (void *)&a->ip6, l->v[i].addr,
		       a->family == AF_INET ? 4 : 16);
		if (p->last_allowedip)
			p->last_allowedip->next_allowedip = a;
		else
			p->first_allowedip = a;
		p->last_allowedip = a;
	}
	return 0;
}

int rekey_finish_device(const struct wg_backend *wg, const struct rp_tenant *t,
			const struct rp_site *s)
{
	wg_device *set = calloc(1, sizeof(*set));
	wg_peer *np = calloc(1, sizeof(*np)), *op = calloc(1, sizeof(*op));
	struct rp_prefix_list ips = { 0 };
	int err = -ENOMEM;

	if (!set || !np || !op) {
		free(set);
		free(np);
		free(op);
		return -ENOMEM;
	}
	snprintf(set->name, sizeof(set->name), "%s", t->tunnel_interface);
	/* The new peer first: each allowed IP moves to it from the previous
	 * peer (the same prefix re-pointed, never absent), then that one goes. */
	set->first_peer = np;
	np->next_peer = op;
	set->last_peer = op;
	memcpy(np->public_key, s->public_key, 32);
	np->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_REPLACE_ALLOWEDIPS |
		    WGPEER_HAS_PERSISTENT_KEEPALIVE_INTERVAL;
	np->persistent_keepalive_interval = s->keepalive;
	memcpy(op->public_key, s->previous_public_key, 32);
	op->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_REMOVE_ME;
	ips.v = malloc((s->allowed_ips.n + s->tunnel_ip.n + 1) * sizeof(*ips.v));
	if (!ips.v)
		goto out;
	for (size_t i = 0; i < s->allowed_ips.n; i++) {
		ips.v[ips.n] = s->allowed_ips.v[i];
		prefix_mask(&ips.v[ips.n++]);
	}
	for (size_t i = 0; i < s->tunnel_ip.n; i++)
		ips.v[ips.n++] = s->tunnel_ip.v[i];
	err = add_ips(np, &ips);
	if (!err)
		err = wg->set(set);
out:
	free(ips.v);
	wg_device_wipe_free(set);
	return err;
}
