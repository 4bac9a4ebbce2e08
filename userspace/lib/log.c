// SPDX-License-Identifier: GPL-2.0
/* log.c — see log.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "lib/log.h"

static enum log_level cur_level = LOG_LVL_INFO;

void log_set_level(enum log_level lvl) { cur_level = lvl; }

static void vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	int saved = errno;

	if (lvl > cur_level)
		goto out;
	fputs("rempart: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
out:
	errno = saved;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level lvl = level == LIBBPF_WARN ? LOG_LVL_WARN :
			     level == LIBBPF_INFO ? LOG_LVL_DEBUG : LOG_LVL_DEBUG + 1;
	int saved = errno;

	if (lvl <= cur_level) {
		fputs("rempart: libbpf: ", stderr);
		vfprintf(stderr, fmt, ap);	/* libbpf's lines end in \n */
	}
	errno = saved;
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
