// SPDX-License-Identifier: GPL-2.0
/* net_apply.c — make links, addresses, routing tables, policy rules,
 * WireGuard devices/peers and egress NAT match the config (net.h): the
 * entry points, net_apply() and net_down(), and the order of the steps.
 *
 * Reconcile: read the running state, compute the difference, change only
 * what differs.  A second apply with the same config changes nothing.  The
 * steps live in one file per concern (reconcile.h); the routes and rules
 * wanted are planned without the kernel (route_plan.h).
 *
 * Everything changed is journalled; if a step fails, the journal is undone
 * in reverse so the system is left as it was, and one message says what,
 * where and why (with the kernel's extended-ACK text).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/rtnetlink.h>
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "lib/clock.h"
#include "lib/fileutil.h"
#include "lib/log.h"
#include "lib/statedir.h"
#include "net/net.h"
#include "net/net_priv.h"
#include "net/net_state.h"
#include "net/reconcile.h"
#include "net/route_plan.h"

static unsigned int last_changes;

/* RP_NET_PROFILE=1: time of each stage on stderr (benchmarks). */
static void stage(const char *name)
{
	static double last;
	static int on = -1;
	double now;

	if (on < 0)
		on = getenv("RP_NET_PROFILE") != NULL;
	if (!on)
		return;
	now = clock_ms();
	if (name)
		fprintf(stderr, "net: %-12s %8.2f ms\n", name, now - last);
	last = now;
}

unsigned int net_apply_changes(void)
{
	return last_changes;
}

static bool nat_ruleset_nonempty(const struct rp_config *cfg)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		if (cfg->tenants[i].egress == RP_EGRESS_NAT || nat_share_consumer(cfg, i))
			return true;
	return false;
}

/* Tables and rules of rempart's range are rempart's by construction: every
 * one the config wants goes into net.state before anything is changed, so
 * that a killed apply leaves none that `down` does not know. */
static int intend_tables_and_rules(struct apply *a)
{
	struct net_rule_want *want = NULL;
	size_t n = 0;
	int err;

	for (size_t i = 0; i < a->cfg->n_tenants; i++)
		if ((err = net_intend(a, "table %u", RP_TABLE_BASE + a->cfg->tenants[i].id)))
			return err;
	err = net_plan_rules(a->cfg, &want, &n);
	for (size_t w = 0; w < n && !err; w++) {
		char line[160];

		net_rule_state_line(&want[w].rule, line, sizeof(line));
		err = net_intend(a, "%s", line);
	}
	free(want);
	if (!err && nat_ruleset_nonempty(a->cfg))
		err = net_intend(a, "nat");
	return err ? err : net_intent_flush(a);
}

/* What apply and down start from (the caller holds the change lock,
 * app/changelock.h): rtnetlink, net.state (checked line by line: a bad
 * record refuses the change), the links, and the links net.state names
 * checked against the kernel's. */
static int net_begin(struct apply *a)
{
	char path[PATH_MAX];
	int err;

	a->wg = wg_backend_get();
	err = nl_open(&a->nl);
	if (err) {
		diag_add(a->d, "cannot open rtnetlink: %s", strerror(-err));
		return err;
	}
	err = net_state_load(&a->old, a->cfg->state_dir, a->d);
	if (err) {
		if (err != -EINVAL) {
			statedir_path(path, a->cfg->state_dir, SD_NET_STATE);
			diag_add(a->d, "cannot read %s: %s", path, strerror(-err));
		}
		return err;
	}
	err = net_links_refresh(a);
	if (err) {
		diag_add(a->d, "cannot list links: %s", nl_strerror(&a->nl, err));
		return err;
	}
	return net_check_recorded_links(a);
}

int net_apply(const struct rp_config *cfg, const struct net_hooks *h, struct diag *d)
{
	struct apply a = { .cfg = cfg, .hooks = h, .d = d };
	wg_device **cur = NULL;
	bool nat_changed = false;
	int err;

	last_changes = 0;
	stage(NULL);
	err = mkdir_p(cfg->state_dir, 0700);
	if (err) {
		diag_add(d, "cannot create state directory %s: %s", cfg->state_dir, strerror(-err));
		return err;
	}
	err = net_begin(&a);
	if (err)
		goto out;
	cur = calloc(cfg->n_tenants + 1, sizeof(*cur));
	a.fp = calloc(cfg->n_tenants + 1, sizeof(*a.fp));
	a.clean = calloc(cfg->n_tenants + 1, sizeof(*a.clean));
	a.routes = calloc(cfg->n_tenants + 1, sizeof(*a.routes));
	a.handover = calloc(cfg->n_tenants + 1, sizeof(*a.handover));
	if (!cur || !a.fp || !a.clean || !a.routes || !a.handover) {
		err = -ENOMEM;
		goto out;
	}
	err = nl_route_dump(&a.nl, AF_UNSPEC, RT_TABLE_MAIN, &a.main_v, &a.main_n);
	if (err) {
		diag_add(d, "cannot list the main routing table: %s", nl_strerror(&a.nl, err));
		goto out;
	}
	net_compute_clean(&a);
	stage("start");
	err = net_preflight(&a, cur);
	if (err)
		goto out;
	stage("preflight");

	/* Things rempart created and still wants stay recorded as created. */
	for (size_t i = 0; i < a.old.n; i++)
		if (!strncmp(a.old.lines[i], "link ", 5)) {
			char name[64];

			for (size_t t = 0; t < cfg->n_tenants; t++) {
				net_cloud_ifname(&cfg->tenants[t], name, sizeof(name));
				if (net_state_has(&a.old, "link %s wireguard", cfg->tenants[t].tunnel_interface))
					net_state_add(&a.st, "link %s wireguard", cfg->tenants[t].tunnel_interface);
				if (cfg->tenants[t].vlan && net_state_has(&a.old, "link %s vlan", name))
					net_state_add(&a.st, "link %s vlan", name);
			}
			break;
		}
	if ((err = intend_tables_and_rules(&a)))
		goto out;
	for (size_t i = 0; i < net_n_gateway_sysctls; i++)
		if ((err = net_set_sysctl(&a, net_gateway_sysctls[i], "1")))
			goto fail;
	if ((err = net_ensure_links(&a, cur)) || (err = net_keyrot_links(&a)))
		goto fail;
	stage("links");
	if ((err = net_reconcile_addrs(&a)))
		goto fail;
	stage("addresses");
	if ((err = net_reconcile_routes(&a)))
		goto fail;
	stage("routes");
	if ((err = net_reconcile_rules(&a)))
		goto fail;
	stage("rules");
	net_keyrot_retire(&a);
	if ((err = net_start_devices(&a, cur)))
		goto fail;
	stage("start");
	if ((err = net_configure_wg(&a, cur)))
		goto fail;
	net_keyrot_handover(&a);	/* at once: the sites of an ended rotation wait */
	net_keyrot_retired(&a);
	if ((err = net_keyrot_devices(&a)))
		goto fail;
	stage("wireguard");
	/* What the config no longer wants. */
	if ((err = net_remove_stale_rules(&a)) || (err = net_remove_stale_tables(&a, true)) ||
	    (err = net_remove_stale_addrs(&a)))
		goto fail;
	stage("stale");
	/* No NAT wanted and none made by us: nothing to ask nft. */
	if (nat_ruleset_nonempty(cfg) || net_state_has(&a.old, "nat") || getenv("RP_NET_FULL"))
		err = nat_apply(cfg, getenv("RP_NET_FULL") || !net_state_has(&a.old, "nat"),
				&nat_changed, d);
	if (err)
		goto fail;
	stage("nat");
	a.changes += nat_changed;
	if (nat_ruleset_nonempty(cfg))
		net_state_add(&a.st, "nat");
	/* From here on nothing is rolled back: links last, they hold sessions. */
	net_remove_stale_links(&a);
	for (size_t i = 0; i < a.old.n; i++)
		if (!strncmp(a.old.lines[i], "sysctl ", 7))
			net_state_add(&a.st, "%s", a.old.lines[i]);
	net_state_add(&a.st, "backend %s", a.wg->name);
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		uint32_t table = RP_TABLE_BASE + cfg->tenants[i].id;
		struct nl_route *rv = NULL;
		size_t rn = 0, routes = a.routes[i];

		/* Now that every link exists: the fingerprint the next apply
		 * will compute if nothing changes (the same as before, a
		 * function of the config and the links, if no link changed),
		 * with the number of routes its table holds now. */
		if (a.links_gen != a.fp_links_gen)
			a.fp[i] = net_tenant_fp(&a, i);
		if (!a.clean[i] && !nl_route_dump(&a.nl, AF_UNSPEC, table, &rv, &rn)) {
			routes = 0;
			for (size_t k = 0; k < rn; k++)
				routes += rv[k].table == table;
			if (a.wg->remember)
				net_remember_tunnel(&a, &cfg->tenants[i], rv, rn);
		}
		free(rv);
		net_state_add(&a.st, "fp %u %016llx %zu", cfg->tenants[i].id,
			      (unsigned long long)a.fp[i], routes);
	}
	stage("netstate");
	err = net_state_save(&a.st, cfg->state_dir);
	stage("save");
	if (err) {
		char path[PATH_MAX];

		statedir_path(path, cfg->state_dir, SD_NET_STATE);
		diag_add(d, "cannot write %s: %s (`down` will not know what apply created)", path,
			 strerror(-err));
	}
	last_changes = a.changes;
	pr_debug("net: %u change(s)", a.changes);
	goto out;
fail:
	net_rollback(&a);
out:
	if (cur) {
		for (size_t i = 0; i < cfg->n_tenants; i++)
			wg_device_wipe_free(cur[i]);
		free(cur);
	}
	net_journal_free(&a);
	net_keyrot_handover_free(&a);
	free(a.links);
	free(a.main_v);
	free(a.fp);
	free(a.clean);
	free(a.routes);
	net_state_free(&a.old);
	net_state_free(&a.st);
	nl_close(&a.nl);
	return err;
}

/* The sysctls net.state recorded, back to their values before rempart. */
static int restore_sysctls(struct apply *a)
{
	char path[4096], val[64];
	int err = 0;

	for (size_t i = 0; i < a->old.n; i++) {
		int e;

		if (sscanf(a->old.lines[i], "sysctl %4095s %63s", path, val) != 2)
			continue;
		e = file_write_all(path, val, strlen(val), 0644);
		if (e) {
			diag_add(a->d, "cannot write %s back to %s: %s", path, val, strerror(-e));
			err = -EIO;
		}
	}
	return err;
}

int net_down(const char *state_dir, struct diag *d)
{
	struct rp_config none = { .state_dir = (char *)state_dir };
	struct apply a = { .cfg = &none, .d = d };
	char path[4096];
	int err, ret = 0;

	/* a.st stays empty: nothing is wanted any more. */
	err = net_begin(&a);
	if (err)
		goto out;
	/* Forwarding paths first, while the programs still judge every packet
	 * (the caller removes them after this): forwarding back to what it
	 * was before rempart, then the tunnels (their routes and addresses go
	 * with them, and no wireguard-go is left to wake up for each route),
	 * the rules that select the tenants' tables, the tables, the
	 * addresses left on the clouds' links, NAT.  Each step is idempotent:
	 * a `down` killed half-way is finished by the next one. */
	if (restore_sysctls(&a))
		ret = -EIO;
	if (net_remove_stale_links(&a))
		ret = -EIO;
	if (net_links_refresh(&a) == 0 && net_remove_stale_rules(&a))
		ret = -EIO;
	if (net_remove_stale_tables(&a, false))
		ret = -EIO;
	if (net_remove_stale_addrs(&a))
		ret = -EIO;
	if (net_state_has(&a.old, "nat") && nat_down(d))
		ret = -EIO;
	/* Anything left over by an older, unrecorded run is not ours to touch. */
	if (!ret) {
		statedir_path(path, state_dir, SD_NET_STATE);
		unlink(path);
		statedir_path(path, state_dir, SD_NAT_RULESET);
		unlink(path);
	}
	err = ret;
	net_journal_free(&a);
out:
	free(a.links);
	net_state_free(&a.old);
	nl_close(&a.nl);
	return err;
}
