// SPDX-License-Identifier: GPL-2.0
/* test_keyrot_end.c — the end of a tenant key rotation (net/keyrot_end.c)
 * against a WireGuard backend that records what it is asked: the second
 * tunnel is read, then removed; once the first tunnel has its key and port,
 * only the sites that moved are called, at the endpoint they had on the
 * second tunnel, with the keepalive turned off, on (the send), and off again
 * where the configuration has none; a rotation given up (the first tunnel
 * keeps its own key) calls no one.  tests/e2e/keyrot.sh shows the
 * handshakes on the wire. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "config/config.h"
#include "kernel/wg/wg.h"
#include "net/reconcile.h"
#include "tap.h"

/* ---- the fake backend: two devices, every set recorded ---- */

static wg_device *dev_wn, *dev_wg;	/* "wn-x", "wg-x" as they run */
static int destroyed, n_sets, released;	/* released: the set of wn-x's port to 0, as
						 * the n_sets-th call (+1) */
static struct {
	uint8_t key[8][32];
	uint16_t ka[8];
	bool ep[8];
	struct sockaddr_in ep4[8];
	int n;
} sets[8];

static wg_device *clone(const wg_device *d)
{
	wg_device *c = calloc(1, sizeof(*c));
	wg_peer *p;

	*c = *d;
	c->first_peer = c->last_peer = NULL;
	wg_for_each_peer((wg_device *)d, p) {
		wg_peer *q = calloc(1, sizeof(*q));

		*q = *p;
		q->next_peer = NULL;
		q->first_allowedip = q->last_allowedip = NULL;
		wg_device_append_peer(c, q);
	}
	return c;
}

static int f_get(const char *ifname, wg_device **out)
{
	const wg_device *d = !strcmp(ifname, "wn-x") ? dev_wn : !strcmp(ifname, "wg-x") ? dev_wg : NULL;

	if (!d || (d == dev_wn && destroyed))
		return -ENODEV;
	*out = clone(d);
	return 0;
}

static int f_set(wg_device *set)
{
	wg_peer *p;

	if (!strcmp(set->name, "wn-x") && !destroyed && set->flags == WGDEVICE_HAS_LISTEN_PORT &&
	    !set->listen_port && !set->first_peer) {
		released = n_sets + 1;
		dev_wn->listen_port = 0;
		return 0;
	}
	if (strcmp(set->name, "wg-x") || n_sets >= 8 || destroyed)
		return -EINVAL;	/* and nothing on the first tunnel once the second is gone */
	wg_for_each_peer(set, p) {
		int k = sets[n_sets].n++;
		wg_peer *cur;

		memcpy(sets[n_sets].key[k], p->public_key, 32);
		sets[n_sets].ka[k] = p->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE_INTERVAL
					     ? p->persistent_keepalive_interval : 0xffff;
		sets[n_sets].ep[k] = p->endpoint.addr.sa_family == AF_INET;
		sets[n_sets].ep4[k] = p->endpoint.addr4;
		wg_for_each_peer(dev_wg, cur)
			if (!memcmp(cur->public_key, p->public_key, 32) &&
			    p->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE_INTERVAL)
				cur->persistent_keepalive_interval = p->persistent_keepalive_interval;
	}
	n_sets++;
	return 0;
}

static int f_destroy(const char *ifname, const char *state_dir)
{
	(void)state_dir;
	destroyed += !strcmp(ifname, "wn-x");
	return 0;
}

static void f_changed(const char *ifname, const char *state_dir)
{
	(void)ifname;
	(void)state_dir;
}

static const struct wg_backend fake = { .name = "fake", .get = f_get, .set = f_set,
					.destroy = f_destroy, .changed = f_changed };

/* ---- the tenant: sites a (keepalive 25) and b (none) moved, c never did,
 * d went back to the present key ---- */

static struct rp_site sites[4];
static struct rp_tenant tenant;
static struct rp_config cfg;

static void key(uint8_t k[32], int n)
{
	memset(k, 0, 32);
	k[0] = (uint8_t)n;
	k[31] = 0x40;
}

static wg_peer *peer(wg_device *d, int n, long hs, uint16_t ka, int port)
{
	wg_peer *p = calloc(1, sizeof(*p));

	key(p->public_key, n);
	p->flags = WGPEER_HAS_PUBLIC_KEY;
	p->last_handshake_time.tv_sec = hs;
	p->persistent_keepalive_interval = ka;
	if (port) {
		p->endpoint.addr4.sin_family = AF_INET;
		p->endpoint.addr4.sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, "198.18.0.11", &p->endpoint.addr4.sin_addr);
	}
	wg_device_append_peer(d, p);
	return p;
}

static void setup(bool ended)
{
	static char *names[4] = { "a", "b", "c", "d" };

	wg_device_wipe_free(dev_wn);
	wg_device_wipe_free(dev_wg);
	memset(sets, 0, sizeof(sets));
	destroyed = n_sets = released = 0;
	dev_wn = calloc(1, sizeof(*dev_wn));
	dev_wg = calloc(1, sizeof(*dev_wg));
	snprintf(dev_wn->name, sizeof(dev_wn->name), "wn-x");
	snprintf(dev_wg->name, sizeof(dev_wg->name), "wg-x");
	dev_wn->flags = WGDEVICE_HAS_PUBLIC_KEY;
	key(dev_wn->public_key, 100);	/* the next key */
	dev_wn->listen_port = 51818;
	/* on the second tunnel: a, b, d had a handshake (with the endpoint
	 * learned from them), c none */
	peer(dev_wn, 1, 200, 0, 40001);
	peer(dev_wn, 2, 200, 0, 40002);
	peer(dev_wn, 3, 0, 0, 0);
	peer(dev_wn, 4, 150, 0, 40004);
	/* the first tunnel before the change: d's handshake there is newer */
	peer(dev_wg, 1, 100, 25, 51999);
	peer(dev_wg, 2, 100, 0, 51999);
	peer(dev_wg, 3, 100, 0, 51999);
	peer(dev_wg, 4, 180, 0, 51999);
	for (int i = 0; i < 4; i++) {
		sites[i] = (struct rp_site){ .name = names[i], .keepalive = i ? 0 : 25 };
		key(sites[i].public_key, i + 1);
	}
	tenant = (struct rp_tenant){ .name = "x", .tunnel_interface = "wg-x", .sites = sites,
				     .n_sites = 4, .listen_port = ended ? 51818 : 51817 };
	key(tenant.public_key, ended ? 100 : 99);
	cfg = (struct rp_config){ .tenants = &tenant, .n_tenants = 1, .state_dir = "/nonexistent" };
}

static int find(int s, int n)	/* the index of site key N in set S, -1 */
{
	uint8_t k[32];

	key(k, n);
	for (int i = 0; i < sets[s].n; i++)
		if (!memcmp(sets[s].key[i], k, 32))
			return i;
	return -1;
}

static void run(void)
{
	struct nl_link wn = { .ifindex = 7, .name = "wn-x" };
	struct apply a = { .cfg = &cfg, .wg = &fake, .links = &wn, .n_links = 1 };

	a.handover = calloc(2, sizeof(*a.handover));
	net_state_add(&a.old, "link wn-x wireguard");
	net_keyrot_retire(&a);
	tap_result(!destroyed && released == 1,
		   "keyrot_end: retire releases the second tunnel's port first (listen port 0), "
		   "removes it later");
	net_keyrot_handover(&a);
	net_keyrot_retired(&a);
	net_keyrot_handover_free(&a);
	net_state_free(&a.old);
}

int main(void)
{
	int ia, ib;

	setup(true);
	run();
	tap_result(destroyed == 1, "keyrot_end: the second tunnel is removed, after the sites are "
		   "called (%d)", destroyed);
	tap_result(n_sets == 3, "keyrot_end: three sets on the first tunnel (%d)", n_sets);
	ia = find(0, 1);
	ib = find(0, 2);
	tap_result(sets[0].n == 2 && ia >= 0 && ib >= 0,
		   "keyrot_end: only the sites that moved are called (a, b; not c, never there; "
		   "not d, back on the present key): %d peer(s)", sets[0].n);
	tap_result(ia >= 0 && ib >= 0 && sets[0].ep[ia] && sets[0].ep[ib] &&
		   ntohs(sets[0].ep4[ia].sin_port) == 40001 && ntohs(sets[0].ep4[ib].sin_port) == 40002,
		   "keyrot_end: each gets the endpoint it had on the second tunnel");
	tap_result(ia >= 0 && ib >= 0 && sets[0].ka[ia] == 0 && sets[0].ka[ib] == 0,
		   "keyrot_end: first set: keepalive off");
	ia = find(1, 1);
	ib = find(1, 2);
	tap_result(sets[1].n == 2 && ia >= 0 && ib >= 0 && sets[1].ka[ia] == 25 && sets[1].ka[ib] > 0 &&
		   !sets[1].ep[ia] && !sets[1].ep[ib],
		   "keyrot_end: second set: keepalive on from 0 (the send): a its 25, b %u",
		   ib >= 0 ? sets[1].ka[ib] : 0);
	tap_result(sets[2].n == 1 && find(2, 2) == 0 && sets[2].ka[0] == 0,
		   "keyrot_end: third set: b's keepalive off again (its configuration has none)");
	tap_result(dev_wg->first_peer->persistent_keepalive_interval == 25 &&
		   dev_wg->first_peer->next_peer->persistent_keepalive_interval == 0,
		   "keyrot_end: the first tunnel ends with the configured keepalives (a 25, b 0)");

	setup(false);	/* given up: the first tunnel keeps its own key and port */
	run();
	tap_result(destroyed == 1 && n_sets == 0,
		   "keyrot_end: a rotation given up: the second tunnel removed, no site called "
		   "(%d set(s))", n_sets);
	wg_device_wipe_free(dev_wn);
	wg_device_wipe_free(dev_wg);
	tap_exit();
}
