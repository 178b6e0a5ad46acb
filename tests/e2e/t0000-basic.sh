#!/bin/sh
# Basics: help, version, the command table, unknown commands and options, exit codes.
. "$(dirname "$0")/lib.sh"

test_expect_success 'version prints the version' '
	"$OBRIDGE" --version >out &&
	grep_q "^obridge [0-9]" out &&
	"$OBRIDGE" version --json >out.json &&
	grep_q "\"version\":" out.json
'

test_expect_success '-h lists every command of the table and the exit codes' '
	"$OBRIDGE" -h >out &&
	for c in ps fleet history sim help version; do grep_q "^  $c " out || return 1; done &&
	grep_q "3 usage error" out
'

test_expect_success 'help lists commands; help CMD shows its usage' '
	"$OBRIDGE" help >out &&
	grep_q "^  fleet " out &&
	"$OBRIDGE" help fleet >out &&
	grep_q "usage: obridge fleet show" out &&
	"$OBRIDGE" fleet -h >out2 && test_cmp out out2 &&
	"$OBRIDGE" -h fleet >out3 && test_cmp out out3
'

test_expect_failure_code 3 'no command: usage on stderr, exit 3' '
	"$OBRIDGE" 2>err >out; rc=$?; test ! -s out && grep_q "usage: obridge" err && exit $rc
'

test_expect_failure_code 3 'unknown command suggests the nearest' '
	"$OBRIDGE" histroy 2>err; rc=$?
	grep_q "'"'"'histroy'"'"' is not an obridge command" err &&
	grep_q "history" err && exit $rc
'

test_expect_failure_code 3 'unknown command with no near match has no suggestion' '
	"$OBRIDGE" zzzzzzzz 2>err; rc=$?
	not_grep "most similar" err && exit $rc
'

test_expect_failure_code 3 'unknown global option names it' '
	"$OBRIDGE" --bogus ps 2>err; rc=$?; grep_q "unknown option '"'"'--bogus'"'"'" err && exit $rc
'

test_expect_failure_code 3 'unknown command option names it' '
	"$OBRIDGE" fleet show --bogus 2>err; rc=$?; grep_q "bogus" err && exit $rc
'

test_expect_failure_code 3 'global option without its value' '
	"$OBRIDGE" ps -H 2>err; rc=$?; grep_q "requires an argument" err && exit $rc
'

test_expect_failure_code 3 'help for an unknown command' '
	"$OBRIDGE" help nope 2>err; rc=$?; grep_q "no such command" err && exit $rc
'

test_expect_success 'stdout write errors are reported (/dev/full)' '
	"$OBRIDGE" help >/dev/full 2>err; rc=$?
	test $rc = 3 && grep_q "write error" err
'

test_done
