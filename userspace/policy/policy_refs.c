// SPDX-License-Identifier: GPL-2.0
/* policy_refs.c — the rule and share ids of a configuration; see
 * policy_refs.h. */
#include <errno.h>
#include <stdlib.h>
#include "policy/policy_refs.h"

int policy_refs(const struct rp_config *cfg, struct policy_ref **out, size_t *n)
{
	struct policy_ref *v;
	size_t total = 0, k = 0;

	for (size_t t = 0; t < cfg->n_tenants; t++)
		total += cfg->tenants[t].n_shares + cfg->tenants[t].n_rules;
	v = calloc(total + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t t = 0; t < cfg->n_tenants; t++)
		for (size_t s = 0; s < cfg->tenants[t].n_shares; s++, k++)
			v[k] = (struct policy_ref){ .id = k + 1, .tenant = t, .share = true,
						    .name = cfg->tenants[t].shares[s].name,
						    .allow = true };
	for (size_t t = 0; t < cfg->n_tenants; t++)
		for (size_t r = 0; r < cfg->tenants[t].n_rules; r++, k++)
			v[k] = (struct policy_ref){ .id = k + 1, .tenant = t,
						    .name = cfg->tenants[t].rules[r].name,
						    .allow = cfg->tenants[t].rules[r].allow };
	*out = v;
	*n = total;
	return 0;
}

int policy_ref_lookup(const struct rp_config *cfg, uint32_t id, struct policy_ref *out)
{
	size_t k = id;

	if (!id)
		return -ENOENT;
	k--;	/* an index into the order of policy_refs() */
	for (size_t t = 0; t < cfg->n_tenants; t++) {
		if (k < cfg->tenants[t].n_shares) {
			*out = (struct policy_ref){ .id = id, .tenant = t, .share = true,
						    .name = cfg->tenants[t].shares[k].name,
						    .allow = true };
			return 0;
		}
		k -= cfg->tenants[t].n_shares;
	}
	for (size_t t = 0; t < cfg->n_tenants; t++) {
		if (k < cfg->tenants[t].n_rules) {
			*out = (struct policy_ref){ .id = id, .tenant = t,
						    .name = cfg->tenants[t].rules[k].name,
						    .allow = cfg->tenants[t].rules[k].allow };
			return 0;
		}
		k -= cfg->tenants[t].n_rules;
	}
	return -ENOENT;
}
