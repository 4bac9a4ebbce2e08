// SPDX-License-Identifier: GPL-2.0
/* ha_flows.c — flow sync between the two gateways of a pair (ha_flows.h,
 * docs/ha.md "Flow sync").
 *
 * Wire format, network order, one datagram of at most HA_FLOWS_PER_DGRAM
 * records: "RPF1", vrid, count, 2 bytes 0, sequence (8); then per record:
 * table (4: the tenant id whose table holds it), zone (2), family (1: 4|6),
 * proto (1), sport (2), dport (2), src (16), dst (16), remaining lifetime
 * in ms (4), owner (2), 2 bytes 0.
 *
 * Trust: the datagrams come over the dedicated sync link from `peer` with
 * TTL 255 (ha_peers.c checks that before handing one here), unencrypted,
 * like the VRRP adverts that already decide the role.  A record is a claim
 * that a connection was opened; it is written only when this gateway's own
 * policy allows the packet that would have opened it, from the tenant
 * network its source belongs to, under the zone the programs would have
 * recorded it with.  So a forged record makes a "reply" pass only where the
 * policy allows the opposite direction anyway: what it can add is the
 * connection state the policy promises (SPEC §4.4), never a path across
 * tenants that no [share] opens. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "rempart_abi.h"
#include "eval/eval.h"
#include "eval/packet.h"
#include "ha/ha_flows.h"
#include "lib/clock.h"

/* One flow as a pass reads it: sortable identity, then what was sent. */
struct ha_flow_seen {
	uint8_t id[48];			/* table 4, family 1, 3 x 0, rp_flow_key 40 */
	uint64_t sent_exp;		/* expires_ns when last sent (0: never) */
};

struct rec {
	uint32_t table;
	uint16_t zone, owner;
	uint8_t family, proto;
	uint16_t sport, dport;
	uint8_t src[16], dst[16];
	uint32_t remain_ms;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * RP_NS + (uint64_t)ts.tv_nsec;
}

static int seen_cmp(const void *a, const void *b)
{
	return memcmp(((const struct ha_flow_seen *)a)->id, ((const struct ha_flow_seen *)b)->id, 48);
}

/* Half the shortest timeout a flow of that protocol can have: a record is
 * sent again once its expiry moved that far, so the standby's copy of a
 * live flow never runs out before the active's. */
static uint64_t resend_after(uint8_t proto)
{
	return (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6 ? RP_TO_ICMP : RP_TO_TCP_SYN) / 2;
}

static void put16(uint8_t *p, uint16_t v) { v = htons(v); memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { v = htonl(v); memcpy(p, &v, 4); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return ntohs(v); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return ntohl(v); }

static void rec_put(uint8_t *p, const struct rec *r)
{
	memset(p, 0, HA_FLOWS_REC);
	put32(p, r->table);
	put16(p + 4, r->zone);
	p[6] = r->family;
	p[7] = r->proto;
	put16(p + 8, r->sport);
	put16(p + 10, r->dport);
	memcpy(p + 12, r->src, 16);
	memcpy(p + 28, r->dst, 16);
	put32(p + 44, r->remain_ms);
	put16(p + 48, r->owner);
}

static void rec_get(const uint8_t *p, struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->table = get32(p);
	r->zone = get16(p + 4);
	r->family = p[6];
	r->proto = p[7];
	r->sport = get16(p + 8);
	r->dport = get16(p + 10);
	memcpy(r->src, p + 12, 16);
	memcpy(r->dst, p + 28, 16);
	r->remain_ms = get32(p + 44);
	r->owner = get16(p + 48);
}

struct batch {
	uint8_t buf[HA_FLOWS_DGRAM];
	unsigned n;
	uint8_t vrid;
	struct ha_flows *f;
	ha_flows_send_fn send;
	void *ctx;
};

static void flush(struct batch *b, bool heartbeat)
{
	if (!b->n && !heartbeat)
		return;
	memcpy(b->buf, HA_FLOWS_MAGIC, 4);
	b->buf[4] = b->vrid;
	b->buf[5] = (uint8_t)b->n;
	b->buf[6] = b->buf[7] = 0;
	b->f->seq_tx++;
	put32(b->buf + 8, (uint32_t)(b->f->seq_tx >> 32));
	put32(b->buf + 12, (uint32_t)b->f->seq_tx);
	b->send(b->ctx, b->buf, HA_FLOWS_HDR + b->n * HA_FLOWS_REC);
	b->f->sent += b->n;
	b->n = 0;
}

static void add(struct batch *b, const struct rec *r)
{
	rec_put(b->buf + HA_FLOWS_HDR + b->n * HA_FLOWS_REC, r);
	if (++b->n == HA_FLOWS_PER_DGRAM)
		flush(b, false);
}

static int open_table(int family, uint32_t table)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/rp_flow%c_t%u", RP_PIN_DIR, family == 6 ? '6' : '4', table);
	return bpf_obj_get(path);
}

/* Append one live flow (kernel key K of FAMILY, expiry E) to *v. */
static int push_seen(uint32_t table, int family, const void *k, uint64_t e, struct ha_flow_seen **v,
		     size_t *n, size_t *cap)
{
	struct ha_flow_seen *x;
	struct rp_flow_key w;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		struct ha_flow_seen *nv = realloc(*v, nc * sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	x = &(*v)[(*n)++];
	memset(x, 0, sizeof(*x));
	put32(x->id, table);
	x->id[4] = (uint8_t)family;
	if (family == 4) {
		const struct rp_flow4_key *k4 = k;

		w = (struct rp_flow_key){ .zone = k4->zone, .family = 4, .proto = k4->proto,
					  .sport = k4->sport, .dport = k4->dport };
		memcpy(w.src, &k4->src, 4);
		memcpy(w.dst, &k4->dst, 4);
	} else {
		memcpy(&w, k, sizeof(w));
		w.family = 6;	/* the kernel's key says AF_INET6 */
	}
	memcpy(x->id + 8, &w, sizeof(w));
	x->sent_exp = e;	/* this pass's expiry until export compares it */
	return 0;
}

/* Append every live flow of one table to *v: BPF_MAP_LOOKUP_BATCH, 256 at
 * a time (1.6 ms per 10,000 flows against 66 ms key by key,
 * bench/bench_scaleout.sh); key by key where the kernel has no batch. */
static int read_table(uint32_t table, int family, uint64_t now, struct ha_flow_seen **v, size_t *n,
		      size_t *cap)
{
	enum { B = 256 };
	union fk { struct rp_flow4_key k4; struct rp_flow_key k6; };
	static union fk keys[B];
	static struct rp_flow_val vals[B];
	size_t ksz = family == 4 ? sizeof(struct rp_flow4_key) : sizeof(struct rp_flow_key);
	int fd = open_table(family, table), err = 0;
	__u32 in = 0, out = 0, count;
	void *inp = NULL;

	if (fd < 0)
		return 0;	/* no table of that family for this tenant */
	for (;;) {
		int r;

		count = B;
		r = bpf_map_lookup_batch(fd, inp, &out, keys, vals, &count, NULL);
		if (r && errno != ENOENT) {
			if (inp || (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP))
				err = -errno;
			break;
		}
		for (__u32 i = 0; i < count && !err; i++)
			if (vals[i].expires_ns > now)
				err = push_seen(table, family, (const uint8_t *)keys + i * ksz,
						vals[i].expires_ns, v, n, cap);
		if (r || err) {
			close(fd);
			return err;
		}
		in = out;
		inp = &in;
	}
	if (!err && !inp) {	/* no batch here: key by key */
		union fk k, next;
		struct rp_flow_val val;
		void *prev = NULL;

		while (!err && !bpf_map_get_next_key(fd, prev, &next)) {
			k = next;
			prev = &k;
			if (!bpf_map_lookup_elem(fd, &k, &val) && val.expires_ns > now)
				err = push_seen(table, family, &k, val.expires_ns, v, n, cap);
		}
	}
	close(fd);
	return err;
}

int ha_flows_export(struct ha_flows *f, const struct rp_config *cfg, bool full,
		    ha_flows_send_fn send, void *ctx)
{
	struct batch b = { .vrid = cfg->ha.vrid, .f = f, .send = send, .ctx = ctx };
	struct ha_flow_seen *cur = NULL;
	uint64_t now = now_ns();
	size_t n = 0, cap = 0;
	uint64_t sent0 = f->sent;
	int err = 0;

	for (size_t i = 0; i < cfg->n_tenants && !err; i++)
		for (int fam = 4; fam <= 6 && !err; fam += 2)
			err = read_table(cfg->tenants[i].id, fam, now, &cur, &n, &cap);
	if (err) {
		free(cur);
		return err;
	}
	/* sorted, to find each flow's last send in the previous pass */
	qsort(cur, n, sizeof(*cur), seen_cmp);
	for (size_t i = 0; i < n; i++) {
		struct ha_flow_seen *old = f->seen ? bsearch(&cur[i], f->seen, f->n_seen, sizeof(*cur),
							     seen_cmp) : NULL;
		struct rp_flow_key w;
		uint64_t e = cur[i].sent_exp;
		struct rec r;

		memcpy(&w, cur[i].id + 8, sizeof(w));
		if (!full && old && old->sent_exp && e < old->sent_exp + resend_after(w.proto)) {
			cur[i].sent_exp = old->sent_exp;	/* not sent: keep when it was */
			continue;
		}
		r = (struct rec){ .table = get32(cur[i].id), .zone = w.zone, .owner = (uint16_t)get32(cur[i].id),
				  .family = w.family, .proto = w.proto, .sport = w.sport, .dport = w.dport,
				  .remain_ms = (uint32_t)((e - now) / 1000000 > UINT32_MAX ? UINT32_MAX
											 : (e - now) / 1000000) };
		memcpy(r.src, w.src, 16);
		memcpy(r.dst, w.dst, 16);
		add(&b, &r);
	}
	/* nothing sent in this pass: an empty datagram says the active is
	 * there and its state unchanged (the standby's sync lag) */
	flush(&b, f->sent == sent0);
	free(f->seen);
	f->seen = cur;
	f->n_seen = n;
	return (int)(f->sent - sent0);
}

static int tenant_by_id(const struct rp_config *cfg, uint32_t id)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		if (cfg->tenants[i].id == id)
			return (int)i;
	return -1;
}

static bool in_list(const struct rp_prefix_list *l, const struct rp_addr *a)
{
	for (size_t i = 0; i < l->n; i++)
		if (prefix_contains(&l->v[i], a))
			return true;
	return false;
}

/* Does tenant u offer a share covering dst to tenant index ti? */
static bool share_to(const struct rp_config *cfg, int u, int ti, const struct rp_addr *dst)
{
	const struct rp_tenant *U = &cfg->tenants[u];

	for (size_t s = 0; s < U->n_shares; s++) {
		const struct rp_share *sh = &U->shares[s];
		bool to = sh->all_tenants;

		for (size_t k = 0; k < sh->n_tenants && !to; k++)
			to = sh->tenant_idx && sh->tenant_idx[k] == ti;
		if (to && in_list(&sh->to, dst))
			return true;
	}
	return false;
}

bool ha_flow_vouched(const struct rp_config *cfg, uint16_t table, uint16_t zone, int family,
		     uint8_t proto, uint16_t sport, uint16_t dport, const uint8_t *src,
		     const uint8_t *dst)
{
	struct eval_ctx ctx = { .cfg = cfg, .geo = NULL };
	struct eval_where where = { .tenant = tenant_by_id(cfg, table) };
	struct rp_addr s = { .family = family == 6 ? AF_INET6 : AF_INET };
	struct rp_addr d = { .family = s.family };
	const struct rp_tenant *t;
	struct eval_result r;
	struct rp_packet p;
	bool site = false;
	int u;

	if (where.tenant < 0 || (family != 4 && family != 6))
		return false;
	t = &cfg->tenants[where.tenant];
	memcpy(s.addr, src, family == 6 ? 16 : 4);
	memcpy(d.addr, dst, family == 6 ? 16 : 4);
	/* from where the opening packet came: a site of the tenant, or its cloud */
	for (size_t i = 0; i < t->n_sites && !site; i++)
		site = in_list(&t->sites[i].allowed_ips, &s);
	if (site)
		where.hook = RP_HOOK_TUNNEL_IN;
	else if (in_list(&t->cloud_prefixes, &s))
		where.hook = RP_HOOK_CLOUD_IN;
	else
		return false;
	packet_from_tuple(&p, &s, &d, proto, sport, dport, RP_FRAG_NONE);
	eval_packet(&ctx, &where, &p, &r);
	if (r.verdict != RP_ALLOW || r.reason != RP_R_ALLOWED)
		return false;
	if (zone == table)
		return true;
	/* a share's flow: under the zone of the tenant offering it */
	u = tenant_by_id(cfg, zone);
	return u >= 0 && share_to(cfg, u, where.tenant, &d);
}

int ha_flows_apply(struct ha_flows *f, const struct rp_config *cfg, const uint8_t *buf, size_t len)
{
	uint64_t seq, now = now_ns();
	unsigned n;
	int applied = 0;

	if (len < HA_FLOWS_HDR || memcmp(buf, HA_FLOWS_MAGIC, 4) || buf[4] != cfg->ha.vrid)
		return -EINVAL;
	n = buf[5];	/* 0: a pass with nothing new */
	if (n > HA_FLOWS_PER_DGRAM || len != HA_FLOWS_HDR + (size_t)n * HA_FLOWS_REC)
		return -EINVAL;
	seq = (uint64_t)get32(buf + 8) << 32 | get32(buf + 12);
	if (f->seq_rx && seq > f->seq_rx + 1)
		f->lost += seq - f->seq_rx - 1;
	f->seq_rx = seq;	/* a restarted peer starts again at 1 */
	f->rx_ms = clock_ms();
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = buf + HA_FLOWS_HDR + (size_t)i * HA_FLOWS_REC;
		struct rp_flow_val val = { 0 }, cur;
		union { struct rp_flow4_key k4; struct rp_flow_key k6; } k;
		struct rec r;
		int fd;

		rec_get(p, &r);
		if (r.owner != r.table || r.table > UINT16_MAX || !r.remain_ms ||
		    !ha_flow_vouched(cfg, (uint16_t)r.table, r.zone, r.family, r.proto, r.sport, r.dport,
				     r.src, r.dst)) {
			f->refused++;
			continue;
		}
		memset(&k, 0, sizeof(k));
		if (r.family == 4) {
			k.k4 = (struct rp_flow4_key){ .zone = r.zone, .proto = r.proto, .sport = r.sport,
						      .dport = r.dport };
			memcpy(&k.k4.src, r.src, 4);
			memcpy(&k.k4.dst, r.dst, 4);
		} else {
			k.k6 = (struct rp_flow_key){ .zone = r.zone, .family = AF_INET6, .proto = r.proto,
						     .sport = r.sport, .dport = r.dport };
			memcpy(k.k6.src, r.src, 16);
			memcpy(k.k6.dst, r.dst, 16);
		}
		val.expires_ns = now + (uint64_t)r.remain_ms * 1000000;
		val.owner = r.owner;
		fd = open_table(r.family, r.table);
		if (fd < 0) {
			f->refused++;
			continue;
		}
		/* a flow this gateway saw itself for longer stays as it is */
		if (bpf_map_lookup_elem(fd, &k, &cur) || cur.expires_ns < val.expires_ns) {
			if (!bpf_map_update_elem(fd, &k, &val, BPF_ANY)) {
				f->applied++;
				applied++;
			} else {
				f->refused++;
			}
		}
		close(fd);
	}
	return applied;
}

void ha_flows_free(struct ha_flows *f)
{
	free(f->seen);
	f->seen = NULL;
	f->n_seen = 0;
}
