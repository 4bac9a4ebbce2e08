/* gen.h — the shape-aware adversarial generator. */
#ifndef REMPART_ORACLE_GEN_H
#define REMPART_ORACLE_GEN_H
#include "judge.h"

/* generator scenarios (o_pkt.why) */
enum o_why {
	W_LEGIT = 0, W_ANY, W_REPLY, W_REPLY_MUT, W_ICMP_ERR, W_FRAG_FIRST, W_FRAG_LATER, W_FRAG_ORPHAN,
	W_LINK, W_TWIN, W_FRAG_OVERLAP, W__COUNT
};
extern const char *const why_name[W__COUNT];

struct gen;
struct gen *gen_new(const struct world *w, uint64_t seed);
void gen_free(struct gen *g);
void gen_next(struct gen *g, struct o_pkt *p);
void gen_push_front(struct gen *g, const struct o_pkt *p);
/* an allowed packet, for replies and ICMP errors later */
void gen_note(struct gen *g, const struct o_pkt *p, const struct o_result *r);
#endif
