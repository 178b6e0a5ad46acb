#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The bench engine's own figures (a benchmark, not a test: it prints, it never fails on
# timing):
#   sh tests/bench-engine.sh ./build/obridge
# (1) engine ceiling: `obridge bench --endpoint version -c 64` against nginx serving a
#     static /api/version, beside wrk, hey and h2load (--h1) against the same nginx in the
#     same run;
# (2) NDJSON chunks parsed per second of client CPU, against obridge sim --tok-interval 0;
# (3) 10,000 concurrent streams from one process: peak RSS and errors;
# (4) accuracy at 256 streams: TTFT and ITL medians against the sim's own durations.
# The server side is pinned to CPU 0 and the clients to the other CPUs when taskset exists.
# Knobs: BENCH_SECS (5), BENCH_HOLD (10000).
set -u
OBRIDGE=${1:-./build/obridge}
SECS=${BENCH_SECS:-5}
HOLD=${BENCH_HOLD:-10000}
NGXPID=""
. "$(cd "$(dirname "$0")" && pwd)/bench/lib.sh"
bench_on_exit() { [ -n "$NGXPID" ] && kill "$NGXPID" 2>/dev/null && wait "$NGXPID" 2>/dev/null; }
bench_init bench-engine
bench_pin
command -v jq >/dev/null 2>&1 || { echo "bench-engine: jq is needed" >&2; exit 3; }
ulimit -n "$(ulimit -H -n)" 2>/dev/null

# ratio A B: A/B with two decimals, "n/a" when B is 0 or missing.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "n/a" }'; }

echo "obridge bench-engine: $("$OBRIDGE" version 2>/dev/null | head -n 1), $ncpu CPUs," \
	"$PINNED"

# ---- (1) engine ceiling against nginx ----
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ -x "$NGINX" ]; then
	mkdir -p "$TMP/nginx/logs"
	cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$port;
		location = /api/version {
			default_type application/json;
			return 200 '{"version":"0.33.0"}';
		}
	}
}
EOF
	$PIN_SRV "$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" 2>"$TMP/nginx/start.log" &
	NGXPID=$!
	n=0
	while ! curl -s -o /dev/null "http://127.0.0.1:$port/api/version" && [ $n -lt 100 ]; do
		sleep 0.05
		n=$((n + 1))
	done
	url="http://127.0.0.1:$port/api/version"
	if ! curl -fs -o /dev/null "$url"; then
		# hey counts failed requests in its req/s: no figure without a server
		echo "(1) nginx did not answer on port $port: engine ceiling skipped"
		sed 's/^/    /' "$TMP/nginx/start.log" "$TMP/nginx/logs/error.log" 2>/dev/null | tail -n 5
		kill "$NGXPID" 2>/dev/null
		wait "$NGXPID" 2>/dev/null
		NGXPID=""
		NGINX=failed
	fi
fi
if [ -x "$NGINX" ]; then
	ROUNDS=${BENCH_ROUNDS:-3}
	echo "(1) engine ceiling: GET $url (nginx, 1 worker), 64 connections, ${SECS}s each," \
		"$ROUNDS interleaved rounds (median; shared machines drift between runs)"
	have_wrk=0 have_hey=0 have_h2l=0
	command -v wrk >/dev/null 2>&1 && have_wrk=1
	command -v hey >/dev/null 2>&1 && have_hey=1
	command -v h2load >/dev/null 2>&1 && have_h2l=1
	: >"$TMP/ob" && : >"$TMP/wrk" && : >"$TMP/hey" && : >"$TMP/h2l"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		r=$((r + 1))
		$PIN_CLI "$OBRIDGE" -H "http://127.0.0.1:$port" bench --endpoint version -c 64 \
			-d "${SECS}s" --warmup 0 --json 2>/dev/null |
			jq -r '.steps[0] | "\(.summary.throughput.req_per_s) \(.summary.requests.failed) \(.summary.e2e.p50_ns) \(.summary.e2e.p99_ns) \(.client.cpu_pct)"' \
				>>"$TMP/ob"
		[ $have_wrk = 1 ] && $PIN_CLI wrk -t1 -c64 -d"${SECS}s" "$url" 2>/dev/null |
			awk '/^Requests\/sec/ { print $2 }' >>"$TMP/wrk"
		[ $have_hey = 1 ] && $PIN_CLI hey -c 64 -z "${SECS}s" "$url" 2>/dev/null |
			awk '/Requests\/sec/ { print $2 }' >>"$TMP/hey"
		# h2load over HTTP/1.1, one thread, timed: "finished in 5.00s, 41234.20 req/s, ..."
		[ $have_h2l = 1 ] && $PIN_CLI h2load --h1 -t1 -c64 -D "$SECS" "$url" 2>/dev/null |
			awk '/^finished in/ { print $4 }' >>"$TMP/h2l"
	done
	# median of the first column of a file, 0 when empty
	median() { sort -g -k1,1 "$1" | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }'; }
	runs() { awk '{ printf "%s%.0f", (NR > 1 ? " " : ""), $1 }' "$1"; }
	ob_rps=$(median "$TMP/ob")
	set -- $(sort -g -k1,1 "$TMP/ob" | awk -v m="$ob_rps" '$1 == m { print; exit }')
	printf "    obridge bench: %10.0f req/s  (runs: %s; errors %s, p50 %.0f us, p99 %.0f us, client CPU %s%%)\n" \
		"$ob_rps" "$(runs "$TMP/ob")" "${2:-?}" "$(awk -v v="${3:-0}" 'BEGIN { print v / 1000 }')" \
		"$(awk -v v="${4:-0}" 'BEGIN { print v / 1000 }')" "${5:-?}"
	wrk_rps=0 hey_rps=0 h2l_rps=0
	if [ $have_wrk = 1 ]; then
		wrk_rps=$(median "$TMP/wrk")
		printf "    wrk -t1 -c64:  %10.0f req/s  (runs: %s)\n" "$wrk_rps" "$(runs "$TMP/wrk")"
	else
		echo "    wrk: not installed (Debian package wrk)"
	fi
	if [ $have_hey = 1 ]; then
		hey_rps=$(median "$TMP/hey")
		printf "    hey -c 64:     %10.0f req/s  (runs: %s)\n" "$hey_rps" "$(runs "$TMP/hey")"
	else
		echo "    hey: not installed (Debian package hey)"
	fi
	if [ $have_h2l = 1 ]; then
		h2l_rps=$(median "$TMP/h2l")
		printf "    h2load -c64:   %10.0f req/s  (runs: %s; --h1 -t1)\n" "$h2l_rps" "$(runs "$TMP/h2l")"
	else
		echo "    h2load: not installed (Debian package nghttp2-client)"
	fi
	echo "    ratios: obridge/wrk $(ratio "$ob_rps" "$wrk_rps") (goal >= 0.7)," \
		"obridge/hey $(ratio "$ob_rps" "$hey_rps") (goal >= 1.5)," \
		"obridge/h2load $(ratio "$ob_rps" "$h2l_rps")"
	kill "$NGXPID" 2>/dev/null
	wait "$NGXPID" 2>/dev/null
	NGXPID=""
	port=$((port + 1))
elif [ "$NGINX" != failed ]; then
	echo "(1) nginx is not installed (Debian package nginx): engine ceiling skipped"
fi

# ---- (2) chunks parsed per client core ----
bench_start_sim --tok-interval 0 --ttft 0 --prefill-rate 1e9 --tokens 2000 --load-time 10ms \
	--num-parallel 100000
out=$($PIN_CLI "$OBRIDGE" -H "http://127.0.0.1:$port" bench -m llama3.2 -c 64 -d "${SECS}s" \
	--max-tokens 2000 --json 2>/dev/null |
	jq -r '.steps[0] | "\(.client.chunks) \(.client.chunks_per_cpu_s) \(.client.cpu_pct) \(.summary.duration_ns) \(.summary.requests.failed)"')
set -- $out
echo "(2) NDJSON parsing: sim --tok-interval 0, 2000 tokens per answer, 64 streams, ${SECS}s"
awk -v c="${1:-0}" -v pc="${2:-0}" -v cpu="${3:-0}" -v d="${4:-1}" -v f="${5:-?}" 'BEGIN {
	printf "    %.0f chunks, %.0f chunks/s wall, %.0f chunks per client CPU second (goal >= 500000)\n", c, c / (d / 1e9), pc
	printf "    client CPU %s%% of one core (the sim, on its own core, is the limit when this is low); errors %s\n", cpu, f
}'
bench_stop_sim

# ---- (3) many concurrent streams ----
bench_start_sim --tok-interval 500ms --ttft 10ms --tokens 6 --load-time 10ms --num-parallel 100000 \
	--max-queue 100000
$PIN_CLI "$OBRIDGE" -H "http://127.0.0.1:$port" bench -m llama3.2 -c "$HOLD" -n "$HOLD" \
	--warmup 1 --json >"$TMP/hold.json" 2>"$TMP/hold.err" &
bpid=$!
peak=0
while kill -0 "$bpid" 2>/dev/null; do
	r=$(awk '/VmHWM/ { print $2 }' "/proc/$bpid/status" 2>/dev/null)
	[ -n "$r" ] && peak=$r
	sleep 0.1
done
wait "$bpid"
echo "(3) $HOLD concurrent streams from one process (6 tokens 500 ms apart each):"
jq -r --arg peak "$peak" '.steps[0] | "    ok \(.summary.requests.ok), failed \(.summary.requests.failed), peak RSS \(($peak | tonumber) / 1024 | floor) MB (goal <= 256 MB), TTFT p50 \(.summary.ttft.p50_ns / 1e6 | floor) ms vs server \(.server.ttft.p50_ns / 1e6 | floor) ms"' \
	"$TMP/hold.json" 2>/dev/null || { echo "    failed:"; cat "$TMP/hold.err"; }
bench_stop_sim

# ---- (4) accuracy against the sim's truth ----
bench_start_sim --tok-interval 10ms --ttft 50ms --tokens 20 --load-time 10ms --num-parallel 256
$PIN_CLI "$OBRIDGE" -H "http://127.0.0.1:$port" bench -m llama3.2 -c 256 -d "${SECS}s" \
	--json >"$TMP/acc.json" 2>/dev/null
echo "(4) accuracy at 256 concurrent streams (sim: TTFT 50 ms after prefill, 10 ms between tokens);"
echo "    truth = the sim's own durations in each final chunk (total - eval, eval / eval_count):"
jq -r '.steps[0] | (.summary.ttft.p50_ns - .server.ttft.p50_ns) as $dt |
	((.server.eval.p50_ns / (.summary.tokens.output / .summary.requests.ok)) ) as $itl |
	"    TTFT median \(.summary.ttft.p50_ns / 1e6) ms vs truth \(.server.ttft.p50_ns / 1e6) ms: off by \($dt / 1e6) ms (goal <= 1 ms)",
	"    ITL median \(.summary.itl.p50_ns / 1e6) ms vs truth \($itl / 1e6) ms: off by \((.summary.itl.p50_ns - $itl) / 1e6) ms (goal <= 0.5 ms)",
	"    \(.summary.requests.ok) requests, errors \(.summary.requests.failed), client CPU \(.client.cpu_pct)%"' \
	"$TMP/acc.json"
bench_stop_sim
