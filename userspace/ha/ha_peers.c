// SPDX-License-Identifier: GPL-2.0
/* ha_peers.c — peer endpoint sync (docs/ha.md "Peer endpoint sync").
 *
 * A new active gateway has the sites' keys but no session with them; a site
 * would start a handshake with it only after ~15 s of sending into nothing.
 * So the active tells the standby, once a second, where each site last was:
 * for every tenant's tunnel, every peer that has had a handshake, its
 * public key and endpoint (what WireGuard learned from the site's
 * authenticated packets).  The standby keeps the newest hint per (tenant,
 * key) in memory and touches nothing else.  When keepalived makes it
 * active, it sets each hinted endpoint on its own peer and starts a
 * handshake to every site at once, the way a key rotation's end does
 * (net/keyrot_end.c): persistent keepalive 0, then on (WireGuard sends at
 * once, and with no session that is a handshake initiation), then back to
 * the configured value.
 *
 * Transport: UDP datagrams from the active to `peer`, port HA_SYNC_PORT,
 * both sockets bound to sync_interface (SO_BINDTODEVICE), TTL/hop limit
 * 255; a datagram counts only if it came in on sync_interface, from
 * `peer`, with TTL 255 (sent from the link itself, GTSM), with the magic
 * and the VRRP instance's vrid.  There is no cryptography: the sync link is
 * a dedicated segment between the two gateways (docs/ha.md), and whoever
 * sits on it can already take the virtual addresses by VRRP.  What a forged
 * hint can do is bounded anyway: an endpoint is only where WireGuard sends
 * its next handshake initiation; it is applied only to a peer the
 * configuration already has (the key must match a site of that tenant's
 * tunnel), only at takeover, and only if unicast and not loopback.  A
 * session needs the site's private key, the allowed IPs and rempart's
 * programs still decide every packet, and a site that answers from
 * elsewhere is followed by WireGuard's own roaming.  The worst is a
 * handshake sent to the wrong place: the site then re-handshakes on its own
 * after ~15 s, as without the sync. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include "ha/ha.h"
#include "kernel/wg/wg.h"
#include "lib/clock.h"
#include "lib/log.h"

#define HA_SYNC_MAGIC "RPE1"
#define HA_SYNC_EVERY_MS 1000
#define HA_KICK_KEEPALIVE 25	/* any value turns the keepalive on */
#define HA_ENTRY_LEN 56		/* id 4, key 32, family 1, pad 1, port 2, addr 16 */
#define HA_PER_DGRAM 24

static bool sa_to_sync(const struct sockaddr *sa, uint8_t *fam, uint16_t *port, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;

		*fam = 4;
		*port = s->sin_port;
		memcpy(addr, &s->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;

		*fam = 6;
		*port = s->sin6_port;
		memcpy(addr, &s->sin6_addr, 16);
		return true;
	}
	return false;
}

/* An endpoint a hint may name: unicast, not loopback, not unspecified, a
 * port. */
bool ha_hint_endpoint_ok(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;
		uint32_t a = ntohl(s->sin_addr.s_addr);

		return s->sin_port && a && (a >> 24) != 127 && (a >> 28) != 14 && a != 0xffffffff;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		return s->sin6_port && !IN6_IS_ADDR_UNSPECIFIED(&s->sin6_addr) &&
		       !IN6_IS_ADDR_LOOPBACK(&s->sin6_addr) && !IN6_IS_ADDR_MULTICAST(&s->sin6_addr) &&
		       !IN6_IS_ADDR_V4MAPPED(&s->sin6_addr);
	}
	return false;
}

static void peer_sockaddr(const struct rp_ha *ha, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (ha->peer.family == AF_INET) {
		struct sockaddr_in *s = (void *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(HA_SYNC_PORT);
		memcpy(&s->sin_addr, ha->peer.addr, 4);
		*len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (void *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(HA_SYNC_PORT);
		memcpy(&s->sin6_addr, ha->peer.addr, 16);
		*len = sizeof(*s);
	}
}

int ha_sync_open(struct ha *h, const struct rp_config *cfg)
{
	struct sockaddr_storage ss = { 0 };
	int fam = cfg->ha.peer.family, one = 1, ttl = 255, fd;
	socklen_t len;

	fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, cfg->ha.sync_interface,
		       strlen(cfg->ha.sync_interface)) ||
	    (fam == AF_INET && (setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) ||
				setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)))) ||
	    (fam == AF_INET6 &&
	     (setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl)) ||
	      setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) ||
	      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))))) {
		int err = -errno;

		close(fd);
		return err;
	}
	ss.ss_family = (sa_family_t)fam;
	if (fam == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_port = htons(HA_SYNC_PORT);
		len = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(HA_SYNC_PORT);
		len = sizeof(struct sockaddr_in6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	h->sync_fd = fd;
	h->sync_next = 0;
	return 0;
}

void ha_sync_close(struct ha *h)
{
	if (h->sync_fd >= 0)
		close(h->sync_fd);
	h->sync_fd = -1;
	free(h->hints);
	h->hints = NULL;
	h->n_hints = 0;
	ha_flows_free(&h->flows);
}

/* Encode one entry at P. */
static void put_entry(uint8_t *p, uint32_t tenant, const uint8_t key[32], const struct sockaddr *sa)
{
	uint8_t fam = 0;
	uint16_t port = 0;
	uint32_t id = htonl(tenant);

	memcpy(p, &id, 4);
	memcpy(p + 4, key, 32);
	sa_to_sync(sa, &fam, &port, p + 40);
	p[36] = fam;
	p[37] = 0;
	memcpy(p + 38, &port, 2);
}

static void send_dgram(struct ha *h, const struct rp_config *cfg, uint8_t *buf, size_t n)
{
	struct sockaddr_storage to;
	socklen_t len;

	if (!n)
		return;
	memcpy(buf, HA_SYNC_MAGIC, 4);
	buf[4] = cfg->ha.vrid;
	buf[5] = (uint8_t)n;
	buf[6] = buf[7] = 0;
	peer_sockaddr(&cfg->ha, &to, &len);
	sendto(h->sync_fd, buf, 8 + n * HA_ENTRY_LEN, 0, (struct sockaddr *)&to, len);
}

/* The active: every tunnel's peers that had a handshake, to the peer. */
static void export(struct ha *h, const struct rp_config *cfg)
{
	const struct wg_backend *wg = wg_backend_get();
	uint8_t buf[8 + HA_PER_DGRAM * HA_ENTRY_LEN];
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_tenants; i++) {
		wg_device *dev = NULL;
		wg_peer *p;

		if (wg->get(cfg->tenants[i].tunnel_interface, &dev) || !dev)
			continue;
		wg_for_each_peer(dev, p) {
			if (!p->last_handshake_time.tv_sec ||
			    !ha_hint_endpoint_ok((const void *)&p->endpoint))
				continue;
			put_entry(buf + 8 + n * HA_ENTRY_LEN, cfg->tenants[i].id, p->public_key,
				  &p->endpoint.addr);
			if (++n == HA_PER_DGRAM) {
				send_dgram(h, cfg, buf, n);
				n = 0;
			}
		}
		wg_device_wipe_free(dev);
	}
	send_dgram(h, cfg, buf, n);
}

static void remember(struct ha *h, const struct ha_hint *x)
{
	struct ha_hint *nh;

	for (size_t i = 0; i < h->n_hints; i++)
		if (h->hints[i].tenant == x->tenant && !memcmp(h->hints[i].key, x->key, 32)) {
			h->hints[i].ep = x->ep;
			return;
		}
	if (h->n_hints >= HA_MAX_HINTS)
		return;
	nh = realloc(h->hints, (h->n_hints + 1) * sizeof(*nh));
	if (!nh)
		return;
	h->hints = nh;
	h->hints[h->n_hints++] = *x;
}

int ha_sync_parse(struct ha *h, const struct rp_config *cfg, const uint8_t *buf, size_t len)
{
	size_t n;

	if (len < 8 || memcmp(buf, HA_SYNC_MAGIC, 4) || buf[4] != cfg->ha.vrid)
		return -EINVAL;
	n = buf[5];
	if (n > HA_PER_DGRAM || len != 8 + n * HA_ENTRY_LEN)
		return -EINVAL;
	for (size_t k = 0; k < n; k++) {
		const uint8_t *p = buf + 8 + k * HA_ENTRY_LEN;
		struct ha_hint x = { 0 };
		uint32_t id;
		uint16_t port;

		memcpy(&id, p, 4);
		x.tenant = ntohl(id);
		memcpy(x.key, p + 4, 32);
		memcpy(&port, p + 38, 2);
		if (p[36] == 4) {
			struct sockaddr_in *s = (void *)&x.ep;

			s->sin_family = AF_INET;
			s->sin_port = port;
			memcpy(&s->sin_addr, p + 40, 4);
		} else if (p[36] == 6) {
			struct sockaddr_in6 *s = (void *)&x.ep;

			s->sin6_family = AF_INET6;
			s->sin6_port = port;
			memcpy(&s->sin6_addr, p + 40, 16);
		}
		if (!ha_hint_endpoint_ok(&x.ep))
			continue;
		remember(h, &x);
	}
	h->sync_rx = clock_ms();
	return (int)n;
}

/* Did this datagram come from the peer, from the link itself (TTL 255)? */
static bool from_peer(const struct rp_ha *ha, const struct sockaddr_storage *from, struct msghdr *m)
{
	int ttl = -1;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
		if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
		    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT))
			memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
	if (ttl != 255)
		return false;
	if (from->ss_family == AF_INET && ha->peer.family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)from)->sin_addr, ha->peer.addr, 4);
	if (from->ss_family == AF_INET6 && ha->peer.family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)from)->sin6_addr, ha->peer.addr, 16);
	return false;
}

static void receive(struct ha *h, const struct rp_config *cfg)
{
	uint8_t buf[(8 + HA_PER_DGRAM * HA_ENTRY_LEN > HA_FLOWS_DGRAM ? 8 + HA_PER_DGRAM * HA_ENTRY_LEN
								       : HA_FLOWS_DGRAM) + 1];
	char ctl[128];

	for (int budget = 1024; budget > 0; budget--) {
		struct sockaddr_storage from;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
				    .msg_iovlen = 1, .msg_control = ctl,
				    .msg_controllen = sizeof(ctl) };
		ssize_t len = recvmsg(h->sync_fd, &m, 0);

		if (len < 0)
			return;
		if (!from_peer(&cfg->ha, &from, &m))
			h->sync_bad++;
		else if (len >= 4 && !memcmp(buf, HA_FLOWS_MAGIC, 4)) {
			if (ha_flows_apply(&h->flows, cfg, buf, (size_t)len) < 0)
				h->sync_bad++;
			else
				h->peer_was_active = true;
		} else if (ha_sync_parse(h, cfg, buf, (size_t)len) < 0) {
			h->sync_bad++;
		} else {
			h->peer_was_active = true;
		}
	}
}

static void flows_send(void *ctx, const uint8_t *buf, size_t len)
{
	struct ha *h = ctx;
	struct sockaddr_storage to;
	socklen_t tolen;

	peer_sockaddr(&h->cfg->ha, &to, &tolen);
	sendto(h->sync_fd, buf, len, 0, (struct sockaddr *)&to, tolen);
}

int ha_sync_tick(struct ha *h)
{
	const struct rp_config *cfg = h->cfg;
	double now = clock_ms(), next;

	if (!cfg || h->sync_fd < 0)
		return -1;
	h->peer_was_active = false;
	receive(h, cfg);
	if (h->role != HA_ACTIVE)
		return -1;
	if (h->peer_was_active)
		ha_sync_renew_due(h, now, "its sync datagrams");
	if (h->renew_at && now >= h->renew_at) {
		h->renew_at = 0;
		ha_sync_takeover(h);
		/* the NAT state too, by then received from the peer's
		 * conntrackd: the connections it carried committed here, and
		 * this gateway's own entries, stale since, made liberal */
		ha_ct_role(&h->ct, 1);
	}
	if (now >= h->sync_next) {
		export(h, cfg);
		h->sync_next = now + HA_SYNC_EVERY_MS;
	}
	if (now >= h->flows.next_ms) {
		bool full = now >= h->flows.full_ms;

		ha_flows_export(&h->flows, cfg, full, flows_send, h);
		h->flows.next_ms = now + HA_FLOWS_EVERY_MS;
		if (full)
			h->flows.full_ms = now + HA_FLOWS_FULL_MS;
	}
	next = h->sync_next < h->flows.next_ms ? h->sync_next : h->flows.next_ms;
	if (h->renew_at && h->renew_at < next)
		next = h->renew_at;
	return (int)(next - now) + 1;
}

/* Only an active gateway sends sync datagrams, so one from the peer while
 * this one is active means both were (keepalived's MASTER_RX_LOWER_PRI
 * says the same, ha.c): this gateway was frozen (SIGSTOP, a
 * hung VM) while the peer took over, or the sync link was cut.  The sites
 * may have a session with the peer only, which this gateway cannot
 * decrypt; WireGuard on the site notices after ~15 s.  Renewing here is
 * what the takeover does.  The old active's last datagrams after a normal
 * takeover arrive within HA_RENEW_AFTER_MS of it and are no reason; a
 * host on the sync link that forges datagrams can make the active renew
 * at most every HA_RENEW_EVERY_MS (one handshake per site), no more than
 * it can do by VRRP there.  The call waits HA_RENEW_DELAY_MS: by then the
 * peer has heard this one's adverts and stepped back, and this one's
 * gratuitous ARPs/NAs have moved the segments back here, so the sites'
 * answers to the call come here, not to the peer (which would drop them,
 * and WireGuard would call again only 5 s later). */
bool ha_sync_renew_due(struct ha *h, double now, const char *why)
{
	if (h->role != HA_ACTIVE || now - h->since < HA_RENEW_AFTER_MS || now < h->renew_next)
		return false;
	h->renew_next = now + HA_RENEW_EVERY_MS;
	h->renew_at = now + HA_RENEW_DELAY_MS;
	h->renewals++;
	pr_warn("ha: the peer was active too (%s: this gateway was frozen, or the sync link cut): "
		"calling every site again in %d ms", why, HA_RENEW_DELAY_MS);
	return true;
}

void ha_sync_goodbye(struct ha *h)
{
	if (h->cfg && h->sync_fd >= 0)
		ha_flows_export(&h->flows, h->cfg, false, flows_send, h);
}

/* Every hinted peer is removed and added back as it was before it is
 * called.  A peer that has had a session here holds a stale one (the
 * site's current session is with the gateway that was active), on which
 * WireGuard would send a keepalive instead of a handshake.  A peer without
 * one may already have tried a handshake: traffic for the site that
 * reaches this gateway before the takeover's call (a cloud host streaming
 * to it once the cloud address moved here) makes WireGuard initiate, maybe
 * before public_endpoint is here (the initiation is then dropped,
 * ha_nft.c), and it then waits 5 s (REKEY_TIMEOUT) before it initiates
 * again, whatever the call asks: lab_ha measured that loss window, 5.1 s
 * in 2 of 2 runs.  A peer added afresh has no such state. */
static bool stale_session(const wg_peer *c)
{
	(void)c;
	return true;
}

/* C as a peer to add back: its preshared key and allowed IPs. */
static wg_peer *readd(const wg_peer *c)
{
	wg_peer *q = calloc(1, sizeof(*q));
	wg_allowedip *a;

	if (!q)
		return NULL;
	memcpy(q->public_key, c->public_key, 32);
	memcpy(q->preshared_key, c->preshared_key, 32);
	q->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_HAS_PRESHARED_KEY | WGPEER_REPLACE_ALLOWEDIPS;
	wg_for_each_allowedip((wg_peer *)c, a) {
		wg_allowedip *b = calloc(1, sizeof(*b));

		if (!b) {
			wg_allowedip *nx;

			for (a = q->first_allowedip; a; a = nx) {
				nx = a->next_allowedip;
				free(a);
			}
			explicit_bzero(q, sizeof(*q));
			free(q);
			return NULL;
		}
		b->family = a->family;
		b->cidr = a->cidr;
		memcpy(&b->ip6, &a->ip6, sizeof(b->ip6));
		wg_peer_append_allowedip(q, b);
	}
	return q;
}

/* One "set" of tenant T's tunnel: every hinted peer that CUR has.  STEP 0:
 * the peers with a stale session removed; 1: those added back, and every
 * hinted peer given the hinted endpoint, keepalive 0; 2: keepalive on (the
 * send); 3: the configured keepalive back, where it is 0.  *n: the peers
 * in it. */
static wg_device *takeover_set(const struct ha *h, const struct rp_tenant *t, const wg_device *cur,
			       int step, int *n)
{
	wg_device *set = calloc(1, sizeof(*set));

	*n = 0;
	if (!set)
		return NULL;
	snprintf(set->name, sizeof(set->name), "%s", t->tunnel_interface);
	for (size_t k = 0; k < h->n_hints; k++) {
		const struct ha_hint *x = &h->hints[k];
		const wg_peer *c;
		wg_peer *q;

		if (x->tenant != t->id || !(c = wg_device_find_peer(cur, x->key)))
			continue;
		if ((step == 0 && !stale_session(c)) || (step == 3 && c->persistent_keepalive_interval))
			continue;
		q = step == 1 && stale_session(c) ? readd(c) : calloc(1, sizeof(*q));
		if (!q)
			break;
		memcpy(q->public_key, x->key, 32);
		q->flags |= WGPEER_HAS_PUBLIC_KEY;
		if (step == 0) {
			q->flags |= WGPEER_REMOVE_ME;
		} else {
			q->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE_INTERVAL;
			q->persistent_keepalive_interval =
				step != 2 ? 0 : c->persistent_keepalive_interval
						? c->persistent_keepalive_interval : HA_KICK_KEEPALIVE;
		}
		if (step == 1)
			memcpy(&q->endpoint, &x->ep, x->ep.ss_family == AF_INET ?
			       sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		wg_device_append_peer(set, q);
		(*n)++;
	}
	if (!*n) {
		wg_device_wipe_free(set);
		return NULL;
	}
	return set;
}

void ha_sync_takeover(struct ha *h)
{
	const struct rp_config *cfg = h->cfg;
	const struct wg_backend *wg = wg_backend_get();
	int called = 0;

	if (!cfg || !h->n_hints)
		return;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		wg_device *cur = NULL;
		int err = 0, n = 0;

		if (wg->get(t->tunnel_interface, &cur) || !cur)
			continue;
		for (int step = 0; step < 4 && !err; step++) {
			int m;
			wg_device *set = takeover_set(h, t, cur, step, &m);

			if (!set)
				continue;
			err = wg->set(set);
			wg_device_wipe_free(set);
			if (step == 2 && !err)
				n = m;
		}
		wg_device_wipe_free(cur);
		if (err)
			pr_warn("ha: tenant %s: cannot call its sites at takeover (%s): they "
				"re-handshake on their own", t->name, strerror(-err));
		else if (wg->changed)
			wg->changed(t->tunnel_interface, cfg->state_dir);
		called += n;
	}
	pr_info("ha: takeover: %d site key(s) called at the endpoint the peer last saw", called);
}
