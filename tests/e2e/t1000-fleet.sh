#!/bin/sh
# Fleet files: show and check on good and bad files, target resolution order, -H.
. "$(dirname "$0")/lib.sh"

cat >prod.conf <<'CONF'
[fleet]
name = prod
balancer = http://127.0.0.1:8080      ; what route tests and fleet-wide bench go through

[instance gpu-1]
url = http://10.0.1.1:11434
weight = 3
group = gpu
metrics_url = http://10.0.1.1:9400/metrics

[instance cpu-1]
url = http://10.0.1.3:11434
backup = true
group = cpu

[model deepseek-r1:7b]
keep_alive = 24h
num_ctx = 8192
groups = gpu cpu

[model llama3.2]
keep_alive = -1
groups = gpu

[route]
long_prompt_bytes = 4096   ; bodies above this go to group gpu
long_group = gpu

[slo]
ttft_p95 = 800ms
e2e_p99 = 20s
CONF

test_expect_success 'fleet check accepts the design example' '
	"$OBRIDGE" -f prod.conf fleet check >out &&
	grep_q "prod.conf: ok (2 instances, 2 models)" out
'

test_expect_success 'fleet show prints instances, models, groups, route and slo' '
	"$OBRIDGE" fleet show -f prod.conf >out &&
	grep_q "^fleet prod (prod.conf, from -f)" out &&
	grep_q "^balancer: http://127.0.0.1:8080" out &&
	grep -E "^gpu-1 +http://10.0.1.1:11434 +3 +gpu +no +2 +http://10.0.1.1:9400/metrics" out &&
	grep -E "^cpu-1 +http://10.0.1.3:11434 +1 +cpu +yes +1" out &&
	grep -E "^deepseek-r1:7b +24h0m0s +8192 +gpu cpu +gpu-1,cpu-1" out &&
	grep -E "^llama3.2:latest +forever +- +gpu +gpu-1" out &&
	grep_q "route: bodies over 4.1 KB go to group gpu" out &&
	grep_q "ttft_p95 <= 800.0ms" out
'

test_expect_success 'fleet show --json is valid JSON with the resolved fleet' '
	"$OBRIDGE" --json -f prod.conf fleet show >out.json &&
	grep_q "\"name\":\"prod\"" out.json &&
	grep_q "\"instances\":\[{\"name\":\"gpu-1\",\"url\":\"http://10.0.1.1:11434\",\"weight\":3" out.json &&
	grep_q "\"keep_alive_seconds\":-1" out.json &&
	grep_q "\"e2e_p99\":20" out.json &&
	if command -v jq >/dev/null; then jq -e ".models | length == 2" out.json; fi
'

bad_case() {
	# $1 = file body, $2 = expected message
	printf "%b" "$1" >bad.conf
	"$OBRIDGE" -f bad.conf fleet check 2>err >out
	rc=$?
	if [ $rc != 3 ]; then echo "exit $rc, expected 3"; cat err; return 1; fi
	grep_q "$2" err
}

test_expect_success 'fleet check names file:line for each kind of error' '
	bad_case "[instance a]\nurl = h\n[bogus]\n" "bad.conf:3: unknown section \[bogus\]" &&
	bad_case "[instance a]\nurl = h\nwieght = 3\n" "bad.conf:3: unknown key .wieght." &&
	bad_case "[instance a]\nurl = h\n[instance a]\nurl = h\n" "bad.conf:3: duplicate instance .a." &&
	bad_case "[instance a]\nurl = ftp://h\n" "bad.conf:2: url: unsupported scheme" &&
	bad_case "[instance a]\nurl = h\nweight = 5000\n" "bad.conf:3: weight: .5000. is not a whole number from 1 to 1000" &&
	bad_case "[instance a]\nurl = h\n[model m]\nkeep_alive = soon\n" "bad.conf:4: keep_alive: invalid duration" &&
	bad_case "[instance a]\nurl = h\n[model m]\ngroups = gpu\n" "bad.conf:4: groups: no instance is in group .gpu." &&
	bad_case "[fleet]\nname = x\n" "bad.conf: no instances defined"
'

test_expect_failure_code 3 'a missing fleet file is an error naming it' '
	"$OBRIDGE" -f nope.conf fleet show 2>err; rc=$?
	grep_q "cannot read fleet file .nope.conf." err && exit $rc
'

test_expect_success 'resolution: ./obridge.conf, then $OBRIDGE_FLEET, then -f' '
	printf "[instance cwd]\nurl = h1\n" >obridge.conf &&
	printf "[instance env]\nurl = h2\n" >env.conf &&
	"$OBRIDGE" --json fleet show >o1 && grep_q "\"name\":\"cwd\"" o1 &&
	OBRIDGE_FLEET=env.conf "$OBRIDGE" --json fleet show >o2 && grep_q "\"name\":\"env\"" o2 &&
	OBRIDGE_FLEET=env.conf "$OBRIDGE" --json fleet show -f prod.conf >o3 &&
	grep_q "\"name\":\"gpu-1\"" o3 &&
	rm obridge.conf
'

test_expect_success 'resolution: XDG config, then $OLLAMA_HOST, then 127.0.0.1:11434' '
	"$OBRIDGE" --json fleet show >o1 &&
	grep_q "\"url\":\"http://127.0.0.1:11434\"" o1 &&
	OLLAMA_HOST=http://gpu-box "$OBRIDGE" --json fleet show >o2 &&
	grep_q "\"url\":\"http://gpu-box:80\"" o2 &&
	OLLAMA_HOST=https://gpu-box "$OBRIDGE" --json fleet show >o3 &&
	grep_q "\"url\":\"https://gpu-box:443\"" o3 &&
	OLLAMA_HOST=gpu-box "$OBRIDGE" --json fleet show >o4 &&
	grep_q "\"url\":\"http://gpu-box:11434\"" o4 &&
	mkdir -p "$XDG_CONFIG_HOME/obridge" &&
	printf "[instance xdg]\nurl = h3\n" >"$XDG_CONFIG_HOME/obridge/obridge.conf" &&
	OLLAMA_HOST=gpu-box "$OBRIDGE" --json fleet show >o5 &&
	grep_q "\"name\":\"xdg\"" o5 &&
	rm -r "$XDG_CONFIG_HOME/obridge"
'

test_expect_success '-H before or after the command, repeatable' '
	"$OBRIDGE" -H a:1 -H b fleet show --json >o1 &&
	"$OBRIDGE" fleet show --json -H a:1 -H b >o2 &&
	test_cmp o1 o2 &&
	grep_q "\"url\":\"http://a:1\"" o1 && grep_q "\"url\":\"http://b:11434\"" o1
'

test_expect_failure_code 3 'a bad -H is a usage error' '
	"$OBRIDGE" -H ftp://x fleet show 2>err; rc=$?; grep_q "ftp://x" err && exit $rc
'

test_expect_failure_code 3 'fleet check without any fleet file' '
	"$OBRIDGE" fleet check 2>err; rc=$?; grep_q "no fleet file found" err && exit $rc
'

test_expect_success 'escape sequences in a fleet file never reach the terminal raw' '
	printf "[instance a]\nurl = h\n[model evil\033[2Jx]\n" >esc.conf
	"$OBRIDGE" -f esc.conf fleet show >out 2>err
	! grep -q "$(printf "\033")" out err
'

test_done
