#!/bin/sh
# Completion: `obridge completion` matches completions/, the hidden helper, and real
# bash (its completion function), zsh (zpty) and fish (complete -C) completing commands,
# options, option values, instance names, model names and run ids.
. "$(dirname "$0")/lib.sh"

COMPDIR="$OBRIDGE_SRC/completions"
# The scripts run the binary the user typed: put ours on PATH as `obridge`.
mkdir -p "$TRASH/bin" "$TRASH/helpers"
ln -s "$OBRIDGE" "$TRASH/bin/obridge"
PATH="$TRASH/bin:$PATH"
export PATH COMPDIR

cat >"$TRASH/comp.conf" <<'EOF'
[fleet]
name = comp
[instance gpu-1]
url = http://127.0.0.1:1
group = gpu
[instance gpu-2]
url = http://127.0.0.1:2
group = gpu
[instance cpu-1]
url = http://127.0.0.1:3
group = cpu
[model llama3.2:latest]
[model qwen2.5:0.5b]
groups = gpu
EOF
cp "$TRASH/comp.conf" "$TRASH/fleet-other.conf"

# bash: run _obridge with COMP_WORDS split as bash splits them (blanks, and ':' and '='
# as words of their own), print COMPREPLY sorted on one line.
cat >"$TRASH/helpers/comp-bash" <<'EOF'
source "$COMPDIR/obridge.bash"
line=$1
words=()
w=
for ((i = 0; i < ${#line}; i++)); do
	c=${line:i:1}
	case $c in
	' ') [[ -n $w ]] && words+=("$w"); w= ;;
	[:=]) [[ -n $w && $w != [:=]* ]] && { words+=("$w"); w=; }; w+=$c ;;
	*) [[ $w == [:=]* ]] && { words+=("$w"); w=; }; w+=$c ;;
	esac
done
[[ -n $w || $line == *' ' ]] && words+=("$w")
COMP_WORDS=("${words[@]}") COMP_CWORD=$((${#words[@]} - 1)) COMP_LINE=$line COMP_POINT=${#line}
COMPREPLY=()
_obridge
printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
echo
EOF

# zsh: type the line and Tab in an interactive zsh under zpty; compadd is wrapped to
# record what the completion offered.
cat >"$TRASH/helpers/comp-zsh" <<'EOF'
zmodload zsh/zpty || exit 1
out=$1 line=$2
: >| $out
zpty z zsh -f -i
zpty -w z "PROMPT='> '; fpath=(${(q)COMPDIR} \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "compadd() { local -a __h; builtin compadd -O __h \"\$@\"; (( \${#__h} )) && print -rl -- \"\${__h[@]}\" >>| ${(q)out}; builtin compadd \"\$@\" }"
zpty -w z 'print READY-$((40+2))'
zpty -r -m z x '*READY-42*' || exit 1
zpty -w -n z "$line"$'\t'
sleep 0.3
zpty -w z $'\C-u''print DONE-$((40+3))'
zpty -r -m z x '*DONE-43*' || exit 1
zpty -d z
EOF

comp_bash() { bash --norc --noprofile "$TRASH/helpers/comp-bash" "$1"; }
comp_zsh() {
	timeout 30 zsh -f "$TRASH/helpers/comp-zsh" "$TRASH/zsh.out" "$1" || return 1
	LC_ALL=C sort -u "$TRASH/zsh.out" | tr '\n' ' ' | sed 's/ $//'
	echo
}
comp_fish() {
	fish -N -c 'source $COMPDIR/obridge.fish; complete -C"$argv[1]"' "$1" |
		cut -f1 | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//'
	echo
}
# expect SHELL 'LINE' 'SORTED CANDIDATES'
expect() {
	_got=$("comp_$1" "$2")
	if [ "$_got" != "$3" ]; then
		echo "$1 completing '$2':"
		echo "  expected: $3"
		echo "  got:      $_got"
		return 1
	fi
}

test_expect_success 'completion SHELL prints the files in completions/' '
	"$OBRIDGE" completion bash >out.bash && test_cmp "$COMPDIR/obridge.bash" out.bash &&
	"$OBRIDGE" completion zsh >out.zsh && test_cmp "$COMPDIR/_obridge" out.zsh &&
	"$OBRIDGE" completion fish >out.fish && test_cmp "$COMPDIR/obridge.fish" out.fish
'

test_expect_failure_code 3 'completion with an unknown shell' '
	"$OBRIDGE" completion tcsh 2>err; rc=$?; grep_q "unknown shell" err && exit $rc
'

test_expect_success 'every command has a completion entry' '
	"$OBRIDGE" __complete check &&
	"$OBRIDGE" -h | sed -n "/^Commands:/,/^\$/p" | sed -n "s/^  \([a-z_-]*\) .*/\1/p" >want &&
	"$OBRIDGE" __complete commands | cut -f1 >got && test_cmp want got &&
	for c in $(cat want); do "$OBRIDGE" __complete options "$c" >/dev/null || return 1; done
'

test_expect_success 'the helper lists instances, groups and models of the fleet' '
	"$OBRIDGE" -f comp.conf __complete instances | cut -f1 >got &&
	printf "gpu-1\ngpu-2\ncpu-1\n" >want && test_cmp want got &&
	"$OBRIDGE" -f comp.conf __complete groups | cut -f1 >got &&
	printf "cpu\ngpu\n" >want && test_cmp want got &&
	"$OBRIDGE" -f comp.conf __complete models | cut -f1 >got &&
	printf "llama3.2:latest\nqwen2.5:0.5b\n" >want && test_cmp want got
'

test_expect_success 'the helper never creates a store' '
	OBRIDGE_DB="$TRASH/none.db" "$OBRIDGE" __complete -- history --kind "" >out &&
	test ! -e "$TRASH/none.db" && grep_q "^health" out
'

# Record two runs (health against a sim) for the run id tests.
runs_ok=
health_ok=
if sim_start -n 2; then
	"$OBRIDGE" -f "$SIM_FLEET" health >/dev/null 2>&1
	"$OBRIDGE" -f "$SIM_FLEET" health >/dev/null 2>&1
	sim_stop
	[ "$("$OBRIDGE" __complete runs | wc -l)" -ge 2 ] && runs_ok=1 && health_ok=1
fi
# Without a working sim or health, write two runs with the sqlite3 shell if there is one.
if [ -z "$runs_ok" ] && command -v sqlite3 >/dev/null 2>&1 && "$OBRIDGE" history >/dev/null 2>&1; then
	now=$(date +%s)000000000
	sqlite3 "$OBRIDGE_DB" "INSERT INTO runs(kind, status, started_ns, target)
		VALUES ('health', 'ok', $now, 'x'), ('health', 'ok', $now + 1, 'x');" &&
		runs_ok=1
fi

test_expect_success 'run ids come newest first with kind and date' '
	test -n "$runs_ok" &&
	"$OBRIDGE" __complete runs >out &&
	head -n 1 out | grep -q "^2	health 20[0-9-]* [0-9:]* " &&
	sed -n 2p out | grep -q "^1	health "
'

test_expect_success 'models seen in recent runs are offered too' '
	test -n "$health_ok" &&
	"$OBRIDGE" __complete models >out &&
	grep -q "^nomic-embed-text:latest	seen in health run [0-9]" out &&
	"$OBRIDGE" -f comp.conf __complete -- health -m "" >out &&
	head -n 1 out | grep -q "^llama3.2:latest	fleet file" &&
	grep -q "^nomic-embed-text:latest	seen in health run" out
'

for sh in bash zsh fish; do
	if ! command -v $sh >/dev/null 2>&1; then
		test_skip "$sh is not installed"
		continue
	fi
	test_expect_success "$sh: commands, options and option values" "
		expect $sh 'obridge h' 'health help history' &&
		expect $sh 'obridge ver' 'version' &&
		expect $sh 'obridge history --l' '--limit' &&
		expect $sh 'obridge -q fleet --j' '--json' &&
		expect $sh 'obridge fleet ' 'check show' &&
		expect $sh 'obridge health --format ' 'json nagios prom text' &&
		expect $sh 'obridge completion ' 'bash fish zsh' &&
		expect $sh 'obridge help she' 'shell'
	"
	test_expect_success "$sh: instance, group and model names from the fleet file" "
		expect $sh 'obridge -f comp.conf __complete --instance ' 'cpu-1 gpu-1 gpu-2' &&
		expect $sh 'obridge -f comp.conf __complete --instance g' 'gpu-1 gpu-2' &&
		expect $sh 'obridge -f comp.conf __complete --group ' 'cpu gpu' &&
		expect $sh 'obridge --db none.db --fleet=comp.conf health -m ' 'llama3.2:latest qwen2.5:0.5b'
	"
	test_expect_success "$sh: file names for --fleet" "
		expect $sh 'obridge -f comp' 'comp.conf' &&
		expect $sh 'obridge -f fleet-o' 'fleet-other.conf'
	"
	test_expect_success "$sh: run ids from the store" "
		test -n \"\$runs_ok\" &&
		expect $sh 'obridge __complete runs ' '1 2'
	"
done

# Shell-specific word handling: bash splits words at ':' and '='.
test_expect_success 'bash: values after --opt= and inside model names' '
	expect bash "obridge health --format=n" "nagios" &&
	expect bash "obridge -f comp.conf health -m llama3.2:" "latest" &&
	expect bash "obridge --fleet=comp" "comp.conf"
'

test_expect_success 'zsh and fish: --opt=value and model names' '
	expect zsh "obridge health --format=n" "--format=nagios" &&
	expect zsh "obridge -f comp.conf health -m llama3.2:" "llama3.2:latest" &&
	expect fish "obridge health --format=n" "--format=nagios" &&
	expect fish "obridge --fleet=comp" "--fleet=comp.conf"
'

test_done
