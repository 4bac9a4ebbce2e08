// SPDX-License-Identifier: GPL-2.0
/* keyrot_watch.c — sites follow their handshakes during a tenant key
 * rotation; see keyrot_watch.h. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "app/keyrot_watch.h"
#include "kernel/netlink.h"
#include "lib/log.h"
#include "lib/statedir.h"
#include "net/keyrot.h"
#include "net/rekey.h"

struct keyrot_seen {
	char tenant[32], site[64];
	int ifindex;		/* the tunnel its routes go through */
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static bool any(const struct rp_config *cfg)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		if (cfg->tenants[i].next_interface)
			return true;
	return false;
}

int keyrot_watch_timeout(struct keyrot_watch *w, const struct rp_config *cfg)
{
	long long left;

	if (!any(cfg))
		return -1;
	left = w->next_ms - mono_ms();
	return left < 0 ? 0 : left > RP_REKEY_POLL_MS ? RP_REKEY_POLL_MS : (int)left;
}

static struct keyrot_seen *seen(struct keyrot_watch *w, const char *tenant, const char *site)
{
	struct keyrot_seen *v;

	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->v[i].tenant, tenant) && !strcmp(w->v[i].site, site))
			return &w->v[i];
	v = realloc(w->v, (w->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	w->v = v;
	v = &w->v[w->n++];
	snprintf(v->tenant, sizeof(v->tenant), "%s", tenant);
	snprintf(v->site, sizeof(v->site), "%s", site);
	v->ifindex = -1;	/* not known: routed at the first poll */
	return v;
}

void keyrot_watch_run(struct keyrot_watch *w, const struct rp_config *cfg)
{
	const struct wg_backend *wg;
	long long now = mono_ms();
	struct nl_ctx nl;
	bool nl_open_ = false;
	int lock = -1;

	if (now < w->next_ms || !any(cfg))
		return;
	w->next_ms = now + RP_REKEY_POLL_MS;
	if (!(wg = wg_backend_get()))
		return;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		wg_device *old = NULL, *nw = NULL;
		int oi, ni;

		if (!t->next_interface)
			continue;
		oi = (int)if_nametoindex(t->tunnel_interface);
		ni = (int)if_nametoindex(t->next_interface);
		if (!oi || !ni || wg->get(t->next_interface, &nw) || wg->get(t->tunnel_interface, &old)) {
			wg_device_wipe_free(nw);
			continue;	/* the watch recreates it; apply routes the sites */
		}
		for (size_t k = 0; k < t->n_sites; k++) {
			const struct rp_site *s = &t->sites[k];
			bool moved = keyrot_site_moved(s, old, nw);
			struct keyrot_seen *sn = seen(w, t->name, s->name);
			int want = moved ? ni : oi, err;

			if (!sn || sn->ifindex == want)
				continue;
			if (lock < 0)	/* never in the middle of an apply */
				lock = statedir_trylock(cfg->state_dir, SD_CHANGE_LOCK);
			if (lock < 0)
				break;	/* busy: the next poll */
			if (!nl_open_ && nl_open(&nl))
				break;
			nl_open_ = true;
			err = keyrot_route_site(&nl, cfg, i, k, want);
			if (err) {
				pr_err("keyrot: site %s of tenant %s: cannot route it through %s: %s",
				       s->name, t->name, moved ? t->next_interface : t->tunnel_interface,
				       strerror(-err));
				continue;
			}
			if (sn->ifindex >= 0 || moved) {
				struct timespec rt;
				long long hs = keyrot_site_handshake(s, moved ? nw : old);

				clock_gettime(CLOCK_REALTIME, &rt);
				pr_info("keyrot: site %s of tenant %s is on %s (%s key): its routes follow, "
					"%.1f ms after its handshake there", s->name, t->name,
					moved ? t->next_interface : t->tunnel_interface,
					moved ? "next" : "current",
					((long long)rt.tv_sec * 1000000000LL + rt.tv_nsec - hs) / 1e6);
			}
			sn->ifindex = want;
		}
		wg_device_wipe_free(old);
		wg_device_wipe_free(nw);
	}
	if (nl_open_)
		nl_close(&nl);
	if (lock >= 0)
		close(lock);
}

void keyrot_watch_free(struct keyrot_watch *w)
{
	free(w->v);
	w->v = NULL;
	w->n = 0;
}
