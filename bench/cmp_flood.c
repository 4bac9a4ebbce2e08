/* cmp_flood — a bounded UDP packet sender for bench/bench_compare.sh.
 *
 *   cmp_flood -i IFACE --dmac MAC (-s SRCFILE | --src-net CIDR) (-d DST | --dst-net CIDR)
 *             -p DPORT[-DPORT2] [-n COUNT] [-t SECONDS] [-r PPS] [-b BATCH]
 *   cmp_flood --tun IFACE (-s SRCFILE | --src-net CIDR) (-d DST | --dst-net CIDR) ...
 *
 * Builds a pool of up to 65,536 Ethernet + IPv4/IPv6 + UDP frames (18 bytes
 * of payload) with sources from SRCFILE (one address per line, e.g. from
 * `rp2fw sources`) or random in --src-net, destinations random in --dst-net
 * (or one address), destination ports random in the range; then sends them
 * round-robin through an AF_PACKET socket with PACKET_QDISC_BYPASS and
 * sendmmsg() batches, at most COUNT frames (default 10,000,000) and SECONDS
 * (default 5), paced to PPS when given (0: as fast as possible).  Prints
 * one line "sent N seconds S pps P cpu_ns C" on stdout (C: this process's
 * CPU time, user + system, while sending).  Only for interfaces of
 * namespaces the benchmark creates: the caller runs it inside one.
 *
 * --tun IFACE: write the IP packets (no Ethernet header) into the existing
 * tun device IFACE, one write() each, the way wireguard-go hands the
 * packets it decrypted to the kernel: the kernel takes each one in (the
 * device's TC ingress, routing, forwarding, netfilter) in this process's
 * context, so cpu_ns / N is the receive-and-forward cost per packet plus a
 * write() system call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define POOL_MAX 65536
#define FRAME_MAX 128
#define PAYLOAD 18

struct net {
	int family;
	uint8_t a[16];
	int len;
};

static uint64_t rs = 0x1234567;
static uint64_t rnd(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int parse_net(const char *s, struct net *n)
{
	char buf[128], *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, buf, n->a) == 1) {
		n->family = AF_INET;
		n->len = slash ? atoi(slash) : 32;
	} else if (inet_pton(AF_INET6, buf, n->a) == 1) {
		n->family = AF_INET6;
		n->len = slash ? atoi(slash) : 128;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* a random address inside the prefix */
static void net_pick(const struct net *n, uint8_t *out)
{
	int bytes = n->family == AF_INET ? 4 : 16, i;

	for (i = 0; i < bytes; i++) {
		int bit0 = i * 8;
		uint8_t r = (uint8_t)rnd(), keep;
		if (bit0 + 8 <= n->len)
			keep = 0xff;
		else if (bit0 >= n->len)
			keep = 0;
		else
			keep = (uint8_t)(0xff << (8 - (n->len - bit0)));
		out[i] = (n->a[i] & keep) | (r & ~keep);
	}
}

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t csum_add(uint32_t s, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)(b[n - 1] << 8);
	return s;
}

static int build(uint8_t *f, const uint8_t *dmac, const uint8_t *smac, int family,
		 const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport)
{
	struct ether_header *eh = (void *)f;
	struct udphdr *uh;
	uint8_t *pl;
	int len;

	memcpy(eh->ether_dhost, dmac, 6);
	memcpy(eh->ether_shost, smac, 6);
	if (family == AF_INET) {
		struct iphdr *ip = (void *)(f + 14);
		eh->ether_type = htons(ETHERTYPE_IP);
		memset(ip, 0, sizeof(*ip));
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->tot_len = htons(20 + 8 + PAYLOAD);
		ip->id = htons((uint16_t)rnd());
		memcpy(&ip->saddr, src, 4);
		memcpy(&ip->daddr, dst, 4);
		ip->check = htons(csum_fold(csum_add(0, ip, 20)));
		uh = (void *)(ip + 1);
		len = 14 + 20;
	} else {
		struct ip6_hdr *ip6 = (void *)(f + 14);
		eh->ether_type = htons(ETHERTYPE_IPV6);
		memset(ip6, 0, sizeof(*ip6));
		ip6->ip6_flow = htonl(6u << 28);
		ip6->ip6_plen = htons(8 + PAYLOAD);
		ip6->ip6_nxt = IPPROTO_UDP;
		ip6->ip6_hlim = 64;
		memcpy(&ip6->ip6_src, src, 16);
		memcpy(&ip6->ip6_dst, dst, 16);
		uh = (void *)(ip6 + 1);
		len = 14 + 40;
	}
	uh->source = htons(sport);
	uh->dest = htons(dport);
	uh->len = htons(8 + PAYLOAD);
	uh->check = 0;
	pl = (uint8_t *)(uh + 1);
	memset(pl, 0x5a, PAYLOAD);
	{
		/* UDP checksum (mandatory in IPv6, set in both) */
		uint32_t s = 0;
		int alen = family == AF_INET ? 4 : 16;
		uint16_t l = htons(8 + PAYLOAD), pr = htons(IPPROTO_UDP);
		s = csum_add(s, src, alen);
		s = csum_add(s, dst, alen);
		s = csum_add(s, &pr, 2);
		s = csum_add(s, &l, 2);
		s = csum_add(s, uh, 8 + PAYLOAD);
		uh->check = htons(csum_fold(s));
		if (!uh->check)
			uh->check = 0xffff;
	}
	return len + 8 + PAYLOAD;
}

static int parse_mac(const char *s, uint8_t *m)
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6
		? 0 : -EINVAL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Attach to the existing tun device IFNAME (IFF_TUN | IFF_NO_PI, as
 * rempart and wireguard-go make it); -1 with a message on failure. */
static int tun_open(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int fd;

	/* TUNSETIFF would make a new device of that name: only existing ones */
	if (!if_nametoindex(ifname)) {
		fprintf(stderr, "cmp_flood: tun %s: %s\n", ifname, strerror(errno));
		return -1;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "cmp_flood: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "cmp_flood: attach to tun %s: %s\n", ifname, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static uint8_t frames[POOL_MAX][FRAME_MAX];
	static int flen[POOL_MAX];
	static struct mmsghdr msgs[256];
	static struct iovec iov[256];
	const char *ifname = NULL, *tun = NULL, *srcfile = NULL, *src_net = NULL, *dst_net = NULL;
	uint8_t dmac[6] = { 0 }, smac[6] = { 0x02, 0, 0, 0, 0, 1 };
	long count = 10000000, pool = 0, sent = 0;
	double seconds = 5, rate = 0, t0, t1;
	long long c0;
	int dport_lo = 0, dport_hi = 0, batch = 64, fd, one = 1, i, c;
	struct sockaddr_ll sll = { 0 };
	struct net dn, sn;
	static const struct option opts[] = {
		{ "dmac", required_argument, NULL, 'D' },
		{ "smac", required_argument, NULL, 'M' },
		{ "src-net", required_argument, NULL, 'N' },
		{ "dst-net", required_argument, NULL, 'd' },
		{ "tun", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};

	while ((c = getopt_long(argc, argv, "i:s:d:p:n:t:r:b:", opts, NULL)) != -1) {
		switch (c) {
		case 'i': ifname = optarg; break;
		case 'T': tun = optarg; break;
		case 's': srcfile = optarg; break;
		case 'N': src_net = optarg; break;
		case 'd': dst_net = optarg; break;
		case 'p':
			if (sscanf(optarg, "%d-%d", &dport_lo, &dport_hi) < 2)
				dport_hi = dport_lo;
			break;
		case 'n': count = atol(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'b': batch = atoi(optarg); break;
		case 'D':
			if (parse_mac(optarg, dmac)) {
				fprintf(stderr, "cmp_flood: --dmac '%s' is not a MAC address\n", optarg);
				return 1;
			}
			break;
		case 'M':
			if (parse_mac(optarg, smac)) {
				fprintf(stderr, "cmp_flood: --smac '%s' is not a MAC address\n", optarg);
				return 1;
			}
			break;
		default:
			return 1;
		}
	}
	if ((!ifname == !tun) || !dst_net || (!srcfile && !src_net) || dport_lo <= 0 || dport_hi < dport_lo ||
	    dport_hi > 65535 || batch < 1 || batch > 256 || count <= 0 || seconds <= 0) {
		fprintf(stderr, "usage: cmp_flood (-i IFACE --dmac MAC | --tun IFACE) (-s SRCFILE | --src-net CIDR) "
			"(-d|--dst-net CIDR) -p PORT[-PORT] [-n COUNT] [-t SECONDS] [-r PPS] [-b BATCH]\n");
		return 1;
	}
	if (parse_net(dst_net, &dn)) {
		fprintf(stderr, "cmp_flood: destination '%s' is not an address or prefix\n", dst_net);
		return 1;
	}
	if (src_net && parse_net(src_net, &sn)) {
		fprintf(stderr, "cmp_flood: --src-net '%s' is not a prefix\n", src_net);
		return 1;
	}
	if (srcfile) {
		FILE *f = fopen(srcfile, "r");
		char line[128];
		if (!f) {
			fprintf(stderr, "cmp_flood: %s: %s\n", srcfile, strerror(errno));
			return 1;
		}
		while (pool < POOL_MAX && fgets(line, sizeof(line), f)) {
			struct net s;
			uint8_t d[16];
			line[strcspn(line, "\r\n")] = 0;
			if (!*line)
				continue;
			if (parse_net(line, &s) || s.family != dn.family) {
				fprintf(stderr, "cmp_flood: %s: '%s' is not an address of the destination's family\n",
					srcfile, line);
				fclose(f);
				return 1;
			}
			net_pick(&dn, d);
			flen[pool] = build(frames[pool], dmac, smac, dn.family, s.a, d,
					   (uint16_t)(1024 + rnd() % 60000),
					   (uint16_t)(dport_lo + rnd() % (dport_hi - dport_lo + 1)));
			pool++;
		}
		fclose(f);
	} else {
		if (sn.family != dn.family) {
			fprintf(stderr, "cmp_flood: source and destination families differ\n");
			return 1;
		}
		for (; pool < POOL_MAX; pool++) {
			uint8_t s[16], d[16];
			net_pick(&sn, s);
			net_pick(&dn, d);
			flen[pool] = build(frames[pool], dmac, smac, dn.family, s, d,
					   (uint16_t)(1024 + rnd() % 60000),
					   (uint16_t)(dport_lo + rnd() % (dport_hi - dport_lo + 1)));
		}
	}
	if (!pool) {
		fprintf(stderr, "cmp_flood: no source address\n");
		return 1;
	}
	if (tun) {
		fd = tun_open(tun);
		if (fd < 0)
			return 2;
		c0 = cpu_ns();
		t0 = now();
		while (sent < count) {
			long k = sent % pool;

			if (rate > 0) {
				while ((double)sent >= rate * (now() - t0) && now() - t0 < seconds)
					;
			}
			if (((sent & 255) == 0 || rate > 0) && now() - t0 >= seconds)
				break;
			if (write(fd, frames[k] + 14, (size_t)flen[k] - 14) < 0) {
				if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)
					continue;
				fprintf(stderr, "cmp_flood: write to tun %s: %s\n", tun, strerror(errno));
				close(fd);
				return 2;
			}
			sent++;
		}
		t1 = now();
		close(fd);
		printf("sent %ld seconds %.3f pps %.0f cpu_ns %lld\n", sent, t1 - t0, sent / (t1 - t0),
		       cpu_ns() - c0);
		return 0;
	}
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		fprintf(stderr, "cmp_flood: socket(AF_PACKET): %s\n", strerror(errno));
		return 2;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
		fprintf(stderr, "cmp_flood: PACKET_QDISC_BYPASS: %s (going through the qdisc)\n", strerror(errno));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, dmac, 6);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "cmp_flood: interface %s: %s\n", ifname, strerror(errno));
		close(fd);
		return 2;
	}
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "cmp_flood: bind %s: %s\n", ifname, strerror(errno));
		close(fd);
		return 2;
	}
	for (i = 0; i < batch; i++) {
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	c0 = cpu_ns();
	t0 = now();
	t1 = t0;
	while (sent < count) {
		int n = batch, r;
		long k;

		if (count - sent < n)
			n = (int)(count - sent);
		if (rate > 0) {
			/* pace: never ahead of rate * elapsed */
			for (;;) {
				t1 = now();
				if ((double)sent < rate * (t1 - t0))
					break;
				if (t1 - t0 >= seconds)
					break;
			}
		}
		if ((sent & 1023) < (long)n || rate > 0) {
			t1 = now();
			if (t1 - t0 >= seconds)
				break;
		}
		for (i = 0; i < n; i++) {
			k = (sent + i) % pool;
			iov[i].iov_base = frames[k];
			iov[i].iov_len = (size_t)flen[k];
		}
		r = sendmmsg(fd, msgs, (unsigned)n, 0);
		if (r < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
				continue;
			fprintf(stderr, "cmp_flood: sendmmsg on %s: %s\n", ifname, strerror(errno));
			close(fd);
			return 2;
		}
		sent += r;
	}
	t1 = now();
	close(fd);
	printf("sent %ld seconds %.3f pps %.0f cpu_ns %lld\n", sent, t1 - t0, sent / (t1 - t0),
	       cpu_ns() - c0);
	return 0;
}
