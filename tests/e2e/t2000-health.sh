#!/bin/sh
# obridge health against obridge sim: levels, exit codes, formats, the store, lock, on-fail.
. "$(dirname "$0")/lib.sh"

sim_start -n 3 --load-time 100ms --tok-interval 1ms --ttft 20ms \
	--models llama3.2:latest,qwen2.5:0.5b --instance gpu-3:digest=qwen2.5:0.5b@other || exit 1
F=$SIM_FLEET
u1=$SIM_URL
u2="http://127.0.0.1:$((SIM_PORT + 1))"
u3="http://127.0.0.1:$((SIM_PORT + 2))"
# Control goes through another instance than the target (a downed one cannot answer).
fault() { sim_fault_at "$@"; }
preload() { curl -s "$1/api/generate" -d "{\"model\":\"$2\",\"keep_alive\":${3:--1}}" >/dev/null; }

# Only llama3.2 is part of the fleet for most checks.
cat >fleet.conf <<CONF
[fleet]
name = t
$(sed -n '/^\[instance/,/^$/p' "$F")
[model llama3.2]
keep_alive = -1
num_ctx = 4096
CONF

test_expect_success 'level 1: all up is OK (exit 0) with a Nagios line and perfdata' '
	"$OBRIDGE" -f fleet.conf health --level 1 --format nagios >out &&
	head -n 1 out >first &&
	grep -E "^OBRIDGE OK - 3/3 up \| up=3;;;0;3 gpu-1=[0-9.e-]+s;;;0 gpu-2=[0-9.e-]+s;;;0 gpu-3=[0-9.e-]+s;;;0$" first &&
	grep_q "^gpu-2: OK - up, version 0.33.0" out
'

test_expect_success 'perfdata parses: label=value[uom];warn;crit;min;max' '
	"$OBRIDGE" -f fleet.conf health --level 1 --format nagios -w 5 -c 10 >out &&
	perf=$(head -n 1 out | sed "s/.*| //") &&
	for item in $perf; do
		echo "$item" | grep -Eq "^('"'"'[^'"'"']+'"'"'|[^=]+)=-?[0-9.e-]+(s|ms|us|%|B|KB|MB|TB|c)?(;[^;]*){0,4}$" ||
			{ echo "bad perfdata item: $item"; return 1; }
	done &&
	echo "$perf" | grep -q "gpu-1=[0-9.e-]*s;5;10;0"
'

test_expect_success 'level 2: models not resident is a WARNING (exit 1)' '
	expect_code 1 "$OBRIDGE" -f fleet.conf health --format nagios >out &&
	grep_q "^OBRIDGE WARNING - 3/3 up, 0/3 models resident" out &&
	grep_q "llama3.2:latest not resident" out
'

test_expect_success 'level 2: resident everywhere with the fleet num_ctx is OK' '
	preload "$u1" llama3.2 && preload "$u2" llama3.2 &&
	preload "http://127.0.0.1:$((SIM_PORT + 2))" llama3.2 &&
	"$OBRIDGE" -f fleet.conf health --format nagios >out &&
	grep_q "^OBRIDGE OK - 3/3 up, 3/3 models resident | up=3;;;0;3 resident=3;;;0;3" out
'

test_expect_success 'level 2: a model loaded with another context is a WARNING' '
	sed "s/num_ctx = 4096/num_ctx = 8192/" fleet.conf >ctx.conf &&
	expect_code 1 "$OBRIDGE" -f ctx.conf health --format nagios >out &&
	grep_q "resident with context 4096, the fleet wants 8192" out
'

test_expect_success 'level 2: a model missing on one instance is CRITICAL (exit 2)' '
	printf "[model mistral:7b]\n" >>ctx2.conf && cat fleet.conf ctx2.conf >missing.conf &&
	expect_code 2 "$OBRIDGE" -f missing.conf health --format nagios >out &&
	grep_q "mistral:7b:latest not installed\|mistral:7b not installed" out
'

test_expect_success 'level 2: digest drift on one instance is found' '
	cat >drift.conf <<CONF
$(sed -n "/^\[instance/,/^$/p" "$F")
[model qwen2.5:0.5b]
CONF
	expect_code 1 "$OBRIDGE" -f drift.conf health --format json >out.json &&
	grep_q "\"name\":\"gpu-3\"" out.json &&
	grep_q "qwen2.5:0.5b digest [0-9a-f]* differs from the fleet" out.json &&
	jq -e ".instances[2].models[0].digest_drift == true and .instances[0].models[0].digest_drift == false" out.json
'

test_expect_success 'level 3: probe does not change the model context or expiry' '
	curl -s "$u1/api/ps" >before.json &&
	"$OBRIDGE" -f fleet.conf health --level 3 --format json >out.json &&
	curl -s "$u1/api/ps" >after.json &&
	jq -e ".state == \"OK\" and (.instances[0].models[0].probe.ok) and (.instances[0].models[0].probe.cold | not)" out.json &&
	jq -e ".models[0].context_length == 4096" after.json &&
	jq -e ".models[0].context_length == 4096" before.json &&
	jq -r ".models[0].expires_at" before.json >e1 && jq -r ".models[0].expires_at" after.json >e2 &&
	grep_q "^23" e1 && grep_q "^23" e2
'

test_expect_success 'level 3 --load: a probe that hits a cold load is a WARNING' '
	curl -s "$u2/api/generate" -d "{\"model\":\"llama3.2\",\"keep_alive\":0}" >/dev/null &&
	sleep 0.3 &&
	expect_code 1 "$OBRIDGE" -f fleet.conf health --level 3 --load --format nagios >out &&
	grep_q "probe of llama3.2:latest hit a cold load" out
'

test_expect_success 'level 3: inference failing (500) is CRITICAL, naming the message' '
	fault gpu-2 500 &&
	expect_code 2 "$OBRIDGE" -f fleet.conf health --level 3 --format nagios >out;
	rc=$?; fault gpu-2 none; test $rc = 0 &&
	grep_q "generate llama3.2:latest failed: HTTP 500" out
'

test_expect_success 'one slow instance over -w is a WARNING' '
	fault gpu-2 slow &&
	expect_code 1 "$OBRIDGE" -f fleet.conf health --level 3 -w 0.12 -c 30 --format nagios >out;
	rc=$?; fault gpu-2 none; test $rc = 0 &&
	grep_q "gpu-2: WARNING" out && grep_q "outside the warning range 0.12" out
'

test_expect_success 'one instance down is CRITICAL (exit 2); it comes back' '
	fault gpu-2 down &&
	expect_code 2 "$OBRIDGE" -f fleet.conf health --level 1 --format nagios >out;
	rc=$?; fault gpu-2 up; test $rc = 0 &&
	grep_q "^OBRIDGE CRITICAL - 2/3 up; gpu-2: down: HEAD /: connection refused" out &&
	"$OBRIDGE" -f fleet.conf health --level 1 -q
'

# One deadline for the whole check: a per-request or per-level timeout would take 3x.
test_expect_success 'a hanging instance costs the timeout once, not per level' '
	fault gpu-3 hang &&
	start=$(date +%s%N) &&
	expect_code 2 "$OBRIDGE" -f fleet.conf health --level 3 --timeout 2s --format nagios >out;
	rc=$?; fault gpu-3 none; end=$(date +%s%N); ms=$(( (end - start) / 1000000 ))
	echo "took $ms ms"; test $rc = 0 && grep_q "gpu-3: CRITICAL" out && test $ms -lt 5000
'

test_expect_failure_code 3 'a bad fleet file is UNKNOWN (exit 3)' '
	printf "[instance a]\nurl = ftp://x\n" >bad.conf && "$OBRIDGE" -f bad.conf health
'

test_expect_failure_code 3 'a bad range is a usage error' '
	"$OBRIDGE" -f fleet.conf health -w 20:10 2>err; rc=$?; grep_q "start is greater than end" err; exit $rc
'

test_expect_success 'bad durations are usage errors naming the option' '
	expect_code 3 "$OBRIDGE" -f fleet.conf health --timeout 0 2>e1 &&
	grep_q "timeout: must be positive, not .0." e1 &&
	expect_code 3 "$OBRIDGE" -f fleet.conf health --watch soon 2>e2 &&
	grep_q "watch: invalid duration .soon." e2
'

test_expect_success '-q prints nothing when all is well, something when not' '
	"$OBRIDGE" -f fleet.conf health -q >out && test ! -s out &&
	fault gpu-1 down;
	"$OBRIDGE" -f fleet.conf health -q >out2; fault gpu-1 up; test -s out2 &&
	preload "$u1" llama3.2   # a restarted instance has nothing loaded
'

test_expect_success 'every run is recorded with its probes' '
	"$OBRIDGE" history --kind health --json >h.json &&
	jq -e "length >= 10 and .[0].kind == \"health\" and (.[0].summary.instances | length) == 3" h.json
'

test_expect_success 'prom: promtool accepts the textfile, written atomically' '
	mkdir -p tf &&
	preload "$u2" llama3.2 && "$OBRIDGE" -f fleet.conf health --level 3 --textfile tf -q &&
	ls tf >files && test "$(cat files)" = "obridge.prom" &&
	grep_q "^obridge_up{instance=\"gpu-1\"} 1" tf/obridge.prom &&
	grep_q "^obridge_model_resident{instance=\"gpu-1\",model=\"llama3.2:latest\"} 1" tf/obridge.prom &&
	grep_q "^obridge_probe_duration_seconds{instance=\"gpu-1\",check=\"generate\",model=\"llama3.2:latest\"}" tf/obridge.prom &&
	grep_q "^obridge_last_run_timestamp_seconds [0-9]*$" tf/obridge.prom &&
	promtool check metrics <tf/obridge.prom &&
	"$OBRIDGE" -f fleet.conf health --format prom | promtool check metrics
'

test_expect_success 'a reader looping during repeated writes never sees a partial file' '
	( i=0; while [ $i -lt 15 ]; do "$OBRIDGE" -f fleet.conf health --level 1 --textfile tf -q; i=$((i+1)); done; touch tf.done ) &
	bad=0; reads=0
	while [ ! -e tf.done ]; do
		if [ -e tf/obridge.prom ]; then
			reads=$((reads + 1))
			tail -c 1 tf/obridge.prom | od -An -c | grep -q "\\\\n" || bad=$((bad + 1))
			grep -q "^obridge_last_run_timestamp_seconds" tf/obridge.prom || bad=$((bad + 1))
		fi
	done
	wait; echo "reads=$reads bad=$bad"; test $bad = 0 && test $reads -gt 0
'

test_expect_success 'the lock: a second concurrent run exits 3 naming the holder' '
	fault gpu-2 hang &&
	( "$OBRIDGE" -f fleet.conf health --level 1 --timeout 2s -q >/dev/null 2>&1 ) &
	sleep 0.5 &&
	"$OBRIDGE" -f fleet.conf health --level 1 >out 2>err; rc=$?
	wait; fault gpu-2 none
	test $rc = 3 && grep_q "another run holds the lock .*pid [0-9]*" err
'

test_expect_success 'the lock: --lock-wait waits for the holder' '
	fault gpu-2 hang &&
	( "$OBRIDGE" -f fleet.conf health --level 1 --timeout 1s -q >/dev/null 2>&1 ) &
	sleep 0.3 &&
	"$OBRIDGE" -f fleet.conf health --level 1 --lock-wait 10s --format nagios >out 2>err; rc=$?
	wait; fault gpu-2 none
	test $rc = 2 && grep_q "^OBRIDGE" out
'

cat >hook.sh <<'HOOK'
#!/bin/sh
echo "$OBRIDGE_INSTANCE|$OBRIDGE_URL|$OBRIDGE_STATE|$OBRIDGE_MESSAGE" >>"$HOOK_LOG"
echo "hook ran"
exit 7
HOOK
chmod +x hook.sh
export HOOK_LOG="$TRASH/hook.log"

test_expect_success 'on-fail fires after N consecutive failures, not before, once' '
	fault gpu-3 down &&
	"$OBRIDGE" -f fleet.conf health --level 1 --after 3 --on-fail "./hook.sh" -q 2>/dev/null;
	"$OBRIDGE" -f fleet.conf health --level 1 --after 3 --on-fail "./hook.sh" -q 2>/dev/null;
	test ! -e "$HOOK_LOG" &&
	"$OBRIDGE" -f fleet.conf health --level 1 --after 3 --on-fail "./hook.sh" -q 2>err;
	test "$(wc -l <"$HOOK_LOG")" = 1 &&
	grep_q "^gpu-3|http://127.0.0.1:$((SIM_PORT + 2))|DOWN|down: HEAD /: connection refused$" "$HOOK_LOG" &&
	grep_q "exited 7" err &&
	"$OBRIDGE" -f fleet.conf health --level 1 --after 3 --on-fail "./hook.sh" -q 2>/dev/null;
	test "$(wc -l <"$HOOK_LOG")" = 1 &&
	"$OBRIDGE" history --kind health --limit 2 --json >h.json &&
	jq -e ".[1].summary.on_fail[0].exit == 7 and .[1].summary.on_fail[0].output == \"hook ran?\"" h.json;
	rc=$?; fault gpu-3 up; exit $rc
'

test_expect_success '--history shows availability and incidents' '
	"$OBRIDGE" -f fleet.conf health --history >out &&
	grep -E "^gpu-3 +[0-9]+ +[0-9]+ +[0-9.]+%" out &&
	grep_q "^gpu-3: failing since .* for .*: down: HEAD /: connection refused" out &&
	"$OBRIDGE" -f fleet.conf health --history --since 1h --json >h.json &&
	jq -e "(.instances | map(select(.name == \"gpu-3\"))[0].incidents | length) >= 1" h.json &&
	"$OBRIDGE" -f fleet.conf health --history --since 1d --json >d.json &&
	jq -e ".instances | map(select(.name == \"gpu-3\")) | length == 1" d.json &&
	"$OBRIDGE" -f fleet.conf health --history --since 2w >/dev/null
'

test_expect_failure_code 3 '--since takes no years' '
	"$OBRIDGE" -f fleet.conf health --history --since 1y
'

# Waits for the third run (up to 20 s) instead of sleeping a fixed time: a loaded CI
# machine may take longer to start, and a count after a fixed sleep is a timed test.
test_expect_success '--watch repeats until interrupted' '
	"$OBRIDGE" -f fleet.conf health --level 1 --watch 200ms --format nagios >out 2>&1 &
	pid=$!; i=0
	while [ "$(grep -c "^OBRIDGE " out)" -lt 3 ] && [ $i -lt 200 ] && kill -0 $pid 2>/dev/null; do
		sleep 0.1; i=$((i + 1))
	done
	kill -INT $pid; wait $pid; rc=$?
	n=$(grep -c "^OBRIDGE " out); echo "exit $rc, runs: $n"; cat out
	test $rc = 0 && test "$n" -ge 3
'

# A German locale has ',' as its decimal point: machine output must not follow it.
if [ -f /usr/share/i18n/locales/de_DE ] && command -v localedef >/dev/null 2>&1 &&
	localedef -i de_DE -f UTF-8 "$TRASH/loc/de_DE.UTF-8" >/dev/null 2>&1; then
	test_expect_success 'JSON and perfdata keep a decimal point under a de_DE locale' '
		LOCPATH="$TRASH/loc" LC_ALL=de_DE.UTF-8 "$OBRIDGE" -f fleet.conf health --level 3 --format json >de.json &&
		jq -e ".elapsed_s > 0 and .instances[0].latency_s > 0" de.json &&
		LOCPATH="$TRASH/loc" LC_ALL=de_DE.UTF-8 "$OBRIDGE" -f fleet.conf health --level 3 --format nagios >de.txt &&
		head -n 1 de.txt | grep -E "gpu-1=[0-9]+\.[0-9e-]+s;" &&
		LOCPATH="$TRASH/loc" LC_ALL=de_DE.UTF-8 "$OBRIDGE" -f fleet.conf health --format prom | promtool check metrics
	'
else
	test_skip 'no de_DE locale source to build a locale from (package locales)'
fi

# In parallel: 100 instances with one hanging take about the timeout (sequential
# probing would take 100x the per-instance time; the bound is loose for noisy machines).
test_expect_success '100 instances are checked in parallel within one deadline' '
	sim_stop && sim_start -n 100 --models llama3.2:latest --fault gpu-50:hang &&
	start=$(date +%s%N) &&
	"$OBRIDGE" -f "$SIM_FLEET" health --level 2 --timeout 2s --format nagios >out; rc=$?
	end=$(date +%s%N); ms=$(( (end - start) / 1000000 )); echo "took $ms ms, exit $rc"
	test $rc = 2 && grep_q "^OBRIDGE CRITICAL - 99/100 up" out && test $ms -lt 5000
'

test_done
