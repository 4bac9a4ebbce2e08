/* SPDX-License-Identifier: GPL-2.0 */
/* audit_walk.h — inside the audit folder: the classes one ingress point's
 * walk cuts the packet space into (audit_cuts.c), the walk's state and the
 * pieces it checks (audit_piece.c), the walk itself (audit_walk.c). */
#ifndef RP_AUDIT_WALK_H
#define RP_AUDIT_WALK_H

#include "audit/audit_int.h"

/* A routing shape: what the routing may tell apart (protocol, ports). */
struct rshape {
	uint8_t proto;			/* 0: any the rules do not name */
	uint16_t dlo, dhi, slo, shi;
};

#define NKEY 6

#define MAXCOV 6

struct range {
	rp_u128 lo, hi;
};

struct group {
	uint32_t key[NKEY];
	struct range *r;
	size_t n, cap;
};

struct groups {
	struct group *v;
	size_t n, cap;
	struct hmap idx;
};

struct cover {
	const struct dpr_run *v;
	size_t n;
};

struct shape {
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t type, hop;
};

/* Heap arrays that grow: every shape and port cut is kept (err: an
 * allocation failed, the set is incomplete and must not be judged). */
struct shapes {
	struct shape *v;
	size_t n, cap;
	int err;
};

struct ports {
	uint32_t *v;
	size_t n, cap;
	int err;
};

/* The protocols and port segment starts (sorted, 0 first) the routing
 * rules and nftables tell apart (struct rt_l4 as sorted lists). */
struct l4cuts {
	uint8_t protos[256];
	size_t n_protos;
	uint32_t *dcuts, *scuts;
	size_t n_dcuts, n_scuts;
};

typedef int (*elem_cb)(rp_u128 lo, rp_u128 hi, const uint32_t *vals, void *arg);

struct pend {				/* a path kept for the unprotected search */
	rp_u128 lo, hi;
	int oif;			/* 0: local delivery */
	size_t rc;			/* routing class */
	struct rshape rs;
};

struct pp {
	rp_u128 lo, hi;
	int oif, b;
};

enum ev_kind { EV_NFT, EV_PIECE, EV_PEND };

struct ev {				/* what a class of sources meets (audit_walk.c) */
	uint8_t k;
	int oif;
	int b;				/* EV_PIECE: the tenant; EV_NFT: index in nfts */
	rp_u128 lo, hi, routed;
};

struct evlist {
	struct ev *v;
	size_t n, cap;
};

struct walk {
	struct actx *a;
	const struct ingress *in;
	int family;
	struct dpr_run *rtc;		/* routing classes as a cover */
	size_t n_rtc;
	struct groups src;		/* tenant ingress: (class, atom) */
	struct l4cuts l4;
	struct rshape *rshapes;		/* every routing shape (rshapes_build) */
	size_t n_rshapes;
	/* the class being routed */
	size_t rc;
	const struct rshape *rs;
	rp_u128 rep;			/* its representative source */
	struct nft_out nft;		/* prerouting's doing for the part routed */
	bool done;			/* stop: an error, or nothing more to find here */
	struct groups up_base;		/* uplink: (class, t0 atom, cc), built on first use */
	bool up_built;
	size_t up_rc;
	uint32_t *bg_id;		/* uplink: up_base's groups' (t0 atom, country) ids */
	struct hmap skid;		/* (t0 atom, country) -> id + 1 */
	uint32_t n_skid;
	struct upt { uint8_t state; rp_u128 src; } **upt;	/* by listen-port tenant, up_base's sources outside its prefixes */
	uint16_t *upt_used;		/* the tenants upt holds for up_rc */
	size_t n_upt_used;
	struct ushapes **ush;		/* by routing shape (n_rshapes): the uplink's shapes */
	struct vrow {			/* one (destination class, routing shape): by uplink shape */
		struct vmemo { uint64_t *bits; uint32_t nw; } *v;
		size_t n;
	} **dgmemo;			/* by dgv index: (class, routing shape) -> its row */
	size_t cap_dgmemo;
	struct groups *upin;		/* uplink: inside a listen-port tenant's runs, for up_rc's class */
	size_t n_upin, cap_upin, upin_rc;
	struct hmap upin_idx;		/* (tenant, run) -> index + 1 in upin */
	bool upin_built;
	struct pend *pend;		/* every path kept (none dropped) */
	size_t n_pend, cap_pend;
	struct pp *pp;			/* pieces of the part being routed */
	size_t npp, cap_pp;
	size_t *src_at;			/* src.v[src_at[r] .. src_at[r + 1]): routing class r's */
	/* what each class of sources meets, recorded once (audit_walk.c) */
	struct hmap ccache;		/* (shape, source signature) -> index + 1 in evl */
	struct evlist *evl;
	size_t n_evl, cap_evl;
	struct evlist *rec;		/* recording into, or NULL */
	int rec_err;
	struct hmap dgcache;		/* (tenant, ranges) -> index + 1 in dgv (audit_piece.c) */
	struct groups *dgv;
	size_t n_dgv, cap_dgv;
	struct nft_out *nfts;		/* EV_NFT's treatments */
	size_t n_nfts, cap_nfts;
	uint32_t mark;			/* the packet mark this walk routes with (the programs' or none) */
	uint32_t more[8];		/* marks the program left on packets it let through */
	size_t n_more;
};

/* The source groups of routing class rc: [*lo, *hi) in w->src. */
static inline void aw_src_of(const struct walk *w, size_t rc, size_t *lo, size_t *hi)
{
	*lo = w->src_at ? w->src_at[rc] : 0;
	*hi = w->src_at ? w->src_at[rc + 1] : w->src.n;
}

/* audit_cuts.c */
void aw_groups_free(struct groups *g);
int aw_group_add(struct groups *g, const uint32_t *key, rp_u128 lo, rp_u128 hi);
int aw_each_elem(const struct cover *c, size_t nc, rp_u128 lo, rp_u128 hi, elem_cb cb, void *arg);
const struct runs_cache *aw_trie(struct actx *a, unsigned tid, int family);
const struct runs_cache *aw_geo(struct actx *a, int family);
const struct runs_cache *aw_upaddr_runs(struct actx *a, int family);
const struct runs_cache *aw_local_runs(struct actx *a, int family);
void aw_shapes_free(struct shapes *s);
void aw_ports_free(struct ports *p);
void aw_shape_add(struct shapes *s, uint8_t proto, uint16_t sport, uint16_t dport, uint8_t type, uint8_t hop);
bool aw_in_rshape(const struct rshape *rs, uint8_t proto, uint16_t sport, uint16_t dport, bool ported);
void aw_port_cut(struct ports *p, uint32_t x);
int aw_cmp_u32(const void *a, const void *b);
void aw_shapes_fixed(struct shapes *s, int family, const struct rshape *rs);
void aw_shapes_ported(struct shapes *s, struct ports *p, const struct rshape *rs, uint16_t sport);
void aw_table_cuts(struct actx *a, int kind, uint16_t tenant, uint32_t sc, uint32_t dc, struct ports *p);
bool aw_share_allows(const struct rp_config *cfg, int b, int a, int family, rp_u128 dst, uint8_t proto,
			 uint16_t dport);
int aw_share_cover(const struct rp_config *cfg, int b, int a, int family, struct dpr_run **out, size_t *nout);

/* audit_piece.c */
const char *aw_kind_of(const struct ingress *in);
bool aw_awkward(int family, rp_u128 x);
rp_u128 aw_dst_rep(const struct walk *w, const struct range *r, size_t n, int oif);
int aw_verdict(struct walk *w, const uint32_t *skey, const uint32_t *dkey, const struct shape *sh,
		   rp_u128 src, rp_u128 dst);
bool aw_report(struct walk *w, const struct range *sr, size_t sn, rp_u128 dst, const struct shape *sh,
		   int reaches, int oif, rp_u128 routed_dst, const char *why);
/* dst_groups, computed once per (tenant, ranges) in a walk: the same
 * pieces recur for every class of sources (audit_walk.c route_class). */
const struct groups *aw_dst_groups_of(struct walk *w, const struct range *rg, size_t nr, int b, int *errp);
int aw_check_piece_tenant(struct walk *w, const struct range *rg, size_t nr, int oif, int b, rp_u128 routed_lo);
/* 0, or a refusal (a->err set, one line said) for a shape set that cannot be judged whole */
int aw_shapes_ok(struct walk *w, const struct shapes *s);
/* audit_uplink.c */
void aw_uplink_free(struct walk *w);
int aw_check_piece_uplink(struct walk *w, const struct range *rg, size_t nr, int oif, int b, rp_u128 routed_lo);

#endif
