// SPDX-License-Identifier: GPL-2.0
/* audit_report.c — the violations found (one per kind, ingress, tenant
 * reached and egress), the egresses they leave by, and their lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "audit/audit_int.h"

const struct egress *audit_egress(const struct actx *a, int ifindex)
{
	for (size_t i = 0; i < a->n_eg; i++)
		if (a->eg[i].ifindex == ifindex)
			return &a->eg[i];
	return NULL;
}

/* ---- violations ---- */

static const char *who(const struct actx *a, int t)
{
	switch (t) {
	case -1: return "_unknown";
	case -3: return RP_GATEWAY_TENANT_NAME;
	case -4: return "_outside";
	}
	return t >= 0 && (size_t)t < a->cfg->n_tenants ? a->cfg->tenants[t].name : "_unknown";
}

bool audit_seen(struct actx *a, const char *kind, const struct ingress *in, int reaches, int oif)
{
	char key[96];
	uint32_t *slot;
	bool added;

	if (!a->n_seen)
		return false;	/* no violation yet: asked for every piece of a clean state */
	snprintf(key, sizeof(key), "%s|%s|%d|%d", kind, in->name, reaches, oif);
	slot = hmap_get_or_add(&a->seen, key, strlen(key), &added);
	return slot && !added && *slot;
}

void audit_add(struct actx *a, const char *kind, const struct ingress *in, int family, rp_u128 src,
	       rp_u128 dst, uint8_t proto, uint16_t sport, uint16_t dport, uint8_t icmp_type, uint32_t mark,
	       int reaches, int oif, const char *why)
{
	struct audit_result *r = a->res;
	struct audit_violation *v, *p;
	const struct egress *e = oif ? audit_egress(a, oif) : NULL;
	char key[96];
	uint32_t *slot;
	bool added;

	snprintf(key, sizeof(key), "%s|%s|%d|%d", kind, in->name, reaches, oif);
	slot = hmap_get_or_add(&a->seen, key, strlen(key), &added);
	if (!slot || *slot)
		return;
	*slot = 1;
	a->n_seen++;
	p = realloc(r->v, (r->n + 1) * sizeof(*p));
	if (!p)
		return;
	r->v = p;
	v = &p[r->n++];
	memset(v, 0, sizeof(*v));
	v->kind = kind;
	snprintf(v->from, sizeof(v->from), "%s", in->tenant >= 0 ? a->cfg->tenants[in->tenant].name :
		 RP_GATEWAY_TENANT_NAME);
	snprintf(v->ingress, sizeof(v->ingress), "%s", in->name);
	an_to_addr(family, src, &v->src);
	an_to_addr(family, dst, &v->dst);
	v->proto = proto;
	v->sport = sport;
	v->dport = dport;
	v->icmp_type = icmp_type;
	snprintf(v->reaches, sizeof(v->reaches), "%s", who(a, reaches));
	snprintf(v->egress, sizeof(v->egress), "%s", e ? e->name : "lo");
	snprintf(v->why, sizeof(v->why), "%s", why ? why : "");
	v->iif = in->ifindex;
	v->mark = mark;
	v->oif = oif;
}

static const char *proto_text(uint8_t p, char *buf, size_t len)
{
	switch (p) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: case IPPROTO_ICMPV6: return "icmp";
	}
	snprintf(buf, len, "%u", p);
	return buf;
}

void audit_violation_line(const struct audit_violation *v, char *buf, size_t len)
{
	char s[64], d[64], pb[8];

	addr_format(&v->src, s, sizeof(s));
	addr_format(&v->dst, d, sizeof(d));
	snprintf(buf, len, "violation %s from=%s ingress=%s src=%s dst=%s proto=%s dport=%u reaches=%s egress=%s",
		 v->kind, v->from, v->ingress, s, d, proto_text(v->proto, pb, sizeof(pb)), v->dport, v->reaches,
		 v->egress);
}

void audit_explain_line(const struct audit_violation *v, char *buf, size_t len)
{
	char s[64], d[64], pb[8];
	int n;

	addr_format(&v->src, s, sizeof(s));
	addr_format(&v->dst, d, sizeof(d));
	n = snprintf(buf, len, "rempart explain --in %s --src %s --dst %s --proto %s", v->ingress, s, d,
		     proto_text(v->proto, pb, sizeof(pb)));
	if ((v->proto == IPPROTO_TCP || v->proto == IPPROTO_UDP) && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " --sport %u --dport %u", v->sport, v->dport);
}
