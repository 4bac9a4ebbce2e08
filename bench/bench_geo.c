// SPDX-License-Identifier: GPL-2.0
/* bench_geo.c — the geo lookup structure against an LPM-trie baseline, in
 * one run, with the whole Tor database (/usr/share/tor/geoip, geoip6).
 * Prints one JSON object per line (bench/run-all.sh collects them).
 *
 * Measured:
 *  - ranges (and the CIDR prefixes the tries need), load times: parsing the
 *    files, building the image, creating+filling+swapping the BPF map; the
 *    tries loaded with batch updates;
 *  - map memory by the kernel's own accounting: the change of the memory
 *    cgroup's kernel memory (a child memcg made for this process; cgroup v1
 *    memory.kmem.usage_in_bytes or v2 memory.current), else /proc/meminfo
 *    Slab + VmallocUsed; and the maps' memlock from fdinfo beside it;
 *  - ns per packet through BPF_PROG_TEST_RUN (repeat >= 1,000,000, median of
 *    ROUNDS rounds) of bpf/geo_probe.bpf.c: without lookup, with the geo
 *    lookup, with the LPM trie; for one repeated address and for random
 *    addresses.  Random: BPF_PROG_TEST_RUN repeats one packet, so the probe
 *    picks each time one of 65,536 addresses pre-filled in an array map, by
 *    bpf_get_prandom_u32() — the same work in all three modes, so
 *    (mode - none) is the lookup's cost.  The random addresses are drawn
 *    uniformly among the database's ranges, then uniformly inside the range
 *    (a flood from many networks abroad).
 *
 * Usage: bench_geo [ROUNDS [REPEAT]]   (default 5, 1000000)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "../tests/geo_probe.h"
#include "../tests/xorshift.h"
#include "geo/geo.h"
#include "geo/geo_bpf.h"
#include "geo/geo_int.h"
#include "lib/clock.h"

#define NADDR_MAX 65536
static unsigned naddr = NADDR_MAX;	/* GEO_NADDR: fewer, to see the cost without cache misses */

static int rounds = 5;
static unsigned repeat = 1000000;

static uint64_t rng = 0x853c49e6748fea9bULL;
static uint64_t rnd64(void)
{
	return xorshift64(&rng);
}

static double cpu_ms(void)	/* this process's CPU time: steady on a busy machine */
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void emit(const char *metric, const double *values, int n, const char *unit,
		 double baseline, const char *note)
{
	double v[16];

	memcpy(v, values, n * sizeof(*v));	/* the caller's order stays */
	qsort(v, n, sizeof(*v), dcmp);
	printf("{\"bench\": \"geo\", \"metric\": \"%s\", \"value\": %.6g, \"min\": %.6g, \"max\": %.6g, "
	       "\"unit\": \"%s\", \"rounds\": %d", metric, v[n / 2], v[0], v[n - 1], unit, n);
	if (baseline > 0)
		printf(", \"baseline\": %.6g, \"ratio\": %.4g", baseline, baseline / v[n / 2]);
	if (note)
		printf(", \"note\": \"%s\"", note);
	printf("}\n");
	fflush(stdout);
}

static void emit_ratio(const char *metric, double *v, int n, const char *unit, double baseline,
		       double ratio, const char *note)
{
	qsort(v, n, sizeof(*v), dcmp);
	printf("{\"bench\": \"geo\", \"metric\": \"%s\", \"value\": %.6g, \"min\": %.6g, \"max\": %.6g, "
	       "\"unit\": \"%s\", \"rounds\": %d, \"baseline\": %.6g, \"ratio\": %.4g, \"note\": \"%s\"}\n",
	       metric, v[n / 2], v[0], v[n - 1], unit, n, baseline, ratio, note);
	fflush(stdout);
}

static void emit1(const char *metric, double v, const char *unit, const char *note)
{
	emit(metric, &v, 1, unit, 0, note);
}

/* ---- kernel memory accounting ---- */

static char memcg[1024];
static const char *mem_method = "meminfo Slab+VmallocUsed";

static long long read_ll(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	long long v = -1;

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			v = atoll(buf);
		close(fd);
	}
	return v;
}

static void memcg_setup(void)
{
	char line[256], path[512], procs[600], pid[32];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int fd;

	while (f && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '\n');

		if (p)
			*p = 0;
		if (!strncmp(line, "0::", 3) && !access("/sys/fs/cgroup/cgroup.controllers", R_OK)) {
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s/geo-bench-%d", line + 3, getpid());
			mem_method = "memcg v2 memory.current (child cgroup)";
		} else if ((p = strstr(line, ":memory:"))) {
			snprintf(path, sizeof(path), "/sys/fs/cgroup/memory%s/geo-bench-%d", p + 8, getpid());
			mem_method = "memcg v1 memory.kmem.usage_in_bytes (child cgroup)";
		} else {
			continue;
		}
		if (mkdir(path, 0755) && errno != EEXIST)
			break;
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
		fd = open(procs, O_WRONLY);
		snprintf(pid, sizeof(pid), "%d", getpid());
		if (fd >= 0 && write(fd, pid, strlen(pid)) > 0) {
			snprintf(memcg, sizeof(memcg), "%s", path);
			close(fd);
			break;
		}
		if (fd >= 0)
			close(fd);
		rmdir(path);
	}
	if (f)
		fclose(f);
	if (!memcg[0])
		mem_method = "meminfo Slab+VmallocUsed";
}

static void memcg_cleanup(void)
{
	char path[1100], pid[32];
	int fd;

	if (!memcg[0])
		return;
	/* Back to the parent, then remove ours (the maps are freed by then). */
	snprintf(path, sizeof(path), "%s/../cgroup.procs", memcg);
	fd = open(path, O_WRONLY);
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (fd >= 0) {
		if (write(fd, pid, strlen(pid)) < 0)
			perror("bench_geo: leave the child memcg");
		close(fd);
	}
	rmdir(memcg);
}

static long long meminfo_kb(const char *key)
{
	char line[256];
	FILE *f = fopen("/proc/meminfo", "re");
	long long v = 0;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = atoll(line + strlen(key));
	if (f)
		fclose(f);
	return v;
}

static long long kmem_now(void)
{
	char path[1100];

	if (memcg[0]) {
		snprintf(path, sizeof(path), "%s/memory.kmem.usage_in_bytes", memcg);
		if (!access(path, R_OK))
			return read_ll(path);
		snprintf(path, sizeof(path), "%s/memory.current", memcg);
		return read_ll(path);
	}
	return (meminfo_kb("Slab:") + meminfo_kb("VmallocUsed:")) * 1024;
}

static long long memlock(int fd)
{
	char path[64], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "memlock:", 8))
			v = atoll(line + 8);
	if (f)
		fclose(f);
	return v;
}

/* ---- LPM trie baseline ---- */

struct tkey4 { __u32 plen; __u8 a[4]; };
struct tkey6 { __u32 plen; __u8 a[16]; };

/* Cover [lo, hi] with CIDR prefixes; calls out(arg, lo, len) for each. */
static size_t range_to_cidrs(u128 lo, u128 hi, int bits, void (*out)(void *, u128, int), void *arg)
{
	size_t n = 0;

	for (;;) {
		int k = 0;	/* the largest block 2^k aligned at lo inside [lo, hi] */
		u128 last;

		while (k < bits && !((lo >> k) & 1)) {
			if (k + 1 == 128) {
				if (lo == 0 && hi == ~(u128)0)
					k = 128;
				break;
			}
			if (lo + (((u128)1 << (k + 1)) - 1) > hi)
				break;
			k++;
		}
		if (out)
			out(arg, lo, bits - k);
		n++;
		if (k == 128)
			break;
		last = lo + (((u128)1 << k) - 1);
		if (last >= hi)
			break;
		lo = last + 1;
	}
	return n;
}

struct trie_fill {
	int family;
	void *keys;
	__u16 *vals;
	size_t n;
	__u16 cc;
};

static void trie_out(void *arg, u128 lo, int len)
{
	struct trie_fill *t = arg;
	struct rp_addr a;

	geo_u128_to_addr(t->family, lo, &a);
	if (t->family == AF_INET) {
		struct tkey4 *k = (struct tkey4 *)t->keys + t->n;

		k->plen = len;
		memcpy(k->a, a.addr, 4);
	} else {
		struct tkey6 *k = (struct tkey6 *)t->keys + t->n;

		k->plen = len;
		memcpy(k->a, a.addr, 16);
	}
	t->vals[t->n++] = t->cc;
}

static size_t count_prefixes(const struct geo_db *db, int family)
{
	size_t n = 0, nr = family == AF_INET ? db->n4 : db->n6;

	for (size_t i = 0; i < nr; i++)
		n += family == AF_INET ? range_to_cidrs(db->v4[i].lo, db->v4[i].hi, 32, NULL, NULL) :
					 range_to_cidrs(db->v6[i].lo, db->v6[i].hi, 128, NULL, NULL);
	return n;
}

static int trie_load(int fd, const struct geo_db *db, int family, size_t np, double *ms)
{
	struct trie_fill t = { .family = family };
	size_t nr = family == AF_INET ? db->n4 : db->n6;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	int err = 0;
	double t0;

	t.keys = calloc(np, family == AF_INET ? sizeof(struct tkey4) : sizeof(struct tkey6));
	t.vals = calloc(np, sizeof(__u16));
	if (!t.keys || !t.vals)
		return -ENOMEM;
	for (size_t i = 0; i < nr; i++) {
		t.cc = family == AF_INET ? db->v4[i].cc : db->v6[i].cc;
		if (family == AF_INET)
			range_to_cidrs(db->v4[i].lo, db->v4[i].hi, 32, trie_out, &t);
		else
			range_to_cidrs(db->v6[i].lo, db->v6[i].hi, 128, trie_out, &t);
	}
	t0 = clock_ms();
	for (size_t done = 0; done < t.n;) {
		__u32 cnt = t.n - done > 65536 ? 65536 : t.n - done;
		size_t ks = family == AF_INET ? sizeof(struct tkey4) : sizeof(struct tkey6);

		if (bpf_map_update_batch(fd, (char *)t.keys + done * ks, t.vals + done, &cnt, &bo)) {
			err = -errno;
			if (err == -EOPNOTSUPP || err == -EINVAL) {	/* one by one */
				err = 0;
				for (; done < t.n && !err; done++)
					if (bpf_map_update_elem(fd, (char *)t.keys + done * ks,
								t.vals + done, BPF_ANY))
						err = -errno;
				break;
			}
			break;
		}
		done += cnt;
	}
	*ms = clock_ms() - t0;
	free(t.keys);
	free(t.vals);
	return err;
}

/* ---- lookups ---- */

static double run_ns(struct geo_probe *skel, const struct rp_addr *src)
{
	unsigned char pkt[128];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .repeat = repeat);

	o.data_size_in = probe_packet(src, pkt);
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.rp_geo_probe), &o)) {
		fprintf(stderr, "bench_geo: BPF_PROG_TEST_RUN: %s\n", strerror(errno));
		exit(2);
	}
	return o.duration;
}

static void fill_addrs(struct geo_probe *skel, const struct geo_db *db, int family)
{
	int fd = bpf_map__fd(skel->maps.probe_addrs);

	for (__u32 k = 0; k < naddr; k++) {
		struct rp_addr a;
		u128 lo, hi, span;
		size_t r;

		if (family == AF_INET) {
			r = rnd64() % db->n4;
			lo = db->v4[r].lo;
			hi = db->v4[r].hi;
		} else {
			r = rnd64() % db->n6;
			lo = db->v6[r].lo;
			hi = db->v6[r].hi;
		}
		span = hi - lo;
		geo_u128_to_addr(family, span == ~(u128)0 ? lo : lo + (((u128)rnd64() << 64 | rnd64()) % (span + 1)), &a);
		bpf_map_update_elem(fd, &k, a.addr, BPF_ANY);
	}
	skel->bss->n_addrs = naddr;
}

static void bench_family(struct geo_probe *skel, const struct geo_db *db, int family)
{
	static const char *modes[] = { "geo", "none", "trie" };
	const char *fam = family == AF_INET ? "v4" : "v6";
	double v[3][2][16];
	struct rp_addr one;
	char name[96];

	fill_addrs(skel, db, family);
	geo_u128_to_addr(family, family == AF_INET ? (u128)db->v4[db->n4 / 2].lo + 1 :
			 db->v6[db->n6 / 2].lo + 1, &one);
	for (int r = 0; r < rounds; r++)
		for (int rnd = 0; rnd < 2; rnd++)
			for (int m = 0; m < 3; m++) {
				skel->bss->mode = m;
				skel->bss->random = rnd;
				v[m][rnd][r] = run_ns(skel, &one);
			}
	for (int rnd = 0; rnd < 2; rnd++) {
		for (int m = 0; m < 3; m++) {
			snprintf(name, sizeof(name), "%s_%s_pkt_%s", fam, rnd ? "random" : "repeated", modes[m]);
			emit(name, v[m][rnd], rounds, "ns/packet", 0, NULL);
		}
		/* The lookup alone: packet time minus the no-lookup run of the
		 * same round (the three modes run back to back, so a busy
		 * machine slows them alike); ratio: median of the rounds'. */
		double g[16], t[16], ratio[16];

		for (int r = 0; r < rounds; r++) {
			g[r] = v[0][rnd][r] - v[1][rnd][r];
			t[r] = v[2][rnd][r] - v[1][rnd][r];
			ratio[r] = g[r] > 0 ? t[r] / g[r] : 0;
		}
		qsort(t, rounds, sizeof(*t), dcmp);
		qsort(ratio, rounds, sizeof(*ratio), dcmp);
		snprintf(name, sizeof(name), "%s_%s_lookup", fam, rnd ? "random" : "repeated");
		emit_ratio(name, g, rounds, "ns", t[rounds / 2], ratio[rounds / 2],
			   "geo lookup cost per round (with geo - without); baseline: LPM trie's; ratio: median of the rounds' ratios");
	}
}

int main(int argc, char **argv)
{
	struct rp_config cfg = { .geo_ipv4 = "/usr/share/tor/geoip",
				 .geo_ipv6 = "/usr/share/tor/geoip6", .geo_format = RP_GEO_TOR };
	struct geo_image img = { 0 };
	struct geo_db db = { 0 };
	struct diag d = { 0 };
	struct geo_probe *skel = NULL;
	double t0, t1, ms[16], cpu[16], build_ms;
	long long k0, k1;
	size_t np4, np6;
	int err;

	if (argc > 1)
		rounds = atoi(argv[1]);
	if (argc > 2)
		repeat = strtoul(argv[2], NULL, 10);
	if (rounds < 1 || rounds > 16)
		rounds = 5;
	if (getenv("GEO_NADDR"))
		naddr = strtoul(getenv("GEO_NADDR"), NULL, 10);
	if (naddr < 1 || naddr > NADDR_MAX)
		naddr = NADDR_MAX;
	memcg_setup();
	for (int r = 0; r < (rounds < 3 ? rounds : 3); r++) {
		double c0 = cpu_ms();

		geo_free(&db);
		t0 = clock_ms();
		if (geo_load(&cfg, &db, &d)) {
			diag_print(&d, stderr);
			return 2;
		}
		ms[r] = clock_ms() - t0;
		cpu[r] = cpu_ms() - c0;
	}
	emit("parse_ms", ms, rounds < 3 ? rounds : 3, "ms", 0, "read and normalise the two Tor files (wall clock)");
	emit("parse_cpu_ms", cpu, rounds < 3 ? rounds : 3, "ms", 0, "the same in CPU time (steady when the machine is busy)");
	emit1("ranges_v4", db.n4, "ranges", NULL);
	emit1("ranges_v6", db.n6, "ranges", NULL);
	np4 = count_prefixes(&db, AF_INET);
	np6 = count_prefixes(&db, AF_INET6);
	emit1("trie_prefixes_v4", np4, "prefixes", NULL);
	emit1("trie_prefixes_v6", np6, "prefixes", NULL);

	skel = geo_probe__open();
	if (!skel)
		goto fail;
	bpf_map__set_max_entries(skel->maps.probe_addrs, NADDR_MAX);
	bpf_map__set_max_entries(skel->maps.probe_trie4, np4);
	bpf_map__set_max_entries(skel->maps.probe_trie6, np6);
	if (geo_probe__load(skel))
		goto fail;

	t0 = clock_ms();
	err = geo_image_build(&db, &img, &d);
	t1 = clock_ms();
	build_ms = t1 - t0;
	emit1("build_ms", build_ms, "ms", "build the lookup image from the ranges");
	k0 = kmem_now();
	t0 = clock_ms();
	err = err ?: geo_bpf_swap(bpf_map__fd(skel->maps.rp_geo), &img, &d);
	t1 = clock_ms();
	k1 = kmem_now();
	if (err) {
		diag_print(&d, stderr);
		goto fail;
	}
	emit1("bpf_load_ms", t1 - t0, "ms", "create, fill and swap in the database map");
	{
		double total;

		qsort(ms, rounds < 3 ? rounds : 3, sizeof(*ms), dcmp);
		total = ms[(rounds < 3 ? rounds : 3) / 2] + build_ms + (t1 - t0);

		emit1("load_ms", total, "ms", "files to swapped-in map: parse_ms + build_ms + bpf_load_ms (target <= 500)");
	}
	emit1("geo_map_bytes", (double)(k1 - k0), "bytes", mem_method);
	emit1("geo_image_bytes", img.n * 8.0, "bytes", "words of the lookup image");
	{
		struct geo_bpf_view v;

		if (!geo_bpf_view_open(bpf_map__fd(skel->maps.rp_geo), &v)) {
			emit1("geo_map_memlock", memlock(v.fd), "bytes", "fdinfo memlock of the inner map");
			geo_bpf_view_close(&v);
		}
	}

	for (int fam = 0; fam < 2; fam++) {
		int fd = fam ? bpf_map__fd(skel->maps.probe_trie6) : bpf_map__fd(skel->maps.probe_trie4);
		double tms;

		k0 = kmem_now();
		if (trie_load(fd, &db, fam ? AF_INET6 : AF_INET, fam ? np6 : np4, &tms)) {
			fprintf(stderr, "bench_geo: loading the LPM trie failed\n");
			goto fail;
		}
		k1 = kmem_now();
		emit1(fam ? "trie_load_ms_v6" : "trie_load_ms_v4", tms, "ms", "batch updates");
		emit1(fam ? "trie_map_bytes_v6" : "trie_map_bytes_v4", (double)(k1 - k0), "bytes", mem_method);
		emit1(fam ? "trie_map_memlock_v6" : "trie_map_memlock_v4", memlock(fd), "bytes",
		      "fdinfo memlock");
	}
	bench_family(skel, &db, AF_INET);
	bench_family(skel, &db, AF_INET6);
	geo_probe__destroy(skel);
	geo_image_free(&img);
	geo_free(&db);
	memcg_cleanup();
	return 0;
fail:
	fprintf(stderr, "bench_geo: %s\n", strerror(errno));
	geo_probe__destroy(skel);
	memcg_cleanup();
	return 2;
}
