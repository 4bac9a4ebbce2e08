// SPDX-License-Identifier: GPL-2.0
/* config.c — config_load(): rempart.ini ([gateway], [geo], [management],
 * [metrics]), then every *.ini of the tenants directory (config_tenant.c),
 * then the checks across files (config_check.c).  Every error is collected;
 * nothing stops at the first. */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config/config_internal.h"

#define CFG (struct rp_config *)obj

/* ---- [gateway] ---------------------------------------------------------- */

static int gw_name(struct where *w, const char *v, void *obj)
{
	return val_host(w, v, &(CFG)->name);
}

static int gw_uplink(struct where *w, const char *v, void *obj)
{
	return val_ifname(w, v, &(CFG)->uplink);
}

static int gw_public_endpoint(struct where *w, const char *v, void *obj)
{
	return val_host(w, v, &(CFG)->public_endpoint);
}

static int gw_tenants(struct where *w, const char *v, void *obj)
{
	return val_path(w, v, &(CFG)->tenants_dir);
}

static int gw_state_dir(struct where *w, const char *v, void *obj)
{
	return val_path(w, v, &(CFG)->state_dir);
}

static int gw_fail_mode(struct where *w, const char *v, void *obj)
{
	static const char *const modes[] = { "closed", "open", NULL };
	int m;

	if (val_choice(w, v, modes, &m))
		return -EINVAL;
	(CFG)->fail_mode = m;
	return 0;
}

static const struct key_spec gateway_keys[] = {
	{ "name", gw_name, false },
	{ "uplink", gw_uplink, true },
	{ "public_endpoint", gw_public_endpoint, false },
	{ "tenants", gw_tenants, false },
	{ "state_dir", gw_state_dir, false },
	{ "fail_mode", gw_fail_mode, false },
	{ 0 }
};

/* ---- [geo] -------------------------------------------------------------- */

static int geo_file(struct where *w, const char *v, char **out)
{
	if (val_path(w, v, out))
		return -EINVAL;
	if (access(*out, R_OK)) {
		cfg_err(w, "'%s' cannot be read: %s", v, strerror(errno));
		return -EINVAL;
	}
	return 0;
}

static int geo_ipv4(struct where *w, const char *v, void *obj)
{
	return geo_file(w, v, &(CFG)->geo_ipv4);
}

static int geo_ipv6(struct where *w, const char *v, void *obj)
{
	return geo_file(w, v, &(CFG)->geo_ipv6);
}

static int geo_format(struct where *w, const char *v, void *obj)
{
	static const char *const formats[] = { "tor", "cidr", "maxmind-csv", "mmdb", NULL };
	int f;

	if (val_choice(w, v, formats, &f))
		return -EINVAL;
	(CFG)->geo_format = f;
	return 0;
}

static int geo_unknown(struct where *w, const char *v, void *obj)
{
	static const char *const verdicts[] = { "deny", "allow", NULL };
	int u;

	if (val_choice(w, v, verdicts, &u))
		return -EINVAL;
	(CFG)->geo_unknown_allow = u == 1;
	return 0;
}

static const struct key_spec geo_keys[] = {
	{ "ipv4", geo_ipv4, false },
	{ "ipv6", geo_ipv6, false },
	{ "format", geo_format, false },
	{ "unknown", geo_unknown, false },
	{ 0 }
};

/* ---- [management] ------------------------------------------------------- */

static int mgmt_allow_from(struct where *w, const char *v, void *obj)
{
	return val_prefixes(w, v, true, &(CFG)->mgmt_allow_from);
}

static int mgmt_tcp_ports(struct where *w, const char *v, void *obj)
{
	return val_ports(w, v, &(CFG)->mgmt_tcp_ports);
}

static int mgmt_countries(struct where *w, const char *v, void *obj)
{
	if (val_countries(w, v, &(CFG)->mgmt_countries))
		return -EINVAL;
	(CFG)->has_mgmt_countries = true;
	return 0;
}

static const struct key_spec management_keys[] = {
	{ "allow_from", mgmt_allow_from, false },
	{ "tcp_ports", mgmt_tcp_ports, false },
	{ "countries", mgmt_countries, false },
	{ 0 }
};

/* ---- [metrics] ---------------------------------------------------------- */

static int metrics_listen(struct where *w, const char *v, void *obj)
{
	if (!*v)	/* empty: off */
		return 0;
	return val_hostport(w, v, true, &(CFG)->metrics_listen);
}

static const struct key_spec metrics_keys[] = {
	{ "listen", metrics_listen, false },
	{ 0 }
};

/* ---- [ha] --------------------------------------------------------------- */

static int ha_peer(struct where *w, const char *v, void *obj)
{
	if (addr_parse(v, &(CFG)->ha.peer)) {
		cfg_err(w, "'%s' is not an IP address (the other gateway, over sync_interface)", v);
		return -EINVAL;
	}
	return 0;
}

static int ha_sync_interface(struct where *w, const char *v, void *obj)
{
	return val_ifname(w, v, &(CFG)->ha.sync_interface);
}

static int ha_priority(struct where *w, const char *v, void *obj)
{
	unsigned long x;

	if (val_uint(w, v, 1, 254, &x))
		return -EINVAL;
	(CFG)->ha.priority = x;
	return 0;
}

static int ha_vrid(struct where *w, const char *v, void *obj)
{
	unsigned long x;

	if (val_uint(w, v, 1, 255, &x))
		return -EINVAL;
	(CFG)->ha.vrid = x;
	return 0;
}

static const struct key_spec ha_keys[] = {
	{ "peer", ha_peer, true },
	{ "sync_interface", ha_sync_interface, true },
	{ "priority", ha_priority, true },
	{ "vrid", ha_vrid, true },
	{ 0 }
};

static const struct {
	const char *name;
	const struct key_spec *keys;
} main_sections[] = {
	{ "gateway", gateway_keys },
	{ "geo", geo_keys },
	{ "management", management_keys },
	{ "metrics", metrics_keys },
	{ "ha", ha_keys },
};

static void load_main(struct rp_config *cfg, struct ini_file *f, unsigned flags,
		      struct diag *d, unsigned *errors)
{
	struct where w = { .d = d, .f = f, .flags = flags };
	bool have_gateway = false;

	for (size_t i = 0; i < f->n; i++) {
		size_t k;

		for (k = 0; k < sizeof(main_sections) / sizeof(main_sections[0]); k++)
			if (!strcmp(f->s[i].name, main_sections[k].name))
				break;
		if (k == sizeof(main_sections) / sizeof(main_sections[0])) {
			w.section = f->s[i].name;
			w.key = NULL;
			cfg_err(&w, "unknown section in rempart.ini (valid: gateway, geo, management, "
				    "metrics, ha; tenants go in the tenants directory)");
			continue;
		}
		have_gateway |= k == 0;
		cfg->ha.enabled |= !strcmp(main_sections[k].name, "ha");
		parse_section(&w, &f->s[i], main_sections[k].keys, cfg);
	}
	/* management is reachable only with both */
	if (!ini_get(f, "management", "allow_from") != !ini_get(f, "management", "tcp_ports")) {
		w.section = "management";
		w.key = ini_get(f, "management", "allow_from") ? "tcp_ports" : "allow_from";
		cfg_err(&w, "missing: allow_from and tcp_ports go together (management is "
			    "reachable only with both)");
	}
	if (!have_gateway) {
		w.section = "gateway";
		w.key = NULL;
		cfg_err(&w, "missing section (it names at least the uplink)");
	}
	*errors += w.errors;
}

/* [ha] against the rest (docs/ha.md): the virtual addresses are
 * public_endpoint and every cloud_address, so public_endpoint must be an
 * address, of the family VRRP carries to peer; the sync link is a link of
 * its own, neither the uplink nor a tenant's. */
static void ha_check(struct rp_config *cfg, struct ini_file *f, struct diag *d, unsigned *errors)
{
	struct where w = { .d = d, .f = f, .section = "ha" };
	struct rp_addr ep;

	if (!cfg->ha.enabled)
		return;
	if (!cfg->public_endpoint || addr_parse(cfg->public_endpoint, &ep)) {
		w.section = "gateway";
		w.key = "public_endpoint";
		if (!cfg->public_endpoint)
			cfg_err(&w, "missing: with [ha] it is the virtual address the sites connect to");
		else
			cfg_err(&w, "'%s' is not an IP address: with [ha] it is the virtual address "
				    "the sites connect to", cfg->public_endpoint);
	} else if (cfg->ha.peer.family && cfg->ha.peer.family != ep.family) {
		w.key = "peer";
		cfg_err(&w, "'%s' is %s but public_endpoint is %s: VRRP carries one family",
			ini_get(f, "ha", "peer"), cfg->ha.peer.family == AF_INET ? "IPv4" : "IPv6",
			ep.family == AF_INET ? "IPv4" : "IPv6");
	}
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		static const int sync_ports[] = { RP_HA_SYNC_PORT, RP_HA_CT_PORT };

		for (size_t k = 0; k < 2; k++) {
			int port = sync_ports[k];

			if (t->listen_port != port && t->next_listen_port != port)
				continue;
			w.section = "ha";
			w.key = "sync_interface";
			cfg_err(&w, "udp/%d carries the pair's %s, but it is tenant %s's %s (%s)", port,
				k ? "conntrack sync" : "sync", t->name,
				t->listen_port == port ? "listen_port" : "next_listen_port",
				t->file ? t->file : t->name);
		}
	}
	if (!cfg->ha.sync_interface)
		goto out;
	w.section = "ha";
	w.key = "sync_interface";
	if (cfg->uplink && !strcmp(cfg->ha.sync_interface, cfg->uplink))
		cfg_err(&w, "'%s' is the uplink: the sync link is a dedicated link between the two "
			    "gateways", cfg->ha.sync_interface);
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		if (strcmp(cfg->ha.sync_interface, t->cloud_interface) &&
		    strcmp(cfg->ha.sync_interface, t->tunnel_interface))
			continue;
		cfg_err(&w, "'%s' is an interface of tenant %s: the sync link is a dedicated link "
			    "between the two gateways", cfg->ha.sync_interface, t->name);
		break;
	}
out:
	*errors += w.errors;
}

/* ---- tenants directory -------------------------------------------------- */

static int ini_name(const struct dirent *e)
{
	size_t len = strlen(e->d_name);

	return e->d_name[0] != '.' && len > 4 && !strcmp(e->d_name + len - 4, ".ini");
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* One tenant file, read by whichever loader thread takes it. */
struct tenant_job {
	char *path;
	struct rp_tenant t;
	struct diag d;		/* its messages, merged in file order */
	unsigned errors;
	bool read;		/* the file could be read (t is loaded) */
};

struct tenant_jobs {
	const struct rp_config *cfg;
	unsigned flags;
	struct tenant_job *v;
	size_t n;
	atomic_size_t next;
};

static void *load_tenant_files(void *arg)
{
	struct tenant_jobs *js = arg;
	size_t i;

	while ((i = atomic_fetch_add(&js->next, 1)) < js->n) {
		struct tenant_job *j = &js->v[i];
		struct ini_file f;

		if (ini_read(j->path, config_rel(js->cfg, j->path), &f, &j->d)) {
			j->errors++;
		} else {
			tenant_load(&f, js->flags, &j->t, &j->d, &j->errors);
			j->read = true;
		}
		ini_free(&f);
	}
	return NULL;
}

/* Tenant files are independent until config_check: with many of them
 * (100 tenants x 100 sites is some 40,000 lines and 100 key derivations),
 * they are read by one thread per CPU, up to 4. */
static void load_tenant_jobs(struct tenant_jobs *js)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = js->n < 16 ? 1 : cpus < 1 ? 1 : cpus > 4 ? 4 : (size_t)cpus;
	pthread_t tid[4];
	size_t started = 0;

	while (started + 1 < want && !pthread_create(&tid[started], NULL, load_tenant_files, js))
		started++;
	load_tenant_files(js);
	for (size_t i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
}

/* Returns false when some tenant file could not be read. */
static bool load_tenants(struct rp_config *cfg, struct ini_file *main, unsigned flags,
			 struct diag *d, unsigned *errors)
{
	struct tenant_jobs js = { .cfg = cfg, .flags = flags };
	struct dirent **names = NULL;
	bool complete = true;
	int n;

	n = scandir(cfg->tenants_dir, &names, ini_name, name_cmp);
	if (n < 0) {
		int err = errno;
		const char *v = ini_get(main, "gateway", "tenants");

		diag_add(d, "%s: [gateway] tenants: cannot open the tenants directory '%s': %s",
			 main->rel, v ? v : config_rel(cfg, cfg->tenants_dir), strerror(err));
		(*errors)++;
		return false;
	}
	js.v = xcalloc(n + 1, sizeof(*js.v));
	js.n = n;
	for (int i = 0; i < n; i++) {
		if (asprintf(&js.v[i].path, "%s/%s", cfg->tenants_dir, names[i]->d_name) < 0)
			abort();
		free(names[i]);
	}
	free(names);
	load_tenant_jobs(&js);
	cfg->tenants = xcalloc(n, sizeof(*cfg->tenants));
	for (int i = 0; i < n; i++) {
		struct tenant_job *j = &js.v[i];

		diag_move(d, &j->d);
		*errors += j->errors;
		if (j->read)
			cfg->tenants[cfg->n_tenants++] = j->t;
		else
			complete = false;
		free(j->path);
	}
	free(js.v);
	return complete;
}

/* ---- entry points ------------------------------------------------------- */

static int resolve_path(const char *path, struct rp_config *cfg)
{
	struct stat st;
	char *file, *slash, *real;

	if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		if (asprintf(&file, "%s/rempart.ini", path) < 0)
			abort();
	} else {
		file = xstrdup(path);
	}
	/* The directory, made absolute: relative paths in the files start there. */
	slash = strrchr(file, '/');
	if (slash) {
		*slash = '\0';
		real = realpath(*file ? file : "/", NULL);
		*slash = '/';
	} else {
		real = realpath(".", NULL);
	}
	if (!real) {
		int err = -errno;

		free(file);
		return err;
	}
	cfg->dir = real;
	if (asprintf(&cfg->path, "%s/%s", strcmp(real, "/") ? real : "", slash ? slash + 1 : file) < 0)
		abort();
	free(file);
	return 0;
}

int config_load(const char *path, unsigned flags, struct rp_config *cfg, struct diag *d)
{
	struct ini_file main;
	unsigned errors = 0;
	bool complete;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	ret = resolve_path(path, cfg);
	if (ret) {
		diag_add(d, "%s: cannot open: %s", path, strerror(-ret));
		goto fail;
	}
	ret = ini_read(cfg->path, config_rel(cfg, cfg->path), &main, d);
	if (ret) {
		/* A file with syntax errors is not read further. */
		ini_free(&main);
		goto fail;
	}
	load_main(cfg, &main, flags, d, &errors);
	if (!cfg->name)
		cfg->name = xstrdup("rempart");
	if (!cfg->state_dir)
		cfg->state_dir = xstrdup(RP_STATE_DIR_DEFAULT);
	if (!cfg->tenants_dir && asprintf(&cfg->tenants_dir, "%s/tenants.d", cfg->dir) < 0)
		abort();
	complete = load_tenants(cfg, &main, flags, d, &errors);
	ha_check(cfg, &main, d, &errors);
	ini_free(&main);
	config_check(cfg, complete, d, &errors);
	if (errors || diag_count(d)) {
		ret = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	config_free(cfg);
	return ret ? ret : -EINVAL;
}

int config_state_dir(const char *path, char **out)
{
	struct rp_config c = { 0 };
	struct ini_file main = { 0 };
	struct diag scratch = { 0 };
	int from_file = 0;

	*out = NULL;
	if (!resolve_path(path, &c) && !ini_read(c.path, c.path, &main, &scratch)) {
		struct where w = { .d = &scratch, .f = &main, .section = "gateway", .key = "state_dir" };
		const char *v = ini_get(&main, "gateway", "state_dir");

		if (v && !val_path(&w, v, out))
			from_file = 1;
	}
	ini_free(&main);
	diag_free(&scratch);
	free(c.path);
	free(c.dir);
	if (!*out)
		*out = xstrdup(RP_STATE_DIR_DEFAULT);
	return from_file;
}

void config_free(struct rp_config *cfg)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		tenant_free(&cfg->tenants[i]);
	free(cfg->tenants);
	free(cfg->path);
	free(cfg->dir);
	free(cfg->name);
	free(cfg->uplink);
	free(cfg->public_endpoint);
	free(cfg->tenants_dir);
	free(cfg->state_dir);
	free(cfg->geo_ipv4);
	free(cfg->geo_ipv6);
	free(cfg->mgmt_allow_from.v);
	free(cfg->mgmt_tcp_ports.v);
	free(cfg->metrics_listen);
	free(cfg->ha.sync_interface);
	free(cfg->host.all.v);
	free(cfg->host.uplink.v);
	memset(cfg, 0, sizeof(*cfg));
}
