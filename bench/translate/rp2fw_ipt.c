// SPDX-License-Identifier: GPL-2.0
/* rp2fw_ipt.c — the policy as iptables rules and ipset sets (rp2fw.c says
 * what is rendered and why). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "config/country.h"
#include "rp2fw.h"

/* ---- iptables + ipset ------------------------------------------------- */

struct ipset_ctx {
	FILE *f;
	const char *set;
};

static void ipset_add_cidr(void *arg, int family, u128 lo, int len)
{
	struct ipset_ctx *c = arg;
	char a[INET6_ADDRSTRLEN];

	fmt_int(family, lo, a, sizeof(a));
	fprintf(c->f, "add %s %s/%d\n", c->set, a, len);
}

static void ipset_net(FILE *f, const char *name, int family, const struct ivals *iv)
{
	struct ipset_ctx c = { f, name };
	size_t i, n = iv->n * 4 + 1024;

	fprintf(f, "create %s hash:net family %s hashsize %zu maxelem %zu\n", name,
		family == AF_INET ? "inet" : "inet6", n / 2 < 1024 ? 1024 : n / 2, n);
	for (i = 0; i < iv->n; i++)
		range_cidrs(family, iv->v[i].lo, iv->v[i].hi, ipset_add_cidr, &c);
}

/* Lines "-A CHAIN <match> -j TARGET" for proto/ports (two lines for any+ports). */
static void ipt_l4(FILE *f, int family, const char *prefix, enum rp_proto proto,
		   const struct rp_port_list *ports, const char *target)
{
	static const char *tu[] = { "tcp", "udp" };
	int i;

	if (ports->n && (proto == RP_PROTO_ANY || proto == RP_PROTO_TCP || proto == RP_PROTO_UDP)) {
		for (i = 0; i < 2; i++) {
			if ((proto == RP_PROTO_TCP && i) || (proto == RP_PROTO_UDP && !i))
				continue;
			fprintf(f, "%s -p %s -m multiport --dports ", prefix, tu[i]);
			put_ports(f, ports, ",", ':');
			fprintf(f, " -j %s\n", target);
		}
		return;
	}
	switch (proto) {
	case RP_PROTO_TCP: fprintf(f, "%s -p tcp -j %s\n", prefix, target); break;
	case RP_PROTO_UDP: fprintf(f, "%s -p udp -j %s\n", prefix, target); break;
	case RP_PROTO_ICMP:
		/* 1 and 58 in either family */
		fprintf(f, "%s -p 1 -j %s\n%s -p 58 -j %s\n", prefix, target, prefix, target);
		break;
	case RP_PROTO_ANY: fprintf(f, "%s -j %s\n", prefix, target); break;
	}
	(void)family;
}

void ipt_tenant_chains(FILE *f, const struct rp_config *cfg, const struct rp_tenant *t,
		       int family, struct ccsets *egress, int declare_only, int rules_only)
{
	const char *n = t->name;
	int v = family == AF_INET ? 4 : 6;
	struct tzones z;
	struct pair *p;
	size_t np, i, k;
	char pre[8192];

	tenant_zones(cfg, t, &z);
	if (declare_only) {
		fprintf(f, ":%s_tun - [0:0]\n:%s_cloud - [0:0]\n:%s_pol - [0:0]\n:%s_intra - [0:0]\n",
			n, n, n, n);
		for (i = 0; i < z.n_shares; i++)
			fprintf(f, ":%s_sh%zu - [0:0]\n", n, i);
		tzones_free(&z);
		return;
	}
	if (!rules_only) {
		fprintf(f, "-A %s_tun -m set ! --match-set %s_sites%d src -j DROP\n-A %s_tun -j %s_pol\n",
			n, n, v, n, n);
		fprintf(f, "-A %s_cloud -m set ! --match-set %s_cloud%d src -j DROP\n-A %s_cloud -j %s_pol\n",
			n, n, v, n, n);
		fprintf(f, "-A %s_pol -m set --match-set %s_zi%d dst -j %s_intra\n", n, n, v, n);
		for (i = 0; i < z.n_shares; i++) {
			fprintf(f, "-A %s_pol -m set --match-set %s_zs%zu_%d dst -j %s_sh%zu\n", n, n, i, v, n, i);
			snprintf(pre, sizeof(pre), "-A %s_sh%zu", n, i);
			ipt_l4(f, family, pre, z.shares[i].sh->proto, &z.shares[i].sh->ports, "ACCEPT");
			fprintf(f, "-A %s_sh%zu -j DROP\n", n, i);
		}
		fprintf(f, "-A %s_pol -m set --match-set allnets%d dst -j DROP\n", n, v);
		if (t->egress == RP_EGRESS_NONE) {
			fprintf(f, "-A %s_pol -j DROP\n", n);
		} else if (!t->has_egress_countries) {
			fprintf(f, "-A %s_pol -j ACCEPT\n", n);
		} else {
			k = ccsets_index(egress, &t->egress_countries);
			fprintf(f, "-A %s_pol -m set --match-set ccs%zu_%d dst -j ACCEPT\n", n, k, v);
			if (cfg->geo_unknown_allow)
				fprintf(f, "-A %s_pol -m set ! --match-set geoany%d dst -j ACCEPT\n", n, v);
			fprintf(f, "-A %s_pol -j DROP\n", n);
		}
	}
	p = tenant_pairs(t, &np);
	for (i = 0; i < np; i++) {
		const struct rp_rule *r = p[i].r;
		char to[INET6_ADDRSTRLEN + 8], from[4096];
		size_t m, used = 0;

		if (p[i].to->family != family || !count_family(&r->from, family))
			continue;
		{
			char a[INET6_ADDRSTRLEN];
			fmt_int(family, prefix_lo(p[i].to), a, sizeof(a));
			snprintf(to, sizeof(to), "%s/%u", a, p[i].to->len);
		}
		if (r->from_text && !strcmp(r->from_text, "sites")) {
			snprintf(from, sizeof(from), "-m set --match-set %s_sites%d src", n, v);
		} else if (r->from_text && !strcmp(r->from_text, "cloud")) {
			snprintf(from, sizeof(from), "-m set --match-set %s_cloud%d src", n, v);
		} else {
			used = snprintf(from, sizeof(from), "-s ");
			for (m = 0; m < r->from.n && used < sizeof(from) - 64; m++) {
				char a[INET6_ADDRSTRLEN];
				if (r->from.v[m].family != family)
					continue;
				fmt_int(family, prefix_lo(&r->from.v[m]), a, sizeof(a));
				used += snprintf(from + used, sizeof(from) - used, "%s%s/%u",
						 used > 3 ? "," : "", a, r->from.v[m].len);
			}
		}
		snprintf(pre, sizeof(pre), "-A %s_intra %s -d %s -m comment --comment %s", n, from, to, r->name);
		ipt_l4(f, family, pre, r->proto, &r->ports, r->allow ? "ACCEPT" : "DROP");
	}
	fprintf(f, "-A %s_intra -j %s\n", n, t->intra_allow ? "ACCEPT" : "DROP");
	free(p);
	tzones_free(&z);
}

int render_ipset(FILE *f, const struct rp_config *cfg, const struct geo_db *db,
		 struct ccsets *fences, struct ccsets *egress)
{
	uint8_t used[RP_CC_COUNT] = { 0 };
	size_t u, s, k, i, fi;

	for (u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *t = &cfg->tenants[u];
		ccsets_index(fences, &t->site_countries);
		if (t->egress == RP_EGRESS_NAT && t->has_egress_countries)
			ccsets_index(egress, &t->egress_countries);
	}
	for (i = 0; i < fences->n; i++)
		for (k = 0; k < RP_CC_COUNT; k++)
			used[k] |= rp_ccset_has(&fences->v[i], k);
	for (i = 0; i < egress->n; i++)
		for (k = 0; k < RP_CC_COUNT; k++)
			used[k] |= rp_ccset_has(&egress->v[i], k);
	if (cfg->has_mgmt_countries)
		for (k = 0; k < RP_CC_COUNT; k++)
			used[k] |= rp_ccset_has(&cfg->mgmt_countries, k);
	/* one hash:net per country and family, list:set per country set */
	for (k = 0; k < RP_CC_COUNT; k++) {
		struct rp_ccset one = { 0 };
		char code[3], name[32];
		if (!used[k])
			continue;
		ccset_add(&one, k);
		cc_format(k, code);
		for (fi = 0; fi < 2; fi++) {
			struct ivals g = { 0 };
			geo_ivals(db, &one, fi ? AF_INET6 : AF_INET, &g);
			snprintf(name, sizeof(name), "cc_%s_%d", code, fi ? 6 : 4);
			ipset_net(f, name, fi ? AF_INET6 : AF_INET, &g);
			free(g.v);
		}
	}
	for (i = 0; i < fences->n + egress->n; i++) {
		const struct rp_ccset *cs = i < fences->n ? &fences->v[i] : &egress->v[i - fences->n];
		for (fi = 0; fi < 2; fi++) {
			char name[32];
			if (i < fences->n)
				snprintf(name, sizeof(name), "fence%zu_%d", i, fi ? 6 : 4);
			else
				snprintf(name, sizeof(name), "ccs%zu_%d", i - fences->n, fi ? 6 : 4);
			fprintf(f, "create %s list:set size 64\n", name);
			for (k = 0; k < RP_CC_COUNT; k++)
				if (rp_ccset_has(cs, k)) {
					char code[3];
					cc_format(k, code);
					fprintf(f, "add %s cc_%s_%d\n", name, code, fi ? 6 : 4);
				}
		}
	}
	if (cfg->has_mgmt_countries)
		for (fi = 0; fi < 2; fi++) {
			fprintf(f, "create mgmtcc_%d list:set size 64\n", fi ? 6 : 4);
			for (k = 0; k < RP_CC_COUNT; k++)
				if (rp_ccset_has(&cfg->mgmt_countries, k)) {
					char code[3];
					cc_format(k, code);
					fprintf(f, "add mgmtcc_%d cc_%s_%d\n", fi ? 6 : 4, code, fi ? 6 : 4);
				}
		}
	for (fi = 0; fi < 2; fi++) {
		int family = fi ? AF_INET6 : AF_INET, v = fi ? 6 : 4;
		struct ivals a = { 0 }, m = { 0 }, st = { 0 }, g = { 0 };
		char name[48];

		all_networks(cfg, family, &a);
		snprintf(name, sizeof(name), "allnets%d", v);
		ipset_net(f, name, family, &a);
		all_sites(cfg, family, &st);
		snprintf(name, sizeof(name), "allsites%d", v);
		ipset_net(f, name, family, &st);
		list_ivals(&cfg->mgmt_allow_from, family, &m);
		snprintf(name, sizeof(name), "mgmt%d", v);
		ipset_net(f, name, family, &m);
		if (cfg->geo_unknown_allow) {
			geo_ivals(db, NULL, family, &g);
			snprintf(name, sizeof(name), "geoany%d", v);
			ipset_net(f, name, family, &g);
		}
		free(a.v); free(m.v); free(st.v); free(g.v);
		for (u = 0; u < cfg->n_tenants; u++) {
			const struct rp_tenant *t = &cfg->tenants[u];
			struct ivals sv = { 0 }, cv = { 0 }, pv = { 0 };
			struct tzones z;

			sites_of(t, family, &sv);
			snprintf(name, sizeof(name), "%s_sites%d", t->name, v);
			ipset_net(f, name, family, &sv);
			list_ivals(&t->cloud_prefixes, family, &cv);
			snprintf(name, sizeof(name), "%s_cloud%d", t->name, v);
			ipset_net(f, name, family, &cv);
			for (s = 0; s < t->n_sites; s++)
				for (k = 0; k < t->sites[s].allow_from.n; k++)
					if (t->sites[s].allow_from.v[k].family == family)
						ivals_add(&pv, prefix_lo(&t->sites[s].allow_from.v[k]),
							  prefix_hi(&t->sites[s].allow_from.v[k]), 0);
			snprintf(name, sizeof(name), "%s_pin%d", t->name, v);
			ipset_net(f, name, family, &pv);
			tenant_zones(cfg, t, &z);
			for (k = 0; k <= z.n_shares; k++) {
				struct ivals zz = { 0 };
				for (i = 0; i < z.z[fi].n; i++)
					if (z.z[fi].v[i].verdict == (int)k)
						ivals_add(&zz, z.z[fi].v[i].lo, z.z[fi].v[i].hi, 0);
				if (k == 0)
					snprintf(name, sizeof(name), "%s_zi%d", t->name, v);
				else
					snprintf(name, sizeof(name), "%s_zs%zu_%d", t->name, k - 1, v);
				ipset_net(f, name, family, &zz);
				free(zz.v);
			}
			tzones_free(&z);
			free(sv.v); free(cv.v); free(pv.v);
		}
	}
	return 0;
}

int render_ipt(FILE *f, const struct rp_config *cfg, int family, struct ccsets *fences,
	       struct ccsets *egress)
{
	int v = family == AF_INET ? 4 : 6;
	struct ccsets eg = { 0 };
	size_t u;

	fprintf(f, "# rempart policy %s rendered by bench/translate/rp2fw (IPv%d)\n", cfg->path, v);
	/* raw: the geo-fence, before conntrack */
	fputs("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:rp_ok - [0:0]\n", f);
	for (u = 0; u < cfg->n_tenants; u++)
		fprintf(f, ":fence_%s - [0:0]\n", cfg->tenants[u].name);
	fputs("-A rp_ok -j CT --notrack\n-A rp_ok -j ACCEPT\n", f);
	for (u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *t = &cfg->tenants[u];
		size_t k = ccsets_index(fences, &t->site_countries);
		fprintf(f, "-A PREROUTING -i %s -p udp --dport %u -j fence_%s\n", cfg->uplink,
			t->listen_port, t->name);
		fprintf(f, "-A fence_%s -m set --match-set %s_pin%d src -j rp_ok\n", t->name, t->name, v);
		fprintf(f, "-A fence_%s -m set --match-set fence%zu_%d src -j rp_ok\n", t->name, k, v);
		if (cfg->geo_unknown_allow)
			fprintf(f, "-A fence_%s -m set ! --match-set geoany%d src -j rp_ok\n", t->name, v);
		fprintf(f, "-A fence_%s -j DROP\n", t->name);
	}
	fputs("COMMIT\n", f);
	fputs("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n", f);
	for (u = 0; u < cfg->n_tenants; u++)
		if (cfg->tenants[u].egress == RP_EGRESS_NAT)
			fprintf(f, "-A POSTROUTING -o %s -m set --match-set %s_cloud%d src -j MASQUERADE\n",
				cfg->uplink, cfg->tenants[u].name, v);
	fputs("COMMIT\n", f);
	fputs("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:rp_up - [0:0]\n", f);
	for (u = 0; u < cfg->n_tenants; u++)
		ipt_tenant_chains(f, cfg, &cfg->tenants[u], family, &eg, 1, 0);
	fprintf(f, "-A INPUT -i %s -j rp_up\n", cfg->uplink);
	fputs("-A rp_up -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n", f);
	fputs("-A rp_up -m conntrack --ctstate UNTRACKED -p udp -j ACCEPT\n", f);
	if (v == 4)
		fputs("-A rp_up -p udp --sport 67 --dport 68 -j ACCEPT\n", f);
	else {
		fputs("-A rp_up -p udp --sport 547 --dport 546 -j ACCEPT\n", f);
		fputs("-A rp_up -p ipv6-icmp -m icmp6 --icmpv6-type 133 -m hl --hl-eq 255 -j ACCEPT\n"
		      "-A rp_up -p ipv6-icmp -m icmp6 --icmpv6-type 134 -m hl --hl-eq 255 -j ACCEPT\n"
		      "-A rp_up -p ipv6-icmp -m icmp6 --icmpv6-type 135 -m hl --hl-eq 255 -j ACCEPT\n"
		      "-A rp_up -p ipv6-icmp -m icmp6 --icmpv6-type 136 -m hl --hl-eq 255 -j ACCEPT\n"
		      "-A rp_up -p ipv6-icmp -m icmp6 --icmpv6-type 137 -m hl --hl-eq 255 -j ACCEPT\n", f);
	}
	if (cfg->mgmt_tcp_ports.n) {
		fprintf(f, "-A rp_up -p tcp -m multiport --dports ");
		put_ports(f, &cfg->mgmt_tcp_ports, ",", ':');
		fprintf(f, " -m set --match-set mgmt%d src", v);
		if (cfg->has_mgmt_countries)
			fprintf(f, " -m set --match-set mgmtcc_%d src", v);
		fputs(" -j ACCEPT\n", f);
	}
	fputs("-A rp_up -j DROP\n", f);
	fputs("-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n", f);
	for (u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *t = &cfg->tenants[u];
		fprintf(f, "-A FORWARD -i %s -j %s_tun\n-A FORWARD -i %s -j %s_cloud\n",
			t->tunnel_interface, t->name, t->cloud_interface, t->name);
	}
	for (u = 0; u < cfg->n_tenants; u++)
		ipt_tenant_chains(f, cfg, &cfg->tenants[u], family, &eg, 0, 0);
	fprintf(f, "-A OUTPUT -o %s -m set --match-set allsites%d dst -j DROP\n", cfg->uplink, v);
	fputs("COMMIT\n", f);
	free(eg.v);
	return 0;
}

