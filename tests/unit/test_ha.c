// SPDX-License-Identifier: GPL-2.0
/* test_ha.c — keepalived's configuration from [ha] (ha/ha_conf.c): what it
 * holds for a pair with an untagged and a VLAN tenant, and that keepalived
 * itself accepts it (`keepalived -t`, when installed); conntrackd's for the
 * NAT tenant (ha/ha_conntrackd.c) and the NAT to public_endpoint
 * (net/nat.c, `nft -c`). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "config/config.h"
#include "ha/ha.h"
#include "lib/diag.h"
#include "net/net_priv.h"
#include "scratch.h"
#include "tap.h"

static const char *main_ini =
	"[gateway]\nname = gw-a\nuplink = eth0\npublic_endpoint = 198.51.100.10\n"
	"tenants = tenants.d\n"
	"[ha]\npeer = 192.0.2.2\nsync_interface = eth9\npriority = 150\nvrid = 51\n";
static const char *alpha_ini =
	"[tenant]\nname = alpha\nid = 10\ncloud_interface = eth1\nvlan = 110\n"
	"cloud_address = 10.20.0.1/24, fd00:20::1/64\ncloud_prefixes = 10.20.0.0/16\n"
	"tunnel_address = 100.64.10.1/24\nlisten_port = 51810\n"
	"private_key_file = alpha.key\n";
static const char *bravo_ini =
	"[tenant]\nname = bravo\nid = 20\ncloud_interface = eth1\nvlan = 120\n"
	"cloud_address = 10.30.0.1/24\ncloud_prefixes = 10.30.0.0/16\n"
	"tunnel_address = 100.64.20.1/24\nlisten_port = 51820\n"
	"private_key_file = bravo.key\negress = nat\n"
	"[site b1]\npublic_key = zLz93zfAx93OJ2RxgSy+X8MxvFIiiLz3Y8oL8kuEglI=\n"
	"allowed_ips = 10.130.1.0/24\n";

static int has(const char *text, const char *what)
{
	return strstr(text, what) != NULL;
}

/* ha.role as the daemon writes it: the role of a live daemon, fault for
 * one that is gone. */
static void role_file(const char *dir)
{
	char text[128];
	enum ha_role r;
	uint64_t tr, since;
	int err;

	snprintf(text, sizeof(text), "role active\ntransitions 3\nsince 1700000000\npid %d\n",
		 (int)getpid());
	scratch_put(dir, "ha.role", text);
	err = ha_role_read(dir, &r, &tr, &since);
	tap_result(!err && r == HA_ACTIVE && tr == 3 && since == 1700000000,
		   "ha: the role a live daemon recorded is read back");
	/* pid_max is at most 2^22: this one never runs */
	scratch_put(dir, "ha.role", "role active\ntransitions 3\nsince 1700000000\npid 8388607\n");
	err = ha_role_read(dir, &r, &tr, &since);
	tap_result(!err && r == HA_FAULT, "ha: the role of a daemon that is gone reads fault");
	scratch_put(dir, "ha.role", "role\n");
	err = ha_role_read(dir, &r, &tr, &since);
	tap_result(err == -EINVAL && r == HA_FAULT, "ha: a garbled role file reads fault");
	tap_result(!strcmp(ha_role_name(HA_ACTIVE), "active") &&
		   !strcmp(ha_role_name(HA_STANDBY), "standby") &&
		   !strcmp(ha_role_name(HA_FAULT), "fault"), "ha: role names as status prints them");
}

/* One sync datagram as the active sends it (ha_peers.c): magic, vrid,
 * count, then entries of tenant id, key, family, port, address. */
static size_t dgram(uint8_t *buf, uint8_t vrid, const uint8_t (*eps)[7], size_t n)
{
	memcpy(buf, "RPE1", 4);
	buf[4] = vrid;
	buf[5] = (uint8_t)n;
	buf[6] = buf[7] = 0;
	for (size_t k = 0; k < n; k++) {
		uint8_t *p = buf + 8 + k * 56;
		uint32_t id = htonl(10);

		memset(p, 0, 56);
		memcpy(p, &id, 4);
		memset(p + 4, 0x40 + (int)k, 32);	/* the key */
		p[36] = 4;
		memcpy(p + 38, &eps[k][4], 2);		/* port, network order */
		memcpy(p + 40, eps[k], 4);
	}
	return 8 + n * 56;
}

static void sync_hints(const struct rp_config *cfg)
{
	/* address (4), port (2, network order), unused */
	static const uint8_t eps[][7] = {
		{ 198, 18, 1, 50, 0xca, 0x6c, 0 },	/* 198.18.1.50:51820 */
		{ 127, 0, 0, 1, 0xca, 0x6c, 0 },	/* loopback: refused */
		{ 224, 0, 0, 5, 0xca, 0x6c, 0 },	/* multicast: refused */
		{ 198, 18, 1, 51, 0, 0, 0 },		/* no port: refused */
	};
	uint8_t buf[8 + 4 * 56];
	struct ha h = { .sync_fd = -1 };
	size_t len;
	int n;

	len = dgram(buf, cfg->ha.vrid, eps, 4);
	n = ha_sync_parse(&h, cfg, buf, len);
	tap_result(n == 4 && h.n_hints == 1 && h.hints[0].tenant == 10,
		   "ha sync: a datagram's hints are kept, but loopback, multicast and portless "
		   "endpoints (%d entries, %zu kept)", n, h.n_hints);
	n = ha_sync_parse(&h, cfg, buf, len);
	tap_result(n == 4 && h.n_hints == 1, "ha sync: the newest hint per (tenant, key) only");
	tap_result(ha_sync_parse(&h, cfg, buf, len - 1) == -EINVAL,
		   "ha sync: a truncated datagram is refused");
	len = dgram(buf, (uint8_t)(cfg->ha.vrid + 1), eps, 1);
	tap_result(ha_sync_parse(&h, cfg, buf, len) == -EINVAL,
		   "ha sync: another VRRP instance's datagram is refused");
	buf[0] = 'X';
	len = dgram(buf, cfg->ha.vrid, eps, 1);
	buf[0] = 'X';
	tap_result(ha_sync_parse(&h, cfg, buf, len) == -EINVAL,
		   "ha sync: a datagram without the magic is refused");
	ha_sync_close(&h);
}

/* Both active (ha_peers.c): the peer's datagram reaching the active
 * renews its sessions, but not right after its own takeover (the old
 * active's last words), not twice within HA_RENEW_EVERY_MS, never on a
 * standby. */
static void renew_rule(void)
{
	struct ha h = { .sync_fd = -1, .role = HA_ACTIVE, .since = 100000 };
	bool early, first, again, later, standby;

	early = ha_sync_renew_due(&h, 100000 + HA_RENEW_AFTER_MS - 1, "test");
	first = ha_sync_renew_due(&h, 100000 + HA_RENEW_AFTER_MS, "test") &&
		h.renew_at == 100000 + HA_RENEW_AFTER_MS + HA_RENEW_DELAY_MS;
	again = ha_sync_renew_due(&h, 100000 + HA_RENEW_AFTER_MS + HA_RENEW_EVERY_MS - 1, "test");
	later = ha_sync_renew_due(&h, 100000 + HA_RENEW_AFTER_MS + HA_RENEW_EVERY_MS, "test");
	h.role = HA_STANDBY;
	standby = ha_sync_renew_due(&h, 1e9, "test");
	tap_result(!early && first && !again && later && !standby && h.renewals == 2,
		   "ha: the peer active too renews the sessions %d ms later: not within %d ms of "
		   "the takeover, at most every %d ms, never on a standby", HA_RENEW_DELAY_MS,
		   HA_RENEW_AFTER_MS, HA_RENEW_EVERY_MS);
}

/* keepalived's notify FIFO as the daemon reads it (ha.c): states change
 * the role; MASTER_RX_LOWER_PRI (the master heard the peer as master too:
 * a thaw, a healed split brain) is no state: the role stays active and the
 * sessions are renewed.  Read as a state, it made a thawed gateway "fault"
 * while it held the addresses (lab_ha, before the fix). */
static void fifo_lines(const char *dir)
{
	struct ha h = { .on = true, .sync_fd = -1, .role = HA_STANDBY };
	int fds[2];
	bool master, rx_lower, renewed, backup, fault;

	if (pipe(fds)) {
		tap_result(false, "ha fifo: pipe: %s", strerror(errno));
		return;
	}
	h.fifo = fds[0];
	h.state_dir = (char *)dir;
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
#define LINE(text) ((void)!write(fds[1], text, strlen(text)), ha_tick(&h))
	LINE("INSTANCE \"rempart\" MASTER 150\n");
	master = h.role == HA_ACTIVE;
	h.since -= HA_RENEW_AFTER_MS;	/* active for a while */
	LINE("INSTANCE \"rempart\" MASTER_RX_LOWER_PRI 150\n");
	rx_lower = h.role == HA_ACTIVE;
	renewed = h.renewals == 1;
	LINE("INSTANCE \"rempart\" BACK");	/* a line in two reads */
	LINE("UP 150\n");
	backup = h.role == HA_STANDBY;
	LINE("INSTANCE \"rempart\" FAULT 150\nINSTANCE \"rempart\" SOMETHING_NEW 150\n");
	fault = h.role == HA_FAULT;
#undef LINE
	tap_result(master && rx_lower && renewed && backup && fault && h.transitions == 3,
		   "ha fifo: MASTER, BACKUP, FAULT change the role; MASTER_RX_LOWER_PRI keeps it "
		   "active and renews the sessions (master %d, after rx_lower %d, renewed %d, "
		   "backup %d, fault %d, %llu transitions)", master, rx_lower, renewed, backup, fault,
		   (unsigned long long)h.transitions);
	close(fds[0]);
	close(fds[1]);
}

/* conntrackd for the NAT tenant (bravo), and the NAT to public_endpoint. */
static void conntrackd_conf(struct rp_config *cfg, const char *dir)
{
	struct rp_addr me;
	char *text = NULL;
	int err;

	tap_result(ha_ct_wanted(cfg), "ha conntrackd: wanted with [ha] and a tenant with egress = nat");
	cfg->tenants[1].egress = RP_EGRESS_NONE;
	tap_result(!ha_ct_wanted(cfg), "ha conntrackd: not without a NAT tenant");
	cfg->tenants[1].egress = RP_EGRESS_NAT;
	addr_parse("192.0.2.1", &me);
	err = ha_ct_text(cfg, "/var/lib/rempart-ha-test", &me, &text);
	tap_result(!err && text, "ha conntrackd: conntrackd.conf written");
	if (!text)
		return;
	tap_result(has(text, "Mode FTFW {\n\t\tStartupResync on\n") &&
		   has(text, "UDP {\n\t\tIPv4_address 192.0.2.1\n\t\tIPv4_Destination_Address 192.0.2.2\n"
			     "\t\tPort 3780\n\t\tInterface eth9\n\t\tChecksum on\n"),
		   "ha conntrackd: FTFW, unicast UDP/3780 to peer over sync_interface, resync at start");
	tap_result(has(text, "LockFile /var/lib/rempart-ha-test/conntrackd.lock\n") &&
		   has(text, "Path /var/lib/rempart-ha-test/conntrackd.ctl\n") &&
		   has(text, "LogFile off\n"), "ha conntrackd: lock and control socket in the state directory");
	tap_result(has(text, "Address Accept {\n\t\t\t# tenant bravo\n\t\t\tIPv4_address 10.30.0.0/16\n"
			     "\t\t\tIPv4_address 100.64.20.0/24\n\t\t\tIPv4_address 10.130.1.0/24\n") &&
		   !has(text, "10.20.0.0/16") && has(text, "Protocol Accept {\n\t\t\tTCP\n\t\t\tUDP\n"),
		   "ha conntrackd: only the NAT tenant's sources (cloud, tunnel, sites), TCP and UDP");
	free(text);
	text = nat_ruleset(cfg);
	tap_result(text && has(text, "oifname \"eth0\" ct mark & 0xffff0000 == 0x52500000 meta nfproto ipv4 "
				     "meta l4proto { tcp, udp } snat ip to 198.51.100.10:") &&
		   has(text, "meta nfproto ipv4 snat ip to 198.51.100.10\n") &&
		   strstr(text, "snat ip to") < strstr(text, "masquerade") &&
		   has(text, "oifname \"eth0\" ct state new tcp flags & (fin | syn | rst | ack) != syn drop\n"),
		   "ha nat: the uplink's NATed connections take public_endpoint (the virtual address), "
		   "before masquerade; no NATed TCP connection is picked up mid-stream");
	if (!text || getuid() || system("command -v nft >/dev/null 2>&1")) {
		tap_skip("ha nat: nft -c (needs root and nft)");
	} else {
		char cmd[256], *script = NULL;
		int rc;

		if (asprintf(&script, "table inet %s\ndelete table inet %s\n%s", RP_NFT_TABLE,
			     RP_NFT_TABLE, text) > 0) {
			scratch_put(dir, "nat.nft", script);
			snprintf(cmd, sizeof(cmd), "nft -c -f %s/nat.nft", dir);
			rc = system(cmd);
			tap_result(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "ha nat: nft -c accepts the table");
		}
		free(script);
	}
	free(text);
}

int main(void)
{
	struct rp_config cfg;
	struct diag d = { 0 };
	char dir[64], path[128], *text = NULL;
	int err;

	if (scratch_make(dir, "ha")) {
		printf("FAIL: ha: scratch directory\n");
		return 1;
	}
	scratch_put(dir, "rempart.ini", main_ini);
	scratch_put(dir, "tenants.d/alpha.ini", alpha_ini);
	scratch_put(dir, "tenants.d/bravo.ini", bravo_ini);
	err = config_load(dir, RP_CFG_SKIP_KEY_FILES, &cfg, &d);
	tap_result(!err && cfg.ha.enabled && cfg.ha.priority == 150 && cfg.ha.vrid == 51,
		   "ha: [ha] loads (%s)", d.n ? d.msgs[0] : "no error");
	if (err)
		goto out;
	err = ha_conf_text(&cfg, "/var/lib/rempart-ha-test", &text);
	tap_result(!err && text, "ha: keepalived.conf written");
	if (!text)
		goto out;
	tap_result(has(text, "vrrp_version 3") && has(text, "advert_int 0.1"),
		   "ha: VRRPv3 with 100 ms adverts");
	tap_result(has(text, "interface eth9\n") && has(text, "unicast_peer {\n\t\t192.0.2.2\n"),
		   "ha: unicast to peer out of sync_interface");
	tap_result(has(text, "virtual_router_id 51\n") && has(text, "priority 150\n") &&
		   has(text, "state BACKUP\n"), "ha: vrid and priority, starting as BACKUP");
	tap_result(has(text, "\tdont_track_primary\n") && has(text, "\tvrrp_higher_prio_send_advert\n"),
		   "ha: a cut sync link makes no FAULT; the loser of a split brain's "
		   "re-election makes the winner announce itself");
	tap_result(has(text, "198.51.100.10/32 dev eth0\n"),
		   "ha: public_endpoint is a virtual address on the uplink");
	tap_result(has(text, "10.20.0.1/24 dev eth1.110 noprefixroute\n") &&
		   has(text, "fd00:20::1/64 dev eth1.110 noprefixroute\n") &&
		   has(text, "10.30.0.1/24 dev eth1.120 noprefixroute\n"),
		   "ha: every cloud_address (both families, VLAN links) without a prefix route");
	tap_result(has(text, "track_interface {\n\t\teth0\n\t\teth1.110\n\t\teth1.120\n\t}"),
		   "ha: the uplink and every cloud link tracked, once each");
	tap_result(has(text, "file /var/lib/rempart-ha-test/ha.health\n") &&
		   has(text, "rempart_health weight 0\n") &&
		   has(text, "vrrp_notify_fifo /var/lib/rempart-ha-test/ha.fifo\n"),
		   "ha: health by track file, role by notify FIFO in the state directory");
	if (access("/usr/sbin/keepalived", X_OK)) {
		tap_skip("ha: keepalived -t (keepalived is not installed: make deps)");
	} else {
		char cmd[256];
		int rc;

		snprintf(path, sizeof(path), "%s/keepalived.conf", dir);
		scratch_put(dir, "keepalived.conf", text);
		/* the interfaces are not on this host: those complaints only */
		snprintf(cmd, sizeof(cmd), "/usr/sbin/keepalived -t -f %s 2>&1 | grep -v "
			 "\"doesn't exist\\|^Non-existent interface\"", path);
		rc = system(cmd);
		tap_result(WIFEXITED(rc) && WEXITSTATUS(rc) == 1,
			   "ha: keepalived -t finds nothing wrong but the absent interfaces");
	}
	free(text);
	text = NULL;
	err = ha_nft_text(&cfg, &text);
	tap_result(!err && text && has(text, "type filter hook output priority 0;") &&
		   has(text, "oifname \"eth0\" udp sport { 51810, 51820 } ip saddr != 198.51.100.10 "
			     "ip saddr set 198.51.100.10\n") &&
		   has(text, "oifname \"eth0\" udp sport { 51810, 51820 } ip saddr 198.51.100.10 "
			     "fib saddr type != local drop\n"),
		   "ha: WireGuard leaves the uplink from public_endpoint, and only while it is here");
	if (!text || getuid() || system("command -v nft >/dev/null 2>&1")) {
		tap_skip("ha: nft -c (needs root and nft)");
	} else {
		char cmd[256];
		int rc;

		scratch_put(dir, "ha.nft", text);
		snprintf(cmd, sizeof(cmd), "nft -c -f %s/ha.nft", dir);
		rc = system(cmd);
		tap_result(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "ha: nft -c accepts the table");
	}
	free(text);
	role_file(dir);
	sync_hints(&cfg);
	renew_rule();
	fifo_lines(dir);
	conntrackd_conf(&cfg, dir);
	config_free(&cfg);
out:
	diag_free(&d);
	scratch_remove(dir);
	tap_exit();
}
