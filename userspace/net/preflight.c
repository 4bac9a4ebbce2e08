// SPDX-License-Identifier: GPL-2.0
/* preflight.c — everything an apply can check before it changes anything:
 * the uplink and cloud interfaces exist, VLAN names fit, a tunnel name is
 * free or already a WireGuard device, listen ports are free, endpoints
 * resolve.  The running devices are read at once, in threads: each read is
 * a round trip to a wireguard-go process (or the kernel). */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "net/net_priv.h"
#include "net/net_wg.h"
#include "net/reconcile.h"

static int port_free(uint16_t port, int family)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0, one = 1;

	if (fd < 0)
		return 0;	/* no such family here: nothing can use it */
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, family == AF_INET ? (struct sockaddr *)&s4 : (struct sockaddr *)&s6,
		 family == AF_INET ? sizeof(s4) : sizeof(s6)) < 0)
		err = errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT ? 0 : -errno;
	close(fd);
	return err;
}

struct get_job {
	const struct wg_backend *wg;
	const char *ifname;
	wg_device *dev;
	int err;
};

static void *get_thread(void *arg)
{
	struct get_job *j = arg;

	j->err = j->wg->get(j->ifname, &j->dev);
	return NULL;
}

/* Read every existing tunnel at once: each read is a round trip to a
 * wireguard-go process (or the kernel), and they overlap. */
static void get_all(struct apply *a, wg_device **cur, int *errs)
{
	const struct rp_config *cfg = a->cfg;
	struct get_job *jobs = calloc(cfg->n_tenants + 1, sizeof(*jobs));
	pthread_t th[32];
	size_t i, n = 0;

	for (i = 0; i < cfg->n_tenants; i++)
		errs[i] = -ENODEV;
	if (!jobs)
		return;
	for (i = 0; i < cfg->n_tenants; i++) {
		jobs[i].wg = a->wg;
		jobs[i].ifname = cfg->tenants[i].tunnel_interface;
		jobs[i].err = -ENODEV;
	}
	for (i = 0; i < cfg->n_tenants; i += n) {
		size_t started = 0;

		n = cfg->n_tenants - i < 32 ? cfg->n_tenants - i : 32;
		for (size_t k = 0; k < n; k++) {
			if (!net_link_find(a, jobs[i + k].ifname) || a->clean[i + k])
				continue;
			if (pthread_create(&th[k], NULL, get_thread, &jobs[i + k]))
				get_thread(&jobs[i + k]);
			else
				started |= (size_t)1 << k;
		}
		for (size_t k = 0; k < n; k++)
			if (started & ((size_t)1 << k))
				pthread_join(th[k], NULL);
	}
	for (i = 0; i < cfg->n_tenants; i++) {
		cur[i] = jobs[i].dev;
		errs[i] = jobs[i].err;
	}
	free(jobs);
}

int net_preflight(struct apply *a, wg_device **cur)
{
	const struct rp_config *cfg = a->cfg;
	char name[IFNAMSIZ + 8], why[256];
	int err = 0, *errs = calloc(cfg->n_tenants + 1, sizeof(int));

	if (!errs)
		return -ENOMEM;
	get_all(a, cur, errs);
	if (!cfg->uplink || !net_link_find(a, cfg->uplink)) {
		diag_add(a->d, "[gateway] uplink: interface '%s' does not exist",
			 cfg->uplink ? cfg->uplink : "");
		err = -ENODEV;
	}
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		const struct nl_link *tl = net_link_find(a, t->tunnel_interface);

		if (!net_link_find(a, t->cloud_interface)) {
			diag_add(a->d, "%s: [tenant] cloud_interface: interface '%s' does not exist",
				 t->file ? t->file : t->name, t->cloud_interface);
			err = -ENODEV;
		}
		if (t->vlan) {
			net_cloud_ifname(t, name, sizeof(name));
			if (strlen(name) >= IFNAMSIZ) {
				diag_add(a->d, "%s: [tenant] vlan: interface name '%s' is longer than %d characters",
					 t->file ? t->file : t->name, name, IFNAMSIZ - 1);
				err = -EINVAL;
			}
		}
		if (a->clean[i])
			continue;
		if (tl) {
			int r = errs[i];

			/* Our persistent tun whose wireguard-go is gone: start it. */
			if (r && a->wg->start && !strcmp(tl->kind, "tun"))
				r = 0;
			if (r) {
				diag_add(a->d, "%s: [tenant] tunnel_interface: '%s' exists and is not a WireGuard device (%s backend: %s)",
					 t->file ? t->file : t->name, t->tunnel_interface,
					 a->wg->name, strerror(-r));
				err = -EEXIST;
				continue;
			}
		}
		/* the end of a key rotation: the second tunnel that holds the
		 * port now goes first (net_keyrot_retire) */
		if ((!cur[i] || cur[i]->listen_port != t->listen_port) &&
		    !net_keyrot_retiring_port(a, t->listen_port)) {
			int r = port_free(t->listen_port, AF_INET);

			if (!r)
				r = port_free(t->listen_port, AF_INET6);
			if (r) {
				diag_add(a->d, "%s: [tenant] listen_port: UDP port %u is already in use (%s)",
					 t->file ? t->file : t->name, t->listen_port, strerror(-r));
				err = r;
			}
		}
		for (size_t s = 0; s < t->n_sites; s++) {
			wg_peer p;

			if (!t->sites[s].endpoint)
				continue;
			if (net_wg_endpoint(t->sites[s].endpoint, &p, why, sizeof(why))) {
				diag_add(a->d, "%s: [site %s] %s", t->file ? t->file : t->name,
					 t->sites[s].name, why);
				err = -EINVAL;
			}
		}
	}
	free(errs);
	return err;
}
