#!/bin/sh
# Absurd numbers from a server (a zero or far-past expires_at, 1e308 sizes, counts and
# durations) are clamped: no undefined behaviour (the SAN=1 build aborts on it), no
# negative or wrapped figures shown.
. "$(dirname "$0")/lib.sh"

nginx_start absurd <<'NGX' || exit 1
		location = / { return 200 'Ollama is running'; }
		location = /api/version { return 200 '{"version":"0.33.0"}'; }
		location = /api/tags { return 200 '{"models":[{"name":"m:latest","model":"m:latest","size":1e308,"digest":"abc","details":{"parameter_size":"1e300B"}}]}'; }
		location = /api/ps { return 200 '{"models":[{"name":"m:latest","model":"m:latest","size":1e308,"size_vram":1e308,"digest":"abc","expires_at":"0001-01-01T00:00:00Z","context_length":1e300},{"name":"old:latest","model":"old:latest","size":5,"size_vram":5,"digest":"d","expires_at":"1677-09-22T00:12:44Z","context_length":-5}]}'; }
		location = /api/show { return 200 '{"model_info":{"general.architecture":"llama","llama.context_length":1e300,"llama.embedding_length":-1e300},"details":{}}'; }
		location = /api/generate { return 200 '{"model":"m","response":"x","done":false}\n{"model":"m","response":"","done":true,"done_reason":"stop","total_duration":1e308,"load_duration":-1e308,"prompt_eval_count":1e300,"prompt_eval_duration":1e308,"eval_count":1e308,"eval_duration":1e-300}\n'; }
NGX
U=$NGX_URL

test_expect_success 'top --once: a zero or far-past expires_at and huge sizes' '
	"$OBRIDGE" -H "$U" top --once >out 2>err; rc=$?
	cat out err; test $rc -lt 3 && not_grep "runtime error" err &&
	not_grep -- "-[0-9]" out
'
test_expect_success 'ps: huge and negative sizes and contexts are clamped' '
	"$OBRIDGE" -H "$U" ps >ps.txt 2>err; rc=$?
	cat ps.txt err; test $rc -lt 3 && not_grep "runtime error" err &&
	"$OBRIDGE" -H "$U" ps --json >ps.json 2>err; rc=$?
	cat ps.json err; test $rc -lt 3 && not_grep "runtime error" err &&
	jq -e "[.. | numbers | select(. < 0)] | length == 0" ps.json &&
	jq -e "[.instances[0].models[].context_length] == [2147483647, 0]" ps.json
'
test_expect_success 'bench: 1e308 counts and durations in the final chunk' '
	"$OBRIDGE" -H "$U" bench -m m -n 2 -c 1 --warmup 0 --json >b.json 2>err; rc=$?
	cat err; test $rc -lt 3 && not_grep "runtime error" err &&
	jq -e "[.. | numbers | select(. < 0)] | length == 0" b.json
'
test_expect_success 'warmup and health level 3 with absurd numbers' '
	"$OBRIDGE" -H "$U" warmup -m m >w.out 2>err; rc=$?
	cat w.out err; test $rc -lt 3 && not_grep "runtime error" err &&
	"$OBRIDGE" -H "$U" health --level 3 -m m --format json >h.json 2>err; rc=$?
	cat err; test $rc -lt 3 && not_grep "runtime error" err
'

test_done
