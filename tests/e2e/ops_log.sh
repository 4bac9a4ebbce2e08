#!/bin/bash
# ops_log: every line rempart writes carries its syslog priority in the
# journal, and lines about a site or a drop carry journal fields.
#
#   plain stderr (a terminal, a test)  "rempart: MESSAGE"
#   stderr = the journal stream        "<N>rempart: MESSAGE" (N: 3 err, 4 warning,
#     ($JOURNAL_STREAM = its dev:ino)   5 notice, 6 info), one per line of a message
#   lines with fields                  a datagram to /run/systemd/journal/socket:
#                                      MESSAGE=, PRIORITY=, TENANT=, SITE=, RULE=, REASON=
#
# The journal socket here is a socat in a private mount namespace (no
# journald on this machine); the image's boot test reads the real journal.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
BUILD=${BUILD:-$PWD/build}
BIN=$BUILD/tests/unit/test_op_log
[ -x "$BIN" ] || { fail "ops_log: $BIN not built"; exit 1; }
if [ -z "${OP_LOG_NS:-}" ]; then
	OP_LOG_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
T=$(mktemp -d /tmp/op_log.XXXXXX)
cleanup() { [ -n "${sock_pid:-}" ] && kill "$sock_pid" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

# plain
"$BIN" 2>"$T/plain"
check "ops_log: without the journal, plain lines ('rempart: an error')" \
	grep -qx 'rempart: an error' "$T/plain"
check "ops_log: without the journal, no '<N>' prefix" bash -c "! grep -q '^<' '$T/plain'"
check "ops_log: without the journal, a line with fields is a plain line too" \
	grep -qx 'rempart: site up: tenant=interieur site=lyon' "$T/plain"

# the journal stream, no journal socket: the fields' lines still reach it
mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd || { skip "ops_log: cannot mount a tmpfs on /run/systemd"; exit 0; }
: >"$T/stream"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/stream") "$BIN" 2>>"$T/stream"
for want in '<3>rempart: an error' '<4>rempart: a warning' '<5>rempart: a notice' \
	'<6>rempart: an info line' '<6>rempart: two lines' '<6>rempart: in one message' \
	'<5>rempart: site up: tenant=interieur site=lyon'; do
	check "ops_log: journal stream: '$want'" grep -qxF "$want" "$T/stream"
done
check "ops_log: journal stream: no debug line at the default level" bash -c "! grep -q debug '$T/stream'"
check "ops_log: journal stream: every line has a priority" bash -c "! grep -qv '^<[3-7]>rempart: ' '$T/stream'"
# a child whose stderr went elsewhere keeps the variable: plain lines there
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/stream") "$BIN" 2>"$T/other"
check "ops_log: \$JOURNAL_STREAM naming another file: plain lines" bash -c "! grep -q '^<' '$T/other'"

# the journal socket: fields
mkdir -p /run/systemd/journal
socat -u UNIX-RECV:/run/systemd/journal/socket OPEN:"$T/dgrams",creat,append &
sock_pid=$!
wait_for 5 test -S /run/systemd/journal/socket
: >"$T/stream2"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/stream2") "$BIN" 2>>"$T/stream2"
wait_for 5 grep -q '^RULE=' "$T/dgrams"
for want in 'MESSAGE=rempart: site up: tenant=interieur site=lyon' PRIORITY=5 TENANT=interieur \
	SITE=lyon SITE_STATE=up SYSLOG_IDENTIFIER=rempart REASON=no_rule RULE=no-ssh HOOK=tunnel_in; do
	check "ops_log: journal fields: $want" grep -qxF "$want" "$T/dgrams"
done
check "ops_log: the drop event's message names its site and rule" \
	grep -q '^MESSAGE=rempart: event: .* drop no_rule tenant=interieur site=lyon rule=no-ssh hook=tunnel_in' "$T/dgrams"
check "ops_log: a line sent with fields is not written to the stream again" \
	bash -c "! grep -q 'site up' '$T/stream2'"
[ "$T_FAILS" -eq 0 ]
