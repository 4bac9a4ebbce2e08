// SPDX-License-Identifier: GPL-2.0
/* tenant.c — what the network side derives from a tenant of the config:
 * the name of its cloud attachment link, and whom its shares reach
 * (net_priv.h).  Pure functions of the config. */
#include <stdio.h>
#include "net/net.h"
#include "net/net_priv.h"

void net_cloud_ifname(const struct rp_tenant *t, char *buf, size_t len)
{
	if (t->vlan)
		snprintf(buf, len, "%s.%u", t->cloud_interface, t->vlan);
	else
		snprintf(buf, len, "%s", t->cloud_interface);
}

bool net_share_offers_to(const struct rp_share *s, size_t consumer)
{
	if (s->all_tenants)
		return true;
	for (size_t k = 0; k < s->n_tenants; k++)
		if (s->tenant_idx && s->tenant_idx[k] == (int)consumer)
			return true;
	return false;
}

uint32_t net_tenant_table(const struct rp_tenant *t)
{
	return RP_TABLE_BASE + t->id;
}

bool net_rule_priority_ours(uint32_t priority)
{
	return priority >= RP_RULE_PRIO_GW && priority <= RP_RULE_PRIO_BASE + RP_TENANT_ID_MAX;
}

bool net_share_offered(const struct rp_config *cfg, size_t p, size_t c)
{
	const struct rp_tenant *u = &cfg->tenants[p];

	if (p == c)
		return false;
	for (size_t k = 0; k < u->n_shares; k++)
		if (net_share_offers_to(&u->shares[k], c))
			return true;
	return false;
}

bool nat_share_consumer(const struct rp_config *cfg, size_t c)
{
	for (size_t p = 0; p < cfg->n_tenants; p++)
		if (net_share_offered(cfg, p, c))
			return true;
	return false;
}
