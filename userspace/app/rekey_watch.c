// SPDX-License-Identifier: GPL-2.0
/* rekey_watch.c — the daemon finishes site key rotations; see rekey_watch.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "app/rekey_watch.h"
#include "lib/fileutil.h"
#include "lib/ini_edit.h"
#include "lib/keys.h"
#include "lib/log.h"
#include "lib/statedir.h"
#include "net/rekey.h"

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

/* ---- the record of finished rotations ---------------------------------------
 * The daemon may not write the tenant files (under systemd /etc/rempart is
 * read-only to it): a rotation finished on the tunnel whose file still
 * names the previous key is recorded in STATE_DIR/rekeyed, one line
 * "TENANT SITE NEWKEY" each, until the file is tidied. */

static void done_path(const struct rp_config *cfg, char *buf, size_t len)
{
	(void)len;	/* PATH_MAX */
	statedir_path(buf, cfg->state_dir, SD_REKEYED);
}

static int done_append(const struct rp_config *cfg, const struct rp_tenant *t,
		       const struct rp_site *s)
{
	char path[4096], b64[RP_KEY_B64_LEN + 1];
	FILE *f;
	int err = 0;

	done_path(cfg, path, sizeof(path));
	f = fopen(path, "ae");
	if (!f)
		return -errno;
	key_to_base64(s->public_key, b64);
	fprintf(f, "%s %s %s\n", t->name, s->name, b64);
	if (fflush(f) || fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

/* Tidy the file, else record the rotation as done in the state directory. */
static void done(const struct rp_config *cfg, const struct rp_tenant *t, const struct rp_site *s)
{
	struct diag d = { 0 };
	int err;

	if (!rekey_tidy_file(t, s, &d)) {
		diag_free(&d);
		return;
	}
	err = done_append(cfg, t, s);
	if (err)
		pr_err("rekey: %s, and %s/rekeyed cannot record it either (%s): the next apply "
		       "gives site %s its previous key again until its next handshake",
		       d.n ? d.msgs[0] : "?", cfg->state_dir, strerror(-err), s->name);
	else
		pr_info("rekey: %s (recorded in %s/rekeyed): remove the previous_* lines of "
			"[site %s] at the next edit", d.n ? d.msgs[0] : "?", cfg->state_dir, s->name);
	diag_free(&d);
}

int rekey_done_load(struct rp_config *cfg, bool tidy)
{
	char path[4096], tenant[64], site[64], b64[64], *text, *line, *save = NULL;
	char *keep = NULL;
	size_t keep_len = 0, dropped = 0;
	FILE *k;

	done_path(cfg, path, sizeof(path));
	text = file_read_all(path, NULL);
	if (!text)
		return errno == ENOENT ? 0 : -errno;
	k = open_memstream(&keep, &keep_len);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct rp_tenant *t;
		uint8_t key[32];
		bool pending = false;

		if (sscanf(line, "%63s %63s %63s", tenant, site, b64) != 3 || key_from_base64(b64, key))
			continue;
		t = config_tenant_by_name(cfg, tenant);
		for (size_t i = 0; t && i < t->n_sites; i++) {
			struct rp_site *s = &t->sites[i];
			struct diag d = { 0 };

			if (strcmp(s->name, site) || !s->has_previous || memcmp(s->public_key, key, 32))
				continue;
			/* done on the tunnel: the new key alone */
			pending = !tidy || rekey_tidy_file(t, s, &d);
			s->has_previous = false;
			s->has_previous_psk = false;
			explicit_bzero(s->previous_psk, sizeof(s->previous_psk));
			free(s->previous_preshared_key_file);
			s->previous_preshared_key_file = NULL;
			diag_free(&d);
		}
		if (pending && k)
			fprintf(k, "%s\n", line);
		else
			dropped++;
	}
	free(text);
	if (k && !fclose(k) && dropped && tidy) {
		const struct iovec iov = { keep, keep_len };

		if (keep_len)
			file_replace(path, &iov, 1, 0600, true);
		else
			unlink(path);
	}
	free(keep);
	return 0;
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
			if (!rekey_switched(&t->sites[k], dev))
				continue;
			pr_info("rekey: site %s of tenant %s uses its new key: the previous one is "
				"removed", t->sites[k].name, t->name);
			done(cfg, t, &t->sites[k]);
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

static void finish(const struct wg_backend *wg, struct rp_config *cfg, struct rp_tenant *t,
		   struct rp_site *s, const wg_device *dev)
{
	const wg_peer *p = rekey_peer_in_use(s, dev);
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
	done(cfg, t, s);
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
				/* `apply` changes the same devices: never in the
				 * middle of one; busy means the next poll */
				lock = statedir_trylock(cfg->state_dir, SD_CHANGE_LOCK);
			if (lock < 0)
				break;	/* apply is busy: next poll */
			finish(wg, cfg, t, s, dev);
		}
		wg_device_wipe_free(dev);
	}
	if (lock >= 0)
		close(lock);
}
