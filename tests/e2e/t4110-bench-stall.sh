#!/bin/sh
# bench --stall is enforced on the event loop: a stream that stops mid-way fails as a stall
# at the --stall gap (not at --timeout), and its slot serves the next request.
. "$(dirname "$0")/lib.sh"

sim_start --num-parallel 4 --tokens 8 --tok-interval 3ms --ttft 5ms --load-time 10ms || exit 1
sim_fault "$SIM_URL" gpu-1 stall=120s || exit 1

test_expect_success 'a stream paused for 120s fails as a stall at --stall 500ms' '
	timeout -k 2 40 "$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 1 -n 3 --warmup 0 \
		--stall 500ms --timeout 5m --json >st.json 2>err; rc=$?
	cat err; test $rc = 2 &&
	jq -e ".steps[0].errors.stall == 3 and .steps[0].errors.timeout == 0 and
	       .steps[0].summary.requests.ok == 0" st.json &&
	jq -e ".steps[0].error_messages.stall | test(\"gap of 500\")" st.json
'

test_done
