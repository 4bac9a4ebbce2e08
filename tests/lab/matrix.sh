# matrix.sh — the lab's traffic probes and the demo's traffic matrix.
# Sourced by lab.sh (and by tests/e2e/lab_*.sh through lab.sh).
#
# probe FROM_NS WHAT TARGET PORT TARGET_NS [SRC] prints what was seen:
#   pass:NAME   the responder NAME answered (TCP/UDP), or "pass" (ping)
#   arrived     no answer came back, but the packet reached TARGET_NS
#   drop        nothing came back and nothing reached TARGET_NS
# WHAT: ping (IPv4 or IPv6 after TARGET), tcp, udp, wg (a WireGuard
# handshake from FROM_NS's site interface; TARGET is the interface).

PROBE_TIMEOUT=${PROBE_TIMEOUT:-1}

probe() {
	local from=$1 what=$2 target=$3 port=$4 tns=$5 src=${6:-} out sport hits
	case $what in
	ping)
		if ip netns exec "$from" ping -c1 -W"$PROBE_TIMEOUT" -q ${src:+-I "$src"} "$target" >/dev/null 2>&1; then
			echo pass
		else
			echo drop
		fi
		return 0 ;;
	wg)
		# the site's interface $target: a packet into the tunnel starts a
		# handshake; the gateway's answer would set latest-handshakes
		ip netns exec "$from" wg show "$target" >/dev/null 2>&1 || { echo "no-interface"; return 0; }
		kick_handshake "$from" "$target"
		if wait_for 3 handshake_done "$from" "$target"; then echo pass; else echo drop; fi
		return 0 ;;
	tcp | udp) ;;
	*) echo "bad-probe"; return 0 ;;
	esac
	sport=$((20000 + RANDOM % 40000))
	out=$(ip netns exec "$from" "$PY" "$LABNET" probe "$what" "$target" "$port" --sport "$sport" \
		${src:+--src "$src"} --timeout "$PROBE_TIMEOUT" 2>&1)
	case $out in
	timeout | refused | error:* | "") ;;
	*) echo "pass:$out"; return 0 ;;
	esac
	hits=$LAB_STATE/logs/hits-$tns.log
	if [ -n "$tns" ] && [ -f "$hits" ] && grep -q "^$what .* $sport $port\$" "$hits"; then
		echo arrived
	else
		echo drop
	fi
}

# matrix_row FROM_NS FROM_LABEL TO_LABEL WHAT TARGET PORT EXPECT TARGET_NS [SRC]
# prints one table line; with MATRIX_TAP=1 also a PASS:/FAIL: line.
MATRIX_WRONG=0
MATRIX_ROWS=0
matrix_row() {
	local from=$1 fl=$2 tl=$3 what=$4 target=$5 port=$6 expect=$7 tns=$8 src=${9:-} seen ok desc fam
	fam=4; is_v6 "$target" && fam=6
	case $what in
	ping) desc="ping IPv$fam" ;;
	wg) desc="WireGuard handshake" ;;
	*) desc="$what/$port IPv$fam" ;;
	esac
	[ -n "$src" ] && desc="$desc src $src"
	seen=$(probe "$from" "$what" "$target" "$port" "$tns" "$src")
	if [ "$seen" = "$expect" ]; then ok=ok; else ok=WRONG; MATRIX_WRONG=$((MATRIX_WRONG + 1)); fi
	MATRIX_ROWS=$((MATRIX_ROWS + 1))
	printf '%-22s %-42s %-30s %-13s %-13s %s\n' "$fl" "$tl ($target)" "$desc" "$expect" "$seen" "$ok"
	if [ "${MATRIX_TAP:-0}" = 1 ]; then
		if [ $ok = ok ]; then pass "$fl -> $tl $target: $desc: $seen"
		else fail "$fl -> $tl $target: $desc: expected $expect, saw $seen"; fi
	fi
	return 0
}
matrix_header() {
	printf '%-22s %-42s %-30s %-13s %-13s %s\n' FROM TO WHAT EXPECTED SEEN ""
	printf '%s\n' "$(printf '%.0s-' {1..131})"
}

# expected egress verdict for tenant T to country CC: pass:net or drop
egress_expect() {
	local t=$1 cc=$2 eg ec
	eg=$(tenant_get "$t" egress); ec=$(tenant_get "$t" egress_countries | tr 'a-z' 'A-Z' | tr -d ' ')
	[ "$eg" = nat ] || { echo drop; return; }
	[ -z "$ec" ] && { echo pass:net; return; }
	case ",$ec," in
	*",$cc,"*) echo pass:net ;;
	*",EU,"*) case $cc in AT|BE|BG|HR|CY|CZ|DK|EE|FI|FR|DE|GR|HU|IE|IT|LV|LT|LU|MT|NL|PL|PT|RO|SK|SI|ES|SE) echo pass:net ;; *) echo drop ;; esac ;;
	*) echo drop ;;
	esac
}

# The demo matrix: every row names what docs/policy.md expects in the lab config.
matrix_run() {
	local pub a1lan4 a1lan6 b1lan4 b1lan6 a2lan4 a2lan6
	pub=$(cat "$LAB_STATE/public4" 2>/dev/null) || { echo "lab is not up" >&2; return 1; }
	read -r a1lan4 a1lan6 <"$LAB_STATE/sites/wgs-a1.lan" 2>/dev/null
	read -r a2lan4 a2lan6 <"$LAB_STATE/sites/wgs-a2.lan" 2>/dev/null
	read -r b1lan4 b1lan6 <"$LAB_STATE/sites/wgs-b1.lan" 2>/dev/null
	: "${a1lan4:=10.120.1.10}" "${a1lan6:=fd01:1::10}" "${a2lan4:=10.120.2.10}" "${b1lan4:=10.130.1.10}" "${b1lan6:=fd02:1::10}"
	MATRIX_WRONG=0 MATRIX_ROWS=0
	matrix_header
	# 1 tenant isolation with overlapping prefixes
	matrix_row rp-site-a1 "site alpha-1" "own cloud" ping $CLOUD_HOST4 0 pass rp-cloud-a
	matrix_row rp-site-a1 "site alpha-1" "own cloud" ping $CLOUD_HOST6 0 pass rp-cloud-a
	matrix_row rp-site-a1 "site alpha-1" "own cloud" tcp $CLOUD_HOST4 80 pass:cloud-a rp-cloud-a
	matrix_row rp-site-a1 "site alpha-1" "own cloud" tcp $CLOUD_HOST6 80 pass:cloud-a rp-cloud-a
	matrix_row rp-site-a2 "site alpha-2" "own cloud" udp $CLOUD_HOST4 5000 pass:cloud-a rp-cloud-a
	matrix_row rp-site-b1 "site bravo-1" "own cloud (same addr)" tcp $CLOUD_HOST4 80 pass:cloud-b rp-cloud-b
	matrix_row rp-site-b1 "site bravo-1" "own cloud (same addr)" tcp $CLOUD_HOST6 80 pass:cloud-b rp-cloud-b
	matrix_row rp-site-a1 "site alpha-1" "host only in bravo's cloud" tcp $CLOUD_B_ONLY4 80 drop rp-cloud-b
	matrix_row rp-site-a1 "site alpha-1" "host only in bravo's cloud" tcp $CLOUD_B_ONLY6 80 drop rp-cloud-b
	matrix_row rp-site-a1 "site alpha-1" "bravo's site" tcp "$b1lan4" 80 drop rp-site-b1
	matrix_row rp-site-a1 "site alpha-1" "bravo's site" tcp "$b1lan6" 80 drop rp-site-b1
	matrix_row rp-cloud-a "cloud alpha" "host only in bravo's cloud" tcp $CLOUD_B_ONLY4 80 drop rp-cloud-b
	matrix_row rp-cloud-a "cloud alpha" "host only in bravo's cloud" tcp $CLOUD_B_ONLY6 80 drop rp-cloud-b
	matrix_row rp-cloud-b "cloud bravo" "site alpha-1" tcp "$a1lan4" 80 drop rp-site-a1
	# intra-tenant: alpha intra = allow except [rule no-ssh-a1]; bravo intra = deny + rules
	matrix_row rp-cloud-a "cloud alpha" "site alpha-1" tcp "$a1lan4" 80 pass:alpha-1 rp-site-a1
	matrix_row rp-cloud-a "cloud alpha" "site alpha-1" tcp "$a1lan6" 80 pass:alpha-1 rp-site-a1
	matrix_row rp-site-a1 "site alpha-1" "site alpha-2" tcp "$a2lan4" 80 pass:alpha-2 rp-site-a2
	matrix_row rp-site-a2 "site alpha-2" "site alpha-1" tcp "$a1lan4" 80 pass:alpha-1 rp-site-a1
	matrix_row rp-site-a2 "site alpha-2" "site alpha-1 (no-ssh-a1)" tcp "$a1lan4" 22 drop rp-site-a1
	matrix_row rp-site-a2 "site alpha-2" "site alpha-1 (no-ssh-a1)" tcp "$a1lan6" 22 drop rp-site-a1
	matrix_row rp-site-b1 "site bravo-1" "own cloud (rule web)" tcp $CLOUD_HOST4 443 pass:cloud-b rp-cloud-b
	matrix_row rp-site-b1 "site bravo-1" "own cloud (no rule)" tcp $CLOUD_HOST4 22 drop rp-cloud-b
	matrix_row rp-site-b1 "site bravo-1" "own cloud (no rule)" udp $CLOUD_HOST6 5000 drop rp-cloud-b
	# flows: cloud -> site is allowed in bravo, the site's answer is a reply
	matrix_row rp-cloud-b "cloud bravo" "site bravo-1 (+reply)" udp "$b1lan4" 5000 pass:bravo-1 rp-site-b1
	matrix_row rp-cloud-b "cloud bravo" "site bravo-1 (+reply)" udp "$b1lan6" 5000 pass:bravo-1 rp-site-b1
	# shares
	matrix_row rp-site-a1 "site alpha-1" "shared DNS" udp $SVC4 53 pass:svc rp-svc
	matrix_row rp-site-a1 "site alpha-1" "shared DNS" udp $SVC6 53 pass:svc rp-svc
	matrix_row rp-site-b1 "site bravo-1" "shared DNS" udp $SVC4 53 pass:svc rp-svc
	matrix_row rp-cloud-a "cloud alpha" "shared DNS" udp $SVC4 53 pass:svc rp-svc
	matrix_row rp-cloud-b "cloud bravo" "shared DNS" udp $SVC6 53 pass:svc rp-svc
	matrix_row rp-site-a1 "site alpha-1" "services, not shared" udp $SVC4 123 drop rp-svc
	matrix_row rp-site-a1 "site alpha-1" "services, not shared" tcp $SVC6 53 drop rp-svc
	# anti-spoofing
	matrix_row rp-site-a1 "site alpha-1 spoofing" "own cloud" tcp $CLOUD_HOST4 80 drop rp-cloud-a 10.120.2.99
	matrix_row rp-site-a1 "site alpha-1 spoofing" "own cloud" tcp $CLOUD_HOST6 80 drop rp-cloud-a fd01:2::99
	matrix_row rp-cloud-a "cloud alpha spoofing" "shared DNS" udp $SVC4 53 drop rp-svc 10.120.1.99
	matrix_row rp-cloud-a "cloud alpha spoofing" "shared DNS" udp $SVC6 53 drop rp-svc fd01:1::99
	# uplink geo-fence and management
	matrix_row rp-abroad "abroad (RU)" "alpha's listen port" wg wgs-x 0 drop rp-gw
	matrix_row rp-site-a1 "site alpha-1 (FR)" "gateway management" tcp "$pub" 22 pass:gateway rp-gw
	matrix_row rp-site-a1 "site alpha-1 (FR)" "gateway, other port" tcp "$pub" 2222 drop rp-gw
	matrix_row rp-abroad "abroad (RU)" "gateway management" tcp "$pub" 22 drop rp-gw
	matrix_row rp-net "internet (DE)" "gateway management" tcp "$pub" 22 drop rp-gw
	# egress geo-fence
	matrix_row rp-cloud-a "cloud alpha" "internet DE" tcp $NET_DE4 80 "$(egress_expect alpha DE)" rp-net
	matrix_row rp-cloud-a "cloud alpha" "internet DE" tcp $NET_DE6 80 "$(egress_expect alpha DE)" rp-net
	matrix_row rp-cloud-a "cloud alpha" "internet CN" tcp $NET_CN4 80 "$(egress_expect alpha CN)" rp-net
	matrix_row rp-cloud-a "cloud alpha" "internet CN" udp $NET_CN6 53 "$(egress_expect alpha CN)" rp-net
	matrix_row rp-cloud-b "cloud bravo" "internet DE" tcp $NET_DE4 80 "$(egress_expect bravo DE)" rp-net
	printf '%s\n' "$(printf '%.0s-' {1..131})"
	echo "$MATRIX_ROWS rows, $((MATRIX_ROWS - MATRIX_WRONG)) as expected, $MATRIX_WRONG not"
	[ "$MATRIX_WRONG" = 0 ]
}
