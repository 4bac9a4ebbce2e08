/* state.h — the oracle's own memory of flows and first fragments. */
#ifndef REMPART_ORACLE_STATE_H
#define REMPART_ORACLE_STATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A 5-tuple seen from one origin (OWN_*).  ICMP echo: the id in both
 * ports; other ICMP (not errors): ports 0.  Fragments: the id in sport/dport
 * (high, low 16 bits). */
struct o_fkey {
	uint8_t from, family, proto, pad;
	uint16_t sport, dport;
	uint8_t src[16], dst[16];
};

void state_reset(void);
size_t state_flows(void);
void flow_add(const struct o_fkey *k, int to, bool nat);
bool flow_has(const struct o_fkey *k, int to, bool *nat);
void frag_add(const struct o_fkey *k, bool allowed);
int frag_seen(const struct o_fkey *k);
#endif
