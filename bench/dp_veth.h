// SPDX-License-Identifier: GPL-2.0
/* dp_veth.h — packets per second of an XDP program on a real veth, for
 * bench_dataplane.c.
 *
 * The program is attached in native (driver) mode to the veth of the
 * bench's own network namespace that it serves (dpup: uplink_in, dpcloud:
 * cloud_in).  One thread sends the measured frame, again and again, into
 * the other end of the pair (dpupp, dpcloudp) through an AF_PACKET socket
 * that bypasses the qdisc, in sendmmsg() batches of DP_VETH_BATCH; veth
 * hands each frame to its peer's NAPI poll, on the sending CPU, where the
 * program runs on it and its verdict is carried out as a driver would:
 * XDP_PASS builds an skb for the stack, XDP_DROP frees it.  The frame is
 * addressed to the receiving veth's own MAC, so a passed frame is one for
 * this host and the stack takes it up to its route lookup, where it ends
 * (the namespace has no address).  pps = frames the receiving veth took
 * in (its rx_packets, from the kernel's link statistics) / wall-clock
 * seconds of the round: one core's rate through send, veth, the program
 * and its verdict.  The trivial XDP_PASS program is attached in its place
 * for the baseline, back to back in the same round, with the same frame.
 * The ratio is the share of that path's rate the policy keeps; it is not
 * a line rate (a NIC's driver does not pay the sender's system call).
 * NAME_veth_ns_above_xdp_pass_N_rules turns each round into time: 1e9 /
 * pps less the trivial program's, the program's cost per frame on that path.
 *
 * Environment: DP_VETH=0 skips it; DP_VETH_MS (1000) wall-clock ms a
 * round, program and baseline each.  Needs native XDP on veth (Linux 4.19).
 * Included by bench_dataplane.c after its median() and emit().
 */
#ifndef REMPART_BENCH_DP_VETH_H
#define REMPART_BENCH_DP_VETH_H

#include <ifaddrs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>

#define DP_VETH_BATCH 64

static bool dp_veth_off;

static double dp_veth_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The frame with the interface's own MAC as destination: *out, 0 or -errno. */
static int dp_veth_frame(const char *ifname, const uint8_t *pkt, size_t len, uint8_t *out)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFHWADDR, &ifr))
		err = -errno;
	close(s);
	if (err)
		return err;
	memcpy(out, pkt, len);
	memcpy(out, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

/* ifname's rx_packets (this namespace's link statistics), or -errno. */
static long long dp_veth_rx(const char *ifname)
{
	struct ifaddrs *ifa, *i;
	long long n = -ENODEV;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_PACKET && i->ifa_data &&
		    !strcmp(i->ifa_name, ifname))
			n = ((struct rtnl_link_stats *)i->ifa_data)->rx_packets;
	freeifaddrs(ifa);
	return n;
}

/* Attach prog to ifname (native XDP), send the frame into peer for ms
 * milliseconds, detach: *pps the frames ifname took in per second. */
static int dp_veth_round(int prog, const char *ifname, const char *peer, const uint8_t *frame, size_t len,
			 unsigned ms, double *pps)
{
	unsigned ifi = if_nametoindex(ifname), pi = if_nametoindex(peer);
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_ifindex = pi, .sll_halen = 6 };
	struct mmsghdr msg[DP_VETH_BATCH];
	struct iovec iov = { .iov_base = (void *)frame, .iov_len = len };
	long long rx0, rx1;
	double t0, t1 = 0;
	int s, one = 1, err = 0;

	if (!ifi || !pi)
		return -ENODEV;
	memcpy(sa.sll_addr, frame, 6);
	for (int i = 0; i < DP_VETH_BATCH; i++)
		msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &sa, .msg_namelen = sizeof(sa),
							 .msg_iov = &iov, .msg_iovlen = 1 } };
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) ||
	    bpf_xdp_attach(ifi, prog, XDP_FLAGS_DRV_MODE, NULL)) {
		err = -errno;
		close(s);
		return err;
	}
	/* the program itself, in native mode, receives (not generic XDP) */
	{
		struct bpf_prog_info info = { 0 };
		__u32 id = 0, il = sizeof(info);

		if (bpf_xdp_query_id(ifi, XDP_FLAGS_DRV_MODE, &id) || bpf_obj_get_info_by_fd(prog, &info, &il) ||
		    id != info.id) {
			bpf_xdp_detach(ifi, XDP_FLAGS_DRV_MODE, NULL);
			close(s);
			return -ENOENT;
		}
	}
	rx0 = dp_veth_rx(ifname);
	t0 = dp_veth_now();
	do {
		if (sendmmsg(s, msg, DP_VETH_BATCH, 0) < 0 && errno != ENOBUFS && errno != EAGAIN) {
			err = -errno;
			break;
		}
	} while ((t1 = dp_veth_now()) - t0 < ms / 1e3);
	rx1 = dp_veth_rx(ifname);
	bpf_xdp_detach(ifi, XDP_FLAGS_DRV_MODE, NULL);
	close(s);
	if (err)
		return err;
	if (rx0 < 0 || rx1 < 0)
		return rx0 < 0 ? (int)rx0 : (int)rx1;
	*pps = (uint32_t)(rx1 - rx0) / (t1 - t0);	/* a 32-bit counter: modulo 2^32 */
	return rx1 != rx0 ? 0 : -EIO;
}

/* Emits NAME_pps_N_rules (baseline: the trivial program's) and
 * xdp_pass_pps_with_NAME_N_rules for one XDP program, its veth and frame. */
static void dp_veth_pps(int prog, int pass_prog, const char *ifname, const uint8_t *pkt, size_t len,
			const char *name, unsigned n_rules)
{
	const char *e = getenv("DP_VETH");
	unsigned ms = getenv("DP_VETH_MS") ? strtoul(getenv("DP_VETH_MS"), NULL, 0) : 1000;
	int nr = rounds < 64 ? rounds : 64, ret = -1, err;
	double base[64], v[64], d[64], lo, hi, b, m;
	char peer[IF_NAMESIZE + 1], metric[80], note[480], why[64];
	const char *step = "the interface's MAC";
	uint8_t frame[PK_MAX];
	unsigned dur;

	if (dp_veth_off || (e && !strcmp(e, "0")))
		return;
	snprintf(peer, sizeof(peer), "%sp", ifname);	/* fx_netns()'s pairs */
	err = dp_veth_frame(ifname, pkt, len, frame);
	/* the verdict this frame gets, as the veth will carry it out */
	if (!err && (step = "the frame's verdict"))
		err = fx_run_prog(prog, true, if_nametoindex(ifname), frame, len, 1, &ret, &dur);
	for (int r = 0; r < nr && !err; r++) {
		step = "xdp_pass on the veth";
		err = dp_veth_round(pass_prog, ifname, peer, frame, len, ms, &base[r]);
		if (!err && (step = name))
			err = dp_veth_round(prog, ifname, peer, frame, len, ms, &v[r]);
	}
	if (err) {
		fprintf(stderr, "bench_dataplane: no packets per second (native XDP on veth): %s: %s\n",
			step, strerror(-err));
		dp_veth_off = true;
		return;
	}
	b = median(base, nr, &lo, &hi);
	snprintf(metric, sizeof(metric), "xdp_pass_pps_with_%s_%u_rules", name, n_rules);
	emit(metric, b, lo, hi, "packets/s", nr, 0, NULL);
	snprintf(why, sizeof(why), "%s", ret == XDP_PASS ? "XDP_PASS" : ret == XDP_DROP ? "XDP_DROP" : "other");
	snprintf(note, sizeof(note),
		 "%s attached to veth %s (native XDP), the frame sent into %s by AF_PACKET for %u ms a round; "
		 "frames taken in per second, one core, verdict %s; baseline: a trivial XDP_PASS in its place, "
		 "same rounds; ratio = value / baseline", name, ifname, peer, ms, why);
	snprintf(metric, sizeof(metric), "%s_pps_%u_rules", name, n_rules);
	for (int r = 0; r < nr; r++)
		d[r] = 1e9 / v[r] - 1e9 / base[r];
	m = median(v, nr, &lo, &hi);
	emit(metric, m, lo, hi, "packets/s", nr, b, note);
	snprintf(metric, sizeof(metric), "%s_veth_ns_above_xdp_pass_%u_rules", name, n_rules);
	m = median(d, nr, &lo, &hi);
	emit(metric, m, lo, hi, "ns", nr, 0,
	     "the same rounds as time per frame: 1e9 / pps less the trivial program's, round by round");
}

#endif
