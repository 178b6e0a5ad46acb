#!/bin/sh
# One command of each family under valgrind: no invalid access, no definite leak.
# About 25 s: it runs with `make check-valgrind` (OBRIDGE_VALGRIND=1), not in make check.
. "$(dirname "$0")/lib.sh"

[ "${OBRIDGE_VALGRIND:-}" = 1 ] || { test_skip "set OBRIDGE_VALGRIND=1 (make check-valgrind)"; test_done; }
command -v valgrind >/dev/null || { test_skip "valgrind is not installed"; test_done; }
case $OBRIDGE in *build-san*) test_skip "a sanitizer build cannot run under valgrind"; test_done ;; esac

sim_start -n 2 --tokens 4 --tok-interval 1ms --ttft 2ms --load-time 5ms || exit 1
sed -n '1,/^\[model/p' "$SIM_FLEET" | sed '$d' >fleet.conf
printf '[model llama3.2:latest]\nkeep_alive = 5m\n' >>fleet.conf
vg() {
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite "$OBRIDGE" -f fleet.conf "$@" >vg.out 2>vg.err
	rc=$?
	if [ $rc = 99 ] || grep -q "^==[0-9]*==" vg.err; then
		cat vg.err
		return 1
	fi
	return 0
}

test_expect_success 'ps and top --once' 'vg ps && vg top --once'
test_expect_success 'health at level 3 with an on-fail hook' '
	vg health --level 3 --format json --on-fail true
'
test_expect_success 'preload, warmup, unload' 'vg preload && vg warmup -n 1 && vg unload --wait 1s'
test_expect_success 'bench closed and open loop' '
	vg bench -m llama3.2 -c 2 -n 4 --warmup 1 --no-chart && vg bench -m llama3.2 --rate 20 -n 4 --json
'
test_expect_success 'history, show, compare, export' '
	vg history && vg show --no-chart && vg compare 4 5 --force && vg export 4
'
test_expect_success 'fleet and a usage error' 'vg fleet && { vg ps --nope; test $rc = 3; }'
test_expect_success 'deploy: plan and apply' '
	printf "[model qwen2.5:0.5b]\n" >>fleet.conf &&
	{ vg deploy --plan; test $rc = 1; } && vg deploy --yes
'
test_expect_success 'emit and import' '
	vg emit nginx -o emitted.conf && vg emit haproxy --full && vg import nginx emitted.conf
'
test_expect_success 'route test against the sim as its own balancer' '
	vg route test --balancer "$SIM_URL" --header X-Sim-Instance -n 10 --checks attribution,weights,length,stream
'

test_done
