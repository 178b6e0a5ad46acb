#!/bin/sh
# A low open-file limit is a local problem, never an instance's: health caps its in-flight
# probes to fit and reports every live instance up; bench refuses a concurrency that cannot
# fit, naming the limit.
. "$(dirname "$0")/lib.sh"

sim_start -n 40 --tokens 4 --tok-interval 1ms --ttft 1ms || exit 1
sed -n '1,/^\[model/p' "$SIM_FLEET" | sed '$d' >fleet.conf

test_expect_success 'health with ulimit -n 32 on 40 live instances: all up' '
	(ulimit -n 32; exec "$OBRIDGE" -f fleet.conf health --level 1 --format nagios) >out 2>err; rc=$?
	head -n 1 out; cat err; test $rc = 0 &&
	grep_q "^OBRIDGE OK - 40/40 up" out
'
test_expect_success 'ps with ulimit -n 32 on 40 instances: every one answered' '
	(ulimit -n 32; exec "$OBRIDGE" -f fleet.conf ps --json) >ps.json 2>err; rc=$?
	cat err; test $rc = 0 && jq -e "[.instances[] | select(.ok)] | length == 40" ps.json
'
test_expect_success 'bench -c 64 with ulimit -n 32 is refused naming the limit' '
	(ulimit -n 32; exec "$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 64 -n 64) >out 2>err; rc=$?
	cat err; test $rc = 3 && grep_q "ulimit -n" err && grep_q "limit is 32" err
'

test_done
