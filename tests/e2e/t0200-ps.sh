#!/bin/sh
# obridge ps: the fleet-wide `ollama ps` against obridge sim.
. "$(dirname "$0")/lib.sh"

sim_start -n 2 --load-time 100ms --unload-time 3s || exit 1
U1=$SIM_URL
U2="http://127.0.0.1:$((SIM_PORT + 1))"
DEAD="http://127.0.0.1:1"

test_expect_success 'ps with nothing loaded: one "-" row per instance, exit 0' '
	"$OBRIDGE" -f "$SIM_FLEET" ps >out &&
	head -n 1 out >hdr &&
	grep_q "^INSTANCE   NAME   ID   SIZE   PROCESSOR   CONTEXT   UNTIL" hdr &&
	grep_q "^gpu-1 *- *$" out &&
	grep_q "^gpu-2 *- *$" out &&
	test $(wc -l <out) = 3
'

test_expect_success 'preload with keep_alive -1: UNTIL Forever, 100% GPU, context, id' '
	curl -sf -d "{\"model\":\"llama3.2\",\"keep_alive\":-1}" "$U1/api/generate" >/dev/null &&
	curl -sf "$U1/api/ps" >ps.json &&
	id=$(sed -n "s/.*\"digest\":\"\([0-9a-f]\{12\}\).*/\1/p" ps.json) &&
	test -n "$id" &&
	"$OBRIDGE" -f "$SIM_FLEET" ps >out &&
	grep "^gpu-1 " out >row &&
	grep_q "^gpu-1 *llama3.2:latest *$id *[0-9.]* [KMG]B *100% GPU *[0-9][0-9]* *Forever$" row &&
	grep_q "^gpu-2 *- *$" out
'

test_expect_success 'default keep_alive shows minutes from now' '
	curl -sf -d "{\"model\":\"qwen2.5:0.5b\"}" "$U2/api/generate" >/dev/null &&
	"$OBRIDGE" -f "$SIM_FLEET" ps >out &&
	grep "^gpu-2 " out >row &&
	grep_q "qwen2.5:0.5b" row &&
	grep_q "[0-9] minutes from now$" row
'

test_expect_success 'an unload in progress shows Stopping...' '
	curl -sf -d "{\"model\":\"qwen2.5:0.5b\",\"keep_alive\":0}" "$U2/api/generate" >/dev/null &&
	"$OBRIDGE" -f "$SIM_FLEET" ps >out &&
	grep "^gpu-2 " out >row &&
	grep_q "Stopping\.\.\.$" row
'

test_expect_success '--json: per-instance objects with models' '
	"$OBRIDGE" -f "$SIM_FLEET" ps --json >out.json &&
	grep_q "^{\"fleet\":\"sim\",\"instances\":\[{\"name\":\"gpu-1\",\"url\":\"$U1\",\"ok\":true,\"error\":null," out.json &&
	grep_q "\"models\":\[{\"name\":\"llama3.2:latest\",\"model\":\"llama3.2:latest\",\"digest\":\"[0-9a-f]\{64\}\",\"size\":[0-9]*,\"size_vram\":[0-9]*,\"processor\":\"100% GPU\",\"context_length\":[0-9]*,\"expires_at\":\"2[0-9-]*T[^\"]*\",\"until\":\"Forever\"}\]" out.json &&
	grep_q "{\"name\":\"gpu-2\"" out.json &&
	test $(wc -l <out.json) = 1
'

test_expect_success '--json works as a global option too, in either place' '
	"$OBRIDGE" -f "$SIM_FLEET" ps --json >a.json &&
	"$OBRIDGE" --json -f "$SIM_FLEET" ps >b.json &&
	"$OBRIDGE" ps -f "$SIM_FLEET" --json >c.json &&
	grep_q "\"instances\"" b.json && grep_q "\"instances\"" c.json &&
	sed "s/\"until\":\"[^\"]*\"//g" a.json >a2 && sed "s/\"until\":\"[^\"]*\"//g" b.json >b2 &&
	test_cmp a2 b2
'

test_expect_success '-H before or after the command' '
	"$OBRIDGE" -H "$U1" ps >a &&
	"$OBRIDGE" ps -H "$U1" >b &&
	test_cmp a b &&
	grep_q "^127.0.0.1:$SIM_PORT *llama3.2:latest" a &&
	test $(wc -l <a) = 2
'

test_expect_failure_code 1 'an unreachable instance is listed and makes the exit code 1' '
	"$OBRIDGE" -H "$U1" -H "$DEAD" ps >out 2>err; rc=$?
	grep_q "llama3.2:latest" out &&
	grep_q "^127.0.0.1:1 *unreachable: connection refused *$" out &&
	exit $rc
'

test_expect_failure_code 1 'unreachable in --json: ok false with the error' '
	"$OBRIDGE" -H "$DEAD" ps --json >out.json; rc=$?
	grep_q "\"ok\":false,\"error\":\"connection refused\",\"error_kind\":\"refused\",\"models\":\[\]" out.json &&
	exit $rc
'

test_expect_failure_code 1 'an instance that is down (sim fault) is unreachable' '
	curl -sf -d "{\"instance\":\"gpu-2\",\"fault\":\"down\"}" "$U1/_sim/fault" >/dev/null &&
	"$OBRIDGE" -f "$SIM_FLEET" ps >out; rc=$?
	curl -sf -d "{\"instance\":\"gpu-2\",\"fault\":\"up\"}" "$U1/_sim/fault" >/dev/null
	grep_q "^gpu-2 *unreachable: connection refused" out &&
	grep_q "^gpu-1 *llama3.2:latest" out &&
	exit $rc
'

test_expect_failure_code 1 'an instance that accepts but never answers times out after 5s' '
	curl -sf -d "{\"instance\":\"gpu-2\",\"fault\":\"hang\"}" "$U1/_sim/fault" >/dev/null &&
	"$OBRIDGE" -f "$SIM_FLEET" ps >out; rc=$?
	curl -sf -d "{\"instance\":\"gpu-2\",\"fault\":\"none\"}" "$U1/_sim/fault" >/dev/null
	grep_q "^gpu-2 *unreachable: timed out after 5.0s" out &&
	grep_q "^gpu-1 *llama3.2:latest" out &&
	exit $rc
'

test_expect_success '-vv traces each request on stderr without the API key' '
	OBRIDGE_API_KEY=sekrit-key-123 "$OBRIDGE" -vv -H "$U1" ps >out 2>err &&
	grep_q "GET $U1/api/ps -> 200 .*total [0-9.]*ms" err &&
	grep_q "< {\"models\":" err &&
	not_grep "sekrit-key-123" err
'

test_expect_failure_code 1 'a server that is not Ollama: error naming the reply' '
	"$OBRIDGE" -H "$U1/nope" ps >out; rc=$?
	grep_q "error: HTTP 404" out && exit $rc
'

test_expect_success 'colour only on a terminal: none in a pipe' '
	"$OBRIDGE" -H "$DEAD" ps >out; printf "\033" >esc; ! grep -q -F -f esc out
'

test_expect_success '-h prints the usage on stdout' '
	"$OBRIDGE" ps -h >out && grep_q "^usage: obridge ps \[--json\]" out
'

test_expect_failure_code 3 'an unknown option is named, exit 3' '
	"$OBRIDGE" -H "$U1" ps --bogus >out 2>err; rc=$?
	grep_q "bogus" err && test ! -s out && exit $rc
'

test_expect_failure_code 3 'an unknown short option is named, exit 3' '
	"$OBRIDGE" -H "$U1" ps -z 2>err; rc=$?
	grep_q "'"'"'-z'"'"'" err && exit $rc
'

test_expect_failure_code 3 'a stray argument is refused' '
	"$OBRIDGE" -H "$U1" ps extra 2>err; rc=$?
	grep_q "extra" err && exit $rc
'

test_done
