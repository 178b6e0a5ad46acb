#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# What obridge top costs: CPU time at a 1 s interval against a 50-instance obridge sim,
# in batch mode (top -n 30 -d 1) and, when tmux is installed, on the curses screen.
# Prints the figures; no pass/fail (the goal is under 2% of one core).
#   usage: sh tests/bench-top.sh ./build/obridge [SECONDS]
set -u
OBRIDGE=${1:?usage: sh tests/bench-top.sh ./build/obridge [SECONDS]}
SECS=${2:-30}
SOCK="obridge-bench-top-$$"
. "$(cd "$(dirname "$0")" && pwd)/bench/lib.sh"
bench_on_exit() { command -v tmux >/dev/null 2>&1 && tmux -L "$SOCK" kill-server 2>/dev/null; }
bench_init bench-top
export LC_ALL=C.UTF-8
unset NO_COLOR OBRIDGE_FLEET

HZ=$(getconf CLK_TCK)
# CPU seconds (user + system) of a running process, from /proc/PID/stat.
cpu_of() {
	awk -v hz="$HZ" '{ sub(/^.*\) /, ""); printf "%.3f", ($12 + $13) / hz }' "/proc/$1/stat"
}
pct() { awk -v c="$1" -v w="$2" 'BEGIN { printf "%.2f", 100 * c / w }'; }

bench_start_sim -n 50 --models llama3.2:latest --load-time 10ms
# half of the instances hold the model, so /api/ps has something to parse
i=0
pids=""
while [ $i -lt 25 ]; do
	curl -s "http://127.0.0.1:$((port + i))/api/generate" \
		-d '{"model":"llama3.2","keep_alive":-1}' >/dev/null &
	pids="$pids $!"
	i=$((i + 1))
done
for p in $pids; do wait "$p"; done

echo "obridge top, 50 instances (obridge sim), interval 1s, level 2, $(nproc) CPUs"

# Batch mode: the whole process, from start to exit, via the shell's children times.
t0=$(date +%s.%N)
"$OBRIDGE" -f "$TMP/fleet.conf" top -n "$SECS" -d 1 >"$TMP/batch.out" &
pid=$!
last=0
while kill -0 "$pid" 2>/dev/null; do
	c=$(cpu_of "$pid" 2>/dev/null) && last=$c
	sleep 0.2
done
wait "$pid"
t1=$(date +%s.%N)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
snaps=$(grep -c '^obridge top - fleet' "$TMP/batch.out")
echo "batch:  top -n $SECS -d 1: ${last}s CPU in ${wall}s wall = $(pct "$last" "$wall")% of one core ($snaps snapshots)"

# The curses screen under tmux, measured over the same time after a 2 s start-up.
if command -v tmux >/dev/null 2>&1; then
	tmux -L "$SOCK" -f /dev/null new-session -d -x 160 -y 60 \
		"'$OBRIDGE' -f '$TMP/fleet.conf' top -d 1" || exit 0
	sleep 2
	pid=$(tmux -L "$SOCK" list-panes -F '#{pane_pid}' | head -n 1)
	c0=$(cpu_of "$pid")
	t0=$(date +%s.%N)
	sleep "$SECS"
	c1=$(cpu_of "$pid")
	t1=$(date +%s.%N)
	tmux -L "$SOCK" send-keys q
	cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	echo "screen: top -d 1 (160x60): ${cpu}s CPU in ${wall}s wall = $(pct "$cpu" "$wall")% of one core"
else
	echo "screen: skipped (tmux is not installed)"
fi
echo "goal: under 2% of one core"
