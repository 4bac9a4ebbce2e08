// SPDX-License-Identifier: GPL-2.0
/* wg_kernel.c — the kernel WireGuard backend (embeddable-wg-library) and the
 * backend probe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "kernel/wg/wg_int.h"

static int kernel_create(const char *ifname, const char *state_dir, char *why, size_t whylen)
{
	int err = wg_add_device(ifname);

	(void)state_dir;
	if (err)
		snprintf(why, whylen, "cannot create WireGuard link: %s", strerror(-err));
	return err;
}

static int kernel_destroy(const char *ifname, const char *state_dir)
{
	(void)state_dir;
	return wg_del_device(ifname);
}

static int kernel_get(const char *ifname, wg_device **dev)
{
	return wg_get_device(dev, ifname);
}

static void kernel_changed(const char *ifname, const char *state_dir)
{
	(void)ifname;
	(void)state_dir;
}

const struct wg_backend wg_backend_kernel = {
	.name = "kernel",
	.create = kernel_create,
	.destroy = kernel_destroy,
	.get = kernel_get,
	.set = wg_set_device,
	.changed = kernel_changed,
};

static int probed = -1;

bool wg_kernel_available(void)
{
	struct nl_ctx nl;
	struct nl_link l;
	char name[IFNAMSIZ];
	int err;

	if (probed >= 0)
		return probed;
	snprintf(name, sizeof(name), "rpprobe%d", (int)(getpid() % 100000));
	if (nl_open(&nl))
		return (probed = 0);
	err = nl_link_add(&nl, name, "wireguard");
	if (!err && !nl_link_get(&nl, name, &l))
		nl_link_del(&nl, l.ifindex);
	nl_close(&nl);
	/* EEXIST: someone named a link like our probe; the kind was known. */
	probed = !err || err == -EEXIST;
	return probed;
}

const struct wg_backend *wg_backend_get(void)
{
	const char *force = getenv("RP_WG_BACKEND");

	if (force && !strcmp(force, "kernel"))
		return &wg_backend_kernel;
	if (force && !strcmp(force, "wireguard-go"))
		return &wg_backend_uapi;
	return wg_kernel_available() ? &wg_backend_kernel : &wg_backend_uapi;
}
