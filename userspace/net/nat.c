// SPDX-License-Identifier: GPL-2.0
/* nat.c — egress = nat with nftables (`nft -f -`, one atomic transaction).
 *
 * Table "inet rempart", present only while some tenant has egress = nat or
 * consumes a share.  Its rules make conntrack see only the traffic that NAT
 * needs, and cost one set or map lookup per packet whatever the number of
 * tenants:
 *  - raw prerouting / raw output: WireGuard on the uplink (UDP to or from a
 *    tenant's listen port) is not tracked: uplink_in already judged it, and
 *    tracking it would make conntrack create and look up an entry per site
 *    for every tunnel packet; nor is what enters a tunnel of a tenant
 *    without egress NAT, or a cloud attachment of a tenant that neither
 *    NATs nor takes part in a share;
 *  - raw prerouting: packets entering a NAT tenant's tunnel, or the cloud
 *    attachment of a NAT tenant or share consumer, get conntrack zone =
 *    tenant id (one map of interface names)
 *    in the ORIGINAL direction only, so two tenants with the same addresses
 *    never share an entry, while replies from the internet (reply
 *    direction, default zone) still find theirs;
 *  - forward: a tenant's connection leaving through the uplink is marked
 *    RP_MARK_BASE | id (conntrack mark; one map of input interfaces);
 *  - prerouting mangle: replies coming back on the uplink carry that mark as
 *    packet mark, and the rule "fwmark RP_MARK_BASE|id lookup 1000+id"
 *    routes them in the tenant's own table (its cloud prefixes overlap
 *    other tenants');
 *  - postrouting: marked connections are masqueraded to the uplink address
 *    (with [ha], source-NATed to public_endpoint, the virtual address),
 *    TCP and UDP to the NAT source ports (gw_nat_ports(): above the kernel's
 *    ephemeral range and clear of every port the gateway serves: listen
 *    ports, management, metrics), so that a NATed connection never holds a
 *    port of the gateway's own (docs/policy.md: a tenant host connecting out
 *    from port 22 must not open the gateway's port 22 to the remote side),
 *    and no NATed reply is ever taken for untracked WireGuard;
 *  - input: what reaches the gateway itself on a NAT port and is not part
 *    of a connection conntrack knows is dropped: a NATed connection's
 *    reply is taken back by conntrack (forwarded, never delivered here),
 *    and nothing of the gateway listens there.
 *
 * Shares offered to a tenant's cloud work the same way: the cloud's overlapping
 * prefixes cannot be routed back from the provider's side, so a connection
 * from consumer T's cloud attachment out of provider U's cloud attachment is
 * marked RP_MARK_BASE | T and masqueraded to the gateway's address in U's
 * cloud; its replies are un-NATed and routed in T's table by the mark (the
 * fwmark rule has a priority before every iif rule).  Both T's and U's
 * interfaces stay tracked.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include "lib/addr.h"
#include "lib/fileutil.h"
#include "lib/statedir.h"
#include "net/net_priv.h"
#include "policy/gwaddr.h"

/* Print a tenant's tunnel and cloud interface names, comma-separated, each
 * followed by SUFFIX (e.g. " : 7" for a map element). */
static void tenant_ifaces(FILE *f, const struct rp_tenant *t, const char *suffix)
{
	char cloud[IFNAMSIZ + 8];

	net_cloud_ifname(t, cloud, sizeof(cloud));
	fprintf(f, "\"%s\"%s, \"%s\"%s", t->tunnel_interface, suffix, cloud, suffix);
}

/* NAME, quoted, with SUFFIX, as the next element of the set or map that
 * OPEN starts (*k: elements printed so far). */
static void elem(FILE *f, size_t *k, const char *open, const char *name, const char *suffix)
{
	fprintf(f, "%s\"%s\"%s", (*k)++ ? ", " : open, name, suffix);
}

static bool tenant_marked(const struct rp_config *cfg, size_t i)
{
	return cfg->tenants[i].egress == RP_EGRESS_NAT || nat_share_consumer(cfg, i);
}

static bool share_provider(const struct rp_config *cfg, size_t p)
{
	for (size_t c = 0; c < cfg->n_tenants; c++)
		if (net_share_offered(cfg, p, c))
			return true;
	return false;
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* The tenants' listen ports (and next_listen_ports), sorted, without
 * duplicates: *n of them. */
static uint16_t *listen_ports(const struct rp_config *cfg, size_t *n)
{
	uint16_t *v = calloc(2 * cfg->n_tenants + 1, sizeof(*v));
	size_t k = 0;

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		if (cfg->tenants[i].listen_port)
			v[k++] = cfg->tenants[i].listen_port;
		if (cfg->tenants[i].next_interface)	/* a key rotation's second port */
			v[k++] = cfg->tenants[i].next_listen_port;
	}
	qsort(v, k, sizeof(*v), cmp_u16);
	for (size_t i = 0; i < k; i++)
		if (!*n || v[*n - 1] != v[i])
			v[(*n)++] = v[i];
	return v;
}

static void print_ports(FILE *f, const uint16_t *ports, size_t n)
{
	fprintf(f, "{ ");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%u", i ? ", " : "", ports[i]);
	fprintf(f, " }");
}

/* Marked connections out of oif: TCP and UDP to the NAT ports. */
static void masquerade(FILE *f, const char *oif, unsigned int lo, unsigned int hi)
{
	fprintf(f, "\t\toifname \"%s\" ct mark & 0x%08x == 0x%08x meta l4proto { tcp, udp } "
		   "masquerade to :%u-%u\n", oif, RP_MARK_MASK, RP_MARK_BASE, lo, hi);
	fprintf(f, "\t\toifname \"%s\" ct mark & 0x%08x == 0x%08x masquerade\n",
		oif, RP_MARK_MASK, RP_MARK_BASE);
}

/* With [ha], the uplink's NATed connections take public_endpoint, the
 * virtual address that moves to the active gateway, as their source
 * (docs/ha.md "NAT state: conntrackd"): masquerade would take this
 * gateway's own address, and the replies of a connection that conntrackd
 * carried over to the other gateway would still go to this one.  The
 * other family is masqueraded as without [ha]. */
static void snat_endpoint(FILE *f, const struct rp_config *cfg, unsigned int lo, unsigned int hi)
{
	char a[INET6_ADDRSTRLEN];
	struct rp_addr ep;
	bool v6;

	if (!cfg->ha.enabled || !cfg->public_endpoint || addr_parse(cfg->public_endpoint, &ep))
		return;
	v6 = ep.family == AF_INET6;
	addr_format(&ep, a, sizeof(a));
	fprintf(f, "\t\toifname \"%s\" ct mark & 0x%08x == 0x%08x meta nfproto %s "
		   "meta l4proto { tcp, udp } snat %s to %s%s%s:%u-%u\n", cfg->uplink, RP_MARK_MASK,
		RP_MARK_BASE, v6 ? "ipv6" : "ipv4", v6 ? "ip6" : "ip", v6 ? "[" : "", a, v6 ? "]" : "",
		lo, hi);
	fprintf(f, "\t\toifname \"%s\" ct mark & 0x%08x == 0x%08x meta nfproto %s snat %s to %s\n",
		cfg->uplink, RP_MARK_MASK, RP_MARK_BASE, v6 ? "ipv6" : "ipv4", v6 ? "ip6" : "ip", a);
}

char *nat_ruleset(const struct rp_config *cfg)
{
	char *text = NULL;
	size_t len = 0, n = 0, n_ports = 0, k;
	FILE *f = open_memstream(&text, &len);
	uint16_t *ports = NULL;
	uint16_t lo, hi;
	char name[IFNAMSIZ + 8], sfx[32];

	if (!f)
		return NULL;
	for (size_t i = 0; i < cfg->n_tenants; i++)
		n += tenant_marked(cfg, i);
	if (!n)
		goto out;
	ports = listen_ports(cfg, &n_ports);
	if (!ports) {
		fclose(f);
		free(text);
		return NULL;
	}
	fprintf(f, "table inet %s {\n", RP_NFT_TABLE);
	fprintf(f, "\tchain raw_pre {\n\t\ttype filter hook prerouting priority raw; policy accept;\n");
	if (n_ports) {
		fprintf(f, "\t\tiifname \"%s\" udp dport ", cfg->uplink);
		print_ports(f, ports, n_ports);
		fprintf(f, " notrack accept\n");
	}
	/* A tunnel needs conntrack only for egress NAT (shares are NATed from
	 * the consumer's cloud attachment); a cloud attachment for egress
	 * NAT and for shares, consumer or provider side. */
	k = 0;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		if (t->egress != RP_EGRESS_NAT)
			elem(f, &k, "\t\tiifname { ", t->tunnel_interface, "");
		if (!tenant_marked(cfg, i) && !share_provider(cfg, i)) {
			net_cloud_ifname(t, name, sizeof(name));
			elem(f, &k, "\t\tiifname { ", name, "");
		}
	}
	if (k)
		fprintf(f, " } notrack accept\n");
	k = 0;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];
		const char *open = "\t\tct original zone set iifname map { ";

		if (!tenant_marked(cfg, i))
			continue;
		snprintf(sfx, sizeof(sfx), " : %u", t->id);
		if (t->egress == RP_EGRESS_NAT)
			elem(f, &k, open, t->tunnel_interface, sfx);
		net_cloud_ifname(t, name, sizeof(name));
		elem(f, &k, open, name, sfx);
	}
	fprintf(f, " }\n\t}\n");
	if (n_ports) {
		fprintf(f, "\tchain raw_out {\n\t\ttype filter hook output priority raw; policy accept;\n"
			   "\t\toifname \"%s\" udp sport ", cfg->uplink);
		print_ports(f, ports, n_ports);
		fprintf(f, " notrack\n\t}\n");
	}
	fprintf(f, "\tchain forward_mark {\n\t\ttype filter hook forward priority mangle; policy accept;\n");
	/* With [ha], a NATed TCP connection that conntrack does not know
	 * (the new active before conntrackd's commit, docs/ha.md) is not
	 * picked up mid-stream: it would get a new NAT port and the far end
	 * would reset it; dropped, its retransmission finds the synced entry */
	if (cfg->ha.enabled)
		fprintf(f, "\t\toifname \"%s\" ct state new tcp flags & (fin | syn | rst | ack) != syn drop\n",
			cfg->uplink);
	k = 0;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct rp_tenant *t = &cfg->tenants[i];

		if (t->egress != RP_EGRESS_NAT)
			continue;
		snprintf(sfx, sizeof(sfx), " : 0x%08x", RP_MARK_BASE | t->id);
		fprintf(f, k++ ? ", " : "\t\toifname \"%s\" ct mark set iifname map { ", cfg->uplink);
		tenant_ifaces(f, t, sfx);
	}
	if (k)
		fprintf(f, " }\n");
	k = 0;
	for (size_t c = 0; c < cfg->n_tenants; c++) {
		net_cloud_ifname(&cfg->tenants[c], name, sizeof(name));
		for (size_t p = 0; p < cfg->n_tenants; p++) {
			char pname[IFNAMSIZ + 8];

			if (!net_share_offered(cfg, p, c))
				continue;
			net_cloud_ifname(&cfg->tenants[p], pname, sizeof(pname));
			fprintf(f, "%s\"%s\" . \"%s\" : 0x%08x", k++ ? ", " : "\t\tct mark set iifname . oifname map { ",
				name, pname, RP_MARK_BASE | cfg->tenants[c].id);
		}
	}
	if (k)
		fprintf(f, " }\n");
	fprintf(f, "\t}\n");
	fprintf(f, "\tchain reply_mark {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n"
		   "\t\tct direction reply ct mark & 0x%08x == 0x%08x meta mark set ct mark\n\t}\n",
		RP_MARK_MASK, RP_MARK_BASE);
	fprintf(f, "\tchain egress_nat {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
	gw_nat_ports(cfg, &lo, &hi);
	snat_endpoint(f, cfg, lo, hi);
	masquerade(f, cfg->uplink, lo, hi);
	for (size_t p = 0; p < cfg->n_tenants; p++) {
		if (!share_provider(cfg, p))
			continue;
		net_cloud_ifname(&cfg->tenants[p], name, sizeof(name));
		masquerade(f, name, lo, hi);
	}
	fprintf(f, "\t}\n");
	fprintf(f, "\tchain nat_guard {\n\t\ttype filter hook input priority filter; policy accept;\n"
		   "\t\tmeta l4proto { tcp, udp } th dport %u-%u ct state { new, invalid, untracked } drop\n"
		   /* an ICMP error conntrack relates to no connection (the
		    * programs let errors about NAT ports through to a share
		    * provider's cloud_address: path MTU of its NATed answers) */
		   "\t\ticmp type { destination-unreachable, time-exceeded, parameter-problem } "
		   "ct state invalid drop\n"
		   "\t\ticmpv6 type { destination-unreachable, packet-too-big, time-exceeded, "
		   "parameter-problem } ct state invalid drop\n"
		   "\t}\n}\n", lo, hi);
out:
	free(ports);
	if (fclose(f))
		return NULL;
	return text;
}

/* Run `nft ARGS` with INPUT on stdin; stderr's first line goes to why
 * (net.h). */
int nft_run(const char *const argv[], const char *input, char *why, size_t whylen)
{
	int in[2], errp[2], status;
	size_t off = 0, ilen = input ? strlen(input) : 0;
	char ebuf[1024];
	size_t elen = 0;
	pid_t pid;

	why[0] = 0;
	if (pipe2(in, O_CLOEXEC))
		return -errno;
	if (pipe2(errp, O_CLOEXEC)) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(in[0]); close(in[1]); close(errp[0]); close(errp[1]);
		return err;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(in[0], 0);
		dup2(errp[1], 2);
		if (null >= 0)
			dup2(null, 1);
		execvp("nft", (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(errp[1]);
	while (off < ilen) {
		ssize_t w = write(in[1], input + off, ilen - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		off += (size_t)w;
	}
	close(in[1]);
	for (;;) {
		ssize_t r = read(errp[0], ebuf + elen, sizeof(ebuf) - 1 - elen);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		elen += (size_t)r;
		if (elen >= sizeof(ebuf) - 1)
			break;
	}
	ebuf[elen] = 0;
	close(errp[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	ebuf[strcspn(ebuf, "\n")] = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		snprintf(why, whylen, "cannot run nft");
	else
		snprintf(why, whylen, "%.400s", ebuf[0] ? ebuf : "nft failed");
	return -EIO;
}

bool nat_present(void)
{
	const char *argv[] = { "nft", "list", "table", "inet", RP_NFT_TABLE, NULL };
	char why[256];

	return nft_run(argv, NULL, why, sizeof(why)) == 0;
}

int nat_apply(const struct rp_config *cfg, bool verify, bool *changed, struct diag *d)
{
	const char *argv[] = { "nft", "-f", "-", NULL };
	char *want = nat_ruleset(cfg), *have = NULL, *script = NULL, path[4096], why[512];
	bool present;
	int err = 0;

	*changed = false;
	if (!want)
		return -ENOMEM;
	statedir_path(path, cfg->state_dir, SD_NAT_RULESET);
	have = file_read_all(path, NULL);
	/* Unchanged since the last apply that loaded it: trust the record. */
	if (!verify && want[0] && have && !strcmp(have, want))
		goto out;
	present = nat_present();
	if (!want[0]) {
		if (present) {
			err = nat_down(d);
			*changed = true;
		}
		unlink(path);
		goto out;
	}
	if (present && have && !strcmp(have, want))
		goto out;
	/* Create-then-delete makes the delete valid whether or not the table
	 * exists; the whole script is one transaction. */
	if (asprintf(&script, "table inet %s\ndelete table inet %s\n%s", RP_NFT_TABLE,
		     RP_NFT_TABLE, want) < 0) {
		err = -ENOMEM;
		goto out;
	}
	err = nft_run(argv, script, why, sizeof(why));
	if (err) {
		diag_add(d, "egress NAT: nftables refused table inet %s: %s", RP_NFT_TABLE, why);
		goto out;
	}
	*changed = true;
	file_replace(path, &(struct iovec){ want, strlen(want) }, 1, 0644, false);
out:
	free(want);
	free(have);
	free(script);
	return err;
}

int nat_down(struct diag *d)
{
	const char *argv[] = { "nft", "delete", "table", "inet", RP_NFT_TABLE, NULL };
	char why[512];
	int err;

	if (!nat_present())
		return 0;
	err = nft_run(argv, NULL, why, sizeof(why));
	if (err)
		diag_add(d, "egress NAT: cannot delete table inet %s: %s", RP_NFT_TABLE, why);
	return err;
}
