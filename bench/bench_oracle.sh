#!/bin/bash
# The invariant oracle (docs/testing.md) at length: ORACLE_BENCH_PACKETS
# (default 50,000,000) packets through a lab apply, in one run with a new
# seed; prints the packets per second and the violations found.  The
# oracle's own PASS/FAIL lines go to stderr.  Needs root and the lab
# (tests/lab/lab.sh; hold /run/rempart-dev.lock as for the e2e suites).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
if [ "$(id -u)" != 0 ]; then echo "bench_oracle: needs root (network namespaces, BPF)" >&2; exit 0; fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
BUILD=$BUILD ORACLE_PACKETS=${ORACLE_BENCH_PACKETS:-50000000} "$TOP/tests/oracle/run.sh" >"$out" 2>&1
rc=$?
sed 's/^/oracle: /' "$out" | grep -v '^oracle: violation\|^oracle:   ' >&2
python3 - "$out" "$rc" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
m = re.search(r"oracle: (\d+) packets in ([\d.]+) s \((\d+)/s\)", text)
if not m:
    sys.exit("bench_oracle: the oracle did not run (exit %s)" % sys.argv[2])
viol = sum(int(v) for v in re.findall(r"checked, (\d+) violations", text))
seed = re.search(r"oracle: seed (\d+)", text)
print(json.dumps({"bench": "oracle", "metric": "packets_per_second", "value": int(m.group(3)),
                  "min": int(m.group(3)), "max": int(m.group(3)), "unit": "packets/s", "rounds": 1,
                  "note": "%s packets in %s s, seed %s, %d violations" % (m.group(1), m.group(2),
                          seed.group(1) if seed else "?", viol)}))
PY
