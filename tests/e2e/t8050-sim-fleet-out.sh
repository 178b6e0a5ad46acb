#!/bin/sh
# sim --fleet-out writes a fleet file that says how to keep the models: keep_alive and the
# num_ctx each model is loaded with, so preload and health agree with the sim.
. "$(dirname "$0")/lib.sh"

sim_start -n 2 --num-ctx 4096 || exit 1

test_expect_success '--fleet-out: every model with keep_alive and its num_ctx' '
	grep_q "^\[model llama3.2:latest\]$" "$SIM_FLEET" &&
	sed -n "/^\[model llama3.2:latest\]/,/^$/p" "$SIM_FLEET" >m1 &&
	grep_q "^keep_alive = 30m$" m1 && grep_q "^num_ctx = 4096$" m1 &&
	sed -n "/^\[model nomic-embed-text:latest\]/,/^$/p" "$SIM_FLEET" >m2 &&
	grep_q "^keep_alive = 30m$" m2 && grep_q "^num_ctx = 2048$" m2 &&
	"$OBRIDGE" -f "$SIM_FLEET" fleet check
'

test_expect_success 'preloaded with that file, the fleet is healthy at level 2' '
	"$OBRIDGE" -f "$SIM_FLEET" preload >pre.txt &&
	grep_q "6/6 resident" pre.txt && grep -E "gpu-1 +llama3.2:latest +resident .* 29 minutes from now" pre.txt &&
	"$OBRIDGE" -f "$SIM_FLEET" health --format nagios >h.txt &&
	grep_q "^OBRIDGE OK - 2/2 up, 6/6 models resident" h.txt
'

test_done
