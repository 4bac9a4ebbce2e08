#!/bin/bash
# ops_docs: the man pages render without a warning, and bash completion
# completes commands, options and tenant names.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
export LC_ALL=C.UTF-8

for page in dist/rempart.8 dist/rempart.ini.5; do
	if out=$(groff -man -Tutf8 -ww -z "$page" 2>&1) && [ -z "$out" ]; then
		pass "ops_docs: $page renders with groff -man -ww, no warning"
	else
		fail "ops_docs: $page: $out"
	fi
	if out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) && [ -z "$out" ]; then
		pass "ops_docs: man -l $page, no warning"
	else
		fail "ops_docs: man -l $page: $out"
	fi
done
# Every metric name of rempart(8) and every command is documented.
for w in rempart_packets_total rempart_bytes_total rempart_geo_drops_total \
	rempart_site_last_handshake_seconds rempart_site_rx_bytes_total \
	rempart_site_tx_bytes_total rempart_policy_generation rempart_reload_total \
	rempart_audit_violations rempart_audit_last_run_seconds \
	check apply confirm run down status monitor explain geo site audit keygen; do
	man -l dist/rempart.8 2>/dev/null | grep -q -- "$w" || fail "ops_docs: rempart(8) lacks $w"
done
pass "ops_docs: rempart(8) names every command and metric"
for k in name uplink public_endpoint tenants state_dir fail_mode ipv4 ipv6 format unknown \
	allow_from tcp_ports countries listen id cloud_interface vlan cloud_address \
	cloud_prefixes tunnel_interface tunnel_address listen_port private_key_file \
	site_countries egress egress_countries intra public_key preshared_key_file \
	allowed_ips endpoint keepalive from to proto ports action mtu site_dns tunnel_ip \
	previous_public_key previous_preshared_key_file; do
	man -l dist/rempart.ini.5 2>/dev/null | grep -qw -- "$k" || fail "ops_docs: rempart.ini(5) lacks $k"
done
pass "ops_docs: rempart.ini(5) names every key of docs/config.md"

BC=/usr/share/bash-completion/bash_completion
if [ ! -r "$BC" ]; then
	skip "ops_docs: bash completion: bash-completion not installed"
	[ "$T_FAILS" -eq 0 ]; exit
fi
T=$(mktemp -d /tmp/op_docs.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/tenants.d"
printf '[gateway]\ntenants = tenants.d\n' >"$T/rempart.ini"
: >"$T/tenants.d/interieur.ini"; : >"$T/tenants.d/justice.ini"
# complete WORDS...: what completing the last word offers, space-separated.
complete_words() {
	bash -c '. '"$BC"' 2>/dev/null; . dist/rempart.bash-completion
		COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_rempart rempart "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		echo "${COMPREPLY[*]}"' _ "$@"
}
check "ops_docs: completes commands ('mo' -> monitor)" test "$(complete_words rempart mo)" = monitor
check "ops_docs: completes options (apply --c -> --confirm)" \
	test "$(complete_words rempart apply --c)" = --confirm
check "ops_docs: completes site subcommands ('site re' -> rekey)" \
	test "$(complete_words rempart site re)" = rekey
check "ops_docs: completes site rekey options (--psk -> --psk-only)" \
	test "$(complete_words rempart site rekey a b --psk)" = --psk-only
check "ops_docs: completes tenant names from the config (site add -c DIR)" \
	test "$(complete_words rempart -c "$T" site add '')" = "interieur justice"
check "ops_docs: completes monitor --json" test "$(complete_words rempart monitor --j)" = --json
[ "$T_FAILS" -eq 0 ]
