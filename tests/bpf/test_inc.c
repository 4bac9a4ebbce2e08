// SPDX-License-Identifier: GPL-2.0
/* test_inc.c — the incremental policy install (dataplane_inc.c) leaves the
 * maps exactly as a full install does.
 *
 * Two loaded skeletons, two sets of maps: F gets a sequence of random
 * configurations through dp_policy_install_inc() (records in a temporary
 * directory), G the same sequence through the full dp_policy_install().
 * The sequence mixes unrelated configurations and small edits of the
 * previous one (a rule's ports, a rule or site removed, a prefix added,
 * intra flipped).  After each install, every slot that should hold the
 * policy is checked against a from-scratch compile of it for that slot:
 * trie nodes and atoms, the rule tables of the slot (the same set of keys,
 * the same values), tenants, interfaces, listen ports, the two index arrays
 * and the global entry.  For F that is the active slot, and the old one
 * against the policy installed before (it is left one generation behind)
 * or, when the install says it brought the old slot up to date, against
 * the same policy; for G the active one.  The test also checks
 * that F really took the incremental path, and that a stale record (maps
 * changed behind its back: generation moved) is not trusted.  Every other
 * install of F uses a policy compiled ahead in a thread for slot 0
 * (dp_precompile_start), renumbered when the slot is 1.
 * INC_ROUNDS (default 60), INC_SEED. */
#include <sys/mman.h>
#include <time.h>
#include "fixture.h"
#include "fixture_rand.h"
#include "policy/policy.h"
#include "tap.h"

static int mm_cmp(int fd, size_t total, size_t first, const void *want, size_t n, size_t sz)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t len = (total * sz + pg - 1) / pg * pg;
	void *mem = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	int r;

	if (mem == MAP_FAILED)
		return -1;
	r = n ? memcmp((char *)mem + first * sz, want, n * sz) : 0;
	munmap(mem, len);
	return r;
}

/* Keys of a hash map with this slot (slot byte at offset slot_off). */
static long count_slot(int fd, size_t ksz, size_t slot_off, unsigned slot)
{
	uint8_t cur[64], next[64];
	void *prev = NULL;
	long n = 0;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		n += next[slot_off] == slot;
		memcpy(cur, next, ksz);
		prev = cur;
	}
	return n;
}

/* 0 when slot of m holds exactly cfg's policy; else what differs in why. */
static int check_slot(const struct dp_maps *m, const struct rp_config *cfg, unsigned slot, char *why,
		      size_t wlen)
{
	struct rp_ifidx_val *ifx = calloc(RP_IFIDX_MAX, sizeof(*ifx));
	struct rp_portidx_val *pix = calloc(65536, sizeof(*pix));
	struct diag d = { 0 };
	struct rp_policy p;
	int bad = 0;

	if (policy_compile(cfg, slot, NULL, NULL, &p, &d)) {
		snprintf(why, wlen, "compile failed");
		diag_free(&d);
		free(ifx);
		free(pix);
		return -1;
	}
	diag_free(&d);
#define BAD(...) do { if (!bad) snprintf(why, wlen, __VA_ARGS__); bad = 1; } while (0)
	if (mm_cmp(m->nodes, (size_t)RP_SLOTS * policy_nodes_per_slot(), (size_t)slot * policy_nodes_per_slot(), p.nodes,
		   p.n_nodes, sizeof(__u32) * RP_NODE_STRIDE))
		BAD("slot %u: trie nodes differ (%zu nodes)", slot, p.n_nodes);
	if (mm_cmp(m->atoms, (size_t)RP_SLOTS * policy_atoms_per_slot(), policy_atom_key(slot, 0), p.atoms,
		   p.n_atoms, sizeof(struct rp_atom)))
		BAD("slot %u: atoms differ", slot);
	for (size_t i = 0; i < p.n_rules && !bad; i++) {
		struct rp_rule_val want, got;

		policy_rule_val(&p, &p.rules[i], &want);
		if (bpf_map_lookup_elem(m->rules, &p.rules[i].k, &got) || memcmp(&want, &got, sizeof(got)))
			BAD("slot %u: rule table %zu (tenant %u, %u/%u, pcls %u) missing or different", slot, i,
			    p.rules[i].k.tenant, p.rules[i].k.src_class, p.rules[i].k.dst_class, p.rules[i].k.pcls);
	}
	if (count_slot(m->rules, sizeof(struct rp_rule_key), offsetof(struct rp_rule_key, slot), slot) !=
	    (long)p.n_rules)
		BAD("slot %u: %ld rule tables, want %zu", slot,
		    count_slot(m->rules, sizeof(struct rp_rule_key), 0, slot), p.n_rules);
	for (size_t i = 0; i < p.n_tenants && !bad; i++) {
		struct rp_tenant_cfg got;

		if (bpf_map_lookup_elem(m->tenants, &p.tenants[i].key, &got) ||
		    memcmp(&got, &p.tenants[i].v, sizeof(got)))
			BAD("slot %u: tenant entry %u differs", slot, p.tenants[i].key);
	}
	for (size_t i = 0; i < p.n_ifaces && !bad; i++) {
		struct rp_iface_val got;

		if (bpf_map_lookup_elem(m->ifaces, &p.ifaces[i].k, &got) || got.tenant != p.ifaces[i].v.tenant)
			BAD("slot %u: interface %u/%u differs", slot, p.ifaces[i].k.ifindex, p.ifaces[i].k.vid);
		if (!p.ifaces[i].k.vid && p.ifaces[i].k.ifindex < RP_IFIDX_MAX) {
			if (p.ifaces[i].k.hook == RP_HOOK_CLOUD_IN)
				ifx[p.ifaces[i].k.ifindex].cloud = p.ifaces[i].v.tenant;
			else
				ifx[p.ifaces[i].k.ifindex].tunnel = p.ifaces[i].v.tenant;
		}
	}
	if (count_slot(m->ifaces, sizeof(struct rp_iface_key), offsetof(struct rp_iface_key, slot), slot) !=
	    (long)p.n_ifaces)
		BAD("slot %u: interface entries: want %zu", slot, p.n_ifaces);
	for (size_t i = 0; i < p.n_ports && !bad; i++) {
		struct rp_port_val got;

		if (bpf_map_lookup_elem(m->ports, &p.ports[i].k, &got) || got.tenant != p.ports[i].v.tenant)
			BAD("slot %u: port %u differs", slot, p.ports[i].k.port);
		pix[p.ports[i].k.port].tenant = p.ports[i].v.tenant;
	}
	if (count_slot(m->ports, sizeof(struct rp_port_key), offsetof(struct rp_port_key, slot), slot) !=
	    (long)p.n_ports)
		BAD("slot %u: port entries: want %zu", slot, p.n_ports);
	if (mm_cmp(m->ifidx, (size_t)RP_SLOTS * RP_IFIDX_MAX, rp_ifidx_key(slot, 0), ifx, RP_IFIDX_MAX,
		   sizeof(*ifx)))
		BAD("slot %u: ifindex array differs", slot);
	if (mm_cmp(m->portidx, (size_t)RP_SLOTS * RP_PORTIDX_PER_SLOT, rp_portidx_key(slot, 0), pix,
		   RP_PORTIDX_PER_SLOT, sizeof(*pix)))
		BAD("slot %u: listen-port array differs", slot);
	{
		struct rp_global_cfg got;
		__u32 k = slot;

		if (bpf_map_lookup_elem(m->global, &k, &got) || memcmp(&got, &p.global, sizeof(got)))
			BAD("slot %u: global entry differs", slot);
	}
#undef BAD
	policy_free(&p);
	free(ifx);
	free(pix);
	return bad;
}

/* A small edit of c (already resolved): what an operator changes. */
static const char *mutate(struct rp_config *c)
{
	struct rp_tenant *t = &c->tenants[rnd(c->n_tenants)];

	switch (rnd(6)) {
	case 0:
		if (t->n_rules) {
			t->rules[rnd(t->n_rules)].ports = rand_ports();
			return "a rule's ports";
		}
		/* fall through */
	case 1:
		if (t->n_rules) {
			t->n_rules--;	/* the last rule (its lists leak: a test) */
			return "a rule removed";
		}
		/* fall through */
	case 2:
		t->intra_allow = !t->intra_allow;
		return "intra flipped";
	case 3:
		if (t->n_sites > 1) {
			t->n_sites--;
			return "a site removed";
		}
		/* fall through */
	case 4: {
		struct rp_site *s = &t->sites[rnd(t->n_sites)];
		struct rp_prefix_list more = rand_plist(1, 30);

		s->allowed_ips = fx_pcat(s->allowed_ips, &more);
		return "a site prefix added";
	}
	default:
		/* another port of the tenant's own ten (rand_config): two tenants
		 * on one port is a config error, which the compile never sees */
		t->listen_port = t->listen_port % 10 == 9 ? t->listen_port - 9 : t->listen_port + 1;
		return "a listen port";
	}
}

/* Round k's configuration (the same every time it is asked for); every
 * third round a new one, else the previous round's, edited. */
static const char *round_config(uint64_t seed, unsigned k, struct rp_config *c)
{
	const char *what = "a new configuration";

	rs = seed * 0x9e3779b97f4a7c15ULL + (k % 3 ? k - 1 : k) + 1;
	rnd64();
	rand_config(c);
	if (k % 3) {
		rs = seed ^ (k * 0x51ed27ULL + 7);
		rnd64();
		what = mutate(c);
	}
	return what;
}

int main(void)
{
	const char *env = getenv("INC_ROUNDS");
	unsigned rounds = env ? strtoul(env, NULL, 0) : 60, incr = 0, prev = 0, lagging = 0;
	unsigned precompiled = 0;
	bool have_prev = false;
	uint64_t seed = getenv("INC_SEED") ? strtoull(getenv("INC_SEED"), NULL, 0) : (uint64_t)time(NULL);
	char dir[] = "/tmp/ap-inc.XXXXXX", why[256] = "";
	struct fx F, G;
	int bad = 0;

	if (geteuid()) {
		printf("SKIP: inc: needs root (BPF, network namespace)\n");
		return 0;
	}
	if (fx_netns() || fx_load(&F, true) || fx_load(&G, true) || !mkdtemp(dir)) {
		printf("FAIL: inc: set-up (namespace, skeletons, temporary directory)\n");
		return 1;
	}
	printf("# seed %llu, %u rounds, records in %s\n", (unsigned long long)seed, rounds, dir);
	for (unsigned k = 0; k < rounds && !bad; k++) {
		struct rp_config c;
		struct dp_install_stats st;
		struct diag d = { 0 };
		const char *what;
		unsigned slot;
		int e1, e2;

		what = round_config(seed, k, &c);
		if (k % 2) {	/* compiled ahead in a thread, as `apply` does */
			struct dp_precompiled *pc = dp_precompile_start(&c);

			e1 = dp_policy_install_pre(&F.m, &c, NULL, NULL, dir, pc, &d);
			dp_precompile_drop(pc);
			dp_install_last_stats(&st);
			if (!e1 && !st.precompiled) {
				printf("FAIL: inc: round %u (%s): the policy compiled ahead was not used\n",
				       k, what);
				bad = 1;
			}
			precompiled += st.precompiled;
		} else {
			e1 = dp_policy_install_inc(&F.m, &c, NULL, NULL, dir, &d);
			dp_install_last_stats(&st);
		}
		e2 = dp_policy_install(&G.m, &c, NULL, NULL, &d);
		diag_free(&d);
		if (e1 != e2) {
			printf("FAIL: inc: round %u (%s): incremental install %d, full install %d\n", k, what, e1, e2);
			bad = 1;
			break;
		}
		if (e1)
			continue;	/* beyond the maps: both refused */
		incr += st.incremental;
		if (k == rounds / 2 + 1 && st.incremental) {
			printf("FAIL: inc: round %u: a stale record was trusted (generation moved)\n", k);
			bad = 1;
		} else if (k >= 1 && k != rounds / 2 + 1 && !st.incremental) {
			printf("FAIL: inc: round %u (%s): the install was not incremental (records ignored)\n", k, what);
			bad = 1;
		}
		dp_active_slot(&F.m, &slot, NULL);
		if (check_slot(&F.m, &c, slot, why, sizeof(why))) {
			printf("FAIL: inc: round %u (%s): incremental: %s\n", k, what, why);
			bad = 1;
		}
		if (st.old_updated) {
			if (check_slot(&F.m, &c, slot ^ 1, why, sizeof(why))) {
				printf("FAIL: inc: round %u (%s): old slot brought up to date: %s\n", k, what, why);
				bad = 1;
			}
		} else if (!have_prev) {
			printf("FAIL: inc: round %u: the first install left the old slot empty\n", k);
			bad = 1;
		} else {
			struct rp_config pc;

			round_config(seed, prev, &pc);
			if (check_slot(&F.m, &pc, slot ^ 1, why, sizeof(why))) {
				printf("FAIL: inc: round %u (%s): old slot is not round %u's policy: %s\n",
				       k, what, prev, why);
				bad = 1;
			}
			lagging++;
		}
		prev = k;
		have_prev = true;
		dp_active_slot(&G.m, &slot, NULL);
		if (check_slot(&G.m, &c, slot, why, sizeof(why))) {
			printf("FAIL: inc: round %u (%s): full install: %s\n", k, what, why);
			bad = 1;
		}
		if (k == rounds / 2) {	/* the maps change behind the records' back */
			struct rp_config c2;

			rs = seed + 99;
			rnd64();
			rand_config(&c2);
			dp_policy_install(&F.m, &c2, NULL, NULL, &d);
			diag_free(&d);
			/* the old slot now holds round k's policy still */
		}
	}
	if (!bad)
		printf("PASS: inc: %u installs (%u incremental, %u compiled ahead in a thread) leave the "
		       "active slot as a from-scratch compile, and the old one as the previous policy's "
		       "(%u times) or the same (nodes, atoms, rule tables, tenants, interfaces, ports, "
		       "arrays, global)\n", rounds, incr, precompiled, lagging);
	if (!bad && !lagging) {
		printf("FAIL: inc: the old slot was never left behind (always brought up to date)\n");
		bad = 1;
	}
	{
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	fx_unload(&F);
	fx_unload(&G);
	return bad;
}
