#!/bin/sh
# check-completion.sh - checks clients/csirt/csirt.bash-completion: sources
# it in a bare bash, completes a few command lines by setting COMP_WORDS and
# COMP_CWORD, and compares the completion's lists with what the built
# client says in `csirt help` and `csirt COMMAND --help` (run by CTest).
#
# usage: check-completion.sh PATH/TO/csirt
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
comp=$top/clients/csirt/csirt.bash-completion
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 PATH/TO/csirt (the built client)" >&2
	exit 2
fi
if ! command -v bash >/dev/null 2>&1; then
	echo "FAIL bash not found" >&2
	exit 1
fi
[ -r "$comp" ] || { echo "FAIL cannot read $comp" >&2; exit 1; }

exec bash --norc --noprofile -s -- "$1" "$comp" <<'EOF'
set -u
bin=$1
comp=$2
fails=0
export LC_ALL=C

fail() {
	echo "FAIL $*"
	fails=$((fails + 1))
}

# Loaded the way bash-completion loads it: inside a function.
load() { . "$comp"; }
load || { echo "FAIL sourcing $comp"; exit 1; }
declare -F _csirt >/dev/null || { echo "FAIL $comp defines no _csirt"; exit 1; }
complete -p csirt >/dev/null 2>&1 ||
	{ echo "FAIL $comp does not register a completion for csirt"; exit 1; }

# comp WORD... : completes the last word of "csirt WORD..."; prints the
# candidates sorted, one line, space-separated.
comp() {
	COMP_WORDS=(csirt "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_csirt csirt "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# words LIST: sorted, one line.
words() { printf '%s\n' $1 | sort -u | tr '\n' ' ' | sed 's/ $//'; }

# expect_exactly WHAT WANT GOT
expect_exactly() {
	local want got
	want=$(words "$2")
	got=$(words "$3")
	if [[ $want == "$got" ]]; then
		echo "ok   $1: $got"
	else
		fail "$1: expected \"$want\", completion offers \"$got\""
	fi
}

# expect_all WHAT WANT GOT: every word of WANT is in GOT.
expect_all() {
	local w missing=
	for w in $2; do
		[[ " $3 " == *" $w "* ]] || missing+=" $w"
	done
	if [[ -z $missing ]]; then
		echo "ok   $1"
	else
		fail "$1: missing$missing (offered: $3)"
	fi
}

# The options a --help text names before "Common options".
help_opts() {
	"$bin" "$@" --help | sed '/^Common options/,$d' |
		grep -oE -- '(^|[][ |,])-{1,2}[A-Za-z][A-Za-z-]*' |
		sed 's/^[][ |,]//' | sort -u | tr '\n' ' '
}

# The binary's commands, from `csirt help`.
cmds=$("$bin" help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
[[ -n $cmds ]] || { echo "FAIL \`$bin help\` lists no command"; exit 1; }

# Every command the binary has, and no other.
all=$(comp '')
for c in $cmds; do
	[[ " $all " == *" $c "* ]] ||
		fail "command \"$c\" (in \`csirt help\`) is not in the completion's command list"
done
for c in $all; do
	[[ " $(words "$cmds") " == *" $c "* ]] ||
		fail "the completion offers \"$c\", which \`csirt help\` does not list"
done
echo "ok   commands: $(words "$cmds")"

expect_exactly 'csirt re<TAB>' "$(printf '%s\n' $cmds | grep '^re')" "$(comp re)"
expect_exactly 'csirt re<TAB> (fixed)' 'report reopen request resolve' "$(comp re)"

# Subcommands as the usage lines of `csirt note --help` and
# `csirt admin --help` name them.
note_subs=$("$bin" note --help | sed -n 's/^ *\(usage: \)\{0,1\}csirt note \([a-z]*\).*/\2/p')
expect_exactly 'csirt note <TAB>' "$note_subs" "$(comp note '')"
expect_exactly 'csirt note <TAB> (fixed)' 'add edit versions' "$(comp note '')"
admin_subs=$("$bin" admin --help | sed -n 's/^ *\(usage: \)\{0,1\}csirt admin \([a-z]*\).*/\2/p')
expect_exactly 'csirt admin <TAB>' "$admin_subs" "$(comp admin '')"
for s in $(words "$admin_subs"); do
	verbs=$("$bin" admin --help |
		sed -n "s/^ *\(usage: \)\{0,1\}csirt admin $s \([a-z]*\).*/\2/p")
	expect_exactly "csirt admin $s <TAB>" "$verbs" "$(comp admin "$s" '')"
done

# Options: what each command's --help names must be offered.
for c in $cmds; do
	case $c in
	help | version) continue ;;
	note) got="$(comp note add -) $(comp note edit -) $(comp note versions -)" ;;
	evidence) got="$(comp evidence add -) $(comp evidence get -) $(comp evidence dispose -) $(comp evidence reclassify -)" ;;
	admin) got="$(comp admin division -) $(comp admin user -) $(comp admin token -)" ;;
	*) got=$(comp "$c" -) ;;
	esac
	expect_all "csirt $c -<TAB> has the options of \`csirt $c --help\`" \
		"$(help_opts "$c") --json --lang --url --cacert --help" "$got"
done
expect_all 'csirt list --<TAB>' \
	'--state --category --division --min-confidentiality --text --after --before --overdue --limit --page-token --all' \
	"$(comp list --)"
got=$(comp list --)
[[ " $got " != *" --title "* && " $got " != *" --reason "* ]] ||
	fail "csirt list --<TAB> offers options of other commands: $got"

expect_all 'csirt admin user create LOGIN --<TAB>' '--role --division --name' \
	"$(comp admin user create x --)"
expect_all 'csirt admin token issue LOGIN -<TAB>' '-d --description' \
	"$(comp admin token issue x -)"
expect_all 'csirt note edit ID NOTE -<TAB>' '-m --message -F --file --reason' \
	"$(comp note edit 1 2 -)"

expect_exactly 'csirt --lang <TAB>' 'ja en' "$(comp --lang '')"
expect_exactly 'csirt list --lang <TAB>' 'ja en' "$(comp list --lang '')"
expect_exactly 'csirt --lang=<TAB>' 'ja en' "$(comp --lang = '')"
expect_exactly 'csirt --lang ja re<TAB>' 'report reopen request resolve' "$(comp --lang ja re)"
expect_exactly 'csirt --url <TAB>' '' "$(comp --url '')"
expect_exactly 'csirt admin user create x --role <TAB>' \
	'reporter security_manager csirt_lead investigator auditor admin' \
	"$(comp admin user create x --role '')"

# A file option completes file names.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
touch "$tmp/case.json"
expect_exactly 'csirt report -f FILE<TAB>' "$tmp/case.json" "$(comp report -f "$tmp/ca")"
expect_exactly 'csirt note add 1 -F FILE<TAB>' "$tmp/case.json" "$(comp note add 1 -F "$tmp/ca")"

if ((fails > 0)); then
	echo "$fails completion check(s) failed; fix clients/csirt/csirt.bash-completion"
	exit 1
fi
echo "all completion checks passed"
EOF
