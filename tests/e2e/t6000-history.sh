#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# obridge history: empty and populated stores, --kind/--limit/--json, and the store's refusals
# (newer schema, corrupt file, unwritable path). Rows are inserted with the sqlite3 CLI after
# obridge has created the schema, since no command records runs in this test.
. "$(dirname "$0")/lib.sh"

export TZ=UTC
# 2026-11-18 11:06:40 UTC, in ns.
T=1795000000000000000
S=1000000000

# Insert one run: kind status started finished(NULL) target fingerprint params summary
# (the last five as SQL expressions).
add_run() {
	sqlite3 "$OBRIDGE_DB" "INSERT INTO runs (kind, status, started_ns, finished_ns, target,
		fingerprint, params, summary) VALUES ('$1', '$2', $3, $4, $5, $6, $7, $8);"
}

populate() {
	add_run bench ok "$T" "$T + 100 * $S" "'prod'" "'{\"obridge\":\"0.1.0\"}'" \
		"'{\"concurrency\":[1,2,4]}'" "'{\"ttft_p95_ns\":812000000,\"tok_s\":123.4}'" &&
	add_run health warn "$T + 60 * $S" "$T + 61 * $S" "'http://127.0.0.1:11434'" "'{}'" \
		"'{}'" "'{\"ok\":2,\"warn\":1,\"down\":0}'" &&
	add_run health failed "$T + 120 * $S" "$T + 120 * $S + 500000000" "'prod'" NULL NULL \
		"'not json {'" &&
	add_run bench running "$T + 180 * $S" NULL "'prod'" "'{}'" "'{\"rate\":5}'" NULL &&
	add_run warmup ok "$T + 240 * $S" "$T + 250 * $S" "'evil' || char(27) || '[31mtarget'" \
		"'{}'" "'{}'" "'{\"note\":\"a' || char(27) || '[2Jb\"}'"
}

# Insert 20 runs from another process, as a concurrent bench or cron health would.
writer_loop() {
	_i=0
	while [ $_i -lt 20 ]; do
		sqlite3 -cmd ".timeout 10000" "$OBRIDGE_DB" "INSERT INTO runs (kind, status,
			started_ns, target) VALUES ('bench', 'running', $T, 'w$1');" || return 1
		_i=$((_i + 1))
	done
}

# The IDs column of a table on stdin, one per line.
ids() { awk 'NR > 1 { print $1 }'; }

test_expect_success 'empty store: message on stderr, nothing on stdout, exit 0' '
	"$OBRIDGE" history >out 2>err &&
	test ! -s out &&
	grep_q "no runs recorded yet in $OBRIDGE_DB" err
'

test_expect_success 'the store was created with the current schema in WAL mode' '
	test -s "$OBRIDGE_DB" &&
	test "$(sqlite3 "$OBRIDGE_DB" "PRAGMA user_version")" = 2 &&
	test "$(sqlite3 "$OBRIDGE_DB" "PRAGMA journal_mode")" = wal &&
	sqlite3 "$OBRIDGE_DB" .tables >tables &&
	for t in runs steps samples probes; do grep_q "$t" tables || return 1; done
'

test_expect_success 'empty store: -q silences the message; --json prints []' '
	"$OBRIDGE" -q history >out 2>err &&
	test ! -s out && test ! -s err &&
	"$OBRIDGE" history --json >out 2>err &&
	test "$(cat out)" = "[]" &&
	"$OBRIDGE" --json history >out &&
	test "$(cat out)" = "[]"
'

test_expect_success 'populate the store with sqlite3' '
	populate &&
	test "$(sqlite3 "$OBRIDGE_DB" "SELECT count(*) FROM runs")" = 5
'

test_expect_success 'history lists runs newest first with every column' '
	"$OBRIDGE" history >out 2>err &&
	test ! -s err &&
	head -n 1 out >header &&
	for h in ID KIND STATUS STARTED DURATION TARGET SUMMARY; do grep_q "$h" header || return 1; done &&
	ids <out >got && printf "5\n4\n3\n2\n1\n" >want && test_cmp want got &&
	grep_q "^ *1 .*bench .*ok .*2026-11-18 11:06:40 .*1m40s .*prod .*p95 ttft 812.0ms, 123 tok/s" out &&
	grep_q "^ *2 .*health .*warn .*2026-11-18 11:07:40 .*1.00s .*http://127.0.0.1:11434 .*ok=2 warn=1 down=0" out &&
	grep_q "^ *3 .*health .*failed .*500.0ms .*prod .*not json {" out &&
	grep_q "^ *4 .*bench .*running .*2026-11-18 11:09:40 .*running .*prod" out
'

test_expect_success 'text from the store is sanitized; no colour on a pipe' '
	"$OBRIDGE" history >out &&
	esc=$(printf "\033") &&
	not_grep "$esc" out &&
	grep_q "^ *5 .*warmup .*evil?\[31mtarget" out
'

test_expect_success 'colour on a terminal: ok green, failed red, running bold' '
	if ! command -v script >/dev/null 2>&1; then echo "no script(1): skipped"; exit 0; fi
	script -qec "\"$OBRIDGE\" history" /dev/null >tty.out </dev/null &&
	grep_q "$(printf "\033\\[32m")ok" tty.out &&
	grep_q "$(printf "\033\\[31m")failed" tty.out &&
	grep_q "$(printf "\033\\[1m")running" tty.out &&
	NO_COLOR=1 script -qec "\"$OBRIDGE\" history" /dev/null >tty.out </dev/null &&
	not_grep "$(printf "\033\\[32m")ok" tty.out
'

test_expect_success '--kind filters; an unknown kind lists nothing and exits 0' '
	"$OBRIDGE" history --kind health >out &&
	ids <out >got && printf "3\n2\n" >want && test_cmp want got &&
	"$OBRIDGE" history -k bench >out &&
	ids <out >got && printf "4\n1\n" >want && test_cmp want got &&
	"$OBRIDGE" history --kind nope >out 2>err &&
	test ! -s out &&
	grep_q "no runs of kind .nope." err
'

test_expect_success '--limit keeps the newest N; 0 means all' '
	"$OBRIDGE" history --limit 2 >out &&
	ids <out >got && printf "5\n4\n" >want && test_cmp want got &&
	"$OBRIDGE" history -n 1 --kind health >out &&
	ids <out >got && echo 3 >want && test_cmp want got &&
	"$OBRIDGE" history --limit=0 >out &&
	test "$(ids <out | wc -l)" = 5
'

if command -v jq >/dev/null 2>&1; then
test_expect_success '--json: an array of runs with all fields, JSON columns embedded' '
	"$OBRIDGE" history --json >out.json &&
	test "$(jq length out.json)" = 5 &&
	test "$(jq -c "[.[].id]" out.json)" = "[5,4,3,2,1]" &&
	r1=$(jq -c ".[] | select(.id == 1)" out.json) &&
	test "$(echo "$r1" | jq -r .kind)" = bench &&
	test "$(echo "$r1" | jq -r .status)" = ok &&
	test "$(echo "$r1" | jq -r .target)" = prod &&
	test "$(echo "$r1" | jq -r .started_ns)" = "$T" &&
	test "$(echo "$r1" | jq -r .duration_ns)" = 100000000000 &&
	test "$(echo "$r1" | jq -r .started)" = "2026-11-18T11:06:40Z" &&
	test "$(echo "$r1" | jq -r .fingerprint.obridge)" = 0.1.0 &&
	test "$(echo "$r1" | jq -c .params.concurrency)" = "[1,2,4]" &&
	test "$(echo "$r1" | jq -r .summary.ttft_p95_ns)" = 812000000 &&
	test "$(jq -r ".[] | select(.id == 3) | .summary" out.json)" = "not json {" &&
	test "$(jq -r ".[] | select(.id == 3) | .fingerprint" out.json)" = null &&
	test "$(jq -r ".[] | select(.id == 4) | .finished_ns" out.json)" = null &&
	test "$(jq -r ".[] | select(.id == 4) | .params.rate" out.json)" = 5 &&
	"$OBRIDGE" history --json --kind health --limit 1 >out.json &&
	test "$(jq -c "[.[].id]" out.json)" = "[3]"
'
else
test_skip '--json checked with jq (jq not installed)'
fi

test_expect_success '--json shape without jq: one run per line, fields present' '
	"$OBRIDGE" history --json --limit 2 >out &&
	test "$(head -n 1 out)" = "[" && test "$(tail -n 1 out)" = "]" &&
	test "$(wc -l <out)" = 4 &&
	grep_q "^{\"id\":5,\"kind\":\"warmup\",\"status\":\"ok\"," out &&
	grep_q "\"finished\":null" out
'

test_expect_success '-h prints the usage on stdout and exits 0' '
	"$OBRIDGE" history -h >out 2>err &&
	grep_q "usage: obridge history \[--kind KIND\] \[--limit N\] \[--json\]" out &&
	test ! -s err
'

test_expect_failure_code 3 '--limit abc is a usage error naming option and value' '
	"$OBRIDGE" history --limit abc >out 2>err; rc=$?
	grep_q "obridge history: .*--limit" err && grep_q "abc" err && test ! -s out && exit $rc
'

test_expect_failure_code 3 '--limit -1 is a usage error' '
	"$OBRIDGE" history --limit -1 2>err; rc=$?
	grep_q "obridge history: .*--limit" err && exit $rc
'

test_expect_failure_code 3 'an unknown option is a usage error naming it' '
	"$OBRIDGE" history --bogus 2>err; rc=$?
	grep_q "obridge history: .*--bogus" err && exit $rc
'

test_expect_failure_code 3 'a missing option value is a usage error' '
	"$OBRIDGE" history --kind 2>err; rc=$?
	grep_q "obridge history: .*--kind" err && exit $rc
'

test_expect_failure_code 3 'an extra argument is a usage error' '
	"$OBRIDGE" history extra 2>err; rc=$?
	grep_q "extra" err && exit $rc
'

test_expect_success 'newer schema: exit 3, message names path and versions, file unchanged' '
	sqlite3 newer.db "CREATE TABLE future (x); INSERT INTO future VALUES (1);
		PRAGMA user_version = 99;" &&
	sum1=$(sha256sum <newer.db) &&
	expect_code 3 "$OBRIDGE" --db "$TRASH/newer.db" history >out 2>err &&
	grep_q "cannot open store .$TRASH/newer.db." err &&
	grep_q "99" err && grep_q "version 2" err &&
	test "$(sha256sum <newer.db)" = "$sum1" &&
	test "$(sqlite3 newer.db "PRAGMA journal_mode")" = delete &&
	(export OBRIDGE_DB="$TRASH/newer.db" && expect_code 3 "$OBRIDGE" history --json >out 2>err) &&
	test ! -s out &&
	test "$(sha256sum <newer.db)" = "$sum1"
'

test_expect_success 'corrupt file: exit 3 naming the path, file unchanged' '
	head -c 8192 /dev/urandom >corrupt.db &&
	sum1=$(sha256sum <corrupt.db) &&
	expect_code 3 "$OBRIDGE" --db "$TRASH/corrupt.db" history 2>err &&
	grep_q "obridge history: cannot open store .$TRASH/corrupt.db.: file is not a database" err &&
	test "$(sha256sum <corrupt.db)" = "$sum1"
'

test_expect_success 'unwritable path: exit 3 naming the path' '
	expect_code 3 "$OBRIDGE" --db /proc/nope/x.db history 2>err &&
	grep_q "cannot open store ./proc/nope/x.db." err &&
	expect_code 3 "$OBRIDGE" history --db /proc/nope/x.db 2>err &&
	grep_q "/proc/nope/x.db" err
'

test_expect_success '--db PATH wins over $OBRIDGE_DB and creates missing directories' '
	sum1=$(sha256sum <"$OBRIDGE_DB") &&
	"$OBRIDGE" --db "$TRASH/sub/dir/other.db" history 2>err &&
	grep_q "no runs recorded yet in $TRASH/sub/dir/other.db" err &&
	test -s "$TRASH/sub/dir/other.db" &&
	test "$(sqlite3 "$TRASH/sub/dir/other.db" "SELECT count(*) FROM runs")" = 0 &&
	test "$(sha256sum <"$OBRIDGE_DB")" = "$sum1"
'

test_expect_success '$OBRIDGE_DB is honoured' '
	OBRIDGE_DB="$TRASH/env.db" "$OBRIDGE" history 2>err &&
	grep_q "no runs recorded yet in $TRASH/env.db" err &&
	test -s "$TRASH/env.db"
'

test_expect_success 'without $OBRIDGE_DB: $XDG_DATA_HOME/obridge/obridge.db, directory mode 0700' '
	(unset OBRIDGE_DB && "$OBRIDGE" history 2>err) &&
	test -s "$XDG_DATA_HOME/obridge/obridge.db" &&
	test "$(stat -c %a "$XDG_DATA_HOME/obridge")" = 700 &&
	(unset OBRIDGE_DB XDG_DATA_HOME && "$OBRIDGE" history 2>err2) &&
	grep_q "$HOME/.local/share/obridge/obridge.db" err2
'

test_expect_success 'readers and writers at the same time: no errors, no lost rows' '
	before=$(sqlite3 "$OBRIDGE_DB" "SELECT count(*) FROM runs") &&
	for w in 1 2 3; do
		writer_loop $w &
	done
	fails=0
	for r in 1 2 3 4 5 6 7 8 9 10; do
		"$OBRIDGE" history --limit 5 >/dev/null 2>>reader.err || fails=$((fails + 1))
	done
	wait
	test "$fails" = 0 &&
	test ! -s reader.err &&
	test "$(sqlite3 "$OBRIDGE_DB" "SELECT count(*) FROM runs")" = $((before + 60))
'

test_done
