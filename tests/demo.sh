#!/bin/sh
# make demo: start a simulated fleet, run the main jobs against it, stop what it started.
set -u
OBRIDGE=${1:-./obridge}
dir=$(mktemp -d "${TMPDIR:-/tmp}/obridge-demo.XXXXXX")
sim_pid=""
cleanup() {
	if [ -n "$sim_pid" ]; then
		kill "$sim_pid" 2>/dev/null
		wait "$sim_pid" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Show and run one command; exit 3 (a usage or configuration error) ends the demo as a
# failure. Exit 1 and 2 are the fleet's state, which is what the demo shows.
step() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	"$@"
	_rc=$?
	if [ $_rc -ge 3 ]; then
		echo "demo: '$*' failed (exit $_rc)" >&2
		exit 1
	fi
}

# A free port range: try a few random bases, below Linux's ephemeral range (32768-60999),
# where outgoing connections take their ports.
for try in 1 2 3 4 5; do
	port=$(( ($$ * 31 + try * 977) % 20000 + 10000 ))
	"$OBRIDGE" sim -n 3 --port "$port" --load-time 800ms --tok-interval 15ms --num-parallel 4 \
		--instance gpu-3:ttft=150ms --fleet-out "$dir/fleet.conf" >"$dir/sim.log" 2>&1 &
	sim_pid=$!
	i=0
	while [ ! -s "$dir/fleet.conf" ] && kill -0 "$sim_pid" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -s "$dir/fleet.conf" ] && break
	kill "$sim_pid" 2>/dev/null
	wait "$sim_pid" 2>/dev/null
	sim_pid=""
done
if [ -z "$sim_pid" ]; then
	echo "demo: obridge sim did not start:" >&2
	cat "$dir/sim.log" >&2
	exit 2
fi
echo "obridge demo: a simulated fleet of 3 Ollama servers on loopback (4 parallel slots each; gpu-3 is slow)"
cat "$dir/sim.log"
# The fleet file the simulator wrote: its models with keep_alive and num_ctx.
export OBRIDGE_FLEET="$dir/fleet.conf" OBRIDGE_DB="$dir/obridge.db"

step "$OBRIDGE" fleet show
step "$OBRIDGE" health --format text
step "$OBRIDGE" preload
step "$OBRIDGE" ps
step "$OBRIDGE" warmup -m llama3.2 -n 3
# The main job: a concurrency sweep on one instance finds where latency breaks.
step "$OBRIDGE" bench --instance gpu-1 -m llama3.2 -c 1..16 -d 2s --max-tokens 16
step "$OBRIDGE" bench --each -m llama3.2 -c 4 -d 2s --max-tokens 16 --no-chart
step "$OBRIDGE" health --level 3 --format nagios
step "$OBRIDGE" history
echo
echo "demo finished; the simulated fleet is stopped."
exit 0
