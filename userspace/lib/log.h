/* log.h — the logging module: stderr (the journal under systemd), levels,
 * "rempart: " before each line, errno preserved, libbpf's own output routed
 * through it. */
#ifndef REMPART_LOG_H
#define REMPART_LOG_H

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level lvl);
void log_route_libbpf(void);	/* libbpf_set_print() to us, warnings and up */
__attribute__((format(printf, 2, 3)))
void log_msg(enum log_level lvl, const char *fmt, ...);

#define pr_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define pr_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#endif
