// SPDX-License-Identifier: GPL-2.0
/* metrics_sites.c — each tenant's WireGuard peers (read through the tunnels
 * module's backend, kernel or wireguard-go) as the rempart_site_* metrics. */
#include <stdlib.h>
#include <string.h>
#include "app/metrics.h"
#include "kernel/wg/wg.h"
#include "net/rekey.h"

struct site_stat {
	const char *tenant, *site;
	long long handshake;		/* unix seconds, 0: never */
	unsigned long long rx, tx;
};

static void tenant_sites(const struct rp_tenant *t, wg_device *dev, struct site_stat *out,
			 size_t *n)
{
	for (size_t s = 0; s < t->n_sites; s++) {
		const struct rp_site *site = &t->sites[s];
		/* in a key rotation: the key that carries its traffic */
		const wg_peer *p = rekey_peer_in_use(site, dev);

		if (!p)
			continue;
		out[*n] = (struct site_stat){
			.tenant = t->name, .site = site->name,
			.handshake = p->last_handshake_time.tv_sec,
			.rx = p->rx_bytes, .tx = p->tx_bytes,
		};
		(*n)++;
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
			which == 1 ? v[i].rx : v[i].tx);
	}
}

void metrics_render_sites(const struct metrics_state *st, FILE *f)
{
	const struct wg_backend *be;
	struct site_stat *v;
	size_t n = 0, max = 0;

	if (!st->cfg || !st->cfg->n_tenants)
		return;
	for (size_t t = 0; t < st->cfg->n_tenants; t++)
		max += st->cfg->tenants[t].n_sites;
	if (!max)
		return;
	v = calloc(max, sizeof(*v));
	be = wg_backend_get();
	if (!v || !be)
		goto out;
	for (size_t t = 0; t < st->cfg->n_tenants; t++) {
		const struct rp_tenant *tn = &st->cfg->tenants[t];
		wg_device *dev = NULL;

		if (!tn->n_sites || be->get(tn->tunnel_interface, &dev) || !dev)
			continue;	/* tunnel down: its sites have no series */
		tenant_sites(tn, dev, v, &n);
		wg_device_wipe_free(dev);
	}
	family(f, v, n, "rempart_site_last_handshake_seconds", "gauge",
	       "Unix time of the site's last WireGuard handshake (0: never).", 0);
	family(f, v, n, "rempart_site_rx_bytes_total", "counter",
	       "Bytes received from the site through its tunnel.", 1);
	family(f, v, n, "rempart_site_tx_bytes_total", "counter",
	       "Bytes sent to the site through its tunnel.", 2);
out:
	free(v);
}
