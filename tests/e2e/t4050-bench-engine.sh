#!/bin/sh
# bench's engine self-check: connections are opened before a closed-loop step (or, with
# --cold-connections, counted and timed apart from TTFT), lines that came in one read are
# reported as coalesced gaps, and the loop lag is split by what the loop was doing.
. "$(dirname "$0")/lib.sh"

sim_start --num-parallel 16 --tokens 8 --tok-interval 5ms --ttft 5ms --load-time 10ms || exit 1

versions() { curl -s "$SIM_URL/_sim/stats" | jq '.instances[0].requests["/api/version"] // 0'; }

test_expect_success 'a closed-loop step opens its connections before it starts' '
	v0=$(versions) &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 8 -n 16 --json >warm.json &&
	v1=$(versions) &&
	test "$v1" -gt "$v0" &&
	jq -e ".steps[0].summary.requests.ok == 16" warm.json &&
	jq -e ".steps[0] | has(\"connect\") and .connect == null" warm.json
'

test_expect_success 'the streams a step starts at once are its first wave, reported apart' '
	jq -e ".steps[0].first_wave.ttft.count == 8 and .steps[0].first_wave.later_ttft.count == 8" warm.json &&
	jq -e ".steps[0].summary.ttft.count == 16" warm.json &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 --rate 20 -n 6 --json >open.json &&
	jq -e ".steps[0] | has(\"first_wave\") and .first_wave == null" open.json
'

test_expect_success 'a sweep opens only the connections the next step lacks' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 2,6 -n 12 --json >sweep.json &&
	jq -e "all(.steps[]; .connect == null)" sweep.json
'

test_expect_success '--cold-connections times the set-up apart and says so' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 6 -n 6 --cold-connections --json >cold.json &&
	jq -e ".steps[0].connect.count >= 1 and .steps[0].connect.count <= 6" cold.json &&
	jq -e ".steps[0].connect.p50_ns > 0" cold.json &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 6 -n 6 --cold-connections --no-chart >cold.txt &&
	grep_q "opened a connection (set-up p50 .*kept out of TTFT)" cold.txt
'

test_expect_success 'the loop lag is split by cause, in percent of all lag' '
	jq -e ".steps[0].client.loop_lag_by | keys == [\"completions\",\"other\",\"progress\",\"reads\",\"sends\",\"timers\",\"wake\"]" warm.json &&
	jq -e "(.steps[0].client.loop_lag_by | add) as \$s | \$s == 0 or (\$s > 99 and \$s < 101)" warm.json &&
	jq -e ".steps[0].client.loop_lag_cause | IN(\"\",\"wake\",\"reads\",\"completions\",\"timers\",\"sends\",\"progress\",\"other\")" warm.json
'

test_expect_success 'token lines 5 ms apart are not coalesced' '
	jq -e ".steps[0].client.gaps == 16 * 7 and .steps[0].client.coalesced_pct < 50" warm.json
'

sim_stop
sim_start --num-parallel 16 --tokens 40 --tok-interval 0 --ttft 5ms --load-time 10ms || exit 1

test_expect_success 'lines that come in one read are reported as coalesced gaps' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 2 -n 4 --json >coal.json &&
	jq -e ".steps[0].client.coalesced_pct > 50" coal.json &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 2 -n 4 --no-chart >coal.txt &&
	tr "\n" " " <coal.txt | tr -s " " >coal1.txt &&
	grep_q "c=2: [0-9]*% of token gaps were lines that came in one read (gap 0): ITL" coal1.txt
'

test_done
