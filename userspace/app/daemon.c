// SPDX-License-Identifier: GPL-2.0
/* daemon.c — `rempart run`: apply, READY=1, then one poll loop over a
 * signalfd (SIGHUP reload, SIGTERM/SIGINT exit), the metrics server, the
 * event ring buffer and the rtnetlink watch (watch.c): what the config wants
 * and went away — a tunnel or cloud link recreated or up again after a flap,
 * a route, an address, a rule — is restored within a second, logged
 * (rempart(8), run).  Every change (start, reload, restore) holds the change
 * lock; a change made meanwhile by another process (an apply, a rollback)
 * makes a restore reload the configuration instead, and after a `down` the
 * daemon restores nothing until the next reload.  fail_mode decides what
 * exit leaves behind. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include "app/changelock.h"
#include "app/flow_grow.h"
#include "app/confirm.h"
#include "app/daemon.h"
#include "app/daemon_audit.h"
#include "app/events.h"
#include "app/exitcode.h"
#include "app/metrics.h"
#include "app/watch.h"
#include "app/keyrot_watch.h"
#include "app/rekey_watch.h"
#include "app/site_watch.h"
#include "dataplane/dataplane.h"
#include "ha/ha.h"
#include "kernel/hostaddr.h"
#include "lib/clock.h"
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
	struct watch *watch;		/* NULL: not watching (could not open it) */
	uint64_t seq;			/* the last change this daemon made (changelock.h) */
	bool paused;			/* a `down` ran: restore nothing until a reload */
	unsigned restore_failures;	/* in a row */
	struct rp_host_addrs host;	/* the gateway's addresses the policy has */
	bool addrs_retry;		/* updating the policy for them failed */
	struct daemon_audit audit;
	struct rekey_watch rekey;	/* sites in key rotation: a fast poll */
	struct keyrot_watch keyrot;	/* tenants in key rotation: a fast poll */
	struct site_watch sites;	/* sites up and down, logged */
	struct metrics_rules rules;	/* the per-rule series, by name */
	struct ha ha;			/* [ha]: keepalived supervised (docs/ha.md) */
	struct flow_grow fg;		/* flow tables grown under load */
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
	dm->mst.rules = &dm->rules;
	dm->mst.ha = &dm->ha;
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

/* What the daemon did itself is no news to the watch. */
static void watch_rebase(struct daemon *dm)
{
	if (!dm->watch)
		return;
	watch_reset(dm->watch, &dm->cfg);
	/* dm->host stays what gateway_addrs last compiled against: an address
	 * that changed while this change compiled is still news */
}

static void reload(struct daemon *dm)
{
	struct rp_config cfg;
	struct geo_db geo;
	struct cfg_fingerprint fp;
	struct diag d = { 0 };
	struct enforce e = { .kind = CH_RELOAD };
	uint64_t gen = 0;
	int err;

	LAZY(LAZY_SYSTEMD, sd_notify)(0, "RELOADING=1\nSTATUS=reloading the configuration");
	pr_info("reload: reading %s", dm->o->config_path);
	err = daemon_load(dm->o->config_path, &cfg, &geo, &d);
	if (err) {
		pr_err("reload: %s: configuration rejected (%zu errors), the running policy stays:",
		       dm->o->config_path, diag_count(&d));
		log_diag("reload", &d);
		goto fail;
	}
	err = daemon_enforce(&cfg, &geo, &e, &d);
	if (err) {
		pr_err("reload: applying failed (%s), the running policy stays:", strerror(-err));
		log_diag("reload", &d);
		diag_free(&d);
		/* put back what the failed change did, under the lock too */
		if (daemon_enforce(&dm->cfg, &dm->geo, &e, &d))
			log_diag("reload: restoring the previous state", &d);
		dm->seq = e.seq;
		geo_free(&geo);
		config_free(&cfg);
		watch_rebase(dm);
		goto fail;
	}
	metrics_rules_follow(&dm->rules, &cfg, NULL);	/* ids may have moved */
	dm->seq = e.seq;
	dm->paused = false;
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
	watch_rebase(dm);
	daemon_generation(&gen);
	pr_info("reload: applied (%zu tenants, policy generation %llu)", dm->cfg.n_tenants,
		(unsigned long long)gen);
	record_applied(dm);
	if (ha_reconfigure(&dm->ha, &dm->cfg, &d))
		log_diag("reload", &d);
	ha_set_health(&dm->ha, true);
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

/* Put back what the configuration wants and the watch saw go (rempart(8)):
 * the same change as a reload of the running configuration, with the
 * tenants concerned compared in full.  If another process changed the
 * system since this daemon last did, its configuration may be stale: a
 * reload instead (or nothing, after a `down`). */
static void restore(struct daemon *dm)
{
	const bool *verify;
	const char *why;
	char because[512];
	struct diag d = { 0 };
	struct enforce e = { .kind = CH_RESTORE, .check_seq = true, .seq = dm->seq };
	double t0;
	int err;

	if (!watch_due(dm->watch, &verify, &why))
		return;
	snprintf(because, sizeof(because), "%s", why);
	if (dm->paused) {
		pr_info("watch: %s: not restored (`rempart down` ran; SIGHUP to enforce again)", because);
		watch_done(dm->watch, true, 0);
		return;
	}
	t0 = clock_ms();
	e.verify = verify;
	err = daemon_enforce(&dm->cfg, &dm->geo, &e, &d);
	if (err == -ESTALE) {
		watch_done(dm->watch, true, 0);
		if (e.other == CH_DOWN) {
			pr_warn("watch: %s; `rempart down` ran meanwhile: nothing restored until the "
				"next reload (SIGHUP)", because);
			dm->paused = true;
			dm->seq = e.seq;
			watch_rebase(dm);
			ha_set_health(&dm->ha, false);	/* nothing enforced: let the peer */
		} else {
			pr_info("watch: %s; another %s changed the system meanwhile: reloading the "
				"configuration", because, change_kind_name(e.other));
			reload(dm);
		}
		goto out;
	}
	dm->seq = e.seq;
	if (err) {
		/* a link that is still coming back, a wireguard-go restarting:
		 * again in a second, logged once */
		if (!dm->restore_failures++) {
			pr_err("watch: %s; restoring failed (%s), trying again every second:", because,
			       strerror(-err));
			log_diag("watch", &d);
		}
		/* what the configuration wants is not all there: let the peer
		 * carry the traffic (docs/ha.md) */
		ha_set_health(&dm->ha, false);
		watch_done(dm->watch, false, 1000);
		goto out;
	}
	if (dm->restore_failures)
		pr_info("watch: restored after %u failed attempt(s)", dm->restore_failures);
	dm->restore_failures = 0;
	ha_set_health(&dm->ha, true);
	watch_done(dm->watch, true, 0);
	watch_rebase(dm);
	daemon_audit_request(&dm->audit);
	pr_info("watch: %s: restored: links, addresses, routes, rules and programs as the "
		"configuration wants (%u network change(s), %.0f ms)", because, net_apply_changes(),
		clock_ms() - t0);
out:
	diag_free(&d);
}

/* The gateway's addresses changed (an address added to or removed from
 * the uplink: DHCP, SLAAC, an HA address moved): the policy, which lets
 * through the uplink for the gateway's own sake only what is addressed to
 * them and drops what a tenant sends to any of them (docs/policy.md "The
 * gateway itself"),
 * is compiled against them again, under the change lock. */
static void gateway_addrs(struct daemon *dm)
{
	struct enforce e = { .kind = CH_RESTORE, .check_seq = true, .seq = dm->seq };
	struct rp_host_addrs now = { 0 };
	struct diag d = { 0 };
	double t0;
	int err;

	if (dm->paused)
		return;
	t0 = clock_ms();
	err = host_addrs_read(dm->cfg.uplink, &now);
	if (!err && !dm->addrs_retry && host_addrs_equal(&now, &dm->host)) {
		host_addrs_free(&now);
		return;		/* another interface's link-local, or our own change */
	}
	err = daemon_addrs_changed(&dm->cfg, &e, &d);
	if (err == -ESTALE) {
		host_addrs_free(&now);
		diag_free(&d);
		dm->addrs_retry = false;
		if (e.other == CH_DOWN) {
			dm->paused = true;
			dm->seq = e.seq;
			watch_rebase(dm);
			ha_set_health(&dm->ha, false);	/* nothing enforced: let the peer */
			return;
		}
		pr_info("watch: the gateway's addresses changed; another %s changed the system "
			"meanwhile: reloading the configuration", change_kind_name(e.other));
		reload(dm);	/* compiles against the addresses of now */
		return;
	}
	dm->seq = e.seq;
	if (err) {
		if (!dm->addrs_retry)
			pr_err("watch: the gateway's addresses changed; the policy could not follow "
			       "them (%s), trying again every second:", strerror(-err));
		if (!dm->addrs_retry)
			log_diag("watch", &d);
		dm->addrs_retry = true;
		host_addrs_free(&now);
	} else {
		pr_info("watch: the gateway's addresses changed (%zu, %zu on the uplink): the "
			"policy follows them (%.0f ms)", now.all.n, now.uplink.n, clock_ms() - t0);
		host_addrs_free(&dm->host);
		dm->host = now;
		dm->addrs_retry = false;
		daemon_audit_request(&dm->audit);
	}
	diag_free(&d);
}

static int loop(struct daemon *dm)
{
	for (;;) {
		struct pollfd p[6] = { { .fd = dm->sfd, .events = POLLIN },
				       { .fd = dm->metrics ? metrics_fd(dm->metrics) : -1,
					 .events = POLLIN },
				       { .fd = dm->ev ? events_fd(dm->ev) : -1, .events = POLLIN },
				       { .fd = dm->watch ? watch_fd(dm->watch) : -1, .events = POLLIN },
				       { .fd = daemon_audit_fd(&dm->audit), .events = POLLIN },
				       { .fd = ha_fd(&dm->ha), .events = POLLIN } };
		int timeout = 1000;	/* flush the "suppressed" count each second */
		struct signalfd_siginfo si;
		int t;

		if (dm->metrics) {
			t = metrics_timeout_ms(dm->metrics);
			if (t >= 0 && t < timeout)
				timeout = t;
		}
		t = watch_timeout_ms(dm->watch);
		if (t >= 0 && t < timeout)
			timeout = t;
		t = rekey_watch_timeout(&dm->rekey, &dm->cfg);
		if (t >= 0 && t < timeout)
			timeout = t;
		t = keyrot_watch_timeout(&dm->keyrot, &dm->cfg);
		if (t >= 0 && t < timeout)
			timeout = t;
		t = site_watch_timeout(&dm->sites);
		if (t < timeout)
			timeout = t;
		t = ha_tick(&dm->ha);
		if (t >= 0 && t < timeout)
			timeout = t;
		if (poll(p, 6, timeout) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("run: poll: %s", strerror(errno));
			return RP_EXIT_RUNTIME;
		}
		if (p[5].revents)
			ha_tick(&dm->ha);
		if (dm->metrics)
			metrics_run(dm->metrics);
		rekey_watch_run(&dm->rekey, &dm->cfg);
		keyrot_watch_run(&dm->keyrot, &dm->cfg);
		site_watch_run(&dm->sites, &dm->cfg);
		if (p[2].revents && events_consume(dm->ev) < 0)
			pr_warn("events: %s", strerror(errno));
		event_log_tick(&dm->rl);
		if (dm->watch) {
			if (p[3].revents)
				watch_read(dm->watch, &dm->cfg);
			restore(dm);
			if (watch_addrs_changed(dm->watch) || dm->addrs_retry)
				gateway_addrs(dm);
		}
		daemon_audit_tick(&dm->audit);
		if (!dm->paused)
			flow_grow_tick(&dm->fg, &dm->cfg);
		if (!(p[0].revents & POLLIN))
			continue;
		if (read(dm->sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			pr_info("reload: SIGHUP");
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
	struct daemon dm = { .o = o, .sfd = -1, .rl = { .per_sec = o->event_log_per_sec },
			     .ha = { .fifo = -1 } };
	struct enforce start = { .kind = CH_RELOAD };
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
	/* watching before the first change: what goes meanwhile is news */
	if (watch_open(&dm.watch, &d)) {
		log_diag("run", &d);
		pr_warn("run: links are not watched: what goes away is restored only by a reload");
	}
	diag_free(&d);
	err = daemon_enforce(&dm.cfg, &dm.geo, &start, &d);
	if (err) {
		pr_err("run: applying %s failed: %s", o->config_path, strerror(-err));
		log_diag("run", &d);
		ret = RP_EXIT_RUNTIME;
		pidfile_remove(dm.cfg.state_dir);
		goto out;
	}
	dm.seq = start.seq;
	watch_rebase(&dm);
	daemon_generation(&gen);
	pr_info("run: %s applied (%zu tenants, policy generation %llu, fail_mode %s)",
		o->config_path, dm.cfg.n_tenants, (unsigned long long)gen,
		dm.cfg.fail_mode == RP_FAIL_OPEN ? "open" : "closed");
	cfg_fingerprint(&dm.cfg, &dm.fp);
	metrics_rules_follow(&dm.rules, &dm.cfg, NULL);
	record_applied(&dm);
	daemon_audit_init(&dm.audit, o->config_path, o->audit_interval);
	dm.mst.audit = &dm.audit;
	services_update(&dm);
	/* keepalived after the first apply: the links it tracks exist, and
	 * this gateway is healthy from now on */
	if (ha_start(&dm.ha, &dm.cfg, &d))
		log_diag("run", &d);
	diag_free(&d);
	ha_set_health(&dm.ha, true);
	/* wireguard-go, where it is used, has its own supervisor process per
	 * tunnel (wg_supervise.c) that outlives this one. */
	LAZY(LAZY_SYSTEMD, sd_notifyf)(0, "READY=1\nSTATUS=enforcing %zu tenants, generation %llu",
		   dm.cfg.n_tenants, (unsigned long long)gen);
	ret = loop(&dm);
	LAZY(LAZY_SYSTEMD, sd_notify)(0, "STOPPING=1");
	daemon_audit_stop(&dm.audit);
	ha_stop(&dm.ha);	/* the peer takes the addresses over */
	if (shutdown_dataplane(&dm))
		ret = RP_EXIT_RUNTIME;
	pidfile_remove(dm.cfg.state_dir);
out:
	metrics_stop(dm.metrics);
	free(dm.metrics_listen);
	events_close(dm.ev);
	site_watch_free(&dm.sites);
	keyrot_watch_free(&dm.keyrot);
	metrics_rules_free(&dm.rules);
	watch_close(dm.watch);
	host_addrs_free(&dm.host);
	cfg_fingerprint_free(&dm.fp);
	geo_free(&dm.geo);
	config_free(&dm.cfg);
out_nocfg:
	diag_free(&d);
	close(dm.sfd);
	return ret;
}
