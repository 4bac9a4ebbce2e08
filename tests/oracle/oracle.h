/* oracle.h — the invariant oracle (docs/testing.md "The invariant oracle").
 *
 * SPEC §4's guarantees written as invariants over (ingress point, packet,
 * verdict, where the kernel would deliver it).  The verdict comes from the
 * real BPF programs of a lab apply (BPF_PROG_TEST_RUN with the real ingress
 * ifindex), the delivery from the real routing of that apply (RTM_GETROUTE
 * with the ingress interface), the expectations from SPEC §4 alone: nothing
 * here calls, copies or reads the reference evaluator, the zone logic or the
 * policy compiler.  The configuration comes from the config loader (what the
 * tenants, interfaces, prefixes, shares and sites are), the geo database
 * from the oracle's own reading of the cidr file.
 */
#ifndef REMPART_ORACLE_H
#define REMPART_ORACLE_H
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "lib/addr.h"
#include "config/config.h"

/* ---- where a packet enters ------------------------------------------------ */
enum o_hook {
	OH_UPLINK_IN = 0,	/* XDP on the uplink */
	OH_CLOUD_IN,		/* XDP on a tenant's cloud attachment */
	OH_TUNNEL_IN,		/* TC ingress on a tenant's tunnel */
	OH_GW_OUT,		/* the gateway's own packet, TC egress on the uplink */
	OH__COUNT
};

/* Security domains ("owners"): who a packet comes from, where it lands. */
#define OWN_NONE 0		/* delivered nowhere */
#define OWN_GW 1		/* the gateway itself (local delivery) */
#define OWN_INET 2		/* out of the uplink */
#define OWN_T0 3		/* + tenant index: that tenant's cloud or sites */
#define OWN_MAX 64

/* ---- the configuration and the live kernel state of the lab -------------- */
#define O_MAX_IFS 64
#define O_MAX_ADDRS 32
#define O_MAX_TENANTS (OWN_MAX - OWN_T0)

enum o_ifkind { OK_OTHER = 0, OK_UPLINK, OK_CLOUD, OK_TUNNEL };

struct o_iface {
	char name[IF_NAMESIZE];
	int ifindex;
	uint8_t mac[6];
	int kind;			/* enum o_ifkind */
	int tenant;			/* index into cfg.tenants, -1 none */
	struct rp_prefix addr[O_MAX_ADDRS];	/* the kernel's addresses on it (with length) */
	int n_addr;
	struct rp_addr mcast[O_MAX_ADDRS];	/* multicast groups joined (IPv4 and IPv6) */
	int n_mcast;
};

struct o_peer {				/* a WireGuard peer's allowed-ips, as the tunnel has them */
	int tenant;
	struct rp_prefix pfx;
};

struct o_geo_range {
	uint8_t lo[16], hi[16];		/* inclusive, network order */
	uint16_t cc;			/* RP_CC_NONE for "no country" */
};

struct o_tenant {
	int cloud_if, tunnel_if;	/* indexes into world.ifs, -1 none */
	struct rp_prefix_list sites;	/* every site's allowed_ips and tunnel_ip */
	struct rp_prefix_list tunnel_ips;	/* [site] tunnel_ip (read from the INI) */
	struct rp_prefix_list allow_from;	/* every site's allow_from */
	struct rp_prefix_list gw_addrs;	/* cloud_address and tunnel_address (hosts) */
};

struct world {
	struct rp_config cfg;
	struct o_tenant t[O_MAX_TENANTS];
	struct o_iface ifs[O_MAX_IFS];
	int n_ifs;
	int uplink_if;
	struct o_peer *peers;
	int n_peers;
	struct o_geo_range *geo4, *geo6;
	size_t n_geo4, n_geo6;
	bool have_geo;
	bool v4_source_route;		/* net.ipv4.conf.all.accept_source_route */
	bool rules_use_l4;		/* a routing rule selects on ipproto/ports */
	/* nftables' input chain inet rempart nat_guard: TCP/UDP to the gateway
	 * on these ports that conntrack does not take back is dropped (0, 0:
	 * no such chain) */
	unsigned nat_guard_lo, nat_guard_hi;
	/* and its ICMP errors that conntrack relates to no connection are
	 * dropped there (1: IPv4, 2: IPv6) */
	unsigned nat_guard_icmp;
};

int world_load(struct world *w, const char *config_path, FILE *log);
void world_free(struct world *w);
int world_if_by_index(const struct world *w, int ifindex);
uint16_t world_country(const struct world *w, const struct rp_addr *a);
bool world_is_gateway_addr(const struct world *w, const struct rp_addr *a, int ifidx);
void world_geo_prefixes(void (*cb)(void *ctx, const struct rp_prefix *p), void *ctx);
const char *owner_name(const struct world *w, int owner, char *buf, size_t len);

/* ---- a packet, as the generator means it --------------------------------- */
#define O_MAX_TAGS 3
#define O_MAX_EXT 8
#define O_MAX_FRAME 1600

enum o_frag { OF_NONE = 0, OF_FIRST, OF_LATER, OF_ATOMIC };

/* Damage: what makes a frame malformed (the oracle then demands a drop) or
 * unacceptable to the kernel. */
enum o_damage {
	OD_NONE = 0,
	OD_TRUNC,		/* cut inside a header (trunc_at bytes kept) */
	OD_TRUNC_FIXED,		/* the same, IP lengths rewritten to the cut */
	OD_BAD_IHL,		/* IPv4 ihl < 5 */
	OD_BAD_VERSION,		/* version nibble does not match the ethertype */
	OD_LEN_LONG,		/* IPv4 total length / IPv6 payload length past the frame */
	OD_LEN_SHORT,		/* IPv4 total length below the header length */
	OD_BAD_OPT,		/* an IPv4 option with a bad length */
	OD_BAD_CSUM,		/* IPv4 header checksum wrong (the kernel drops; not malformed) */
	OD_LEN_L4,		/* the IP length ends right after what the policy needs of L4
				 * (ports; ICMP type, code, checksum): the rest is past the packet */
	OD__COUNT
};

struct o_inner {			/* the packet an ICMP error quotes */
	uint8_t family, proto;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;		/* ICMP echo: the id in both */
	uint8_t icmp_type;
};

struct o_pkt {
	uint8_t hook;			/* enum o_hook */
	int8_t tenant;			/* cloud/tunnel: tenant index */
	uint8_t ifi;			/* index into world.ifs */
	/* L2 */
	uint8_t ntags;
	uint16_t tpid[O_MAX_TAGS], vid[O_MAX_TAGS];
	uint16_t ethertype;		/* after the tags: 0x0800, 0x86dd, 0x0806, other */
	/* L3 */
	uint8_t family;			/* 4, 6, 0: not IP */
	uint8_t src[16], dst[16];
	uint8_t ttl, tos;
	uint8_t proto;			/* the final upper-layer protocol */
	uint8_t opt[40], optlen;	/* IPv4 options as written */
	uint8_t srr;			/* IPv4 options hold a source route */
	uint8_t ext[O_MAX_EXT], n_ext;	/* IPv6 extension headers before proto (44 = fragment) */
	uint8_t frag;			/* enum o_frag */
	uint32_t frag_id;
	uint16_t frag_off;		/* 8-byte units */
	uint8_t more;			/* OF_LATER: more fragments follow */
	/* L4 */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint8_t icmp_type, icmp_code;
	uint16_t echo_id;
	uint8_t has_inner;
	struct o_inner inner;
	uint16_t payload;		/* bytes after the L4 header */
	/* damage */
	uint8_t damage;			/* enum o_damage */
	uint16_t trunc_sel;		/* OD_TRUNC*: which header boundary (the builder resolves it) */
	uint16_t trunc_at;		/* OD_TRUNC*: bytes of the frame kept, 0: not resolved yet */
	/* bookkeeping */
	uint8_t twin;			/* 1: the metamorphic twin of the previous packet */
	uint8_t why;			/* generator scenario (for the report) */
};

/* What the builder knows about the frame it wrote. */
struct o_view {
	uint16_t len;
	bool malformed;			/* truncated or inconsistent headers: must be dropped */
	bool kernel_drops;		/* the kernel drops it before routing (bad checksum, SRR, ...) */
	bool l4;			/* ports / ICMP type readable (not a later fragment, not truncated) */
	bool ids;			/* ports / echo identifier inside the packet (frame and IP length) */
	uint16_t l3_off;		/* where the IP header starts */
};

/* Writes the frame; resolves p->trunc_at from p->trunc_sel the first time. */
int build_frame(const struct world *w, struct o_pkt *p, uint8_t *buf, struct o_view *v);
void pkt_describe(const struct world *w, const struct o_pkt *p, char *buf, size_t len);
int pkt_to_text(const struct world *w, const struct o_pkt *p, char *buf, size_t len);
int pkt_from_text(const struct world *w, const char *line, struct o_pkt *p);

/* ---- the programs ------------------------------------------------------- */
struct progs;
struct progs *progs_open(const struct world *w, FILE *log, char *err, size_t errlen);
void progs_close(struct progs *p);
/* 1 allowed, 0 dropped, negative errno */
int progs_run(struct progs *p, int hook, int ifindex, const uint8_t *frame, size_t len);
/* the reason the program counted for the last run (replay only: slow) */
const char *progs_last_reason(struct progs *p);
void progs_track_reasons(struct progs *p, bool on);

/* ---- the kernel's routing ----------------------------------------------- */
enum o_rtype { OR_ERR = 0, OR_LOCAL, OR_FORWARD, OR_MCAST };
struct o_route {
	uint8_t type;			/* enum o_rtype */
	int oif;			/* OR_FORWARD: the output ifindex */
	int err;			/* OR_ERR: the kernel's errno */
};
struct router;
struct router *router_open(const struct world *w, char *err, size_t errlen);
void router_close(struct router *r);
int route_get(struct router *r, int iif, int family, const uint8_t *src, const uint8_t *dst,
	      uint8_t proto, uint16_t sport, uint16_t dport, struct o_route *out);
unsigned long router_lookups(const struct router *r);

/* ---- delivery: where the kernel would put the packet --------------------- */
struct o_delivery {
	int owner;			/* OWN_* */
	int oif;			/* world.ifs index of the output interface, -1 */
	int intended;			/* the owner ignoring hop limits and source checks */
	char why[96];			/* "forward gw-ca", "local", "no route: ..." */
};

/* ---- invariants ---------------------------------------------------------- */
enum o_inv {
	OI_ISOLATION = 0,	/* §4.1: tenant A into tenant B only by a share or a reply */
	OI_ANTISPOOF,		/* §4.2 */
	OI_UPLINK_TENANT,	/* §4.12: uplink into a tenant only as a reply to its egress */
	OI_UPLINK_GATEWAY,	/* §4.5, §4.12: the uplink's exceptions addressed to the gateway */
	OI_GEO_FENCE,		/* §4.5: listen ports from allowed countries only */
	OI_EGRESS,		/* §4.6 and egress = none */
	OI_TENANT_GATEWAY,	/* §4.14 */
	OI_LINK_SHAPE,		/* §4.13 */
	OI_CLEARTEXT,		/* §4.11 */
	OI_FRAGMENT,		/* §4.7 */
	OI_MALFORMED,		/* §4.7 */
	OI__COUNT
};
extern const char *const inv_name[OI__COUNT];
extern const char *const inv_what[OI__COUNT];

#endif
