// SPDX-License-Identifier: GPL-2.0
/* ha_conntrackd.c — conntrackd supervised by `rempart run` for the NAT
 * tenants of an [ha] pair (docs/ha.md "NAT state: conntrackd").
 *
 * The configuration (STATE_DIR/conntrackd.conf, rewritten at every start
 * and reload):
 *   - Sync mode FTFW (acknowledged, resent, reordered: nothing is lost
 *     silently) over UDP, unicast from this gateway's address on
 *     sync_interface to [ha] peer, port RP_HA_CT_PORT (check refuses it as
 *     a listen port), checksummed; StartupResync asks the peer for its
 *     whole table whenever conntrackd starts (a gateway coming back);
 *   - the filter keeps TCP and UDP entries whose source is a NAT tenant's
 *     cloud prefix, tunnel address, or site (allowed_ips, tunnel_ip): the
 *     gateway's own connections are not synced;
 *   - the lock file and control socket in the state directory (two
 *     gateways of a lab share one file system), no log file, no syslog:
 *     its errors go to rempart's stderr.
 * conntrackd runs in the foreground in a process group of its own, with
 * PR_SET_PDEATHSIG, like keepalived (ha.c); when it dies it is started
 * again after a second, its lock file first removed (a killed conntrackd
 * leaves it, and conntrackd refuses to start while it is there).
 *
 * Role changes, as conntrackd's primary-backup.sh:
 *   active:  -c (commit the external cache into the kernel), then the
 *            committed entries are moved into their tenant's zone and every
 *            NATed TCP entry made liberal (ha_ct_zone.c: one left from an
 *            earlier time as the active is stale), -f (flush both caches),
 *            -R (resync the internal cache from the kernel), -B (bulk send
 *            to the peer); again when the peer turns out to have been
 *            active too (a thaw, a healed split brain), with the sites'
 *            renewal (ha_sync_tick);
 *   standby: -t (purge timer on the kernel's entries: those of a former
 *            active go unless refreshed), -n (resync from the peer);
 *   fault:   -t.
 * They run in a child of the daemon, one at a time; a change that arrives
 * meanwhile runs after it (only the newest). */
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ha/ha_conntrackd.h"
#include "lib/addr.h"
#include "lib/clock.h"
#include "lib/fileutil.h"
#include "lib/log.h"
#include "lib/statedir.h"

#define HA_CONNTRACKD "/usr/sbin/conntrackd"
#define HA_CT_RESTART_MS 1000
#define HA_CT_NONE (-2)

bool ha_ct_wanted(const struct rp_config *cfg)
{
	if (!cfg->ha.enabled)
		return false;
	for (size_t i = 0; i < cfg->n_tenants; i++)
		if (cfg->tenants[i].egress == RP_EGRESS_NAT)
			return true;
	return false;
}

static void filter_list(FILE *f, const struct rp_prefix_list *l)
{
	char a[INET6_ADDRSTRLEN + 8];

	for (size_t k = 0; k < l->n; k++) {
		struct rp_prefix p = l->v[k];

		/* the network: conntrackd compares the address as written */
		for (unsigned int b = p.len; b < (p.family == AF_INET ? 32u : 128u); b++)
			p.addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
		prefix_format(&p, a, sizeof(a));
		fprintf(f, "\t\t\t%s %s\n", p.family == AF_INET ? "IPv4_address" : "IPv6_address", a);
	}
}

int ha_ct_text(const struct rp_config *cfg, const char *state_dir, const struct rp_addr *local,
	       char **buf)
{
	char path[PATH_MAX], me[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN];
	const char *v = cfg->ha.peer.family == AF_INET6 ? "IPv6" : "IPv4";
	size_t len = 0;
	FILE *f;

	*buf = NULL;
	f = open_memstream(buf, &len);
	if (!f)
		return -ENOMEM;
	addr_format(local, me, sizeof(me));
	addr_format(&cfg->ha.peer, peer, sizeof(peer));
	fprintf(f, "# Written by `rempart run` from [ha] of %s at every start and reload\n"
		   "# (docs/ha.md, \"NAT state: conntrackd\"); edits are lost.\n\n", cfg->path);
	fprintf(f, "Sync {\n\tMode FTFW {\n\t\tStartupResync on\n\t}\n"
		   "\tUDP {\n\t\t%s_address %s\n\t\t%s_Destination_Address %s\n"
		   "\t\tPort %d\n\t\tInterface %s\n\t\tChecksum on\n\t}\n}\n\n",
		v, me, v, peer, RP_HA_CT_PORT, cfg->ha.sync_interface);
	fprintf(f, "General {\n\tHashSize 16384\n\tHashLimit 131072\n\tLogFile off\n\tSyslog off\n");
	statedir_path(path, state_dir, SD_HA_CT_LOCK);
	fprintf(f, "\tLockFile %s\n", path);
	statedir_path(path, state_dir, SD_HA_CT_CTL);
	fprintf(f, "\tUNIX {\n\t\tPath %s\n\t}\n", path);
	fprintf(f, "\tNetlinkBufferSize 2097152\n\tNetlinkBufferSizeMaxGrowth 8388608\n"
		   "\tNetlinkOverrunResync on\n");
	/* the NAT tenants' connections only: their sources */
	fprintf(f, "\tFilter From Userspace {\n\t\tProtocol Accept {\n\t\t\tTCP\n\t\t\tUDP\n\t\t}\n"
		   "\t\tAddress Accept {\n");
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		if (t->egress != RP_EGRESS_NAT)
			continue;
		fprintf(f, "\t\t\t# tenant %s\n", t->name);
		filter_list(f, &t->cloud_prefixes);
		filter_list(f, &t->tunnel_address);
		for (size_t s = 0; s < t->n_sites; s++) {
			filter_list(f, &t->sites[s].allowed_ips);
			filter_list(f, &t->sites[s].tunnel_ip);
		}
	}
	fprintf(f, "\t\t}\n\t}\n}\n");
	if (fclose(f)) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* This gateway's address on sync_interface in the peer's family (a
 * link-local one only if there is no other).  0 or -EADDRNOTAVAIL. */
static int local_addr(const struct rp_config *cfg, struct rp_addr *out)
{
	struct ifaddrs *ifa, *i;
	int found = 0;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i && found < 2; i = i->ifa_next) {
		struct rp_addr a = { 0 };

		if (!i->ifa_addr || i->ifa_addr->sa_family != cfg->ha.peer.family ||
		    strcmp(i->ifa_name, cfg->ha.sync_interface))
			continue;
		a.family = (uint8_t)i->ifa_addr->sa_family;
		if (a.family == AF_INET) {
			memcpy(a.addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else {
			const struct in6_addr *x = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;

			memcpy(a.addr, x, 16);
			if (IN6_IS_ADDR_LINKLOCAL(x)) {
				if (!found) {
					*out = a;
					found = 1;
				}
				continue;
			}
		}
		*out = a;
		found = 2;
	}
	freeifaddrs(ifa);
	return found ? 0 : -EADDRNOTAVAIL;
}

/* Write the configuration; *changed says whether it differs from the file
 * there.  0 or -errno with a message in *d. */
static int write_conf(struct ha_ct *c, const struct rp_config *cfg, bool *changed, struct diag *d)
{
	char path[PATH_MAX], *text = NULL;
	struct rp_addr me;
	int err;

	*changed = false;
	err = local_addr(cfg, &me);
	if (err) {
		diag_add(d, "ha: conntrackd: no %s address on sync_interface %s: %s",
			 cfg->ha.peer.family == AF_INET ? "IPv4" : "IPv6", cfg->ha.sync_interface,
			 strerror(-err));
		return err;
	}
	err = ha_ct_text(cfg, c->state_dir, &me, &text);
	if (err) {
		diag_add(d, "ha: conntrackd configuration: %s", strerror(-err));
		return err;
	}
	statedir_path(path, c->state_dir, SD_HA_CT_CONF);
	if (file_holds(path, text, strlen(text), 0644)) {
		free(text);
		return 0;
	}
	*changed = true;
	err = file_replace(path, &(struct iovec){ text, strlen(text) }, 1, 0644, false);
	free(text);
	if (err)
		diag_add(d, "ha: cannot write %s: %s", path, strerror(-err));
	return err;
}

bool ha_child_setup(pid_t parent, bool own_group)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	if (own_group)
		setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	return getppid() == parent;
}

pid_t ha_spawn(const char *bin, char *const argv[])
{
	pid_t parent = getpid(), p = fork();

	if (p < 0)
		return -errno;
	if (p == 0) {
		if (!ha_child_setup(parent, true))
			_exit(1);
		close_range(3, ~0U, 0);	/* the daemon's maps and sockets stay its own */
		execv(bin, argv);
		fprintf(stderr, "ha: cannot run %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	setpgid(p, p);
	return p;
}

static int spawn(struct ha_ct *c)
{
	char conf[PATH_MAX], path[PATH_MAX];
	pid_t p;

	statedir_path(conf, c->state_dir, SD_HA_CT_CONF);
	/* ours is not running (reaped or never started): what a killed one
	 * left would stop the next */
	statedir_path(path, c->state_dir, SD_HA_CT_LOCK);
	unlink(path);
	statedir_path(path, c->state_dir, SD_HA_CT_CTL);
	unlink(path);
	p = ha_spawn(c->bin, (char *const[]){ "conntrackd", "-C", conf, NULL });
	if (p < 0)
		return p;
	c->pid = p;
	pr_info("ha: conntrackd started (pid %d, %s)", (int)p, conf);
	return 0;
}

/* `conntrackd -C CONF OPT`, waited for; its exit status (-1: not run). */
static int ctl(const char *bin, const char *conf, const char *opt)
{
	int status;
	pid_t p = fork();

	if (p < 0)
		return -1;
	if (p == 0) {
		execl(bin, "conntrackd", "-C", conf, opt, (char *)NULL);
		_exit(127);
	}
	while (waitpid(p, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The role change's commands, in the child. */
static void hook_run(const struct ha_ct *c, int role)
{
	static const char *const active[] = { "-c", "-f", "-R", "-B", NULL };
	static const char *const standby[] = { "-t", "-n", NULL };
	static const char *const fault[] = { "-t", NULL };
	const char *const *opts = role == 1 ? active : role == 0 ? standby : fault;
	char conf[PATH_MAX];
	double t0 = clock_ms();

	statedir_path(conf, c->state_dir, SD_HA_CT_CONF);
	for (size_t i = 0; opts[i]; i++) {
		int rc = ctl(c->bin, conf, opts[i]);

		if (rc)
			pr_warn("ha: conntrackd %s failed (exit %d)", opts[i], rc);
		if (role == 1 && i == 0) {
			int moved = ha_ct_rezone();

			if (moved < 0)
				pr_warn("ha: the committed NAT entries keep the default zone: %s",
					strerror(-moved));
			else
				pr_info("ha: conntrackd: %d NATed connections committed into their "
					"tenants' zones (%.0f ms)", moved, clock_ms() - t0);
			moved = ha_ct_liberal();
			if (moved < 0)
				pr_warn("ha: the NATed TCP entries keep their window tracking: %s",
					strerror(-moved));
			else
				pr_info("ha: conntrackd: %d NATed TCP entries made liberal "
					"(the window a stale one tracked is past)", moved);
		}
	}
}

static void hook_start(struct ha_ct *c, int role)
{
	pid_t parent = getpid(), p = fork();

	if (p < 0) {
		pr_warn("ha: conntrackd: cannot fork for the role change: %s", strerror(errno));
		return;
	}
	if (p == 0) {
		if (ha_child_setup(parent, false))
			hook_run(c, role);
		_exit(0);
	}
	c->hook = p;
}

void ha_ct_role(struct ha_ct *c, int role)
{
	if (!c->on)
		return;
	if (c->hook)
		c->pending = role;
	else
		hook_start(c, role);
}

int ha_ct_start(struct ha_ct *c, const struct rp_config *cfg, struct diag *d)
{
	const char *bin = getenv("RP_CONNTRACKD");
	bool changed;
	int err;

	if (!ha_ct_wanted(cfg))
		return 0;
	memset(c, 0, sizeof(*c));
	c->pending = HA_CT_NONE;
	c->on = true;
	c->cfg = cfg;
	c->state_dir = strdup(cfg->state_dir);
	c->bin = strdup(bin && *bin ? bin : HA_CONNTRACKD);
	if (!c->state_dir || !c->bin)
		return -ENOMEM;
	err = write_conf(c, cfg, &changed, d);
	if (!err && (err = spawn(c)))
		diag_add(d, "ha: cannot start conntrackd: %s", strerror(-err));
	if (err)	/* tried again every second: the address may come */
		c->restart_at = clock_ms() + HA_CT_RESTART_MS;
	return err;
}

static void reap_wait(pid_t p, int ms)
{
	int status;

	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(p, &status, WNOHANG) == p)
			return;
		usleep(10000);
	}
	kill(-p, SIGKILL);
	kill(p, SIGKILL);
	waitpid(p, &status, 0);
}

void ha_ct_stop(struct ha_ct *c)
{
	if (!c->on)
		return;
	if (c->hook) {
		kill(c->hook, SIGKILL);
		reap_wait(c->hook, 0);
	}
	if (c->pid) {
		kill(c->pid, SIGTERM);
		reap_wait(c->pid, 2000);
		pr_info("ha: conntrackd stopped");
	}
	free(c->state_dir);
	free(c->bin);
	memset(c, 0, sizeof(*c));
	c->pending = HA_CT_NONE;
}

int ha_ct_reconfigure(struct ha_ct *c, const struct rp_config *cfg, struct diag *d)
{
	bool changed;
	int err;

	if (!ha_ct_wanted(cfg) || (c->on && strcmp(c->state_dir, cfg->state_dir)))
		ha_ct_stop(c);
	if (!ha_ct_wanted(cfg))
		return 0;
	if (!c->on)
		return ha_ct_start(c, cfg, d);
	c->cfg = cfg;
	err = write_conf(c, cfg, &changed, d);
	if (err || !changed)
		return err;
	/* conntrackd has no reload: started again, it reads the kernel's
	 * table and asks the peer for its own (StartupResync) */
	if (c->pid) {
		kill(c->pid, SIGTERM);
		reap_wait(c->pid, 2000);
		c->pid = 0;
	}
	err = spawn(c);
	if (err) {
		diag_add(d, "ha: cannot start conntrackd: %s", strerror(-err));
		c->restart_at = clock_ms() + HA_CT_RESTART_MS;
	}
	return err;
}

int ha_ct_tick(struct ha_ct *c)
{
	int status;

	if (!c->on)
		return -1;
	if (c->hook && waitpid(c->hook, &status, WNOHANG) == c->hook) {
		c->hook = 0;
		if (c->pending != HA_CT_NONE) {
			int role = c->pending;

			c->pending = HA_CT_NONE;
			hook_start(c, role);
		}
	}
	if (c->pid && waitpid(c->pid, &status, WNOHANG) == c->pid) {
		pr_err("ha: conntrackd (pid %d) %s %d: starting it again in %d ms", (int)c->pid,
		       WIFSIGNALED(status) ? "killed by signal" : "exited with",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), HA_CT_RESTART_MS);
		kill(-c->pid, SIGKILL);
		c->pid = 0;
		c->restart_at = clock_ms() + HA_CT_RESTART_MS;
	}
	if (!c->pid && c->restart_at) {
		double left = c->restart_at - clock_ms();

		if (left > 0)
			return (int)left + 1;
		struct diag d = { 0 };
		bool changed;

		c->restart_at = 0;
		c->restarts++;
		/* written again: a start that failed may have written nothing */
		if (write_conf(c, c->cfg, &changed, &d) || spawn(c)) {
			if (d.n && c->restarts % 60 == 1)
				pr_warn("%s", d.msgs[0]);
			diag_free(&d);
			c->restart_at = clock_ms() + HA_CT_RESTART_MS;
			return HA_CT_RESTART_MS;
		}
		diag_free(&d);
	}
	/* a role child is reaped at the next turn: poll again soon */
	return c->hook ? 100 : -1;
}
