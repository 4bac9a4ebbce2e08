// SPDX-License-Identifier: GPL-2.0
/* confirm.c — apply --confirm / confirm / the rollback timer; see confirm.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-journal.h>
#include "app/confirm.h"
#include "app/confirm_files.h"
#include "app/daemon.h"
#include "app/history.h"
#include "app/exitcode.h"
#include "lib/lazylib.h"
#include "lib/log.h"
#include "lib/pidfile.h"
#include "lib/statedir.h"

const char *confirm_exe;

/* The apply that armed the rollback (confirm/applying holds its pid) is done:
 * the SECONDS window starts now, with the new configuration in place. */
static void window_start(const char *state_dir)
{
	char p[PATH_MAX], buf[32];
	long long seconds;

	statedir_path(p, state_dir, SD_CONFIRM_APPLYING);
	if (read_text(p, buf, sizeof(buf)) || atoi(buf) != getpid())
		return;
	statedir_path(p, state_dir, SD_CONFIRM_SECONDS);
	seconds = read_text(p, buf, sizeof(buf)) ? 0 : atoll(buf);
	snprintf(buf, sizeof(buf), "%lld\n", (long long)time(NULL) + seconds);
	statedir_path(p, state_dir, SD_CONFIRM_DEADLINE);
	write_text(p, buf);
	statedir_path(p, state_dir, SD_CONFIRM_APPLYING);
	unlink(p);
}

static void *record_prepare(void *arg)
{
	struct confirm_record *r = arg;
	char source[2 * PATH_MAX + 32];

	snprintf(source, sizeof(source), "config %s\ntenants %s\n", r->main, r->tenants);
	r->err = snap_prepare(r->dir, r->main, r->tenants, source, r->keys, r->n_keys, r->tmp);
	return NULL;
}

static int add_key(struct confirm_record *r, const char *path)
{
	char **v;

	if (!path)
		return 0;
	for (size_t i = 0; i < r->n_keys; i++)
		if (!strcmp(r->keys[i], path))
			return 0;
	v = realloc(r->keys, (r->n_keys + 1) * sizeof(*v));
	if (!v || !(v[r->n_keys] = strdup(path))) {
		if (v)
			r->keys = v;
		return -ENOMEM;
	}
	r->keys = v;
	r->n_keys++;
	return 0;
}

static void keys_free(struct confirm_record *r)
{
	for (size_t i = 0; i < r->n_keys; i++)
		free(r->keys[i]);
	free(r->keys);
	r->keys = NULL;
	r->n_keys = 0;
}

/* The key files of cfg: tenants' private keys, sites' preshared keys, the
 * previous preshared keys of rotations in progress, the next keys of
 * tenant key rotations. */
static int collect_keys(const struct rp_config *cfg, struct confirm_record *r)
{
	int err = 0;

	for (size_t i = 0; i < cfg->n_tenants && !err; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		err = add_key(r, t->private_key_file);
		if (!err && t->next_private_key_file)	/* a tenant key rotation */
			err = add_key(r, t->next_private_key_file);
		for (size_t s = 0; s < t->n_sites && !err; s++) {
			err = add_key(r, t->sites[s].preshared_key_file);
			if (!err && t->sites[s].has_previous)
				err = add_key(r, t->sites[s].previous_preshared_key_file);
		}
	}
	return err;
}

int confirm_record_begin(const struct rp_config *cfg, struct confirm_record *r, struct diag *d)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->state_dir = cfg->state_dir;
	if (!realpath(cfg->path, r->main) || !realpath(cfg->tenants_dir, r->tenants)) {
		err = -errno;
		diag_add(d, "%s: %s", cfg->path, strerror(-err));
		return err;
	}
	statedir_path(r->dir, cfg->state_dir, SD_APPLIED);
	err = collect_keys(cfg, r);
	if (err) {
		keys_free(r);
		diag_add(d, "%s: %s", cfg->path, strerror(-err));
		return err;
	}
	r->started = !pthread_create(&r->tid, NULL, record_prepare, r);
	if (!r->started)
		record_prepare(r);
	r->begun = true;
	return 0;
}

int confirm_record_end(struct confirm_record *r, bool commit, struct diag *d)
{
	int lock, err;

	if (!r->begun)
		return 0;
	if (r->started)
		pthread_join(r->tid, NULL);
	r->begun = false;
	keys_free(r);
	if (r->err) {
		if (commit)
			diag_add(d, "%s: cannot record the applied configuration: %s", r->dir,
				 strerror(-r->err));
		return commit ? r->err : 0;
	}
	if (!commit) {
		rm_rf(r->tmp);
		return 0;
	}
	lock = statedir_lock(r->state_dir, SD_CONFIRM_LOCK);
	if (lock < 0) {
		rm_rf(r->tmp);
		diag_add(d, "%s: %s", r->state_dir, strerror(-lock));
		return lock;
	}
	err = snap_commit(r->dir, r->tmp);
	if (err) {
		diag_add(d, "%s: cannot record the applied configuration: %s", r->dir, strerror(-err));
	} else {
		window_start(r->state_dir);
		history_push(r->state_dir);
	}
	close(lock);
	return err;
}

int confirm_record_applied(const struct rp_config *cfg, struct diag *d)
{
	struct confirm_record r;
	int err;

	err = confirm_record_begin(cfg, &r, d);
	return err ? err : confirm_record_end(&r, true, d);
}

static bool timer_alive(const char *state_dir, const char *token)
{
	char p[PATH_MAX], buf[64], cmd[4096];
	ssize_t n;
	int fd;

	statedir_path(p, state_dir, SD_CONFIRM_TIMER_PID);
	if (read_text(p, buf, sizeof(buf)))
		return false;
	snprintf(p, sizeof(p), "/proc/%d/cmdline", atoi(buf));
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	for (ssize_t i = 0; i < n; i++)
		cmd[i] = cmd[i] ? cmd[i] : ' ';
	cmd[n > 0 ? n : 0] = 0;
	return strstr(cmd, "--rollback-at") && strstr(cmd, token);
}

static void timer_kill(const char *state_dir, const char *token)
{
	char p[PATH_MAX], buf[64];

	statedir_path(p, state_dir, SD_CONFIRM_TIMER_PID);
	if (timer_alive(state_dir, token) && !read_text(p, buf, sizeof(buf)) &&
	    atoi(buf) != getpid())
		kill(atoi(buf), SIGTERM);
}

/* Inside a systemd service (`rempart run` re-arming at start) a child would
 * share the service's sandbox (ProtectSystem=strict: /etc/rempart read-only)
 * and die with it (KillMode): hand the timer to systemd as a transient timer
 * unit instead.  RP_SYSTEMD_RUN overrides the tool's path (tests). */
static const char *systemd_run_path(void)
{
	const char *p = getenv("RP_SYSTEMD_RUN");

	if (!getenv("INVOCATION_ID"))
		return NULL;	/* not started by systemd */
	p = p ? p : "/usr/bin/systemd-run";
	return access(p, X_OK) ? NULL : p;
}

static int timer_spawn_systemd(const char *tool, const char *exe, const char *state_dir,
			       const char *config_path, const char *dl, const char *token)
{
	char unit[64], when[40];
	char *args[] = { "systemd-run", "--quiet", "--collect", "--unit", unit,
			 "--on-calendar", when, "--timer-property=AccuracySec=1s",
			 "--", (char *)exe, "-c", (char *)config_path, "confirm",
			 "--rollback-at", (char *)dl, "--token", (char *)token,
			 "--state-dir", (char *)state_dir, NULL };
	int status;
	pid_t pid;

	snprintf(unit, sizeof(unit), "rempart-rollback-%.12s", token);
	snprintf(when, sizeof(when), "@%s", dl);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		execv(tool, args);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -ECHILD;
	pr_info("confirm: rollback timer handed to systemd as %s.timer", unit);
	return 0;
}

/* Start the detached timer: double fork, setsid, exec rempart (or, under
 * systemd, a transient timer unit). */
static int timer_spawn(const char *state_dir, const char *config_path, long long deadline,
		       const char *token)
{
	char exe[PATH_MAX], dl[32], logp[PATH_MAX], p[PATH_MAX], buf[32];
	char *args[] = { "rempart", "-c", (char *)config_path, "confirm", "--rollback-at", dl,
			 "--token", (char *)token, "--state-dir", (char *)state_dir, NULL };
	const char *tool = systemd_run_path();
	int pfd[2], err = 0;
	pid_t pid, gpid = -1;
	ssize_t n;

	snprintf(dl, sizeof(dl), "%lld", deadline);
	if (confirm_exe) {
		snprintf(exe, sizeof(exe), "%s", confirm_exe);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n < 0)
			return -errno;
		exe[n] = 0;
	}
	if (tool && !timer_spawn_systemd(tool, exe, state_dir, config_path, dl, token))
		return 0;
	statedir_path(logp, state_dir, SD_CONFIRM_LOG);
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto out;
	}
	if (!pid) {
		sigset_t none;

		setsid();
		gpid = fork();
		if (!gpid) {
			int null = open("/dev/null", O_RDWR), log;

			log = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
			dup2(null, 0);
			dup2(log >= 0 ? log : null, 1);
			dup2(log >= 0 ? log : null, 2);
			close_range(3, ~0U, 0);
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			if (chdir("/")) {
				/* nothing: paths are absolute */
			}
			execv(exe, args);
			_exit(127);
		}
		if (write(pfd[1], &gpid, sizeof(gpid)) != sizeof(gpid))
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	pfd[1] = -1;
	if (read(pfd[0], &gpid, sizeof(gpid)) != sizeof(gpid) || gpid <= 0)
		err = -ECHILD;
	waitpid(pid, NULL, 0);
	if (!err) {
		snprintf(buf, sizeof(buf), "%d\n", gpid);
		statedir_path(p, state_dir, SD_CONFIRM_TIMER_PID);
		err = write_text(p, buf);
	}
out:
	close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	return err;
}

int confirm_arm(const struct rp_config *cfg, const char *config_path, unsigned seconds,
		struct diag *d)
{
	char p[PATH_MAX], q[PATH_MAX], token[40], old[40], buf[32], main[PATH_MAX];
	unsigned char rnd[16];
	long long deadline = (long long)time(NULL) + seconds;
	int lock, err;

	if (!realpath(cfg->path, main)) {
		err = -errno;
		diag_add(d, "%s: %s", cfg->path, strerror(-err));
		return err;
	}
	lock = statedir_lock(cfg->state_dir, SD_CONFIRM_LOCK);
	if (lock < 0) {
		diag_add(d, "%s: %s", cfg->state_dir, strerror(-lock));
		return lock;
	}
	statedir_path(p, cfg->state_dir, SD_CONFIRM_TOKEN);
	if (!read_text(p, old, sizeof(old))) {
		timer_kill(cfg->state_dir, old);	/* re-arm: same rollback target */
		pr_info("confirm: re-armed, the rollback target stays the configuration "
			"applied before the first unconfirmed apply");
	} else {
		statedir_path(p, cfg->state_dir, SD_APPLIED);
		statedir_path(q, cfg->state_dir, SD_CONFIRM_PREVIOUS);
		if (access(p, F_OK)) {
			char tenants[PATH_MAX];

			/* a first apply: back to nothing configured, fail closed */
			err = realpath(cfg->tenants_dir, tenants) ? 0 : -errno;
			if (!err)
				err = confirm_snap_nothing(q, main, tenants);
			pr_info("confirm: nothing was applied before: the rollback removes what "
				"this apply creates and leaves the programs attached (fail closed)");
		} else {
			err = snap_copy(p, q);
		}
		if (err) {
			diag_add(d, "%s: cannot keep the previous configuration: %s", q,
				 strerror(-err));
			goto out;
		}
	}
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		err = -EIO;
		diag_add(d, "confirm: no random token: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		sprintf(token + 2 * i, "%02x", rnd[i]);
	statedir_path(p, cfg->state_dir, SD_CONFIRM_TOKEN);
	err = write_text(p, token);
	snprintf(buf, sizeof(buf), "%lld\n", deadline);
	statedir_path(p, cfg->state_dir, SD_CONFIRM_DEADLINE);
	if (!err)
		err = write_text(p, buf);
	snprintf(buf, sizeof(buf), "%u\n", seconds);
	statedir_path(p, cfg->state_dir, SD_CONFIRM_SECONDS);
	if (!err)
		err = write_text(p, buf);
	snprintf(buf, sizeof(buf), "%d\n", getpid());
	statedir_path(p, cfg->state_dir, SD_CONFIRM_APPLYING);	/* the timer waits for us */
	if (!err)
		err = write_text(p, buf);
	if (!err)
		err = timer_spawn(cfg->state_dir, main, deadline, token);
	if (err) {
		statedir_path(p, cfg->state_dir, SD_CONFIRM_DIR);
		diag_add(d, "%s: cannot arm the rollback: %s", p, strerror(-err));
		rm_rf(p);
		goto out;
	}
	pr_info("confirm: armed, rollback to the previous configuration in %u s unless "
		"`rempart confirm`", seconds);
out:
	close(lock);
	return err;
}

bool confirm_pending(const char *state_dir, long long *deadline)
{
	char p[PATH_MAX], buf[32];

	statedir_path(p, state_dir, SD_CONFIRM_TOKEN);
	if (access(p, F_OK))
		return false;
	statedir_path(p, state_dir, SD_CONFIRM_DEADLINE);
	if (deadline)
		*deadline = read_text(p, buf, sizeof(buf)) ? 0 : atoll(buf);
	return true;
}

int confirm_cancel(const char *state_dir, struct diag *d)
{
	char p[PATH_MAX], token[40];
	int lock = statedir_lock(state_dir, SD_CONFIRM_LOCK);

	if (lock < 0) {
		diag_add(d, "%s: %s", state_dir, strerror(-lock));
		return lock;
	}
	statedir_path(p, state_dir, SD_CONFIRM_TOKEN);
	if (read_text(p, token, sizeof(token))) {
		diag_add(d, "%s: nothing to confirm (no `apply --confirm` is pending)", p);
		close(lock);
		return -ENOENT;
	}
	timer_kill(state_dir, token);
	statedir_path(p, state_dir, SD_CONFIRM_DIR);
	rm_rf(p);
	pr_info("confirm: configuration confirmed, the pending rollback is cancelled");
	close(lock);
	return 0;
}

void confirm_hup_daemon(const char *state_dir)
{
	pid_t pid = pidfile_hup(state_dir, NULL);

	if (pid)
		pr_info("rollback: asked the running daemon (pid %d) to reload", (int)pid);
}

/* Under the lock: put snapshot SNAP back in place, apply it, record it. */
int confirm_restore_locked(const char *state_dir, const char *snap, const char *why,
			   bool *restored, struct diag *d)
{
	char p[PATH_MAX], q[2 * PATH_MAX + 300], main[PATH_MAX], tenants[PATH_MAX];
	char snap_tenants[PATH_MAX];
	char source[2 * PATH_MAX + 32];
	struct dirent *e;
	DIR *dir;
	int err, ret;

	err = snap_source(snap, main, tenants);
	if (err) {
		diag_add(d, "%s: no configuration to roll back to: %s", snap, strerror(-err));
		return RP_EXIT_RUNTIME;
	}
	snprintf(source, sizeof(source), "config %s\ntenants %s\n", main, tenants);
	statedir_path(p, state_dir, SD_REJECTED);
	if (snap_save(p, main, tenants, source))
		pr_warn("%s: cannot keep the undone configuration in %s", why, p);
	/* Tenant files the restored config did not have go away. */
	statedir_path(snap_tenants, snap, SD_SNAP_TENANTS);
	dir = opendir(tenants);
	while (dir && (e = readdir(dir))) {
		snprintf(q, sizeof(q), "%s/%s", snap_tenants, e->d_name);
		if (is_ini(e->d_name) && access(q, F_OK)) {
			snprintf(q, sizeof(q), "%s/%s", tenants, e->d_name);
			unlink(q);
		}
	}
	if (dir)
		closedir(dir);
	/* the keys first: the restored config names them */
	err = snap_keys_restore(snap, q, sizeof(q));
	if (err) {
		diag_add(d, "%s: restoring the key files: %s", why, q);
		return RP_EXIT_RUNTIME;
	}
	err = copy_inis(snap_tenants, tenants);
	statedir_path(q, snap, SD_SNAP_CONFIG);
	if (!err)
		err = copy_file(q, main);
	if (err) {
		diag_add(d, "%s: restoring %s: %s", why, main, strerror(-err));
		return RP_EXIT_RUNTIME;
	}
	*restored = true;
	statedir_path(p, state_dir, SD_REJECTED);
	pr_info("%s: restored %s into %s (the undone configuration is kept in %s)", why,
		snap, main, p);
	ret = daemon_apply_path(main, why, CH_ROLLBACK);
	statedir_path(p, state_dir, SD_APPLIED);
	if (!ret && snap_copy(snap, p))
		pr_warn("%s: cannot record %s as applied", why, main);
	else if (!ret)
		history_push(state_dir);
	return ret;
}

/* Under the lock: restore confirm/previous, apply it, clear the pending state. */
static int rollback_locked(const char *state_dir, struct diag *d)
{
	char prev[PATH_MAX], p[PATH_MAX];
	bool restored = false;
	int ret;

	statedir_path(prev, state_dir, SD_CONFIRM_PREVIOUS);
	if (confirm_snap_is_nothing(prev)) {
		ret = confirm_restore_nothing_locked(state_dir, prev, d);
		statedir_path(p, state_dir, SD_CONFIRM_DIR);
		rm_rf(p);
		return ret;
	}
	ret = confirm_restore_locked(state_dir, prev, "rollback", &restored, d);
	if (!restored)
		return ret;
	statedir_path(p, state_dir, SD_CONFIRM_DIR);
	rm_rf(p);
	confirm_hup_daemon(state_dir);
	return ret;
}

int confirm_rollback_now(const char *state_dir, struct diag *d)
{
	char p[PATH_MAX], token[40];
	int lock = statedir_lock(state_dir, SD_CONFIRM_LOCK), ret;

	if (lock < 0) {
		diag_add(d, "%s: %s", state_dir, strerror(-lock));
		return RP_EXIT_RUNTIME;
	}
	statedir_path(p, state_dir, SD_CONFIRM_TOKEN);
	if (!read_text(p, token, sizeof(token)))
		timer_kill(state_dir, token);
	ret = rollback_locked(state_dir, d);
	close(lock);
	return ret;
}

int confirm_resume(const struct rp_config *cfg, const char *config_path, struct diag *d)
{
	char p[PATH_MAX], token[40], main[PATH_MAX];
	long long deadline;
	int lock, err = 0;

	if (!confirm_pending(cfg->state_dir, NULL))
		return 0;
	lock = statedir_lock(cfg->state_dir, SD_CONFIRM_LOCK);
	if (lock < 0)
		return lock;
	statedir_path(p, cfg->state_dir, SD_CONFIRM_TOKEN);
	if (confirm_pending(cfg->state_dir, &deadline) && !read_text(p, token, sizeof(token)) &&
	    !timer_alive(cfg->state_dir, token) && realpath(cfg->path, main)) {
		pr_warn("confirm: a rollback was pending without its timer; re-armed for %lld "
			"(%lld s from now)", deadline, deadline - (long long)time(NULL));
		err = timer_spawn(cfg->state_dir, main, deadline, token);
		if (err) {
			statedir_path(p, cfg->state_dir, SD_CONFIRM_DIR);
			diag_add(d, "%s: cannot re-arm the rollback: %s", p, strerror(-err));
		}
	}
	close(lock);
	return err;
}

int confirm_timer_main(const char *state_dir, long long deadline, const char *token)
{
	struct timespec ts = { .tv_sec = deadline };
	char p[PATH_MAX], cur[40];
	struct diag d = { 0 };
	int lock, j, ret = RP_EXIT_OK;

	j = LAZY(LAZY_SYSTEMD, sd_journal_stream_fd)("rempart", LOG_INFO, 0);
	if (j >= 0) {
		dup2(j, 2);
		close(j);
	}
	/* Sleep to the deadline; it moves once the arming apply is done
	 * (window_start), and an apply still running is waited for. */
	for (;;) {
		char buf[32];
		long long dl;

		while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		statedir_path(p, state_dir, SD_CONFIRM_DEADLINE);
		dl = read_text(p, buf, sizeof(buf)) ? 0 : atoll(buf);
		if (dl > (long long)time(NULL)) {
			ts.tv_sec = dl;
			continue;
		}
		statedir_path(p, state_dir, SD_CONFIRM_APPLYING);
		if (!read_text(p, buf, sizeof(buf)) && atoi(buf) > 0 && !kill(atoi(buf), 0)) {
			ts.tv_sec = time(NULL) + 1;
			continue;
		}
		break;
	}
	lock = statedir_lock(state_dir, SD_CONFIRM_LOCK);
	if (lock < 0) {
		pr_err("rollback: %s: %s", state_dir, strerror(-lock));
		return RP_EXIT_RUNTIME;
	}
	statedir_path(p, state_dir, SD_CONFIRM_TOKEN);
	if (read_text(p, cur, sizeof(cur)) || strcmp(cur, token))
		goto out;	/* confirmed, or re-armed by a newer apply */
	pr_warn("rollback: no `rempart confirm` before the deadline, rolling back");
	ret = rollback_locked(state_dir, &d);
	for (size_t i = 0; i < d.n; i++)
		pr_err("%s", d.msgs[i]);
	diag_free(&d);
out:
	close(lock);
	return ret;
}
