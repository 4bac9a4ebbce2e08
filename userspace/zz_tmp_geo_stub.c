// SPDX-License-Identifier: GPL-2.0
/* TEMPORARY (helper ev): geo_lookup until userspace/geo.c is merged from
 * main; delete this file after `git merge main` brings geo.c. */
#include <string.h>
#include "geo.h"

uint16_t geo_lookup(const struct geo_db *db, const struct rp_addr *a)
{
	if (!db)
		return RP_CC_NONE;
	if (a->family == AF_INET) {
		uint32_t x = (uint32_t)a->addr[0] << 24 | a->addr[1] << 16 | a->addr[2] << 8 | a->addr[3];

		for (size_t i = 0; i < db->n4; i++)
			if (x >= db->v4[i].lo && x <= db->v4[i].hi)
				return db->v4[i].cc;
		return RP_CC_NONE;
	}
	unsigned __int128 x = 0;

	for (int i = 0; i < 16; i++)
		x = x << 8 | a->addr[i];
	for (size_t i = 0; i < db->n6; i++)
		if (x >= db->v6[i].lo && x <= db->v6[i].hi)
			return db->v6[i].cc;
	return RP_CC_NONE;
}
