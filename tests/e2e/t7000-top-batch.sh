#!/bin/sh
# obridge top in batch mode against obridge sim: rows and states, JSON shape, GPU columns
# from a canned dcgm-exporter exposition, an instance going down while top keeps running.
. "$(dirname "$0")/lib.sh"

sim_start -n 3 --load-time 50ms --tok-interval 1ms --ttft 5ms \
	--models llama3.2:latest,qwen2.5:0.5b || exit 1
u1=$SIM_URL
u2="http://127.0.0.1:$((SIM_PORT + 1))"
u3="http://127.0.0.1:$((SIM_PORT + 2))"
fault() { sim_fault_at "$@"; }

# A canned dcgm-exporter exposition, served by a tiny static HTTP server (perl is a
# build dependency already), on a free port written to $1.port.
cat >dcgm.prom <<'PROM'
# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-aaaa",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",Hostname="h1"} 87
DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-bbbb",device="nvidia1",modelName="NVIDIA A100-SXM4-80GB",Hostname="h1"} 13
# TYPE DCGM_FI_DEV_FB_USED gauge
DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-aaaa",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",Hostname="h1"} 20480
DCGM_FI_DEV_FB_USED{gpu="1",UUID="GPU-bbbb",device="nvidia1",modelName="NVIDIA A100-SXM4-80GB",Hostname="h1"} 4096
DCGM_FI_DEV_FB_FREE{gpu="0",UUID="GPU-aaaa",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",Hostname="h1"} 61440
DCGM_FI_DEV_FB_FREE{gpu="1",UUID="GPU-bbbb",device="nvidia1",modelName="NVIDIA A100-SXM4-80GB",Hostname="h1"} 77824
DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-aaaa",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",Hostname="h1"} 71
DCGM_FI_DEV_GPU_TEMP{gpu="1",UUID="GPU-bbbb",device="nvidia1",modelName="NVIDIA A100-SXM4-80GB",Hostname="h1"} 45
DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-aaaa",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",Hostname="h1"} 312.5
this line is not an exposition line
PROM
cat >serve.pl <<'PERL'
use strict; use IO::Socket::INET;
my ($file, $portfile) = @ARGV;
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 16,
	ReuseAddr => 1, Proto => 'tcp') or die "listen: $!";
open(my $pf, '>', "$portfile.tmp") or die; print $pf $srv->sockport, "\n"; close $pf;
rename("$portfile.tmp", $portfile);
while (my $c = $srv->accept) {
	while (my $l = <$c>) { last if $l =~ /^\r?\n$/; }
	open(my $fh, '<', $file) or die; local $/; my $body = <$fh>; close $fh;
	print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n",
		"Content-Length: ", length($body), "\r\nConnection: close\r\n\r\n", $body;
	close $c;
}
PERL
perl serve.pl dcgm.prom metrics.port &
SERVE_PID=$!
SIM_PIDS="$SIM_PIDS $SERVE_PID"
n=0
while [ ! -s metrics.port ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
MPORT=$(cat metrics.port)

# gpu-1 has a metrics_url; the fleet wants llama3.2 everywhere.
{
	echo "[fleet]"; echo "name = t7"
	echo "[instance gpu-1]"; echo "url = $u1"; echo "metrics_url = http://127.0.0.1:$MPORT/metrics"
	echo "[instance gpu-2]"; echo "url = $u2"
	echo "[instance gpu-3]"; echo "url = $u3"
	echo "[model llama3.2]"; echo "keep_alive = -1"; echo "num_ctx = 4096"
} >fleet.conf
{
	echo "[fleet]"; echo "name = plain"
	echo "[instance gpu-1]"; echo "url = $u1"
	echo "[instance gpu-2]"; echo "url = $u2"
	echo "[model llama3.2]"; echo "keep_alive = -1"
} >plain.conf

# The instance table of a batch snapshot (the rows between the column header and the
# first blank line after it).
inst_rows() { awk '/^INSTANCE +STATE/ { on = 1; next } on && /^$/ { exit } on' "$1"; }

cat >bench.sql <<'SQL'
INSERT INTO runs(kind, status, started_ns, target, summary)
VALUES('bench', 'running', 1, 't7', '{"step":"c=8","p95_ns":1200000000,"errors":2}');
SQL

test_expect_success 'the metrics server answers' '
	curl -sf "http://127.0.0.1:$MPORT/metrics" | grep -q DCGM_FI_DEV_GPU_UTIL
'

test_expect_success '--once: a header with totals and one row per instance' '
	"$OBRIDGE" -f fleet.conf top --once >out &&
	grep_q "^obridge top - fleet t7 - 3/3 up, 0/3 models resident" out &&
	grep -E "^gpu-1 .*DEGRADED .*0/1 .*unloaded llama3.2:latest" out &&
	grep -E "^gpu-2 .*DEGRADED" out && grep -E "^gpu-3 .*DEGRADED" out
'

test_expect_success 'a stdout that is not a terminal implies --once' '
	"$OBRIDGE" -f fleet.conf top >out 2>err &&
	test $(grep -c "^obridge top - fleet" out) = 1 && test ! -s err
'

test_expect_success 'resident everywhere with the fleet context: UP, models and VRAM' '
	for u in $u1 $u2 $u3; do
		curl -s "$u/api/generate" -d "{\"model\":\"llama3.2\",\"keep_alive\":-1,\"options\":{\"num_ctx\":4096}}" >/dev/null
	done &&
	"$OBRIDGE" -f fleet.conf top --once >out &&
	grep_q "3/3 up, 3/3 models resident" out &&
	grep -E "^gpu-2 .*UP .* 1/1 .*Forever" out &&
	grep -E "^gpu-2 +llama3.2:latest +resident +100% GPU .* 4096 +Forever" out
'

test_expect_success 'GPU columns from the dcgm-exporter exposition, blank elsewhere' '
	"$OBRIDGE" -f fleet.conf top --once >out &&
	grep -E "^INSTANCE .*GPU% +GMEM +TEMP" out &&
	inst_rows out >rows &&
	grep -E "^gpu-1 .* 50% +24.0/160G +71C" rows &&
	grep -E "^gpu-2 " rows && ! grep -E "^gpu-2 .*(%|[0-9]C )" rows
'

test_expect_success 'no metrics_url anywhere: no GPU columns' '
	"$OBRIDGE" -f plain.conf top --once >out &&
	not_grep "GPU%" out && grep_q "^gpu-1 " out
'

test_expect_success '--json: the shape of a snapshot' '
	"$OBRIDGE" -f fleet.conf top --json >out &&
	test $(wc -l <out) = 1 &&
	jq -e ".fleet == \"t7\" and .total == 3 and .up == 3 and .level == 2
		and .models_resident == 3 and .models_expected == 3 and (.vram_bytes > 0)
		and (.time | test(\"Z$\"))" out &&
	jq -e "[.instances[].name] == [\"gpu-1\",\"gpu-2\",\"gpu-3\"]" out &&
	jq -e "all(.instances[]; (.state | IN(\"UP\",\"SLOW\",\"DEGRADED\",\"DOWN\"))
		and .stale == false and (.latency_ms >= 0) and (.history_ms | length >= 1)
		and (.models | type == \"array\") and (.missing | type == \"array\") and (.unloaded | type == \"array\"))" out &&
	jq -e ".instances[1].models[0] | .name == \"llama3.2:latest\" and .size_vram > 0
		and .context_length == 4096 and .expires_at == \"forever\"" out &&
	jq -e ".instances[0].gpu | .count == 2 and .util_pct == 50 and .fb_used_mib == 24576
		and .fb_total_mib == 163840 and .temp_c == 71" out &&
	jq -e ".instances[1] | has(\"gpu\") | not" out
'

test_expect_success '--global --json before the command works too' '
	"$OBRIDGE" --json -f fleet.conf top >out && jq -e ".total == 3" out
'

test_expect_success '--level 1: reachability only' '
	"$OBRIDGE" -f fleet.conf top --json --level 1 >out &&
	jq -e ".level == 1 and all(.instances[]; .state == \"UP\")" out
'

test_expect_success 'the latency history is backfilled from the store' '
	"$OBRIDGE" -f fleet.conf health --level 1 --format json >/dev/null;
	"$OBRIDGE" -f fleet.conf health --level 1 --format json >/dev/null;
	"$OBRIDGE" -f fleet.conf top --json >out &&
	jq -e "all(.instances[]; .history_ms | length >= 3)" out
'

test_expect_success '-n N: N snapshots; an instance taken down turns DOWN, top lives on' '
	"$OBRIDGE" -f fleet.conf top -n 6 -d 400ms --json >out 2>err &
	pid=$! &&
	n=0; while [ "$(wc -l <out)" -lt 2 ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done &&
	fault gpu-2 down &&
	wait $pid && test ! -s err &&
	test $(wc -l <out) = 6 &&
	head -n 1 out | jq -e ".instances[1].state != \"DOWN\"" &&
	tail -n 1 out | jq -e ".up == 2 and .instances[1].state == \"DOWN\"
		and .instances[1].stale == true and .instances[1].stale_seconds > 0
		and .instances[1].latency_ms == null and (.instances[1].history_ms | last) == null
		and .instances[0].state == \"UP\"" &&
	tail -n 1 out | jq -e ".instances[1].problem | test(\"refused\")"
'

test_expect_success 'the table shows DOWN with the reason, and stale data with its age' '
	"$OBRIDGE" -f fleet.conf top --once >out &&
	grep -E "^gpu-2 .*DOWN .*refused" out && grep_q "2/3 up" out &&
	fault gpu-2 up &&
	n=0; while ! curl -sf "$u2/api/version" >/dev/null && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done &&
	"$OBRIDGE" -f fleet.conf top -n 4 -d 400ms >out 2>err &
	pid=$! &&
	n=0; while ! grep -q -E "^gpu-2 .*(UP|DEGRADED)" out && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done &&
	fault gpu-2 down &&
	wait $pid && test ! -s err &&
	test $(grep -c "^obridge top - fleet" out) = 4 &&
	grep -E "^gpu-2 .*(UP|DEGRADED)" out | head -n 1 | grep -q . &&
	tail -n 20 out >last && grep -E "^gpu-2 .*DOWN .*stale [0-9]+s: .*refused" last &&
	grep -E "^gpu-2 +llama3.2:latest +[a-z]+ \(stale\)" last
'

test_expect_success 'a hung instance does not hold the others (poll deadline)' '
	fault gpu-2 up && fault gpu-3 hang &&
	n=0; while ! curl -sf "$u2/api/version" >/dev/null && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done &&
	start=$(date +%s) &&
	"$OBRIDGE" -f fleet.conf top --once --timeout 1s -d 1s >out &&
	end=$(date +%s) && fault gpu-3 none &&
	test $((end - start)) -le 4 &&
	grep -E "^gpu-3 .*DOWN" out && grep -E "^gpu-1 .*UP" out
'

test_expect_success 'a running bench shows in the panel (step, p95, errors)' '
	sqlite3 "$OBRIDGE_DB" <bench.sql &&
	"$OBRIDGE" -f fleet.conf top --once >out &&
	grep -E "^bench run [0-9]+ running, step c=8, p95 1.20s, 2 errors" out &&
	"$OBRIDGE" -f fleet.conf top --json | jq -e ".bench.step == \"c=8\" and .bench.errors == 2" &&
	sqlite3 "$OBRIDGE_DB" "UPDATE runs SET summary = NULL WHERE kind = '"'"'bench'"'"'" &&
	"$OBRIDGE" -f fleet.conf top --once >out &&
	grep -E "^bench run [0-9]+ running$" out &&
	sqlite3 "$OBRIDGE_DB" "UPDATE runs SET status = '"'"'ok'"'"' WHERE kind = '"'"'bench'"'"'" &&
	"$OBRIDGE" -f fleet.conf top --once >out && not_grep "^bench run" out
'

test_expect_success 'every instance down: rows turn DOWN, exit 0' '
	sim_stop &&
	"$OBRIDGE" -f fleet.conf top --once >out &&
	grep_q "0/3 up" out &&
	test $(grep -c -E "^gpu-[123] .*DOWN" out) = 3
'

test_expect_failure_code 3 'a bad interval is a usage error' '"$OBRIDGE" -f fleet.conf top -d nope --once'
test_expect_failure_code 3 '--level 3 is a usage error' '"$OBRIDGE" -f fleet.conf top --level 3 --once'
test_expect_failure_code 3 '-n 0 is a usage error' '"$OBRIDGE" -f fleet.conf top -n 0'

test_expect_success '-h prints the usage' '
	"$OBRIDGE" top -h >out && grep_q "^usage: obridge top" out
'

test_done
