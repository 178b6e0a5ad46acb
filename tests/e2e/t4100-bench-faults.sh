#!/bin/sh
# bench: every sim fault lands in its own error class; heavy 503s are load shedding.
. "$(dirname "$0")/lib.sh"

sim_start -n 2 --num-parallel 4 --tokens 8 --tok-interval 3ms --ttft 5ms --load-time 50ms || exit 1

fault() {
	sim_fault_at gpu-1 none && sim_fault_at gpu-1 up &&
	if [ "$1" != none ]; then sim_fault_at gpu-1 "$1"; fi
}

# bench_fault KIND CLASS: 4 requests against gpu-1 with KIND injected, all of class CLASS.
bench_fault() {
	fault "$1" &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 2 -n 4 --warmup 0 --stall 400ms \
		--timeout 2s --json >"f-$2.json"
	rc=$?
	fault none
	test $rc = 2 || { echo "exit $rc, expected 2"; return 1; }
	jq -e ".status == \"failed\" and .steps[0].errors.$2 == 4 and
	       ([.steps[0].errors[]] | add) == 4 and .steps[0].summary.requests.ok == 0" "f-$2.json"
}

test_expect_success 'refused (instance down)' 'bench_fault down refused'
test_expect_success 'HTTP 500 (runner crash)' '
	bench_fault 500 http && jq -e ".steps[0].error_messages.http | test(\"HTTP 500\")" f-http.json
'
test_expect_success 'mid-stream error line' 'bench_fault error stream'
test_expect_success 'malformed JSON line' 'bench_fault malformed malformed'
# The sim drops the connection mid-stream, also on a kept-alive connection.
test_expect_success 'truncated stream' '
	fault truncate &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 1 -n 4 --warmup 0 --timeout 5s --json >f-trunc.json;
	rc=$?; fault none; test $rc = 2 &&
	jq -e ".steps[0].errors.truncated == 4 and .steps[0].errors.timeout == 0" f-trunc.json &&
	jq -e ".steps[0].error_messages.truncated | test(\"closed before the end\")" f-trunc.json
'
test_expect_success 'stall: a token gap over --stall' '
	bench_fault stall=800ms stall && jq -e ".steps[0].error_messages.stall | test(\"gap\")" f-stall.json
'
test_expect_success 'timeout (hang)' 'bench_fault hang timeout'
test_expect_success 'all 503: shed, not failures; the run failed since nothing succeeded' '
	bench_fault 503 shed && jq -e ".steps[0].summary.requests.failed_by.shed == 4" f-shed.json
'

# A warm-up that can only fail the same way ends the bench before the sweep.
test_expect_success 'a model the server lacks: stops after the warm-up, exit 2, run failed' '
	expect_code 2 "$OBRIDGE" -H "$SIM_URL" bench -m nosuch -c 1,2 -d 5s >out 2>err &&
	test ! -s out &&
	grep_q "every warm-up request failed: HTTP 404: model .nosuch:latest. not found; nothing benched" err &&
	"$OBRIDGE" history -n 1 --json >h.json &&
	jq -e ".[0].status == \"failed\" and (.[0].summary.error | test(\"404\"))" h.json &&
	expect_code 2 "$OBRIDGE" -H "$SIM_URL" bench -m nosuch -c 1 --json >nj.json 2>/dev/null &&
	jq -e ".status == \"failed\" and .kind == \"bench\" and .run > 0 and
	       (.summary.error | test(\"404\")) and .steps == []" nj.json
'
test_expect_success 'nothing listening: the same, and --warmup 0 sweeps anyway' '
	fault down &&
	expect_code 2 "$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 1,2 -d 5s >out 2>err;
	rc=$?
	expect_code 2 "$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 1,2 -n 2 --warmup 0 --json >w0.json 2>/dev/null;
	rc2=$?; fault none; test $rc = 0 && test $rc2 = 0 &&
	grep_q "every warm-up request failed: connection refused; nothing benched" err &&
	jq -e "(.steps | length) == 2 and .steps[0].errors.refused == 2 and .summary.ttft_p95_ns == null and
	       all(.steps[]; .client.limited == false)" w0.json
'
test_expect_success 'warm-ups that only meet 503s do not stop the bench (shedding is benchable)' '
	fault 503 &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 1,2 -n 2 --json >w503.json 2>err;
	rc=$?; fault none; test $rc = 2 &&
	grep_q "warning: every warm-up request failed" err &&
	jq -e "(.steps | length) == 2 and .steps[1].errors.shed == 2" w503.json
'

test_expect_success 'heavy 503s are reported as load shedding, not as failures' '
	fault 503@0.6 &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 4 -n 40 --warmup 0 --json >shed.json &&
	"$OBRIDGE" show "$(jq .run shed.json)" --no-chart >shed.txt;
	fault none &&
	jq -e ".status == \"ok\" and .steps[0].errors.shed > 10 and .summary.errors == 0 and
	       .summary.shed == .steps[0].errors.shed and
	       .steps[0].summary.requests.ok + .steps[0].errors.shed == 40" shed.json &&
	grep_q "requests shed (503, server queue full)" shed.txt &&
	grep_q "load shedding, not failures" shed.txt
'

test_expect_success 'some failures: exit 1, errors listed by class with the message' '
	fault 500@0.5 &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 2 -n 20 --warmup 0 >some.txt;
	rc=$?; fault none; test $rc = 1 &&
	grep -E "^c=2: [0-9]+ failed: [0-9]+ http \(HTTP 500: llama runner" some.txt
'

test_expect_success 'a cold load is flagged and reported apart' '
	curl -s -d "{\"model\":\"llama3.2\",\"keep_alive\":0}" "$SIM_URL/api/generate" >/dev/null &&
	sleep 0.2 &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 1 -n 3 --warmup 0 --cold-threshold 40ms --json >cold.json &&
	jq -e ".steps[0].cold.count == 1 and .steps[0].summary.ttft.count == 2 and
	       .steps[0].cold.ttft.p50_ns > 40000000" cold.json
'

test_done
