#!/bin/bash
# `rempart explain` end to end: the binary, the config loader, the geo
# database (tests/eval/base/geo.cidr through geo_load) and the evaluator.
# Run from the top of the tree with $REMPART set (tests/run-all.sh does).
set -u
. tests/lib.sh
R=${REMPART:-build/rempart}
CFG=tests/eval/base

# explain_json NAME EXPECTED-JSON ARGS...: exit 0 and exactly that line
explain_json() {
	local name=$1 want=$2 out rc
	shift 2
	out=$("$R" -c "$CFG" explain "$@" --json 2>&1); rc=$?
	if [ "$rc" -eq 0 ] && [ "$out" = "$want" ]; then pass "explain: $name"
	else fail "explain: $name: exit $rc, got: $out"; fi
}

# explain_exit NAME CODE PATTERN ARGS...: that exit code, stderr one line matching PATTERN
explain_exit() {
	local name=$1 code=$2 pat=$3 err rc
	shift 3
	err=$("$R" -c "$CFG" explain "$@" 2>&1 >/dev/null); rc=$?
	if [ "$rc" -eq "$code" ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] &&
	   [[ "$err" == *$pat* ]]; then pass "explain: $name"
	else fail "explain: $name: exit $rc (want $code), stderr: $err"; fi
}

j() { # verdict reason tenant rule country (- for null)
	local rule=null country=null
	[ "$4" != - ] && rule="\"$4\""
	[ "$5" != - ] && country="\"$5\""
	printf '{ "verdict": "%s", "reason": "%s", "tenant": "%s", "rule": %s, "country": %s }' \
		"$1" "$2" "$3" "$rule" "$country"
}

if [ ! -x "$R" ]; then fail "explain: $R is not built"; exit 1; fi

explain_json "intra allowed, overlapping prefix" "$(j allow allowed alpha - -)" \
	--in wg-alpha --src 10.120.1.5 --dst 10.20.1.10 --proto tcp --dport 443
explain_json "beta's rule on the same address" "$(j allow allowed beta web -)" \
	--in wg-beta --src 10.130.1.5 --dst 10.20.1.10 --proto tcp --dport 8443
explain_json "cross tenant" "$(j drop cross_tenant alpha - -)" \
	--in wg-alpha --src 10.120.1.5 --dst 10.30.1.1 --proto tcp --dport 22
explain_json "share over udp 53" "$(j allow allowed gamma dns -)" \
	--in eth2 --src 10.30.1.1 --dst 10.20.0.53 --proto udp --sport 5353 --dport 53
explain_json "share, wrong protocol" "$(j drop cross_tenant alpha - -)" \
	--in wg-alpha --src 10.120.1.5 --dst 10.20.0.53 --proto tcp --dport 53
explain_json "spoofed from the cloud (eth1 --vlan 110)" "$(j drop spoofed alpha - -)" \
	--in eth1 --vlan 110 --src 10.120.1.5 --dst 10.20.1.10 --proto tcp --dport 443
explain_json "unknown VLAN" "$(j drop malformed _gateway - -)" \
	--in eth1.130 --src 10.20.3.3 --dst 10.120.1.5
explain_json "rule, IPv6" "$(j drop no_rule alpha lyon-no-ssh -)" \
	--in wg-alpha --src fd01:2::5 --dst fd00:20::3 --proto tcp --dport 22
explain_json "geo-fence: site country" "$(j allow allowed alpha - GP)" \
	--in eth0 --src 203.0.113.200 --dst 198.51.100.10 --proto udp --dport 51810
explain_json "geo-fence: blocked country" "$(j drop geo_site alpha - DE)" \
	--in eth0 --src 203.0.113.5 --dst 198.51.100.10 --proto udp --dport 51810
explain_json "geo-fence: allow_from abroad" "$(j allow allowed alpha - MA)" \
	--in eth0 --src 196.200.1.7 --dst 198.51.100.10 --proto udp --dport 51810
explain_json "geo-fence: no country, unknown = deny" "$(j drop geo_site alpha - -)" \
	--in eth0 --src 8.8.8.8 --dst 198.51.100.10 --proto udp --dport 51810
explain_json "uplink: a listen port not addressed to the gateway" "$(j drop not_wireguard alpha - -)" \
	--in eth0 --src 203.0.113.200 --dst 10.20.1.10 --proto udp --dport 51810
explain_json "uplink: a DHCP reply to a cloud host" "$(j drop not_wireguard _gateway - -)" \
	--in eth0 --src 192.0.2.1 --dst 10.20.1.10 --proto udp --sport 67 --dport 68
explain_json "gateway: ssh to the tenant's tunnel address" "$(j drop gateway alpha - -)" \
	--in wg-alpha --src 10.120.1.5 --dst 100.64.10.1 --proto tcp --dport 22
explain_json "gateway: echo on the tenant's cloud address" "$(j allow allowed alpha - -)" \
	--in eth1.110 --src 10.20.3.3 --dst 10.20.0.1 --proto icmp
explain_json "gateway: another tenant's tunnel address" "$(j drop gateway beta - -)" \
	--in wg-beta --src 10.130.1.5 --dst 100.64.10.1 --proto icmp
explain_json "management" "$(j allow management _gateway - FR)" \
	--in eth0 --src 192.0.2.10 --dst 198.51.100.10 --proto tcp --dport 22
explain_json "not wireguard" "$(j drop not_wireguard _gateway - -)" \
	--in eth0 --src 8.8.8.8 --dst 198.51.100.10 --proto icmp
explain_json "egress outside the EU" "$(j drop geo_egress alpha - US)" \
	--in eth1.110 --src fd00:20::3 --dst 2001:db8:5::1 --proto tcp --dport 443
explain_json "egress none" "$(j drop no_rule beta - -)" \
	--in wg-beta --src 10.130.1.5 --dst 185.15.58.1 --proto tcp --dport 443
explain_json "cleartext at --out" "$(j drop cleartext beta - -)" \
	--out eth0 --src 198.51.100.10 --dst 10.130.2.9 --proto udp --dport 53
explain_json "later fragment" "$(j drop fragment alpha - -)" \
	--in wg-alpha --src 10.120.1.5 --dst 10.20.1.10 --frag later
explain_json "protocol number" "$(j allow allowed delta files -)" \
	--in wg-delta --src 10.150.1.2 --dst 10.20.9.9 --proto 47

out=$("$R" -c "$CFG" explain --in wg-alpha --src 10.120.2.5 --dst 10.20.5.20 --proto tcp --dport 5432)
rc=$?
first=$(printf '%s\n' "$out" | head -1)
if [ $rc -eq 0 ] && [ "$first" = "drop no_rule  tenant=alpha rule=no-db country=-" ] &&
   printf '%s\n' "$out" | grep -q '^  why: .*rule denies'; then pass "explain: text output"
else fail "explain: text output: exit $rc: $out"; fi

if "$R" explain --help | grep -q -- '--dport'; then pass "explain: --help"; else fail "explain: --help"; fi
explain_exit "bad address" 1 "--src: '10.1.1' is not an IP address" \
	--in eth0 --src 10.1.1 --dst 10.1.1.1
explain_exit "bad port" 1 "--dport: '65536'" --in eth0 --src 10.1.1.1 --dst 10.1.1.2 --dport 65536
explain_exit "bad protocol" 1 "--proto: 'sctp'" --in eth0 --src 10.1.1.1 --dst 10.1.1.2 --proto sctp
explain_exit "families differ" 1 "not of one family" --in eth0 --src 10.1.1.1 --dst ::1
explain_exit "missing --dst" 1 "--dst IP is required" --in eth0 --src 10.1.1.1
explain_exit "unknown interface" 1 "--in eth9: not an interface" --in eth9 --src 10.1.1.1 --dst 10.1.1.2
explain_exit "--out a tunnel" 1 "only the uplink" --out wg-alpha --src 10.1.1.1 --dst 10.1.1.2
explain_exit "--vlan on a tunnel" 1 "--vlan: wg-alpha is not a cloud interface" \
	--in wg-alpha --vlan 110 --src 10.120.1.5 --dst 10.20.1.10
explain_exit "--vlan disagrees with eth1.110" 1 "--in eth1.110: not an interface" \
	--in eth1.110 --vlan 120 --src 10.20.1.5 --dst 10.20.1.10
explain_exit "unknown option" 1 "unknown option '--bogus'" --in eth0 --bogus 1

# A geo database that cannot be loaded: exit 2, one line.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$CFG"/. "$tmp"/
printf '10.0.0.0/8,FR\nthis is not a cidr line\n' > "$tmp/geo.cidr"
CFG=$tmp explain_exit "geo database fails to load" 2 "geo" \
	--in eth0 --src 10.1.1.1 --dst 10.1.1.2
[ "$T_FAILS" -eq 0 ]
