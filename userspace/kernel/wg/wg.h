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
 * is the same for both.  wg_backend_get() probes the kernel once.
 */
#ifndef REMPART_WG_H
#define REMPART_WG_H
#include <stdbool.h>
#include <stddef.h>
#include <wireguard.h>

struct wg_backend {
	const char *name;		/* "kernel" | "wireguard-go" (status's "backend") */
	/* Create the link IFNAME, no WireGuard configuration yet (userspace: a
	 * persistent tun device that wireguard-go attaches to later, so that
	 * addresses and routes can be set before any wireguard-go listens to
	 * route changes, and stay when it dies). */
	int (*create)(const char *ifname, const char *state_dir, char *why, size_t whylen);
	/* NULL for the kernel.  Userspace: start the supervisor and
	 * wireguard-go on the link (start returns at once; start_wait waits
	 * until the device answers, so many start in parallel). */
	int (*start)(const char *ifname, const char *state_dir, char *why, size_t whylen);
	int (*start_wait)(const char *ifname, const char *state_dir, char *why, size_t whylen);
	/* Stop wireguard-go (userspace) and remove the link. */
	int (*destroy)(const char *ifname, const char *state_dir);
	int (*get)(const char *ifname, wg_device **dev);
	int (*set)(wg_device *dev);
	/* Tell the supervisor the running config changed (userspace only). */
	void (*changed)(const char *ifname, const char *state_dir);
};

extern const struct wg_backend wg_backend_kernel;
extern const struct wg_backend wg_backend_uapi;

/* Probe once: a link of kind "wireguard" can be created -> kernel, else
 * wireguard-go.  RP_WG_BACKEND=kernel|wireguard-go overrides (tests). */
const struct wg_backend *wg_backend_get(void);
/* True if the kernel accepts links of kind "wireguard". */
bool wg_kernel_available(void);

/* UAPI client (wg_uapi.c). */
#define WG_UAPI_DIR "/var/run/wireguard"
int wg_uapi_get(const char *ifname, wg_device **dev);
int wg_uapi_set(wg_device *dev);
bool wg_uapi_alive(const char *ifname);		/* the socket answers */

/* A persistent tun device IFNAME (what wireguard-go attaches to). */
int wg_tun_create(const char *ifname);

/* Supervisor (wg_supervise.c). */
int wgs_start(const char *ifname, const char *state_dir, char *why, size_t whylen);
int wgs_spawn(const char *ifname, const char *state_dir, char *why, size_t whylen);	/* no wait */
int wgs_wait(const char *ifname, const char *state_dir, char *why, size_t whylen);
int wgs_stop(const char *ifname, const char *state_dir);
int wgs_pid(const char *ifname, const char *state_dir);	/* > 0, or -ENOENT / -ESRCH */
void wgs_notify(const char *ifname, const char *state_dir);

/* Utilities. */
void wg_device_wipe_free(wg_device *dev);	/* explicit_bzero keys, then free */
#endif
