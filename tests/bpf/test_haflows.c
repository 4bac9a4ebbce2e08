// SPDX-License-Identifier: GPL-2.0
/* test_haflows.c — flow sync between the gateways of a pair (ha/ha_flows.c,
 * docs/ha.md "Flow sync"), through the real programs and pinned maps.
 *
 * One gateway's state stands for both: a connection is opened through the
 * attached tunnel_in, the pass exports it, the table is emptied (the
 * standby, which never saw the connection: the reply is dropped), the
 * datagrams are applied, and the reply passes again.  Then records a
 * hostile host on the sync link could send: each must be refused, and the
 * packet it would let in must still be dropped.  Config: fixture_cfg.h. */
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include "fixture_cfg.h"
#include "dataplane/dataplane.h"
#include "dataplane/dataplane_flows.h"
#include "dataplane/dataplane_maps.h"
#include "ha/ha_flows.h"
#include "tap.h"

struct dgrams {
	uint8_t b[64][HA_FLOWS_DGRAM];
	size_t len[64];
	unsigned n;
};

static void collect(void *ctx, const uint8_t *buf, size_t len)
{
	struct dgrams *d = ctx;

	if (d->n < 64 && len <= HA_FLOWS_DGRAM) {
		memcpy(d->b[d->n], buf, len);
		d->len[d->n++] = len;
	}
}

/* Pin tenant `table`'s IPv4 flow table, as the loader does on a gateway
 * (dataplane_flows.c), so that ha_flows finds it where it looks. */
static int pin_table(const struct fx *f, __u32 table)
{
	char path[256];
	__u32 id = 0;
	int fd, err;

	if (bpf_map_lookup_elem(f->m.flowt4, &table, &id))
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/rp_flow4_t%u", RP_PIN_DIR, table);
	err = bpf_obj_pin(fd, path) ? -errno : 0;
	close(fd);
	return err;
}

/* Run one frame through prog (XDP on dpcloud, TC on dptun1): allowed? */
static bool passes(int prog, bool xdp, const char *ifname, const struct ps *s)
{
	uint8_t pkt[PK_MAX];
	size_t n = pk_build(s, pkt);
	int ret = -1;

	if (fx_run_prog(prog, xdp, if_nametoindex(ifname), pkt, n, 1, &ret, NULL))
		return false;
	return fx_allowed(xdp ? RP_HOOK_CLOUD_IN : RP_HOOK_TUNNEL_IN, ret);
}

/* Empty alpha's IPv4 table: the standby never saw the connection. */
static unsigned empty_table(void)
{
	struct rp_flow4_key k;
	unsigned n = 0;
	int fd = bpf_obj_get(RP_PIN_DIR "/rp_flow4_t10");

	if (fd < 0)
		return 0;
	while (!bpf_map_get_next_key(fd, NULL, &k) && !bpf_map_delete_elem(fd, &k))
		n++;
	close(fd);
	return n;
}

static void put_rec(uint8_t *p, uint32_t table, uint16_t zone, const char *src, uint16_t sport,
		    const char *dst, uint16_t dport, uint8_t proto)
{
	uint32_t t = htonl(table), remain = htonl(60000);
	uint16_t z = htons(zone), sp = htons(sport), dp = htons(dport), own = htons((uint16_t)table);

	memset(p, 0, HA_FLOWS_REC);
	memcpy(p, &t, 4);
	memcpy(p + 4, &z, 2);
	p[6] = 4;
	p[7] = proto;
	memcpy(p + 8, &sp, 2);
	memcpy(p + 10, &dp, 2);
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 28);
	memcpy(p + 44, &remain, 4);
	memcpy(p + 48, &own, 2);
}

static size_t forged(uint8_t *b, uint8_t vrid, unsigned n, uint64_t seq)
{
	uint32_t hi = htonl((uint32_t)(seq >> 32)), lo = htonl((uint32_t)seq);

	memcpy(b, HA_FLOWS_MAGIC, 4);
	b[4] = vrid;
	b[5] = (uint8_t)n;
	b[6] = b[7] = 0;
	memcpy(b + 8, &hi, 4);
	memcpy(b + 12, &lo, 4);
	return HA_FLOWS_HDR + n * HA_FLOWS_REC;
}

static uint8_t bad[HA_FLOWS_DGRAM];

/* One datagram (sequence SEQ, vrid 51) holding one record a host on the
 * sync link could forge, applied; the records written. */
static int claim(struct ha_flows *fb, const struct rp_config *cfg, uint64_t seq, uint32_t table,
		 uint16_t zone, const char *src, uint16_t sport, const char *dst, uint16_t dport,
		 uint8_t proto)
{
	put_rec(bad + HA_FLOWS_HDR, table, zone, src, sport, dst, dport, proto);
	return ha_flows_apply(fb, cfg, bad, forged(bad, 51, 1, seq));
}

int main(void)
{
	/* alpha's site opens https to its cloud (rule web); the reply comes back */
	struct ps open1 = { .fam = 4, .src = "10.120.1.5", .dst = "10.20.1.10", .proto = 6,
			    .sport = 6000, .dport = 443, .tcp_flags = 0x02 };
	struct ps reply1 = { .fam = 4, .src = "10.20.1.10", .dst = "10.120.1.5", .proto = 6,
			     .sport = 443, .dport = 6000, .tcp_flags = 0x12 };
	struct ps open2 = open1, reply2 = reply1;
	/* what forged records would let in: alpha's cloud to its site from port
	 * 22 (the policy: sites may not open 22 on the cloud), beta's DNS host
	 * off its share, beta's cloud to alpha's site */
	struct ps bad_a = { .fam = 4, .src = "10.20.1.10", .dst = "10.120.1.5", .proto = 6,
			    .sport = 22, .dport = 6100, .tcp_flags = 0x12 };
	struct rp_config cfg;
	struct ha_flows fa = { 0 }, fb = { 0 };
	static struct dgrams dg, dg2;
	struct diag d = { 0 };
	struct fx f;
	int tun, cl, n, got, err;
	unsigned emptied;

	if (geteuid() != 0) {
		tap_skip("test_haflows: needs root (BPF, namespaces)");
		return 0;
	}
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		tap_skip("test_haflows: no private mount namespace with a BPF filesystem: %s", strerror(errno));
		return 0;
	}
	if (fx_netns())
		return 1;
	mkdir(RP_PIN_DIR, 0700);
	err = fx_load(&f, false);
	fx_config_a(&cfg, false);
	cfg.ha.vrid = 51;
	if (!err)
		err = dp_policy_install(&f.m, &cfg, NULL, NULL, &d);
	diag_print(&d, stderr);
	if (!err)
		err = pin_table(&f, 10);
	tap_result(!err, "haflows: programs loaded, the fixture's policy installed, alpha's flow table pinned (%d)",
		   err);
	if (err)
		return 1;
	tun = f.prog[RP_HOOK_TUNNEL_IN];
	cl = f.prog[RP_HOOK_CLOUD_IN];
	tap_result(passes(tun, false, "dptun1", &open1) && passes(cl, true, "dpcloud", &reply1),
		   "haflows: the site opens https to its cloud, the reply passes (control)");
	n = ha_flows_export(&fa, &cfg, true, collect, &dg);
	tap_result(n >= 1 && dg.n >= 1, "haflows: the active's full pass sends the flow (%d records, %u datagrams)",
		   n, dg.n);
	emptied = empty_table();
	tap_result(emptied >= 1 && !passes(cl, true, "dpcloud", &reply1),
		   "haflows: on a gateway that never saw the connection the reply is dropped (%u flows removed)",
		   emptied);
	got = 0;
	for (unsigned i = 0; i < dg.n; i++) {
		int r = ha_flows_apply(&fb, &cfg, dg.b[i], dg.len[i]);

		got += r > 0 ? r : 0;
	}
	tap_result(got >= 1 && fb.refused == 0 && passes(cl, true, "dpcloud", &reply1),
		   "haflows: the synced flow makes the reply pass again (%d written, %llu refused)", got,
		   (unsigned long long)fb.refused);

	/* incremental: nothing changed, nothing sent; one new flow, one record */
	n = ha_flows_export(&fa, &cfg, false, collect, &dg2);
	tap_result(n == 0 && dg2.n == 1 && dg2.len[0] == HA_FLOWS_HDR && ha_flows_apply(&fb, &cfg, dg2.b[0], dg2.len[0]) == 0,
		   "haflows: a pass with nothing changed sends no record, one empty datagram the standby takes (%d, %u)",
		   n, dg2.n);
	open2.sport = reply2.dport = 6001;
	passes(tun, false, "dptun1", &open2);
	n = ha_flows_export(&fa, &cfg, false, collect, &dg2);
	tap_result(n == 1, "haflows: one new connection, one record (%d)", n);

	/* records a host on the sync link could forge */
	n = claim(&fb, &cfg, 100, 10, 10, "10.120.1.5", 6100, "10.20.1.10", 22, 6);
	tap_result(n == 0 && !passes(cl, true, "dpcloud", &bad_a),
		   "haflows: a record of a connection the policy forbids (site to cloud port 22) is refused, "
		   "its 'reply' still dropped (%d written)", n);
	n = claim(&fb, &cfg, 101, 10, 20, "10.120.1.5", 7000, "10.21.0.54", 53, 17);
	tap_result(n == 0, "haflows: a record under beta's zone off beta's share is refused (%d)", n);
	n = claim(&fb, &cfg, 102, 10, 20, "10.120.1.5", 7000, "10.21.0.53", 53, 17);
	tap_result(n == 1, "haflows: the same under beta's share (udp 53 to 10.21.0.53) is taken (%d)", n);
	n = claim(&fb, &cfg, 103, 0, 0, "198.51.100.2", 40000, "203.0.113.9", 22, 6);
	tap_result(n == 0, "haflows: a record for the gateway's own table is refused (%d)", n);
	n = claim(&fb, &cfg, 104, 20, 20, "10.120.1.5", 6000, "10.20.1.10", 443, 6);
	tap_result(n == 0, "haflows: alpha's connection claimed for beta's table is refused (%d)", n);
	tap_result(ha_flows_apply(&fb, &cfg, bad, forged(bad, 52, 1, 105)) == -EINVAL &&
		   ha_flows_apply(&fb, &cfg, bad, forged(bad, 51, 1, 105) - 1) == -EINVAL &&
		   ha_flows_apply(&fb, &cfg, bad, 10) == -EINVAL,
		   "haflows: another vrid, a short datagram, a truncated header: not a datagram of ours");
	tap_result(fb.lost == 97, "haflows: the jump from datagram 2 to 100 counted 97 lost, 100..104 none (%llu)",
		   (unsigned long long)fb.lost);
	{	/* the refusal is what kept bad_a out: the same flow written
		 * straight into the table lets it in */
		struct rp_flow4_key k = { .zone = 10, .proto = 6, .sport = 6100, .dport = 22 };
		struct rp_flow_val v = { .expires_ns = ~0ull >> 1, .owner = 10 };
		int fd = bpf_obj_get(RP_PIN_DIR "/rp_flow4_t10");
		bool in;

		inet_pton(AF_INET, "10.120.1.5", &k.src);
		inet_pton(AF_INET, "10.20.1.10", &k.dst);
		in = fd >= 0 && !bpf_map_update_elem(fd, &k, &v, BPF_ANY) && passes(cl, true, "dpcloud", &bad_a);
		tap_result(in, "haflows: control: that forged flow, written without the check, would let its "
			   "'reply' in");
		if (fd >= 0) {
			bpf_map_delete_elem(fd, &k);
			close(fd);
		}
	}
	{	/* more flows than one batch of the active's read (256): all sent */
		struct rp_flow4_key k = { .zone = 10, .proto = 17, .dport = 53 };
		struct rp_flow_val v = { .expires_ns = ~0ull >> 1, .owner = 10 };
		struct ha_flows fc = { 0 };
		static struct dgrams dg3;
		int fd = bpf_obj_get(RP_PIN_DIR "/rp_flow4_t10"), put = 0;

		inet_pton(AF_INET, "10.120.1.7", &k.src);
		inet_pton(AF_INET, "10.20.0.53", &k.dst);
		struct diag gd = { 0 };
		cpu_set_t one, all;
		int grown = -1;

		/* from one CPU: the LRU hands each CPU its free entries in
		 * batches, a second CPU's batch would make this one evict early */
		CPU_ZERO(&one);
		CPU_SET(0, &one);
		sched_getaffinity(0, sizeof(all), &all);
		sched_setaffinity(0, sizeof(one), &one);
		for (unsigned i = 0; fd >= 0 && i < 700; i++) {
			if (i == 200) {
				/* the table starts at 256 entries (two CPUs):
				 * the daemon's pass grows it, as it does
				 * under load (dp_flow_tables_grow) */
				close(fd);
				grown = dp_flow_tables_grow(&f.m, &cfg, &gd);
				unlink(RP_PIN_DIR "/rp_flow4_t10");
				fd = pin_table(&f, 10) ? -1 : bpf_obj_get(RP_PIN_DIR "/rp_flow4_t10");
			}
			k.sport = 10000 + i;
			put += fd >= 0 && !bpf_map_update_elem(fd, &k, &v, BPF_ANY);
		}
		/* what the table holds: the LRU may push a few out before it
		 * is full (its free entries go to CPUs in batches; CI saw 61 of
		 * 700 gone once), and a flow pushed out is not one to send */
		int held = 0;
		struct rp_flow4_key cur, nxt;

		for (int r = fd >= 0 ? bpf_map_get_next_key(fd, NULL, &nxt) : -1; !r;
		     r = bpf_map_get_next_key(fd, &cur, &nxt)) {
			cur = nxt;
			held += cur.dst == k.dst && cur.sport >= 10000 && cur.sport < 10700;
		}
		if (fd >= 0)
			close(fd);
		sched_setaffinity(0, sizeof(all), &all);
		diag_free(&gd);
		n = ha_flows_export(&fc, &cfg, true, collect, &dg3);
		tap_result(put == 700 && held > 512 && n >= held && grown >= 1,
			   "haflows: a full pass over 500+ flows (three batches, the table grown after 200) "
			   "sends every one the table holds (%d sent, %d of %d put held, %d tables grown)",
			   n, held, put, grown);
		ha_flows_free(&fc);
	}
	ha_flows_free(&fa);
	ha_flows_free(&fb);
	fx_unload(&f);
	return 0;
}
