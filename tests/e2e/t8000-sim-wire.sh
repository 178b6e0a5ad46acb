#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# obridge sim: Ollama's wire format (reference/ollama-api.md §16), endpoint by endpoint.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || { test_skip "jq is not installed"; test_done; }

sim_start -n 2 --load-time 200ms --tokens 6 --tok-interval 5ms --ttft 10ms --pull-time 200ms --registry-missing no-such-model || exit 1
U=$SIM_URL

# get PATH [curl args]; post PATH BODY [curl args]
get() { _p=$1; shift; curl -sS "$@" "$U$_p"; }
post() { _p=$1; _b=$2; shift 2; curl -sS "$@" -d "$_b" "$U$_p"; }
jqe() { _f=$1; shift; jq -e "$@" "$_f" >/dev/null || { echo "jq -e $* failed on:"; head -c 2000 "$_f"; echo; return 1; }; }

test_expect_success 'sim prints one listening line per instance and writes the fleet file' '
	grep_q "sim gpu-1 listening on 127.0.0.1:$SIM_PORT" "$SIM_LOG" &&
	grep_q "sim gpu-2 listening on 127.0.0.1:$((SIM_PORT + 1))" "$SIM_LOG" &&
	grep_q "^\[fleet\]" "$SIM_FLEET" && grep_q "^name = sim" "$SIM_FLEET" &&
	grep_q "^\[instance gpu-2\]" "$SIM_FLEET" &&
	grep_q "^url = http://127.0.0.1:$((SIM_PORT + 1))" "$SIM_FLEET" &&
	grep_q "^\[model llama3.2:latest\]" "$SIM_FLEET" &&
	grep_q "^\[model nomic-embed-text:latest\]" "$SIM_FLEET"
'

test_expect_success 'GET / and HEAD / answer "Ollama is running"' '
	get / -D h -o b &&
	printf "Ollama is running" >expect && test_cmp expect b &&
	grep_q "^HTTP/1.1 200" h && grep_q "Content-Type: text/plain; charset=utf-8" h &&
	grep_q "X-Sim-Instance: gpu-1" h &&
	curl -sS -I "$U/" >hh && grep_q "Content-Length: 17" hh && grep_q "^HTTP/1.1 200" hh
'

test_expect_success '/api/version, unknown paths (404) and wrong methods (405)' '
	get /api/version >v && jqe v ".version == \"0.33.0\"" &&
	get /api/nope -D h -o b && printf "404 page not found" >expect && test_cmp expect b &&
	grep_q "^HTTP/1.1 404" h && grep_q "text/plain" h &&
	curl -sS -X POST "$U/api/ps" -D h -o b && printf "405 method not allowed" >expect &&
	test_cmp expect b && grep_q "^HTTP/1.1 405" h &&
	curl -sS -o /dev/null -w "%{http_code}\n" "$U/api/tags/" >code && echo 301 >expect && test_cmp expect code
'

test_expect_success '/api/tags lists the models with digests, sizes and details' '
	get /api/tags -D h -o t && grep_q "application/json; charset=utf-8" h &&
	jqe t ".models | length == 3" &&
	jqe t "[.models[].name] | sort == [\"llama3.2:latest\",\"nomic-embed-text:latest\",\"qwen2.5:0.5b\"]" &&
	jqe t "all(.models[]; (.digest | test(\"^[0-9a-f]{64}$\")) and .size > 100000000 and .model == .name)" &&
	jqe t "all(.models[]; .details.format == \"gguf\" and (.details.families | type) == \"array\" and (.details.parameter_size|type) == \"string\")" &&
	jqe t "all(.models[]; .modified_at | test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(\\\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$\"))" &&
	jqe t "[.models[].modified_at] as \$m | \$m == (\$m | sort | reverse)" &&
	get /api/tags >t2 && test_cmp t t2
'

test_expect_success 'the second instance has the same deterministic digests' '
	curl -sS "http://127.0.0.1:$((SIM_PORT + 1))/api/tags" >t3 &&
	jq -c "[.models[] | [.name, .digest]]" t >a && jq -c "[.models[] | [.name, .digest]]" t3 >b && test_cmp a b
'

test_expect_success '/api/show returns details and model_info; 404 with the canonical name' '
	post /api/show "{\"model\":\"llama3.2\"}" >s &&
	jqe s ".details.family == \"llama\" and .model_info[\"general.architecture\"] == \"llama\" and (.capabilities | index(\"completion\"))" &&
	post /api/show "{\"model\":\"nope\"}" -o s -w "%{http_code}\n" >code && echo 404 >expect && test_cmp expect code &&
	jqe s ".error == \"model '"'"'nope:latest'"'"' not found\""
'

test_expect_success 'empty and invalid bodies give 400 with Ollama messages' '
	curl -sS -X POST "$U/api/generate" -o e -w "%{http_code}\n" >code && echo 400 >expect && test_cmp expect code &&
	jqe e ".error == \"missing request body\"" &&
	post /api/generate "xyz" -o e -w "%{http_code}\n" >code && test_cmp expect code &&
	jqe e ".error | startswith(\"invalid character\")" &&
	post /api/generate "{\"model\":\"llama3.2\",\"stream\":\"no\"}" -o e >/dev/null &&
	jqe e ".error | contains(\"cannot unmarshal string\")"
'

test_expect_success 'preload with an empty prompt answers done_reason load' '
	post /api/generate "{\"model\":\"llama3.2\"}" -D h -o p &&
	grep_q "application/json; charset=utf-8" h &&
	jqe p ".model == \"llama3.2\" and .done == true and .done_reason == \"load\" and .response == \"\"" &&
	jqe p ".created_at | endswith(\"Z\")" && jqe p "has(\"load_duration\") | not"
'

test_expect_success '/api/ps shows the loaded model with the exact fields' '
	get /api/ps >ps &&
	jqe ps ".models | length == 1" &&
	jqe ps ".models[0] | keys_unsorted == [\"name\",\"model\",\"size\",\"digest\",\"details\",\"expires_at\",\"size_vram\",\"context_length\"]" &&
	jqe ps ".models[0] | .name == \"llama3.2:latest\" and .size_vram <= .size and .size > 2000000000 and .context_length == 4096" &&
	jqe ps ".models[0].details | has(\"context_length\") | not"
'

test_expect_success 'generate streams NDJSON, one chunk per token, then the final metrics' '
	post /api/generate "{\"model\":\"llama3.2\",\"prompt\":\"Why is the sky blue?\"}" -D h -o g &&
	grep_q "Content-Type: application/x-ndjson" h && grep_q "Transfer-Encoding: chunked" h &&
	test $(wc -l <g) = 7 &&
	head -n 6 g | jq -e -s "all(.[]; .done == false and .model == \"llama3.2\" and (.response|type) == \"string\" and (has(\"eval_count\")|not))" >/dev/null &&
	tail -n 1 g >f &&
	jqe f ".done == true and .done_reason == \"stop\" and .eval_count == 6 and (.context|type) == \"array\"" &&
	jqe f ".total_duration > 0 and .load_duration > 0 and .prompt_eval_count > 0 and .prompt_eval_duration > 0 and .eval_duration > 0" &&
	jqe f "(.total_duration >= .eval_duration + .prompt_eval_duration)" &&
	jqe f ".created_at | test(\"^[0-9-]{10}T[0-9:]{8}(\\\\.[0-9]{1,9})?Z$\")"
'

test_expect_success 'the prompt token count follows the documented formula' '
	# ceil(20 bytes / 4) = 5, + 4 per message + 3 = 12
	post /api/generate "{\"model\":\"llama3.2\",\"prompt\":\"Why is the sky blue?\",\"stream\":false}" >n &&
	jqe n ".prompt_eval_count == 12" &&
	post /api/chat "{\"model\":\"llama3.2\",\"stream\":false,\"messages\":[{\"role\":\"system\",\"content\":\"12345678\"},{\"role\":\"user\",\"content\":\"1\"}]}" >n &&
	jqe n ".prompt_eval_count == 14"
'

test_expect_success 'stream:false joins the text into one object' '
	post /api/generate "{\"model\":\"llama3.2\",\"prompt\":\"hi\",\"stream\":false}" -D h -o n &&
	grep_q "application/json; charset=utf-8" h && test $(wc -l <n) -le 1 &&
	jqe n ".done == true and .eval_count == 6 and (.response | length) > 6"
'

test_expect_success 'num_predict cuts the answer with done_reason length' '
	post /api/generate "{\"model\":\"llama3.2\",\"prompt\":\"hi\",\"options\":{\"num_predict\":2}}" >g &&
	test $(wc -l <g) = 3 && tail -n 1 g >f && jqe f ".done_reason == \"length\" and .eval_count == 2"
'

test_expect_success 'chat streams message chunks without context' '
	post /api/chat "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" >c &&
	test $(wc -l <c) = 7 &&
	head -n 1 c | jq -e ".message.role == \"assistant\" and .done == false" >/dev/null &&
	tail -n 1 c >f && jqe f ".done and .message.content == \"\" and (has(\"context\") | not) and .eval_count == 6"
'

test_expect_success 'not-found and capability errors use the right wording' '
	post /api/generate "{\"model\":\"nope\",\"prompt\":\"x\"}" -o e -w "%{http_code}\n" >code &&
	echo 404 >expect && test_cmp expect code && jqe e ".error == \"model '"'"'nope'"'"' not found\"" &&
	post /api/chat "{\"model\":\"\",\"messages\":[]}" -o e -w "%{http_code}\n" >code &&
	echo 400 >expect && test_cmp expect code && jqe e ".error == \"model is required\"" &&
	post /api/embed "{\"model\":\"nope\",\"input\":\"x\"}" -o e -w "%{http_code}\n" >code &&
	echo 404 >expect && test_cmp expect code &&
	jqe e ".error == \"model \\\"nope\\\" not found, try pulling it first\"" &&
	post /api/generate "{\"model\":\"nomic-embed-text\",\"prompt\":\"x\"}" -o e -w "%{http_code}\n" >code &&
	echo 400 >expect && test_cmp expect code && jqe e ".error == \"\\\"nomic-embed-text\\\" does not support generate\""
'

test_expect_success 'model names are normalised and matched without case' '
	post /api/generate "{\"model\":\"LLAMA3.2:Latest\",\"prompt\":\"x\",\"stream\":false}" >n &&
	jqe n ".model == \"LLAMA3.2:Latest\" and .done" &&
	post /api/generate "{\"model\":\"registry.ollama.ai/library/llama3.2\",\"prompt\":\"x\",\"stream\":false}" >n &&
	jqe n ".done"
'

test_expect_success 'embed returns normalised vectors; empty input preloads' '
	post /api/embed "{\"model\":\"nomic-embed-text\",\"input\":[\"a\",\"bb\"]}" >e &&
	jqe e ".model == \"nomic-embed-text\" and (.embeddings | length) == 2 and (.embeddings[0] | length) == 768" &&
	jqe e "((.embeddings[0] | map(. * .) | add) - 1 | fabs) < 0.001" &&
	jqe e ".total_duration > 0 and .prompt_eval_count > 0" &&
	post /api/embed "{\"model\":\"nomic-embed-text\"}" >e && jqe e ".embeddings == []" &&
	post /api/embed "{\"model\":\"nomic-embed-text\",\"input\":[1]}" -o e -w "%{http_code}\n" >code &&
	echo 400 >expect && test_cmp expect code && jqe e ".error == \"invalid input type\""
'

test_expect_success 'keep_alive: a unit-less string is rejected, "0" and numbers are accepted' '
	post /api/generate "{\"model\":\"llama3.2\",\"keep_alive\":\"3600\"}" -o e -w "%{http_code}\n" >code &&
	echo 400 >expect && test_cmp expect code && jqe e ".error | contains(\"missing unit in duration\")" &&
	post /api/generate "{\"model\":\"llama3.2\",\"keep_alive\":\"10m\"}" >p && jqe p ".done_reason == \"load\"" &&
	post /api/generate "{\"model\":\"llama3.2\",\"keep_alive\":600}" >p && jqe p ".done_reason == \"load\""
'

test_expect_success 'keep_alive -1 pins the model until year 2318+ and sticks' '
	post /api/generate "{\"model\":\"llama3.2\",\"keep_alive\":-1}" >p &&
	post /api/generate "{\"model\":\"llama3.2\",\"prompt\":\"x\",\"stream\":false}" >n &&
	get /api/ps >ps && jqe ps ".models[0].expires_at | test(\"^23[0-9][0-9]-\")" &&
	post /api/generate "{\"model\":\"llama3.2\",\"keep_alive\":\"5m\"}" >p &&
	get /api/ps >ps && jqe ps ".models[0].expires_at | test(\"^20[0-9][0-9]-\")"
'

test_expect_success 'unload with keep_alive 0 answers at once, the model then leaves /api/ps' '
	post /api/generate "{\"model\":\"llama3.2\",\"keep_alive\":0}" >u &&
	jqe u ".done_reason == \"unload\" and .done" &&
	n=0; while [ $n -lt 50 ]; do get /api/ps >ps; jq -e "[.models[].name] | index(\"llama3.2:latest\") | not" ps >/dev/null && break; sleep 0.1; n=$((n+1)); done &&
	jqe ps "[.models[].name] | index(\"llama3.2:latest\") | not" &&
	post /api/chat "{\"model\":\"qwen2.5:0.5b\",\"messages\":[],\"keep_alive\":0}" >u &&
	jqe u ".done_reason == \"unload\" and .message.role == \"assistant\"" &&
	post /api/generate "{\"model\":\"nope\",\"keep_alive\":0}" -o /dev/null -w "%{http_code}\n" >code &&
	echo 404 >expect && test_cmp expect code
'

test_expect_success 'pull streams manifest, layer progress, verify, write, success' '
	post /api/pull "{\"model\":\"gemma3:1b\"}" -D h -o pl &&
	grep_q "application/x-ndjson" h &&
	head -n 1 pl >f && jqe f ".status == \"pulling manifest\"" &&
	grep "\"pulling [0-9a-f]\{12\}\"" pl | jq -e -s "length >= 5 and all(.[]; (.digest | startswith(\"sha256:\")) and .total > 0)" >/dev/null &&
	grep "\"completed\"" pl | jq -e -s "length >= 5" >/dev/null &&
	tail -n 3 pl | jq -r .status >st &&
	printf "verifying sha256 digest\nwriting manifest\nsuccess\n" >expect && test_cmp expect st &&
	get /api/tags >t && jqe t "[.models[].name] | index(\"gemma3:1b\")" &&
	jqe t ".models[0].name == \"gemma3:1b\""
'

test_expect_success 'pull of an unknown model: 200 then an error line' '
	post /api/pull "{\"model\":\"no-such-model\"}" -o pl -w "%{http_code}\n" >code &&
	echo 200 >expect && test_cmp expect code &&
	head -n 1 pl >f && jqe f ".status == \"pulling manifest\"" &&
	tail -n 1 pl >f && jqe f ".error == \"pull model manifest: file does not exist\"" &&
	post /api/pull "{\"model\":\"gemma3:1b\",\"stream\":false}" -D h -o pl && jqe pl ".status == \"success\""
'

test_expect_success 'copy and delete answer 200 with an empty body, 404 otherwise' '
	post /api/copy "{\"source\":\"gemma3:1b\",\"destination\":\"mine\"}" -D h -o b &&
	grep_q "^HTTP/1.1 200" h && test ! -s b &&
	get /api/tags >t && jqe t "[.models[].name] | index(\"mine:latest\")" &&
	curl -sS -X DELETE -d "{\"model\":\"mine\"}" -D h -o b "$U/api/delete" &&
	grep_q "^HTTP/1.1 200" h && test ! -s b &&
	curl -sS -X DELETE -d "{\"model\":\"mine\"}" -o b -w "%{http_code}\n" "$U/api/delete" >code &&
	echo 404 >expect && test_cmp expect code && jqe b ".error == \"model '"'"'mine'"'"' not found\"" &&
	post /api/copy "{\"source\":\"nope\",\"destination\":\"x\"}" -o b -w "%{http_code}\n" >code &&
	test_cmp expect code && jqe b ".error == \"model \\\"nope\\\" not found\""
'

test_expect_success '/v1/chat/completions streams SSE with usage and [DONE]' '
	post /v1/chat/completions "{\"model\":\"llama3.2\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" -D h -o sse &&
	grep_q "Content-Type: text/event-stream" h &&
	tail -n 2 sse >last && printf "data: [DONE]\n\n" >expect && test_cmp expect last &&
	grep "^data: {" sse | sed "s/^data: //" >ch &&
	test $(wc -l <ch) = 8 &&
	head -n 1 ch | jq -e ".object == \"chat.completion.chunk\" and .choices[0].delta.role == \"assistant\" and (.id | startswith(\"chatcmpl-\"))" >/dev/null &&
	sed -n 2p ch | jq -e ".choices[0].delta | has(\"role\") | not" >/dev/null &&
	sed -n 7p ch | jq -e ".choices[0].delta == {} and .choices[0].finish_reason == \"stop\"" >/dev/null &&
	sed -n 8p ch | jq -e ".choices == [] and .usage.completion_tokens == 6 and .usage.total_tokens == .usage.prompt_tokens + 6" >/dev/null &&
	jq -s -e "map(.created) | unique | length == 1" ch >/dev/null
'

test_expect_success '/v1/chat/completions without include_usage carries no usage' '
	post /v1/chat/completions "{\"model\":\"llama3.2\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" >sse &&
	not_grep "usage" sse && grep_q "data: \[DONE\]" sse
'

test_expect_success '/v1 non-stream answer, errors and max_tokens' '
	post /v1/chat/completions "{\"model\":\"llama3.2\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" >o &&
	jqe o ".object == \"chat.completion\" and .choices[0].finish_reason == \"length\" and .usage.completion_tokens == 2 and .system_fingerprint == \"fp_ollama\"" &&
	post /v1/chat/completions "{\"model\":\"llama3.2\",\"messages\":[]}" -o o -w "%{http_code}\n" >code &&
	echo 400 >expect && test_cmp expect code &&
	jqe o ".error.type == \"invalid_request_error\" and .error.param == null and .error.code == null" &&
	post /v1/chat/completions "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}" -o o -w "%{http_code}\n" >code &&
	echo 404 >expect && test_cmp expect code && jqe o ".error.type == \"not_found_error\""
'

test_expect_success '/v1/models lists the installed models' '
	get /v1/models >m && jqe m ".object == \"list\" and (.data | length) >= 3 and all(.data[]; .object == \"model\" and .owned_by == \"library\" and (.created|type) == \"number\")" &&
	get /v1/models/llama3.2:latest >m && jqe m ".id == \"llama3.2:latest\""
'

test_expect_success 'loopback Host guard (403), raw mode and top_logprobs checks' '
	curl -sS -H "Host: evil.example.com" -o b -w "%{http_code}\n" "$U/api/tags" >code &&
	echo 403 >expect && test_cmp expect code && test ! -s b &&
	curl -sS -H "Host: box.internal:11434" "$U/" >b && grep_q "Ollama is running" b &&
	post /api/generate "{\"model\":\"llama3.2\",\"raw\":true,\"system\":\"s\",\"prompt\":\"p\"}" -o e -w "%{http_code}\n" >code &&
	echo 400 >expect && test_cmp expect code &&
	jqe e ".error == \"raw mode does not support template, system, or context\"" &&
	post /api/generate "{\"model\":\"llama3.2\",\"raw\":true,\"prompt\":\"p\",\"stream\":false}" >n &&
	jqe n ".done and (has(\"context\") | not)" &&
	post /api/chat "{\"model\":\"llama3.2\",\"top_logprobs\":21,\"messages\":[]}" -o e -w "%{http_code}\n" >code &&
	test_cmp expect code
'

test_expect_success 'persistent connections: two requests over one connection' '
	curl -sS -v "$U/" "$U/api/version" >b 2>err && grep_q "Re-using existing connection" err
'

test_expect_success '/_sim/stats counts requests per path' '
	get /_sim/stats >st &&
	jqe st ".instance == \"gpu-1\" and (.instances | length) == 2" &&
	jqe st ".instances[0].requests[\"/api/generate\"] >= 10 and .instances[0].in_flight == 0" &&
	jqe st ".instances[0].status[\"200\"] > 10 and .instances[0].loads >= 1"
'

test_expect_success 'SIGTERM stops the sim with exit code 0' '
	for off in 7 8 9 10 11 12; do
		p=$((SIM_PORT + off))
		rm -f f2.conf
		"$OBRIDGE" sim --port $p --fleet-out f2.conf >log2 2>&1 &
		pid=$!
		n=0
		while [ ! -s f2.conf ] && [ $n -lt 100 ] && kill -0 $pid 2>/dev/null; do
			sleep 0.05; n=$((n + 1))
		done
		[ -s f2.conf ] && break
		wait $pid
	done
	curl -sS "http://127.0.0.1:$p/" >/dev/null && kill -TERM $pid && wait $pid
'

test_expect_success 'a cold embed with keep_alive 0 answers, then unloads' '
	curl -s -m 5 -d "{\"model\":\"nomic-embed-text\",\"keep_alive\":0}" "$SIM_URL/api/embed" >e.json &&
	jq -e ".embeddings == []" e.json &&
	sleep 0.3 &&
	curl -s "$SIM_URL/api/ps" | jq -e "[.models[].name] | index(\"nomic-embed-text:latest\") == null"
'

test_done
