// SPDX-License-Identifier: GPL-2.0
/* cmd_status.c — `rempart status [--json]`: tenants, their sites (endpoint,
 * last handshake, bytes, allowed IPs), the WireGuard backend, per-tenant
 * verdict counters from the pinned per-CPU map, the geo database and the
 * policy generation.  No key is ever printed. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "app/rekey_watch.h"
#include "cli/commands.h"
#include "config/config.h"
#include "eval/reason.h"
#include "geo/geo_bpf.h"
#include "ha/ha.h"
#include "kernel/wg/wg.h"
#include "net/keyrot.h"
#include "net/net_state.h"
#include "net/rekey.h"
#include "rempart_abi.h"

enum { O_JSON = 256 };

static const struct cli_opt opts[] = {
	{ "json", O_JSON, NULL, NULL, "one JSON object (shape: docs/reference.md)" },
	{ 0 }
};

static int cmd_status(int argc, char **argv, struct globals *g);

const struct cli_cmd def_status = {
	.name = "status",
	.summary = "Tenants, sites, counters, geo database",
	.text = "Tenants and their WireGuard backend, sites with endpoint, last handshake,\n"
		"bytes received and sent and allowed IPs, per-tenant verdict counters (from\n"
		"the running dataplane), the geo database and the policy generation.\n"
		"Run it in the gateway's network namespace.  No key is ever printed.\n",
	.opts = opts,
	.fn = cmd_status,
};

/* The backend apply used (recorded in the state), else the probe's. */
static const char *backend_name(const struct rp_config *cfg)
{
	static char name[32];
	struct net_state st;
	const char *ret = NULL;

	if (!net_state_load(&st, cfg->state_dir, NULL)) {
		for (size_t i = 0; i < st.n && !ret; i++)
			if (sscanf(st.lines[i], "backend %31s", name) == 1)
				ret = name;
		net_state_free(&st);
	}
	return ret ? ret : wg_backend_get()->name;
}

static const struct wg_backend *backend_by_name(const char *name)
{
	return !strcmp(name, wg_backend_kernel.name) ? &wg_backend_kernel : &wg_backend_uapi;
}

static void endpoint_text(const wg_peer *p, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	buf[0] = 0;
	if (p->endpoint.addr.sa_family == AF_INET) {
		inet_ntop(AF_INET, &p->endpoint.addr4.sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(p->endpoint.addr4.sin_port));
	} else if (p->endpoint.addr.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &p->endpoint.addr6.sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(p->endpoint.addr6.sin6_port));
	}
}

/* Counters of tenant ID summed over CPUs; NULL when no dataplane runs. */
static json_object *tenant_counters(int fd, int ncpu, unsigned int id)
{
	json_object *o = json_object_new_object();
	struct rp_counter *vals;

	if (fd < 0 || ncpu <= 0)
		return o;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return o;
	for (unsigned int r = 0; r < RP_R__COUNT; r++) {
		__u32 key = rp_counter_key(id, r);
		__u64 pk = 0, by = 0;
		json_object *c;

		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (int cpu = 0; cpu < ncpu; cpu++) {
			pk += vals[cpu].packets;
			by += vals[cpu].bytes;
		}
		c = json_object_new_object();
		json_object_object_add(c, "packets", json_object_new_uint64(pk));
		json_object_object_add(c, "bytes", json_object_new_uint64(by));
		json_object_object_add(o, reason_name((enum rp_reason)r), c);
	}
	free(vals);
	return o;
}

/* [ha]: the role the running daemon recorded (fault when none runs) and
 * the peer (docs/ha.md). */
static json_object *ha_json(const struct rp_config *cfg)
{
	json_object *o = json_object_new_object();
	uint64_t transitions, since;
	enum ha_role role;
	char peer[INET6_ADDRSTRLEN];

	ha_role_read(cfg->state_dir, &role, &transitions, &since);
	inet_ntop(cfg->ha.peer.family, cfg->ha.peer.addr, peer, sizeof(peer));
	json_object_object_add(o, "role", json_object_new_string(ha_role_name(role)));
	json_object_object_add(o, "peer", json_object_new_string(peer));
	json_object_object_add(o, "sync_interface", json_object_new_string(cfg->ha.sync_interface));
	json_object_object_add(o, "priority", json_object_new_int(cfg->ha.priority));
	json_object_object_add(o, "vrid", json_object_new_int(cfg->ha.vrid));
	json_object_object_add(o, "transitions", json_object_new_uint64(transitions));
	json_object_object_add(o, "since", json_object_new_uint64(since));
	return o;
}

static json_object *build(const struct rp_config *cfg)
{
	json_object *root = json_object_new_object(), *tenants = json_object_new_array();
	const char *bname = backend_name(cfg);
	const struct wg_backend *wg = backend_by_name(bname);
	int cfd = bpf_obj_get(RP_PIN_DIR "/" RP_PIN_COUNTERS);
	int ncpu = libbpf_num_possible_cpus();
	json_object *geo = json_object_new_object();
	__u64 generation = 0, entries = 0, loaded_at = 0;
	int fd;

	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		json_object *jt = json_object_new_object(), *sites = json_object_new_array();
		wg_device *dev = NULL, *ndev = NULL;
		size_t moved = 0;

		if (wg->get(t->tunnel_interface, &dev))
			dev = NULL;
		if (t->next_interface && wg->get(t->next_interface, &ndev))
			ndev = NULL;
		json_object_object_add(jt, "name", json_object_new_string(t->name));
		json_object_object_add(jt, "id", json_object_new_int(t->id));
		json_object_object_add(jt, "backend", json_object_new_string(bname));
		json_object_object_add(jt, "tunnel_interface", json_object_new_string(t->tunnel_interface));
		json_object_object_add(jt, "listen_port", json_object_new_int(t->listen_port));
		json_object_object_add(jt, "up", json_object_new_boolean(dev != NULL));
		for (size_t s = 0; s < t->n_sites; s++) {
			const struct rp_site *st = &t->sites[s];
			/* in a key rotation: the key that carries its traffic */
			const wg_peer *p = rekey_peer_in_use(st, dev);
			/* in a tenant key rotation: the tunnel it is on */
			bool on_next = t->next_interface && keyrot_site_moved(st, dev, ndev);
			json_object *js = json_object_new_object(), *ips = json_object_new_array();
			char ep[INET6_ADDRSTRLEN + 10], pbuf[INET6_ADDRSTRLEN + 4];

			if (on_next) {
				p = rekey_peer_in_use(st, ndev);
				moved++;
			}
			if (t->next_interface)
				json_object_object_add(js, "tunnel", json_object_new_string(
					on_next ? t->next_interface : t->tunnel_interface));
			if (p)
				endpoint_text(p, ep, sizeof(ep));
			else
				ep[0] = 0;
			json_object_object_add(js, "name", json_object_new_string(st->name));
			json_object_object_add(js, "endpoint", ep[0] ? json_object_new_string(ep) : NULL);
			json_object_object_add(js, "last_handshake",
					       json_object_new_int64(p ? p->last_handshake_time.tv_sec : 0));
			json_object_object_add(js, "rx_bytes", json_object_new_uint64(p ? p->rx_bytes : 0));
			json_object_object_add(js, "tx_bytes", json_object_new_uint64(p ? p->tx_bytes : 0));
			for (size_t k = 0; k < st->allowed_ips.n; k++) {
				prefix_format(&st->allowed_ips.v[k], pbuf, sizeof(pbuf));
				json_object_array_add(ips, json_object_new_string(pbuf));
			}
			json_object_object_add(js, "allowed_ips", ips);
			ips = json_object_new_array();
			for (size_t k = 0; k < st->tunnel_ip.n; k++) {
				struct rp_addr h;

				prefix_host(&st->tunnel_ip.v[k], &h);
				addr_format(&h, pbuf, sizeof(pbuf));
				json_object_array_add(ips, json_object_new_string(pbuf));
			}
			json_object_object_add(js, "tunnel_ip", ips);
			json_object_object_add(js, "rekey_pending",
					       json_object_new_boolean(st->has_previous &&
								       !rekey_switched(st, dev)));
			json_object_array_add(sites, js);
		}
		json_object_object_add(jt, "sites", sites);
		if (t->next_interface) {	/* docs/keys.md: a tenant key rotation */
			json_object *kr = json_object_new_object();

			json_object_object_add(kr, "next_interface",
					       json_object_new_string(t->next_interface));
			json_object_object_add(kr, "next_listen_port",
					       json_object_new_int(t->next_listen_port));
			json_object_object_add(kr, "up", json_object_new_boolean(ndev != NULL));
			json_object_object_add(kr, "sites_moved", json_object_new_uint64(moved));
			json_object_object_add(jt, "key_rotation", kr);
		}
		json_object_object_add(jt, "counters", tenant_counters(cfd, ncpu, t->id));
		json_object_array_add(tenants, jt);
		wg_device_wipe_free(dev);
		wg_device_wipe_free(ndev);
	}
	json_object_object_add(root, "tenants", tenants);
	/* _gateway: uplink packets that belong to no tenant. */
	json_object_object_add(root, "gateway_counters",
			       tenant_counters(cfd, ncpu, RP_TENANT_GATEWAY));
	if (cfd >= 0)
		close(cfd);

	fd = geo_bpf_open_pinned();
	if (fd >= 0) {
		struct geo_bpf_view v;

		if (!geo_bpf_view_open(fd, &v)) {
			if (v.n > RP_GEO_H_RANGES6) {
				entries = v.w[RP_GEO_H_RANGES4] + v.w[RP_GEO_H_RANGES6];
				loaded_at = v.w[RP_GEO_H_LOADED_AT];
			}
			geo_bpf_view_close(&v);
		}
		close(fd);
	}
	json_object_object_add(geo, "entries", json_object_new_uint64(entries));
	json_object_object_add(geo, "loaded_at", json_object_new_uint64(loaded_at));
	json_object_object_add(root, "geo", geo);

	fd = bpf_obj_get(RP_PIN_DIR "/" RP_PIN_STATE);
	if (fd >= 0) {
		struct rp_state st;
		__u32 key = 0;

		if (!bpf_map_lookup_elem(fd, &key, &st))
			generation = st.generation;
		close(fd);
	}
	json_object_object_add(root, "policy_generation", json_object_new_uint64(generation));
	if (cfg->ha.enabled)
		json_object_object_add(root, "ha", ha_json(cfg));
	return root;
}

static void age_text(int64_t t, char *buf, size_t len)
{
	int64_t age = (int64_t)time(NULL) - t;

	if (!t)
		snprintf(buf, len, "never");
	else if (age < 120)
		snprintf(buf, len, "%llds ago", (long long)age);
	else if (age < 7200)
		snprintf(buf, len, "%lldm ago", (long long)age / 60);
	else
		snprintf(buf, len, "%lldh ago", (long long)age / 3600);
}

static void print_text(json_object *root)
{
	json_object *tenants = json_object_object_get(root, "tenants"), *geo, *ha;

	for (size_t i = 0; i < json_object_array_length(tenants); i++) {
		json_object *t = json_object_array_get_idx(tenants, i);
		json_object *sites = json_object_object_get(t, "sites");
		json_object *counters = json_object_object_get(t, "counters"), *kr;
		bool any = false;

		printf("tenant %s (id %d): %s on %s, port %d, backend %s\n",
		       json_object_get_string(json_object_object_get(t, "name")),
		       json_object_get_int(json_object_object_get(t, "id")),
		       json_object_get_boolean(json_object_object_get(t, "up")) ? "up" : "DOWN",
		       json_object_get_string(json_object_object_get(t, "tunnel_interface")),
		       json_object_get_int(json_object_object_get(t, "listen_port")),
		       json_object_get_string(json_object_object_get(t, "backend")));
		if ((kr = json_object_object_get(t, "key_rotation")))
			printf("  key rotation: next key on %s, port %d, %s: %llu of %zu sites moved\n",
			       json_object_get_string(json_object_object_get(kr, "next_interface")),
			       json_object_get_int(json_object_object_get(kr, "next_listen_port")),
			       json_object_get_boolean(json_object_object_get(kr, "up")) ? "up" : "DOWN",
			       (unsigned long long)json_object_get_uint64(json_object_object_get(kr, "sites_moved")),
			       json_object_array_length(sites));
		for (size_t s = 0; s < json_object_array_length(sites); s++) {
			json_object *st = json_object_array_get_idx(sites, s);
			json_object *ips = json_object_object_get(st, "allowed_ips");
			const char *ep = json_object_get_string(json_object_object_get(st, "endpoint"));
			char age[32];

			age_text(json_object_get_int64(json_object_object_get(st, "last_handshake")),
				 age, sizeof(age));
			printf("  site %-16s endpoint %-22s handshake %-9s rx %llu tx %llu  allowed",
			       json_object_get_string(json_object_object_get(st, "name")),
			       ep ? ep : "(none)", age,
			       (unsigned long long)json_object_get_uint64(json_object_object_get(st, "rx_bytes")),
			       (unsigned long long)json_object_get_uint64(json_object_object_get(st, "tx_bytes")));
			for (size_t k = 0; k < json_object_array_length(ips); k++)
				printf("%s%s", k ? ", " : " ",
				       json_object_get_string(json_object_array_get_idx(ips, k)));
			if (json_object_object_get(st, "tunnel"))
				printf("  (on %s)", json_object_get_string(json_object_object_get(st, "tunnel")));
			if (json_object_get_boolean(json_object_object_get(st, "rekey_pending")))
				printf("  (rekey pending: the previous key in use)");
			putchar('\n');
		}
		json_object_object_foreach(counters, reason, c) {
			uint64_t pk = json_object_get_uint64(json_object_object_get(c, "packets"));

			if (!pk)
				continue;
			printf("%s%s %llu pkts/%llu bytes", any ? ", " : "  counters: ", reason,
			       (unsigned long long)pk,
			       (unsigned long long)json_object_get_uint64(json_object_object_get(c, "bytes")));
			any = true;
		}
		if (any)
			putchar('\n');
	}
	geo = json_object_object_get(root, "geo");
	printf("geo: %llu entries, loaded %llu\n",
	       (unsigned long long)json_object_get_uint64(json_object_object_get(geo, "entries")),
	       (unsigned long long)json_object_get_uint64(json_object_object_get(geo, "loaded_at")));
	printf("policy generation: %llu\n",
	       (unsigned long long)json_object_get_uint64(json_object_object_get(root, "policy_generation")));
	if ((ha = json_object_object_get(root, "ha"))) {
		char age[32];

		age_text(json_object_get_int64(json_object_object_get(ha, "since")), age, sizeof(age));
		printf("ha: %s (since %s, %llu transitions), peer %s over %s, priority %d, vrid %d\n",
		       json_object_get_string(json_object_object_get(ha, "role")), age,
		       (unsigned long long)json_object_get_uint64(json_object_object_get(ha, "transitions")),
		       json_object_get_string(json_object_object_get(ha, "peer")),
		       json_object_get_string(json_object_object_get(ha, "sync_interface")),
		       json_object_get_int(json_object_object_get(ha, "priority")),
		       json_object_get_int(json_object_object_get(ha, "vrid")));
	}
}

static int cmd_status(int argc, char **argv, struct globals *g)
{
	struct rp_config cfg = { 0 };
	struct cli_parse p;
	json_object *root;
	bool json = false, done;
	int rc;

	rc = cli_parse_flag(&p, argc, argv, g, 0, O_JSON, &json, &done);
	if (done)
		return rc;
	/* Site keys are public; private keys are not needed to report. */
	rc = load_config_or_report(g, RP_CFG_SKIP_KEY_FILES, &cfg);
	if (rc)
		return rc;
	rekey_done_load(&cfg, false);	/* site rotations the tunnel finished */
	root = build(&cfg);
	if (json)
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_text(root);
	json_object_put(root);
	config_free(&cfg);
	if (fflush(stdout) || ferror(stdout)) {
		perror("rempart: status: stdout");
		return RP_EXIT_RUNTIME;
	}
	return RP_EXIT_OK;
}
