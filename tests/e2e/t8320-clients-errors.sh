#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# obridge sim's errors and faults as the official Ollama and OpenAI JavaScript clients see them:
# the exception type and message of each (tests/clients/run.mjs).
. "$(dirname "$0")/lib.sh"
. "$OBRIDGE_SRC/tests/clients/setup.sh"

sim_start -n 2 --models llama3.2,qwen2.5:0.5b,nomic-embed-text --load-time 50ms --tokens 12 \
	--tok-interval 5ms --ttft 2ms || exit 1

test_expect_success 'unknown model 404, generate on an embedding model 400' 'client ollama-errors'
test_expect_success 'every fault kind, with the exception the client raises' 'client ollama-faults'

sim_stop
sim_start --max-queue 1 --load-time 600ms --tokens 4 --tok-interval 2ms \
	--models llama3.2,qwen2.5:0.5b,llama3.2:1b,tinyllama,gemma3:1b || exit 1

test_expect_success 'busy: with --max-queue 1, the request being loaded has left the queue' 'client busy-503'

test_done
