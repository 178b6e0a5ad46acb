#!/bin/sh
# Open-loop schedules at absurd rates: saturating arithmetic (no flood, no overflow), and a
# rate below one request per --duration is said in the output.
. "$(dirname "$0")/lib.sh"

sim_start --num-parallel 4 --tokens 4 --tok-interval 1ms --ttft 2ms --load-time 5ms || exit 1

test_expect_success '--rate 1e-12 sends at most one request and says so' '
	timeout -k 2 60 "$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 --rate 1e-12 -d 1s --warmup 0 \
		--json >r.json 2>err; rc=$?
	cat err; test $rc -lt 3 &&
	jq -e "(.steps[0].summary.requests.ok + ([.steps[0].errors[]] | add)) <= 1" r.json &&
	grep_q "below one request per --duration" err &&
	curl -s "$SIM_URL/_sim/stats" | jq -e "(.instances[0].requests[\"/api/generate\"] // 0) <= 1"
'
test_expect_success '--rate 1e-12 with -n would take forever: refused' '
	expect_code 3 "$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 --rate 1e-12 -n 5 2>err &&
	grep_q "would take" err
'
test_expect_success 'a huge --rate is refused or capped, never overflows' '
	timeout -k 2 60 "$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 --rate 1e300 -n 3 --warmup 0 \
		--json >h.json 2>err; rc=$?
	cat err; not_grep "runtime error" err && test $rc != 124
'

test_done
