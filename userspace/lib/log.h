/* log.h — the logging module: stderr (the journal under systemd), levels,
 * "rempart: " before each line, errno preserved, libbpf's own output routed
 * through it.
 *
 * Under systemd (stderr is the journal stream: $JOURNAL_STREAM names it)
 * every line carries its syslog priority as a "<N>" prefix, which journald
 * takes as PRIORITY= (err 3, warning 4, notice 5, info 6, debug 7); a line
 * with fields (log_fields) goes to the journal directly, with them as
 * journal fields (TENANT=, SITE=, RULE=, REASON= …) beside MESSAGE=.
 * Elsewhere (a terminal, a test) lines are plain. */
#ifndef REMPART_LOG_H
#define REMPART_LOG_H

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_NOTICE, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level lvl);
void log_route_libbpf(void);	/* libbpf_set_print() to us, warnings and up */
__attribute__((format(printf, 2, 3)))
void log_msg(enum log_level lvl, const char *fmt, ...);
/* A line with journal fields: FIELDS is NULL-terminated, each "KEY=value"
 * (KEY in [A-Z0-9_]); the message is the same without the journal. */
__attribute__((format(printf, 3, 4)))
void log_fields(enum log_level lvl, const char *const *fields, const char *fmt, ...);
/* The syslog priority of a level (LOG_ERR …). */
int log_priority(enum log_level lvl);
/* What goes before a line written to stderr by hand at LVL: "<N>" when
 * stderr is the journal stream, else "". */
const char *log_prefix(enum log_level lvl);

#define pr_err(...)    log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define pr_warn(...)   log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define pr_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define pr_info(...)   log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...)  log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#endif
