#!/bin/sh
# top: the CTX column of an instance whose models have several context lengths shows the
# largest marked "≤" (each model's own on its row); HISTORY is one probe kind, the HEAD /
# latency, even when level-3 health runs (timed generates) are in the store.
. "$(dirname "$0")/lib.sh"

sim_start --ttft 300ms --tok-interval 1ms --load-time 20ms \
	--models llama3.2:latest,nomic-embed-text:latest || exit 1
cat >fleet.conf <<CONF
[instance gpu-1]
url = $SIM_URL
[model llama3.2]
keep_alive = -1
num_ctx = 4096
[model nomic-embed-text]
keep_alive = -1
num_ctx = 2048
CONF

test_expect_success 'CTX: the largest context marked ≤ when the models differ; each model on its row' '
	"$OBRIDGE" -f fleet.conf preload >/dev/null &&
	"$OBRIDGE" -f fleet.conf top --once >top.txt &&
	grep -E "^gpu-1 .* ≤4096 " top.txt && not_grep "<4096" top.txt &&
	grep -E "^gpu-1 +llama3.2:latest +resident .* 4096 " top.txt &&
	grep -E "^gpu-1 +nomic-embed-text:latest +resident .* 2048 " top.txt &&
	LC_ALL=C "$OBRIDGE" -f fleet.conf top --once >top-ascii.txt &&
	grep -E "^gpu-1 .* <=4096 " top-ascii.txt
'

test_expect_success 'HISTORY: level-3 health runs store the HEAD latency, not the generate' '
	"$OBRIDGE" -f fleet.conf health --level 3 --format json >h3.json &&
	jq -e ".instances[0].latency_s >= 0.3" h3.json &&
	"$OBRIDGE" -f fleet.conf health --level 3 -q &&
	"$OBRIDGE" -f fleet.conf top --once --json >top.json &&
	jq -e ".instances[0].history_ms | length >= 3" top.json &&
	jq -e "all(.instances[0].history_ms[]; . != null and . < 250)" top.json ||
	{ jq -c ".instances[0].history_ms" top.json; false; }
'

test_done
