/* eval.h — the reference evaluator: docs/policy.md written once, readably, in
 * userspace.  `explain` answers with it; the BPF dataplane is tested against
 * it.  Stateless: flows and fragment state are the caller's (see
 * docs/policy.md); a later fragment is judged as "first fragment not seen". */
#ifndef REMPART_EVAL_H
#define REMPART_EVAL_H
#include <stdint.h>
#include "config/config.h"
#include "eval/packet.h"
#include "geo/geo.h"

struct eval_ctx {
	const struct rp_config *cfg;
	const struct geo_db *geo;	/* NULL: every address in no country */
};

/* Where the packet is judged: the hook, and for cloud/tunnel the tenant. */
struct eval_where {
	enum rp_hook hook;
	int tenant;			/* index into cfg->tenants; -1 for the uplink */
};

struct eval_result {
	enum rp_verdict verdict;
	enum rp_reason reason;
	int tenant;			/* counted against: index, or -1 for _gateway */
	const char *rule;		/* rule or share name that decided, NULL if none */
	uint16_t country;		/* the country that mattered, RP_CC_NONE if none */
	const char *why;		/* one human sentence, static storage */
};

/* Map an interface name (and VLAN id, 0 none) to a hook; -ENOENT if rempart
 * does not manage it.  `out` = true for the uplink's egress hook (only the
 * uplink has one).  "eth1.110" is interface eth1 with VLAN 110.  A cloud
 * interface with a VLAN id of none of its tenants (or untagged when every
 * tenant there is tagged) gives RP_HOOK_CLOUD_IN with tenant -1, which
 * eval_packet drops `malformed` against _gateway. */
int eval_where_from_ifname(const struct rp_config *cfg, const char *ifname, uint16_t vlan,
			   bool out, struct eval_where *w);
/* Judge p (from packet_parse, or built by hand) at w.  No allocation. */
void eval_packet(const struct eval_ctx *ctx, const struct eval_where *w,
		 const struct rp_packet *p, struct eval_result *r);
const char *eval_hook_name(enum rp_hook h);	/* "uplink_in", …, "?" */
#endif
