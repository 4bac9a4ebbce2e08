// SPDX-License-Identifier: GPL-2.0
/* dataplane_upgrade.c — a build whose maps differ from the pinned ones
 * takes over without a gap (docs/dataplane.md "Loader", docs/operations.md
 * "Upgrading").
 *
 * A pinned map this build can reuse (same type, key, value, size, flags) is
 * shared by the old programs and the new.  One it cannot reuse is created
 * anew BESIDE the old one, pinned under RP_PIN_DIR/next/, while the old
 * programs keep running on the old one.  Maps that are read together go
 * together: when one map of the policy (rp_state and the slotted maps) must
 * be created anew, all of them are, so that no program ever reads a slot
 * flipped in one map from another map that was not written for it; the same
 * for the flow tables, their counters and the last-flow note.  The caller
 * fills the new maps (geo database, policy), swaps every attachment (link
 * update, cls_bpf replace), and only then dp_upgrade_promote() moves the new
 * pins over the old ones.  What carries over from an old map into its
 * successor: the policy generation (rp_state) and the flow tables (the old
 * inner maps, where the new outer map accepts them, dp_flow_tables_adopt()).
 * Counters of a map created anew start from 0, except rp_counters and
 * rp_rule_counters of the same value layout (made anew larger: dataplane_size.h),
 * which are copied. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dataplane/dataplane.h"
#include "dataplane/dataplane_flows.h"
#include "dataplane/dataplane_upgrade.h"
#include "lib/log.h"

#define NEXT_DIR RP_PIN_DIR "/" RP_PIN_NEXT

/* Maps read together: created anew together. */
static const char *const policy_group[] = { RP_PIN_STATE, RP_PIN_SYNC, "rp_sync_inner", RP_PIN_NODES,
					    RP_PIN_ATOMS, RP_PIN_RULES, RP_PIN_TENANTS, RP_PIN_GLOBAL,
					    RP_PIN_IFACES, RP_PIN_IFIDX, RP_PIN_PORTIDX, RP_PIN_PORTS, NULL };
static const char *const flow_group[] = { RP_PIN_FLOWT4, RP_PIN_FLOWT6, RP_PIN_FLOW_STATS, "rp_flow_last",
					  NULL };
/* Maps of older builds that this one no longer has: unpinned once it runs. */
static const char *const gone[] = { "rp_flows", "rp_flows4", NULL };

static bool in(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (!strcmp(*list, name))
			return true;
	return false;
}

/* Is the map pinned at path one that m cannot reuse? */
static bool differs(const struct bpf_map *m, const char *path)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	bool bad;
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return false;	/* not pinned: created there */
	bad = bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != bpf_map__type(m) ||
	      info.key_size != bpf_map__key_size(m) || info.value_size != bpf_map__value_size(m) ||
	      info.max_entries != bpf_map__max_entries(m) || info.map_flags != bpf_map__map_flags(m);
	close(fd);
	return bad;
}

static void clear_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

void dp_upgrade_clear(void)
{
	clear_dir(NEXT_DIR);
}

int dp_upgrade_plan(struct bpf_object *obj, struct dp_upgrade *up, struct diag *d)
{
	bool policy = false, flows = false;
	struct bpf_map *m;
	char path[256];

	memset(up, 0, sizeof(*up));
	dp_upgrade_clear();	/* what an interrupted upgrade left */
	bpf_object__for_each_map(m, obj) {
		const char *name = bpf_map__name(m);

		if (bpf_map__is_internal(m) || !bpf_map__pin_path(m) || !differs(m, bpf_map__pin_path(m)))
			continue;
		pr_info("dataplane: pinned %s is from another version, or too small for this "
			"configuration: a new one is made beside it", name);
		policy |= in(policy_group, name);
		flows |= in(flow_group, name);
		up->n++;
	}
	if (!up->n)
		return 0;
	if (mkdir(NEXT_DIR, 0700) && errno != EEXIST) {
		diag_add(d, "dataplane: cannot create %s: %s", NEXT_DIR, strerror(errno));
		return -errno;
	}
	up->policy = policy;
	up->flows = flows;
	bpf_object__for_each_map(m, obj) {
		const char *name = bpf_map__name(m);
		int err;

		if (bpf_map__is_internal(m) || !bpf_map__pin_path(m))
			continue;
		if (!differs(m, bpf_map__pin_path(m)) && !(policy && in(policy_group, name)) &&
		    !(flows && in(flow_group, name)))
			continue;
		if (access(bpf_map__pin_path(m), F_OK))
			continue;	/* not pinned: nothing to stand beside */
		snprintf(path, sizeof(path), "%s/%s", NEXT_DIR, name);
		err = bpf_map__set_pin_path(m, path);
		if (err) {
			diag_add(d, "dataplane: cannot set the pin path %s: %s", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* The generation the old rp_state counted (its first field in every build
 * so far), so that the new one goes on from it. */
static void carry_generation(int new_state)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info), zero = 0;
	unsigned char old[256] = { 0 };
	struct rp_state st = { 0 };
	int fd = bpf_obj_get(RP_PIN_DIR "/" RP_PIN_STATE);

	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.value_size >= sizeof(st.generation) &&
	    info.value_size <= sizeof(old) && !bpf_map_lookup_elem(fd, &zero, old)) {
		memcpy(&st.generation, old, sizeof(st.generation));
		if (!bpf_map_update_elem(new_state, &zero, &st, BPF_ANY))
			pr_debug("dataplane: the new rp_state goes on from generation %llu",
				 (unsigned long long)st.generation);
	}
	close(fd);
}

static unsigned map_info(int fd, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, len);
	return bpf_obj_get_info_by_fd(fd, info, &len) ? 0 : info->id;
}

/* The per-CPU counters of the pinned map NAME copied into new_fd, its
 * successor made anew (larger: dataplane_size.c), for the keys both have:
 * the metrics go on counting.  What the old programs count between the copy
 * and the swap of the attachments is lost. */
static void carry_counters(int new_fd, const char *name)
{
	struct bpf_map_info oi, ni;
	char path[256];
	int ncpu = libbpf_num_possible_cpus(), old;
	unsigned char *buf;

	snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, name);
	old = bpf_obj_get(path);
	if (old < 0)
		return;
	if (ncpu > 0 && map_info(old, &oi) && map_info(new_fd, &ni) && oi.id != ni.id &&
	    oi.value_size == ni.value_size && oi.type == ni.type &&
	    (buf = calloc(ncpu, (oi.value_size + 7) & ~7u))) {
		__u32 n = oi.max_entries < ni.max_entries ? oi.max_entries : ni.max_entries;

		for (__u32 k = 0; k < n; k++)
			if (!bpf_map_lookup_elem(old, &k, buf))
				bpf_map_update_elem(new_fd, &k, buf, BPF_ANY);
		free(buf);
		pr_debug("dataplane: %u counters of %s carried over into the new map", n, name);
	}
	close(old);
}

void dp_upgrade_carry(const struct dp_upgrade *up, const struct dp_maps *m, const struct rp_config *cfg)
{
	if (up->n) {
		carry_counters(m->counters, RP_PIN_COUNTERS);
		carry_counters(m->rule_counters, RP_PIN_RULE_COUNTERS);
	}
	if (up->policy)
		carry_generation(m->state);
	if (up->flows) {
		int n = dp_flow_tables_adopt(m, RP_PIN_DIR, cfg);

		if (n >= 0)
			pr_info("dataplane: %d flow tables carried over into the new maps", n);
	}
}

int dp_upgrade_promote(const struct dp_upgrade *up, struct diag *d)
{
	DIR *dir;
	struct dirent *e;
	char from[512], to[512];
	int err = 0;

	for (size_t i = 0; gone[i]; i++) {
		snprintf(to, sizeof(to), "%s/%s", RP_PIN_DIR, gone[i]);
		unlink(to);
	}
	if (!up->n)
		return 0;
	dir = opendir(NEXT_DIR);
	while (dir && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(from, sizeof(from), "%s/%s", NEXT_DIR, e->d_name);
		snprintf(to, sizeof(to), "%s/%s", RP_PIN_DIR, e->d_name);
		if (rename(from, to) && !err) {
			err = -errno;
			diag_add(d, "dataplane: cannot move %s to %s: %s", from, to, strerror(errno));
		}
	}
	if (dir)
		closedir(dir);
	dp_upgrade_clear();
	if (!err)
		pr_info("dataplane: %zu maps of another layout replaced, the old ones released", up->n);
	return err;
}
