// SPDX-License-Identifier: GPL-2.0
/* ha_nft.c — with [ha], WireGuard leaves the uplink only from
 * public_endpoint (docs/ha.md "WireGuard leaves from the virtual address").
 *
 * A WireGuard peer sends to the address the last authenticated packet came
 * from.  WireGuard answers from the address a packet came to, but a packet
 * it starts (a handshake initiation at takeover, a keepalive, a rekey)
 * leaves from the route's source: the gateway's own uplink address.  A site
 * that gets one roams there, and the pair no longer decides which gateway
 * carries it; a gateway that is not active (the standby after a fail back,
 * one whose rempart died but whose wireguard-go lives on) lures the site
 * away that way.  So, in table inet rempart_ha, output hook:
 *  - UDP from a tenant's listen port out of the uplink whose source is not
 *    public_endpoint gets public_endpoint as its source (stateless: the
 *    WireGuard traffic is not tracked, net/nat.c);
 *  - then, if public_endpoint is not an address of this host (keepalived
 *    gave it to the peer, or never gave it here), the packet is dropped: a
 *    gateway that is not active says nothing to the sites.
 * Only public_endpoint's family: the sites reach the pair there only.
 * The table stays while rempart is stopped or killed (a wireguard-go left
 * running must stay silent too); it goes when [ha] is removed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ha/ha.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "net/net.h"

#define HA_NFT_TABLE "rempart_ha"

/* The tenants' listen ports (and a key rotation's second ones) as an nft
 * set, "{ 51810, 51820 }", in SET; the number of ports. */
static size_t port_set(const struct rp_config *cfg, char *set, size_t len)
{
	size_t k = 0, off = 0;

	set[0] = 0;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		unsigned int p[2] = { t->listen_port, t->next_interface ? t->next_listen_port : 0 };

		for (int j = 0; j < 2; j++)
			if (p[j] && off < len)
				off += (size_t)snprintf(set + off, len - off, "%s%u",
							k++ ? ", " : "{ ", p[j]);
	}
	if (k && off < len)
		snprintf(set + off, len - off, " }");
	return off < len ? k : 0;
}

int ha_nft_text(const struct rp_config *cfg, char **buf)
{
	const char *ep = cfg->public_endpoint, *ip;
	size_t n_ports;
	char *set;
	int len;

	*buf = NULL;
	if (!ep || !cfg->uplink)
		return -EINVAL;
	ip = strchr(ep, ':') ? "ip6" : "ip";
	set = malloc(8 * cfg->n_tenants + 8);
	if (!set)
		return -ENOMEM;
	n_ports = port_set(cfg, set, 8 * cfg->n_tenants + 8);
	len = asprintf(buf, "table inet %s\ndelete table inet %s\ntable inet %s {\n"
			    "\tchain wg_out {\n\t\ttype filter hook output priority 0; policy accept;\n",
		       HA_NFT_TABLE, HA_NFT_TABLE, HA_NFT_TABLE);
	if (len >= 0 && n_ports) {
		char *head = *buf;

		len = asprintf(buf, "%s\t\toifname \"%s\" udp sport %s %s saddr != %s %s saddr set %s\n"
				    "\t\toifname \"%s\" udp sport %s %s saddr %s fib saddr type != local drop\n",
			       head, cfg->uplink, set, ip, ep, ip, ep, cfg->uplink, set, ip, ep);
		free(head);
	}
	if (len >= 0) {
		char *head = *buf;

		len = asprintf(buf, "%s\t}\n}\n", head);
		free(head);
	}
	free(set);
	if (len < 0) {
		*buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

int ha_nft_apply(const struct rp_config *cfg, struct diag *d)
{
	const char *argv[] = { "nft", "-f", "-", NULL };
	char why[512], *text = NULL;
	int err = ha_nft_text(cfg, &text);

	if (err) {
		diag_add(d, "ha: table inet %s: %s", HA_NFT_TABLE, strerror(-err));
		return err;
	}
	err = nft_run(argv, text, why, sizeof(why));
	free(text);
	if (err)
		diag_add(d, "ha: nftables refused table inet %s: %s", HA_NFT_TABLE, why);
	return err;
}

void ha_nft_remove(void)
{
	const char *argv[] = { "nft", "delete", "table", "inet", HA_NFT_TABLE, NULL };
	const char *list[] = { "nft", "list", "table", "inet", HA_NFT_TABLE, NULL };
	char why[512];

	if (nft_run(list, NULL, why, sizeof(why)))
		return;	/* not there */
	if (nft_run(argv, NULL, why, sizeof(why)))
		pr_warn("ha: cannot delete table inet %s: %s", HA_NFT_TABLE, why);
}
