#!/bin/bash
# bench/plot.py on a fixture results file (tests/bench/plot_fixture.json):
# one valid PNG per measure that has data, none for a measure without any
# (small load: every value null; geo, tunnel: no result), and the same
# figures from bench_*.sh's JSON lines.  No root, no lock.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
if ! $PY -c 'import matplotlib' 2>/dev/null; then
	skip "benchplot: python3-matplotlib missing (make bench installs it: BENCH_DEB_PACKAGES)"; exit 0
fi
tmp=$(mktemp -d /tmp/benchplot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fx=tests/bench/plot_fixture.json
want="audit-small change-small dataplane-ns-10-rules dataplane-pps-10-rules dataplane-veth-ns-10-rules kmem-small"

is_png() { [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

check "benchplot: plot.py exits 0 on the fixture" bash -c "$PY bench/plot.py $fx $tmp/a --note 'unit test' >/dev/null 2>&1"
got=$(cd "$tmp/a" && ls | sed 's/^plot_fixture-//; s/\.png$//' | sort | tr '\n' ' ' | sed 's/ $//')
check "benchplot: one figure per measure with data ($want)" test "$got" = "$want"
for m in $want; do
	check "benchplot: $m is a PNG" is_png "$tmp/a/plot_fixture-$m.png"
done
check "benchplot: no figure for a measure without data (small load)" test ! -e "$tmp/a/plot_fixture-load-small.png"
check "benchplot: no figure for a bench that did not run (geo)" bash -c "! ls '$tmp/a' | grep -q geo"

# every axis from 0; a bar per measured value and none for the missing one
# (small kmem: rempart null, nft and ipt measured)
out=$($PY - "$fx" "$tmp/d" <<'PY'
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location('plot', 'bench/plot.py')
plot = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plot)
machine, results = plot.load(sys.argv[1])
by = {r['metric']: r for r in results}
os.makedirs(sys.argv[2])
figs = plot.compare_figures(by) + plot.dataplane_figures(by) + plot.audit_figures(by)
for f in figs:
    if f.has_data():
        ylim, nbars = plot.draw(f, os.path.join(sys.argv[2], f.measure + f.scale + '.png'), 'c')
        want = sum(plot.measured(r) for _, bars in f.groups for _, _, r, _ in bars)
        print('%s-%s %g %d %d' % (f.measure, f.scale, ylim[0], nbars, want))
PY
)
quick=$($PY -c '
import importlib.util
spec = importlib.util.spec_from_file_location("plot", "bench/plot.py")
plot = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plot)
for s in ("BENCHES=geo BENCH_QUICK=1 DP_ROUNDS=3", "BENCH_QUICK= DP_ROUNDS=3", "DP_ROUNDS=3"):
    print(int("smoke run" in plot.caption({"settings": s}, "")), end="")')
check "benchplot: a BENCH_QUICK run's captions say it is a smoke run, others do not" test "$quick" = 100
check "benchplot: the six figures drawn in-process" test "$(echo "$out" | grep -c .)" = 6
check "benchplot: every value axis starts at 0" test -z "$(echo "$out" | awk '$2 != 0')"
check "benchplot: one bar per measured value" test -z "$(echo "$out" | awk '$3 != $4')"
check "benchplot: kmem-small has nft and ipt, no rempart bar" bash -c "echo '$out' | grep -qx 'kmem-small 0 2 2'"

# the same from JSON lines (bench_*.sh's own output), with --prefix
$PY -c 'import json,sys; [print(json.dumps(r)) for r in json.load(open(sys.argv[1]))["results"]]' "$fx" > "$tmp/lines.jsonl"
$PY bench/plot.py "$tmp/lines.jsonl" "$tmp/b" --prefix 2026-12-07-host > "$tmp/b.out" 2>/dev/null
check "benchplot: JSON lines give the same figures, named by --prefix" \
	test "$(cd "$tmp/b" && ls | sed 's/^2026-12-07-host-//; s/\.png$//' | sort | tr '\n' ' ' | sed 's/ $//')" = "$want"
check "benchplot: plot.py prints each file it writes" test "$(wc -l < "$tmp/b.out")" = 6

# nothing measured at all: no figure, still exit 0
echo '{"machine": {}, "results": []}' > "$tmp/empty.json"
$PY bench/plot.py "$tmp/empty.json" "$tmp/c" >/dev/null 2>&1
check "benchplot: an empty run draws nothing" test -z "$(ls -A "$tmp/c" 2>/dev/null)"
[ $T_FAILS = 0 ]
