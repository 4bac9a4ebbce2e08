// SPDX-License-Identifier: GPL-2.0
/* dataplane_rec.c — the slot records of the incremental install; see
 * dataplane_rec.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "dataplane/dataplane_rec.h"
#include "lib/fileutil.h"
#include "lib/bpfobj.h"
#include "lib/fnv.h"
#include "lib/log.h"
#include "lib/statedir.h"

void dp_rec_free(struct rec *r)
{
	free(r->rules);
	free(r->tenants);
	free(r->ifaces);
	free(r->ports);
	memset(r, 0, sizeof(*r));
}

/* What a record must name to describe these maps. */
int dp_rec_ident(const struct dp_maps *m, struct rec_hdr *h)
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	memset(h->boot, 0, sizeof(h->boot));
	if (fd < 0)
		return -errno;
	n = read(fd, h->boot, sizeof(h->boot) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	h->ids[0] = bpfobj_id(m->state);
	h->ids[1] = bpfobj_id(m->rules);
	h->ids[2] = bpfobj_id(m->ifaces);
	h->ids[3] = bpfobj_id(m->tenants);
	for (int i = 0; i < 4; i++)
		if (!h->ids[i])
			return -ENOENT;
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n <= 0)
			return n ? -errno : -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/* The record of slot, if it describes these maps; header only unless full. */
int dp_rec_load(const char *dir, unsigned slot, const struct rec_hdr *id, bool full, struct rec *r)
{
	char path[PATH_MAX];
	int fd, err;

	memset(r, 0, sizeof(*r));
	statedir_slot_rec(path, dir, slot);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = read_all(fd, &r->h, sizeof(r->h));
	if (err)
		goto out;
	err = -ESTALE;
	if (memcmp(r->h.magic, REC_MAGIC, sizeof(REC_MAGIC)) || r->h.slot != slot ||
	    memcmp(r->h.ids, id->ids, sizeof(id->ids)) || memcmp(r->h.boot, id->boot, sizeof(id->boot)) ||
	    r->h.n_rules > RP_RULES_MAX || r->h.n_tenants > RP_TENANT_ID_MAX + 2 ||
	    r->h.n_ifaces > RP_IFACES_MAX || r->h.n_ports > 65536)
		goto out;
	err = 0;
	if (!full)
		goto out;
	r->rules = malloc((r->h.n_rules + 1) * sizeof(*r->rules));
	r->tenants = malloc((r->h.n_tenants + 1) * sizeof(*r->tenants));
	r->ifaces = malloc((r->h.n_ifaces + 1) * sizeof(*r->ifaces));
	r->ports = malloc((r->h.n_ports + 1) * sizeof(*r->ports));
	if (!r->rules || !r->tenants || !r->ifaces || !r->ports) {
		err = -ENOMEM;
		goto out;
	}
	err = read_all(fd, r->rules, r->h.n_rules * sizeof(*r->rules));
	if (!err)
		err = read_all(fd, r->tenants, r->h.n_tenants * sizeof(*r->tenants));
	if (!err)
		err = read_all(fd, r->ifaces, r->h.n_ifaces * sizeof(*r->ifaces));
	if (!err)
		err = read_all(fd, r->ports, r->h.n_ports * sizeof(*r->ports));
out:
	close(fd);
	if (err)
		dp_rec_free(r);
	return err;
}

void dp_rec_drop(const char *dir, unsigned slot)
{
	char path[PATH_MAX];

	statedir_slot_rec(path, dir, slot);
	if (unlink(path) && errno != ENOENT)
		pr_warn("dataplane: cannot remove %s: %s", path, strerror(errno));
}

static uint64_t hash_val(const struct rp_policy *p, const struct pol_rule *r)
{
	return fnv1a(FNV1A_BASIS ^ r->n, p->segs + r->off, r->n * sizeof(*p->segs));
}

/* The order of rule keys in records: as two 64-bit words (faster than
 * memcmp on 300,000 keys); any total order does, the same on both sides.
 * Keys differing only in their slot byte keep their order when every slot
 * changes alike (reslot()). */
int dp_rec_cmp_key(const void *a, const void *b)
{
	uint64_t x[2], y[2];

	_Static_assert(sizeof(struct rp_rule_key) == sizeof(x), "rule key: two words");
	memcpy(x, a, sizeof(x));
	memcpy(y, b, sizeof(y));
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* The policy's rule keys sorted, with the hash of each value. */
struct rec_rule *dp_rec_sorted_rules(const struct rp_policy *p, uint32_t **idx_out)
{
	struct rec_rule *v = malloc((p->n_rules + 1) * sizeof(*v));
	uint32_t *idx = malloc((p->n_rules + 1) * sizeof(*idx));

	if (!v || !idx) {
		free(v);
		free(idx);
		return NULL;
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		v[i].k = p->rules[i].k;
		/* the index rides in the hash until sorted */
		v[i].h = i;
	}
	qsort(v, p->n_rules, sizeof(*v), dp_rec_cmp_key);
	for (size_t i = 0; i < p->n_rules; i++) {
		idx[i] = v[i].h;
		v[i].h = hash_val(p, &p->rules[idx[i]]);
	}
	*idx_out = idx;
	return v;
}

int dp_rec_save(const char *dir, const struct rec_hdr *id, unsigned slot, uint64_t gen,
		    const struct rp_policy *p, const struct rec_rule *rules)
{
	struct rec_hdr h = *id;
	char path[PATH_MAX];
	const struct iovec iov[] = {
		{ &h, sizeof(h) },
		{ (void *)rules, p->n_rules * sizeof(*rules) },
		{ p->tenants, p->n_tenants * sizeof(*p->tenants) },
		{ p->ifaces, p->n_ifaces * sizeof(*p->ifaces) },
		{ p->ports, p->n_ports * sizeof(*p->ports) },
	};

	memcpy(h.magic, REC_MAGIC, sizeof(REC_MAGIC));
	h.slot = slot;
	h.gen = gen;
	h.n_rules = p->n_rules;
	h.n_tenants = p->n_tenants;
	h.n_ifaces = p->n_ifaces;
	h.n_ports = p->n_ports;
	h.global = p->global;
	statedir_slot_rec(path, dir, slot);
	/* not durable: the maps do not outlive a reboot, and the boot id
	 * makes a record of an earlier boot stale anyway */
	return file_replace(path, iov, sizeof(iov) / sizeof(iov[0]), 0600, false);
}
