#!/bin/bash
# lab_audit.sh — `rempart audit` in the lab (issue 14): the clean lab is
# proven; then each way of breaking it, one at a time, makes the audit exit
# 3 and name a violation, whose packet, sent for real, is seen arriving at
# the place the audit names (tcpdump there); put back, the audit is clean
# again.  Then the states it must refuse (exit 2), and the daemon's audits
# (its log, its metrics).
#
#   rp-site-a1 ─ wg-alpha ┐                  ┌ gw-ca ─ rp-cloud-a 10.20.1.10
#   rp-site-b1 ─ wg-bravo ┼─ rp-gw (rempart) ┼ gw-cb ─ rp-cloud-b 10.20.1.10
#   rp-inet ─── gw-up ────┘                  └ gw-cs ─ rp-svc 10.99.0.53
#
# Mutations: an ip rule sending alpha's tunnel into bravo's table; a route
# to bravo's site in alpha's table (alpha gets a site with the same LAN
# first: alpha's program lets it through); a rule sending alpha's mark into
# bravo's table; bravo's tunnel deleted and recreated (by wireguard-go's
# supervisor, brought up by hand) without its program; a port forward from the uplink into
# alpha's cloud (nftables dnat + mark); svc's share table rewritten to
# allow every UDP port; a WireGuard peer with bravo-1's key given part of
# alpha-1's prefix on alpha's tunnel.
. "$(dirname "$0")/../lab/e2e-lib.sh"
lab_begin
WGA=$(tenant_get alpha tunnel_interface); WGA=${WGA:-wg-alpha}
WGB=$(tenant_get bravo tunnel_interface); WGB=${WGB:-wg-bravo}
AUD=$LAB_STATE/audit

# audit: the JSON on $AUD.json, stderr on $AUD.err, the exit status back
audit() { rp audit --json "$@" >"$AUD.json" 2>"$AUD.err"; }
audit_rc() { audit "$@"; echo $?; }
# pick KIND INGRESS REACHES EGRESS: "src dst proto dport" of that violation
pick() {
	"$PY" - "$AUD.json" "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
k, i, r, e = sys.argv[2:6]
for v in d.get("violations", []):
    if v["kind"] == k and (i == "*" or v["ingress"] == i) and v["reaches"] == r and v["egress"] == e:
        p = v["packet"]
        print(v["ingress"], p["src"], p["dst"], p["proto"], p["dport"])
        sys.exit(0)
sys.exit(1)
PY
}
violations() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("; ".join("%s %s->%s via %s (%s %s %s/%s)" % (v["kind"], v["ingress"], v["reaches"], v["egress"], v["packet"]["src"], v["packet"]["dst"], v["packet"]["proto"], v["packet"]["dport"]) for v in d.get("violations", [])))' "$AUD.json" 2>/dev/null; }

# expect_clean NAME: exit 0, "proven": true (a few tries: the daemon may
# still be putting things back)
expect_clean() {
	local rc
	for _ in 1 2 3 4 5; do
		rc=$(audit_rc)
		[ "$rc" = 0 ] && break
		sleep 1
	done
	if [ "$rc" = 0 ] && grep -q '"proven": true' "$AUD.json"; then
		pass "$1: audit exits 0, proven ($("$PY" -c 'import json,sys; c=json.load(open(sys.argv[1]))["checked"]; print("%d ingress points, %d classes" % (c["ingress_points"], c["paths"]))' "$AUD.json"))"
	else
		fail "$1: audit exits $rc, not proven: $(violations) $(head -c 300 "$AUD.err")"
	fi
}

# capture NS IF FILTER / captured: tcpdump in NS on IF
capture() {
	CAP=$LAB_STATE/audit-$1.pcap
	stop_pid "$(pid_of tcpdump-audit)"
	rm -f "$CAP"
	start_bg tcpdump-audit "$1" tcpdump -Z root -i "$2" -nn -U -w "$CAP" "$3"
	wait_for 5 grep -q 'listening on' "$LAB_STATE/logs/tcpdump-audit.log" && wait_for 2 test -e "$CAP"
}
captured() { tcpdump -nn -r "$CAP" 2>/dev/null | wc -l; }
end_capture() { stop_pid "$(pid_of tcpdump-audit)"; }

# send NS SRC DST PROTO DPORT: the packet, from NS with that source (the
# source need not be NS's own: IP_FREEBIND), three times
send() {
	local ns=$1 src=$2 dst=$3 proto=$4 port=$5
	[ "$proto" = icmp ] && { ip netns exec "$ns" ping -c3 -i 0.2 -W1 -I "$src" "$dst" >/dev/null 2>&1; return 0; }
	for _ in 1 2 3; do
		ip netns exec "$ns" "$PY" "$LABNET" probe "$proto" "$dst" "$port" --src "$src" ${SEND_SPORT:+--sport $SEND_SPORT} \
			--timeout 0.3 >/dev/null 2>&1
	done
}

# delivered NAME KIND INGRESS REACHES EGRESS FROM_NS TO_NS TO_IF [FILTER]:
# the audit exits 3 and names that violation; its packet, sent from
# FROM_NS, is seen in TO_NS on TO_IF (by FILTER when the gateway rewrites
# its destination)
delivered() {
	local name=$1 kind=$2 ing=$3 reaches=$4 egress=$5 from=$6 tons=$7 toif=$8 rc got in src dst proto port f
	rc=$(audit_rc)
	got=$(pick "$kind" "$ing" "$reaches" "$egress")
	if [ "$rc" != 3 ] || [ -z "$got" ]; then
		fail "$name: audit exits $rc, no '$kind' violation from $ing reaching $reaches by $egress: $(violations) $(head -c 300 "$AUD.err")"
		return 1
	fi
	read -r in src dst proto port <<<"$got"
	pass "$name: audit exits 3: violation $kind from=$in src=$src dst=$dst proto=$proto dport=$port reaches=$reaches egress=$egress"
	# by destination: on its way the gateway may NAT the source (a share's
	# provider sees its consumers from the gateway's address there)
	f="dst host $dst"
	[ "$proto" = tcp ] || [ "$proto" = udp ] && f="$f and $proto dst port $port"
	[ -n "${9:-}" ] && f=$9
	# on an Ethernet link the gateway sends it only to a host that answers
	# ARP for its address: a host of that cloud takes the address the
	# audit chose, when no host there has it yet
	added=
	if [ -z "${9:-}" ] && [ "$(ip netns exec "$tons" cat "/sys/class/net/$toif/type" 2>/dev/null)" = 1 ] &&
		! ip -n "$tons" -o addr show | grep -q " $dst/"; then
		ip -n "$tons" addr add "$dst/32" dev "$toif" && added=1
	fi
	capture "$tons" "$toif" "$f" || { fail "$name: tcpdump did not start in $tons"; return 1; }
	send "$from" "$src" "$dst" "$proto" "$port"
	if wait_for 5 eval '[ "$(captured)" -gt 0 ]'; then
		pass "$name: the packet, sent from $from, arrives in $tons on $toif ($(captured) seen)"
	else
		fail "$name: the packet, sent from $from, did not arrive in $tons on $toif"
	fi
	end_capture
	[ -n "$added" ] && ip -n "$tons" addr del "$dst/32" dev "$toif"
	return 0
}

# the daemon's state after a SIGHUP: its audit ran (log) and the metrics
sighup_and_wait_audit() {
	local before
	before=$(grep -c 'audit: ' "$LAB_STATE/logs/rempart.log" 2>/dev/null)
	kill -HUP "$(pid_of rempart)"
	wait_for 60 eval '[ "$(grep -c "audit: \(proven\|violation\|the live state\|no result\)" "$LAB_STATE/logs/rempart.log")" -gt "${before:-0}" ]'
}
# gw_handshake IF: a peer of the gateway's tunnel IF has shaken hands
gw_handshake() { nsx rp-gw wg show "$1" latest-handshakes 2>/dev/null | awk '$2 > 0 { ok = 1 } END { exit !ok }'; }
metric() { nsx rp-gw curl -s "http://$(ini_get "$CFG/rempart.ini" metrics listen)/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

if need_rempart "audit"; then
	# ---- clean ----
	expect_clean "clean lab"
	rp audit >"$AUD.txt" 2>"$AUD.err"; rc=$?
	check "clean lab: text form exits 0 and says proven ($(head -c 120 "$AUD.txt"))" eval '[ $rc = 0 ] && grep -q "^proven: " "$AUD.txt"'
	# the daemon's sandbox has no CAP_SYS_ADMIN, so no program can be opened
	# by its ID: rempart's own are found through their pins
	nsx rp-gw setpriv --bounding-set -sys_admin --inh-caps -sys_admin "$REMPART" -c "$CFG" audit >"$AUD.txt" 2>"$AUD.err"; rc=$?
	check "clean lab, without CAP_SYS_ADMIN (the unit's sandbox): exits 0, proven ($(head -c 160 "$AUD.err"))" \
		eval '[ $rc = 0 ] && grep -q "^proven: " "$AUD.txt"'

	# ---- 1. an ip rule sends alpha's tunnel into bravo's table ----
	nsx rp-gw ip rule add pref 900 iif "$WGA" lookup 1020
	delivered "rule alpha->bravo table" cross_tenant "$WGA" bravo gw-cb rp-site-a1 rp-cloud-b eth0
	# the daemon's audit sees it too, after a reload: its log and metrics
	if sighup_and_wait_audit; then
		check "daemon: the violation is logged at error priority" grep -q "audit: violation cross_tenant from=alpha ingress=$WGA" "$LAB_STATE/logs/rempart.log"
		v=$(metric rempart_audit_violations); t=$(metric rempart_audit_last_run_seconds)
		check "daemon: rempart_audit_violations $v >= 1, rempart_audit_last_run_seconds $t recent" \
			eval '[ "${v:-0}" -ge 1 ] && [ $(( $(date +%s) - ${t:-0} )) -lt 120 ]'
	else
		fail "daemon: no audit after SIGHUP (log: $(tail -n 2 "$LAB_STATE/logs/rempart.log" | tr '\n' ' '))"
	fi
	nsx rp-gw ip rule del pref 900 iif "$WGA" lookup 1020
	expect_clean "rule removed"
	if sighup_and_wait_audit; then
		v=$(metric rempart_audit_violations)
		check "daemon: rempart_audit_violations back to 0 ($v)" test "$v" = 0
	fi

	# ---- 2. a route to bravo's site prefix in alpha's table ----
	# alpha gets a site on the same LAN as bravo-1 (two ministries may):
	# clean still; alpha's program lets alpha's packets to that LAN through.
	# Not while both get the replies of services' DNS share (routed to their
	# sites by destination: `check` refuses the overlap), so services offers
	# it to bravo alone meanwhile; both files are put back after 2b.
	cp "$CFG/tenants.d/alpha.ini" "$AUD.alpha.ini"
	cp "$CFG/tenants.d/services.ini" "$AUD.services.ini"
	ini_set "$CFG/tenants.d/services.ini" "share dns" tenants bravo
	"$REMPART" -c "$CFG" site add alpha alpha-y --allowed-ips 10.130.1.0/24 --public-key \
		"$(wg genkey | wg pubkey)" >/dev/null 2>"$AUD.err" || fail "site add alpha-y: $(cat "$AUD.err")"
	sighup_and_wait_audit
	expect_clean "alpha gets a site on bravo-1's LAN"
	nsx rp-gw ip route add 10.130.1.0/24 dev "$WGB" table 1010 metric 50
	delivered "route to bravo's site in alpha's table" cross_tenant gw-ca bravo "$WGB" rp-cloud-a rp-site-b1 wgs-b1
	nsx rp-gw ip route del 10.130.1.0/24 dev "$WGB" table 1010 metric 50
	expect_clean "route removed"

	# ---- 2b. a mark rule sends alpha's mark into bravo's table ----
	# (cloud_mark and tunnel_in give alpha's packets alpha's mark; the
	# audit must route them by it)
	AMARK=$(printf '0x%08x' $(( 0x52500000 | $(tenant_id alpha) )))
	BTAB=$(( 1000 + $(tenant_id bravo) ))
	nsx rp-gw ip rule add pref 990 fwmark "$AMARK" lookup "$BTAB"
	delivered "mark rule: alpha's mark into bravo's table" cross_tenant gw-ca bravo "$WGB" rp-cloud-a rp-site-b1 wgs-b1
	nsx rp-gw ip rule del pref 990 fwmark "$AMARK" lookup "$BTAB"
	expect_clean "mark rule removed"
	cp "$AUD.alpha.ini" "$CFG/tenants.d/alpha.ini"
	cp "$AUD.services.ini" "$CFG/tenants.d/services.ini"
	sighup_and_wait_audit
	expect_clean "alpha's site on bravo-1's LAN gone, the DNS share offered to both again"

	# ---- 3. bravo's tunnel deleted and recreated without its program ----
	kill -STOP "$(pid_of rempart)"	# no daemon to put the program back meanwhile
	nsx rp-gw ip link del "$WGB"
	# rempart's supervisor starts wireguard-go again, with its key and
	# peers, and leaves the new link down (it has no tunnel_in: only rempart
	# attaches it and brings it up).  Brought up by hand with the addresses
	# and routes the supervisor keeps (STATE_DIR/wg/IF.net): a tunnel that
	# forwards, without tunnel_in
	wait_for 20 eval 'nsx rp-gw wg show "$WGB" peers 2>/dev/null | grep -q .' ||
		fail "$WGB: not recreated by the supervisor"
	nsx rp-gw sh -c 'i=$1; f=$2; ip link set "$i" up
		while read -r k a b c; do
			case $k in
			mtu) ip link set "$i" mtu "$a" ;;
			addr) ip addr add "$a" dev "$i" ;;
			route) ip route add "$a" dev "$i" table "$b" metric "$c" ;;
			esac
		done <"$f"' sh "$WGB" "$LAB_STATE/var/wg/$WGB.net"
	check "$WGB recreated by hand: up, bravo-1's LAN routed through it" \
		eval 'nsx rp-gw ip route show table 1020 dev "$WGB" 2>/dev/null | grep -q 10.130.1.0/24'
	# the new wireguard-go holds none of the old session's keys: what the
	# site sends under that session is dropped until its WireGuard gives up
	# on it (15 s without an answer) and shakes hands again.  Wait for that
	# handshake on the gateway's new tunnel (the site's latest-handshake is
	# the old session's, already there)
	wait_for 30 eval 'gw_handshake "$WGB" || { kick_handshake rp-site-b1 wgs-b1; false; }' ||
		fail "$WGB: no new handshake with bravo-1 on the recreated tunnel"
	delivered "tunnel recreated without its program" unprotected "$WGB" services gw-cs rp-site-b1 rp-svc eth0
	kill -CONT "$(pid_of rempart)"
	# a reload attaches it again (a stale link pin of the old interface,
	# from before the daemon watched links, goes first)
	nsx rp-gw sh -c "rm -f /sys/fs/bpf/rempart/link_tcin_$WGB"
	sighup_and_wait_audit
	expect_clean "tunnel's program back"

	# ---- 4. a port forward from the uplink into alpha's cloud ----
	# (a DHCP reply to the gateway's address, which uplink_in lets in for
	# the gateway, forwarded into alpha's cloud; the WireGuard ports are
	# not tracked, so a DNAT of them would never apply)
	nsx rp-gw nft -f - <<EOF
table ip audit_leak {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "gw-up" udp sport 67 udp dport 68 meta mark set 0x5250000a dnat to 10.20.1.10
	}
}
EOF
	SEND_SPORT=67 delivered "port forward from the uplink" uplink gw-up alpha gw-ca rp-inet rp-cloud-a eth0 \
		"dst host 10.20.1.10 and udp dst port 68"
	nsx rp-gw nft delete table ip audit_leak
	expect_clean "port forward removed"

	# ---- 5. a policy map entry rewritten: svc's share allows every UDP port ----
	saved=$(nsx rp-gw "$PY" - <<'PY'
import json, subprocess
pin = "/sys/fs/bpf/rempart/"
st = json.loads(subprocess.check_output(["bpftool", "-j", "map", "dump", "pinned", pin + "rp_state"]))
slot = st[0]["formatted"]["value"]["active_slot"] if "formatted" in st[0] else int(st[0]["value"][8], 16)
d = json.loads(subprocess.check_output(["bpftool", "-j", "map", "dump", "pinned", pin + "rp_rules"]))
for e in d:
    k = [int(x, 16) for x in e["key"]]
    if k[0] == slot and k[1] == 1 and k[2] == 1:	# slot, kind share, UDP
        v = [int(x, 16) for x in e["value"]]
        print(" ".join("%02x" % x for x in k), "|", " ".join("%02x" % x for x in v))
        w = v[:]
        w[0:4] = [1, 0, 0, 0]
        w[8:12] = [0, 0, 1, 0]		# one segment from port 0: allow
        subprocess.check_call(["bpftool", "map", "update", "pinned", pin + "rp_rules", "key", "hex"] +
                              ["%02x" % x for x in k] + ["value", "hex"] + ["%02x" % x for x in w])
PY
)
	if [ -n "$saved" ]; then
		delivered "share table rewritten" cross_tenant gw-ca services gw-cs rp-cloud-a rp-svc eth0
		while IFS='|' read -r key val; do
			nsx rp-gw bpftool map update pinned /sys/fs/bpf/rempart/rp_rules key hex $key value hex $val
		done <<<"$saved"
	else
		fail "share table rewritten: no UDP share table found in rp_rules"
	fi
	expect_clean "share table put back"

	# ---- 6. a WireGuard peer given another tenant's prefix ----
	# bravo-1's key, on alpha's tunnel, with half of alpha-1's LAN: alpha's
	# cloud traffic to it goes to bravo's site (a second wireguard-go
	# there, with bravo-1's key, stands for that site's router)
	BPUB=$(wg pubkey <"$LAB_STATE/sitekeys/bravo-1.key")
	APUB=$(nsx rp-gw wg show "$WGA" public-key)
	APORT=$(tenant_get alpha listen_port)
	start_bg wg-audx rp-site-b1 env WG_PROCESS_FOREGROUND=1 wireguard-go -f wgaudx
	wait_for 5 test -S /run/wireguard/wgaudx.sock || fail "wireguard-go wgaudx did not start"
	ip netns exec rp-site-b1 wg set wgaudx private-key "$LAB_STATE/sitekeys/bravo-1.key" listen-port 51999 \
		peer "$APUB" allowed-ips 10.20.0.0/16 endpoint "$(cat "$LAB_STATE/public4"):$APORT"
	ip -n rp-site-b1 link set wgaudx up
	nsx rp-gw wg set "$WGA" peer "$BPUB" allowed-ips 10.120.1.128/25 endpoint 198.18.0.21:51999
	delivered "a peer with bravo-1's key given part of alpha-1's prefix" cross_tenant gw-ca bravo "$WGA" \
		rp-cloud-a rp-site-b1 wgaudx
	nsx rp-gw wg set "$WGA" peer "$BPUB" remove
	stop_pid "$(pid_of wg-audx)"
	ip -n rp-site-b1 link del wgaudx 2>/dev/null
	expect_clean "peer removed"

	# ---- states it cannot judge: exit 2, one clear line, never proven ----
	REMPART_PIN_DIR=/sys/fs/bpf/no-such-dir rp audit >"$AUD.txt" 2>"$AUD.err"; rc=$?
	check "missing pin directory: exit 2 ($(head -n1 "$AUD.err"))" eval '[ $rc = 2 ] && grep -q no-such-dir "$AUD.err" && ! grep -q proven "$AUD.txt"'
	nsx rp-gw sh -c 'mkdir -p /sys/fs/bpf/audit-bad && cd /sys/fs/bpf/rempart && for m in rp_*; do
		[ $m = rp_atoms ] || bpftool map pin pinned /sys/fs/bpf/rempart/$m /sys/fs/bpf/audit-bad/$m 2>/dev/null; done;
		bpftool map create /sys/fs/bpf/audit-bad/rp_atoms type array key 4 value 20 entries 16 name rp_atoms'
	REMPART_PIN_DIR=/sys/fs/bpf/audit-bad rp audit --json >"$AUD.json" 2>"$AUD.err"; rc=$?
	check "a map of another layout: exit 2 ($(head -n1 "$AUD.err"))" eval '[ $rc = 2 ] && grep -q rp_atoms "$AUD.err" && grep -q "\"proven\": false" "$AUD.json"'
	nsx rp-gw rm -rf /sys/fs/bpf/audit-bad
	nsx rp-gw sh -c 'ip nexthop add id 77 dev gw-cb && ip route add 10.55.0.0/24 nhid 77 table 1010'
	rc=$(audit_rc)
	check "a routing table the audit does not know (nexthop objects): exit 2 ($(head -n1 "$AUD.err"))" \
		eval '[ $rc = 2 ] && grep -q "nexthop object" "$AUD.err"'
	nsx rp-gw sh -c 'ip route del 10.55.0.0/24 table 1010; ip nexthop del id 77'
	nsx rp-gw ip rule add pref 900 iif gw-cb lookup 4242
	rc=$(audit_rc)
	check "a rule to a table rempart does not know: exit 2 ($(head -n1 "$AUD.err"))" \
		eval '[ $rc = 2 ] && grep -q "table 4242" "$AUD.err"'
	nsx rp-gw ip rule del pref 900 iif gw-cb lookup 4242
	nsx rp-gw tc qdisc add dev gw-cb clsact 2>/dev/null
	nsx rp-gw tc filter add dev gw-cb ingress protocol all u32 match u32 0 0 action mirred egress redirect dev gw-ca
	rc=$(audit_rc)
	check "a tc filter rempart does not attach (a redirect): exit 2 ($(head -n1 "$AUD.err"))" \
		eval '[ $rc = 2 ] && grep -q "u32" "$AUD.err"'
	nsx rp-gw tc qdisc del dev gw-cb clsact
	expect_clean "all put back"
fi
[ "$T_FAILS" = 0 ]
