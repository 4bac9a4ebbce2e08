// SPDX-License-Identifier: GPL-2.0
/* test_audit.c — `rempart audit` (userspace/audit/) on a live state built
 * in private network and mount namespaces: the real programs attached by
 * the loader (dataplane_apply), the routing that net_apply makes written
 * with ip(8) (veths stand for the tunnels: the programs and the routes do
 * not care), then broken one way at a time.
 *
 *   uplink dpup 198.51.100.2 (management 192.0.2.0/24, TCP 22)
 *   alpha 10  cloud dpcloud 10.20.0.0/16   tunnel dptun1  sites 10.120.1.0/24,
 *             10.130.1.0/24 (the same LAN as bravo's site), egress nat
 *   bravo 20  cloud aucl2   10.20.0.0/16 (overlaps alpha's), 10.21.0.0/24
 *             tunnel dptun2  site 10.130.1.0/24, intra deny
 *   svc   99  cloud aucl3   10.99.0.0/24   tunnel dptun3, share dns
 *             10.99.0.53/32 udp 53 to alpha and bravo
 *
 * Each case checks the verdict (proven, or the violation's kind, ingress,
 * tenant reached and egress), then puts the state back and checks that the
 * audit is clean again.  The bad states must be refused (-ENOENT, -EPROTO,
 * -EOPNOTSUPP), never "proven". */
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "audit/audit.h"
#include "audit/audit_walk.h"
#include "dataplane/dataplane.h"
#include "fixture.h"
#include "tap.h"

static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	return system(cmd);
}

/* many: svc also shares TCP ports 2000, 2002, ... of 10.99.0.60 ..
 * 10.99.0.69 with alpha (ten shares, 240 port cuts: every piece towards
 * svc has more than the 160 shapes the audit once kept, silently) */
static void config(struct rp_config *c, bool many)
{
	struct rp_tenant *t;

	fx_cfg_init(c, 4);
	c->mgmt_allow_from = fx_plist("192.0.2.0/24");
	c->mgmt_tcp_ports = fx_ports("22");

	t = fx_tenant(c, "alpha", 10, 4);
	t->cloud_interface = strdup("dpcloud");
	t->cloud_prefixes = fx_plist("10.20.0.0/16, fd00:20::/48");
	t->cloud_address = fx_plist("10.20.0.1/24");
	free(t->tunnel_interface);
	t->tunnel_interface = strdup("dptun1");
	t->tunnel_address = fx_plist("100.64.10.1/24");
	t->listen_port = 51810;
	t->egress = RP_EGRESS_NAT;
	fx_site(t, "a1", "10.120.1.0/24, fd10:120:1::/64", NULL);
	fx_site(t, "a2", "10.130.1.0/24", NULL);

	t = fx_tenant(c, "bravo", 20, 4);
	t->cloud_interface = strdup("aucl2");
	t->cloud_prefixes = fx_plist("10.20.0.0/16, 10.21.0.0/24");
	free(t->tunnel_interface);
	t->tunnel_interface = strdup("dptun2");
	t->tunnel_address = fx_plist("100.64.20.1/24");
	t->listen_port = 51820;
	t->intra_allow = false;
	fx_site(t, "b1", "10.130.1.0/24", NULL);

	t = fx_tenant(c, "svc", 99, 4);
	t->cloud_interface = strdup("aucl3");
	t->cloud_prefixes = fx_plist("10.99.0.0/24");
	free(t->tunnel_interface);
	t->tunnel_interface = strdup("dptun3");
	t->tunnel_address = fx_plist("100.64.99.1/24");
	t->listen_port = 51899;
	fx_share(t, "dns", "10.99.0.53/32", "udp", "53", "alpha, bravo");
	for (int i = 0; many && i < 10; i++) {
		char name[16], to[32], ports[128];
		size_t n = 0;

		snprintf(name, sizeof(name), "m%d", i);
		snprintf(to, sizeof(to), "10.99.0.%d/32", 60 + i);
		for (int k = 0; k < 12; k++)
			n += (size_t)snprintf(ports + n, sizeof(ports) - n, "%s%d", k ? ", " : "", 2000 + 24 * i + 2 * k);
		fx_share(t, name, to, "tcp", ports, "alpha");
	}
	fx_resolve(c);
}

/* What net_apply makes of that configuration (tables 1000 + id, rules at
 * 1000 + id on the tunnel and the cloud, the uplink and lo to main at 998,
 * each tenant's mark (tunnel_in, cloud_mark, NAT replies) to its table at
 * 999; addresses without prefix routes in main, their subnets in the
 * tenant's table). */
static int network(void)
{
	return sh("set -e; exec >/dev/null 2>&1;"
		  "for i in aucl2 aucl3; do ip link add $i type veth peer name ${i}p; ip link set $i up; ip link set ${i}p up; done;"
		  "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1;"
		  "ip addr add 198.51.100.2/24 dev dpup;"
		  "ip addr add 10.20.0.1/24 dev dpcloud noprefixroute;"
		  "ip addr add 100.64.10.1/24 dev dptun1 noprefixroute;"
		  "ip addr add 100.64.20.1/24 dev dptun2 noprefixroute;"
		  "ip addr add 10.99.0.1/24 dev aucl3 noprefixroute;"
		  "ip route add 10.20.0.0/16 dev dpcloud table 1010 metric 100;"
		  "ip route add 10.120.1.0/24 dev dptun1 table 1010 metric 100;"
		  "ip route add 10.130.1.0/24 dev dptun1 table 1010 metric 100;"
		  "ip route add 100.64.10.0/24 dev dptun1 table 1010 metric 100;"
		  "ip route add 10.99.0.53/32 dev aucl3 table 1010 metric 200;"
		  "ip route add unreachable default table 1010 metric 10000;"
		  "ip -6 route add fd00:20::/48 dev dpcloud table 1010 metric 100;"
		  "ip -6 route add fd10:120:1::/64 dev dptun1 table 1010 metric 100;"
		  "ip -6 route add unreachable default table 1010 metric 10000;"
		  "ip route add 10.20.0.0/16 dev aucl2 table 1020 metric 100;"
		  "ip route add 10.21.0.0/24 dev aucl2 table 1020 metric 100;"
		  "ip route add 10.130.1.0/24 dev dptun2 table 1020 metric 100;"
		  "ip route add 10.99.0.53/32 dev aucl3 table 1020 metric 200;"
		  "ip route add unreachable default table 1020 metric 10000;"
		  "ip -6 route add unreachable default table 1020 metric 10000;"
		  "ip route add 10.99.0.0/24 dev aucl3 table 1099 metric 100;"
		  "ip route add 100.64.20.0/24 dev dptun2 table 1020 metric 100;"
		  "ip route add 100.64.99.0/24 dev dptun3 table 1099 metric 100;"
		  "ip route add 10.120.1.0/24 dev dptun1 table 1099 metric 200;"
		  "ip route add 10.130.1.0/24 dev dptun2 table 1099 metric 200;"
		  "ip route add unreachable default table 1099 metric 10000;"
		  "ip -6 route add unreachable default table 1099 metric 10000;"
		  "for f in -4 -6; do"
		  "  ip $f rule add pref 998 iif dpup fwmark 0/0xffff0000 lookup main;"
		  "  ip $f rule add pref 998 iif lo fwmark 0/0xffff0000 lookup main;"
		  "  ip $f rule add pref 999 fwmark 0x5250000a lookup 1010;"
		  "  ip $f rule add pref 999 fwmark 0x52500014 lookup 1020;"
		  "  ip $f rule add pref 999 fwmark 0x52500063 lookup 1099;"
		  "  ip $f rule add pref 1010 iif dptun1 lookup 1010; ip $f rule add pref 1010 iif dpcloud lookup 1010;"
		  "  ip $f rule add pref 1020 iif dptun2 lookup 1020; ip $f rule add pref 1020 iif aucl2 lookup 1020;"
		  "  ip $f rule add pref 1099 iif dptun3 lookup 1099; ip $f rule add pref 1099 iif aucl3 lookup 1099;"
		  "done");
}

static int apply(const struct rp_config *cfg)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct diag d = { 0 };
		int err = dataplane_apply(cfg, NULL, &d);

		diag_print(&d, stderr);
		_exit(err ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run(const struct rp_config *cfg, const char *pin, struct audit_result *r, char *err, size_t len)
{
	struct audit_opts o = { .pin_dir = pin };
	struct diag d = { 0 };
	int e = audit_run(cfg, &o, r, &d);

	snprintf(err, len, "%s", d.n ? d.msgs[0] : "");
	diag_free(&d);
	return e;
}

static void show(const struct audit_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		char line[512];

		audit_violation_line(&r->v[i], line, sizeof(line));
		printf("#   %s (%s)\n", line, r->v[i].why);
	}
}

static void expect_proven(const struct rp_config *cfg, const char *what)
{
	struct audit_result r;
	char err[512];
	int e = run(cfg, NULL, &r, err, sizeof(err));

	tap_result(!e && r.proven, "audit: %s: proven (%u ingress points, %lu classes, %lu probes, %.2f s)%s%s",
		   what, r.ingress_points, r.paths, r.probes, r.seconds, e ? ": " : "", err);
	if (!r.proven)
		show(&r);
	audit_result_free(&r);
}

/* One violation of this kind from this ingress reaching this tenant out of
 * this egress (among those found). */
static void expect_violation(const struct rp_config *cfg, const char *what, const char *kind, const char *ingress,
			     const char *reaches, const char *egress)
{
	struct audit_result r;
	char err[512], line[512] = "";
	int e = run(cfg, NULL, &r, err, sizeof(err));
	bool found = false;

	for (size_t i = 0; !e && i < r.n; i++)
		if (!strcmp(r.v[i].kind, kind) && !strcmp(r.v[i].ingress, ingress) &&
		    !strcmp(r.v[i].reaches, reaches) && !strcmp(r.v[i].egress, egress)) {
			found = true;
			audit_violation_line(&r.v[i], line, sizeof(line));
		}
	tap_result(!e && !r.proven && found, "audit: %s: %s%s%s", what, found ? line : "no such violation",
		   e ? ": " : "", err);
	if (!found)
		show(&r);
	audit_result_free(&r);
}

/* No violation from this ingress (others may exist). */
static void expect_no_violation(const struct rp_config *cfg, const char *what, const char *ingress)
{
	struct audit_result r;
	char err[512], line[512] = "";
	int e = run(cfg, NULL, &r, err, sizeof(err));
	bool found = false;

	for (size_t i = 0; !e && i < r.n; i++)
		if (!strcmp(r.v[i].ingress, ingress) && !found) {
			found = true;
			audit_violation_line(&r.v[i], line, sizeof(line));
		}
	tap_result(!e && !found, "audit: %s: no violation from %s%s%s%s", what, ingress, found ? ": " : "", line,
		   e ? err : "");
	audit_result_free(&r);
}

static void expect_refused(const struct rp_config *cfg, const char *pin, const char *what, int want, const char *text)
{
	struct audit_result r;
	char err[512];
	int e = run(cfg, pin, &r, err, sizeof(err));

	tap_result(e == want && !r.proven && strstr(err, text), "audit: %s: cannot judge (%s)", what, err);
	audit_result_free(&r);
}

/* A policy map entry rewritten: svc's share table allows every UDP port. */
static void rewrite_share_table(void)
{
	sh("python3 - <<'EOF'\n"
	   "import json, subprocess\n"
	   "st = json.loads(subprocess.check_output(['bpftool', '-j', 'map', 'dump', 'pinned', '/sys/fs/bpf/rempart/rp_state']))\n"
	   "slot = st[0]['formatted']['value']['active_slot'] if 'formatted' in st[0] else int(st[0]['value'][8], 16)\n"
	   "d = json.loads(subprocess.check_output(['bpftool', '-j', 'map', 'dump', 'pinned', '/sys/fs/bpf/rempart/rp_rules']))\n"
	   "for e in d:\n"
	   "    k = [int(x, 16) for x in e['key']]\n"
	   "    if k[0] == slot and k[1] == 1 and k[2] == 1:\n"
	   "        v = [int(x, 16) for x in e['value']]\n"
	   "        v[0:4] = [1, 0, 0, 0]\n"
	   "        v[8:16] = [0, 0, 1, 0] + v[12:16]\n"
	   "        subprocess.check_call(['bpftool', 'map', 'update', 'pinned', '/sys/fs/bpf/rempart/rp_rules', 'key', 'hex'] +\n"
	   "                              ['%%02x' %% x for x in k] + ['value', 'hex'] + ['%%02x' %% x for x in v])\n"
	   "EOF");
}

/* The sets the walk cuts with keep every member (they once stopped at 160
 * shapes, 80 port cuts and 63 share prefixes, silently). */
static void sets_unbounded(void)
{
	struct shapes s = { 0 };
	struct ports p = { 0 };
	struct rshape all = { 0, 0, 65535, 0, 65535 };
	struct rp_config c;
	struct dpr_run *v = NULL;
	size_t nv = 0;
	char list[4096];
	size_t n = 0;
	bool last = false;
	int err;

	for (unsigned i = 0; i < 400; i++)
		aw_shape_add(&s, IPPROTO_TCP, 40000, (uint16_t)(1000 + i), 0, 64);
	aw_shape_add(&s, IPPROTO_TCP, 40000, 1000, 0, 64);	/* a duplicate */
	for (size_t k = 0; k < s.n; k++)
		last |= s.v[k].dport == 1399;
	tap_result(!s.err && s.n == 400 && last, "audit: 400 shapes kept (%zu), the last one among them", s.n);
	aw_shapes_free(&s);
	for (unsigned i = 0; i < 300; i++)
		aw_port_cut(&p, 3000 + 2 * i);
	aw_shapes_ported(&s, &p, &all, 40000);
	last = false;
	for (size_t k = 0; k < s.n; k++)
		last |= s.v[k].proto == IPPROTO_UDP && s.v[k].dport == 3596;
	tap_result(!s.err && p.n == 301 && s.n == 2 * 301 && last,
		   "audit: 300 port cuts kept (%zu), a shape per segment and protocol (%zu), UDP 3596 among them", p.n, s.n);
	aw_shapes_free(&s);
	aw_ports_free(&p);

	fx_cfg_init(&c, 2);
	fx_tenant(&c, "one", 1, 1);
	for (unsigned i = 0; i < 100; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s10.1.%u.0/24", i ? ", " : "", 2 * i);
	fx_share(&c.tenants[0], "many", list, "tcp", "443", "*");
	fx_resolve(&c);
	err = aw_share_cover(&c, 0, 0, AF_INET, &v, &nv);
	tap_result(!err && nv == 201 && v[200].lo == (10u << 24 | 1u << 16 | 199u << 8),
		   "audit: a share of 100 prefixes cuts the space in 201 runs (%zu)", nv);
	free(v);
}

int main(void)
{
	struct rp_config cfg, cfg2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		tap_skip("test_audit: needs root (BPF, namespaces)");
		return 0;
	}
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		tap_skip("test_audit: no private mount namespace with a BPF filesystem: %s", strerror(errno));
		return 0;
	}
	if (fx_netns() || network()) {
		tap_result(0, "audit: set-up (namespace, interfaces, routes)");
		tap_exit();
	}
	sets_unbounded();
	config(&cfg, false);
	expect_refused(&cfg, NULL, "no dataplane loaded", -ENOENT, RP_PIN_DIR);
	if (apply(&cfg)) {
		tap_result(0, "audit: dataplane_apply");
		tap_exit();
	}
	expect_proven(&cfg, "the applied state");

	/* an ip rule sends alpha's tunnel into bravo's table */
	sh("ip rule add pref 900 iif dptun1 lookup 1020");
	expect_violation(&cfg, "ip rule: alpha's tunnel into bravo's table", "cross_tenant", "dptun1", "bravo", "aucl2");
	sh("ip rule del pref 900 iif dptun1 lookup 1020");
	expect_proven(&cfg, "rule removed");

	/* the same, for TCP port 60000 only, behind 70 rules that cut the
	 * destination ports 1000..1070 (72 segment starts: more than the 64
	 * routing port cuts and shapes the audit once kept, silently) */
	sh("for i in $(seq 1000 1069); do ip rule add pref 900 iif dptun1 ipproto tcp dport $i lookup 1010; done;"
	   "ip rule add pref 901 iif dptun1 ipproto tcp dport 60000 lookup 1020");
	expect_violation(&cfg, "70 port rules, then TCP 60000 of alpha's tunnel into bravo's table", "cross_tenant",
			 "dptun1", "bravo", "aucl2");
	{
		struct audit_result r;
		char err[512];
		bool p60000 = false;

		run(&cfg, NULL, &r, err, sizeof(err));
		for (size_t i = 0; i < r.n; i++)
			p60000 |= !strcmp(r.v[i].ingress, "dptun1") && r.v[i].dport == 60000;
		tap_result(p60000, "audit: 70 port rules: the violation's packet is TCP to port 60000");
		audit_result_free(&r);
	}
	sh("ip rule del pref 901 iif dptun1 ipproto tcp dport 60000 lookup 1020;"
	   "while ip rule del pref 900 2>/dev/null; do :; done");
	expect_proven(&cfg, "port rules removed");

	/* a route to bravo's site prefix in alpha's table (alpha's site a2
	 * has the same LAN: alpha's program lets it through) */
	sh("ip route add 10.130.1.0/25 dev dptun2 table 1010 metric 50");
	expect_violation(&cfg, "route to bravo's site in alpha's table", "cross_tenant", "dpcloud", "bravo", "dptun2");
	sh("ip route del 10.130.1.0/25 dev dptun2 table 1010 metric 50");
	expect_proven(&cfg, "route removed");

	/* a mark rule sends alpha's mark (what tunnel_in and cloud_mark give
	 * alpha's packets) into bravo's table: alpha's cloud, a2's LAN */
	sh("ip rule add pref 990 fwmark 0x5250000a lookup 1020");
	expect_violation(&cfg, "mark rule: alpha's mark into bravo's table", "cross_tenant", "dpcloud", "bravo",
			 "dptun2");
	sh("ip rule del pref 990 fwmark 0x5250000a lookup 1020");
	expect_proven(&cfg, "mark rule removed");
	/* cloud_mark gone from alpha's cloud: its packets are routed by the
	 * iif rule, unmarked; the same mark rule no longer concerns them */
	sh("for p in /sys/fs/bpf/rempart/link_tcin_dpcloud; do bpftool link detach pinned $p; rm -f $p; done 2>/dev/null;"
	   "tc filter del dev dpcloud ingress 2>/dev/null; ip rule add pref 990 fwmark 0x5250000a lookup 1020");
	expect_violation(&cfg, "without cloud_mark, the mark rule still takes alpha's tunnel", "cross_tenant", "dptun1",
			 "bravo", "aucl2");
	expect_no_violation(&cfg, "without cloud_mark, alpha's cloud is routed unmarked", "dpcloud");
	sh("ip rule del pref 990 fwmark 0x5250000a lookup 1020");
	apply(&cfg);
	expect_proven(&cfg, "cloud_mark back");

	/* the tunnel loses its program */
	sh("for p in /sys/fs/bpf/rempart/link_tcin_dptun1; do bpftool link detach pinned $p; rm -f $p; done 2>/dev/null;"
	   "tc filter del dev dptun1 ingress 2>/dev/null; true");
	expect_violation(&cfg, "tunnel without its program", "unprotected", "dptun1", "svc", "aucl3");
	apply(&cfg);
	expect_proven(&cfg, "re-applied");

	/* the uplink forwards to alpha's cloud by DNAT and mark */
	sh("nft -f - <<'EOF'\n"
	   "table ip leak {\n chain pre {\n  type nat hook prerouting priority dstnat; policy accept;\n"
	   "  iifname \"dpup\" tcp dport 22 meta mark set 0x5250000a dnat to 10.20.1.10\n }\n}\nEOF");
	expect_violation(&cfg, "nftables port forward from the uplink", "uplink", "dpup", "alpha", "dpcloud");
	sh("nft delete table ip leak");
	expect_proven(&cfg, "port forward removed");

	/* a policy map entry rewritten: svc's share table allows every UDP port */
	rewrite_share_table();
	expect_violation(&cfg, "share table rewritten to allow every port", "cross_tenant", "dpcloud", "svc", "aucl3");
	apply(&cfg);
	expect_proven(&cfg, "policy re-applied");

	/* states the audit cannot judge */
	mkdir("/sys/fs/bpf/badpins", 0700);
	sh("cd /sys/fs/bpf/rempart && for m in rp_*; do [ $m = rp_atoms ] || ln $m /sys/fs/bpf/badpins/$m 2>/dev/null ||"
	   " bpftool map pin pinned /sys/fs/bpf/rempart/$m /sys/fs/bpf/badpins/$m; done;"
	   "bpftool map create /sys/fs/bpf/badpins/rp_atoms type array key 4 value 20 entries 16 name rp_atoms");
	expect_refused(&cfg, "/sys/fs/bpf/badpins", "a map of another layout", -EPROTO, "rp_atoms");
	sh("ip nexthop add id 77 dev aucl2 && ip route add 10.55.0.0/24 nhid 77 table 1010");
	expect_refused(&cfg, NULL, "a route through a nexthop object", -EOPNOTSUPP, "nexthop object");
	sh("ip route del 10.55.0.0/24 table 1010; ip nexthop del id 77");
	sh("ip rule add pref 950 iif aucl2 lookup 4242");
	expect_refused(&cfg, NULL, "a rule to a table rempart does not know", -EOPNOTSUPP, "table 4242");
	sh("ip rule del pref 950 iif aucl2 lookup 4242");
	sh("ip link add auxdp type veth peer name auxdpp && ip link set auxdp up && "
	   "bpftool prog loadall /dev/null /sys/fs/bpf/none 2>/dev/null; true");
	expect_proven(&cfg, "an unmanaged interface that forwards nothing to a tenant");
	sh("ip route add 10.99.0.0/24 dev aucl3 table main");
	expect_violation(&cfg, "an unmanaged interface whose main table leads into a cloud", "outside", "auxdp", "svc",
			 "aucl3");
	sh("ip route del 10.99.0.0/24 dev aucl3 table main");
	expect_proven(&cfg, "main table route removed");

	/* more than 160 shapes towards svc: the UDP ones come after 240 TCP
	 * port segments; the share table rewritten to allow every UDP port
	 * is found only there */
	config(&cfg2, true);
	if (apply(&cfg2)) {
		tap_result(0, "audit: dataplane_apply with ten more shares");
		tap_exit();
	}
	expect_proven(&cfg2, "ten shares of 12 TCP ports each");
	rewrite_share_table();
	expect_violation(&cfg2, "ten shares, then the share table rewritten to allow every UDP port", "cross_tenant",
			 "dpcloud", "svc", "aucl3");
	apply(&cfg2);
	expect_proven(&cfg2, "ten shares: policy re-applied");
	tap_exit();
}
