// SPDX-License-Identifier: GPL-2.0
/* cmd_monitor.c — `rempart monitor [--json]`: stream dataplane events until
 * SIGINT or SIGTERM. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "app/events.h"
#include "cli/commands.h"
#include "config/config.h"
#include "lib/log.h"

enum { O_JSON = 256 };

static const struct cli_opt opts[] = {
	{ "json", O_JSON, NULL, NULL, "one JSON object per event and line" },
	{ 0 }
};

static int cmd_monitor(int argc, char **argv, struct globals *g);

const struct cli_cmd def_monitor = {
	.name = "monitor",
	.summary = "Stream dataplane events",
	.text = "Stream the dataplane's events (drops with reason, tenant, rule, site,\n"
		"addresses, ports, country) until interrupted, one line per event.  The\n"
		"configuration, when readable, gives tenant, rule and site names;\n"
		"otherwise tenants are shown by id.\n",
	.opts = opts,
	.fn = cmd_monitor,
};

struct monitor {
	const struct rp_config *cfg;
	bool json;
	unsigned long n;
};

static void on_event(const struct rp_event *e, void *ctx)
{
	struct monitor *m = ctx;
	char line[512];

	if (m->json) {
		struct json_object *o = event_to_json(e, m->cfg);

		if (!o)
			return;
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		event_format_text(e, m->cfg, line, sizeof(line));
		puts(line);
	}
	fflush(stdout);
	m->n++;
}

static int cmd_monitor(int argc, char **argv, struct globals *g)
{
	struct monitor m = { 0 };
	struct rp_config cfg;
	struct events *ev = NULL;
	struct diag d = { 0 };
	bool have_cfg = false;
	sigset_t mask;
	struct cli_parse p;
	int sfd = -1, ret = RP_EXIT_RUNTIME, key;

	cli_begin(&p, argc, argv, g);
	while ((key = cli_next(&p)) > 0)
		if (key == O_JSON)
			m.json = true;
	if (key < 0)
		return cli_status(key);
	if (cli_args(&p, 0, 0))
		return RP_EXIT_CONFIG;
	if (!config_load(g->config_path, RP_CFG_SKIP_KEY_FILES, &cfg, &d)) {
		have_cfg = true;
		m.cfg = &cfg;
	} else {
		pr_warn("monitor: %s: configuration not readable, tenants shown by id",
			g->config_path);
	}
	diag_free(&d);

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		pr_err("monitor: signalfd: %s", strerror(errno));
		goto out;
	}
	if (events_open(&ev, NULL, on_event, &m, &d)) {
		for (size_t i = 0; i < d.n; i++)
			pr_err("monitor: %s", d.msgs[i]);
		goto out;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = events_fd(ev), .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("monitor: poll: %s", strerror(errno));
			goto out;
		}
		if (p[0].revents && events_consume(ev) < 0) {
			pr_err("monitor: reading events: %s", strerror(errno));
			goto out;
		}
		if (p[1].revents)
			break;
	}
	events_consume(ev);	/* what arrived before the signal */
	ret = RP_EXIT_OK;
out:
	events_close(ev);
	if (sfd >= 0)
		close(sfd);
	if (have_cfg)
		config_free(&cfg);
	diag_free(&d);
	return ret;
}
