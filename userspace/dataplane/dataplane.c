// SPDX-License-Identifier: GPL-2.0
/* dataplane.c — the loader: load (or adopt) the programs and pinned maps,
 * install the policy, attach through pinned bpf_links, detach.
 *
 * Everything lives under RP_PIN_DIR: the maps by their names, and one link
 * per attachment, "link_<hook>_<ifname>".  Links survive the process
 * (fail closed, docs/dataplane.md).  A second apply loads fresh programs that reuse
 * the pinned maps (flows and counters survive) and swaps them into the
 * existing links with bpf_link_update(): no moment without a program.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dataplane/dataplane.h"
#include "dataplane/dataplane_maps.h"
#include "geo/geo_bpf.h"
#include "kernel/hostaddr.h"
#include "kernel/netlink.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/statedir.h"
#include "rempart.skel.h"

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

enum att_kind { ATT_XDP_UPLINK, ATT_XDP_CLOUD, ATT_TC_TUNNEL, ATT_TC_UPLINK_OUT, ATT_TC_CLOUD };
static const char *const att_tag[] = { "xdp", "xdp", "tcin", "tcout", "tcin" };
static const char *const att_prog[] = { "uplink_in", "cloud_in", "tunnel_in", "uplink_out", "cloud_mark" };

static bool att_ingress(enum att_kind k)
{
	return k == ATT_TC_TUNNEL || k == ATT_TC_CLOUD;
}

struct att {
	enum att_kind kind;
	const char *ifname;
	unsigned ifindex;
	int prog_fd;
	unsigned prog_id;	/* the link already running it needs no update */
};

static int ensure_bpffs(struct diag *d)
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
static void cls_detach(const char *pin)
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

/* Trie nodes per slot for a new rp_nodes: what cfg's policy needs with a
 * quarter to spare for growth, at least RP_NODES_PER_SLOT.  Counted by
 * compiling it once (a fifth of a second at 10,000 sites). */
static size_t nodes_wanted(const struct rp_config *cfg)
{
	struct rp_policy p = { 0 };
	struct diag scratch = { 0 };
	size_t need = 0, want;

	policy_set_nodes_per_slot(1u << 24);
	if (!policy_compile(cfg, 0, NULL, NULL, &p, &scratch))
		need = p.n_nodes;
	policy_free(&p);
	diag_free(&scratch);
	policy_set_nodes_per_slot(0);
	want = (need + need / 4 + 1023) & ~(size_t)1023;
	return want > RP_NODES_PER_SLOT ? want : RP_NODES_PER_SLOT;
}

/* rp_nodes as pinned (libbpf reuses a pinned map only of the same size),
 * or, when it is new, as large as cfg needs. */
static int size_nodes(struct rempart *s, const struct rp_config *cfg)
{
	int fd = bpf_obj_get(RP_PIN_DIR "/" RP_PIN_NODES);
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	size_t per_slot;

	if (fd >= 0) {
		int err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;

		close(fd);
		return err ? err : bpf_map__set_max_entries(s->maps.rp_nodes, info.max_entries);
	}
	per_slot = nodes_wanted(cfg);
	if (per_slot > RP_NODES_PER_SLOT)
		pr_info("dataplane: rp_nodes sized for %zu trie nodes per slot (%zu MiB)", per_slot,
			per_slot * RP_SLOTS * RP_NODE_STRIDE * sizeof(__u32) >> 20);
	return bpf_map__set_max_entries(s->maps.rp_nodes, per_slot * RP_SLOTS);
}

/* A pinned map that this build's map cannot reuse (another type, key,
 * value, size or flags: a build from before a change of the ABI) is
 * unpinned, so that the load creates it anew, empty: the programs still
 * attached keep the old one until they are replaced.  Maps of older builds
 * that this one no longer has are unpinned too. */
static void unpin_incompatible(struct rempart *s)
{
	static const char *const gone[] = { "rp_flows", "rp_flows4" };
	struct bpf_map *m;
	char path[256];

	bpf_object__for_each_map(m, s->obj) {
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);
		int fd;

		if (bpf_map__is_internal(m) || !bpf_map__pin_path(m))
			continue;
		fd = bpf_obj_get(bpf_map__pin_path(m));
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    (info.type != bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
		     info.value_size != bpf_map__value_size(m) ||
		     info.max_entries != bpf_map__max_entries(m) ||
		     info.map_flags != bpf_map__map_flags(m))) {
			pr_warn("dataplane: pinned %s is from another version: replaced, its contents are lost",
				bpf_map__name(m));
			unlink(bpf_map__pin_path(m));
		}
		close(fd);
	}
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, gone[i]);
		unlink(path);
	}
}

/* A fresh skeleton whose maps are (or become) the pinned ones; a new
 * rp_nodes gets room for cfg's policy. */
static int open_and_load(struct rempart **out, const struct rp_config *cfg, struct diag *d)
{
	struct rempart *s = rempart__open();
	struct bpf_map *m;
	char path[256];
	int err;

	if (!s) {
		diag_add(d, "dataplane: cannot open the BPF object: %s", strerror(errno));
		return -errno;
	}
	bpf_object__for_each_map(m, s->obj) {
		if (bpf_map__is_internal(m))
			continue;
		snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, bpf_map__name(m));
		err = bpf_map__set_pin_path(m, path);
		if (err)
			goto fail;
	}
	err = size_nodes(s, cfg);
	if (err) {
		diag_add(d, "dataplane: cannot size %s/%s: %s", RP_PIN_DIR, RP_PIN_NODES, strerror(-err));
		rempart__destroy(s);
		return err;
	}
	unpin_incompatible(s);
	err = rempart__load(s);
	if (err) {
		diag_add(d, "dataplane: cannot load the BPF programs (verifier, or pinned maps in %s "
			    "from an incompatible version: `rempart down` first): %s",
			 RP_PIN_DIR, strerror(-err));
		rempart__destroy(s);
		return err;
	}
	*out = s;
	return 0;
fail:
	diag_add(d, "dataplane: cannot set pin paths: %s", strerror(-err));
	rempart__destroy(s);
	return err;
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
static int attach_one(const struct att *a, bool keep, struct diag *d)
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
static void detach_stale(const struct att *v, size_t n)
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
			cls_detach(e->d_name);
		} else if ((fd = bpf_obj_get(path)) >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
		unlink(path);
		pr_info("%s: detached (no longer configured)", strchr(e->d_name, '_') + 1);
	}
	closedir(dir);
}

static int add_att(struct att *v, size_t *n, enum att_kind k, const char *ifname, int prog_fd,
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

/* The database into rp_geo, unless the same one is already there. */
static int load_geo(int fd, const struct geo_db *geo, struct diag *d)
{
	struct geo_bpf_view v;

	if (!geo)
		return 0;
	if (!geo_bpf_view_open(fd, &v)) {
		bool same = v.n > RP_GEO_H_HASH && v.w[RP_GEO_H_HASH] == geo_db_hash(geo);

		geo_bpf_view_close(&v);
		if (same) {
			pr_debug("geo: same database already loaded");
			return 0;
		}
	}
	return geo_bpf_load(fd, geo, d);
}

/* ---- programs: loaded once per build, pinned, adopted by later applies -----
 *
 * Loading the programs (the verifier) is most of what an apply costs when
 * little changed.  The programs are pinned as RP_PIN_DIR/prog_<tag>_<name>,
 * tag = a hash of the BPF object this binary carries: an apply by the same
 * build adopts them and the pinned maps without loading anything; another
 * build loads its own (reusing the pinned maps), swaps them into the links
 * and removes the old pins. */
enum { P_UPLINK_IN, P_UPLINK_OUT, P_CLOUD_IN, P_TUNNEL_IN, P_CLOUD_MARK, P__COUNT };
static const char *const prog_name[P__COUNT] = { "uplink_in", "uplink_out", "cloud_in", "tunnel_in",
						 "cloud_mark" };

struct dp_loaded {
	struct rempart *skel;		/* loaded here; NULL when adopted */
	int prog[P__COUNT];
	unsigned prog_id[P__COUNT];
	int geo;
	struct dp_maps m;
	bool adopted;			/* m, geo and prog are our own fds */
};

static void prog_path(char *buf, size_t len, uint64_t tag, int i)
{
	snprintf(buf, len, "%s/prog_%016llx_%s", RP_PIN_DIR, (unsigned long long)tag, prog_name[i]);
}

static void loaded_close(struct dp_loaded *L)
{
	if (L->adopted) {
		for (int i = 0; i < P__COUNT; i++)
			if (L->prog[i] >= 0)
				close(L->prog[i]);
		if (L->geo >= 0)
			close(L->geo);
		dp_maps_close(&L->m);
	}
	rempart__destroy(L->skel);	/* links and pinned maps keep everything alive */
	memset(L, 0, sizeof(*L));
}

static void fill_prog_ids(struct dp_loaded *L)
{
	for (int i = 0; i < P__COUNT; i++) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);

		L->prog_id[i] = bpf_obj_get_info_by_fd(L->prog[i], &info, &len) ? 0 : info.id;
	}
}

/* The programs and maps this build pinned before, if they are all there. */
static int adopt(struct dp_loaded *L, uint64_t tag)
{
	char path[256];
	int err;

	memset(L, 0, sizeof(*L));
	memset(&L->m, 0xff, sizeof(L->m));	/* every fd -1 */
	L->adopted = true;
	L->geo = -1;
	for (int i = 0; i < P__COUNT; i++)
		L->prog[i] = -1;
	for (int i = 0; i < P__COUNT; i++) {
		prog_path(path, sizeof(path), tag, i);
		L->prog[i] = bpf_obj_get(path);
		if (L->prog[i] < 0) {
			err = -errno;
			goto fail;
		}
	}
	L->geo = bpf_obj_get(RP_PIN_DIR "/" RP_PIN_GEO);
	if (L->geo < 0) {
		err = -errno;
		goto fail;
	}
	err = dp_maps_open_pinned(&L->m, RP_PIN_DIR);
	if (err)
		goto fail;
	fill_prog_ids(L);
	return 0;
fail:
	loaded_close(L);
	return err;
}

static int load_fresh(struct dp_loaded *L, const struct rp_config *cfg, struct diag *d)
{
	int err;

	memset(L, 0, sizeof(*L));
	err = open_and_load(&L->skel, cfg, d);
	if (err)
		return err;
	dp_maps_from_skel(L->skel, &L->m);
	L->geo = bpf_map__fd(L->skel->maps.rp_geo);
	L->prog[P_UPLINK_IN] = bpf_program__fd(L->skel->progs.uplink_in);
	L->prog[P_UPLINK_OUT] = bpf_program__fd(L->skel->progs.uplink_out);
	L->prog[P_CLOUD_IN] = bpf_program__fd(L->skel->progs.cloud_in);
	L->prog[P_TUNNEL_IN] = bpf_program__fd(L->skel->progs.tunnel_in);
	L->prog[P_CLOUD_MARK] = bpf_program__fd(L->skel->progs.cloud_mark);
	fill_prog_ids(L);
	return 0;
}

/* Pin the freshly loaded programs under tag; remove the pins of other builds
 * (the links hold what they run).  Failure only costs the next apply a load. */
static void pin_progs(const struct dp_loaded *L, uint64_t tag)
{
	DIR *dir = opendir(RP_PIN_DIR);
	char path[512], mine[64];
	struct dirent *e;

	snprintf(mine, sizeof(mine), "prog_%016llx_", (unsigned long long)tag);
	while (dir && (e = readdir(dir))) {
		if (strncmp(e->d_name, "prog_", 5) || !strncmp(e->d_name, mine, strlen(mine)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, e->d_name);
		unlink(path);
	}
	if (dir)
		closedir(dir);
	for (int i = 0; i < P__COUNT; i++) {
		prog_path(path, sizeof(path), tag, i);
		unlink(path);
		if (bpf_obj_pin(L->prog[i], path)) {
			pr_warn("dataplane: cannot pin %s (the next apply loads the programs again): %s",
				path, strerror(errno));
			return;
		}
	}
}

static int apply_with(const struct rp_config *cfg, const struct geo_db *geo,
		      struct dp_precompiled *pc, const struct rp_config *keep, struct diag *d);

int dataplane_apply(const struct rp_config *cfg, const struct geo_db *geo, struct diag *d)
{
	return dataplane_apply_pre(cfg, geo, NULL, d);
}

/* The programs this build pinned, else loaded now (and then pinned once
 * attached: pin_progs). */
static int programs(struct dp_loaded *L, const struct rp_config *cfg, uint64_t tag,
		    double t0, struct diag *d)
{
	int err = ensure_bpffs(d);

	if (err)
		return err;
	if (adopt(L, tag)) {
		err = load_fresh(L, cfg, d);
		if (err)
			return err;
		pr_debug("dataplane: programs loaded (%.1f ms)", clock_ms() - t0);
	} else {
		pr_debug("dataplane: pinned programs of this build adopted (%.1f ms)", clock_ms() - t0);
	}
	return 0;
}

/* Does ONLY (NULL: every interface) name IFNAME, or the VLAN link that a
 * tenant with cloud interface IFNAME has? */
static bool names(const struct rp_config *cfg, const char *only, const char *ifname)
{
	char vlan[64];

	if (!only || (ifname && !strcmp(only, ifname)))
		return true;
	for (size_t i = 0; ifname && i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		if (!t->vlan || strcmp(t->cloud_interface, ifname))
			continue;
		snprintf(vlan, sizeof(vlan), "%s.%u", t->cloud_interface, t->vlan);
		if (!strcmp(vlan, only))
			return true;
	}
	return false;
}

/* Every attachment cfg wants, on the interfaces ONLY names (NULL: all).
 * required: a missing uplink or cloud interface is an error (else it is
 * skipped).  *v is the caller's to free. */
static int want_atts(const struct rp_config *cfg, const struct dp_loaded *L, const char *only,
		     bool required, struct att **v, size_t *n, struct diag *d)
{
	int err = 0;

	*n = 0;
	*v = calloc(3 * cfg->n_tenants + 2, sizeof(**v));
	if (!*v)
		return -ENOMEM;
	if (names(cfg, only, cfg->uplink)) {
		err = add_att(*v, n, ATT_XDP_UPLINK, cfg->uplink, L->prog[P_UPLINK_IN],
			      L->prog_id[P_UPLINK_IN], required, d);
		if (!err)
			err = add_att(*v, n, ATT_TC_UPLINK_OUT, cfg->uplink, L->prog[P_UPLINK_OUT],
				      L->prog_id[P_UPLINK_OUT], required, d);
	}
	for (size_t i = 0; !err && i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		if (names(cfg, only, t->cloud_interface)) {
			err = add_att(*v, n, ATT_XDP_CLOUD, t->cloud_interface, L->prog[P_CLOUD_IN],
				      L->prog_id[P_CLOUD_IN], required, d);
			if (!err)
				err = add_att(*v, n, ATT_TC_CLOUD, t->cloud_interface,
					      L->prog[P_CLOUD_MARK], L->prog_id[P_CLOUD_MARK],
					      required, d);
		}
		if (!err && names(cfg, only, t->tunnel_interface))
			err = add_att(*v, n, ATT_TC_TUNNEL, t->tunnel_interface, L->prog[P_TUNNEL_IN],
				      L->prog_id[P_TUNNEL_IN], false, d);
	}
	return err;
}

/* cfg with the gateway's addresses as the kernel has them now (the policy
 * is compiled against them: docs/policy.md "The gateway itself"). */
static int with_host_addrs(const struct rp_config *cfg, struct rp_config *c, struct diag *d)
{
	int err;

	*c = *cfg;
	memset(&c->host, 0, sizeof(c->host));
	err = host_addrs_read(cfg->uplink, &c->host);
	if (err)
		diag_add(d, "dataplane: cannot read the gateway's addresses: %s", strerror(-err));
	return err;
}

int dataplane_apply_pre(const struct rp_config *cfg_in, const struct geo_db *geo,
			struct dp_precompiled *pc, struct diag *d)
{
	struct rp_config cfg_host, *cfg = &cfg_host;
	int err = with_host_addrs(cfg_in, &cfg_host, d);

	if (err)
		return err;
	err = apply_with(cfg, geo, pc, NULL, d);
	host_addrs_free(&cfg_host.host);
	return err;
}

int dataplane_close(const struct rp_config *cfg_in, struct diag *d)
{
	struct rp_config c, empty;
	int err = with_host_addrs(cfg_in, &c, d);

	if (err)
		return err;
	empty = c;
	empty.tenants = NULL;
	empty.n_tenants = 0;
	err = apply_with(&empty, NULL, NULL, &c, d);
	host_addrs_free(&c.host);
	return err;
}

/* KEEP (NULL: cfg): the configuration whose interfaces keep their programs
 * (those of its interfaces that still exist; dataplane_close). */
static int apply_with(const struct rp_config *cfg, const struct geo_db *geo,
		      struct dp_precompiled *pc, const struct rp_config *keep, struct diag *d)
{
	struct dp_loaded L = { 0 };
	char rec_dir[PATH_MAX];
	double t0;
	struct att *v = NULL;
	uint64_t tag = dp_obj_tag();
	size_t n = 0;
	int err;

	t0 = clock_ms();
	err = programs(&L, cfg, tag, t0, d);
	if (err)
		return err;
	err = want_atts(keep ? keep : cfg, &L, NULL, !keep, &v, &n, d);
	if (err)
		goto out;
	/* geo and policy first, so that a new attachment filters from its first packet */
	err = load_geo(L.geo, geo, d);
	if (err)
		goto out;
	if (geo)
		dataplane_geo_record(cfg, geo);
	pr_debug("dataplane: geo done (%.1f ms)", clock_ms() - t0);
	if (cfg->state_dir)
		statedir_path(rec_dir, cfg->state_dir, SD_DATAPLANE_DIR);
	err = dp_policy_install_pre(&L.m, cfg, NULL, NULL, cfg->state_dir ? rec_dir : NULL, pc, d);
	if (err)
		goto out;
	pr_debug("dataplane: policy installed (%.1f ms)", clock_ms() - t0);
	for (size_t i = 0; i < n; i++) {
		int e = attach_one(&v[i], false, d);

		if (e && !err)
			err = e;
	}
	if (!err)
		detach_stale(v, n);
	if (!err && !L.adopted)
		pin_progs(&L, tag);
	pr_debug("dataplane: attached (%.1f ms)", clock_ms() - t0);
out:
	free(v);
	loaded_close(&L);
	return err;
}

int dataplane_attach(const struct rp_config *cfg, const char *ifname, struct diag *d)
{
	struct dp_loaded L = { 0 };
	double t0;
	struct att *v = NULL;
	uint64_t tag = dp_obj_tag();
	size_t n = 0;
	int err;

	t0 = clock_ms();
	err = programs(&L, cfg, tag, t0, d);
	if (err)
		return err;
	err = want_atts(cfg, &L, ifname, false, &v, &n, d);
	for (size_t i = 0; !err && i < n; i++)
		err = attach_one(&v[i], true, d);
	if (!err && !L.adopted)
		pin_progs(&L, tag);
	pr_debug("dataplane: %s: attached before it carries traffic (%.1f ms)",
		 ifname ? ifname : "every interface", clock_ms() - t0);
	free(v);
	loaded_close(&L);
	return err;
}

int dataplane_addrs_changed(const struct rp_config *cfg, struct diag *d)
{
	struct rp_config c;
	struct dp_maps m;
	char rec_dir[PATH_MAX];
	int err = with_host_addrs(cfg, &c, d);

	if (err)
		return err;
	err = dp_maps_open_pinned(&m, RP_PIN_DIR);
	if (err) {
		diag_add(d, "dataplane: no pinned maps in %s (%s): nothing to update", RP_PIN_DIR,
			 strerror(-err));
		goto out;
	}
	if (c.state_dir)
		statedir_path(rec_dir, c.state_dir, SD_DATAPLANE_DIR);
	err = dp_policy_install_inc(&m, &c, NULL, NULL, c.state_dir ? rec_dir : NULL, d);
	dp_maps_close(&m);
out:
	host_addrs_free(&c.host);
	return err;
}

int dataplane_down(struct diag *d)
{
	DIR *dir = opendir(RP_PIN_DIR);
	struct dirent *e;
	char path[512];
	int err = 0;

	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	/* links first: traffic stops being filtered before the maps go */
	while ((e = readdir(dir))) {
		int fd;

		if (!strncmp(e->d_name, "cls_", 4))
			cls_detach(e->d_name);
		if (strncmp(e->d_name, "link_", 5))
			continue;
		snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, e->d_name);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			if (bpf_link_detach(fd) && errno != ENOLINK && errno != EINVAL)
				pr_warn("%s: detach: %s", path, strerror(errno));
			close(fd);
		}
	}
	rewinddir(dir);
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, e->d_name);
		if (unlink(path) && !err) {
			err = -errno;
			diag_add(d, "dataplane: cannot remove %s: %s", path, strerror(errno));
		}
	}
	closedir(dir);
	if (rmdir(RP_PIN_DIR) && errno != ENOENT && !err) {
		err = -errno;
		diag_add(d, "dataplane: cannot remove %s: %s", RP_PIN_DIR, strerror(errno));
	}
	return err;
}

/* One RTM_GETLINK for the interface (bpf_xdp_query() dumps every link of
 * the namespace: 3 ms with 100 tenants). */
const char *dataplane_xdp_mode(const char *ifname)
{
	struct nl_ctx nl;
	struct nl_link l;
	int err;

	if (nl_open(&nl))
		return "none";
	err = nl_link_get(&nl, ifname, &l);
	nl_close(&nl);
	if (err)
		return "none";
	switch (l.xdp_attached) {
	case XDP_ATTACHED_DRV: return "native";
	case XDP_ATTACHED_SKB: return "generic";
	case XDP_ATTACHED_HW: return "offload";
	case XDP_ATTACHED_MULTI: return "multi";
	default: return "none";
	}
}
