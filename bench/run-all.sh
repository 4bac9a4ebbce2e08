#!/bin/bash
# Runs every executable bench/bench_*.sh.  Each prints one JSON object per
# line: {"bench", "metric", "value" (median), "min", "max", "unit", "rounds"
# and optionally "baseline", "ratio", "note"}; other lines go to stderr
# untouched.  Writes bench/results/<YYYY-MM-DD>-<host>.json (machine info +
# every result; "settings": the bench variables set, BENCH_QUICK, DP_ROUNDS
# and the like), a Markdown summary beside it, and the figures
# (bench/plot.py: bench/results/<date>-<host>-<measure>-<scale>.png;
# BENCH_PLOT_NOTE adds a line to their captions).  BENCHES=a,b runs only
# bench_a.sh and bench_b.sh.  Results, not pass/fail: exits non-zero only
# when a benchmark itself fails.
set -u -o pipefail
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-$PWD/build}
export REMPART=${REMPART:-$BUILD/rempart}
mkdir -p bench/results
day=$(date -u +%F)
host=$(hostname -s 2>/dev/null || hostname)
out=bench/results/$day-$host
lines=$(mktemp)
trap 'rm -f "$lines"' EXIT
rc=0
for b in bench/bench_*.sh; do
	[ -x "$b" ] || continue
	name=$(basename "$b" .sh); name=${name#bench_}
	if [ -n "${BENCHES:-}" ] && [[ ",$BENCHES," != *",$name,"* ]]; then continue; fi
	echo "=== bench $name" >&2
	start=$(date +%s)
	"$b" | tee -a "$lines" || { echo "bench $name failed" >&2; rc=1; }
	echo "=== bench $name: $(( $(date +%s) - start ))s" >&2
done
python3 - "$lines" "$out" <<'PY'
import json, os, platform, subprocess, sys, datetime
lines, out = sys.argv[1], sys.argv[2]
results = []
for l in open(lines):
    l = l.strip()
    if l.startswith('{'):
        try:
            results.append(json.loads(l))
        except ValueError:
            pass
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.processor())
mem = next((int(l.split()[1]) for l in open('/proc/meminfo') if l.startswith('MemTotal')), 0)
machine = {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
           "memory_kb": mem, "host": platform.node(),
           "date": datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}
settings = ' '.join('%s=%s' % (k, v) for k, v in sorted(os.environ.items())
                    if k in ('BENCH_QUICK', 'BENCHES', 'TENANTS', 'SITES', 'ROUNDS') or
                    k.startswith(('CMP_', 'DP_', 'GEO_', 'AUDIT_', 'ORACLE_BENCH_')))
machine["settings"] = settings or 'defaults'
try:
    machine["commit"] = subprocess.check_output(['git', 'rev-parse', '--short', 'HEAD'], text=True).strip()
except Exception:
    pass
json.dump({"machine": machine, "results": results}, open(out + '.json', 'w'), indent=1)
with open(out + '.md', 'w') as f:
    f.write('# Benchmarks %s on %s\n\n' % (machine['date'], machine['host']))
    f.write('%s, %d cores, Linux %s, %d MB RAM%s\n\n' % (cpu, machine['cores'], machine['kernel'], mem // 1024,
            ', commit ' + machine['commit'] if 'commit' in machine else ''))
    f.write('| bench | metric | median | min | max | unit | rounds | baseline | ratio |\n')
    f.write('| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |\n')
    g = lambda v: '' if v is None else ('%.4g' % v if isinstance(v, float) else str(v))
    for r in results:
        f.write('| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' % (r.get('bench'), r.get('metric'),
                g(r.get('value')), g(r.get('min')), g(r.get('max')), r.get('unit', ''), g(r.get('rounds')),
                g(r.get('baseline')), g(r.get('ratio'))))
    notes = [r for r in results if r.get('note')]
    if notes:
        f.write('\nNotes:\n\n')
        for r in notes:
            f.write('- %s/%s: %s\n' % (r['bench'], r['metric'], r['note']))
print('wrote %s.json and %s.md (%d results)' % (out, out, len(results)), file=sys.stderr)
PY
# the figures (python3-matplotlib: make bench installs it)
py=/usr/bin/python3
[ -x $py ] || py=python3
if $py -c 'import matplotlib' 2>/dev/null; then
	$py bench/plot.py "$out.json" bench/results --note "${BENCH_PLOT_NOTE:-}" >/dev/null || echo "bench/plot.py failed" >&2
else
	echo "no figures: python3-matplotlib is missing (make bench installs it)" >&2
fi
exit $rc
