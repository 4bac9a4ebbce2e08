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
#include "dataplane/dataplane_links.h"
#include "dataplane/dataplane_maps.h"
#include "dataplane/dataplane_size.h"
#include "dataplane/dataplane_upgrade.h"
#include "geo/geo_bpf.h"
#include "kernel/hostaddr.h"
#include "kernel/netlink.h"
#include "lib/bpfobj.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/statedir.h"
#include "rempart.skel.h"

/* Each sized map (dataplane_size.h): a pinned one that holds what cfg
 * needs keeps its size (libbpf reuses a pinned map only of the same size);
 * any other is created with room for cfg, beside the pinned one if there
 * is one (dataplane_upgrade.c).  What cfg needs is counted by compiling it
 * once (a fifth of a second at 10,000 sites); a configuration that does not
 * compile gets the floors (its install reports why). */
static int size_maps(struct rempart *s, const struct rp_config *cfg, struct diag *d)
{
	struct dp_sizes need = { 0 }, room;
	struct diag scratch = { 0 };
	char path[256];

	dp_sizes_compile(cfg, &need, &scratch);
	diag_free(&scratch);
	dp_sizes_room(&need, &room);
	for (int i = 0; i < DPS__COUNT; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(s->obj, dp_sized_name(i));
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);
		unsigned n = room.n[i];
		int fd, err;

		snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, dp_sized_name(i));
		fd = bpf_obj_get(path);
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    dp_sizes_keep(i, info.max_entries, &need))
			n = info.max_entries;
		if (fd >= 0)
			close(fd);
		err = m ? bpf_map__set_max_entries(m, n) : -ENOENT;
		if (err) {
			diag_add(d, "dataplane: cannot size %s: %s", path, strerror(-err));
			return err;
		}
		if (n != info.max_entries)
			pr_debug("dataplane: %s sized %u entries (needs %u)", dp_sized_name(i), n, need.n[i]);
	}
	return 0;
}

/* A fresh skeleton whose maps are (or become) the pinned ones, or, for
 * those it cannot reuse, new ones beside them (dataplane_upgrade.c); a new
 * map gets room for cfg's policy (size_maps). */
static int open_and_load(struct rempart **out, const struct rp_config *cfg, struct dp_upgrade *up,
			 struct diag *d)
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
	err = size_maps(s, cfg, d);
	if (err) {
		rempart__destroy(s);
		return err;
	}
	err = dp_upgrade_plan(s->obj, up, d);
	if (err) {
		rempart__destroy(s);
		return err;
	}
	err = rempart__load(s);
	if (err) {
		diag_add(d, "dataplane: cannot load the BPF programs (verifier, or pinned maps in %s "
			    "from an incompatible version: `rempart down` first): %s",
			 RP_PIN_DIR, strerror(-err));
		rempart__destroy(s);
		dp_upgrade_clear();
		return err;
	}
	*out = s;
	return 0;
fail:
	diag_add(d, "dataplane: cannot set pin paths: %s", strerror(-err));
	rempart__destroy(s);
	return err;
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
	struct dp_upgrade up;		/* loaded: maps made beside pinned ones of another layout */
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
	for (int i = 0; i < P__COUNT; i++)
		L->prog_id[i] = bpfobj_id(L->prog[i]);
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
	err = open_and_load(&L->skel, cfg, &L->up, d);
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
	dp_upgrade_carry(&L->up, &L->m, cfg);
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
static int programs(struct dp_loaded *L, const struct rp_config *cfg, uint64_t tag, bool fresh,
		    double t0, struct diag *d)
{
	int err = dp_ensure_bpffs(d);

	if (err)
		return err;
	if (fresh || adopt(L, tag)) {
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
	/* per tenant: cloud_in, cloud_mark, tunnel_in, and tunnel_in on a key
	 * rotation's second tunnel */
	*v = calloc(4 * cfg->n_tenants + 2, sizeof(**v));
	if (!*v)
		return -ENOMEM;
	if (names(cfg, only, cfg->uplink)) {
		err = dp_add_att(*v, n, ATT_XDP_UPLINK, cfg->uplink, L->prog[P_UPLINK_IN],
			      L->prog_id[P_UPLINK_IN], required, d);
		if (!err)
			err = dp_add_att(*v, n, ATT_TC_UPLINK_OUT, cfg->uplink, L->prog[P_UPLINK_OUT],
				      L->prog_id[P_UPLINK_OUT], required, d);
	}
	for (size_t i = 0; !err && i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		if (names(cfg, only, t->cloud_interface)) {
			err = dp_add_att(*v, n, ATT_XDP_CLOUD, t->cloud_interface, L->prog[P_CLOUD_IN],
				      L->prog_id[P_CLOUD_IN], required, d);
			if (!err)
				err = dp_add_att(*v, n, ATT_TC_CLOUD, t->cloud_interface,
					      L->prog[P_CLOUD_MARK], L->prog_id[P_CLOUD_MARK],
					      required, d);
		}
		if (!err && names(cfg, only, t->tunnel_interface))
			err = dp_add_att(*v, n, ATT_TC_TUNNEL, t->tunnel_interface, L->prog[P_TUNNEL_IN],
				      L->prog_id[P_TUNNEL_IN], false, d);
		/* a key rotation's second tunnel: the same program, from its first packet */
		if (!err && t->next_interface && names(cfg, only, t->next_interface))
			err = dp_add_att(*v, n, ATT_TC_TUNNEL, t->next_interface, L->prog[P_TUNNEL_IN],
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

/* One pass over the programs (apply, attach): loaded, or adopted from this
 * build's pins, and the attachments wanted on ONLY (NULL: every interface). */
struct dp_pass {
	struct dp_loaded L;
	bool loaded;
	uint64_t tag;
	double t0;
	struct att *v;
	size_t n;
};

/* KEEP: the attachments are those of that configuration's interfaces that
 * exist (none required), not cfg's (all required unless ONLY). */
static int pass_open(struct dp_pass *p, const struct rp_config *cfg, const char *only,
		     const struct rp_config *keep, bool fresh, struct diag *d)
{
	int err;

	p->tag = dp_obj_tag();
	p->t0 = clock_ms();
	err = programs(&p->L, cfg, p->tag, fresh, p->t0, d);
	if (err)
		return err;
	p->loaded = true;
	return want_atts(keep ? keep : cfg, &p->L, only, !keep && !only, &p->v, &p->n, d);
}

/* After a pass that went well: programs loaded afresh are pinned, for the
 * next pass to adopt.  If they came with maps beside pinned ones of another
 * layout, only an apply (every attachment swapped to them, the policy and
 * the geo database in their maps) puts those maps in place (promote); an
 * attach alone leaves them to the apply that follows, which loads again. */
static int pass_pin(const struct dp_pass *p, bool promote, struct diag *d)
{
	int err = 0;

	if (p->L.adopted)
		return 0;
	if (p->L.up.n && !promote)
		return 0;
	if (promote)
		err = dp_upgrade_promote(&p->L.up, d);
	if (!err)
		pin_progs(&p->L, p->tag);
	return err;
}

static int pass_close(struct dp_pass *p, int err)
{
	if (p->loaded) {
		free(p->v);
		loaded_close(&p->L);
	}
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
 * (those of its interfaces that still exist; dataplane_close).  GROW: the
 * maps in place are too small for cfg's policy: load the programs again,
 * with maps sized for it made beside those that are too small, and move
 * everything over as an upgrade does (no moment without a policy). */
static int apply_pass(const struct rp_config *cfg, const struct geo_db *geo,
		      struct dp_precompiled *pc, const struct rp_config *keep, bool grow, struct diag *d)
{
	struct dp_pass p = { 0 };
	char rec_dir[PATH_MAX];
	int err;

	err = pass_open(&p, cfg, NULL, keep, grow, d);
	if (err)
		goto out;
	/* geo and policy first, so that a new attachment filters from its first packet */
	err = load_geo(p.L.geo, geo, d);
	if (err)
		goto out;
	if (geo)
		dataplane_geo_record(cfg, geo);
	pr_debug("dataplane: geo done (%.1f ms)", clock_ms() - p.t0);
	if (cfg->state_dir)
		statedir_path(rec_dir, cfg->state_dir, SD_DATAPLANE_DIR);
	err = dp_policy_install_pre(&p.L.m, cfg, NULL, NULL, cfg->state_dir ? rec_dir : NULL, pc, d);
	if (err)
		goto out;
	pr_debug("dataplane: policy installed (%.1f ms)", clock_ms() - p.t0);
	for (size_t i = 0; i < p.n; i++) {
		int e = dp_attach_one(&p.v[i], false, d);

		if (e && !err)
			err = e;
	}
	if (!err)
		dp_detach_stale(p.v, p.n);
	if (!err)
		err = pass_pin(&p, true, d);
	pr_debug("dataplane: attached (%.1f ms)", clock_ms() - p.t0);
out:
	if (p.loaded && p.L.up.n)
		dp_upgrade_clear();	/* promoted, or failed: the next apply loads again */
	return pass_close(&p, err);
}

static int apply_with(const struct rp_config *cfg, const struct geo_db *geo,
		      struct dp_precompiled *pc, const struct rp_config *keep, struct diag *d)
{
	struct diag first = { 0 };
	int err = apply_pass(cfg, geo, pc, keep, false, &first);

	if (err != -ENOSPC) {
		diag_move(d, &first);
		return err;
	}
	/* nothing was changed: the policy in place still runs */
	for (size_t i = 0; i < first.n; i++)
		pr_info("%s", first.msgs[i]);
	diag_free(&first);
	pr_info("dataplane: the policy does not fit the maps in place: maps sized for it are made "
		"beside them, the programs loaded again and swapped in");
	return apply_pass(cfg, geo, NULL, keep, true, d);
}

int dataplane_attach(const struct rp_config *cfg, const char *ifname, struct diag *d)
{
	struct dp_pass p = { 0 };
	int err;

	err = pass_open(&p, cfg, ifname, NULL, false, d);
	if (!p.loaded)
		return err;
	for (size_t i = 0; !err && i < p.n; i++)
		err = dp_attach_one(&p.v[i], true, d);
	if (!err)
		pass_pin(&p, false, d);
	if (p.L.up.n)
		dp_upgrade_clear();
	pr_debug("dataplane: %s: attached before it carries traffic (%.1f ms)",
		 ifname ? ifname : "every interface", clock_ms() - p.t0);
	return pass_close(&p, err);
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
	dp_upgrade_clear();	/* an upgrade interrupted half-way */
	/* links first: traffic stops being filtered before the maps go */
	while ((e = readdir(dir))) {
		int fd;

		if (!strncmp(e->d_name, "cls_", 4))
			dp_cls_detach(e->d_name);
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
