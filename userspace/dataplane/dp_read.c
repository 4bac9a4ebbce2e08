// SPDX-License-Identifier: GPL-2.0
/* dp_read.c — the pinned policy maps, read back and decoded (dp_read.h).
 *
 * Layouts are checked first: type, key and value sizes, entries, flags, as
 * this build's programs declare them (bpf/rempart.bpf.c).  A map that does
 * not match was made by another build, or by someone else: its bytes would
 * mean something else, so nothing is decoded from it.  The arrays the
 * programs read most (nodes, atoms, ifidx, portidx) are mapped read-only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "dataplane/dp_read.h"
#include "geo/geo_bpf.h"

struct map_spec {
	const char *name;
	unsigned type, key, value, entries;	/* entries 0: any (checked apart) */
	unsigned flags;				/* that must be set */
};

static const struct map_spec specs[DPR__COUNT] = {
	[DPR_STATE] = { RP_PIN_STATE, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct rp_state), 1, 0 },
	[DPR_NODES] = { RP_PIN_NODES, BPF_MAP_TYPE_ARRAY, 4, RP_NODE_STRIDE * 4, 0, BPF_F_MMAPABLE },
	[DPR_ATOMS] = { RP_PIN_ATOMS, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct rp_atom), 0, BPF_F_MMAPABLE },
	[DPR_RULES] = { RP_PIN_RULES, BPF_MAP_TYPE_HASH, sizeof(struct rp_rule_key),
			sizeof(struct rp_rule_val), 0, 0 },
	[DPR_TENANTS] = { RP_PIN_TENANTS, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct rp_tenant_cfg), 0, 0 },
	[DPR_GLOBAL] = { RP_PIN_GLOBAL, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct rp_global_cfg), RP_SLOTS, 0 },
	[DPR_IFACES] = { RP_PIN_IFACES, BPF_MAP_TYPE_HASH, sizeof(struct rp_iface_key),
			 sizeof(struct rp_iface_val), 0, 0 },
	[DPR_IFIDX] = { RP_PIN_IFIDX, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct rp_ifidx_val),
			RP_SLOTS * RP_IFIDX_MAX, BPF_F_MMAPABLE },
	[DPR_PORTIDX] = { RP_PIN_PORTIDX, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct rp_portidx_val),
			  RP_SLOTS * 65536, BPF_F_MMAPABLE },
	[DPR_PORTS] = { RP_PIN_PORTS, BPF_MAP_TYPE_HASH, sizeof(struct rp_port_key),
			sizeof(struct rp_port_val), 0, 0 },
	[DPR_GEO] = { RP_PIN_GEO, BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, 0 },
};

static const void *map_ro(int fd, size_t bytes, size_t *len)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p;

	*len = (bytes + pg - 1) / pg * pg;
	p = mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static int check_map(struct dp_read *r, int i, const struct bpf_map_info *in, char *why, size_t whylen)
{
	const struct map_spec *s = &specs[i];

	if (in->type != s->type || in->key_size != s->key || in->value_size != s->value ||
	    (s->entries && in->max_entries != s->entries) || (in->map_flags & s->flags) != s->flags) {
		snprintf(why, whylen, "%s: map type %u, key %u, value %u bytes, %u entries, flags 0x%x "
			 "where this build's programs use type %u, key %u, value %u%s%.0u (made by "
			 "another version: `rempart down`, then `rempart apply`)",
			 s->name, in->type, in->key_size, in->value_size, in->max_entries, in->map_flags,
			 s->type, s->key, s->value, s->entries ? ", entries " : "", s->entries);
		return -EPROTO;
	}
	if ((i == DPR_NODES || i == DPR_ATOMS) && (!in->max_entries || in->max_entries % RP_SLOTS)) {
		snprintf(why, whylen, "%s: %u entries is not a whole number of slots", s->name,
			 in->max_entries);
		return -EPROTO;
	}
	r->id[i] = in->id;
	return 0;
}

int dpr_open(struct dp_read *r, const char *dir, char *why, size_t whylen)
{
	char path[512];
	__u32 zero = 0;
	int err = 0;

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < DPR__COUNT; i++)
		r->fd[i] = -1;
	if (access(dir, F_OK)) {
		err = -errno;
		snprintf(why, whylen, "%s: %s (rempart has not loaded its dataplane here, or the BPF "
			 "filesystem is not mounted)", dir, strerror(errno));
		return err;
	}
	for (int i = 0; i < DPR__COUNT; i++) {
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);

		snprintf(path, sizeof(path), "%s/%s", dir, specs[i].name);
		r->fd[i] = bpf_obj_get(path);
		if (r->fd[i] < 0) {
			err = -errno;
			snprintf(why, whylen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (bpf_obj_get_info_by_fd(r->fd[i], &info, &len)) {
			err = -errno;
			snprintf(why, whylen, "%s: not a BPF map (%s)", path, strerror(errno));
			goto fail;
		}
		err = check_map(r, i, &info, why, whylen);
		if (err)
			goto fail;
		if (i == DPR_NODES) {
			r->n_nodes = info.max_entries;
			r->nodes_per_slot = info.max_entries / RP_SLOTS;
		}
		if (i == DPR_ATOMS)
			r->n_atoms = info.max_entries;
	}
	r->nodes = map_ro(r->fd[DPR_NODES], r->n_nodes * RP_NODE_STRIDE * 4, &r->nodes_len);
	r->atoms = map_ro(r->fd[DPR_ATOMS], r->n_atoms * sizeof(struct rp_atom), &r->atoms_len);
	r->ifidx = map_ro(r->fd[DPR_IFIDX], (size_t)RP_SLOTS * RP_IFIDX_MAX * sizeof(*r->ifidx),
			  &r->ifidx_len);
	r->portidx = map_ro(r->fd[DPR_PORTIDX], (size_t)RP_SLOTS * 65536 * sizeof(*r->portidx),
			    &r->portidx_len);
	if (!r->nodes || !r->atoms || !r->ifidx || !r->portidx) {
		err = -errno;
		snprintf(why, whylen, "%s: cannot map the policy arrays read-only: %s", dir, strerror(errno));
		goto fail;
	}
	if (bpf_map_lookup_elem(r->fd[DPR_STATE], &zero, &r->state)) {
		err = -errno;
		snprintf(why, whylen, "%s/%s: %s", dir, RP_PIN_STATE, strerror(errno));
		goto fail;
	}
	r->slot = r->state.active_slot & 1;
	return 0;
fail:
	dpr_close(r);
	return err;
}

void dpr_close(struct dp_read *r)
{
	if (r->nodes)
		munmap((void *)r->nodes, r->nodes_len);
	if (r->atoms)
		munmap((void *)r->atoms, r->atoms_len);
	if (r->ifidx)
		munmap((void *)r->ifidx, r->ifidx_len);
	if (r->portidx)
		munmap((void *)r->portidx, r->portidx_len);
	for (int i = 0; i < DPR__COUNT; i++)
		if (r->fd[i] >= 0)
			close(r->fd[i]);
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < DPR__COUNT; i++)
		r->fd[i] = -1;
}

/* ---- tries ----------------------------------------------------------------
 *
 * rp_atom_id() of bpf/rempart.bpf.c: from the root, one byte of the address
 * per level; an entry without RP_NODE_CHILD ends the walk with that value; a
 * node beyond the map ends it with 0, and so does a child pointer in the
 * last level.  The runs below are the same function of the address, for
 * every address at once. */

int dpr_tenant(const struct dp_read *r, unsigned slot, unsigned id, struct rp_tenant_cfg *out)
{
	__u32 k = rp_tenant_key(slot & 1, id);

	if (id > RP_TENANT_ID_MAX)
		return -EINVAL;
	return bpf_map_lookup_elem(r->fd[DPR_TENANTS], &k, out) ? -errno : 0;
}

static uint32_t root_of(const struct dp_read *r, unsigned slot, unsigned tenant, int family)
{
	struct rp_tenant_cfg tc;

	if (dpr_tenant(r, slot, tenant, &tc))
		return 0;
	return family == AF_INET ? tc.root4 : tc.root6;
}

uint32_t dpr_trie_lookup(const struct dp_read *r, unsigned slot, unsigned tenant, int family,
			 const uint8_t *addr)
{
	unsigned nbytes = family == AF_INET ? 4 : 16;
	uint32_t node = root_of(r, slot, tenant, family), v = 0;

	if (!node)
		return 0;
	for (unsigned i = 0; i < nbytes; i++) {
		if (node >= r->n_nodes)
			return 0;
		v = r->nodes[(size_t)node * RP_NODE_STRIDE + addr[i]];
		if (!(v & RP_NODE_CHILD))
			break;
		node = v & ~RP_NODE_CHILD;
	}
	return v & RP_NODE_CHILD ? 0 : v;
}

struct runs {
	struct dpr_run *v;
	size_t n, cap;
	int err;
};

static void run_add(struct runs *s, rp_u128 lo, rp_u128 hi, uint32_t val)
{
	if (s->err)
		return;
	if (s->n && s->v[s->n - 1].val == val && s->v[s->n - 1].hi + 1 == lo) {
		s->v[s->n - 1].hi = hi;
		return;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct dpr_run *p = realloc(s->v, cap * sizeof(*p));

		if (!p) {
			s->err = -ENOMEM;
			return;
		}
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = (struct dpr_run){ lo, hi, val };
}

/* Node `node` at depth d (0-based byte index) for addresses starting with
 * base (the bytes above d already in place). */
static void walk(const struct dp_read *r, struct runs *s, uint32_t node, unsigned d, unsigned nbytes,
		 rp_u128 base)
{
	unsigned shift = 8 * (nbytes - d - 1);
	rp_u128 span = (rp_u128)1 << shift;

	for (unsigned i = 0; i < RP_NODE_STRIDE && !s->err; i++) {
		uint32_t v = r->nodes[(size_t)node * RP_NODE_STRIDE + i];
		rp_u128 lo = base | (rp_u128)i << shift, hi = lo + span - 1;

		if (!(v & RP_NODE_CHILD))
			run_add(s, lo, hi, v);
		else if (d + 1 >= nbytes || (v & ~RP_NODE_CHILD) >= r->n_nodes)
			run_add(s, lo, hi, 0);
		else
			walk(r, s, v & ~RP_NODE_CHILD, d + 1, nbytes, lo);
	}
}

int dpr_trie_runs(const struct dp_read *r, unsigned slot, unsigned tenant, int family,
		  struct dpr_run **v, size_t *n)
{
	unsigned nbytes = family == AF_INET ? 4 : 16;
	uint32_t root = root_of(r, slot, tenant, family);
	struct runs s = { 0 };

	if (!root || root >= r->n_nodes)
		run_add(&s, 0, an_max(family), 0);
	else
		walk(r, &s, root, 0, nbytes, 0);
	if (s.err) {
		free(s.v);
		return s.err;
	}
	*v = s.v;
	*n = s.n;
	return 0;
}

const struct rp_atom *dpr_atom(const struct dp_read *r, uint32_t id)
{
	return id && id < r->n_atoms ? &r->atoms[id] : NULL;
}

size_t dpr_run_find(const struct dpr_run *v, size_t n, rp_u128 x)
{
	size_t lo = 0, hi = n;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].lo <= x)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* ---- the other tables ------------------------------------------------------ */

int dpr_global(const struct dp_read *r, unsigned slot, struct rp_global_cfg *out)
{
	__u32 k = slot & 1;

	return bpf_map_lookup_elem(r->fd[DPR_GLOBAL], &k, out) ? -errno : 0;
}

int dpr_rule(const struct dp_read *r, const struct rp_rule_key *k, struct rp_rule_val *out)
{
	return bpf_map_lookup_elem(r->fd[DPR_RULES], k, out) ? -errno : 0;
}

int dpr_rules_foreach(const struct dp_read *r, unsigned slot,
		      int (*cb)(const struct rp_rule_key *k, const struct rp_rule_val *v, void *arg),
		      void *arg)
{
	struct rp_rule_key cur, next;
	struct rp_rule_val val;
	void *prev = NULL;
	int ret;

	while (!bpf_map_get_next_key(r->fd[DPR_RULES], prev, &next)) {
		cur = next;
		prev = &cur;
		if (cur.slot != slot)
			continue;
		if (bpf_map_lookup_elem(r->fd[DPR_RULES], &cur, &val))
			continue;	/* deleted meanwhile */
		ret = cb(&cur, &val, arg);
		if (ret)
			return ret;
	}
	return errno == ENOENT ? 0 : -errno;
}

/* Room for one more element in *v (cap doubles from 64); on failure *v is
 * freed. */
static int grow(void **v, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 64;
	void *p = realloc(*v, ncap * elem);

	if (!p) {
		free(*v);
		*v = NULL;
		return -ENOMEM;
	}
	*v = p;
	*cap = ncap;
	return 0;
}

int dpr_ifaces(const struct dp_read *r, unsigned slot, struct dpr_iface **v, size_t *n)
{
	struct rp_iface_key cur, next;
	struct rp_iface_val val;
	struct dpr_iface *out = NULL;
	size_t cnt = 0, cap = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(r->fd[DPR_IFACES], prev, &next)) {
		cur = next;
		prev = &cur;
		if (cur.slot != slot || bpf_map_lookup_elem(r->fd[DPR_IFACES], &cur, &val))
			continue;
		if (cnt == cap && grow((void **)&out, &cap, sizeof(*out)))
			return -ENOMEM;
		out[cnt++] = (struct dpr_iface){ cur, val.tenant };
	}
	*v = out;
	*n = cnt;
	return 0;
}

unsigned dpr_iface_tenant(const struct dp_read *r, unsigned slot, unsigned ifindex, uint16_t vid, int hook)
{
	struct rp_iface_key k = { .ifindex = ifindex, .vid = vid, .slot = slot, .hook = hook };
	struct rp_iface_val v;

	if (vid == 0 && ifindex < RP_IFIDX_MAX) {
		const struct rp_ifidx_val *e = &r->ifidx[rp_ifidx_key(slot & 1, ifindex)];

		return hook == RP_HOOK_CLOUD_IN ? e->cloud : e->tunnel;
	}
	return bpf_map_lookup_elem(r->fd[DPR_IFACES], &k, &v) ? 0 : v.tenant;
}

int dpr_ports(const struct dp_read *r, unsigned slot, struct dpr_port **v, size_t *n)
{
	struct rp_port_key cur, next;
	struct rp_port_val val;
	struct dpr_port *out = NULL;
	size_t cnt = 0, cap = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(r->fd[DPR_PORTS], prev, &next)) {
		cur = next;
		prev = &cur;
		if (cur.slot != slot || bpf_map_lookup_elem(r->fd[DPR_PORTS], &cur, &val))
			continue;
		if (cnt == cap && grow((void **)&out, &cap, sizeof(*out)))
			return -ENOMEM;
		out[cnt++] = (struct dpr_port){ cur.port, val.tenant };
	}
	*v = out;
	*n = cnt;
	return 0;
}

unsigned dpr_port_tenant(const struct dp_read *r, unsigned slot, uint16_t port)
{
	return r->portidx[(size_t)(slot & 1) * 65536 + port].tenant;
}

/* ---- geo ------------------------------------------------------------------- */

int dpr_geo_runs(const struct dp_read *r, int family, struct dpr_run **v, size_t *n)
{
	struct geo_bpf_view view;
	struct geo_run *g = NULL;
	size_t gn = 0;
	int err;

	err = geo_bpf_view_open(r->fd[DPR_GEO], &view);
	if (err)
		return err;
	err = geo_words_runs(view.w, view.n, family, &g, &gn);
	geo_bpf_view_close(&view);
	if (err)
		return err;
	/* the same layout: struct geo_run is (lo, hi, cc) */
	*v = calloc(gn ? gn : 1, sizeof(**v));
	if (!*v) {
		free(g);
		return -ENOMEM;
	}
	for (size_t i = 0; i < gn; i++)
		(*v)[i] = (struct dpr_run){ g[i].lo, g[i].hi, g[i].cc };
	*n = gn;
	free(g);
	return 0;
}
