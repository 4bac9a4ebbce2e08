#!/bin/bash
# ops_metrics: a real scrape of the metrics endpoint.
#
#   test_op_metrics ── pins rp_counters / rp_geo_drops / rp_state /
#        │             rp_rule_counters / rp_evstats in
#        │             /sys/fs/bpf/op_metrics_PID, writes per-CPU values,
#        │             serves 127.0.0.1:PORT/metrics (libmicrohttpd)
#   curl ┘ ── the body ──► promtool check metrics, and each expected sample
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/e2e/ops_lib.sh
op_private_bpffs "$0" "$@"
BIN=$BUILD/tests/unit/test_op_metrics
PIN=/sys/fs/bpf/op_metrics_$$
OUT=$(mktemp -d /tmp/op_metrics.XXXXXX)

cleanup() {
	[ -n "${srv_pid:-}" ] && kill "$srv_pid" 2>/dev/null
	rm -rf "$PIN" "$OUT"
}
trap cleanup EXIT

[ -x "$BIN" ] || { fail "ops_metrics: $BIN not built"; exit 1; }
command -v promtool >/dev/null || { skip "ops_metrics: promtool not installed"; exit 0; }

mkfifo "$OUT/ctl"
"$BIN" "$PIN" <"$OUT/ctl" >"$OUT/srv.out" 2>"$OUT/srv.err" &
srv_pid=$!
exec 3>"$OUT/ctl"	# the server stops when this closes

if ! wait_for 10 grep -q '^ready' "$OUT/srv.out"; then
	fail "ops_metrics: server did not start: $(cat "$OUT/srv.err")"
	exit 1
fi
port=$(awk '/^port /{print $2}' "$OUT/srv.out")
check "ops_metrics: bound a port ($port)" test "${port:-0}" -gt 0

curl -sS -D "$OUT/headers" -o "$OUT/body" "http://127.0.0.1:$port/metrics"
check "ops_metrics: GET /metrics answers 200" grep -q '^HTTP/1.1 200' "$OUT/headers"
check "ops_metrics: content type is the Prometheus text format" \
	grep -qi '^Content-Type: text/plain; version=0.0.4' "$OUT/headers"
if promtool check metrics <"$OUT/body" >"$OUT/promtool" 2>&1; then
	pass "ops_metrics: promtool check metrics accepts the scrape"
else
	fail "ops_metrics: promtool check metrics: $(cat "$OUT/promtool")"
fi
while read -r _ sample; do
	if grep -qxF "$sample" "$OUT/body"; then
		pass "ops_metrics: scrape has '$sample'"
	else
		fail "ops_metrics: scrape lacks '$sample'; has: $(grep -F "${sample%%\{*}" "$OUT/body" | head -3 | tr '\n' '|')"
	fi
done < <(grep '^expect ' "$OUT/srv.out")
for m in rempart_packets_total rempart_bytes_total rempart_geo_drops_total \
	rempart_policy_generation rempart_reload_total rempart_build_info \
	rempart_rule_packets_total rempart_site_up rempart_site_last_handshake_seconds \
	rempart_site_rx_bytes_total rempart_site_tx_bytes_total rempart_events_lost_total \
	rempart_flows rempart_flow_evictions_total; do
	check "ops_metrics: # HELP and # TYPE for $m" \
		bash -c "grep -q '^# HELP $m ' '$OUT/body' && grep -q '^# TYPE $m ' '$OUT/body'"
done
n=$(grep -c '^rempart_packets_total{' "$OUT/body")
nr=$(grep -c '^	X(RP_R_' bpf/rempart_abi.h)
check "ops_metrics: every reason of every tenant and _gateway (3 x $nr = $n)" test "$n" -eq $((3 * nr))
check "ops_metrics: the reason gateway is there" grep -q '^rempart_packets_total{tenant="_gateway",reason="gateway"} ' "$OUT/body"

code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/other")
check "ops_metrics: another path is 404 ($code)" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/metrics")
check "ops_metrics: POST is 405 ($code)" test "$code" = 405

exec 3>&-
wait_for 5 bash -c "! kill -0 $srv_pid 2>/dev/null"
check "ops_metrics: server stops cleanly" bash -c "! kill -0 $srv_pid 2>/dev/null"
srv_pid=
[ "$T_FAILS" -eq 0 ]
