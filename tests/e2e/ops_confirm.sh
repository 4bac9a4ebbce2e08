#!/bin/bash
# ops_confirm: apply --confirm, confirm, and the rollback that happens by
# itself when no confirm comes (also when the applying process is gone, and
# when the timer itself died: `rempart run` re-arms it).
#
#   netns opcfN (private bpffs)                 netns opcpN (the operator)
#   opcfuN 198.51.100.1 (uplink) ═══ veth ═══ opcfpN 198.51.100.2
#     socat TCP-LISTEN:22 (management)  ◄─── nc 198.51.100.1 22
#   test_op_confirm apply CFG [SECONDS]  ─ the call sequence of confirm.h
#   rempart confirm --rollback-at …      ─ the detached timer (setsid)
# The last part is the case apply --confirm exists for: a config that
# cuts the operator's management path, which comes back by itself.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/e2e/ops_lib.sh
op_private_bpffs "$0" "$@"
APPLY=$BUILD/tests/unit/test_op_confirm
NS=opcf$$ PE=opcp$$
T=$(mktemp -d /tmp/op_confirm.XXXXXX)
S=$T/state
export REMPART

cleanup() {
	[ -n "${run_pid:-}" ] && kill "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
	for f in "$S"/confirm/timer.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	[ -n "${srv_pid:-}" ] && kill "$srv_pid" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	ip netns del "$PE" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
in_ns() { nsenter --net=/run/netns/"$NS" "$@"; }

ip netns add "$NS" && ip netns add "$PE" || { skip "ops_confirm: cannot create network namespaces"; exit 0; }
ip link add opcfu$$ netns "$NS" type veth peer name opcfp$$ netns "$PE"
ip -n "$NS" addr add 198.51.100.1/24 dev opcfu$$
ip -n "$PE" addr add 198.51.100.2/24 dev opcfp$$
ip -n "$NS" link set lo up
ip -n "$NS" link set opcfu$$ up
ip -n "$PE" link set opcfp$$ up
mkdir -p "$T/tenants.d"

# write_cfg PORT: a config whose management port tells the versions apart.
write_cfg() {
	cat >"$T/rempart.ini" <<EOF
[gateway]
name = op-gw
uplink = opcfu$$
tenants = tenants.d
state_dir = $S
fail_mode = closed

[geo]
ipv4 = /usr/share/tor/geoip
ipv6 = /usr/share/tor/geoip6
format = tor

[management]
allow_from = 192.0.2.0/24, 198.51.100.2/32
tcp_ports = $1

[metrics]
listen = 127.0.0.1:19544
EOF
}
mgmt_port() { awk -F' *= *' '/^tcp_ports/{print $2}' "$1"; }
timer_pid() { cat "$S/confirm/timer.pid" 2>/dev/null; }
pending() { [ -f "$S/confirm/token" ]; }
gen() { in_ns bpftool map lookup pinned /sys/fs/bpf/rempart/rp_state key 0 0 0 0 2>/dev/null |
	awk '/generation/{gsub(/[^0-9]/,"",$2); print $2}'; }

# --- rollback by itself --------------------------------------------------
write_cfg 22
if ! in_ns "$APPLY" apply "$T" 2>"$T/err"; then
	fail "ops_confirm: first apply failed: $(cat "$T/err")"; exit 1
fi
check "ops_confirm: a plain apply records the applied configuration" \
	test "$(mgmt_port "$S/applied/rempart.ini")" = 22
gen0=$(gen)
[ -n "$gen0" ] || fail "ops_confirm: the dataplane is missing: no policy generation in /sys/fs/bpf/rempart/rp_state after apply"
write_cfg 2222
in_ns "$APPLY" apply "$T" 2 2>"$T/err"
check "ops_confirm: apply --confirm 2 returns at once, with a rollback pending" pending
tp=$(timer_pid)
check "ops_confirm: the timer is detached: another session, parent init ($tp)" \
	bash -c "kill -0 ${tp:-0} && [ \"\$(ps -o sid= -p ${tp:-0})\" != \"\$(ps -o sid= -p $$)\" ] &&
		 [ \"\$(ps -o ppid= -p ${tp:-0} | tr -d ' ')\" != $$ ]"
check "ops_confirm: the new configuration is in place before the deadline" \
	test "$(mgmt_port "$T/rempart.ini")" = 2222
wait_for 40 bash -c "! test -f '$S/confirm/token'"
check "ops_confirm: no confirm: the rollback happened by itself" bash -c "! test -f '$S/confirm/token'"
check "ops_confirm: the previous configuration is back in place" \
	test "$(mgmt_port "$T/rempart.ini")" = 22
check "ops_confirm: the undone configuration is kept in state_dir/rejected" \
	test "$(mgmt_port "$S/rejected/rempart.ini")" = 2222
check "ops_confirm: the restored configuration is recorded as applied" \
	test "$(mgmt_port "$S/applied/rempart.ini")" = 22
check "ops_confirm: the timer is gone" wait_for 5 bash -c "! kill -0 ${tp:-0} 2>/dev/null"
if [ -n "$gen0" ]; then
	check "ops_confirm: the rollback re-applied the policy (generation $gen0 -> $(gen))" \
		test "$(gen)" -gt "$gen0"
else
	fail "ops_confirm: rollback re-applies the dataplane policy: the dataplane is missing (no policy generation)"
fi

# --- under systemd (INVOCATION_ID set): a transient timer unit ------------
# A stand-in systemd-run records its arguments and runs the command after
# `--` detached, as the transient service would.
cat >"$T/systemd-run" <<'EOF'
#!/bin/bash
printf '%s\n' "$@" >"$(dirname "$0")/systemd-run.args"
while [ "$#" -gt 0 ] && [ "$1" != -- ]; do shift; done
shift
setsid "$@" </dev/null >/dev/null 2>&1 &
EOF
chmod +x "$T/systemd-run"
write_cfg 2100
in_ns "$APPLY" apply "$T" 2>"$T/err"
write_cfg 2111
INVOCATION_ID=op-test RP_SYSTEMD_RUN=$T/systemd-run in_ns "$APPLY" apply "$T" 2 2>"$T/err"
check "ops_confirm: under systemd the timer is a transient unit (systemd-run --unit rempart-rollback-… --on-calendar @…)" \
	bash -c "grep -qx -- '--unit' '$T/systemd-run.args' && grep -q '^rempart-rollback-' '$T/systemd-run.args' &&
		 grep -qx -- '--on-calendar' '$T/systemd-run.args' && grep -qx '@[0-9]*' '$T/systemd-run.args' &&
		 grep -qx -- '--rollback-at' '$T/systemd-run.args'"
wait_for 40 bash -c "! test -f '$S/confirm/token'"
check "ops_confirm: ...and that timer rolls back by itself" test "$(mgmt_port "$T/rempart.ini")" = 2100

# --- confirm keeps it ----------------------------------------------------
write_cfg 2200
in_ns "$APPLY" apply "$T" 2 2>"$T/err"
tp=$(timer_pid)
check "ops_confirm: armed again" pending
in_ns "$REMPART" -c "$T" confirm 2>"$T/err"
check "ops_confirm: rempart confirm exits 0" test $? -eq 0
check "ops_confirm: confirm cancels the timer at once" \
	wait_for 2 bash -c "! kill -0 ${tp:-0} 2>/dev/null"
sleep 3
check "ops_confirm: confirmed configuration still in place after the deadline" \
	test "$(mgmt_port "$T/rempart.ini")" = 2200
check "ops_confirm: nothing pending after confirm" bash -c "! test -f '$S/confirm/token'"
in_ns "$REMPART" -c "$T" confirm 2>"$T/err"
rc=$?
check "ops_confirm: a second confirm exits 1 and says there is nothing to confirm" \
	bash -c "[ $rc -eq 1 ] && grep -q 'nothing to confirm' '$T/err'"

# --- the timer died (reboot): `rempart run` re-arms it, then reloads -----
write_cfg 2300
in_ns "$APPLY" apply "$T" 5 2>"$T/err"
tp=$(timer_pid)
kill -9 "$tp"
nsenter --net=/run/netns/"$NS" "$REMPART" -c "$T" run 2>"$T/run.err" &
run_pid=$!
if wait_for 40 in_ns curl -sf -o /dev/null http://127.0.0.1:19544/metrics; then
	check "ops_confirm: run re-armed the rollback whose timer was killed" \
		grep -q 'pending without its timer; re-armed' "$T/run.err"
	wait_for 40 bash -c "! test -f '$S/confirm/token'"
	check "ops_confirm: ...and the rollback happened at the deadline" \
		test "$(mgmt_port "$T/rempart.ini")" = 2200
	check "ops_confirm: the rollback made the running daemon reload" \
		wait_for 60 grep -q 'reload: applied' "$T/run.err"
else
	fail "ops_confirm: rempart run did not start: $(tail -3 "$T/run.err")"
fi
kill "$run_pid"; wait "$run_pid"; run_pid=

# --- rempart apply --confirm with a config that cuts management ----------
nsenter --net=/run/netns/"$NS" socat TCP-LISTEN:22,fork,reuseaddr SYSTEM:'echo ok' &
srv_pid=$!
mgmt_ok() { ip netns exec "$PE" nc -N -w 2 198.51.100.1 22 </dev/null 2>/dev/null | grep -qx ok; }
write_cfg 22
in_ns "$REMPART" -c "$T" apply >/dev/null 2>&1
if [ -n "$(gen)" ]; then
	dp=1
	check "ops_confirm: management TCP/22 works with the first config" wait_for 20 mgmt_ok
else
	dp=
	fail "ops_confirm: management through the dataplane: the dataplane is missing (no policy generation)"
fi
write_cfg 2500			# management on 2500 only: the operator on 22 is cut off
in_ns "$REMPART" -c "$T" apply --confirm 4 >"$T/out" 2>&1
if pending; then
	if [ -n "$dp" ]; then
		check "ops_confirm: apply --confirm 4 with a config that cuts management: cut" \
			bash -c "! ip netns exec $PE nc -N -w 1 198.51.100.1 22 </dev/null 2>/dev/null | grep -q ok"
	fi
	wait_for 40 bash -c "! test -f '$S/confirm/token'"
	check "ops_confirm: rempart apply --confirm rolls back by itself" \
		test "$(mgmt_port "$T/rempart.ini")" = 22
	if [ -n "$dp" ]; then
		check "ops_confirm: ...and the operator's management path is back" wait_for 20 mgmt_ok
	else
		fail "ops_confirm: management path cut and restored: the dataplane is missing (no policy generation)"
	fi
else
	fail "ops_confirm: rempart apply --confirm armed no rollback ($(cat "$T/out" | tr '\n' '|'))"
fi
[ "$T_FAILS" -eq 0 ]
