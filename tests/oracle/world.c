/* world.c — what the oracle knows about the lab: the configuration (through
 * the config loader), the interfaces and addresses the kernel really has,
 * the multicast groups they joined, the WireGuard peers' allowed-ips as the
 * tunnels hold them, and the geo database read by the oracle itself.
 * Runs inside the gateway's network (and mount) namespace. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <iniparser/iniparser.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <string.h>
#include "oracle.h"

static int add_if(struct world *w, const char *name)
{
	int i;

	for (i = 0; i < w->n_ifs; i++)
		if (!strcmp(w->ifs[i].name, name))
			return i;
	if (w->n_ifs == O_MAX_IFS)
		return -1;
	i = w->n_ifs++;
	memset(&w->ifs[i], 0, sizeof(w->ifs[i]));
	snprintf(w->ifs[i].name, sizeof(w->ifs[i].name), "%s", name);
	w->ifs[i].ifindex = if_nametoindex(name);
	w->ifs[i].tenant = -1;
	return i;
}

int world_if_by_index(const struct world *w, int ifindex)
{
	for (int i = 0; i < w->n_ifs; i++)
		if (w->ifs[i].ifindex == ifindex)
			return i;
	return -1;
}

static int mask_len(const uint8_t *m, int bytes)
{
	int n = 0;

	for (int i = 0; i < bytes; i++)
		for (int b = 7; b >= 0; b--)
			if (m[i] >> b & 1)
				n++;
	return n;
}

static void load_addrs(struct world *w)
{
	struct ifaddrs *ifa, *a;

	if (getifaddrs(&ifa))
		return;
	for (a = ifa; a; a = a->ifa_next) {
		struct o_iface *f;
		int i;

		if (!a->ifa_addr)
			continue;
		i = add_if(w, a->ifa_name);
		if (i < 0)
			continue;
		f = &w->ifs[i];
		if (a->ifa_addr->sa_family == AF_PACKET) {
			struct sockaddr_ll *ll = (struct sockaddr_ll *)a->ifa_addr;

			if (ll->sll_halen == 6)
				memcpy(f->mac, ll->sll_addr, 6);
			continue;
		}
		if (f->n_addr == O_MAX_ADDRS)
			continue;
		if (a->ifa_addr->sa_family == AF_INET) {
			struct rp_prefix *p = &f->addr[f->n_addr++];

			memset(p, 0, sizeof(*p));
			p->family = AF_INET;
			memcpy(p->addr, &((struct sockaddr_in *)a->ifa_addr)->sin_addr, 4);
			p->len = a->ifa_netmask ?
				 mask_len((uint8_t *)&((struct sockaddr_in *)a->ifa_netmask)->sin_addr, 4) : 32;
		} else if (a->ifa_addr->sa_family == AF_INET6) {
			struct rp_prefix *p = &f->addr[f->n_addr++];

			memset(p, 0, sizeof(*p));
			p->family = AF_INET6;
			memcpy(p->addr, &((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr, 16);
			p->len = a->ifa_netmask ?
				 mask_len((uint8_t *)&((struct sockaddr_in6 *)a->ifa_netmask)->sin6_addr, 16) : 128;
		}
	}
	freeifaddrs(ifa);
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void add_mcast(struct o_iface *f, int family, const uint8_t *a)
{
	if (f->n_mcast == O_MAX_ADDRS)
		return;
	memset(&f->mcast[f->n_mcast], 0, sizeof(f->mcast[0]));
	f->mcast[f->n_mcast].family = family;
	memcpy(f->mcast[f->n_mcast].addr, a, family == AF_INET ? 4 : 16);
	f->n_mcast++;
}

/* /proc/net/igmp6: "IDX NAME HEX32 USERS FLAGS TIMER"; /proc/net/igmp: a
 * device line "IDX\tNAME : ..." then group lines "\t\t\t\tHEX8 ..." (the
 * __be32 printed as a host integer). */
static void load_mcast(struct world *w)
{
	char line[256], name[IF_NAMESIZE + 1], hex[64];
	FILE *f = fopen("/proc/net/igmp6", "r");
	int cur = -1, idx;

	while (f && fgets(line, sizeof(line), f)) {
		uint8_t a[16];
		int i;

		if (sscanf(line, "%d %16s %40s", &idx, name, hex) != 3 || strlen(hex) != 32)
			continue;
		for (i = 0; i < 16; i++)
			a[i] = hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]);
		i = world_if_by_index(w, idx);
		if (i >= 0)
			add_mcast(&w->ifs[i], AF_INET6, a);
	}
	if (f)
		fclose(f);
	f = fopen("/proc/net/igmp", "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned v;

		if (line[0] != '\t' && sscanf(line, "%d %16s", &idx, name) == 2) {
			cur = world_if_by_index(w, idx);
			continue;
		}
		if (cur >= 0 && sscanf(line, " %8x", &v) == 1) {
			uint8_t a[4];

			memcpy(a, &v, 4);	/* the kernel printed the __be32 as a host integer */
			add_mcast(&w->ifs[cur], AF_INET, a);
		}
	}
	if (f)
		fclose(f);
}

/* nftables' nat_guard chain, as the kernel holds it (`nft list`): its
 * "th dport LO-HI ... drop" range. */
static void load_nat_guard(struct world *w, FILE *log)
{
	char line[512];
	FILE *f = popen("nft list chain inet rempart nat_guard 2>/dev/null", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *d = strstr(line, "th dport ");
		unsigned lo, hi;

		if (d && strstr(line, " drop") && sscanf(d, "th dport %u-%u", &lo, &hi) == 2 && lo <= hi) {
			w->nat_guard_lo = lo;
			w->nat_guard_hi = hi;
		}
		if (strstr(line, "ct state invalid drop") && strstr(line, "time-exceeded"))
			w->nat_guard_icmp |= strstr(line, "icmpv6 type") ? 2 : 1;
	}
	if (f)
		pclose(f);
	if (w->nat_guard_hi)
		fprintf(log, "oracle: nftables nat_guard: TCP/UDP to the gateway on ports %u-%u not taken back by "
			"conntrack is dropped at input; ICMP errors it relates to nothing too (IPv4 %s, IPv6 %s)\n",
			w->nat_guard_lo, w->nat_guard_hi, w->nat_guard_icmp & 1 ? "yes" : "no",
			w->nat_guard_icmp & 2 ? "yes" : "no");
}

/* The `wg` tool speaks to the kernel and to wireguard-go's UAPI sockets alike. */
static void load_peers(struct world *w)
{
	char line[4096];
	FILE *f = popen("wg show all allowed-ips 2>/dev/null", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *save = NULL, *ifn = strtok_r(line, "\t\n", &save), *tok;
		int ifi = ifn ? world_if_by_index(w, if_nametoindex(ifn)) : -1;

		if (ifi < 0 || w->ifs[ifi].kind != OK_TUNNEL)
			continue;
		strtok_r(NULL, "\t\n", &save);	/* public key */
		while ((tok = strtok_r(NULL, " \t\n", &save))) {
			struct rp_prefix p;
			struct o_peer *np;

			if (prefix_parse(tok, &p))
				continue;
			np = realloc(w->peers, (w->n_peers + 1) * sizeof(*np));
			if (!np)
				break;
			w->peers = np;
			w->peers[w->n_peers].tenant = w->ifs[ifi].tenant;
			w->peers[w->n_peers].pfx = p;
			w->n_peers++;
		}
	}
	if (f)
		pclose(f);
}

/* [site X] tunnel_ip, read from the tenant's INI (the key may be newer than
 * the config model this oracle was built against). */
static void load_tunnel_ips(struct world *w, int ti)
{
	const struct rp_tenant *t = &w->cfg.tenants[ti];
	dictionary *d = t->file ? iniparser_load(t->file) : NULL;

	if (!d)
		return;
	for (int s = 0; s < iniparser_getnsec(d); s++) {
		const char *sec = iniparser_getsecname(d, s);
		char key[256], *copy, *tok, *save = NULL;
		const char *v;

		if (strncmp(sec, "site ", 5))
			continue;
		snprintf(key, sizeof(key), "%s:tunnel_ip", sec);
		v = iniparser_getstring(d, key, NULL);
		if (!v)
			continue;
		copy = strdup(v);
		for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
			struct rp_prefix p;

			if (!prefix_parse(tok, &p))
				prefix_list_push(&w->t[ti].tunnel_ips, &p);
		}
		free(copy);
	}
	iniparser_freedict(d);
}

static int cc_of(const char *s)
{
	if (strlen(s) != 2)
		return -1;
	int a = (s[0] | 0x20) - 'a', b = (s[1] | 0x20) - 'a';

	return a < 0 || a > 25 || b < 0 || b > 25 ? -1 : a * 26 + b;
}

struct o_geo_pfx {
	struct rp_prefix p;
	uint16_t cc;
};
static struct o_geo_pfx *geo_pfx;
static size_t n_geo_pfx;

/* format = cidr: "PREFIX,CC" lines, '#' comments, both families in either file. */
static int load_geo_cidr(const char *path, FILE *log)
{
	char line[512];
	FILE *f = fopen(path, "r");
	int lineno = 0;

	if (!f) {
		fprintf(log, "oracle: cannot read the geo file %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *c = strchr(line, '#'), *comma, *e;
		struct o_geo_pfx g;

		lineno++;
		if (c)
			*c = 0;
		comma = strchr(line, ',');
		if (!comma)
			continue;
		*comma = 0;
		for (e = comma + 1; *e && *e != '\n' && *e != '\r' && *e != ' '; e++)
			;
		*e = 0;
		if (prefix_parse(line, &g.p) || cc_of(comma + 1) < 0) {
			fprintf(log, "oracle: %s:%d: not PREFIX,CC\n", path, lineno);
			continue;
		}
		g.cc = cc_of(comma + 1);
		struct o_geo_pfx *n = realloc(geo_pfx, (n_geo_pfx + 1) * sizeof(*n));

		if (!n)
			break;
		geo_pfx = n;
		geo_pfx[n_geo_pfx++] = g;
	}
	fclose(f);
	return 0;
}

uint16_t world_country(const struct world *w, const struct rp_addr *a)
{
	int best = -1;
	uint16_t cc = RP_CC_NONE;

	for (size_t i = 0; i < n_geo_pfx; i++)
		if (prefix_contains(&geo_pfx[i].p, a) && geo_pfx[i].p.len > best) {
			best = geo_pfx[i].p.len;
			cc = geo_pfx[i].cc;
		}
	return cc;
}

void world_geo_prefixes(void (*cb)(void *ctx, const struct rp_prefix *p), void *ctx)
{
	for (size_t i = 0; i < n_geo_pfx; i++)
		cb(ctx, &geo_pfx[i].p);
}

/* Any address of the gateway (ifidx < 0), or of that interface. */
bool world_is_gateway_addr(const struct world *w, const struct rp_addr *a, int ifidx)
{
	for (int i = 0; i < w->n_ifs; i++) {
		if (ifidx >= 0 && i != ifidx)
			continue;
		for (int k = 0; k < w->ifs[i].n_addr; k++)
			if (w->ifs[i].addr[k].family == a->family &&
			    !memcmp(w->ifs[i].addr[k].addr, a->addr, a->family == AF_INET ? 4 : 16))
				return true;
	}
	return false;
}

const char *owner_name(const struct world *w, int owner, char *buf, size_t len)
{
	if (owner == OWN_NONE)
		snprintf(buf, len, "nowhere");
	else if (owner == OWN_GW)
		snprintf(buf, len, "the gateway");
	else if (owner == OWN_INET)
		snprintf(buf, len, "the uplink");
	else if (owner - OWN_T0 < (int)w->cfg.n_tenants)
		snprintf(buf, len, "tenant %s", w->cfg.tenants[owner - OWN_T0].name);
	else
		snprintf(buf, len, "owner %d", owner);
	return buf;
}

int world_load(struct world *w, const char *config_path, FILE *log)
{
	struct diag d = { 0 };
	char buf[64];
	FILE *f;
	int err;

	memset(w, 0, sizeof(*w));
	w->uplink_if = -1;
	err = config_load(config_path, 0, &w->cfg, &d);
	if (err) {
		diag_print(&d, log);
		diag_free(&d);
		return err;
	}
	diag_free(&d);
	if (w->cfg.n_tenants > O_MAX_TENANTS) {
		fprintf(log, "oracle: %zu tenants, at most %d\n", w->cfg.n_tenants, O_MAX_TENANTS);
		return -E2BIG;
	}
	w->uplink_if = add_if(w, w->cfg.uplink);
	w->ifs[w->uplink_if].kind = OK_UPLINK;
	for (size_t i = 0; i < w->cfg.n_tenants; i++) {
		struct rp_tenant *t = &w->cfg.tenants[i];
		struct o_tenant *o = &w->t[i];
		char name[IF_NAMESIZE + 8];

		o->cloud_if = add_if(w, t->cloud_interface);
		w->ifs[o->cloud_if].kind = OK_CLOUD;
		w->ifs[o->cloud_if].tenant = t->vlan ? -1 : (int)i;	/* a trunk: by VLAN id */
		if (t->tunnel_interface)
			snprintf(name, sizeof(name), "%s", t->tunnel_interface);
		else
			snprintf(name, sizeof(name), "wg-%s", t->name);
		o->tunnel_if = add_if(w, name);
		w->ifs[o->tunnel_if].kind = OK_TUNNEL;
		w->ifs[o->tunnel_if].tenant = i;
		load_tunnel_ips(w, i);
		for (size_t s = 0; s < t->n_sites; s++) {
			prefix_list_cat(&o->sites, &t->sites[s].allowed_ips);
			prefix_list_cat(&o->allow_from, &t->sites[s].allow_from);
		}
		prefix_list_cat(&o->sites, &o->tunnel_ips);
		for (size_t k = 0; k < t->cloud_address.n; k++) {
			struct rp_prefix h = t->cloud_address.v[k];

			h.len = h.family == AF_INET ? 32 : 128;
			prefix_list_push(&o->gw_addrs, &h);
		}
		for (size_t k = 0; k < t->tunnel_address.n; k++) {
			struct rp_prefix h = t->tunnel_address.v[k];

			h.len = h.family == AF_INET ? 32 : 128;
			prefix_list_push(&o->gw_addrs, &h);
		}
	}
	load_addrs(w);
	for (int i = 0; i < w->n_ifs; i++)
		if (!w->ifs[i].ifindex && w->ifs[i].kind != OK_OTHER)
			fprintf(log, "oracle: interface %s of the configuration is not in this namespace\n",
				w->ifs[i].name);
	load_mcast(w);
	load_peers(w);
	load_nat_guard(w, log);
	f = fopen("/proc/sys/net/ipv4/conf/all/accept_source_route", "r");
	if (f && fgets(buf, sizeof(buf), f))
		w->v4_source_route = atoi(buf) != 0;
	if (f)
		fclose(f);
	if (w->cfg.geo_format == RP_GEO_CIDR) {
		w->have_geo = true;
		if (w->cfg.geo_ipv4 && load_geo_cidr(w->cfg.geo_ipv4, log))
			w->have_geo = false;
		if (w->cfg.geo_ipv6 && (!w->cfg.geo_ipv4 || strcmp(w->cfg.geo_ipv6, w->cfg.geo_ipv4)) &&
		    load_geo_cidr(w->cfg.geo_ipv6, log))
			w->have_geo = false;
	}
	return 0;
}

void world_free(struct world *w)
{
	for (size_t i = 0; i < w->cfg.n_tenants && i < O_MAX_TENANTS; i++) {
		free(w->t[i].sites.v);
		free(w->t[i].tunnel_ips.v);
		free(w->t[i].allow_from.v);
		free(w->t[i].gw_addrs.v);
	}
	free(w->peers);
	free(geo_pfx);
	geo_pfx = NULL;
	n_geo_pfx = 0;
	config_free(&w->cfg);
}
