// SPDX-License-Identifier: GPL-2.0
/* wg_supervise.c — without kernel WireGuard, rempart runs wireguard-go
 * itself: one supervisor process per tunnel, started in the caller's network
 * namespace, that runs `wireguard-go IFNAME` in the foreground, keeps a copy
 * of the running device (memory only: it holds the private key), and if
 * wireguard-go dies starts it again and restores its keys, peers, addresses
 * and routes.
 *
 * The supervisor is this same binary re-executed (fork, setsid, fork, exec
 * /proc/self/exe) with RP_WG_SUPERVISE=IFNAME in its environment: a
 * constructor below catches that before main() runs.  Exec, rather than a
 * bare fork, so that a multi-threaded caller (`rempart run`) is safe.
 *
 * Files in STATE_DIR/wg/ (lib/statedir.h): IFNAME.pid (supervisor),
 * IFNAME.gopid (wireguard-go), IFNAME.log (their output).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "kernel/wg/wg_int.h"
#include "lib/clock.h"
#include "lib/fileutil.h"
#include "lib/statedir.h"

#define WG_GO_BIN "wireguard-go"
#define WG_SV_ARGV0 "rempart-wg-supervise"
#define START_TIMEOUT_MS 30000	/* a hundred starting at once on two cores */

extern char **environ;

static int read_pid(const char *path)
{
	FILE *f = fopen(path, "re");
	int pid = 0;

	if (!f)
		return -ENOENT;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid > 0 ? pid : -ENOENT;
}

static void write_pid(const char *path, int pid)
{
	char text[24];
	int len = snprintf(text, sizeof(text), "%d\n", pid);

	file_replace(path, &(struct iovec){ text, (size_t)len }, 1, 0644, false);
}

/* Is PID a live process started as `ARGV0 IFNAME`?  kill(pid, 0) alone is
 * not enough: it succeeds on a zombie (a SIGKILLed supervisor whose reaper
 * has not waited for it yet: seconds on a busy machine) and on whatever
 * process reuses the pid of a dead one (pid_max can be 32768).  Either made
 * an apply right after a crash take the tunnel for running and start no
 * wireguard-go.  A zombie's cmdline reads empty; another process's differs. */
static bool pid_is(int pid, const char *argv0, const char *ifname)
{
	char path[64], buf[128];
	size_t len0 = strlen(argv0), lenif = strlen(ifname);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)(len0 + 1 + lenif + 1) && !memcmp(buf, argv0, len0 + 1) &&
	       !memcmp(buf + len0 + 1, ifname, lenif + 1);
}

/* The supervisor's pid: > 0, or -ENOENT (no pid file) / -ESRCH (gone). */
static int wgs_pid(const char *ifname, const char *state_dir)
{
	char path[4096];
	int pid;

	statedir_wg_path(path, state_dir, ifname, SD_WG_PID);
	pid = read_pid(path);
	if (pid < 0)
		return pid;
	return pid_is(pid, WG_SV_ARGV0, ifname) ? pid : -ESRCH;
}

void wgs_notify(const char *ifname, const char *state_dir)
{
	int pid = wgs_pid(ifname, state_dir);

	if (pid > 0)
		kill(pid, SIGUSR1);
}

bool wgs_running(const char *ifname, const char *state_dir)
{
	return wgs_pid(ifname, state_dir) > 0;
}

void wgs_stop_async(const char *ifname, const char *state_dir)
{
	int pid = wgs_pid(ifname, state_dir);

	if (pid > 0)
		kill(pid, SIGTERM);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* The device is ready when its UAPI socket answers and its link exists here
 * (the socket directory is shared by every namespace). */
static bool device_ready(const char *ifname)
{
	struct nl_ctx nl;
	struct nl_link l;
	bool ok = false;

	if (!wg_uapi_alive(ifname))
		return false;
	if (!nl_open(&nl)) {
		ok = !nl_link_get(&nl, ifname, &l);
		nl_close(&nl);
	}
	return ok;
}

/* Each wireguard-go holds one inotify instance (it watches its UAPI socket);
 * the kernel's default of 128 per user would stop the 128th tunnel with
 * "Failed to listen on uapi socket: too many open files".  Raise the limit
 * (never lower it) before starting one; failure only means a later start
 * may fail with that message in its log. */
#define WG_INOTIFY_INSTANCES 8192
static void raise_inotify_limit(void)
{
	const char *path = "/proc/sys/fs/inotify/max_user_instances";
	FILE *f = fopen(path, "re");
	long cur = 0;

	if (!f)
		return;
	if (fscanf(f, "%ld", &cur) != 1)
		cur = 0;
	fclose(f);
	if (cur >= WG_INOTIFY_INSTANCES)
		return;
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "%d\n", WG_INOTIFY_INSTANCES);
	fclose(f);
}

int wgs_spawn(const char *ifname, const char *state_dir, char *why, size_t whylen)
{
	char dir[4096], envbuf[2][4200], logpath[4096], pidpath[4096];
	char *argv[] = { WG_SV_ARGV0, (char *)ifname, NULL };
	char **envp = NULL;
	size_t n = 0;
	pid_t child;
	int err, status;

	/* A live supervisor (re)starts wireguard-go itself: wgs_wait waits
	 * for it; a second one would race it for the device. */
	if (wgs_pid(ifname, state_dir) > 0)
		return 0;
	if (wg_uapi_alive(ifname)) {
		snprintf(why, whylen, "%s/%s.sock already answers: another wireguard-go serves "
			 "this interface name", WG_UAPI_DIR, ifname);
		return -EEXIST;
	}
	statedir_path(dir, state_dir, SD_WG_DIR);
	err = mkdir_p(dir, 0700);
	if (err) {
		snprintf(why, whylen, "cannot create %s: %s", dir, strerror(-err));
		return err;
	}
	statedir_wg_path(logpath, state_dir, ifname, SD_WG_LOG);
	statedir_wg_path(pidpath, state_dir, ifname, SD_WG_PID);
	unlink(pidpath);
	raise_inotify_limit();
	/* Everything the child needs is built before fork: after it, only
	 * async-signal-safe calls. */
	for (char **e = environ; *e; e++)
		n++;
	envp = calloc(n + 3, sizeof(*envp));
	if (!envp)
		return -ENOMEM;
	n = 0;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "RP_WG_SUPERVISE", 15) && strncmp(*e, "RP_WG_STATE_DIR", 15))
			envp[n++] = *e;
	snprintf(envbuf[0], sizeof(envbuf[0]), "RP_WG_SUPERVISE=%s", ifname);
	snprintf(envbuf[1], sizeof(envbuf[1]), "RP_WG_STATE_DIR=%s", state_dir);
	envp[n++] = envbuf[0];
	envp[n++] = envbuf[1];

	child = fork();
	if (child < 0) {
		err = -errno;
		free(envp);
		snprintf(why, whylen, "fork: %s", strerror(-err));
		return err;
	}
	if (child == 0) {
		int fd;

		setsid();
		if (fork() != 0)
			_exit(0);
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* nothing the caller had open (a lock, a pipe, the daemon's
		 * maps and sockets) outlives it in the supervisor or in
		 * wireguard-go */
		close_range(3, ~0U, 0);
		execve("/proc/self/exe", argv, envp);
		_exit(127);
	}
	free(envp);
	waitpid(child, &status, 0);
	return 0;
}

int wgs_wait(const char *ifname, const char *state_dir, char *why, size_t whylen)
{
	char logpath[4096];
	double deadline;

	statedir_wg_path(logpath, state_dir, ifname, SD_WG_LOG);
	deadline = clock_ms() + START_TIMEOUT_MS;
	while (clock_ms() < deadline) {
		int pid = wgs_pid(ifname, state_dir);

		if (pid > 0 && device_ready(ifname))
			return 0;
		if (pid == -ESRCH)
			break;	/* the supervisor gave up */
		sleep_ms(10);
	}
	wgs_stop(ifname, state_dir);
	snprintf(why, whylen, "wireguard-go did not start (see %s)", logpath);
	return -ETIMEDOUT;
}

int wgs_stop(const char *ifname, const char *state_dir)
{
	char path[4096];
	int pid = wgs_pid(ifname, state_dir);
	double deadline;

	if (pid > 0) {
		kill(pid, SIGTERM);
		deadline = clock_ms() + 3000;
		while (pid_is(pid, WG_SV_ARGV0, ifname) && clock_ms() < deadline)
			sleep_ms(10);
		if (pid_is(pid, WG_SV_ARGV0, ifname))
			kill(pid, SIGKILL);
	}
	statedir_wg_path(path, state_dir, ifname, SD_WG_PID);
	unlink(path);
	statedir_wg_path(path, state_dir, ifname, SD_WG_GOPID);
	pid = read_pid(path);
	if (pid > 0 && pid_is(pid, WG_GO_BIN, ifname))
		kill(pid, SIGTERM);
	unlink(path);
	return 0;
}

/* ---- the supervisor process ---- */

static volatile sig_atomic_t sv_stop, sv_refresh;

static void sv_on_signal(int sig)
{
	if (sig == SIGUSR1)
		sv_refresh = 1;
	else
		sv_stop = 1;
}

static pid_t sv_spawn(const char *ifname)
{
	pid_t pid = fork();

	if (pid == 0) {
		char *argv[] = { WG_GO_BIN, (char *)ifname, NULL };

		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGUSR1, SIG_DFL);
		setenv("WG_PROCESS_FOREGROUND", "1", 1);
		unsetenv("RP_WG_SUPERVISE");
		unsetenv("RP_WG_STATE_DIR");
		execvp(WG_GO_BIN, argv);
		fprintf(stderr, "rempart: cannot run %s: %s\n", WG_GO_BIN, strerror(errno));
		_exit(127);
	}
	return pid;
}

static void sv_log(const char *ifname, const char *fmt, const char *arg)
{
	time_t t = time(NULL);
	char ts[32];

	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	fprintf(stderr, "%s rempart supervisor %s: ", ts, ifname);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	fflush(stderr);
}

static void sv_snapshot(const char *ifname, wg_device **snap)
{
	wg_device *dev = NULL;

	if (wg_uapi_get(ifname, &dev))
		return;
	wg_device_wipe_free(*snap);
	*snap = dev;
}

/* Turn a "get" result into a "set" that recreates it. */
static void sv_restore(const char *ifname, const char *state_dir, wg_device *snap)
{
	int err;

	if (snap) {
		wg_device_make_restore(snap);
		err = wg_uapi_set(snap);
		if (err)
			sv_log(ifname, "cannot restore the device: %s", strerror(-err));
	}
	err = wg_restore_apply(ifname, state_dir);
	if (err == -ENOLINK)
		sv_log(ifname, "%s", "the tunnel was deleted: the new one stays down until rempart "
		       "attaches its program and brings it up (apply, or the daemon)");
	else if (err)
		sv_log(ifname, "cannot restore addresses and routes: %s", strerror(-err));
}

static __attribute__((noreturn)) void sv_main(const char *ifname, const char *state_dir)
{
	char pidpath[4096], gopidpath[4096];
	struct sigaction sa = { .sa_handler = sv_on_signal };
	wg_device *snap = NULL;
	long backoff = 100;
	bool restore = false;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	statedir_wg_path(pidpath, state_dir, ifname, SD_WG_PID);
	statedir_wg_path(gopidpath, state_dir, ifname, SD_WG_GOPID);
	write_pid(pidpath, getpid());

	while (!sv_stop) {
		double started = clock_ms(), last_snap = 0;
		pid_t go = sv_spawn(ifname);
		int status;

		if (go < 0) {
			sv_log(ifname, "fork: %s", strerror(errno));
			break;
		}
		write_pid(gopidpath, go);
		while (!sv_stop && clock_ms() - started < START_TIMEOUT_MS && !device_ready(ifname)) {
			if (waitpid(go, &status, WNOHANG) == go)
				break;
			sleep_ms(10);
		}
		if (restore && device_ready(ifname)) {
			sv_restore(ifname, state_dir, snap);
			sv_log(ifname, "%s restarted, device restored", WG_GO_BIN);
		}
		sv_refresh = 1;
		for (;;) {
			if (waitpid(go, &status, WNOHANG) == go) {
				sv_log(ifname, "%s exited", WG_GO_BIN);
				break;
			}
			if (sv_stop) {
				kill(go, SIGTERM);
				waitpid(go, &status, 0);
				break;
			}
			if (sv_refresh || clock_ms() - last_snap > 2000) {
				sv_refresh = 0;
				sv_snapshot(ifname, &snap);
				last_snap = clock_ms();
			}
			sleep_ms(50);
		}
		if (sv_stop)
			break;
		/* It died: try again, slower if it keeps dying at once. */
		backoff = clock_ms() - started < 2000 ? (backoff * 2 > 5000 ? 5000 : backoff * 2) : 100;
		sleep_ms(backoff);
		restore = snap != NULL;
	}
	wg_device_wipe_free(snap);
	unlink(gopidpath);
	if (read_pid(pidpath) == getpid())
		unlink(pidpath);
	_exit(0);
}

__attribute__((constructor)) static void wgs_maybe_supervise(void)
{
	const char *ifname = getenv("RP_WG_SUPERVISE");
	const char *state_dir = getenv("RP_WG_STATE_DIR");
	char ifbuf[IFNAMSIZ], dirbuf[4096];

	if (!ifname || !state_dir)
		return;
	snprintf(ifbuf, sizeof(ifbuf), "%s", ifname);
	snprintf(dirbuf, sizeof(dirbuf), "%s", state_dir);
	sv_main(ifbuf, dirbuf);
}
