#!/bin/sh
# make demo, as the README's quick start runs it: every step succeeds (no usage or
# configuration error) and the main job finds the sim's slots.
. "$(dirname "$0")/lib.sh"

test_expect_success 'tests/demo.sh runs to its end and finds 4 parallel slots' '
	sh "$OBRIDGE_SRC/tests/demo.sh" "$OBRIDGE" >demo.out 2>&1; rc=$?
	test $rc = 0 || { cat demo.out; false; } &&
	grep_q "demo finished; the simulated fleet is stopped." demo.out &&
	grep_q "about 4 parallel slots" demo.out &&
	not_grep "failed (exit" demo.out
'

test_done
