/* audit_int.h — what audit.c (reading, identifying, reporting) and
 * audit_walk.c (the classes of one ingress point) share.  Not an API. */
#ifndef REMPART_AUDIT_INT_H
#define REMPART_AUDIT_INT_H
#include "audit/audit.h"
#include "audit/audit_live.h"
#include "audit/audit_nft.h"
#include "audit/audit_probe.h"
#include "audit/audit_route.h"
#include "dataplane/dp_read.h"
#include "policy/policy_hmap.h"

/* Where a forwarded packet leaves, and whose it is. */
enum eg_kind { EG_OTHER = 0, EG_CLOUD, EG_TUNNEL, EG_UPLINK };

struct peer_run {
	rp_u128 lo, hi;
	int owner;			/* tenant index; -1: a key no site has; -2: no peer (dropped) */
};

struct egress {
	int ifindex;
	char name[IFNAMSIZ];
	enum eg_kind kind;
	int tenant;			/* cloud, tunnel: the configured tenant (index) */
	bool peers_known;		/* tunnel: its WireGuard peers were read */
	struct peer_run *runs[2];	/* tunnel: by family, the peer each address goes to */
	size_t n_runs[2];
};

/* Where a packet enters. */
struct ingress {
	char name[IFNAMSIZ + 8];	/* the routing input interface (eth1.110 for a VLAN) */
	int ifindex;			/* the routing input interface */
	int prog_ifindex;		/* where the program runs (the trunk for a VLAN) */
	uint16_t vid;
	int hook;			/* RP_HOOK_*, -1: none expected (outside) */
	int tenant;			/* config index, -1: the uplink or outside */
	uint16_t tid;			/* tenant id, 0 */
	bool uplink, outside;
	bool is_protected;		/* rempart's program is attached */
	bool cloud_mark;		/* cloud: rempart's cloud_mark marks what cloud_in let in */
	uint32_t mark_in;		/* the mark cloud_mark leaves (0: none) */
	char unprot[128];		/* why not */
};

struct runs_cache {
	struct dpr_run *v;
	size_t n;
	bool have;
};

struct actx {
	const struct rp_config *cfg;
	const char *pin_dir;		/* where rempart's programs and maps are pinned */
	struct audit_live L;
	struct dp_read R;
	struct probe *P;
	struct rt_model *M;
	struct nft_model *N;
	struct nl_ctx nl;
	struct ingress *in;
	size_t n_in;
	struct egress *eg;
	size_t n_eg;
	struct runs_cache trie[2][RP_TENANT_ID_MAX + 1];
	struct runs_cache geo[2];
	struct runs_cache local[2];	/* the gateway's own addresses */
	struct runs_cache upaddr[2];	/* the uplink's addresses as rp_global holds them */
	struct dpr_port *ports;		/* the listen ports, read once (audit_piece.c) */
	size_t n_ports;
	bool have_ports;
	struct rp_global_cfg glob;	/* rp_global, read once */
	bool have_glob;
	struct hmap verdicts;		/* run key -> verdict + 1 */
	struct hmap seen;		/* violation group -> 1 */
	size_t n_seen;			/* groups in seen set to 1 (none: audit_seen is false) */
	uint32_t marks[64];		/* marks the programs left, by index (the verdict cache's) */
	size_t n_marks;
	struct hmap memo;		/* (ingress, source class, destination class) -> first shape that passes */
	struct hmap tcuts;		/* port table key -> index + 1 in tcut */
	struct tcut { uint32_t v[RP_SEGS_MAX * 2]; size_t n; } *tcut;
	size_t n_tcut;
	struct audit_result *res;
	bool confirm;
	struct diag *d;
	int err;			/* the first error that stops the audit */
};

/* audit_walk.c: every class entering at one ingress point. */
int audit_ingress(struct actx *a, const struct ingress *in);
/* audit.c: record a violation (deduplicated by kind, ingress, reaches,
 * egress); true when one of the group was recorded before. */
bool audit_seen(struct actx *a, const char *kind, const struct ingress *in, int reaches, int oif);
void audit_add(struct actx *a, const char *kind, const struct ingress *in, int family, rp_u128 src,
	       rp_u128 dst, uint8_t proto, uint16_t sport, uint16_t dport, uint8_t icmp_type, uint32_t mark,
	       int reaches, int oif, const char *why);
const struct egress *audit_egress(const struct actx *a, int ifindex);
#endif
