// SPDX-License-Identifier: GPL-2.0
/* test_trie_share.c — identical trie nodes made one (policy_trie.c,
 * trie_share()) change no lookup and take fewer nodes.
 *
 * Random configurations (fixture_rand.h), each compiled for both slots with
 * node sharing off and on: for every tenant's tries (and the gateway-wide
 * ones) and both families, addresses around every prefix of the
 * configuration's tries (its first and last address, one below and one
 * above) and random ones find the same atom in both; no node is left twice;
 * every child of a node has a larger id (no cycle).  Then 200 sites of /64
 * under one tenant, all of the same class: the shared tries take a fraction
 * of the nodes, and a slot sized between the two counts holds the shared
 * policy (-ENOSPC without sharing).
 *
 * With a configuration path as argument: that configuration's node counts
 * without and with sharing, and the compile times (bench/bench_kmem.sh's
 * notes; no test). */
#include <time.h>
#include "fixture_rand.h"
#include "lib/clock.h"
#include "lib/diag.h"
#include "policy/policy.h"
#include "tap.h"

static uint32_t lookup(const struct rp_policy *p, uint32_t root, const uint8_t *addr, unsigned nbytes)
{
	uint32_t base = p->slot * policy_nodes_per_slot(), node = root;

	if (!root)
		return 0;
	for (unsigned i = 0; i < nbytes; i++) {
		uint32_t v = p->nodes[(size_t)(node - base) * RP_NODE_STRIDE + addr[i]];

		if (!(v & RP_NODE_CHILD))
			return v;
		node = v & ~RP_NODE_CHILD;
	}
	return ~0u;	/* a child below the last byte: broken */
}

static void addr_add(uint8_t *a, unsigned nbytes, int delta)
{
	for (int i = (int)nbytes - 1; i >= 0 && delta; i--) {
		int v = a[i] + delta;

		a[i] = (uint8_t)v;
		delta = v > 255 ? 1 : v < 0 ? -1 : 0;
	}
}

/* Do a and b (one config, one slot, sharing off and on) answer alike? */
static bool same_lookups(const struct rp_policy *a, const struct rp_policy *b, const char **why)
{
	for (size_t t = 0; t < a->n_tenants; t++) {
		for (int f = 0; f < 2; f++) {
			unsigned nb = f ? 16 : 4;
			uint32_t ra = f ? a->tenants[t].v.root6 : a->tenants[t].v.root4;
			uint32_t rb = f ? b->tenants[t].v.root6 : b->tenants[t].v.root4;
			uint8_t x[16];

			for (size_t i = 0; i < a->n_prefixes + 2000; i++) {
				if (i < a->n_prefixes) {
					const struct rp_prefix *p = &a->prefixes[i].p;

					if ((p->family == AF_INET6) != f)
						continue;
					memcpy(x, p->addr, nb);
					for (int k = -1; k <= 2; k++) {
						uint8_t y[16];

						memcpy(y, x, nb);
						if (k == 1 || k == 2) {	/* last address, one above */
							for (unsigned bit = p->len; bit < nb * 8; bit++)
								y[bit / 8] |= 0x80 >> bit % 8;
							addr_add(y, nb, k - 1);
						} else {
							addr_add(y, nb, k);
						}
						if (lookup(a, ra, y, nb) != lookup(b, rb, y, nb)) {
							*why = "around a prefix";
							return false;
						}
					}
				} else {
					for (unsigned k = 0; k < nb; k++)
						x[k] = (uint8_t)rnd64();
					if (rnd(2))	/* inside the pools the prefixes come from */
						x[0] = f ? 0xfd : 10;
					if (lookup(a, ra, x, nb) != lookup(b, rb, x, nb)) {
						*why = "a random address";
						return false;
					}
				}
			}
		}
	}
	return true;
}

/* No two nodes alike, every child id larger than its parent's. */
static bool shared_well(const struct rp_policy *p)
{
	uint32_t base = p->slot * policy_nodes_per_slot();

	for (size_t i = 1; i < p->n_nodes; i++) {
		const uint32_t *n = p->nodes + i * RP_NODE_STRIDE;

		for (unsigned e = 0; e < RP_NODE_STRIDE; e++)
			if ((n[e] & RP_NODE_CHILD) && ((n[e] & ~RP_NODE_CHILD) - base <= i ||
						       (n[e] & ~RP_NODE_CHILD) - base >= p->n_nodes))
				return false;
		for (size_t j = i + 1; j < p->n_nodes && p->n_nodes < 4000; j++)
			if (!memcmp(n, p->nodes + j * RP_NODE_STRIDE, RP_NODE_STRIDE * sizeof(*n)))
				return false;
	}
	return true;
}

static int compile(const struct rp_config *c, unsigned slot, bool share, struct rp_policy *p, struct diag *d)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->keep_prefixes = true;
	policy_set_node_sharing(share);
	err = policy_compile(c, slot, NULL, NULL, p, d);
	policy_set_node_sharing(true);
	return err;
}

static int measure(const char *path)
{
	struct rp_config c;
	struct diag d = { 0 };
	struct rp_policy p;
	int err;

	if (config_load(path, RP_CFG_SKIP_KEY_FILES, &c, &d)) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.msgs[i]);
		return 1;
	}
	policy_set_nodes_per_slot(1u << 24);
	for (int share = 0; share < 2; share++) {
		double t0 = clock_ms();

		err = compile(&c, 0, share, &p, &d);
		printf("%s: sharing %s: %zu nodes (%.1f MB a slot), %zu atoms, compiled in %.0f ms (err %d)\n", path,
		       share ? "on" : "off", p.n_nodes, p.n_nodes * RP_NODE_STRIDE * 4 / 1e6, p.n_atoms,
		       clock_ms() - t0, err);
		policy_free(&p);
	}
	config_free(&c);
	diag_free(&d);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned bad = 0, rounds = 60, fewer = 0;
	size_t off_nodes = 0, on_nodes = 0;
	const char *why = "";
	struct rp_policy a, b;
	struct rp_config c;
	struct diag d = { 0 };

	if (argc > 1)
		return measure(argv[1]);
	policy_set_nodes_per_slot(1u << 20);
	rs = 0x5eed5eed1234ull;
	for (unsigned r = 0; r < rounds; r++) {
		rand_config(&c);
		for (unsigned slot = 0; slot < 2; slot++) {
			int ea = compile(&c, slot, false, &a, &d), eb = compile(&c, slot, true, &b, &d);

			if (ea || eb || !same_lookups(&a, &b, &why) || !shared_well(&b) || b.n_nodes > a.n_nodes ||
			    b.n_atoms != a.n_atoms) {
				if (!bad++)
					fprintf(stderr, "# round %u slot %u: errors %d/%d, nodes %zu/%zu, %s\n", r, slot, ea,
						eb, a.n_nodes, b.n_nodes, why);
			}
			off_nodes += a.n_nodes;
			on_nodes += b.n_nodes;
			fewer += b.n_nodes < a.n_nodes;
			policy_free(&a);
			policy_free(&b);
		}
		config_free(&c);
	}
	tap_result(!bad, "share: %u random configurations, both slots: every lookup the same with nodes "
		   "shared, no node twice, children after their parents (%u bad)", rounds, bad);
	tap_result(on_nodes < off_nodes && fewer > 0,
		   "share: fewer nodes in all (%zu against %zu; fewer in %u of %u compiles)", on_nodes, off_nodes,
		   fewer, 2 * rounds);

	/* 200 sites of /64 (and a /24 each), one class: one chain for all */
	{
		struct rp_tenant *t;
		size_t n_off, n_on;
		char text[64];
		int err;

		fx_cfg_init(&c, 2);
		t = fx_tenant(&c, "alpha", 10, 4);
		t->cloud_prefixes = fx_plist("10.1.0.0/16, fd00:1::/48");
		free(t->sites);	/* fx_tenant() makes room for 32 */
		t->sites = calloc(200, sizeof(*t->sites));
		for (unsigned s = 0; s < 200; s++) {
			char name[16];

			snprintf(name, sizeof(name), "s%u", s);
			snprintf(text, sizeof(text), "10.%u.%u.0/24, fd01:1:%x::/64", 128 + s / 256, s % 256, s + 1);
			fx_site(t, name, text, NULL);
		}
		fx_rule(t, "c2s", "cloud", "sites", "tcp", "22", true);
		fx_resolve(&c);
		err = compile(&c, 1, false, &a, &d) ?: compile(&c, 1, true, &b, &d);
		n_off = a.n_nodes;
		n_on = b.n_nodes;
		tap_result(!err && same_lookups(&a, &b, &why) && n_on * 4 < n_off,
			   "share: 200 sites of one class (/24 + /64 each): %zu nodes instead of %zu, the same "
			   "lookups (%s)", n_on, n_off, err ? "compile failed" : why);
		policy_free(&a);
		policy_free(&b);
		/* a slot sized between the two */
		policy_set_nodes_per_slot((n_on + n_off) / 2);
		err = compile(&c, 1, false, &a, &d);
		tap_result(err == -ENOSPC, "share: a slot of %zu nodes: too small without sharing (%d)",
			   (n_on + n_off) / 2, err);
		policy_free(&a);
		err = compile(&c, 1, true, &b, &d);
		tap_result(err == 0 && b.n_nodes == n_on, "share: ... holds the shared tries (%d, %zu nodes)", err,
			   b.n_nodes);
		policy_free(&b);
		policy_set_nodes_per_slot(0);
		config_free(&c);
	}
	diag_free(&d);
	return 0;
}
