#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Benchmark of obridge's own speed (a benchmark, not a test: no pass/fail on timing).
#   sh tests/bench-self.sh ./build/obridge
# Measures (a) NDJSON chunks/s of one `obridge sim` with --tok-interval 0 under many
# concurrent streaming clients, (b) 10,000 concurrent streaming connections held open,
# (c) wrk against GET / of the sim as a reference; (a2) adds 2500 streams at a 10 ms interval,
# where every token is its own HTTP chunk. The sim is pinned to one CPU when
# taskset is available; the load generator (tests/bench/simload.c) is built here with cc.
set -u
OBRIDGE=${1:-./build/obridge}
SRC=$(cd "$(dirname "$0")/.." && pwd)
CONNS=${BENCH_CONNS:-200}
HOLD=${BENCH_HOLD:-10000}
SECS=${BENCH_SECS:-5}
. "$SRC/tests/bench/lib.sh"
bench_init bench-self
bench_pin
${CC:-cc} -O2 -o "$TMP/simload" "$SRC/tests/bench/simload.c" || exit 3
ulimit -n "$(ulimit -H -n)" 2>/dev/null

# start_sim ARGS: a sim with ARGS, the model loaded and kept.
start_sim() {
	bench_start_sim "$@"
	curl -sS -d '{"model":"llama3.2","keep_alive":-1}' "http://127.0.0.1:$port/api/generate" >/dev/null
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)

echo "obridge bench-self: $($OBRIDGE version 2>/dev/null | head -n 1), $ncpu CPUs, $PINNED"

# (a) chunk rate
start_sim --tok-interval 0 --ttft 0 --prefill-rate 1e9 --tokens 2000 --load-time 10ms \
	--num-parallel 100000
t0=$(cpu_ticks "$SIMPID")
out=$($PIN_CLI "$TMP/simload" 127.0.0.1 "$port" "$CONNS" "$((SECS + 1))" rate)
t1=$(cpu_ticks "$SIMPID")
echo "(a) streaming chunk rate, tok-interval 0, $CONNS concurrent streams:"
echo "    $out"
echo "    sim CPU: $(awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$((SECS + 1))" 'BEGIN { printf "%.0f%% of one core", 100 * d / hz / s }')"
bench_stop_sim

# (a2) the same without batching: every token due at its own time, one HTTP chunk each
start_sim --tok-interval 10ms --ttft 0 --tokens 1000000 --load-time 10ms --num-parallel 100000 \
	--max-queue 100000
t0=$(cpu_ticks "$SIMPID")
out=$($PIN_CLI "$TMP/simload" 127.0.0.1 "$port" 2500 "$((SECS + 1))" rate)
t1=$(cpu_ticks "$SIMPID")
echo "(a2) 2500 streams at tok-interval 10ms (nominal 250,000 chunks/s, one HTTP chunk per token):"
echo "    $out"
echo "    sim CPU: $(awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$((SECS + 1))" 'BEGIN { printf "%.0f%% of one core", 100 * d / hz / s }')"
bench_stop_sim

# (b) many concurrent streaming connections
start_sim --tok-interval 1s --tokens 1000000 --load-time 10ms --num-parallel 100000 --max-queue 100000
out=$($PIN_CLI "$TMP/simload" 127.0.0.1 "$port" "$HOLD" "$SECS" hold)
rss=$(awk '/VmRSS/ {print $2 / 1024 " MB"}' "/proc/$SIMPID/status" 2>/dev/null)
echo "(b) $HOLD concurrent streaming connections held for ${SECS}s (one token per second each):"
echo "    $out"
echo "    sim RSS: $rss"
bench_stop_sim

# (c) wrk reference
if command -v wrk >/dev/null 2>&1; then
	start_sim
	echo "(c) wrk -t2 -c100 -d${SECS}s http://127.0.0.1:$port/ (GET /, reference point):"
	$PIN_CLI wrk -t2 -c100 -d"${SECS}s" "http://127.0.0.1:$port/" | sed -n 's/^/    /; /Requests\/sec\|Latency\|requests in/p'
	bench_stop_sim
else
	echo "(c) wrk is not installed: skipped"
fi
