// SPDX-License-Identifier: GPL-2.0
/* test_swap.c — atomic policy change (docs/dataplane.md) under traffic.
 *
 * Two policies: A (tests/bpf/fixture_cfg.h plus a rule "old-only" that lets
 * lyon reach 10.20.5.5 on UDP 1234) and B (without it, and with a new rule
 * of its own).  A sender thread runs frames that both allow, through
 * tunnel_in (TC) and uplink_in (XDP), while the main thread swaps A and B
 * at least 1,000 times with the full install path (compile, fill the
 * inactive slot, flip, wait, clear).  Every sent frame must pass; after each
 * swap to B returns, the old-only frame must be dropped, and after each
 * swap to A it must pass again.  Then the same with the incremental
 * install (slots written by difference; the old slot is left one policy
 * behind and written at the next swap, after the grace period). */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "fixture_cfg.h"
#include "tap.h"

#define SWAPS 1000

static struct fx f;
static atomic_int stop;
static atomic_ulong sent, dropped, errors;

struct sender {
	int hook;
	const char *ifname;
	struct ps s;
};

/* One thread (the machine has two CPUs: one sends, one swaps), both frames in turn. */
static void *send_loop(void *arg)
{
	const struct sender *sd = arg;
	uint8_t pkt[2][PK_MAX];
	size_t n[2];
	unsigned ifi[2];

	for (int i = 0; i < 2; i++) {
		n[i] = pk_build(&sd[i].s, pkt[i]);
		ifi[i] = if_nametoindex(sd[i].ifname);
	}
	for (unsigned k = 0; !atomic_load(&stop); k ^= 1) {
		int ret;

		if (fx_run_prog(f.prog[sd[k].hook], fx_is_xdp(sd[k].hook), ifi[k], pkt[k], n[k], 1, &ret, NULL)) {
			atomic_fetch_add(&errors, 1);
			continue;
		}
		atomic_fetch_add(&sent, 1);
		if (!fx_allowed(sd[k].hook, ret))
			atomic_fetch_add(&dropped, 1);
	}
	return NULL;
}

static int run_one(int hook, const char *ifname, const struct ps *s)
{
	uint8_t pkt[PK_MAX];
	size_t n = pk_build(s, pkt);
	int ret;

	if (fx_run_prog(f.prog[hook], fx_is_xdp(hook), if_nametoindex(ifname), pkt, n, 1, &ret, NULL))
		return -1;
	return fx_allowed(hook, ret);
}

int main(void)
{
	static const struct sender senders[] = {
		{ RP_HOOK_TUNNEL_IN, "dptun1",
		  { .fam = 4, .src = "10.120.1.5", .dst = "10.20.1.10", .proto = 6, .sport = 5555, .dport = 443 } },
		{ RP_HOOK_UPLINK_IN, "dpup",
		  { .fam = 4, .src = "196.200.1.7", .dst = "198.51.100.2", .proto = 17, .sport = 1, .dport = 51810 } },
	};
	const struct ps old_only = { .fam = 4, .src = "10.120.1.5", .dst = "10.20.5.5", .proto = 17,
				     .sport = 7, .dport = 1234 };
	const struct ps new_only = { .fam = 4, .src = "10.120.2.5", .dst = "10.20.6.6", .proto = 17,
				     .sport = 7, .dport = 4321 };
	struct rp_config a, b;
	pthread_t th;
	struct diag d = { 0 };
	unsigned bad_old = 0, bad_new = 0, gens_ok = 1, swaps = 0;
	unsigned long long gen0 = 0, gen;
	struct timespec t0, t1;
	unsigned slot;
	double secs;
	char dir[] = "/tmp/ap-swap.XXXXXX";

	if (geteuid() != 0) {
		tap_skip("test_swap: needs root");
		return 0;
	}
	if (fx_netns() || fx_load(&f, false) || !mkdtemp(dir)) {
		tap_result(0, "swap: set-up");
		return 1;
	}
	fx_config_a(&a, false);
	fx_rule(&a.tenants[0], "old-only", "site:lyon", "10.20.5.0/24", "udp", "1234", true);
	fx_config_a(&b, false);
	fx_rule(&b.tenants[0], "new-only", "site:paris", "10.20.6.0/24", "udp", "4321", true);
	if (dp_policy_install(&f.m, &a, NULL, NULL, &d)) {
		diag_print(&d, stdout);
		tap_result(0, "swap: install A");
		return 1;
	}
	tap_result(run_one(RP_HOOK_TUNNEL_IN, "dptun1", &old_only) == 1 &&
		   run_one(RP_HOOK_TUNNEL_IN, "dptun1", &new_only) == 0,
		   "swap: policy A allows the old-only frame, not the new-only one");
	for (int inc = 0; inc < 2; inc++) {
	const char *lbl = inc ? "swap (incremental): " : "swap: ";
	unsigned n_inc = 0;

	atomic_store(&stop, 0);
	atomic_store(&sent, 0);
	atomic_store(&dropped, 0);
	atomic_store(&errors, 0);
	bad_old = bad_new = swaps = 0;
	gens_ok = 1;
	dp_active_slot(&f.m, &slot, &gen0);
	pthread_create(&th, NULL, send_loop, (void *)senders);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < SWAPS; i++) {
		const struct rp_config *c = i % 2 == 0 ? &b : &a;
		int o, nw;

		if (inc ? dp_policy_install_inc(&f.m, c, NULL, NULL, dir, &d) : dp_policy_install(&f.m, c, NULL, NULL, &d)) {
			diag_print(&d, stdout);
			break;
		}
		swaps++;
		if (inc) {
			struct dp_install_stats st;

			dp_install_last_stats(&st);
			n_inc += st.incremental;
		}
		o = run_one(RP_HOOK_TUNNEL_IN, "dptun1", &old_only);
		nw = run_one(RP_HOOK_TUNNEL_IN, "dptun1", &new_only);
		if (c == &b) {
			bad_old += o != 0;	/* only the old policy allowed it */
			bad_new += nw != 1;
		} else {
			bad_old += o != 1;
			bad_new += nw != 0;
		}
		dp_active_slot(&f.m, &slot, &gen);
		if (gen != gen0 + i + 1)
			gens_ok = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# %u swaps in %.2fs (%.2f ms each), %lu frames sent meanwhile\n", swaps, secs,
	       swaps ? secs * 1000 / swaps : 0, atomic_load(&sent));
	tap_result(swaps == SWAPS, "%s%u policy swaps under traffic", lbl, swaps);
	tap_result(atomic_load(&dropped) == 0 && atomic_load(&errors) == 0 && atomic_load(&sent) > SWAPS,
		   "%s%lu frames that both policies allow, none dropped (%lu run errors)",
		   lbl, atomic_load(&sent), atomic_load(&errors));
	tap_result(bad_old == 0, "%sthe old-only frame is dropped as soon as every swap to B returned, "
		   "allowed again after every swap back (%u wrong)", lbl, bad_old);
	tap_result(bad_new == 0, "%sthe new-only frame follows the new policy at once (%u wrong)", lbl, bad_new);
	tap_result(gens_ok, "%srp_state.generation counts every swap", lbl);
	if (inc)
		tap_result(n_inc + 2 >= swaps, "%sthe slots were written by difference (%u of %u swaps)", lbl, n_inc,
			   swaps);
	}
	fx_unload(&f);
	{
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	tap_exit();
}
