#!/bin/sh
# deploy against obridge sim: plan, apply in a pipe, verify, history; drift; shared
# store; prune; --only; unreachable instances; refusal without a terminal; lint.
. "$(dirname "$0")/lib.sh"

sim_start -n 2 --pull-time 1s --load-time 50ms --models llama3.2:latest,all-minilm:latest || exit 1
u1=$SIM_URL
u2="http://127.0.0.1:$((SIM_PORT + 1))"
instances() {
	echo "[instance gpu-1]"; echo "url = $u1"; echo "group = a"
	echo "[instance gpu-2]"; echo "url = $u2"; echo "group = b"
}
{
	echo "[fleet]"; echo "name = t30"
	instances
	echo "[model llama3.2]"
	echo "[model qwen2.5:0.5b]"; echo "keep_alive = 24h"; echo "num_ctx = 8192"
} >fleet.conf

test_expect_success 'plan on a fresh fleet: a pull and preloads per instance, exit 1' '
	expect_code 1 "$OBRIDGE" -f fleet.conf deploy --plan >out &&
	grep -E "^gpu-1 +http://127.0.0.1:[0-9]+ +ollama 0.33.0$" out &&
	grep -E "^  pull +qwen2.5:0.5b +size unknown$" out &&
	grep -E "^  preload +qwen2.5:0.5b +keep_alive 24h00m, num_ctx 8192$" out &&
	grep -E "^  preload +llama3.2:latest +server defaults$" out &&
	grep_q "^plan: 2 to pull, 0 to update, 0 shared, 4 to preload, 0 to remove, 0 unreachable$" out &&
	not_grep "^  remove" out &&
	curl -s "$u1/api/tags" | jq -e "[.models[].name] | index(\"qwen2.5:0.5b\") == null"
'

test_expect_success 'plan --json counts each kind' '
	expect_code 1 "$OBRIDGE" -f fleet.conf deploy --plan --json >plan.json &&
	jq -e ".counts == {\"pull\":2,\"update\":0,\"shared\":0,\"preload\":4,\"remove\":0,\"unreachable\":0}" plan.json &&
	jq -e ".applied == false and (.actions | length) == 6 and (.fleet | length) == 2" plan.json
'

test_expect_success 'without a terminal and without --yes nothing changes (exit 3)' '
	expect_code 3 "$OBRIDGE" -f fleet.conf deploy </dev/null >out 2>err &&
	grep_q "not applying without a terminal" err &&
	curl -s "$u2/api/tags" | jq -e "[.models[].name] | index(\"qwen2.5:0.5b\") == null" &&
	test "$("$OBRIDGE" history --json | jq length)" = 0
'

test_expect_success 'apply in a pipe: one line per finished step, verify, exit 0' '
	"$OBRIDGE" -f fleet.conf deploy --yes </dev/null >out 2>err &&
	grep -E "^gpu-1 pull qwen2.5:0.5b: ok in [0-9.]+m?s, 398 MB$" out &&
	grep -E "^gpu-2 pull qwen2.5:0.5b: ok in " out &&
	grep -E "^gpu-2 preload qwen2.5:0.5b: ok in " out &&
	grep_q "^verify gpu-1: ok$" out && grep_q "^verify gpu-2: ok$" out &&
	grep_q "^deploy: 2/2 instances match the fleet file, 0 of 6 actions failed$" out &&
	not_grep "$(printf "\033")" out && test ! -s err
'

test_expect_success 'both instances list the model with one digest, resident with the fleet options' '
	curl -s "$u1/api/tags" | jq -r ".models[] | select(.name == \"qwen2.5:0.5b\") | .digest" >d1 &&
	curl -s "$u2/api/tags" | jq -r ".models[] | select(.name == \"qwen2.5:0.5b\") | .digest" >d2 &&
	test -s d1 && test_cmp d1 d2 &&
	for u in $u1 $u2; do
		curl -s "$u/api/ps" | jq -e "[.models[] | select(.name == \"qwen2.5:0.5b\")][0].context_length == 8192" || return 1
	done
'

test_expect_success 'the second plan finds nothing to do (exit 0)' '
	"$OBRIDGE" -f fleet.conf deploy --plan >out &&
	grep -E "^gpu-1 .* up to date$" out && grep -E "^gpu-2 .* up to date$" out &&
	grep_q "^plan: 0 to pull, 0 to update, 0 shared, 0 to preload, 0 to remove, 0 unreachable$" out
'

test_expect_success 'the run is in history --json, show and export' '
	"$OBRIDGE" history --json >h.json &&
	jq -e "length == 1 and .[0].kind == \"deploy\" and .[0].status == \"ok\" and .[0].target == \"t30\"" h.json &&
	jq -e ".[0].summary.matched == 2 and .[0].summary.counts.pull == 2 and (.[0].summary.actions | length) == 6" h.json &&
	id=$(jq -r ".[0].id" h.json) &&
	"$OBRIDGE" show "$id" >s &&
	grep -E "^run $id: deploy of t30, .*, ok$" s && grep_q "^gpu-2 pull qwen2.5:0.5b: ok" s &&
	grep_q "^verify gpu-2: ok$" s &&
	"$OBRIDGE" export "$id" --csv >c &&
	head -n 1 c | grep_q "^instance,action,model,state" - &&
	grep_q "^\"gpu-1\",pull,\"qwen2.5:0.5b\",ok,1," c &&
	"$OBRIDGE" export "$id" | jq -e ".kind == \"deploy\" and .deploy.matched == 2" &&
	"$OBRIDGE" history --kind deploy | grep -E "deploy +ok .* t30 +pending=6 matched=2 instances=2 failed=0"
'

test_expect_success 'a model loaded with another num_ctx is planned for a preload' '
	curl -s "$u1/api/generate" -d "{\"model\":\"qwen2.5:0.5b\",\"options\":{\"num_ctx\":2048}}" >/dev/null &&
	expect_code 1 "$OBRIDGE" -f fleet.conf deploy --plan >out &&
	grep -E "^  preload +qwen2.5:0.5b +keep_alive 24h00m, num_ctx 8192  \(loaded with another num_ctx\)$" out &&
	"$OBRIDGE" -f fleet.conf deploy -y -q >/dev/null &&
	"$OBRIDGE" -f fleet.conf deploy --plan >/dev/null
'

test_expect_success 'prune: listed only with --prune, then removed' '
	"$OBRIDGE" -f fleet.conf deploy --plan >out && not_grep "^  remove" out &&
	expect_code 1 "$OBRIDGE" -f fleet.conf deploy --plan --prune >out &&
	grep -E "^  remove +all-minilm:latest .*\(not in the fleet file\)$" out &&
	test "$(grep -c "^  remove" out)" = 2 &&
	"$OBRIDGE" -f fleet.conf deploy --prune --yes >out &&
	grep -E "^gpu-1 remove all-minilm:latest: ok" out &&
	curl -s "$u1/api/tags" | jq -e "[.models[].name] | index(\"all-minilm:latest\") == null" &&
	"$OBRIDGE" -f fleet.conf deploy --plan --prune &&
	expect_code 3 "$OBRIDGE" -H "$u1" deploy --plan --prune 2>err &&
	grep_q "would remove every model" err
'

{
	echo "[fleet]"; echo "name = t30"
	instances
	echo "[model llama3.2]"
	echo "[model qwen2.5:0.5b]"; echo "keep_alive = 24h"; echo "num_ctx = 8192"
	echo "[model gemma3:1b]"
} >fleet2.conf

test_expect_success '--only limits the plan and the apply to an instance or a group' '
	expect_code 1 "$OBRIDGE" -f fleet2.conf deploy --plan --only gpu-1 >out &&
	grep_q "^gpu-1 " out && not_grep "^gpu-2" out &&
	"$OBRIDGE" -f fleet2.conf deploy --only b --yes >out &&
	grep_q "^gpu-2 pull gemma3:1b: ok" out && not_grep "^gpu-1" out &&
	curl -s "$u1/api/tags" | jq -e "[.models[].name] | index(\"gemma3:1b\") == null" &&
	curl -s "$u2/api/tags" | jq -e "[.models[].name] | index(\"gemma3:1b\") != null" &&
	expect_code 3 "$OBRIDGE" -f fleet2.conf deploy --plan --only nosuch 2>err &&
	grep_q "only .nosuch.: no instance, group or fleet model has that name" err
'

test_expect_success 'an unreachable instance: --plan exits 2 and names it' '
	{ cat fleet2.conf; echo "[instance gpu-9]"; echo "url = http://127.0.0.1:1"; } >fleet3.conf &&
	expect_code 2 "$OBRIDGE" -f fleet3.conf deploy --plan >out &&
	grep -E "^gpu-9 +http://127.0.0.1:1 +unreachable: .*refused" out &&
	grep_q "1 unreachable$" out
'

test_expect_success 'lint: same address, an instance in no group, more pinned than max_loaded' '
	{
		echo "[fleet]"; echo "name = lint"
		echo "[instance gpu-1]"; echo "url = $u1"; echo "group = a"; echo "max_loaded = 1"
		echo "[instance twin]"; echo "url = $u1"; echo "group = z"
		echo "[model llama3.2]"; echo "keep_alive = -1"; echo "groups = a"
		echo "[model qwen2.5:0.5b]"; echo "keep_alive = -1"; echo "groups = a"
	} >lint.conf &&
	"$OBRIDGE" -f lint.conf deploy --plan >out; test $? -le 1 &&
	grep_q "^warning: instances .gpu-1. and .twin. have the same address" out &&
	grep_q "^warning: instance .twin. is in no model.s groups" out &&
	grep_q "^warning: instance .gpu-1.: 2 models kept loaded forever, but max_loaded is 1" out
'

sim_stop
# Drift: gpu-2 holds another llama3.2 than the other two; shared store: gpu-1 and gpu-2
# share one model store.
sim_start -n 3 --pull-time 1s --load-time 50ms --models llama3.2:latest \
	--instance gpu-2:digest=llama3.2@old || exit 1
v1=$SIM_URL
v2="http://127.0.0.1:$((SIM_PORT + 1))"
v3="http://127.0.0.1:$((SIM_PORT + 2))"
{
	echo "[fleet]"; echo "name = drift"
	echo "[instance gpu-1]"; echo "url = $v1"
	echo "[instance gpu-2]"; echo "url = $v2"
	echo "[instance gpu-3]"; echo "url = $v3"
	echo "[model llama3.2]"
} >drift.conf

test_expect_success 'drift: another digest on one instance is caught by --plan (exit 1)' '
	good=$(curl -s "$v1/api/tags" | jq -r ".models[0].digest") &&
	bad=$(curl -s "$v2/api/tags" | jq -r ".models[0].digest") &&
	test "$good" != "$bad" &&
	expect_code 1 "$OBRIDGE" -f drift.conf deploy --plan >out &&
	grep -E "^  update +llama3.2:latest +digest $(echo $bad | cut -c1-12) -> $(echo $good | cut -c1-12), 2.0 GB  \(digest differs from the fleet.s majority\)$" out &&
	test "$(grep -c "^  update" out)" = 1
'

test_expect_success 'drift: apply pulls the fleet digest again; all three agree' '
	"$OBRIDGE" -f drift.conf deploy --yes >out &&
	grep -E "^gpu-2 update llama3.2:latest: ok in " out &&
	for u in $v1 $v2 $v3; do curl -s "$u/api/tags" | jq -r ".models[0].digest"; done | sort -u >ds &&
	test "$(wc -l <ds)" = 1 &&
	"$OBRIDGE" -f drift.conf deploy --plan
'

test_expect_success 'a pinned digest nobody has: update everywhere, verify names the pin' '
	{ cat drift.conf; echo "digest = sha256:$(printf "%064d" 7)"; } >pin.conf &&
	expect_code 1 "$OBRIDGE" -f pin.conf deploy --plan >out &&
	test "$(grep -c "(digest differs from the pin)" out)" = 3 &&
	expect_code 2 "$OBRIDGE" -f pin.conf deploy --yes >out &&
	grep_q "^verify gpu-1: differs: llama3.2:latest has digest .*, the pin is 000000000000$" out
'

sim_stop
sim_start -n 2 --pull-time 1s --load-time 50ms --models llama3.2:latest --store shared || exit 1
w1=$SIM_URL
w2="http://127.0.0.1:$((SIM_PORT + 1))"
{
	echo "[fleet]"; echo "name = shared"; echo "shared_store = true"
	echo "[instance gpu-1]"; echo "url = $w1"
	echo "[instance gpu-2]"; echo "url = $w2"
	echo "[model qwen2.5:0.5b]"
} >shared.conf

test_expect_success 'shared_store: one pull, the other instance only verifies and loads' '
	expect_code 1 "$OBRIDGE" -f shared.conf deploy --plan >out &&
	grep_q "^plan: 1 to pull, 0 to update, 1 shared, 2 to preload" out &&
	grep -E "^  shared +qwen2.5:0.5b +.*\(pulled by gpu-1 \(shared store\)\)$" out &&
	curl -s -X POST "$w1/_sim/reset" >/dev/null &&
	"$OBRIDGE" -f shared.conf deploy --yes >out &&
	grep_q "^gpu-2 shared qwen2.5:0.5b: ok" out &&
	grep_q "^deploy: 2/2 instances match" out &&
	curl -s "$w1/_sim/stats" | jq -e "[.instances[] | .requests[\"/api/pull\"] // 0] == [1, 0]"
'

test_done
