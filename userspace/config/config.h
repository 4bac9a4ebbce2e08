/* config.h — the typed configuration model (docs/config.md) and its loader.
 *
 * config_load() reads rempart.ini and every *.ini of the tenants directory
 * with iniparser, checks everything docs/config.md lists, and reports every error
 * (not only the first) into a diag list.  Selectors of rules (sites, cloud,
 * site:NAME) are expanded into prefix lists at load time, so consumers (the
 * reference evaluator, the policy compiler) only see prefixes.
 */
#ifndef REMPART_CONFIG_H
#define REMPART_CONFIG_H
#include <stdbool.h>
#include <stdint.h>
#include "lib/addr.h"
#include "lib/diag.h"
#include "rempart_abi.h"

#define RP_KEY_LEN 32
/* The tunnel MTU: 1420 by default (a 1500-byte uplink less WireGuard's 80
 * bytes over IPv6); at least 1280, IPv6's minimum link MTU (the tunnel
 * carries IPv6); at most 8920, a 9000-byte jumbo uplink less those 80. */
#define RP_MTU_DEFAULT 1420
#define RP_MTU_MIN 1280
#define RP_MTU_MAX 8920

enum rp_proto { RP_PROTO_ANY = 0, RP_PROTO_TCP, RP_PROTO_UDP, RP_PROTO_ICMP };
enum rp_fail_mode { RP_FAIL_CLOSED = 0, RP_FAIL_OPEN };
enum rp_egress { RP_EGRESS_NONE = 0, RP_EGRESS_NAT };
enum rp_geo_format { RP_GEO_TOR = 0, RP_GEO_CIDR, RP_GEO_MAXMIND_CSV, RP_GEO_MMDB };

struct rp_site {
	char *name;
	uint8_t public_key[RP_KEY_LEN];
	char *preshared_key_file;	/* absolute, NULL if none */
	bool has_psk;
	uint8_t psk[RP_KEY_LEN];	/* wiped by config_free */
	struct rp_prefix_list allowed_ips;
	char *endpoint;			/* "host:port" as written, NULL if none */
	uint16_t keepalive;		/* 0: off */
	struct rp_prefix_list allow_from;
	/* The site's own host addresses (/32, /128) in the tenant's tunnel
	 * networks.  With allowed_ips, every source the site may use: what
	 * WireGuard accepts from the peer, what the policy calls the site, what
	 * the tenant's table routes to the tunnel. */
	struct rp_prefix_list tunnel_ip;
	/* A key rotation in progress (`site rekey`): the previous key pair
	 * keeps working until the site's first handshake with public_key. */
	bool has_previous;
	uint8_t previous_public_key[RP_KEY_LEN];
	char *previous_preshared_key_file;	/* absolute, NULL if none */
	bool has_previous_psk;
	uint8_t previous_psk[RP_KEY_LEN];	/* wiped by config_free */
};

struct rp_rule {
	char *name;
	struct rp_prefix_list from, to;	/* selectors expanded to prefixes */
	char *from_text, *to_text;	/* as written, for explain and status */
	enum rp_proto proto;
	struct rp_port_list ports;	/* destination ports; n == 0: all */
	bool allow;
};

struct rp_share {
	char *name;
	struct rp_prefix_list to;
	enum rp_proto proto;
	struct rp_port_list ports;
	bool all_tenants;		/* tenants = * */
	char **tenants;			/* names, as written */
	size_t n_tenants;
	int *tenant_idx;		/* resolved indexes into config.tenants */
};

struct rp_tenant {
	char *name;
	uint16_t id;			/* 1..4000 */
	char *file;			/* path of its .ini */
	char *cloud_interface;
	uint16_t vlan;			/* 0: untagged */
	struct rp_prefix_list cloud_address;	/* gateway's own, with prefix length */
	struct rp_prefix_list cloud_prefixes;
	char *tunnel_interface;		/* default "wg-<name>" */
	struct rp_prefix_list tunnel_address;
	uint16_t listen_port;
	char *private_key_file;		/* absolute */
	uint8_t private_key[RP_KEY_LEN];	/* wiped by config_free */
	uint8_t public_key[RP_KEY_LEN];		/* derived, or public_key as written;
						 * zero when neither is known */
	bool has_public_key;		/* public_key written in [tenant] */
	struct rp_ccset site_countries;
	enum rp_egress egress;
	bool has_egress_countries;
	struct rp_ccset egress_countries;
	bool intra_allow;		/* intra = allow (default) */
	uint16_t mtu;			/* the tunnel's MTU; RP_MTU_DEFAULT if not set */
	bool has_mtu;			/* mtu written: site configs carry it */
	struct rp_prefix_list site_dns;	/* host prefixes: resolvers for the sites */

	/* A tenant key rotation in overlap (docs/keys.md): the next key on a
	 * second WireGuard interface, next_interface ("wn-<name>"), on
	 * next_listen_port.  next_interface is NULL when none is pending. */
	char *next_private_key_file;	/* absolute */
	uint8_t next_private_key[RP_KEY_LEN];	/* wiped by config_free */
	uint8_t next_public_key[RP_KEY_LEN];
	uint16_t next_listen_port;
	char *next_interface;

	struct rp_site *sites;
	size_t n_sites;
	struct rp_rule *rules;		/* file order */
	size_t n_rules;
	struct rp_share *shares;
	size_t n_shares;
};

/* The gateway's own addresses as the kernel has them: not from the files.
 * Filled by whoever compiles or evaluates the policy against the running
 * system (the dataplane at apply, `explain`: host_addrs_read()); empty
 * otherwise.  Freed by config_free. */
/* The tenant's second tunnel while a key rotation overlaps, else NULL. */
static inline const char *rp_tenant_next_if(const struct rp_tenant *t)
{
	return t->next_interface;
}

/* The tenant a tunnel interface (wg-NAME or, during a key rotation,
 * wn-NAME) belongs to; -1 if none.  *next: it is the second one. */
struct rp_config;
int rp_tunnel_owner(const struct rp_config *cfg, const char *ifname, bool *next);

/* [ha] (docs/ha.md): an active/standby pair; keepalived does VRRP.
 * enabled is false when rempart.ini has no [ha]; then the rest is zero. */
/* The pair's sync (peer endpoints, flows): UDP on sync_interface. */
#define RP_HA_SYNC_PORT 694
/* conntrackd's sync of the NAT tenants' conntrack (ha/ha_conntrackd.c): UDP
 * on sync_interface too. */
#define RP_HA_CT_PORT 3780

struct rp_ha {
	bool enabled;
	struct rp_addr peer;		/* the other gateway, over sync_interface */
	char *sync_interface;
	uint8_t priority;		/* 1..254: the higher is active */
	uint8_t vrid;			/* 1..255: VRRP virtual router id */
};

struct rp_host_addrs {
	struct rp_prefix_list all;	/* every address of every interface, with its length */
	struct rp_prefix_list uplink;	/* those of [gateway] uplink, in the kernel's order */
};

struct rp_config {
	char *path;			/* rempart.ini */
	char *dir;			/* its directory: relative paths start here */

	/* [gateway] */
	char *name;
	char *uplink;
	char *public_endpoint;
	char *tenants_dir;		/* absolute */
	char *state_dir;		/* absolute; default /var/lib/rempart */
	enum rp_fail_mode fail_mode;

	/* [geo] */
	char *geo_ipv4, *geo_ipv6;	/* absolute, NULL if not set */
	enum rp_geo_format geo_format;
	bool geo_unknown_allow;		/* unknown = allow */

	/* [management] */
	struct rp_prefix_list mgmt_allow_from;
	struct rp_port_list mgmt_tcp_ports;	/* n == 0: no management port */
	bool has_mgmt_countries;
	struct rp_ccset mgmt_countries;

	/* [metrics] */
	char *metrics_listen;		/* NULL or "": off */

	/* [ha] */
	struct rp_ha ha;

	struct rp_tenant *tenants;	/* sorted by id */
	size_t n_tenants;

	struct rp_host_addrs host;	/* runtime, see above */
};

/* Load PATH (a file, or a directory holding rempart.ini).  On success returns
 * 0 and fills *cfg.  On failure returns -EINVAL (or -errno) and adds one line
 * per error to *d, each "FILE: [SECTION] KEY: what is wrong" with FILE
 * relative to the config's directory.  flags: RP_CFG_* below. */
#define RP_CFG_SKIP_KEY_FILES 0x1	/* explain/lookups as non-root: don't read keys */
int config_load(const char *path, unsigned flags, struct rp_config *cfg, struct diag *d);
void config_free(struct rp_config *cfg);	/* wipes keys */
/* [gateway] state_dir of the configuration at PATH, read even when the rest
 * of it does not load (`down` must find what apply recorded): *out is
 * allocated (the caller frees), RP_STATE_DIR_DEFAULT when the file does not
 * name one or cannot be read.  Returns 1 when it came from the file. */
#define RP_STATE_DIR_DEFAULT "/var/lib/rempart"
int config_state_dir(const char *path, char **out);

/* Lookups used across modules. */
struct rp_tenant *config_tenant_by_name(const struct rp_config *cfg, const char *name);
struct rp_tenant *config_tenant_by_id(const struct rp_config *cfg, unsigned id);
const char *proto_name(enum rp_proto p);	/* "any" | "tcp" | "udp" | "icmp" */
/* Whether share SH is offered to the tenant at index TENANT of the config
 * (tenants = *, or named there once the shares are resolved). */
bool config_share_offered_to(const struct rp_share *sh, size_t tenant);
/* The rule for names of sites, rules and shares (what `check` accepts):
 * a-z 0-9 '-', not first, at most RP_NAME_MAX characters. */
#define RP_NAME_MAX 32
bool config_name_ok(const char *name, size_t max);
#endif
