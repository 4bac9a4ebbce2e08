#!/bin/bash
# ops_cli: the command line's conventions (rempart(8), docs/reference.md
# "Commands"), and the command table (`rempart help --json`) held against
# the man page and the bash completion so the three cannot drift apart.
#
#   - getopt_long everywhere: --opt=value and --opt value, options after the
#     arguments, -c PATH after the command, `--` ends the options;
#   - --version is the build's `git describe --always --dirty` (a release
#     tarball's VERSION file, else "unknown");
#   - --help on every command and subcommand shows every option;
#   - --json on the commands that print: valid JSON;
#   - every command, subcommand and option of the table is in rempart(8);
#   - the completion offers exactly the table's commands and options, and
#     every value it offers is accepted by the command.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
export LC_ALL=C.UTF-8
BUILD=${BUILD:-$PWD/build}
R=${REMPART:-$BUILD/rempart}
CFG=configs/example
T=$(mktemp -d /tmp/op_cli.XXXXXX)
trap 'rm -rf "$T"' EXIT

"$R" help --json >"$T/table.json" || { fail "ops_cli: rempart help --json failed"; exit 1; }
# table.py QUERY: lines from the table (python, no jq needed).
table() {
	python3 - "$T/table.json" "$@" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
q = sys.argv[2]
def cmds():
    for c in t["commands"]:
        if c["subcommands"]:
            for s in c["subcommands"]:
                yield c["name"] + " " + s["name"], s
        else:
            yield c["name"], c
if q == "commands":
    print("\n".join(c["name"] for c in t["commands"]))
elif q == "leaves":
    for n, c in cmds():
        print(n)
elif q == "options":          # options of one leaf command, visible ones
    for n, c in cmds():
        if n == sys.argv[3]:
            for o in c["options"]:
                if not o["hidden"]:
                    print("--" + o["name"])
elif q == "global":
    print("\n".join("--" + o["name"] for o in t["global_options"]))
elif q == "values":           # leaf option value...
    for n, c in cmds():
        for o in c["options"]:
            if o["values"]:
                for v in o["values"]:
                    print(n + "\t--" + o["name"] + "\t" + v)
elif q == "json":             # leaves with a --json option
    for n, c in cmds():
        if any(o["name"] == "json" for o in c["options"]):
            print(n)
EOF
}
is_json() { python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null; }

# ---- getopt_long conventions -------------------------------------------------
quiet() { "$@" >/dev/null; }
check "ops_cli: -c PATH after the command (check -c DIR)" quiet "$R" check -c "$CFG"
check "ops_cli: --config=PATH after the command" quiet "$R" check --config="$CFG"
check "ops_cli: -c before the command still works" quiet "$R" -c "$CFG" check
check "ops_cli: options after the arguments (explain … --json)" \
	bash -c "'$R' explain --in eth0 --src 2.3.0.5 --dst 198.51.100.10 --proto udp --dport 51810 -c '$CFG' --json | grep -q '\"verdict\"'"
check "ops_cli: --opt=value (explain --proto=udp --dport=51810)" \
	bash -c "'$R' -c '$CFG' explain --in=eth0 --src=2.3.0.5 --dst=198.51.100.10 --proto=udp --dport=51810 | grep -q '^allow'"
out=$("$R" apply --confirm=abc -c "$CFG" 2>&1); rc=$?
check "ops_cli: apply --confirm=VALUE is parsed (bad value: exit 1, says why: $out)" \
	test "$rc" -eq 1 -a -n "$(echo "$out" | grep -F "'abc' is not a number")"
out=$("$R" check --bogus 2>&1); rc=$?
check "ops_cli: an unknown option: exit 1, one line ($out)" \
	test "$rc" -eq 1 -a "$(echo "$out" | wc -l)" -eq 1 -a -n "$(echo "$out" | grep -F "unknown option '--bogus'")"
out=$("$R" apply --confirm 2>&1); rc=$?
check "ops_cli: a missing value: exit 1 ($out)" \
	test "$rc" -eq 1 -a -n "$(echo "$out" | grep -F -- "--confirm needs a value")"
out=$("$R" check extra 2>&1); rc=$?
check "ops_cli: an extra argument: exit 1 ($out)" test "$rc" -eq 1
out=$("$R" geo lookup --format cidr --ipv4 tests/geo/cidr.txt -- --json 2>&1); rc=$?
check "ops_cli: '--' ends the options (geo lookup -- --json: '--json' is an address: $out)" \
	test "$rc" -eq 1 -a -n "$(echo "$out" | grep -F "'--json' is not an IPv4 or IPv6 address")"

# ---- --version ------------------------------------------------------------------
want=$(make -s --no-print-directory version BUILD="$BUILD" 2>/dev/null)
got=$("$R" --version)
check "ops_cli: --version is the build's ($got, make version: $want)" test "$got" = "rempart $want"
if [ -e .git ] && command -v git >/dev/null; then
	check "ops_cli: the version is git describe --always --dirty ($want)" \
		test "$want" = "$(git describe --always --dirty)"
	# a tree without .git, as `make dist` packs it (the makefiles read
	# userspace/ and tests/ when they are parsed)
	mkdir -p "$T/tb" && git archive HEAD | tar -x -C "$T/tb"
	echo 9.8.7 >"$T/tb/VERSION"
	check "ops_cli: from a tarball, the VERSION file" \
		test "$(make -s --no-print-directory -C "$T/tb" version 2>/dev/null)" = 9.8.7
	rm "$T/tb/VERSION"
	check "ops_cli: from a tarball without VERSION: unknown" \
		test "$(make -s --no-print-directory -C "$T/tb" version 2>/dev/null)" = unknown
else
	skip "ops_cli: not a git checkout: the git describe checks"
fi

# ---- --help on every command --------------------------------------------------
n=0 bad=
while read -r leaf; do
	# shellcheck disable=SC2086
	help=$("$R" $leaf --help 2>&1) && [[ $help == Usage:* ]] || bad="$bad [$leaf: no help]"
	for o in $(table options "$leaf") $(table global); do
		grep -q -- "$o\b" <<<"$help" || bad="$bad [$leaf --help lacks $o]"
	done
	n=$((n + 1))
done < <(table leaves)
check "ops_cli: --help on each of the $n commands shows every option${bad:+:$bad}" test -z "$bad"
for c in $(table commands); do
	"$R" "$c" --help >/dev/null 2>&1 || bad="$bad $c"
done
check "ops_cli: 'rempart COMMAND --help' exits 0 for every command${bad:+:$bad}" test -z "$bad"

# ---- --json where something is printed ---------------------------------------
mkdir -p "$T/cfg" && cp -r "$CFG"/. "$T/cfg/"
declare -A run=(
	[check]="check --no-keys"
	[explain]="explain --in eth0 --src 2.3.0.5 --dst 198.51.100.10"
	["geo lookup"]="geo lookup --format cidr --ipv4 tests/geo/cidr.txt 10.0.0.1"
	[keygen]="keygen"
	[help]="help"
	["site config"]="site config interieur lyon"
)
bad=
for leaf in "${!run[@]}"; do
	# shellcheck disable=SC2086
	"$R" -c "$T/cfg" ${run[$leaf]} --json 2>"$T/err" | is_json || bad="$bad [$leaf: $(head -1 "$T/err")]"
done
check "ops_cli: --json prints one JSON document (${!run[*]})${bad:+:$bad}" test -z "$bad"
# The others need root or a running dataplane: their own suites run them.
pass "ops_cli: commands with --json: $(table json | tr '\n' ',' | sed 's/,$//')"

# ---- the man page --------------------------------------------------------------
MANWIDTH=1000 man -l dist/rempart.8 2>/dev/null | col -bx >"$T/man.txt"
bad=
for c in $(table commands); do
	grep -qE "^ {7}$c( |$)" "$T/man.txt" || bad="$bad [command $c]"
done
while read -r leaf; do
	[[ $leaf == *" "* ]] && { grep -qE "^ {7}$leaf( |$)" "$T/man.txt" || bad="$bad [command $leaf]"; }
	for o in $(table options "$leaf"); do
		grep -q -- "$o\b" "$T/man.txt" || bad="$bad [$leaf $o]"
	done
done < <(table leaves)
for o in $(table global) --version; do
	grep -q -- "$o\b" "$T/man.txt" || bad="$bad [global $o]"
done
check "ops_cli: rempart(8) documents every command, subcommand and option of the table${bad:+:$bad}" \
	test -z "$bad"

# ---- the bash completion ---------------------------------------------------------
BC=/usr/share/bash-completion/bash_completion
if [ ! -r "$BC" ]; then
	skip "ops_cli: bash completion: bash-completion not installed"
	[ "$T_FAILS" -eq 0 ]; exit
fi
complete_words() {
	bash -c '. '"$BC"' 2>/dev/null; . dist/rempart.bash-completion
		COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_rempart rempart "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$@" | sort -u
}
check "ops_cli: the completion's commands are the table's" \
	diff <(complete_words rempart '') <(table commands | sort -u)
bad=
while read -r leaf; do
	# shellcheck disable=SC2086
	got=$(complete_words rempart $leaf a b --)
	want=$( (table options "$leaf"; table global) | sort -u)
	[ "$got" = "$want" ] || bad="$bad [$leaf: offers $(comm -23 <(echo "$got") <(echo "$want") | tr '\n' ' ')lacks $(comm -13 <(echo "$got") <(echo "$want") | tr '\n' ' ')]"
done < <(table leaves)
check "ops_cli: the completion offers exactly each command's options${bad:+:$bad}" test -z "$bad"
bad=
while IFS=$'\t' read -r leaf opt v; do
	# shellcheck disable=SC2086
	got=$(complete_words rempart $leaf "$opt" '')
	want=$(table values | awk -F'\t' -v l="$leaf" -v o="$opt" '$1 == l && $2 == o {print $3}' | sort -u)
	[ "$got" = "$want" ] || bad="$bad [$leaf $opt: offers $(echo $got)]"
done < <(table values | awk -F'\t' '!seen[$1 $2]++')
check "ops_cli: the completion offers exactly the values the table lists${bad:+:$bad}" test -z "$bad"
# … and the command accepts each of them.
bad=
while IFS=$'\t' read -r leaf opt v; do
	case "$leaf $opt" in
	"explain --proto"|"explain --frag")
		"$R" -c "$CFG" explain --in eth0 --src 2.3.0.5 --dst 198.51.100.10 "$opt" "$v" \
			>/dev/null 2>"$T/err" || bad="$bad [$opt $v: $(head -1 "$T/err")]" ;;
	"geo lookup --format")
		"$R" geo lookup --format "$v" --ipv4 /nonexistent 10.0.0.1 >/dev/null 2>"$T/err"
		[ $? -ne 1 ] || bad="$bad [$opt $v: $(head -1 "$T/err")]" ;;
	*) bad="$bad [$leaf $opt: no way to try it here]" ;;
	esac
done < <(table values)
check "ops_cli: every value the completion offers is accepted${bad:+:$bad}" test -z "$bad"
check "ops_cli: completes tenant names (site add -c DIR '')" \
	test "$(complete_words rempart -c "$CFG" site add '' | tr '\n' ' ')" = "interieur justice sante "
[ "$T_FAILS" -eq 0 ]
