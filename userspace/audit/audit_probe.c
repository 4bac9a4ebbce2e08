// SPDX-License-Identifier: GPL-2.0
/* audit_probe.c — the programs' copy over the pinned policy, and
 * BPF_PROG_TEST_RUN (audit_probe.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "audit/audit_probe.h"
#include "rempart.skel.h"

/* The maps the programs read a policy from: shared with the pins.  Every
 * other map they have is state they write: the copy's own.  A map in
 * neither list stops the audit (a new map must be put in one of them). */
static const char *const policy_maps[] = {
	RP_PIN_STATE, RP_PIN_NODES, RP_PIN_ATOMS, RP_PIN_RULES, RP_PIN_TENANTS, RP_PIN_GLOBAL,
	RP_PIN_IFACES, RP_PIN_IFIDX, RP_PIN_PORTIDX, RP_PIN_PORTS, RP_PIN_GEO,
};
static const char *const state_maps[] = {
	RP_PIN_COUNTERS, RP_PIN_GEO_DROPS, RP_PIN_RULE_COUNTERS, RP_PIN_EVENTS, "rp_evlimit", RP_PIN_EVSTATS,
	RP_PIN_FLOWT6, RP_PIN_FLOWT4, RP_PIN_FLOW_STATS, RP_PIN_FRAGS, "rp_flow_last", RP_PIN_SYNC, "rp_sync_inner",
};

#define MAX_SHARED 32

struct probe {
	struct rempart *skel;
	int prog[PROBE__COUNT];
	uint8_t tag[PROBE__COUNT][8];
	uint32_t shared[MAX_SHARED];
	size_t n_shared;
	uint32_t uses[PROBE__COUNT][MAX_SHARED];	/* the shared maps each program reads */
	size_t n_uses[PROBE__COUNT];
	unsigned long runs;
};

static bool in_list(const char *name, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, v[i]))
			return true;
	return false;
}

int probe_open(struct probe **out, const char *dir, char *why, size_t whylen)
{
	struct probe *p = calloc(1, sizeof(*p));
	struct bpf_map *m;
	char path[512];
	int err = 0;

	if (!p)
		return -ENOMEM;
	p->skel = rempart__open();
	if (!p->skel) {
		err = -errno;
		snprintf(why, whylen, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	p->skel->rodata->stateless = 1;
	p->skel->rodata->tunnel_l2_skip = 14;	/* test_run frames carry an Ethernet header */
	p->skel->rodata->ev_rate = 0;
	bpf_object__for_each_map(m, p->skel->obj) {
		const char *name = bpf_map__name(m);
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);
		int fd;

		if (bpf_map__is_internal(m))
			continue;
		if (in_list(name, state_maps, sizeof(state_maps) / sizeof(state_maps[0]))) {
			/* never written by a stateless program: keep them small */
			if (bpf_map__type(m) == BPF_MAP_TYPE_LRU_HASH || bpf_map__type(m) == BPF_MAP_TYPE_HASH)
				bpf_map__set_max_entries(m, 64);
			continue;
		}
		if (!in_list(name, policy_maps, sizeof(policy_maps) / sizeof(policy_maps[0]))) {
			err = -EPROTO;
			snprintf(why, whylen, "the programs have a map '%s' the audit does not know as policy "
				 "or state", name);
			goto fail;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			err = -errno;
			snprintf(why, whylen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		err = bpf_map__reuse_fd(m, fd);
		if (!err && !bpf_obj_get_info_by_fd(fd, &info, &len) && p->n_shared < MAX_SHARED)
			p->shared[p->n_shared++] = info.id;
		close(fd);
		if (err) {
			snprintf(why, whylen, "%s: cannot share it: %s", path, strerror(-err));
			goto fail;
		}
	}
	err = rempart__load(p->skel);
	if (err) {
		snprintf(why, whylen, "cannot load the programs over the pinned maps (made by another "
			 "version?): %s", strerror(-err));
		goto fail;
	}
	p->prog[RP_HOOK_UPLINK_IN] = bpf_program__fd(p->skel->progs.uplink_in);
	p->prog[RP_HOOK_UPLINK_OUT] = bpf_program__fd(p->skel->progs.uplink_out);
	p->prog[RP_HOOK_CLOUD_IN] = bpf_program__fd(p->skel->progs.cloud_in);
	p->prog[RP_HOOK_TUNNEL_IN] = bpf_program__fd(p->skel->progs.tunnel_in);
	p->prog[PROBE_CLOUD_MARK] = bpf_program__fd(p->skel->progs.cloud_mark);
	for (int h = 0; h < PROBE__COUNT; h++) {
		struct bpf_prog_info info = { 0 };
		uint32_t ids[64];
		__u32 len = sizeof(info);

		info.nr_map_ids = 64;
		info.map_ids = (__u64)(unsigned long)ids;
		if (bpf_obj_get_info_by_fd(p->prog[h], &info, &len)) {
			err = -errno;
			snprintf(why, whylen, "cannot read a program's tag: %s", strerror(errno));
			goto fail;
		}
		memcpy(p->tag[h], info.tag, 8);
		for (uint32_t k = 0; k < info.nr_map_ids && k < 64; k++)
			for (size_t j = 0; j < p->n_shared; j++)
				if (ids[k] == p->shared[j] && p->n_uses[h] < MAX_SHARED)
					p->uses[h][p->n_uses[h]++] = ids[k];
	}
	*out = p;
	return 0;
fail:
	probe_close(p);
	return err;
}

void probe_close(struct probe *p)
{
	if (!p)
		return;
	rempart__destroy(p->skel);
	free(p);
}

const uint8_t *probe_tag(const struct probe *p, int hook)
{
	return p->tag[hook];
}

size_t probe_shared_ids(const struct probe *p, int hook, const uint32_t **ids)
{
	*ids = p->uses[hook];
	return p->n_uses[hook];
}

unsigned long probe_runs(const struct probe *p)
{
	return p->runs;
}

/* ---- frames ---- */

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = (uint8_t)v;
}

static uint16_t csum(const uint8_t *b, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

size_t probe_frame(const struct probe_pkt *pk, uint8_t *buf, size_t len)
{
	size_t n = 12, ip, l4len;
	uint8_t *l4;

	if (len < 128)
		return 0;
	memset(buf, 0, 128);
	buf[0] = 0x02;			/* locally administered MACs */
	buf[6] = 0x02;
	buf[11] = 1;
	if (pk->vid) {
		put16(buf + n, 0x8100);
		put16(buf + n + 2, pk->vid & 0xfff);
		n += 4;
	}
	put16(buf + n, pk->family == AF_INET ? 0x0800 : 0x86dd);
	n += 2;
	ip = n;
	switch (pk->proto) {
	case IPPROTO_TCP: l4len = 20; break;
	case IPPROTO_UDP: l4len = 8; break;
	default: l4len = 8; break;	/* ICMP header, or 8 bytes of another protocol */
	}
	if (pk->family == AF_INET) {
		buf[ip] = 0x45;
		put16(buf + ip + 2, (uint16_t)(20 + l4len));
		buf[ip + 8] = pk->hop;
		buf[ip + 9] = pk->proto;
		memcpy(buf + ip + 12, pk->src, 4);
		memcpy(buf + ip + 16, pk->dst, 4);
		put16(buf + ip + 10, csum(buf + ip, 20));
		l4 = buf + ip + 20;
		n = ip + 20;
	} else {
		buf[ip] = 0x60;
		put16(buf + ip + 4, (uint16_t)l4len);
		buf[ip + 6] = pk->proto;
		buf[ip + 7] = pk->hop;
		memcpy(buf + ip + 8, pk->src, 16);
		memcpy(buf + ip + 24, pk->dst, 16);
		l4 = buf + ip + 40;
		n = ip + 40;
	}
	if (pk->proto == IPPROTO_TCP) {
		put16(l4, pk->sport);
		put16(l4 + 2, pk->dport);
		l4[12] = 5 << 4;
		l4[13] = 0x02;		/* SYN: a new connection */
		put16(l4 + 14, 65535);
	} else if (pk->proto == IPPROTO_UDP) {
		put16(l4, pk->sport);
		put16(l4 + 2, pk->dport);
		put16(l4 + 4, 8);
	} else if ((pk->family == AF_INET && pk->proto == IPPROTO_ICMP) ||
		   (pk->family == AF_INET6 && pk->proto == IPPROTO_ICMPV6)) {
		l4[0] = pk->icmp_type;
		l4[1] = pk->icmp_code;
		put16(l4 + 4, 0x7270);	/* id (echo) */
		put16(l4 + 6, 1);
	}
	return n + l4len;
}

int probe_run(struct probe *p, int hook, unsigned ifindex, const struct probe_pkt *pk, uint32_t *mark)
{
	uint8_t frame[256], out[512];
	size_t len = probe_frame(pk, frame, sizeof(frame));
	struct xdp_md xctx = { .data = 0, .data_end = (__u32)len, .ingress_ifindex = ifindex };
	struct __sk_buff sctx = { .ifindex = ifindex }, sout = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	bool xdp = hook == RP_HOOK_UPLINK_IN || hook == RP_HOOK_CLOUD_IN;

	if (hook < 0 || hook >= PROBE__COUNT)
		return -EINVAL;
	if (xdp) {
		o.ctx_in = &xctx;
		o.ctx_size_in = sizeof(xctx);
	} else {
		o.ctx_in = &sctx;
		o.ctx_size_in = sizeof(sctx);
		o.ctx_out = &sout;
		o.ctx_size_out = sizeof(sout);
	}
	if (bpf_prog_test_run_opts(p->prog[hook], &o))
		return -errno;
	p->runs++;
	if (mark)
		*mark = xdp ? 0 : sout.mark;	/* what the routing will see */
	return xdp ? o.retval == XDP_PASS : o.retval == TC_ACT_OK;
}
