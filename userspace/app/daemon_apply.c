// SPDX-License-Identifier: GPL-2.0
/* daemon_apply.c — load, enforce, and tell what changed; see daemon.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "app/changelock.h"
#include "app/daemon.h"
#include "app/exitcode.h"
#include "app/rekey_watch.h"
#include "app/site_conf.h"
#include "dataplane/dataplane.h"
#include "dataplane/dataplane_maps.h"
#include "lib/clock.h"
#include "lib/fnv.h"
#include "lib/log.h"
#include "net/net.h"

int daemon_load(const char *path, struct rp_config *cfg, struct geo_db *geo, struct diag *d)
{
	int err;

	err = config_load(path, 0, cfg, d);
	if (err)
		return err;
	rekey_done_load(cfg, true);	/* site rotations the tunnel finished */
	memset(geo, 0, sizeof(*geo));
	if (!cfg->geo_ipv4 && !cfg->geo_ipv6)
		return 0;	/* no [geo]: every address in no country */
	if (dataplane_geo_unchanged(cfg)) {
		pr_debug("geo database files unchanged since loaded: not read");
		return 0;	/* geo left empty: daemon_enforce() keeps the loaded one */
	}
	err = geo_load(cfg, geo, d);
	if (err) {
		config_free(cfg);
		return err;
	}
	return 0;
}

/* net's hooks->before_up: a link gets its programs before it carries
 * traffic (docs/dataplane.md "Loader"). */
static int attach_before_up(const char *ifname, void *arg, struct diag *d)
{
	const struct rp_config *cfg = arg;
	int err = dataplane_attach(cfg, ifname, d);

	if (!err)
		pr_debug("%s: programs attached before the link goes up", ifname);
	return err;
}

/* Before the network changes: the programs on every configured interface
 * that exists.  On a first start (no program on the uplink yet, e.g. after
 * a boot) with the whole policy, so that the uplink is fenced before
 * net_apply opens the tenants' WireGuard ports (every handshake during the
 * programs' load would get through the geo-fence otherwise); then with the
 * policy installed now (an interface it does not know is dropped whole until
 * the new one is in).  Best effort: what fails here, the pass after
 * net_apply reports. */
static void attach_first(const struct rp_config *cfg, const struct geo_db *geo)
{
	struct diag pre = { 0 };

	if (cfg->uplink && !strcmp(dataplane_xdp_mode(cfg->uplink), "none")) {
		if (dataplane_apply(cfg, cfg->geo_ipv4 || cfg->geo_ipv6 ? geo : NULL, &pre))
			pr_info("uplink not fenced before the tunnels open (%s)",
				pre.n ? pre.msgs[0] : "?");
	} else if (dataplane_attach(cfg, NULL, &pre)) {
		pr_info("programs not attached everywhere before the change (%s)",
			pre.n ? pre.msgs[0] : "?");
	}
	diag_free(&pre);
}

int daemon_enforce(const struct rp_config *cfg, const struct geo_db *geo, struct enforce *e,
		   struct diag *d)
{
	struct net_hooks hooks = { .before_up = attach_before_up, .arg = (void *)cfg,
				   .verify = e ? e->verify : NULL };
	enum change_kind kind = e && e->kind ? e->kind : CH_APPLY;
	struct dp_precompiled *pc;
	struct change_lock lock;
	double t0 = clock_ms();
	int err;

	err = change_lock(cfg->state_dir, &lock, d);
	if (err)
		return err;
	if (e && e->check_seq && lock.seq != e->seq) {
		e->other = lock.last;
		e->seq = lock.seq;
		change_unlock(&lock, CH_NONE);
		return -ESTALE;
	}
	pr_debug("enforce: change lock taken (%.1f ms)", clock_ms() - t0);
	attach_first(cfg, geo);
	pr_debug("enforce: programs attached first (%.1f ms)", clock_ms() - t0);
	/* the policy compiles on the other core while the network changes */
	pc = dp_precompile_start(cfg);
	err = net_apply(cfg, &hooks, d);
	pr_debug("enforce: network applied (%.1f ms)", clock_ms() - t0);
	/* NULL when [geo] names no file, as `apply` does, or when the files
	 * were not read (unchanged since loaded: daemon_load()) */
	if (!err)
		err = dataplane_apply_pre(cfg, (cfg->geo_ipv4 || cfg->geo_ipv6) &&
					  (geo->source_v4 || geo->source_v6) ? geo : NULL, pc, d);
	dp_precompile_drop(pc);
	if (!err) {
		int r = site_pubkeys_save(cfg);

		if (r)	/* only site add without the private key needs it */
			pr_warn("%s/pubkeys: cannot keep the tenants' public keys: %s",
				cfg->state_dir, strerror(-r));
		rekey_tidy_switched(cfg);
	}
	pr_debug("enforce: dataplane applied, keys kept (%.1f ms)", clock_ms() - t0);
	change_unlock(&lock, kind);
	pr_debug("enforce: change lock released (%.1f ms)", clock_ms() - t0);
	if (e)
		e->seq = lock.seq;
	return err;
}

int daemon_addrs_changed(const struct rp_config *cfg, struct enforce *e, struct diag *d)
{
	struct change_lock lock;
	int err;

	err = change_lock(cfg->state_dir, &lock, d);
	if (err)
		return err;
	if (e->check_seq && lock.seq != e->seq) {
		e->other = lock.last;
		e->seq = lock.seq;
		change_unlock(&lock, CH_NONE);
		return -ESTALE;
	}
	err = dataplane_addrs_changed(cfg, d);
	change_unlock(&lock, e->kind ? e->kind : CH_RESTORE);
	e->seq = lock.seq;
	return err;
}

int daemon_apply_path(const char *path, const char *why, enum change_kind kind)
{
	struct rp_config cfg;
	struct geo_db geo;
	struct diag d = { 0 };
	struct enforce e = { .kind = kind };
	uint64_t gen = 0;
	int err, ret = RP_EXIT_OK;

	err = daemon_load(path, &cfg, &geo, &d);
	if (err) {
		pr_err("%s: %s: configuration rejected (%zu errors):", why, path, diag_count(&d));
		ret = err == -EINVAL ? RP_EXIT_CONFIG : RP_EXIT_RUNTIME;
		goto out_msgs;
	}
	err = daemon_enforce(&cfg, &geo, &e, &d);
	if (err) {
		pr_err("%s: %s: applying failed: %s", why, path, strerror(-err));
		ret = RP_EXIT_RUNTIME;
	} else {
		daemon_generation(&gen);
		pr_info("%s: %s applied (%zu tenants, policy generation %llu)", why, path,
			cfg.n_tenants, (unsigned long long)gen);
	}
	geo_free(&geo);
	config_free(&cfg);
out_msgs:
	for (size_t i = 0; i < d.n; i++)
		pr_err("%s: %s", why, d.msgs[i]);
	diag_free(&d);
	return ret;
}

int daemon_generation(uint64_t *gen)
{
	struct rp_state st;
	__u32 key = 0;
	int fd, err = 0;

	fd = bpf_obj_get(RP_PIN_DIR "/" RP_PIN_STATE);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &key, &st))
		err = -errno;
	else
		*gen = st.generation;
	close(fd);
	return err;
}

/* FNV-1a of a file's bytes; 0 if unreadable. */
static uint64_t file_hash(const char *path)
{
	uint64_t h = FNV1A_BASIS;
	unsigned char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		h = fnv1a(h, buf, (size_t)n);
	close(fd);
	return h;
}

void cfg_fingerprint(const struct rp_config *cfg, struct cfg_fingerprint *fp)
{
	memset(fp, 0, sizeof(*fp));
	fp->main = file_hash(cfg->path);
	fp->tenants = calloc(cfg->n_tenants ? cfg->n_tenants : 1, sizeof(*fp->tenants));
	if (!fp->tenants)
		return;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		fp->tenants[i].name = strdup(cfg->tenants[i].name);
		fp->tenants[i].hash = cfg->tenants[i].file ? file_hash(cfg->tenants[i].file) : 0;
		if (fp->tenants[i].name)
			fp->n++;
	}
}

static const uint64_t *fp_find(const struct cfg_fingerprint *fp, const char *name)
{
	for (size_t i = 0; i < fp->n; i++)
		if (!strcmp(fp->tenants[i].name, name))
			return &fp->tenants[i].hash;
	return NULL;
}

int cfg_fingerprint_log(const struct cfg_fingerprint *old, const struct cfg_fingerprint *new,
			const char *prefix)
{
	int n = 0;

	if (old->main != new->main) {
		pr_info("%s: rempart.ini changed", prefix);
		n++;
	}
	for (size_t i = 0; i < new->n; i++) {
		const uint64_t *h = fp_find(old, new->tenants[i].name);

		if (!h)
			pr_info("%s: tenant %s added", prefix, new->tenants[i].name);
		else if (*h != new->tenants[i].hash)
			pr_info("%s: tenant %s changed", prefix, new->tenants[i].name);
		n += !h || *h != new->tenants[i].hash;
	}
	for (size_t i = 0; i < old->n; i++) {
		if (!fp_find(new, old->tenants[i].name)) {
			pr_info("%s: tenant %s removed", prefix, old->tenants[i].name);
			n++;
		}
	}
	if (!n)
		pr_info("%s: no change in the configuration files", prefix);
	return n;
}

void cfg_fingerprint_free(struct cfg_fingerprint *fp)
{
	for (size_t i = 0; i < fp->n; i++)
		free(fp->tenants[i].name);
	free(fp->tenants);
	memset(fp, 0, sizeof(*fp));
}

