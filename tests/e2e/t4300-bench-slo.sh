#!/bin/sh
# bench held to SLOs and priced: every [slo] key is evaluated, unknown keys are refused with
# file:line, each step says which SLO holds, the capacity at SLO is named, exit codes follow
# k6's thresholds, --slo and --min-capacity, and [cost] gives the cost per 1M output tokens
# and the break-even against a hosted API; stored with the run, in --json, show and compare.
. "$(dirname "$0")/lib.sh"

# 2 slots, 10 tokens 10 ms apart: E2E about 100 ms while c <= 2, TTFT about 10 ms there
# and about 100 ms more at c = 4 (queued behind a full slot).
sim_start --num-parallel 2 --tokens 10 --tok-interval 10ms --ttft 10ms --load-time 50ms || exit 1

fleet() { # fleet FILE [SLO lines...]
	_f=$1
	shift
	{
		printf "[instance gpu-1]\nurl = %s\n[model llama3.2]\n" "$SIM_URL"
		printf "[slo]\n"
		for l in "$@"; do printf "%s\n" "$l"; done
		printf "[cost]\ninstance_hour = 1.20\ncloud_per_1m_output = 0.60\n"
	} >"$_f"
}

test_expect_success 'an unknown [slo] key is refused with file:line' '
	fleet bad.conf "ttft_p95 = 1s" "e2e_p50 = 1s" &&
	expect_code 3 "$OBRIDGE" -f bad.conf bench -c 1 -n 2 2>err &&
	grep_q "bad.conf:6: unknown key .e2e_p50. in \[slo\] (expected ttft_p95, ttft_p99, itl_p99, tpot_p95, e2e_p95, e2e_p99, error_rate)" err
'

test_expect_success 'a single step that breaches e2e_p99 exits 1 and names it' '
	fleet e2e.conf "ttft_p95 = 1s" "e2e_p99 = 50ms" &&
	expect_code 1 "$OBRIDGE" -f e2e.conf bench -c 1 -n 4 --no-chart >one.txt 2>one.err &&
	grep_q "SLO breached: e2e_p99 [0-9.]*ms > 50.0ms" one.err &&
	grep -E "^ +1 +[0-9.]+ms ✓ +[0-9.]+ms ✗ +no" one.txt &&
	grep_q "^capacity at SLO: none" one.txt
'

test_expect_success 'every key is checked: itl_p99, tpot_p95, ttft_p99, e2e_p95, error_rate' '
	for kv in itl_p99=5ms tpot_p95=5ms ttft_p99=1ms e2e_p95=50ms; do
		expect_code 1 "$OBRIDGE" -f e2e.conf bench -c 1 -n 2 --slo e2e_p99=10s --slo $kv \
			--json >k.json 2>k.err || return 1
		grep_q "SLO breached: ${kv%%=*} " k.err || return 1
		jq -e ".summary.slo.steps[0].breached == [\"${kv%%=*}\"]" k.json || return 1
	done &&
	"$OBRIDGE" -f e2e.conf bench -c 1 -n 2 --slo e2e_p99=10s --slo itl_p99=1s --slo error_rate=0 \
		--json >ok.json &&
	jq -e ".summary.slo.steps[0].holds and .summary.slo.limits.error_rate == 0" ok.json
'

test_expect_success 'a sweep names the capacity at SLO and exits 0 when a step meets them' '
	fleet sweep.conf "ttft_p95 = 90ms" "error_rate = 1%" &&
	"$OBRIDGE" -f sweep.conf bench -c 1,2,4 -n 6 --json >sweep.json &&
	jq -e "[.summary.slo.steps[].holds] == [true,true,false]" sweep.json &&
	jq -e ".summary.slo.capacity == 2 and .summary.slo.steps[2].breached == [\"ttft_p95\"]" sweep.json &&
	jq -e ".params.goals.slo == {\"ttft_p95_ns\":90000000,\"error_rate\":0.01}" sweep.json
'

test_expect_success 'the human view shows which SLO holds per step and the capacity' '
	R=$(jq .run sweep.json) &&
	"$OBRIDGE" show $R --no-chart >show.txt &&
	grep_q "^SLOs: ttft_p95 ≤ 90.0ms, error_rate ≤ 1%" show.txt &&
	grep -E "^ +4 +[0-9.]+ms ✗ +0% ✓ +no" show.txt &&
	grep_q "^capacity at SLO: 2 concurrent streams" show.txt
'

test_expect_success '--min-capacity above the capacity exits 1; --slo overrides the file' '
	expect_code 1 "$OBRIDGE" -f sweep.conf bench -c 1,2 -n 4 --min-capacity 4 --no-chart >mc.txt 2>mc.err &&
	grep_q "capacity at SLO 2 is below --min-capacity 4" mc.err &&
	expect_code 1 "$OBRIDGE" -f sweep.conf bench -c 1,2 -n 4 --slo ttft_p95=1ms --no-chart >ov.txt 2>ov.err &&
	grep_q "no step meets the SLOs" ov.err &&
	grep_q "^SLOs: ttft_p95 ≤ 1.00ms" ov.txt &&
	expect_code 3 "$OBRIDGE" -f sweep.conf bench -c 1 -n 1 --slo ttft_p50=1s 2>bad.err &&
	grep_q "unknown SLO .ttft_p50." bad.err &&
	expect_code 3 "$OBRIDGE" -f sweep.conf bench -c 1 -n 1 --min-capacity 0
'

test_expect_success '[cost] gives the cost per 1M output tokens per step and at the capacity' '
	jq -e ".summary.cost.hour == 1.2 and .summary.cost.instances == 1 and .summary.cost.cloud_per_1m_output == 0.6" sweep.json &&
	jq -e "all(.summary.cost.steps[]; (.per_1m_output - 1.2 / (.tok_s * 3600) * 1e6 | fabs) < 0.01)" sweep.json &&
	jq -e ".summary.cost.at_capacity.x == 2 and .summary.cost.at_capacity.per_1m_output == .summary.cost.steps[1].per_1m_output" sweep.json &&
	jq -e "(.summary.cost.at_capacity.break_even_utilisation - 1.2e6 / (.summary.cost.at_capacity.tok_s * 3600 * 0.6) | fabs) < 0.01" sweep.json &&
	grep -E "^cost: [0-9.]+ per 1M output tokens at the capacity at SLO \(2 concurrent streams\),$" show.txt &&
	grep -E "^  with 1 instance at 1.20 an hour$" show.txt &&
	grep_q "^break-even against the cloud.s 0.60 per 1M" show.txt
'

test_expect_success 'compare reports the capacity at SLO and the cost of both runs' '
	A=$(jq .run sweep.json) &&
	"$OBRIDGE" -f sweep.conf bench -c 1,2,4 -n 6 --slo ttft_p95=1s --json >b.json &&
	B=$(jq .run b.json) &&
	"$OBRIDGE" compare $A $B >cmp.txt; test $? -le 1 &&
	grep -E "^capacity at SLO: 2 -> 2" cmp.txt &&
	grep -E "^cost per 1M output tokens at that capacity: [0-9.]+ -> [0-9.]+" cmp.txt &&
	"$OBRIDGE" compare $A $B --json >cmp.json; test $? -le 1 &&
	jq -e ".slo.a_capacity == 2 and .slo.b_capacity == 2" cmp.json
'

test_expect_success 'compare refuses runs of another shape or kind (exit 3) unless --force' '
	A=$(jq .run sweep.json) &&
	"$OBRIDGE" -f sweep.conf bench -c 1,2 -n 4 --json >c2.json; C=$(jq .run c2.json) &&
	expect_code 3 "$OBRIDGE" compare $A $C 2>shape.err &&
	grep_q "runs $A and $C are not alike: their steps differ (1,2,4 vs 1,2) (--force compares them anyway)" shape.err &&
	"$OBRIDGE" compare $A $C --force >forced.txt 2>forced.err; test $? -le 1 &&
	grep_q "warning: runs $A and $C are not alike" forced.err && grep -E "^c=2 +ttft" forced.txt &&
	"$OBRIDGE" -f sweep.conf bench --each -c 1,2,4 -n 4 --json >each.json; E=$(jq .run each.json) &&
	expect_code 3 "$OBRIDGE" compare $A $E 2>kind.err &&
	grep_q "different kinds of target (the whole target vs --each)" kind.err &&
	"$OBRIDGE" -f sweep.conf bench --rate 1,2,4 -n 4 --json >rate.json; O=$(jq .run rate.json) &&
	expect_code 3 "$OBRIDGE" compare $A $O 2>mode.err &&
	grep_q "one is a closed-loop run, the other a open-loop run" mode.err
'

test_expect_success 'TPOT: obridge'"'"'s definition documented, vLLM'"'"'s reported beside it' '
	"$OBRIDGE" -f sweep.conf bench -c 1 -n 4 --json >tpot.json &&
	jq -e ".steps[0].summary.tpot.p50_ns > 9000000 and .steps[0].summary.tpot.p50_ns < 12000000" tpot.json &&
	jq -e ".steps[0].summary.tpot_vllm.count == 4 and .steps[0].summary.tpot_vllm.p50_ns >= .steps[0].summary.tpot.p50_ns * 0.99 and
	       .steps[0].summary.tpot_vllm.p50_ns < 14000000" tpot.json &&
	"$OBRIDGE" show $(jq .run tpot.json) >tpot.txt &&
	grep -E "^TPOT p50 [0-9.]+ms \(last token − first token\)/\(tokens − 1\);$" tpot.txt &&
	grep -E "^  vLLM.s \(E2E − TTFT\)/\(tokens − 1\): [0-9.]+ms$" tpot.txt &&
	"$OBRIDGE" -f sweep.conf bench -c 1 -n 2 --csv >tpot.csv &&
	head -1 tpot.csv | grep -q ",tpot_vllm_p50_ns" &&
	grep -qF "(last token \\(mi first token)/(tokens \\(mi 1)" "$OBRIDGE_SRC/man/obridge-bench.1" &&
	grep -q "vLLM" "$OBRIDGE_SRC/man/obridge-bench.1"
'

test_done
