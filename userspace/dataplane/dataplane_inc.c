// SPDX-License-Identifier: GPL-2.0
/* dataplane_inc.c — the incremental policy install (dataplane_maps.h).
 *
 * A small change should cost a small write.  The compiled policy of a slot
 * is compared with what the slot holds, and only what differs is written:
 *
 * - the arrays (trie nodes, atoms, the ifindex and listen-port arrays) are
 *   compared with the map itself, read through mmap;
 * - the hash maps (rule tables, interfaces, listen ports), the tenant
 *   entries and the global settings against a record of what was written
 *   there: <rec_dir>/slot<N>.rec (rule keys with a hash of their value).
 *
 * The swap guarantee is the full install's: only the slot no program reads
 * is written, then one write of rp_state flips it.  "No program reads it"
 * is rp_sync's RCU grace period between the flip that retired a slot and
 * the next write into it; it is waited for in a thread while the policy
 * compiles, so it costs an apply nothing.  The old slot is left one
 * generation behind: its record says what it holds, and the next install
 * writes into it the difference of two changes instead of one.  Only an
 * old slot without a valid record (after an install in full) is brought up
 * to date at once, so that the next change is again a small difference.
 *
 * A record is trusted only if it names the same maps (kernel map ids, boot
 * id) and its generation fits rp_state's: the active slot's record was
 * written at the current generation and the other one at the current or
 * the previous one.  A record is removed before its slot is written, so an
 * install that fails half-way leaves no record behind: the next install
 * clears that slot and writes it in full.
 *
 * The records are dataplane_rec.c's; a policy compiled ahead, while the
 * network changes, dataplane_precompile.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "dataplane/dataplane_flows.h"
#include "dataplane/dataplane_maps.h"
#include "dataplane/dataplane_rec.h"
#include "dataplane/dataplane_size.h"
#include "lib/clock.h"
#include "lib/fileutil.h"
#include "lib/log.h"

#define BATCH 4096

static struct dp_install_stats last_stats;

void dp_install_last_stats(struct dp_install_stats *st)
{
	*st = last_stats;
}

/* ---- writing by difference ------------------------------------------------ */

/* A window [off, off + bytes) of an mmapable array map: only the pages of
 * the slot's items in use are mapped (mapping a whole 100 MB map costs
 * more than the change it carries). */
struct mm {
	void *map, *at;		/* at: the byte at off */
	size_t len;
};

static int mm_open(int fd, size_t off, size_t bytes, struct mm *mm, const char *what, struct diag *d)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), start = off / pg * pg;

	mm->map = mm->at = NULL;
	mm->len = (off + bytes - start + pg - 1) / pg * pg;
	if (!bytes)
		return 0;
	mm->map = mmap(NULL, mm->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)start);
	if (mm->map != MAP_FAILED) {
		mm->at = (char *)mm->map + (off - start);
		return 0;
	}
	diag_add(d, "dataplane: cannot map the %s map: %s", what, strerror(errno));
	mm->map = NULL;
	return -errno;
}

static void mm_close(struct mm *mm)
{
	if (mm->map)
		munmap(mm->map, mm->len);
	mm->map = mm->at = NULL;
}

/* Items [0, n) of size sz at dst (the map) made equal to src; returns how
 * many differed. */
static size_t sync_items(void *dst, const void *src, size_t n, size_t sz)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		void *a = (char *)dst + i * sz;
		const void *b = (const char *)src + i * sz;

		if (memcmp(a, b, sz)) {
			memcpy(a, b, sz);
			w++;
		}
	}
	return w;
}

static int sync_arrays(const struct dp_maps *m, const struct rp_policy *p, struct dp_install_stats *st,
		       struct diag *d)
{
	const size_t nsz = sizeof(__u32) * RP_NODE_STRIDE;
	struct rp_ifidx_val *ifx = calloc(RP_IFIDX_MAX, sizeof(*ifx));
	struct rp_portidx_val *pix = calloc(RP_PORTIDX_PER_SLOT, sizeof(*pix));
	struct mm mm = { 0 };
	int err = -ENOMEM;

	if (!ifx || !pix)
		goto out;
	err = mm_open(m->nodes, (size_t)p->slot * policy_nodes_per_slot() * nsz, p->n_nodes * nsz, &mm,
		      RP_PIN_NODES, d);
	if (err)
		goto out;
	st->nodes += sync_items(mm.at, p->nodes, p->n_nodes, nsz);
	mm_close(&mm);
	err = mm_open(m->atoms, (size_t)policy_atom_key(p->slot, 0) * sizeof(struct rp_atom),
		      p->n_atoms * sizeof(struct rp_atom), &mm, RP_PIN_ATOMS, d);
	if (err)
		goto out;
	st->atoms += sync_items(mm.at, p->atoms, p->n_atoms, sizeof(struct rp_atom));
	mm_close(&mm);
	dp_ifidx_fill(p, ifx);
	dp_portidx_fill(p, pix);
	err = mm_open(m->ifidx, (size_t)rp_ifidx_key(p->slot, 0) * sizeof(*ifx), RP_IFIDX_MAX * sizeof(*ifx), &mm,
		      RP_PIN_IFIDX, d);
	if (err)
		goto out;
	st->other += sync_items(mm.at, ifx, RP_IFIDX_MAX, sizeof(*ifx));
	mm_close(&mm);
	err = mm_open(m->portidx, (size_t)rp_portidx_key(p->slot, 0) * sizeof(*pix),
		      RP_PORTIDX_PER_SLOT * sizeof(*pix), &mm,
		      RP_PIN_PORTIDX, d);
	if (err)
		goto out;
	st->other += sync_items(mm.at, pix, RP_PORTIDX_PER_SLOT, sizeof(*pix));
	mm_close(&mm);
out:
	free(ifx);
	free(pix);
	return err;
}

/* Pending rule writes and deletes, flushed in batches. */
struct rbatch {
	struct rp_rule_key uk[BATCH], dk[BATCH];
	struct rp_rule_val uv[BATCH];
	__u32 nu, nd;
};

static int flush_updates(int fd, struct rbatch *b, struct diag *d)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u32 n = b->nu;
	int err = 0;

	if (n && bpf_map_update_batch(fd, b->uk, b->uv, &n, &o))
		for (__u32 i = 0; i < b->nu && !err; i++)	/* no batch ops here: one by one */
			err = dp_map_put(fd, &b->uk[i], &b->uv[i], RP_PIN_RULES, d);
	b->nu = 0;
	return err;
}

static int flush_deletes(int fd, struct rbatch *b, struct diag *d)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u32 n = b->nd;
	int err = 0;

	if (n && bpf_map_delete_batch(fd, b->dk, &n, &o))
		for (__u32 i = 0; i < b->nd && !err; i++)
			err = dp_map_del(fd, &b->dk[i], RP_PIN_RULES, d);
	b->nd = 0;
	return err;
}

static int sync_rules(const struct dp_maps *m, const struct rp_policy *p, const struct rec_rule *nr,
		      const uint32_t *idx, const struct rec *old, struct dp_install_stats *st, struct diag *d)
{
	struct rbatch *b = calloc(1, sizeof(*b));
	size_t i = 0, j = 0;
	int err = 0;

	if (!b)
		return -ENOMEM;
	while (!err && (i < p->n_rules || j < old->h.n_rules)) {
		int c = i == p->n_rules ? 1 : j == old->h.n_rules ? -1 : dp_rec_cmp_key(&nr[i].k, &old->rules[j].k);

		if (c > 0) {		/* only in the slot: delete */
			b->dk[b->nd++] = old->rules[j++].k;
			st->rules_deleted++;
			if (b->nd == BATCH)
				err = flush_deletes(m->rules, b, d);
			continue;
		}
		if (c < 0 || nr[i].h != old->rules[j].h) {
			b->uk[b->nu] = nr[i].k;
			policy_rule_val(p, &p->rules[idx[i]], &b->uv[b->nu]);
			b->nu++;
			st->rules++;
			if (b->nu == BATCH)
				err = flush_updates(m->rules, b, d);
		}
		i++;
		j += c == 0;
	}
	if (!err)
		err = flush_deletes(m->rules, b, d);
	if (!err)
		err = flush_updates(m->rules, b, d);
	free(b);
	return err;
}

static int sync_small(const struct dp_maps *m, const struct rp_policy *p, const struct rec *old,
		      struct dp_install_stats *st, struct diag *d)
{
	struct rp_tenant_cfg zero = { 0 };
	__u32 k;
	int err = 0;

	/* tenants: keys are few (one per tenant) */
	for (size_t i = 0; !err && i < old->h.n_tenants; i++) {
		bool kept = false;

		for (size_t j = 0; !kept && j < p->n_tenants; j++)
			kept = p->tenants[j].key == old->tenants[i].key;
		if (!kept) {
			err = dp_map_put(m->tenants, &old->tenants[i].key, &zero, RP_PIN_TENANTS, d);
			st->other++;
		}
	}
	for (size_t j = 0; !err && j < p->n_tenants; j++) {
		const struct pol_tenant *o = NULL;

		for (size_t i = 0; !o && i < old->h.n_tenants; i++)
			if (old->tenants[i].key == p->tenants[j].key)
				o = &old->tenants[i];
		if (o && !memcmp(&o->v, &p->tenants[j].v, sizeof(o->v)))
			continue;
		err = dp_map_put(m->tenants, &p->tenants[j].key, &p->tenants[j].v, RP_PIN_TENANTS, d);
		st->other++;
	}
	/* interfaces and listen ports */
	for (size_t i = 0; !err && i < old->h.n_ifaces; i++) {
		bool kept = false;

		for (size_t j = 0; !kept && j < p->n_ifaces; j++)
			kept = !memcmp(&p->ifaces[j].k, &old->ifaces[i].k, sizeof(old->ifaces[i].k));
		if (!kept) {
			err = dp_map_del(m->ifaces, &old->ifaces[i].k, RP_PIN_IFACES, d);
			st->other++;
		}
	}
	for (size_t j = 0; !err && j < p->n_ifaces; j++) {
		bool same = false;

		for (size_t i = 0; !same && i < old->h.n_ifaces; i++)
			same = !memcmp(&p->ifaces[j], &old->ifaces[i], sizeof(old->ifaces[i]));
		if (!same) {
			err = dp_map_put(m->ifaces, &p->ifaces[j].k, &p->ifaces[j].v, RP_PIN_IFACES, d);
			st->other++;
		}
	}
	for (size_t i = 0; !err && i < old->h.n_ports; i++) {
		bool kept = false;

		for (size_t j = 0; !kept && j < p->n_ports; j++)
			kept = !memcmp(&p->ports[j].k, &old->ports[i].k, sizeof(old->ports[i].k));
		if (!kept) {
			err = dp_map_del(m->ports, &old->ports[i].k, RP_PIN_PORTS, d);
			st->other++;
		}
	}
	for (size_t j = 0; !err && j < p->n_ports; j++) {
		bool same = false;

		for (size_t i = 0; !same && i < old->h.n_ports; i++)
			same = !memcmp(&p->ports[j], &old->ports[i], sizeof(old->ports[i]));
		if (!same) {
			err = dp_map_put(m->ports, &p->ports[j].k, &p->ports[j].v, RP_PIN_PORTS, d);
			st->other++;
		}
	}
	if (!err && memcmp(&old->h.global, &p->global, sizeof(p->global))) {
		k = p->slot;
		err = dp_map_put(m->global, &k, &p->global, RP_PIN_GLOBAL, d);
		st->other++;
	}
	return err;
}

/* Make slot p->slot hold p: by difference from *old when given, else
 * cleared and written in full. */
static int write_slot(const struct dp_maps *m, const struct rp_policy *p, const struct rec_rule *nr,
		      const uint32_t *idx, const struct rec *old, struct dp_install_stats *st, struct diag *d)
{
	int err;

	if (!old) {
		err = dp_slot_clear_all(m, p->slot);
		if (err) {
			diag_add(d, "dataplane: cannot clear policy slot %u: %s", p->slot, strerror(-err));
			return err;
		}
		st->nodes += p->n_nodes;
		st->atoms += p->n_atoms;
		st->rules += p->n_rules;
		return dp_policy_write(m, p, d);
	}
	err = sync_arrays(m, p, st, d);
	if (!err)
		err = sync_rules(m, p, nr, idx, old, st, d);
	if (!err)
		err = sync_small(m, p, old, st, d);
	return err;
}

/* The same policy for the other slot: node and atom ids, keys. */
static void reslot(struct rp_policy *p, unsigned to)
{
	const uint32_t from = p->slot;
	const uint32_t dn = (to - from) * (uint32_t)policy_nodes_per_slot();
	const uint32_t da = policy_atom_key(to, 0) - policy_atom_key(from, 0);

	for (size_t i = 0; i < p->n_nodes * RP_NODE_STRIDE; i++) {
		uint32_t e = p->nodes[i];

		if (e & RP_NODE_CHILD)
			p->nodes[i] = RP_NODE_CHILD | ((e & ~RP_NODE_CHILD) + dn);
		else if (e)
			p->nodes[i] = e + da;
	}
	for (size_t i = 0; i < p->n_tenants; i++) {
		struct pol_tenant *t = &p->tenants[i];

		t->key = rp_tenant_key(to, t->key / RP_SLOTS);
		if (t->v.root4)
			t->v.root4 += dn;
		if (t->v.root6)
			t->v.root6 += dn;
	}
	for (size_t i = 0; i < p->n_rules; i++)
		p->rules[i].k.slot = to;
	for (size_t i = 0; i < p->n_ifaces; i++)
		p->ifaces[i].k.slot = to;
	for (size_t i = 0; i < p->n_ports; i++)
		p->ports[i].k.slot = to;
	p->slot = to;
}

struct grace {
	const struct dp_maps *m;
	int err;
};

static void *grace_thread(void *arg)
{
	struct grace *g = arg;

	g->err = dp_policy_wait(g->m);
	return NULL;
}

int dp_policy_install_inc(const struct dp_maps *m, const struct rp_config *cfg,
			  policy_ifindex_fn ifindex, void *arg, const char *rec_dir, struct diag *d)
{
	return dp_policy_install_pre(m, cfg, ifindex, arg, rec_dir, NULL, d);
}

int dp_policy_install_pre(const struct dp_maps *m, const struct rp_config *cfg,
			  policy_ifindex_fn ifindex, void *arg, const char *rec_dir,
			  struct dp_precompiled *pc, struct diag *d)
{
	struct dp_install_stats st = { 0 };
	struct rec old = { 0 }, act = { 0 };
	struct rec_rule *nr = NULL;
	uint32_t *idx = NULL;
	struct rp_policy p;
	struct rec_hdr id;
	unsigned long long gen;
	unsigned active, next;
	bool have_old = false, have_act = false;
	struct grace g = { .m = m };
	double t0;
	pthread_t tid;
	bool waiting, waited;
	int err;

	t0 = clock_ms();
	memset(&last_stats, 0, sizeof(last_stats));
	if (!rec_dir)
		return dp_policy_install(m, cfg, ifindex, arg, d);
	err = dp_install_begin(m, cfg, &active, &gen, d);
	if (err)
		return err;
	next = active ^ 1;
	if (pc && !ifindex && dp_precompiled_take(pc, cfg, &p, &waited)) {
		/* compiled while the network changed; its thread also waited
		 * for the grace period (maps pinned) */
		if (next != p.slot)
			reslot(&p, next);
		g.err = waited ? 0 : dp_policy_wait(m);
		st.precompiled = true;
		pr_debug("dataplane: compiled ahead, %s", waited ? "grace period passed" : "waited");
	} else {
		/* programs that started before the last flip may still read
		 * slot next: wait for them while compiling */
		waiting = !pthread_create(&tid, NULL, grace_thread, &g);
		err = policy_compile(cfg, next, ifindex, arg, &p, d);
		if (waiting)
			pthread_join(tid, NULL);
		else
			g.err = dp_policy_wait(m);
		if (err)
			return err;
	}
	if (g.err) {
		diag_add(d, "dataplane: cannot wait for running programs: %s", strerror(-g.err));
		policy_free(&p);
		return g.err;
	}
	err = dp_sizes_check(m, cfg, &p, d);
	if (err) {
		policy_free(&p);
		return err;
	}
	nr = dp_rec_sorted_rules(&p, &idx);
	if (!nr) {
		err = -ENOMEM;
		goto out;
	}
	if (mkdir_p(rec_dir, 0700))
		pr_warn("dataplane: cannot create %s: %s (full installs only)", rec_dir, strerror(errno));
	if (!dp_rec_ident(m, &id) && !dp_rec_load(rec_dir, active, &id, true, &act) && act.h.gen == gen) {
		have_act = true;
		have_old = !dp_rec_load(rec_dir, next, &id, true, &old) &&
			   (old.h.gen == gen || old.h.gen + 1 == gen);
	}
	dp_rec_drop(rec_dir, next);
	st.incremental = have_old;
	pr_debug("dataplane: compiled, records read (%.1f ms)", clock_ms() - t0);
	err = write_slot(m, &p, nr, idx, have_old ? &old : NULL, &st, d);
	pr_debug("dataplane: slot %u written (%.1f ms)", next, clock_ms() - t0);
	if (!err)
		err = dp_policy_flip_nowait(m, next, d);
	pr_debug("dataplane: flipped (%.1f ms)", clock_ms() - t0);
	if (err) {
		dp_slot_clear(m, next);
		goto out;
	}
	gen++;
	if ((err = dp_rec_save(rec_dir, &id, next, gen, &p, nr)))
		pr_warn("dataplane: cannot write the record of policy slot %u in %s: %s (the next "
			"install writes it in full)", next, rec_dir, strerror(-err));
	err = 0;
	if (have_act)
		goto out;	/* the old slot and its record stay: the next install's base */
	/* no valid record of the old slot: once no program reads it, bring it
	 * up to date, so the next install is a difference again */
	if ((err = dp_policy_wait(m))) {
		pr_warn("dataplane: policy swapped, but cannot wait for running programs: %s",
			strerror(-err));
		err = 0;
		goto out;
	}
	st.old_updated = true;
	dp_rec_drop(rec_dir, active);
	reslot(&p, active);
	for (size_t i = 0; i < p.n_rules; i++)
		nr[i].k.slot = active;	/* the slot is the first key byte: the order stays */
	err = write_slot(m, &p, nr, idx, NULL, &st, d);
	if (!err && (err = dp_rec_save(rec_dir, &id, active, gen, &p, nr)))
		pr_warn("dataplane: cannot write the record of policy slot %u in %s: %s", active, rec_dir,
			strerror(-err));
	if (err) {
		pr_warn("dataplane: policy swapped, but the old slot %u was not brought up to date: %s",
			active, strerror(-err));
		dp_rec_drop(rec_dir, active);
		st.old_updated = false;
	}
	pr_debug("dataplane: old slot %u brought up to date (%.1f ms)", active, clock_ms() - t0);
	err = 0;
out:
	last_stats = st;
	pr_debug("dataplane: policy slot %u written %s: %zu nodes, %zu atoms, %zu rule tables, "
		 "%zu deleted, %zu other entries", next, st.incremental ? "by difference" : "in full",
		 st.nodes, st.atoms, st.rules, st.rules_deleted, st.other);
	free(nr);
	free(idx);
	dp_rec_free(&old);
	dp_rec_free(&act);
	policy_free(&p);
	return err;
}
