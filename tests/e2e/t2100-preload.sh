#!/bin/sh
# preload, unload and warmup against obridge sim: residency proven by /api/ps.
. "$(dirname "$0")/lib.sh"

sim_start -n 2 --load-time 200ms --tok-interval 2ms --ttft 5ms \
	--models llama3.2:latest,qwen2.5:0.5b,nomic-embed-text:latest \
	--instance gpu-2:models=llama3.2:latest,nomic-embed-text:latest || exit 1
u1=$SIM_URL
u2="http://127.0.0.1:$((SIM_PORT + 1))"
cat >fleet.conf <<CONF
[fleet]
name = t
$(sed -n '/^\[instance/,/^$/p' "$SIM_FLEET")
[model llama3.2]
keep_alive = 24h
num_ctx = 8192

[model nomic-embed-text]
keep_alive = -1
CONF

test_expect_success 'preload loads every fleet model with the fleet keep_alive and num_ctx' '
	"$OBRIDGE" -f fleet.conf preload >out &&
	grep -E "^gpu-1 +llama3.2:latest +resident +[0-9.]+(ms|s) +3.6 GB +100% GPU +8192 +24 hours from now" out &&
	grep -E "^gpu-2 +nomic-embed-text:latest +resident .* +Forever$" out &&
	grep_q "^4/4 resident" out &&
	curl -s "$u1/api/ps" >ps.json &&
	jq -e "[.models[] | select(.name == \"llama3.2:latest\")][0].context_length == 8192" ps.json &&
	jq -r "[.models[] | select(.name == \"nomic-embed-text:latest\")][0].expires_at" ps.json | grep -q "^23"
'


test_expect_success 'a second preload changes nothing (no reload: same options)' '
	curl -s "$u1/_sim/stats" >s1.json &&
	"$OBRIDGE" -f fleet.conf preload -q >/dev/null &&
	curl -s "$u1/_sim/stats" >s2.json &&
	test "$(jq "[.instances[0].loads]" s1.json)" = "$(jq "[.instances[0].loads]" s2.json)"
'

test_expect_success 'preload --keep-alive overrides the fleet value; --json' '
	"$OBRIDGE" -f fleet.conf preload llama3.2 --keep-alive 10m --json >out.json &&
	jq -e "length == 2 and all(.[]; .resident and .ok and (.expires_at | test(\"^20\")))" out.json
'

test_expect_success 'a model missing on one instance is reported there, the rest goes on' '
	expect_code 1 "$OBRIDGE" -f fleet.conf preload qwen2.5:0.5b >out &&
	grep -E "^gpu-1 +qwen2.5:0.5b +resident" out &&
	grep -E "^gpu-2 +qwen2.5:0.5b +failed" out &&
	grep_q "model .qwen2.5:0.5b. not found" out
'

test_expect_success 'a down instance fails preload there (exit 1 when partial)' '
	curl -s -d "{\"instance\":\"gpu-2\",\"fault\":\"down\"}" "$u1/_sim/fault" >/dev/null &&
	expect_code 1 "$OBRIDGE" -f fleet.conf preload llama3.2 >out;
	rc=$?; curl -s -d "{\"instance\":\"gpu-2\",\"fault\":\"up\"}" "$u1/_sim/fault" >/dev/null;
	test $rc = 0 && grep -E "^gpu-2 +llama3.2:latest +failed" out && grep_q "connection refused" out
'

test_expect_success 'a model that fails to load (500) is not resident, exit 2 when none is' '
	curl -s -d "{\"instance\":\"*\",\"fault\":\"500\"}" "$u1/_sim/fault" >/dev/null &&
	"$OBRIDGE" -f fleet.conf unload qwen2.5:0.5b >/dev/null;
	expect_code 2 "$OBRIDGE" -f fleet.conf preload qwen2.5:0.5b >out;
	rc=$?; curl -s -d "{\"instance\":\"*\",\"fault\":\"none\"}" "$u1/_sim/fault" >/dev/null;
	test $rc = 0 && grep_q "HTTP 500" out
'

test_expect_success 'unload removes a model and confirms with /api/ps' '
	"$OBRIDGE" -f fleet.conf preload llama3.2 -q >/dev/null &&
	"$OBRIDGE" -f fleet.conf unload llama3.2 >out &&
	grep -E "^gpu-1 +llama3.2:latest +unloaded" out &&
	curl -s "$u1/api/ps" | jq -e "[.models[].name] | index(\"llama3.2:latest\") == null"
'

test_expect_success 'unload with -H and no fleet models unloads whatever is loaded' '
	"$OBRIDGE" -f fleet.conf preload -q >/dev/null &&
	"$OBRIDGE" -H "$u2" unload --json >out.json &&
	jq -e "length == 2 and all(.[]; .resident | not)" out.json &&
	curl -s "$u2/api/ps" | jq -e ".models | length == 0"
'

test_expect_success 'warmup after a restart: a cold load once, warm requests after' '
	"$OBRIDGE" -f fleet.conf unload >/dev/null &&
	"$OBRIDGE" -f fleet.conf warmup -m llama3.2 -n 3 --json >w1.json &&
	jq -e ".warm == 2 and all(.steps[]; .cold and .ok and .load_s >= 0.15)" w1.json &&
	jq -e "all(.results[]; .warm.requests == 3 and .warm.ok == 3 and .warm.ttft_p50_s > 0 and .warm.ttft_p50_s < .warm.total_p50_s)" w1.json &&
	"$OBRIDGE" -f fleet.conf warmup -m llama3.2 -n 2 >w2 &&
	grep -E "^gpu-1 +llama3.2:latest +[0-9.]+(µs|ms) \(hot\) .* already resident" w2 &&
	"$OBRIDGE" history --kind warmup --json | jq -e "length == 2 and .[0].status == \"ok\""
'

test_expect_success 'warmup flags an instance whose warm latency is an outlier' '
	curl -s -d "{\"instance\":\"gpu-2\",\"fault\":\"slow\"}" "$u1/_sim/fault" >/dev/null &&
	expect_code 1 "$OBRIDGE" -f fleet.conf warmup -m llama3.2 -n 3 >out;
	rc=$?; curl -s -d "{\"instance\":\"gpu-2\",\"fault\":\"none\"}" "$u1/_sim/fault" >/dev/null;
	test $rc = 0 && grep -E "^gpu-2 .*outlier" out && ! grep -E "^gpu-1 .*outlier" out
'

test_expect_success 'warmup skips the generate requests for an embedding model' '
	"$OBRIDGE" -f fleet.conf warmup -m nomic-embed-text >out &&
	grep -E "^gpu-1 +nomic-embed-text:latest .*embedding model: loaded only" out
'

test_expect_success 'health level 3 probes an embedding model through /api/embed' '
	"$OBRIDGE" -f fleet.conf preload -q >/dev/null;
	"$OBRIDGE" -f fleet.conf health --level 3 --format nagios >out;
	grep_q "embed nomic-embed-text:latest [0-9.]*[mµ]*s" out && not_grep "does not support" out
'

test_expect_failure_code 3 'preload with no models anywhere is a usage error' '
	"$OBRIDGE" -H "$u1" preload 2>err; rc=$?; grep_q "no models to act on" err; exit $rc
'

test_done
