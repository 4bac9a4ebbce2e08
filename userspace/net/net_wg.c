// SPDX-License-Identifier: GPL-2.0
/* net_wg.c — the WireGuard part of the reconcile: compare a tenant's
 * configured device and peers with the running ones and build the smallest
 * "set" that makes them equal.  Peers that did not change are not in it, so
 * their sessions (and last handshake) stay; changed peers are updated in
 * place (never removed and re-added). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "net/net_wg.h"
#include "net/rekey.h"

int net_wg_endpoint(const char *s, wg_peer *p, char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char host[256];
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hl;
	int rc;

	if (!colon || !colon[1]) {
		snprintf(why, whylen, "endpoint '%s' is not HOST:PORT", s);
		return -EINVAL;
	}
	hl = (size_t)(colon - s);
	if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(why, whylen, "endpoint '%s' is not HOST:PORT", s);
		return -EINVAL;
	}
	memcpy(host, h, hl);
	host[hl] = 0;
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc || !res) {
		snprintf(why, whylen, "endpoint '%s': %s", s, gai_strerror(rc));
		return -EINVAL;
	}
	memset(&p->endpoint, 0, sizeof(p->endpoint));
	memcpy(&p->endpoint.addr, res->ai_addr,
	       res->ai_addrlen < sizeof(p->endpoint) ? res->ai_addrlen : sizeof(p->endpoint));
	freeaddrinfo(res);
	return 0;
}

static bool allowedip_matches(const wg_allowedip *a, const struct rp_prefix *p)
{
	if (a->family != p->family || a->cidr != p->len)
		return false;
	return !memcmp(a->family == AF_INET ? (const void *)&a->ip4 : (const void *)&a->ip6,
		       p->addr, a->family == AF_INET ? 4 : 16);
}

static bool in_list(const wg_allowedip *a, const struct rp_prefix_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct rp_prefix p = l->v[i];

		prefix_mask(&p);
		if (allowedip_matches(a, &p))
			return true;
	}
	return false;
}

/* The peer's allowed IPs are the site's addresses: its allowed_ips (LANs)
 * and its own tunnel_ip (host prefixes). */
static bool allowedips_equal(const wg_peer *cur, const struct rp_site *s)
{
	const wg_allowedip *a;
	size_t n = 0;

	wg_for_each_allowedip((wg_peer *)cur, a) {
		n++;
		if (!in_list(a, &s->allowed_ips) && !in_list(a, &s->tunnel_ip))
			return false;
	}
	/* Every current one is wanted; equal sizes (config has no duplicates
	 * after masking in practice) mean the same set. */
	return n == s->allowed_ips.n + s->tunnel_ip.n;
}

static bool endpoint_equal(const wg_peer *a, const wg_peer *b)
{
	if (a->endpoint.addr.sa_family != b->endpoint.addr.sa_family)
		return false;
	if (a->endpoint.addr.sa_family == AF_INET)
		return a->endpoint.addr4.sin_port == b->endpoint.addr4.sin_port &&
		       a->endpoint.addr4.sin_addr.s_addr == b->endpoint.addr4.sin_addr.s_addr;
	if (a->endpoint.addr.sa_family == AF_INET6)
		return a->endpoint.addr6.sin6_port == b->endpoint.addr6.sin6_port &&
		       !memcmp(&a->endpoint.addr6.sin6_addr, &b->endpoint.addr6.sin6_addr, 16);
	return true;
}

static int add_allowedips(wg_peer *p, const struct rp_prefix_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		wg_allowedip *a = calloc(1, sizeof(*a));
		struct rp_prefix pf = l->v[i];

		if (!a)
			return -ENOMEM;
		prefix_mask(&pf);
		a->family = pf.family;
		a->cidr = pf.len;
		memcpy(pf.family == AF_INET ? (void *)&a->ip4 : (void *)&a->ip6, pf.addr,
		       pf.family == AF_INET ? 4 : 16);
		wg_peer_append_allowedip(p, a);
	}
	return 0;
}

static wg_peer *append_peer(wg_device *dev)
{
	wg_peer *p = calloc(1, sizeof(*p));

	if (p)
		wg_device_append_peer(dev, p);
	return p;
}

static const wg_peer *find_peer(const wg_device *cur, const uint8_t key[32])
{
	wg_peer *p;

	if (!cur)
		return NULL;
	wg_for_each_peer((wg_device *)cur, p)
		if (!memcmp(p->public_key, key, 32))
			return p;
	return NULL;
}

/* One peer the device must have: KEY with PSK (NULL: none), the site's
 * endpoint, keepalive KA, and the site's addresses as allowed IPs unless
 * !ips (the new key of a site in rotation: WireGuard gives an allowed IP to
 * one peer of an interface, and the previous key holds them until the site
 * switches).  Appended to set when it differs from cur. */
static int sync_peer(wg_device *set, const wg_device *cur, const struct rp_site *s,
		     const uint8_t *key, const uint8_t *psk, uint16_t ka, bool ips,
		     unsigned int *changes, char *why, size_t whylen)
{
	const wg_peer *c = find_peer(cur, key);
	wg_peer want = { 0 }, *p;
	bool psk_diff, ka_diff, ep_diff, ips_diff;
	int err;

	if (s->endpoint) {
		err = net_wg_endpoint(s->endpoint, &want, why, whylen);
		if (err)
			return err;
	}
	if (c) {
		bool cur_psk = c->flags & WGPEER_HAS_PRESHARED_KEY && !wg_key_is_zero(c->preshared_key);

		psk_diff = cur_psk != !!psk || (psk && memcmp(c->preshared_key, psk, 32));
		ka_diff = c->persistent_keepalive_interval != ka;
		/* A site without a configured endpoint roams: leave it. */
		ep_diff = s->endpoint && !endpoint_equal(c, &want);
		ips_diff = ips ? !allowedips_equal(c, s) : c->first_allowedip != NULL;
		if (!psk_diff && !ka_diff && !ep_diff && !ips_diff)
			return 0;
	} else {
		psk_diff = ka_diff = ips_diff = true;
		ep_diff = s->endpoint != NULL;
	}
	p = append_peer(set);
	if (!p)
		return -ENOMEM;
	(*changes)++;
	memcpy(p->public_key, key, 32);
	p->flags = WGPEER_HAS_PUBLIC_KEY;
	if (psk_diff) {
		p->flags |= WGPEER_HAS_PRESHARED_KEY;
		if (psk)
			memcpy(p->preshared_key, psk, 32);
	}
	if (ka_diff) {
		p->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE_INTERVAL;
		p->persistent_keepalive_interval = ka;
	}
	if (ep_diff)
		p->endpoint = want.endpoint;
	if (ips_diff) {
		p->flags |= WGPEER_REPLACE_ALLOWEDIPS;
		if (ips) {
			err = add_allowedips(p, &s->allowed_ips);
			if (!err)
				err = add_allowedips(p, &s->tunnel_ip);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Keys the device keeps: every site's, and the previous key of a site in
 * rotation that has not switched yet. */
static bool wanted_key(const struct rp_tenant *t, const wg_device *cur, const uint8_t *key)
{
	for (size_t i = 0; i < t->n_sites; i++) {
		const struct rp_site *s = &t->sites[i];

		if (!memcmp(key, s->public_key, 32))
			return true;
		if (s->has_previous && !memcmp(key, s->previous_public_key, 32) &&
		    !rekey_switched(s, cur))
			return true;
	}
	return false;
}

int net_wg_diff(const struct rp_tenant *t, const wg_device *cur, wg_device **out,
		unsigned int *n_changes, char *why, size_t whylen)
{
	wg_device *set = calloc(1, sizeof(*set));
	unsigned int changes = 0;
	wg_peer *p;
	int err = 0;

	*out = NULL;
	if (!set)
		return -ENOMEM;
	snprintf(set->name, sizeof(set->name), "%s", t->tunnel_interface);
	if (!cur || !(cur->flags & WGDEVICE_HAS_PRIVATE_KEY) ||
	    memcmp(cur->private_key, t->private_key, 32)) {
		memcpy(set->private_key, t->private_key, 32);
		set->flags |= WGDEVICE_HAS_PRIVATE_KEY;
		changes++;
	}
	if (!cur || cur->listen_port != t->listen_port) {
		set->listen_port = t->listen_port;
		set->flags |= WGDEVICE_HAS_LISTEN_PORT;
		changes++;
	}
	for (size_t i = 0; i < t->n_sites && !err; i++) {
		const struct rp_site *s = &t->sites[i];
		const uint8_t *psk = s->has_psk ? s->psk : NULL;

		if (s->has_previous && !rekey_switched(s, cur)) {
			/* In rotation: the previous key keeps the site's addresses
			 * (first: when a rollback brings it back, it takes them
			 * before the other goes); the new one can handshake. */
			err = sync_peer(set, cur, s, s->previous_public_key,
					s->has_previous_psk ? s->previous_psk : NULL, s->keepalive,
					true, &changes, why, whylen);
			if (!err)
				err = sync_peer(set, cur, s, s->public_key, psk, 0, false, &changes,
						why, whylen);
		} else {
			err = sync_peer(set, cur, s, s->public_key, psk, s->keepalive, true, &changes,
					why, whylen);
		}
	}
	if (err)
		goto fail;
	if (cur) {
		wg_for_each_peer((wg_device *)cur, p) {
			wg_peer *r;

			if (wanted_key(t, cur, p->public_key))
				continue;
			r = append_peer(set);
			if (!r) {
				err = -ENOMEM;
				goto fail;
			}
			memcpy(r->public_key, p->public_key, 32);
			r->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_REMOVE_ME;
			changes++;
		}
	}
	*n_changes = changes;
	if (!changes) {
		wg_device_wipe_free(set);
		return 0;
	}
	*out = set;
	return 0;
fail:
	wg_device_wipe_free(set);
	return err;
}
