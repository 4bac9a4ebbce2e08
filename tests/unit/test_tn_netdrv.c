// SPDX-License-Identifier: GPL-2.0
/* test_tn_netdrv.c — drive net_apply/net_down on a hand-built config (used
 * by tests/e2e/tunnels_*.sh before `rempart apply` exists, and to count
 * changes).  Not a unit test by itself: run with no arguments it SKIPs.
 *
 *   test_tn_netdrv KEYDIR STATEDIR apply|down [VARIANT]
 *
 * Two tenants (a: id 10, b: id 20) on cloud links tnca0/tncb0 with the same
 * cloud prefixes 10.20.0.0/16; three sites each, public keys read from
 * KEYDIR/sa1.pub …; tenant private keys KEYDIR/gwa.key, gwb.key.  VARIANT 1
 * changes site a2's allowed_ips (adds 10.122.2.0/24). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "net.h"
#include "net_priv.h"
#include "tap.h"
#include "wg.h"

static int read_key(const char *dir, const char *name, uint8_t key[32])
{
	char path[512], b64[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f || !fgets(b64, sizeof(b64), f)) {
		fprintf(stderr, "cannot read %s\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	b64[strcspn(b64, "\n")] = 0;
	return wg_key_from_base64(key, b64);
}

static void plist(struct rp_prefix_list *l, const char *a, const char *b)
{
	l->n = b ? 2 : 1;
	l->v = calloc(l->n, sizeof(*l->v));
	prefix_parse(a, &l->v[0]);
	if (b)
		prefix_parse(b, &l->v[1]);
}

int main(int argc, char **argv)
{
	struct rp_config cfg = { 0 };
	struct rp_tenant t[2] = { 0 };
	struct diag d = { 0 };
	int variant = argc > 4 ? atoi(argv[4]) : 0, err;
	char name[64];

	if (argc < 4) {
		tap_skip("test_tn_netdrv: driver for tests/e2e/tunnels_*.sh, not run alone");
		return 0;
	}
	cfg.uplink = "tnup0";
	cfg.state_dir = argv[2];
	cfg.public_endpoint = "192.0.2.1";
	for (int i = 0; i < 2; i++) {
		char c = (char)('a' + i);

		t[i].name = i ? "b" : "a";
		t[i].id = (uint16_t)(10 + 10 * i);
		t[i].cloud_interface = i ? "tncb0" : "tnca0";
		plist(&t[i].cloud_address, "10.20.0.1/24", "fd00:20::1/64");
		plist(&t[i].cloud_prefixes, "10.20.0.0/16", "fd00:20::/48");
		t[i].tunnel_interface = i ? "tnwgb" : "tnwga";
		plist(&t[i].tunnel_address, i ? "100.64.20.1/24" : "100.64.10.1/24", NULL);
		t[i].listen_port = (uint16_t)(51810 + 10 * i);
		snprintf(name, sizeof(name), "gw%c.key", c);
		if (read_key(argv[1], name, t[i].private_key))
			return 2;
		t[i].egress = i ? RP_EGRESS_NONE : RP_EGRESS_NAT;
		t[i].n_sites = 3;
		t[i].sites = calloc(3, sizeof(*t[i].sites));
		for (int s = 0; s < 3; s++) {
			struct rp_site *st = &t[i].sites[s];
			char pfx[32], pfx2[32];

			snprintf(name, sizeof(name), "s%c%d.pub", c, s + 1);
			if (read_key(argv[1], name, st->public_key))
				return 2;
			st->name = strdup(name);
			snprintf(pfx, sizeof(pfx), "10.%d.%d.0/24", 120 + i, s + 1);
			snprintf(pfx2, sizeof(pfx2), "10.122.%d.0/24", s + 1);
			plist(&st->allowed_ips, pfx, variant == 1 && i == 0 && s == 1 ? pfx2 : NULL);
			st->keepalive = 0;
		}
	}
	cfg.tenants = t;
	cfg.n_tenants = 2;
	if (!strcmp(argv[3], "apply"))
		err = net_apply(&cfg, &d);
	else
		err = net_down(&cfg, &d);
	diag_print(&d, stderr);
	printf("changes %u backend %s\n", net_apply_changes(), wg_backend_get()->name);
	return err ? 1 : 0;
}
