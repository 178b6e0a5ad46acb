#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# obridge sim: the emission truth of GET /_sim/stats ("emission", lib/sim/sim.h): gaps
# between the token-carrying chunks the sim hands to its HTTP library and its own TTFT,
# per instance and merged, the batching rule at tok-interval 0, and /_sim/reset.
# Bounds on durations are loose correctness checks (is it the token interval, not 0 or a
# second), never speed checks.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || { test_skip "jq is not installed"; test_done; }

jqe() { _f=$1; shift; jq -e "$@" "$_f" >/dev/null || { echo "jq -e $* failed on:"; head -c 3000 "$_f"; echo; return 1; }; }
stats() { curl -sS "$U/_sim/stats" >"$1"; }
user='"messages":[{"role":"user","content":"hi"}]'

# stream one request of each streamed API to $1 (a base URL), in the background
stream_all() {
	curl -sS -o "g$2" -d "{\"model\":\"llama3.2\",\"prompt\":\"hi\"}" "$1/api/generate" & pids="$pids $!"
	curl -sS -o "c$2" -d "{\"model\":\"llama3.2\",$user}" "$1/api/chat" & pids="$pids $!"
	curl -sS -o "v$2" -d "{\"model\":\"llama3.2\",$user,\"stream\":true}" "$1/v1/chat/completions" & pids="$pids $!"
	curl -sS -o "o$2" -d "{\"model\":\"llama3.2\",\"prompt\":\"hi\",\"stream\":true}" "$1/v1/completions" & pids="$pids $!"
}

# every number under .emission and each instance's .emission is 0
all_zero='[.emission, .instances[].emission] | [.. | numbers] | length > 30 and all(. == 0)'

sim_start -n 2 --tok-interval 20ms --tokens 10 --ttft 50ms --load-time 10ms \
	--num-parallel 8 || exit 1
U=$SIM_URL
U2="http://127.0.0.1:$((SIM_PORT + 1))"

test_expect_success 'before any stream: the emission figures are there, all 0' '
	stats st &&
	jqe st ".emission | keys == [\"chunks\",\"gaps\",\"streams\",\"tokens\",\"ttft\"]" &&
	jqe st ".emission.gaps | keys == [\"count\",\"max_ns\",\"mean_ns\",\"p50_ns\",\"p90_ns\",\"p99_ns\"]" &&
	jqe st "(.emission.ttft | keys) == (.emission.gaps | keys)" &&
	jqe st "$all_zero"
'

test_expect_success 'eight concurrent streams on two instances: 9 gaps each, about 20 ms' '
	pids="" && stream_all "$U" 1 && stream_all "$U2" 2 && wait $pids &&
	for f in g1 c1 g2 c2; do test "$(grep -c "\"done\":false" $f)" = 10 || { cat $f; exit 1; }; done &&
	for f in v1 o1 v2 o2; do grep -q "^data: \[DONE\]" $f || { cat $f; exit 1; }; done &&
	stats st &&
	jqe st ".instances[0].emission | .streams == 4 and .chunks == 40 and .tokens == 40 and .gaps.count == 36 and .ttft.count == 4" &&
	jqe st ".instances[1].emission | .streams == 4 and .chunks == 40 and .tokens == 40 and .gaps.count == 36 and .ttft.count == 4" &&
	jqe st ".emission | .streams == 8 and .chunks == 80 and .tokens == 80 and .gaps.count == 72 and .ttft.count == 8" &&
	jqe st ".emission.gaps | .p50_ns >= 15000000 and .p50_ns <= 40000000 and .mean_ns >= 15000000 and .mean_ns <= 40000000" &&
	jqe st ".emission.gaps | .p50_ns <= .p90_ns and .p90_ns <= .p99_ns and .p99_ns <= .max_ns" &&
	jqe st ".emission.ttft | .p50_ns >= 50000000 and .p50_ns <= .p90_ns and .p99_ns <= .max_ns and .max_ns < 5000000000" &&
	jqe st "[.emission, .instances[].emission] | [.. | numbers] | all(. == floor)" &&
	jqe st ".instances[0].emission.gaps.max_ns <= .emission.gaps.max_ns and .instances[1].emission.gaps.max_ns <= .emission.gaps.max_ns"
'

test_expect_success 'POST /_sim/reset zeroes every emission figure' '
	curl -sS -X POST "$U2/_sim/reset" >/dev/null && stats st && jqe st "$all_zero"
'

test_expect_success 'answers that are not streamed record nothing (the requests did run)' '
	curl -sS -d "{\"model\":\"llama3.2\",\"prompt\":\"hi\",\"stream\":false}" "$U/api/generate" >n1 &&
	jqe n1 ".eval_count == 10" &&
	curl -sS -d "{\"model\":\"llama3.2\",$user}" "$U/v1/chat/completions" >n2 &&
	jqe n2 ".usage.completion_tokens == 10" &&
	curl -sS -d "{\"model\":\"llama3.2\",$user,\"stream\":false}" "$U2/api/chat" >n3 &&
	stats st && jqe st ".instances[0].tokens == 20 and .instances[1].tokens == 10" &&
	jqe st "$all_zero"
'

tool='"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]'
test_expect_success 'a streamed tool call is one chunk that carries all its tokens' '
	curl -sS -X POST "$U/_sim/reset" >/dev/null &&
	curl -sS -d "{\"model\":\"llama3.2\",$user,$tool}" "$U/api/chat" >t &&
	test "$(grep -c "\"done\":false" t)" = 1 && grep -q tool_calls t &&
	n=$(jq -s "last | .eval_count" t) && test "$n" -gt 1 &&
	stats st &&
	jqe st ".emission | .streams == 1 and .chunks == 1 and .tokens == $n and .gaps.count == 0 and .ttft.count == 1"
'
test_expect_success 'a stall fault is a measured gap: the max, not the median' '
	curl -sS -d "{\"instance\":\"gpu-2\",\"fault\":\"stall=300ms\"}" "$U/_sim/fault" >/dev/null &&
	curl -sS -X POST "$U/_sim/reset" >/dev/null &&
	curl -sS -d "{\"model\":\"llama3.2\",\"prompt\":\"hi\"}" "$U2/api/generate" >s &&
	test "$(grep -c "\"done\":false" s)" = 10 &&
	stats st &&
	jqe st ".instances[1].emission | .streams == 1 and .gaps.count == 9" &&
	jqe st ".instances[1].emission.gaps | .max_ns >= 300000000 and .p50_ns >= 15000000 and .p50_ns <= 40000000"
'
sim_stop

sim_start --tok-interval 0 --tokens 10 --ttft 30ms --load-time 10ms --num-parallel 8 || exit 1
U=$SIM_URL

test_expect_success 'tok-interval 0: the 10 tokens of a stream go out in one chunk, no gap' '
	pids="" && stream_all "$U" 1 && wait $pids &&
	test "$(grep -c "\"done\":false" g1)" = 10 &&
	stats st &&
	jqe st ".emission | .streams == 4 and .chunks == 4 and .tokens == 40 and .gaps.count == 0" &&
	jqe st ".emission.gaps | .p50_ns == 0 and .max_ns == 0 and .mean_ns == 0" &&
	jqe st ".emission.ttft | .count == 4 and .p50_ns >= 30000000" &&
	jqe st ".instances[0].emission == .emission"
'

test_done
