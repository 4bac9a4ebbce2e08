// SPDX-License-Identifier: GPL-2.0
/* test_op_log — what the logging module writes, driven by
 * tests/e2e/ops_log.sh: one line at each level, a line with journal fields
 * (a site going up), a drop event through the rate-limited event log.  The
 * script runs it with stderr on a file, with and without $JOURNAL_STREAM
 * naming that file, and with a journal socket of its own, and checks the
 * "<N>" priorities, the plain lines and the fields. */
#include <arpa/inet.h>
#include <string.h>
#include "app/events.h"
#include "lib/log.h"

int main(void)
{
	static const char *const fields[] = { "TENANT=interieur", "SITE=lyon", "SITE_STATE=up", NULL };
	struct rp_prefix lan;
	struct rp_site sites[1] = { { .name = "lyon" } };
	struct rp_rule rules[1] = { { .name = "no-ssh" } };
	struct rp_tenant t[1] = { { .name = "interieur", .id = 10, .sites = sites, .n_sites = 1,
				    .rules = rules, .n_rules = 1 } };
	struct rp_config cfg = { .tenants = t, .n_tenants = 1 };
	struct rp_event e = {
		.ifindex = 1, .tenant = 10, .verdict = RP_DROP, .reason = RP_R_NO_RULE,
		.hook = RP_HOOK_TUNNEL_IN, .family = 2, .proto = 6, .sport = 40000, .dport = 22,
		.country = RP_CC_NONE, .len = 60, .rule = 1,
	};
	struct event_ratelimit rl = { .per_sec = 10 };

	prefix_parse("10.120.1.0/24", &lan);
	sites[0].allowed_ips = (struct rp_prefix_list){ &lan, 1 };
	inet_pton(AF_INET, "10.120.1.5", e.src);
	inet_pton(AF_INET, "10.20.1.10", e.dst);
	pr_err("an error");
	pr_warn("a warning");
	pr_notice("a notice");
	pr_info("an info line");
	pr_debug("a debug line (not shown at the default level)");
	pr_info("two lines\nin one message");
	log_fields(LOG_LVL_NOTICE, fields, "site up: tenant=interieur site=lyon");
	event_log(&rl, &e, &cfg);
	return 0;
}
