// SPDX-License-Identifier: GPL-2.0
/* bench_scaleout.c — what reading a gateway's flow state costs, for the
 * flow-sync estimate of docs/scale-out.md.
 *
 * An LRU hash shaped like one of rempart's IPv4 flow tables (struct
 * rp_flow4_key -> struct rp_flow_val, 16 + 16 bytes) holds N flows; each
 * round reads all of them back the two ways a sync could: one
 * BPF_MAP_LOOKUP_BATCH pass, and get_next_key + lookup per entry.  Prints
 * run-all.sh's JSON lines: the median time of a full pass and its range.
 *
 *   bench_scaleout [FLOWS (10000)] [ROUNDS (5)] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "rempart_abi.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One full pass by batches of 1,024; the number of entries read. */
static long pass_batch(int fd, struct rp_flow4_key *keys, struct rp_flow_val *vals)
{
	__u32 in = 0, out = 0, count;
	long n = 0;
	void *inp = NULL;
	int err;

	do {
		count = 1024;
		err = bpf_map_lookup_batch(fd, inp, &out, keys, vals, &count, NULL);
		if (err && errno != ENOENT)
			return -errno;
		n += count;
		in = out;
		inp = &in;
	} while (!err);
	return n;
}

static long pass_iter(int fd)
{
	struct rp_flow4_key k, next;
	struct rp_flow_val v;
	void *prev = NULL;
	long n = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (!bpf_map_lookup_elem(fd, &next, &v))
			n++;
		k = next;
		prev = &k;
	}
	return n;
}

static void report(const char *metric, double *t, int rounds, long flows, const char *how)
{
	qsort(t, rounds, sizeof(*t), cmp_d);
	printf("{\"bench\": \"scaleout\", \"metric\": \"%s\", \"value\": %.3f, \"min\": %.3f, "
	       "\"max\": %.3f, \"unit\": \"ms\", \"rounds\": %d, \"note\": \"one full read of %ld IPv4 flows "
	       "(16-byte key, 16-byte value, LRU hash of %d entries) %s\"}\n",
	       metric, t[rounds / 2] / 1e3, t[0] / 1e3, t[rounds - 1] / 1e3, rounds, flows,
	       (int)(flows * 2 > 1024 ? flows * 2 : 1024), how);
}

int main(int argc, char **argv)
{
	long flows = argc > 1 ? atol(argv[1]) : 10000;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	struct rp_flow4_key *keys;
	struct rp_flow_val *vals, v = { .expires_ns = 1, .owner = 10 };
	double *tb, *ti;
	int fd;

	if (flows < 1 || rounds < 1 || rounds > 1000)
		return 2;
	fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "rpscaleout", sizeof(struct rp_flow4_key),
			    sizeof(struct rp_flow_val), flows * 2 > 1024 ? flows * 2 : 1024, NULL);
	keys = calloc(1024, sizeof(*keys));
	vals = calloc(1024, sizeof(*vals));
	tb = calloc(rounds, sizeof(*tb));
	ti = calloc(rounds, sizeof(*ti));
	if (fd < 0 || !keys || !vals || !tb || !ti) {
		fprintf(stderr, "bench_scaleout: %s\n", fd < 0 ? strerror(errno) : "out of memory");
		return 1;
	}
	for (long i = 0; i < flows; i++) {
		struct rp_flow4_key k = { .zone = 10 + i % 100, .proto = 6, .sport = 1024 + i % 60000,
					  .dport = 443, .src = htobe32(0x0a780000 + (__u32)i),
					  .dst = htobe32(0x0a140000 + (__u32)(i * 7)) };

		if (bpf_map_update_elem(fd, &k, &v, BPF_NOEXIST)) {
			fprintf(stderr, "bench_scaleout: insert %ld: %s\n", i, strerror(errno));
			return 1;
		}
	}
	for (int r = 0; r < rounds; r++) {
		double t0 = now_us();
		long n = pass_batch(fd, keys, vals);

		tb[r] = now_us() - t0;
		if (n != flows) {
			fprintf(stderr, "bench_scaleout: batch pass read %ld of %ld\n", n, flows);
			return 1;
		}
		t0 = now_us();
		n = pass_iter(fd);
		ti[r] = now_us() - t0;
		if (n != flows) {
			fprintf(stderr, "bench_scaleout: key walk read %ld of %ld\n", n, flows);
			return 1;
		}
	}
	report("flow_read_batch_ms", tb, rounds, flows, "by BPF_MAP_LOOKUP_BATCH, 1,024 at a time");
	report("flow_read_iter_ms", ti, rounds, flows, "by get_next_key + lookup per entry");
	close(fd);
	return 0;
}
