#!/bin/bash
# ops_plan: `apply --dry-run` and `rempart diff` say what `apply` changes,
# and change nothing; `history` lists what was applied, `rollback N` goes
# back to it, keys included.
#
#   netns oppN (private bpffs)
#     oppuN 198.51.100.1/24 (uplink)     oppcN 10.20.0.1/24 (tenant a's cloud)
#     tenant a: tunnel opwN (wireguard-go), sites s1 s2, then s1 s3 + a rule
#
# Each dry run is framed by two dumps of the namespace (links, addresses,
# every routing table, policy rules, the WireGuard device, nftables, the
# dataplane's policy generation, the state directory): identical.  The
# routes it lists are exactly those the following apply adds and removes
# (the route dumps before and after it, compared), and after that apply
# nothing is left to list.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/e2e/ops_lib.sh
for t in wireguard-go wg nft bpftool; do
	command -v $t >/dev/null || { skip "ops_plan: $t not installed"; exit 0; }
done
op_private_bpffs "$0" "$@"
NS=opp$$ UP=oppu$$ CL=oppc$$ TUN=opw$$
T=$(mktemp -d /tmp/op_plan.XXXXXX)
S=$T/state
in_ns() { nsenter --net=/run/netns/"$NS" "$@"; }
rp() { in_ns "$REMPART" -c "$T" "$@"; }

cleanup() {
	rp down >/dev/null 2>&1
	for f in "$S"/wg/*.pid "$S"/wg/*.gopid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

ip netns add "$NS" || { skip "ops_plan: cannot create a network namespace"; exit 0; }
ip -n "$NS" link set lo up
ip -n "$NS" link add "$UP" type veth peer name "${UP}p"
ip -n "$NS" link add "$CL" type veth peer name "${CL}p"
for l in "$UP" "${UP}p" "$CL" "${CL}p"; do ip -n "$NS" link set "$l" up; done
ip -n "$NS" addr add 198.51.100.1/24 dev "$UP"
ip -n "$NS" route add default via 198.51.100.254
mkdir -p "$T/tenants.d" "$T/keys"
chmod 700 "$T/keys"
"$REMPART" keygen >"$T/keys/a.key"
chmod 600 "$T/keys/a.key"
pub() { "$REMPART" keygen | wg pubkey; }
K1=$(pub) K2=$(pub) K3=$(pub)
cat >"$T/rempart.ini" <<EOF
[gateway]
name = op-plan
uplink = $UP
public_endpoint = 198.51.100.1
tenants = tenants.d
state_dir = $S

[geo]
ipv4 = /usr/share/tor/geoip
ipv6 = /usr/share/tor/geoip6
format = tor
EOF
# tenant SITES...: tenant a's file with the named sites (s1 s2 s3), and
# with "rule" a [rule].
tenant() {
	{
		cat <<-EOF
		[tenant]
		name = a
		id = 10
		cloud_interface = $CL
		cloud_address = 10.20.0.1/24
		cloud_prefixes = 10.20.0.0/16
		tunnel_interface = $TUN
		tunnel_address = 100.64.10.1/24
		listen_port = 51899
		private_key_file = ../keys/a.key
		site_countries = FR
		EOF
		for s in "$@"; do
			case $s in
			s1) printf '[site s1]\npublic_key = %s\nallowed_ips = 10.110.1.0/24\n' "$K1" ;;
			s2) printf '[site s2]\npublic_key = %s\nallowed_ips = 10.110.2.0/24\n' "$K2" ;;
			s3) printf '[site s3]\npublic_key = %s\nallowed_ips = 10.110.3.0/24\nkeepalive = 25\n' "$K3" ;;
			rule) printf '[rule no-ssh]\nfrom = sites\nto = 10.20.0.0/16\nproto = tcp\nports = 22\naction = deny\n' ;;
			esac
		done
	} >"$T/tenants.d/a.ini"
}
dump() {
	{
		in_ns ip -o link show | sed -E 's/^[0-9]+: //; s/ link\/.*//'
		# the kernel's own link-local addresses and routes (DAD) change on their own
		in_ns ip -o addr show | grep -v 'scope link'
		in_ns ip -o route show table all | grep -v -e 'fe80::' -e 'ff00::'
		in_ns ip -o -6 route show table all | grep -v -e 'fe80::' -e 'ff00::'
		in_ns ip rule; in_ns ip -6 rule
		in_ns wg show "$TUN" dump 2>/dev/null | cut -f1-4 | sort	# ours (the UAPI sockets are shared); no handshake, bytes
		in_ns nft list ruleset
		in_ns bpftool map dump pinned /sys/fs/bpf/rempart/rp_state 2>/dev/null
		find "$S" -type f ! -name '*.log' -printf '%p %s %T@\n' 2>/dev/null | sort
	} >"$1" 2>&1
}
routes() { { in_ns ip -o route show table all; in_ns ip -o -6 route show table all; } | grep -E 'table 10[0-9]{2}' | sort; }

# dry FILE ARGS...: a dry run between two dumps; its output in FILE
dry() {
	local out=$1
	shift
	dump "$T/before"
	rp "$@" >"$out" 2>"$out.err"
	local rc=$?
	dump "$T/after"
	check "ops_plan: '$*' exits 0 ($rc$( [ -s "$out.err" ] && echo ": $(head -3 "$out.err" | tr '\n' ' ')"))" test "$rc" = 0
	check "ops_plan: '$*' changed nothing (namespace, WireGuard, dataplane, state directory)" \
		diff -u "$T/before" "$T/after"
}
has() { grep -qxF -- "$2" "$1" || { echo "# lacks: $2" >&2; return 1; }; }

# --- before anything is applied ------------------------------------------
tenant s1 s2
dry "$T/p0" apply --dry-run
for want in "+ link $TUN wireguard (wireguard-go), mtu 1420, up" \
	"+ addr 100.64.10.1/24 dev $TUN" "+ addr 10.20.0.1/24 dev $CL" \
	"+ route 10.110.1.0/24 dev $TUN table 1010 metric 100" \
	"+ rule ipv4 priority 1010 iif $TUN lookup 1010" \
	"+ device $TUN: wireguard-go started" "+ peer $TUN s1 ($K1)" \
	"+ dataplane programs loaded and attached (fail_mode = closed)" \
	"+ policy tenant a: 2 sites, 0 rules, 0 shares"; do
	check "ops_plan: first dry run lists '$want'" has "$T/p0" "$want"
done
check "ops_plan: ... and nothing was created (no $TUN, no wireguard-go)" \
	bash -c "! nsenter --net=/run/netns/$NS ip link show $TUN >/dev/null 2>&1 && ! ls '$S'/wg/*.pid >/dev/null 2>&1"

if ! rp apply >"$T/out" 2>&1; then
	fail "ops_plan: the first apply failed: $(head -5 "$T/out" | tr '\n' ' ')"
	exit 1
fi
dry "$T/p1" diff
check "ops_plan: right after apply, diff says no change ($(head -3 "$T/p1" | tr '\n' ' '))" \
	has "$T/p1" "no change: the system matches the configuration"

# --- a change: s2 goes, s3 comes, a rule ----------------------------------
tenant s1 s3 rule
dry "$T/p2" apply --dry-run
for want in "+ route 10.110.3.0/24 dev $TUN table 1010 metric 100" \
	"- route 10.110.2.0/24 dev $TUN table 1010 metric 100" \
	"+ peer $TUN s3 ($K3)" "- peer $TUN $K2" \
	"+ policy tenant a [site s3]" "- policy tenant a [site s2]" \
	"+ policy tenant a [rule no-ssh]"; do
	check "ops_plan: dry run lists '$want'" has "$T/p2" "$want"
done
check "ops_plan: ... and nothing about s1, the links or the addresses" \
	bash -c "! grep -E ' s1|^[-+~] (link|addr) ' '$T/p2'"
rp diff --json >"$T/p2.json" 2>/dev/null
check "ops_plan: diff --json: the same changes ($(jq -r .count "$T/p2.json" 2>/dev/null) of $(wc -l <"$T/p2"))" \
	bash -c "[ \"\$(jq -r .count '$T/p2.json')\" = \"\$(wc -l <'$T/p2')\" ] &&
		 jq -e '.changes[] | select(.op == \"remove\" and .what == \"peer\")' '$T/p2.json' >/dev/null"
routes >"$T/r_before"
rp apply >"$T/out" 2>&1 || fail "ops_plan: apply failed: $(head -5 "$T/out" | tr '\n' ' ')"
routes >"$T/r_after"
# the routes apply added and removed, in the dry run's words
norm() { sed -E 's/ proto [a-z]+//; s/ scope [a-z]+//; s/ linkdown//; s/^unreachable /unreachable /' ; }
added=$(comm -13 "$T/r_before" "$T/r_after" | wc -l)
removed=$(comm -23 "$T/r_before" "$T/r_after" | wc -l)
check "ops_plan: the dry run's routes are the ones apply changed (+$(grep -c '^+ route' "$T/p2") -$(grep -c '^- route' "$T/p2") listed, +$added -$removed in the kernel)" \
	test "$(grep -c '^+ route' "$T/p2")" = "$added" -a "$(grep -c '^- route' "$T/p2")" = "$removed"
check "ops_plan: ... 10.110.3.0/24 added, 10.110.2.0/24 gone" \
	bash -c "grep -q '^10.110.3.0/24 dev $TUN table 1010' '$T/r_after' && ! grep -q '^10.110.2.0/24' '$T/r_after'"
check "ops_plan: the peers are the dry run's: s3 in, s2 out" \
	bash -c "nsenter --net=/run/netns/$NS wg show $TUN peers | grep -qxF '$K3' && ! nsenter --net=/run/netns/$NS wg show $TUN peers | grep -qxF '$K2'"
dry "$T/p3" diff
check "ops_plan: after that apply, nothing left to change ($(head -3 "$T/p3" | tr '\n' ' '))" \
	has "$T/p3" "no change: the system matches the configuration"

# --- history, rollback N ---------------------------------------------------
rp history >"$T/h1" 2>&1
check "ops_plan: history: 0 is the configuration applied now (s1 s3 + a rule): $(head -1 "$T/h1")" \
	grep -qE '^ 0  .* 1 tenant, 2 sites, 1 rule, 0 shares.*  \(applied now\)$' "$T/h1"
check "ops_plan: history: 1 the one before it, with the geo files of then" \
	grep -qE '^ 1  .* 1 tenant, 2 sites, 0 rules, 0 shares; geo /usr/share/tor/geoip \([0-9]+ bytes\)' "$T/h1"
# a history entry shares the applied snapshot's files (hard links: a
# snapshot file is only ever replaced, never written in place), so keeping
# it costs an apply no copy and no fsync
check "ops_plan: history 0's files are the applied snapshot's own (same inodes)" \
	bash -c "[ \"\$(stat -c %i '$S/applied/tenants/a.ini')\" = \"\$(stat -c %i '$S/history/0/tenants/a.ini')\" ] &&
		 [ \"\$(stat -c %i '$S/applied/keys/0')\" = \"\$(stat -c %i '$S/history/0/keys/0')\" ]"
# a new private key for the tenant, applied: history 0 holds it, 2 the first
old_key=$(cat "$T/keys/a.key")
"$REMPART" keygen >"$T/keys/a.key"
new_key=$(cat "$T/keys/a.key")
rp apply >"$T/out" 2>&1 || fail "ops_plan: apply with a new key failed: $(head -3 "$T/out" | tr '\n' ' ')"
check "ops_plan: the tunnel runs the new key" \
	test "$(in_ns wg show "$TUN" private-key)" = "$new_key"
rp history --json >"$T/h2.json"
check "ops_plan: history --json: three entries, numbered 0 1 2" \
	test "$(jq -c '[.history[].n]' "$T/h2.json" 2>/dev/null)" = "[0,1,2]"
check "ops_plan: the history is root's alone: directory 0700, key files 0600" \
	bash -c "[ \"\$(stat -c %a '$S/history')\" = 700 ] && [ -n \"\$(find '$S/history' -path '*/keys/*' -type f)\" ] &&
		 [ -z \"\$(find '$S/history' -path '*/keys/*' -type f -perm /077)\" ]"
rp rollback 2 >"$T/out" 2>&1
rc=$?
check "ops_plan: rollback 2 exits 0 ($(tail -1 "$T/out"))" test "$rc" = 0
check "ops_plan: ... the tenant file of then is back (s2, no rule)" \
	bash -c "grep -q '^\[site s2\]' '$T/tenants.d/a.ini' && ! grep -q '^\[rule' '$T/tenants.d/a.ini'"
check "ops_plan: ... the key file of then is back, mode 0600" \
	bash -c "[ \"\$(cat '$T/keys/a.key')\" = '$old_key' ] && [ \"\$(stat -c %a '$T/keys/a.key')\" = 600 ]"
check "ops_plan: ... and applied: the tunnel runs the old key, s2's peer is back, s3's gone" \
	bash -c "[ \"\$(nsenter --net=/run/netns/$NS wg show $TUN private-key)\" = '$old_key' ] &&
		 nsenter --net=/run/netns/$NS wg show $TUN peers | grep -qxF '$K2' &&
		 ! nsenter --net=/run/netns/$NS wg show $TUN peers | grep -qxF '$K3'"
check "ops_plan: ... the files it replaced are kept in rejected/" \
	grep -q '^\[rule no-ssh\]' "$S/rejected/tenants/a.ini"
rp history >"$T/h3" 2>&1
check "ops_plan: ... and it is history 0 now, the one it replaced 1" \
	bash -c "grep -qE '^ 0  .* 2 sites, 0 rules' '$T/h3' && grep -qE '^ 1  .* 2 sites, 1 rule' '$T/h3'"
dry "$T/p4" diff
check "ops_plan: after the rollback, nothing left to change" \
	has "$T/p4" "no change: the system matches the configuration"
rp rollback 9 >/dev/null 2>"$T/err"
rc=$?
check "ops_plan: rollback to a number not in the history: exit 1, one line ($(cat "$T/err"))" \
	test "$rc" = 1 -a "$(wc -l <"$T/err")" = 1

ino=$(stat -c %i "$S/net.state")
rp apply >"$T/out" 2>&1 || fail "ops_plan: apply of the same configuration failed: $(head -3 "$T/out" | tr '\n' ' ')"
check "ops_plan: an apply that changes no link, address, route or peer leaves net.state alone (not rewritten, not fsynced)" \
	test "$(stat -c %i "$S/net.state")" = "$ino"

# --- usage ----------------------------------------------------------------
rp apply --dry-run --confirm 30 >/dev/null 2>"$T/err"
rc=$?
check "ops_plan: --dry-run with --confirm: exit 1, one line ($(cat "$T/err"))" \
	test "$rc" = 1 -a "$(wc -l <"$T/err")" = 1
[ "$T_FAILS" -eq 0 ]
