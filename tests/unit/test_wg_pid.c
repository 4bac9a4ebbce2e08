// SPDX-License-Identifier: GPL-2.0
/* test_wg_pid.c — which process kernel/wg/wg_supervise.c takes for a
 * tunnel's supervisor and for its wireguard-go, from the pid files in
 * STATE_DIR/wg/.  A `rempart run` started seconds after its supervisor and
 * wireguard-go were SIGKILLed took the dead supervisor (a zombie not yet
 * reaped, or a process that reused its pid) for a live one and started no
 * wireguard-go ("wireguard-go did not start", docs/ha.md).  Here: a zombie,
 * an unrelated live process and a real-looking supervisor (this program
 * re-executed as `rempart-wg-supervise IFNAME`), and wgs_stop() must not
 * signal an unrelated process whose pid is in the .gopid file. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kernel/wg/wg_int.h"
#include "lib/statedir.h"
#include "tap.h"

#define IFNAME "wg-pidtest"

static void put_pid(const char *state_dir, const char *ext, int pid)
{
	char path[4096];
	FILE *f;

	statedir_wg_path(path, state_dir, IFNAME, ext);
	f = fopen(path, "we");
	if (f) {
		fprintf(f, "%d\n", pid);
		fclose(f);
	}
}

/* A child that runs until killed, started as ARGV0 IFNAME. */
static pid_t child_as(const char *argv0)
{
	pid_t pid = fork();

	if (pid == 0) {
		char *argv[] = { (char *)argv0, IFNAME, NULL };

		execv("/proc/self/exe", argv);
		_exit(127);
	}
	usleep(100000);	/* exec done */
	return pid;
}

static bool alive(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

int main(int argc, char **argv)
{
	char state_dir[] = "/tmp/rempart-wgpid-XXXXXX", dir[4096];
	pid_t zombie, other, sv;

	/* re-executed as a stand-in supervisor or wireguard-go: wait */
	if (argc == 2 && !strcmp(argv[1], IFNAME)) {
		pause();
		return 0;
	}
	if (!mkdtemp(state_dir)) {
		printf("FAIL: wg pid: scratch directory\n");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/" SD_WG_DIR, state_dir);
	mkdir(dir, 0700);

	tap_result(!wgs_running(IFNAME, state_dir), "wg pid: no pid file: no supervisor");

	zombie = fork();
	if (zombie == 0)
		_exit(0);
	usleep(100000);	/* exited, not waited for: a zombie */
	put_pid(state_dir, SD_WG_PID, zombie);
	tap_result(!wgs_running(IFNAME, state_dir),
		   "wg pid: a SIGKILLed supervisor not yet reaped (zombie) is not running");
	waitpid(zombie, NULL, 0);

	other = child_as("sleeper");
	put_pid(state_dir, SD_WG_PID, other);
	tap_result(!wgs_running(IFNAME, state_dir),
		   "wg pid: a live process that reused the supervisor's pid is not the supervisor");

	sv = child_as("rempart-wg-supervise");
	put_pid(state_dir, SD_WG_PID, sv);
	tap_result(wgs_running(IFNAME, state_dir), "wg pid: the supervisor itself is running");

	/* wgs_stop: the supervisor gets SIGTERM; the unrelated process whose
	 * pid is in the .gopid file gets nothing */
	put_pid(state_dir, SD_WG_GOPID, other);
	wgs_stop(IFNAME, state_dir);
	usleep(100000);
	tap_result(!alive(sv), "wg pid: wgs_stop stops the supervisor");
	tap_result(alive(other), "wg pid: wgs_stop leaves alone a process that reused "
		   "wireguard-go's pid");
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
	if (alive(sv))
		kill(sv, SIGKILL);
	waitpid(sv, NULL, 0);

	snprintf(dir, sizeof(dir), "rm -rf %s", state_dir);
	if (system(dir))
		printf("# could not remove %s\n", state_dir);
	tap_exit();
}
