/* dataplane.h — the BPF side seen from the commands: compile the policy into
 * maps, load/adopt the pinned programs, attach them to the configured
 * interfaces, swap the policy atomically, detach.  Implemented by the
 * dataplane module (policy compiler + loader). */
#ifndef REMPART_DATAPLANE_H
#define REMPART_DATAPLANE_H
#include "config/config.h"
#include "geo/geo.h"
#include "lib/diag.h"

/* Make the dataplane enforce cfg (+ geo): load or adopt the pinned state
 * under RP_PIN_DIR, write the new policy into the inactive slot, flip the
 * active slot (docs/dataplane.md), attach to interfaces that lack it.  Idempotent.
 * 0, or -errno with one line per problem in *d; on failure the running
 * policy stays. */
int dataplane_apply(const struct rp_config *cfg, const struct geo_db *geo, struct diag *d);
/* The same with the policy compiled ahead (dp_precompile_start(), while the
 * network was changed), when it still fits; pc NULL: dataplane_apply. */
struct dp_precompiled;
int dataplane_apply_pre(const struct rp_config *cfg, const struct geo_db *geo,
			struct dp_precompiled *pc, struct diag *d);
/* Whether the geo database cfg names is, as far as its files tell (path,
 * inode, size, times, format), the one already loaded in the pinned rp_geo
 * by this build: then it need not be read, and dataplane_apply() gets NULL
 * for it (the loaded one stays).  dataplane_apply() records the fingerprint
 * in <state_dir>/dataplane/geo.fp when it loads a database. */
bool dataplane_geo_unchanged(const struct rp_config *cfg);
void dataplane_geo_record(const struct rp_config *cfg, const struct geo_db *geo);

/* Attach the programs cfg wants on IFNAME (NULL: on every interface cfg
 * names that exists; a VLAN link's name means its parent) where none runs
 * (a program already attached is left as it is, until dataplane_apply has
 * installed the policy it goes with), with the policy installed now: no
 * policy change, no detach.  Before a link is
 * brought up (net's hooks->before_up) and before a change touches the
 * network, so that no configured interface carries traffic without its
 * program; an interface the installed policy does not know yet is dropped
 * by it whole (fail closed) until dataplane_apply installs the new one.
 * Loads and pins the programs if this build has none pinned.  0 or -errno. */
int dataplane_attach(const struct rp_config *cfg, const char *ifname, struct diag *d);

/* The gateway's addresses changed (DHCP, SLAAC, an HA address moved, an
 * interface came or went): the policy is compiled again with them and
 * installed (incrementally: only what they change is written).  The
 * programs let through the uplink for the gateway's sake only what is
 * addressed to those addresses, and drop what a tenant sends to any of them
 * (docs/policy.md).  For the daemon's address watcher; 0 or -errno. */
int dataplane_addrs_changed(const struct rp_config *cfg, struct diag *d);

/* Fail closed with nothing configured (a first `apply --confirm` rolled
 * back): install a policy without tenants (cfg's [gateway] and
 * [management] only: the uplink admits management and nothing else, and
 * the programs drop whatever arrives on an interface the policy does not
 * know), and keep the programs on every interface of cfg that still exists
 * (its cloud interfaces, the uplink).  The geo database loaded stays.
 * 0 or -errno. */
int dataplane_close(const struct rp_config *cfg, struct diag *d);

/* Detach every program rempart attached and remove RP_PIN_DIR.  0 or -errno. */
int dataplane_down(struct diag *d);
/* fail_mode = open at exit: detach (same as down for the BPF side). */

/* How XDP runs on ifname, for `status`: "native", "generic", or "none". */
const char *dataplane_xdp_mode(const char *ifname);
#endif
