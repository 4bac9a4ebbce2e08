// SPDX-License-Identifier: GPL-2.0
/* addr.c — addresses, prefixes and ports; see addr.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/addr.h"

static int addr_len_bits(uint8_t family)
{
	return family == AF_INET ? 32 : 128;
}

int addr_parse(const char *s, struct rp_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->addr) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->addr) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

int prefix_parse(const char *s, struct rp_prefix *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	struct rp_addr a;
	unsigned long len;
	char *slash;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (addr_parse(buf, &a))
		return -EINVAL;
	if (slash) {
		if (parse_uint(slash + 1, addr_len_bits(a.family), &len))
			return -EINVAL;
	} else {
		len = addr_len_bits(a.family);
	}
	memset(out, 0, sizeof(*out));
	out->family = a.family;
	out->len = len;
	memcpy(out->addr, a.addr, sizeof(a.addr));
	return 0;
}

int port_range_parse(const char *s, struct rp_port_range *out)
{
	char buf[16];
	unsigned long lo, hi;
	char *dash;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (parse_uint(buf, 65535, &lo) || lo == 0)
		return -EINVAL;
	hi = lo;
	if (dash && (parse_uint(dash + 1, 65535, &hi) || hi < lo))
		return -EINVAL;
	out->lo = lo;
	out->hi = hi;
	return 0;
}

void addr_format(const struct rp_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family, a->addr, buf, len))
		snprintf(buf, len, "?");
}

void prefix_format(const struct rp_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family, p->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, p->len);
}

/* The first BITS (0..128) of two 16-byte addresses are the same. */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	uint64_t x = addr_be64(a) ^ addr_be64(b);

	if (bits <= 64)
		return !bits || !(x >> (64 - bits));
	return !x && !((addr_be64(a + 8) ^ addr_be64(b + 8)) >> (128 - bits));
}

bool prefix_contains(const struct rp_prefix *p, const struct rp_addr *a)
{
	return p->family == a->family && bits_equal(p->addr, a->addr, p->len);
}

bool prefix_overlap(const struct rp_prefix *a, const struct rp_prefix *b)
{
	return a->family == b->family &&
	       bits_equal(a->addr, b->addr, a->len < b->len ? a->len : b->len);
}

void prefix_mask(struct rp_prefix *p)
{
	unsigned int bytes = p->family == AF_INET ? 4 : 16;

	for (unsigned int i = 0; i < bytes; i++) {
		int keep = (int)p->len - (int)i * 8;

		if (keep < 8)
			p->addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
	for (unsigned int i = bytes; i < sizeof(p->addr); i++)
		p->addr[i] = 0;
}

void prefix_host(const struct rp_prefix *p, struct rp_addr *out)
{
	out->family = p->family;
	memcpy(out->addr, p->addr, sizeof(out->addr));
}

int prefix_list_longest_match(const struct rp_prefix_list *l, const struct rp_addr *a)
{
	int best = -1;

	for (size_t i = 0; i < l->n; i++)
		if (prefix_contains(&l->v[i], a) && l->v[i].len > best)
			best = l->v[i].len;
	return best;
}

bool port_list_contains(const struct rp_port_list *l, uint16_t port)
{
	if (!l->n)
		return true;
	for (size_t i = 0; i < l->n; i++)
		if (port >= l->v[i].lo && port <= l->v[i].hi)
			return true;
	return false;
}

int prefix_list_push(struct rp_prefix_list *l, const struct rp_prefix *p)
{
	struct rp_prefix *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->v = v;
	l->v[l->n++] = *p;
	return 0;
}

int prefix_list_cat(struct rp_prefix_list *l, const struct rp_prefix_list *from)
{
	int err = 0;

	for (size_t i = 0; i < from->n && !err; i++)
		err = prefix_list_push(l, &from->v[i]);
	return err;
}
