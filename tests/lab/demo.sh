#!/bin/bash
# demo.sh — `make demo`: lab up, traffic matrix, rempart status, "try this".
# Exit 0 only when the lab is up, every cell of the matrix is as expected
# and `rempart audit` proves the lab's isolation (exit 0, 0 violations).
set -u
LAB=$(cd "$(dirname "$0")" && pwd)/lab.sh
. "$LAB"
lab_lock 900 || exit 1

echo "== lab up (tests/lab/lab.sh up)"
"$LAB" up
up=$?
if [ $up = 1 ]; then
	echo "== the lab could not be built; logs were in $LAB_STATE/logs" >&2
	"$LAB" down >/dev/null 2>&1
	exit 1
fi
[ $up = 2 ] && echo "== the lab is up but rempart or a site is not working (see $LAB_STATE/logs); the matrix shows what that means"

echo
echo "== traffic matrix (from the namespaces, real packets; 'arrived' = reached the target but no answer came back)"
"$LAB" matrix
m=$?

echo
echo "== rempart status"
"$LAB" rempart status 2>&1 | sed 's/^/  /'

echo
echo "== rempart audit (the live kernel state proven against the configuration)"
"$LAB" rempart audit 2>&1 | sed 's/^/  /'
a=${PIPESTATUS[0]}
case $a in
0) echo "== audit: 0 violations, isolation proven (run it again: tests/lab/lab.sh rempart audit)" ;;
3) echo "== audit: violations found (exit 3): the lines above name each packet that gets through" ;;
*) echo "== audit: the state could not be judged (exit $a): the reason is above" ;;
esac

uplink=$(ini_get "$CFG/rempart.ini" gateway uplink)
pub=$(cat "$LAB_STATE/public4")
wga=$(tenant_get alpha tunnel_interface); [ -n "$wga" ] || wga=wg-alpha
porta=$(tenant_get alpha listen_port)
read -r a1 _ <"$LAB_STATE/sites/wgs-a1.lan"
read -r b1 _ <"$LAB_STATE/sites/wgs-b1.lan"
cat <<TRY

== try this (the lab stays up until 'make demo-down')
  tests/lab/lab.sh status                                   # namespaces, processes, handshakes
  tests/lab/lab.sh exec rp-site-a1 ping -c2 $CLOUD_HOST4        # site alpha-1 -> its cloud, through WireGuard
  tests/lab/lab.sh exec rp-site-b1 ping -c2 $CLOUD_HOST4        # bravo-1 -> the same address: bravo's own cloud
  tests/lab/lab.sh exec rp-cloud-b ping -c2 $a1          # bravo's cloud -> alpha's site: dropped
  tests/lab/lab.sh exec rp-gw wg show                         # the gateway's tunnels (its own mount namespace)
  tests/lab/lab.sh rempart monitor                          # drops as they happen (Ctrl-C to stop)
  tests/lab/lab.sh rempart explain --in $wga --src $a1 --dst $SVC4 --proto udp --dport 53
  tests/lab/lab.sh rempart explain --in $uplink --src $ABROAD4 --dst $pub --proto udp --dport $porta
  tests/lab/lab.sh rempart status --json
  tests/lab/lab.sh rempart audit --json                     # isolation proven from the live state
  make demo-down                                            # remove it all
TRY
[ $up = 0 ] && [ $m = 0 ] && [ $a = 0 ]
