// SPDX-License-Identifier: GPL-2.0
/* audit.c — `rempart audit` (audit.h): read the live state, find the
 * ingress points the configuration names and the programs attached to
 * them, build the models, walk every ingress point (audit_walk.c), ask the
 * kernel about each violation found, report.
 *
 * Programs are identified by what they are, not by where they are pinned:
 * an attached program is rempart's when its kernel tag equals the tag of
 * this build's program for that hook (same instructions) and it reads the
 * pinned policy maps.  Any other program, BPF or classifier, on any
 * interface could redirect packets around the routes: the audit then
 * cannot judge, and says so. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include "lib/bpfobj.h"
#include "lib/clock.h"
#include "audit/audit_int.h"
#include "net/net.h"

static const char *const hook_prog[PROBE__COUNT] = { "uplink_in", "uplink_out", "cloud_in", "tunnel_in",
						    "cloud_mark" };

/* ---- programs ---- */

enum ident { ID_OURS, ID_FOREIGN };

/* A descriptor of program id.  Opening by ID needs CAP_SYS_ADMIN, which the
 * daemon's sandbox (and the audit it forks) does not have; rempart's own
 * programs are also pinned (RP_PIN_DIR), and a pin opens with CAP_BPF.
 * Which program a pin holds is read from the kernel, not from its name. */
static int prog_fd_by_id(const char *dir, uint32_t id)
{
	int fd = bpf_prog_get_fd_by_id(id), err = errno;
	struct dirent *e;
	DIR *d;

	if (fd >= 0 || !(d = opendir(dir))) {
		errno = err;
		return fd;
	}
	while ((e = readdir(d))) {
		char path[512];

		if (strncmp(e->d_name, "prog_", 5))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (bpfobj_id(fd) == id)
			break;
		close(fd);
		fd = -1;
	}
	closedir(d);
	errno = err;
	return fd;
}

/* Is program id the copy's program for hook, over the pinned maps? */
static enum ident identify(struct actx *a, uint32_t id, int hook, char *what, size_t len)
{
	struct bpf_prog_info info = { 0 };
	uint32_t maps[64], n_shared;
	const uint32_t *shared;
	__u32 ilen = sizeof(info);
	int fd = prog_fd_by_id(a->pin_dir, id);
	bool tag_ok, maps_ok = true;

	snprintf(what, len, "program id %u", id);
	if (fd < 0) {
		snprintf(what, len, "program id %u (not pinned by rempart, and opening it by ID failed: %s)", id,
			 strerror(errno));
		return ID_FOREIGN;
	}
	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)maps;
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
		close(fd);
		return ID_FOREIGN;
	}
	close(fd);
	snprintf(what, len, "program id %u (%.16s, tag %02x%02x%02x%02x%02x%02x%02x%02x)", id, info.name,
		 info.tag[0], info.tag[1], info.tag[2], info.tag[3], info.tag[4], info.tag[5], info.tag[6],
		 info.tag[7]);
	tag_ok = hook >= 0 && !memcmp(info.tag, probe_tag(a->P, hook), 8);
	n_shared = hook >= 0 ? (uint32_t)probe_shared_ids(a->P, hook, &shared) : 0;
	for (uint32_t i = 0; tag_ok && i < n_shared; i++) {
		bool found = false;

		for (uint32_t k = 0; k < info.nr_map_ids && k < 64; k++)
			found |= maps[k] == shared[i];
		maps_ok &= found;
	}
	return tag_ok && maps_ok ? ID_OURS : ID_FOREIGN;
}

/* Every BPF program and tc filter on link l must be the one expected there
 * (xdp_hook, tcin_hook, tcout_hook: RP_HOOK_* or -1 for none).  Sets
 * *xdp_ok / *tc_ok when the expected one is attached. */
static int check_link_progs(struct actx *a, const struct al_link *l, int xdp_hook, int tcin_hook, int tcout_hook,
			    bool *xdp_ok, bool *tcin_ok, bool *tcout_ok)
{
	char what[160];

	*xdp_ok = *tcin_ok = *tcout_ok = false;
	for (int m = 1; m < 4; m++) {
		uint32_t id = l->l.xdp_prog_id[m];

		if (!id)
			continue;
		if (m == XDP_ATTACHED_HW || xdp_hook < 0 || identify(a, id, xdp_hook, what, sizeof(what)) != ID_OURS) {
			if (xdp_hook < 0 || m == XDP_ATTACHED_HW)
				identify(a, id, -1, what, sizeof(what));
			diag_add(a->d, "audit: %s: XDP %s is not %s of this build: the audit cannot judge what it does "
				 "(run `rempart apply` with this binary, or remove it)", l->l.name, what,
				 xdp_hook < 0 ? "a program rempart attaches there" : hook_prog[xdp_hook]);
			return -EPROTO;
		}
		*xdp_ok = true;
	}
	for (int dir = 0; dir < 2; dir++) {
		const uint32_t *ids = dir ? l->tcx_out : l->tcx_in;
		unsigned n = dir ? l->n_tcx_out : l->n_tcx_in;
		const struct nl_tc_filter *f = dir ? l->cls_out : l->cls_in;
		size_t nf = dir ? l->n_cls_out : l->n_cls_in;
		int hook = dir ? tcout_hook : tcin_hook;
		bool *ok = dir ? tcout_ok : tcin_ok;

		for (unsigned i = 0; i < n; i++) {
			if (hook < 0 || identify(a, ids[i], hook, what, sizeof(what)) != ID_OURS) {
				identify(a, ids[i], -1, what, sizeof(what));
				diag_add(a->d, "audit: %s: tcx %s %s is not %s: the audit cannot judge what it does",
					 l->l.name, dir ? "egress" : "ingress", what,
					 hook < 0 ? "a program rempart attaches there" : hook_prog[hook]);
				return -EPROTO;
			}
			*ok = true;
		}
		for (size_t i = 0; i < nf; i++) {
			if (hook < 0 || strcmp(f[i].kind, "bpf") || !f[i].bpf_direct_action ||
			    identify(a, f[i].bpf_id, hook, what, sizeof(what)) != ID_OURS) {
				if (!strcmp(f[i].kind, "bpf"))
					identify(a, f[i].bpf_id, -1, what, sizeof(what));
				else
					snprintf(what, sizeof(what), "a '%s' filter", f[i].kind[0] ? f[i].kind : "?");
				diag_add(a->d, "audit: %s: tc %s %s is not %s: the audit cannot judge what it does",
					 l->l.name, dir ? "egress" : "ingress", what,
					 hook < 0 ? "something rempart attaches there" : hook_prog[hook]);
				return -EPROTO;
			}
			*ok = true;
		}
	}
	return 0;
}

/* ---- ingress points and egresses ---- */

static void cloud_name(const struct rp_tenant *t, char *buf, size_t len)
{
	net_cloud_ifname(t, buf, len);
}

/* Every table a rule looks up must be one rempart knows: the kernel's
 * (local, main, default) or a tenant's.  Another routing domain is
 * something the configuration, the specification the audit proves the
 * kernel against, says nothing about. */
static int check_tables(struct actx *a)
{
	for (size_t i = 0; i < a->L.n_rules; i++) {
		const struct nl_fib_rule *r = &a->L.rules[i];
		bool known = r->action != FR_ACT_TO_TBL || r->table == RT_TABLE_LOCAL ||
			     r->table == RT_TABLE_MAIN || r->table == RT_TABLE_DEFAULT;

		for (size_t t = 0; !known && t < a->cfg->n_tenants; t++)
			known = r->table == net_tenant_table(&a->cfg->tenants[t]);
		if (!known) {
			diag_add(a->d, "audit: the %s rule at priority %u looks up table %u, which rempart does "
				 "not know (neither local, main, default nor a tenant's): the audit cannot judge",
				 r->family == AF_INET ? "IPv4" : "IPv6", r->priority, r->table);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

static int add_in(struct actx *a, const struct ingress *in)
{
	struct ingress *p = realloc(a->in, (a->n_in + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	a->in = p;
	p[a->n_in++] = *in;
	return 0;
}

/* The tenant owning a site public key, -1 when none. */
static int key_owner(const struct rp_config *cfg, const uint8_t *key)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		for (size_t s = 0; s < cfg->tenants[i].n_sites; s++)
			if (!memcmp(cfg->tenants[i].sites[s].public_key, key, RP_KEY_LEN))
				return (int)i;
	return -1;
}

/* A tunnel's peers as runs: each address to the peer whose allowed IPs
 * hold it longest, its owner by the configuration's site keys. */
static int peer_runs(struct actx *a, struct egress *e, const wg_device *dev)
{
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		struct { rp_u128 lo, hi; uint8_t len; int owner; } *pf = NULL;
		size_t n = 0, cap = 0, nb = 0;
		rp_u128 *b = NULL;
		wg_peer *p;
		wg_allowedip *ip;

		wg_for_each_peer((wg_device *)dev, p) {
			int owner = key_owner(a->cfg, p->public_key);

			wg_for_each_allowedip(p, ip) {
				struct rp_prefix pr = { .family = (uint8_t)ip->family, .len = ip->cidr };

				if (ip->family != family)
					continue;
				memcpy(pr.addr, family == AF_INET ? (const void *)&ip->ip4 : (const void *)&ip->ip6,
				       family == AF_INET ? 4 : 16);
				if (n == cap) {
					void *q = realloc(pf, (cap = cap ? cap * 2 : 16) * sizeof(*pf));

					if (!q) {
						free(pf);
						return -ENOMEM;
					}
					pf = q;
				}
				an_prefix_range(&pr, &pf[n].lo, &pf[n].hi);
				pf[n].len = ip->cidr;
				pf[n++].owner = owner;
			}
		}
		/* paint: elementary intervals, the longest prefix holding each */
		b = calloc(2 * n + 2, sizeof(*b));
		if (!b) {
			free(pf);
			return -ENOMEM;
		}
		b[nb++] = 0;
		for (size_t i = 0; i < n; i++) {
			b[nb++] = pf[i].lo;
			if (pf[i].hi < an_max(family))
				b[nb++] = pf[i].hi + 1;
		}
		for (size_t i = 1; i < nb; i++)
			for (size_t j = i; j > 0 && b[j - 1] > b[j]; j--) {
				rp_u128 t = b[j];

				b[j] = b[j - 1];
				b[j - 1] = t;
			}
		e->runs[f] = calloc(nb + 1, sizeof(*e->runs[f]));
		if (!e->runs[f]) {
			free(pf);
			free(b);
			return -ENOMEM;
		}
		for (size_t i = 0; i < nb; i++) {
			rp_u128 lo = b[i], hi;
			int best = -1, owner = -2;

			if (i + 1 < nb && b[i + 1] == lo)
				continue;
			hi = i + 1 < nb ? b[i + 1] - 1 : an_max(family);
			for (size_t k = 0; k < n; k++)
				if (pf[k].lo <= lo && hi <= pf[k].hi && pf[k].len > best) {
					best = pf[k].len;
					owner = pf[k].owner;
				}
			if (e->n_runs[f] && e->runs[f][e->n_runs[f] - 1].owner == owner)
				e->runs[f][e->n_runs[f] - 1].hi = hi;
			else
				e->runs[f][e->n_runs[f]++] = (struct peer_run){ lo, hi, owner };
		}
		free(pf);
		free(b);
	}
	e->peers_known = true;
	return 0;
}

static int build_egress(struct actx *a)
{
	const struct rp_config *cfg = a->cfg;
	char name[IFNAMSIZ + 8];

	a->eg = calloc(a->L.n_links + 1, sizeof(*a->eg));
	if (!a->eg)
		return -ENOMEM;
	for (size_t i = 0; i < a->L.n_links; i++) {
		const struct nl_link *l = &a->L.links[i].l;
		struct egress *e = &a->eg[a->n_eg++];

		e->ifindex = l->ifindex;
		snprintf(e->name, sizeof(e->name), "%s", l->name);
		e->tenant = -1;
		if (cfg->uplink && !strcmp(l->name, cfg->uplink)) {
			e->kind = EG_UPLINK;
			continue;
		}
		for (size_t t = 0; t < cfg->n_tenants; t++) {
			cloud_name(&cfg->tenants[t], name, sizeof(name));
			if (!strcmp(l->name, name)) {
				e->kind = EG_CLOUD;
				e->tenant = (int)t;
			} else if (!strcmp(l->name, cfg->tenants[t].tunnel_interface) ||
				   (cfg->tenants[t].next_interface &&
				    !strcmp(l->name, cfg->tenants[t].next_interface))) {
				const struct al_wg *w = al_wg_by_name(&a->L, l->name);
				int err;

				e->kind = EG_TUNNEL;
				e->tenant = (int)t;
				if (w && w->dev && (err = peer_runs(a, e, w->dev)))
					return err;
			}
		}
	}
	return 0;
}


static bool configured_link(const struct rp_config *cfg, const char *name)
{
	char c[IFNAMSIZ + 8];

	if (cfg->uplink && !strcmp(name, cfg->uplink))
		return true;
	for (size_t t = 0; t < cfg->n_tenants; t++) {
		cloud_name(&cfg->tenants[t], c, sizeof(c));
		if (!strcmp(name, c) || !strcmp(name, cfg->tenants[t].cloud_interface) ||
		    !strcmp(name, cfg->tenants[t].tunnel_interface) ||
		    (cfg->tenants[t].next_interface && !strcmp(name, cfg->tenants[t].next_interface)))
			return true;
	}
	return false;
}

/* The mark cloud_mark leaves on what enters by cloud attachment in: the
 * copy asked with one frame (the program reads only the interface and the
 * frame's VLAN tag); for a tagged attachment, whose tag BPF_PROG_TEST_RUN
 * cannot put in the skb's vlan_tci, the tenant the interface maps give it,
 * as the program's iface_tenant finds it. */
static int cloud_mark_of(struct actx *a, const struct ingress *in, uint32_t *mark)
{
	struct probe_pkt pk = { .family = AF_INET, .proto = IPPROTO_UDP, .sport = 40000, .dport = 53, .hop = 64,
				.src = { 10, 0, 0, 1 }, .dst = { 10, 0, 0, 2 } };
	unsigned t;
	int r;

	*mark = 0;
	if (in->vid) {
		t = dpr_iface_tenant(&a->R, a->R.slot, (unsigned)in->prog_ifindex, in->vid, RP_HOOK_CLOUD_IN);
		*mark = t ? RP_MARK_BASE | t : 0;
		return 0;
	}
	r = probe_run(a->P, PROBE_CLOUD_MARK, (unsigned)in->prog_ifindex, &pk, mark);
	if (r < 0)
		diag_add(a->d, "audit: BPF_PROG_TEST_RUN on the copy of cloud_mark failed: %s", strerror(-r));
	return r < 0 ? r : 0;
}

/* The ingress points, and every program on every interface checked. */
static int find_ingress(struct actx *a)
{
	const struct rp_config *cfg = a->cfg;
	const struct al_link *up = cfg->uplink ? al_link_by_name(&a->L, cfg->uplink) : NULL;
	bool xo, ti, to;
	int err;

	if (!up) {
		diag_add(a->d, "audit: the uplink '%s' does not exist", cfg->uplink ? cfg->uplink : "");
		return -ENODEV;
	}
	for (size_t i = 0; i < a->L.n_links; i++) {
		const struct al_link *l = &a->L.links[i];
		int xdp = -1, tcin = -1, tcout = -1;

		if (l->l.master) {
			diag_add(a->d, "audit: %s has a master interface (bridge, bond or VRF): the audit does "
				 "not model that", l->l.name);
			return -EOPNOTSUPP;
		}
		if (l == up) {
			xdp = RP_HOOK_UPLINK_IN;
			tcout = RP_HOOK_UPLINK_OUT;
		}
		for (size_t t = 0; t < cfg->n_tenants; t++) {
			if (!strcmp(l->l.name, cfg->tenants[t].cloud_interface)) {
				xdp = RP_HOOK_CLOUD_IN;
				tcin = PROBE_CLOUD_MARK;
			}
			if (!strcmp(l->l.name, cfg->tenants[t].tunnel_interface) ||
			    (cfg->tenants[t].next_interface &&
			     !strcmp(l->l.name, cfg->tenants[t].next_interface)))
				tcin = RP_HOOK_TUNNEL_IN;
		}
		if ((err = check_link_progs(a, l, xdp, tcin, tcout, &xo, &ti, &to)))
			return err;
		if (l == up) {
			struct ingress in = { .ifindex = l->l.ifindex, .prog_ifindex = l->l.ifindex,
					      .hook = RP_HOOK_UPLINK_IN, .tenant = -1, .uplink = true,
					      .is_protected = xo };

			snprintf(in.name, sizeof(in.name), "%s", l->l.name);
			if (!xo)
				snprintf(in.unprot, sizeof(in.unprot), "%s has no uplink_in program attached", l->l.name);
			if ((err = add_in(a, &in)))
				return err;
			continue;
		}
		if (configured_link(cfg, l->l.name) || !strcmp(l->l.name, "lo") || !(l->l.flags & IFF_UP))
			continue;
		{	/* an interface rempart does not manage */
			struct ingress in = { .ifindex = l->l.ifindex, .prog_ifindex = l->l.ifindex, .hook = -1,
					      .tenant = -1, .outside = true };

			snprintf(in.name, sizeof(in.name), "%s", l->l.name);
			if ((err = add_in(a, &in)))
				return err;
		}
	}
	for (size_t t = 0; t < cfg->n_tenants; t++) {
		const struct rp_tenant *tn = &cfg->tenants[t];
		const struct al_link *parent = al_link_by_name(&a->L, tn->cloud_interface), *cl;
		char cname[IFNAMSIZ + 8];

		cloud_name(tn, cname, sizeof(cname));
		cl = al_link_by_name(&a->L, cname);
		/* the tunnel, and during a key rotation the second one */
		for (int k = 0; k < 2; k++) {
			const char *tname = k ? tn->next_interface : tn->tunnel_interface;
			const struct al_link *tl = tname ? al_link_by_name(&a->L, tname) : NULL;

			if (!tl || !(tl->l.flags & IFF_UP))
				continue;
			struct ingress in = { .ifindex = tl->l.ifindex, .prog_ifindex = tl->l.ifindex,
					      .hook = RP_HOOK_TUNNEL_IN, .tenant = (int)t, .tid = tn->id };

			snprintf(in.name, sizeof(in.name), "%s", tl->l.name);
			check_link_progs(a, tl, -1, RP_HOOK_TUNNEL_IN, -1, &xo, &ti, &to);
			in.is_protected = ti;
			if (!ti)
				snprintf(in.unprot, sizeof(in.unprot), "%s forwards without its tunnel_in program",
					 tl->l.name);
			if ((err = add_in(a, &in)))
				return err;
		}
		if (cl && parent && (cl->l.flags & IFF_UP)) {
			struct ingress in = { .ifindex = cl->l.ifindex, .prog_ifindex = parent->l.ifindex,
					      .vid = tn->vlan, .hook = RP_HOOK_CLOUD_IN, .tenant = (int)t,
					      .tid = tn->id };

			snprintf(in.name, sizeof(in.name), "%s", cname);
			check_link_progs(a, parent, RP_HOOK_CLOUD_IN, PROBE_CLOUD_MARK, -1, &xo, &ti, &to);
			in.is_protected = xo;
			in.cloud_mark = ti;
			if (ti && (err = cloud_mark_of(a, &in, &in.mark_in)))
				return err;
			if (!xo)
				snprintf(in.unprot, sizeof(in.unprot), "%s forwards without its cloud_in program",
					 parent->l.name);
			if ((err = add_in(a, &in)))
				return err;
		}
	}
	return 0;
}

/* Ask the kernel where the packet goes (RTM_GETROUTE, input interface and
 * all): the model found it, the kernel must agree. */
static int confirm(struct actx *a, struct audit_violation *v)
{
	struct nl_fib_query q = { .family = v->src.family, .iif = v->iif, .proto = v->proto,
				  .sport = v->sport, .dport = v->dport };
	struct nft_pkt np = { .iif = v->ingress, .family = v->src.family, .src = an_from_addr(&v->src),
			      .dst = an_from_addr(&v->dst), .proto = v->proto, .sport = v->sport, .dport = v->dport,
			      .mark = v->mark };
	struct nft_out no;
	struct nl_fib_answer ans;
	char s[64], d[64];
	int err;

	nft_prerouting(a->N, &np, &no);
	memcpy(q.src, v->src.addr, 16);
	memcpy(q.dst, v->dst.addr, 16);
	if (no.dnat) {
		an_to_bytes(q.family, no.dst, q.dst);
		if (no.has_dport)
			q.dport = no.dport;
	}
	q.mark = no.mark_set ? no.mark : v->mark;
	err = nl_fib_get(&a->nl, &q, &ans);
	if (!err && v->oif && ans.type == RTN_UNICAST && ans.oif == v->oif)
		return 0;
	if (!err && !v->oif && (ans.type == RTN_LOCAL || ans.type == RTN_BROADCAST))
		return 0;
	addr_format(&v->src, s, sizeof(s));
	addr_format(&v->dst, d, sizeof(d));
	diag_add(a->d, "audit: the routing model and the kernel disagree about %s -> %s (proto %u, port %u) "
		 "arriving on %s: the model says %s, the kernel %s (oif %d); the audit cannot judge",
		 s, d, v->proto, v->dport, v->ingress, v->egress, err ? strerror(-err) : "a route", ans.oif);
	return -EPROTO;
}

/* ---- the run ---- */

static int build_models(struct actx *a)
{
	struct rt_dev *devs = calloc(a->L.n_links + 1, sizeof(*devs));
	struct rt_input in = { .rules = a->L.rules, .n_rules = a->L.n_rules, .routes = a->L.routes,
			       .n_routes = a->L.n_routes, .devs = devs, .n_devs = a->L.n_links,
			       .fwd6 = a->L.fwd6, .mc_forwarding = a->L.mc_forwarding,
			       .bc_forwarding = a->L.bc_forwarding, .route_localnet = a->L.route_localnet };
	char why[256];
	int err;

	if (!devs)
		return -ENOMEM;
	for (size_t i = 0; i < a->L.n_links; i++)
		devs[i] = a->L.links[i].dev;
	err = rt_build(&a->M, &in, why, sizeof(why));
	free(devs);
	if (err) {
		diag_add(a->d, "audit: %s", why);
		return err;
	}
	err = nft_build(&a->N, a->L.nft_json, why, sizeof(why));
	if (err)
		diag_add(a->d, "audit: %s", why);
	return err;
}

static void actx_free(struct actx *a)
{
	free(a->ports);
	for (int f = 0; f < 2; f++) {
		for (size_t t = 0; t <= RP_TENANT_ID_MAX; t++)
			free(a->trie[f][t].v);
		free(a->geo[f].v);
		free(a->local[f].v);
		free(a->upaddr[f].v);
	}
	for (size_t i = 0; i < a->n_eg; i++) {
		free(a->eg[i].runs[0]);
		free(a->eg[i].runs[1]);
	}
	free(a->eg);
	free(a->in);
	hmap_free(&a->verdicts);
	hmap_free(&a->seen);
	hmap_free(&a->memo);
	hmap_free(&a->tcuts);
	free(a->tcut);
	nft_free(a->N);
	rt_free(a->M);
	probe_close(a->P);
	if (a->nl.sock)
		nl_close(&a->nl);
	dpr_close(&a->R);
	audit_live_free(&a->L);
	free(a);
}

int audit_run(const struct rp_config *cfg, const struct audit_opts *o, struct audit_result *r, struct diag *d)
{
	const char *dir = o && o->pin_dir ? o->pin_dir : RP_PIN_DIR;
	struct actx *a = calloc(1, sizeof(*a));
	double t0 = clock_ms(), tp = t0;
	bool prof = getenv("REMPART_AUDIT_PROFILE") != NULL;
	char why[512];
	int err;

	memset(r, 0, sizeof(*r));
	if (!a)
		return -ENOMEM;
	a->cfg = cfg;
	a->pin_dir = dir;
	a->res = r;
	a->d = d;
	for (int i = 0; i < DPR__COUNT; i++)
		a->R.fd[i] = -1;	/* nothing open yet */
#define PROF(what) do { if (prof) { double _t = clock_ms(); \
		fprintf(stderr, "audit-profile: %8.1f ms %s\n", _t - tp, (what)); tp = _t; } } while (0)
	err = dpr_open(&a->R, dir, why, sizeof(why));
	if (err) {
		diag_add(d, "audit: %s", why);
		goto out;
	}
	PROF("open the policy maps");
	err = probe_open(&a->P, dir, why, sizeof(why));
	if (err) {
		diag_add(d, "audit: %s", why);
		goto out;
	}
	PROF("load the programs' stateless copy");
	if ((err = audit_live_read(&a->L, cfg, d)))
		goto out;
	PROF("read the live state");
	if ((err = nl_open(&a->nl))) {
		diag_add(d, "audit: cannot open rtnetlink: %s", strerror(-err));
		goto out;
	}
	if ((err = check_tables(a)) || (err = build_models(a)) || (err = find_ingress(a)) ||
	    (err = build_egress(a)))
		goto out;
	PROF("build the models");
	for (size_t i = 0; i < a->n_in && !err; i++) {
		unsigned long pr = r->probes, pa = r->paths;

		err = audit_ingress(a, &a->in[i]);
		if (prof) {
			char w[128];

			snprintf(w, sizeof(w), "walk %s (%lu paths, %lu probes)", a->in[i].name,
				 (unsigned long)r->paths - pa, (unsigned long)r->probes - pr);
			PROF(w);
		}
	}
	if (!err && a->err)
		err = a->err;
	for (size_t i = 0; !err && !(o && o->no_confirm) && i < r->n; i++)
		err = confirm(a, &r->v[i]);
	PROF("confirm");
	if (err)
		goto out;
	r->tenants = (unsigned)cfg->n_tenants;
	r->ingress_points = (unsigned)a->n_in;
	r->proven = r->n == 0;
out:
	r->seconds = (clock_ms() - t0) / 1e3;
	if (err && !diag_count(d))
		diag_add(d, "audit: %s", strerror(-err));
	actx_free(a);
	if (err) {
		audit_result_free(r);
		r->proven = false;
	}
	return err;
}

void audit_result_free(struct audit_result *r)
{
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

