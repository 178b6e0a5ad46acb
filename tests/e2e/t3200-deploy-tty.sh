#!/bin/sh
# deploy on a terminal (tmux): the confirmation (default no) and the live pull progress
# lines (layer, percent, bytes, rate, ETA) read back from the screen.
. "$(dirname "$0")/lib.sh"

if ! command -v tmux >/dev/null 2>&1; then
	test_skip "tmux is not installed"
	test_done
fi

sim_start -n 2 --pull-time 2s --load-time 50ms --models llama3.2:latest || exit 1
{
	echo "[fleet]"; echo "name = tty"
	echo "[instance gpu-1]"; echo "url = $SIM_URL"
	echo "[instance gpu-2]"; echo "url = http://127.0.0.1:$((SIM_PORT + 1))"
	echo "[model qwen2.5:7b]"; echo "num_ctx = 4096"
} >fleet.conf

SOCK="obridge-t3200-$$"
T() { tmux -L "$SOCK" -f /dev/null "$@"; }
trap 'T kill-server 2>/dev/null; _cleanup' EXIT
T new-session -d -s t -x 120 -y 30 "env PS1='READY\$ ' sh" || exit 1
T set-option -g status off >/dev/null
screen() { T capture-pane -p -t t; }
wait_for() {
	_n=0
	while [ $_n -lt $(( ${2:-10} * 20 )) ]; do
		screen | grep -q -E -- "$1" && return 0
		sleep 0.05
		_n=$((_n + 1))
	done
	echo "timed out waiting for /$1/ on screen:"
	screen
	return 1
}
run() { T send-keys -t t "$*" Enter; }
run "cd '$TRASH' && clear"

test_expect_success 'on a terminal deploy asks; the default is no' '
	run "$OBRIDGE -f fleet.conf deploy; echo RC=\$?" &&
	wait_for "^Apply this plan\? \[y/N\]" &&
	T send-keys -t t Enter &&
	wait_for "^RC=1$" &&
	screen | grep -q "nothing changed" &&
	curl -s "$SIM_URL/api/tags" | jq -e "[.models[].name] | index(\"qwen2.5:7b\") == null"
'

test_expect_success 'after y: one live progress line per instance and model, then verify' '
	run "clear; $OBRIDGE -f fleet.conf deploy; echo RC=\$?" &&
	wait_for "^Apply this plan\? \[y/N\]" &&
	T send-keys -t t y Enter &&
	wait_for "^gpu-1 +qwen2.5:7b +[0-9a-f]{12} +[0-9]+%  [0-9.]+ [MG]B/4.7 GB  [0-9.]+ [MG]B/s  ETA [0-9]" &&
	screen | grep -E "^gpu-2 +qwen2.5:7b +[0-9a-f]{12} +[0-9]+%" &&
	wait_for "^RC=0$" 30 &&
	screen >final &&
	grep -E "^gpu-1 +qwen2.5:7b +done in [0-9.]+s$" final &&
	grep -E "^gpu-2 +qwen2.5:7b +done in [0-9.]+s$" final &&
	test "$(grep -c "qwen2.5:7b .*%" final)" = 0 &&
	grep -E "^gpu-1 preload qwen2.5:7b: ok in " final &&
	grep_q "^deploy: 2/2 instances match the fleet file" final
'

test_done
