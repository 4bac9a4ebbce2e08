#!/bin/bash
# The dataplane programs, ns per packet, against a trivial XDP_PASS in the
# same run, for 10 / 1,000 / 10,000 / 100,000 rules with the Tor geo
# database loaded (bench_dataplane.c says what is measured and how).
# DP_ROUNDS (5) rounds of DP_REPEAT (1,000,000) BPF_PROG_TEST_RUN repeats;
# and packets per second of the XDP programs on a real veth (bench/dp_veth.h,
# DP_VETH_MS a round; DP_VETH=0 skips it).  Makes a network namespace: hold
# /run/rempart-dev.lock on a shared machine.
set -u
BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
if [ "$(id -u)" != 0 ]; then echo "bench_dataplane: needs root (BPF)" >&2; exit 0; fi
if [ ! -r /usr/share/tor/geoip ] || [ ! -r /usr/share/tor/geoip6 ]; then
	echo "bench_dataplane: /usr/share/tor/geoip{,6} missing (tor-geoipdb)" >&2; exit 0
fi
exec "$BUILD/bench/bench_dataplane" "${DP_ROUNDS:-5}" "${DP_REPEAT:-1000000}"
