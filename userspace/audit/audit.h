/* audit.h — `rempart audit`: prove from the live kernel state alone that no
 * tenant reaches another except through a declared [share], and that
 * nothing from the uplink reaches a tenant except through that tenant's
 * tunnel (rempart(8), docs/audit.md).
 *
 * The configuration is the specification: which interfaces are whose,
 * which site keys belong to which tenant, which shares are declared.  The
 * kernel is the implementation proven against it: the attached programs
 * (run on packets through a copy that shares the pinned policy maps), the
 * routing rules and tables, the forwarding settings, the WireGuard peers,
 * the nftables ruleset.  Nothing the compiler produced is trusted except
 * as read back from the kernel. */
#ifndef REMPART_AUDIT_H
#define REMPART_AUDIT_H
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/addr.h"
#include "config/config.h"
#include "lib/diag.h"

/* One packet that really gets through. */
struct audit_violation {
	const char *kind;		/* cross_tenant | uplink | unprotected | outside (static) */
	char from[32];			/* tenant, or _gateway for the uplink and outside */
	char ingress[IFNAMSIZ + 8];	/* as explain --in takes it (eth1.110 for a VLAN) */
	struct rp_addr src, dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t icmp_type;
	char reaches[32];		/* tenant, _gateway (delivered to the gateway) or _unknown */
	char egress[IFNAMSIZ + 8];
	char why[160];			/* what let it through, a few words */
	int iif, oif;			/* internal: the interfaces (oif 0: delivered locally) */
	uint32_t mark;			/* internal: the mark the programs left on it */
};

struct audit_result {
	bool proven;
	unsigned tenants, ingress_points;
	unsigned long paths;		/* (ingress, source, destination, shape) classes judged */
	unsigned long probes;		/* packets run through the programs */
	struct audit_violation *v;
	size_t n;
	double seconds;
};

struct audit_opts {
	const char *pin_dir;		/* NULL: RP_PIN_DIR */
	bool no_confirm;		/* skip asking the kernel (RTM_GETROUTE) about each violation */
};

/* Judge the live system against cfg.  0: judged (r->proven, r->v); or
 * -errno when the state cannot be judged, with one line in *d saying what
 * (a missing pin directory, a map or program not this build's, a routing
 * feature or nftables rule the audit does not model, ...): never a false
 * "proven". */
int audit_run(const struct rp_config *cfg, const struct audit_opts *o, struct audit_result *r,
	      struct diag *d);
void audit_result_free(struct audit_result *r);

/* The line rempart(8) documents: "violation KIND from=T ingress=IF src=IP dst=IP proto=P
 * dport=N reaches=T egress=IF". */
void audit_violation_line(const struct audit_violation *v, char *buf, size_t len);
/* "rempart explain --in IF --src IP --dst IP --proto P --dport N". */
void audit_explain_line(const struct audit_violation *v, char *buf, size_t len);
#endif
