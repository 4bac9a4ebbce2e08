#!/bin/bash
# lab_upgrade.sh — an upgrade takes over a running gateway without `down`
# (docs/operations.md "Upgrading"; docs/dataplane.md "Loader").  An older
# rempart is built from this repository's history, brings the lab up, and
# is then replaced by this build under traffic: first by `rempart apply`
# (the old daemon stopped, fail_mode = closed keeps its programs), then,
# after going back to the old build, by a new `rempart run`.  All along
# allowed traffic streams (a share's DNS port, pings to the site's cloud)
# and forbidden traffic streams (unshared port, no rule, cross-tenant,
# spoofed source, egress to a denied country), captured by the responders
# at the destinations: no forbidden datagram may arrive, no allowed one
# may be lost (before the maps were made beside the old ones, 1 to 4 of
# ~600 were, and the generation went back).  After each upgrade: the links run
# this build's programs, the policy generation moved on, `rempart audit`
# proves the state.
#   UPGRADE_FROM=COMMIT  the old build (default: the tag good-1, whose
#                        programs and maps differ from today's: events
#                        carry the rule, rp_evstats is new)
#   UPGRADE_SKEW=0|1     (default 1) build the old one with rp_state and
#                        rp_flowt4 sized differently, so that the maps
#                        that hold the policy and the flows cannot be
#                        reused: the upgrade must create its maps beside
#                        the old ones
. "$(dirname "$0")/../lab/e2e-lib.sh"
NEW=$REMPART
FROM=${UPGRADE_FROM:-9da673a99e8b12a5cd1158f5efaeaee9d25e36fa}
SKEW=${UPGRADE_SKEW:-1}
OLD_TREE=$(cd "$BUILD" && pwd)/upgrade-old/${FROM:0:12}-skew$SKEW

# build_old: rempart at FROM, in its own tree and build dir under $BUILD
build_old() {
	local tmp
	[ -x "$OLD_TREE/build/rempart" ] && return 0
	git -C "$E2E_TOP" cat-file -e "$FROM^{commit}" 2>/dev/null || return 2
	tmp=$OLD_TREE.tmp
	rm -rf "$tmp" "$OLD_TREE" && mkdir -p "$tmp" || return 1
	git -C "$E2E_TOP" archive "$FROM" | tar -x -C "$tmp" || return 1
	if [ "$SKEW" = 1 ]; then
		# another size for two maps: rp_state (the policy's) and rp_flowt4 (flows)
		perl -0pi -e 's/(__uint\(max_entries, )1(\);\n\t__type\(key, __u32\);\n\t__type\(value, struct rp_state\);)/${1}2$2/;
			s/(__uint\(max_entries, )RP_FLOW_TABLES(\);(?:(?!\} rp_).)*\} rp_flowt4 SEC)/${1}RP_FLOW_TABLES + 1$2/s' \
			"$tmp/bpf/maps.h" || return 1
		[ "$(grep -c 'max_entries, 2);\|RP_FLOW_TABLES + 1' "$tmp/bpf/maps.h")" = 2 ] || return 1
	fi
	make -C "$tmp" -j2 BUILD="$tmp/build" "$tmp/build/rempart" >"$tmp.log" 2>&1 || return 1
	mv "$tmp" "$OLD_TREE" && rm -f "$tmp.log"
}
if [ "$(id -u)" = 0 ]; then
	build_old; rc=$?
	if [ $rc = 2 ]; then skip "$E2E: commit $FROM is not in this repository (a shallow clone?): nothing to upgrade from"; exit 0; fi
	if [ $rc != 0 ]; then fail "$E2E: cannot build rempart at $FROM: $(tail -n 3 "$OLD_TREE.tmp.log" 2>/dev/null | tr '\n' ' ')"; exit 1; fi
	OLD=$OLD_TREE/build/rempart
	pass "$E2E: the old build built ($(git -C "$E2E_TOP" log -1 --format='%h %cd' --date=short "$FROM" 2>/dev/null), skew $SKEW)"
	REMPART=$OLD
fi
lab_begin
# lab_end takes the lab down with this build
trap 'REMPART=$NEW; lab_end' EXIT

UPLINK=$(ini_get "$CFG/rempart.ini" gateway uplink)
A1_4=$(lan wgs-a1 4)
PINS=/sys/fs/bpf/rempart

# the build tags of the programs pinned (prog_<tag>_<name>)
prog_tags() { nsx rp-gw ls "$PINS" | sed -n 's/^prog_\([0-9a-f]*\)_.*/\1/p' | sort -u | paste -sd' '; }
# links_run TAG: every attachment (pinned link or cls_bpf) runs a program pinned under TAG
links_run() {
	nsx rp-gw "$PY" - "$PINS" "$1" <<-'EOF'
	import json, os, subprocess, sys
	pins, tag = sys.argv[1], sys.argv[2]
	def bt(*a):
	    return json.loads(subprocess.run(["bpftool", "-j"] + list(a), check=True, capture_output=True, text=True).stdout)
	names = os.listdir(pins)
	mine = {bt("prog", "show", "pinned", os.path.join(pins, n))["id"] for n in names if n.startswith("prog_%s_" % tag)}
	bad, n = [], 0
	for f in names:
	    if f.startswith("link_"):
	        pid = bt("link", "show", "pinned", os.path.join(pins, f))["prog_id"]
	    elif f.startswith("cls_"):
	        pid = bt("prog", "show", "pinned", os.path.join(pins, f))["id"]
	    else:
	        continue
	    n += 1
	    if pid not in mine:
	        bad.append("%s=%d" % (f, pid))
	print("%d attachments, %d programs of %s; not of it: %s" % (n, len(mine), tag, " ".join(bad) or "none"))
	sys.exit(1 if bad or not n or len(mine) != 5 else 0)
	EOF
}
generation() { rp status --json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["policy_generation"])' 2>/dev/null; }
audit_ok() { rp audit >"$LAB_STATE/upgrade-audit.out" 2>&1; }
# every interface runs its program (asked of the kernel)
all_attached() {
	prog_on "$UPLINK" xdp uplink_in && prog_on "$UPLINK" tc_out uplink_out &&
		prog_on gw-ca xdp cloud_in && prog_on gw-ca tc_in cloud_mark &&
		prog_on wg-alpha tc_in tunnel_in && prog_on wg-bravo tc_in tunnel_in
}

# ping_answered LOG: the sequence numbers of the echoes answered, sorted, once
ping_answered() { sed -n 's/.* bytes from .*icmp_seq=\([0-9]*\) .*/\1/p' "$1" | sort -un; }

# under_traffic NAME BASE CMD...: CMD runs while allowed and forbidden
# traffic streams (source ports BASE+n); sets OK_SENT OK_LOST PING_SENT
# PING_LOST LEAKS LEAK_DETAIL
under_traffic() {
	local name=$1 b=$2 pp out s n; shift 2
	stream_start "$name-ok" rp-site-a1 $SVC4 53 $((b + 0))
	stream_start "$name-x1" rp-site-a1 $SVC4 123 $((b + 1))			# unshared port
	stream_start "$name-x2" rp-site-b1 $CLOUD_HOST4 5000 $((b + 2))		# no rule
	stream_start "$name-x3" rp-cloud-b "$A1_4" 5000 $((b + 3))		# cross-tenant
	stream_start "$name-x4" rp-site-a1 $SVC4 53 $((b + 4)) 10.120.2.99	# alpha-2's source from alpha-1
	stream_start "$name-x5" rp-cloud-a $NET_CN4 53 $((b + 5))		# egress to a denied country
	out=$LAB_STATE/ping-$name
	ip netns exec rp-site-a1 ping -n -i 0.01 -W 1 $CLOUD_HOST4 >"$out" 2>&1 &
	pp=$!
	wait_for 10 eval '[ "$(arrivals rp-svc $b 53)" -gt 100 ] 2>/dev/null'
	"$@"
	sleep 2
	kill -INT $pp; wait $pp
	for s in ok x1 x2 x3 x4 x5; do stream_stop "$name-$s"; done
	sleep 0.5
	OK_SENT=$(sent "$name-ok")
	OK_LOST=$((OK_SENT - $(arrivals rp-svc $b 53)))
	# Counted up to the last echo answered: ping stops at SIGINT without
	# waiting for the reply of the echo it sent last, which is in flight,
	# not lost (the streams go on 2 s after the command, so a loss it
	# caused is before that one).  PING_GAPS names the sequence numbers
	# missing.
	PING_SENT=$(ping_answered "$out" | tail -n 1)
	PING_SENT=${PING_SENT:-0}
	PING_LOST=$((PING_SENT - $(ping_answered "$out" | wc -l)))
	PING_GAPS=$(ping_answered "$out" | awk 'BEGIN { n = 1 } { while (n < $1) printf "%d ", n++; n = $1 + 1 }')
	LEAKS=0 LEAK_DETAIL=
	for s in "1 rp-svc 123" "2 rp-cloud-b 5000" "3 rp-site-a1 5000" "4 rp-svc 53" "5 rp-net 53"; do
		set -- $s
		n=$(arrivals "$2" $((b + $1)) "$3"); n=${n:-0}
		LEAKS=$((LEAKS + n)); LEAK_DETAIL="$LEAK_DETAIL x$1=$n/$(sent "$name-x$1")"
	done
}
report() { # LABEL: the figures of the last under_traffic
	check "$1: no forbidden datagram arrived ($LEAKS;$LEAK_DETAIL sent)" test "$LEAKS" = 0
	check "$1: no allowed packet lost: $OK_LOST of $OK_SENT share datagrams and $PING_LOST of $PING_SENT pings${PING_GAPS:+ (missing: $PING_GAPS)}" \
		test "$OK_LOST" = 0 -a "$PING_LOST" = 0
	echo "# figures $1: forbidden passed $LEAKS, allowed lost $OK_LOST/$OK_SENT datagrams, $PING_LOST/$PING_SENT pings"
}
after() { # LABEL OLDTAG OLDGEN: the new build's programs run and prove the policy
	local tags gen rc
	tags=$(prog_tags)
	check "$1: only this build's programs are pinned (tag $tags, was $2)" test -n "$tags" -a "$tags" != "$2" -a "${tags// /}" = "$tags"
	check "$1: every attachment runs this build's programs ($(links_run "$tags" 2>&1 | tail -n 1))" links_run "$tags"
	check "$1: every interface runs its program" all_attached
	gen=$(generation)
	check "$1: the policy generation moved on ($3 -> $gen)" test -n "$gen" -a "$gen" != "$3"
	audit_ok; rc=$?
	check "$1: rempart audit proves the state (exit $rc: $(tail -n 1 "$LAB_STATE/upgrade-audit.out" 2>/dev/null))" test $rc = 0
	row rp-site-a1 tcp $CLOUD_HOST4 80 pass:cloud-a rp-cloud-a -- "$1: alpha-1 -> own cloud"
	row rp-site-b1 tcp $CLOUD_HOST6 80 pass:cloud-b rp-cloud-b -- "$1: bravo-1 -> own cloud (IPv6)"
	row rp-site-a1 udp $SVC4 123 drop rp-svc -- "$1: an unshared port"
	row rp-cloud-a tcp $NET_CN4 80 drop rp-net -- "$1: egress to CN"
}

if need_rempart "upgrade: the old build runs the lab"; then
	T_OLD=$(prog_tags)
	check "the old build's programs run ($T_OLD)" links_run "$T_OLD"
	row rp-cloud-a tcp $NET_CN4 80 drop rp-net -- "before: egress to CN dropped"

	# 1. `rempart apply` by the new build (the old daemon stopped: fail closed)
	stop_pid "$(pid_of rempart)"
	check "before apply: the old daemon stopped, its programs stay attached" all_attached
	G0=$(generation)
	REMPART=$NEW
	apply_new() { rp apply >"$LAB_STATE/upgrade-apply.log" 2>&1; APPLY_RC=$?; }
	under_traffic apply 44100 apply_new
	check "apply by the new build exits 0 ($(tail -n 1 "$LAB_STATE/upgrade-apply.log"))" test "$APPLY_RC" = 0
	report "upgrade by apply"
	after "upgrade by apply" "$T_OLD" "$G0"
	T_NEW=$(prog_tags)

	# back to the old build (a downgrade: not measured), then 2. the new daemon
	REMPART=$OLD
	out=$(rp apply 2>&1); rc=$?
	check "downgrade: the old build's apply exits 0 ($(tail -n 1 <<<"$out"))" test $rc = 0
	check "downgrade: the old build's programs run again" links_run "$T_OLD"
	G1=$(generation)
	REMPART=$NEW
	run_new() {
		start_bg rempart rp-gw "$NEW" -c "$CFG" run
		wait_for 30 eval '[ "$(prog_tags)" = "$T_NEW" ] && rempart_ready'
	}
	under_traffic run 44200 run_new
	check "rempart run by the new build is up" rempart_ready
	report "upgrade by run"
	after "upgrade by run" "$T_OLD" "$G1"
fi
[ "$T_FAILS" = 0 ]
