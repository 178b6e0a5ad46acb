#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# obridge sim against the official Ollama JavaScript client (npm ollama, pinned in
# tests/clients): every call it exposes, with what it returns (tests/clients/run.mjs).
. "$(dirname "$0")/lib.sh"
. "$OBRIDGE_SRC/tests/clients/setup.sh"

sim_start --models llama3.2,qwen2.5:0.5b,nomic-embed-text,gemma3:1b --load-time 50ms \
	--tokens 12 --tok-interval 2ms --ttft 2ms --pull-time 200ms --unload-time 20ms || exit 1

test_expect_success 'version' 'client ollama-version'
test_expect_success 'list' 'client ollama-list'
test_expect_success 'show: details, model_info, capabilities with tools' 'client ollama-show'
test_expect_success 'generate, stream and not' 'client ollama-generate'
test_expect_success 'chat, stream and not' 'client ollama-chat'
test_expect_success 'ps after a generate' 'client ollama-ps'
test_expect_success 'format "json": the answer parses as JSON (generate, chat stream)' 'client ollama-format-json'
test_expect_success 'format with a JSON schema: required properties and types' 'client ollama-format-schema'
test_expect_success 'tools: a tool call with arguments from its schema; text after the tool answer' 'client ollama-tools'
test_expect_success 'images as base64 and as bytes; invalid base64 is a 400' 'client ollama-images'
test_expect_success 'embed and the legacy embeddings' 'client ollama-embed'
test_expect_success 'pull, stream and not; an invalid name' 'client ollama-pull'
test_expect_success 'create from an installed model: listed, shown, loadable' 'client ollama-create'
test_expect_success 'copy; delete of a loaded model unloads it' 'client ollama-copy-delete'
test_expect_success 'push, stream and not; a missing model; the error fault' 'client ollama-push'
test_expect_success 'abort mid-stream releases the slot' 'client ollama-abort'

test_done
