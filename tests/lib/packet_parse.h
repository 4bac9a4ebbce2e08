/* packet_parse.h — the reference packet parser, a test library
 * (packet_parse.c): raw bytes into the struct rp_packet the reference
 * evaluator judges (userspace/eval/packet.h). */
#ifndef REMPART_PACKET_PARSE_H
#define REMPART_PACKET_PARSE_H
#include <stdbool.h>
#include <stddef.h>
#include "eval/packet.h"

/* Parse a frame: l2 = true for Ethernet (XDP hooks), false for a bare IP
 * packet (the tunnel's TC hook; family from the first nibble).  Returns 0,
 * or RP_R_MALFORMED when the bytes are truncated or malformed per the rules
 * of docs/policy.md; then p->malformed is true (and eval_packet drops it
 * `malformed`), p->vlan holds the outer VID if it was read, the other fields
 * are partial. */
int packet_parse(const void *data, size_t len, bool l2, struct rp_packet *p);
#endif
