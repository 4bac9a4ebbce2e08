// SPDX-License-Identifier: GPL-2.0
/* audit_live.c — read the live kernel state once (audit_live.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/pkt_sched.h>
#include <bpf/bpf.h>
#include "audit/audit_live.h"
#include "lib/fileutil.h"

/* tcx attach types (kernel 6.6+); libbpf 1.1's headers predate them. */
#define RP_BPF_TCX_INGRESS 46
#define RP_BPF_TCX_EGRESS 47

static int sysctl_int(const char *fmt, const char *name, int dflt)
{
	char path[256], buf[32];
	int fd, v = dflt;
	ssize_t n;

	snprintf(path, sizeof(path), fmt, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dflt;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		v = atoi(buf);
	}
	return v;
}

static void tcx_query(int ifindex, int type, uint32_t *ids, unsigned *n)
{
	__u32 cnt = AL_PROGS_MAX, flags = 0;

	*n = 0;
	/* EINVAL: a kernel without tcx (before 6.6) */
	if (!bpf_prog_query(ifindex, type, 0, &flags, ids, &cnt))
		*n = cnt;
}

/* `nft -j list ruleset` (no shell); NULL when nft is not there. */
static char *nft_json(void)
{
	int out[2], status;
	char *text = NULL;
	size_t len = 0;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC))
		return NULL;
	pid = fork();
	if (pid < 0) {
		close(out[0]);
		close(out[1]);
		return NULL;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(out[1], 1);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 2);
		}
		execlp("nft", "nft", "-j", "list", "ruleset", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	text = fd_read_all(out[0], &len);
	close(out[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		free(text);
		return NULL;
	}
	return text;
}

static bool configured_tunnel(const struct rp_config *cfg, const char *name)
{
	return rp_tunnel_owner(cfg, name, NULL) >= 0;
}

int audit_live_read(struct audit_live *L, const struct rp_config *cfg, struct diag *d)
{
	struct nl_link *links = NULL;
	size_t n = 0;
	struct nl_ctx nl;
	int err;

	memset(L, 0, sizeof(*L));
	err = nl_open(&nl);
	if (err) {
		diag_add(d, "audit: cannot open rtnetlink: %s", strerror(-err));
		return err;
	}
	if ((err = nl_link_dump(&nl, &links, &n))) {
		diag_add(d, "audit: cannot list links: %s", nl_strerror(&nl, err));
		goto out;
	}
	L->links = calloc(n + 1, sizeof(*L->links));
	if (!L->links) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = nl_addr_dump(&nl, 0, &L->addrs, &L->n_addrs))) {
		diag_add(d, "audit: cannot list addresses: %s", nl_strerror(&nl, err));
		goto out;
	}
	int rpf_all = sysctl_int("/proc/sys/net/ipv4/conf/%s/rp_filter", "all", 0);
	bool ign4_all = sysctl_int("/proc/sys/net/ipv4/conf/%s/ignore_routes_with_linkdown", "all", 0);
	bool ign6_all = sysctl_int("/proc/sys/net/ipv6/conf/%s/ignore_routes_with_linkdown", "all", 0);
	bool acc_all = sysctl_int("/proc/sys/net/ipv4/conf/%s/accept_local", "all", 0);

	for (size_t i = 0; i < n; i++) {
		struct al_link *a = &L->links[L->n_links++];
		const char *nm = links[i].name;
		struct rt_dev *dv = &a->dev;

		a->l = links[i];
		tcx_query(a->l.ifindex, RP_BPF_TCX_INGRESS, a->tcx_in, &a->n_tcx_in);
		tcx_query(a->l.ifindex, RP_BPF_TCX_EGRESS, a->tcx_out, &a->n_tcx_out);
		err = nl_tc_filters(&nl, a->l.ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), &a->cls_in,
				    &a->n_cls_in);
		if (!err)
			err = nl_tc_filters(&nl, a->l.ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS), &a->cls_out,
					    &a->n_cls_out);
		if (err) {
			diag_add(d, "audit: cannot list the tc filters of %s: %s", nm, nl_strerror(&nl, err));
			goto out;
		}
		dv->ifindex = a->l.ifindex;
		snprintf(dv->name, sizeof(dv->name), "%s", nm);
		dv->up = a->l.flags & IFF_UP;
		dv->fwd4 = sysctl_int("/proc/sys/net/ipv4/conf/%s/forwarding", nm, 0);
		dv->rpf4 = sysctl_int("/proc/sys/net/ipv4/conf/%s/rp_filter", nm, 0);
		if (rpf_all > dv->rpf4)
			dv->rpf4 = rpf_all;
		dv->accept_local4 = acc_all || sysctl_int("/proc/sys/net/ipv4/conf/%s/accept_local", nm, 0);
		dv->ign_linkdown4 = ign4_all ||
				    sysctl_int("/proc/sys/net/ipv4/conf/%s/ignore_routes_with_linkdown", nm, 0);
		dv->ign_linkdown6 = ign6_all ||
				    sysctl_int("/proc/sys/net/ipv6/conf/%s/ignore_routes_with_linkdown", nm, 0);
		for (size_t k = 0; k < L->n_addrs; k++)
			dv->has_addr4 |= L->addrs[k].ifindex == a->l.ifindex && L->addrs[k].p.family == AF_INET;
		L->bc_forwarding |= sysctl_int("/proc/sys/net/ipv4/conf/%s/bc_forwarding", nm, 0) != 0;
		L->route_localnet |= sysctl_int("/proc/sys/net/ipv4/conf/%s/route_localnet", nm, 0) != 0;
	}
	L->fwd6 = sysctl_int("/proc/sys/net/ipv6/conf/%s/forwarding", "all", 0);
	L->mc_forwarding = sysctl_int("/proc/sys/net/ipv4/conf/%s/mc_forwarding", "all", 0) ||
			   sysctl_int("/proc/sys/net/ipv6/conf/%s/mc_forwarding", "all", 0);
	L->bc_forwarding |= sysctl_int("/proc/sys/net/ipv4/conf/%s/bc_forwarding", "all", 0) != 0;
	L->route_localnet |= sysctl_int("/proc/sys/net/ipv4/conf/%s/route_localnet", "all", 0) != 0;
	if ((err = nl_fib_rules(&nl, AF_UNSPEC, &L->rules, &L->n_rules))) {
		diag_add(d, "audit: cannot list the routing rules: %s", nl_strerror(&nl, err));
		goto out;
	}
	if ((err = nl_fib_routes(&nl, AF_UNSPEC, &L->routes, &L->n_routes))) {
		diag_add(d, "audit: cannot list the routes: %s", nl_strerror(&nl, err));
		goto out;
	}
	/* WireGuard: the configured tunnels, read through the backend their
	 * kind says (a read, never a probe that creates a link) */
	L->wg = calloc(2 * cfg->n_tenants + 1, sizeof(*L->wg));	/* and wn-NAME: keyrot.h */
	if (!L->wg) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < L->n_links; i++) {
		const struct nl_link *l = &L->links[i].l;
		struct al_wg *w;

		if (!configured_tunnel(cfg, l->name))
			continue;
		w = &L->wg[L->n_wg++];
		snprintf(w->ifname, sizeof(w->ifname), "%s", l->name);
		if (!strcmp(l->kind, "wireguard"))
			w->err = wg_backend_kernel.get(l->name, &w->dev);
		else
			w->err = wg_backend_uapi.get(l->name, &w->dev);
		if (w->err)
			w->dev = NULL;
	}
	if ((err = nl_neighs(&nl, &L->neighs, &L->n_neighs))) {
		diag_add(d, "audit: cannot list the neighbours: %s", nl_strerror(&nl, err));
		goto out;
	}
	L->nft_json = nft_json();
	err = 0;
out:
	free(links);
	nl_close(&nl);
	if (err)
		audit_live_free(L);
	return err;
}

void audit_live_free(struct audit_live *L)
{
	for (size_t i = 0; i < L->n_links; i++) {
		free(L->links[i].cls_in);
		free(L->links[i].cls_out);
	}
	for (size_t i = 0; i < L->n_wg; i++)
		wg_device_wipe_free(L->wg[i].dev);
	free(L->links);
	free(L->addrs);
	free(L->rules);
	free(L->routes);
	free(L->wg);
	free(L->nft_json);
	free(L->neighs);
	memset(L, 0, sizeof(*L));
}

const struct al_link *al_link_by_name(const struct audit_live *L, const char *name)
{
	for (size_t i = 0; i < L->n_links; i++)
		if (!strcmp(L->links[i].l.name, name))
			return &L->links[i];
	return NULL;
}

const struct al_link *al_link_by_index(const struct audit_live *L, int ifindex)
{
	for (size_t i = 0; i < L->n_links; i++)
		if (L->links[i].l.ifindex == ifindex)
			return &L->links[i];
	return NULL;
}

const struct al_wg *al_wg_by_name(const struct audit_live *L, const char *name)
{
	for (size_t i = 0; i < L->n_wg; i++)
		if (!strcmp(L->wg[i].ifname, name))
			return &L->wg[i];
	return NULL;
}
