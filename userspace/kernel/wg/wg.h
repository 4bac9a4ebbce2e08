/* wg.h — WireGuard devices behind one interface, two backends:
 *
 *  - kernel: the kernel's WireGuard through the embeddable-wg-library
 *    (generic netlink; the device is a link of kind "wireguard");
 *  - userspace: wireguard-go through the cross-platform UAPI socket
 *    /var/run/wireguard/IFNAME.sock; rempart starts it (foreground, in the
 *    current network namespace) under a small supervisor process that
 *    restarts it, with its peers, addresses and routes, if it dies.
 *
 * Both speak the embeddable library's wg_device model, so the reconcile code
 * is the same for both.  wg_backend_get() probes the kernel once.  Code
 * outside kernel/wg/ uses a backend only through this table (the files of
 * the userspace backend share wg_int.h).
 */
#ifndef REMPART_WG_H
#define REMPART_WG_H
#include <stdbool.h>
#include <stddef.h>
#include <wireguard.h>
#include "kernel/netlink.h"
#include "lib/addr.h"

#define RP_WG_MTU 1420		/* every tunnel's MTU */

/* What a userspace tunnel gets back when its wireguard-go restarts (the
 * kernel keeps a link's addresses and routes; a tun device that wireguard-go
 * re-creates does not): its addresses, and the routes through it. */
struct wg_netstate {
	int ifindex;			/* the link they were on */
	unsigned int mtu;		/* the tenant's (RP_WG_MTU when not set) */
	const struct rp_prefix *addrs;
	size_t n_addrs;
	const struct nl_route *routes;	/* unicast, oif = the tunnel */
	size_t n_routes;
};

struct wg_backend {
	const char *name;		/* "kernel" | "wireguard-go" (status's "backend") */
	/* Create the link IFNAME, no WireGuard configuration yet (userspace: a
	 * persistent tun device that wireguard-go attaches to later, so that
	 * addresses and routes can be set before any wireguard-go listens to
	 * route changes, and stay when it dies). */
	int (*create)(const char *ifname, const char *state_dir, char *why, size_t whylen);
	/* Stop wireguard-go (userspace) and remove the link. */
	int (*destroy)(const char *ifname, const char *state_dir);
	int (*get)(const char *ifname, wg_device **dev);
	int (*set)(wg_device *dev);
	/* Tell the supervisor the running config changed (userspace only). */
	void (*changed)(const char *ifname, const char *state_dir);

	/* The rest is NULL for the kernel.  Userspace: start the supervisor
	 * and wireguard-go on the link (start returns at once; start_wait
	 * waits until the device answers, so many start in parallel). */
	int (*start)(const char *ifname, const char *state_dir, char *why, size_t whylen);
	int (*start_wait)(const char *ifname, const char *state_dir, char *why, size_t whylen);
	/* Stop wireguard-go and its supervisor, keep the link: stop waits
	 * until they are gone, stop_async only asks (many stop in parallel,
	 * then stop or destroy waits for each). */
	int (*stop)(const char *ifname, const char *state_dir);
	void (*stop_async)(const char *ifname, const char *state_dir);
	/* The supervisor is alive. */
	bool (*running)(const char *ifname, const char *state_dir);
	/* Record what the supervisor re-adds after a restart. */
	int (*remember)(const char *ifname, const char *state_dir, const struct wg_netstate *ns);
};

extern const struct wg_backend wg_backend_kernel;
extern const struct wg_backend wg_backend_uapi;

/* Probe once: a link of kind "wireguard" can be created -> kernel, else
 * wireguard-go.  RP_WG_BACKEND=kernel|wireguard-go overrides (tests). */
const struct wg_backend *wg_backend_get(void);

/* Devices (wg_device.c). */
void wg_device_wipe_free(wg_device *dev);	/* explicit_bzero keys, then free */
/* Append to the device's peers, to a peer's allowed IPs (owned from then). */
void wg_device_append_peer(wg_device *dev, wg_peer *p);
void wg_peer_append_allowedip(wg_peer *p, wg_allowedip *a);
/* Turn a `get` result into a `set` that puts it back exactly (rollback,
 * restart). */
void wg_device_make_restore(wg_device *dev);
#endif
