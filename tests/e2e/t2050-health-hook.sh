#!/bin/sh
# health --on-fail: the hook is bounded, detached children are not waited for, its output is
# shown on stderr and stored, and it gets the incident (not the API key) in its environment.
. "$(dirname "$0")/lib.sh"

sim_start -n 2 --models llama3.2:latest || exit 1
sim_fault_at gpu-2 down || exit 1
cat >fleet.conf <<CONF
[fleet]
name = t
$(sed -n '/^\[instance/,/^$/p' "$SIM_FLEET")
CONF
# `timeout` is a hang guard, far above any bound asserted: it only catches a command that
# waits for the hook's 60 s sleep.
T="timeout -k 5 40"
# The hook fires on the first failure of a streak: each test starts a fresh store.
# gone, or a zombie (an init that does not reap orphans keeps those around)
alive() { s=$(ps -o stat= -p "$1" 2>/dev/null); [ -n "$s" ] && [ "${s#Z}" = "$s" ]; }
fresh() { OBRIDGE_DB=$(mktemp -u "$TRASH/db.XXXXXX"); export OBRIDGE_DB; }

test_expect_success 'a hook that runs past --on-fail-timeout is killed with its group' '
	cat >slow.sh <<-\HOOK &&
	#!/bin/sh
	echo "$$" >slow.pid
	sleep 60 &
	echo "$!" >child.pid
	wait
	HOOK
	chmod +x slow.sh &&
	fresh && expect_code 2 $T "$OBRIDGE" -f fleet.conf health --level 1 --format nagios \
		--on-fail ./slow.sh --on-fail-timeout 1s >out 2>err &&
	grep_q "on-fail for .gpu-2. ran out of its 1.00s and was killed" err &&
	not_grep "exited" err &&
	sleep 0.2 &&
	! alive "$(cat slow.pid)" && ! alive "$(cat child.pid)" &&
	"$OBRIDGE" history --kind health --limit 1 --json >h.json &&
	jq -e ".[0].summary.on_fail[0].timed_out == true" h.json
'

test_expect_success 'a detached child of the hook is not waited for; the lock is free' '
	fresh && expect_code 2 $T "$OBRIDGE" -f fleet.conf health --level 1 --format nagios \
		--on-fail "sleep 60 >/dev/null 2>&1 & echo \$! >bg.pid; echo started" >out 2>err &&
	grep_q "started" err &&
	alive "$(cat bg.pid)" &&
	expect_code 2 $T "$OBRIDGE" -f fleet.conf health --level 1 --format nagios >out2 2>err2;
	rc=$?; kill "$(cat bg.pid)" 2>/dev/null; exit $rc
'

test_expect_success 'the hook output goes to stderr and into the store' '
	fresh && expect_code 2 $T "$OBRIDGE" -f fleet.conf health --level 1 --format nagios \
		--on-fail "echo hook says \$OBRIDGE_INSTANCE \$OBRIDGE_STATE" >out 2>err &&
	grep_q "hook says gpu-2 DOWN" err &&
	"$OBRIDGE" history --kind health --limit 1 --json >h.json &&
	jq -e ".[0].summary.on_fail[0].output == \"hook says gpu-2 DOWN?\"" h.json
'

test_expect_success 'the hook environment has the incident, not the API key' '
	fresh && expect_code 2 $T env OBRIDGE_API_KEY=sk-topsecret-123 "$OBRIDGE" -f fleet.conf health \
		--level 1 --format nagios --on-fail "env >env.txt" >out 2>err &&
	grep_q "^OBRIDGE_INSTANCE=gpu-2$" env.txt &&
	grep_q "^OBRIDGE_STATE=DOWN$" env.txt &&
	grep_q "^OBRIDGE_MESSAGE=down: " env.txt &&
	not_grep "sk-topsecret" env.txt
'

test_expect_success '--on-fail-timeout must be a positive duration' '
	expect_code 3 "$OBRIDGE" -f fleet.conf health --on-fail true --on-fail-timeout 0s 2>err &&
	grep_q "on-fail-timeout: must be positive" err
'

test_done
