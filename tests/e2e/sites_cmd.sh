#!/bin/bash
# sites_cmd: `rempart site add|config|rekey|import` on a configuration in a
# temporary directory, no network: what they write into the tenant file and
# the key directory, what they print (text, --json, --qr), and that the
# tenant's private key need not be readable.  (sites_router runs a real
# site with all of it.)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
T=$(mktemp -d /tmp/sites_cmd.XXXXXX)
trap 'rm -rf "$T"' EXIT
PY=/usr/bin/python3
R() { "$REMPART" -c "$T" "$@"; }
ini() { # SECTION KEY
	awk -v s="[$1]" -v k="$2" '/^\[/ { in_s = ($0 == s) } in_s && $1 == k { sub(/^[^=]*= */, ""); print }' "$T/tenants.d/a.ini"
}
mkdir -p "$T/tenants.d" "$T/keys" "$T/state"
(umask 077; "$REMPART" keygen >"$T/keys/a.key")
cat >"$T/rempart.ini" <<EOF
[gateway]
uplink = eth0
public_endpoint = 2001:db8::1
tenants = tenants.d
state_dir = $T/state
EOF
cat >"$T/tenants.d/a.ini" <<EOF
[tenant]
name = a
id = 1
cloud_interface = eth1
cloud_prefixes = 10.20.0.0/16
tunnel_address = 100.64.1.1/24, fd64:1::1/64
listen_port = 51801
private_key_file = ../keys/a.key
EOF
gwpub=$(wg pubkey <"$T/keys/a.key")

# add: text, next tunnel_ip, relative PSK path; no MTU/DNS lines unset
R site add a s1 --allowed-ips 10.1.0.0/24 >"$T/s1.conf" 2>"$T/err" || fail "sites_cmd: site add s1: $(cat "$T/err")"
check "sites_cmd: add: Address = the first free tunnel_ip of each network" \
	grep -qx 'Address = 100.64.1.2/32, fd64:1::2/128' "$T/s1.conf"
check "sites_cmd: add: no MTU or DNS line when the tenant sets none" \
	bash -c "! grep -q '^MTU\|^DNS' '$T/s1.conf'"
check "sites_cmd: add: the Endpoint is [v6]:port" grep -qx 'Endpoint = \[2001:db8::1\]:51801' "$T/s1.conf"
check "sites_cmd: add: PublicKey is the tenant's" grep -qx "PublicKey = $gwpub" "$T/s1.conf"
check "sites_cmd: add: tunnel_ip and a relative preshared_key_file in the tenant file" \
	test "$(ini 'site s1' tunnel_ip); $(ini 'site s1' preshared_key_file)" = "100.64.1.2, fd64:1::2; ../keys/a-s1.psk"
check "sites_cmd: add: the private key printed is the pair of public_key" \
	test "$(sed -n 's/^PrivateKey = //p' "$T/s1.conf" | wg pubkey)" = "$(ini 'site s1' public_key)"
# add --json: complete, with the private key
R site add a s2 --allowed-ips 10.2.0.0/24 --no-tunnel-ip --json >"$T/s2.json" 2>/dev/null
check "sites_cmd: add --json: complete, private key, no address with --no-tunnel-ip" \
	"$PY" -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(not (j["complete"] and j["interface"]["private_key"] and j["interface"]["address"] == []
	and j["peer"]["preshared_key"] and "Address" not in j["text"]))' "$T/s2.json"
# add --qr: a QR code, never the key as text
R site add a s3 --allowed-ips 10.3.0.0/24 --qr >"$T/s3.qr" 2>/dev/null
check "sites_cmd: add --qr: a QR code, no text" \
	bash -c "grep -q '█' '$T/s3.qr' && ! grep -q 'PrivateKey' '$T/s3.qr'"
check "sites_cmd: add --qr: the site has the next tunnel_ip (.3, since s2 has none)" \
	test "$(ini 'site s3' tunnel_ip)" = "100.64.1.3, fd64:1::3"
# config: placeholder; --json not complete
R site config a s1 --json >"$T/c1.json"
check "sites_cmd: config --json: the placeholder, not complete" \
	"$PY" -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(not (not j["complete"] and j["interface"]["private_key"] is None
	and "PrivateKey = REPLACE_WITH_SITE_PRIVATE_KEY" in j["text"]))' "$T/c1.json"
# options before or after the arguments, --opt=value (getopt_long)
R site add --allowed-ips=10.4.0.0/24 a s4 --tunnel-ip=100.64.1.40 >/dev/null 2>&1
check "sites_cmd: add: options anywhere, --opt=value" test "$(ini 'site s4' tunnel_ip)" = "100.64.1.40"

# the tenant's private key unreadable: [tenant] public_key, else the copy
# apply keeps (state_dir/pubkeys)
mv "$T/keys/a.key" "$T/a.key.away"
R site config a s1 >/dev/null 2>"$T/err"; rc=$?
check "sites_cmd: without the private key nor a public key: exit 2, says what was tried" \
	bash -c "[ $rc = 2 ] && grep -q 'public key is unknown' '$T/err'"
mkdir -p "$T/state/pubkeys"; echo "$gwpub" >"$T/state/pubkeys/a.pub"
check "sites_cmd: without the private key: the copy in state_dir/pubkeys" \
	bash -c "'$REMPART' -c '$T' site config a s1 | grep -qx 'PublicKey = $gwpub'"
rm "$T/state/pubkeys/a.pub"
sed -i "s|^private_key_file = .*|&\npublic_key = $gwpub|" "$T/tenants.d/a.ini"
R site add a s5 --allowed-ips 10.5.0.0/24 >"$T/s5.conf" 2>"$T/err"
check "sites_cmd: without the private key: site add with [tenant] public_key" \
	grep -qx "PublicKey = $gwpub" "$T/s5.conf"
mv "$T/a.key.away" "$T/keys/a.key"
check "sites_cmd: [tenant] public_key matches the private key: check passes" bash -c "'$REMPART' -c '$T' check >/dev/null"
sed -i "s|^public_key = $gwpub|public_key = $(wg genkey | wg pubkey)|" "$T/tenants.d/a.ini"
check "sites_cmd: [tenant] public_key that is not the private key's: check fails" \
	bash -c "! '$REMPART' -c '$T' check 2>/dev/null"
sed -i '/^\[tenant\]/,/^\[/{/^public_key = /d}' "$T/tenants.d/a.ini"

# rekey: pending rotation in the file; a second rekey keeps the previous key
pub1=$(ini 'site s1' public_key); psk1=$(cat "$T/keys/a-s1.psk")
R site rekey a s1 --json >"$T/r1.json" 2>/dev/null
check "sites_cmd: rekey: new public_key, previous_public_key the one in use" \
	test "$(ini 'site s1' previous_public_key)" = "$pub1" -a "$(ini 'site s1' public_key)" != "$pub1"
check "sites_cmd: rekey: the previous PSK kept in a 0600 file, the new one in place" \
	bash -c "[ \"\$(cat '$T/keys/a-s1.previous.psk')\" = '$psk1' ] && [ \"\$(cat '$T/keys/a-s1.psk')\" != '$psk1' ] &&
		 [ \$(stat -c %a '$T/keys/a-s1.previous.psk') = 600 ]"
check "sites_cmd: rekey --json: complete, the new key, previous_public_key" \
	"$PY" -c 'import json, sys, subprocess
j = json.load(open(sys.argv[1]))
pub = subprocess.run(["wg", "pubkey"], input=j["interface"]["private_key"], capture_output=True, text=True).stdout.strip()
sys.exit(not (j["complete"] and j["previous_public_key"] == sys.argv[2] and pub == sys.argv[3]))' \
	"$T/r1.json" "$pub1" "$(ini 'site s1' public_key)"
R site rekey a s1 >/dev/null 2>&1
check "sites_cmd: rekey again before the switch: the previous key stays the one in use" \
	test "$(ini 'site s1' previous_public_key)" = "$pub1"
R site rekey a s1 --psk-only >/dev/null 2>"$T/err"; rc=$?
check "sites_cmd: rekey --psk-only during a rotation: refused (exit 1)" \
	bash -c "[ $rc = 1 ] && grep -q 'is being rekeyed' '$T/err'"
R site rekey a s1 --public-key "$pub1" >/dev/null 2>"$T/err"; rc=$?
check "sites_cmd: rekey --public-key with the key in use: refused" \
	bash -c "[ $rc = 1 ] && grep -q \"is the site's previous key\" '$T/err'"
pub3=$(ini 'site s3' public_key)
R site rekey a s3 --psk-only >"$T/r3.conf" 2>/dev/null
check "sites_cmd: rekey --psk-only: same public key, no previous_*, the placeholder printed" \
	bash -c "[ '$(ini 'site s3' public_key)' = '$pub3' ] && ! awk '/^\[site s3\]/,/^$/' '$T/tenants.d/a.ini' | grep -q previous_ &&
		 grep -q REPLACE_WITH_SITE_PRIVATE_KEY '$T/r3.conf'"
check "sites_cmd: the configuration loads after all of it" bash -c "'$REMPART' -c '$T' check >/dev/null"

# a tenant key rotation (docs/keys.md): site config prints the next key and
# port, --current the present ones; without the next key file readable,
# the copy apply keeps in the state directory
(umask 077; "$REMPART" keygen >"$T/keys/a.next.key")
nextpub=$(wg pubkey <"$T/keys/a.next.key")
cp "$T/tenants.d/a.ini" "$T/a.ini.before"
sed -i 's|^private_key_file = ../keys/a.key|&\nnext_private_key_file = ../keys/a.next.key\nnext_listen_port = 51802|' "$T/tenants.d/a.ini"
R site config a s1 >"$T/s1-next.conf" 2>"$T/s1-next.err"
check "sites_cmd: key rotation: site config prints the next key and next_listen_port, and says so" \
	bash -c "grep -qx 'PublicKey = $nextpub' '$T/s1-next.conf' && grep -qx 'Endpoint = \[2001:db8::1\]:51802' '$T/s1-next.conf' &&
		grep -q 'rotating its key.*next_listen_port 51802.*--current' '$T/s1-next.err'"
R site config a s1 --current >"$T/s1-cur.conf" 2>/dev/null
check "sites_cmd: key rotation: site config --current prints the present key and listen_port" \
	bash -c "grep -qx 'PublicKey = $gwpub' '$T/s1-cur.conf' && grep -qx 'Endpoint = \[2001:db8::1\]:51801' '$T/s1-cur.conf'"
R site config a s1 --json >"$T/s1-next.json" 2>/dev/null
check "sites_cmd: key rotation: site config --json has the next key too" \
	"$PY" -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(not (j["peer"]["public_key"] == sys.argv[2] and j["peer"]["endpoint"].endswith(":51802")))' "$T/s1-next.json" "$nextpub"
cp "$T/tenants.d/a.ini" "$T/a.ini.rot"
sed -i 's|^next_listen_port = 51802|next_listen_port = 51801|' "$T/tenants.d/a.ini"
R check >/dev/null 2>"$T/rot.err"; rc=$?
check "sites_cmd: key rotation: check refuses next_listen_port = listen_port (exit $rc)" \
	bash -c "[ $rc = 1 ] && grep -q 'next_listen_port: 51801 is the tenant' '$T/rot.err'"
cp "$T/a.ini.before" "$T/tenants.d/a.ini"

# import: names, PSK files, tunnel_ip, and a dry run that writes nothing
k1=$(wg genkey | wg pubkey)
printf '[Interface]\nListenPort = 51820\nPrivateKey = %s\n\n# Bordeaux prefecture\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 100.64.1.77/32, 10.9.0.1/24\nEndpoint = 192.0.2.9:51820\nPersistentKeepalive = 25\n' \
	"$(wg genkey)" "$k1" "$(wg genpsk)" >"$T/wg0.conf"
before=$(sha256sum "$T/tenants.d/a.ini")
R site import a "$T/wg0.conf" --dry-run >"$T/dry.out" 2>/dev/null
check "sites_cmd: import --dry-run: prints the section, writes nothing" \
	bash -c "grep -qx '\[site bordeaux-prefecture\]' '$T/dry.out' && [ \"\$(sha256sum '$T/tenants.d/a.ini')\" = '$before' ] &&
		 [ ! -e '$T/keys/a-bordeaux-prefecture.psk' ]"
R site import a "$T/wg0.conf" --json >"$T/imp.json" 2>/dev/null
check "sites_cmd: import: the site with tunnel_ip, the masked LAN, endpoint, keepalive, its PSK 0600" \
	bash -c "grep -qx 'tunnel_ip = 100.64.1.77' '$T/tenants.d/a.ini' && grep -qx 'allowed_ips = 10.9.0.0/24' '$T/tenants.d/a.ini' &&
		 grep -qx 'endpoint = 192.0.2.9:51820' '$T/tenants.d/a.ini' && [ \$(stat -c %a '$T/keys/a-bordeaux-prefecture.psk') = 600 ]"
check "sites_cmd: import --json: the sites written" \
	"$PY" -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(not (j["written"] and j["sites"][0]["name"] == "bordeaux-prefecture" and j["sites"][0]["tunnel_ip"] == "100.64.1.77"))' "$T/imp.json"
check "sites_cmd: the configuration loads after the import" bash -c "'$REMPART' -c '$T' check >/dev/null"
[ "$T_FAILS" -eq 0 ]
