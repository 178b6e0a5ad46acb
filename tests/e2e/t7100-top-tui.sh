#!/bin/sh
# obridge top's curses screen under tmux (send-keys, capture-pane): start, sort, filter,
# expand, pause, resize, help, preload with confirmation, an instance going down, quit,
# signals, colour, and the terminal restored afterwards.
. "$(dirname "$0")/lib.sh"

if ! command -v tmux >/dev/null 2>&1; then
	test_skip "tmux is not installed"
	test_done
fi

sim_start -n 3 --load-time 50ms --tok-interval 1ms --ttft 5ms --models llama3.2:latest || exit 1
u1=$SIM_URL
u2="http://127.0.0.1:$((SIM_PORT + 1))"
u3="http://127.0.0.1:$((SIM_PORT + 2))"
fault() { sim_fault_at "$@"; }
{
	echo "[fleet]"; echo "name = t71"
	echo "[instance gpu-1]"; echo "url = $u1"
	echo "[instance gpu-2]"; echo "url = $u2"
	echo "[instance gpu-3]"; echo "url = $u3"
	echo "[model llama3.2]"; echo "keep_alive = -1"; echo "num_ctx = 4096"
} >fleet.conf
# llama3.2 resident on gpu-1 and gpu-3 only: gpu-2 is DEGRADED.
for u in $u1 $u3; do
	curl -s "$u/api/generate" -d '{"model":"llama3.2","keep_alive":-1,"options":{"num_ctx":4096}}' >/dev/null
done

SOCK="obridge-t7100-$$"
T() { tmux -L "$SOCK" -f /dev/null "$@"; }
_tmux_cleanup() { T kill-server 2>/dev/null; }
trap '_tmux_cleanup; _cleanup' EXIT

# A plain shell in a 100x30 window; top runs inside it so that the shell shows again after.
T new-session -d -s t -x 100 -y 30 "env PS1='READY\$ ' sh" || exit 1
T set-option -g status off >/dev/null
screen() { T capture-pane -p -t t; }
# Wait until the screen matches an extended regex (up to $2 seconds, default 10).
wait_for() {
	_n=0
	_max=$(( ${2:-10} * 20 ))
	while [ $_n -lt $_max ]; do
		if screen | grep -q -E -- "$1"; then
			return 0
		fi
		sleep 0.05
		_n=$((_n + 1))
	done
	echo "timed out waiting for /$1/ on screen:"
	screen
	return 1
}
wait_gone() {
	_n=0
	_max=$(( ${2:-10} * 20 ))
	while [ $_n -lt $_max ]; do
		if ! screen | grep -q -E -- "$1"; then
			return 0
		fi
		sleep 0.05
		_n=$((_n + 1))
	done
	echo "timed out waiting for /$1/ to go:"
	screen
	return 1
}
keys() { T send-keys -t t "$@"; }
# The row order of the instance table on screen.
order() { screen | grep -o -E "^[> ] gpu-[0-9]" | sed "s/^..//" | tr "\n" " "; }

wait_for 'READY\$' || exit 1
keys "stty -a >stty-before.txt; clear" Enter
keys "cd '$TRASH' && '$OBRIDGE' -f fleet.conf top -d 500ms; echo TOP-EXIT=\$?" Enter

test_expect_success 'start: header with totals, one row per instance, footer' '
	wait_for "^obridge top - t71 - up 3/3 - models 2/3" &&
	wait_for "gpu-2 +. DEGRADED" &&
	screen | grep -E "gpu-1 +. UP" &&
	screen | grep -E "^ +INSTANCE +STATE" &&
	screen | grep -E "^q quit"
'

test_expect_success 'sort: s picks the next column, S reverses (worst state first)' '
	test "$(order)" = "gpu-1 gpu-2 gpu-3 " &&
	keys s && wait_for "\[sort: state\]" &&
	keys S && wait_for "\[sort: state desc\]" &&
	test "$(order)" = "gpu-2 gpu-3 gpu-1 " || { order; false; }
'

test_expect_success 'sort back to name order' '
	keys s s s s && wait_for "\[sort: name desc\]" && keys S &&
	wait_gone "\[sort:" && test "$(order)" = "gpu-1 gpu-2 gpu-3 "
'

test_expect_success 'filter with / and invert with !' '
	keys / g p u - 3 && wait_for "filter: gpu-3_" && keys Enter &&
	wait_for "\[filter: gpu-3\]" && test "$(order)" = "gpu-3 " &&
	keys / "!" d e g r a d e d Enter && wait_for "\[filter: !degraded\]" &&
	test "$(order)" = "gpu-1 gpu-3 " &&
	keys / Escape && wait_gone "\[filter" && test "$(order)" = "gpu-1 gpu-2 gpu-3 "
'

test_expect_success 'enter expands an instance into its models, and collapses it' '
	keys Home Enter &&
	wait_for "^ +(└|-) llama3.2:l[a-z~]* +resident +100% GPU" &&
	keys Home Enter && wait_gone "llama3.2:l[a-z~]* +resident"
'

test_expect_success 'space pauses and resumes polling' '
	keys Space && wait_for "^obridge top .* - PAUSED" &&
	keys Space && wait_gone "PAUSED"
'

test_expect_success 'help overlay on ?, any key closes it' '
	keys "?" && wait_for "obridge top: keys" && screen | grep -q "leading ! inverts" &&
	keys x && wait_gone "obridge top: keys"
'

test_expect_success '+ and - change the interval' '
	keys + && wait_for "every 600.0ms" && keys - - && wait_for "every 400.0ms" &&
	keys + && wait_for "every 500.0ms"
'

test_expect_success 'resize: 80x24 drops low-priority columns, the footer stays' '
	screen | grep -E "INSTANCE .*VERSION" &&
	T resize-window -t t -x 80 -y 24 &&
	wait_gone "VERSION" && wait_for "^q quit" &&
	test "$(screen | wc -L)" -le 80 &&
	screen | grep -E "gpu-1 +. UP" && screen | grep -E "INSTANCE +STATE +FOR +LAT +HISTORY +MODELS" &&
	T resize-window -t t -x 120 -y 30 && wait_for "INSTANCE .*VERSION"
'

test_expect_success 'p asks first, then preloads the selected instance model' '
	keys Home Down p && wait_for "preload llama3.2:latest on gpu-2\? \[y/N\]" &&
	keys n && wait_for "cancelled" &&
	keys p && wait_for "\[y/N\]" && keys y &&
	wait_for "preload llama3.2:latest on gpu-2: done in" &&
	wait_for "gpu-2 +. UP" && wait_for "up 3/3 - models 3/3"
'

test_expect_success 'w warms up and u unloads the selected model, after a confirmation' '
	keys Home Down Enter &&
	keys Home Down Down && wait_for "^> +(└|-) llama3.2" &&
	keys w && wait_for "warm up llama3.2:latest on gpu-2\? \[y/N\]" && keys y &&
	wait_for "warmup llama3.2:latest on gpu-2: done in" &&
	keys u && wait_for "unload llama3.2:latest on gpu-2\? \[y/N\]" && keys y &&
	wait_for "unload llama3.2:latest on gpu-2: done in" &&
	wait_for "gpu-2 +. DEGRADED" && wait_for "llama3.2:l[a-z~]* +unloaded" &&
	keys Home Down Enter && wait_gone "llama3.2:l[a-z~]* +unloaded" &&
	keys Home Down p && wait_for "\[y/N\]" && keys y && wait_for "gpu-2 +. UP"
'

test_expect_success 'h runs a health check now' '
	keys h && wait_for "health: all 3 instances UP"
'

test_expect_success 'an instance taken down turns DOWN on screen; top lives on' '
	fault gpu-3 down &&
	wait_for "gpu-3 +. DOWN" && wait_for "gpu-3 .*DOWN .*stale" &&
	wait_for "up 2/3" &&
	fault gpu-3 up && wait_for "gpu-3 +. (UP|DEGRADED)"
'

test_expect_success 'q quits; the shell is back and the terminal is sane' '
	keys q && wait_for "^TOP-EXIT=0" && wait_gone "^obridge top - t71" &&
	keys "stty -a >stty-after.txt" Enter && sleep 0.3 &&
	n=0; while [ ! -s stty-after.txt ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done &&
	grep -q -E "(^| )icanon( |$)" stty-after.txt && grep -q -E "(^| )echo( |$)" stty-after.txt &&
	sed 1d stty-before.txt >b && sed 1d stty-after.txt >a && test_cmp b a
'

test_expect_success 'colour by default; none with --no-color or NO_COLOR' '
	keys clear Enter &&
	keys "'"'"'$OBRIDGE'"'"' -f fleet.conf top; echo TOP-EXIT=\$?" Enter &&
	wait_for "gpu-1 +. UP" &&
	T capture-pane -p -e -t t | grep -q "$(printf "\033")\[3[12]m" &&
	keys q && wait_for "^TOP-EXIT=0" && keys clear Enter &&
	keys "'"'"'$OBRIDGE'"'"' -f fleet.conf top --no-color; echo TOP-EXIT=\$?" Enter &&
	wait_for "gpu-1 +. UP" &&
	! T capture-pane -p -e -t t | grep -q "$(printf "\033")\[3[0-7]m" &&
	keys q && wait_for "^TOP-EXIT=0" && keys clear Enter &&
	keys "NO_COLOR=1 '"'"'$OBRIDGE'"'"' -f fleet.conf top; echo TOP-EXIT=\$?" Enter &&
	wait_for "gpu-1 +. UP" &&
	! T capture-pane -p -e -t t | grep -q "$(printf "\033")\[3[0-7]m" &&
	keys q && wait_for "^TOP-EXIT=0"
'

test_expect_success 'SIGTERM ends top cleanly and restores the terminal' '
	keys clear Enter &&
	keys "'"'"'$OBRIDGE'"'"' -f '"'"'$TRASH/fleet.conf'"'"' top; echo TOP-EXIT=\$?" Enter &&
	wait_for "gpu-1 +. UP" &&
	pid=$(pgrep -n -f "$TRASH/fleet.conf top$") && kill -TERM "$pid" &&
	wait_for "^TOP-EXIT=0" && wait_gone "^obridge top - t71" &&
	rm -f stty-after.txt && keys "stty -a >stty-after.txt" Enter &&
	n=0; while [ ! -s stty-after.txt ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done &&
	sed 1d stty-before.txt >b && sed 1d stty-after.txt >a && test_cmp b a
'

test_expect_success 'Ctrl-C (SIGINT) and SIGHUP end top cleanly too' '
	keys clear Enter &&
	keys "'"'"'$OBRIDGE'"'"' -f fleet.conf top; echo TOP-EXIT=\$?" Enter &&
	wait_for "gpu-1 +. UP" && keys C-c &&
	wait_for "^TOP-EXIT=0" && wait_gone "^obridge top - t71" &&
	keys clear Enter &&
	keys "'"'"'$OBRIDGE'"'"' -f '"'"'$TRASH/fleet.conf'"'"' top; echo TOP-EXIT=\$?" Enter &&
	wait_for "gpu-1 +. UP" &&
	pid=$(pgrep -n -f "$TRASH/fleet.conf top$") && kill -HUP "$pid" &&
	wait_for "^TOP-EXIT=0" && wait_gone "^obridge top - t71"
'

test_expect_success 'stdout not a terminal: a batch snapshot even with TERM set' '
	TERM=xterm "$OBRIDGE" -f fleet.conf top -d 1s </dev/null >out 2>err &&
	grep -q "^obridge top - fleet t71" out && test ! -s err
'

test_expect_success 'the screen needs a terminal: exit 3 with a hint' '
	keys clear Enter &&
	keys "'"'"'$OBRIDGE'"'"' -f fleet.conf top </dev/null; echo TOP-EXIT=\$?" Enter &&
	wait_for "^TOP-EXIT=3" && wait_for "a terminal is needed \(use --once or -n N"
'

test_done
