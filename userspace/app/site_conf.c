// SPDX-License-Identifier: GPL-2.0
/* site_conf.c — a site's wg-quick configuration; see site_conf.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <qrencode.h>
#include "app/site_conf.h"
#include "lib/fileutil.h"
#include "lib/keys.h"
#include "lib/lazylib.h"
#include "lib/statedir.h"

const struct rp_site *site_by_name(const struct rp_tenant *t, const char *name)
{
	for (size_t i = 0; i < t->n_sites; i++)
		if (!strcasecmp(t->sites[i].name, name))
			return &t->sites[i];
	return NULL;
}

/* ---- what goes into the config ------------------------------------------ */

static void add_network(struct rp_prefix_list *l, const struct rp_prefix *p)
{
	struct rp_prefix m = *p, *v;

	prefix_mask(&m);
	for (size_t i = 0; i < l->n; i++)
		if (!memcmp(&l->v[i], &m, sizeof(m)))
			return;	/* two shares naming one address */
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return;	/* callers check for ENOMEM on the text */
	l->v = v;
	l->v[l->n++] = m;
}

/* What the site may reach through the gateway. */
static void allowed_ips(const struct rp_config *cfg, const struct rp_tenant *t,
			const struct rp_site *s, struct rp_prefix_list *out)
{
	size_t ti = (size_t)(t - cfg->tenants);

	for (size_t i = 0; i < t->cloud_prefixes.n; i++)
		add_network(out, &t->cloud_prefixes.v[i]);
	for (size_t i = 0; i < t->tunnel_address.n; i++)
		add_network(out, &t->tunnel_address.v[i]);
	/* the tenant's other sites: site-to-site goes through the gateway too
	 * (judged there by intra and the rules) */
	for (size_t o = 0; o < t->n_sites; o++)
		for (size_t i = 0; &t->sites[o] != s && i < t->sites[o].allowed_ips.n; i++)
			add_network(out, &t->sites[o].allowed_ips.v[i]);
	for (size_t p = 0; p < cfg->n_tenants; p++) {
		const struct rp_tenant *o = &cfg->tenants[p];

		for (size_t k = 0; o != t && k < o->n_shares; k++)
			for (size_t j = 0; config_share_offered_to(&o->shares[k], ti) &&
					   j < o->shares[k].to.n; j++)
				add_network(out, &o->shares[k].to.v[j]);
	}
}

static void endpoint(const struct rp_config *cfg, const struct rp_tenant *t, uint16_t port,
		     char *buf, size_t len)
{
	bool v6 = cfg->public_endpoint && strchr(cfg->public_endpoint, ':');

	if (!cfg->public_endpoint)
		buf[0] = 0;
	else
		snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", cfg->public_endpoint, v6 ? "]" : "",
			 port ? port : t->listen_port);
}

static void host_text(const struct rp_prefix *p, char *buf, size_t len)
{
	struct rp_addr a;

	prefix_host(p, &a);
	addr_format(&a, buf, len);
}

/* ---- text ----------------------------------------------------------------- */

static void list_line(FILE *f, const char *key, const struct rp_prefix_list *l, bool hosts)
{
	char buf[INET6_ADDRSTRLEN + 4];

	if (!l->n)
		return;
	fprintf(f, "%s = ", key);
	for (size_t i = 0; i < l->n; i++) {
		if (hosts)
			host_text(&l->v[i], buf, sizeof(buf));
		else
			prefix_format(&l->v[i], buf, sizeof(buf));
		fprintf(f, "%s%s", i ? ", " : "", buf);
	}
	fputc('\n', f);
}

char *site_conf_text(const struct rp_config *cfg, const struct rp_tenant *t,
		     const struct rp_site *s, const struct site_conf_keys *k)
{
	struct rp_prefix_list ips = { 0 };
	char b64[RP_KEY_B64_LEN + 1], ep[300], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int err;

	if (!f)
		return NULL;
	fprintf(f, "# rempart: site %s of tenant %s, gateway %s\n", s->name, t->name,
		cfg->name ? cfg->name : "");
	fprintf(f, "[Interface]\n");
	if (k->private_key)
		key_to_base64(k->private_key, b64);
	fprintf(f, "PrivateKey = %s\n", k->private_key ? b64 : SITE_CONF_PLACEHOLDER);
	/* /32 and /128: the site's own addresses, never its LAN's */
	list_line(f, "Address", &s->tunnel_ip, false);
	if (t->has_mtu)
		fprintf(f, "MTU = %u\n", t->mtu);
	list_line(f, "DNS", &t->site_dns, true);
	fprintf(f, "\n[Peer]\n");
	key_to_base64(k->gateway, b64);
	fprintf(f, "PublicKey = %s\n", b64);
	if (k->psk) {
		key_to_base64(k->psk, b64);
		fprintf(f, "PresharedKey = %s\n", b64);
	}
	allowed_ips(cfg, t, s, &ips);
	list_line(f, "AllowedIPs", &ips, false);
	free(ips.v);
	endpoint(cfg, t, k->port, ep, sizeof(ep));
	if (*ep)
		fprintf(f, "Endpoint = %s\n", ep);
	if (s->keepalive)
		fprintf(f, "PersistentKeepalive = %u\n", s->keepalive);
	explicit_bzero(b64, sizeof(b64));
	err = fclose(f);
	if (err || !text) {
		if (text)
			explicit_bzero(text, len);
		free(text);
		return NULL;
	}
	return text;
}

/* ---- JSON ----------------------------------------------------------------- */

static json_object *jlist(const struct rp_prefix_list *l, bool hosts)
{
	json_object *a = json_object_new_array();
	char buf[INET6_ADDRSTRLEN + 4];

	for (size_t i = 0; i < l->n; i++) {
		if (hosts)
			host_text(&l->v[i], buf, sizeof(buf));
		else
			prefix_format(&l->v[i], buf, sizeof(buf));
		json_object_array_add(a, json_object_new_string(buf));
	}
	return a;
}

static json_object *jkey(const uint8_t *key)
{
	char b64[RP_KEY_B64_LEN + 1];
	json_object *o;

	if (!key)
		return NULL;
	key_to_base64(key, b64);
	o = json_object_new_string(b64);
	explicit_bzero(b64, sizeof(b64));
	return o;
}

json_object *site_conf_json(const struct rp_config *cfg, const struct rp_tenant *t,
			    const struct rp_site *s, const struct site_conf_keys *k)
{
	json_object *o = json_object_new_object(), *in = json_object_new_object();
	json_object *peer = json_object_new_object();
	struct rp_prefix_list ips = { 0 };
	char ep[300], *text = site_conf_text(cfg, t, s, k);

	if (!text) {
		json_object_put(o);
		json_object_put(in);
		json_object_put(peer);
		return NULL;
	}
	json_object_object_add(o, "tenant", json_object_new_string(t->name));
	json_object_object_add(o, "site", json_object_new_string(s->name));
	json_object_object_add(o, "gateway", cfg->name ? json_object_new_string(cfg->name) : NULL);
	json_object_object_add(o, "complete", json_object_new_boolean(k->private_key != NULL));
	json_object_object_add(in, "private_key", jkey(k->private_key));
	json_object_object_add(in, "address", jlist(&s->tunnel_ip, false));
	json_object_object_add(in, "mtu", t->has_mtu ? json_object_new_int(t->mtu) : NULL);
	json_object_object_add(in, "dns", jlist(&t->site_dns, true));
	json_object_object_add(o, "interface", in);
	json_object_object_add(peer, "public_key", jkey(k->gateway));
	json_object_object_add(peer, "preshared_key", jkey(k->psk));
	allowed_ips(cfg, t, s, &ips);
	json_object_object_add(peer, "allowed_ips", jlist(&ips, false));
	free(ips.v);
	endpoint(cfg, t, k->port, ep, sizeof(ep));
	json_object_object_add(peer, "endpoint", *ep ? json_object_new_string(ep) : NULL);
	json_object_object_add(peer, "persistent_keepalive", json_object_new_int(s->keepalive));
	json_object_object_add(o, "peer", peer);
	json_object_object_add(o, "text", json_object_new_string(text));
	explicit_bzero(text, strlen(text));
	free(text);
	return o;
}

/* ---- QR code -------------------------------------------------------------- */

int site_conf_qr(FILE *f, const char *text)
{
	const int q = 2;	/* quiet zone */
	QRcode *qr;
	int w;

	errno = 0;
	qr = LAZY(LAZY_QR, QRcode_encodeString)(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	if (!qr)
		return errno ? -errno : -EINVAL;
	w = qr->width;
	/* two module rows per line: dark modules blank, light ones inked */
	for (int y = -q; y < w + q; y += 2) {
		for (int x = -q; x < w + q; x++) {
			bool top = y >= 0 && y < w && x >= 0 && x < w && (qr->data[y * w + x] & 1);
			bool bot = y + 1 >= 0 && y + 1 < w && x >= 0 && x < w &&
				   (qr->data[(y + 1) * w + x] & 1);

			fputs(!top && !bot ? "█" : !top ? "▀" : !bot ? "▄" : " ", f);
		}
		fputc('\n', f);
	}
	explicit_bzero(qr->data, (size_t)w * w);
	LAZY(LAZY_QR, QRcode_free)(qr);
	return 0;
}

/* ---- keys ----------------------------------------------------------------- */

static bool zero(const uint8_t *k)
{
	uint8_t acc = 0;

	for (int i = 0; i < 32; i++)
		acc |= k[i];
	return !acc;
}

/* A tenant's public key (the current one, or with next the next one):
 * from the config's public key, else the private key file, else the copy
 * apply saved in the state directory (state name: the tenant's name, with
 * ".next" for the next key). */
static int tenant_pubkey(const struct rp_config *cfg, const struct rp_tenant *t, bool next, uint8_t pub[32],
			 char *why, size_t whylen)
{
	const uint8_t *known = next ? t->next_public_key : t->public_key;
	const char *file = next ? t->next_private_key_file : t->private_key_file;
	char path[4096], name[64], priv_why[256], *text;
	uint8_t priv[32];
	int err;

	if (!zero(known)) {
		memcpy(pub, known, 32);
		return 0;
	}
	err = key_file_read(file, priv, priv_why, sizeof(priv_why));
	if (!err) {
		key_public_from_private(pub, priv);
		explicit_bzero(priv, sizeof(priv));
		return 0;
	}
	snprintf(name, sizeof(name), "%s%s", t->name, next ? ".next" : "");
	statedir_pubkey_path(path, cfg->state_dir, name);
	text = file_read_all(path, NULL);
	if (text) {
		text[strcspn(text, "\r\n")] = 0;
		err = key_from_base64(text, pub);
		free(text);
		if (!err)
			return 0;
	}
	snprintf(why, whylen, "the tenant's %spublic key is unknown: %sprivate_key_file %s %s, %s %s%s",
		 next ? "next " : "", next ? "next_" : "", file, priv_why, path,
		 text ? "does not hold a key" : "is not there (apply writes it)",
		 next ? "" : ", and [tenant] has no public_key");
	return -ENOKEY;
}

int site_tenant_pubkey(const struct rp_config *cfg, const struct rp_tenant *t, uint8_t pub[32],
		       char *why, size_t whylen)
{
	return tenant_pubkey(cfg, t, false, pub, why, whylen);
}

int site_tenant_next_pubkey(const struct rp_config *cfg, const struct rp_tenant *t,
			    uint8_t pub[32], char *why, size_t whylen)
{
	return tenant_pubkey(cfg, t, true, pub, why, whylen);
}

int site_pubkeys_save(const struct rp_config *cfg)
{
	char dir[4096], path[4200], b64[RP_KEY_B64_LEN + 2], *cur;
	int ret = 0;

	statedir_path(dir, cfg->state_dir, SD_PUBKEYS_DIR);
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		struct iovec iov = { b64, 0 };
		int err;

		if (t->next_interface && !zero(t->next_public_key)) {	/* a key rotation */
			char name[64];

			snprintf(name, sizeof(name), "%s.next", t->name);
			statedir_pubkey_path(path, cfg->state_dir, name);
			key_to_base64(t->next_public_key, b64);
			strcat(b64, "\n");
			iov.iov_len = strlen(b64);
			err = file_replace(path, &iov, 1, 0644, false);
			if (err && !ret)
				ret = err;
		}
		if (zero(t->public_key))
			continue;
		statedir_pubkey_path(path, cfg->state_dir, t->name);
		key_to_base64(t->public_key, b64);
		strcat(b64, "\n");
		iov.iov_len = strlen(b64);
		cur = file_read_all(path, NULL);
		if (cur && !strcmp(cur, b64)) {
			free(cur);
			continue;
		}
		free(cur);
		err = file_replace(path, &iov, 1, 0644, false);
		if (err && !ret)
			ret = err;
	}
	return ret;
}

int site_psk(const struct rp_site *s, uint8_t psk[32], char *why, size_t whylen)
{
	char w[256];
	int err;

	if (!s->preshared_key_file)
		return 0;
	err = key_file_read(s->preshared_key_file, psk, w, sizeof(w));
	if (err) {
		snprintf(why, whylen, "preshared_key_file %s %s", s->preshared_key_file, w);
		return err;
	}
	return 1;
}

/* ---- the next free tunnel_ip ---------------------------------------------- */

static bool used(const struct rp_tenant *t, const struct rp_prefix_list *lans,
		 const struct rp_addr *a)
{
	if (lans && prefix_list_longest_match(lans, a) >= 0)
		return true;
	for (size_t i = 0; i < t->n_sites; i++) {
		const struct rp_site *s = &t->sites[i];

		if (prefix_list_longest_match(&s->tunnel_ip, a) >= 0 ||
		    prefix_list_longest_match(&s->allowed_ips, a) >= 0)
			return true;
	}
	for (size_t i = 0; i < t->tunnel_address.n; i++)
		if (!memcmp(t->tunnel_address.v[i].addr, a->addr, sizeof(a->addr)) &&
		    t->tunnel_address.v[i].family == a->family)
			return true;
	return prefix_list_longest_match(&t->cloud_prefixes, a) >= 0;
}

/* a + n inside the last 32 bits (enough: at most 65536 candidates). */
static void add_low(struct rp_addr *a, const uint8_t *base, uint32_t n)
{
	unsigned b = a->family == AF_INET ? 4 : 16;
	uint32_t low;

	memcpy(a->addr, base, 16);
	memcpy(&low, a->addr + b - 4, 4);
	low = htonl(ntohl(low) + n);
	memcpy(a->addr + b - 4, &low, 4);
}

int site_next_tunnel_ips(const struct rp_tenant *t, const struct rp_prefix_list *lans,
			 struct rp_prefix_list *out)
{
	for (size_t i = 0; i < t->tunnel_address.n; i++) {
		struct rp_prefix net = t->tunnel_address.v[i], *v;
		unsigned bits = net.family == AF_INET ? 32 : 128, host = bits - net.len;
		uint32_t count = host >= 16 ? 65536 : 1u << host, n;
		struct rp_addr a = { .family = net.family };

		prefix_mask(&net);
		/* IPv4: skip the network and broadcast addresses of a /30 or wider;
		 * IPv6: the subnet-router anycast address of a /126 or wider */
		for (n = host >= 2 ? 1 : 0; n < count; n++) {
			add_low(&a, net.addr, n);
			if (net.family == AF_INET && host >= 2 && n == count - 1 && host <= 16)
				continue;
			if (!used(t, lans, &a))
				break;
		}
		if (n >= count)
			return -ENOSPC;
		v = realloc(out->v, (out->n + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		out->v = v;
		out->v[out->n] = (struct rp_prefix){ .family = a.family, .len = bits };
		memcpy(out->v[out->n].addr, a.addr, 16);
		out->n++;
	}
	return 0;
}
