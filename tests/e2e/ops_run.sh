#!/bin/bash
# ops_run: `rempart run` as systemd sees it — READY=1 over NOTIFY_SOCKET,
# SIGHUP with a bad then a good config, SIGTERM with fail_mode = closed,
# `kill -9` then a new `run` that adopts the pinned state, `monitor --json`.
#
#   netns oppeN                        netns opgwN (rempart run, private bpffs)
#   opp$$ 198.51.100.2/24 ══ veth ══ opu$$ 198.51.100.1/24  (uplink)
#     ├ ping -i 0.05 198.51.100.1: a forbidden path, probed throughout
#     └ nc 198.51.100.1 22 every 50 ms: management, allowed by every policy
#
# Checks that need the dataplane (generation, pinned state, drops, events)
# FAIL when `run` pins nothing: the dataplane is part of the product, its
# absence is a failure, never a skip.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/e2e/ops_lib.sh
op_private_bpffs "$0" "$@"
GW=opgw$$ PE=oppe$$
T=$(mktemp -d /tmp/op_run.XXXXXX)
PORT=$((20000 + $$ % 10000))
PIN=/sys/fs/bpf/rempart
NODP="the dataplane is missing (rempart run pinned nothing in /sys/fs/bpf/rempart)"

cleanup() {
	[ -n "${loop_pid:-}" ] && touch "$T/stop"
	for p in ${run_pid:-} ${ping_pid:-} ${mon_pid:-} ${sock_pid:-} ${srv_pid:-} ${loop_pid:-}; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	ip netns del "$GW" 2>/dev/null
	ip netns del "$PE" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
gw() { nsenter --net=/run/netns/"$GW" "$@"; }
scrape() { gw curl -sf "http://127.0.0.1:$PORT/metrics"; }
metric() { scrape | awk -v m="$1" '$1 == m { print $2 }'; }
gateway_packets() { scrape | awk '/^rempart_packets_total\{tenant="_gateway"/ { s += $2 } END { print s + 0 }'; }
gen() { metric rempart_policy_generation; }

ip netns add "$GW" && ip netns add "$PE" || { skip "ops_run: cannot create network namespaces"; exit 0; }
ip link add opu$$ netns "$GW" type veth peer name opp$$ netns "$PE"
ip -n "$GW" addr add 198.51.100.1/24 dev opu$$
ip -n "$PE" addr add 198.51.100.2/24 dev opp$$
for n in "$GW" "$PE"; do ip -n "$n" link set lo up; done
ip -n "$GW" link set opu$$ up
ip -n "$PE" link set opp$$ up
mkdir -p "$T/tenants.d" "$T/state"

write_cfg() {	# write_cfg MGMT_PORT [FAIL_MODE [EXTRA_GATEWAY_LINE]]
	cat >"$T/rempart.ini" <<EOF
[gateway]
name = op-gw
uplink = opu$$
public_endpoint = 198.51.100.1
tenants = tenants.d
state_dir = $T/state
fail_mode = ${2:-closed}
${3:-}

[geo]
ipv4 = /usr/share/tor/geoip
ipv6 = /usr/share/tor/geoip6
format = tor
unknown = deny

[management]
allow_from = 192.0.2.0/24, 198.51.100.2/32
tcp_ports = $1

[metrics]
listen = 127.0.0.1:$PORT
EOF
}

start_run() {	# start_run LOG: rempart run with NOTIFY_SOCKET, wait for READY=1
	rm -f "$T/notify" "$T/notify.log"
	socat -u UNIX-RECV:"$T/notify" OPEN:"$T/notify.log",creat,append &
	sock_pid=$!
	wait_for 5 test -S "$T/notify"
	# with the capabilities of the unit's sandbox (dist/rempart.service):
	# no CAP_SYS_ADMIN, so nothing is opened by its ID
	NOTIFY_SOCKET=$T/notify nsenter --net=/run/netns/"$GW" \
		setpriv --bounding-set -all,+net_admin,+bpf,+perfmon --inh-caps -all "$REMPART" -c "$T" run \
		--log-events 5 2>>"$1" &
	run_pid=$!
	wait_for 90 grep -q READY=1 "$T/notify.log"
}

check "ops_run: control: the probed path is open without rempart" \
	bash -c "ip netns exec $PE ping -c 1 -W 2 198.51.100.1 >/dev/null"
write_cfg 22
t_run1=$(date +%s)
if start_run "$T/run1.log"; then
	pass "ops_run: run sends READY=1 over NOTIFY_SOCKET"
else
	fail "ops_run: no READY=1 from run: $(tail -5 "$T/run1.log")"
	exit 1
fi
check "ops_run: metrics are served once ready" wait_for 30 bash -c "nsenter --net=/run/netns/$GW curl -sf -o /dev/null http://127.0.0.1:$PORT/metrics"
if [ -e "$PIN/rp_state" ]; then dp=1; else dp=; fail "ops_run: $NODP"; fi
caps=$(scrape | grep '^rempart_flow_table_capacity{')
check "ops_run: without CAP_SYS_ADMIN the daemon still reads its flow tables ($(echo $caps))" \
	grep -qE '^rempart_flow_table_capacity\{table="_gateway"\} [1-9]' <<<"$caps"

# --- traffic during the reloads ----------------------------------------------
# Forbidden: ICMP echo to the uplink (probed until after kill -9 and restart).
# Allowed by both the old and the new policy: management TCP/22 from
# 198.51.100.2, one connection every 50 ms until the reloads are done.
ip netns exec "$PE" ping -q -i 0.05 198.51.100.1 >"$T/ping.out" 2>&1 &
ping_pid=$!
nsenter --net=/run/netns/"$GW" socat TCP-LISTEN:22,fork,reuseaddr SYSTEM:'echo ok' &
srv_pid=$!
mgmt_ok() { ip netns exec "$PE" nc -N -w 2 198.51.100.1 22 </dev/null 2>/dev/null | grep -qx ok; }
if [ -n "$dp" ]; then
	check "ops_run: management TCP/22 from an allowed source gets through" wait_for 30 mgmt_ok
fi
( while [ ! -e "$T/stop" ]; do
	if mgmt_ok; then echo ok; else echo FAILED; fi
	sleep 0.05
  done >"$T/mgmt.out" ) &
loop_pid=$!

# --- SIGHUP: a bad config (two errors) --------------------------------------
# The policy follows the gateway's addresses (an IPv6 address that finishes
# duplicate address detection after start installs a new generation): wait
# for the generation to hold still for 3 s before reading the one a bad
# config must not change.
settled=0 gen0=$(gen)
for i in $(seq 30); do
	sleep 1
	g=$(gen)
	if [ "$g" = "$gen0" ]; then settled=$((settled + 1)); else settled=0 gen0=$g; fi
	[ "$settled" -ge 3 ] && break
done
write_cfg "22, 2222" sometimes "bogus_key = 1"
kill -HUP "$run_pid"
wait_for 60 bash -c "[ \"\$(nsenter --net=/run/netns/$GW curl -sf http://127.0.0.1:$PORT/metrics |
	awk '/result=\"error\"/{print \$2}')\" = 1 ]"
check "ops_run: a bad config is counted: rempart_reload_total{result=\"error\"} 1" \
	test "$(metric 'rempart_reload_total{result="error"}')" = 1
check "ops_run: ...and not as a success" test "$(metric 'rempart_reload_total{result="success"}')" = 0
check "ops_run: the log names every error of the bad config (bogus_key and fail_mode)" \
	bash -c "grep -q 'bogus_key' '$T/run1.log' && grep -q 'fail_mode' '$T/run1.log'"
check "ops_run: the log says the running policy stays" grep -q 'running policy stays' "$T/run1.log"
if [ -n "$dp" ]; then
	check "ops_run: bad config: policy generation unchanged ($gen0 = $(gen))" test "$(gen)" = "$gen0"
	[ "$(gen)" = "$gen0" ] || grep -E 'generation|addresses|watch' "$T/run1.log" | sed 's/^/# /'
else
	fail "ops_run: bad config leaves the policy generation: $NODP"
fi

# --- SIGHUP: a good config ----------------------------------------------------
write_cfg "22, 2222"
kill -HUP "$run_pid"
check "ops_run: a good config is counted: rempart_reload_total{result=\"success\"} 1" \
	wait_for 60 bash -c "nsenter --net=/run/netns/$GW curl -sf http://127.0.0.1:$PORT/metrics |
		grep -qx 'rempart_reload_total{result=\"success\"} 1'"
check "ops_run: the reload is logged as a config change" grep -q 'config change: rempart.ini changed' "$T/run1.log"
check "ops_run: RELOADING=1 then READY=1 again" \
	bash -c "grep -q RELOADING=1 '$T/notify.log' && [ \$(grep -c READY=1 '$T/notify.log') -ge 3 ]"
if [ -n "$dp" ]; then
	check "ops_run: good config: a new policy generation ($gen0 -> $(gen))" test "$(gen)" -gt "$gen0"
else
	fail "ops_run: good config bumps the policy generation: $NODP"
fi

# --- apply while run is running: the daemon follows -----------------------------
write_cfg "22, 2223"
nsenter --net=/run/netns/"$GW" "$REMPART" -c "$T" apply >"$T/apply.out" 2>&1; rc=$?
check "ops_run: apply during run exits 0 and says the daemon reloads ($(head -1 "$T/apply.out"))" \
	bash -c "[ $rc = 0 ] && grep -q 'running daemon (pid $run_pid) reloads' '$T/apply.out'"
check "ops_run: ...and the daemon counts it: rempart_reload_total{result=\"success\"} 2" \
	wait_for 60 bash -c "nsenter --net=/run/netns/$GW curl -sf http://127.0.0.1:$PORT/metrics |
		grep -qx 'rempart_reload_total{result=\"success\"} 2'"
check "ops_run: the daemon logs a second reload (the one apply asked for)" \
	test "$(grep -c 'reload: applied' "$T/run1.log")" -ge 2

sleep 0.5
touch "$T/stop"; wait "$loop_pid"; loop_pid=
n_ok=$(grep -c '^ok' "$T/mgmt.out"); n_bad=$(grep -c FAILED "$T/mgmt.out")
if [ -n "$dp" ]; then
	check "ops_run: allowed traffic never dropped during the reloads ($n_ok connections ok, $n_bad failed)" \
		test "$n_bad" -eq 0 -a "$n_ok" -gt 10
else
	fail "ops_run: allowed traffic during the reloads: $NODP"
fi

# --- monitor --json shows the drops the probe causes --------------------------
if [ -n "$dp" ]; then
	nsenter --net=/run/netns/"$GW" "$REMPART" -c "$T" monitor --json \
		>"$T/events.json" 2>"$T/mon.err" &
	mon_pid=$!
	wait_for 60 grep -q '"src": *"198.51.100.2"' "$T/events.json"
	kill "$mon_pid"; wait "$mon_pid"; rc=$?; mon_pid=
	check "ops_run: monitor exits 0 on SIGTERM" test "$rc" -eq 0
	check "ops_run: monitor --json shows the probe's drops (src 198.51.100.2, verdict drop)" \
		bash -c "grep '198.51.100.2' '$T/events.json' | head -1 | python3 -c '
import json, sys; e = json.loads(sys.stdin.readline())
sys.exit(not (e[\"verdict\"] == \"drop\" and e[\"src\"] == \"198.51.100.2\" and e[\"reason\"]))'"
else
	fail "ops_run: monitor --json shows the drops: $NODP"
fi

# --- kill -9, then a new run adopts the pinned state without an open window ---
sleep 1
before=$(gateway_packets)
kill -9 "$run_pid"; wait "$run_pid" 2>/dev/null; run_pid=
secs1=$(( $(date +%s) - t_run1 + 2 ))
kill "$sock_pid"; wait "$sock_pid" 2>/dev/null; sock_pid=
if [ -n "$dp" ]; then
	check "ops_run: after kill -9 the pinned state is still there" test -e "$PIN/rp_state"
	check "ops_run: after kill -9 programs are still attached to the uplink" \
		bash -c "nsenter --net=/run/netns/$GW ip -d link show opu$$ 2>/dev/null | grep -q xdp"
	check "ops_run: with rempart dead, what the policy allowed still passes (management TCP/22)" mgmt_ok
fi
sleep 1
start_run "$T/run2.log"
check "ops_run: a new run after kill -9 is READY" grep -q READY=1 "$T/notify.log"
sleep 1
kill -INT "$ping_pid"; wait "$ping_pid" 2>/dev/null; ping_pid=	# SIGINT: ping prints its statistics
received=$(awk -F', ' '/packets transmitted/ { split($2, a, " "); print a[1] }' "$T/ping.out")
sent=$(awk '/packets transmitted/ { print $1 }' "$T/ping.out")
if [ -n "$dp" ]; then
	after=$(gateway_packets)
	check "ops_run: the new run adopted the counters ($before -> $after, not reset)" \
		test "${after:-0}" -gt "${before:-0}"
	check "ops_run: the probe of a forbidden path got 0 replies of ${sent:-0} through reloads, kill -9 and restart (got $received)" \
		test "${received:-1}" -eq 0 -a "${sent:-0}" -gt 20
	n_ev=$(grep -c 'event: .* drop ' "$T/run1.log"); n_sup=$(grep -c 'suppressed [0-9]* more events' "$T/run1.log")
	check "ops_run: drop events logged at most 5/s ($n_ev in ${secs1}s), the rest counted in at most one line a second ($n_sup)" \
		test "$n_ev" -gt 0 -a "$n_ev" -le $((5 * secs1)) -a "$n_sup" -gt 0 -a "$n_sup" -le "$secs1"
else
	fail "ops_run: kill -9 keeps the state and a new run adopts it: $NODP"
	fail "ops_run: no open window during kill -9 and restart: $NODP"
fi

# --- SIGTERM with fail_mode = closed -------------------------------------------
kill -TERM "$run_pid"; wait "$run_pid"; rc=$?; run_pid=
check "ops_run: SIGTERM: run exits 0" test "$rc" -eq 0
check "ops_run: SIGTERM: fail_mode = closed is honoured and logged" \
	grep -q 'fail_mode = closed: the programs stay attached' "$T/run2.log"
if [ -n "$dp" ]; then
	check "ops_run: fail_mode = closed: the pinned state stays after exit" test -e "$PIN/rp_state"
fi
check "ops_run: STOPPING=1 sent" grep -q STOPPING=1 "$T/notify.log"
[ "$T_FAILS" -eq 0 ]
