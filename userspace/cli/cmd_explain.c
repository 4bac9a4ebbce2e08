// SPDX-License-Identifier: GPL-2.0
/* cmd_explain.c — `rempart explain`: the verdict the policy gives one
 * packet, and why, from the reference evaluator (eval.c). */
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "config/country.h"
#include "eval/eval.h"
#include "eval/eval_zone.h"
#include "eval/reason.h"
#include "kernel/hostaddr.h"
#include "policy/gwaddr.h"

enum { O_IN = 256, O_OUT, O_SRC, O_DST, O_PROTO, O_SPORT, O_DPORT, O_VLAN, O_FRAG, O_JSON };

static const struct cli_opt opts[] = {
	{ "in", O_IN, "IFACE", NULL, "where the packet arrives: the uplink, a tenant's tunnel, "
	  "or a cloud interface (eth1.110 = eth1, VLAN 110)" },
	{ "out", O_OUT, "IFACE", NULL, "the packet leaves through the uplink (its egress hook)" },
	{ "src", O_SRC, "IP", NULL, "source address" },
	{ "dst", O_DST, "IP", NULL, "destination address, of the same family" },
	{ "proto", O_PROTO, "P", "tcp|udp|icmp", "protocol: a name (icmp: an echo request) "
	  "or a number; default tcp" },
	{ "sport", O_SPORT, "N", NULL, "source port (default 40000)" },
	{ "dport", O_DPORT, "N", NULL, "destination port (default 0)" },
	{ "vlan", O_VLAN, "N", NULL, "outer VLAN id of the frame on a cloud interface" },
	{ "frag", O_FRAG, "F", "first|later", "a first or a non-first fragment" },
	{ "json", O_JSON, NULL, NULL, "{\"verdict\", \"reason\", \"tenant\", \"rule\", \"country\"}" },
	{ 0 }
};

static int cmd_explain(int argc, char **argv, struct globals *g);

const struct cli_cmd def_explain = {
	.name = "explain",
	.args = "(--in IFACE | --out IFACE) --src IP --dst IP",
	.summary = "The verdict the policy gives a packet, and why",
	.text = "The tenant it is counted against, the rule or share that decided, the\n"
		"country that mattered.  Computed by the reference evaluator\n"
		"(docs/policy.md); flows are not consulted, so a reply is judged as a new\n"
		"packet.  Exit status: 0 when a verdict was computed (allow or drop), 1\n"
		"usage or configuration error, 2 the geo database cannot be loaded.\n",
	.opts = opts,
	.fn = cmd_explain,
};

struct explain_args {
	const char *iface;
	bool out;
	struct rp_addr src, dst;
	bool has_src, has_dst;
	int proto;
	unsigned long sport, dport, vlan;
	enum rp_frag frag;
	bool json;
};

static int bad(const char *arg, const char *value, const char *what)
{
	fprintf(stderr, "rempart: explain: %s: '%s' %s (try --help)\n", arg, value, what);
	return -EINVAL;
}

static int parse_ulong(const char *arg, const char *v, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end || errno || *out < min || *out > max) {
		char what[64];

		snprintf(what, sizeof(what), "is not a number in %lu..%lu", min, max);
		return bad(arg, v, what);
	}
	return 0;
}

static int parse_proto(const char *v, int *proto)
{
	unsigned long n;

	if (!strcmp(v, "tcp")) {
		*proto = IPPROTO_TCP;
	} else if (!strcmp(v, "udp")) {
		*proto = IPPROTO_UDP;
	} else if (!strcmp(v, "icmp")) {
		*proto = -1;	/* ICMP or ICMPv6, by the addresses' family */
	} else if (v[0] < '0' || v[0] > '9') {
		return bad("--proto", v, "is not tcp, udp, icmp or a protocol number");
	} else {
		if (parse_ulong("--proto", v, 0, 255, &n))
			return -EINVAL;
		*proto = (int)n;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct globals *g, struct explain_args *a)
{
	struct cli_parse p;
	int key;

	memset(a, 0, sizeof(*a));
	a->proto = IPPROTO_TCP;
	a->sport = 40000;
	cli_begin(&p, argc, argv, g);
	while ((key = cli_next(&p)) > 0) {
		const char *v = p.val;
		int ret = 0;

		switch (key) {
		case O_JSON:
			a->json = true;
			break;
		case O_IN:
		case O_OUT:
			if (a->iface) {
				fprintf(stderr, "rempart: explain: --%s: give one --in or --out\n",
					key == O_IN ? "in" : "out");
				return -EINVAL;
			}
			a->iface = v;
			a->out = key == O_OUT;
			break;
		case O_SRC:
			ret = addr_parse(v, &a->src) ? bad("--src", v, "is not an IP address") : 0;
			a->has_src = true;
			break;
		case O_DST:
			ret = addr_parse(v, &a->dst) ? bad("--dst", v, "is not an IP address") : 0;
			a->has_dst = true;
			break;
		case O_PROTO:
			ret = parse_proto(v, &a->proto);
			break;
		case O_SPORT:
			ret = parse_ulong("--sport", v, 0, 65535, &a->sport);
			break;
		case O_DPORT:
			ret = parse_ulong("--dport", v, 0, 65535, &a->dport);
			break;
		case O_VLAN:
			ret = parse_ulong("--vlan", v, 1, 4094, &a->vlan);
			break;
		case O_FRAG:
			if (!strcmp(v, "first"))
				a->frag = RP_FRAG_FIRST;
			else if (!strcmp(v, "later"))
				a->frag = RP_FRAG_LATER;
			else
				ret = bad("--frag", v, "is not first or later");
			break;
		}
		if (ret)
			return ret;
	}
	if (key < 0)
		return key;
	if (cli_args(&p, 0, 0))
		return -EINVAL;
	if (!a->iface || !a->has_src || !a->has_dst) {
		fprintf(stderr, "rempart: explain: %s is required (try --help)\n",
			!a->iface ? "--in IFACE or --out IFACE" : !a->has_src ? "--src IP" : "--dst IP");
		return -EINVAL;
	}
	if (a->src.family != a->dst.family) {
		fprintf(stderr, "rempart: explain: --src and --dst are not of one family\n");
		return -EINVAL;
	}
	if (a->out && a->vlan) {
		fprintf(stderr, "rempart: explain: --vlan: only with --in (a cloud interface)\n");
		return -EINVAL;
	}
	if (a->proto < 0)
		a->proto = a->src.family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	return 0;
}

static void print_ports(const struct rp_port_list *l);

static const char *tenant_name(const struct rp_config *cfg, int t)
{
	return t < 0 ? RP_GATEWAY_TENANT_NAME : cfg->tenants[t].name;
}

static const char *proto_text(int proto)
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	}
	return NULL;
}

static const struct rp_rule *find_rule(const struct rp_config *cfg, int t, const char *name)
{
	if (t < 0 || !name)
		return NULL;
	for (size_t i = 0; i < cfg->tenants[t].n_rules; i++)
		if (cfg->tenants[t].rules[i].name == name)
			return &cfg->tenants[t].rules[i];
	return NULL;
}

/* Where the source and the destination are, for a tenant's hook. */
static void print_zones(const struct rp_config *cfg, const struct explain_args *a,
			const struct eval_where *w)
{
	const struct rp_tenant *T;
	const struct rp_site *site;
	struct zone z;

	if (w->tenant < 0)
		return;
	T = &cfg->tenants[w->tenant];
	site = site_of(T, &a->src);
	if (w->hook == RP_HOOK_TUNNEL_IN)
		printf("  source: %s%s\n", site ? "site " : "in no site of the tenant",
		       site ? site->name : "");
	if (gw_addr_is(cfg, &a->dst)) {	/* policy() step 0, whatever the zone */
		printf("  destination: %s\n", gw_addr_own(T, &a->dst) ? "the gateway, on an address of this tenant"
			: "the gateway itself (an address it holds, or keeps for itself)");
		return;
	}
	zone_of(cfg, w->tenant, &a->dst, &z);
	switch (z.kind) {
	case ZONE_SITE:
		printf("  destination: site %s of %s\n", z.site->name, T->name);
		break;
	case ZONE_CLOUD:
		printf("  destination: the cloud of %s\n", T->name);
		break;
	case ZONE_GATEWAY:
		printf("  destination: the gateway's own address in %s\n", T->name);
		break;
	case ZONE_SHARE:
		printf("  destination: share %s of tenant %s (%s", z.share->name,
		       cfg->tenants[z.owner].name, proto_name(z.share->proto));
		print_ports(&z.share->ports);
		printf(")\n");
		break;
	case ZONE_NONE:
		printf("  destination: %s\n", in_other_tenants(cfg, w->tenant, &a->dst)
			? "another tenant's networks" : "outside every tenant network (the internet)");
		break;
	}
}

/* What the uplink lets in for the gateway's sake must be addressed to it. */
static void print_uplink(const struct rp_config *cfg, uint8_t family)
{
	struct rp_addr u[RP_UPLINK_ADDRS];
	size_t n = gw_uplink_list(cfg, family, u);
	char b[INET6_ADDRSTRLEN];

	printf("  the gateway on the uplink:");
	for (size_t i = 0; i < n; i++) {
		addr_format(&u[i], b, sizeof(b));
		printf("%s %s", i ? "," : "", b);
	}
	printf("%s\n", n ? "" : " no address of this family");
}

static void print_text(const struct rp_config *cfg, const struct explain_args *a,
		       const struct eval_where *w, const struct eval_result *r)
{
	const struct rp_rule *rule = find_rule(cfg, r->tenant, r->rule);
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], cc[3] = "-";
	const char *pname = proto_text(a->proto);
	bool ports = a->proto == IPPROTO_TCP || a->proto == IPPROTO_UDP;

	if (r->country != RP_CC_NONE)
		cc_format(r->country, cc);
	printf("%s %s  tenant=%s rule=%s country=%s\n", verdict_name(r->verdict),
	       reason_name(r->reason), tenant_name(cfg, r->tenant), r->rule ? r->rule : "-", cc);
	addr_format(&a->src, s, sizeof(s));
	addr_format(&a->dst, d, sizeof(d));
	printf("  packet: ");
	if (pname)
		printf("%s ", pname);
	else
		printf("protocol %d ", a->proto);
	if (ports && a->frag != RP_FRAG_LATER)
		printf(a->src.family == AF_INET6 ? "[%s]:%lu -> [%s]:%lu" : "%s:%lu -> %s:%lu",
		       s, a->sport, d, a->dport);
	else
		printf("%s -> %s", s, d);
	if (a->frag)
		printf(", %s fragment", a->frag == RP_FRAG_FIRST ? "first" : "non-first");
	printf("\n  judged at: %s of %s", eval_hook_name(w->hook), a->iface);
	if (a->vlan)
		printf(" VLAN %lu", a->vlan);
	if (w->tenant >= 0)
		printf(" (tenant %s)", cfg->tenants[w->tenant].name);
	printf("\n");
	print_zones(cfg, a, w);
	if (w->hook == RP_HOOK_UPLINK_IN)
		print_uplink(cfg, a->dst.family);
	if (rule) {
		printf("  rule %s: from %s to %s, %s", rule->name,
		       rule->from_text ? rule->from_text : "?", rule->to_text ? rule->to_text : "?",
		       proto_name(rule->proto));
		print_ports(&rule->ports);
		printf(", %s\n", rule->allow ? "allow" : "deny");
	}
	printf("  why: %s\n", r->why);
}

static int print_verdict_json(const struct rp_config *cfg, const struct eval_result *r)
{
	struct json_object *o = json_object_new_object();
	char cc[3];

	if (!o)
		return -ENOMEM;
	cc_format(r->country, cc);
	json_object_object_add(o, "verdict", json_object_new_string(verdict_name(r->verdict)));
	json_object_object_add(o, "reason", json_object_new_string(reason_name(r->reason)));
	json_object_object_add(o, "tenant", json_object_new_string(tenant_name(cfg, r->tenant)));
	json_object_object_add(o, "rule", r->rule ? json_object_new_string(r->rule) : NULL);
	json_object_object_add(o, "country",
			       r->country != RP_CC_NONE ? json_object_new_string(cc) : NULL);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED));
	json_object_put(o);
	return 0;
}

/* One line: what is wrong with IFACE, and the interfaces there are. */
static void print_bad_iface(const struct rp_config *cfg, const struct explain_args *a)
{
	fprintf(stderr, "rempart: explain: %s %s: %s (uplink %s", a->out ? "--out" : "--in", a->iface,
		a->out ? "only the uplink has an egress hook"
		       : "not an interface of this configuration, or not with this --vlan",
		cfg->uplink ? cfg->uplink : "?");
	for (size_t i = 0; i < cfg->n_tenants && !a->out; i++) {
		const struct rp_tenant *T = &cfg->tenants[i];

		fprintf(stderr, ", %s", T->tunnel_interface);
		if (T->next_interface)
			fprintf(stderr, ", %s", T->next_interface);
		if (T->vlan)
			fprintf(stderr, ", %s.%u", T->cloud_interface, T->vlan);
		else
			fprintf(stderr, ", %s", T->cloud_interface);
	}
	fprintf(stderr, ")\n");
}

static void print_ports(const struct rp_port_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		printf("%s%u", i ? "," : " ", l->v[i].lo);
		if (l->v[i].hi != l->v[i].lo)
			printf("-%u", l->v[i].hi);
	}
}

static int cmd_explain(int argc, char **argv, struct globals *g)
{
	struct rp_config cfg = { 0 };
	struct geo_db geo = { 0 };
	struct eval_ctx ctx = { .cfg = &cfg };
	struct explain_args a;
	struct eval_where w;
	struct eval_result r;
	struct rp_packet p;
	bool have_geo = false;
	int ret;

	ret = parse_args(argc, argv, g, &a);
	if (ret == CLI_HELP_SHOWN)
		return RP_EXIT_OK;
	if (ret)
		return RP_EXIT_CONFIG;
	ret = load_config_or_report(g, RP_CFG_SKIP_KEY_FILES, &cfg);
	if (ret)
		return ret;
	/* the gateway's own addresses, as the dataplane has them (none when
	 * they cannot be read: public_endpoint still stands for the uplink) */
	host_addrs_read(cfg.uplink, &cfg.host);
	if (eval_where_from_ifname(&cfg, a.iface, (uint16_t)a.vlan, a.out, &w)) {
		print_bad_iface(&cfg, &a);
		ret = RP_EXIT_CONFIG;
		goto out;
	}
	if (a.vlan && w.hook != RP_HOOK_CLOUD_IN) {
		fprintf(stderr, "rempart: explain: --vlan: %s is not a cloud interface; "
			"VLAN ids select tenants only there\n", a.iface);
		ret = RP_EXIT_CONFIG;
		goto out;
	}
	if (cfg.geo_ipv4 || cfg.geo_ipv6) {
		struct diag d = { 0 };

		if (geo_load(&cfg, &geo, &d)) {
			fprintf(stderr, "rempart: explain: cannot load the geo database%s%s\n",
				diag_count(&d) ? ": " : "", diag_count(&d) ? d.msgs[0] : "");
			diag_free(&d);
			ret = RP_EXIT_RUNTIME;
			goto out;
		}
		diag_free(&d);
		have_geo = true;
		ctx.geo = &geo;
	}
	packet_from_tuple(&p, &a.src, &a.dst, (uint8_t)a.proto, (uint16_t)a.sport,
			  (uint16_t)a.dport, a.frag);
	p.vlan = (uint16_t)a.vlan;
	eval_packet(&ctx, &w, &p, &r);
	if (a.json ? print_verdict_json(&cfg, &r) : (print_text(&cfg, &a, &w, &r), 0)) {
		fprintf(stderr, "rempart: explain: out of memory\n");
		ret = RP_EXIT_RUNTIME;
		goto out;
	}
	ret = RP_EXIT_OK;
out:
	if (have_geo)
		geo_free(&geo);
	config_free(&cfg);
	return ret;
}
