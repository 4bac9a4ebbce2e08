/* pidfile.h — STATE_DIR/rempart.pid: which `rempart run` enforces which
 * configuration, so that `apply` and a rollback can ask it to reload. */
#ifndef REMPART_PIDFILE_H
#define REMPART_PIDFILE_H
#include <sys/types.h>

/* Record this process as the daemon of config_path (its real path). */
void pidfile_write(const char *state_dir, const char *config_path);
void pidfile_remove(const char *state_dir);
/* SIGHUP the running daemon when there is one and, if config_path is not
 * NULL, it enforces that same file.  Its pid, or 0 when none was asked. */
pid_t pidfile_hup(const char *state_dir, const char *config_path);
#endif
