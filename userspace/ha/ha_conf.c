// SPDX-License-Identifier: GPL-2.0
/* ha_conf.c — keepalived's configuration from [ha] (docs/ha.md).
 *
 * One VRRPv3 instance, so that every virtual address moves at once:
 *   - adverts every 100 ms, unicast to [ha] peer out of sync_interface
 *     (VRRP stays off the uplink and the tenants' segments: a host there
 *     cannot take the addresses by advertising a higher priority);
 *   - virtual_ipaddress: public_endpoint on the uplink, where the sites'
 *     WireGuard packets arrive;
 *   - virtual_ipaddress_excluded: every tenant's cloud_address on its cloud
 *     link (IPv4 and IPv6 alike), without a prefix route, as net_apply adds
 *     them without [ha] (docs/policy.md: the main table routes only the
 *     uplink; the tenant's table routes the subnet);
 *   - track_interface: the uplink and every cloud link (one going down
 *     puts the instance in FAULT: it gives the addresses up);
 *   - track_file: rempart's health ("0" while the daemon enforces the
 *     policy, anything else FAULT);
 *   - vrrp_notify_fifo: role changes, read by the daemon (ha.c);
 *   - the sync link itself is not tracked (dont_track_primary): a cut
 *     sync link makes both gateways active (split brain: isolation holds,
 *     docs/ha.md), where tracking it would put both in FAULT and cut every
 *     site off;
 *   - a master that sees a higher priority sends one last advert before it
 *     steps back (vrrp_higher_prio_send_advert): the winner, seeing a lower
 *     priority, sends its gratuitous ARPs/NAs again, so that the segments
 *     forget the loser after a split brain or a thaw.
 * Both gateways start as BACKUP; the higher priority preempts, 2 s after it
 * starts or sees a lower-priority master (preempt_delay): long enough to
 * receive the sites' endpoints from the active (ha_peers.c), so that a
 * fail back calls the sites at once too. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include "ha/ha.h"
#include "lib/addr.h"
#include "lib/statedir.h"
#include "net/net.h"

#define HA_ADVERT_INT "0.1"	/* seconds: a dead master is noticed in ~0.35 s */

/* Is ifname already in names[0..n)? */
static bool seen(char (*names)[IFNAMSIZ + 8], size_t n, const char *ifname)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], ifname))
			return true;
	return false;
}

int ha_conf_text(const struct rp_config *cfg, const char *state_dir, char **buf)
{
	char path[PATH_MAX], a[INET6_ADDRSTRLEN + 8];
	char (*links)[IFNAMSIZ + 8] = calloc(cfg->n_tenants + 1, sizeof(*links));
	const struct rp_ha *ha = &cfg->ha;
	struct rp_prefix ep;
	size_t n_links = 0, len = 0;
	FILE *f;

	if (!links)
		return -ENOMEM;
	f = open_memstream(buf, &len);
	if (!f) {
		free(links);
		return -ENOMEM;
	}
	fprintf(f, "# Written by `rempart run` from [ha] of %s at every start and reload\n"
		"# (docs/ha.md); edits are lost.\n\n", cfg->path);
	statedir_path(path, state_dir, SD_HA_FIFO);
	fprintf(f, "global_defs {\n"
		"\trouter_id %s\n"
		"\tvrrp_version 3\n"
		"\tvrrp_notify_fifo %s\n"
		"\tvrrp_garp_master_delay 1\n"
		"\tvrrp_garp_master_repeat 3\n"
		"\tvrrp_garp_master_refresh 10\n"
		"\tvrrp_garp_master_refresh_repeat 1\n"
		"\tvrrp_higher_prio_send_advert\n"
		"\tscript_user root\n"
		"\tenable_script_security\n"
		"}\n\n", cfg->name, path);
	statedir_path(path, state_dir, SD_HA_HEALTH);
	fprintf(f, "vrrp_track_file rempart_health {\n\tfile %s\n}\n\n", path);
	addr_format(&ha->peer, a, sizeof(a));
	fprintf(f, "vrrp_instance rempart {\n"
		"\tstate BACKUP\n"
		"\tinterface %s\n"
		"\tvirtual_router_id %u\n"
		"\tpriority %u\n"
		"\tadvert_int %s\n"
		"\tpreempt_delay 2\n"
		"\tdont_track_primary\n"
		"\tunicast_peer {\n\t\t%s\n\t}\n",
		ha->sync_interface, ha->vrid, ha->priority, HA_ADVERT_INT, a);
	fprintf(f, "\ttrack_interface {\n\t\t%s\n", cfg->uplink);
	snprintf(links[n_links++], IFNAMSIZ + 8, "%s", cfg->uplink);
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		char name[IFNAMSIZ + 8];

		net_cloud_ifname(&cfg->tenants[i], name, sizeof(name));
		if (seen(links, n_links, name))
			continue;
		snprintf(links[n_links++], IFNAMSIZ + 8, "%s", name);
		fprintf(f, "\t\t%s\n", name);
	}
	fprintf(f, "\t}\n\ttrack_file {\n\t\trempart_health weight 0\n\t}\n");
	/* config_load checked it is an address with [ha] */
	if (prefix_parse(cfg->public_endpoint, &ep) == 0) {
		prefix_format(&ep, a, sizeof(a));
		fprintf(f, "\tvirtual_ipaddress {\n\t\t%s dev %s\n\t}\n", a, cfg->uplink);
	}
	fprintf(f, "\tvirtual_ipaddress_excluded {\n");
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		char name[IFNAMSIZ + 8];

		net_cloud_ifname(t, name, sizeof(name));
		for (size_t k = 0; k < t->cloud_address.n; k++) {
			prefix_format(&t->cloud_address.v[k], a, sizeof(a));
			fprintf(f, "\t\t%s dev %s noprefixroute\n", a, name);
		}
	}
	fprintf(f, "\t}\n}\n");
	free(links);
	if (fclose(f)) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	return 0;
}
