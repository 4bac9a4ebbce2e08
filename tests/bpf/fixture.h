/* fixture.h — shared set-up of the BPF tests: a private network namespace
 * with veth interfaces, configs built in C, the skeleton loaded with
 * test knobs, packets run through BPF_PROG_TEST_RUN, counters read back.
 * Header-only (each test is one program). */
#ifndef REMPART_TESTS_FIXTURE_H
#define REMPART_TESTS_FIXTURE_H
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "config/config.h"
#include "dataplane/dataplane_maps.h"
#include "pkt.h"
#include "rempart.skel.h"

/* ---- network namespace --------------------------------------------------- */

/* Interfaces every test config may name (veth pairs: no dummy module here). */
static const char *const fx_ifnames[] = {
	"dpup", "dpcloud", "dptrunk", "dptun1", "dptun2", "dptun3", "dptun4",
};

static __attribute__((unused)) int fx_netns(void)
{
	char cmd[2048];
	size_t n;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -errno;
	}
	n = snprintf(cmd, sizeof(cmd), "ip link set lo up");
	for (size_t i = 0; i < sizeof(fx_ifnames) / sizeof(fx_ifnames[0]); i++)
		n += snprintf(cmd + n, sizeof(cmd) - n, " && ip link add %s type veth peer name %sp && ip link set %s up && ip link set %sp up",
			      fx_ifnames[i], fx_ifnames[i], fx_ifnames[i], fx_ifnames[i]);
	if (system(cmd)) {
		fprintf(stderr, "cannot create the test interfaces\n");
		return -EIO;
	}
	return 0;
}

/* ---- configs built in C -------------------------------------------------- */

static __attribute__((unused)) struct rp_prefix_list fx_plist(const char *csv)
{
	struct rp_prefix_list l = { 0 };
	char *dup, *tok, *save;

	if (!csv || !*csv)
		return l;
	dup = strdup(csv);
	l.v = calloc(strlen(csv) / 2 + 1, sizeof(*l.v));	/* a prefix is at least 2 characters with its comma */
	for (tok = strtok_r(dup, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
		if (prefix_parse(tok, &l.v[l.n]) == 0)
			l.n++;
		else
			fprintf(stderr, "fixture: bad prefix '%s'\n", tok);
	free(dup);
	return l;
}

static __attribute__((unused)) struct rp_port_list fx_ports(const char *csv)
{
	struct rp_port_list l = { 0 };
	char *dup, *tok, *save;

	if (!csv || !*csv)
		return l;
	dup = strdup(csv);
	l.v = calloc(32, sizeof(*l.v));
	for (tok = strtok_r(dup, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
		if (port_range_parse(tok, &l.v[l.n]) == 0)
			l.n++;
	free(dup);
	return l;
}

static __attribute__((unused)) struct rp_prefix_list fx_pcat(struct rp_prefix_list a, const struct rp_prefix_list *b)
{
	a.v = realloc(a.v, (a.n + b->n + 1) * sizeof(*a.v));
	memcpy(a.v + a.n, b->v, b->n * sizeof(*a.v));
	a.n += b->n;
	return a;
}

static __attribute__((unused)) void fx_cfg_init(struct rp_config *c, size_t max_tenants)
{
	memset(c, 0, sizeof(*c));
	c->name = strdup("gw-test");
	c->uplink = strdup("dpup");
	c->tenants = calloc(max_tenants, sizeof(*c->tenants));
}

static __attribute__((unused)) struct rp_tenant *fx_tenant(struct rp_config *c, const char *name, unsigned id,
				   size_t max_rules)
{
	struct rp_tenant *t = &c->tenants[c->n_tenants++];
	char buf[64];

	memset(t, 0, sizeof(*t));
	t->name = strdup(name);
	t->id = id;
	snprintf(buf, sizeof(buf), "wg-%s", name);
	t->tunnel_interface = strdup(buf);
	t->intra_allow = true;
	t->sites = calloc(32, sizeof(*t->sites));
	t->rules = calloc(max_rules + 1, sizeof(*t->rules));
	t->shares = calloc(16, sizeof(*t->shares));
	return t;
}

static __attribute__((unused)) struct rp_site *fx_site(struct rp_tenant *t, const char *name, const char *allowed,
			       const char *allow_from)
{
	struct rp_site *s = &t->sites[t->n_sites++];

	s->name = strdup(name);
	s->allowed_ips = fx_plist(allowed);
	s->allow_from = fx_plist(allow_from);
	return s;
}

static __attribute__((unused)) enum rp_proto fx_proto(const char *p)
{
	return !p || !strcmp(p, "any") ? RP_PROTO_ANY : !strcmp(p, "tcp") ? RP_PROTO_TCP :
	       !strcmp(p, "udp") ? RP_PROTO_UDP : RP_PROTO_ICMP;
}

/* from/to: "sites", "cloud", "site:NAME" or prefixes (expanded here, as
 * config_load does). */
static __attribute__((unused)) struct rp_prefix_list fx_sel(const struct rp_tenant *t, const char *sel)
{
	struct rp_prefix_list l = { 0 };

	if (!strcmp(sel, "sites")) {
		for (size_t i = 0; i < t->n_sites; i++) {
			l = fx_pcat(l, &t->sites[i].allowed_ips);
			l = fx_pcat(l, &t->sites[i].tunnel_ip);
		}
		return l;
	}
	if (!strcmp(sel, "cloud"))
		return fx_pcat(l, &t->cloud_prefixes);
	if (!strncmp(sel, "site:", 5)) {
		for (size_t i = 0; i < t->n_sites; i++)
			if (!strcmp(t->sites[i].name, sel + 5)) {
				l = fx_pcat(l, &t->sites[i].allowed_ips);
				l = fx_pcat(l, &t->sites[i].tunnel_ip);
			}
		return l;
	}
	return fx_plist(sel);
}

static __attribute__((unused)) struct rp_rule *fx_rule(struct rp_tenant *t, const char *name, const char *from,
			       const char *to, const char *proto, const char *ports, bool allow)
{
	struct rp_rule *r = &t->rules[t->n_rules++];

	r->name = strdup(name);
	r->from = fx_sel(t, from);
	r->to = fx_sel(t, to);
	r->from_text = strdup(from);
	r->to_text = strdup(to);
	r->proto = fx_proto(proto);
	r->ports = fx_ports(ports);
	r->allow = allow;
	return r;
}

/* tenants: "*" or comma-separated names (resolved by fx_resolve). */
static __attribute__((unused)) struct rp_share *fx_share(struct rp_tenant *t, const char *name, const char *to,
				 const char *proto, const char *ports, const char *tenants)
{
	struct rp_share *s = &t->shares[t->n_shares++];
	char *dup, *tok, *save;

	s->name = strdup(name);
	s->to = fx_plist(to);
	s->proto = fx_proto(proto);
	s->ports = fx_ports(ports);
	if (!strcmp(tenants, "*")) {
		s->all_tenants = true;
		return s;
	}
	s->tenants = calloc(16, sizeof(char *));
	dup = strdup(tenants);
	for (tok = strtok_r(dup, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
		s->tenants[s->n_tenants++] = strdup(tok);
	free(dup);
	return s;
}

static __attribute__((unused)) void fx_resolve(struct rp_config *c)
{
	for (size_t i = 0; i < c->n_tenants; i++)
		for (size_t s = 0; s < c->tenants[i].n_shares; s++) {
			struct rp_share *sh = &c->tenants[i].shares[s];

			free(sh->tenant_idx);
			sh->tenant_idx = calloc(sh->n_tenants + 1, sizeof(int));
			for (size_t k = 0; k < sh->n_tenants; k++) {
				sh->tenant_idx[k] = -1;
				for (size_t j = 0; j < c->n_tenants; j++)
					if (!strcmp(c->tenants[j].name, sh->tenants[k]))
						sh->tenant_idx[k] = j;
			}
		}
}

/* ---- the skeleton -------------------------------------------------------- */

struct fx {
	struct rempart *skel;
	struct dp_maps m;
	int prog[RP_HOOK__COUNT];
	int pass_prog;
	int mark_prog;		/* cloud_mark */
};

/* The object fx_load() opens: this build's (the skeleton's own bytes), or,
 * when set, another object's bytes in this skeleton's layout: its maps and
 * programs are found by name, and its .rodata must be the same size
 * (bench_dataplane's DP_OBJ, for bench/dp_profile.sh's variants). */
static const void *fx_elf;
static size_t fx_elf_sz;

static __attribute__((unused)) struct rempart *fx_open(void)
{
	struct rempart *s;
	size_t sz = 0;

	if (!fx_elf)
		return rempart__open();
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (rempart__create_skeleton(s))
		goto fail;
	s->skeleton->data = (void *)fx_elf;
	s->skeleton->data_sz = fx_elf_sz;
	if (bpf_object__open_skeleton(s->skeleton, NULL))
		goto fail;
	if (!bpf_map__initial_value(s->maps.rodata, &sz) || sz != sizeof(*s->rodata)) {
		errno = EPROTO;
		goto fail;
	}
	return s;
fail:
	rempart__destroy(s);
	return NULL;
}

static __attribute__((unused)) int fx_load(struct fx *f, bool stateless)
{
	int err;

	memset(f, 0, sizeof(*f));
	f->skel = fx_open();
	if (!f->skel)
		return -errno;
	f->skel->rodata->tunnel_l2_skip = 14;	/* test_run frames carry an Ethernet header */
	f->skel->rodata->stateless = stateless;
	err = rempart__load(f->skel);
	if (err) {
		rempart__destroy(f->skel);
		f->skel = NULL;
		return err;
	}
	dp_maps_from_skel(f->skel, &f->m);
	f->prog[RP_HOOK_UPLINK_IN] = bpf_program__fd(f->skel->progs.uplink_in);
	f->prog[RP_HOOK_UPLINK_OUT] = bpf_program__fd(f->skel->progs.uplink_out);
	f->prog[RP_HOOK_CLOUD_IN] = bpf_program__fd(f->skel->progs.cloud_in);
	f->prog[RP_HOOK_TUNNEL_IN] = bpf_program__fd(f->skel->progs.tunnel_in);
	f->mark_prog = bpf_program__fd(f->skel->progs.cloud_mark);
	f->pass_prog = bpf_program__fd(f->skel->progs.xdp_pass);
	return 0;
}

static __attribute__((unused)) void fx_unload(struct fx *f)
{
	if (f->skel)
		rempart__destroy(f->skel);
	f->skel = NULL;
}

static __attribute__((unused)) bool fx_is_xdp(int hook)
{
	return hook == RP_HOOK_UPLINK_IN || hook == RP_HOOK_CLOUD_IN;
}

/* The skb mark a TC program sees (fx_run_prog), and what it set. */
static __u32 fx_skb_mark __attribute__((unused));
static __u32 fx_skb_mark_out __attribute__((unused));

/* Run one frame; *allow from the program's return code.  repeat > 1 for
 * the benchmark (*ns_per: average duration). */
static __attribute__((unused)) int fx_run_prog(int prog_fd, bool xdp, unsigned ifindex, const void *pkt, size_t len,
		       unsigned repeat, int *retval, unsigned *ns_per)
{
	struct xdp_md xctx = { .data = 0, .data_end = len, .ingress_ifindex = ifindex };
	struct __sk_buff sctx = { .ifindex = ifindex, .mark = fx_skb_mark }, sout = { 0 };
	uint8_t out[PK_MAX + 256];
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = pkt, .data_size_in = len,
		.data_out = out, .data_size_out = sizeof(out),
		.repeat = repeat);
	int err;

	if (xdp) {
		o.ctx_in = &xctx;
		o.ctx_size_in = sizeof(xctx);
	} else {
		o.ctx_in = &sctx;
		o.ctx_size_in = sizeof(sctx);
		o.ctx_out = &sout;
		o.ctx_size_out = sizeof(sout);
	}
	err = bpf_prog_test_run_opts(prog_fd, &o);
	if (err)
		return -errno;
	fx_skb_mark_out = sout.mark;
	*retval = o.retval;
	if (ns_per)
		*ns_per = o.duration;
	return 0;
}

static __attribute__((unused)) bool fx_allowed(int hook, int retval)
{
	return fx_is_xdp(hook) ? retval == XDP_PASS : retval == TC_ACT_OK;
}

static __attribute__((unused)) unsigned long long fx_counter(struct fx *f, unsigned tenant, unsigned reason)
{
	int ncpu = libbpf_num_possible_cpus();
	struct rp_counter c[ncpu > 0 ? ncpu : 1];
	__u32 k = rp_counter_key(tenant, reason);
	unsigned long long sum = 0;

	if (bpf_map_lookup_elem(f->m.counters, &k, c))
		return ~0ULL;
	for (int i = 0; i < ncpu; i++)
		sum += c[i].packets;
	return sum;
}

#endif
