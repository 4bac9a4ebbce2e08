/* prog.c — the verdict side: the lab's own BPF programs.
 *
 * The oracle loads the same object (this build's skeleton), with the
 * .rodata of the programs attached in the lab copied over, and every
 * pinned policy map of the lab reused (rp_state, the tries, rules,
 * tenants, interfaces, ports, geo); only the state maps (flows, fragments,
 * counters, events) are its own, fresh, so that every reply the programs
 * accept comes from a flow the oracle itself sent.  It then checks that
 * its programs carry the tags of the ones attached to the lab's interfaces
 * (the same instructions), and runs frames through them with
 * BPF_PROG_TEST_RUN and the real ingress ifindex.
 *
 * A TUN device (wireguard-go's tunnels) has no link-layer header:
 * test_run's eth_type_trans() pulls the 14 bytes of the frame's Ethernet
 * header and pushes back hard_header_len (0), so tunnel_in sees the IP
 * header first, as on the real device (the live programs' tunnel_l2_skip is
 * 0); main.c checks this at start (a known-good packet must pass). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "oracle.h"
#include "rempart.skel.h"

static const char *const reason_names[] = {
#define RP_REASON_NAME(id, name) name,
	RP_REASONS(RP_REASON_NAME)
#undef RP_REASON_NAME
};

struct progs {
	struct rempart *skel;
	int fd[OH__COUNT];
	bool xdp[OH__COUNT];
	bool track;
	int ncpu;
	unsigned n_tenant_ids;
	unsigned *tenant_ids;
	unsigned long long *snap;
	char reason[64];
};

/* State the programs write: private to the oracle. */
static bool is_state_map(const char *name)
{
	static const char *const pat[] = { "flow", "frag", "count", "event", "evlimit", "drops", "evict", "quota" };

	for (size_t i = 0; i < sizeof(pat) / sizeof(pat[0]); i++)
		if (strstr(name, pat[i]))
			return true;
	return false;
}

/* The program attached to ifindex at that hook (0 when none). */
/* tcx attach types (kernel 6.6), newer than this system's UAPI headers */
#define O_BPF_TCX_INGRESS 46
#define O_BPF_TCX_EGRESS 47

static __u32 live_prog_id(int hook, int ifindex)
{
	__u32 id = 0, ids[8] = { 0 };
	LIBBPF_OPTS(bpf_prog_query_opts, q, .prog_ids = ids, .prog_cnt = 8);

	if (hook == OH_UPLINK_IN || hook == OH_CLOUD_IN)
		return bpf_xdp_query_id(ifindex, 0, &id) ? 0 : id;
	if (bpf_prog_query_opts(ifindex, hook == OH_TUNNEL_IN ? O_BPF_TCX_INGRESS : O_BPF_TCX_EGRESS, &q))
		return 0;
	return q.prog_cnt ? ids[0] : 0;
}

static int prog_info(int fd, struct bpf_prog_info *info, __u32 *map_ids, __u32 n_maps)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	info->nr_map_ids = n_maps;
	info->map_ids = (__u64)(unsigned long)map_ids;
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

/* Copy the live program's .rodata (load-time knobs) into the skeleton. */
static int copy_rodata(struct rempart *s, int live_fd, char *err, size_t errlen)
{
	__u32 ids[64];
	struct bpf_prog_info info;
	size_t want;
	void *init = (void *)bpf_map__initial_value(s->maps.rodata, &want);

	if (prog_info(live_fd, &info, ids, 64))
		return -errno;
	for (__u32 i = 0; i < info.nr_map_ids && i < 64; i++) {
		int fd = bpf_map_get_fd_by_id(ids[i]);
		struct bpf_map_info mi = { 0 };
		__u32 len = sizeof(mi), k = 0;
		int rc;

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &mi, &len) || !strstr(mi.name, ".rodata")) {
			close(fd);
			continue;
		}
		if (mi.value_size != want) {
			snprintf(err, errlen, "the live .rodata holds %u bytes, this build's %zu", mi.value_size, want);
			close(fd);
			return -EINVAL;
		}
		rc = bpf_map_lookup_elem(fd, &k, init) ? -errno : 0;
		close(fd);
		if (rc)
			snprintf(err, errlen, "cannot read the live .rodata: %s", strerror(-rc));
		return rc;
	}
	snprintf(err, errlen, "the live program has no .rodata map");
	return -ENOENT;
}

static int reuse_pinned(struct bpf_map *m, char *err, size_t errlen)
{
	char path[256];
	struct bpf_map_info mi = { 0 };
	__u32 len = sizeof(mi);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, bpf_map__name(m));
	fd = bpf_obj_get(path);
	if (fd < 0) {
		snprintf(err, errlen, "no pinned %s: %s", path, strerror(errno));
		return -errno;
	}
	if (bpf_obj_get_info_by_fd(fd, &mi, &len) ||
	    bpf_map__set_max_entries(m, mi.max_entries) || bpf_map__reuse_fd(m, fd)) {
		snprintf(err, errlen, "cannot reuse %s: %s", path, strerror(errno));
		close(fd);
		return -EINVAL;
	}
	close(fd);
	return 0;
}

/* A private state map that holds maps (per-tenant flow tables): give it
 * fresh inner maps shaped like the ones the lab's loader put in the pinned
 * map, at the same keys. */
static int mirror_inner_maps(struct bpf_map *m, char *err, size_t errlen)
{
	enum bpf_map_type t = bpf_map__type(m);
	char path[256];
	__u32 ks = bpf_map__key_size(m);
	uint8_t key[64], next[64];
	void *prev = NULL;
	int live, rc = 0;

	if (t != BPF_MAP_TYPE_ARRAY_OF_MAPS && t != BPF_MAP_TYPE_HASH_OF_MAPS)
		return 0;
	if (ks > sizeof(key))
		return -E2BIG;
	snprintf(path, sizeof(path), "%s/%s", RP_PIN_DIR, bpf_map__name(m));
	live = bpf_obj_get(path);
	if (live < 0)
		return 0;	/* nothing pinned: the program's own fresh map */
	while (!rc && !bpf_map_get_next_key(live, prev, next)) {
		__u32 id = 0;
		struct bpf_map_info mi = { 0 };
		__u32 len = sizeof(mi);
		int in, fresh;

		memcpy(key, next, ks);
		prev = key;
		if (bpf_map_lookup_elem(live, key, &id) || !id)
			continue;
		in = bpf_map_get_fd_by_id(id);
		if (in < 0 || bpf_obj_get_info_by_fd(in, &mi, &len)) {
			if (in >= 0)
				close(in);
			continue;
		}
		close(in);
		{
			LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = mi.map_flags);

			fresh = bpf_map_create(mi.type, "oracle_inner", mi.key_size, mi.value_size, mi.max_entries, &o);
		}
		if (fresh < 0 || bpf_map_update_elem(bpf_map__fd(m), key, &fresh, BPF_ANY)) {
			snprintf(err, errlen, "cannot give %s a fresh inner map: %s", bpf_map__name(m), strerror(errno));
			rc = -errno;
		}
		if (fresh >= 0)
			close(fresh);
	}
	close(live);
	return rc;
}

struct progs *progs_open(const struct world *w, FILE *log, char *err, size_t errlen)
{
	static const int ifk[OH__COUNT] = { OK_UPLINK, OK_CLOUD, OK_TUNNEL, OK_UPLINK };
	struct progs *p = calloc(1, sizeof(*p));
	int live[OH__COUNT], live_ifi[OH__COUNT];
	struct bpf_map *m;
	int rc = 0;

	if (!p)
		return NULL;
	for (int h = 0; h < OH__COUNT; h++) {
		__u32 id = 0;

		live[h] = -1;
		live_ifi[h] = -1;
		for (int i = 0; i < w->n_ifs && !id; i++)
			if (w->ifs[i].kind == ifk[h] && w->ifs[i].ifindex &&
			    (id = live_prog_id(h, w->ifs[i].ifindex)))
				live_ifi[h] = i;
		if (!id || (live[h] = bpf_prog_get_fd_by_id(id)) < 0) {
			snprintf(err, errlen, "no program attached for hook %d (%s)", h,
				 live_ifi[h] >= 0 ? w->ifs[live_ifi[h]].name : "no interface");
			goto fail;
		}
	}
	p->skel = rempart__open();
	if (!p->skel) {
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	if (copy_rodata(p->skel, live[OH_UPLINK_IN], err, errlen))
		goto fail;
	bpf_object__for_each_map(m, p->skel->obj) {
		if (bpf_map__is_internal(m) || is_state_map(bpf_map__name(m)))
			continue;
		if (reuse_pinned(m, err, errlen))
			goto fail;
	}
	rc = rempart__load(p->skel);
	if (rc) {
		snprintf(err, errlen, "cannot load the BPF object with the lab's maps: %s", strerror(-rc));
		goto fail;
	}
	bpf_object__for_each_map(m, p->skel->obj)
		if (!bpf_map__is_internal(m) && is_state_map(bpf_map__name(m)) && mirror_inner_maps(m, err, errlen))
			goto fail;
	p->fd[OH_UPLINK_IN] = bpf_program__fd(p->skel->progs.uplink_in);
	p->fd[OH_CLOUD_IN] = bpf_program__fd(p->skel->progs.cloud_in);
	p->fd[OH_TUNNEL_IN] = bpf_program__fd(p->skel->progs.tunnel_in);
	p->fd[OH_GW_OUT] = bpf_program__fd(p->skel->progs.uplink_out);
	p->xdp[OH_UPLINK_IN] = p->xdp[OH_CLOUD_IN] = true;
	for (int h = 0; h < OH__COUNT; h++) {
		struct bpf_prog_info a, b;
		__u32 ids[1];

		if (prog_info(p->fd[h], &a, ids, 0) || prog_info(live[h], &b, ids, 0)) {
			snprintf(err, errlen, "cannot read the programs' info: %s", strerror(errno));
			goto fail;
		}
#ifdef ORACLE_REVERTED
		/* this build's object with one fix undone (mk/tests.mk): not the
		 * lab's instructions, by design */
		fprintf(log, "oracle: %s on %s: live program id %u; ours is this build with "
			"tests/oracle/revert/%s.patch applied%s\n", b.name, w->ifs[live_ifi[h]].name, b.id,
			ORACLE_REVERTED, memcmp(a.tag, b.tag, sizeof(a.tag)) ? "" : " (same tag: the patch changes another program)");
		close(live[h]);
		live[h] = -1;
		continue;
#endif
		if (memcmp(a.tag, b.tag, sizeof(a.tag))) {
			snprintf(err, errlen, "the program attached to %s (%s) is not this build's: "
				 "rebuild, or bring the lab up with this build", w->ifs[live_ifi[h]].name, b.name);
			goto fail;
		}
		fprintf(log, "oracle: %s on %s: live program id %u, tag %02x%02x%02x%02x%02x%02x%02x%02x (same as ours)\n",
			b.name, w->ifs[live_ifi[h]].name, b.id, b.tag[0], b.tag[1], b.tag[2], b.tag[3], b.tag[4],
			b.tag[5], b.tag[6], b.tag[7]);
		close(live[h]);
		live[h] = -1;
	}
	p->ncpu = libbpf_num_possible_cpus();
	p->tenant_ids = calloc(w->cfg.n_tenants + 1, sizeof(unsigned));
	p->tenant_ids[p->n_tenant_ids++] = RP_TENANT_GATEWAY;
	for (size_t i = 0; i < w->cfg.n_tenants; i++)
		p->tenant_ids[p->n_tenant_ids++] = w->cfg.tenants[i].id;
	p->snap = calloc((size_t)p->n_tenant_ids * RP_R__COUNT, sizeof(*p->snap));
	return p;
fail:
	for (int h = 0; h < OH__COUNT; h++)
		if (live[h] >= 0)
			close(live[h]);
	progs_close(p);
	return NULL;
}

void progs_close(struct progs *p)
{
	if (!p)
		return;
	if (p->skel)
		rempart__destroy(p->skel);
	free(p->tenant_ids);
	free(p->snap);
	free(p);
}

void progs_track_reasons(struct progs *p, bool on)
{
	p->track = on;
}

static unsigned long long counter(struct progs *p, unsigned key)
{
	struct rp_counter c[p->ncpu > 0 ? p->ncpu : 1];
	unsigned long long n = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.rp_counters), &key, c))
		return 0;
	for (int i = 0; i < p->ncpu; i++)
		n += c[i].packets;
	return n;
}

static void snapshot(struct progs *p, bool after)
{
	p->reason[0] = 0;
	for (unsigned t = 0; t < p->n_tenant_ids; t++)
		for (unsigned r = 0; r < RP_R__COUNT; r++) {
			unsigned long long n = counter(p, p->tenant_ids[t] * RP_R__COUNT + r);
			unsigned long long *s = &p->snap[t * RP_R__COUNT + r];

			if (after && n > *s && !p->reason[0])
				snprintf(p->reason, sizeof(p->reason), "%s (tenant id %u)",
					 r < sizeof(reason_names) / sizeof(reason_names[0]) ? reason_names[r] : "?",
					 p->tenant_ids[t]);
			*s = n;
		}
}

const char *progs_last_reason(struct progs *p)
{
	return p->reason[0] ? p->reason : "not counted";
}

int progs_run(struct progs *p, int hook, int ifindex, const uint8_t *frame, size_t len)
{
	struct xdp_md x = { .data = 0, .data_end = len, .ingress_ifindex = ifindex };
	struct __sk_buff s = { .ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .repeat = 1);

	if (p->xdp[hook]) {
		o.ctx_in = &x;
		o.ctx_size_in = sizeof(x);
	} else {
		if (hook == OH_TUNNEL_IN)
			s.ingress_ifindex = ifindex;
		o.ctx_in = &s;
		o.ctx_size_in = sizeof(s);
	}
	if (p->track)
		snapshot(p, false);
	if (bpf_prog_test_run_opts(p->fd[hook], &o))
		return -errno;
	if (p->track)
		snapshot(p, true);
	if (p->xdp[hook])
		return o.retval == XDP_PASS ? 1 : o.retval == XDP_DROP || o.retval == XDP_ABORTED ? 0 : -EPROTO;
	return (int)o.retval == TC_ACT_OK || (int)o.retval == TC_ACT_UNSPEC ? 1 : (int)o.retval == TC_ACT_SHOT ? 0 : -EPROTO;
}
