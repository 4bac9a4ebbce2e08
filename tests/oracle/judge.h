/* judge.h — delivery (where the kernel would put a packet) and the
 * invariants of SPEC §4 over (ingress, packet, verdict, delivery). */
#ifndef REMPART_ORACLE_JUDGE_H
#define REMPART_ORACLE_JUDGE_H
#include "oracle.h"
#include "state.h"

struct o_result {
	int origin;			/* OWN_*: who sent it */
	int allowed;			/* the ingress program's verdict */
	int egress;			/* uplink_out's verdict when it went out of the uplink, -1 not asked */
	bool nat;			/* source-NATed on the way out (the tenant's egress = nat) */
	uint8_t nat_src[16];
	uint16_t nat_sport;
	struct o_delivery d;
};

#define O_MAX_VIOL 4
struct o_judgement {
	int n;
	struct {
		int inv;
		const char *kind;	/* the message's format: what kind of violation */
		char why[320];
	} v[O_MAX_VIOL];
	bool checked[OI__COUNT];
	bool reply;			/* justified as a reply (or an ICMP error about a flow) */
	bool want_twin;			/* a link-shaped packet to a non-link destination */
};

int origin_of(const struct o_pkt *p);
void deliver(const struct world *w, struct router *r, const struct o_pkt *p, const struct o_view *v,
	     struct o_delivery *d);
void judge(const struct world *w, const struct o_pkt *p, const struct o_view *v, const struct o_result *res,
	   struct o_judgement *j);
void remember(const struct world *w, const struct o_pkt *p, const struct o_view *v, const struct o_result *res);
bool link_shape(const struct o_pkt *p, bool uplink);
bool link_dst(const struct world *w, const struct o_pkt *p, int ifi, bool strict);
void make_twin(const struct o_pkt *p, struct o_pkt *t);
bool uplink_global_addr(const struct world *w, int family, uint8_t *out);
#endif
