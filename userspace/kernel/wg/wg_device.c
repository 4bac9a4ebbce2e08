// SPDX-License-Identifier: GPL-2.0
/* wg_device.c — wg_device helpers both backends and the reconcile use
 * (wg.h). */
#include <string.h>
#include "kernel/wg/wg.h"

void wg_device_wipe_free(wg_device *dev)
{
	wg_peer *p;

	if (!dev)
		return;
	explicit_bzero(dev->private_key, sizeof(dev->private_key));
	wg_for_each_peer(dev, p)
		explicit_bzero(p->preshared_key, sizeof(p->preshared_key));
	wg_free_device(dev);
}

void wg_device_append_peer(wg_device *dev, wg_peer *p)
{
	if (dev->last_peer)
		dev->last_peer->next_peer = p;
	else
		dev->first_peer = p;
	dev->last_peer = p;
}

void wg_peer_append_allowedip(wg_peer *p, wg_allowedip *a)
{
	if (p->last_allowedip)
		p->last_allowedip->next_allowedip = a;
	else
		p->first_allowedip = a;
	p->last_allowedip = a;
}

void wg_device_make_restore(wg_device *dev)
{
	wg_peer *p;

	dev->flags |= WGDEVICE_REPLACE_PEERS | WGDEVICE_HAS_LISTEN_PORT;
	dev->flags &= ~WGDEVICE_HAS_PUBLIC_KEY;
	wg_for_each_peer(dev, p)
		p->flags |= WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PERSISTENT_KEEPALIVE_INTERVAL |
			    WGPEER_HAS_PRESHARED_KEY;
}
