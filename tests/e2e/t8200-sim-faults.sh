#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# obridge sim: fault injection (--fault and POST /_sim/fault), down/up, per-instance settings.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || { test_skip "jq is not installed"; test_done; }

sim_start -n 2 --load-time 100ms --tokens 6 --tok-interval 10ms --ttft 5ms --seed 7 \
	--fault gpu-2:503 || exit 1
U=$SIM_URL
U2="http://127.0.0.1:$((SIM_PORT + 1))"

post() { _p=$1; _b=$2; shift 2; curl -sS "$@" -d "$_b" "$U$_p"; }
jqe() { _f=$1; shift; jq -e "$@" "$_f" >/dev/null || { echo "jq -e $* failed on:"; head -c 3000 "$_f"; echo; return 1; }; }
fault() { curl -sS -d "{\"instance\":\"${2:-gpu-1}\",\"fault\":\"$1\"}" "$U/_sim/fault" >fault.out; }
gen='{"model":"llama3.2","prompt":"x"}'

test_expect_success '--fault INSTANCE:KIND applies to that instance only' '
	curl -sS -d "$gen" -o e -w "%{http_code}\n" "$U2/api/generate" >code &&
	echo 503 >expect && test_cmp expect code &&
	jqe e ".error == \"server busy, please try again.  maximum pending requests exceeded\"" &&
	curl -sS "$U2/" >b && grep_q "Ollama is running" b &&
	post /api/generate "$gen" >g && tail -n 1 g | jq -e .done >/dev/null &&
	curl -sS "$U/_sim/stats" >st && jqe st ".instances[1].faults == [\"503\"] and .instances[0].faults == []"
'

test_expect_success 'the control endpoint reports the faults; none clears them' '
	fault none gpu-2 && jqe fault.out ".instances[0].instance == \"gpu-2\" and .instances[0].faults == []" &&
	curl -sS -d "$gen" "$U2/api/generate" >g && tail -n 1 g | jq -e .done >/dev/null &&
	curl -sS -d "{\"fault\":\"bogus\"}" -o e -w "%{http_code}\n" "$U/_sim/fault" >code &&
	echo 400 >expect && test_cmp expect code &&
	curl -sS -d "{\"instance\":\"gpu-9\",\"fault\":\"hang\"}" -o e -w "%{http_code}\n" "$U/_sim/fault" >code &&
	echo 404 >expect && test_cmp expect code
'

test_expect_success 'the control endpoint replaces the faults; "add": true stacks them' '
	fault slow && fault 500 && jqe fault.out ".instances[0].faults == [\"500\"]" &&
	curl -sS -d "{\"fault\":\"stall=1s@0.5\",\"add\":true}" "$U/_sim/fault" >f &&
	jqe f ".instances[0].faults == [\"500\",\"stall=1s@0.5\"]" &&
	curl -sS -d "{\"fault\":\"error\",\"add\":false}" "$U/_sim/fault" >f &&
	jqe f ".instances[0].faults == [\"error\"]" &&
	curl -sS -d "{\"fault\":\"slow\",\"add\":1}" -o e -w "%{http_code}\n" "$U/_sim/fault" >code &&
	echo 400 >expect && test_cmp expect code && jqe e ".error | test(\"add\")" &&
	fault none && jqe fault.out ".instances[0].faults == []"
'

test_expect_success '500: inference fails with the runner-crash message, / still answers' '
	fault 500 &&
	post /api/generate "$gen" -D h -o e && grep_q "^HTTP/1.1 500" h && grep_q "application/json" h &&
	jqe e ".error | startswith(\"llama runner process has terminated\")" &&
	post /api/chat "{\"model\":\"llama3.2\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}" -o e -w "%{http_code}\n" >code &&
	echo 500 >expect && test_cmp expect code &&
	curl -sS "$U/" >b && grep_q "Ollama is running" b && fault none
'

test_expect_success '500@0.5 fails about half of the requests (seeded)' '
	fault 500@0.5 && : >codes &&
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do
		post /api/generate "$gen" -o /dev/null -w "%{http_code}\n" >>codes || exit 1
	done && fault none && sort codes | uniq -c &&
	test "$(grep -c 500 codes)" -ge 2 && test "$(grep -c 200 codes)" -ge 2
'

test_expect_success 'hang: accepted, never answered; the request goes away with the client' '
	fault hang &&
	{ curl -sS -m 0.5 "$U/api/version" >b 2>err; echo $? >rc; } &&
	echo 28 >expect && test_cmp expect rc && test ! -s b &&
	fault none && sleep 0.1 &&
	curl -sS "$U/_sim/stats" >st && jqe st ".instances[0].in_flight == 0 and .instances[0].status[\"499\"] >= 1"
'

test_expect_success 'slow: every delay is multiplied by ten' '
	fault slow &&
	post /api/generate "{\"model\":\"llama3.2\",\"prompt\":\"x\",\"stream\":false}" >n && fault none &&
	jqe n ".eval_duration >= 500000000 and .prompt_eval_duration >= 40000000"
'

test_expect_success 'malformed: a broken JSON line mid-stream, then the stream goes on' '
	fault malformed && post /api/generate "$gen" >g && fault none &&
	! jq -c . g >/dev/null 2>&1 &&
	tail -n 1 g | jq -e ".done == true" >/dev/null &&
	test "$(wc -l <g)" = 8
'

test_expect_success 'error: a 200 stream that ends in an {"error"} line without done' '
	fault error && post /api/generate "$gen" -D h -o g && fault none &&
	grep_q "^HTTP/1.1 200" h &&
	tail -n 1 g | jq -e "has(\"error\") and (has(\"done\") | not)" >/dev/null &&
	not_grep "\"done\":true" g
'

test_expect_success 'error on /v1: the SSE stream stops without a finish chunk or [DONE]' '
	fault error &&
	post /v1/chat/completions "{\"model\":\"llama3.2\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}" >sse &&
	fault none && not_grep "DONE" sse && not_grep "finish_reason\":\"stop" sse
'

test_expect_success 'truncate: the connection closes mid-stream without done' '
	fault truncate &&
	{ post /api/generate "$gen" >g 2>err; echo $? >rc; } && fault none &&
	echo 18 >expect && test_cmp expect rc && not_grep "\"done\":true" g && test -s g &&
	fault truncate &&
	{ post /api/generate "{\"model\":\"llama3.2\",\"prompt\":\"x\",\"stream\":false}" >g 2>err; echo $? >rc; } &&
	fault none && test_cmp expect rc
'

test_expect_success 'stall=DUR: the stream pauses in the middle' '
	fault stall=800ms &&
	post /api/generate "$gen" >g && fault none &&
	jq -r ".created_at" g >ts && test "$(wc -l <ts)" = 7 &&
	tail -n 1 g | jq -e ".done and .eval_duration >= 800000000" >/dev/null
'

test_expect_success 'down: another instance stops listening and comes back on the same port' '
	fault down gpu-2 && sleep 0.2 &&
	{ curl -sS -m 2 "$U2/" >b 2>err; echo $? >rc; } && echo 7 >expect && test_cmp expect rc &&
	curl -sS "$U/_sim/stats" >st && jqe st ".instances[1].up == false" &&
	fault up gpu-2 && sleep 0.1 &&
	curl -sS "$U2/" >b && grep_q "Ollama is running" b && grep_q "gpu-2 down" "$SIM_LOG"
'

test_expect_success 'down on itself: the answer arrives, then it is brought back through gpu-1' '
	curl -sS -d "{\"fault\":\"down\"}" "$U2/_sim/fault" >f && jqe f ".instances[0].faults == [\"down\"]" &&
	sleep 0.3 &&
	{ curl -sS -m 2 "$U2/api/tags" >b 2>err; echo $? >rc; } && echo 7 >expect && test_cmp expect rc &&
	fault none gpu-2 && sleep 0.1 && curl -sS "$U2/api/version" >v && jqe v ".version"
'

test_expect_success 'down closes streams in progress' '
	fault stall=3s gpu-2 || exit 1
	curl -sS -d "$gen" "$U2/api/generate" >g 2>err &
	cp=$!
	sleep 0.4
	fault down gpu-2 && wait $cp; not_grep "\"done\":true" g && test -s g && fault none gpu-2 &&
	sleep 0.1 && curl -sS "$U2/" >b && grep_q "Ollama is running" b
'

test_expect_success 'every response carries X-Sim-Instance' '
	curl -sS -D h -o /dev/null "$U2/api/nope" && grep_q "X-Sim-Instance: gpu-2" h &&
	curl -sS -D h -o /dev/null -d "$gen" "$U/api/generate" && grep_q "X-Sim-Instance: gpu-1" h
'

test_expect_success 'usage errors exit 3' '
	expect_code 3 "$OBRIDGE" sim --fault "gpu-1:explode" &&
	expect_code 3 "$OBRIDGE" sim --num-parallel 0 &&
	expect_code 3 "$OBRIDGE" sim -n 2 --instance gpu-5:tokens=3 &&
	expect_code 3 "$OBRIDGE" sim --keep-alive soon &&
	"$OBRIDGE" sim -h >h && grep_q "fault" h
'

test_expect_success 'per-instance settings from --config and --instance' '
	cat >sim.ini <<-\EOI &&
	[sim]
	tokens = 4
	[instance gpu-2]
	version = 0.9.0
	models = llama3.2,qwen2.5:0.5b
	digest = llama3.2@other
	vram = 1G
	EOI
	for off in 10 13 16 19 22; do
		p=$((SIM_PORT + off))
		rm -f c.conf
		"$OBRIDGE" sim -n 2 --port $p --load-time 50ms --config sim.ini \
			--instance gpu-1:tok-interval=5ms,models=llama3.2,phi3:mini,deepseek-r1:7b \
			--fleet-out c.conf >clog 2>&1 &
		cpid=$!
		n=0
		while [ ! -s c.conf ] && [ $n -lt 100 ] && kill -0 $cpid 2>/dev/null; do
			sleep 0.05; n=$((n + 1))
		done
		[ -s c.conf ] && break
		wait $cpid
	done
	curl -sS "http://127.0.0.1:$((p + 1))/api/version" >v &&
	curl -sS "http://127.0.0.1:$p/api/version" >v1 &&
	curl -sS "http://127.0.0.1:$p/api/tags" >t1 &&
	curl -sS "http://127.0.0.1:$((p + 1))/api/tags" >t2 &&
	curl -sS -d "$gen" "http://127.0.0.1:$p/api/generate" >g &&
	curl -sS -d "{\"model\":\"deepseek-r1:7b\",\"prompt\":\"x\",\"stream\":false}" "http://127.0.0.1:$p/api/generate" >th &&
	curl -sS -d "{\"model\":\"deepseek-r1:7b\",\"prompt\":\"x\"}" "http://127.0.0.1:$p/api/generate" >ths &&
	curl -sS -d "{\"model\":\"llama3.2\"}" "http://127.0.0.1:$((p + 1))/api/generate" >/dev/null &&
	curl -sS "http://127.0.0.1:$((p + 1))/api/ps" >ps2 &&
	kill $cpid && wait $cpid &&
	jqe v ".version == \"0.9.0\"" && jqe v1 ".version == \"0.33.0\"" &&
	jqe t1 "[.models[].name] | sort == [\"deepseek-r1:7b\",\"llama3.2:latest\",\"phi3:mini\"]" &&
	jqe t2 "[.models[].name] | sort == [\"llama3.2:latest\",\"qwen2.5:0.5b\"]" &&
	test "$(jq -r ".models[] | select(.name == \"llama3.2:latest\") | .digest" t1)" != \
		"$(jq -r ".models[] | select(.name == \"llama3.2:latest\") | .digest" t2)" &&
	tail -n 1 g | jq -e ".eval_count == 4" >/dev/null &&
	jqe th "(.thinking | length) > 0 and (.response | length) > 0 and .eval_count == 4" &&
	head -n 1 ths | jq -e ".response == \"\" and (.thinking | length) > 0" >/dev/null &&
	jqe ps2 ".models[0].size_vram == 1073741824 and .models[0].size > .models[0].size_vram" &&
	grep_q "^\[model phi3:mini\]" c.conf && grep_q "^\[model qwen2.5:0.5b\]" c.conf ||
	{ rc=$?; kill $cpid 2>/dev/null; echo "port $p; sim log:"; cat clog; exit $rc; }
'

test_done
