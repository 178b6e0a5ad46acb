#!/bin/sh
# bench: Ctrl-C stores the partial run as interrupted; open-loop rate runs; APIs, prompts,
# --each and --samples.
. "$(dirname "$0")/lib.sh"

sim_start -n 2 --num-parallel 4 --tokens 8 --tok-interval 5ms --ttft 10ms --load-time 50ms || exit 1
u2="http://127.0.0.1:$((SIM_PORT + 1))"

test_expect_success 'SIGINT stores the partial run as interrupted (exit 1)' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 2,4 -d 30s --json >int.json 2>int.err &
	pid=$!
	n=0; while [ $n -lt 100 ] && ! sqlite3 "$OBRIDGE_DB" "select 1 from runs where status = \"running\"" 2>/dev/null | grep -q 1; do sleep 0.1; n=$((n + 1)); done
	sleep 1.5
	kill -INT $pid
	wait $pid; rc=$?
	test $rc = 1 &&
	jq -e ".status == \"interrupted\" and .summary.interrupted == true and
	       (.steps | length) == 1 and .steps[0].partial == true and
	       .steps[0].summary.requests.ok > 20" int.json &&
	run=$(jq .run int.json) &&
	test "$(sqlite3 "$OBRIDGE_DB" "select status from runs where id = $run")" = interrupted &&
	test "$(sqlite3 "$OBRIDGE_DB" "select count(*) from steps where run_id = $run")" = 1 &&
	"$OBRIDGE" show $run --no-chart >show.txt && grep_q "interrupted" show.txt
'

test_expect_success 'open loop: fixed arrivals at the offered rate, corrected and raw latency' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 --rate 20,40 --arrival fixed -d 1s --json >open.json &&
	jq -e ".params.mode == \"open\" and (.steps | length) == 2" open.json &&
	jq -e "all(.steps[]; .summary.offered_rate == .x and .raw.ttft.count > 0 and .raw.e2e.count > 0)" open.json &&
	jq -e ".steps[0].summary.requests.ok >= 18 and .steps[0].summary.requests.ok <= 22" open.json &&
	jq -e ".steps[1].summary.requests.ok >= 36 and .steps[1].summary.requests.ok <= 44" open.json &&
	jq -e "all(.steps[]; .client.send_lag_p99_ns >= 0 and .client.send_lag_max_ns >= .client.send_lag_p99_ns)" open.json &&
	jq -e "all(.steps[]; .summary.ttft.p50_ns >= .raw.ttft.p50_ns)" open.json
'

test_expect_success 'open loop past the slots: corrected latency grows, raw beside it' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 --rate 150 --arrival poisson -n 150 --no-chart >over.txt &&
	grep -E "^ *RATE +OK" over.txt &&
	grep_q "from the planned send" over.txt
'

test_expect_success 'gamma arrivals need a shape; bad kinds are usage errors' '
	expect_code 3 "$OBRIDGE" -H "$SIM_URL" bench --rate 5 --arrival gamma &&
	expect_code 3 "$OBRIDGE" -H "$SIM_URL" bench --rate 5 --arrival nope &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 --rate 10 --arrival gamma:0.5 -n 10 --json >g.json &&
	jq -e ".params.arrival == \"gamma\" and .params.burst == 0.5 and .steps[0].summary.requests.ok == 10" g.json
'

test_expect_success '--api chat and --api openai stream and count tokens' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 --api chat -c 2 -n 6 --json >chat.json &&
	jq -e ".params.api == \"chat\" and .steps[0].summary.tokens.output == 48 and .steps[0].summary.itl.count == 42" chat.json &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 --api openai -c 2 -n 6 --json >oai.json &&
	jq -e ".params.api == \"openai\" and .steps[0].summary.tokens.output == 48 and .steps[0].summary.requests.ok == 6" oai.json &&
	curl -s "$SIM_URL/_sim/stats" | jq -e ".instances[0].requests[\"/v1/chat/completions\"] >= 6"
'

test_expect_success '--endpoint version benches a plain GET' '
	"$OBRIDGE" -H "$SIM_URL" bench --endpoint version -c 4 -n 200 --warmup 0 --json >ep.json &&
	jq -e ".params.api == \"endpoint\" and .params.endpoint == \"version\" and
	       .steps[0].summary.requests.ok == 200 and .steps[0].summary.ttft == null and
	       .steps[0].summary.e2e.count == 200" ep.json
'

test_expect_success '--prompt-tokens calibrates against prompt_eval_count' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 --prompt-tokens 300 -c 1 -n 3 --json >pt.json &&
	jq -e ".fingerprint.prompt.kind == \"synthetic\" and .fingerprint.prompt.tokens == 300" pt.json &&
	jq -e "(.steps[0].summary.tokens.prompt / 3) as \$p | \$p >= 285 and \$p <= 315" pt.json
'

test_expect_success '--prompt-file: text lines and JSONL with prompt or messages; errors name the line' '
	printf "first prompt\n\n{\"prompt\":\"second\"}\n{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"third\"}]}\n" >p.txt &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 --api chat --prompt-file p.txt --unique-prefix -c 1 -n 3 --json >pf.json &&
	jq -e ".fingerprint.prompt.kind == \"file\" and .fingerprint.prompt.count == 3 and
	       .fingerprint.prompt.unique_prefix == true and .steps[0].summary.requests.ok == 3" pf.json &&
	printf "ok\n{\"prompt\":3}\n" >bad.txt &&
	expect_code 3 "$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 --prompt-file bad.txt -n 1 2>err.txt;
	grep_q "bad.txt:2:" err.txt
'

test_expect_success '--each benches every instance in parallel, with per-instance steps' '
	"$OBRIDGE" -f "$SIM_FLEET" bench -m llama3.2 --each -c 2,4 -n 8 --json >each.json &&
	jq -e "(.steps | length) == 6 and ([.steps[] | .instance] == [null,\"gpu-1\",\"gpu-2\",null,\"gpu-1\",\"gpu-2\"])" each.json &&
	jq -e ".steps[0].summary.requests.ok == 16 and .steps[1].summary.requests.ok == 8" each.json &&
	jq -e ".steps[3].summary.throughput.users == 8 and .steps[4].summary.throughput.users == 4" each.json &&
	jq -e ".steps[3].summary.throughput | (.output_tok_per_s_per_user - .output_tok_per_s / 8) | fabs < 0.01" each.json &&
	"$OBRIDGE" -f "$SIM_FLEET" bench -m llama3.2 --instance gpu-2 -c 1 -n 2 --json >one.json &&
	jq -e ".fingerprint.targets[0].name == \"gpu-2\"" one.json
'

test_expect_success '--samples stores one row per request, in batches' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 4 -n 40 --samples --json >s.json &&
	run=$(jq .run s.json) &&
	test "$(sqlite3 "$OBRIDGE_DB" "select count(*) from samples where run_id = $run")" = 40
'

test_expect_success 'the fleet model num_ctx and keep_alive are sent: no reload between runs' '
	sed "/^\[model llama3.2:latest\]$/,/^$/s/^num_ctx = .*/num_ctx = 8192/" "$SIM_FLEET" >ctx.conf &&
	grep -q "^num_ctx = 8192" ctx.conf &&
	"$OBRIDGE" -f ctx.conf bench --instance gpu-2 -c 2 -n 4 --json >ctx1.json &&
	curl -s "$SIM_URL/_sim/stats" >ctx1.stats &&
	"$OBRIDGE" -f ctx.conf bench --instance gpu-2 -c 2 -n 4 --json >ctx2.json &&
	curl -s "$SIM_URL/_sim/stats" >ctx2.stats &&
	jq -e ".fingerprint.options.num_ctx == 8192 and .fingerprint.options.keep_alive == \"30m0s\"" ctx2.json &&
	m="[.instances[1].models[] | select(.name == \"llama3.2:latest\")][0]" &&
	jq -e "$m | .num_ctx == 8192" ctx2.stats &&
	test "$(jq "$m.loads" ctx1.stats)" = "$(jq "$m.loads" ctx2.stats)"
'

test_expect_success 'the fleet balancer is the default target; --endpoint works open loop' '
	printf "[fleet]\nname = lb\nbalancer = %s\n[instance a]\nurl = %s\n[instance b]\nurl = %s\n" \
		"$SIM_URL" "$SIM_URL" "$u2" >lb.conf &&
	"$OBRIDGE" -f lb.conf bench -m llama3.2 -c 1 -n 2 --json >lb.json &&
	jq -e ".fingerprint.targets == [{\"name\":\"balancer\",\"url\":\"$SIM_URL\",\"ollama\":\"0.33.0\"}]" lb.json &&
	"$OBRIDGE" -f lb.conf bench --endpoint tags --rate 50 -n 25 --arrival fixed --json >lbe.json &&
	jq -e ".steps[0].summary.requests.ok == 25 and .steps[0].raw.e2e.count == 25 and .steps[0].raw.ttft == null" lbe.json
'

test_done
