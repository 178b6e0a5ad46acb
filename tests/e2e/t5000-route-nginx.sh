#!/bin/sh
# obridge route test against a real nginx on loopback in front of obridge sim instances:
# a correct configuration passes every check, and each deliberately broken variant is
# caught by the check that owns it (weights swapped, backup as a normal server,
# proxy_buffering on, a read timeout shorter than a cold load, the long-prompt rule off
# by a wide margin, no passive health check). The correct configuration is what
# `obridge emit nginx --full` writes; each variant edits it. Also attribution without any
# header (by /api/ps expires_at), --down-cmd/--up-cmd, and the usage and
# unreachable-balancer errors.
. "$(dirname "$0")/lib.sh"

if ! command -v nginx >/dev/null 2>&1; then
	test_skip "nginx is not installed (.ci/deps installs it)"
	test_done
fi

# three instances: gpu-1 (weight 3, group gpu), gpu-2 (weight 1, group cpu), gpu-3 (a
# backup, group cpu); cold loads take 2 s
sim_start -n 3 --load-time 2s --tokens 16 --tok-interval 10ms || exit 1
P1=$SIM_PORT P3=$((SIM_PORT + 2))
NG="$TRASH/nginx"
mkdir -p "$NG/logs"

# nginx_conf VARIANT: `obridge emit nginx --full` for the fleet, correct or broken in one
# way (the variants edit the emitted file as an operator's hand would)
nginx_conf() {
	"$OBRIDGE" -f fleet.conf emit nginx --full >"$NG/emitted.conf" || return 1
	case $1 in
	good) cat ;;
	swapped) sed -e "/name=gpu-1/s/ weight=3//" -e "/name=gpu-2/s/server \([^ ]*\) /server \1 weight=3 /" ;;
	nobackup) sed "s/ backup;/;/" ;;
	# nginx's defaults: 1.22 passes HTTP/1.1 chunks through even with buffering on
	buffering) sed -e "s/proxy_buffering off/proxy_buffering on/" -e "s/proxy_http_version 1.1/proxy_http_version 1.0/" ;;
	readtimeout) sed "s/proxy_read_timeout 10m/proxy_read_timeout 1s/" ;;
	longoff) sed "s/\"~^(\[1-9\]\[0-9\]{4,}|.*)\\$\" /\"~^([1-9][0-9]{5,}|[4-9][0-9]{4})\$\" /" ;;
	nohealth) sed -e "s/max_fails=2 fail_timeout=10s/max_fails=0/" -e "s/proxy_next_upstream error timeout/proxy_next_upstream off/" ;;
	noheader) sed -e "/add_header X-Upstream/d" -e "s/proxy_cache off;/proxy_cache off; proxy_hide_header X-Sim-Instance;/" ;;
	esac <"$NG/emitted.conf"
}

# Test bodies run in subshells: the nginx pids go into a file, stopped by the next start
# and at exit (lib.sh's cleanup stops only sims).
nginx_stop() { pidfile_stop "$NG/pids"; }
trap 'nginx_stop; _cleanup' EXIT

# nginx_start VARIANT: (re)start nginx with that configuration on a free port
nginx_start() {
	nginx_stop
	_t=0
	while [ $_t -lt 8 ]; do
		_t=$((_t + 1))
		BPORT=$(_rand_port)
		route_fleet_write "$BPORT"
		nginx_conf "$1" >"$NG/nginx.conf" || return 1
		cmp -s "$NG/nginx.conf" "$NG/emitted.conf" && [ "$1" != good ] &&
			{ echo "variant $1 changed nothing"; return 1; }
		nginx -e "$NG/logs/error.log" -c "$NG/nginx.conf" -p "$NG" \
			-g "daemon off; pid $NG/nginx.pid; error_log $NG/logs/error.log;" >"$NG/out" 2>&1 &
		NGINX_PID=$!
		echo $NGINX_PID >>"$NG/pids"
		_n=0
		while [ $_n -lt 60 ]; do
			if curl -s -m 1 -o /dev/null "http://127.0.0.1:$BPORT/api/version"; then
				return 0
			fi
			kill -0 $NGINX_PID 2>/dev/null || break
			sleep 0.05
			_n=$((_n + 1))
		done
		kill $NGINX_PID 2>/dev/null
		wait $NGINX_PID 2>/dev/null
	done
	echo "nginx did not start:"; cat "$NG/out" "$NG/logs/error.log"
	return 1
}


# check_result FILE CHECK RESULT: the check's verdict in a --json report
check_result() {
	jq -r --arg c "$2" '.checks[] | select(.check == $c) | .result' "$1" | grep -qx "$3" ||
		{ echo "$2: expected $3 in:"; jq -c '.checks[] | [.check, .result, .summary]' "$1"; return 1; }
}
# only_failing FILE CHECK: that check failed and no other did
only_failing() {
	jq -r '.checks[] | select(.result == "fail") | .check' "$1" >failing &&
	echo "$2" >want && test_cmp want failing
}

test_expect_success 'a correct nginx: every check passes, failover time and losses reported' '
	nginx_start good &&
	"$OBRIDGE" -f fleet.conf route test --slo-failover 5s >out 2>err; rc=$?
	test $rc = 0 || { cat out err; false; } &&
	grep -E "^PASS +attribution +every request traced to an instance by X-Upstream" out &&
	grep -E "^PASS +weights .*p = " out &&
	grep -E "^PASS +backup " out && grep -E "^PASS +failover +failover [0-9.]+s .*requests lost" out &&
	grep -E "^PASS +length " out && grep -E "^PASS +stream " out && grep -E "^PASS +cold " out &&
	grep -q "route test: 7 of 7 checks pass, 0 fail, 0 skipped" out
'

test_expect_success 'the run is recorded with one step per check' '
	"$OBRIDGE" history --json >h.json &&
	jq -e "[.[] | select(.kind == \"route\")] | length >= 1" h.json &&
	id=$(jq "[.[] | select(.kind == \"route\")][0].id" h.json) &&
	test "$(sqlite3 "$OBRIDGE_DB" "select count(*) from steps where run_id = $id")" = 7
'

test_expect_success 'weights swapped in nginx: exit 1, only the weights check fails' '
	nginx_start swapped &&
	expect_code 1 "$OBRIDGE" -f fleet.conf route test -n 100 --slo-failover 5s --json >r.json &&
	only_failing r.json weights &&
	jq -e ".checks[] | select(.check == \"weights\") | .data.p_value < 0.01" r.json
'

test_expect_success 'proxy_buffering on (and HTTP/1.0, both defaults): only the stream check fails' '
	nginx_start buffering &&
	expect_code 1 "$OBRIDGE" -f fleet.conf route test -n 100 --slo-failover 5s --json >r.json &&
	only_failing r.json stream &&
	jq -r ".checks[] | select(.check == \"stream\") | .summary" r.json | grep -q "holds the stream back"
'

test_expect_success 'the backup as a normal server: the backup check fails, weights still pass' '
	nginx_start nobackup &&
	expect_code 1 "$OBRIDGE" -f fleet.conf route test --checks weights,backup --json >r.json &&
	only_failing r.json backup &&
	jq -r ".checks[] | select(.check == \"backup\") | .summary" r.json | grep -q "reached a backup while every primary was up"
'

test_expect_success 'a 1s read timeout with a 2s cold load: the cold check fails, stream passes' '
	nginx_start readtimeout &&
	expect_code 1 "$OBRIDGE" -f fleet.conf route test --checks stream,cold --json >r.json &&
	only_failing r.json cold &&
	jq -r ".checks[] | select(.check == \"cold\") | .summary" r.json | grep -q "HTTP 504" &&
	jq -e ".checks[] | select(.check == \"cold\") | .data.load_s >= 1.9" r.json
'

test_expect_success 'the long-prompt rule off by a wide margin: the length check names the size' '
	nginx_start longoff &&
	expect_code 1 "$OBRIDGE" -f fleet.conf route test --checks length --json >r.json &&
	only_failing r.json length &&
	jq -r ".checks[] | select(.check == \"length\") | .summary" r.json | grep -q "^4097-byte bodies did not all go to the long group"
'

test_expect_success 'no passive health check and no retry: failover is over the objective' '
	nginx_start nohealth &&
	expect_code 1 "$OBRIDGE" -f fleet.conf route test --checks failover --slo-failover 2s --json >r.json &&
	check_result r.json failover fail &&
	jq -e ".checks[] | select(.check == \"failover\") | .data.lost > 0" r.json
'

test_expect_success 'without an attribution header: traced by /api/ps expires_at' '
	nginx_start noheader &&
	"$OBRIDGE" -f fleet.conf route test --checks attribution,weights -n 24 --json >r.json &&
	jq -e ".method == \"expires_at\" and .unattributed == 0 and .attributed >= 24" r.json &&
	check_result r.json weights pass
'

test_expect_success '--down-cmd/--up-cmd run with the instance in the environment' '
	nginx_start good &&
	cat >down.sh <<-EOF &&
	echo "down \$OBRIDGE_INSTANCE \$OBRIDGE_URL \$OBRIDGE_HOST" >>"$TRASH/cmds.log"
	curl -s -d "{\"instance\":\"\$OBRIDGE_INSTANCE\",\"fault\":\"\$1\"}" "http://127.0.0.1:$P3/_sim/fault" >/dev/null
	EOF
	"$OBRIDGE" -f fleet.conf route test --checks failover --slo-failover 5s \
		--down-cmd "sh $TRASH/down.sh down" --up-cmd "sh $TRASH/down.sh up" >out 2>err &&
	grep -E "^PASS +failover" out &&
	grep -qx "down gpu-1 http://127.0.0.1:$P1 127.0.0.1:$P1" cmds.log
'

test_expect_success 'without a way to take instances down, backup and failover are skipped' '
	nginx_start good &&
	"$OBRIDGE" -H "http://127.0.0.1:$BPORT" route test --balancer "http://127.0.0.1:$BPORT" \
		--checks backup,failover >out 2>err;
	grep -E "^SKIP +backup +no backup instance" out && grep -E "^SKIP +failover" out
'

test_expect_failure_code 2 'a balancer that does not answer: exit 2, named' '
	nginx_stop
	"$OBRIDGE" -f fleet.conf route test 2>err; rc=$?
	grep -q "does not answer GET /api/version" err && exit $rc
'

test_expect_failure_code 3 'usage: no subcommand, a bad check, --down-cmd alone, no balancer' '
	expect_code 3 "$OBRIDGE" -f fleet.conf route 2>/dev/null &&
	expect_code 3 "$OBRIDGE" -f fleet.conf route test --checks weight 2>e1 && grep -q "unknown check" e1 &&
	expect_code 3 "$OBRIDGE" -f fleet.conf route test --down-cmd true 2>/dev/null &&
	"$OBRIDGE" -H "$SIM_URL" route test 2>e2; rc=$?
	grep -q "no balancer" e2 && exit $rc
'

nginx_stop
test_done
