/* daemon_audit.h — the daemon's audits (docs/audit.md, "In the daemon"): `rempart audit --json`
 * run as a child process, so that the daemon's loop (metrics, events,
 * signals) stays responsive while it runs; after every change the daemon
 * makes, whenever the live policy generation moves (an `apply` by another
 * process), and every interval.  Each result is logged (one error line per
 * violation, or why the state could not be judged) and kept for the
 * metrics. */
#ifndef REMPART_DAEMON_AUDIT_H
#define REMPART_DAEMON_AUDIT_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct daemon_audit {
	const char *config_path;
	unsigned interval;		/* seconds between audits; 0: only after changes */
	pid_t pid;			/* the running audit, 0 none */
	int fd;				/* its stdout, -1 none */
	char *out;
	size_t len, cap;
	bool due;			/* start one as soon as none runs */
	time_t next;			/* the next periodic one */
	uint64_t generation;		/* the policy generation last audited */
	/* results, for metrics */
	time_t last_run;		/* when the last audit that judged finished, 0 never */
	int64_t violations;		/* of that audit, -1 none yet */
	uint64_t runs, errors;		/* audits finished; those that could not judge */
};

void daemon_audit_init(struct daemon_audit *a, const char *config_path, unsigned interval);
/* A change was made: audit it (a running audit of the old state is
 * dropped). */
void daemon_audit_request(struct daemon_audit *a);
/* For poll(): the child's output, -1 when none runs. */
int daemon_audit_fd(const struct daemon_audit *a);
/* Call after poll (readable, or on each loop turn): collects the output,
 * finishes a run, starts one when due. */
void daemon_audit_tick(struct daemon_audit *a);
void daemon_audit_stop(struct daemon_audit *a);
#endif
