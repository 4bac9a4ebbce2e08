// SPDX-License-Identifier: GPL-2.0
/* metrics_rules.c — rempart_rule_packets_total{tenant,rule,action}: the
 * per-rule counters of the dataplane (rp_rule_counters, keyed by the ids
 * the compiler gives the rules and shares: policy/policy_refs.h) named back
 * from the configuration.
 *
 * A reload that adds or removes a rule before others moves their ids, so a
 * counter cell changes hands.  The series follow a rule by its name: at
 * each change (metrics_rules_follow) every series takes what its old cell
 * counted since, and the cell it moves to starts from what that cell held
 * then.  Within one daemon the series only grow; a new daemon starts from
 * the cells as they are. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "app/metrics.h"
#include "policy/policy_refs.h"

struct rule_series {
	char *tenant, *name;	/* name: the rule's, or "share:NAME" */
	bool allow;
	uint32_t id;
	uint64_t acc, base;	/* value = acc + cell(id) - base */
};

static int open_cells(const char *pin_dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", pin_dir ? pin_dir : RP_PIN_DIR, RP_PIN_RULE_COUNTERS);
	return bpf_obj_get(path);
}

/* Packets of cell ID summed over the CPUs (0 when unreadable). */
static uint64_t cell(int fd, uint32_t id, struct rp_counter *buf, int ncpu)
{
	uint64_t sum = 0;

	if (fd < 0 || bpf_map_lookup_elem(fd, &id, buf))
		return 0;
	for (int c = 0; c < ncpu; c++)
		sum += buf[c].packets;
	return sum;
}

static uint64_t value(const struct rule_series *s, uint64_t now)
{
	return s->acc + (now >= s->base ? now - s->base : now);	/* fewer: the map was made again */
}

static void series_free(struct rule_series *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].tenant);
		free(v[i].name);
	}
	free(v);
}

void metrics_rules_free(struct metrics_rules *r)
{
	series_free(r->v, r->n);
	memset(r, 0, sizeof(*r));
}

int metrics_rules_follow(struct metrics_rules *r, const struct rp_config *cfg, const char *pin_dir)
{
	int ncpu = libbpf_num_possible_cpus(), fd = open_cells(pin_dir);
	struct rp_counter *buf = ncpu > 0 ? calloc(ncpu, sizeof(*buf)) : NULL;
	struct policy_ref *refs = NULL;
	struct rule_series *v = NULL;
	size_t n = 0;
	int err = -ENOMEM;

	if (!buf || policy_refs(cfg, &refs, &n))
		goto out;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		goto out;
	for (size_t i = 0; i < r->n; i++)	/* what the old cells counted */
		r->v[i].acc = value(&r->v[i], cell(fd, r->v[i].id, buf, ncpu));
	for (size_t i = 0; i < n; i++) {
		const char *tn = cfg->tenants[refs[i].tenant].name;

		v[i].tenant = strdup(tn);
		if (asprintf(&v[i].name, "%s%s", refs[i].share ? "share:" : "", refs[i].name) < 0)
			v[i].name = NULL;
		if (!v[i].tenant || !v[i].name) {
			series_free(v, n);
			v = NULL;
			goto out;
		}
		v[i].id = refs[i].id;
		v[i].allow = refs[i].allow;
		/* the first time, the cells are the rules' own */
		v[i].base = r->followed ? cell(fd, v[i].id, buf, ncpu) : 0;
		for (size_t k = 0; k < r->n; k++)
			if (!strcmp(r->v[k].tenant, tn) && !strcmp(r->v[k].name, v[i].name)) {
				v[i].acc = r->v[k].acc;
				break;
			}
	}
	series_free(r->v, r->n);
	r->v = v;
	r->n = n;
	r->followed = true;
	err = 0;
out:
	free(refs);
	free(buf);
	if (fd >= 0)
		close(fd);
	return err;
}

void metrics_render_rules(const struct metrics_state *st, FILE *f)
{
	struct metrics_rules own = { 0 };
	const struct metrics_rules *r = st->rules;
	int ncpu = libbpf_num_possible_cpus(), fd;
	struct rp_counter *buf;

	if (!st->cfg)
		return;
	if (!r || !r->followed) {	/* no history: the cells as they are */
		if (metrics_rules_follow(&own, st->cfg, st->pin_dir))
			return;
		r = &own;
	}
	fd = open_cells(st->pin_dir);
	buf = ncpu > 0 ? calloc(ncpu, sizeof(*buf)) : NULL;
	if (fd >= 0 && buf && r->n) {
		fprintf(f, "# HELP rempart_rule_packets_total Packets decided by a [rule] (or a "
			   "[share], rule=\"share:NAME\") of a tenant, by its action.\n"
			   "# TYPE rempart_rule_packets_total counter\n");
		for (size_t i = 0; i < r->n; i++)	/* names: [a-z0-9-], nothing to escape */
			fprintf(f, "rempart_rule_packets_total{tenant=\"%s\",rule=\"%s\",action=\"%s\"} "
				"%llu\n", r->v[i].tenant, r->v[i].name, r->v[i].allow ? "allow" : "deny",
				(unsigned long long)value(&r->v[i], cell(fd, r->v[i].id, buf, ncpu)));
	}
	free(buf);
	if (fd >= 0)
		close(fd);
	metrics_rules_free(&own);
}
