// SPDX-License-Identifier: GPL-2.0
/* dataplane_maps.c — write a compiled policy into its slot, swap slots.
 *
 * The swap (docs/dataplane.md): the new policy is written completely into the slot
 * no program reads, then one write of rp_state flips active_slot.  Programs
 * read the slot once per packet, so each packet sees one policy.  Before the
 * old slot is cleared, an update of the map-in-map rp_sync makes the kernel
 * wait for an RCU grace period: every program that read the old index has
 * finished by then.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dataplane/dataplane_flows.h"
#include "dataplane/dataplane_maps.h"
#include "dataplane/dataplane_size.h"
#include "lib/log.h"
#include "rempart.skel.h"

/* The policy compiler numbers nodes and atoms by the rp_nodes and rp_atoms
 * these maps have. */
static void note_capacity(int nodes_fd, int atoms_fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (!bpf_obj_get_info_by_fd(nodes_fd, &info, &len))
		policy_set_nodes_per_slot(info.max_entries / RP_SLOTS);
	memset(&info, 0, sizeof(info));
	len = sizeof(info);
	if (!bpf_obj_get_info_by_fd(atoms_fd, &info, &len))
		policy_set_atoms_per_slot(info.max_entries / RP_SLOTS);
}

void dp_maps_from_skel(const struct rempart *s, struct dp_maps *m)
{
	m->state = bpf_map__fd(s->maps.rp_state);
	m->nodes = bpf_map__fd(s->maps.rp_nodes);
	m->atoms = bpf_map__fd(s->maps.rp_atoms);
	m->ifidx = bpf_map__fd(s->maps.rp_ifidx);
	m->portidx = bpf_map__fd(s->maps.rp_portidx);
	m->rules = bpf_map__fd(s->maps.rp_rules);
	m->tenants = bpf_map__fd(s->maps.rp_tenants);
	m->global = bpf_map__fd(s->maps.rp_global);
	m->ifaces = bpf_map__fd(s->maps.rp_ifaces);
	m->ports = bpf_map__fd(s->maps.rp_ports);
	m->sync = bpf_map__fd(s->maps.rp_sync);
	m->sync_inner = bpf_map__fd(s->maps.rp_sync_inner);
	m->flowt4 = bpf_map__fd(s->maps.rp_flowt4);
	m->flowt6 = bpf_map__fd(s->maps.rp_flowt6);
	m->flow_stats = bpf_map__fd(s->maps.rp_flow_stats);
	m->frags = bpf_map__fd(s->maps.rp_frags);
	m->counters = bpf_map__fd(s->maps.rp_counters);
	m->rule_counters = bpf_map__fd(s->maps.rp_rule_counters);
	m->geo_drops = bpf_map__fd(s->maps.rp_geo_drops);
	note_capacity(m->nodes, m->atoms);
}

int dp_maps_open_pinned(struct dp_maps *m, const char *dir)
{
	static const struct { size_t off; const char *name; } tab[] = {
		{ offsetof(struct dp_maps, state), RP_PIN_STATE },
		{ offsetof(struct dp_maps, nodes), RP_PIN_NODES },
		{ offsetof(struct dp_maps, atoms), RP_PIN_ATOMS },
		{ offsetof(struct dp_maps, ifidx), RP_PIN_IFIDX },
		{ offsetof(struct dp_maps, portidx), RP_PIN_PORTIDX },
		{ offsetof(struct dp_maps, rules), RP_PIN_RULES },
		{ offsetof(struct dp_maps, tenants), RP_PIN_TENANTS },
		{ offsetof(struct dp_maps, global), RP_PIN_GLOBAL },
		{ offsetof(struct dp_maps, ifaces), RP_PIN_IFACES },
		{ offsetof(struct dp_maps, ports), RP_PIN_PORTS },
		{ offsetof(struct dp_maps, sync), RP_PIN_SYNC },
		{ offsetof(struct dp_maps, sync_inner), "rp_sync_inner" },
		{ offsetof(struct dp_maps, flowt4), RP_PIN_FLOWT4 },
		{ offsetof(struct dp_maps, flowt6), RP_PIN_FLOWT6 },
		{ offsetof(struct dp_maps, flow_stats), RP_PIN_FLOW_STATS },
		{ offsetof(struct dp_maps, frags), RP_PIN_FRAGS },
		{ offsetof(struct dp_maps, counters), RP_PIN_COUNTERS },
		{ offsetof(struct dp_maps, rule_counters), RP_PIN_RULE_COUNTERS },
		{ offsetof(struct dp_maps, geo_drops), RP_PIN_GEO_DROPS },
	};
	char path[512];

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		*(int *)((char *)m + tab[i].off) = -1;
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, tab[i].name);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			int err = -errno;

			dp_maps_close(m);
			return err;
		}
		*(int *)((char *)m + tab[i].off) = fd;
	}
	note_capacity(m->nodes, m->atoms);
	return 0;
}

void dp_maps_close(struct dp_maps *m)
{
	int *fd = (int *)m;

	for (size_t i = 0; i < sizeof(*m) / sizeof(int); i++)
		if (fd[i] > 0) {
			close(fd[i]);
			fd[i] = -1;
		}
}

int dp_active_slot(const struct dp_maps *m, unsigned *slot, unsigned long long *generation)
{
	struct rp_state st;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->state, &zero, &st))
		return -errno;
	*slot = st.active_slot & 1;
	if (generation)
		*generation = st.generation;
	return 0;
}

/* Delete every key of a hash/LPM map for which pick() says so. */
static int clear_keys(int fd, size_t ksz, bool (*pick)(const void *key, unsigned slot), unsigned slot)
{
	size_t n = 0, cap = 0;
	uint8_t *keys = NULL, cur[64], next[64];
	void *prev = NULL;
	int err = 0;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		if (pick(next, slot)) {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 1024;
				uint8_t *p = realloc(keys, nc * ksz);

				if (!p) {
					err = -ENOMEM;
					goto out;
				}
				keys = p;
				cap = nc;
			}
			memcpy(keys + n * ksz, next, ksz);
			n++;
		}
		memcpy(cur, next, ksz);
		prev = cur;
	}
	/* in batches; a kernel without batch ops for this map: one by one */
	for (size_t i = 0; i < n;) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);
		__u32 cnt = n - i < 8192 ? n - i : 8192;

		if (!bpf_map_delete_batch(fd, keys + i * ksz, &cnt, &o)) {
			i += cnt;
			continue;
		}
		if (bpf_map_delete_elem(fd, keys + i * ksz) && errno != ENOENT && !err)
			err = -errno;
		i++;
	}
out:
	free(keys);
	return err;
}

static bool pick_rule(const void *k, unsigned s) { return ((const struct rp_rule_key *)k)->slot == s; }
static bool pick_iface(const void *k, unsigned s) { return ((const struct rp_iface_key *)k)->slot == s; }
static bool pick_port(const void *k, unsigned s) { return ((const struct rp_port_key *)k)->slot == s; }

/* Zero the valid tenant entries of a slot: one batch read (the map is
 * sized from the configuration: small), few writes. */
static int clear_tenants(const struct dp_maps *m, unsigned slot)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	__u32 n = bpf_obj_get_info_by_fd(m->tenants, &info, &len) ? 0 : info.max_entries;
	__u32 *keys = calloc(n + 1, sizeof(*keys)), count = n, out = 0;
	struct rp_tenant_cfg *vals = calloc(n + 1, sizeof(*vals)), zero = { 0 };
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	int err = 0;

	if (!n)
		return -errno;
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_batch(m->tenants, NULL, &out, keys, vals, &count, &o) && errno != ENOENT) {
		err = -errno;
		goto out;
	}
	for (__u32 i = 0; i < count; i++)
		if (keys[i] % RP_SLOTS == slot && vals[i].flags &&
		    bpf_map_update_elem(m->tenants, &keys[i], &zero, BPF_ANY))
			err = -errno;
out:
	free(keys);
	free(vals);
	return err;
}

static int put_region(int fd, size_t sz, size_t total, size_t first, const void *src, size_t n,
		      const char *what, struct diag *d);

static int slot_clear(const struct dp_maps *m, unsigned slot, bool all)
{
	struct rp_global_cfg zero_g = { 0 };
	__u32 k = slot;
	int err = 0, e;

	if ((e = put_region(m->ifidx, sizeof(struct rp_ifidx_val), (size_t)RP_SLOTS * RP_IFIDX_MAX,
			    rp_ifidx_key(slot, 0), NULL, RP_IFIDX_MAX, RP_PIN_IFIDX, NULL)))
		err = e;
	if ((e = put_region(m->portidx, sizeof(struct rp_portidx_val), (size_t)RP_SLOTS * RP_PORTIDX_PER_SLOT,
			    rp_portidx_key(slot, 0), NULL, RP_PORTIDX_PER_SLOT, RP_PIN_PORTIDX, NULL)))
		err = e;
	/* rp_nodes and rp_atoms of the slot are reached only from its roots
	 * (rp_tenants): overwritten by the next policy written here. */
	if ((e = clear_keys(m->rules, sizeof(struct rp_rule_key), pick_rule, slot)))
		err = e;
	if ((e = clear_keys(m->ifaces, sizeof(struct rp_iface_key), pick_iface, slot)))
		err = e;
	if ((e = clear_keys(m->ports, sizeof(struct rp_port_key), pick_port, slot)))
		err = e;
	/* rp_tenants entries are reached only through the ifaces and ports
	 * of their slot, cleared above: a stale one is unreachable, and the
	 * next policy written into this slot overwrites what it uses.  Zero
	 * them anyway when asked to (dp_slot_clear_all). */
	if (all && (e = clear_tenants(m, slot)))
		err = e;
	k = slot;
	if (bpf_map_update_elem(m->global, &k, &zero_g, BPF_ANY))
		err = -errno;
	return err;
}

int dp_slot_clear(const struct dp_maps *m, unsigned slot)
{
	return slot_clear(m, slot, false);
}

int dp_slot_clear_all(const struct dp_maps *m, unsigned slot)
{
	return slot_clear(m, slot, true);
}

int dp_map_put(int fd, const void *k, const void *v, const char *what, struct diag *d)
{
	if (!bpf_map_update_elem(fd, k, v, BPF_ANY))
		return 0;
	diag_add(d, "dataplane: cannot write the %s map: %s", what, strerror(errno));
	return -errno;
}

int dp_map_del(int fd, const void *k, const char *what, struct diag *d)
{
	if (!bpf_map_delete_elem(fd, k) || errno == ENOENT)
		return 0;
	diag_add(d, "dataplane: cannot delete from the %s map: %s", what, strerror(errno));
	return -errno;
}

/* Copy n items of size sz into an mmapable array map, from item `first`. */
static int put_region(int fd, size_t sz, size_t total, size_t first, const void *src, size_t n,
		      const char *what, struct diag *d)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t len = (total * sz + pg - 1) / pg * pg;
	void *mem;

	if (!n)
		return 0;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		int err = -errno;

		if (d)
			diag_add(d, "dataplane: cannot map the %s map: %s", what, strerror(errno));
		return err;
	}
	if (src)
		memcpy((char *)mem + first * sz, src, n * sz);
	else
		memset((char *)mem + first * sz, 0, n * sz);
	munmap(mem, len);
	return 0;
}

void dp_ifidx_fill(const struct rp_policy *p, struct rp_ifidx_val *v)
{
	for (size_t i = 0; i < p->n_ifaces; i++) {
		const struct pol_iface *f = &p->ifaces[i];

		if (f->k.vid || f->k.ifindex >= RP_IFIDX_MAX)
			continue;
		if (f->k.hook == RP_HOOK_CLOUD_IN)
			v[f->k.ifindex].cloud = f->v.tenant;
		else
			v[f->k.ifindex].tunnel = f->v.tenant;
	}
}

void dp_portidx_fill(const struct rp_policy *p, struct rp_portidx_val *v)
{
	for (size_t i = 0; i < p->n_ports; i++)
		v[p->ports[i].k.port].tenant = p->ports[i].v.tenant;
}

/* The ifindex array of the slot (untagged frames and tunnels). */
static int put_ifidx(const struct dp_maps *m, const struct rp_policy *p, struct diag *d)
{
	struct rp_ifidx_val *v = calloc(RP_IFIDX_MAX, sizeof(*v));
	int err;

	if (!v)
		return -ENOMEM;
	dp_ifidx_fill(p, v);
	err = put_region(m->ifidx, sizeof(*v), (size_t)RP_SLOTS * RP_IFIDX_MAX,
			 rp_ifidx_key(p->slot, 0), v, RP_IFIDX_MAX, RP_PIN_IFIDX, d);
	free(v);
	return err;
}

/* The listen-port array of the slot. */
static int put_portidx(const struct dp_maps *m, const struct rp_policy *p, struct diag *d)
{
	struct rp_portidx_val *v = calloc(RP_PORTIDX_PER_SLOT, sizeof(*v));
	int err;

	if (!v)
		return -ENOMEM;
	dp_portidx_fill(p, v);
	err = put_region(m->portidx, sizeof(*v), (size_t)RP_SLOTS * RP_PORTIDX_PER_SLOT,
			 rp_portidx_key(p->slot, 0), v, RP_PORTIDX_PER_SLOT, RP_PIN_PORTIDX, d);
	free(v);
	return err;
}

/* The rule tables, in batches of RULE_BATCH. */
#define RULE_BATCH 4096
static int put_rules(const struct dp_maps *m, const struct rp_policy *p, struct diag *d)
{
	struct rp_rule_key *keys = calloc(RULE_BATCH, sizeof(*keys));
	struct rp_rule_val *vals = calloc(RULE_BATCH, sizeof(*vals));
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < p->n_rules; i += RULE_BATCH) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);
		__u32 n = p->n_rules - i < RULE_BATCH ? p->n_rules - i : RULE_BATCH;

		for (__u32 j = 0; j < n; j++) {
			keys[j] = p->rules[i + j].k;
			policy_rule_val(p, &p->rules[i + j], &vals[j]);
		}
		if (!bpf_map_update_batch(m->rules, keys, vals, &n, &o))
			continue;
		for (__u32 j = 0; j < n; j++)	/* no batch ops here: one by one */
			if ((err = dp_map_put(m->rules, &keys[j], &vals[j], RP_PIN_RULES, d)))
				goto out;
	}
out:
	free(keys);
	free(vals);
	return err;
}

int dp_policy_write(const struct dp_maps *m, const struct rp_policy *p, struct diag *d)
{
	__u32 k;
	int err;

	err = put_region(m->nodes, sizeof(__u32) * RP_NODE_STRIDE,
			 (size_t)RP_SLOTS * policy_nodes_per_slot(), (size_t)p->slot * policy_nodes_per_slot(),
			 p->nodes, p->n_nodes, RP_PIN_NODES, d);
	if (!err)
		err = put_region(m->atoms, sizeof(struct rp_atom), (size_t)RP_SLOTS * policy_atoms_per_slot(),
				 policy_atom_key(p->slot, 0), p->atoms, p->n_atoms, RP_PIN_ATOMS, d);
	if (err)
		return err;
	err = put_rules(m, p, d);
	if (err)
		return err;
	for (size_t i = 0; i < p->n_tenants; i++)
		if ((err = dp_map_put(m->tenants, &p->tenants[i].key, &p->tenants[i].v, RP_PIN_TENANTS, d)))
			return err;
	for (size_t i = 0; i < p->n_ifaces; i++)
		if ((err = dp_map_put(m->ifaces, &p->ifaces[i].k, &p->ifaces[i].v, RP_PIN_IFACES, d)))
			return err;
	err = put_ifidx(m, p, d);
	if (!err)
		err = put_portidx(m, p, d);
	if (err)
		return err;
	for (size_t i = 0; i < p->n_ports; i++)
		if ((err = dp_map_put(m->ports, &p->ports[i].k, &p->ports[i].v, RP_PIN_PORTS, d)))
			return err;
	k = p->slot;
	return dp_map_put(m->global, &k, &p->global, RP_PIN_GLOBAL, d);
}

int dp_policy_wait(const struct dp_maps *m)
{
	__u32 zero = 0;
	int inner = m->sync_inner;

	/* a map-in-map update returns after an RCU grace period */
	return bpf_map_update_elem(m->sync, &zero, &inner, BPF_ANY) ? -errno : 0;
}

int dp_policy_flip_nowait(const struct dp_maps *m, unsigned new_slot, struct diag *d)
{
	struct rp_state st = { 0 };
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->state, &zero, &st)) {
		diag_add(d, "dataplane: cannot read %s: %s", RP_PIN_STATE, strerror(errno));
		return -errno;
	}
	st.generation++;
	st.active_slot = new_slot & 1;
	if (bpf_map_update_elem(m->state, &zero, &st, BPF_ANY)) {
		diag_add(d, "dataplane: cannot flip the policy slot: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int dp_policy_flip(const struct dp_maps *m, unsigned new_slot, struct diag *d)
{
	int err = dp_policy_flip_nowait(m, new_slot, d);

	/* wait for every program that may still read the old slot */
	if (!err && (err = dp_policy_wait(m)))
		diag_add(d, "dataplane: cannot wait for running programs: %s", strerror(-err));
	return err;
}

int dp_install_begin(const struct dp_maps *m, const struct rp_config *cfg, unsigned *active,
		     unsigned long long *generation, struct diag *d)
{
	int err = dp_active_slot(m, active, generation);

	if (err) {
		diag_add(d, "dataplane: cannot read %s: %s", RP_PIN_STATE, strerror(-err));
		return err;
	}
	return dp_flow_tables_sync(m, cfg, d);	/* every tenant of the policy has its flow tables */
}

int dp_policy_install(const struct dp_maps *m, const struct rp_config *cfg,
		      policy_ifindex_fn ifindex, void *arg, struct diag *d)
{
	struct rp_policy p;
	unsigned active = 0, next;
	int err;

	err = dp_install_begin(m, cfg, &active, NULL, d);
	if (err)
		return err;
	next = active ^ 1;
	err = dp_slot_clear(m, next);	/* leftovers of an interrupted apply */
	if (err) {
		diag_add(d, "dataplane: cannot clear policy slot %u: %s", next, strerror(-err));
		return err;
	}
	err = policy_compile(cfg, next, ifindex, arg, &p, d);
	if (err)
		return err;
	err = dp_sizes_check(m, cfg, &p, d);
	if (!err)
		err = dp_policy_write(m, &p, d);
	policy_free(&p);
	if (!err)
		err = dp_policy_flip(m, next, d);
	if (err) {
		dp_slot_clear(m, next);
		return err;
	}
	/* no program reads the old slot any more; leftovers are harmless (the
	 * next install clears the slot before writing it) */
	err = dp_slot_clear(m, active);
	if (err)
		pr_warn("dataplane: policy swapped, but the old slot %u was not fully cleared: %s",
			active, strerror(-err));
	return 0;
}
