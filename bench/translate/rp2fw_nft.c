// SPDX-License-Identifier: GPL-2.0
/* rp2fw_nft.c — the policy as an nftables ruleset (rp2fw.c says what is
 * rendered and why). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "config/country.h"
#include "rp2fw.h"

/* ---- nftables --------------------------------------------------------- */

static const char *fam_kw(int family) { return family == AF_INET ? "ip" : "ip6"; }
static const char *fam_type(int family) { return family == AF_INET ? "ipv4_addr" : "ipv6_addr"; }

/* a named interval set; "elements" only when non-empty */
static void nft_set(FILE *f, const char *name, int family, const struct ivals *iv)
{
	size_t i;

	fprintf(f, "\tset %s {\n\t\ttype %s; flags interval;\n", name, fam_type(family));
	if (iv->n) {
		fputs("\t\telements = {", f);
		for (i = 0; i < iv->n; i++) {
			fputs(i % 8 ? ", " : (i ? ",\n\t\t\t" : "\n\t\t\t"), f);
			put_range(f, family, iv->v[i].lo, iv->v[i].hi);
		}
		fputs(" }\n", f);
	}
	fputs("\t}\n", f);
}

static void put_ports_nft(FILE *f, const struct rp_port_list *pl)
{
	fputs("{ ", f);
	put_ports(f, pl, ", ", '-');
	fputs(" }", f);
}

/* protocol and ports as docs/policy.md: icmp = 1 and 58 in either family;
 * ports restrict to TCP/UDP. */
static void put_l4_nft(FILE *f, enum rp_proto proto, const struct rp_port_list *ports)
{
	switch (proto) {
	case RP_PROTO_TCP:
		fputs(" meta l4proto tcp", f);
		break;
	case RP_PROTO_UDP:
		fputs(" meta l4proto udp", f);
		break;
	case RP_PROTO_ICMP:
		fputs(" meta l4proto { icmp, ipv6-icmp }", f);
		break;
	case RP_PROTO_ANY:
		if (ports->n)
			fputs(" meta l4proto { tcp, udp }", f);
		break;
	}
	if (ports->n && proto != RP_PROTO_ICMP) {
		fputs(" th dport ", f);
		put_ports_nft(f, ports);
	}
}


static void nft_intra_chain(FILE *f, const struct rp_tenant *t)
{
	const char *n = t->name;
	struct pair *p;
	size_t np, i;

	fprintf(f, "\tchain %s_intra {\n", n);
	p = tenant_pairs(t, &np);
	for (i = 0; i < np; i++) {
		const struct rp_rule *r = p[i].r;
		int family = p[i].to->family;
		if (!count_family(&r->from, family))
			continue;
		fprintf(f, "\t\t%s saddr ", fam_kw(family));
		put_prefix_set(f, &r->from, family);
		fprintf(f, " %s daddr ", fam_kw(family));
		put_prefix(f, p[i].to);
		put_l4_nft(f, r->proto, &r->ports);
		fprintf(f, " %s comment \"%s\"\n", r->allow ? "accept" : "drop", r->name);
	}
	fprintf(f, "\t\t%s\n\t}\n", t->intra_allow ? "accept" : "drop");
	free(p);
}

static void nft_tenant_chains(FILE *f, const struct rp_config *cfg, const struct rp_tenant *t,
			      struct ccsets *egress)
{
	const char *n = t->name;
	struct tzones z;
	size_t i, fi;

	tenant_zones(cfg, t, &z);
	/* sets and maps of the tenant */
	for (fi = 0; fi < 2; fi++) {
		int family = fi ? AF_INET6 : AF_INET;
		struct ivals sv = { 0 }, cv = { 0 };
		char name[64];

		sites_of(t, family, &sv);
		list_ivals(&t->cloud_prefixes, family, &cv);
		snprintf(name, sizeof(name), "%s_sites%d", n, fi ? 6 : 4);
		nft_set(f, name, family, &sv);
		snprintf(name, sizeof(name), "%s_cloud%d", n, fi ? 6 : 4);
		nft_set(f, name, family, &cv);
		fprintf(f, "\tmap %s_z%d {\n\t\ttype %s : verdict; flags interval;\n", n, fi ? 6 : 4,
			fam_type(family));
		if (z.z[fi].n) {
			fputs("\t\telements = {", f);
			for (i = 0; i < z.z[fi].n; i++) {
				const struct ival *v = &z.z[fi].v[i];
				fputs(i ? ",\n\t\t\t" : "\n\t\t\t", f);
				put_range(f, family, v->lo, v->hi);
				if (v->verdict == V_INTRA)
					fprintf(f, " : goto %s_intra", n);
				else
					fprintf(f, " : goto %s_sh%d", n, v->verdict - V_SHARE0);
			}
			fputs(" }\n", f);
		}
		fputs("\t}\n", f);
		free(sv.v);
		free(cv.v);
	}
	fprintf(f, "\tchain %s_tun {\n", n);
	fprintf(f, "\t\tip saddr != @%s_sites4 drop\n\t\tip6 saddr != @%s_sites6 drop\n", n, n);
	fprintf(f, "\t\tgoto %s_pol\n\t}\n", n);
	fprintf(f, "\tchain %s_cloud {\n", n);
	fprintf(f, "\t\tip saddr != @%s_cloud4 drop\n\t\tip6 saddr != @%s_cloud6 drop\n", n, n);
	fprintf(f, "\t\tgoto %s_pol\n\t}\n", n);

	fprintf(f, "\tchain %s_pol {\n", n);
	fprintf(f, "\t\tip daddr vmap @%s_z4\n\t\tip6 daddr vmap @%s_z6\n", n, n);
	fputs("\t\tip daddr @allnets4 drop\n\t\tip6 daddr @allnets6 drop\n", f);
	if (t->egress == RP_EGRESS_NONE) {
		fputs("\t\tdrop\n", f);
	} else if (!t->has_egress_countries) {
		fputs("\t\taccept\n", f);
	} else {
		size_t k = ccsets_index(egress, &t->egress_countries);
		fprintf(f, "\t\tip daddr @egress%zu_4 accept\n\t\tip6 daddr @egress%zu_6 accept\n", k, k);
		if (cfg->geo_unknown_allow)
			fputs("\t\tip daddr != @geoany4 accept\n\t\tip6 daddr != @geoany6 accept\n", f);
		fputs("\t\tdrop\n", f);
	}
	fputs("\t}\n", f);

	for (i = 0; i < z.n_shares; i++) {
		const struct rp_share *sh = z.shares[i].sh;
		fprintf(f, "\tchain %s_sh%zu {\n\t\t", n, i);
		put_l4_nft(f, sh->proto, &sh->ports);
		fprintf(f, " accept\n\t\tdrop\n\t}\n");
	}

	nft_intra_chain(f, t);
	tzones_free(&z);
}

static void put_mark(FILE *f, uint16_t cc) { fprintf(f, "0x%x", (unsigned)cc + 1); }

/* The tenants' WireGuard listen ports, a set of the table being written. */
static void nft_listen_set(FILE *f, const struct rp_config *cfg)
{
	fputs("\tset listen {\n\t\ttype inet_service;\n", f);
	for (size_t u = 0; u < cfg->n_tenants; u++)
		fprintf(f, "%s%u", u ? ", " : "\t\telements = { ", cfg->tenants[u].listen_port);
	fputs(cfg->n_tenants ? " }\n\t}\n" : "\t}\n", f);
}

int render_nft(FILE *f, const struct rp_config *cfg, const struct geo_db *db)
{
	struct ccsets fences = { 0 }, egress = { 0 };
	size_t i, u, s, k, fi;
	int first;

	fprintf(f, "# rempart policy %s rendered by bench/translate/rp2fw for the benchmark\n\n",
		cfg->path);
	fprintf(f, "table netdev rp_up {\n");
	for (fi = 0; fi < 2; fi++) {
		int family = fi ? AF_INET6 : AF_INET;
		size_t n = fi ? db->n6 : db->n4, c = 0;
		fprintf(f, "\tmap geo%d {\n\t\ttype %s : mark; flags interval;\n", fi ? 6 : 4,
			fam_type(family));
		for (i = 0; i < n; i++) {
			u128 lo = fi ? db->v6[i].lo : db->v4[i].lo, hi = fi ? db->v6[i].hi : db->v4[i].hi;
			uint16_t cc = fi ? db->v6[i].cc : db->v4[i].cc;
			if (cc == RP_CC_NONE)
				continue;
			fputs(c % 6 ? ", " : (c ? ",\n\t\t\t" : "\t\telements = {\n\t\t\t"), f);
			put_range(f, family, lo, hi);
			fputs(" : ", f);
			put_mark(f, cc);
			c++;
		}
		if (c)
			fputs(" }\n", f);
		fputs("\t}\n", f);
	}
	/* (listen port . country) pairs */
	fputs("\tset fence {\n\t\ttype inet_service . mark;\n", f);
	first = 1;
	for (u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *t = &cfg->tenants[u];
		for (k = 0; k < RP_CC_COUNT; k++) {
			if (!rp_ccset_has(&t->site_countries, k))
				continue;
			fprintf(f, "%s%u . ", first ? "\t\telements = {\n\t\t\t" : ", ", t->listen_port);
			put_mark(f, k);
			first = 0;
		}
		if (cfg->geo_unknown_allow) {
			fprintf(f, "%s%u . 0x0", first ? "\t\telements = {\n\t\t\t" : ", ", t->listen_port);
			first = 0;
		}
	}
	fputs(first ? "\t}\n" : " }\n\t}\n", f);
	nft_listen_set(f, cfg);
	for (fi = 0; fi < 2; fi++) {
		int family = fi ? AF_INET6 : AF_INET;
		fprintf(f, "\tset pin%d {\n\t\ttype inet_service . %s; flags interval;\n", fi ? 6 : 4,
			fam_type(family));
		first = 1;
		for (u = 0; u < cfg->n_tenants; u++) {
			const struct rp_tenant *t = &cfg->tenants[u];
			for (s = 0; s < t->n_sites; s++)
				for (k = 0; k < t->sites[s].allow_from.n; k++) {
					const struct rp_prefix *pp = &t->sites[s].allow_from.v[k];
					if (pp->family != family)
						continue;
					fprintf(f, "%s%u . ", first ? "\t\telements = {\n\t\t\t" : ",\n\t\t\t",
						t->listen_port);
					put_prefix(f, pp);
					first = 0;
				}
		}
		fputs(first ? "\t}\n" : " }\n\t}\n", f);
	}
	if (cfg->mgmt_tcp_ports.n) {
		fputs("\tset mgmt_ports {\n\t\ttype inet_service; flags interval;\n\t\telements = ", f);
		put_ports_nft(f, &cfg->mgmt_tcp_ports);
		fputs("\n\t}\n", f);
	}
	fprintf(f, "\tchain in {\n\t\ttype filter hook ingress device \"%s\" priority -500; policy accept;\n",
		cfg->uplink);
	fputs("\t\tmeta protocol vmap { ip : jump in4, ip6 : jump in6, arp : accept }\n", f);
	fputs("\t\tdrop\n\t}\n", f);
	for (fi = 0; fi < 2; fi++) {
		int v = fi ? 6 : 4;
		fprintf(f, "\tchain in%d {\n", v);
		if (!fi)
			fputs("\t\tip frag-off & 0x1fff != 0 accept\n", f);
		fprintf(f, "\t\tudp dport @listen goto fence%d\n", v);
		if (cfg->mgmt_tcp_ports.n && cfg->has_mgmt_countries)
			fprintf(f, "\t\ttcp dport @mgmt_ports meta mark set %s saddr map @geo%d\n",
				fam_kw(fi ? AF_INET6 : AF_INET), v);
		fputs("\t}\n", f);
		fprintf(f, "\tchain fence%d {\n", v);
		fprintf(f, "\t\tudp dport . %s saddr @pin%d accept\n", fam_kw(fi ? AF_INET6 : AF_INET), v);
		fprintf(f, "\t\tmeta mark set %s saddr map @geo%d\n", fam_kw(fi ? AF_INET6 : AF_INET), v);
		fputs("\t\tudp dport . meta mark @fence accept\n\t\tdrop\n\t}\n", f);
	}
	fputs("}\n\n", f);

	/* inet: input, forward, the tenants */
	fputs("table inet rp {\n", f);
	nft_listen_set(f, cfg);
	for (fi = 0; fi < 2; fi++) {
		int family = fi ? AF_INET6 : AF_INET;
		struct ivals a = { 0 }, m = { 0 }, st = { 0 };
		char name[32];

		all_networks(cfg, family, &a);
		snprintf(name, sizeof(name), "allnets%d", fi ? 6 : 4);
		nft_set(f, name, family, &a);
		all_sites(cfg, family, &st);
		snprintf(name, sizeof(name), "allsites%d", fi ? 6 : 4);
		nft_set(f, name, family, &st);
		list_ivals(&cfg->mgmt_allow_from, family, &m);
		snprintf(name, sizeof(name), "mgmt%d", fi ? 6 : 4);
		nft_set(f, name, family, &m);
		free(a.v);
		free(m.v);
		free(st.v);
	}
	if (cfg->mgmt_tcp_ports.n) {
		fputs("\tset mgmt_ports {\n\t\ttype inet_service; flags interval;\n\t\telements = ", f);
		put_ports_nft(f, &cfg->mgmt_tcp_ports);
		fputs("\n\t}\n", f);
	}
	if (cfg->has_mgmt_countries) {
		fputs("\tset mgmt_cc {\n\t\ttype mark;\n", f);
		first = 1;
		for (k = 0; k < RP_CC_COUNT; k++)
			if (rp_ccset_has(&cfg->mgmt_countries, k)) {
				fputs(first ? "\t\telements = { " : ", ", f);
				put_mark(f, k);
				first = 0;
			}
		if (cfg->geo_unknown_allow) {
			fputs(first ? "\t\telements = { " : ", ", f);
			fputs("0x0", f);
			first = 0;
		}
		fputs(first ? "\t}\n" : " }\n\t}\n", f);
	}
	for (fi = 0; fi < 2; fi++) {
		struct ivals nat = { 0 };
		struct pfx_item *it = NULL;
		size_t n = 0, cap = 0;
		char name[16];

		for (u = 0; u < cfg->n_tenants; u++)
			if (cfg->tenants[u].egress == RP_EGRESS_NAT)
				add_items(&it, &n, &cap, &cfg->tenants[u].cloud_prefixes,
					  fi ? AF_INET6 : AF_INET, 0, 0, 0);
		flatten(it, n, &nat);
		snprintf(name, sizeof(name), "nat%d", fi ? 6 : 4);
		nft_set(f, name, fi ? AF_INET6 : AF_INET, &nat);
		free(nat.v);
		free(it);
	}
	fputs("\tmap ifmap {\n\t\ttype ifname : verdict;\n", f);
	for (u = 0; u < cfg->n_tenants; u++) {
		const struct rp_tenant *t = &cfg->tenants[u];
		fprintf(f, "%s\"%s\" : goto %s_tun, \"%s\" : goto %s_cloud",
			u ? ",\n\t\t\t" : "\t\telements = {\n\t\t\t", t->tunnel_interface, t->name,
			t->cloud_interface, t->name);
	}
	fputs(cfg->n_tenants ? " }\n\t}\n" : "\t}\n", f);
	fprintf(f, "\tchain raw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n"
		"\t\tiifname \"%s\" udp dport @listen notrack\n\t}\n", cfg->uplink);
	fprintf(f, "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n"
		"\t\tiifname != \"%s\" accept\n"
		"\t\tct state established,related accept\n"
		"\t\tudp dport @listen accept\n"
		"\t\tmeta nfproto ipv4 udp sport 67 udp dport 68 accept\n"
		"\t\tmeta nfproto ipv6 udp sport 547 udp dport 546 accept\n"
		"\t\ticmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } ip6 hoplimit 255 accept\n",
		cfg->uplink);
	if (cfg->mgmt_tcp_ports.n)
		for (fi = 0; fi < 2; fi++)
			fprintf(f, "\t\ttcp dport @mgmt_ports %s saddr @mgmt%d%s accept\n",
				fam_kw(fi ? AF_INET6 : AF_INET), fi ? 6 : 4,
				cfg->has_mgmt_countries ? " meta mark @mgmt_cc" : "");
	fputs("\t\tdrop\n\t}\n", f);
	fputs("\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n"
	      "\t\tct state established,related accept\n"
	      "\t\tiifname vmap @ifmap\n\t}\n", f);
	fprintf(f, "\tchain postrouting {\n\t\ttype filter hook postrouting priority filter; policy accept;\n"
		"\t\toifname \"%s\" ip daddr @allsites4 drop\n"
		"\t\toifname \"%s\" ip6 daddr @allsites6 drop\n\t}\n", cfg->uplink, cfg->uplink);
	fprintf(f, "\tchain nat {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		"\t\toifname \"%s\" ip saddr @nat4 masquerade\n"
		"\t\toifname \"%s\" ip6 saddr @nat6 masquerade\n\t}\n", cfg->uplink, cfg->uplink);
	for (u = 0; u < cfg->n_tenants; u++)
		nft_tenant_chains(f, cfg, &cfg->tenants[u], &egress);
	for (k = 0; k < egress.n; k++)
		for (fi = 0; fi < 2; fi++) {
			struct ivals g = { 0 };
			char name[32];
			geo_ivals(db, &egress.v[k], fi ? AF_INET6 : AF_INET, &g);
			snprintf(name, sizeof(name), "egress%zu_%d", k, fi ? 6 : 4);
			nft_set(f, name, fi ? AF_INET6 : AF_INET, &g);
			free(g.v);
		}
	if (cfg->geo_unknown_allow)
		for (fi = 0; fi < 2; fi++) {
			struct ivals g = { 0 };
			geo_ivals(db, NULL, fi ? AF_INET6 : AF_INET, &g);
			nft_set(f, fi ? "geoany6" : "geoany4", fi ? AF_INET6 : AF_INET, &g);
			free(g.v);
		}
	fputs("}\n", f);
	free(fences.v);
	free(egress.v);
	return 0;
}

/* One rule of a tenant changed: its rule chain flushed and refilled in one
 * transaction (zones and sets do not change when a rule does). */
int render_nft_tenant(FILE *f, const struct rp_tenant *t)
{
	fprintf(f, "flush chain inet rp %s_intra\ntable inet rp {\n", t->name);
	nft_intra_chain(f, t);
	fputs("}\n", f);
	return 0;
}

