// SPDX-License-Identifier: GPL-2.0
/* init.c — PID 1 of the tests/verifier61/run.sh VM: loads each program of
 * /prog.bpf.o alone with BPF_LOG_STATS, prints one PASS:/FAIL: line per
 * program with the verifier's "processed N insns" (and, on failure, the tail
 * of a level-1 log), then powers off.  Built static, run nowhere else. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "load_alone.h"

static char vlog[64 << 20];

static int silent(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	return 0;
}

static int load_one(const char *name, int level)
{
	return load_alone(bpf_object__open_file("/prog.bpf.o", NULL), name, level, vlog, sizeof(vlog));
}

int main(void)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	struct utsname u;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	uname(&u);
	libbpf_set_print(silent);
	printf("\n");	/* past the console's escape sequences */
	obj = bpf_object__open_file("/prog.bpf.o", NULL);
	if (!obj) {
		printf("FAIL: verifier61: open /prog.bpf.o: %s\n", strerror(errno));
		goto out;
	}
	bpf_object__for_each_program(p, obj) {
		const char *name = bpf_program__name(p), *s;
		int err = load_one(name, 4);	/* BPF_LOG_STATS */
		char stats[160] = "no stats";

		s = strstr(vlog, "processed ");
		if (s)
			snprintf(stats, sizeof(stats), "%.*s", (int)strcspn(s, "\n"), s);
		printf("%s: verifier61: %s loads on %s (%s)%s%s\n", err ? "FAIL" : "PASS", name,
		       u.release, stats, err ? ": " : "", err ? strerror(-err) : "");
		if (err && load_one(name, 1)) {
			size_t n = strlen(vlog);

			char *l = strtok(n > 1500 ? vlog + n - 1500 : vlog, "\n");

			for (; l; l = strtok(NULL, "\n"))
				printf("# %s: %s\n", name, l);
		}
	}
	bpf_object__close(obj);
out:
	fflush(stdout);
	reboot(RB_POWER_OFF);
	return 0;
}
