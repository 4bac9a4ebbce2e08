// SPDX-License-Identifier: GPL-2.0
/* daemon_audit.c — the daemon's audits (daemon_audit.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <json-c/json.h>
#include "app/daemon.h"
#include "app/daemon_audit.h"
#include "lib/log.h"

void daemon_audit_init(struct daemon_audit *a, const char *config_path, unsigned interval)
{
	memset(a, 0, sizeof(*a));
	a->config_path = config_path;
	a->interval = interval;
	a->fd = -1;
	a->violations = -1;
	a->due = true;
}

static void reap(struct daemon_audit *a, bool kill_it)
{
	int status;

	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	if (a->pid > 0) {
		if (kill_it)
			kill(a->pid, SIGTERM);
		while (waitpid(a->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	a->pid = 0;
	a->len = 0;
}

void daemon_audit_request(struct daemon_audit *a)
{
	if (a->pid > 0)
		reap(a, true);	/* it judges a state that is gone */
	a->due = true;
}

int daemon_audit_fd(const struct daemon_audit *a)
{
	return a->fd;
}

static void start(struct daemon_audit *a)
{
	int p[2];
	pid_t pid;

	a->due = false;
	a->next = time(NULL) + (a->interval ? a->interval : 0);
	daemon_generation(&a->generation);
	if (pipe2(p, O_CLOEXEC)) {
		pr_warn("audit: pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0) {
		pr_warn("audit: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);	/* the daemon blocks its signals */
		dup2(p[1], 1);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 2);
		}
		execl("/proc/self/exe", "rempart", "-c", a->config_path, "audit", "--json", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	a->pid = pid;
	a->fd = p[0];
	a->len = 0;
}

/* One finished audit: its JSON into the log and the counters. */
static void finish(struct daemon_audit *a)
{
	json_object *o = NULL, *x, *vs;
	bool proven = false;

	a->runs++;
	if (a->len)
		o = json_tokener_parse(a->out);
	if (!o || !json_object_object_get_ex(o, "proven", &x)) {
		a->errors++;
		pr_err("audit: no result (the audit process failed)");
		goto out;
	}
	proven = json_object_get_boolean(x);
	if (json_object_object_get_ex(o, "error", &x)) {
		a->errors++;
		pr_err("audit: the live state cannot be judged: %s", json_object_get_string(x));
		goto out;
	}
	a->last_run = time(NULL);
	a->violations = 0;
	if (json_object_object_get_ex(o, "violations", &vs))
		for (size_t i = 0; i < json_object_array_length(vs); i++) {
			json_object *v = json_object_array_get_idx(vs, i), *p, *f;
			const char *k[] = { "kind", "from", "ingress", "reaches", "egress", "why" };
			const char *s[6], *pk[4];
			const char *pn[] = { "src", "dst", "proto", "dport" };

			for (int j = 0; j < 6; j++)
				s[j] = json_object_object_get_ex(v, k[j], &f) ? json_object_get_string(f) : "?";
			json_object_object_get_ex(v, "packet", &p);
			for (int j = 0; j < 4; j++)
				pk[j] = p && json_object_object_get_ex(p, pn[j], &f) ? json_object_get_string(f) : "?";
			pr_err("audit: violation %s from=%s ingress=%s src=%s dst=%s proto=%s dport=%s reaches=%s "
			       "egress=%s (%s)", s[0], s[1], s[2], pk[0], pk[1], pk[2], pk[3], s[3], s[4], s[5]);
			a->violations++;
		}
	if (proven)
		pr_info("audit: proven (%s)", json_object_object_get_ex(o, "checked", &x) ?
			json_object_to_json_string_ext(x, JSON_C_TO_STRING_PLAIN) : "");
out:
	json_object_put(o);
}

void daemon_audit_tick(struct daemon_audit *a)
{
	uint64_t gen = 0;

	if (a->pid > 0) {
		for (;;) {
			ssize_t r;

			if (a->cap - a->len < 4096) {
				char *p = realloc(a->out, a->cap + 65536);

				if (!p)
					break;
				a->out = p;
				a->cap += 65536;
			}
			r = read(a->fd, a->out + a->len, a->cap - a->len - 1);
			if (r > 0) {
				a->len += (size_t)r;
				continue;
			}
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				return;	/* more later */
			break;	/* EOF: done */
		}
		a->out[a->len] = 0;
		finish(a);
		reap(a, false);
	}
	/* another process changed the policy (an apply): audit that */
	if (!daemon_generation(&gen) && gen != a->generation)
		a->due = true;
	if (a->due || (a->interval && time(NULL) >= a->next))
		start(a);
}

void daemon_audit_stop(struct daemon_audit *a)
{
	reap(a, true);
	free(a->out);
	a->out = NULL;
	a->cap = 0;
}
