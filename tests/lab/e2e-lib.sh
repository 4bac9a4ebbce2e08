# e2e-lib.sh — sourced by tests/e2e/lab_*.sh: brings the lab up, gives the
# tests probes and counters, and tears everything down on exit (also on
# failure or Ctrl-C), then checks that nothing of the lab is left.
#   LAB_DEBUG=1: on failure keep the lab up and open a shell (when there is a
#   terminal); `make demo-down` removes it afterwards.
set -u
E2E_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$E2E_TOP/tests/lib.sh"
. "$E2E_TOP/tests/lab/lab.sh"
LAB_SH=$E2E_TOP/tests/lab/lab.sh
E2E=$(basename "$0" .sh)
E2E_UPLOG=$(mktemp /tmp/rempart-e2e-up.XXXXXX)
LAB_UP_RC=1
LAB_WHY=

lab_begin() {
	if [ "$(id -u)" != 0 ]; then skip "$E2E: needs root (network namespaces)"; exit 0; fi
	[ -x "$REMPART" ] || { fail "$E2E: no $REMPART (make first)"; exit 0; }
	lab_lock 900 || { fail "$E2E: the lab stayed in use by someone else for 15 min"; exit 0; }
	trap lab_end EXIT
	trap 'exit 130' INT TERM HUP
	"$LAB_SH" up >"$E2E_UPLOG" 2>&1
	LAB_UP_RC=$?
	if [ $LAB_UP_RC = 1 ]; then
		fail "$E2E: lab up: $(grep '^lab:' "$E2E_UPLOG" | tail -n 2 | tr '\n' ' ')"
		exit 0
	fi
	LAB_WHY=$(grep '^lab: ' "$E2E_UPLOG" | grep -v 'lab up\|tearing it down' | head -n 3 | sed 's/^lab: //' | paste -sd';')
	# the lab itself (not the product): namespaces and underlay are there
	check "$E2E: lab namespaces up" test -e /run/netns/rp-gw -a -e /run/netns/rp-site-a1 -a -e /run/netns/rp-svc
}

lab_end() {
	local pids p bad=0
	trap - EXIT INT TERM HUP
	if [ "$T_FAILS" -gt 0 ] && [ "${LAB_DEBUG:-0}" = 1 ]; then
		echo "LAB_DEBUG: $T_FAILS failure(s); the lab stays up (logs: $LAB_STATE/logs; lab up output: $E2E_UPLOG)"
		echo "LAB_DEBUG: tests/lab/lab.sh status | exec NS CMD | rempart ARGS; make demo-down when done"
		if [ -t 0 ] || [ -e /dev/tty ]; then
			(cd "$E2E_TOP" && PS1="lab-debug \\w# " bash --norc -i </dev/tty >/dev/tty 2>&1) || true
		fi
		return
	fi
	pids=$(cat "$LAB_STATE"/pids/* 2>/dev/null; for ns in $NAMESPACES; do ip netns pids "$ns" 2>/dev/null; done)
	"$LAB_SH" down >>"$E2E_UPLOG" 2>&1
	for p in $pids; do running "$p" && { bad=1; echo "# leftover process $p: $(ps -o args= -p "$p")"; }; done
	if "$LAB_SH" leftovers 2>/dev/null && [ $bad = 0 ]; then
		pass "$E2E: cleanup: no leftover namespace, process, mount or socket"
	else
		"$LAB_SH" leftovers 2>&1 | sed 's/^/# /'
		fail "$E2E: cleanup: something of the lab is left"
	fi
	rm -f "$E2E_UPLOG"
}

# need_rempart NAME: rempart runs and enforces (programs attached, tunnels up,
# sites handshaked); else FAIL NAME — a missing feature never passes.
need_rempart() {
	if [ "$LAB_UP_RC" = 0 ] && rempart_ready; then return 0; fi
	if ! alive rempart; then
		fail "$1: rempart run is not running (${LAB_WHY:-see logs})"
	else
		fail "$1: the lab is not fully up (${LAB_WHY:-see logs})"
	fi
	return 1
}

# --- counters (docs/policy.md: every verdict counted per tenant and reason) -------
# the reasons in rp_counters' order (bpf/rempart_abi.h RP_REASONS)
REASONS=$(sed -n 's/^	X(RP_R_[A-Z_]*, "\([a-z_]*\)").*/\1/p' "$E2E_TOP/bpf/rempart_abi.h" | tr '\n' ' ')
N_REASONS=$(echo $REASONS | wc -w)
reason_index() { local i=0 r; for r in $REASONS; do [ "$r" = "$1" ] && { echo $i; return 0; }; i=$((i + 1)); done; return 1; }
tenant_id() { [ "$1" = _gateway ] && { echo 0; return; }; tenant_get "$1" id; }
# counter TENANT REASON: packets, from `rempart status --json`, else straight
# from the pinned rp_counters map (the ABI); empty when neither answers
counter() {
	local n
	n=$(rp status --json 2>/dev/null | "$PY" -c '
import json, sys
t, r = sys.argv[1], sys.argv[2]
d = json.load(sys.stdin)
for x in d.get("tenants", []):
    if x.get("name") == t:
        print(x.get("counters", {}).get(r, {}).get("packets", 0)); sys.exit(0)
g = d.get("gateway_counters")
if t == "_gateway" and isinstance(g, dict):
    print(g.get(r, {}).get("packets", 0)); sys.exit(0)
sys.exit(1)' "$1" "$2" 2>/dev/null) && [ -n "$n" ] && { echo "$n"; return 0; }
	local key
	key=$(( $(tenant_id "$1") * N_REASONS + $(reason_index "$2") ))
	nsx rp-gw bpftool -j map lookup pinned "$RP_PIN/rp_counters" key $((key & 255)) $(((key >> 8) & 255)) $(((key >> 16) & 255)) $((key >> 24)) 2>/dev/null |
		"$PY" -c '
import json, sys
d = json.load(sys.stdin)
tot = 0
vals = d.get("values") or d.get("formatted", {}).get("values") or []
for v in vals:
    val = v.get("value")
    if isinstance(val, dict):
        tot += int(val.get("packets", 0))
    elif isinstance(val, list):
        tot += int.from_bytes(bytes(int(b, 16) if isinstance(b, str) else b for b in val[:8]), "little")
print(tot)' 2>/dev/null
}
RP_PIN=/sys/fs/bpf/rempart
# counter_grows NAME TENANT REASON CMD...: PASS when CMD makes the counter grow
counter_grows() {
	local name=$1 t=$2 r=$3 before after; shift 3
	before=$(counter "$t" "$r")
	"$@" >/dev/null 2>&1
	if [ -z "$before" ]; then fail "$name: counter $t/$r unreadable (status --json and rp_counters)"; return 1; fi
	wait_for 3 eval '[ "$(counter "$t" "$r")" -gt "$before" ] 2>/dev/null'
	after=$(counter "$t" "$r")
	if [ -n "$after" ] && [ "$after" -gt "$before" ]; then pass "$name: counted $t/$r ($before -> $after)"
	else fail "$name: counter $t/$r did not grow ($before -> ${after:-?})"; fi
}

# row FROM_NS WHAT TARGET PORT EXPECT TARGET_NS [SRC] -- DESCRIPTION: one
# PASS/FAIL line
row() {
	local from=$1 what=$2 target=$3 port=$4 expect=$5 tns=$6 src="" seen desc
	shift 6
	[ "${1:-}" != -- ] && { src=$1; shift; }
	[ "${1:-}" = -- ] && shift
	desc="$*"
	seen=$(probe "$from" "$what" "$target" "$port" "$tns" "$src")
	if [ "$seen" = "$expect" ]; then pass "$desc: $seen"
	else fail "$desc: expected $expect, saw $seen"; fi
}
lan() { # IFACE 4|6: a site's LAN address
	local a b; read -r a b <"$LAB_STATE/sites/$1.lan"; [ "$2" = 4 ] && echo "$a" || echo "$b"
}
# site_widen NS IFACE PREFIX...: a site that sends more into its tunnel than
# its printed config routes there (a misconfigured or malicious site): adds
# the prefixes to the peer's AllowedIPs and routes them into the tunnel, so
# that the packets reach the gateway and the gateway's verdict is tested.
site_widen() {
	local ns=$1 ifc=$2 peer cur p lan4 lan6; shift 2
	read -r lan4 lan6 <"$LAB_STATE/sites/$ifc.lan"
	peer=$(ip netns exec "$ns" wg show "$ifc" peers | head -n1)
	cur=$(ip netns exec "$ns" wg show "$ifc" allowed-ips | awk '{ $1 = ""; print }' | tr -s ' ' ',' | sed 's/^,//;s/,$//')
	ip netns exec "$ns" wg set "$ifc" peer "$peer" allowed-ips "$cur,$(IFS=,; echo "$*")"
	for p in "$@"; do
		if is_v6 "$p"; then ip -n "$ns" -6 route replace "$p" dev "$ifc" ${lan6:+src $lan6}
		else ip -n "$ns" route replace "$p" dev "$ifc" ${lan4:+src $lan4}; fi
	done
}

# --- attachments and streams (lab_restore, lab_down, lab_lock) -------------
# attached IFNAME...: what the kernel runs on each interface of the gateway
# (tests/lab/attached.py: rtnetlink, BPF_PROG_QUERY, tc; not rempart's pins)
attached() { nsx rp-gw "$PY" "$E2E_TOP/tests/lab/attached.py" "$@"; }
# prog_on IFNAME HOOK PROG: PROG runs at HOOK (xdp, tc_in or tc_out) of IFNAME
prog_on() { attached "$1" | grep -Eq " $2=([^ ]*,)?$3(,| |\$)"; }
# link_up IFNAME: the gateway's interface exists and is administratively up
link_up() { attached "$1" | grep -q "^$1 up "; }
ifindex_of() { attached "$1" | sed -n 's/.* ifindex=\([0-9]*\).*/\1/p'; }
# stream_start NAME FROM_NS HOST PORT SPORT [SRC]: a datagram every 5 ms
# (from SRC, spoofed, if given) until stream_stop NAME; arrivals NS SPORT
# PORT counts those NS's responder logged; sent NAME, those sent
stream_start() {
	rm -f "$LAB_STATE/stop-$1"
	start_bg "stream-$1" "$2" "$PY" "$LABNET" stream udp "$3" "$4" --sport "$5" --until "$LAB_STATE/stop-$1" ${6:+--src "$6"}
}
sent() { tail -n 1 "$LAB_STATE/logs/stream-$1.log" 2>/dev/null; }
stream_stop() { touch "$LAB_STATE/stop-$1"; wait_for 3 eval "! alive stream-$1"; }
arrivals() { grep -c "^udp [^ ]* $2 $3\$" "$LAB_STATE/logs/hits-$1.log" 2>/dev/null; }
