/* pkt.c — a generated packet in words (reports) and as one line of
 * key=value tokens (replay files). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "oracle.h"

static const char *const hook_txt[OH__COUNT] = { "uplink_in", "cloud_in", "tunnel_in", "gateway_out" };
static const char *const frag_txt[] = { "none", "first", "later", "atomic" };
static const char *const dmg_txt[OD__COUNT] = {
	"none", "trunc", "trunc_fixed", "bad_ihl", "bad_version", "len_long", "len_short", "bad_opt", "bad_csum",
	"len_l4",
};

static const char *ip_txt(int family, const uint8_t *a, char *buf)
{
	return inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, INET6_ADDRSTRLEN) ? buf : "?";
}

static const char *proto_txt(uint8_t p, char *buf)
{
	switch (p) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "icmpv6";
	default: sprintf(buf, "proto %u", p); return buf;
	}
}

#define APP(...) (n += snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__))

void pkt_describe(const struct world *w, const struct o_pkt *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], pt[16];
	size_t n = 0;

	APP("%s %s", hook_txt[p->hook], w->ifs[p->ifi].name);
	for (int i = 0; i < p->ntags; i++)
		APP(" tag %04x/%u", p->tpid[i], p->vid[i]);
	if (p->ethertype == 0x0806) {
		APP(" ARP who-has %s", ip_txt(4, p->dst, a));
		return;
	}
	if (p->family != 4 && p->family != 6) {
		APP(" ethertype 0x%04x", p->ethertype);
		return;
	}
	APP(" IPv%u %s -> %s %s", p->family, ip_txt(p->family, p->src, a), ip_txt(p->family, p->dst, b),
	    proto_txt(p->proto, pt));
	if (p->frag != OF_LATER) {
		if (p->proto == 6 || p->proto == 17)
			APP(" %u -> %u", p->sport, p->dport);
		if (p->proto == 6)
			APP(" flags 0x%02x", p->tcp_flags);
		if (p->proto == 1 || p->proto == 58)
			APP(" type %u code %u id %u", p->icmp_type, p->icmp_code, p->echo_id);
	}
	APP(" %s %u", p->family == 4 ? "ttl" : "hop limit", p->ttl);
	if (p->optlen)
		APP(" options %u bytes%s", p->optlen, p->srr ? " (source route)" : "");
	if (p->n_ext) {
		APP(" ext");
		for (int i = 0; i < p->n_ext; i++)
			APP("%s%u", i ? "," : " ", p->ext[i]);
	}
	if (p->frag)
		APP(" fragment %s id %u offset %u%s", frag_txt[p->frag], p->frag_id, p->frag_off * 8,
		    p->frag == OF_LATER && p->more ? " MF" : "");
	if (p->has_inner)
		APP(" quoting [%s %s -> %s %u -> %u]", proto_txt(p->inner.proto, pt),
		    ip_txt(p->inner.family, p->inner.src, a), ip_txt(p->inner.family, p->inner.dst, b),
		    p->inner.sport, p->inner.dport);
	if (p->damage)
		APP(" damage %s%s", dmg_txt[p->damage], "");
	if (p->damage == OD_TRUNC || p->damage == OD_TRUNC_FIXED)
		APP(" at %u", p->trunc_at);
	if (p->twin)
		APP(" (twin)");
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = 0;
}

int pkt_to_text(const struct world *w, const struct o_pkt *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], h[128];
	size_t n = 0;

	APP("hook=%s if=%s et=%04x fam=%u", hook_txt[p->hook], w->ifs[p->ifi].name, p->ethertype, p->family);
	if (p->ntags) {
		APP(" tags=");
		for (int i = 0; i < p->ntags; i++)
			APP("%s%04x:%u", i ? "," : "", p->tpid[i], p->vid[i]);
	}
	if (p->family == 4 || p->family == 6 || p->ethertype == 0x0806)
		APP(" src=%s dst=%s", ip_txt(p->family ? p->family : 4, p->src, a),
		    ip_txt(p->family ? p->family : 4, p->dst, b));
	APP(" ttl=%u tos=%u proto=%u", p->ttl, p->tos, p->proto);
	if (p->optlen) {
		hex(p->opt, p->optlen, h);
		APP(" opt=%s srr=%u", h, p->srr);
	}
	if (p->n_ext) {
		APP(" ext=");
		for (int i = 0; i < p->n_ext; i++)
			APP("%s%u", i ? "," : "", p->ext[i]);
	}
	APP(" frag=%s id=%u off=%u more=%u sport=%u dport=%u flags=%u itype=%u icode=%u echo=%u payload=%u",
	    frag_txt[p->frag], p->frag_id, p->frag_off, p->more, p->sport, p->dport, p->tcp_flags, p->icmp_type,
	    p->icmp_code, p->echo_id, p->payload);
	if (p->has_inner)
		APP(" inner=%u/%u/%s/%s/%u/%u/%u", p->inner.family, p->inner.proto,
		    ip_txt(p->inner.family, p->inner.src, a), ip_txt(p->inner.family, p->inner.dst, b),
		    p->inner.sport, p->inner.dport, p->inner.icmp_type);
	APP(" dmg=%s sel=%u cut=%u twin=%u why=%u", dmg_txt[p->damage], p->trunc_sel, p->trunc_at, p->twin, p->why);
	return n < len ? 0 : -ENOSPC;
}

static int lookup(const char *const *t, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(t[i], s))
			return i;
	return -1;
}

static int parse_ip(int family, const char *s, uint8_t *out)
{
	return inet_pton(family == 6 ? AF_INET6 : AF_INET, s, out) == 1 ? 0 : -EINVAL;
}

int pkt_from_text(const struct world *w, const char *line, struct o_pkt *p)
{
	char *copy = strdup(line), *save = NULL, *tok;
	char src[64] = "", dst[64] = "", inner[256] = "";
	int err = 0;

	if (!copy)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	p->tenant = -1;
	for (tok = strtok_r(copy, " \t\n", &save); tok && !err; tok = strtok_r(NULL, " \t\n", &save)) {
		char *v = strchr(tok, '=');
		unsigned long x;

		if (!v)
			continue;
		*v++ = 0;
		x = strtoul(v, NULL, 0);
		if (!strcmp(tok, "hook")) {
			int k = lookup(hook_txt, OH__COUNT, v);

			err = k < 0 ? -EINVAL : 0;
			p->hook = k;
		} else if (!strcmp(tok, "if")) {
			int i = world_if_by_index(w, if_nametoindex(v));

			err = i < 0 ? -ENODEV : 0;
			p->ifi = i;
			p->tenant = i >= 0 ? w->ifs[i].tenant : -1;
		} else if (!strcmp(tok, "et")) {
			p->ethertype = strtoul(v, NULL, 16);
		} else if (!strcmp(tok, "fam")) {
			p->family = x;
		} else if (!strcmp(tok, "tags")) {
			char *s2 = NULL, *t;

			for (t = strtok_r(v, ",", &s2); t && p->ntags < O_MAX_TAGS; t = strtok_r(NULL, ",", &s2)) {
				p->tpid[p->ntags] = strtoul(t, NULL, 16);
				p->vid[p->ntags] = strchr(t, ':') ? strtoul(strchr(t, ':') + 1, NULL, 10) : 0;
				p->ntags++;
			}
		} else if (!strcmp(tok, "src")) {
			snprintf(src, sizeof(src), "%s", v);
		} else if (!strcmp(tok, "dst")) {
			snprintf(dst, sizeof(dst), "%s", v);
		} else if (!strcmp(tok, "ttl")) {
			p->ttl = x;
		} else if (!strcmp(tok, "tos")) {
			p->tos = x;
		} else if (!strcmp(tok, "proto")) {
			p->proto = x;
		} else if (!strcmp(tok, "opt")) {
			size_t l = strlen(v) / 2;

			for (size_t i = 0; i < l && i < sizeof(p->opt); i++) {
				char two[3] = { v[2 * i], v[2 * i + 1], 0 };

				p->opt[i] = strtoul(two, NULL, 16);
			}
			p->optlen = l < sizeof(p->opt) ? l : sizeof(p->opt);
		} else if (!strcmp(tok, "srr")) {
			p->srr = x;
		} else if (!strcmp(tok, "ext")) {
			char *s2 = NULL, *t;

			for (t = strtok_r(v, ",", &s2); t && p->n_ext < O_MAX_EXT; t = strtok_r(NULL, ",", &s2))
				p->ext[p->n_ext++] = strtoul(t, NULL, 10);
		} else if (!strcmp(tok, "frag")) {
			int k = lookup(frag_txt, 4, v);

			err = k < 0 ? -EINVAL : 0;
			p->frag = k;
		} else if (!strcmp(tok, "id")) {
			p->frag_id = x;
		} else if (!strcmp(tok, "off")) {
			p->frag_off = x;
		} else if (!strcmp(tok, "more")) {
			p->more = x;
		} else if (!strcmp(tok, "sport")) {
			p->sport = x;
		} else if (!strcmp(tok, "dport")) {
			p->dport = x;
		} else if (!strcmp(tok, "flags")) {
			p->tcp_flags = x;
		} else if (!strcmp(tok, "itype")) {
			p->icmp_type = x;
		} else if (!strcmp(tok, "icode")) {
			p->icmp_code = x;
		} else if (!strcmp(tok, "echo")) {
			p->echo_id = x;
		} else if (!strcmp(tok, "payload")) {
			p->payload = x;
		} else if (!strcmp(tok, "inner")) {
			snprintf(inner, sizeof(inner), "%s", v);
		} else if (!strcmp(tok, "dmg")) {
			int k = lookup(dmg_txt, OD__COUNT, v);

			err = k < 0 ? -EINVAL : 0;
			p->damage = k;
		} else if (!strcmp(tok, "sel")) {
			p->trunc_sel = x;
		} else if (!strcmp(tok, "cut")) {
			p->trunc_at = x;
		} else if (!strcmp(tok, "twin")) {
			p->twin = x;
		} else if (!strcmp(tok, "why")) {
			p->why = x;
		}
	}
	if (!err && src[0])
		err = parse_ip(p->family ? p->family : 4, src, p->src);
	if (!err && dst[0])
		err = parse_ip(p->family ? p->family : 4, dst, p->dst);
	if (!err && inner[0]) {
		char is[64], id[64];
		unsigned fam, pr, sp, dp, it;

		if (sscanf(inner, "%u/%u/%63[^/]/%63[^/]/%u/%u/%u", &fam, &pr, is, id, &sp, &dp, &it) != 7) {
			err = -EINVAL;
		} else {
			p->has_inner = 1;
			p->inner.family = fam;
			p->inner.proto = pr;
			p->inner.sport = sp;
			p->inner.dport = dp;
			p->inner.icmp_type = it;
			err = parse_ip(fam, is, p->inner.src) ?: parse_ip(fam, id, p->inner.dst);
		}
	}
	free(copy);
	return err;
}
