// SPDX-License-Identifier: GPL-2.0
/* site_watch.c — sites up and down in the log; see site_watch.h. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "app/metrics.h"
#include "app/site_watch.h"
#include "kernel/wg/wg.h"
#include "lib/log.h"
#include "net/rekey.h"

#define SITE_POLL_MS 2000

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

int site_watch_timeout(const struct site_watch *w)
{
	long long left = w->next_ms - now_ms();

	return left <= 0 ? 0 : left > SITE_POLL_MS ? SITE_POLL_MS : (int)left;
}

static struct site_seen *find(struct site_watch *w, const char *tenant, const char *site)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->v[i].tenant, tenant) && !strcmp(w->v[i].site, site))
			return &w->v[i];
	return NULL;
}

static void say(const struct rp_tenant *t, const struct rp_site *s, const wg_peer *p, bool up,
		time_t age)
{
	char ft[96], fs[96];
	const char *fields[] = { ft, fs, up ? "SITE_STATE=up" : "SITE_STATE=down", NULL };

	snprintf(ft, sizeof(ft), "TENANT=%s", t->name);
	snprintf(fs, sizeof(fs), "SITE=%s", s->name);
	if (up)
		log_fields(LOG_LVL_NOTICE, fields, "site up: tenant=%s site=%s (handshake %llds ago)",
			   t->name, s->name, (long long)age);
	else if (p && p->last_handshake_time.tv_sec)
		log_fields(LOG_LVL_NOTICE, fields, "site down: tenant=%s site=%s (no handshake for "
			   "%llds)", t->name, s->name, (long long)age);
	else
		log_fields(LOG_LVL_NOTICE, fields, "site down: tenant=%s site=%s (%s)", t->name,
			   s->name, p ? "no handshake" : "its tunnel or peer is gone");
}

void site_watch_run(struct site_watch *w, const struct rp_config *cfg)
{
	const struct wg_backend *be = wg_backend_get();
	struct site_watch next = { 0 };
	time_t now = time(NULL), limit = (time_t)metrics_site_up_seconds();
	size_t total = 0;

	if (site_watch_timeout(w) > 0)
		return;
	for (size_t t = 0; t < cfg->n_tenants; t++)
		total += cfg->tenants[t].n_sites;
	next.v = calloc(total + 1, sizeof(*next.v));
	if (!next.v)
		return;
	for (size_t t = 0; t < cfg->n_tenants; t++) {
		const struct rp_tenant *tn = &cfg->tenants[t];
		wg_device *dev = NULL, *ndev = NULL;

		if (!tn->n_sites)
			continue;
		if (!be || be->get(tn->tunnel_interface, &dev))
			dev = NULL;
		if (be && tn->next_interface && be->get(tn->next_interface, &ndev))
			ndev = NULL;	/* a key rotation: the site may be on its second tunnel */
		for (size_t i = 0; i < tn->n_sites; i++) {
			const struct rp_site *s = &tn->sites[i];
			const wg_peer *p = dev ? rekey_peer_in_use(s, dev) : NULL;
			const wg_peer *np = ndev ? rekey_peer_in_use(s, ndev) : NULL;

			if (np && (!p || np->last_handshake_time.tv_sec > p->last_handshake_time.tv_sec))
				p = np;
			time_t hs = p ? p->last_handshake_time.tv_sec : 0, age = hs ? now - hs : 0;
			struct site_seen *old = find(w, tn->name, s->name), *n = &next.v[next.n];
			int up = hs && age < limit;

			n->tenant = strdup(tn->name);
			n->site = strdup(s->name);
			if (!n->tenant || !n->site) {
				free(n->tenant);
				free(n->site);
				continue;
			}
			n->up = up;
			next.n++;
			if (old ? old->up != up : up)
				say(tn, s, p, up, age);
		}
		wg_device_wipe_free(dev);
		wg_device_wipe_free(ndev);
	}
	site_watch_free(w);
	*w = next;
	w->next_ms = now_ms() + SITE_POLL_MS;
}

void site_watch_free(struct site_watch *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].tenant);
		free(w->v[i].site);
	}
	free(w->v);
	w->v = NULL;
	w->n = 0;
}
