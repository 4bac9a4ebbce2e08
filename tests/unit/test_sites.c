// SPDX-License-Identifier: GPL-2.0
/* test_sites.c — the pieces behind `rempart site`: the wg-quick text of a
 * site (Address, MTU, DNS), the next free tunnel_ip, the INI edits of a
 * tenant file, relative key paths, the name rule, a rotation's peers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "app/site_conf.h"
#include "config/config.h"
#include "lib/fileutil.h"
#include "lib/ini_edit.h"
#include "lib/keys.h"
#include "net/net_wg.h"
#include "net/rekey.h"
#include "tap.h"

static struct rp_prefix_list pl(const char *text)
{
	struct rp_prefix_list l = { 0 };
	char *copy = strdup(text), *save = NULL;

	for (char *p = strtok_r(copy, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) {
		l.v = realloc(l.v, (l.n + 1) * sizeof(*l.v));
		prefix_parse(p, &l.v[l.n++]);
	}
	free(copy);
	return l;
}

static void edit_case(const char *name, const char *in, const struct ini_change *c, size_t n,
		      const char *want)
{
	char *got = ini_text_change(in, c, n);

	tap_result(got && !strcmp(got, want), "ini_edit: %s%s%s", name, got ? "" : " (NULL)",
		   got && strcmp(got, want) ? " (got something else)" : "");
	if (got && strcmp(got, want))
		printf("# got:\n%s# want:\n%s", got, want);
	free(got);
}

static void test_ini_edit(void)
{
	const char *in = "; a comment\n[tenant]\nname = a\n\n[ Site  Lyon ]  ; the first\n"
			 "public_key = OLD   ; inline\nallowed_ips = 10.1.0.0/24\n\n[site paris]\n"
			 "public_key = P\n";
	char *s;

	edit_case("replace a key in place, keep the rest",
		  in, (struct ini_change[]){ { "site lyon", "public_key", "NEW" } }, 1,
		  "; a comment\n[tenant]\nname = a\n\n[ Site  Lyon ]  ; the first\n"
		  "public_key = NEW\nallowed_ips = 10.1.0.0/24\n\n[site paris]\npublic_key = P\n");
	edit_case("add a key after the section's last key",
		  in, (struct ini_change[]){ { "site lyon", "previous_public_key", "OLD" } }, 1,
		  "; a comment\n[tenant]\nname = a\n\n[ Site  Lyon ]  ; the first\n"
		  "public_key = OLD   ; inline\nallowed_ips = 10.1.0.0/24\nprevious_public_key = OLD\n\n"
		  "[site paris]\npublic_key = P\n");
	edit_case("remove a key; a missing one to remove is fine",
		  in, (struct ini_change[]){ { "site lyon", "allowed_ips", NULL },
					     { "site lyon", "endpoint", NULL } }, 2,
		  "; a comment\n[tenant]\nname = a\n\n[ Site  Lyon ]  ; the first\n"
		  "public_key = OLD   ; inline\n\n[site paris]\npublic_key = P\n");
	edit_case("add to the last section without a final newline",
		  "[site x]\na = 1", (struct ini_change[]){ { "site x", "b", "2" } }, 1,
		  "[site x]\na = 1\nb = 2\n");
	edit_case("key names compare case-insensitively",
		  "[site x]\nPublic_Key = A\n", (struct ini_change[]){ { "site x", "public_key", "B" } }, 1,
		  "[site x]\npublic_key = B\n");
	s = ini_text_change(in, (struct ini_change[]){ { "site nice", "a", "b" } }, 1);
	tap_result(!s && errno == ENOENT, "ini_edit: a section that is not there: ENOENT");
	free(s);
	s = ini_text_append("[tenant]\nname = a", "[site b]\nk = v\n");
	tap_result(s && !strcmp(s, "[tenant]\nname = a\n\n[site b]\nk = v\n"),
		   "ini_edit: append after one blank line");
	free(s);
	tap_result(ini_text_has_section(in, "site lyon") && !ini_text_has_section(in, "site nice"),
		   "ini_edit: has_section");
	tap_result(ini_value_ok("10.1.0.0/24, fd00::/64") && !ini_value_ok("a;b") && ini_value_ok("[2001:db8::1]:51820") &&
		   !ini_value_ok("a\nb") && !ini_value_ok(" a") && !ini_value_ok("a=b") &&
		   !ini_value_ok(""), "ini_edit: values that INI can hold");
}

static void rel_case(const char *from, const char *to, const char *want)
{
	char buf[256];
	int err = path_relative(from, to, buf, sizeof(buf));

	tap_result(!err && !strcmp(buf, want), "path_relative %s -> %s: %s (got %s)", from, to, want,
		   err ? "error" : buf);
}

static void test_paths(void)
{
	rel_case("/etc/rempart/tenants.d", "/etc/rempart/keys/a-b.psk", "../keys/a-b.psk");
	rel_case("/etc/rempart/tenants.d", "/etc/rempart/tenants.d/a.psk", "a.psk");
	rel_case("/etc/rempart/tenants.d", "/var/lib/k/a.psk", "../../../var/lib/k/a.psk");
	rel_case("/etc/r", "/etc/rx/a", "../rx/a");
	rel_case("/", "/a/b", "a/b");
}

static void test_names(void)
{
	tap_result(config_name_ok("lyon-2", RP_NAME_MAX) && !config_name_ok("lyon_2", RP_NAME_MAX) &&
		   !config_name_ok("-a", RP_NAME_MAX) && !config_name_ok("Lyon", RP_NAME_MAX) &&
		   !config_name_ok("", RP_NAME_MAX) &&
		   !config_name_ok("abcdefghijklmnopqrstuvwxyz0123456", RP_NAME_MAX),
		   "site names: the config's rule (a-z 0-9 '-', not first, at most 32)");
}

static void next_case(const char *name, struct rp_tenant *t, const char *lans, const char *want)
{
	struct rp_prefix_list out = { 0 }, l = lans ? pl(lans) : (struct rp_prefix_list){ 0 };
	char got[256] = "", buf[64];
	int err = site_next_tunnel_ips(t, &l, &out);

	for (size_t i = 0; i < out.n; i++) {
		prefix_format(&out.v[i], buf, sizeof(buf));
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", buf);
	}
	if (err)
		snprintf(got, sizeof(got), "error %d", err);
	tap_result(!strcmp(got, want), "next tunnel_ip: %s: %s (got %s)", name, want, got);
	free(out.v);
	free(l.v);
}

static void test_next_tunnel_ip(void)
{
	struct rp_site sites[2] = {
		{ .name = "a", .allowed_ips = pl("10.1.0.0/24"), .tunnel_ip = pl("100.64.10.2/32, fd64:10::2/128") },
		{ .name = "b", .allowed_ips = pl("10.2.0.0/24"), .tunnel_ip = pl("100.64.10.4/32") },
	};
	struct rp_tenant t = { .name = "t", .tunnel_address = pl("100.64.10.1/24, fd64:10::1/64"),
			       .cloud_prefixes = pl("10.20.0.0/16"), .sites = sites, .n_sites = 2 };
	struct rp_tenant small = { .name = "s", .tunnel_address = pl("100.64.20.1/30") };
	struct rp_tenant full = { .name = "f", .tunnel_address = pl("100.64.20.1/31") };

	next_case("the lowest free, skipping the gateway's and the sites'", &t, NULL,
		  "100.64.10.3/32 fd64:10::3/128");
	sites[1].tunnel_ip.v[0].addr[3] = 3;	/* b now has .3 */
	next_case("a gap is filled first", &t, NULL, "100.64.10.4/32 fd64:10::3/128");
	next_case("a /30 with the gateway on .1: .2 (not .3, the broadcast)", &small, NULL,
		  "100.64.20.2/32");
	small.sites = sites;	/* a site holding .2 fills the /30 */
	small.n_sites = 1;
	sites[0].tunnel_ip.v[0].addr[2] = 20;
	next_case("a full /30: ENOSPC", &small, NULL, "error -28");
	next_case("a /31: the other address", &full, NULL, "100.64.20.0/32");
	{
		struct rp_tenant lan = { .name = "l", .tunnel_address = pl("10.9.0.1/24") };

		next_case("never inside the new site's own LAN", &lan, "10.9.0.0/25", "10.9.0.128/32");
	}
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, line, n) && (p[n] == '\n' || !p[n]))
			return true;
	return false;
}

static void test_conf_text(void)
{
	struct rp_site sites[2] = {
		{ .name = "a", .allowed_ips = pl("10.1.0.0/24, fd10:1::/64"),
		  .tunnel_ip = pl("100.64.10.2/32, fd64:10::2/128"), .keepalive = 25 },
		{ .name = "b", .allowed_ips = pl("10.2.0.0/24") },
	};
	struct rp_tenant t = { .name = "t", .listen_port = 51810,
			       .tunnel_address = pl("100.64.10.1/24, fd64:10::1/64"),
			       .cloud_prefixes = pl("10.20.0.0/16"), .sites = sites, .n_sites = 2,
			       .mtu = 1380, .has_mtu = true, .site_dns = pl("10.20.0.53") };
	struct rp_config cfg = { .name = "gw", .public_endpoint = "198.51.100.1", .tenants = &t,
				 .n_tenants = 1 };
	uint8_t gw[32] = { 1 }, priv[32] = { 2 };
	struct site_conf_keys k = { .gateway = gw };
	char *text = site_conf_text(&cfg, &t, &sites[0], &k);

	tap_result(text && has_line(text, "Address = 100.64.10.2/32, fd64:10::2/128"),
		   "site config: Address is the tunnel_ip (/32, /128)");
	tap_result(text && has_line(text, "MTU = 1380") && has_line(text, "DNS = 10.20.0.53"),
		   "site config: MTU and DNS from the tenant");
	tap_result(text && has_line(text, "PrivateKey = " SITE_CONF_PLACEHOLDER) &&
		   !strstr(text, "PresharedKey"), "site config: placeholder, no PSK line without one");
	tap_result(text && has_line(text, "AllowedIPs = 10.20.0.0/16, 100.64.10.0/24, fd64:10::/64, "
					  "10.2.0.0/24") &&
		   has_line(text, "Endpoint = 198.51.100.1:51810") &&
		   has_line(text, "PersistentKeepalive = 25"),
		   "site config: AllowedIPs (cloud, tunnel networks, other sites), Endpoint, keepalive");
	free(text);
	t.has_mtu = false;
	t.site_dns.n = 0;
	k.private_key = priv;
	text = site_conf_text(&cfg, &t, &sites[1], &k);
	tap_result(text && !strstr(text, "Address") && !strstr(text, "MTU") && !strstr(text, "DNS") &&
		   !strstr(text, SITE_CONF_PLACEHOLDER),
		   "site config: no Address without tunnel_ip, no MTU/DNS unset, the key when given");
	free(text);
}

/* A rotation: two peers until the new key's first handshake. */
static void test_rotation_peers(void)
{
	struct rp_site s = { .name = "a", .allowed_ips = pl("10.1.0.0/24"), .tunnel_ip = pl("100.64.10.2/32"),
			     .has_previous = true, .keepalive = 25 };
	struct rp_tenant t = { .name = "t", .tunnel_interface = "wg-t", .listen_port = 51810,
			       .sites = &s, .n_sites = 1 };
	wg_device *set = NULL, cur = { 0 };
	wg_peer old = { 0 }, new = { 0 };
	unsigned n = 0;
	char why[128];
	int err;

	memset(s.public_key, 0x11, 32);
	memset(s.previous_public_key, 0x22, 32);
	err = net_wg_diff(&t, NULL, &set, &n, why, sizeof(why));
	tap_result(!err && set && set->first_peer && set->first_peer->next_peer &&
		   !memcmp(set->first_peer->public_key, s.previous_public_key, 32) &&
		   set->first_peer->first_allowedip &&
		   !memcmp(set->first_peer->next_peer->public_key, s.public_key, 32) &&
		   !set->first_peer->next_peer->first_allowedip &&
		   set->first_peer->persistent_keepalive_interval == 25,
		   "rotation: the previous key holds the addresses, the new one none");
	wg_device_wipe_free(set);
	set = NULL;
	/* the device as apply left it, then the new key's first handshake */
	memcpy(old.public_key, s.previous_public_key, 32);
	memcpy(new.public_key, s.public_key, 32);
	old.next_peer = &new;
	cur.first_peer = &old;
	cur.last_peer = &new;
	tap_result(!rekey_switched(&s, &cur) && rekey_peer_in_use(&s, &cur) == &old,
		   "rotation: no handshake with the new key: not switched, the previous peer in use");
	new.last_handshake_time.tv_sec = 1;
	tap_result(rekey_switched(&s, &cur) && rekey_peer_in_use(&s, &cur) == &new,
		   "rotation: a handshake with the new key: switched");
	err = net_wg_diff(&t, &cur, &set, &n, why, sizeof(why));
	{
		const wg_peer *a = set ? set->first_peer : NULL, *b = a ? a->next_peer : NULL;

		tap_result(!err && a && b && !memcmp(a->public_key, s.public_key, 32) &&
			   (a->flags & WGPEER_REPLACE_ALLOWEDIPS) && a->first_allowedip &&
			   !memcmp(b->public_key, s.previous_public_key, 32) &&
			   (b->flags & WGPEER_REMOVE_ME),
			   "rotation: apply after the switch moves the addresses first, then removes "
			   "the previous peer");
	}
	wg_device_wipe_free(set);
}

int main(void)
{
	test_ini_edit();
	test_paths();
	test_names();
	test_next_tunnel_ip();
	test_conf_text();
	test_rotation_peers();
	tap_exit();
}
