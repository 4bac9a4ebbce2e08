// SPDX-License-Identifier: GPL-2.0
/* config_model.c — questions asked of a loaded config (config.h): a tenant by
 * name or id, a protocol's name, a path as messages print it.  Only the
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

const char *config_rel(const struct rp_config *cfg, const char *path)
{
	size_t len = strlen(cfg->dir);

	if (!strncmp(path, cfg->dir, len) && path[len] == '/')
		return path + len + 1;
	return path;
}
