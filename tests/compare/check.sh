#!/bin/bash
# The benchmark's translator (bench/translate/rp2fw): the small generated
# config renders into an nftables ruleset that the kernel accepts (nft -c,
# then loaded for real) and into ipset + iptables rules that
# iptables-restore --test accepts, with the structure the benchmark relies
# on.  Inside a network namespace of its own (cmpchk-$$).
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
BUILD=${BUILD:-$PWD/build}
REMPART=${REMPART:-$BUILD/rempart}
RP2FW=$BUILD/bench/rp2fw
if [ "$(id -u)" != 0 ]; then skip "compare: needs root (namespaces)"; exit 0; fi
for t in nft ipset iptables-restore ip6tables-restore iptables-legacy-restore; do
	command -v $t >/dev/null || { skip "compare: $t missing (make deps)"; exit 0; }
done
[ -x "$RP2FW" ] || { fail "compare: $RP2FW missing (make tests builds it)"; exit 1; }
tmp=$(mktemp -d /tmp/cmpchk.XXXXXX)
ns=cmpchk-$$
trap 'ip netns del $ns 2>/dev/null; rm -rf "$tmp"' EXIT

python3 bench/gen/gen.py small "$tmp/cfg" --rempart "$REMPART" 2>/dev/null
check "compare: generated small config passes rempart check" bash -c "\"$REMPART\" -c \"$tmp/cfg\" check >/dev/null"
n=$(ls "$tmp/cfg/tenants.d" | wc -l)
check "compare: small config has 3 tenants" test "$n" = 3
mode=$(stat -c %a "$tmp/cfg/keys/t001.key")
check "compare: tenant key is mode 600" test "$mode" = 600

"$RP2FW" nft "$tmp/cfg" > "$tmp/rules.nft"
check "compare: rp2fw nft succeeds" test -s "$tmp/rules.nft"
mkdir -p "$tmp/ipt"
check "compare: rp2fw ipt succeeds" "$RP2FW" ipt "$tmp/cfg" "$tmp/ipt"

ip netns add $ns || { fail "compare: cannot create namespace $ns"; exit 1; }
ip link add cmpup netns $ns type veth peer name cmpupx netns $ns
ip -n $ns link set cmpup up

check "compare: nft -c accepts the ruleset" ip netns exec $ns nft -c -f "$tmp/rules.nft"
check "compare: nft loads the ruleset" ip netns exec $ns nft -f "$tmp/rules.nft"
out=$(ip netns exec $ns nft list chain inet rp t001_intra 2>&1)
check "compare: t001's rule chain holds rule fwd (udp 5000-5999 to 10.1.200.0/24)" \
	grep -q 'ip daddr 10.1.200.0/24 udp dport 5000-5999 accept comment "fwd"' <<<"$out"
check "compare: t001's rule chain ends with intra = deny" \
	bash -c 'grep -v "^\s*$" | grep -v "^\s*}" | tail -1 | grep -q "^\s*drop$"' <<<"$out"
out=$(ip netns exec $ns nft list map inet rp t001_z4 2>&1)
check "compare: t001's zone map sends its cloud to the rule chain" \
	grep -q '10.1.0.0/16 : goto t001_intra' <<<"$out"
# FR = (5*26 + 17) + 1 = 148 = 0x94 in the mark
out=$(ip netns exec $ns nft list set netdev rp_up fence 2>&1)
check "compare: the fence lets FR in on t001's port (51001 . 0x94)" grep -q '51001 . 0x00000094' <<<"$out"
check "compare: the fence has no unknown-country entry (unknown = deny)" \
	bash -c '! grep -q " \. 0x00000000" ' <<<"$out"
"$RP2FW" nft-tenant "$tmp/cfg" t001 > "$tmp/change.nft"
check "compare: the one-rule change applies on the loaded ruleset" ip netns exec $ns nft -f "$tmp/change.nft"

check "compare: ipset restore accepts the sets" bash -c "ip netns exec $ns ipset restore < '$tmp/ipt/ipset.restore'"
check "compare: iptables-restore --test (legacy) accepts the IPv4 rules" \
	bash -c "ip netns exec $ns iptables-legacy-restore --test < '$tmp/ipt/iptables.rules'"
check "compare: ip6tables-restore --test (legacy) accepts the IPv6 rules" \
	bash -c "ip netns exec $ns ip6tables-legacy-restore --test < '$tmp/ipt/ip6tables.rules'"
check "compare: iptables-restore --test (default backend) accepts the IPv4 rules" \
	bash -c "ip netns exec $ns iptables-restore --test < '$tmp/ipt/iptables.rules'"
n=$(ip netns exec $ns ipset list -n | grep -c '^cc_FR_')
check "compare: one FR set per family" test "$n" = 2
# a rule naming a set that does not exist must fail the test run
sed 's/t001_sites4/cmp_no_such_set/' "$tmp/ipt/iptables.rules" > "$tmp/bad.rules"
check "compare: iptables-restore --test refuses a missing set (the check can fail)" \
	bash -c "! ip netns exec $ns iptables-legacy-restore --test < '$tmp/bad.rules' 2>/dev/null"
"$RP2FW" sources "$tmp/cfg" t001 blocked 50 7 > "$tmp/blocked"
n=$(wc -l < "$tmp/blocked")
check "compare: rp2fw sources prints 50 addresses" test "$n" = 50
bad=0
while read -r a; do
	cc=$("$REMPART" -c "$tmp/cfg" geo lookup "$a" 2>/dev/null | awk 'NR == 1 {print $2}')
	case " FR BE LU CH DE " in *" $cc "*) bad=$((bad + 1)) ;; esac
	[ -z "$cc" ] && bad=$((bad + 1))
done < <(head -10 "$tmp/blocked")
check "compare: blocked sources lie in countries outside t001's (geo lookup)" test "$bad" = 0
# the forwarding test's writer: packets written into a tun are what the
# kernel takes in on it
FLOOD=$BUILD/bench/cmp_flood
if [ -x "$FLOOD" ]; then
	ip -n $ns tuntap add dev cmpchkt mode tun && ip -n $ns link set cmpchkt up
	r0=$(ip netns exec $ns cat /sys/class/net/cmpchkt/statistics/rx_packets)
	out=$(ip netns exec $ns "$FLOOD" --tun cmpchkt --src-net 10.128.0.0/24 --dst-net 10.1.200.0/24 -p 5000-5999 -n 1000 -t 10)
	r1=$(ip netns exec $ns cat /sys/class/net/cmpchkt/statistics/rx_packets)
	check "compare: cmp_flood --tun writes 1000 packets" test "$(echo "$out" | awk '{print $2}')" = 1000
	check "compare: ... and the tun took in 1000 packets" test $((r1 - r0)) = 1000
	check "compare: ... and reports the CPU time it used" test "$(echo "$out" | awk '{print $8}')" -gt 0
	check "compare: cmp_flood --tun refuses a device that is not there" \
		bash -c "! ip netns exec $ns '$FLOOD' --tun cmpchk-none --src-net 10.128.0.0/24 --dst-net 10.1.200.0/24 -p 5000 -n 1 2>/dev/null"
else
	skip "compare: $FLOOD missing (make bench-bins): cmp_flood --tun not checked"
fi
[ $T_FAILS = 0 ]
