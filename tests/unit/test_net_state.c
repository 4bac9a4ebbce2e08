// SPDX-License-Identifier: GPL-2.0
/* test_net_state.c — net.state is checked before it is trusted
 * (userspace/net/net_state.c): every kind of line apply writes is accepted,
 * and a line that would make `down` flush the main table, delete an
 * interface rempart never makes, or write a sysctl it never sets is refused,
 * with the whole file (net_state_load returns -EINVAL and names the line).
 * The file is written whole (temporary file, fsync, rename) with mode 0600.
 * No kernel: the file is in a temporary directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "net/net_state.h"
#include "tap.h"

static const char *const good[] = {
	"link wg-alpha wireguard",
	"link eth1.110 vlan",
	"addr gw-ca 10.20.0.1/24",
	"addr wg-alpha fd64:10::1/64",
	"table 1010",
	"table 5000",
	"rule 4 1010 1010 iif=wg-alpha mark=0x0",
	"rule 6 1010 1010 iif=gw-ca mark=0x0",
	"rule 4 999 1010 iif=- mark=0x5250000a",
	"rule 4 998 254 iif=gw-up mark=0x0/0xffff0000",
	"rule 6 998 254 iif=lo mark=0x0/0xffff0000",
	"sysctl /proc/sys/net/ipv4/ip_forward 0",
	"sysctl /proc/sys/net/ipv6/conf/all/forwarding 1",
	"sysctl /proc/sys/net/ipv4/fwmark_reflect 0",
	"sysctl /proc/sys/net/ipv6/fwmark_reflect 0",
	"nat",
	"backend wireguard-go",
	"backend kernel",
	"fp 10 0123456789abcdef",
	"fp 10 0123456789abcdef 42",
};

static const char *const bad[] = {
	"table 254",			/* the main table: down would flush it */
	"table 255",
	"table 1000",
	"table 5001",
	"table 1010 extra",
	"link gw-up eth",		/* a kind rempart never makes */
	"link eth1 vlan",		/* a VLAN link rempart makes is CLOUD.VLAN */
	"link ../x wireguard",
	"link averyveryverylongname wireguard",
	"addr gw-ca nonsense",
	"rule 4 1010 254 iif=wg-a mark=0x0",	/* a tenant priority on the main table */
	"rule 4 998 1010 iif=gw-up mark=0x0",	/* the gateway's priority elsewhere */
	"rule 4 32766 254 iif=- mark=0x0",	/* the kernel's own main rule */
	"rule 4 1010 1020 iif=wg-a mark=0x0",	/* priority and table of two tenants */
	"rule 4 999 1010 iif=- mark=0x52500014",	/* fwmark of another tenant */
	"rule 5 1010 1010 iif=wg-a mark=0x0",
	"sysctl /proc/sys/kernel/printk 0",	/* never set by rempart */
	"sysctl /proc/sys/net/ipv4/ip_forward x",
	"backend bogus",
	"fp 0 0123",
	"fp 4001 0123",
	"fp 10 0123 x",
	"something else",
};

static int write_state(const char *dir, const char *extra)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/net.state", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "# what rempart created\n");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		fprintf(f, "%s\n", good[i]);
	if (extra)
		fprintf(f, "%s\n", extra);
	return fclose(f);
}

int main(void)
{
	char dir[] = "/tmp/rempart-netstate.XXXXXX", path[512];
	struct net_state st;
	struct diag d = { 0 };
	struct stat sb;
	int err;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const char *why = net_state_check_line(good[i]);

		tap_result(!why, "net.state: '%s' is accepted%s%s", good[i], why ? ": " : "", why ? why : "");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		tap_result(net_state_check_line(bad[i]) != NULL, "net.state: '%s' is refused (%s)",
			   bad[i], net_state_check_line(bad[i]) ? net_state_check_line(bad[i]) : "accepted");

	if (!mkdtemp(dir)) {
		tap_result(0, "net.state: mkdtemp: %s", strerror(errno));
		tap_exit();
	}
	write_state(dir, NULL);
	err = net_state_load(&st, dir, &d);
	tap_result(!err && st.n == sizeof(good) / sizeof(good[0]),
		   "net.state: a file of good lines loads (%zu lines)", st.n);
	if (!err) {
		err = net_state_save(&st, dir);
		snprintf(path, sizeof(path), "%s/net.state", dir);
		tap_result(!err && !stat(path, &sb) && (sb.st_mode & 0777) == 0600,
			   "net.state: written back with mode 0600");
		snprintf(path, sizeof(path), "%s/net.state.rempart-tmp", dir);
		tap_result(access(path, F_OK) != 0, "net.state: no temporary file left");
		net_state_free(&st);
		err = net_state_load(&st, dir, &d);
		tap_result(!err && st.n == sizeof(good) / sizeof(good[0]),
			   "net.state: what was written reads back the same");
		net_state_free(&st);
	}
	write_state(dir, "table 254");
	/* the header, the good lines, then the bad one */
	snprintf(path, sizeof(path), ":%zu:", sizeof(good) / sizeof(good[0]) + 2);
	diag_free(&d);
	err = net_state_load(&st, dir, &d);
	tap_result(err == -EINVAL && st.n == 0, "net.state: one bad line refuses the whole file");
	tap_result(d.n == 1 && strstr(d.msgs[0], "net.state:") && strstr(d.msgs[0], "'table 254'") &&
		   strstr(d.msgs[0], path),
		   "net.state: the error names the file, the line number and the line: %s",
		   d.n ? d.msgs[0] : "(none)");
	diag_free(&d);
	snprintf(path, sizeof(path), "%s/net.state", dir);
	unlink(path);
	err = net_state_load(&st, dir, &d);
	tap_result(!err && st.n == 0, "net.state: a missing file is an empty record");
	rmdir(dir);
	tap_exit();
}
