// SPDX-License-Identifier: GPL-2.0
/* ha.c — keepalived supervised by `rempart run` (docs/ha.md).
 *
 * keepalived runs in the foreground (-n), VRRP only (-P), in a process
 * group of its own, with its pid files in the state directory; it gets
 * SIGTERM when the daemon dies however it dies (PR_SET_PDEATHSIG), so a
 * gateway whose rempart is gone gives its virtual addresses up at once
 * (keepalived's last advert has priority 0: the peer takes over without
 * waiting for the master-down timer).  When keepalived dies the daemon
 * starts it again after a second, and the role is "fault" meanwhile.
 *
 * The role comes from keepalived's notify FIFO: lines
 *   INSTANCE "rempart" MASTER 150
 * MASTER is active, BACKUP standby, FAULT and STOP fault.  The daemon
 * records it in STATE_DIR/ha.role for `status` (with its own pid: a role
 * recorded by a daemon that is gone is no role). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "ha/ha.h"
#include "lib/clock.h"
#include "lib/fileutil.h"
#include "lib/log.h"
#include "lib/statedir.h"

#define HA_KEEPALIVED "/usr/sbin/keepalived"
#define HA_RESTART_MS 1000

const char *ha_role_name(enum ha_role r)
{
	return r == HA_ACTIVE ? "active" : r == HA_STANDBY ? "standby" : "fault";
}

static void record_role(struct ha *h)
{
	char path[PATH_MAX], text[160];
	struct iovec iov = { .iov_base = text };

	statedir_path(path, h->state_dir, SD_HA_ROLE);
	iov.iov_len = snprintf(text, sizeof(text), "role %s\ntransitions %llu\nsince %lld\npid %d\n",
			       ha_role_name(h->role), (unsigned long long)h->transitions,
			       (long long)time(NULL), (int)getpid());
	if (file_replace(path, &iov, 1, 0644, false))
		pr_warn("ha: cannot record the role in %s", path);
}

static void set_role(struct ha *h, enum ha_role r, const char *why)
{
	if (r == h->role)
		return;
	if (h->role == HA_ACTIVE)
		ha_sync_goodbye(h);	/* before the role changes: sent as the active */
	pr_info("ha: %s -> %s (%s)", ha_role_name(h->role), ha_role_name(r), why);
	h->role = r;
	h->transitions++;
	h->since = clock_ms();
	h->renew_at = 0;	/* a takeover calls the sites itself; a standby does not */
	record_role(h);
	if (r == HA_ACTIVE)
		ha_sync_takeover(h);
	ha_ct_role(&h->ct, r);
}

static int write_health(struct ha *h)
{
	char path[PATH_MAX];
	struct iovec iov = { (void *)(h->healthy ? "0\n" : "1\n"), 2 };

	statedir_path(path, h->state_dir, SD_HA_HEALTH);
	return file_replace(path, &iov, 1, 0600, false);
}

static int write_conf(struct ha *h, const struct rp_config *cfg, struct diag *d)
{
	char path[PATH_MAX], *text = NULL;
	struct iovec iov;
	int err;

	err = ha_conf_text(cfg, h->state_dir, &text);
	if (err) {
		diag_add(d, "ha: keepalived configuration: %s", strerror(-err));
		return err;
	}
	statedir_path(path, h->state_dir, SD_HA_CONF);
	iov.iov_base = text;
	iov.iov_len = strlen(text);
	err = file_replace(path, &iov, 1, 0600, false);
	free(text);
	if (err)
		diag_add(d, "ha: cannot write %s: %s", path, strerror(-err));
	return err;
}

static int open_fifo(struct ha *h, struct diag *d)
{
	char path[PATH_MAX];
	struct stat st;

	statedir_path(path, h->state_dir, SD_HA_FIFO);
	if (!lstat(path, &st) && !S_ISFIFO(st.st_mode))
		unlink(path);
	if (mkfifo(path, 0600) && errno != EEXIST) {
		diag_add(d, "ha: cannot create %s: %s", path, strerror(errno));
		return -errno;
	}
	/* read and write: never an EOF when keepalived closes its end */
	h->fifo = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (h->fifo < 0) {
		diag_add(d, "ha: cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int spawn(struct ha *h)
{
	char conf[PATH_MAX], pid[PATH_MAX], vpid[PATH_MAX];
	pid_t p;

	statedir_path(conf, h->state_dir, SD_HA_CONF);
	statedir_path(pid, h->state_dir, SD_HA_PID);
	statedir_path(vpid, h->state_dir, SD_HA_VRRP_PID);
	p = ha_spawn(h->keepalived, (char *const[]){ "keepalived", "-n", "-l", "-G", "-P", "-f", conf,
						      "-p", pid, "-r", vpid, NULL });
	if (p < 0)
		return p;
	h->pid = p;
	pr_info("ha: keepalived started (pid %d, %s)", (int)p, conf);
	return 0;
}

/* Without the sync the pair still works: the sites re-handshake on their
 * own after a switch (~15 s). */
static void start_sync(struct ha *h, const struct rp_config *cfg)
{
	int err = ha_sync_open(h, cfg);

	if (err)
		pr_warn("ha: peer endpoint sync off: udp/%d on %s: %s", HA_SYNC_PORT,
			cfg->ha.sync_interface, strerror(-err));
}

/* Without the table the pair still works, but a gateway that is not active
 * may lure sites to its own address (docs/ha.md). */
static void start_nft(const struct rp_config *cfg)
{
	struct diag d = { 0 };

	if (ha_nft_apply(cfg, &d))
		pr_err("%s: WireGuard may leave the uplink from this gateway's own address",
		       d.n ? d.msgs[0] : "ha: table inet rempart_ha");
	diag_free(&d);
}

/* Without conntrackd the pair still works, but the NAT tenants' NATed
 * connections break at a switch (docs/ha.md). */
static void start_ct(struct ha *h, const struct rp_config *cfg, bool restart)
{
	struct diag d = { 0 };

	if (restart ? ha_ct_reconfigure(&h->ct, cfg, &d) : ha_ct_start(&h->ct, cfg, &d))
		pr_err("%s: NATed connections will not survive a switch",
		       d.n ? d.msgs[0] : "ha: conntrackd");
	diag_free(&d);
}

int ha_start(struct ha *h, const struct rp_config *cfg, struct diag *d)
{
	const char *bin = getenv("RP_KEEPALIVED");
	int err;

	if (!cfg->ha.enabled)
		return 0;
	h->fifo = -1;
	h->sync_fd = -1;
	h->on = true;
	h->cfg = cfg;
	h->state_dir = strdup(cfg->state_dir);
	h->keepalived = strdup(bin && *bin ? bin : HA_KEEPALIVED);
	if (!h->state_dir || !h->keepalived)
		return -ENOMEM;
	h->role = HA_STANDBY;	/* holds no address until keepalived says MASTER */
	h->since = clock_ms();
	record_role(h);
	err = write_health(h);
	if (!err)
		err = write_conf(h, cfg, d);
	if (!err)
		err = open_fifo(h, d);
	if (!err)
		start_nft(cfg);
	if (!err)
		start_sync(h, cfg);
	if (!err && (err = spawn(h)))
		diag_add(d, "ha: cannot start keepalived: %s", strerror(-err));
	if (!err)
		start_ct(h, cfg, false);
	if (err)
		set_role(h, HA_FAULT, "keepalived not started");
	return err;
}

static void kill_keepalived(struct ha *h)
{
	int status;

	if (!h->pid)
		return;
	kill(h->pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(h->pid, &status, WNOHANG) == h->pid)
			goto done;
		usleep(10000);
	}
	pr_warn("ha: keepalived (pid %d) did not stop in 2 s: killed", (int)h->pid);
	kill(-h->pid, SIGKILL);
	waitpid(h->pid, &status, 0);
done:
	h->pid = 0;
}

void ha_stop(struct ha *h)
{
	char path[PATH_MAX];

	if (!h->on)
		return;
	kill_keepalived(h);
	ha_ct_stop(&h->ct);
	if (h->fifo >= 0)
		close(h->fifo);
	h->fifo = -1;
	ha_sync_close(h);
	statedir_path(path, h->state_dir, SD_HA_ROLE);
	unlink(path);
	pr_info("ha: keepalived stopped");
	free(h->state_dir);
	free(h->keepalived);
	memset(h, 0, sizeof(*h));
	h->fifo = -1;
	h->sync_fd = -1;
}

int ha_reconfigure(struct ha *h, const struct rp_config *cfg, struct diag *d)
{
	if (!cfg->ha.enabled) {
		if (h->on)
			ha_nft_remove();
		ha_stop(h);
		return 0;
	}
	if (!h->on || strcmp(h->state_dir, cfg->state_dir)) {
		ha_stop(h);
		return ha_start(h, cfg, d);
	}
	if (write_conf(h, cfg, d))
		return -EIO;
	h->cfg = cfg;
	start_nft(cfg);		/* the listen ports may have changed */
	ha_sync_close(h);	/* peer or sync_interface may have changed */
	start_sync(h, cfg);
	start_ct(h, cfg, true);
	if (h->pid)
		kill(h->pid, SIGHUP);	/* keepalived reloads its configuration */
	return 0;
}

int ha_fd(const struct ha *h)
{
	return h->on ? h->fifo : -1;
}

/* One line of the FIFO: INSTANCE "rempart" MASTER 150.  MASTER, BACKUP,
 * FAULT, STOP and DELETED are states.  MASTER_RX_LOWER_PRI is not: the
 * master heard a lower priority's advert, i.e. the peer was master too (it
 * took over while this gateway was frozen, or the sync link was cut); the
 * peer steps back, and the sites' sessions may be with it: renew them.
 * (Read as a state, it made a thawed gateway "fault" while it held the
 * addresses.)  Anything else is no change of role. */
static void fifo_line(struct ha *h, const char *line)
{
	char type[16], name[64], state[32];

	if (sscanf(line, "%15s %63s %31s", type, name, state) != 3 || strcmp(type, "INSTANCE"))
		return;
	if (!strcmp(state, "MASTER"))
		set_role(h, HA_ACTIVE, "keepalived: MASTER");
	else if (!strcmp(state, "BACKUP"))
		set_role(h, HA_STANDBY, "keepalived: BACKUP");
	else if (!strcmp(state, "FAULT") || !strcmp(state, "STOP") || !strcmp(state, "DELETED"))
		set_role(h, HA_FAULT, !strcmp(state, "FAULT") ? "keepalived: FAULT" :
			 !strcmp(state, "STOP") ? "keepalived: STOP" : "keepalived: DELETED");
	else if (!strcmp(state, "MASTER_RX_LOWER_PRI"))
		ha_sync_renew_due(h, clock_ms(), "keepalived heard the peer as master too");
}

static void read_fifo(struct ha *h)
{
	ssize_t n;

	while ((n = read(h->fifo, h->buf + h->len, sizeof(h->buf) - 1 - h->len)) > 0) {
		char *p = h->buf, *nl;

		h->len += n;
		h->buf[h->len] = '\0';
		while ((nl = strchr(p, '\n'))) {
			*nl = '\0';
			fifo_line(h, p);
			p = nl + 1;
		}
		h->len -= p - h->buf;
		memmove(h->buf, p, h->len);
		if (h->len == sizeof(h->buf) - 1)
			h->len = 0;	/* no line is that long: drop it */
	}
}

int ha_tick(struct ha *h)
{
	int status, sync, ct;

	if (!h->on)
		return -1;
	/* the peer's newest hints first: a takeover read below uses them */
	sync = ha_sync_tick(h);
	ct = ha_ct_tick(&h->ct);
	if (ct >= 0 && (sync < 0 || ct < sync))
		sync = ct;
	if (h->fifo >= 0)
		read_fifo(h);
	if (h->pid && waitpid(h->pid, &status, WNOHANG) == h->pid) {
		pr_err("ha: keepalived (pid %d) %s %d: starting it again in %d ms", (int)h->pid,
		       WIFSIGNALED(status) ? "killed by signal" : "exited with",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), HA_RESTART_MS);
		kill(-h->pid, SIGKILL);	/* its VRRP child, if it outlived it */
		h->pid = 0;
		set_role(h, HA_FAULT, "keepalived died");
		h->restart_at = clock_ms() + HA_RESTART_MS;
	}
	if (!h->pid && h->restart_at) {
		double left = h->restart_at - clock_ms();

		if (left > 0)
			return (int)left + 1;
		h->restart_at = 0;
		h->restarts++;
		if (spawn(h)) {
			h->restart_at = clock_ms() + HA_RESTART_MS;
			return HA_RESTART_MS;
		}
	}
	return sync;
}

void ha_set_health(struct ha *h, bool healthy)
{
	if (!h->on || h->healthy == healthy)
		return;
	h->healthy = healthy;
	if (write_health(h))
		pr_warn("ha: cannot write the health file");
	else
		pr_info("ha: health %s", healthy ? "good" : "fault (keepalived gives the addresses up)");
}

int ha_role_read(const char *state_dir, enum ha_role *role, uint64_t *transitions,
		 uint64_t *since_unix)
{
	char path[PATH_MAX], r[16] = "";
	unsigned long long tr = 0;
	long long since = 0;
	int pid = 0;
	char *text;

	*role = HA_FAULT;
	*transitions = 0;
	*since_unix = 0;
	statedir_path(path, state_dir, SD_HA_ROLE);
	text = file_read_all(path, NULL);
	if (!text)
		return -errno;
	if (sscanf(text, "role %15s\ntransitions %llu\nsince %lld\npid %d", r, &tr, &since,
		   &pid) != 4) {
		free(text);
		return -EINVAL;
	}
	free(text);
	*transitions = tr;
	*since_unix = since;
	if (pid <= 0 || (kill(pid, 0) && errno == ESRCH))
		return 0;	/* its daemon is gone: fault */
	*role = !strcmp(r, "active") ? HA_ACTIVE : !strcmp(r, "standby") ? HA_STANDBY : HA_FAULT;
	return 0;
}
