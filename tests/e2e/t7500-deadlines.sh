#!/bin/sh
# Every command with a timeout is bounded by it as a whole, and says which step ran out,
# against an instance that accepts connections and never answers (sim fault hang).
. "$(dirname "$0")/lib.sh"

sim_start -n 2 --load-time 10ms --tok-interval 1ms --ttft 5ms || exit 1
sed -n '1,/^\[model/p' "$SIM_FLEET" | sed '$d' >fleet.conf
printf '[model llama3.2:latest]\nkeep_alive = 5m\n' >>fleet.conf
curl -s "$SIM_URL/api/generate" -d '{"model":"llama3.2","keep_alive":-1}' >/dev/null
sim_fault_at gpu-2 hang || exit 1
# A hang guard only (far above the bound under test): before the fix these took 11 s to
# 80 s, or crashed.
G="timeout -k 2 9"
ran_out() { grep_q "$1.* ran out during $2" err; }

test_expect_success 'preload --timeout bounds the whole command and names the step' '
	$G "$OBRIDGE" -f fleet.conf preload --timeout 1s >out 2>err; rc=$?
	cat out err; test $rc = 1 && ran_out "--timeout 1.00s" "loading" &&
	grep -E "^gpu-1 +llama3.2:latest +resident" out &&
	grep -Eq "no answer before the deadline|timed out after 1.0s" out
'
test_expect_success 'warmup --timeout bounds the whole command, no crash' '
	$G "$OBRIDGE" -f fleet.conf warmup --timeout 1s >out 2>err; rc=$?
	cat out err; test $rc = 2 && ran_out "--timeout 1.00s" "reading /api/ps"
'
test_expect_success 'unload --timeout --wait bounds the whole command' '
	$G "$OBRIDGE" -f fleet.conf unload --timeout 1s --wait 1s >out 2>err; rc=$?
	cat out err; test $rc = 1 -o $rc = 2 && ran_out "--timeout 1.00s" "reading /api/ps"
'
test_expect_success 'unload with nothing named and no fleet models is bounded too' '
	$G "$OBRIDGE" -H "http://127.0.0.1:$((SIM_PORT + 1))" unload --timeout 1s >out 2>err; rc=$?
	cat out err; test $rc != 124 && ran_out "--timeout 1.00s" "listing the loaded models"
'
test_expect_success 'unload --timeout must be a positive duration' '
	expect_code 3 "$OBRIDGE" -f fleet.conf unload --timeout 0 2>err &&
	grep_q "timeout: must be positive" err
'

test_done
