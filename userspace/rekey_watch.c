// SPDX-License-Identifier: GPL-2.0
/* rekey_watch.c — the daemon finishes site key rotations; see rekey_watch.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "ini_edit.h"
#include "log.h"
#include "rekey.h"
#include "rekey_watch.h"

/* Overwrite a key file with zeros before unlinking it. */
static int wipe_unlink(const char *path)
{
	static const char zeros[64];
	struct stat st;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd >= 0) {
		if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size <= (off_t)sizeof(zeros) &&
		    write(fd, zeros, st.st_size) == st.st_size)
			fsync(fd);
		close(fd);
	}
	return unlink(path) && errno != ENOENT ? -errno : 0;
}

int rekey_tidy_file(const struct rp_tenant *t, const struct rp_site *s, struct diag *d)
{
	char section[64];
	struct ini_change c[2];
	int err;

	snprintf(section, sizeof(section), "site %s", s->name);
	c[0] = (struct ini_change){ section, "previous_public_key", NULL };
	c[1] = (struct ini_change){ section, "previous_preshared_key_file", NULL };
	err = ini_file_change(t->file, c, 2);
	if (err) {
		diag_add(d, "%s: [%s]: cannot remove previous_public_key: %s", t->file, section,
			 strerror(-err));
		return err;
	}
	if (s->previous_preshared_key_file && s->preshared_key_file &&
	    strcmp(s->previous_preshared_key_file, s->preshared_key_file)) {
		err = wipe_unlink(s->previous_preshared_key_file);
		if (err)
			diag_add(d, "%s: cannot remove: %s", s->previous_preshared_key_file,
				 strerror(-err));
	}
	return err;
}

void rekey_tidy_switched(const struct rp_config *cfg)
{
	const struct wg_backend *wg = wg_backend_get();

	for (size_t i = 0; wg && i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		wg_device *dev = NULL;

		if (!rekey_pending(t) || wg->get(t->tunnel_interface, &dev) || !dev)
			continue;
		for (size_t k = 0; k < t->n_sites; k++) {
			struct diag d = { 0 };

			if (!rekey_switched(&t->sites[k], dev))
				continue;
			pr_info("rekey: site %s of tenant %s uses its new key: the previous one is "
				"removed", t->sites[k].name, t->name);
			if (rekey_tidy_file(t, &t->sites[k], &d))
				pr_err("rekey: %s", d.n ? d.msgs[0] : "?");
			diag_free(&d);
		}
		wg_device_wipe_free(dev);
	}
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static bool any_pending(const struct rp_config *cfg)
{
	for (size_t i = 0; i < cfg->n_tenants; i++)
		if (rekey_pending(&cfg->tenants[i]))
			return true;
	return false;
}

int rekey_watch_timeout(struct rekey_watch *w, const struct rp_config *cfg)
{
	long long left;

	if (!any_pending(cfg))
		return -1;
	left = w->next_ms - mono_ms();
	return left < 0 ? 0 : left > RP_REKEY_POLL_MS ? RP_REKEY_POLL_MS : (int)left;
}

/* `apply` changes the same devices: never in the middle of one (the lock
 * net_apply takes); busy means the next poll. */
static int net_lock_try(const char *state_dir)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/net.lock", state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		return -EBUSY;
	}
	return fd;
}

static void finish(const struct wg_backend *wg, struct rp_config *cfg, struct rp_tenant *t,
		   struct rp_site *s, const wg_device *dev)
{
	const wg_peer *p = rekey_peer_in_use(s, dev);
	struct diag d = { 0 };
	struct timespec now;
	double after_ms = -1;
	int err;

	err = rekey_finish_device(wg, t, s);
	if (err) {
		pr_err("rekey: site %s of tenant %s: cannot move its addresses to its new key: %s",
		       s->name, t->name, strerror(-err));
		return;
	}
	if (wg->changed)
		wg->changed(t->tunnel_interface, cfg->state_dir);
	clock_gettime(CLOCK_REALTIME, &now);
	if (p)
		after_ms = (now.tv_sec - p->last_handshake_time.tv_sec) * 1e3 +
			   (now.tv_nsec - p->last_handshake_time.tv_nsec) / 1e6;
	pr_info("rekey: site %s of tenant %s switched to its new key: its addresses moved to it "
		"%.1f ms after its first handshake, the previous key is removed", s->name, t->name,
		after_ms);
	if (rekey_tidy_file(t, s, &d))
		pr_err("rekey: %s (the rotation is done on the tunnel; remove the previous_* "
		       "lines of [site %s] by hand)", d.n ? d.msgs[0] : "?", s->name);
	diag_free(&d);
	s->has_previous = false;
}

void rekey_watch_run(struct rekey_watch *w, struct rp_config *cfg)
{
	const struct wg_backend *wg;
	long long now = mono_ms();
	int lock = -1;

	if (now < w->next_ms || !any_pending(cfg))
		return;
	w->next_ms = now + RP_REKEY_POLL_MS;
	wg = wg_backend_get();
	if (!wg)
		return;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		struct rp_tenant *t = &cfg->tenants[i];
		wg_device *dev = NULL;

		if (!rekey_pending(t) || wg->get(t->tunnel_interface, &dev) || !dev)
			continue;
		for (size_t k = 0; k < t->n_sites; k++) {
			struct rp_site *s = &t->sites[k];

			if (!rekey_switched(s, dev))
				continue;
			if (lock < 0)
				lock = net_lock_try(cfg->state_dir);
			if (lock < 0)
				break;	/* apply is busy: next poll */
			finish(wg, cfg, t, s, dev);
		}
		wg_device_wipe_free(dev);
	}
	if (lock >= 0)
		close(lock);
}
