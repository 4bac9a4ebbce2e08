// SPDX-License-Identifier: GPL-2.0
/* test_config.c — the typed model config_load() fills: defaults, selector
 * expansion, share resolution, sorting, paths, keys; and that every error is
 * collected.  Uses configs/lab (its keys come from `make`) and small configs
 * written into a temporary directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config/config.h"
#include "config/country.h"
#include "lib/keys.h"
#include "scratch.h"
#include "tap.h"

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);

	return s && a >= b && !strcmp(s + a - b, suffix);
}

static bool has_prefix(const struct rp_prefix_list *l, const char *text)
{
	struct rp_prefix p;

	if (prefix_parse(text, &p))
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].family == p.family && l->v[i].len == p.len &&
		    !memcmp(l->v[i].addr, p.addr, 16))
			return true;
	return false;
}

static bool has_cc(const struct rp_ccset *s, const char *code)
{
	uint16_t cc;

	return !cc_parse(code, &cc) && rp_ccset_has(s, cc);
}

static const struct rp_rule *rule(const struct rp_tenant *t, const char *name)
{
	for (size_t i = 0; i < t->n_rules; i++)
		if (!strcmp(t->rules[i].name, name))
			return &t->rules[i];
	return NULL;
}

static void test_lab(void)
{
	struct rp_config cfg;
	struct diag d = { 0 };
	int ret = config_load("configs/lab", 0, &cfg, &d);

	tap_result(ret == 0, "config: configs/lab loads (%d, %zu errors)", ret, diag_count(&d));
	diag_print(&d, stdout);
	diag_free(&d);
	if (ret)
		return;
	tap_result(cfg.n_tenants == 3 && cfg.tenants[0].id == 10 && cfg.tenants[1].id == 20 &&
		   cfg.tenants[2].id == 99, "config: tenants sorted by id");
	struct rp_tenant *a = config_tenant_by_name(&cfg, "alpha");
	struct rp_tenant *b = config_tenant_by_name(&cfg, "bravo");
	struct rp_tenant *s = config_tenant_by_name(&cfg, "services");
	tap_result(a && b && s && config_tenant_by_id(&cfg, 20) == b, "config: lookups by name and id");
	if (!a || !b || !s)
		goto out;
	tap_result(!strcmp(a->tunnel_interface, "wg-alpha"), "config: tunnel_interface defaults to wg-NAME");
	tap_result(a->private_key_file[0] == '/' && ends_with(a->private_key_file, "configs/lab/keys/alpha.key"),
		   "config: key path resolved against the tenant file's directory (%s)", a->private_key_file);
	tap_result(ends_with(cfg.geo_ipv4, "configs/lab/geo.csv") && !cfg.geo_ipv6 &&
		   cfg.geo_format == RP_GEO_CIDR && !cfg.geo_unknown_allow, "config: [geo]");
	tap_result(cfg.mgmt_tcp_ports.n == 1 && cfg.mgmt_tcp_ports.v[0].lo == 22 &&
		   has_prefix(&cfg.mgmt_allow_from, "198.18.0.0/24") && !cfg.has_mgmt_countries,
		   "config: [management]");
	tap_result(cfg.metrics_listen && !strcmp(cfg.metrics_listen, "127.0.0.1:9542"), "config: [metrics]");

	uint8_t priv[32], pub[32];
	char why[128];
	tap_result(!key_file_read(a->private_key_file, priv, why, sizeof(why)) &&
		   !memcmp(priv, a->private_key, 32), "config: private key read");
	key_public_from_private(pub, priv);
	tap_result(!memcmp(pub, a->public_key, 32), "config: public key derived");
	explicit_bzero(priv, sizeof(priv));
	tap_result(a->n_sites == 2 && a->sites[0].has_psk && !a->sites[1].has_psk && a->sites[0].keepalive == 25,
		   "config: sites, preshared key, keepalive");

	tap_result(a->egress == RP_EGRESS_NAT && a->has_egress_countries &&
		   has_cc(&a->egress_countries, "DE") && has_cc(&a->egress_countries, "SE") &&
		   !has_cc(&a->egress_countries, "CN") && has_cc(&a->site_countries, "FR"),
		   "config: egress = nat, egress_countries = EU expanded");
	tap_result(b->egress == RP_EGRESS_NONE && !b->intra_allow && a->intra_allow && s->intra_allow,
		   "config: egress default none, intra default allow");

	const struct rp_rule *r = rule(a, "no-ssh-a1");
	tap_result(r && r->from.n == 2 && has_prefix(&r->from, "10.120.2.0/24") &&
		   has_prefix(&r->from, "fd01:2::/64") && r->to.n == 2 && has_prefix(&r->to, "10.120.1.0/24") &&
		   !r->allow && r->proto == RP_PROTO_TCP && !strcmp(r->from_text, "site:alpha-2"),
		   "config: site:NAME selectors expanded");
	r = rule(b, "web");
	tap_result(r && r->from.n == 2 && has_prefix(&r->from, "10.130.1.0/24") && r->to.n == 2 &&
		   has_prefix(&r->to, "10.20.0.0/16") && has_prefix(&r->to, "fd00:20::/48") &&
		   r->ports.n == 3 && r->ports.v[2].lo == 8000 && r->ports.v[2].hi == 8099 && r->allow,
		   "config: sites/cloud selectors and port ranges");
	r = rule(b, "ping");
	tap_result(r && r->from.n == 4 && r->to.n == 4 && r->proto == RP_PROTO_ICMP && !r->ports.n,
		   "config: selector lists");

	tap_result(s->n_shares == 1 && s->shares[0].n_tenants == 2 &&
		   s->shares[0].tenant_idx[0] == a - cfg.tenants && s->shares[0].tenant_idx[1] == b - cfg.tenants &&
		   s->shares[0].proto == RP_PROTO_UDP && s->shares[0].ports.v[0].lo == 53 &&
		   has_prefix(&s->shares[0].to, "fd00:99::53/128"), "config: share resolved to tenant indexes");
out:
	config_free(&cfg);
	tap_result(cfg.n_tenants == 0 && !cfg.tenants, "config: config_free clears");
}

static char tmp[64];

static void test_defaults_and_errors(void)
{
	struct rp_config cfg;
	struct diag d = { 0 };
	char path[128];
	int ret;

	if (scratch_make(tmp, "config")) {
		tap_skip("config: no temporary directory");
		return;
	}
	scratch_put(tmp, "rempart.ini", "[gateway]\nuplink = eth0\n");
	scratch_put(tmp, "tenants.d/t.ini", "[tenant]\nname = t\nid = 7\ncloud_interface = eth1\n"
			       "cloud_prefixes = 10.0.0.0/8\ntunnel_address = 100.64.0.1/24\n"
			       "listen_port = 51820\nprivate_key_file = /nonexistent\n");
	scratch_put(tmp, "tenants.d/notes.txt", "not a tenant\n");
	snprintf(path, sizeof(path), "%s/rempart.ini", tmp);
	ret = config_load(path, RP_CFG_SKIP_KEY_FILES, &cfg, &d);
	tap_result(ret == 0, "config: minimal config, key files skipped (%d)", ret);
	diag_print(&d, stdout);
	diag_free(&d);
	if (!ret) {
		tap_result(!strcmp(cfg.state_dir, "/var/lib/rempart") && !strcmp(cfg.name, "rempart") &&
			   ends_with(cfg.tenants_dir, "/tenants.d") && cfg.fail_mode == RP_FAIL_CLOSED &&
			   !cfg.geo_ipv4 && !cfg.metrics_listen && cfg.n_tenants == 1 &&
			   cfg.tenants[0].egress == RP_EGRESS_NONE && cfg.tenants[0].intra_allow &&
			   !cfg.tenants[0].vlan && !strcmp(cfg.tenants[0].tunnel_interface, "wg-t"),
			   "config: defaults (state_dir, tenants dir, fail_mode, egress, intra, tunnel)");
		config_free(&cfg);
	}
	ret = config_load(tmp, 0, &cfg, &d);
	tap_result(ret == -EINVAL && diag_count(&d) == 1 && strstr(d.msgs[0], "private_key_file"),
		   "config: a directory means DIR/rempart.ini; key files read without the flag");
	diag_free(&d);

	scratch_put(tmp, "rempart.ini", "[gateway]\nuplink = eth0\nfail_mode = shut\n[metrics]\nlisten = nowhere\n");
	scratch_put(tmp, "tenants.d/t.ini", "[tenant]\nname = T\nid = 0\ncloud_interface = eth1\n"
			       "cloud_prefixes = 10.0.0.0/8\ntunnel_address = 100.64.0.1/24\n"
			       "listen_port = 51820\nprivate_key_file = /nonexistent\n");
	ret = config_load(tmp, RP_CFG_SKIP_KEY_FILES, &cfg, &d);
	tap_result(ret == -EINVAL && diag_count(&d) == 4, "config: every error reported, not only the first (%zu)",
		   diag_count(&d));
	diag_free(&d);
	tap_result(config_load("/nonexistent/rempart", 0, &cfg, &d) < 0 && diag_count(&d) == 1,
		   "config: a missing file is one error");
	diag_free(&d);

	scratch_remove(tmp);
}

static void test_keys(void)
{
	uint8_t k[32], k2[32];
	char b64[RP_KEY_B64_LEN + 1];

	key_generate_private(k);
	key_to_base64(k, b64);
	tap_result(strlen(b64) == 44 && !key_from_base64(b64, k2) && !memcmp(k, k2, 32),
		   "keys: base64 round trip");
	tap_result((k[0] & 7) == 0 && (k[31] & 0x80) == 0 && (k[31] & 0x40),
		   "keys: private keys are clamped like wg genkey");
	b64[42] = b64[42] == 'A' ? 'B' : 'A';	/* non-canonical last character */
	tap_result(key_from_base64(b64, k2) != 0 || memcmp(k, k2, 32), "keys: a changed key differs");
	tap_result(key_from_base64("AAAA", k2) && key_from_base64("", k2), "keys: short strings rejected");
	explicit_bzero(k, sizeof(k));
}

int main(void)
{
	if (chdir(getenv("TOP") ? getenv("TOP") : ".")) {
		perror("chdir");
		return 1;
	}
	test_keys();
	if (access("configs/lab/keys/alpha.key", R_OK))
		tap_skip("config: configs/lab keys not generated (run make)");
	else
		test_lab();
	test_defaults_and_errors();
	tap_exit();
}
