// SPDX-License-Identifier: GPL-2.0
/* hostaddr.c — the gateway's own addresses, from the kernel; see hostaddr.h. */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/hostaddr.h"
#include "kernel/netlink.h"

static bool link_local(const struct rp_prefix *p)
{
	if (p->family == AF_INET6)
		return p->addr[0] == 0xfe && (p->addr[1] & 0xc0) == 0x80;
	return p->addr[0] == 169 && p->addr[1] == 254;
}

void host_addrs_free(struct rp_host_addrs *h)
{
	free(h->all.v);
	free(h->uplink.v);
	memset(h, 0, sizeof(*h));
}

int host_addrs_read(const char *uplink, struct rp_host_addrs *out)
{
	unsigned up = uplink ? if_nametoindex(uplink) : 0;
	struct nl_addr *v = NULL;
	struct nl_ctx nl;
	size_t n = 0;
	int err;

	host_addrs_free(out);
	err = nl_open(&nl);
	if (err)
		return err;
	err = nl_addr_dump(&nl, 0, &v, &n);
	nl_close(&nl);
	for (size_t i = 0; i < n && !err; i++) {
		err = prefix_list_push(&out->all, &v[i].p);
		if (!err && up && (unsigned)v[i].ifindex == up && !link_local(&v[i].p))
			err = prefix_list_push(&out->uplink, &v[i].p);
	}
	free(v);
	if (err)
		host_addrs_free(out);
	return err;
}

static bool list_equal(const struct rp_prefix_list *a, const struct rp_prefix_list *b)
{
	return a->n == b->n && (!a->n || !memcmp(a->v, b->v, a->n * sizeof(*a->v)));
}

bool host_addrs_equal(const struct rp_host_addrs *a, const struct rp_host_addrs *b)
{
	return list_equal(&a->all, &b->all) && list_equal(&a->uplink, &b->uplink);
}

static int list_copy(struct rp_prefix_list *dst, const struct rp_prefix_list *src)
{
	dst->n = 0;
	dst->v = NULL;
	if (!src->n)
		return 0;
	dst->v = malloc(src->n * sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
	dst->n = src->n;
	return 0;
}

int host_addrs_copy(struct rp_host_addrs *dst, const struct rp_host_addrs *src)
{
	memset(dst, 0, sizeof(*dst));
	if (list_copy(&dst->all, &src->all) || list_copy(&dst->uplink, &src->uplink)) {
		host_addrs_free(dst);
		return -ENOMEM;
	}
	return 0;
}
