// SPDX-License-Identifier: GPL-2.0
/* config_value.c — one validator per kind of value.  Each quotes the bad
 * value and says what was expected (wireguard-tools src/config.c style). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config/config_internal.h"
#include "config/country.h"
#include "lib/keys.h"

void cfg_verr(struct diag *d, const char *file, const char *section, const char *key,
	      const char *fmt, va_list ap)
{
	char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	for (char *p = msg; p && *p; p++)	/* a quoted value stays on one line */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (key)
		diag_add(d, "%s: [%s] %s: %s", file, section, key, msg ? msg : "?");
	else
		diag_add(d, "%s: [%s]: %s", file, section, msg ? msg : "?");
	free(msg);
}

void cfg_err(struct where *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_verr(w->d, w->f->rel, w->section, w->key, fmt, ap);
	va_end(ap);
	w->errors++;
}

void cfg_check_err(struct cfg_check *c, const struct rp_tenant *t, const char *section,
		   const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_verr(c->d, config_rel(c->cfg, t->file), section, key, fmt, ap);
	va_end(ap);
	(*c->errors)++;
}

char *xstrdup(const char *s)
{
	char *r = strdup(s);

	if (!r)
		abort();
	return r;
}

void *xcalloc(size_t n, size_t size)
{
	void *r = calloc(n ? n : 1, size ? size : 1);

	if (!r)
		abort();
	return r;
}

void *xgrow(void *v, size_t n, size_t size)
{
	if (!(n & (n - 1))) {
		v = realloc(v, (n ? 2 * n : 1) * size);
		if (!v)
			abort();
	}
	memset((char *)v + n * size, 0, size);
	return v;
}

char **list_split(const char *v, size_t *n)
{
	char *copy = xstrdup(v), *p = copy, *comma;
	char **items = NULL;

	*n = 0;
	for (;;) {
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		items = realloc(items, (*n + 1) * sizeof(*items));
		if (!items)
			abort();
		items[(*n)++] = xstrdup(str_trim(p));
		if (!comma)
			break;
		p = comma + 1;
	}
	free(copy);
	return items;
}

void list_free(char **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

static bool empty(struct where *w, const char *v)
{
	if (*v)
		return false;
	cfg_err(w, "empty value");
	return true;
}

bool config_name_ok(const char *v, size_t max)
{
	size_t len = strlen(v);

	return len && len <= max && strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") == len &&
	       v[0] != '-';
}

int val_name(struct where *w, const char *v, size_t max, char **out)
{
	if (empty(w, v))
		return -EINVAL;
	if (!config_name_ok(v, max)) {
		cfg_err(w, "'%s' is not a name (a-z, 0-9 and '-', not first, at most %zu characters)",
			v, max);
		return -EINVAL;
	}
	free(*out);
	*out = xstrdup(v);
	return 0;
}

int val_uint(struct where *w, const char *v, unsigned long lo, unsigned long hi,
	     unsigned long *out)
{
	unsigned long x;
	char *end;

	if (empty(w, v))
		return -EINVAL;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (!isdigit((unsigned char)v[0]) || *end || errno || x < lo || x > hi) {
		cfg_err(w, "'%s' is not a number from %lu to %lu", v, lo, hi);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

int val_port(struct where *w, const char *v, uint16_t *out)
{
	unsigned long x;

	if (val_uint(w, v, 1, 65535, &x))
		return -EINVAL;
	*out = x;
	return 0;
}

int val_ifname(struct where *w, const char *v, char **out)
{
	size_t len = strlen(v);

	if (empty(w, v))
		return -EINVAL;
	if (len >= IFNAMSIZ || !strcmp(v, ".") || !strcmp(v, "..") ||
	    strpbrk(v, "/: \t\"'\\")) {
		cfg_err(w, "'%s' is not an interface name (at most %d characters, no '/', ':' or spaces)",
			v, IFNAMSIZ - 1);
		return -EINVAL;
	}
	free(*out);
	*out = xstrdup(v);
	return 0;
}

/* lib's, aborting on ENOMEM as xstrdup does: a config loader has no way on */
int prefix_list_add(struct rp_prefix_list *l, const struct rp_prefix *p)
{
	if (prefix_list_push(l, p))
		abort();
	return 0;
}

int prefix_list_append(struct rp_prefix_list *l, const struct rp_prefix_list *from)
{
	if (prefix_list_cat(l, from))
		abort();
	return 0;
}

static bool host_bits_set(const struct rp_prefix *p, struct rp_prefix *net)
{
	*net = *p;
	prefix_mask(net);
	return memcmp(net->addr, p->addr, sizeof(p->addr)) != 0;
}

/* Each item of the comma-separated list v to one(w, item, ctx), which
 * quotes an item it refuses.  0, or -EINVAL if v is empty or any item was
 * refused (every item is tried: one message each). */
static int each_item(struct where *w, const char *v,
		     int (*one)(struct where *w, const char *item, void *ctx), void *ctx)
{
	unsigned bad = 0;
	size_t n;
	char **items;

	if (empty(w, v))
		return -EINVAL;
	items = list_split(v, &n);
	for (size_t i = 0; i < n; i++)
		if (one(w, items[i], ctx))
			bad++;
	list_free(items, n);
	return bad ? -EINVAL : 0;
}

struct prefix_item {
	const char *list;	/* the whole value, for an empty item */
	bool network;
	struct rp_prefix_list l;
};

static int prefix_item(struct where *w, const char *item, void *ctx)
{
	struct prefix_item *x = ctx;
	char buf[INET6_ADDRSTRLEN + 8];
	struct rp_prefix p, net;

	if (!*item) {
		cfg_err(w, "empty item in the list '%s'", x->list);
	} else if (prefix_parse(item, &p)) {
		cfg_err(w, "'%s' is not a prefix", item);
	} else if (x->network && host_bits_set(&p, &net)) {
		prefix_format(&net, buf, sizeof(buf));
		cfg_err(w, "'%s' has host bits set (did you mean '%s'?)", item, buf);
	} else if (!x->network && !strchr(item, '/')) {
		cfg_err(w, "'%s' needs a prefix length ('%s/24' or '/64')", item, item);
	} else {
		prefix_list_add(&x->l, &p);
		return 0;
	}
	return -EINVAL;
}

/* network: a network prefix (host bits must be zero); otherwise an
 * interface address with its prefix length ("10.20.0.1/24"). */
int val_prefixes(struct where *w, const char *v, bool network, struct rp_prefix_list *out)
{
	struct prefix_item x = { .list = v, .network = network };

	if (each_item(w, v, prefix_item, &x)) {
		free(x.l.v);
		return -EINVAL;
	}
	free(out->v);
	*out = x.l;
	return 0;
}

static int port_item(struct where *w, const char *item, void *ctx)
{
	struct rp_port_list *l = ctx;
	struct rp_port_range r, *nv;

	if (port_range_parse(item, &r)) {
		cfg_err(w, "'%s' is not a port (1-65535) or a range 'a-b' with a <= b", item);
		return -EINVAL;
	}
	nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		abort();
	l->v = nv;
	l->v[l->n++] = r;
	return 0;
}

struct address_item {
	const char *list;
	struct rp_prefix_list l;
};

static int address_item(struct where *w, const char *item, void *ctx)
{
	struct address_item *x = ctx;
	struct rp_prefix p;

	if (!*item) {
		cfg_err(w, "empty item in the list '%s'", x->list);
		return -EINVAL;
	}
	if (prefix_parse(item, &p)) {
		cfg_err(w, "'%s' is not an IP address", item);
		return -EINVAL;
	}
	if (p.len != (p.family == AF_INET ? 32 : 128)) {
		cfg_err(w, "'%s' is not one address (write it without a length, or /%d)", item,
			p.family == AF_INET ? 32 : 128);
		return -EINVAL;
	}
	for (size_t k = 0; k < x->l.n; k++)
		if (!memcmp(&x->l.v[k], &p, sizeof(p))) {
			cfg_err(w, "'%s' is listed twice", item);
			return -EINVAL;
		}
	prefix_list_add(&x->l, &p);
	return 0;
}

/* Host addresses: "10.0.0.5" or "10.0.0.5/32", "fd00::5" or "fd00::5/128";
 * kept as host prefixes.  A repeated address is an error. */
int val_addresses(struct where *w, const char *v, struct rp_prefix_list *out)
{
	struct address_item x = { .list = v };

	if (each_item(w, v, address_item, &x)) {
		free(x.l.v);
		return -EINVAL;
	}
	free(out->v);
	*out = x.l;
	return 0;
}

int val_ports(struct where *w, const char *v, struct rp_port_list *out)
{
	struct rp_port_list l = { 0 };

	if (each_item(w, v, port_item, &l)) {
		free(l.v);
		return -EINVAL;
	}
	free(out->v);
	*out = l;
	return 0;
}

static int country_item(struct where *w, const char *item, void *ctx)
{
	if (!ccset_add_item(ctx, item))
		return 0;
	cfg_err(w, "'%s' is not an ISO 3166-1 alpha-2 country code (or EU)", item);
	return -EINVAL;
}

int val_countries(struct where *w, const char *v, struct rp_ccset *out)
{
	struct rp_ccset s = { 0 };

	if (each_item(w, v, country_item, &s))
		return -EINVAL;
	*out = s;
	return 0;
}

/* Collapse "//", "/./" and "dir/../" of an absolute path, in place
 * (lexically: the file need not exist yet). */
static void normalize_path(char *path)
{
	char *out = path, *p = path;

	while (*p) {
		while (*p == '/')
			p++;
		char *end = p + strcspn(p, "/");
		size_t len = end - p;

		if (len == 1 && p[0] == '.') {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (out > path && *--out != '/')
				;
		} else if (len) {
			*out++ = '/';
			memmove(out, p, len);
			out += len;
		}
		p = end;
	}
	if (out == path)
		*out++ = '/';
	*out = '\0';
}

int val_path(struct where *w, const char *v, char **out)
{
	char *r;

	if (empty(w, v))
		return -EINVAL;
	if (v[0] == '/')
		r = xstrdup(v);
	else if (asprintf(&r, "%s/%s", w->f->dir, v) < 0)
		abort();
	normalize_path(r);
	free(*out);
	*out = r;
	return 0;
}

static bool is_hostname(const char *h)
{
	size_t len = strlen(h);

	if (!len || len > 253 || h[0] == '-' || h[0] == '.' || h[len - 1] == '.' ||
	    strstr(h, ".."))
		return false;
	for (; *h; h++)
		if (!isalnum((unsigned char)*h) && *h != '-' && *h != '.')
			return false;
	return true;
}

int val_host(struct where *w, const char *v, char **out)
{
	struct rp_addr a;

	if (empty(w, v))
		return -EINVAL;
	if (addr_parse(v, &a) && !is_hostname(v)) {
		cfg_err(w, "'%s' is not a host name or an IP address", v);
		return -EINVAL;
	}
	free(*out);
	*out = xstrdup(v);
	return 0;
}

/* "host:port", "1.2.3.4:port", "[v6]:port". */
int val_hostport(struct where *w, const char *v, bool ip_only, char **out)
{
	char host[256], *colon;
	const char *hs = v;
	size_t hlen;
	struct rp_port_range port;
	struct rp_addr a;

	if (empty(w, v))
		return -EINVAL;
	if (v[0] == '[') {
		const char *close = strchr(v, ']');

		if (!close || close[1] != ':')
			goto bad;
		hs = v + 1;
		hlen = close - hs;
		colon = (char *)close + 1;
	} else {
		colon = strrchr(v, ':');
		if (!colon)
			goto bad;
		hlen = colon - v;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, hs, hlen);
	host[hlen] = '\0';
	if (v[0] == '[') {
		if (addr_parse(host, &a) || a.family != AF_INET6)
			goto bad;
	} else if (addr_parse(host, &a)) {
		if (ip_only || strchr(host, ':') || !is_hostname(host))
			goto bad;
	} else if (a.family != AF_INET) {
		goto bad;
	}
	if (port_range_parse(colon + 1, &port) || port.lo != port.hi || strchr(colon + 1, '-'))
		goto bad;
	free(*out);
	*out = xstrdup(v);
	return 0;
bad:
	cfg_err(w, "'%s' is not %s:port (an IPv6 address as [address]:port, port 1-65535)", v,
		ip_only ? "address" : "host");
	return -EINVAL;
}

int val_proto(struct where *w, const char *v, enum rp_proto *out)
{
	static const char *const names[] = { "any", "tcp", "udp", "icmp", NULL };
	int i;

	if (val_choice(w, v, names, &i))
		return -EINVAL;
	*out = (enum rp_proto)i;
	return 0;
}

int val_choice(struct where *w, const char *v, const char *const *choices, int *out)
{
	char expected[128] = "";

	if (empty(w, v))
		return -EINVAL;
	for (int i = 0; choices[i]; i++)
		if (!strcasecmp(v, choices[i])) {
			*out = i;
			return 0;
		}
	for (int i = 0; choices[i]; i++)
		snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected), "%s%s",
			 i ? (choices[i + 1] ? ", " : " or ") : "", choices[i]);
	cfg_err(w, "'%s' is not one of %s", v, expected);
	return -EINVAL;
}

int val_key(struct where *w, const char *v, uint8_t key[RP_KEY_LEN])
{
	if (empty(w, v))
		return -EINVAL;
	if (key_from_base64(v, key)) {
		cfg_err(w, "'%s' is not a key (base64 of 32 bytes, 44 characters)", v);
		return -EINVAL;
	}
	return 0;
}

int val_key_file(struct where *w, const char *v, char **path, uint8_t key[RP_KEY_LEN])
{
	char why[256];

	if (val_path(w, v, path))
		return -EINVAL;
	if (w->flags & RP_CFG_SKIP_KEY_FILES)
		return 0;
	if (key_file_read(*path, key, why, sizeof(why))) {
		cfg_err(w, "'%s' %s", v, why);
		return -EINVAL;
	}
	return 0;
}

void parse_section(struct where *w, const struct ini_section *s,
		   const struct key_spec *specs, void *obj)
{
	w->section = s->name;
	for (size_t i = 0; i < s->n; i++) {
		const struct key_spec *k;

		w->key = s->e[i].key;
		for (k = specs; k->key; k++)
			if (!strcmp(k->key, s->e[i].key))
				break;
		if (!k->key) {
			char known[512] = "";

			for (k = specs; k->key; k++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
					 k == specs ? "" : ", ", k->key);
			cfg_err(w, "unknown key (valid here: %s)", known);
			continue;
		}
		k->parse(w, s->e[i].value, obj);
	}
	for (const struct key_spec *k = specs; k->key; k++) {
		bool found = false;

		for (size_t i = 0; i < s->n && !found; i++)
			found = !strcmp(k->key, s->e[i].key);
		if (k->required && !found) {
			w->key = k->key;
			cfg_err(w, "missing (required)");
		}
	}
	w->key = NULL;
}
