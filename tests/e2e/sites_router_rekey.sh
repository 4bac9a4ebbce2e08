# sites_router_rekey.sh — sourced by sites_router.sh once the router's
# tunnel works: `site rekey` under a continuous ping, its rollback by
# `apply --confirm`, and bad inputs.  Uses that script's namespaces and
# helpers (gw, rp, wgq, probe, $T ...).

ini_site() { # KEY: its value in [site rtr]
	awk -v k="$1" '/^\[/ { s = ($0 == "[site rtr]") } s && $1 == k { print $3 }' "$T/tenants.d/st.ini"
}
peers_ips() { gw wg show "$TUN" allowed-ips 2>/dev/null | sort; }
switched_count() { grep -c 'rekey: site rtr of tenant st switched' "$T/run.log"; }
switched_after() { [ "$(switched_count)" -gt "$1" ]; }

# One rekey while the LAN host pings the cloud every 20 ms: the site keeps
# its old key until `wg syncconf` installs the new one on the router.
rekey_once() { # RUN
	local n=$1 out=$T/rekey$1.conf before prev new tx rx lost ms
	before=$(switched_count)
	prev=$(ini_site public_key)
	ip netns exec "$LH" ping -i 0.02 -c 250 -W 1 10.20.0.10 >"$T/ping$n.log" 2>&1 &
	ping_pid=$!
	sleep 0.5
	if ! rp site rekey st rtr >"$out" 2>"$T/rekey$n.err"; then
		fail "sites_router: rekey $n: site rekey: $(cat "$T/rekey$n.err")"
		wait $ping_pid; ping_pid=
		return 1
	fi
	new=$(ini_site public_key)
	rp apply >"$T/apply-rekey$n.log" 2>&1 || fail "sites_router: rekey $n: apply: $(tail -1 "$T/apply-rekey$n.log")"
	# both keys on the gateway: the previous one keeps the site's addresses
	if gw wg show "$TUN" allowed-ips | grep -q "^$prev	.*10.120.7.0/24" &&
	   gw wg show "$TUN" allowed-ips | grep -qx "$new	(none)"; then
		[ "$n" = 1 ] && pass "sites_router: rekey pending: the previous key holds the site's addresses, the new one none"
	else
		fail "sites_router: rekey $n pending: peers $(gw wg show "$TUN" allowed-ips | tr '\n\t' '; ')"
	fi
	if [ "$n" = 1 ]; then
		check "sites_router: rekey pending: previous_public_key in the tenant file" \
			test "$(ini_site previous_public_key)" = "$prev"
		rp status --json >"$T/status.json" 2>/dev/null
		check "sites_router: rekey pending: status shows it, with the handshake of the key in use" \
			"$PY" -c 'import json, sys
s = [x for t in json.load(open(sys.argv[1]))["tenants"] for x in t["sites"] if x["name"] == "rtr"][0]
sys.exit(not (s["rekey_pending"] and s["last_handshake"] > 0 and s["tunnel_ip"] == ["100.64.7.2", "fd64:7::2"]))' "$T/status.json"
	fi
	sleep 0.5
	ip netns exec "$RT" wg syncconf "$WGQ" <(wg-quick strip "$out")
	if ! wait_for 10 switched_after "$before"; then
		fail "sites_router: rekey $n: the gateway never saw the site switch: $(tail -2 "$T/run.log" | tr '\n' ' ')"
	fi
	wait $ping_pid; ping_pid=
	ping_lost "$T/ping$n.log"
	ms=$(grep 'rekey: site rtr of tenant st switched' "$T/run.log" | tail -1 | sed -n 's/.*moved to it \([0-9.-]*\) ms.*/\1/p')
	echo "# rekey run $n: ${tx:-?} pings every 20 ms, $lost lost; the site's addresses moved to the new key $ms ms after its first handshake"
	echo "$n $lost $ms" >>"$T/figures"
	# The window is the daemon's poll (10 ms) and the move: one ping in it
	# as a rule, two when a loaded machine stretches it past 20 ms (CI saw
	# 2 of 250 once). An outage would lose dozens.
	check "sites_router: rekey $n under a 20 ms ping: at most two packets lost ($lost of ${tx:-?})" \
		test -n "$tx" -a "$lost" -le 2
	check "sites_router: rekey $n: the previous key is gone from the gateway" \
		bash -c "! nsenter --net=/run/netns/$GW wg show $TUN peers | grep -qx '$prev'"
	check "sites_router: rekey $n: the new key holds the site's addresses" \
		bash -c "nsenter --net=/run/netns/$GW wg show $TUN allowed-ips | grep -q '^$new	.*10.120.7.0/24'"
	# the daemon cannot write the tenant file: the rotation is recorded in the
	# state directory, and the next apply tidies the file
	if [ "$n" = 1 ]; then
		check "sites_router: rekey $n: done on the tunnel, recorded in state_dir/rekeyed (the daemon cannot write the file)" \
			bash -c "grep -q '^st rtr $new\$' '$T/state/rekeyed' && grep -q '^previous_public_key = $prev' '$T/tenants.d/st.ini'"
		rp status --json >"$T/status2.json" 2>/dev/null
		check "sites_router: rekey $n: status no longer shows it pending" \
			"$PY" -c 'import json, sys
s = [x for t in json.load(open(sys.argv[1]))["tenants"] for x in t["sites"] if x["name"] == "rtr"][0]
sys.exit(s["rekey_pending"])' "$T/status2.json"
	fi
	rp apply >"$T/apply-tidy$n.log" 2>&1 || fail "sites_router: rekey $n: apply after the switch: $(tail -1 "$T/apply-tidy$n.log")"
	check "sites_router: rekey $n: apply tidies the tenant file (no previous_*), the previous PSK file and the record gone" \
		bash -c "! grep -q '^previous_' '$T/tenants.d/st.ini' && test ! -e '$T/keys/st-rtr.previous.psk' && ! grep -qs 'st rtr' '$T/state/rekeyed'"
	check "sites_router: rekey $n: apply after the switch leaves the new key alone with the addresses" \
		bash -c "[ \"\$(nsenter --net=/run/netns/$GW wg show $TUN allowed-ips | cut -f1)\" = '$new' ]"
}

: >"$T/figures"
for i in $(seq 1 "$RUNS"); do rekey_once "$i"; done
echo "# rekey figures (run lost switch_ms): $(paste -sd';' "$T/figures")"
awk '{ l += $2; if ($2 > m) m = $2; s += $3; if (!n || $3 > x) x = $3; n++ }
     END { if (n) printf "# rekey over %d runs: %d packets lost in all (at most %d in one run); addresses moved %.1f ms (mean), %.1f ms (max) after the first handshake\n", n, l, m, s / n, x }' "$T/figures"
check "sites_router: LAN traffic after the rekeys (tcp)" test "$(probe "$LH" tcp 10.20.0.10 80)" = "$CL"

# The previous key gets no handshake: a second tunnel on the router with the
# key of before the last rekey tries, and the gateway does not answer.
last_prev_priv=$(sed -n 's/^PrivateKey = //p' "$T/rekey$((RUNS - 1)).conf" 2>/dev/null)
[ "$RUNS" -le 1 ] && last_prev_priv=$old_priv
gwpub=$(sed -n 's/^PublicKey = //p' "$T/add.conf")
ip netns exec "$RT" env WG_PROCESS_FOREGROUND=1 setsid wireguard-go "$OLDIF" >/dev/null 2>&1 </dev/null &
if wait_for 5 test -S /var/run/wireguard/"$OLDIF".sock; then
	echo "$last_prev_priv" >"$T/old.key"; chmod 600 "$T/old.key"
	ip netns exec "$RT" wg set "$OLDIF" private-key "$T/old.key" listen-port 51999 \
		peer "$gwpub" endpoint 198.18.0.1:51817 allowed-ips 100.64.7.1/32
	ip -n "$RT" link set "$OLDIF" up
	ip -n "$RT" route add 100.64.7.1/32 dev "$OLDIF"
	ip netns exec "$RT" ping -c 3 -i 0.5 -W 1 -q 100.64.7.1 >/dev/null 2>&1
	sleep 1
	hs=$(ip netns exec "$RT" wg show "$OLDIF" latest-handshakes | awk '{ print $2 }')
	check "sites_router: after the switch the previous key gets no handshake (latest ${hs:-?})" test "${hs:-1}" = 0
	ip -n "$RT" link del "$OLDIF"
else
	fail "sites_router: wireguard-go for the previous key did not start"
fi

# ---- --psk-only: the key pair stays, the preshared key changes ----------------
# The site's session goes on after apply; a new handshake needs the new PSK
# (the router's peer removed and set again makes one).
repeer() { # PSK: the router's gateway peer anew, with that preshared key
	ip netns exec "$RT" wg set "$WGQ" peer "$gwpub" remove
	ip netns exec "$RT" wg set "$WGQ" peer "$gwpub" preshared-key <(echo "$1") endpoint 198.18.0.1:51817 \
		persistent-keepalive 25 allowed-ips "$(sed -n 's/^AllowedIPs = //p' "$T/add.conf" | tr -d ' ')"
}
pub_before=$(ini_site public_key)
psk_old=$(cat "$T/keys/st-rtr.psk")
if rp site rekey st rtr --psk-only >"$T/psk.conf" 2>"$T/psk.err" && rp apply >/dev/null 2>&1; then
	psk_new=$(sed -n 's/^PresharedKey = //p' "$T/psk.conf")
	check "sites_router: --psk-only keeps the public key" test "$(ini_site public_key)" = "$pub_before"
	check "sites_router: --psk-only: the gateway's peer has the new PSK" \
		bash -c "nsenter --net=/run/netns/$GW wg show $TUN preshared-keys | grep -qx '$pub_before	$psk_new'"
	check "sites_router: --psk-only: the site's established session goes on" \
		ip netns exec "$LH" ping -c2 -i0.2 -W1 -q 10.20.0.10
	repeer "$psk_old"
	check "sites_router: --psk-only: a new handshake with the old PSK fails" \
		bash -c "! ip netns exec $LH ping -c3 -i0.3 -W1 -q 10.20.0.10 >/dev/null"
	repeer "$psk_new"
	check "sites_router: --psk-only: a new handshake with the new PSK carries traffic" \
		wait_for 10 bash -c "ip netns exec $LH ping -c1 -W1 -q 10.20.0.10 >/dev/null"
else
	fail "sites_router: site rekey --psk-only: $(cat "$T/psk.err")"
fi

# ---- rollback: apply --confirm without confirm puts keys and config back -------
pub_before=$(ini_site public_key)
psk_before=$(cat "$T/keys/st-rtr.psk")
rp site rekey st rtr >"$T/rb.conf" 2>/dev/null
rp apply --confirm 3 >"$T/confirm.log" 2>&1 || fail "sites_router: apply --confirm 3: $(cat "$T/confirm.log")"
check "sites_router: rollback armed with a rekey applied (both keys on the gateway)" \
	test "$(gw wg show "$TUN" peers | wc -l)" = 2
if wait_for 30 test ! -e "$T/state/confirm/token"; then
	wait_for 10 bash -c "[ \$(nsenter --net=/run/netns/$GW wg show $TUN peers | wc -l) = 1 ]"
	check "sites_router: rollback: the tenant file has the key of before" test "$(ini_site public_key)" = "$pub_before"
	check "sites_router: rollback: the preshared key file has its content of before, mode 0600" \
		bash -c "[ \"\$(cat '$T/keys/st-rtr.psk')\" = '$psk_before' ] && [ \$(stat -c %a '$T/keys/st-rtr.psk') = 600 ]"
	check "sites_router: rollback: the gateway has only the key of before" \
		bash -c "nsenter --net=/run/netns/$GW wg show $TUN peers | grep -qx '$pub_before'"
	check "sites_router: rollback: the site (which kept its key) still reaches the cloud" \
		wait_for 10 bash -c "ip netns exec $LH ping -c1 -W1 -q 10.20.0.10 >/dev/null"
else
	fail "sites_router: the rollback did not happen within 30 s"
fi

# ---- bad input: one clear error, nothing changed -------------------------------------
state() { (cd "$T" && find tenants.d keys -type f | sort | xargs sha256sum; gw wg show "$TUN" allowed-ips | sort; ip -n "$GW" link show "$TUN" | head -1 | grep -o 'mtu [0-9]*'); }
bad() { # NAME WANT(grep -E on stderr) CMD...
	local name=$1 want=$2 before after rc; shift 2
	before=$(state)
	"$@" >"$T/bad.out" 2>"$T/bad.err"; rc=$?
	after=$(state)
	if [ $rc = 1 ] && grep -qE "$want" "$T/bad.err" && [ "$before" = "$after" ]; then
		pass "sites_router: bad input: $name: exit 1, '$(grep -E "$want" "$T/bad.err" | head -1 | cut -c1-150)', nothing changed"
	else
		fail "sites_router: bad input: $name: exit $rc, changed=$([ "$before" = "$after" ] && echo no || echo YES): $(head -3 "$T/bad.err" | tr '\n' ' ')"
	fi
}
bad "site add --tunnel-ip outside the tunnel network" "tunnel_ip: '100.64.8.5' is outside the tenant's tunnel networks" \
	rp site add st bad1 --allowed-ips 10.120.9.0/24 --tunnel-ip 100.64.8.5
bad "site add --tunnel-ip of another site" "tunnel_ip: '100.64.7.2' is already the tunnel_ip of site 'rtr'" \
	rp site add st bad2 --allowed-ips 10.120.9.0/24 --tunnel-ip 100.64.7.2
bad "site add --tunnel-ip the gateway's own" "is the gateway's own address" \
	rp site add st bad3 --allowed-ips 10.120.9.0/24 --tunnel-ip 100.64.7.1
bad "site add with a LAN overlapping the site's" "overlaps '10.120.7.0/24' of site 'rtr'" \
	rp site add st bad4 --allowed-ips 10.120.7.128/25
bad "site add with a name check refuses" "is not a site name" \
	rp site add st Bad_4 --allowed-ips 10.120.9.0/24
# edits by hand, then apply: refused, the running system as it was
cp "$T/tenants.d/st.ini" "$T/st.ini.good"
edit_apply() { # NAME WANT SED
	local name=$1 want=$2
	cp "$T/st.ini.good" "$T/tenants.d/st.ini"
	sed -i "$3" "$T/tenants.d/st.ini"
	cp "$T/tenants.d/st.ini" "$T/st.ini.bad"
	bad "$name" "$want" rp apply
	check "sites_router: bad input: $name: the file is left as written" cmp -s "$T/st.ini.bad" "$T/tenants.d/st.ini"
	cp "$T/st.ini.good" "$T/tenants.d/st.ini"
}
edit_apply "site_dns the sites cannot reach" "site_dns: '9.9.9.9' is neither in the tenant's cloud_prefixes nor offered" \
	's/^site_dns = .*/site_dns = 9.9.9.9/'
edit_apply "tunnel_ip outside the tunnel network (by hand)" "tunnel_ip: '100.64.9.9' is outside" \
	's/^tunnel_ip = .*/tunnel_ip = 100.64.9.9/'
edit_apply "mtu out of range" "mtu: '9001' is not a tunnel MTU" 's/^mtu = .*/mtu = 9001/'
# imports
k1=$(wg genkey | wg pubkey)
printf '[Interface]\nPrivateKey = %s\n\n# paris\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.120.30.0/24\n\n# nice\n[Peer]\nPublicKey = not-a-key\nAllowedIPs = 10.120.31.0/24\n' \
	"$(wg genkey)" "$k1" >"$T/imp-badkey.conf"
bad "site import with a bad key" "imp-badkey.conf:11: \[Peer\] PublicKey: 'not-a-key' is not a key" \
	rp site import st "$T/imp-badkey.conf"
printf '# paris\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.120.7.0/25\n' "$k1" "$(wg genpsk)" >"$T/imp-overlap.conf"
bad "site import overlapping a site's LAN" "overlaps '10.120.7.0/24' of site 'rtr'" \
	rp site import st "$T/imp-overlap.conf"
printf '# lyon\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.120.30.0/24\n# lyon\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.120.31.0/24\n' \
	"$k1" "$(wg genkey | wg pubkey)" >"$T/imp-dup.conf"
bad "site import with two peers of one name" "'lyon': the name of the peer at line 2 too" \
	rp site import st "$T/imp-dup.conf"
printf '# rtr2\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.120.30.0/24\n' "$(ini_site public_key)" >"$T/imp-key.conf"
bad "site import of a key a site has" "is already the key of site 'rtr'" \
	rp site import st "$T/imp-key.conf"
# a good import: the tunnel address becomes tunnel_ip
printf '# Name = Lyon Prefecture\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 100.64.7.40/32, 10.120.40.1/24\nPersistentKeepalive = 25\n' \
	"$k1" "$(wg genpsk)" >"$T/imp-ok.conf"
if rp site import st "$T/imp-ok.conf" >"$T/imp.out" 2>&1; then
	check "sites_router: site import: [site lyon-prefecture] with tunnel_ip and its PSK (0600)" \
		bash -c "grep -qx '\[site lyon-prefecture\]' '$T/tenants.d/st.ini' && grep -qx 'tunnel_ip = 100.64.7.40' '$T/tenants.d/st.ini' &&
			 grep -qx 'allowed_ips = 10.120.40.0/24' '$T/tenants.d/st.ini' && [ \$(stat -c %a '$T/keys/st-lyon-prefecture.psk') = 600 ]"
else
	fail "sites_router: site import: $(cat "$T/imp.out")"
fi
out=$(rp site config st rtr --qr 2>"$T/qr.err")
check "sites_router: site config --qr prints a QR code and says it needs the key filled in" \
	bash -c "[[ '$out' == *█* ]] && grep -q 'REPLACE_WITH_SITE_PRIVATE_KEY' '$T/qr.err'"
