#!/bin/bash
# Geo lookup structure vs LPM trie with the whole Tor database (bench_geo.c
# says what is measured and how).  GEO_ROUNDS (5) rounds of GEO_REPEAT
# (1,000,000) BPF_PROG_TEST_RUN repeats each.
set -u
BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
if [ "$(id -u)" != 0 ]; then echo "bench_geo: needs root (BPF)" >&2; exit 0; fi
if [ ! -r /usr/share/tor/geoip ] || [ ! -r /usr/share/tor/geoip6 ]; then
	echo "bench_geo: /usr/share/tor/geoip{,6} missing (tor-geoipdb)" >&2; exit 0
fi
exec "$BUILD/bench/bench_geo" "${GEO_ROUNDS:-5}" "${GEO_REPEAT:-1000000}"
