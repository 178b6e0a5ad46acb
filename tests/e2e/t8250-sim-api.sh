#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# obridge sim, without the client libraries (curl): format, tools, base64 embeddings, images,
# create, push, delete of a loaded model, and --max-queue with a load in progress.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || { test_skip "jq is not installed"; test_done; }

post() { _p=$1; _b=$2; shift 2; curl -sS "$@" -d "$_b" "$U$_p"; }
jqe() { _f=$1; shift; jq -e "$@" "$_f" >/dev/null || { echo "jq -e $* failed on:"; head -c 3000 "$_f"; echo; return 1; }; }

sim_start --load-time 50ms --tokens 8 --tok-interval 2ms --ttft 2ms --pull-time 200ms \
	--unload-time 20ms --models llama3.2,gemma3:1b,nomic-embed-text || exit 1
U=$SIM_URL
user='"messages":[{"role":"user","content":"Weather?"}]'
tool='"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":3}},"required":["city"]}}}]'

test_expect_success 'format json and a schema: the answer parses and follows it' '
	post /api/generate "{\"model\":\"llama3.2\",\"prompt\":\"x\",\"stream\":false,\"format\":\"json\"}" >g &&
	jq -r .response g | jq -e "type == \"object\"" >/dev/null &&
	post /api/chat "{\"model\":\"llama3.2\",$user,\"format\":{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"},\"s\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},\"required\":[\"n\",\"s\"]}}" >c &&
	jq -j "select(.done == false) | .message.content" c >text && cat text && echo &&
	jq -e "(.n | type) == \"number\" and (.s | type) == \"array\"" text >/dev/null &&
	test "$(grep -c "\"done\":false" c)" -gt 3 &&
	post /api/generate "{\"model\":\"llama3.2\",\"prompt\":\"x\",\"format\":\"xml\"}" -o e -w "%{http_code}\n" >code &&
	echo 500 >expect && test_cmp expect code && jqe e ".error | startswith(\"invalid format:\")"
'

test_expect_success 'tools: a call of the first tool with arguments from its schema' '
	post /api/chat "{\"model\":\"llama3.2\",\"stream\":false,$user,$tool}" >c &&
	jqe c ".message.content == \"\" and .message.tool_calls[0].function.name == \"get_weather\"" &&
	jqe c ".message.tool_calls[0].function.arguments | (.city | type) == \"string\" and .days >= 1 and .days <= 3" &&
	jqe c ".message.tool_calls[0].id | startswith(\"call_\")" &&
	post /v1/chat/completions "{\"model\":\"llama3.2\",$user,$tool}" >v &&
	jqe v ".choices[0].finish_reason == \"tool_calls\" and (.choices[0].message.tool_calls[0].function.arguments | fromjson | .city | type) == \"string\"" &&
	post /api/chat "{\"model\":\"llama3.2\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"tool\",\"content\":\"21C\"}],$tool}" >t &&
	jqe t "(.message | has(\"tool_calls\") | not) and (.message.content | length) > 0" &&
	post /api/chat "{\"model\":\"gemma3:1b\",$user,$tool}" -o e -w "%{http_code}\n" >code &&
	echo 400 >expect && test_cmp expect code &&
	jqe e ".error == \"registry.ollama.ai/library/gemma3:1b does not support tools\"" &&
	post /api/show "{\"model\":\"llama3.2\"}" >s && jqe s ".capabilities | index(\"tools\")"
'

test_expect_success '/v1/embeddings base64: 768 little-endian float32 values' '
	post /v1/embeddings "{\"model\":\"nomic-embed-text\",\"input\":\"a\",\"encoding_format\":\"base64\"}" >b &&
	jq -r ".data[0].embedding" b | base64 -d | wc -c >n && echo 3072 >expect && test_cmp expect n
'

test_expect_success 'images must be base64' '
	post /api/generate "{\"model\":\"llama3.2\",\"prompt\":\"x\",\"stream\":false,\"images\":[\"aGk=\"]}" >g && jqe g .done &&
	post /api/generate "{\"model\":\"llama3.2\",\"prompt\":\"x\",\"images\":[\"no way\"]}" -o e -w "%{http_code}\n" >code &&
	echo 400 >expect && test_cmp expect code && jqe e ".error == \"illegal base64 data at input byte 2\""
'

test_expect_success 'create from an installed model: status lines, then listed, shown, loadable' '
	post /api/create "{\"model\":\"pirate\",\"from\":\"llama3.2\",\"system\":\"Arr.\"}" >cr &&
	jq -r .status cr | sed "s/sha256:[0-9a-f]\{64\}/sha256:X/" >st &&
	printf "%s\n" "using existing layer sha256:X" "using existing layer sha256:X" \
		"using existing layer sha256:X" "using existing layer sha256:X" \
		"using existing layer sha256:X" "creating new layer sha256:X" \
		"writing manifest" success >expect && test_cmp expect st &&
	curl -sS "$U/api/tags" >tags && jqe tags "[.models[].name] | index(\"pirate:latest\")" &&
	post /api/show "{\"model\":\"pirate\"}" >s && jqe s ".system == \"Arr.\"" &&
	post /api/generate "{\"model\":\"pirate\",\"prompt\":\"x\",\"stream\":false}" >g && jqe g .done &&
	post /api/create "{\"model\":\"x\",\"from\":\"nope\",\"stream\":false}" -o e -w "%{http_code}\n" >code &&
	echo 500 >expect && test_cmp expect code &&
	jqe e ".error == \"pull model manifest: file does not exist\"" &&
	post /api/create "{\"model\":\"x\"}" -o e -w "%{http_code}\n" >code &&
	echo 400 >expect && test_cmp expect code
'

test_expect_success 'push: progress lines and success; a missing model; the error fault' '
	post /api/push "{\"model\":\"pirate\"}" >p &&
	jq -r .status p | sed "s/^pushing [0-9a-f]\{12\}$/pushing L/" | uniq >st &&
	printf "%s\n" "retrieving manifest" "pushing L" "pushing manifest" success >expect && test_cmp expect st &&
	test "$(jq -r "select(.total and .completed == .total) | .digest" p | sort -u | wc -l)" = 7 &&
	post /api/push "{\"model\":\"pirate\",\"stream\":false}" >p1 && jqe p1 ".status == \"success\"" &&
	post /api/push "{\"model\":\"me/nope\"}" >p2 &&
	jqe p2 -s ".[-1].error == \"open /usr/share/ollama/.ollama/models/manifests/registry.ollama.ai/me/nope/latest: no such file or directory\"" &&
	curl -sS -d "{\"fault\":\"error\"}" "$U/_sim/fault" >/dev/null &&
	post /api/push "{\"model\":\"pirate\"}" >p3 &&
	curl -sS -d "{\"fault\":\"none\"}" "$U/_sim/fault" >/dev/null &&
	jqe p3 -s ".[-1].error | startswith(\"max retries exceeded\")"
'

test_expect_success 'delete of a loaded model unloads it' '
	post /api/generate "{\"model\":\"pirate\",\"keep_alive\":-1}" >/dev/null &&
	curl -sS "$U/api/ps" >ps && jqe ps "[.models[].name] | index(\"pirate:latest\")" &&
	curl -sS -X DELETE -d "{\"model\":\"pirate\"}" "$U/api/delete" -o /dev/null -w "%{http_code}\n" >code &&
	echo 200 >expect && test_cmp expect code &&
	n=0; while [ $n -lt 100 ]; do
		curl -sS "$U/api/ps" >ps; jq -e "[.models[].name] | index(\"pirate:latest\") | not" ps >/dev/null && break
		sleep 0.05; n=$((n + 1))
	done; jqe ps "[.models[].name] | index(\"pirate:latest\") | not"
'

test_expect_success 'max-queue 1: a cold request behind a load in progress is queued, the next two get 503' '
	sim_stop && sim_start --max-queue 1 --load-time 500ms --tokens 2 --tok-interval 1ms \
		--models llama3.2,qwen2.5:0.5b && U=$SIM_URL &&
	{ post /api/generate "{\"model\":\"llama3.2\",\"prompt\":\"x\",\"stream\":false}" -o /dev/null & } &&
	sleep 0.15 && pids="" &&
	for i in 1 2 3; do
		post /api/generate "{\"model\":\"qwen2.5:0.5b\",\"prompt\":\"x\",\"stream\":false}" -o q$i -w "%{http_code}\n" >c$i &
		pids="$pids $!"; sleep 0.05
	done && wait $pids && cat c1 c2 c3 >codes &&
	printf "200\n503\n503\n" >expect && test_cmp expect codes
'

test_done
