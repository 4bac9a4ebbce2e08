// SPDX-License-Identifier: GPL-2.0
/* pidfile.c — see pidfile.h.  The file holds two lines: the pid and the
 * real path of the configuration the daemon was started with. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lib/fileutil.h"
#include "lib/pidfile.h"
#include "lib/statedir.h"

void pidfile_write(const char *state_dir, const char *config_path)
{
	char p[PATH_MAX], real[PATH_MAX], text[PATH_MAX + 24];
	int len;

	statedir_path(p, state_dir, SD_PID_FILE);
	if (!realpath(config_path, real))
		snprintf(real, sizeof(real), "%s", config_path);
	len = snprintf(text, sizeof(text), "%d\n%s\n", (int)getpid(), real);
	file_replace(p, &(struct iovec){ text, (size_t)len }, 1, 0644, false);
}

void pidfile_remove(const char *state_dir)
{
	char p[PATH_MAX];

	statedir_path(p, state_dir, SD_PID_FILE);
	unlink(p);
}

pid_t pidfile_hup(const char *state_dir, const char *config_path)
{
	char p[PATH_MAX], line[PATH_MAX + 2] = "", real[PATH_MAX];
	pid_t pid = 0;
	FILE *f;

	statedir_path(p, state_dir, SD_PID_FILE);
	f = fopen(p, "re");
	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f))
		pid = atoi(line);
	line[0] = '\0';
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	if (pid <= 1 || pid == getpid())
		return 0;
	/* a daemon of another configuration is not ours to reload */
	if (config_path && line[0] &&
	    (!realpath(config_path, real) || strcmp(real, line)))
		return 0;
	return kill(pid, SIGHUP) ? 0 : pid;
}
