/* ha_flows.h — flow sync between the two gateways of an [ha] pair
 * (docs/ha.md "Flow sync").
 *
 * The active reads its tenants' flow tables (the pinned rp_flow<4|6>_t<id>)
 * and sends what changed to the standby over the sync link, in datagrams
 * with a sequence number; every HA_FLOWS_FULL_MS it sends everything (a
 * standby that joined or lost datagrams is whole again within that time).
 * The standby writes each record into its own table with the remaining
 * lifetime, so that the replies of connections opened before a takeover
 * are still recognised after it.  A record is taken only if this
 * gateway's own policy allows the packet that opened it, from where it
 * came (docs/ha.md says why): a forged record opens nothing the policy
 * does not already allow in the other direction.  The gateway's own table
 * and the NAT one are not synced. */
#ifndef REMPART_HA_FLOWS_H
#define REMPART_HA_FLOWS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config/config.h"

#define HA_FLOWS_MAGIC "RPF1"
#define HA_FLOWS_REC 52			/* bytes of one record on the wire */
#define HA_FLOWS_HDR 16			/* magic 4, vrid 1, count 1, pad 2, sequence 8 */
#define HA_FLOWS_PER_DGRAM 26
#define HA_FLOWS_DGRAM (HA_FLOWS_HDR + HA_FLOWS_PER_DGRAM * HA_FLOWS_REC)
#define HA_FLOWS_EVERY_MS 200		/* the active's pass */
#define HA_FLOWS_FULL_MS 1000		/* and a full one this often: a restarted
					 * standby is whole before it can preempt (2 s) */

struct ha_flow_seen;			/* ha_flows.c */

struct ha_flows {
	uint64_t seq_tx;		/* the last datagram sent */
	uint64_t seq_rx;		/* the last received */
	uint64_t lost;			/* datagrams missing in the received sequence */
	uint64_t applied, refused;	/* records written, records refused */
	uint64_t sent;			/* records sent */
	double next_ms, full_ms;	/* CLOCK_MONOTONIC ms of the next pass, full pass */
	double rx_ms;			/* of the last datagram taken (0: none) */
	struct ha_flow_seen *seen;	/* what the last pass read, sorted */
	size_t n_seen;
};

typedef void (*ha_flows_send_fn)(void *ctx, const uint8_t *buf, size_t len);

/* The active's pass: read every tenant's tables, send the records that are
 * new or whose expiry moved by half its timeout since they were last sent
 * (all of them when full); a pass with nothing to send sends one empty
 * datagram (the standby's sync lag stays the pass's period).  Returns the
 * records sent, or -errno. */
int ha_flows_export(struct ha_flows *f, const struct rp_config *cfg, bool full,
		    ha_flows_send_fn send, void *ctx);
/* One datagram from the peer (magic, vrid and length checked): each record
 * cfg's policy vouches for is written into this gateway's table.  Returns
 * the records written, or -EINVAL for a datagram that is not one. */
int ha_flows_apply(struct ha_flows *f, const struct rp_config *cfg, const uint8_t *buf, size_t len);
/* Whether cfg's policy allows the packet that opened a flow recorded in
 * tenant `table`'s table under `zone` (exported for the tests). */
bool ha_flow_vouched(const struct rp_config *cfg, uint16_t table, uint16_t zone, int family,
		     uint8_t proto, uint16_t sport, uint16_t dport, const uint8_t *src,
		     const uint8_t *dst);
void ha_flows_free(struct ha_flows *f);
#endif
