#!/bin/sh
# The fault matrix: every sim fault on one of two instances x every command that talks to
# instances. Each cell asserts the exit code, the classified outcome (a pattern the output
# must hold), no crash (no signal, no sanitizer report) and a bound on time (a hang guard,
# far above the commands' own --timeout: no timed assertion). deploy and route: add rows
# to CMDS when they exist.
. "$(dirname "$0")/lib.sh"

sim_start -n 2 --tokens 8 --tok-interval 2ms --ttft 5ms --load-time 20ms || exit 1
u2="http://127.0.0.1:$((SIM_PORT + 1))"
sed -n '1,/^\[model/p' "$SIM_FLEET" | sed '$d' >fleet.conf
printf '[model llama3.2:latest]\nkeep_alive = 5m\n' >>fleet.conf

# name|arguments after "obridge -f fleet.conf"
CMDS='ps|ps
health1|health --level 1 --timeout 1s --format nagios
health2|health --level 2 --timeout 1s --format nagios
health3|health --level 3 --timeout 1s --format nagios
preload|preload --timeout 1s
unload|unload --timeout 1s --wait 1s
warmup|warmup -n 1 --timeout 1s
benchc|bench -c 2 -n 2 --warmup 0 --timeout 3s --stall 500ms --each --json
bencho|bench --rate 8 -n 2 --warmup 0 --timeout 3s --stall 500ms --each --json
top|top --once --timeout 1s'

# fault|command|exit code|pattern (grep -E) in stdout+stderr
EXPECT='
down|ps|1|gpu-2 +unreachable: connection refused
down|health1|2|gpu-2: down: HEAD /: connection refused
down|health2|2|gpu-2: down: HEAD /: connection refused
down|health3|2|gpu-2: down: HEAD /: connection refused
down|preload|1|gpu-2 .*failed
down|unload|1|gpu-2 .*failed
down|warmup|1|connection refused
down|benchc|1|"refused":2
down|bencho|1|"refused":2
down|top|0|gpu-2 .*DOWN
hang|ps|1|gpu-2 +unreachable: timed out
hang|health1|2|gpu-2: down: HEAD /: timed out after 1.0s
hang|health2|2|gpu-2: down: HEAD /: timed out after 1.0s
hang|health3|2|gpu-2: down: HEAD /: timed out after 1.0s
hang|preload|1|--timeout 1.00s ran out during loading
hang|unload|2|--timeout 1.00s ran out during reading /api/ps
hang|warmup|2|--timeout 1.00s ran out during reading /api/ps
hang|benchc|1|"timeout":2
hang|bencho|1|"timeout":2
hang|top|0|gpu-2 .*DOWN
slow|ps|0|gpu-2
slow|health1|0|OBRIDGE OK - 2/2 up
slow|health2|0|OBRIDGE OK - 2/2 up, 2/2 models resident
slow|health3|0|OBRIDGE OK - 2/2 up
slow|preload|0|2/2 resident
slow|unload|0|gpu-2 +llama3.2:latest +unloaded
slow|warmup|1|outlier: warm TTFT
slow|benchc|0|"ok":2
slow|bencho|0|"ok":2
slow|top|0|2/2 up
500|ps|0|gpu-2 +llama3.2:latest
500|health1|0|OBRIDGE OK - 2/2 up
500|health2|0|OBRIDGE OK - 2/2 up, 2/2 models resident
500|health3|2|gpu-2: generate llama3.2:latest failed: HTTP 500
500|preload|0|2/2 resident
500|unload|0|gpu-2 +llama3.2:latest +unloaded
500|warmup|1|HTTP 500
500|benchc|1|"http":2
500|bencho|1|"http":2
500|top|0|2/2 up
503|ps|0|gpu-2 +llama3.2:latest
503|health1|0|OBRIDGE OK - 2/2 up
503|health2|0|OBRIDGE OK - 2/2 up, 2/2 models resident
503|health3|2|gpu-2: generate llama3.2:latest failed: server busy
503|preload|1|server busy
503|unload|0|gpu-2 +llama3.2:latest +unloaded
503|warmup|1|server busy
503|benchc|0|"shed":2
503|bencho|0|"shed":2
503|top|0|2/2 up
malformed|ps|0|gpu-2
malformed|health1|0|OBRIDGE OK - 2/2 up
malformed|health2|0|OBRIDGE OK - 2/2 up, 2/2 models resident
malformed|health3|2|gpu-2: generate llama3.2:latest failed
malformed|preload|0|2/2 resident
malformed|unload|0|gpu-2 +llama3.2:latest +unloaded
malformed|warmup|1|gpu-2
malformed|benchc|1|"malformed":2
malformed|bencho|1|"malformed":2
malformed|top|0|2/2 up
error|ps|0|gpu-2 +llama3.2:latest
error|health1|0|OBRIDGE OK - 2/2 up
error|health2|0|OBRIDGE OK - 2/2 up, 2/2 models resident
error|health3|2|gpu-2: generate llama3.2:latest failed: HTTP 500: an error was encountered
error|preload|0|2/2 resident
error|unload|0|gpu-2 +llama3.2:latest +unloaded
error|warmup|1|an error was encountered
error|benchc|1|"stream":2
error|bencho|1|"stream":2
error|top|0|2/2 up
truncate|ps|0|gpu-2 +llama3.2:latest
truncate|health1|0|OBRIDGE OK - 2/2 up
truncate|health2|0|OBRIDGE OK - 2/2 up, 2/2 models resident
truncate|health3|2|gpu-2: generate llama3.2:latest failed: connection closed before the end
truncate|preload|0|2/2 resident
truncate|unload|0|gpu-2 +llama3.2:latest +unloaded
truncate|warmup|1|connection closed before the end
truncate|benchc|1|"truncated":2
truncate|bencho|1|"truncated":2
truncate|top|0|2/2 up
stall=30s|ps|0|gpu-2 +llama3.2:latest
stall=30s|health1|0|OBRIDGE OK - 2/2 up
stall=30s|health2|0|OBRIDGE OK - 2/2 up, 2/2 models resident
stall=30s|health3|2|gpu-2: generate llama3.2:latest failed: timed out after 1.0s
stall=30s|preload|0|2/2 resident
stall=30s|unload|0|gpu-2 +llama3.2:latest +unloaded
stall=30s|warmup|1|--timeout 1.00s ran out during the warm-up requests
stall=30s|benchc|1|"stall":[12]
stall=30s|bencho|1|"stall":[12]
stall=30s|top|0|2/2 up'

ctl="http://127.0.0.1:$SIM_PORT"
# each row starts from the same state: no fault, the model resident on both instances
reset_row() {
	sim_fault "$ctl" gpu-2 none && sim_fault "$ctl" gpu-2 up "$u2" &&
	for u in "$SIM_URL" "$u2"; do
		curl -s "$u/api/generate" -d '{"model":"llama3.2","keep_alive":"5m"}' >/dev/null || return 1
	done
}

cells=0
for fault in down hang slow 500 503 malformed error truncate stall=30s; do
	reset_row || { echo "could not reset the sim"; exit 1; }
	if [ $fault = down ]; then sim_fault "$ctl" gpu-2 down "$u2"; else sim_fault "$ctl" gpu-2 "$fault"; fi
	echo "$CMDS" | while IFS='|' read -r name args; do
		line=$(echo "$EXPECT" | grep "^$fault|$name|")
		[ -n "$line" ] || { echo "not ok - no expectation for $fault x $name"; continue; }
		want_rc=$(echo "$line" | cut -d'|' -f3)
		pat=$(echo "$line" | cut -d'|' -f4-)
		timeout -k 2 25 "$OBRIDGE" -f fleet.conf $args >"cell.out" 2>&1
		rc=$?
		if [ $rc = "$want_rc" ] && grep -Eq -- "$pat" cell.out &&
		   ! grep -Eq "runtime error|AddressSanitizer|LeakSanitizer" cell.out; then
			echo "ok - $fault x $name (exit $rc)"
		else
			echo "not ok - $fault x $name (exit $rc, expected $want_rc and /$pat/)"
			sed 's/^/#   /' cell.out | cut -c1-300 >&2
		fi
	done
done >matrix.tap
# renumber for TAP
n=0
while IFS= read -r l; do
	n=$((n + 1))
	case $l in
	"ok - "*) echo "ok $n ${l#ok }" ;;
	*) echo "not ok $n ${l#not ok }"; test_failed=$((test_failed + 1)) ;;
	esac
done <matrix.tap
test_count=$n
say "fault matrix: $n cells, $((n - test_failed)) passed"
test_done
