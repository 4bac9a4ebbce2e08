// SPDX-License-Identifier: GPL-2.0
/* config_model.c — questions asked of a loaded config (config.h): a tenant by
 * name or id, a protocol's name, whom a share is offered to, a path as
 * messages print it.  Only the
 * model: the loader (config.c) and the checks (config_check.c) both use it.
 */
#include <string.h>
#include "config/config_internal.h"

struct rp_tenant *config_tenant_by_name(const struct rp_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		if (cfg->tenants[i].name && !strcmp(cfg->tenants[i].name, name))
			return &cfg->tenants[i];
	return NULL;
}

struct rp_tenant *config_tenant_by_id(const struct rp_config *cfg, unsigned id)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		if (cfg->tenants[i].id == id)
			return &cfg->tenants[i];
	return NULL;
}

const char *proto_name(enum rp_proto p)
{
	switch (p) {
	case RP_PROTO_TCP:
		return "tcp";
	case RP_PROTO_UDP:
		return "udp";
	case RP_PROTO_ICMP:
		return "icmp";
	default:
		return "any";
	}
}

bool config_share_offered_to(const struct rp_share *sh, size_t tenant)
{
	if (sh->all_tenants)
		return true;
	for (size_t k = 0; k < sh->n_tenants; k++)
		if (sh->tenant_idx && sh->tenant_idx[k] == (int)tenant)
			return true;
	return false;
}

const char *config_rel(const struct rp_config *cfg, const char *path)
{
	size_t len = strlen(cfg->dir);

	if (!strncmp(path, cfg->dir, len) && path[len] == '/')
		return path + len + 1;
	return path;
}

int rp_tunnel_owner(const struct rp_config *cfg, const char *ifname, bool *next)
{
	for (size_t i = 0; ifname && i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		if (t->tunnel_interface && !strcmp(t->tunnel_interface, ifname)) {
			if (next)
				*next = false;
			return (int)i;
		}
		if (t->next_interface && !strcmp(t->next_interface, ifname)) {
			if (next)
				*next = true;
			return (int)i;
		}
	}
	return -1;
}
