#!/bin/sh
# deploy when things go wrong: a pull cut mid-way (retried, resumed), a model the
# registry does not have, a full disk and the re-run that resumes, an instance going
# down during apply, Ctrl-C and the re-run.
. "$(dirname "$0")/lib.sh"

sim_start -n 2 --pull-time 1s --load-time 50ms --models llama3.2:latest \
	--fault gpu-1:pull-cut=0.4 --registry-missing ghost || exit 1
u1=$SIM_URL
u2="http://127.0.0.1:$((SIM_PORT + 1))"
instances() {
	echo "[instance gpu-1]"; echo "url = $1"
	echo "[instance gpu-2]"; echo "url = $2"
}
{ echo "[fleet]"; echo "name = f"; instances $u1 $u2; echo "[model qwen2.5:0.5b]"; } >a.conf
# pull requests an instance received
pulls() { curl -s "$1/_sim/stats" | jq ".instances[] | select(.name == \"$2\") | .requests[\"/api/pull\"] // 0"; }

test_expect_success 'a pull cut mid-way is tried again and resumes where it stopped' '
	"$OBRIDGE" -f a.conf deploy --yes >out &&
	grep -E "^gpu-1 pull qwen2.5:0.5b: ok in .*, 398 MB after 2 attempts \(resumed at 159 MB\); the last failed attempt: max retries exceeded: unexpected EOF$" out &&
	grep -E "^gpu-2 pull qwen2.5:0.5b: ok in [^ ]+, 398 MB$" out &&
	test "$(pulls $u1 gpu-1)" = 2 && test "$(pulls $u1 gpu-2)" = 1 &&
	"$OBRIDGE" history --json | jq -e ".[0].summary.actions[0].attempts == 2"
'

test_expect_success 'a model the registry does not have: Ollama.s error, the rest goes on' '
	{ cat a.conf; echo "[model ghost]"; echo "[model gemma3:1b]"; } >b.conf &&
	expect_code 2 "$OBRIDGE" -f b.conf deploy --yes >out &&
	grep_q "^gpu-1 pull ghost:latest: failed: pull model manifest: file does not exist$" out &&
	grep_q "^gpu-2 pull ghost:latest: failed: pull model manifest: file does not exist$" out &&
	grep_q "^gpu-2 preload ghost:latest: skipped: not loaded: its pull failed$" out &&
	grep -E "^gpu-2 pull gemma3:1b: ok in " out &&
	grep -E "^gpu-2 preload gemma3:1b: ok in " out &&
	grep_q "^verify gpu-1: differs: ghost:latest not installed$" out
'

test_expect_success 'a full disk fails at once with Ollama.s text; after space is freed the re-run resumes' '
	{ cat a.conf; echo "[model phi3:mini]"; } >c.conf &&
	sim_fault_at gpu-2 disk-full=0.5 &&
	expect_code 1 "$OBRIDGE" -f c.conf deploy --yes >out &&
	grep -E "^gpu-2 pull phi3:mini: failed: write /usr/share/ollama/.ollama/models/blobs/sha256-[0-9a-f]{64}-partial: no space left on device$" out &&
	grep -E "^gpu-1 pull phi3:mini: ok" out &&
	grep_q "^verify gpu-1: ok$" out &&
	sim_fault_at gpu-2 none &&
	"$OBRIDGE" -f c.conf deploy --yes >out &&
	grep -E "^gpu-2 pull phi3:mini: ok in .*, 2.2 GB \(resumed at 1.1 GB\)$" out &&
	"$OBRIDGE" -f c.conf deploy --plan
'

sim_stop
# gpu-2 pulls slowly: it goes down while its pull runs.
sim_start -n 2 --pull-time 1s --load-time 50ms --models llama3.2:latest \
	--instance gpu-2:pull-time=40s || exit 1
v1=$SIM_URL
v2="http://127.0.0.1:$((SIM_PORT + 1))"
{ echo "[fleet]"; echo "name = down"; instances $v1 $v2; echo "[model qwen2.5:0.5b]"; } >d.conf
# Wait until instance $2 of the sim at $1 received a pull (up to 10 s).
wait_pulling() {
	_n=0
	while [ $_n -lt 200 ]; do
		curl -s "$1/_sim/stats" | jq -e ".instances[] | select(.name == \"$2\") | (.requests[\"/api/pull\"] // 0) > 0" >/dev/null && return 0
		sleep 0.05
		_n=$((_n + 1))
	done
	echo "no pull on $2"
	return 1
}

test_expect_success 'an instance that goes down during apply is named; the others finish (exit 1)' '
	"$OBRIDGE" -f d.conf deploy --yes >out 2>err &
	pid=$! &&
	wait_pulling $v1 gpu-2 &&
	sim_fault_at gpu-2 down &&
	wait $pid; rc=$?
	test $rc = 1 &&
	grep -E "^gpu-1 pull qwen2.5:0.5b: ok" out &&
	grep -E "^gpu-2 pull qwen2.5:0.5b: failed after 3 attempts.*: .*refused" out &&
	grep_q "^verify gpu-1: ok$" out &&
	grep -E "^verify gpu-2: differs: unreachable: .*refused" out &&
	grep_q "^deploy: 1/2 instances match the fleet file" out
'

sim_stop
sim_start -n 1 --pull-time 2s --load-time 50ms --models llama3.2:latest || exit 1
{ echo "[fleet]"; echo "name = int"; echo "[instance gpu-1]"; echo "url = $SIM_URL"; echo "[model qwen2.5:7b]"; } >e.conf

test_expect_success 'Ctrl-C stops cleanly: the run is marked interrupted; the re-run resumes' '
	"$OBRIDGE" -f e.conf deploy --yes >out 2>err &
	pid=$! &&
	wait_pulling $SIM_URL gpu-1 &&
	sleep 0.3 &&
	kill -INT $pid &&
	{ wait $pid; rc=$?; test $rc = 2; } &&
	grep_q "^gpu-1 pull qwen2.5:7b: skipped: interrupted$" out &&
	grep_q "^deploy: interrupted; run it again to resume$" out &&
	"$OBRIDGE" history --json | jq -e ".[0].kind == \"deploy\" and .[0].status == \"interrupted\"" &&
	"$OBRIDGE" -f e.conf deploy --yes >out &&
	grep -E "^gpu-1 pull qwen2.5:7b: ok in .*, 4.7 GB \(resumed at [0-9.]+ (MB|GB)\)$" out &&
	grep_q "^verify gpu-1: ok$" out
'

test_done
