/* site_conf.h — the wg-quick configuration a site installs (rempart(8)), as
 * text, JSON or a QR code, from the configuration model; the tenant's
 * public key for it without its private key; the next free tunnel_ip.
 *
 * [Interface]: PrivateKey (the site's, or REPLACE_WITH_SITE_PRIVATE_KEY
 * since the gateway never stores it), Address = the site's tunnel_ip (/32,
 * /128; no line without), MTU = the tenant's mtu (when set), DNS = its
 * site_dns.  [Peer]: the tenant's public key, the site's preshared key,
 * AllowedIPs = what the site may reach through the gateway (the tenant's
 * cloud prefixes and tunnel networks, its other sites' allowed_ips, the
 * shares offered to the tenant), Endpoint = public_endpoint:listen_port,
 * PersistentKeepalive = the site's keepalive. */
#ifndef REMPART_SITE_CONF_H
#define REMPART_SITE_CONF_H
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include "config/config.h"

#define SITE_CONF_PLACEHOLDER "REPLACE_WITH_SITE_PRIVATE_KEY"

struct site_conf_keys {
	const uint8_t *private_key;	/* the site's; NULL: the placeholder */
	const uint8_t *psk;		/* NULL: no PresharedKey line */
	const uint8_t *gateway;		/* the tenant's public key */
	uint16_t port;			/* the gateway's port; 0: [tenant] listen_port */
};

/* The text (malloc'd; wipe it: it may hold keys), NULL on ENOMEM. */
char *site_conf_text(const struct rp_config *cfg, const struct rp_tenant *t,
		     const struct rp_site *s, const struct site_conf_keys *k);
/* {"tenant", "site", "gateway", "complete" (private key included),
 *  "interface": {"private_key" (null when not included), "address": [],
 *  "mtu" (null when not set), "dns": []}, "peer": {"public_key",
 *  "preshared_key" (null: none), "allowed_ips": [], "endpoint" (null),
 *  "persistent_keepalive" (0: off)}, "text": the wg-quick text}. */
json_object *site_conf_json(const struct rp_config *cfg, const struct rp_tenant *t,
			    const struct rp_site *s, const struct site_conf_keys *k);

/* TEXT as a QR code on f (terminal half blocks, like `qrencode -t UTF8`).
 * 0, or -errno (libqrencode missing, text too long). */
int site_conf_qr(FILE *f, const char *text);

/* During a tenant key rotation (docs/keys.md): the tenant's next public
 * key, from next_private_key_file, else the copy `apply` keeps in the
 * state directory (pubkeys/TENANT.next.pub).  0, or -errno with why. */
int site_tenant_next_pubkey(const struct rp_config *cfg, const struct rp_tenant *t,
			    uint8_t pub[32], char *why, size_t whylen);

/* The tenant's public key: the one the config holds (derived from its
 * private key, or [tenant] public_key), else derived from the private key
 * file, else the copy `apply` keeps in the state directory.  0, or -errno
 * with what was tried in WHY. */
int site_tenant_pubkey(const struct rp_config *cfg, const struct rp_tenant *t, uint8_t pub[32],
		       char *why, size_t whylen);
/* Keep every tenant's public key in STATE_DIR/pubkeys/NAME.pub (mode 0644)
 * for site_tenant_pubkey; after a successful apply.  0 or -errno. */
int site_pubkeys_save(const struct rp_config *cfg);

/* The site's preshared key from its file (if it has one): 1 with it in psk,
 * 0 without one, -errno with what is wrong in WHY. */
int site_psk(const struct rp_site *s, uint8_t psk[32], char *why, size_t whylen);

/* The next free tunnel_ip of tenant T: in each of its tunnel networks, the
 * lowest host address that is not the gateway's, not the network's (or
 * broadcast), no site's tunnel_ip and in no LAN (nor in LANS, the new
 * site's) or cloud prefix.  Appended to out (host prefixes); -ENOSPC when
 * a network is full. */
int site_next_tunnel_ips(const struct rp_tenant *t, const struct rp_prefix_list *lans,
			 struct rp_prefix_list *out);

/* A site by name (case-insensitive, as iniparser reads section names). */
const struct rp_site *site_by_name(const struct rp_tenant *t, const char *name);
#endif
