#!/bin/sh
# compare, show and export over stored bench runs.
. "$(dirname "$0")/lib.sh"

sim_start --num-parallel 4 --tokens 12 --tok-interval 4ms --ttft 10ms --load-time 50ms || exit 1
a_url=$SIM_URL a_pid=$SIM_PID

bench() {
	"$OBRIDGE" -H "$1" bench -m llama3.2 -c 1,4 -n 24 --json >"$2" && jq .run "$2"
}

test_expect_success 'two runs against the same sim: no regression (exit 0)' '
	A=$(bench "$a_url" a.json) && B=$(bench "$a_url" b.json) &&
	"$OBRIDGE" compare $A $B >cmp.txt &&
	grep -E "^c=4 +itl p50 .* no change$" cmp.txt &&
	grep_q "^no change: 0 regressions" cmp.txt &&
	"$OBRIDGE" compare $A $B --json >cmp.json &&
	jq -e ".verdict == \"no change\" and .regressions == 0 and (.steps | length) == 2 and
	       .fingerprint_differences == 0 and
	       all(.steps[].metrics[]; has(\"ci_lo_pct\") and has(\"ci_hi_pct\") and has(\"p_value\")) and
	       all(.steps[]; .throughput.verdict == \"no change\" and .errors.verdict == \"no change\" and
	                     .errors.a_failed == 0 and .errors.b_failed == 0)" cmp.json &&
	grep -E "^c=4 +tok/s .* no change$" cmp.txt &&
	not_grep "errors" cmp.txt
'

test_expect_success 'a sim with a doubled token interval is a regression (exit 1)' '
	sim_stop "$a_pid" &&
	sim_start --num-parallel 4 --tokens 12 --tok-interval 8ms --ttft 10ms --load-time 50ms &&
	C=$(bench "$SIM_URL" c.json) && A=$(jq .run a.json) &&
	expect_code 1 "$OBRIDGE" compare --force $A $C >reg.txt 2>reg.err &&
	grep -E "^c=1 +itl p50 +[0-9.]+ms +[0-9.]+ms +\+[0-9.]+% .* regression$" reg.txt &&
	grep_q "^regression:" reg.txt &&
	grep_q "fingerprints differ" reg.err && grep_q "targets\[0\].url" reg.err &&
	"$OBRIDGE" compare --force $A $C --json >reg.json; test $? = 1 &&
	jq -e ".verdict == \"regression\" and ([.steps[].metrics[] | select(.metric == \"itl\") | .diff_pct] | all(. > 80))" reg.json
'

test_expect_success 'compare: missing runs and bad operands' '
	expect_code 3 "$OBRIDGE" compare 1 &&
	expect_code 3 "$OBRIDGE" compare 1 9999 &&
	expect_code 3 "$OBRIDGE" compare x 1 &&
	expect_code 3 "$OBRIDGE" compare 1 2 --threshold -5
'

test_expect_success 'show re-renders a stored run as bench printed it' '
	A=$(jq .run a.json) &&
	"$OBRIDGE" show $A >show.txt &&
	grep_q "^run $A: bench against" show.txt &&
	grep -E "^ *C +OK +ERR +REQ/S" show.txt &&
	grep_q "TTFT p50 █ p95 ░ by concurrency" show.txt &&
	"$OBRIDGE" show $A --json | jq -e ".run == $A and (.steps | length) == 2"
'

test_expect_success 'export --json equals the bench document; --csv has one row per step' '
	A=$(jq .run a.json) &&
	"$OBRIDGE" export $A --json >exp.json &&
	jq -S "del(.finished)" a.json >x1 && jq -S "del(.finished)" exp.json >x2 && test_cmp x1 x2 &&
	"$OBRIDGE" export $A --csv >exp.csv &&
	test "$(wc -l <exp.csv)" = 3 && head -1 exp.csv | grep -q "^index,instance,x,"
'

test_expect_success 'export --json --csv (in either order) is a usage error, nothing printed' '
	A=$(jq .run a.json) &&
	expect_code 3 "$OBRIDGE" export $A --json --csv >o1 2>e1 &&
	grep_q "obridge export: --json and --csv exclude each other" e1 && test ! -s o1 &&
	expect_code 3 "$OBRIDGE" export --csv $A --json >o2 2>e2 &&
	grep_q "exclude each other" e2 && test ! -s o2
'

test_expect_success 'a command that prints no JSON refuses --json instead of ignoring it' '
	expect_code 3 "$OBRIDGE" completion bash --json >o 2>e &&
	grep_q "obridge completion: --json is not an option of this command" e && test ! -s o
'

test_expect_success 'show and export refuse a run that is not a bench run' '
	sqlite3 "$OBRIDGE_DB" "insert into runs(kind, status, started_ns, target) values (\"health\", \"ok\", 1, \"x\")" 2>/dev/null ||
	"$OBRIDGE" -H "$SIM_URL" health >/dev/null 2>&1;
	H=$(sqlite3 "$OBRIDGE_DB" "select max(id) from runs where kind = \"health\"") &&
	test -n "$H" &&
	expect_code 3 "$OBRIDGE" show $H 2>e1 && grep_q "not a bench run" e1 &&
	expect_code 3 "$OBRIDGE" export $H
'

if command -v gnuplot >/dev/null 2>&1; then
	test_expect_success 'show --plot writes an SVG and a PNG with gnuplot' '
		A=$(jq .run a.json) &&
		"$OBRIDGE" show $A --plot curves.svg && grep -q "<svg" curves.svg &&
		"$OBRIDGE" show $A --plot curves.png && head -c 8 curves.png | grep -q PNG
	'
else
	test_skip 'show --plot (gnuplot not installed)'
fi

test_expect_success 'show --plot without gnuplot says what to install' '
	A=$(jq .run a.json) &&
	PATH=/nonexistent expect_code 2 "$OBRIDGE" show $A --plot x.svg 2>np.err;
	grep_q "gnuplot-nox" np.err
'

# Fast failures leave the latency of what succeeds untouched: the error share must
# carry the verdict.
test_expect_success 'half the requests shed with 503: a regression through errors (exit 1)' '
	sim_stop &&
	sim_start --num-parallel 4 --tokens 12 --tok-interval 4ms --ttft 10ms --load-time 50ms \
		--fault 503@0.5 &&
	D=$(bench "$SIM_URL" d.json) && A=$(jq .run a.json) &&
	jq -e ".steps[1].summary.requests.failed >= 6" d.json &&
	expect_code 1 "$OBRIDGE" compare --force $A $D >shed.txt 2>/dev/null &&
	grep -E "^c=4 +itl p50 .* no change$" shed.txt &&
	grep -E "^c=4 +errors +0\.0% +[0-9.]+% +\+[0-9.]+pp +\[\+[0-9.]+pp, \+[0-9.]+pp\] +regression$" shed.txt &&
	"$OBRIDGE" compare --force $A $D --json >shed.json; test $? = 1 &&
	jq -e ".steps[1].errors.verdict == \"regression\" and .steps[1].errors.ci_lo_pp > 0" shed.json
'

test_done
