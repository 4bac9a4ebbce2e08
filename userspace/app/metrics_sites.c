// SPDX-License-Identifier: GPL-2.0
/* metrics_sites.c — each tenant's WireGuard peers (read through the tunnels
 * module's backend, kernel or wireguard-go) as the rempart_site_* metrics.
 * Every configured site has its series: a tunnel that is down, or a peer
 * that is missing, reads 0 (never a vanished series). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "app/metrics.h"
#include "kernel/wg/wg.h"
#include "net/rekey.h"

struct site_stat {
	const char *tenant, *site;
	long long handshake;		/* unix seconds, 0: never */
	unsigned long long rx, tx;
	int up;
};

unsigned metrics_site_up_seconds(void)
{
	const char *e = getenv("RP_SITE_DOWN_AFTER");
	long v = e ? strtol(e, NULL, 10) : 0;

	return v > 0 ? (unsigned)v : 180;
}

/* DEV the tenant's tunnel, NDEV its second one during a key rotation (NULL:
 * none): a site's bytes are the sum over both, its handshake the latest. */
static void tenant_sites(const struct rp_tenant *t, wg_device *dev, wg_device *ndev,
			 struct site_stat *out, size_t *n)
{
	time_t now = time(NULL);

	for (size_t s = 0; s < t->n_sites; s++) {
		const struct rp_site *site = &t->sites[s];
		/* in a key rotation: the key that carries its traffic */
		const wg_peer *p = dev ? rekey_peer_in_use(site, dev) : NULL;
		struct site_stat *v = &out[(*n)++];

		*v = (struct site_stat){ .tenant = t->name, .site = site->name };
		if (!p)
			continue;	/* tunnel or peer down: 0 */
		v->handshake = p->last_handshake_time.tv_sec;
		v->rx = p->rx_bytes;
		v->tx = p->tx_bytes;
		if ((p = ndev ? rekey_peer_in_use(site, ndev) : NULL)) {
			if (p->last_handshake_time.tv_sec > v->handshake)
				v->handshake = p->last_handshake_time.tv_sec;
			v->rx += p->rx_bytes;
			v->tx += p->tx_bytes;
		}
		v->up = v->handshake && now - v->handshake < (time_t)metrics_site_up_seconds();
	}
}

/* Label values in the text format: escape \, " and newlines. */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void family(FILE *f, const struct site_stat *v, size_t n, const char *name,
		   const char *type, const char *help, int which)
{
	if (!n)
		return;
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s{tenant=\"", name);
		label(f, v[i].tenant);
		fputs("\",site=\"", f);
		label(f, v[i].site);
		fprintf(f, "\"} %llu\n", which == 0 ? (unsigned long long)v[i].handshake :
			which == 1 ? v[i].rx : which == 2 ? v[i].tx : (unsigned long long)v[i].up);
	}
}

void metrics_render_sites(const struct metrics_state *st, FILE *f)
{
	const struct wg_backend *be;
	struct site_stat *v;
	size_t n = 0, max = 0;
	char help[128];

	if (!st->cfg || !st->cfg->n_tenants)
		return;
	for (size_t t = 0; t < st->cfg->n_tenants; t++)
		max += st->cfg->tenants[t].n_sites;
	if (!max)
		return;
	v = calloc(max, sizeof(*v));
	if (!v)
		return;
	be = wg_backend_get();
	for (size_t t = 0; t < st->cfg->n_tenants; t++) {
		const struct rp_tenant *tn = &st->cfg->tenants[t];
		wg_device *dev = NULL, *ndev = NULL;

		if (!tn->n_sites)
			continue;
		if (!be || be->get(tn->tunnel_interface, &dev))
			dev = NULL;	/* tunnel down: its sites read 0 */
		if (be && tn->next_interface && be->get(tn->next_interface, &ndev))
			ndev = NULL;
		tenant_sites(tn, dev, ndev, v, &n);
		wg_device_wipe_free(dev);
		wg_device_wipe_free(ndev);
	}
	family(f, v, n, "rempart_site_last_handshake_seconds", "gauge",
	       "Unix time of the site's last WireGuard handshake (0: never, or its tunnel is down).", 0);
	family(f, v, n, "rempart_site_rx_bytes_total", "counter",
	       "Bytes received from the site through its tunnel.", 1);
	family(f, v, n, "rempart_site_tx_bytes_total", "counter",
	       "Bytes sent to the site through its tunnel.", 2);
	snprintf(help, sizeof(help), "1 when the site's last WireGuard handshake is less than "
		 "%u s old, else 0.", metrics_site_up_seconds());
	family(f, v, n, "rempart_site_up", "gauge", help, 3);
	free(v);
}
