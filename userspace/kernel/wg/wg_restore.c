// SPDX-License-Identifier: GPL-2.0
/* wg_restore.c — the restore file of a userspace tunnel,
 * STATE_DIR/wg/IFNAME.net: one line per object,
 *
 *   ifindex 7
 *   mtu 1420                            (the tenant's mtu)
 *   addr 100.64.10.1/24
 *   route 10.110.1.0/24 1010 100        (prefix, table, metric)
 *
 * written after each apply (wg_restore_save, the backend's `remember`), and
 * replayed by the supervisor once a restarted wireguard-go is back on the
 * tun device (wg_restore_apply): the link set up with its MTU, the
 * addresses and the routes through it added again.  Only on the same link
 * (ifindex): a tunnel that was deleted is a new link when wireguard-go
 * makes it again, without the tunnel_in program that rempart attached to
 * the old one; it stays down until rempart attaches the program and brings
 * it up (`apply`, or the daemon within a second: rempart(8), run). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "kernel/wg/wg_int.h"
#include "lib/fileutil.h"
#include "lib/statedir.h"

int wg_restore_save(const char *ifname, const char *state_dir, const struct wg_netstate *ns)
{
	char path[PATH_MAX], pbuf[INET6_ADDRSTRLEN + 4], dst[INET6_ADDRSTRLEN], *text = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	if (statedir_wg_path(path, state_dir, ifname, SD_WG_NET))
		return -ENAMETOOLONG;
	f = open_memstream(&text, &len);
	if (!f)
		return -errno;
	fprintf(f, "ifindex %d\nmtu %u\n", ns->ifindex, ns->mtu ? ns->mtu : RP_WG_MTU);
	for (size_t k = 0; k < ns->n_addrs; k++) {
		prefix_format(&ns->addrs[k], pbuf, sizeof(pbuf));
		fprintf(f, "addr %s\n", pbuf);
	}
	for (size_t k = 0; k < ns->n_routes; k++) {
		const struct nl_route *r = &ns->routes[k];

		inet_ntop(r->family, r->dst, dst, sizeof(dst));
		fprintf(f, "route %s/%u %u %u\n", dst, r->dst_len, r->table, r->metric);
	}
	if (fclose(f)) {
		free(text);
		return -ENOMEM;
	}
	err = file_replace(path, &(struct iovec){ text, len }, 1, 0644, false);
	free(text);
	return err;
}

int wg_restore_apply(const char *ifname, const char *state_dir)
{
	char path[PATH_MAX], line[256], a1[80];
	unsigned int u1, u2;
	struct nl_ctx nl;
	struct nl_link l;
	FILE *f;
	int err;

	statedir_wg_path(path, state_dir, ifname, SD_WG_NET);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	err = nl_open(&nl);
	if (err)
		goto out;
	err = nl_link_get(&nl, ifname, &l);
	if (err)
		goto out_nl;
	if (fgets(line, sizeof(line), f) && sscanf(line, "ifindex %u", &u1) == 1) {
		if (u1 && (int)u1 != l.ifindex) {
			err = -ENOLINK;		/* a new link: not ours to bring up */
			goto out_nl;
		}
	} else {
		rewind(f);		/* a file from before the ifindex line */
	}
	err = nl_link_set(&nl, l.ifindex, RP_WG_MTU, true);
	while (!err && fgets(line, sizeof(line), f)) {
		struct rp_prefix p;

		if (sscanf(line, "mtu %u", &u1) == 1 && u1 >= 1280 && u1 <= 65535) {
			err = nl_link_set(&nl, l.ifindex, u1, true);
		} else if (sscanf(line, "addr %79s", a1) == 1 && !prefix_parse(a1, &p)) {
			int e = nl_addr_add(&nl, l.ifindex, &p);

			if (e && e != -EEXIST)
				err = e;
		} else if (sscanf(line, "route %79s %u %u", a1, &u1, &u2) == 3 && !prefix_parse(a1, &p)) {
			struct nl_route r = { .family = p.family, .dst_len = p.len, .type = RTN_UNICAST,
					      .oif = l.ifindex, .table = u1, .metric = u2 };
			int e;

			memcpy(r.dst, p.addr, 16);
			e = nl_route_add(&nl, &r);
			if (e && e != -EEXIST)
				err = e;
		}
	}
out_nl:
	nl_close(&nl);
out:
	fclose(f);
	return err;
}
