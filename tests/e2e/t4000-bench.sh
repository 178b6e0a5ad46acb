#!/bin/sh
# bench: a closed-loop sweep against obridge sim finds the knee at the slot count, agrees
# with the sim's own timings, renders the table and charts, and stores the run.
. "$(dirname "$0")/lib.sh"

sim_start --num-parallel 4 --tokens 10 --tok-interval 4ms --ttft 10ms --load-time 200ms || exit 1

test_expect_success 'bench -h prints usage and exits 0' '
	"$OBRIDGE" bench -h >out && grep_q "^usage: obridge bench" out
'

test_expect_failure_code 3 'bad -c is a usage error' '"$OBRIDGE" -H "$SIM_URL" bench -c 4,2'
test_expect_failure_code 3 '-c and --rate exclude each other' '"$OBRIDGE" -H "$SIM_URL" bench -c 1 --rate 2'
test_expect_failure_code 3 'a bad --endpoint is a usage error' '"$OBRIDGE" -H "$SIM_URL" bench --endpoint nope'
test_expect_failure_code 3 'a fleet with two instances and no balancer needs --instance or --each' '
	printf "[instance a]\nurl = %s\n[instance b]\nurl = %s\n" "$SIM_URL" "$SIM_URL" >two.conf &&
	"$OBRIDGE" -f two.conf bench -n 2
'

test_expect_success 'a sweep 1..16 with 4 parallel slots reports the knee at 4' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 1..16 -d 1500ms --json >sweep.json &&
	jq -e ".status == \"ok\" and (.steps | length) == 5" sweep.json &&
	jq -e "[.steps[].x] == [1,2,4,8,16]" sweep.json &&
	jq -e ".summary.knee.x == 4 and .summary.knee.next_x == 8" sweep.json &&
	jq -e ".summary.knee.reason == \"saturated\" or .summary.knee.reason == \"flat\"" sweep.json &&
	jq -e ".summary.knee.slots == 4" sweep.json &&
	curl -s "$SIM_URL/_sim/stats" >stats.json &&
	jq -e "[.instances[0].models[] | select(.name == \"llama3.2:latest\")][0].max_concurrent == 4" stats.json
'

test_expect_success 'throughput grows up to 4 streams, then stays flat' '
	jq -e ".steps[2].summary.throughput.output_tok_per_s > 3.2 * .steps[0].summary.throughput.output_tok_per_s" sweep.json &&
	jq -e ".steps[4].summary.throughput.output_tok_per_s < 1.2 * .steps[2].summary.throughput.output_tok_per_s" sweep.json
'

# Truth from the sim: every final chunk carries measured durations (server section), and
# the sim sends 10 tokens 4 ms apart. Wall-clock margins are wide on purpose.
test_expect_success 'measured metrics agree with the sim (tokens, ITL, TPOT, TTFT vs server)' '
	jq -e "all(.steps[]; .summary.tokens.output == 10 * .summary.requests.ok)" sweep.json &&
	jq -e "all(.steps[]; .summary.itl.count == 9 * .summary.requests.ok)" sweep.json &&
	jq -e "all(.steps[]; .summary.itl.p50_ns > 3500000 and .summary.itl.p50_ns < 5000000)" sweep.json &&
	jq -e "all(.steps[]; .summary.tpot.p50_ns > 3500000 and .summary.tpot.p50_ns < 5000000)" sweep.json &&
	jq -e "all(.steps[]; .summary.ttft.p50_ns >= .server.ttft.p50_ns * 0.99 and .summary.ttft.p50_ns < .server.ttft.p50_ns + 10000000)" sweep.json &&
	jq -e "all(.steps[]; (.server.eval.p50_ns / 10) > 3500000 and (.server.eval.p50_ns / 10) < 5000000)" sweep.json &&
	jq -e ".steps[0].server.queue.p50_ns < 2000000 and .steps[4].server.queue.p50_ns > 30000000" sweep.json
'

test_expect_success 'the warm-up absorbed the cold load: no step has cold requests' '
	jq -e "all(.steps[]; .cold.count == 0)" sweep.json
'

test_expect_success '--json has the documented shape' '
	jq -e "(.schema == 1) and (.run | type == \"number\") and .kind == \"bench\" and
	       (.started | test(\"Z$\")) and (.params.mode == \"closed\") and
	       (.params.api == \"generate\") and (.params.model == \"llama3.2:latest\") and
	       (.fingerprint.obridge | type == \"string\") and
	       (.fingerprint.targets[0].ollama == \"0.33.0\") and
	       (.fingerprint.digest | length == 64) and
	       (.summary | has(\"knee\") and has(\"tok_s\") and has(\"req_s\") and has(\"errors\"))" sweep.json &&
	jq -e "all(.steps[]; has(\"index\") and has(\"label\") and has(\"x\") and has(\"instance\") and
	       has(\"partial\") and .summary.schema == 1 and (.errors | keys | length == 10) and
	       has(\"error_messages\") and has(\"cold\") and
	       (.server | has(\"load\") and has(\"prompt_eval\") and has(\"eval\") and has(\"queue\") and has(\"ttft\")) and
	       .raw == null and (.client | has(\"cpu_pct\") and has(\"loop_lag_p99_ns\") and has(\"limited\")) and
	       has(\"max_gap_ns\"))" sweep.json &&
	jq -e "all(.steps[]; all(.summary.ttft, .summary.itl, .summary.tpot, .summary.e2e;
	       has(\"p50_ns\") and has(\"p95_ns\") and has(\"p99_ns\") and has(\"max_ns\")))" sweep.json
'

test_expect_success 'the run is stored with its steps; history shows it' '
	run=$(jq .run sweep.json) &&
	"$OBRIDGE" history --json >h.json &&
	jq -e "[.[] | select(.id == $run)][0] | .kind == \"bench\" and .status == \"ok\"" h.json &&
	test "$(sqlite3 "$OBRIDGE_DB" "select count(*) from steps where run_id = $run")" = 5
'

test_expect_success 'the human view: table, knee sentence, slot finding and charts' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 2,4,8 -n 24 >human.txt &&
	grep -E "^ *C +OK +ERR +REQ/S +TOK/S +TOK/S/U +TTFT p50 +TTFT p95 +ITL p50 +E2E p95" human.txt &&
	grep -E "^ *8 +24 +0 " human.txt &&
	grep_q "up to 4 concurrent streams keep TTFT p95" human.txt &&
	grep_q "TTFT p50 █ p95 ░ by concurrency" human.txt &&
	grep_q "Output tokens per second" human.txt &&
	test "$(wc -L <human.txt)" -le 80
'

test_expect_success 'ASCII charts when the locale is not UTF-8' '
	LC_ALL=C "$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 1,2 -n 4 >ascii.txt &&
	grep_q "TTFT p50 # p95 = by concurrency" ascii.txt &&
	! grep -q "█" ascii.txt && ! LC_ALL=C grep -q "[^ -~]" ascii.txt
'

test_expect_success '--csv prints one row per step after a header' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 1,2 -n 4 --csv >out.csv &&
	test "$(wc -l <out.csv)" = 3 &&
	head -1 out.csv | grep -q "^index,instance,x,partial,ok,failed,shed" &&
	sed -n 3p out.csv | grep -q "^1,\"\",2,0,4,0,0,0,0,"
'

test_expect_success '--stop-on-knee ends the sweep after the knee' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 1..64 -n 32 --stop-on-knee --json >knee.json &&
	jq -e "(.steps | length) == 4 and .summary.knee.x == 4 and (.summary.stopped | test(\"knee\"))" knee.json
'

test_expect_success '--max-p95 ends the sweep once p95 is over the limit' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 2,8,16 -n 16 --max-p95 60ms --json >p95.json &&
	jq -e "(.steps | length) == 2 and (.summary.stopped | test(\"max-p95\"))" p95.json
'

# Steps of 1 s against a 340 ms service time never reach steady state: all streams start
# together, so the median waits fewer rounds than the slowest stream. The slot count
# must still come out at 4 (read off the median it came out at 6).
sim_stop
sim_start --num-parallel 4 --tokens 32 --tok-interval 10ms --ttft 10ms --load-time 200ms || exit 1
test_expect_success 'the slot count holds when steps are short against the service time' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 1,4,8,16 -d 1s --json >short.json &&
	jq -e ".summary.knee.x == 4 and .summary.knee.slots == 4" short.json &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 1,4,8,16 -d 1s --no-chart >short.txt &&
	grep_q "about 4 parallel slots" short.txt
'

test_done
