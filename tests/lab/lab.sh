#!/bin/bash
# lab.sh — the rempart network lab (docs/lab.md): a gateway, its sites and
# clouds on one machine, in network
# namespaces joined by veth pairs, with real WireGuard (wireguard-go) and
# real packets.
#
#   rp-site-a1  198.18.0.11 ─┐   (alpha-1: LAN host 10 of allowed_ips, 10.120.1.10, fd01:1::10)
#   rp-site-a2  198.18.0.12 ─┤   (alpha-2: 10.120.2.1, fd01:2::1)
#   rp-site-b1  198.18.0.21 ─┤   (bravo-1: 10.130.1.1, fd02:1::1)
#   rp-abroad   198.18.66.10 ┤   (RU: the embassy site alpha-x, geo-blocked)
#                            │
#                        rp-inet ── rp-net  198.18.99.10 (DE), 198.18.77.10 (CN)
#                    (router 198.18.255.1, fe80::1)
#                            │
#                   gw-up  public_endpoint (from the config)
#              ┌─────────────┴──────────────┐
#              │ rp-gw   rempart run         │  wg-alpha, wg-bravo, wg-services
#              │ (own mount ns: bpffs,       │  (wireguard-go, started by rempart)
#              │  /run/wireguard)            │
#              └──┬──────────┬──────────┬────┘
#               gw-ca      gw-cb      gw-cs
#                 │          │          │
#            rp-cloud-a  rp-cloud-b   rp-svc
#            10.20.1.10  10.20.1.10   10.99.0.53 (DNS on udp/53)
#            fd00:20::10 fd00:20::10  fd00:99::53
#                        10.20.2.20 (only in B)
#
# Every leaf has /32 and /128 addresses on its uplink and a default route via
# rp-inet (198.18.255.1 onlink, fe80::1), so any public_endpoint works.
# Each site runs wireguard-go with the wg-quick config that
# `rempart site config TENANT SITE` prints, its private key substituted (the
# lab generates site keys and writes their public keys into a COPY of the
# config under $LAB_STATE/config; configs/ is never modified).
#
# Usage: lab.sh up | down | status | matrix | leftovers
#        lab.sh exec NS CMD...      (NS rp-gw enters the gateway's mount ns)
#        lab.sh rempart ARGS...     (rempart -c <lab config> ARGS, in rp-gw)
# Exit codes of `up`: 0 all up; 1 lab failed; 2 lab up but rempart or a site
# is not working (the namespaces stay so that `matrix` shows what works).
set -u

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$LAB_DIR/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
REMPART=${REMPART:-$BUILD/rempart}
LAB_STATE=${LAB_STATE:-/run/rempart-lab}
LAB_CONFIG_SRC=${LAB_CONFIG_SRC:-$TOP/configs/lab}
PY=/usr/bin/python3
# every process the lab starts (and theirs: rempart's wireguard-go) carries
# this in its environment; `leftovers` looks for it after `down`
export REMPART_LAB=$LAB_STATE
LABNET=$LAB_DIR/labnet.py
CFG=$LAB_STATE/config
MNTNS=$LAB_STATE/ns/mnt

NAMESPACES="rp-gw rp-inet rp-site-a1 rp-site-a2 rp-site-b1 rp-abroad rp-cloud-a rp-cloud-b rp-svc rp-net"

# Public side (rp-inet): router address, leaves.  Addresses and countries as
# in configs/lab/geo.csv: 198.18.0.0/24 + 2001:db8:18::/64 FR (sites),
# .66 RU (abroad), .99 DE and .77 CN (internet hosts).
INET4=198.18.255.1
INET6=fe80::1
# site table: NAME TENANT NAMESPACE WG-IFACE PUBLIC4 PUBLIC6
SITES="alpha-1 alpha rp-site-a1 wgs-a1 198.18.0.11 2001:db8:18::11
alpha-2 alpha rp-site-a2 wgs-a2 198.18.0.12 2001:db8:18::12
bravo-1 bravo rp-site-b1 wgs-b1 198.18.0.21 2001:db8:18::21"
# the embassy abroad: a site of alpha connecting from a blocked country
ABROAD_SITE=alpha-x
ABROAD_TENANT=alpha
ABROAD_ALLOWED="10.120.66.0/24,fd01:66::/64"
ABROAD4=198.18.66.10
ABROAD6=2001:db8:18:66::10
NET_DE4=198.18.99.10
NET_DE6=2001:db8:18:99::10
NET_CN4=198.18.77.10
NET_CN6=2001:db8:18:77::10
# cloud hosts: tenant -> namespace; both tenants' hosts use the same address
CLOUD_HOST4=10.20.1.10
CLOUD_HOST6=fd00:20::10
CLOUD_B_ONLY4=10.20.2.20
CLOUD_B_ONLY6=fd00:20::2:20
SVC4=10.99.0.53
SVC6=fd00:99::53
GW_V6=2001:db8:18:1::1		# the uplink's IPv6 address (egress NAT, management)

# One lab per machine (the namespace names are the product's): every user
# of the lab holds an flock on $LAB_LOCK while it works on it; the e2e suites
# hold it for their whole run (and export LAB_LOCK_HELD=1 to lab.sh).
LAB_LOCK=${LAB_LOCK:-/run/rempart-lab.lock}
lab_lock() { # TIMEOUT_S: take the lock for the life of this shell
	[ "${LAB_LOCK_HELD:-0}" = 1 ] && return 0
	exec {LAB_LOCK_FD}>>"$LAB_LOCK" || return 1
	if ! flock -n "$LAB_LOCK_FD"; then
		say "another user of the lab holds $LAB_LOCK: waiting up to $1 s"
		flock -w "$1" "$LAB_LOCK_FD" || { say "the lab is still in use after $1 s"; return 1; }
	fi
	export LAB_LOCK_HELD=1 LAB_LOCK_FD
}
say() { printf 'lab: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

tenant_ns() {
	case $1 in alpha) echo rp-cloud-a ;; bravo) echo rp-cloud-b ;; services) echo rp-svc ;; *) return 1 ;; esac
}

# --- INI helpers (section and key names case-insensitive, like iniparser) ---
ini_get() { # FILE SECTION KEY
	awk -v s="$2" -v k="$3" '
	function trim(x) { sub(/^[ \t]+/, "", x); sub(/[ \t\r]+$/, "", x); return x }
	/^[ \t]*[;#]/ { next }
	/^[ \t]*\[/ { l = $0; sub(/^[ \t]*\[/, "", l); sub(/\].*/, "", l); cur = tolower(trim(l)); gsub(/[ \t]+/, " ", cur); next }
	cur == tolower(s) {
		i = index($0, "="); if (!i) next
		if (tolower(trim(substr($0, 1, i - 1))) != tolower(k)) next
		v = substr($0, i + 1); sub(/[ \t]+[;#].*$/, "", v); print trim(v); exit
	}' "$1"
}
ini_sections() { # FILE: one normalized section name per line
	awk '/^[ \t]*\[/ { l = $0; sub(/^[ \t]*\[/, "", l); sub(/\].*/, "", l); gsub(/^[ \t]+|[ \t]+$/, "", l); gsub(/[ \t]+/, " ", l); print tolower(l) }' "$1"
}
ini_set() { # FILE SECTION KEY VALUE: replace or add KEY in SECTION
	local tmp; tmp=$(mktemp "$1.XXXXXX")
	awk -v s="$2" -v k="$3" -v val="$4" '
	function trim(x) { sub(/^[ \t]+/, "", x); sub(/[ \t\r]+$/, "", x); return x }
	function flush() { if (in_s && !done) { print k " = " val; done = 1 } }
	/^[ \t]*\[/ {
		flush()
		l = $0; sub(/^[ \t]*\[/, "", l); sub(/\].*/, "", l); cur = tolower(trim(l)); gsub(/[ \t]+/, " ", cur)
		in_s = (cur == tolower(s)); print; next
	}
	in_s && !/^[ \t]*[;#]/ && index($0, "=") {
		if (tolower(trim(substr($0, 1, index($0, "=") - 1))) == tolower(k)) { if (!done) print k " = " val; done = 1; next }
	}
	{ print }
	END { flush() }' "$1" >"$tmp" && mv "$tmp" "$1"
}
split_list() { tr ',' '\n' <<<"$1" | sed 's/^[ \t]*//;s/[ \t]*$//' | grep -v '^$'; }
is_v6() { [[ $1 == *:* ]]; }
# host number N of a prefix: nth_host 10.120.1.0/24 10 -> 10.120.1.10
nth_host() { $PY -c 'import ipaddress,sys; print(ipaddress.ip_network(sys.argv[1], strict=False)[int(sys.argv[2])])' "$1" "$2"; }

tenants_dir() {
	local t; t=$(ini_get "$CFG/rempart.ini" gateway tenants)
	[ -n "$t" ] || t=tenants.d
	case $t in /*) echo "$t" ;; *) echo "$CFG/$t" ;; esac
}
tenant_file() { # NAME -> the tenant's ini file in the copy
	local f
	for f in "$(tenants_dir)"/*.ini; do
		[ "$(ini_get "$f" tenant name)" = "$1" ] && { echo "$f"; return 0; }
	done
	return 1
}
tenant_get() { local f; f=$(tenant_file "$1") && ini_get "$f" tenant "$2"; }
first_of_family() { # LIST 4|6 -> first entry of that family (without /len if $3 = addr)
	local x
	for x in $(split_list "$1"); do
		if [ "$2" = 6 ] && is_v6 "$x" || { [ "$2" = 4 ] && ! is_v6 "$x"; }; then
			[ "${3:-}" = addr ] && x=${x%/*}
			echo "$x"; return 0
		fi
	done
	return 1
}

# --- running things ---------------------------------------------------------
# ns_prefix NS: the command prefix that runs in a lab namespace (rp-gw: with
# its own mount namespace); every element execs the next, no fork
ns_prefix() {
	if [ "$1" = rp-gw ] && [ -e "$MNTNS" ] && mountpoint -q "$LAB_STATE/ns" 2>/dev/null; then
		echo "nsenter --net=/run/netns/rp-gw --mount=$MNTNS --"
	else
		echo "ip netns exec $1"
	fi
}
nsx() { # NS CMD...: run in a lab namespace
	local ns=$1 pre; shift
	read -ra pre <<<"$(ns_prefix "$ns")"
	"${pre[@]}" "$@"
}
# start_bg NAME NS CMD...: setsid in NS, log in logs/NAME.log, pid in
# pids/NAME (the PID of CMD itself: the prefix and setsid exec, not fork)
start_bg() {
	local name=$1 ns=$2 pre; shift 2
	read -ra pre <<<"$(ns_prefix "$ns")"
	# the lab's processes must not inherit the lab lock
	if [ -n "${LAB_LOCK_FD:-}" ]; then
		"${pre[@]}" setsid "$@" >"$LAB_STATE/logs/$name.log" 2>&1 </dev/null {LAB_LOCK_FD}>&- &
	else
		"${pre[@]}" setsid "$@" >"$LAB_STATE/logs/$name.log" 2>&1 </dev/null &
	fi
	echo $! >"$LAB_STATE/pids/$name"
}
pid_of() { cat "$LAB_STATE/pids/$1" 2>/dev/null; }
# running PID: exists and is not a zombie (orphans are reaped by whoever is
# PID 1, sometimes late)
running() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$st" ] && [[ $st != Z* ]]; }
alive() { local p; p=$(pid_of "$1") && [ -n "$p" ] && running "$p"; }
wait_for() { # TIMEOUT_S CMD...: poll every 50 ms until CMD succeeds (wall clock)
	local end=$(( ${EPOCHREALTIME/./} + $1 * 1000000 )); shift
	while :; do
		"$@" && return 0
		(( ${EPOCHREALTIME/./} >= end )) && return 1
		sleep 0.05
	done
}
stop_pid() { # PID: TERM, up to 3 s, then KILL
	local p=$1
	running "$p" || return 0
	kill -TERM "$p" 2>/dev/null
	wait_for 3 eval "! running $p" && return 0
	kill -KILL "$p" 2>/dev/null
	wait_for 2 eval "! running $p"
}
rp() { nsx rp-gw "$REMPART" -c "$CFG" "$@"; }

# --- topology ---------------------------------------------------------------
ns_sysctls() {
	ip netns exec "$1" sh -c 'sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 2>/dev/null; ip link set lo up'
}
# veth IF1 NS1 IF2 NS2: a veth pair between two namespaces (iproute2 6.1
# prints a harmless "Peer netns reference is invalid" on success)
veth() {
	local out
	out=$(ip link add "$1" netns "$2" type veth peer name "$3" netns "$4" 2>&1) && return 0
	say "veth $2/$1 - $4/$3: $out"
	return 1
}
# leaf NS IFACE INET_IFACE ADDR4... : a host behind rp-inet with /32 and /128
leaf() {
	local ns=$1 ifc=$2 iifc=$3 a; shift 3
	veth "$ifc" "$ns" "$iifc" rp-inet || return 1
	ip -n rp-inet link set "$iifc" up
	ip -n rp-inet addr add fe80::1/64 dev "$iifc" nodad
	ip -n "$ns" link set "$ifc" up
	for a in "$@"; do
		if is_v6 "$a"; then
			ip -n "$ns" addr add "$a/128" dev "$ifc" nodad
			ip -n rp-inet -6 route add "$a/128" dev "$iifc"
		else
			ip -n "$ns" addr add "$a/32" dev "$ifc"
			ip -n rp-inet route add "$a/32" dev "$iifc"
		fi
	done
	ip -n "$ns" route add default via $INET4 dev "$ifc" onlink
	ip -n "$ns" -6 route add default via $INET6 dev "$ifc"
}
# cloud TENANT IFACE_ON_GW NS ADDR...: a cloud host on the tenant's attachment
cloud_host() {
	local tenant=$1 gif=$2 ns=$3 a gw4 gw6 ca; shift 3
	veth "$gif" rp-gw eth0 "$ns" || return 1
	ip -n "$ns" link set eth0 up
	for a in "$@"; do
		if is_v6 "$a"; then ip -n "$ns" addr add "$a/128" dev eth0 nodad
		else ip -n "$ns" addr add "$a/32" dev eth0; fi
	done
	ca=$(tenant_get "$tenant" cloud_address)
	gw4=$(first_of_family "$ca" 4 addr) || { say "tenant $tenant has no IPv4 cloud_address: its cloud host has no gateway"; gw4=; }
	gw6=$(first_of_family "$ca" 6 addr) || { say "tenant $tenant has no IPv6 cloud_address: its cloud host has no gateway"; gw6=; }
	[ -n "$gw4" ] && ip -n "$ns" route add default via "$gw4" dev eth0 onlink
	[ -n "$gw6" ] && ip -n "$ns" -6 route add default via "$gw6" dev eth0 onlink
	return 0
}

# --- config copy --------------------------------------------------------------
make_key() { # FILE: a WireGuard private key, mode 0600
	(umask 077; wg genkey >"$1")
}
prepare_config() {
	local f sec key path dir site pub
	[ -f "$LAB_CONFIG_SRC/rempart.ini" ] || die "no lab config at $LAB_CONFIG_SRC"
	rm -rf "$CFG"
	cp -a "$LAB_CONFIG_SRC" "$CFG" && [ -f "$CFG/rempart.ini" ] || die "could not copy $LAB_CONFIG_SRC to $CFG"
	ini_set "$CFG/rempart.ini" gateway state_dir "$LAB_STATE/var"
	mkdir -p "$LAB_STATE/var" "$LAB_STATE/sitekeys"
	# missing tenant private keys / preshared keys: generate them (0600)
	for f in "$CFG/rempart.ini" "$(tenants_dir)"/*.ini; do
		dir=$(dirname "$f")
		while read -r sec; do
			for key in private_key_file preshared_key_file; do
				path=$(ini_get "$f" "$sec" "$key")
				[ -n "$path" ] || continue
				case $path in /*) ;; *) path=$dir/$path ;; esac
				if [ ! -s "$path" ]; then
					mkdir -p "$(dirname "$path")"
					if [ $key = private_key_file ]; then make_key "$path"
					else (umask 077; wg genpsk >"$path"); fi
				fi
				chmod 600 "$path"
			done
		done < <(ini_sections "$f")
	done
	# site keys: fresh pairs, public halves written into the copy
	for f in "$(tenants_dir)"/*.ini; do
		while read -r sec; do
			case $sec in "site "*) ;; *) continue ;; esac
			site=${sec#site }
			make_key "$LAB_STATE/sitekeys/$site.key"
			pub=$(wg pubkey <"$LAB_STATE/sitekeys/$site.key")
			ini_set "$f" "$sec" public_key "$pub"
		done < <(ini_sections "$f")
	done
	# the embassy abroad: added with the product's own flow when it exists
	if ! tenant_file $ABROAD_TENANT >/dev/null; then
		say "the lab config has no tenant $ABROAD_TENANT: no abroad site"
		return 0
	fi
	if ! grep -qi "^\[site $ABROAD_SITE\]" "$(tenant_file $ABROAD_TENANT)"; then
		if "$REMPART" -c "$CFG" site add $ABROAD_TENANT $ABROAD_SITE --allowed-ips "$ABROAD_ALLOWED" \
			>"$LAB_STATE/sites/$ABROAD_SITE.added" 2>"$LAB_STATE/logs/site-add.log"; then
			(umask 077; sed -n 's/^[[:space:]]*PrivateKey[[:space:]]*=[[:space:]]*//p' \
				"$LAB_STATE/sites/$ABROAD_SITE.added" | head -n1 >"$LAB_STATE/sitekeys/$ABROAD_SITE.key")
			echo "rempart site add" >"$LAB_STATE/abroad-added-by"
		else
			make_key "$LAB_STATE/sitekeys/$ABROAD_SITE.key"
			printf '\n[site %s]\npublic_key = %s\nallowed_ips = %s\n' $ABROAD_SITE \
				"$(wg pubkey <"$LAB_STATE/sitekeys/$ABROAD_SITE.key")" "$ABROAD_ALLOWED" \
				>>"$(tenant_file $ABROAD_TENANT)"
			echo "lab (rempart site add failed: $(head -n1 "$LAB_STATE/logs/site-add.log"))" >"$LAB_STATE/abroad-added-by"
		fi
		rm -f "$LAB_STATE/sites/$ABROAD_SITE.added"
	fi
	[ -s "$LAB_STATE/sitekeys/$ABROAD_SITE.key" ] || die "no private key for $ABROAD_SITE"
	return 0
}

# The wg-quick config of a site: `rempart site config`, else (flagged) the
# lab's own rendering of the INI, so that the rest of the lab can be tested.
site_conf() { # TENANT SITE -> stdout
	local t=$1 s=$2 f pub port ep
	if "$REMPART" -c "$CFG" site config "$t" "$s" 2>>"$LAB_STATE/logs/site-config.log"; then
		return 0
	fi
	echo "$s" >>"$LAB_STATE/site-config-fallback"
	f=$(tenant_file "$t") || return 1
	pub=$(wg pubkey <"$(key_path "$f" tenant private_key_file)") || return 1
	port=$(ini_get "$f" tenant listen_port)
	ep=$(ini_get "$CFG/rempart.ini" gateway public_endpoint)
	printf '[Interface]\nPrivateKey = REPLACE_WITH_SITE_PRIVATE_KEY\n\n[Peer]\nPublicKey = %s\n' "$pub"
	[ -n "$(ini_get "$f" "site $s" preshared_key_file)" ] && printf 'PresharedKey = %s\n' "$(cat "$(key_path "$f" "site $s" preshared_key_file)")"
	printf 'Endpoint = %s:%s\nAllowedIPs = %s\n' "$ep" "$port" "$(ini_get "$f" tenant cloud_prefixes)"
}
key_path() { local p; p=$(ini_get "$1" "$2" "$3"); case $p in /*) echo "$p" ;; *) echo "$(dirname "$1")/$p" ;; esac; }

# site_up NAME TENANT NS IFACE: wireguard-go with the printed config
site_up() {
	local site=$1 tenant=$2 ns=$3 ifc=$4 conf strip a p lan4 lan6 allowed mtu ep4
	conf=$LAB_STATE/sites/$ifc.conf
	strip=$LAB_STATE/sites/$ifc.wg
	(umask 077
	 site_conf "$tenant" "$site" >"$conf.printed" || exit 1
	 grep -q '^PrivateKey = REPLACE_WITH_SITE_PRIVATE_KEY' "$conf.printed" || echo "printed config has no 'PrivateKey = REPLACE_WITH_SITE_PRIVATE_KEY' line" >>"$LAB_STATE/logs/site-config.log"
	 awk -v k="$(cat "$LAB_STATE/sitekeys/$site.key")" '/^[ \t]*PrivateKey[ \t]*=/ { print "PrivateKey = " k; next } { print }' \
		"$conf.printed" >"$conf"
	 awk 'tolower($0) ~ /^[ \t]*(address|dns|mtu|table|preup|postup|predown|postdown|saveconfig)[ \t]*=/ { next } { print }' \
		"$conf" >"$strip") || { say "$site: no site config"; return 1; }
	start_bg "wg-$ifc" "$ns" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$ifc"
	wait_for 5 test -S "/run/wireguard/$ifc.sock" || { say "$site: wireguard-go did not start: $(tail -n3 "$LAB_STATE/logs/wg-$ifc.log")"; return 1; }
	ip netns exec "$ns" wg setconf "$ifc" "$strip" || { say "$site: wg setconf refused the printed config"; return 1; }
	for a in $(split_list "$(sed -n 's/^[ \t]*Address[ \t]*=//Ip' "$conf" | paste -sd,)"); do
		ip -n "$ns" addr add "$a" dev "$ifc" nodad 2>/dev/null || ip -n "$ns" addr add "$a" dev "$ifc"
	done
	mtu=$(sed -n 's/^[ \t]*MTU[ \t]*=[ \t]*//Ip' "$conf" | head -n1)
	[ -n "$mtu" ] && ip -n "$ns" link set "$ifc" mtu "$mtu"
	ip -n "$ns" link set "$ifc" up
	# the site's LAN: host 10 (v4) / 16 (v6) of its allowed_ips, on lo
	# the site's LAN address: the printed Address inside its allowed_ips,
	# else host 10 (v4) / 16 (v6) of its allowed_ips, put on lo
	allowed=$(ini_get "$(tenant_file "$tenant")" "site $site" allowed_ips)
	read -r lan4 lan6 < <("$PY" -c '
import ipaddress, sys
nets = [ipaddress.ip_network(p.strip(), strict=False) for p in sys.argv[1].split(",") if p.strip()]
addrs = [ipaddress.ip_interface(a.strip()).ip for a in sys.argv[2].split(",") if a.strip()]
out = []
for v in (4, 6):
    got = [a for a in addrs if a.version == v and any(a in n for n in nets)]
    if not got:
        fam = [n for n in nets if n.version == v]
        got = [fam[0][10 if v == 4 else 16]] if fam else ["-"]
    out.append(str(got[0]))
print(" ".join(out))' "$allowed" "$(sed -n 's/^[ \t]*Address[ \t]*=//Ip' "$conf" | paste -sd,)")
	[ "$lan4" = - ] && lan4=
	[ "$lan6" = - ] && lan6=
	[ -n "$lan4" ] && ! ip -n "$ns" -4 addr show | grep -q " $lan4/" && ip -n "$ns" addr add "$lan4/32" dev lo
	[ -n "$lan6" ] && ! ip -n "$ns" -6 addr show | grep -q " $lan6/" && ip -n "$ns" addr add "$lan6/128" dev lo nodad
	echo "$lan4 $lan6" >"$LAB_STATE/sites/$ifc.lan"
	# keep the underlay reachable even with AllowedIPs = 0.0.0.0/0
	ep4=$(sed -n 's/^[ \t]*Endpoint[ \t]*=[ \t]*//Ip' "$conf" | head -n1); ep4=${ep4%:*}
	[[ $ep4 =~ ^[0-9.]+$ ]] && ip -n "$ns" route replace "$ep4/32" via $INET4 dev up0 onlink
	for p in $(split_list "$(sed -n 's/^[ \t]*AllowedIPs[ \t]*=//Ip' "$conf" | paste -sd,)"); do
		if is_v6 "$p"; then ip -n "$ns" -6 route replace "$p" dev "$ifc" ${lan6:+src $lan6}
		else ip -n "$ns" route replace "$p" dev "$ifc" ${lan4:+src $lan4}; fi
	done
	# the first packet into the tunnel starts the handshake
	kick_handshake "$ns" "$ifc"
	return 0
}
kick_handshake() { # NS IFACE: one ping to host 1 of the peer's first AllowedIPs
	local net
	net=$(ip netns exec "$1" wg show "$2" allowed-ips 2>/dev/null | awk '{ print $2; exit }')
	[ -n "$net" ] && ip netns exec "$1" ping -c1 -W1 -q "$(nth_host "$net" 1)" >/dev/null 2>&1
	return 0
}
handshake_done() { # NS IFACE
	ip netns exec "$1" wg show "$2" latest-handshakes 2>/dev/null | awk '$2 > 0 { ok = 1 } END { exit !ok }'
}

serve() { # NAME NS TCP UDP
	start_bg "serve-$2" "$2" "$PY" "$LABNET" serve "$1" "$LAB_STATE/logs/hits-$2.log" --tcp "$3" --udp "$4"
}

rempart_ready() {
	local t ifc
	alive rempart || return 1
	ip -n rp-gw -d link show "$(ini_get "$CFG/rempart.ini" gateway uplink)" 2>/dev/null | grep -q 'prog/xdp\|xdp' || return 1
	for t in $(tenant_names); do
		ifc=$(tenant_get "$t" tunnel_interface); [ -n "$ifc" ] || ifc=wg-$t
		ip -n rp-gw link show "$ifc" >/dev/null 2>&1 || return 1
	done
}
tenant_names() { local f; for f in "$(tenants_dir)"/*.ini; do ini_get "$f" tenant name; done; }

cmd_up() {
	local rc=0 uplink pub t ns gif line site tenant ifc p4 p6 i
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
	[ -x "$REMPART" ] || die "no $REMPART: run make first"
	if [ -e "$LAB_STATE" ] || ip netns list | grep -q '^rp-'; then
		say "a previous lab is up: tearing it down first"
		cmd_down || die "could not remove the previous lab"
	fi
	mkdir -p "$LAB_STATE" && chmod 700 "$LAB_STATE"
	mkdir -p "$LAB_STATE/logs" "$LAB_STATE/pids" "$LAB_STATE/sites" "$LAB_STATE/ns"
	echo "$LAB_CONFIG_SRC" >"$LAB_STATE/config-source"
	prepare_config || return 1
	uplink=$(ini_get "$CFG/rempart.ini" gateway uplink)
	pub=$(ini_get "$CFG/rempart.ini" gateway public_endpoint)
	[[ $pub =~ ^[0-9.]+$ ]] || die "public_endpoint '$pub' is not an IPv4 address: the lab needs one"
	echo "$pub" >"$LAB_STATE/public4"

	for ns in $NAMESPACES; do ip netns add "$ns" || return 1; ns_sysctls "$ns"; done
	ip netns exec rp-inet sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n rp-inet addr add $INET4/32 dev lo
	# the gateway's own mount namespace: its bpffs (RP_PIN_DIR) and
	# /run/wireguard are private to the lab
	mount --bind "$LAB_STATE/ns" "$LAB_STATE/ns" && mount --make-private "$LAB_STATE/ns" && touch "$MNTNS" || return 1
	nsenter --net=/run/netns/rp-gw unshare --mount="$MNTNS" --propagation private sh -c \
		'mount -t sysfs sysfs /sys && mount -t bpf bpf /sys/fs/bpf && mkdir -p /run/wireguard && mount -t tmpfs -o mode=0700 tmpfs /run/wireguard' \
		|| { say "could not make the gateway's mount namespace"; return 1; }

	# uplink
	veth "$uplink" rp-gw i-gw rp-inet || return 1
	ip -n rp-inet link set i-gw up
	ip -n rp-inet addr add fe80::1/64 dev i-gw nodad
	ip -n rp-inet addr add "${GW_V6%::*}::fe/64" dev i-gw nodad
	ip -n rp-gw link set "$uplink" up
	# the uplink has a connected /24 (like an appliance's eth0) with the
	# router at .254 (.253 when the gateway is .254)
	upgw=${pub%.*}.254; [ "$upgw" = "$pub" ] && upgw=${pub%.*}.253
	ip -n rp-inet addr add "$upgw/24" dev i-gw
	ip -n rp-gw addr add "$pub/24" dev "$uplink"
	ip -n rp-gw addr add "$GW_V6/64" dev "$uplink" nodad
	ip -n rp-gw route add default via "$upgw" dev "$uplink"
	ip -n rp-gw -6 route add default via $INET6 dev "$uplink"
	# sites, abroad, internet hosts
	i=0
	while read -r site tenant ns ifc p4 p6; do
		leaf "$ns" up0 "i-s$i" "$p4" "$p6" || return 1
		i=$((i + 1))
	done <<<"$SITES"
	leaf rp-abroad up0 i-x $ABROAD4 $ABROAD6 || return 1
	leaf rp-net eth0 i-net $NET_DE4 $NET_DE6 $NET_CN4 $NET_CN6 || return 1
	# clouds
	for t in alpha bravo services; do
		tenant_file $t >/dev/null || { say "the lab config has no tenant $t"; rc=2; continue; }
		gif=$(tenant_get $t cloud_interface); ns=$(tenant_ns $t)
		case $t in
		alpha) cloud_host $t "$gif" "$ns" $CLOUD_HOST4 $CLOUD_HOST6 ;;
		bravo) cloud_host $t "$gif" "$ns" $CLOUD_HOST4 $CLOUD_HOST6 $CLOUD_B_ONLY4 $CLOUD_B_ONLY6 ;;
		services) cloud_host $t "$gif" "$ns" $SVC4 $SVC6 ;;
		esac || return 1
	done
	# the underlay works before rempart runs
	for ns in rp-site-a1 rp-abroad rp-net; do
		ip netns exec "$ns" ping -c1 -W2 -q "$pub" >/dev/null || { say "underlay: $ns cannot reach $pub"; return 1; }
	done

	# responders: name, namespace, tcp ports, udp ports
	serve cloud-a rp-cloud-a 22,80,443 53,5000
	serve cloud-b rp-cloud-b 22,80,443 53,5000
	serve svc rp-svc 53,80 53,123
	serve net rp-net 80,443 53
	serve gateway rp-gw 22,2222 ""
	while read -r site tenant ns ifc p4 p6; do serve "$site" "$ns" 22,80 5000; done <<<"$SITES"
	serve "$ABROAD_SITE" rp-abroad 22,80 5000
	for ns in rp-cloud-a rp-cloud-b rp-svc rp-net rp-gw rp-site-a1 rp-site-a2 rp-site-b1 rp-abroad; do
		wait_for 5 grep -q '^ready' "$LAB_STATE/logs/hits-$ns.log" 2>/dev/null || { say "responder in $ns did not start"; return 1; }
	done

	# rempart
	start_bg rempart rp-gw "$REMPART" -c "$CFG" run
	if ! wait_for 30 eval 'rempart_ready || ! alive rempart' || ! rempart_ready; then
		if alive rempart; then say "rempart run: not ready after 30 s (programs attached? tunnels?)"
		else say "rempart run exited: $(tail -n 3 "$LAB_STATE/logs/rempart.log" | tr '\n' ' ')"; fi
		rc=2
	fi

	# sites and the embassy abroad
	while read -r site tenant ns ifc p4 p6; do
		site_up "$site" "$tenant" "$ns" "$ifc" || rc=2
	done <<<"$SITES"
	if [ -s "$LAB_STATE/sitekeys/$ABROAD_SITE.key" ]; then
		site_up $ABROAD_SITE $ABROAD_TENANT rp-abroad wgs-x || rc=2
	fi
	if [ $rc = 0 ]; then
		while read -r site tenant ns ifc p4 p6; do
			wait_for 10 eval 'handshake_done "$ns" "$ifc" || { kick_handshake "$ns" "$ifc"; false; }' \
				|| { say "$site: no WireGuard handshake with the gateway"; rc=2; }
		done <<<"$SITES"
	fi
	[ -s "$LAB_STATE/site-config-fallback" ] && say "WARNING: 'rempart site config' failed for: $(paste -sd' ' "$LAB_STATE/site-config-fallback"); the lab rendered those configs itself"
	[ $rc = 0 ] && say "lab up (config from $LAB_CONFIG_SRC)" || say "lab up with problems (exit $rc): see $LAB_STATE/logs"
	return $rc
}

cmd_down() {
	local f p ns
	if [ -f "$LAB_STATE/pids/rempart" ]; then
		stop_pid "$(pid_of rempart)"
		if [ -x "$REMPART" ] && [ -d "$CFG" ] && [ -e "$MNTNS" ]; then
			local pre; read -ra pre <<<"$(ns_prefix rp-gw)"
			timeout 15 "${pre[@]}" "$REMPART" -c "$CFG" down >>"$LAB_STATE/logs/rempart-down.log" 2>&1
		fi
	fi
	for f in "$LAB_STATE"/pids/*; do
		[ -f "$f" ] || continue
		stop_pid "$(cat "$f")"
	done
	# anything still running inside the lab namespaces was started by the lab
	# (rempart's wireguard-go supervisor may respawn one: repeat, then KILL)
	local round left
	for round in 1 2 3 4 5 6; do
		left=
		for ns in $NAMESPACES; do
			[ -e "/run/netns/$ns" ] || continue
			for p in $(ip netns pids "$ns" 2>/dev/null); do
				running "$p" || continue
				left="$left $p"
				if [ $round -le 2 ]; then stop_pid "$p"; else kill -KILL "$p" 2>/dev/null; fi
			done
		done
		[ -z "$left" ] && break
		sleep 0.2
	done
	[ -n "$left" ] && say "processes still in the lab namespaces:$left"
	for ns in $NAMESPACES; do
		[ -e "/run/netns/$ns" ] && ip netns del "$ns"
	done
	if mountpoint -q "$LAB_STATE/ns" 2>/dev/null; then
		umount "$MNTNS" 2>/dev/null || umount -l "$MNTNS" 2>/dev/null
		umount "$LAB_STATE/ns" 2>/dev/null || umount -l "$LAB_STATE/ns" || say "could not unmount $LAB_STATE/ns"
	fi
	rm -f /run/wireguard/wgs-*.sock
	rm -rf "$LAB_STATE" || say "could not remove $LAB_STATE"
	cmd_leftovers
}

cmd_leftovers() { # exit 1 and name them when anything of the lab remains
	local bad=0 ns
	for ns in $NAMESPACES; do
		[ -e "/run/netns/$ns" ] && { say "leftover namespace $ns"; bad=1; }
	done
	[ -e "$LAB_STATE" ] && { say "leftover $LAB_STATE"; bad=1; }
	grep -q " $LAB_STATE/ns" /proc/self/mounts && { say "leftover mount $LAB_STATE/ns"; bad=1; }
	ls /run/wireguard/wgs-*.sock >/dev/null 2>&1 && { say "leftover wireguard-go sockets $(ls /run/wireguard/wgs-*.sock)"; bad=1; }
	# processes of the lab (by the REMPART_LAB mark), except this command's
	# own ancestry (the shells that ran the lab carry the mark too)
	local anc=" " p f
	p=$BASHPID
	while [ -n "$p" ] && [ "$p" -gt 1 ]; do anc="$anc$p "; p=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null); done
	for f in $(grep -lzx "REMPART_LAB=$LAB_STATE" /proc/[0-9]*/environ 2>/dev/null); do
		p=${f#/proc/}; p=${p%/environ}
		[[ $anc == *" $p "* ]] && continue
		running "$p" || continue
		case $(cat "/proc/$p/comm" 2>/dev/null) in grep | awk | cat | ps) continue ;; esac
		say "leftover process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-120)"; bad=1
	done
	return $bad
}

hs_text() { # NS IFACE
	local t
	t=$(ip netns exec "$1" wg show "$2" latest-handshakes 2>/dev/null | awk '{ print $2; exit }')
	case $t in '') echo "no interface" ;; 0) echo "no handshake" ;; *) echo "handshake $(( $(date +%s) - t )) s ago" ;; esac
}
cmd_status() {
	local ns f site tenant ifc p4 p6
	if [ ! -d "$LAB_STATE" ]; then echo "lab: down"; cmd_leftovers; return 1; fi
	echo "lab: up (config copy $CFG, from $(cat "$LAB_STATE/config-source" 2>/dev/null))"
	printf '  namespaces:'; for ns in $NAMESPACES; do [ -e "/run/netns/$ns" ] && printf ' %s' "$ns" || printf ' %s(MISSING)' "$ns"; done; echo
	printf '  processes: '
	for f in "$LAB_STATE"/pids/*; do printf ' %s:%s' "$(basename "$f")" "$(alive "$(basename "$f")" && echo up || echo DEAD)"; done; echo
	echo "  sites (site side: latest handshake with the gateway):"
	while read -r site tenant ns ifc p4 p6; do
		printf '    %-8s %-6s %-11s %s\n' "$site" "$tenant" "$ns" "$(hs_text "$ns" "$ifc")"
	done <<<"$SITES
$ABROAD_SITE $ABROAD_TENANT rp-abroad wgs-x $ABROAD4 $ABROAD6"
	[ -s "$LAB_STATE/site-config-fallback" ] && echo "  WARNING: site configs rendered by the lab (rempart site config failed) for: $(paste -sd' ' "$LAB_STATE/site-config-fallback")"
	echo "  rempart status:"
	rp status 2>&1 | sed 's/^/    /'
	return 0
}

# sourced (tests/e2e): functions only
[ "${BASH_SOURCE[0]}" != "$0" ] && { . "$LAB_DIR/matrix.sh"; return 0; }

case ${1:-} in
up) lab_lock 900 || exit 1; cmd_up ;;
down) lab_lock 900 || exit 1; cmd_down ;;
status) cmd_status ;;
leftovers) cmd_leftovers ;;
matrix) shift; . "$LAB_DIR/matrix.sh"; matrix_run "$@" ;;
exec) shift; [ $# -ge 2 ] || die "usage: lab.sh exec NS CMD..."; nsx "$@" ;;
rempart) shift; rp "$@" ;;
*) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 1 ;;
esac
