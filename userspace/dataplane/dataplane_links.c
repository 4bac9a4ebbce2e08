// SPDX-License-Identifier: GPL-2.0
/* dataplane_links.c — where the programs run: one pinned bpf_link per
 * attachment ("link_<hook>_<ifname>" under RP_PIN_DIR; XDP native, else
 * generic; tcx), or on kernels without tcx (before 6.6) a direct-action
 * cls_bpf filter with its program pinned as "cls_<hook>_<ifname>".  Both
 * outlive the process (fail closed, docs/dataplane.md).  A link whose
 * interface went away is replaced, not trusted. */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dataplane/dataplane.h"
#include "dataplane/dataplane_links.h"
#include "lib/log.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
/* tcx attach types and link type (kernel 6.6+); libbpf 1.1's headers
 * predate them.  struct bpf_link_info's tcx member {ifindex, attach_type}
 * shares the union with xdp's {ifindex}: info.xdp.ifindex reads both. */
#define RP_BPF_TCX_INGRESS 46
#define RP_BPF_TCX_EGRESS 47
#define RP_BPF_LINK_TYPE_TCX 11
/* Kernels without tcx (before 6.6, e.g. Debian 12's 6.1): a direct-action
 * cls_bpf filter on the clsact qdisc, at this handle and priority.  It
 * outlives the process as a link does; the program is pinned as
 * "cls_<hook>_<ifname>" to remember where it is attached. */
#define RP_TC_HANDLE 0x72707274u	/* "rprt" */
#define RP_TC_PRIO 0x7270

static const char *const att_tag[] = { "xdp", "xdp", "tcin", "tcout", "tcin" };
static const char *const att_prog[] = { "uplink_in", "cloud_in", "tunnel_in", "uplink_out", "cloud_mark" };

static bool att_ingress(enum att_kind k)
{
	return k == ATT_TC_TUNNEL || k == ATT_TC_CLOUD;
}


int dp_ensure_bpffs(struct diag *d)
{
	struct statfs st;
	const char *root = "/sys/fs/bpf";

	if (!statfs(root, &st) && st.f_type == BPF_FS_MAGIC)
		goto mkdir;
	if (mount("bpf", root, "bpf", 0, "mode=0700")) {
		diag_add(d, "dataplane: cannot mount the BPF filesystem on %s: %s", root, strerror(errno));
		return -errno;
	}
mkdir:
	if (mkdir(RP_PIN_DIR, 0700) && errno != EEXIST) {
		diag_add(d, "dataplane: cannot create %s: %s", RP_PIN_DIR, strerror(errno));
		return -errno;
	}
	return 0;
}

static void link_path(char *buf, size_t len, enum att_kind k, const char *ifname)
{
	snprintf(buf, len, "%s/link_%s_%s", RP_PIN_DIR, att_tag[k], ifname);
}

static void cls_path(char *buf, size_t len, enum att_kind k, const char *ifname)
{
	snprintf(buf, len, "%s/cls_%s_%s", RP_PIN_DIR, att_tag[k], ifname);
}

/* The tc hook of a cls_bpf filter named by its pin "cls_<tcin|tcout>_<ifname>";
 * false if the name is not one or the interface is gone. */
static bool cls_hook(const char *pin, struct bpf_tc_hook *h)
{
	const char *ifname;

	if (!strncmp(pin, "cls_tcin_", 9)) {
		h->attach_point = BPF_TC_INGRESS;
		ifname = pin + 9;
	} else if (!strncmp(pin, "cls_tcout_", 10)) {
		h->attach_point = BPF_TC_EGRESS;
		ifname = pin + 10;
	} else {
		return false;
	}
	h->ifindex = if_nametoindex(ifname);
	return h->ifindex != 0;
}

/* Remove the cls_bpf filter a pin stands for (nothing if its interface is gone). */
void dp_cls_detach(const char *pin)
{
	LIBBPF_OPTS(bpf_tc_hook, h);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = RP_TC_HANDLE, .priority = RP_TC_PRIO);
	int err;

	if (!cls_hook(pin, &h))
		return;
	err = bpf_tc_detach(&h, &o);
	if (err && err != -ENOENT)
		pr_warn("%s: tc filter detach: %s", pin, strerror(-err));
}

/* Attach a's program as a cls_bpf filter, or swap it in place (NLM_F_REPLACE
 * on the same handle and priority: no moment without a program). */
static int cls_attach(const struct att *a, struct diag *d)
{
	LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = a->ifindex,
		    .attach_point = att_ingress(a->kind) ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = RP_TC_HANDLE, .priority = RP_TC_PRIO,
		    .prog_fd = a->prog_fd, .flags = BPF_TC_F_REPLACE);
	const char *where = att_ingress(a->kind) ? "tc ingress" : "tc egress";
	char path[256];
	int err;

	err = bpf_tc_hook_create(&h);
	if (err && err != -EEXIST) {
		diag_add(d, "dataplane: cannot add the clsact qdisc to %s (%s, no tcx on this kernel): %s",
			 a->ifname, where, strerror(-err));
		return err;
	}
	err = bpf_tc_attach(&h, &o);
	if (err) {
		diag_add(d, "dataplane: cannot attach to %s (%s, cls_bpf: no tcx on this kernel): %s",
			 a->ifname, where, strerror(-err));
		return err;
	}
	cls_path(path, sizeof(path), a->kind, a->ifname);
	unlink(path);
	if (bpf_obj_pin(a->prog_fd, path)) {
		err = -errno;
		diag_add(d, "dataplane: cannot pin %s: %s", path, strerror(errno));
		return err;
	}
	pr_info("%s: %s attached (cls_bpf)", a->ifname, att_prog[a->kind]);
	return 0;
}

static int create_link(const struct att *a, struct diag *d, const char **mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, o);
	int fd;

	if (a->kind == ATT_XDP_UPLINK || a->kind == ATT_XDP_CLOUD) {
		o.flags = XDP_FLAGS_DRV_MODE;
		fd = bpf_link_create(a->prog_fd, a->ifindex, BPF_XDP, &o);
		*mode = "native";
		if (fd < 0) {
			o.flags = XDP_FLAGS_SKB_MODE;
			fd = bpf_link_create(a->prog_fd, a->ifindex, BPF_XDP, &o);
			*mode = "generic";
		}
	} else {
		fd = bpf_link_create(a->prog_fd, a->ifindex,
				     att_ingress(a->kind) ? RP_BPF_TCX_INGRESS : RP_BPF_TCX_EGRESS, NULL);
		*mode = "tcx";
		/* no tcx (kernel < 6.6: unknown attach type): the caller uses cls_bpf */
		if (fd < 0 && errno == EINVAL)
			return -EOPNOTSUPP;
	}
	if (fd < 0) {
		int err = errno;

		diag_add(d, "dataplane: cannot attach to %s (%s): %s", a->ifname,
			 att_ingress(a->kind) ? "tc ingress" : a->kind == ATT_TC_UPLINK_OUT ? "tc egress" : "xdp",
			 strerror(err));
		return -err;
	}
	return fd;
}

/* Is a cls_bpf filter of ours on a's hook already (kernels without tcx)? */
static bool cls_present(const struct att *a)
{
	LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = a->ifindex,
		    .attach_point = att_ingress(a->kind) ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = RP_TC_HANDLE, .priority = RP_TC_PRIO);

	return !bpf_tc_query(&h, &o) && o.prog_id;
}

/* Attach a, or swap the program of its pinned link.  keep: a live link (or
 * filter) on the interface is left as it is, whatever it runs (attach
 * only where nothing runs: before the policy of this change is in). */
int dp_attach_one(const struct att *a, bool keep, struct diag *d)
{
	char path[256];
	const char *mode = "updated";
	int fd, err = 0;

	link_path(path, sizeof(path), a->kind, a->ifname);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		struct bpf_link_info info = { 0 };
		__u32 len = sizeof(info);
		unsigned li = 0;

		/* The interface the link is attached to, as the kernel has it
		 * now: 0 once that interface is gone, even if another one has
		 * its name since (deleted and recreated: docs/dataplane.md).  A link
		 * of any other type is not one of ours: replaced. */
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    (info.type == BPF_LINK_TYPE_XDP || info.type == RP_BPF_LINK_TYPE_TCX))
			li = info.xdp.ifindex;
		if (li == a->ifindex && ((a->prog_id && info.prog_id == a->prog_id) || keep))
			goto out;	/* already runs this program (or one, with keep) */
		if (li == a->ifindex && !bpf_link_update(fd, a->prog_fd, NULL)) {
			pr_debug("%s: program replaced in place", path);
			goto out;
		}
		/* the interface went away and came back: a stale link */
		pr_info("%s: %s belongs to a gone interface (ifindex %u, now %u): attached anew",
			a->ifname, path, li, a->ifindex);
		bpf_link_detach(fd);
		close(fd);
		unlink(path);
	}
	fd = create_link(a, d, &mode);
	if (fd == -EOPNOTSUPP)
		return keep && cls_present(a) ? 0 : cls_attach(a, d);
	if (fd < 0)
		return fd;
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		diag_add(d, "dataplane: cannot pin %s: %s", path, strerror(errno));
		bpf_link_detach(fd);
		goto out;
	}
	pr_info("%s: %s attached (%s)", a->ifname, att_prog[a->kind], mode);
out:
	close(fd);
	return err;
}

/* Is NAME "<what>_<tag of k>_<ifname>"? */
static bool pin_is(const char *name, const char *what, enum att_kind k, const char *ifname)
{
	size_t lw = strlen(what), lt = strlen(att_tag[k]);

	return !strncmp(name, what, lw) && name[lw] == '_' &&
	       !strncmp(name + lw + 1, att_tag[k], lt) && name[lw + 1 + lt] == '_' &&
	       !strcmp(name + lw + lt + 2, ifname);
}

/* Is the pin NAME (link_... or cls_..., see link_path and cls_path) one of v? */
static bool att_wanted(const struct att *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (pin_is(name, "link", v[i].kind, v[i].ifname) ||
		    pin_is(name, "cls", v[i].kind, v[i].ifname))
			return true;
	return false;
}

/* Links of interfaces no longer in the config. */
void dp_detach_stale(const struct att *v, size_t n)
{
	DIR *dir = opendir(RP_PIN_DIR);
	struct dirent *e;
	char path[512];

	if (!dir)
		return;
	while ((e = readdir(dir))) {
		int fd;

		if ((strncmp(e->d_name, "link_", 5) && strncmp(e->d_name, "cls_", 4)) ||
		    att_wanted(v, n, e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, e->d_name);
		if (e->d_name[0] == 'c') {
			dp_cls_detach(e->d_name);
		} else if ((fd = bpf_obj_get(path)) >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
		unlink(path);
		pr_info("%s: detached (no longer configured)", strchr(e->d_name, '_') + 1);
	}
	closedir(dir);
}

int dp_add_att(struct att *v, size_t *n, enum att_kind k, const char *ifname, int prog_fd,
		   unsigned prog_id, bool required, struct diag *d)
{
	unsigned ifi = ifname ? if_nametoindex(ifname) : 0;

	if (!ifname)
		return 0;
	for (size_t i = 0; i < *n; i++)
		if (v[i].kind == k && !strcmp(v[i].ifname, ifname))
			return 0;	/* a trunk shared by several tenants */
	if (!ifi) {
		if (required) {
			diag_add(d, "dataplane: interface %s does not exist", ifname);
			return -ENODEV;
		}
		pr_info("%s: not present yet, not attached", ifname);
		return 0;
	}
	v[*n] = (struct att){ k, ifname, ifi, prog_fd, prog_id };
	(*n)++;
	return 0;
}
