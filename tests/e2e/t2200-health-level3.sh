#!/bin/sh
# health --level 3 never changes what it checks: a model that is not resident is reported
# as such and its probe skipped, unless --load; embedding models are probed with
# /api/embed and labelled check="embed" in the Prometheus output.
. "$(dirname "$0")/lib.sh"

sim_start --load-time 100ms --tok-interval 1ms --ttft 5ms \
	--models llama3.2:latest,nomic-embed-text:latest || exit 1
cat >fleet.conf <<CONF
[instance gpu-1]
url = $SIM_URL
[model llama3.2]
keep_alive = -1
[model nomic-embed-text]
keep_alive = -1
CONF
resident() { curl -s "$SIM_URL/api/ps" | jq -r "[.models[].name] | sort | join(\",\")"; }

test_expect_success 'level 3 loads nothing: not resident is reported, the probe skipped' '
	test "$(resident)" = "" &&
	expect_code 1 "$OBRIDGE" -f fleet.conf health --level 3 --format json >out.json &&
	test "$(resident)" = "" &&
	jq -e ".instances[0].models | all(.resident == false and .probe.skipped == true and .probe.reason == \"not resident\")" out.json &&
	expect_code 1 "$OBRIDGE" -f fleet.conf health --level 3 --format nagios >out.txt &&
	grep_q "llama3.2:latest not resident" out.txt &&
	grep_q "generate llama3.2:latest skipped (not resident; --load loads it)" out.txt &&
	not_grep "no model to probe" out.txt &&
	test "$(resident)" = ""
'

test_expect_success 'a resident model is probed, the other one still skipped' '
	curl -s "$SIM_URL/api/generate" -d "{\"model\":\"llama3.2\",\"keep_alive\":-1}" >/dev/null &&
	test "$(resident)" = "llama3.2:latest" &&
	expect_code 1 "$OBRIDGE" -f fleet.conf health --level 3 --format json >two.json &&
	jq -e ".instances[0].models[] | select(.name == \"llama3.2:latest\") | .probe.ok and (.probe.cold | not)" two.json &&
	jq -e ".instances[0].models[] | select(.name == \"nomic-embed-text:latest\") | .probe.skipped" two.json &&
	test "$(resident)" = "llama3.2:latest"
'

test_expect_success '--load loads and probes; the embedding model through /api/embed, check="embed"' '
	"$OBRIDGE" -f fleet.conf health --level 3 --load --format prom >out.prom; rc=$? &&
	test $rc -le 1 &&
	test "$(resident)" = "llama3.2:latest,nomic-embed-text:latest" &&
	grep -E "^obridge_probe_duration_seconds\{instance=\"gpu-1\",check=\"embed\",model=\"nomic-embed-text:latest\"\} " out.prom &&
	grep -E "^obridge_probe_duration_seconds\{instance=\"gpu-1\",check=\"generate\",model=\"llama3.2:latest\"\} " out.prom &&
	curl -s "$SIM_URL/_sim/stats" >stats.json &&
	jq -e ".instances[0].requests[\"/api/embed\"] >= 1" stats.json ||
	{ cat stats.json; false; }
'

test_expect_success 'now everything is resident: level 3 without --load is OK' '
	"$OBRIDGE" -f fleet.conf health --level 3 --format nagios >ok.txt &&
	grep_q "^OBRIDGE OK" ok.txt && grep_q "embed nomic-embed-text:latest" ok.txt
'

# Digest drift with two instances and no majority: both digests named, neither blamed.
sim_stop
sim_start -n 2 --models qwen2.5:0.5b --instance gpu-2:digest=qwen2.5:0.5b@other || exit 1
cat >drift.conf <<CONF
$(sed -n "/^\[instance/,/^$/p" "$SIM_FLEET")
[model qwen2.5:0.5b]
CONF

test_expect_success 'two digests and no majority: the digests differ, neither instance is blamed' '
	expect_code 1 "$OBRIDGE" -f drift.conf health --format json >d.json &&
	jq -e "[.instances[].models[0].digest_drift] == [false,false]" d.json &&
	jq -e "[.instances[].models[0].digest_split] == [true,true]" d.json &&
	d1=$(jq -r ".instances[0].models[0].digest" d.json | cut -c1-12) &&
	d2=$(jq -r ".instances[1].models[0].digest" d.json | cut -c1-12) &&
	test "$d1" != "$d2" &&
	"$OBRIDGE" -f drift.conf health --format nagios >d.txt; test $? = 1 &&
	grep_q "qwen2.5:0.5b digests differ across the fleet with no majority: gpu-1 $d1, gpu-2 $d2" d.txt &&
	not_grep "differs from the fleet" d.txt
'

test_done
