/* wg_int.h — what the files of kernel/wg/ share, and nothing else includes:
 * the UAPI client, the supervisor and the restore file behind the userspace
 * backend (wg_go.c). */
#ifndef REMPART_WG_INT_H
#define REMPART_WG_INT_H
#include <stdbool.h>
#include <stddef.h>
#include "kernel/wg/wg.h"

/* True if the kernel accepts links of kind "wireguard" (wg_kernel.c). */
bool wg_kernel_available(void);

/* UAPI client (wg_uapi.c). */
#define WG_UAPI_DIR "/var/run/wireguard"
int wg_uapi_get(const char *ifname, wg_device **dev);
int wg_uapi_set(wg_device *dev);
bool wg_uapi_alive(const char *ifname);		/* the socket answers */

/* Supervisor (wg_supervise.c). */
int wgs_spawn(const char *ifname, const char *state_dir, char *why, size_t whylen);	/* no wait */
int wgs_wait(const char *ifname, const char *state_dir, char *why, size_t whylen);
int wgs_stop(const char *ifname, const char *state_dir);
void wgs_stop_async(const char *ifname, const char *state_dir);	/* SIGTERM, no wait */
bool wgs_running(const char *ifname, const char *state_dir);
void wgs_notify(const char *ifname, const char *state_dir);

/* The restore file STATE_DIR/wg/IFNAME.net (wg_restore.c): written after
 * each apply, replayed by the supervisor once wireguard-go is back (MTU,
 * up, addresses, routes). */
int wg_restore_save(const char *ifname, const char *state_dir, const struct wg_netstate *ns);
int wg_restore_apply(const char *ifname, const char *state_dir);
#endif
