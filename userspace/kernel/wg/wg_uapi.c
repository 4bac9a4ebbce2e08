// SPDX-License-Identifier: GPL-2.0
/* wg_uapi.c — the cross-platform UAPI client (wireguard-go):
 * /var/run/wireguard/IFNAME.sock, "get=1" / "set=1", keys in hex, replies
 * ending with "errno=N" (N of either sign, depending on the version). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_tun.h>
#include <sys/un.h>
#include <unistd.h>
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "kernel/wg/wg_int.h"
#include "lib/fileutil.h"
#include "lib/keys.h"

static int uapi_connect(const char *ifname)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd, err;

	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), WG_UAPI_DIR "/%s.sock", ifname) >=
	    sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = errno == ENOENT || errno == ECONNREFUSED ? -ENODEV : -errno;
		close(fd);
		return err;
	}
	return fd;
}

bool wg_uapi_alive(const char *ifname)
{
	int fd = uapi_connect(ifname);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Read the reply up to the empty line that ends it.  *out is NUL-terminated. */
static int read_reply(int fd, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (cap - len < 2048) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = errno == EAGAIN ? -ETIMEDOUT : -errno;

			free(buf);
			return err;
		}
		len += (size_t)r;
		buf[len] = 0;
		if (r == 0 || (len >= 2 && !strcmp(buf + len - 2, "\n\n")) || !strcmp(buf, "\n"))
			break;
	}
	*out = buf;
	return 0;
}

static int reply_errno(const char *reply)
{
	const char *e = strstr(reply, "errno=");
	long v;

	if (!e)
		return -EPROTO;
	if (e != reply && e[-1] != '\n')
		return -EPROTO;
	v = strtol(e + 6, NULL, 10);
	return v < 0 ? (int)v : -(int)v;
}

static int hex_to_key(const char *hex, wg_key key)
{
	for (int i = 0; i < 32; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -EINVAL;
		key[i] = (uint8_t)b;
	}
	return strlen(hex) == 64 ? 0 : -EINVAL;
}

static void key_to_hex(const wg_key key, char out[65])
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", key[i]);
}

static int parse_endpoint(const char *s, wg_peer *p)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	size_t hl;

	if (!colon)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	if (inet_pton(AF_INET, host, &p->endpoint.addr4.sin_addr) == 1) {
		p->endpoint.addr4.sin_family = AF_INET;
		p->endpoint.addr4.sin_port = htons((uint16_t)atoi(colon + 1));
	} else if (inet_pton(AF_INET6, host, &p->endpoint.addr6.sin6_addr) == 1) {
		p->endpoint.addr6.sin6_family = AF_INET6;
		p->endpoint.addr6.sin6_port = htons((uint16_t)atoi(colon + 1));
	} else {
		return -EINVAL;
	}
	return 0;
}

static int add_allowedip(wg_peer *p, const char *s)
{
	wg_allowedip *a = calloc(1, sizeof(*a));
	char buf[INET6_ADDRSTRLEN + 4], *slash;

	if (!a)
		return -ENOMEM;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	if (inet_pton(AF_INET, buf, &a->ip4) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, &a->ip6) == 1)
		a->family = AF_INET6;
	else {
		free(a);
		return -EINVAL;
	}
	a->cidr = (uint8_t)(slash ? atoi(slash) : (a->family == AF_INET ? 32 : 128));
	wg_peer_append_allowedip(p, a);
	return 0;
}

int wg_uapi_get(const char *ifname, wg_device **out)
{
	char *reply = NULL, *line, *save = NULL;
	wg_device *dev = NULL;
	wg_peer *peer = NULL;
	int fd, err;

	fd = uapi_connect(ifname);
	if (fd < 0)
		return fd;
	err = fd_write_all(fd, "get=1\n\n", 7);
	if (!err)
		err = read_reply(fd, &reply);
	close(fd);
	if (err)
		return err;
	err = reply_errno(reply);
	if (err)
		goto out;
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		err = -ENOMEM;
		goto out;
	}
	snprintf(dev->name, sizeof(dev->name), "%s", ifname);
	for (line = strtok_r(reply, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *val = strchr(line, '=');

		if (!val)
			continue;
		*val++ = 0;
		if (!strcmp(line, "private_key")) {
			if (!hex_to_key(val, dev->private_key)) {
				dev->flags |= WGDEVICE_HAS_PRIVATE_KEY;
				key_public_from_private(dev->public_key, dev->private_key);
				dev->flags |= WGDEVICE_HAS_PUBLIC_KEY;
			}
		} else if (!strcmp(line, "listen_port")) {
			dev->listen_port = (uint16_t)atoi(val);
			dev->flags |= WGDEVICE_HAS_LISTEN_PORT;
		} else if (!strcmp(line, "fwmark")) {
			dev->fwmark = (uint32_t)strtoul(val, NULL, 10);
		} else if (!strcmp(line, "public_key")) {
			peer = calloc(1, sizeof(*peer));
			if (!peer) {
				err = -ENOMEM;
				goto out;
			}
			if (hex_to_key(val, peer->public_key)) {
				free(peer);
				err = -EPROTO;
				goto out;
			}
			peer->flags = WGPEER_HAS_PUBLIC_KEY;
			wg_device_append_peer(dev, peer);
		} else if (!peer) {
			continue;
		} else if (!strcmp(line, "preshared_key")) {
			if (!hex_to_key(val, peer->preshared_key) && !wg_key_is_zero(peer->preshared_key))
				peer->flags |= WGPEER_HAS_PRESHARED_KEY;
		} else if (!strcmp(line, "endpoint")) {
			parse_endpoint(val, peer);
		} else if (!strcmp(line, "last_handshake_time_sec")) {
			peer->last_handshake_time.tv_sec = strtoll(val, NULL, 10);
		} else if (!strcmp(line, "last_handshake_time_nsec")) {
			peer->last_handshake_time.tv_nsec = strtoll(val, NULL, 10);
		} else if (!strcmp(line, "rx_bytes")) {
			peer->rx_bytes = strtoull(val, NULL, 10);
		} else if (!strcmp(line, "tx_bytes")) {
			peer->tx_bytes = strtoull(val, NULL, 10);
		} else if (!strcmp(line, "persistent_keepalive_interval")) {
			peer->persistent_keepalive_interval = (uint16_t)atoi(val);
			peer->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE_INTERVAL;
		} else if (!strcmp(line, "allowed_ip")) {
			err = add_allowedip(peer, val);
			if (err)
				goto out;
		}
	}
	*out = dev;
	dev = NULL;
out:
	if (reply) {
		explicit_bzero(reply, strlen(reply));
		free(reply);
	}
	wg_device_wipe_free(dev);
	return err;
}

/* A growable text buffer that is wiped before it is freed (it holds keys). */
struct sbuf {
	char *s;
	size_t len, cap;
	int err;
};

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len)
			break;
		size_t cap = b->cap * 2 + (size_t)n + 64;
		char *ns = malloc(cap);

		if (!ns) {
			b->err = -ENOMEM;
			return;
		}
		memcpy(ns, b->s, b->len);
		explicit_bzero(b->s, b->cap);
		free(b->s);
		b->s = ns;
		b->cap = cap;
	}
	b->len += (size_t)n;
}

static void sb_endpoint(struct sbuf *b, const wg_peer *p)
{
	char host[INET6_ADDRSTRLEN];

	if (p->endpoint.addr.sa_family == AF_INET) {
		inet_ntop(AF_INET, &p->endpoint.addr4.sin_addr, host, sizeof(host));
		sb_printf(b, "endpoint=%s:%u\n", host, ntohs(p->endpoint.addr4.sin_port));
	} else if (p->endpoint.addr.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &p->endpoint.addr6.sin6_addr, host, sizeof(host));
		sb_printf(b, "endpoint=[%s]:%u\n", host, ntohs(p->endpoint.addr6.sin6_port));
	}
}

int wg_uapi_set(wg_device *dev)
{
	struct sbuf b = { .cap = 4096 };
	char hex[65], ip[INET6_ADDRSTRLEN];
	char *reply = NULL;
	wg_allowedip *a;
	wg_peer *p;
	int fd, err;

	b.s = malloc(b.cap);
	if (!b.s)
		return -ENOMEM;
	sb_printf(&b, "set=1\n");
	if (dev->flags & WGDEVICE_HAS_PRIVATE_KEY) {
		key_to_hex(dev->private_key, hex);
		sb_printf(&b, "private_key=%s\n", hex);
	}
	if (dev->flags & WGDEVICE_HAS_LISTEN_PORT)
		sb_printf(&b, "listen_port=%u\n", dev->listen_port);
	if (dev->flags & WGDEVICE_HAS_FWMARK)
		sb_printf(&b, "fwmark=%u\n", dev->fwmark);
	if (dev->flags & WGDEVICE_REPLACE_PEERS)
		sb_printf(&b, "replace_peers=true\n");
	wg_for_each_peer(dev, p) {
		key_to_hex(p->public_key, hex);
		sb_printf(&b, "public_key=%s\n", hex);
		if (p->flags & WGPEER_REMOVE_ME) {
			sb_printf(&b, "remove=true\n");
			continue;
		}
		if (p->flags & WGPEER_HAS_PRESHARED_KEY) {
			key_to_hex(p->preshared_key, hex);
			sb_printf(&b, "preshared_key=%s\n", hex);
		}
		sb_endpoint(&b, p);
		if (p->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE_INTERVAL)
			sb_printf(&b, "persistent_keepalive_interval=%u\n",
				  p->persistent_keepalive_interval);
		if (p->flags & WGPEER_REPLACE_ALLOWEDIPS)
			sb_printf(&b, "replace_allowed_ips=true\n");
		wg_for_each_allowedip(p, a) {
			inet_ntop(a->family, a->family == AF_INET ? (void *)&a->ip4 : (void *)&a->ip6,
				  ip, sizeof(ip));
			sb_printf(&b, "allowed_ip=%s/%u\n", ip, a->cidr);
		}
	}
	sb_printf(&b, "\n");
	explicit_bzero(hex, sizeof(hex));
	err = b.err;
	if (err)
		goto out;
	fd = uapi_connect(dev->name);
	if (fd < 0) {
		err = fd;
		goto out;
	}
	err = fd_write_all(fd, b.s, b.len);
	if (!err)
		err = read_reply(fd, &reply);
	close(fd);
	if (!err)
		err = reply_errno(reply);
out:
	explicit_bzero(b.s, b.cap);
	free(b.s);
	free(reply);
	return err;
}
