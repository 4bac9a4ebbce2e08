#!/bin/bash
# ops_docs: the man pages render without a warning, the docs stay inside
# the repository and document every command, option and metric, and bash
# completion completes commands, options and tenant names.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
BUILD=${BUILD:-$PWD/build}
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
	rempart_build_info rempart_rule_packets_total rempart_site_up rempart_events_lost_total \
	rempart_flows rempart_flow_table_capacity rempart_flow_table_entries \
	rempart_flow_evictions_total rempart_flow_refused_total \
	rempart_audit_violations rempart_audit_last_run_seconds rempart_audit_runs_total \
	rempart_ha_role rempart_ha_transitions_total rempart_ha_sync_lag_seconds \
	check apply confirm run down status monitor explain diff history rollback geo site audit keygen help; do
	man -l dist/rempart.8 2>/dev/null | grep -q -- "$w" || missing="${missing:-} $w"
done
if [ -z "${missing:-}" ]; then pass "ops_docs: rempart(8) names every command and metric"
else fail "ops_docs: rempart(8) lacks:$missing"; fi
missing=
for k in name uplink public_endpoint tenants state_dir fail_mode ipv4 ipv6 format unknown \
	allow_from tcp_ports countries listen id cloud_interface vlan cloud_address \
	cloud_prefixes tunnel_interface tunnel_address listen_port private_key_file \
	site_countries egress egress_countries intra public_key preshared_key_file \
	allowed_ips endpoint keepalive from to proto ports action mtu site_dns tunnel_ip \
	previous_public_key previous_preshared_key_file next_private_key_file next_listen_port \
	peer sync_interface priority vrid; do
	man -l dist/rempart.ini.5 2>/dev/null | grep -qw -- "$k" || missing="$missing $k"
done
if [ -z "$missing" ]; then pass "ops_docs: rempart.ini(5) names every key of docs/config.md"
else fail "ops_docs: rempart.ini(5) lacks:$missing"; fi

# The docs stay inside the repository: every Markdown link of a tracked
# page resolves to a file of the repository, none leaves it (../ above the
# top, another host), and no page of README, docs/ or dist/ sends the
# reader to a contract that is not here.
links=$(python3 - <<'PY'
import os, re, subprocess
root = os.path.realpath('.')
files = subprocess.check_output(['git', 'ls-files', '--cached', '--others', '--exclude-standard', '*.md']).decode().split()
for f in files:
    if f.startswith('build/'):
        continue
    for m in re.finditer(r'\]\(([^)\s]+)\)', open(f, encoding='utf-8').read()):
        t = m.group(1)
        if t.startswith('#'):
            continue
        if re.match(r'[a-z][a-z0-9+.-]*:', t):
            print(f'{f}: {t} (outside the repository)')
            continue
        p = os.path.realpath(os.path.join(os.path.dirname(f), t.split('#')[0]))
        if not (p + '/').startswith(root + '/'):
            print(f'{f}: {t} (outside the repository)')
        elif not os.path.exists(p):
            print(f'{f}: {t} (no such file)')
PY
)
check "ops_docs: every Markdown link stays in the repository and resolves${links:+: $links}" test -z "$links"
spec=$(grep -rlE 'SPEC(\.md| §)|shared/' README.md docs dist image/README.md 2>/dev/null)
check "ops_docs: README, docs/, dist/ cite no document outside the repository${spec:+ ($spec)}" test -z "$spec"
# docs/reference.md: every command, subcommand and option of the command
# table, and every metric the daemon serves (the real scrape's families).
miss=$("$BUILD/rempart" help --json | python3 -c '
import json, sys
d = json.load(sys.stdin); ref = open("docs/reference.md").read()
for c in d["commands"]:
    subs = c.get("subcommands") or [c]
    for s in subs:
        name = c["name"] + ("" if s is c else " " + s["name"])
        if "`" + name not in ref:
            print(name)
        for o in s.get("options") or []:
            if not o.get("hidden") and "--" + o["name"] not in ref:
                print(name + " --" + o["name"])
')
check "ops_docs: docs/reference.md names every command and option${miss:+ (lacks: $(echo $miss))}" test -z "$miss"
for m in rempart_packets_total rempart_bytes_total rempart_geo_drops_total \
	rempart_site_last_handshake_seconds rempart_site_rx_bytes_total rempart_site_tx_bytes_total \
	rempart_policy_generation rempart_reload_total rempart_build_info rempart_rule_packets_total \
	rempart_site_up rempart_events_lost_total rempart_events_ratelimited_total \
	rempart_dataplane_loaded rempart_flows rempart_flow_table_capacity \
	rempart_flow_table_entries rempart_flow_evictions_total rempart_flow_refused_total \
	rempart_ha_role rempart_ha_transitions_total rempart_ha_sync_lag_seconds; do
	grep -q "$m" docs/reference.md || miss_m="${miss_m:-} $m"
done
check "ops_docs: docs/reference.md documents every metric served${miss_m:+ (lacks$miss_m)}" test -z "${miss_m:-}"
# Every reason of bpf/rempart_abi.h (RP_REASONS) in reference.md's table
# and in rempart(8).
for r in $(sed -n 's/^[[:space:]]*X(RP_R_[A-Z_]*, "\([a-z_]*\)").*/\1/p' bpf/rempart_abi.h); do
	grep -q "^| \`$r\` |" docs/reference.md || miss_r="${miss_r:-} reference.md:$r"
	grep -qE "^\.B[IR]* $r( |$)" dist/rempart.8 || miss_r="${miss_r:-} rempart.8:$r"
	n_r=$(( ${n_r:-0} + 1 ))
done
check "ops_docs: the ${n_r:-0} reasons of rempart_abi.h are in docs/reference.md and rempart(8)${miss_r:+ (lacks$miss_r)}" \
	test -z "${miss_r:-}" -a "${n_r:-0}" -ge 13

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
check "ops_docs: completes options (apply --confi -> --confirm)" \
	test "$(complete_words rempart apply --confir)" = --confirm
check "ops_docs: completes site subcommands ('site re' -> rekey)" \
	test "$(complete_words rempart site re)" = rekey
check "ops_docs: completes site rekey options (--psk -> --psk-only)" \
	test "$(complete_words rempart site rekey a b --psk)" = --psk-only
check "ops_docs: completes tenant names from the config (site add -c DIR)" \
	test "$(complete_words rempart -c "$T" site add '')" = "interieur justice"
check "ops_docs: completes monitor --json" test "$(complete_words rempart monitor --j)" = --json
[ "$T_FAILS" -eq 0 ]
