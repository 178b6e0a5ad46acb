#!/bin/sh
# No run is left 'running': kill -9, two quick signals, a store that refuses the last write,
# the file size limit (SIGXFSZ).
. "$(dirname "$0")/lib.sh"

sim_start --num-parallel 4 --tokens 8 --tok-interval 5ms --ttft 10ms --load-time 10ms || exit 1
q() { sqlite3 "$OBRIDGE_DB" "$1"; }
# mark: note the newest run; wait_running: wait until a newer one is recorded as running
mark() { last=$(q "select coalesce(max(id), 0) from runs" 2>/dev/null || echo 0); }
wait_running() {
	n=0
	while [ $n -lt 100 ] && ! q "select 1 from runs where status = 'running' and id > ${last:-0}" 2>/dev/null | grep -q 1; do
		sleep 0.1; n=$((n + 1))
	done
}

test_expect_success 'each run records its process id and host' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -n 4 -c 2 >/dev/null &&
	test "$(q "select pid > 0 and host = '"'"'$(uname -n)'"'"' from runs order by id desc limit 1")" = 1
'

test_expect_success 'after kill -9 the run is marked interrupted at the next open' '
	mark && "$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 2 -d 60s >/dev/null 2>&1 &
	pid=$! && wait_running && sleep 0.5 &&
	kill -9 $pid; wait $pid 2>/dev/null
	id=$(q "select id from runs where status = '"'"'running'"'"' order by id desc limit 1") &&
	test -n "$id" &&
	"$OBRIDGE" history --json >h.json &&
	jq -e "map(select(.id == $id))[0].status == \"interrupted\"" h.json &&
	test "$(q "select status from runs where id = $id")" = interrupted &&
	"$OBRIDGE" history >h.txt && grep -E "^ *$id .*interrupted" h.txt
'

test_expect_success 'a run of a live process on this host is left alone' '
	mark && "$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 2 -d 60s >/dev/null 2>&1 &
	pid=$! && wait_running &&
	"$OBRIDGE" history --json >h.json &&
	jq -e "map(select(.status == \"running\")) | length == 1" h.json;
	rc=$?; kill -INT $pid; wait $pid; exit $rc
'

test_expect_success 'two signals 10 ms apart still close the run with its table' '
	mark && "$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 2 -d 60s --no-chart >two.out 2>two.err &
	pid=$! && wait_running && sleep 1 &&
	kill -TERM $pid; sleep 0.01; kill -TERM $pid;
	wait $pid; rc=$?
	# 1 (interrupted); 143 when the second signal lands after the run is closed and the
	# table printed, while the process tears down: either way nothing is lost
	{ test $rc = 1 || test $rc = 143; } &&
	grep_q "stored as interrupted" two.out &&
	test "$(q "select count(*) from runs where status = '"'"'running'"'"'")" = 0
'

test_expect_success 'a run that could not be saved exits non-zero' '
	q "CREATE TRIGGER nofinish BEFORE UPDATE OF status ON runs WHEN NEW.status != '"'"'running'"'"'
	   BEGIN SELECT RAISE(FAIL, '"'"'disk full (test)'"'"'); END;" &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -n 4 -c 2 >out 2>err; rc=$?
	q "DROP TRIGGER nofinish" &&
	test $rc = 3 && grep_q "disk full (test)" err
'

test_expect_success 'the file size limit is caught and reported, not a silent death' '
	OBRIDGE_DB="$TRASH/fsz.db" && export OBRIDGE_DB &&
	"$OBRIDGE" history >/dev/null 2>&1 &&
	(ulimit -f 24; exec "$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -n 400 -c 4 --samples \
		--no-chart >out 2>err); rc=$?
	echo "exit $rc" && cat err &&
	test $rc != 153 && test $rc != 0 &&
	grep_q "file size limit" err
'

test_done
