#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# obridge sim against the official OpenAI JavaScript client (npm openai, pinned in
# tests/clients): models, chat completions, tools, JSON output, completions, embeddings, faults.
. "$(dirname "$0")/lib.sh"
. "$OBRIDGE_SRC/tests/clients/setup.sh"

sim_start -n 2 --models llama3.2,nomic-embed-text --load-time 50ms --tokens 12 \
	--tok-interval 2ms --ttft 2ms || exit 1

test_expect_success 'models list and retrieve' 'client openai-models'
test_expect_success 'chat completions, stream with include_usage; errors' 'client openai-chat'
test_expect_success 'chat completions with tools: tool_calls, finish_reason tool_calls' 'client openai-tools'
test_expect_success 'response_format json_object and json_schema' 'client openai-json'
test_expect_success 'completions, stream and not' 'client openai-completions'
test_expect_success 'embeddings, float and base64 (the default)' 'client openai-embeddings'
test_expect_success 'every fault kind, with the exception the client raises' 'client openai-faults'

test_done
