// SPDX-License-Identifier: GPL-2.0
/* keyrot.c — where each site of a tenant in key rotation is; see keyrot.h. */
#include <errno.h>
#include <string.h>
#include "net/keyrot.h"

void keyrot_view(const struct rp_tenant *t, struct rp_tenant *view)
{
	*view = *t;
	view->tunnel_interface = t->next_interface;
	view->listen_port = t->next_listen_port;
	memcpy(view->private_key, t->next_private_key, RP_KEY_LEN);
	memcpy(view->public_key, t->next_public_key, RP_KEY_LEN);
	view->next_interface = NULL;
}

static long long ts_ns(const wg_peer *p)
{
	return p ? (long long)p->last_handshake_time.tv_sec * 1000000000LL +
			   p->last_handshake_time.tv_nsec
		 : 0;
}

long long keyrot_site_handshake(const struct rp_site *s, const wg_device *dev)
{
	long long a, b = 0;

	if (!dev)
		return 0;
	a = ts_ns(wg_device_find_peer(dev, s->public_key));
	if (s->has_previous)
		b = ts_ns(wg_device_find_peer(dev, s->previous_public_key));
	return a > b ? a : b;
}

bool keyrot_site_moved(const struct rp_site *s, const wg_device *old, const wg_device *nw)
{
	long long n = keyrot_site_handshake(s, nw);

	return n && n >= keyrot_site_handshake(s, old);
}

int keyrot_read_moved(const struct wg_backend *wg, const struct rp_tenant *t, bool *moved)
{
	wg_device *old = NULL, *nw = NULL;
	int err;

	memset(moved, 0, t->n_sites * sizeof(*moved));
	if (!t->next_interface)
		return 0;
	err = wg->get(t->next_interface, &nw);
	if (!err)
		err = wg->get(t->tunnel_interface, &old);
	if (!err)
		for (size_t s = 0; s < t->n_sites; s++)
			moved[s] = keyrot_site_moved(&t->sites[s], old, nw);
	wg_device_wipe_free(old);
	wg_device_wipe_free(nw);
	return err;
}
