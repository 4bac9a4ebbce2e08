/* rp2fw.h — what the parts of rp2fw share (the comparison benchmark's
 * policy translator): rp2fw.c reads the policy and flattens its zones,
 * rp2fw_nft.c renders nftables, rp2fw_ipt.c iptables + ipset. */
#ifndef RP2FW_H
#define RP2FW_H
#include <stdio.h>
#include "config/config.h"
#include "geo/geo.h"

typedef unsigned __int128 u128;

struct pfx_item {
	u128 lo, hi;
	int len, tie;	/* tie: lower wins at equal length */
	int verdict;	/* index into the caller's verdict table */
};

struct ival {
	u128 lo, hi;
	int verdict;
};

struct ivals {
	struct ival *v;
	size_t n, cap;
};

enum { V_INTRA = 0, V_SHARE0 = 1 };	/* verdict indexes; shares follow */

struct zshare {
	const struct rp_tenant *owner;
	const struct rp_share *sh;
};

struct tzones {
	struct ivals z[2];		/* [0] v4, [1] v6 */
	struct zshare *shares;
	size_t n_shares;
};

/* (rule, to prefix) pairs in evaluation order: longest to first, then file order */
struct pair {
	const struct rp_rule *r;
	const struct rp_prefix *to;
	size_t order;
};

struct ccsets {		/* distinct country sets, numbered */
	struct rp_ccset *v;
	size_t n;
};

/* rp2fw.c */
void *fw_calloc(size_t n, size_t sz);
u128 prefix_lo(const struct rp_prefix *p);
u128 prefix_hi(const struct rp_prefix *p);
void fmt_int(int family, u128 v, char *buf, size_t len);
void put_range(FILE *f, int family, u128 lo, u128 hi);
void range_cidrs(int family, u128 lo, u128 hi,
		 void (*fn)(void *, int, u128, int), void *arg);
void put_prefix(FILE *f, const struct rp_prefix *p);
size_t count_family(const struct rp_prefix_list *l, int family);
void put_prefix_set(FILE *f, const struct rp_prefix_list *l, int family);
void ivals_add(struct ivals *iv, u128 lo, u128 hi, int verdict);
void flatten(struct pfx_item *it, size_t n, struct ivals *out);
void add_items(struct pfx_item **it, size_t *n, size_t *cap, const struct rp_prefix_list *l,
	       int family, int host_only, int tie, int verdict);
void tenant_zones(const struct rp_config *cfg, const struct rp_tenant *t, struct tzones *z);
void tzones_free(struct tzones *z);
struct pair *tenant_pairs(const struct rp_tenant *t, size_t *np);
void all_networks(const struct rp_config *cfg, int family, struct ivals *out);
void all_sites(const struct rp_config *cfg, int family, struct ivals *out);
void sites_of(const struct rp_tenant *t, int family, struct ivals *out);
void list_ivals(const struct rp_prefix_list *l, int family, struct ivals *out);
void geo_ivals(const struct geo_db *db, const struct rp_ccset *cs, int family,
	       struct ivals *out);
size_t ccsets_index(struct ccsets *c, const struct rp_ccset *s);
void put_ports(FILE *f, const struct rp_port_list *pl, const char *sep, char dash);

/* rp2fw_nft.c */
int render_nft(FILE *f, const struct rp_config *cfg, const struct geo_db *db);
int render_nft_tenant(FILE *f, const struct rp_tenant *t);

/* rp2fw_ipt.c */
void ipt_tenant_chains(FILE *f, const struct rp_config *cfg, const struct rp_tenant *t,
		       int family, struct ccsets *egress, int declare_only, int rules_only);
int render_ipset(FILE *f, const struct rp_config *cfg, const struct geo_db *db,
		 struct ccsets *fences, struct ccsets *egress);
int render_ipt(FILE *f, const struct rp_config *cfg, int family, struct ccsets *fences,
	       struct ccsets *egress);

#endif
