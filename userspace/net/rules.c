// SPDX-License-Identifier: GPL-2.0
/* rules.c — the policy rules the plan wants (route_plan.c) added where
 * missing, each recorded in net.state as a line ("rule 4 1010 1010 iif=wg-a
 * mark=0x0"), and those rempart added that the plan no longer has removed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/netlink.h"
#include "net/net_priv.h"
#include "net/reconcile.h"
#include "net/route_plan.h"

void net_rule_state_line(const struct nl_rule *r, char *buf, size_t len)
{
	char mask[24] = "";

	if (r->fwmask && r->fwmask != 0xffffffffu)	/* a mark without a mask matches all bits */
		snprintf(mask, sizeof(mask), "/0x%x", r->fwmask);
	snprintf(buf, len, "rule %u %u %u iif=%s mark=0x%x%s", r->family == AF_INET ? 4 : 6,
		 r->priority, r->table, r->iif[0] ? r->iif : "-", r->fwmark, mask);
}

int net_rule_from_state(const char *line, struct nl_rule *r)
{
	char iif[IFNAMSIZ + 8];
	unsigned int fam;

	memset(r, 0, sizeof(*r));
	if (sscanf(line, "rule %u %u %u iif=%23s mark=0x%x", &fam, &r->priority, &r->table, iif,
		   &r->fwmark) != 5)
		return -EINVAL;
	r->family = fam == 4 ? AF_INET : AF_INET6;
	if (strcmp(iif, "-"))
		net_ifname_copy(r->iif, iif);
	if (strstr(line, " mark=") && sscanf(strstr(line, " mark=") + 6, "0x%*x/0x%x", &r->fwmask) != 1)
		r->fwmask = r->fwmark ? 0xffffffffu : 0;
	return 0;
}

/* Add WANT unless it is in HAVE; either way it goes in the new state. */
static int want_rule(struct apply *a, const struct nl_rule *want, const struct nl_rule *have,
		     size_t n_have, const char *who)
{
	char line[160], buf[160];
	bool present = false;
	struct undo *u;
	int err;

	net_rule_state_line(want, line, sizeof(line));
	for (size_t h = 0; h < n_have && !present; h++)
		present = nl_rule_same(&have[h], want);
	if (present) {
		if (net_state_has(&a->old, "%s", line))
			net_state_add(&a->st, "%s", line);
		return 0;
	}
	err = nl_rule_add(&a->nl, want);
	if (err) {
		nl_rule_format(want, buf, sizeof(buf));
		diag_add(a->d, "%s: cannot add rule '%s': %s", who, buf, nl_strerror(&a->nl, err));
		return err;
	}
	u = net_journal(a, U_RULE_DEL);
	if (!u)
		return -ENOMEM;
	u->rule = *want;
	net_state_add(&a->st, "%s", line);
	a->changes++;
	return 0;
}

int net_reconcile_rules(struct apply *a)
{
	struct nl_rule *have = NULL;
	struct net_rule_want *want = NULL;
	size_t n_have = 0, n_want = 0;
	char who[64];
	int err;

	err = net_plan_rules(a->cfg, &want, &n_want);
	if (err)
		return err;
	err = nl_rule_dump(&a->nl, AF_UNSPEC, &have, &n_have);
	if (err) {
		diag_add(a->d, "cannot list policy rules: %s", nl_strerror(&a->nl, err));
		free(want);
		return err;
	}
	for (size_t w = 0; w < n_want && !err; w++) {
		if (want[w].tenant < 0)
			snprintf(who, sizeof(who), "[gateway] uplink");
		else
			snprintf(who, sizeof(who), "tenant %s", a->cfg->tenants[want[w].tenant].name);
		err = want_rule(a, &want[w].rule, have, n_have, who);
	}
	free(want);
	free(have);
	return err;
}

int net_remove_stale_rules(struct apply *a)
{
	int err = 0;

	for (size_t i = 0; i < a->old.n; i++) {
		struct nl_rule r;
		struct undo *u;
		int e;

		if (strncmp(a->old.lines[i], "rule ", 5) || net_state_has(&a->st, "%s", a->old.lines[i]))
			continue;
		if (net_rule_from_state(a->old.lines[i], &r))
			continue;
		e = nl_rule_del(&a->nl, &r);
		if (e == -ENOENT)
			continue;
		if (e) {
			char buf[160];

			nl_rule_format(&r, buf, sizeof(buf));
			diag_add(a->d, "cannot remove rule '%s': %s", buf, nl_strerror(&a->nl, e));
			err = e;
			continue;
		}
		u = net_journal(a, U_RULE_ADD);
		if (!u)
			return -ENOMEM;
		u->rule = r;
		a->changes++;
	}
	return err;
}
