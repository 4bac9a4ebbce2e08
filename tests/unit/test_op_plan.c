// SPDX-License-Identifier: GPL-2.0
/* test_op_plan — the policy part of `apply --dry-run` / `diff`
 * (apply_plan_policy): the applied snapshot against the files now, by
 * tenant and section.  A layout or comment change is no change; a key that
 * changed, a section added or removed, a tenant added or removed are one
 * line each; nothing applied yet: every tenant is new. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "app/apply_plan.h"
#include "tap.h"

static char got[4096];

static void emit(void *ctx, char op, const char *what, const char *text)
{
	size_t n = strlen(got);

	(void)ctx;
	snprintf(got + n, sizeof(got) - n, "%c %s %s\n", op, what, text);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

int main(void)
{
	char dir[] = "/tmp/op_plan.XXXXXX", p[512], cmd[600];
	struct rp_tenant t[2] = { { .name = "a", .n_sites = 1, .n_rules = 1 }, { .name = "c" } };
	struct rp_config cfg = { .tenants = t, .n_tenants = 2 };
	struct diag d = { 0 };
	const char *want =
		"~ policy gateway [management]: tcp_ports\n"
		"~ policy tenant a [site s1]: allowed_ips\n"
		"+ policy tenant a [rule ssh]\n"
		"+ policy tenant a [share dns]\n"
		"- policy tenant a [rule web]\n"
		"+ policy tenant c: 0 sites, 0 rules, 0 shares\n"
		"- policy tenant b\n";
	int n;

	if (!mkdtemp(dir))
		return 1;
	snprintf(p, sizeof(p), "%s/etc/tenants.d", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s %s/state/applied/tenants", p, dir);
	if (system(cmd))
		return 1;
	/* applied */
	snprintf(p, sizeof(p), "%s/state/applied/rempart.ini", dir);
	put(p, "[gateway]\nname = gw\n\n[management]\nallow_from = 192.0.2.0/24\ntcp_ports = 22\n");
	snprintf(p, sizeof(p), "%s/state/applied/tenants/a.ini", dir);
	put(p, "[tenant]\nname = a\nid = 10\nsite_countries = FR, DE\n\n[site s1]\n"
	       "allowed_ips = 10.1.0.0/24\n\n[rule web]\nto = 10.20.1.0/24\nports = 443\n");
	snprintf(p, sizeof(p), "%s/state/applied/tenants/b.ini", dir);
	put(p, "[tenant]\nname = b\nid = 20\n");
	/* now: the same [tenant] laid out differently, s1 moved, web gone,
	 * ssh and dns new; b gone, c new; management's port changed */
	snprintf(p, sizeof(p), "%s/etc/rempart.ini", dir);
	put(p, "; the gateway\n[gateway]\nname=gw\n[management]\nallow_from = 192.0.2.0/24   ; office\n"
	       "tcp_ports = 2222\n");
	snprintf(p, sizeof(p), "%s/etc/tenants.d/a.ini", dir);
	put(p, "[ tenant ]\n  NAME = a\nid=10   # ten\nsite_countries = FR,DE\n[site s1]\n"
	       "allowed_ips = 10.1.0.0/23\n[rule ssh]\nto = 10.20.1.0/24\nports = 22\n"
	       "[share dns]\nto = 10.20.0.53/32\n");
	snprintf(p, sizeof(p), "%s/etc/tenants.d/c.ini", dir);
	put(p, "[tenant]\nname = c\nid = 30\n");
	snprintf(p, sizeof(p), "%s/etc/rempart.ini", dir);
	cfg.path = strdup(p);
	snprintf(p, sizeof(p), "%s/etc/tenants.d", dir);
	cfg.tenants_dir = strdup(p);
	snprintf(p, sizeof(p), "%s/state", dir);
	cfg.state_dir = strdup(p);

	n = apply_plan_policy(&cfg, emit, NULL, &d);
	tap_result(n == 7 && !strcmp(got, want),
		   "plan: the policy by tenant and section, layout and comments ignored (%d):\n%s", n,
		   got);
	/* nothing applied yet */
	snprintf(cmd, sizeof(cmd), "rm -rf %s/state/applied", dir);
	got[0] = 0;
	n = system(cmd) ? -1 : apply_plan_policy(&cfg, emit, NULL, &d);
	tap_result(n == 2 && !strcmp(got, "+ policy tenant a: 1 sites, 1 rules, 0 shares\n"
					  "+ policy tenant c: 0 sites, 0 rules, 0 shares\n"),
		   "plan: nothing applied yet: every tenant is new (%d):\n%s", n, got);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return 1;
	free(cfg.path);
	free(cfg.tenants_dir);
	free(cfg.state_dir);
	diag_free(&d);
	tap_exit();
}
