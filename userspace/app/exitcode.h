/* exitcode.h — the exit codes of rempart(8).  Returned by the app functions
 * that finish a command (daemon_run, daemon_apply_path, the confirm timer
 * and rollback) and by every cmd_*; everything below app/ returns
 * negative errno instead. */
#ifndef REMPART_EXITCODE_H
#define REMPART_EXITCODE_H

/* RP_EXIT_AUDIT: `rempart audit` found a violation. */
enum { RP_EXIT_OK = 0, RP_EXIT_CONFIG = 1, RP_EXIT_RUNTIME = 2, RP_EXIT_AUDIT = 3 };
#endif
