/* policy_refs.h — the ids the policy compiler gives the shares and rules of
 * a configuration: the keys of rp_rule_counters and rp_event.rule, named
 * back for the metrics and the events.
 *
 * The compiler numbers them from 1 in this order: every tenant's shares in
 * file order (tenants in configuration order), then every tenant's rules
 * in file order.  The ids are a function of the configuration, so a
 * reload that adds a rule before others moves theirs (the metrics follow
 * a rule by its name: app/metrics_rules.c).  tests/unit/test_op_events.c
 * holds this enumeration to the compiler's own list. */
#ifndef REMPART_POLICY_REFS_H
#define REMPART_POLICY_REFS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config/config.h"

struct policy_ref {
	uint32_t id;
	size_t tenant;		/* index in cfg->tenants: whose rule or share */
	const char *name;	/* the section's name (the config's string) */
	bool share;		/* a [share] (always allow), else a [rule] */
	bool allow;
};

/* Every share and rule of cfg, by id (refs[i].id == i + 1).  *out is the
 * caller's to free.  0 or -ENOMEM. */
int policy_refs(const struct rp_config *cfg, struct policy_ref **out, size_t *n);
/* The one of id, without a list: 0, or -ENOENT (0, or beyond cfg's). */
int policy_ref_lookup(const struct rp_config *cfg, uint32_t id, struct policy_ref *out);
/* The entry of id in refs (NULL: 0 or not there). */
static inline const struct policy_ref *policy_ref_by_id(const struct policy_ref *refs, size_t n,
							uint32_t id)
{
	return id && id <= n ? &refs[id - 1] : NULL;
}
#endif
