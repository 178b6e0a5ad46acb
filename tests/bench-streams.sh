#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Streaming clients side by side (a benchmark, not a test: it prints figures and ratios, it
# never fails on timing); the measurement side of issue #19.
#   sh tests/bench-streams.sh ./build/obridge
# One `obridge sim` (--tok-interval 20ms --tokens 64, model preloaded) pinned to CPU 0; the
# clients pinned to the other CPUs: `obridge bench -c C` and, as the reference, tests/bench/aiostream.py
# (asyncio + aiohttp, the way vLLM's benchmark client is built; a test-side stand-in, not part
# of obridge), on asyncio's loop and on uvloop. For each C, interleaved rounds; before each
# run POST /_sim/reset, after it GET /_sim/stats for the sim's own emission figures (the
# truth ITL and TTFT are held against; "n/a" when the sim does not report them). Then one
# obridge run at 10,000 streams, and the goals of #19 beside the figures.
# Knobs: BENCH_STREAMS ("64 256 1024"), BENCH_ROUNDS (3), BENCH_SECS (10), BENCH_BIG (1: the
# 10,000-stream run; 0 skips it), BENCH_BIG_STREAMS (10000), BENCH_PYTHON (/usr/bin/python3).
set -u
OBRIDGE=${1:-./build/obridge}
SRC=$(cd "$(dirname "$0")/.." && pwd)
STREAMS=${BENCH_STREAMS:-64 256 1024}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECS:-10}
BIG=${BENCH_BIG:-1}
BIGC=${BENCH_BIG_STREAMS:-10000}
PY=${BENCH_PYTHON:-/usr/bin/python3}
TOK_NS=20000000 # the sim's --tok-interval 20ms, for the offered chunk rate
CLIPID=""
. "$SRC/tests/bench/lib.sh"
bench_on_exit() { [ -n "$CLIPID" ] && kill "$CLIPID" 2>/dev/null && wait "$CLIPID" 2>/dev/null; }
bench_init bench-streams
command -v jq >/dev/null 2>&1 || { echo "bench-streams: jq is needed" >&2; exit 3; }
command -v curl >/dev/null 2>&1 || { echo "bench-streams: curl is needed" >&2; exit 3; }
"$PY" -c 'import resource, subprocess' 2>/dev/null ||
	{ echo "bench-streams: $PY is needed (Debian package python3)" >&2; exit 3; }
for c in $STREAMS $ROUNDS $SECS $BIGC; do
	case $c in '' | *[!0-9]* | 0 | 0*) echo "bench-streams: BENCH_STREAMS, BENCH_ROUNDS, BENCH_SECS and" \
		"BENCH_BIG_STREAMS take whole numbers from 1: '$c'" >&2; exit 3 ;; esac
done
ulimit -n "$(ulimit -H -n)" 2>/dev/null

have_aio=0 have_uv=0
"$PY" -c 'import aiohttp' 2>/dev/null && have_aio=1
[ $have_aio = 1 ] && "$PY" -c 'import uvloop' 2>/dev/null && have_uv=1

bench_pin
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)

# The clients run under this wrapper: it waits for the client and writes "CPU_S MAXRSS_KB RC
# TIMED_OUT" to $1: CPU_S = utime + stime of the client over its whole run (what
# /proc/PID/stat shows at its exit, read with getrusage once it is reaped), MAXRSS_KB = its
# peak RSS (VmHWM). After $2 seconds it stops the client (SIGTERM, then SIGKILL).
cat >"$TMP/run.py" <<'EOF'
import resource, signal, subprocess, sys
out, limit, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
state = {"p": None, "timed_out": 0, "killing": 0}
def stop(sig, frame):
    if state["p"]:
        state["p"].terminate()
def alarm(sig, frame):
    p = state["p"]
    state["timed_out"] = 1
    if state["killing"]:
        p.kill()
    else:
        state["killing"] = 1
        p.terminate()
        signal.alarm(10)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGALRM, alarm)
state["p"] = subprocess.Popen(cmd)
signal.alarm(limit)
rc = state["p"].wait()
signal.alarm(0)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as f:
    f.write("%.6f %d %d %d\n" % (r.ru_utime + r.ru_stime, r.ru_maxrss, rc, state["timed_out"]))
EOF

# start_sim: a sim on $port (the next free one of a few), the model loaded and kept.
start_sim() {
	bench_start_sim --tok-interval 20ms --tokens 64 --num-parallel 100000 --max-queue 100000 \
		--load-time 10ms
	URL="http://127.0.0.1:$port"
	curl -sS -o /dev/null -d '{"model":"llama3.2","keep_alive":-1}' "$URL/api/generate" ||
		{ echo "bench-streams: the sim did not load llama3.2" >&2; exit 3; }
}

# TCP ListenOverflows of this network namespace (SYNs dropped by a full accept queue: the
# client waits for a retransmit, 1 s, which shows as TTFT); other processes count in it too.
listen_overflows() {
	awk '/^TcpExt:/ { if (!n) { for (i = 2; i <= NF; i++) h[i] = $i; n = 1 } else
		for (i = 2; i <= NF; i++) if (h[i] == "ListenOverflows") print $i }' /proc/net/netstat \
		2>/dev/null | grep . || echo 0
}
# busy ticks of the whole machine (all CPUs), from /proc/stat
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat 2>/dev/null || echo 0; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "n/a"; }

sim_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$SIMPID/stat" 2>/dev/null || echo 0; }

# run_client NAME C SECS: one run against a reset sim; appends a record to $TMP/runs.jsonl
# and prints one line of it (or the error of a failed run).
run_client() {
	name=$1 c=$2 secs=$3
	if ! kill -0 "$SIMPID" 2>/dev/null; then
		echo "    the sim is gone (log below); starting another" >&2
		tail -n 5 "$TMP/sim.log" >&2
		wait "$SIMPID" 2>/dev/null
		SIMPID=""
		port=$((port + 1))
		start_sim
	fi
	curl -sS -o /dev/null -X POST "$URL/_sim/reset" || echo "    POST /_sim/reset failed" >&2
	case $name in
	obridge) set -- "$OBRIDGE" -H "$URL" bench -m llama3.2 -c "$c" -d "${secs}s" --max-tokens 64 \
		--json ;;
	asyncio) set -- "$PY" "$SRC/tests/bench/aiostream.py" --url "$URL" -c "$c" -d "$secs" \
		--max-tokens 64 --tok-interval-ns "$TOK_NS" ;;
	uvloop) set -- "$PY" "$SRC/tests/bench/aiostream.py" --url "$URL" -c "$c" -d "$secs" \
		--max-tokens 64 --tok-interval-ns "$TOK_NS" --uvloop ;;
	esac
	rm -f "$TMP/ru" "$TMP/out.json"
	t0=$(sim_ticks) w0=$(date +%s.%N) lo0=$(listen_overflows) b0=$(busy_ticks)
	$PIN_CLI "$PY" "$TMP/run.py" "$TMP/ru" $((secs * 3 + 60)) "$@" >"$TMP/out.json" 2>"$TMP/err" &
	CLIPID=$!
	wait "$CLIPID"
	CLIPID=""
	t1=$(sim_ticks) w1=$(date +%s.%N) lo1=$(listen_overflows) b1=$(busy_ticks)
	simcpu=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v a="$w0" -v b="$w1" \
		'BEGIN { printf "%.0f", (b > a ? 100 * d / hz / (b - a) : 0) }')
	# the machine's busy time less the sim's: the client and whatever else runs
	restcpu=$(awk -v m=$((b1 - b0)) -v d=$((t1 - t0)) -v hz="$hz" -v a="$w0" -v b="$w1" \
		'BEGIN { printf "%.0f", (b > a ? 100 * (m - d) / hz / (b - a) : 0) }')
	curl -sS -m 10 "$URL/_sim/stats" >"$TMP/stats.json" 2>/dev/null || echo '{}' >"$TMP/stats.json"
	jq -e . "$TMP/stats.json" >/dev/null 2>&1 || echo '{}' >"$TMP/stats.json"
	set -- $(cat "$TMP/ru" 2>/dev/null)
	cpu=${1:-} rss=${2:-} rc=${3:-?} tmo=${4:-0}
	label="obridge bench"
	[ "$name" = asyncio ] && label="aiohttp"
	[ "$name" = uvloop ] && label="aiohttp+uvloop"
	valid='.requests | type == "object"'
	[ "$name" = obridge ] && valid='.steps[0].summary.requests | type == "object"'
	if [ -z "$cpu" ] || [ ! -s "$TMP/out.json" ] || ! jq -e "$valid" "$TMP/out.json" >/dev/null 2>&1; then
		echo "    $label c=$c: the run failed (exit $rc$([ "$tmo" = 1 ] && echo ', timed out')):"
		tail -n 5 "$TMP/err" | sed 's/^/      /'
		return 0
	fi
	if [ "$name" = obridge ]; then
		filter='.steps[0] as $s | {
			chunks: $s.client.chunks, ok: $s.summary.requests.ok,
			failed: $s.summary.requests.failed,
			error: ($s.errors // {} | to_entries | map(select(.value > 0)) |
				map(. as $e | "\($e.key) \($e.value)" + (($s.error_messages // {})[$e.key] // "" |
					if . != "" then " (" + . + ")" else "" end)) | join(", ")),
			itl50: $s.summary.itl.p50_ns, itl99: $s.summary.itl.p99_ns,
			ttft50: $s.summary.ttft.p50_ns, ttft99: $s.summary.ttft.p99_ns,
			kept: (if ($s.summary.duration_ns // 0) > 0 then
				100 * $s.client.chunks / ($s.summary.duration_ns / 1e9) / $offered else null end),
			lag99: $s.client.loop_lag_p99_ns, coalesced: $s.client.coalesced_pct,
			connect99: ($s.summary.connect.p99_ns? // $s.connect.p99_ns?),
			connect_none: ($s | has("connect") and .connect == null),
			cause: (if $s.client.loop_lag_cause == null then null else
				$s.client.loop_lag_cause + ($s.client.loop_lag_by // {} | to_entries |
				map(select((.value | type) == "number" and .value > 0) | "\(.key) \(.value)%") |
				if length > 0 then " (" + join(", ") + ")" else "" end) end),
			fw50: $s.first_wave.ttft.p50_ns?, fw99: $s.first_wave.ttft.p99_ns?,
			later99: $s.first_wave.later_ttft.p99_ns? }'
	else
		filter='{
			chunks: .chunks, ok: .requests.ok, failed: .requests.failed,
			error: (.errors // {} | to_entries | map("\(.value)x \(.key)") | join("; ")),
			itl50: .itl.p50_ns, itl99: .itl.p99_ns, ttft50: .ttft.p50_ns, ttft99: .ttft.p99_ns,
			kept: .kept_up_pct, lag99: null, coalesced: .coalesced_pct, connect99: null,
			cause: null, fw50: .first_wave_ttft.p50_ns, fw99: .first_wave_ttft.p99_ns }'
	fi
	jq -c --arg name "$name" --argjson c "$c" --argjson cpu "$cpu" --argjson rss "$rss" \
		--argjson simcpu "$simcpu" --argjson lo "$((lo1 - lo0))" --argjson restcpu "$restcpu" --argjson wall "$(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }')" \
		--argjson offered "$((c * 1000000000 / TOK_NS))" \
		--slurpfile st "$TMP/stats.json" \
		"$filter"' | . + {name: $name, c: $c, cpu: $cpu, rss: $rss, simcpu: $simcpu,
			lo: $lo, clicpu: (if $wall > 0 then 100 * $cpu / $wall else null end),
			othercpu: (if $wall > 0 then [$restcpu - 100 * $cpu / $wall, 0] | max else null end),
			cpum: (if (.chunks // 0) > 0 then $cpu / .chunks * 1e6 else null end),
			egap50: $st[0].emission.gaps.p50_ns?, egap99: $st[0].emission.gaps.p99_ns?,
			ettft50: $st[0].emission.ttft.p50_ns?, ettft99: $st[0].emission.ttft.p99_ns?}' \
		"$TMP/out.json" >"$TMP/rec.json" 2>"$TMP/jqerr" || {
		echo "    $label c=$c: unexpected output:"
		head -c 300 "$TMP/out.json" | sed 's/^/      /'
		sed 's/^/      /' "$TMP/jqerr"
		return 0
	}
	cat "$TMP/rec.json" >>"$TMP/runs.jsonl"
	jq -r "$JQDEFS"'
		"    \(.name | lbl) c=\(.c): \(.cpum | s1) s CPU/1M chunks, RSS \(.rss | mb) MB," +
		" ITL p99 \(.itl99 | ms) (\(delta(.itl99; .egap99))), TTFT p99 \(.ttft99 | ms)" +
		" (\(delta(.ttft99; .ettft99))), kept up \(.kept | p0), ok \(.ok) failed \(.failed)" +
		(if .lag99 != null then ", loop-lag p99 \(.lag99 | ms)" else "" end) +
		", CPU: client \(.clicpu | p0), sim \(.simcpu)%, other processes \(.othercpu | p0)" +
		(if .lo > 0 then "\n      listen overflows during the run: \(.lo) (SYNs dropped, retried after 1 s; counted machine-wide)" else "" end) +
		(if (.error // "") != "" then "\n      errors: \(.error | clean)" else "" end)' \
		"$TMP/rec.json"
}

# jq helpers: figures in ms/MB/s with "n/a" for what is missing, medians, deltas.
JQDEFS='
def num: if type == "number" then . else null end;
def r(n): if num == null then "n/a" else (. * n | round) / n | tostring end;
def ms: if num == null then "n/a" else (. / 1e6 | r(100)) + " ms" end;
def s1: r(10);
def p0: if num == null then "n/a" else r(1) + "%" end;
def mb: if num == null then "n/a" else . / 1024 | r(10) end;
def clean: tostring | gsub("[\u0000-\u001f\u007f]"; "?");
def lbl: if . == "obridge" then "obridge bench" elif . == "asyncio" then "aiohttp"
	else "aiohttp+uvloop" end;
def delta(a; b): if (a | num) == null or (b | num) == null then "n/a"
	else ((a - b) / 1e6 | (if . >= 0 then "+" else "" end) + r(100)) + " ms" end;
def med: map(num | select(. != null)) | sort |
	if length == 0 then null elif length % 2 == 1 then .[(length - 1) / 2]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;
'

echo "obridge bench-streams: $("$OBRIDGE" version 2>/dev/null | head -n 1), $ncpu CPUs, $PINNED," \
	"load average $(loadavg)"
echo "sim: --tok-interval 20ms --tokens 64 --num-parallel 100000 --max-queue 100000" \
	"--load-time 10ms, llama3.2 preloaded; clients: num_predict 64, ${SECS}s per run" \
	"(in-flight requests finish after it), $ROUNDS interleaved round(s) per C"
echo "CPU per 1M chunks = the client process's utime + stime over its whole run (start-up" \
	"included) / NDJSON lines received x 1e6; peak RSS = its VmHWM; kept up = chunks/s against" \
	"C x 50/s offered; (+x ms) = the client's p99 minus the sim's own emission p99 (truth," \
	"from /_sim/stats after the run); CPU: shares of one core during the run, other processes" \
	"= the machine's busy time less the client's and the sim's (noise on a shared machine)"
[ $have_aio = 1 ] || echo "aiohttp reference: $PY has no aiohttp (Debian package python3-aiohttp): skipped"
[ $have_aio = 1 ] && [ $have_uv = 0 ] &&
	echo "uvloop reference: $PY has no uvloop (Debian package python3-uvloop): skipped"
clients="obridge"
[ $have_aio = 1 ] && clients="$clients asyncio"
[ $have_uv = 1 ] && clients="$clients uvloop"

start_sim
: >"$TMP/runs.jsonl"
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	echo "round $r:"
	for c in $STREAMS; do
		for cl in $clients; do
			run_client "$cl" "$c" "$SECS"
		done
	done
done
# The floor on this machine: the cheapest possible client of the same streams, a bare
# epoll loop that reads and counts lines (tests/bench/simload.c: no HTTP library, no JSON,
# no clock per line). What obridge spends above it is libcurl, parsing and timing.
FLOOR=""
if ${CC:-cc} -O2 -o "$TMP/simload" "$SRC/tests/bench/simload.c" 2>"$TMP/err"; then
	echo "the floor: a bare epoll client (tests/bench/simload.c; no HTTP library, no JSON, no timing):"
	for c in $STREAMS; do
		curl -sS -o /dev/null -X POST "$URL/_sim/reset" 2>/dev/null
		rm -f "$TMP/ru"
		$PIN_CLI "$PY" "$TMP/run.py" "$TMP/ru" $((SECS * 3 + 60)) "$TMP/simload" 127.0.0.1 "$port" \
			"$c" "$SECS" rate >"$TMP/sl.out" 2>"$TMP/err"
		cpu=$(cut -d' ' -f1 "$TMP/ru" 2>/dev/null)
		chunks=$(sed -n 's/.*chunks=\([0-9]*\).*/\1/p' "$TMP/sl.out")
		line=$(awk -v c="$c" -v cpu="${cpu:-0}" -v n="${chunks:-0}" 'BEGIN {
			if (n > 0) printf "    c=%d: %.1f s CPU per 1M chunks (%d chunks)", c, cpu / n * 1e6, n
			else printf "    c=%d: the run failed", c }')
		echo "$line"
		FLOOR="$FLOOR $c:$(awk -v cpu="${cpu:-0}" -v n="${chunks:-0}" 'BEGIN { if (n > 0) printf "%.1f", cpu / n * 1e6; else printf "n/a" }')"
	done
else
	echo "the floor: cannot build tests/bench/simload.c: $(head -n 1 "$TMP/err")"
fi
if [ "$BIG" != 0 ]; then
	echo "one run at $BIGC streams (obridge only):"
	run_client obridge "$BIGC" "$SECS"
fi

# ---- medians of the rounds, ratios, goals ----
echo
echo "Medians of the rounds (runs in brackets; load average now $(loadavg): other work on a shared" \
	"machine shows as runs far from the others):"
jq -r -s --arg streams "$STREAMS" --argjson big "$BIGC" --arg floor "$(echo "$FLOOR" | sed 's/:\([0-9.]*\)/: \1 s/g; s/^ //')" "$JQDEFS"'
def runs(f): map(f | num) | map(if . == null then "n/a" else . end);
def fmt(f; g): (map(f) | med | g) + " [" + (map(f) | map(g) | join(" ")) + "]";
def ratio(a; b): if (a | num) == null or (b | num) == null or b == 0 then "n/a"
	else a / b | r(100) end;
. as $all |
($streams | split(" ") | map(select(. != "") | tonumber)) as $cs |
($cs[] as $c | ($all | map(select(.c == $c))) as $at |
	"C=\($c) streams (offered \($c * 50) chunks/s):",
	(("obridge", "asyncio", "uvloop") as $n | ($at | map(select(.name == $n))) as $rs |
		select($rs | length > 0) | $rs | (
		"  \($n | lbl) (\($rs | length) run(s)):",
		"    CPU per 1M chunks \(fmt(.cpum; s1)) s, peak RSS \(fmt(.rss; mb)) MB, kept up \(fmt(.kept; p0))",
		"    ITL p50 \(fmt(.itl50; ms)), p99 \(fmt(.itl99; ms)), p99 - emission p99 \(fmt(if (.itl99 | num) != null and (.egap99 | num) != null then .itl99 - .egap99 else null end; if num == null then "n/a" else delta(.; 0) end)) (emission p50 \(map(.egap50) | med | ms), p99 \(map(.egap99) | med | ms))",
		"    TTFT p50 \(fmt(.ttft50; ms)), p99 \(fmt(.ttft99; ms)), p99 - truth p99 \(fmt(if (.ttft99 | num) != null and (.ettft99 | num) != null then .ttft99 - .ettft99 else null end; if num == null then "n/a" else delta(.; 0) end)) (truth p50 \(map(.ettft50) | med | ms), p99 \(map(.ettft99) | med | ms))",
		(if $n == "obridge" then
			"    loop-lag p99 \(fmt(.lag99; ms)), coalesced gaps \(fmt(.coalesced; p0)), \(if map(.connect_none == true) | all then "no connection opened in the measured window" else "connect p99 \(fmt(.connect99; ms)) (kept out of TTFT when reported)" end)",
			"    loop-lag cause: \($rs | map(.cause // "n/a" | clean) | join("; "))",
			"    first-wave TTFT (the C streams the step starts at once) p50 \(fmt(.fw50; ms)), p99 \(fmt(.fw99; ms)); the later requests p99 \(fmt(.later99; ms))"
		else
			"    first-wave TTFT (the first C requests, which open the connections) p50 \(fmt(.fw50; ms)), p99 \(fmt(.fw99; ms)); coalesced gaps \(fmt(.coalesced; p0))"
		end),
		"    requests ok \(map(.ok) | add), failed \(map(.failed) | add)" +
			($rs | map(.error // "" | select(. != "")) | if length > 0 then " (\(.[0] | clean))" else "" end) +
			", CPU: client \(fmt(.clicpu; p0)), sim \(fmt(.simcpu; p0)), other processes \(fmt(.othercpu; p0))"
	)),
	(($at | map(select(.name == "obridge"))) as $ob |
		("asyncio", "uvloop") as $n | ($at | map(select(.name == $n))) as $pe |
		select(($pe | length) > 0 and ($ob | length) > 0) |
		"  ratio obridge/\($n | lbl): CPU per chunk \(ratio($ob | map(.cpum) | med; $pe | map(.cpum) | med)), peak RSS \(ratio($ob | map(.rss) | med; $pe | map(.rss) | med))")
),
(($all | map(select(.c == $big and .name == "obridge"))) as $b | if ($cs | index($big)) == null and ($b | length) > 0 then
	"C=\($big) streams, obridge bench, one run: peak RSS \($b[0].rss | mb) MB, CPU per 1M chunks \($b[0].cpum | s1) s, requests ok \($b[0].ok), failed \($b[0].failed)\(if ($b[0].error // "") != "" then " (\($b[0].error | clean))" else "" end), kept up \($b[0].kept | p0), loop-lag p99 \($b[0].lag99 | ms) (cause: \($b[0].cause // "n/a" | clean)), ITL p99 \($b[0].itl99 | ms), TTFT p99 \($b[0].ttft99 | ms)"
else empty end),
"",
"Goals of #19 (obridge bench; figures, not a pass/fail test):",
(def ob(c): $all | map(select(.name == "obridge" and .c == c));
 def verdict(v; ok): if v == null then "not measured" elif ok then "met" else "not met" end;
 def lagline(c; lim):
	(ob(c) | map(.lag99) | med) as $v |
	"  loop-lag p99 <= \(lim) ms at \(c) streams: \($v | ms) -> \(verdict($v; $v <= lim * 1e6))";
 def within(f; g; lim; what; truth):
	($cs | map(select(. <= 1024))) as $cc |
	($cc | map(. as $c | ob($c) | map(if (f | num) != null and (g | num) != null then f - g else null end) | med)) as $d |
	"  \(what) within \(lim) ms of the sim \(truth) (C = \($cc | map(tostring) | join(", "))): \($d | map(if . == null then "n/a" else delta(.; 0) end) | join(", ")) -> \(if ($cc | length) == 0 then "not measured" elif ($d | map(select(. == null)) | length) > 0 then "unknown (no truth from the sim, or a run failed)" elif ($d | map(select(fabs > lim * 1e6)) | length) > 0 then "not met" else "met" end)";
 lagline(1024; 1), lagline(256; 0.5),
 within(.itl99; .egap99; 1; "ITL p99"; "emission p99"),
 within(.ttft99; .ettft99; 2; "TTFT p99"; "TTFT p99"),
 ((ob(256) | map(.cpum) | med) as $v | "  CPU per 1M chunks at 256 streams <= 8 s: \(if $v == null then "n/a" else "\($v | s1) s" end) -> \(verdict($v; $v <= 8)) (the bare epoll floor: \($floor))"),
 ((ob($big) | map(.rss) | med) as $v | "  peak RSS at \($big) streams <= 150 MB: \(if $v == null then "n/a" else "\($v | mb) MB" end) -> \(verdict($v; $v <= 150 * 1024))"))
' "$TMP/runs.jsonl"
