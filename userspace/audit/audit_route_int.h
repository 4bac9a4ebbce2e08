/* audit_route_int.h — what audit_route_build.c (the model: tables
 * flattened, rules checked) and audit_route.c (the rule walk and the input
 * path over it) share.  Not an API: audit_route.h is. */
#ifndef REMPART_AUDIT_ROUTE_INT_H
#define REMPART_AUDIT_ROUTE_INT_H
#include "audit/audit_route.h"

#define LOOPBACK_IFINDEX 1

struct rt_res {
	uint8_t type;			/* RTN_* */
	uint8_t plen;			/* prefix length (suppress_prefixlength) */
	uint8_t n_oif;
	int oif[RT_OIF_MAX];
	/* every nexthop's device, dead or down ones too: the reverse-path
	 * filter accepts an ingress device any nexthop names
	 * (fib_info_nh_uses_dev) */
	uint8_t n_any;
	int any_oif[RT_OIF_MAX];
};

struct rt_ent {
	rp_u128 lo, hi;
	int32_t res;			/* -1: no route */
};

struct rt_table {
	int family;
	uint32_t id;
	struct rt_ent *e;
	size_t n;
	struct rt_res *res;
	size_t n_res;
};

struct rt_rule {
	struct nl_fib_rule r;
	rp_u128 src_lo, src_hi, dst_lo, dst_hi;
	int table;			/* index in m->tables, -1 none */
	int target;			/* goto: index in the family's rules, -1 unresolved */
	/* the `iif` selector resolved once: the ifindex of the model's
	 * interface of that name (0: none), and whether it is "lo" (the
	 * loopback, whose index a lookup from the gateway itself uses) */
	int iif_index;
	bool iif_lo;
};

struct rt_model {
	struct rt_table *tables;
	size_t n_tables;
	struct rt_rule *rules[2];
	size_t n_rules[2];
	struct rt_dev *devs;
	size_t n_devs;
	bool fwd6, custom_rules4, custom_local4;
};

/* The index of a family in the model's per-family arrays: 0 IPv4, 1 IPv6. */
static inline int rt_fi(int family)
{
	return family == AF_INET6;
}

/* audit_route_build.c: the model's copy of interface ifindex, NULL if none. */
const struct rt_dev *rt_dev_of(const struct rt_model *m, int ifindex);
/* audit_route_build.c: the index of table id of family in m->tables, -1 if none. */
int rt_table_index(const struct rt_model *m, int family, uint32_t id);
/* audit_route_build.c: append x to the growing array *v (n used, cap allocated): 0 or -ENOMEM. */
int rt_push_cut(rp_u128 **v, size_t *n, size_t *cap, rp_u128 x);
/* audit_route_build.c: qsort order of rp_u128 values. */
int rt_cmp_u128(const void *a, const void *b);

#endif
