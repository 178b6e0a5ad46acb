#!/bin/sh
# emit nginx / emit haproxy under real traffic: a real nginx and a real HAProxy on loopback,
# configured only by `obridge emit`, in front of three `obridge sim` instances (weights 3
# and 1, one backup, long prompts to a group). Through each: bench streams tokens with a
# TTFT median within 5 ms of the direct one (catches buffering), the X-Upstream / X-Server
# headers name real primaries, and a body over long_prompt_bytes lands in the long group.
. "$(dirname "$0")/lib.sh"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

sim_start -n 3 --num-parallel 4 --ttft 20ms --tok-interval 2ms --tokens 8 --load-time 50ms ||
	exit 1
P1=$SIM_PORT P2=$((SIM_PORT + 1)) P3=$((SIM_PORT + 2))

# fleet.conf with the front door on port $1
write_fleet() {
	cat >fleet.conf <<EOC
[fleet]
name = loop
balancer = http://127.0.0.1:$1

[instance gpu-1]
url = http://127.0.0.1:$P1
weight = 3
group = small

[instance gpu-2]
url = http://127.0.0.1:$P2
weight = 1
group = big

[instance gpu-3]
url = http://127.0.0.1:$P3
backup = true
group = small

[model llama3.2]
keep_alive = 1h

[route]
long_prompt_bytes = 4096
long_group = big
EOC
}

# wait_http URL: until it answers (5 s)
wait_http() {
	_n=0
	while [ $_n -lt 100 ]; do
		curl -s -o /dev/null -m 1 "$1/" && return 0
		sleep 0.05
		_n=$((_n + 1))
	done
	return 1
}

# start_lb nginx|haproxy: emit the config for a free port and start the engine in the
# foreground of a background job; sets LB_URL and LB_PID.
start_lb() {
	_t=0
	while [ $_t -lt 5 ]; do
		_t=$((_t + 1))
		LB_PORT=$(_rand_port)
		write_fleet "$LB_PORT"
		mkdir -p "$TRASH/$1"
		if [ "$1" = nginx ]; then
			"$OBRIDGE" -f fleet.conf emit nginx --full -o "$TRASH/nginx/nginx.conf" || return 1
			"$NGINX" -p "$TRASH/nginx" -c "$TRASH/nginx/nginx.conf" \
				-g "daemon off; pid $TRASH/nginx/nginx.pid; error_log $TRASH/nginx/error.log;" \
				2>>"$TRASH/nginx/start.log" &
		else
			"$OBRIDGE" -f fleet.conf emit haproxy --full -o "$TRASH/haproxy/haproxy.cfg" || return 1
			"$HAPROXY" -db -f "$TRASH/haproxy/haproxy.cfg" >>"$TRASH/haproxy/start.log" 2>&1 &
		fi
		LB_PID=$!
		SIM_PIDS="$SIM_PIDS $LB_PID"
		LB_URL="http://127.0.0.1:$LB_PORT"
		if wait_http "$LB_URL" && kill -0 "$LB_PID" 2>/dev/null; then
			return 0
		fi
		kill "$LB_PID" 2>/dev/null
		wait "$LB_PID" 2>/dev/null
	done
	cat "$TRASH/$1/start.log" "$TRASH/$1/error.log" 2>/dev/null
	return 1
}

# bench_ttft URL: a stored bench run of single requests; prints its TTFT median (ns)
bench_ttft() {
	"$OBRIDGE" -H "$1" bench -m llama3.2 -c 1 -n 60 --max-tokens 8 --json >b.json || return 1
	jq -e '.steps[0].summary.requests.ok == 60 and .steps[0].summary.tokens.output == 480' \
		b.json >/dev/null || { cat b.json; return 1; }
	"$OBRIDGE" export "$(jq .run b.json)" --json | jq '.steps[0].summary.ttft.p50_ns'
}

# within5 A B: |A - B| <= 5 ms (in ns)
within5() {
	echo "TTFT p50: direct $1 ns, through the balancer $2 ns"
	[ $(( $1 > $2 ? $1 - $2 : $2 - $1 )) -le 5000000 ]
}

# headers NAME [BYTES]: the value of header NAME of one generate through the balancer,
# with a prompt of BYTES bytes (default short)
header_of() {
	_prompt=hi
	[ -n "${2:-}" ] && _prompt=$(head -c "$2" /dev/zero | tr '\0' a)
	printf '{"model":"llama3.2","prompt":"%s","stream":false,"options":{"num_predict":2}}' \
		"$_prompt" >body.json
	curl -s -D hdr -o resp.json --data-binary @body.json "$LB_URL/api/generate" || return 1
	grep -q '"done":true' resp.json || { cat hdr resp.json; return 1; }
	tr -d '\r' <hdr | sed -n "s/^$1: //Ip"
}

test_expect_success 'direct TTFT median from a stored run' '
	D=$(bench_ttft "$SIM_URL") && test "$D" -gt 20000000 && echo "$D" >direct.ttft
'
DIRECT=$(cat direct.ttft 2>/dev/null || echo 0)

for lb in nginx haproxy; do
	if [ "$lb" = nginx ]; then bin=$NGINX hdr=X-Upstream; else bin=$HAPROXY hdr=X-Server; fi
	if ! command -v "$bin" >/dev/null; then
		test_skip "$lb is not installed (Debian package $lb)"
		continue
	fi
	# started here, not in a test body (a subshell), so that LB_PID stays in SIM_PIDS
	LB_OK=0
	start_lb $lb >start.out 2>&1 && LB_OK=1
	[ $lb = haproxy ] && HAPROXY_URL=$LB_URL
	test_expect_success "$lb starts with the emitted config" 'cat start.out && test $LB_OK = 1'
	test_expect_success "$lb: bench streams every token; TTFT p50 within 5 ms of direct" '
		test "$LB_OK" = 1 && T=$(bench_ttft "$LB_URL") && within5 "$DIRECT" "$T"
	'
	test_expect_success "$lb: $hdr names a primary on every request, never the backup" '
		test "$LB_OK" = 1 && : >seen && for i in 1 2 3 4 5 6 7 8; do
			header_of "$hdr" >>seen || exit 1
		done && cat seen &&
		if [ $lb = nginx ]; then p1=127.0.0.1:$P1 p2=127.0.0.1:$P2 p3=127.0.0.1:$P3
		else p1=gpu-1 p2=gpu-2 p3=gpu-3; fi &&
		test "$(grep -c -x -e "$p1" -e "$p2" seen)" = 8 &&
		grep -q -x "$p1" seen && not_grep "$p3" seen
	'
	test_expect_success "$lb: a body over long_prompt_bytes goes to the long group" '
		test "$LB_OK" = 1 &&
		if [ $lb = nginx ]; then p2=127.0.0.1:$P2; else p2=gpu-2; fi &&
		for i in 1 2 3 4; do
			test "$(header_of "$hdr" 5000)" = "$p2" || exit 1
		done
	'
	if [ "$LB_OK" = 1 ]; then
		kill "$LB_PID" 2>/dev/null
		wait "$LB_PID" 2>/dev/null
	fi
done

# The TTFT check can fail: the same HAProxy config without `option http-no-delay`
# holds the first small chunks back to merge them with later ones.
if [ -n "${HAPROXY_URL:-}" ] && [ "$DIRECT" != 0 ]; then
	sed -i '/option http-no-delay/d' "$TRASH/haproxy/haproxy.cfg"
	"$HAPROXY" -db -f "$TRASH/haproxy/haproxy.cfg" >>"$TRASH/haproxy/start.log" 2>&1 &
	LB_PID=$!
	SIM_PIDS="$SIM_PIDS $LB_PID"
	test_expect_success 'control: without http-no-delay, TTFT through HAProxy is not within 5 ms' '
		{ wait_http "$HAPROXY_URL" || { cat "$TRASH/haproxy/start.log"; exit 1; }; } &&
		not_grep "http-no-delay" "$TRASH/haproxy/haproxy.cfg" &&
		T=$(bench_ttft "$HAPROXY_URL") && ! within5 "$DIRECT" "$T"
	'
fi

test_done
