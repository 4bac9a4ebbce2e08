// SPDX-License-Identifier: GPL-2.0
/* dataplane_flows.c — the flow tables: one LRU map per family for each
 * tenant, one for the gateway's own connections and one for the tenants'
 * NATed connections, held by the map-in-maps rp_flowt4 / rp_flowt6
 * (bpf/rempart_abi.h).  A tenant's flows can only push out its own: a port
 * sweep fills its table, never another's (docs/policy.md).
 *
 * An entry leaves a table only when the LRU evicts it (nothing deletes
 * one; an expired entry stays until then), so evictions = entries created
 * (rp_flow_stats, counted by the programs) - entries present. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dataplane/dataplane_flows.h"
#include "dataplane/dataplane_maps.h"
#include "dataplane/dataplane_size.h"
#include "dataplane/dataplane_upgrade.h"
#include "lib/bpfobj.h"
#include "lib/log.h"


/* Each table is also pinned, as RP_PIN_DIR/rp_flow<4|6>_t<table>, when its
 * outer map is the pinned one: a map opens by its ID only with
 * CAP_SYS_ADMIN, which the daemon's sandbox lacks (its metrics and its
 * clean-up of removed tenants' tables would see no table); a pin opens with
 * CAP_BPF.  Which map a pin holds is read from the kernel, never assumed. */
static void pin_path(char *buf, size_t len, bool v6, __u32 table, const char *suffix)
{
	snprintf(buf, len, "%s/rp_flow%c_t%u%s", RP_PIN_DIR, v6 ? '6' : '4', table, suffix);
}

/* outer is the pinned one, or the one an upgrade pinned beside it
 * (dataplane_upgrade.h), to be renamed into place. */
static bool outer_is_pinned(int outer, bool v6)
{
	const char *name = v6 ? RP_PIN_FLOWT6 : RP_PIN_FLOWT4;
	bool same = false;
	char path[512];

	for (int next = 0; next < 2 && !same; next++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s%s", RP_PIN_DIR, next ? RP_PIN_NEXT "/" : "", name);
		fd = bpf_obj_get(path);
		same = fd >= 0 && bpfobj_id(fd) == bpfobj_id(outer);
		if (fd >= 0)
			close(fd);
	}
	return same;
}

/* Pin inner_fd as table's (replacing the old pin in one rename), or, with
 * inner_fd < 0, remove table's pin. */
static void pin_table(int outer, bool v6, __u32 table, int inner_fd)
{
	char path[512], tmp[512];

	if (!outer_is_pinned(outer, v6))
		return;
	pin_path(path, sizeof(path), v6, table, "");
	pin_path(tmp, sizeof(tmp), v6, table, "_new");
	unlink(tmp);
	if (inner_fd < 0)
		unlink(path);
	else if (bpf_obj_pin(inner_fd, tmp) || rename(tmp, path))
		unlink(tmp);
}

/* Map id, table's inner map: by its ID, else by its pin. */
static int open_table(bool v6, __u32 table, __u32 id)
{
	char path[512];

	pin_path(path, sizeof(path), v6, table, "");
	return bpfobj_map_by_id(id, path);
}

/* The inner map of `table` in outer (an fd the caller closes), -ENOENT. */
static int inner_fd(int outer, bool v6, __u32 table)
{
	__u32 id;

	if (bpf_map_lookup_elem(outer, &table, &id))
		return -errno;
	return open_table(v6, table, id);
}

static unsigned inner_max(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

static void stats_zero(int stats, __u32 table)
{
	int ncpu = libbpf_num_possible_cpus();
	struct rp_flow_stat *z;

	if (ncpu <= 0 || !(z = calloc(ncpu, sizeof(*z))))
		return;
	bpf_map_update_elem(stats, &table, z, BPF_ANY);
	free(z);
}

/* Every entry of from written into to (flags: BPF_ANY, BPF_NOEXIST). */
static void copy_flows(int from, int to, __u64 flags)
{
	unsigned char k[sizeof(struct rp_flow_key)], nk[sizeof(struct rp_flow_key)];
	struct rp_flow_val v;
	void *prev = NULL;

	while (!bpf_map_get_next_key(from, prev, nk)) {
		memcpy(k, nk, sizeof(k));
		prev = k;
		if (!bpf_map_lookup_elem(from, k, &v))
			bpf_map_update_elem(to, k, &v, flags);
	}
}

/* An RCU grace period, as dp_policy_wait() waits for one (a map-in-map
 * update returns after it): written here, not called, so that this file
 * and dataplane_maps.c do not call each other. */
static int grace_period(const struct dp_maps *m)
{
	__u32 zero = 0;
	int inner = m->sync_inner;

	return bpf_map_update_elem(m->sync, &zero, &inner, BPF_ANY) ? -errno : 0;
}

/* A new map for `table` in outer of `want` entries: empty, or, replacing
 * OLD (>= 0, too small), holding its flows: copied, swapped in (one update
 * of the outer map), and once no program can still write into the old one
 * (a grace period, m's rp_sync), what they added meanwhile copied too.  No
 * reply finds its flow missing. */
static int create(const struct dp_maps *m, int outer, bool v6, __u32 table, int old, unsigned want,
		  struct diag *d)
{
	char name[16];
	int fd, err = 0;

	snprintf(name, sizeof(name), "rp_flow%c_%u", v6 ? '6' : '4', table);
	fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, name,
			    v6 ? sizeof(struct rp_flow_key) : sizeof(struct rp_flow4_key),
			    sizeof(struct rp_flow_val), want, NULL);
	if (fd < 0) {
		err = -errno;
		diag_add(d, "dataplane: cannot create the flow table %s (%u entries): %s", name, want,
			 strerror(errno));
		return err;
	}
	if (old >= 0)
		copy_flows(old, fd, BPF_ANY);
	if (bpf_map_update_elem(outer, &table, &fd, BPF_ANY)) {
		err = -errno;
		diag_add(d, "dataplane: cannot install the flow table %s: %s", name, strerror(errno));
	} else {
		pin_table(outer, v6, table, fd);
	}
	if (!err && old >= 0) {
		if (grace_period(m))
			pr_warn("dataplane: flow table %s grown, but cannot wait for running programs: "
				"flows they made meanwhile may be missing", name);
		copy_flows(old, fd, BPF_NOEXIST);
		pr_info("dataplane: flow table %s grown to %u entries, its flows kept", name, want);
	}
	close(fd);
	if (!err && old < 0)
		stats_zero(m->flow_stats, table);	/* counts start with the table */
	return err;
}

static bool wanted(const struct rp_config *cfg, __u32 table)
{
	if (table == RP_TENANT_GATEWAY || table == RP_FLOW_NAT)
		return true;
	for (size_t i = 0; cfg && i < cfg->n_tenants; i++)
		if (cfg->tenants[i].id == table)
			return true;
	return false;
}

/* ids[t] of the tables pinned in RP_PIN_DIR that ids does not have yet. */
static void pinned_tables(bool v6, __u32 *ids)
{
	DIR *dir = opendir(RP_PIN_DIR);
	char prefix[16], path[512], extra;
	struct dirent *e;
	unsigned t;

	snprintf(prefix, sizeof(prefix), "rp_flow%c_t", v6 ? '6' : '4');
	while (dir && (e = readdir(dir))) {
		int fd;

		if (strncmp(e->d_name, prefix, strlen(prefix)) ||
		    sscanf(e->d_name + strlen(prefix), "%u%c", &t, &extra) != 1 || t >= RP_FLOW_TABLES || ids[t])
			continue;
		snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, e->d_name);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			ids[t] = bpfobj_id(fd);
			close(fd);
		}
	}
	if (dir)
		closedir(dir);
}

/* The flow tables the kernel holds, found by the name create() gives
 * them: ids[t] = the id of the map named rp_flow<4|6>_<t>, 0 none.  A walk
 * of the map ids, not a read of the map-in-map: before 6.8, each read of a
 * map-in-map from userspace waits for an RCU grace period
 * (bpf_map_copy_value -> maybe_wait_bpf_programs), and reading the
 * RP_FLOW_TABLES keys one by one took minutes on the image's 6.1 kernel. */
static void named_tables(bool v6, __u32 *ids)
{
	char prefix[16];
	__u32 id = 0;

	memset(ids, 0, RP_FLOW_TABLES * sizeof(*ids));
	snprintf(prefix, sizeof(prefix), "rp_flow%c_", v6 ? '6' : '4');
	while (!bpf_map_get_next_id(id, &id)) {
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);
		unsigned t;
		int fd = bpf_map_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.type == BPF_MAP_TYPE_LRU_HASH &&
		    !strncmp(info.name, prefix, strlen(prefix)) &&
		    sscanf(info.name + strlen(prefix), "%u", &t) == 1 && t < RP_FLOW_TABLES)
			ids[t] = info.id;
		close(fd);
	}
	pinned_tables(v6, ids);	/* without CAP_SYS_ADMIN, the walk above sees nothing */
}

/* Which tables outer holds that matter to a sync: have[t] = the inner
 * map's id, 0 none.  The tables the config wants: one lookup each; the
 * others (tenants no longer configured): by name (named_tables), to be
 * deleted by key, harmless if already gone. */
static int present(int outer, bool v6, const struct rp_config *cfg, __u32 *have)
{
	named_tables(v6, have);
	for (__u32 t = 0; t < RP_FLOW_TABLES; t++)
		if (wanted(cfg, t) && bpf_map_lookup_elem(outer, &t, &have[t]))
			have[t] = 0;
	return 0;
}

int dp_flow_tables_sync(const struct dp_maps *m, const struct rp_config *cfg, struct diag *d)
{
	static __u32 checked[2][RP_FLOW_TABLES];	/* inner map ids whose size was checked */
	__u32 *have = calloc(RP_FLOW_TABLES, sizeof(*have));
	int err = have ? 0 : -ENOMEM;

	for (int fam = 0; fam < 2 && !err; fam++) {
		int outer = fam ? m->flowt6 : m->flowt4;

		err = present(outer, fam, cfg, have);
		for (__u32 t = 0; t < RP_FLOW_TABLES && !err; t++) {
			bool want = wanted(cfg, t);

			if (have[t] && !want) {
				/* a tenant no longer configured: its flows go */
				bpf_map_delete_elem(outer, &t);
				pin_table(outer, fam, t, -1);
				continue;
			}
			if (!want)
				continue;
			if (have[t] && checked[fam][t] != have[t]) {
				/* a table smaller than a new one would start
				 * (one made by an older rempart, more CPUs): a
				 * larger one with its flows.  Otherwise it is
				 * kept, whatever its size: the load grows it
				 * (dp_flow_tables_grow()). */
				int fd = open_table(fam, t, have[t]);

				if (fd >= 0 && inner_max(fd) < dp_flow_table_first(cfg, t))
					err = create(m, outer, fam, t, fd, dp_flow_table_first(cfg, t), d);
				else
					checked[fam][t] = have[t];
				if (fd >= 0)
					close(fd);
				continue;
			}
			if (!have[t])
				err = create(m, outer, fam, t, -1, dp_flow_table_first(cfg, t), d);
		}
	}
	free(have);
	return err;
}

static unsigned value_size(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.value_size;
}

int dp_flow_tables_adopt(const struct dp_maps *m, const char *old_dir, const struct rp_config *cfg)
{
	int ncpu = libbpf_num_possible_cpus(), n = 0;
	struct rp_flow_stat *st = ncpu > 0 ? calloc(ncpu, sizeof(*st)) : NULL;
	char path[256];
	int old_stats;

	snprintf(path, sizeof(path), "%s/%s", old_dir, RP_PIN_FLOW_STATS);
	old_stats = bpf_obj_get(path);
	if (old_stats >= 0 && value_size(old_stats) != sizeof(*st)) {
		close(old_stats);	/* counters of another layout: they start anew */
		old_stats = -1;
	}
	for (int fam = 0; fam < 2; fam++) {
		int outer = fam ? m->flowt6 : m->flowt4, old;

		snprintf(path, sizeof(path), "%s/%s", old_dir, fam ? RP_PIN_FLOWT6 : RP_PIN_FLOWT4);
		old = bpf_obj_get(path);
		if (old < 0)
			continue;
		/* one lookup per wanted table (each a grace period before 6.8) */
		for (__u32 t = 0; t < RP_FLOW_TABLES; t++) {
			int fd;

			if (!wanted(cfg, t) || (fd = inner_fd(old, fam, t)) < 0)
				continue;
			/* refused (EINVAL) when its key or value differs: a new one is made */
			if (!bpf_map_update_elem(outer, &t, &fd, BPF_ANY)) {
				n++;
				if (st && old_stats >= 0 && !bpf_map_lookup_elem(old_stats, &t, st))
					bpf_map_update_elem(m->flow_stats, &t, st, BPF_ANY);
			}
			close(fd);
		}
		close(old);
	}
	if (old_stats >= 0)
		close(old_stats);
	free(st);
	return n;
}

/* Every key of the map fd, in batches (ksz bytes each): present / live
 * (not expired), and live by owner. */
static int scan(int fd, size_t ksz, struct dp_flow_usage *u, unsigned long long *by_owner)
{
	enum { BATCH = 1024 };
	uint8_t *keys = malloc(BATCH * ksz);
	struct rp_flow_val *vals = malloc(BATCH * sizeof(*vals));
	struct timespec ts;
	unsigned long long now;
	__u32 in = 0, out = 0, n;
	bool first = true;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);	/* bpf_ktime_get_coarse_ns() */
	now = (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);
		int r;

		n = BATCH;
		r = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &n, &o);
		if (r && errno != ENOENT) {
			err = -errno;
			break;
		}
		for (__u32 i = 0; i < n; i++) {
			u->present++;
			if (vals[i].expires_ns >= now) {
				u->live++;
				if (by_owner && vals[i].owner <= RP_TENANT_ID_MAX)
					by_owner[vals[i].owner]++;
			}
		}
		if (r)
			break;	/* ENOENT: that was the last batch */
		in = out;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err;
}

int dp_flow_tables_grow(const struct dp_maps *m, const struct rp_config *cfg, struct diag *d)
{
	int n = 0, err = 0;

	for (int fam = 0; fam < 2 && !err; fam++) {
		int outer = fam ? m->flowt6 : m->flowt4;
		size_t ksz = fam ? sizeof(struct rp_flow_key) : sizeof(struct rp_flow4_key);

		for (__u32 t = 0; t < RP_FLOW_TABLES && !err; t++) {
			struct dp_flow_usage u = { 0 };
			unsigned cap, ceil, want;
			int fd;

			if (!wanted(cfg, t) || (fd = inner_fd(outer, fam, t)) < 0)
				continue;
			cap = inner_max(fd);
			ceil = dp_flow_table_size(cfg, t);
			if (cap && cap < ceil && !scan(fd, ksz, &u, NULL) && u.live * 2 >= cap) {
				want = cap * 4ull < ceil ? cap * 4 : ceil;
				while (want < ceil && u.live * 2 >= want)
					want *= 2;
				err = create(m, outer, fam, t, fd, want, d);
				n += !err;
			}
			close(fd);
		}
	}
	return err ? err : n;
}

int dp_flow_usage(int flowt4, int flowt6, int stats, __u32 table, struct dp_flow_usage *u,
		  unsigned long long *live_by_owner)
{
	int ncpu = libbpf_num_possible_cpus();
	struct rp_flow_stat *st;
	int err = 0, found = 0;

	memset(u, 0, sizeof(*u));
	for (int fam = 0; fam < 2 && !err; fam++) {
		int fd = inner_fd(fam ? flowt6 : flowt4, fam, table);

		if (fd < 0)
			continue;
		found++;
		u->capacity += inner_max(fd);
		err = scan(fd, fam ? sizeof(struct rp_flow_key) : sizeof(struct rp_flow4_key), u, live_by_owner);
		close(fd);
	}
	if (!found)
		return -ENOENT;
	if (ncpu > 0 && (st = calloc(ncpu, sizeof(*st)))) {
		if (!bpf_map_lookup_elem(stats, &table, st))
			for (int c = 0; c < ncpu; c++) {
				u->created += st[c].created;
				u->refused += st[c].refused;
			}
		free(st);
	}
	u->evicted = u->created > u->present ? u->created - u->present : 0;
	return err;
}

int dp_flows_clear(const struct dp_maps *m)
{
	__u32 *ids = calloc(RP_FLOW_TABLES, sizeof(*ids));
	int err = ids ? 0 : -ENOMEM;

	for (int fam = 0; fam < 2 && ids; fam++) {
		int outer = fam ? m->flowt6 : m->flowt4;
		size_t ksz = fam ? sizeof(struct rp_flow_key) : sizeof(struct rp_flow4_key);

		named_tables(fam, ids);
		for (__u32 t = 0; t < RP_FLOW_TABLES; t++) {
			uint8_t key[64], next[64];
			int fd = ids[t] ? inner_fd(outer, fam, t) : -ENOENT;

			if (fd < 0)
				continue;
			while (!bpf_map_get_next_key(fd, NULL, next)) {
				memcpy(key, next, ksz);
				if (bpf_map_delete_elem(fd, key) && errno != ENOENT) {
					err = -errno;
					break;
				}
			}
			close(fd);
			stats_zero(m->flow_stats, t);
		}
	}
	free(ids);
	return err;
}
