#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# obridge history --prune: deletes old runs with their steps, samples and probes, in
# batches; --kind and --dry-run; keeps live unfinished runs; refuses a zero age.
# Rows are inserted with the sqlite3 CLI (times relative to now) after obridge has
# created the schema.
. "$(dirname "$0")/lib.sh"

S=1000000000
DAY=$((86400 * S))
NOW=$(($(date +%s) * S))

# add_run KIND STATUS AGE_DAYS [unfinished]: a run with one step, one sample and two
# probes, started AGE_DAYS ago.
add_run() {
	_start=$((NOW - $3 * DAY))
	_fin=$((_start + 10 * S))
	[ "${4:-}" = unfinished ] && _fin=NULL
	sqlite3 -cmd ".timeout 10000" "$OBRIDGE_DB" "
		INSERT INTO runs (kind, status, started_ns, finished_ns, target)
			VALUES ('$1', '$2', $_start, $_fin, 'prod');
		INSERT INTO steps (run_id, idx, label) VALUES (last_insert_rowid(), 0, 'c=1');
		INSERT INTO samples (run_id, step_idx, t_ns) SELECT max(id), 0, $_start FROM runs;
		INSERT INTO probes (run_id, instance, t_ns, state) SELECT max(id), 'gpu-1', $_start, 'ok' FROM runs;
		INSERT INTO probes (run_id, instance, t_ns, state) SELECT max(id), 'gpu-2', $_start, 'ok' FROM runs;"
}

count() { sqlite3 "$OBRIDGE_DB" "SELECT count(*) FROM $1"; }

test_expect_success 'setup: a store with old and recent runs' '
	"$OBRIDGE" history 2>/dev/null &&
	add_run health ok 40 && add_run health warn 35 && add_run bench ok 45 &&
	add_run bench ok 2 && add_run health ok 1 && add_run warmup ok 0 &&
	test "$(count runs)" = 6 && test "$(count probes)" = 12
'

test_expect_success '--dry-run counts and deletes nothing' '
	"$OBRIDGE" history --prune 30d --dry-run --json >dry.json &&
	jq -e ".dry_run == true and .runs == 3 and .steps == 3 and .samples == 3 and .probes == 6 and .complete" dry.json &&
	test "$(count runs)" = 6 && test "$(count probes)" = 12 &&
	"$OBRIDGE" history --prune 30d --dry-run >dry.txt &&
	grep_q "^would prune 3 runs that started before .* (30d ago): 3 steps, 3 samples, 6 probes$" dry.txt
'

test_expect_success '--kind prunes only that kind' '
	"$OBRIDGE" history --prune 30d --kind bench >out &&
	grep_q "^pruned 1 bench run that started before" out &&
	test "$(count runs)" = 5 &&
	test "$(sqlite3 "$OBRIDGE_DB" "SELECT count(*) FROM runs WHERE kind = '"'"'bench'"'"'")" = 1
'

test_expect_success 'prune deletes old runs with their steps, samples and probes' '
	"$OBRIDGE" history --prune 30d --json >p.json &&
	jq -e ".dry_run == false and .runs == 2 and .probes == 4 and .kind == null" p.json &&
	test "$(count runs)" = 3 && test "$(count steps)" = 3 && test "$(count samples)" = 3 &&
	test "$(count probes)" = 6 &&
	test "$(sqlite3 "$OBRIDGE_DB" "SELECT count(*) FROM probes WHERE run_id NOT IN (SELECT id FROM runs)")" = 0 &&
	"$OBRIDGE" history --json | jq -e "length == 3 and all(.[]; .kind != \"bench\" or .started_ns > 0)"
'

test_expect_success 'nothing older: prints zero, exit 0' '
	"$OBRIDGE" history --prune 30d >out &&
	grep_q "^pruned 0 runs that started before" out &&
	"$OBRIDGE" -q history --prune 30d >quiet && test ! -s quiet
'

test_expect_success 'unfinished runs: kept for 7 days even when older than AGE' '
	add_run bench running 3 unfinished && add_run bench running 10 unfinished &&
	"$OBRIDGE" history --prune 1d --kind bench --json >u.json &&
	jq -e ".runs == 2" u.json &&
	test "$(sqlite3 "$OBRIDGE_DB" "SELECT count(*) FROM runs WHERE finished_ns IS NULL")" = 1
'

test_expect_success 'thousands of runs go in several batches, all of them' '
	sqlite3 "$OBRIDGE_DB" "
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4500)
		INSERT INTO runs (kind, status, started_ns, finished_ns, target)
			SELECT '"'"'health'"'"', '"'"'ok'"'"', $NOW - 100 * $DAY + i, $NOW - 100 * $DAY + i + 1, '"'"'prod'"'"' FROM n;
		INSERT INTO probes (run_id, instance, t_ns, state)
			SELECT id, '"'"'gpu-1'"'"', started_ns, '"'"'ok'"'"' FROM runs WHERE started_ns < $NOW - 99 * $DAY;" &&
	before=$(count runs) &&
	"$OBRIDGE" history --prune 90d --json >b.json &&
	jq -e ".runs == 4500 and .probes == 4500" b.json &&
	test "$(count runs)" = $((before - 4500))
'

test_expect_success 'a writer at the same time loses nothing' '
	sqlite3 "$OBRIDGE_DB" "
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
		INSERT INTO runs (kind, status, started_ns, finished_ns, target)
			SELECT '"'"'health'"'"', '"'"'ok'"'"', $NOW - 100 * $DAY + i, $NOW - 100 * $DAY + i + 1, '"'"'old'"'"' FROM n;" || exit 1
	before=$(count runs)
	(i=0; while [ $i -lt 20 ]; do add_run health ok 0 || exit 1; i=$((i + 1)); done) &
	wpid=$!
	"$OBRIDGE" history --prune 90d --json >w.json; prc=$?
	wait $wpid; wrc=$?
	echo "prune $prc, writer $wrc, runs before $before, after $(count runs)"
	test $prc = 0 && test $wrc = 0 &&
	jq -e ".runs == 6000" w.json &&
	test "$(count runs)" = $((before - 6000 + 20))
'

test_expect_failure_code 3 'a zero age is refused' '"$OBRIDGE" history --prune 0s'
test_expect_failure_code 3 'a bad age is refused' '"$OBRIDGE" history --prune 3y'
test_expect_failure_code 3 '--dry-run needs --prune' '"$OBRIDGE" history --dry-run'
test_expect_failure_code 3 '--limit and --prune exclude each other' '"$OBRIDGE" history --prune 1d -n 3'

test_done
