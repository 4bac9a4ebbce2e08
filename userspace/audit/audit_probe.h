/* audit_probe.h — the real programs, asked about one packet at a time.
 *
 * A copy of this build's programs is loaded with stateless = 1 and made to
 * share the pinned policy maps (the same bytes the attached programs read),
 * while every map the programs write — counters, flows, fragments, events
 * — is the copy's own: running packets through it with BPF_PROG_TEST_RUN
 * changes nothing of the production state.  The copy's instructions are
 * this build's; probe_tag() gives the kernel's tag of each program, which
 * equals the tag of an attached program exactly when that program is the
 * same code (the tag is computed before load-time knobs are folded in). */
#ifndef REMPART_AUDIT_PROBE_H
#define REMPART_AUDIT_PROBE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rempart_abi.h"

struct probe;

/* The programs the copy holds: one per RP_HOOK_*, and cloud_mark (TC
 * ingress on a cloud attachment, after cloud_in: it only marks the
 * tenant's packets for the tenant's table). */
#define PROBE_CLOUD_MARK RP_HOOK__COUNT
#define PROBE__COUNT (RP_HOOK__COUNT + 1)

/* Load the copy over the maps pinned in dir.  0, or -errno with why (a map
 * missing, a map the probe does not know as policy or state, the verifier). */
int probe_open(struct probe **out, const char *dir, char *why, size_t whylen);
void probe_close(struct probe *p);
/* The kernel tag (8 bytes) of the copy's program for hook (RP_HOOK_*,
 * PROBE_CLOUD_MARK). */
const uint8_t *probe_tag(const struct probe *p, int hook);
/* Ids of the pinned maps the copy's program for hook reads (the attached
 * program of that hook must read the same ones). */
size_t probe_shared_ids(const struct probe *p, int hook, const uint32_t **ids);
/* Runs so far (statistics). */
unsigned long probe_runs(const struct probe *p);

/* A packet as the audit builds it. */
struct probe_pkt {
	int family;			/* AF_INET | AF_INET6 */
	uint16_t vid;			/* outer 802.1Q tag, 0: none */
	uint8_t src[16], dst[16];
	uint8_t proto;
	uint16_t sport, dport;		/* TCP, UDP */
	uint8_t icmp_type, icmp_code;	/* ICMP, ICMPv6 */
	uint8_t hop;			/* TTL / hop limit */
};

/* Through the copy of hook's program as if it arrived on ifindex: 1 the
 * program lets it through, 0 it drops it, -errno.  *mark (may be NULL):
 * the packet mark the program leaves (TC programs; 0 for XDP), which the
 * routing then sees. */
int probe_run(struct probe *p, int hook, unsigned ifindex, const struct probe_pkt *pk, uint32_t *mark);
/* The frame probe_run sends (Ethernet, tag, IP, L4); returns its length. */
size_t probe_frame(const struct probe_pkt *pk, uint8_t *buf, size_t len);
#endif
