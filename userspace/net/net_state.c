// SPDX-License-Identifier: GPL-2.0
/* net_state.c — the record of what rempart created; see net_state.h.
 *
 * `down` and the next `apply` act on every line: a line that names the main
 * table, an interface or a sysctl that rempart never makes would have them
 * flush, delete or write it.  So the file is checked line by line when it
 * is read (net_state_check_line), and one bad line refuses the whole file:
 * nothing is done from a record that rempart did not write.  It is written
 * to a temporary file, synced and renamed (file_replace): a crash leaves the
 * old record or the new one. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/rtnetlink.h>
#include "lib/addr.h"
#include "lib/fileutil.h"
#include "lib/fnv.h"
#include "lib/statedir.h"
#include "net/net_priv.h"
#include "net/net_state.h"

static void index_put(struct net_state *st, size_t pos)
{
	size_t m = st->n_slot - 1, i = fnv1a_str(FNV1A_BASIS, st->lines[pos]) & m;

	while (st->slot[i])
		i = (i + 1) & m;
	st->slot[i] = pos + 1;
}

/* The position of LINE, or -1. */
static ssize_t find(const struct net_state *st, const char *line)
{
	size_t m = st->n_slot - 1;

	if (!st->n_slot)
		return -1;
	for (size_t i = fnv1a_str(FNV1A_BASIS, line) & m; st->slot[i]; i = (i + 1) & m)
		if (!strcmp(st->lines[st->slot[i] - 1], line))
			return st->slot[i] - 1;
	return -1;
}

static int push(struct net_state *st, char *line)
{
	if (2 * (st->n + 1) >= st->n_slot) {
		size_t n_slot = st->n_slot ? st->n_slot * 2 : 256;
		size_t *slot = calloc(n_slot, sizeof(*slot));

		if (!slot)
			return -ENOMEM;
		free(st->slot);
		st->slot = slot;
		st->n_slot = n_slot;
		for (size_t i = 0; i < st->n; i++)
			index_put(st, i);
	}
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		char **v = realloc(st->lines, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		st->lines = v;
		st->cap = cap;
	}
	st->lines[st->n] = line;
	index_put(st, st->n++);
	return 0;
}

const char *const net_gateway_sysctls[] = {
	"/proc/sys/net/ipv4/ip_forward",
	"/proc/sys/net/ipv6/conf/all/forwarding",
	"/proc/sys/net/ipv4/fwmark_reflect",
	"/proc/sys/net/ipv6/fwmark_reflect",
};
const size_t net_n_gateway_sysctls = sizeof(net_gateway_sysctls) / sizeof(net_gateway_sysctls[0]);

static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	return n && n < IFNAMSIZ && !strpbrk(s, "/ \t:") && strcmp(s, ".") && strcmp(s, "..");
}

static bool tenant_table(unsigned long t)
{
	return t > RP_TABLE_BASE && t <= RP_TABLE_BASE + RP_TENANT_ID_MAX;
}

/* A "rule FAM PRIO TABLE iif=IF mark=0xM[/0xK]" line as rules.c writes it:
 * the gateway's (priority RP_RULE_PRIO_GW, main table, unmarked), a
 * tenant's fwmark rule (RP_RULE_PRIO_MARK, mark RP_MARK_BASE | id, its
 * table) or iif rule (priority and table 1000 + id). */
static const char *rule_check(const char *line)
{
	unsigned int fam, prio, table, mark, mask = 0;
	char iif[64], tail[64] = "";
	int n = 0;

	if (sscanf(line, "rule %u %u %u iif=%63s mark=0x%x%n", &fam, &prio, &table, iif, &mark, &n) != 5)
		return "not a rule line";
	if (line[n] && (sscanf(line + n, "/0x%x%63s", &mask, tail) < 1 || tail[0]))
		return "not a rule line";
	if (fam != 4 && fam != 6)
		return "family is neither 4 nor 6";
	if (strcmp(iif, "-") && !ifname_ok(iif))
		return "not an interface name";
	if (prio == RP_RULE_PRIO_GW)
		return table == RT_TABLE_MAIN && !mark && strcmp(iif, "-") ? NULL :
		       "priority of the gateway's rules without its form (iif, main table, unmarked)";
	if (!tenant_table(table))
		return "not one of rempart's routing tables";
	if (prio == RP_RULE_PRIO_MARK)
		return !strcmp(iif, "-") && mark == (RP_MARK_BASE | (table - RP_TABLE_BASE)) ? NULL :
		       "a fwmark rule that is not a tenant's";
	if (prio != table - RP_TABLE_BASE + RP_RULE_PRIO_BASE || mark || !strcmp(iif, "-"))
		return "not one of rempart's rule priorities, or not a tenant's rule";
	return NULL;
}

const char *net_state_check_line(const char *line)
{
	char a[128], b[128], c[64];
	unsigned long u;
	struct rp_prefix p;
	int n = 0;

	if (!strncmp(line, "link ", 5)) {
		if (sscanf(line, "link %127s %127s%n", a, b, &n) != 2 || line[n])
			return "not a link line";
		if (!ifname_ok(a))
			return "not an interface name";
		if (!strcmp(b, "vlan"))
			return strchr(a, '.') ? NULL : "a VLAN link rempart makes is named CLOUD.VLAN";
		return strcmp(b, "wireguard") ? "a kind of link rempart never makes" : NULL;
	}
	if (!strncmp(line, "addr ", 5)) {
		if (sscanf(line, "addr %127s %127s%n", a, b, &n) != 2 || line[n])
			return "not an addr line";
		if (!ifname_ok(a))
			return "not an interface name";
		return prefix_parse(b, &p) ? "not an address with its prefix length" : NULL;
	}
	if (!strncmp(line, "table ", 6)) {
		if (sscanf(line, "table %lu%n", &u, &n) != 1 || line[n])
			return "not a table line";
		return tenant_table(u) ? NULL : "not one of rempart's routing tables (1001-5000)";
	}
	if (!strncmp(line, "rule ", 5))
		return rule_check(line);
	if (!strncmp(line, "sysctl ", 7)) {
		if (sscanf(line, "sysctl %127s %63s%n", a, c, &n) != 2 || line[n])
			return "not a sysctl line";
		for (size_t i = 0; i < net_n_gateway_sysctls; i++)
			if (!strcmp(a, net_gateway_sysctls[i]))
				return strspn(c, "0123456789") == strlen(c) ? NULL :
				       "the value before rempart is not a number";
		return "a sysctl rempart never sets";
	}
	if (!strcmp(line, "nat"))
		return NULL;
	if (!strncmp(line, "backend ", 8))
		return !strcmp(line + 8, "kernel") || !strcmp(line + 8, "wireguard-go") ? NULL :
		       "an unknown WireGuard backend";
	if (!strncmp(line, "fp ", 3)) {
		unsigned long routes;
		int m = 0;

		if (sscanf(line, "fp %lu %127[0-9a-f]%n", &u, a, &n) != 2 || !u || u > RP_TENANT_ID_MAX ||
		    (line[n] && (sscanf(line + n, " %lu%n", &routes, &m) != 1 || line[n + m])))
			return "not a tenant fingerprint line";
		return NULL;
	}
	return "not a line rempart writes";
}

int net_state_load(struct net_state *st, const char *state_dir, struct diag *d)
{
	char path[4096], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	int err = 0, no = 0;

	memset(st, 0, sizeof(*st));
	statedir_path(path, state_dir, SD_NET_STATE);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while ((len = getline(&line, &cap, f)) > 0) {
		const char *why;
		char *copy;

		no++;
		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		why = net_state_check_line(line);
		if (why) {
			if (d)
				diag_add(d, "%s:%d: '%.200s': %s; rempart did not write this line and "
					 "acts on none of the file (fix or remove the line)",
					 path, no, line, why);
			err = -EINVAL;
			break;
		}
		copy = strdup(line);
		if (!copy || push(st, copy)) {
			free(copy);
			err = -ENOMEM;
			break;
		}
	}
	free(line);
	fclose(f);
	if (err)
		net_state_free(st);
	return err;
}

int net_state_save(const struct net_state *st, const char *state_dir)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	err = mkdir_p(state_dir, 0700);
	if (!err)
		err = statedir_path(path, state_dir, SD_NET_STATE);
	if (err)
		return err;
	f = open_memstream(&text, &len);
	if (!f)
		return -errno;
	fprintf(f, "# what rempart created; `rempart down` removes exactly this\n");
	for (size_t i = 0; i < st->n; i++)
		fprintf(f, "%s\n", st->lines[i]);
	if (fclose(f)) {
		free(text);
		return -ENOMEM;
	}
	/* 0600: it holds fingerprints of key material; synced before the
	 * rename: `down` after a crash must find what was made.  The same
	 * text (an apply that changed no link, address, route or peer) is
	 * not written again: no fsync on a policy-only change. */
	if (file_holds(path, text, len, 0600))
		err = 0;
	else
		err = file_replace(path, &(struct iovec){ text, len }, 1, 0600, true);
	free(text);
	return err;
}

bool net_state_has(const struct net_state *st, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return find(st, buf) >= 0;
}

int net_state_add(struct net_state *st, const char *fmt, ...)
{
	char buf[512], *copy;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (find(st, buf) >= 0)
		return 0;
	copy = strdup(buf);
	if (!copy)
		return -ENOMEM;
	if (push(st, copy)) {
		free(copy);
		return -ENOMEM;
	}
	return 0;
}

void net_state_free(struct net_state *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->lines[i]);
	free(st->lines);
	free(st->slot);
	memset(st, 0, sizeof(*st));
}
