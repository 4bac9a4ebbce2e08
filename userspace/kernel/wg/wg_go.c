// SPDX-License-Identifier: GPL-2.0
/* wg_go.c — the userspace backend (wg.h): a persistent tun device that
 * wireguard-go attaches to, wireguard-go run by the supervisor
 * (wg_supervise.c), configured through its UAPI socket (wg_uapi.c), and the
 * restore file the supervisor replays after a restart (wg_restore.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "kernel/wg/wg_int.h"

static int tun_create(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	if (strlen(ifname) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	/* The flags wireguard-go opens it with; otherwise it cannot attach. */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0)
		err = -errno;
	close(fd);
	return err;
}

static int uapi_create(const char *ifname, const char *state_dir, char *why, size_t whylen)
{
	int err = tun_create(ifname);

	(void)state_dir;
	if (err)
		snprintf(why, whylen, "cannot create the tun device for wireguard-go: %s",
			 strerror(-err));
	return err;
}

static int uapi_destroy(const char *ifname, const char *state_dir)
{
	struct nl_ctx nl;
	struct nl_link l;
	int err = wgs_stop(ifname, state_dir);

	if (!nl_open(&nl)) {
		if (!nl_link_get(&nl, ifname, &l))
			err = nl_link_del(&nl, l.ifindex);
		nl_close(&nl);
	}
	return err;
}

const struct wg_backend wg_backend_uapi = {
	.name = "wireguard-go",
	.create = uapi_create,
	.start = wgs_spawn,
	.start_wait = wgs_wait,
	.destroy = uapi_destroy,
	.get = wg_uapi_get,
	.set = wg_uapi_set,
	.changed = wgs_notify,
	.stop = wgs_stop,
	.stop_async = wgs_stop_async,
	.running = wgs_running,
	.remember = wg_restore_save,
};
