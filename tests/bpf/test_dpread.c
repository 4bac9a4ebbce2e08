// SPDX-License-Identifier: GPL-2.0
/* test_dpread.c — the dataplane reader (userspace/dataplane/dp_read.c) gives
 * back what a fresh compile of the same configuration wrote, judged without
 * knowing how the tries are laid out in the maps.
 *
 * A skeleton is loaded, its policy maps pinned in a private BPF filesystem,
 * and a sequence of configurations (the fixed one of the table test, then
 * random ones, DPREAD_ROUNDS, DPREAD_SEED) installed one after the other, so
 * both slots get used.  After each install the reader opens the pins and:
 *  - the runs of every tenant's trie (and the gateway-wide one), both
 *    families, equal the runs painted from the compiler's own list of
 *    (prefix, atom) entries by longest prefix (policy.h keep_prefixes): a
 *    node format may change, this list and this test do not;
 *  - a lookup of random addresses and of every run's ends agrees with the
 *    runs; every atom reached equals the compiled one;
 *  - rule tables, tenants, interfaces, listen ports and the global entry of
 *    the active slot are exactly the compiled ones.
 * Then the geo runs (Tor's database) against the database's own ranges and
 * against the lookup the programs use, and the refusals: a missing
 * directory (-ENOENT), a map of another layout (-EPROTO, named). */
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include "dataplane/dp_read.h"
#include "fixture.h"
#include "fixture_cfg.h"
#include "fixture_rand.h"
#include "geo/geo.h"
#include "geo/geo_bpf.h"
#include "policy/policy.h"
#include "tap.h"

#define PIN "/sys/fs/bpf/dpread"

static int geo_fd;

static const struct { size_t off; const char *name; } pins[] = {
	{ offsetof(struct dp_maps, state), RP_PIN_STATE },
	{ offsetof(struct dp_maps, nodes), RP_PIN_NODES },
	{ offsetof(struct dp_maps, atoms), RP_PIN_ATOMS },
	{ offsetof(struct dp_maps, rules), RP_PIN_RULES },
	{ offsetof(struct dp_maps, tenants), RP_PIN_TENANTS },
	{ offsetof(struct dp_maps, global), RP_PIN_GLOBAL },
	{ offsetof(struct dp_maps, ifaces), RP_PIN_IFACES },
	{ offsetof(struct dp_maps, ifidx), RP_PIN_IFIDX },
	{ offsetof(struct dp_maps, portidx), RP_PIN_PORTIDX },
	{ offsetof(struct dp_maps, ports), RP_PIN_PORTS },
};

/* The runs of one (tenant, family) painted from the compiler's entries:
 * every elementary interval between prefix boundaries gets the atom of the
 * longest prefix holding it. */
static size_t paint(const struct rp_policy *p, unsigned tenant, int family, struct dpr_run **out)
{
	size_t nb = 0, n = 0, cap = 0;
	rp_u128 *b = calloc(2 * p->n_prefixes + 2, sizeof(*b));
	struct dpr_run *v = NULL;

	b[nb++] = 0;
	for (size_t i = 0; i < p->n_prefixes; i++) {
		rp_u128 lo, hi;

		if (p->prefixes[i].tenant != tenant || p->prefixes[i].p.family != family)
			continue;
		an_prefix_range(&p->prefixes[i].p, &lo, &hi);
		b[nb++] = lo;
		if (hi < an_max(family))
			b[nb++] = hi + 1;
	}
	for (size_t i = 1; i < nb; i++)	/* insertion sort: small */
		for (size_t j = i; j > 0 && b[j - 1] > b[j]; j--) {
			rp_u128 t = b[j];

			b[j] = b[j - 1];
			b[j - 1] = t;
		}
	for (size_t i = 0; i < nb; i++) {
		rp_u128 lo = b[i], hi;
		int best = -1;
		uint32_t atom = 0;

		if (i + 1 < nb && b[i + 1] == lo)
			continue;
		hi = i + 1 < nb ? b[i + 1] - 1 : an_max(family);
		for (size_t k = 0; k < p->n_prefixes; k++) {
			rp_u128 plo, phi;

			if (p->prefixes[k].tenant != tenant || p->prefixes[k].p.family != family)
				continue;
			an_prefix_range(&p->prefixes[k].p, &plo, &phi);
			if (plo <= lo && hi <= phi && p->prefixes[k].p.len > best) {
				best = p->prefixes[k].p.len;
				atom = p->prefixes[k].atom;
			}
		}
		if (n && v[n - 1].val == atom) {
			v[n - 1].hi = hi;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
		}
		v[n++] = (struct dpr_run){ lo, hi, atom };
	}
	free(b);
	*out = v;
	return n;
}

static rp_u128 rnd_addr(int family)
{
	rp_u128 v = (rp_u128)rnd64() << 64 | rnd64();

	/* half of them in the pools the random prefixes come from */
	if (chance(50))
		v = family == AF_INET ? (rp_u128)0x0a000000 | (v & 0x3ffff) :
			(rp_u128)0xfd00000000000000ULL << 64 | (v & (((rp_u128)1 << 72) - 1));
	return v & an_max(family);
}

static int check_tries(const struct dp_read *r, const struct rp_policy *p, const struct rp_config *cfg,
		       char *why, size_t wlen)
{
	unsigned ids[64];
	size_t nid = 0;

	ids[nid++] = 0;
	for (size_t i = 0; i < cfg->n_tenants && nid < 64; i++)
		ids[nid++] = cfg->tenants[i].id;
	for (size_t t = 0; t < nid; t++)
		for (int f = 0; f < 2; f++) {
			int family = f ? AF_INET6 : AF_INET;
			struct dpr_run *got = NULL, *want = NULL;
			size_t ng = 0, nw = paint(p, ids[t], family, &want);
			int bad = 0;

			if (dpr_trie_runs(r, r->slot, ids[t], family, &got, &ng)) {
				snprintf(why, wlen, "tenant %u: runs unreadable", ids[t]);
				bad = 1;
			} else if (ng != nw) {
				snprintf(why, wlen, "tenant %u family %d: %zu runs read, %zu painted", ids[t],
					 family, ng, nw);
				bad = 1;
			}
			for (size_t i = 0; !bad && i < ng; i++)
				if (got[i].lo != want[i].lo || got[i].hi != want[i].hi ||
				    got[i].val != want[i].val) {
					snprintf(why, wlen, "tenant %u family %d: run %zu differs", ids[t], family, i);
					bad = 1;
				}
			/* lookups at the ends of runs and at random addresses */
			for (size_t i = 0; !bad && i < ng + 200; i++) {
				uint8_t a[16];
				rp_u128 x = i < ng ? (i & 1 ? got[i].hi : got[i].lo) : rnd_addr(family);
				size_t k = dpr_run_find(got, ng, x);

				an_to_bytes(family, x, a);
				if (dpr_trie_lookup(r, r->slot, ids[t], family, a) != got[k].val) {
					snprintf(why, wlen, "tenant %u family %d: lookup disagrees with the runs",
						 ids[t], family);
					bad = 1;
				}
			}
			for (size_t i = 0; !bad && i < ng; i++) {
				const struct rp_atom *at = dpr_atom(r, got[i].val);
				uint32_t local = got[i].val - r->slot * (uint32_t)(r->n_atoms / RP_SLOTS);

				if (got[i].val && (!at || local >= p->n_atoms ||
						   memcmp(at, &p->atoms[local], sizeof(*at)))) {
					snprintf(why, wlen, "tenant %u: atom %u differs", ids[t], got[i].val);
					bad = 1;
				}
			}
			free(got);
			free(want);
			if (bad)
				return -1;
		}
	return 0;
}

struct rule_cmp {
	const struct rp_policy *p;
	size_t seen, bad;
};

static int rule_cb(const struct rp_rule_key *k, const struct rp_rule_val *v, void *arg)
{
	struct rule_cmp *c = arg;

	c->seen++;
	for (size_t i = 0; i < c->p->n_rules; i++)
		if (!memcmp(&c->p->rules[i].k, k, sizeof(*k))) {
			struct rp_rule_val want;

			policy_rule_val(c->p, &c->p->rules[i], &want);
			c->bad += !!memcmp(&want, v, sizeof(want));
			return 0;
		}
	c->bad++;
	return 0;
}

static int check_tables(const struct dp_read *r, const struct rp_policy *p, char *why, size_t wlen)
{
	struct rule_cmp rc = { .p = p };
	struct rp_global_cfg g;
	struct dpr_iface *ifs = NULL;
	struct dpr_port *ps = NULL;
	size_t nif = 0, nps = 0;
	int bad = 0;

	dpr_rules_foreach(r, r->slot, rule_cb, &rc);
	if (rc.seen != p->n_rules || rc.bad) {
		snprintf(why, wlen, "rule tables: %zu read, %zu compiled, %zu differ", rc.seen, p->n_rules, rc.bad);
		return -1;
	}
	for (size_t i = 0; i < p->n_tenants; i++) {
		struct rp_tenant_cfg tc;
		unsigned id = p->tenants[i].key / RP_SLOTS;

		if (dpr_tenant(r, r->slot, id, &tc) || memcmp(&tc, &p->tenants[i].v, sizeof(tc))) {
			snprintf(why, wlen, "tenant entry %u differs", id);
			return -1;
		}
	}
	if (dpr_global(r, r->slot, &g) || memcmp(&g, &p->global, sizeof(g))) {
		snprintf(why, wlen, "global entry differs");
		return -1;
	}
	if (dpr_ifaces(r, r->slot, &ifs, &nif) || nif != p->n_ifaces)
		bad = 1;
	for (size_t i = 0; !bad && i < p->n_ifaces; i++) {
		const struct pol_iface *e = &p->ifaces[i];
		bool found = false;

		for (size_t k = 0; k < nif; k++)
			found |= !memcmp(&ifs[k].k, &e->k, sizeof(e->k)) && ifs[k].tenant == e->v.tenant;
		if (!found || dpr_iface_tenant(r, r->slot, e->k.ifindex, e->k.vid, e->k.hook) != e->v.tenant)
			bad = 1;
	}
	free(ifs);
	if (bad) {
		snprintf(why, wlen, "interfaces differ");
		return -1;
	}
	if (dpr_ports(r, r->slot, &ps, &nps) || nps != p->n_ports)
		bad = 1;
	for (size_t i = 0; !bad && i < p->n_ports; i++) {
		bool found = false;

		for (size_t k = 0; k < nps; k++)
			found |= ps[k].port == p->ports[i].k.port && ps[k].tenant == p->ports[i].v.tenant;
		if (!found || dpr_port_tenant(r, r->slot, p->ports[i].k.port) != p->ports[i].v.tenant)
			bad = 1;
	}
	free(ps);
	if (bad) {
		snprintf(why, wlen, "listen ports differ");
		return -1;
	}
	return 0;
}

static void check_one(struct fx *f, struct rp_config *cfg, const char *what)
{
	struct rp_policy p = { .keep_prefixes = true };
	struct diag d = { 0 };
	struct dp_read r;
	char why[256] = "";
	int err;

	err = dp_policy_install(&f->m, cfg, NULL, NULL, &d);
	if (err) {
		tap_result(0, "dpread: %s: install failed", what);
		diag_print(&d, stdout);
		diag_free(&d);
		return;
	}
	err = dpr_open(&r, PIN, why, sizeof(why));
	if (err) {
		tap_result(0, "dpread: %s: open: %s", what, why);
		diag_free(&d);
		return;
	}
	err = policy_compile(cfg, r.slot, NULL, NULL, &p, &d);
	if (!err)
		err = check_tries(&r, &p, cfg, why, sizeof(why));
	if (!err)
		err = check_tables(&r, &p, why, sizeof(why));
	tap_result(!err, "dpread: %s (slot %u, %zu prefixes): tries, atoms, tables as compiled%s%s", what, r.slot,
		   p.n_prefixes, err ? ": " : "", why);
	policy_free(&p);
	dpr_close(&r);
	diag_free(&d);
}

/* The geo runs: every range of the database, gaps as no country, through
 * the image (exact) and the pinned map (the lookup the programs use). */
static void check_geo(struct fx *f)
{
	struct rp_config cfg = { 0 };
	struct geo_db db = { 0 };
	struct diag d = { 0 };
	struct dp_read r;
	char why[256];
	int bad = 0;

	cfg.geo_ipv4 = "/usr/share/tor/geoip";
	cfg.geo_ipv6 = "/usr/share/tor/geoip6";
	cfg.geo_format = RP_GEO_TOR;
	if (access(cfg.geo_ipv4, R_OK) || geo_load(&cfg, &db, &d)) {
		tap_skip("dpread: geo runs: no Tor geo database (tor-geoipdb)");
		diag_free(&d);
		return;
	}
	if (geo_bpf_load(geo_fd, &db, &d) || dpr_open(&r, PIN, why, sizeof(why))) {
		tap_result(0, "dpread: geo runs: cannot load the database");
		goto out;
	}
	for (int fam = 0; fam < 2; fam++) {
		int family = fam ? AF_INET6 : AF_INET;
		struct dpr_run *v = NULL;
		size_t n = 0, k = 0, nr = fam ? db.n6 : db.n4;
		rp_u128 next = 0;
		unsigned misses = 0;

		if (dpr_geo_runs(&r, family, &v, &n)) {
			tap_result(0, "dpread: geo runs family %d unreadable", family);
			continue;
		}
		/* the database's ranges, gaps filled, adjacent equal merged */
		for (size_t i = 0; i < nr && !bad; i++) {
			rp_u128 lo = fam ? db.v6[i].lo : db.v4[i].lo, hi = fam ? db.v6[i].hi : db.v4[i].hi;
			uint16_t cc = fam ? db.v6[i].cc : db.v4[i].cc;

			if (lo > next) {
				if (k >= n || v[k].lo > next || v[k].hi < lo - 1 ||
				    (v[k].val != RP_CC_NONE))
					bad = 1;
				if (v[k].hi == lo - 1)
					k++;
			}
			if (k >= n || v[k].val != cc || v[k].lo > lo || v[k].hi < hi)
				bad = 1;
			if (!bad && v[k].hi == hi)
				k++;
			next = hi + 1;
		}
		/* and the programs' lookup at the ends of every run */
		for (size_t i = 0; i < n; i++) {
			struct rp_addr a;
			struct geo_bpf_view view;

			if (i == 0 && geo_bpf_view_open(geo_fd, &view))
				break;
			an_to_addr(family, v[i].lo, &a);
			misses += geo_words_lookup(view.w, view.n, &a) != v[i].val;
			an_to_addr(family, v[i].hi, &a);
			misses += geo_words_lookup(view.w, view.n, &a) != v[i].val;
			if (i + 1 == n)
				geo_bpf_view_close(&view);
		}
		tap_result(!bad && !misses && n > 1000, "dpread: geo runs, family %d: %zu runs equal the database's "
			   "%zu ranges and the programs' lookup at both ends of each", family, n, nr);
		free(v);
	}
	dpr_close(&r);
out:
	geo_free(&db);
	diag_free(&d);
}

static void check_refusals(struct fx *f)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	struct dp_read r;
	char why[256] = "";
	int err, fd;

	err = dpr_open(&r, "/sys/fs/bpf/no-such-dir", why, sizeof(why));
	tap_result(err == -ENOENT && strstr(why, "no-such-dir"), "dpread: a missing pin directory is -ENOENT (%s)",
		   why);
	/* rp_atoms of another layout: a value of 20 bytes */
	mkdir("/sys/fs/bpf/dpbad", 0700);
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		char path[256];

		snprintf(path, sizeof(path), "/sys/fs/bpf/dpbad/%s", pins[i].name);
		if (strcmp(pins[i].name, RP_PIN_ATOMS))
			bpf_obj_pin(*(int *)((char *)&f->m + pins[i].off), path);
	}
	bpf_obj_pin(geo_fd, "/sys/fs/bpf/dpbad/" RP_PIN_GEO);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "rp_atoms", 4, 20, 16, &o);
	bpf_obj_pin(fd, "/sys/fs/bpf/dpbad/" RP_PIN_ATOMS);
	err = dpr_open(&r, "/sys/fs/bpf/dpbad", why, sizeof(why));
	tap_result(err == -EPROTO && strstr(why, RP_PIN_ATOMS), "dpread: a map of another layout is -EPROTO (%s)",
		   why);
	close(fd);
}

int main(void)
{
	struct rp_config cfg;
	struct fx f;
	unsigned rounds = getenv("DPREAD_ROUNDS") ? atoi(getenv("DPREAD_ROUNDS")) : 30;
	char name[64];

	if (geteuid() != 0) {
		tap_skip("test_dpread: needs root (BPF)");
		return 0;
	}
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		tap_skip("test_dpread: no private mount namespace with a BPF filesystem: %s", strerror(errno));
		return 0;
	}
	if (fx_netns() || fx_load(&f, true)) {
		tap_result(0, "dpread: set-up (namespace, skeleton)");
		tap_exit();
	}
	mkdir(PIN, 0700);
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		char path[256];

		snprintf(path, sizeof(path), "%s/%s", PIN, pins[i].name);
		if (bpf_obj_pin(*(int *)((char *)&f.m + pins[i].off), path))
			tap_result(0, "dpread: pin %s: %s", path, strerror(errno));
	}
	geo_fd = bpf_map__fd(f.skel->maps.rp_geo);
	bpf_obj_pin(geo_fd, PIN "/" RP_PIN_GEO);

	fx_config_a(&cfg, false);
	check_one(&f, &cfg, "the table test's configuration");
	rs = getenv("DPREAD_SEED") ? strtoull(getenv("DPREAD_SEED"), NULL, 0) : (uint64_t)time(NULL) | 1;
	printf("# DPREAD_SEED=%llu\n", (unsigned long long)rs);
	for (unsigned i = 0; i < rounds; i++) {
		rand_config(&cfg);
		snprintf(name, sizeof(name), "random configuration %u", i);
		check_one(&f, &cfg, name);
	}
	check_geo(&f);
	check_refusals(&f);
	fx_unload(&f);
	tap_exit();
}
