// SPDX-License-Identifier: GPL-2.0
/* dataplane_precompile.c — a policy compiled ahead (dataplane_maps.h): in a
 * thread started when the configuration is read, while the network side
 * changes; the thread also waits for the grace period the next install
 * needs.  The install takes its policy only if every interface it named
 * still has the same ifindex. */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "dataplane/dataplane_maps.h"
#include "kernel/hostaddr.h"

struct seen_ifindex {
	const char *name;
	unsigned ifindex;
};

struct dp_precompiled {
	const struct rp_config *cfg;
	struct rp_host_addrs host;	/* the gateway's addresses it was compiled with */
	pthread_t tid;
	bool started;
	struct rp_policy p;
	int err;			/* of the compile */
	bool waited;			/* a grace period passed after the thread started */
	struct seen_ifindex *seen;	/* every ifindex the compile asked for */
	size_t n_seen, cap_seen;
};

static unsigned record_ifindex(const char *name, void *arg)
{
	struct dp_precompiled *pc = arg;
	unsigned ifi = if_nametoindex(name);

	if (pc->n_seen == pc->cap_seen) {
		size_t cap = pc->cap_seen ? 2 * pc->cap_seen : 64;
		struct seen_ifindex *v = realloc(pc->seen, cap * sizeof(*v));

		if (!v) {
			pc->err = -ENOMEM;
			return ifi;
		}
		pc->seen = v;
		pc->cap_seen = cap;
	}
	pc->seen[pc->n_seen++] = (struct seen_ifindex){ name, ifi };
	return ifi;
}

static void *precompile_thread(void *arg)
{
	struct dp_precompiled *pc = arg;
	struct diag scratch = { 0 };	/* errors come again from the compile in place */
	struct rp_config c = *pc->cfg;
	struct dp_maps m;
	int err;

	/* the grace period the next install needs, if the maps are pinned */
	if (!dp_maps_open_pinned(&m, RP_PIN_DIR)) {
		pc->waited = !dp_policy_wait(&m);
		dp_maps_close(&m);
	}
	/* for slot 0, with room for any number of trie nodes (this thread's
	 * limit): the install checks the pinned map's and renumbers */
	policy_set_nodes_per_slot(1u << 24);
	/* the gateway's addresses: as given, else as the install will read
	 * them from the kernel (dataplane_apply_pre) */
	if (c.host.all.n || c.host.uplink.n)
		err = host_addrs_copy(&pc->host, &c.host);
	else
		err = host_addrs_read(c.uplink, &pc->host);
	c.host = pc->host;
	if (!err)
		err = policy_compile(&c, 0, record_ifindex, pc, &pc->p, &scratch);
	if (!pc->err)
		pc->err = err;
	diag_free(&scratch);
	return NULL;
}

struct dp_precompiled *dp_precompile_start(const struct rp_config *cfg)
{
	struct dp_precompiled *pc = calloc(1, sizeof(*pc));

	if (!pc)
		return NULL;
	pc->cfg = cfg;
	pc->started = !pthread_create(&pc->tid, NULL, precompile_thread, pc);
	if (!pc->started) {
		free(pc);
		return NULL;
	}
	return pc;
}

/* Join the thread; true when its policy can be installed for cfg into
 * slot: compiled without error, every interface it named still has the
 * same ifindex, its trie fits a slot of the maps. */
static bool precompiled_usable(struct dp_precompiled *pc, const struct rp_config *cfg)
{
	if (pc->started) {
		pthread_join(pc->tid, NULL);
		pc->started = false;
	}
	/* cfg: the same configuration, with the addresses the install read */
	if (pc->err || pc->cfg->tenants != cfg->tenants || !host_addrs_equal(&pc->host, &cfg->host) ||
	    pc->p.n_nodes >= policy_nodes_per_slot() || pc->p.n_atoms >= policy_atoms_per_slot())
		return false;
	for (size_t i = 0; i < pc->n_seen; i++)
		if (if_nametoindex(pc->seen[i].name) != pc->seen[i].ifindex)
			return false;
	return true;
}

bool dp_precompiled_take(struct dp_precompiled *pc, const struct rp_config *cfg,
			 struct rp_policy *p, bool *waited)
{
	if (!precompiled_usable(pc, cfg))
		return false;
	*p = pc->p;
	memset(&pc->p, 0, sizeof(pc->p));
	*waited = pc->waited;
	return true;
}

void dp_precompile_drop(struct dp_precompiled *pc)
{
	if (!pc)
		return;
	if (pc->started)
		pthread_join(pc->tid, NULL);
	policy_free(&pc->p);
	host_addrs_free(&pc->host);
	free(pc->seen);
	free(pc);
}
