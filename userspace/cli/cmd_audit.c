// SPDX-License-Identifier: GPL-2.0
/* cmd_audit.c — `rempart audit [--json]`: prove, from the live kernel state
 * alone, that no tenant reaches another except through a declared share
 * and that nothing from the uplink reaches a tenant except through its
 * tunnel (audit/audit.h, docs/audit.md).  Exit 0 proven, 3 violations,
 * 2 when the state cannot be judged, 1 configuration or usage error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "audit/audit.h"
#include "cli/commands.h"
#include "config/config.h"

enum { O_JSON = 256 };

static const struct cli_opt opts[] = {
	{ "json", O_JSON, NULL, NULL, "one JSON object (shape below)" },
	{ 0 }
};

static int cmd_audit(int argc, char **argv, struct globals *g);

const struct cli_cmd def_audit = {
	.name = "audit",
	.summary = "Prove from the live state that tenants stay apart",
	.text = "Prove, from the live kernel state alone, that no packet can cross from one\n"
		"tenant to another except through a declared [share], nor from the uplink\n"
		"into any tenant except through that tenant's tunnel.  The attached programs\n"
		"(run on packets through a copy that shares the pinned policy maps), the\n"
		"routing rules and tables, addresses, forwarding and reverse-path settings,\n"
		"WireGuard peers and the nftables ruleset are read and judged against the\n"
		"configuration, by classes of packets, without sampling (docs/audit.md).\n\n"
		"Each violation is one line, a packet that really gets through:\n"
		"  violation KIND from=T ingress=IF src=IP dst=IP proto=P dport=N reaches=T egress=IF\n"
		"KIND: cross_tenant, uplink, unprotected (an interface forwarding without its\n"
		"program), outside (an interface rempart does not manage).  What let it\n"
		"through and the `rempart explain` line for it go to stderr.  --json:\n"
		"  {\"proven\", \"checked\": {\"tenants\", \"ingress_points\", \"paths\"},\n"
		"   \"violations\": [{\"kind\", \"from\", \"ingress\", \"packet\": {\"src\",\n"
		"   \"dst\", \"proto\", \"dport\"}, \"reaches\", \"egress\", \"why\", \"explain\"}]}\n\n"
		"Run it in the gateway's network namespace, as root.  Exit status: 0 proven,\n"
		"3 violations found, 2 the state cannot be judged (the reason on stderr;\n"
		"never a false \"proven\"), 1 configuration or usage error.\n",
	.opts = opts,
	.fn = cmd_audit,
};

static const char *proto_text(uint8_t p, char *buf, size_t len)
{
	switch (p) {
	case 6: return "tcp";
	case 17: return "udp";
	case 1: case 58: return "icmp";
	}
	snprintf(buf, len, "%u", p);
	return buf;
}

static json_object *result_json(const struct audit_result *r, const char *error)
{
	json_object *o = json_object_new_object(), *chk = json_object_new_object(), *vs = json_object_new_array();

	json_object_object_add(o, "proven", json_object_new_boolean(!error && r->proven));
	json_object_object_add(chk, "tenants", json_object_new_int64(r->tenants));
	json_object_object_add(chk, "ingress_points", json_object_new_int64(r->ingress_points));
	json_object_object_add(chk, "paths", json_object_new_int64((int64_t)r->paths));
	json_object_object_add(o, "checked", chk);
	for (size_t i = 0; i < r->n; i++) {
		const struct audit_violation *v = &r->v[i];
		json_object *j = json_object_new_object(), *p = json_object_new_object();
		char s[64], d[64], pb[8], ex[512];

		addr_format(&v->src, s, sizeof(s));
		addr_format(&v->dst, d, sizeof(d));
		audit_explain_line(v, ex, sizeof(ex));
		json_object_object_add(j, "kind", json_object_new_string(v->kind));
		json_object_object_add(j, "from", json_object_new_string(v->from));
		json_object_object_add(j, "ingress", json_object_new_string(v->ingress));
		json_object_object_add(p, "src", json_object_new_string(s));
		json_object_object_add(p, "dst", json_object_new_string(d));
		json_object_object_add(p, "proto", json_object_new_string(proto_text(v->proto, pb, sizeof(pb))));
		json_object_object_add(p, "dport", json_object_new_int(v->dport));
		json_object_object_add(j, "packet", p);
		json_object_object_add(j, "reaches", json_object_new_string(v->reaches));
		json_object_object_add(j, "egress", json_object_new_string(v->egress));
		json_object_object_add(j, "why", json_object_new_string(v->why));
		json_object_object_add(j, "explain", json_object_new_string(ex));
		json_object_array_add(vs, j);
	}
	json_object_object_add(o, "violations", vs);
	json_object_object_add(o, "seconds", json_object_new_double(r->seconds));
	json_object_object_add(o, "probes", json_object_new_int64((int64_t)r->probes));
	if (error)
		json_object_object_add(o, "error", json_object_new_string(error));
	return o;
}

static int cmd_audit(int argc, char **argv, struct globals *g)
{
	struct audit_opts ao = { .pin_dir = getenv("REMPART_PIN_DIR") };
	struct audit_result r;
	struct rp_config cfg;
	struct diag d = { 0 };
	struct cli_parse p;
	bool json = false;
	int key, rc, err;

	cli_begin(&p, argc, argv, g);
	while ((key = cli_next(&p)) > 0)
		if (key == O_JSON)
			json = true;
	if (key < 0)
		return cli_status(key);
	if (cli_args(&p, 0, 0))
		return RP_EXIT_CONFIG;
	rc = load_config_or_report(g, RP_CFG_SKIP_KEY_FILES, &cfg);
	if (rc)
		return rc;
	err = audit_run(&cfg, &ao, &r, &d);
	if (err) {
		const char *msg = diag_count(&d) ? d.msgs[0] : "audit: cannot judge";

		fprintf(stderr, "rempart: %s\n", msg);
		if (json)
			print_json(g, result_json(&r, msg), false);
		rc = RP_EXIT_RUNTIME;
		goto out;
	}
	if (json) {
		if (print_json(g, result_json(&r, NULL), false)) {
			rc = RP_EXIT_RUNTIME;
			goto out;
		}
	} else {
		for (size_t i = 0; i < r.n; i++) {
			char line[512], ex[512];

			audit_violation_line(&r.v[i], line, sizeof(line));
			audit_explain_line(&r.v[i], ex, sizeof(ex));
			puts(line);
			fprintf(stderr, "rempart: audit: %s: %s; reproduce: %s\n", r.v[i].kind, r.v[i].why, ex);
		}
		if (r.proven)
			printf("proven: %u tenants, %u ingress points, %lu classes judged (%lu packets through the "
			       "programs) in %.2f s\n", r.tenants, r.ingress_points, r.paths, r.probes, r.seconds);
		else
			fprintf(stderr, "rempart: audit: %zu violation(s): %u tenants, %u ingress points, %lu classes "
				"judged in %.2f s\n", r.n, r.tenants, r.ingress_points, r.paths, r.seconds);
	}
	rc = r.proven ? RP_EXIT_OK : RP_EXIT_AUDIT;
out:
	audit_result_free(&r);
	diag_free(&d);
	config_free(&cfg);
	return rc;
}
