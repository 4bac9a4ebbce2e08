#!/bin/bash
# rempart against nftables and iptables + ipset, the same policy side by
# side, measured in one run (issue 9; BENCHMARKS.md says how to read it).
#
# For each scale (bench/gen/gen.py: small, medium, large) the policy is
# rendered by bench/translate/rp2fw (nft ruleset; ipset + iptables-legacy)
# and loaded, like `rempart apply`, into network namespaces of its own:
#   load_ms      time to load the policy from nothing (fresh namespace)
#   kmem_bytes   kernel memory charged to a child memory cgroup (v1
#                memory.kmem.usage_in_bytes) by the loading processes, still
#                held after they exit; slab_kb: /proc/meminfo Slab change
#                (system-wide: noisy on a shared machine)
#   change_ms    time to change one rule, to a new port range each time (nft:
#                one chain flushed and refilled in one transaction;
#                iptables-restore --noflush of one chain; rempart: `rempart
#                apply` of the edited config, which parses and compiles the
#                whole policy and writes what differs into the inactive slot)
#   rx_*         a UDP flood to the target tenant's listen port from random
#                sources of the geo database (blocked: countries outside its
#                site_countries; allowed: inside), sent from CPU 0
#                (bench/cmp_flood, AF_PACKET) over a veth whose receive side
#                runs in a threaded NAPI kthread pinned to CPU 1 (SCHED_FIFO,
#                so that the other helpers' work on CPU 1 does not preempt
#                it): ns_per_pkt = CPU time of that kthread / packets it
#                received; pps = packets received per second at full speed;
#                lossfree_pps = the highest paced rate with < 0.1 % loss
#   fwd_*        allowed site-to-cloud UDP forwarded by the gateway namespace,
#                written into the tenant's tunnel interface wg-t001 (a tun:
#                rempart's own, or one made here for the others) the way
#                wireguard-go hands over what it decrypted, and forwarded out
#                its cloud interface: the writer (bench/cmp_flood --tun, CPU 1,
#                SCHED_FIFO) runs the whole receive-and-forward path in its own
#                context, so ns_per_pkt = its CPU time / packets written;
#                pps = packets written per second
# Every figure is the median of CMP_ROUNDS rounds (min and max beside it);
# the rempart lines carry nftables' median as baseline and ratio = how many
# times better rempart is (nft/rempart for times, bytes and ns;
# rempart/nft for rates).
#
# Environment: BENCH_QUICK=1 (small and medium, one round, 1 s floods),
# CMP_SCALES="small medium large", CMP_ROUNDS (3), CMP_FLOOD_S (3),
# CMP_FILTERS="none nft ipt rempart" (rempart's ratios need nft in the run),
# CMP_PRE_FLOOD (a command eval'ed in the loaded namespace before the floods),
# CMP_KINDS="blocked allowed fwd" (which floods),
# CMP_KEEP=1 keeps the work directory.  Needs root, nft, ipset,
# iptables-legacy, ethtool; only namespaces named cmp* that it creates.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
REMPART=${REMPART:-$BUILD/rempart}
RP2FW=$BUILD/bench/rp2fw
FLOOD=$BUILD/bench/cmp_flood
if [ -n "${BENCH_QUICK:-}" ]; then
	SCALES=${CMP_SCALES:-small medium}; ROUNDS=${CMP_ROUNDS:-1}; FLOOD_S=${CMP_FLOOD_S:-1}
else
	SCALES=${CMP_SCALES:-small medium large}; ROUNDS=${CMP_ROUNDS:-3}; FLOOD_S=${CMP_FLOOD_S:-3}
fi

FILTERS=${CMP_FILTERS:-none nft ipt rempart}
log() { echo "bench_compare: $(date -u +%T) $*" >&2; }
if [ "$(id -u)" != 0 ]; then log "needs root (namespaces, nftables, BPF)"; exit 0; fi
for t in nft ipset iptables-legacy-restore ip6tables-legacy-restore ethtool nsenter unshare taskset chrt; do
	command -v $t >/dev/null || { log "$t missing (make deps)"; exit 0; }
done
for b in "$RP2FW" "$FLOOD" "$REMPART"; do
	[ -x "$b" ] || { log "$b missing: make bench-bins"; exit 1; }
done
if [ "$(nproc)" -lt 2 ]; then log "needs 2 CPUs (sender on 0, receive on 1)"; exit 0; fi

W=$(mktemp -d /tmp/cmp-bench.XXXXXX)
CG=/sys/fs/cgroup/memory/cmp-bench-$$
NSES=""
cleanup() {
	local ns p
	for ns in $NSES; do
		if [ -e "$W/mnt/$ns" ]; then
			nsenter --net=/run/netns/$ns --mount="$W/mnt/$ns" "$REMPART" -c "$W/cur" down >/dev/null 2>&1
		fi
		for p in $(ip netns pids $ns 2>/dev/null); do kill "$p" 2>/dev/null; done
		ip netns del $ns 2>/dev/null
		[ -e "$W/mnt/$ns" ] && umount "$W/mnt/$ns" 2>/dev/null
	done
	umount "$W/mnt" 2>/dev/null
	for d in "$CG"/r*; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
	rmdir "$CG" 2>/dev/null
	if [ -n "${CMP_KEEP:-}" ]; then log "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$W/mnt" && mount --bind "$W/mnt" "$W/mnt" && mount --make-private "$W/mnt" || exit 1
HAVE_MEMCG=0
if mkdir -p "$CG" 2>/dev/null && [ -e "$CG/memory.kmem.usage_in_bytes" ]; then HAVE_MEMCG=1; fi

# ---- output --------------------------------------------------------------
# emit METRIC UNIT "v1 v2 ..." [BASELINE_VALUES] [lower|higher] [NOTE]
emit() {
	python3 - "$@" <<'PY'
import json, statistics, sys
a = sys.argv[1:] + [''] * 6
metric, unit, vals, base, better, note = a[:6]
def nums(s):
    return [float(x) for x in s.split() if x not in ('', 'null')]
v = nums(vals)
o = {"bench": "compare", "metric": metric, "unit": unit, "rounds": len(v)}
def r(x):
    return round(x, 3) if isinstance(x, float) and x != int(x) else int(x)
if v:
    o.update(value=r(statistics.median(v)), min=r(min(v)), max=r(max(v)))
else:
    o.update(value=None, min=None, max=None)
b = nums(base)
if b:
    o["baseline"] = r(statistics.median(b))
    if v and o["value"]:
        m = statistics.median(v); bm = statistics.median(b)
        o["ratio"] = round(bm / m if better != 'higher' else m / bm, 3) if bm > 0 and m > 0 else None
if note:
    o["note"] = note
print(json.dumps(o))
PY
}
median() { python3 -c 'import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(statistics.median(v) if v else "")' "$@"; }
now_ns() { date +%s%N; }
ms_since() { echo $(( ($(now_ns) - $1) / 1000 )) | awk '{printf "%.1f", $1/1000}'; }
slab_kb() { awk '/^Slab:/{print $2}' /proc/meminfo; }

# ---- namespaces ----------------------------------------------------------
# mkns NAME: a namespace with lo up, forwarding on, no rp_filter
mkns() {
	ip netns add "$1" || return 1
	NSES="$NSES $1"
	ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}
delns() {
	local p
	if [ -e "$W/mnt/$1" ]; then
		nsenter --net=/run/netns/$1 --mount="$W/mnt/$1" "$REMPART" -c "$W/cur" down >/dev/null 2>&1
	fi
	for p in $(ip netns pids "$1" 2>/dev/null); do kill "$p" 2>/dev/null; done
	ip netns del "$1" 2>/dev/null
	if [ -e "$W/mnt/$1" ]; then umount "$W/mnt/$1" 2>/dev/null; rm -f "$W/mnt/$1"; fi
	NSES=$(echo "$NSES" | sed "s/ $1\b//")
}
# gateway interfaces the policy names: the uplink and every cloud interface
# (veths whose peers stay in the namespace, down); rempart makes the tunnels
gw_ifaces() {
	local ns=$1 cfg=$2 t
	ip link add cmpup netns "$ns" type veth peer name cmpupx netns "$ns" 2>/dev/null || true
	ip -n "$ns" link set cmpup up
	ip -n "$ns" addr add 192.0.2.1/24 dev cmpup 2>/dev/null
	ip -n "$ns" addr add 2001:db8::1/64 dev cmpup nodad 2>/dev/null
	for t in $(ls "$cfg/tenants.d" | sed 's/\.ini$//'); do
		ip -n "$ns" link show cl-$t >/dev/null 2>&1 && continue
		ip link add cl-$t netns "$ns" type veth peer name cx-$t netns "$ns" || return 1
		ip -n "$ns" link set cl-$t up
	done
}
# a private mount namespace (its bpffs holds rempart's pins, /run/wireguard)
rp_mntns() {
	local ns=$1
	touch "$W/mnt/$ns"
	nsenter --net=/run/netns/$ns unshare --mount="$W/mnt/$ns" --propagation private sh -c \
		'mount -t sysfs sysfs /sys && mount -t bpf bpf /sys/fs/bpf && mkdir -p /run/wireguard && mount -t tmpfs -o mode=0700 tmpfs /run/wireguard'
}
rp_exec() { local ns=$1; shift; nsenter --net=/run/netns/$ns --mount="$W/mnt/$ns" "$@"; }

# settle NS: wait (at most 180 s) until the kernel has finished tearing down
# the namespaces deleted before: their cleanup holds the RTNL lock for long
# (a large nft ruleset takes a minute to free), which would stall the next
# load and wireguard-go's start.  Probe: a veth pair made and deleted in NS
# within 100 ms.
settle() {
	local ns=$1 i t0
	for i in $(seq 180); do
		t0=$(now_ns)
		ip -n "$ns" link add cmpq0 type veth peer name cmpq1 2>/dev/null
		ip -n "$ns" link del cmpq0 2>/dev/null
		[ $(( ($(now_ns) - t0) / 1000000 )) -lt 100 ] && return 0
		sleep 1
	done
	log "the kernel is still busy after 180 s; measuring anyway"
}

# in_cg NAME CMD...: run CMD in a fresh child memory cgroup NAME
in_cg() {
	local name=$1; shift
	if [ $HAVE_MEMCG = 1 ]; then
		mkdir -p "$CG/$name"
		( echo $BASHPID > "$CG/$name/cgroup.procs" && "$@" )
	else
		"$@"
	fi
}
cg_kmem() { [ $HAVE_MEMCG = 1 ] && cat "$CG/$1/memory.kmem.usage_in_bytes" || echo null; }
cg_drop() {
	[ $HAVE_MEMCG = 1 ] || return 0
	[ -d "$CG/$1" ] || return 0
	echo 0 2>/dev/null > "$CG/$1/memory.force_empty"
	rmdir "$CG/$1" 2>/dev/null
}

# ---- loaders: load_FILTER NS (policy files in $W/$SCALE) -------------------
load_nft() { ip netns exec "$1" nft -f "$P/ruleset.nft"; }
load_ipt() {
	ip netns exec "$1" ipset restore < "$P/ipt/ipset.restore" &&
	ip netns exec "$1" iptables-legacy-restore < "$P/ipt/iptables.rules" &&
	ip netns exec "$1" ip6tables-legacy-restore < "$P/ipt/ip6tables.rules"
}
# RP_NET_PROFILE: net_apply's stages on stderr ("net: STAGE MS ms"): their
# sum is the tunnels' part of the apply (links, addresses, routes, rules,
# wireguard-go processes and peers, NAT table); the rest is the policy's
# (config, geo database, BPF programs and maps)
load_rempart() { RP_NET_PROFILE=1 rp_exec "$1" "$REMPART" -c "$W/cur" apply >"$W/apply.log" 2>&1; }
net_ms() { awk '$1 == "net:" {s += $3} END {printf "%.1f", s}' "$W/apply.log"; }
load_none() { :; }
change_nft() { ip netns exec "$1" nft -f "$P/change$2.nft"; }
change_ipt() {
	ip netns exec "$1" iptables-legacy-restore --noflush < "$P/change$2/iptables.tenant" &&
	ip netns exec "$1" ip6tables-legacy-restore --noflush < "$P/change$2/ip6tables.tenant"
}
change_rempart() { cp "$P/cfg$2/tenants.d/t001.ini" "$W/cur/tenants.d/t001.ini" && load_rempart "$1"; }

# load_round FILTER NS [keep]: one load in namespace NS (fresh, interfaces
# made): prints "ms kmem slab_kb kmem_without_tunnels tunnels_ms"; keep: leave
# rempart's tunnels running (no kmem_without_tunnels)
load_round() {
	local f=$1 ns=$2 t0 ms s0 s1 k rc
	settle "$ns"
	s0=$(slab_kb)
	t0=$(now_ns)
	in_cg "r$ns" load_$f "$ns"; rc=$?
	ms=$(ms_since $t0)
	s1=$(slab_kb)
	k=$(cg_kmem "r$ns")
	KB_AFTER_TUNNELS=null
	local tn=null
	[ $f = rempart ] && [ $rc = 0 ] && tn=$(net_ms)
	if [ $rc = 0 ] && [ $f = rempart ] && [ $HAVE_MEMCG = 1 ] && [ "${3:-}" != keep ]; then
		# what stays once the tunnels' wireguard-go processes are gone:
		# the BPF programs, maps and links (pinned)
		local p i
		for p in $(ip netns pids "$ns"); do kill "$p" 2>/dev/null; done
		for i in $(seq 50); do [ -z "$(ip netns pids "$ns")" ] && break; sleep 0.1; done
		sleep 0.5
		KB_AFTER_TUNNELS=$(cg_kmem "r$ns")
	fi
	if [ $rc != 0 ]; then
		log "$SCALE: $f: load failed (rc $rc)"
		[ -s "$W/apply.log" ] && [ $f = rempart ] && head -5 "$W/apply.log" >&2
		echo "fail"
		return 1
	fi
	echo "$ms $k $((s1 - s0)) $KB_AFTER_TUNNELS $tn"
}

# ---- floods --------------------------------------------------------------
# The gateway namespace cmpG: uplink cmpup <-> cmpS:cmps0 (sender), tunnel
# side the tun wg-t001 (rempart's, its wireguard-go stopped; or tunnel_tun's),
# cloud cl-t001 <-> cmpC:cmpc0.
napi_setup() {	# NS DEV: threaded NAPI on DEV, its kthread on CPU 1, SCHED_FIFO
	local ns=$1 dev=$2 pid i
	ip netns exec "$ns" ethtool -K "$dev" gro on >/dev/null 2>&1
	ip netns exec "$ns" sh -c "echo 1 > /sys/class/net/$dev/threaded" || return 1
	for i in $(seq 50); do
		pid=$(ps -eo pid,comm | awk -v d="napi/$dev-" 'index($2, d) == 1 {print $1}' | tail -1)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ] || { log "no napi kthread for $dev"; return 1; }
	taskset -pc 1 "$pid" >/dev/null && chrt -f -p 50 "$pid" || return 1
	echo "$pid"
}
stat1() { ip netns exec "$1" cat /sys/class/net/$2/statistics/$3; }
# datagrams that reached UDP (delivered to a socket, no port, or errors)
noports() { ip netns exec "$1" awk '/^Udp:/ {if (h) print $2 + $3 + $4; h = 1}' /proc/net/snmp; }
cpu1() { awk '/^cpu1 /{printf "%.0f\n", ($2+$3+$4+$7+$8) * 10000000}' /proc/stat; }

# flood KIND RATE: one flood; prints "sent processed loss_pct ns_per_pkt cpu1_ns_per_pkt pps delivered_pct"
flood() {
	local kind=$1 rate=$2 args snd sdev rns rdev cnt pid r0 d0 n0 c0 s0 o0 r1 d1 n1 c1 s1 o1 out sent secs proc
	case $kind in
	blocked|allowed)
		snd=cmpS; sdev=cmps0; rns=cmpG; rdev=cmpup; pid=$NAPI_UP
		args="-s $P/src-$kind -d 192.0.2.1 -p $TARGET_PORT" ;;
	fwd)	flood_tun "$rate"; return ;;
	esac
	local mac; mac=$(ip netns exec $rns cat /sys/class/net/$rdev/address)
	r0=$(stat1 $rns $rdev rx_packets); d0=$(stat1 $snd $sdev tx_dropped)
	n0=$(noports $rns); o0=$(stat1 $rns cl-t001 tx_packets)
	c0=$(cpu1); s0=$(awk '{print $1}' /proc/$pid/schedstat)
	out=$(ip netns exec $snd taskset -c 0 "$FLOOD" -i $sdev --dmac $mac $args -t "$FLOOD_S" -r "$rate") || return 1
	c1=$(cpu1); s1=$(awk '{print $1}' /proc/$pid/schedstat)
	sleep 0.2
	r1=$(stat1 $rns $rdev rx_packets); d1=$(stat1 $snd $sdev tx_dropped)
	n1=$(noports $rns); o1=$(stat1 $rns cl-t001 tx_packets)
	sent=$(echo "$out" | awk '{print $2}'); secs=$(echo "$out" | awk '{print $4}')
	# veth: rx_packets counts what the receive side took in; frames the
	# full ring refused are the sender's tx_dropped
	proc=$((r1 - r0))
	[ $proc -gt 0 ] || proc=1
	python3 -c '
import sys
sent, proc, drop, secs, napi, cpu, deliv, fwd, kind = sys.argv[1:]
sent, proc, drop, napi, cpu, deliv, fwd = map(int, (sent, proc, drop, napi, cpu, deliv, fwd))
secs = float(secs)
d = fwd if kind == "fwd" else deliv
# the sender retries a frame the full ring refused: loss = refused / offered
print(sent, proc, "%.3f" % (100.0 * drop / max(sent + drop, 1)), "%.0f" % (napi / proc),
      "%.0f" % (cpu / proc), "%.0f" % (proc / secs), "%.1f" % (100.0 * d / proc))
' "$sent" "$proc" $((d1 - d0)) "$secs" $((s1 - s0)) $((c1 - c0)) $((n1 - n0)) $((o1 - o0)) $kind
}

# flood_tun RATE: the forwarded flow written into wg-t001 from CPU 1; prints
# the same fields as flood (loss: none, a write() does not fail on a full
# queue; CPU 1 busy is the writer's whole CPU time per packet too)
flood_tun() {
	local rate=$1 out o0 o1 r0 r1
	# forwarded = transmitted on cl-t001, or dropped there by veth because
	# the cloud host's ring was full (that host is not what is measured)
	o0=$(( $(stat1 cmpG cl-t001 tx_packets) + $(stat1 cmpG cl-t001 tx_dropped) ))
	r0=$(stat1 cmpG wg-t001 rx_packets)
	out=$(ip netns exec cmpG taskset -c 1 chrt -f 50 "$FLOOD" --tun wg-t001 \
		--src-net $FWD_SRC --dst-net $FWD_DST -p 5000-5999 -t "$FLOOD_S" -r "$rate") || return 1
	sleep 0.2
	o1=$(( $(stat1 cmpG cl-t001 tx_packets) + $(stat1 cmpG cl-t001 tx_dropped) ))
	r1=$(stat1 cmpG wg-t001 rx_packets)
	set -- $out
	python3 -c '
import sys
sent, secs, cpu, rx, fwd = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
sent = max(sent, 1)
print(sent, rx, "0.000", "%.0f" % (cpu / sent), "%.0f" % (cpu / sent), "%.0f" % (sent / secs),
      "%.1f" % (100.0 * fwd / sent))
' "$2" "$4" "$8" $((r1 - r0)) $((o1 - o0))
}

# flood_set FILTER: every flood measure of one filter loaded in cmpG
flood_set() {
	local f=$1 kind i res nsp cpu pps loss dlv rate ok hi lo
	for kind in ${CMP_KINDS:-blocked allowed fwd}; do
		nsp=""; cpu=""; pps=""; loss=""; dlv=""
		for i in $(seq $ROUNDS); do
			res=$(flood $kind 0) || { log "$SCALE: $f: $kind flood failed"; continue; }
			set -- $res
			nsp="$nsp $4"; cpu="$cpu $5"; pps="$pps $6"; loss="$loss $3"; dlv="$dlv $7"
		done
		eval "NSP_${kind}_$f='$nsp'; PPS_${kind}_$f='$pps'"
		local bn="" bp="" note
		if [ $f = rempart ]; then eval "bn=\$NSP_${kind}_nft; bp=\$PPS_${kind}_nft"; fi
		if [ $kind = fwd ]; then
			note="written into the tun wg-t001 from CPU 1; forwarded out the cloud interface $(median $dlv)% of those written; ns_per_pkt = the writer's CPU time (write() + the kernel's receive, filter and forward) per packet"
		else
			note="loss at full speed $(median $loss)%; reached UDP $(median $dlv)% of those received; CPU 1 busy per packet $(median $cpu) ns (system-wide, other work included)"
		fi
		emit "${SCALE}_${kind}_ns_per_pkt_$f" ns/packet "$nsp" "$bn" lower "$note"
		emit "${SCALE}_${kind}_pps_$f" packets/s "$pps" "$bp" higher \
			"$([ $kind = fwd ] && echo 'written into the tunnel interface and taken in per second by one core' || echo 'processed by the receive core at full sender speed')"
		# the highest paced rate absorbed without loss (< 0.1 %): down from the
		# full-speed rate by 20 % steps, at most 8 tries of 1 s
		if [ $kind = blocked ]; then
			rate=$(median $pps | awk '{printf "%d", $1}'); ok=""
			local saved=$FLOOD_S; FLOOD_S=1
			for i in 1 2 3 4 5 6 7 8; do
				res=$(flood blocked "$rate") || break
				set -- $res
				if awk -v l="$3" 'BEGIN{exit !(l < 0.1)}'; then ok=$6; break; fi
				rate=$(awk -v r="$rate" 'BEGIN{printf "%d", r * 0.8}')
			done
			FLOOD_S=$saved
			eval "LF_$f='$ok'"
			bp=""; [ $f = rempart ] && bp=${LF_nft:-}
			emit "${SCALE}_blocked_lossfree_pps_$f" packets/s "$ok" "$bp" higher \
				"highest paced rate with < 0.1% loss (20% steps down from the full-speed rate, 8 at most; null: none)"
		fi
	done
}

topology() {	# the flood namespaces around cmpG (cmpG exists, interfaces made)
	mkns cmpS && mkns cmpC || return 1
	ip link add cmps0 netns cmpS type veth peer name cmpupy netns cmpS || return 1
	# the uplink: move the test peer in place of gw_ifaces' placeholder peer
	ip -n cmpG link del cmpup 2>/dev/null
	ip -n cmpS link del cmps0
	ip link add cmpup netns cmpG type veth peer name cmps0 netns cmpS || return 1
	ip -n cmpG link set cmpup up
	ip -n cmpG addr add 192.0.2.1/24 dev cmpup
	ip -n cmpG addr add 2001:db8::1/64 dev cmpup nodad
	ip -n cmpS link set cmps0 up
	ip netns exec cmpS ethtool -K cmps0 tso off gso off >/dev/null 2>&1
	# a default route on the uplink, as a gateway has (the kernel's source
	# validation and the ICMP errors for the allowed flood look the random
	# sources up; without it every lookup falls through every policy rule)
	ip -n cmpG neigh add 192.0.2.2 lladdr "$(ip netns exec cmpS cat /sys/class/net/cmps0/address)" \
		dev cmpup nud permanent
	ip -n cmpG route add default via 192.0.2.2 dev cmpup
	# the cloud side of t001: cl-t001 <-> cmpc0, frames to a MAC nobody has
	ip -n cmpG link del cl-t001 2>/dev/null
	ip link add cl-t001 netns cmpG type veth peer name cmpc0 netns cmpC || return 1
	ip -n cmpG link set cl-t001 up; ip -n cmpC link set cmpc0 up
	ip -n cmpG addr add 10.1.0.1/24 dev cl-t001
	# the cloud prefixes are on-link (as rempart routes them in the tenant's
	# table): permanent neighbours for every forwarded destination
	local a
	for a in $(seq 0 255); do
		echo "neigh replace 10.1.200.$a lladdr 02:00:00:00:00:99 dev cl-t001 nud permanent"
	done | ip -n cmpG -batch - || return 1
	ip -n cmpG route add 10.1.0.0/16 dev cl-t001
	ip netns exec cmpG ethtool -K cl-t001 tso off gso off >/dev/null 2>&1
	# the cloud host's receive (frames to a MAC nobody has: dropped at
	# once) runs in its own NAPI kthread on CPU 0, not in the forwarder's
	# context on CPU 1
	ip netns exec cmpC ethtool -K cmpc0 gro on >/dev/null 2>&1
	ip netns exec cmpC sh -c 'echo 1 > /sys/class/net/cmpc0/threaded' || return 1
	local pid i
	for i in $(seq 50); do
		pid=$(ps -eo pid,comm | awk 'index($2, "napi/cmpc0-") == 1 {print $1}' | tail -1)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ] && taskset -pc 0 "$pid" >/dev/null
}
tunnel_tun() {	# nft/iptables/none: a tun named like rempart's tunnel (persistent, as rempart makes it)
	ip -n cmpG tuntap add dev wg-t001 mode tun || return 1
	ip -n cmpG link set wg-t001 up
	ip -n cmpG route add 10.128.0.0/24 dev wg-t001
}

# ---- one scale -----------------------------------------------------------
run_scale() {
	SCALE=$1
	P=$W/$SCALE
	mkdir -p "$P/ipt"
	log "$SCALE: generating"
	python3 "$TOP/bench/gen/gen.py" "$SCALE" "$P/cfg0" --rempart "$REMPART" 2>/dev/null || return 1
	. "$P/cfg0/bench.env"
	"$RP2FW" nft "$P/cfg0" > "$P/ruleset.nft" || return 1
	"$RP2FW" ipt "$P/cfg0" "$P/ipt" || return 1
	# change I (1..2 x rounds): the rule's range ends at 5999 + I, so that
	# no change goes back to a policy the filter had before (rempart keeps
	# the previous policy in its inactive slot: going back would be free)
	for i in $(seq $((ROUNDS * 2))); do
		rm -rf "$P/cfg$i"; cp -a "$P/cfg0" "$P/cfg$i"; mkdir -p "$P/change$i"
		sed -i "s/^ports = 5000-5999\$/ports = 5000-$((5999 + i))/" "$P/cfg$i/tenants.d/t001.ini"
		grep -q "^ports = 5000-$((5999 + i))\$" "$P/cfg$i/tenants.d/t001.ini" ||
			{ log "$SCALE: no rule fwd to change"; return 1; }
		"$RP2FW" nft-tenant "$P/cfg$i" t001 > "$P/change$i.nft" || return 1
		"$RP2FW" ipt-tenant "$P/cfg$i" t001 "$P/change$i" || return 1
	done
	"$RP2FW" sources "$P/cfg0" t001 blocked 65536 1 > "$P/src-blocked" || return 1
	"$RP2FW" sources "$P/cfg0" t001 allowed 65536 2 > "$P/src-allowed" || return 1
	rm -rf "$W/cur"; cp -a "$P/cfg0" "$W/cur"
	emit "${SCALE}_policy" items "$TENANTS" "" "" "$TENANTS tenants x $SITES sites, $RULES rules; nft ruleset $(wc -c < "$P/ruleset.nft") bytes, ipset restore $(grep -c '^add ' "$P/ipt/ipset.restore") entries"

	local f r res d bm bk bs note
	for f in none nft ipt rempart; do
		eval "MS_$f=''; KM_$f=''; SL_$f=''; KB_$f=''; TN_$f=''; CM_$f=''; LF_$f=''"
		for kind in blocked allowed fwd; do eval "NSP_${kind}_$f=''; PPS_${kind}_$f=''"; done
	done
	# round 1 of each load is the load into the packet tests' namespace
	for f in $FILTERS; do
		rm -rf "$W/cur"; cp -a "$P/cfg0" "$W/cur"
		mkns cmpG || return 1
		gw_ifaces cmpG "$P/cfg0" || return 1
		topology || return 1
		[ $f = rempart ] && { rp_mntns cmpG || return 1; }
		[ $f != rempart ] && { tunnel_tun || return 1; }
		log "$SCALE: $f: load (round 1) and packet tests"
		if [ $f = none ]; then
			:
		elif res=$(load_round $f cmpG keep) && [ "$res" != fail ]; then
			set -- $res
			eval "MS_$f=\"\$MS_$f $1\"; KM_$f=\"\$KM_$f $2\"; SL_$f=\"\$SL_$f $3\"; KB_$f=\"\$KB_$f $4\"; TN_$f=\"\$TN_$f $5\""
		else
			for d in cmpG cmpS cmpC; do delns $d; done
			continue
		fi
		# the one-rule change first, while rempart's tunnels are up
		if [ $f != none ]; then
			local cm="" t0 i
			for i in $(seq $((ROUNDS * 2))); do
				t0=$(now_ns)
				change_$f cmpG $i >/dev/null 2>&1 || { log "$SCALE: $f: change failed"; cm=""; break; }
				cm="$cm $(ms_since $t0)"
			done
			eval "CM_$f='$cm'"
			local bc=""; [ $f = rempart ] && bc=$CM_nft
			emit "${SCALE}_change_ms_$f" ms "$cm" "$bc" lower \
				"one rule's ports changed, a new range each time; nft: one chain flushed and refilled in one transaction; iptables: iptables-restore --noflush of that chain (v4 + v6); rempart: rempart apply of the whole edited config (parse, geo, compile, swap)"
		fi
		if [ $f = rempart ]; then
			# the tunnels' wireguard-go would take the allowed flood (nft and
			# iptables have no listener): stop them, the uplink XDP stays
			for p in $(ip netns pids cmpG); do kill "$p" 2>/dev/null; done
			sleep 0.5
		fi
		# after the load: attaching XDP may remake the veth's NAPI
		NAPI_UP=$(napi_setup cmpG cmpup) || return 1
		# CMP_PRE_FLOOD: a command run (eval) before the floods, e.g. to try
		# a change by hand: CMP_PRE_FLOOD='ip netns exec cmpG nft list ruleset'
		[ -n "${CMP_PRE_FLOOD:-}" ] && eval "$CMP_PRE_FLOOD" >&2
		flood_set $f
		for d in cmpG cmpS cmpC; do delns $d; done
		cg_drop rcmpG
	done

	# rounds 2.. of the loads, each in a fresh namespace
	for f in $FILTERS; do
		[ $f = none ] && continue
		for r in $(seq 2 $ROUNDS); do
			rm -rf "$W/cur"; cp -a "$P/cfg0" "$W/cur"
			mkns cmpL || return 1
			gw_ifaces cmpL "$P/cfg0" || return 1
			[ $f = rempart ] && { rp_mntns cmpL || return 1; }
			log "$SCALE: $f: load round $r"
			res=$(load_round $f cmpL)
			delns cmpL
			cg_drop rcmpL
			[ "$res" = fail ] && break
			set -- $res
			eval "MS_$f=\"\$MS_$f $1\"; KM_$f=\"\$KM_$f $2\"; SL_$f=\"\$SL_$f $3\"; KB_$f=\"\$KB_$f $4\"; TN_$f=\"\$TN_$f $5\""
		done
		bm=""; bk=""; bs=""; note=""
		if [ $f = rempart ]; then
			bm=$MS_nft; bk=$KM_nft; bs=$SL_nft
			note="rempart apply also creates the $TENANTS WireGuard interfaces (wireguard-go), addresses and routes; nft/iptables load rules only"
		fi
		eval "ms=\$MS_$f; km=\$KM_$f; sl=\$SL_$f; kb=\$KB_$f"
		[ -z "$ms" ] && note="load failed${note:+; $note}"
		emit "${SCALE}_load_ms_$f" ms "$ms" "$bm" lower "$note"
		if [ $f = rempart ]; then
			local tn pol="" a b
			eval "tn=\$TN_$f"
			set -- $tn
			for a in $ms; do b=${1:-null}; shift; [ "$b" != null ] && pol="$pol $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.1f", a - b}')"; done
			emit "${SCALE}_load_policy_ms_rempart" ms "$pol" "$bm" lower \
				"rempart apply less its tunnels' part (net_apply's stages, RP_NET_PROFILE): config, geo database, BPF programs and maps, what nft -f loads"
			emit "${SCALE}_load_tunnels_ms_rempart" ms "$tn" "" lower \
				"net_apply's part of rempart apply: $TENANTS tunnels (links, addresses, routes, rules, wireguard-go started in parallel, peers) and the NAT table"
		fi
		emit "${SCALE}_kmem_bytes_$f" bytes "$km" "$bk" lower "kernel memory charged to the loader's memory cgroup (v1 memory.kmem.usage_in_bytes), held after it exits"
		emit "${SCALE}_slab_kb_$f" kB "$sl" "$bs" lower "/proc/meminfo Slab change around the load (system-wide; other work on the machine included)"
		[ $f = rempart ] && emit "${SCALE}_kmem_bpf_bytes_rempart" bytes "$kb" "$KM_nft" lower \
			"the same cgroup once the wireguard-go processes of the tunnels are gone: BPF maps, programs and links"
	done
}

for s in $SCALES; do
	start=$(date +%s)
	run_scale $s || log "$s: failed"
	log "$s: $(( $(date +%s) - start )) s"
done
exit 0
