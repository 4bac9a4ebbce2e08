// SPDX-License-Identifier: GPL-2.0
/* log.c — see log.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <systemd/sd-journal.h>
#include "lib/lazylib.h"
#include "lib/log.h"

static enum log_level cur_level = LOG_LVL_INFO;
static int journal = -1;	/* stderr is the journal stream; -1: not known yet */

void log_set_level(enum log_level lvl) { cur_level = lvl; }

int log_priority(enum log_level lvl)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };

	return lvl <= LOG_LVL_DEBUG ? prio[lvl] : LOG_DEBUG;
}

/* systemd sets JOURNAL_STREAM=DEV:INODE for the stream it connected to
 * stdout/stderr; a child whose stderr went elsewhere keeps the variable, so
 * it is compared with stderr itself. */
static bool to_journal(void)
{
	const char *e;
	unsigned long long dev, ino;
	struct stat st;

	if (journal < 0) {
		e = getenv("JOURNAL_STREAM");
		journal = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && !fstat(2, &st) &&
			  st.st_dev == dev && st.st_ino == ino;
	}
	return journal;
}

const char *log_prefix(enum log_level lvl)
{
	static char buf[8];

	if (!to_journal())
		return "";
	snprintf(buf, sizeof(buf), "<%d>", log_priority(lvl));
	return buf;
}

/* One line per line of MSG: with its priority for the journal stream. */
static void put_lines(enum log_level lvl, const char *msg)
{
	const char *nl;

	do {
		nl = strchr(msg, '\n');
		if (to_journal())
			fprintf(stderr, "<%d>", log_priority(lvl));
		fprintf(stderr, "rempart: %.*s\n", nl ? (int)(nl - msg) : (int)strlen(msg), msg);
		msg = nl ? nl + 1 : NULL;
	} while (msg && *msg);
}

static void vlog(enum log_level lvl, const char *const *fields, const char *fmt, va_list ap)
{
	int saved = errno;
	char *msg = NULL, *m = NULL, prio[16];

	if (lvl > cur_level || vasprintf(&msg, fmt, ap) < 0)
		goto out;
	/* sd_journal_sendv() drops the line silently when journald is not
	 * there: then the stream takes it */
	if (fields && fields[0] && to_journal() && !access("/run/systemd/journal/socket", W_OK) &&
	    asprintf(&m, "MESSAGE=rempart: %s", msg) > 0) {
		struct iovec iov[24];
		size_t n = 0;

		snprintf(prio, sizeof(prio), "PRIORITY=%d", log_priority(lvl));
		iov[n++] = (struct iovec){ m, strlen(m) };
		iov[n++] = (struct iovec){ prio, strlen(prio) };
		iov[n++] = (struct iovec){ "SYSLOG_IDENTIFIER=rempart", 25 };
		for (size_t i = 0; fields[i] && n < sizeof(iov) / sizeof(iov[0]); i++)
			iov[n++] = (struct iovec){ (void *)fields[i], strlen(fields[i]) };
		if (!LAZY(LAZY_SYSTEMD, sd_journal_sendv)(iov, (int)n))
			goto out;
		/* no journal socket: the stream still takes the line */
	}
	put_lines(lvl, msg);
out:
	free(msg);
	free(m);
	errno = saved;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lvl, NULL, fmt, ap);
	va_end(ap);
}

void log_fields(enum log_level lvl, const char *const *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lvl, fields, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level lvl = level == LIBBPF_WARN ? LOG_LVL_WARN :
			     level == LIBBPF_INFO ? LOG_LVL_DEBUG : LOG_LVL_DEBUG + 1;
	int saved = errno;

	if (lvl <= cur_level) {
		char *msg = NULL;
		size_t n;

		if (vasprintf(&msg, fmt, ap) >= 0) {
			n = strlen(msg);
			if (n && msg[n - 1] == '\n')	/* libbpf's lines end in \n */
				msg[n - 1] = 0;
			log_msg(lvl, "libbpf: %s", msg);
			free(msg);
		}
	}
	errno = saved;
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
