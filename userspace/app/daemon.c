// SPDX-License-Identifier: GPL-2.0
/* daemon.c — `rempart run`: apply, READY=1, then one poll loop over a
 * signalfd (SIGHUP reload, SIGTERM/SIGINT exit), the metrics server and the
 * event ring buffer.  fail_mode decides what exit leaves behind. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include "app/confirm.h"
#include "app/daemon.h"
#include "app/daemon_audit.h"
#include "app/events.h"
#include "app/exitcode.h"
#include "app/metrics.h"
#include "app/rekey_watch.h"
#include "dataplane/dataplane.h"
#include "lib/fileutil.h"
#include "lib/lazylib.h"
#include "lib/log.h"
#include "lib/pidfile.h"
#include "net/net.h"

struct daemon {
	const struct daemon_opts *o;
	struct rp_config cfg;
	struct geo_db geo;
	struct cfg_fingerprint fp;
	struct metrics_state mst;
	struct metrics *metrics;
	char *metrics_listen;		/* what metrics is bound to */
	struct events *ev;
	struct event_ratelimit rl;
	struct daemon_audit audit;
	struct rekey_watch rekey;	/* sites in key rotation: a fast poll */
	int sfd;
};

static void log_diag(const char *prefix, const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		pr_err("%s: %s", prefix, d->msgs[i]);
}

static void on_event(const struct rp_event *e, void *ctx)
{
	struct daemon *dm = ctx;

	if (e->verdict == RP_DROP && dm->rl.per_sec)
		event_log(&dm->rl, e, &dm->cfg);
}

/* (Re)start what follows the config: the metrics listener and the events. */
static void services_update(struct daemon *dm)
{
	const char *want = dm->cfg.metrics_listen;
	struct diag d = { 0 };

	dm->mst.cfg = &dm->cfg;
	if (dm->metrics && (!want || strcmp(want, dm->metrics_listen))) {
		pr_info("metrics: stop listening on %s", dm->metrics_listen);
		metrics_stop(dm->metrics);
		dm->metrics = NULL;
		free(dm->metrics_listen);
		dm->metrics_listen = NULL;
	}
	if (want && !dm->metrics) {
		if (metrics_start(&dm->metrics, want, &dm->mst, &d)) {
			log_diag("metrics", &d);	/* the policy matters more: go on */
		} else {
			dm->metrics_listen = strdup(want);
			pr_info("metrics: http://%s/metrics", want);
		}
	}
	diag_free(&d);
	if (!dm->ev && !events_open(&dm->ev, NULL, on_event, dm, &d))
		pr_info("events: reading %s/%s", RP_PIN_DIR, RP_PIN_EVENTS);
	else if (!dm->ev)
		pr_warn("events: not available: %s", d.n ? d.msgs[0] : "?");
	diag_free(&d);
}

static void record_applied(struct daemon *dm)
{
	struct diag d = { 0 };

	if (confirm_record_applied(&dm->cfg, &d))
		log_diag("run", &d);
	diag_free(&d);
}

static void reload(struct daemon *dm)
{
	struct rp_config cfg;
	struct geo_db geo;
	struct cfg_fingerprint fp;
	struct diag d = { 0 };
	uint64_t gen = 0;
	int err;

	LAZY(LAZY_SYSTEMD, sd_notify)(0, "RELOADING=1\nSTATUS=reloading the configuration");
	pr_info("reload: SIGHUP, reading %s", dm->o->config_path);
	err = daemon_load(dm->o->config_path, &cfg, &geo, &d);
	if (err) {
		pr_err("reload: %s: configuration rejected (%zu errors), the running policy stays:",
		       dm->o->config_path, diag_count(&d));
		log_diag("reload", &d);
		goto fail;
	}
	err = daemon_enforce(&cfg, &geo, &d);
	if (err) {
		pr_err("reload: applying failed (%s), the running policy stays:", strerror(-err));
		log_diag("reload", &d);
		diag_free(&d);
		if (net_apply(&dm->cfg, &d))	/* put back what net_apply changed */
			log_diag("reload: restoring the previous network state", &d);
		geo_free(&geo);
		config_free(&cfg);
		goto fail;
	}
	cfg_fingerprint(&cfg, &fp);
	cfg_fingerprint_log(&dm->fp, &fp, "config change");
	cfg_fingerprint_free(&dm->fp);
	dm->fp = fp;
	geo_free(&dm->geo);
	config_free(&dm->cfg);
	dm->cfg = cfg;
	dm->geo = geo;
	dm->mst.reload_success++;
	daemon_audit_request(&dm->audit);
	daemon_generation(&gen);
	pr_info("reload: applied (%zu tenants, policy generation %llu)", dm->cfg.n_tenants,
		(unsigned long long)gen);
	record_applied(dm);
	services_update(dm);
	diag_free(&d);
	LAZY(LAZY_SYSTEMD, sd_notifyf)(0, "READY=1\nSTATUS=enforcing %zu tenants, generation %llu",
		   dm->cfg.n_tenants, (unsigned long long)gen);
	return;
fail:
	dm->mst.reload_error++;
	diag_free(&d);
	LAZY(LAZY_SYSTEMD, sd_notify)(0, "READY=1\nSTATUS=last reload failed, previous policy enforced");
}

static int loop(struct daemon *dm)
{
	for (;;) {
		struct pollfd p[4] = { { .fd = dm->sfd, .events = POLLIN },
				       { .fd = dm->metrics ? metrics_fd(dm->metrics) : -1,
					 .events = POLLIN },
				       { .fd = dm->ev ? events_fd(dm->ev) : -1, .events = POLLIN },
				       { .fd = daemon_audit_fd(&dm->audit), .events = POLLIN } };
		int timeout = 1000;	/* flush the "suppressed" count each second */
		struct signalfd_siginfo si;

		if (dm->metrics) {
			int t = metrics_timeout_ms(dm->metrics);

			if (t >= 0 && t < timeout)
				timeout = t;
		}
		{
			int t = rekey_watch_timeout(&dm->rekey, &dm->cfg);

			if (t >= 0 && t < timeout)
				timeout = t;
		}
		if (poll(p, 4, timeout) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("run: poll: %s", strerror(errno));
			return RP_EXIT_RUNTIME;
		}
		if (dm->metrics)
			metrics_run(dm->metrics);
		rekey_watch_run(&dm->rekey, &dm->cfg);
		if (p[2].revents && events_consume(dm->ev) < 0)
			pr_warn("events: %s", strerror(errno));
		event_log_tick(&dm->rl);
		daemon_audit_tick(&dm->audit);
		if (!(p[0].revents & POLLIN))
			continue;
		if (read(dm->sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			reload(dm);
		} else {
			pr_info("run: %s, exiting", strsignal(si.ssi_signo));
			return RP_EXIT_OK;
		}
	}
}

static int shutdown_dataplane(struct daemon *dm)
{
	struct diag d = { 0 };
	int ret = RP_EXIT_OK;

	if (dm->cfg.fail_mode == RP_FAIL_CLOSED) {
		pr_info("run: fail_mode = closed: the programs stay attached, the last policy "
			"stays enforced");
		return ret;
	}
	pr_info("run: fail_mode = open: detaching the programs");
	if (dataplane_down(&d)) {
		log_diag("run: dataplane down", &d);
		ret = RP_EXIT_RUNTIME;
	}
	diag_free(&d);
	return ret;
}

int daemon_run(const struct daemon_opts *o)
{
	struct daemon dm = { .o = o, .sfd = -1, .rl = { .per_sec = o->event_log_per_sec } };
	struct diag d = { 0 };
	uint64_t gen = 0;
	sigset_t mask;
	int err, ret;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);	/* before anything: no default death */
	signal(SIGPIPE, SIG_IGN);
	dm.sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (dm.sfd < 0) {
		pr_err("run: signalfd: %s", strerror(errno));
		return RP_EXIT_RUNTIME;
	}
	err = daemon_load(o->config_path, &dm.cfg, &dm.geo, &d);
	if (err) {
		pr_err("run: %s: configuration rejected (%zu errors):", o->config_path,
		       diag_count(&d));
		log_diag("run", &d);
		ret = err == -EINVAL ? RP_EXIT_CONFIG : RP_EXIT_RUNTIME;
		goto out_nocfg;
	}
	if (!mkdir_p(dm.cfg.state_dir, 0700))
		pidfile_write(dm.cfg.state_dir, dm.cfg.path);	/* before confirm_resume: its rollback HUPs us */
	if (confirm_resume(&dm.cfg, o->config_path, &d))
		log_diag("run", &d);
	diag_free(&d);
	err = daemon_enforce(&dm.cfg, &dm.geo, &d);
	if (err) {
		pr_err("run: applying %s failed: %s", o->config_path, strerror(-err));
		log_diag("run", &d);
		ret = RP_EXIT_RUNTIME;
		pidfile_remove(dm.cfg.state_dir);
		goto out;
	}
	daemon_generation(&gen);
	pr_info("run: %s applied (%zu tenants, policy generation %llu, fail_mode %s)",
		o->config_path, dm.cfg.n_tenants, (unsigned long long)gen,
		dm.cfg.fail_mode == RP_FAIL_OPEN ? "open" : "closed");
	cfg_fingerprint(&dm.cfg, &dm.fp);
	record_applied(&dm);
	daemon_audit_init(&dm.audit, o->config_path, o->audit_interval);
	dm.mst.audit = &dm.audit;
	services_update(&dm);
	/* wireguard-go, where it is used, has its own supervisor process per
	 * tunnel (wg_supervise.c) that outlives this one. */
	LAZY(LAZY_SYSTEMD, sd_notifyf)(0, "READY=1\nSTATUS=enforcing %zu tenants, generation %llu",
		   dm.cfg.n_tenants, (unsigned long long)gen);
	ret = loop(&dm);
	LAZY(LAZY_SYSTEMD, sd_notify)(0, "STOPPING=1");
	daemon_audit_stop(&dm.audit);
	if (shutdown_dataplane(&dm))
		ret = RP_EXIT_RUNTIME;
	pidfile_remove(dm.cfg.state_dir);
out:
	metrics_stop(dm.metrics);
	free(dm.metrics_listen);
	events_close(dm.ev);
	cfg_fingerprint_free(&dm.fp);
	geo_free(&dm.geo);
	config_free(&dm.cfg);
out_nocfg:
	diag_free(&d);
	close(dm.sfd);
	return ret;
}
