#!/bin/sh
# The README tour, run as written: every "$ ..." line of the tour in order, in one shell,
# against the sim the tour starts; each command's output must look as the README shows
# it (expect_like: the figures that depend on timing are free, the rest is checked), and
# the sentences that do not depend on timing (knee, slot estimate, counts, states) must
# appear word for word. One deviation: the sim gets a free port instead of 11434, which
# may be taken on a shared machine (nothing else in the tour names the port).
. "$(dirname "$0")/lib.sh"
. "$OBRIDGE_SRC/tests/e2e/readme-match.sh"

mkdir -p bin && ln -s "$OBRIDGE" bin/obridge && PATH="$TRASH/bin:$PATH"

# The tour: from its heading to the "Commands:" paragraph after it, split into
# cmd.N (the command) and out.N (the output shown under it, indentation removed).
awk '
	/^A tour$/ { on = 1; next }
	on && /^Commands: / { exit }
	!on { next }
	/^    \$ / { n++; sub(/^    \$ /, ""); print > ("cmd." n); printf "" > ("out." n); next }
	n && /^    / { sub(/^    /, ""); print >> ("out." n); next }
	n && /^$/ { print "" >> ("out." n); next }
	/./ { if (n) { close("out." n) } }
' "$OBRIDGE_SRC/README"
ncmd=$(ls cmd.* 2>/dev/null | wc -l)

test_expect_success 'the tour has its commands' '
	test "$ncmd" -ge 12 && grep -q "^obridge sim .*&$" cmd.1 && grep -q "^export OBRIDGE_FLEET=" cmd.2
'

# Run command N in this shell (the tour's exports and files carry over).
run() {
	_c=$(cat "cmd.$1")
	case $_c in
	*'&')
		# another port when this one is taken (other tests run at the same time)
		_try=0
		while [ $_try -lt 5 ]; do
			_try=$((_try + 1))
			port=$(_rand_port)
			_r=$(printf '%s' "$_c" | sed "s/--port 11434/--port $port/; s/ &$//")
			: >"got.$1"
			eval "exec $_r" >>"got.$1" 2>&1 &
			_pid=$!
			_n=0
			while [ $_n -lt 200 ] && [ "$(grep -c listening "got.$1")" != 3 ] &&
			      kill -0 $_pid 2>/dev/null; do
				sleep 0.05
				_n=$((_n + 1))
			done
			[ "$(grep -c listening "got.$1")" = 3 ] && break
			kill $_pid 2>/dev/null
			wait $_pid 2>/dev/null
		done
		SIM_PIDS="$SIM_PIDS $_pid"
		echo "$_pid" >>"$TRASH/.sim-pids"
		echo 0 >"rc.$1"
		;;
	*)
		eval "$_c" >"got.$1" 2>&1
		echo $? >"rc.$1"
		;;
	esac
}

i=1
while [ $i -le "$ncmd" ]; do
	run $i
	test_expect_success "tour $i: $(head -c 60 cmd.$i | tr -d "\\\\")" "
		test \$(cat rc.$i) -le 1 || { echo \"exit \$(cat rc.$i)\"; cat got.$i; false; }
		expect_like out.$i got.$i
	"
	i=$((i + 1))
done

# What does not depend on timing, word for word, in the README and in what ran.
said() { # said PHRASE: in the README's tour and in some command's output
	grep -qF -- "$1" "$OBRIDGE_SRC/README" || { echo "not in the README: $1"; return 1; }
	cat got.* | grep -qF -- "$1" || { echo "not in the output: $1"; return 1; }
}
test_expect_success 'the knee, the slot count, the capacity and the counts are as the README says' '
	said "OBRIDGE WARNING - 3/3 up, 0/9 models resident" &&
	said "9/9 resident" &&
	said "4.5 GB   100% GPU       4096   29 minutes from now" &&
	said "2/3 warm, outliers flagged" &&
	said "outlier: warm TTFT over 2x the others" &&
	said "up to 4 concurrent streams keep TTFT p95 ≤ 200 ms; at 8 throughput" &&
	said "about 4 parallel slots" &&
	said "capacity at SLO: 4 concurrent streams" &&
	said "with 1 instance at 1.20 an hour" &&
	said "with 3 instances at 3.60 an hour" &&
	said "imbalance at 4: gpu-3 gives" &&
	said "3/3 up, 9/9 models resident" &&
	said "rate 16: " &&
	test -s obridge.prom
'

test_done
