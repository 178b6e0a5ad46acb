# SPDX-License-Identifier: GPL-3.0-or-later
# Shared shell library for end-to-end tests (git t/test-lib.sh shape, TAP output for prove).
#
#   . "$(dirname "$0")/lib.sh"
#   test_expect_success 'title' 'commands'     # passes when commands exit 0
#   test_expect_failure_code 3 'title' 'cmd'   # passes when cmd exits with that code
#   test_done
#
# Each script gets a private directory $TRASH (removed at exit), its own SQLite file
# ($OBRIDGE_DB) and no fleet file from the environment. $OBRIDGE is the binary under test.
# sim_start ARGS... starts `obridge sim` on free ports and sets SIM_PID, SIM_PORT, SIM_URL,
# SIM_FLEET (a fleet file written by the sim); sim_stop stops it (also done at exit).

set -u
: "${OBRIDGE_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${OBRIDGE:=$OBRIDGE_SRC/obridge}"
export OBRIDGE OBRIDGE_SRC

TRASH=$(mktemp -d "${TMPDIR:-/tmp}/obridge-test.XXXXXX")
export HOME="$TRASH/home" XDG_CONFIG_HOME="$TRASH/home/.config" XDG_DATA_HOME="$TRASH/home/.local/share"
export XDG_STATE_HOME="$TRASH/home/.local/state"
export OBRIDGE_DB="$TRASH/obridge.db"
mkdir -p "$HOME"
unset OBRIDGE_FLEET OLLAMA_HOST OBRIDGE_API_KEY NO_COLOR
export LC_ALL=C.UTF-8
cd "$TRASH" || exit 1

test_count=0
test_failed=0
SIM_PIDS=""

# Sims started inside a test body (a subshell) are not in SIM_PIDS of this shell: every
# sim_start also notes its pid in $TRASH/.sim-pids, so none outlives the script (a
# leftover holds its ports and its CPU for the tests that come after).
_cleanup() {
	# this shell's own children (sims, and servers a test adds to SIM_PIDS)
	for p in $SIM_PIDS; do
		kill "$p" 2>/dev/null
	done
	# sims of subshells: by pid from the file, only if the pid is still an obridge
	for p in $(cat "$TRASH/.sim-pids" 2>/dev/null); do
		grep -q obridge "/proc/$p/cmdline" 2>/dev/null && kill "$p" 2>/dev/null
	done
	for p in $SIM_PIDS; do
		wait "$p" 2>/dev/null
	done
	cd / && rm -rf "$TRASH"
}
trap _cleanup EXIT

say() { printf '# %s\n' "$*"; }

# Run the body in a subshell-free eval so that variables set there are visible later.
test_expect_success() {
	test_count=$((test_count + 1))
	_title=$1
	shift
	if (eval "$1") >"$TRASH/.out" 2>&1; then
		echo "ok $test_count - $_title"
	else
		echo "not ok $test_count - $_title"
		# on stderr: prove shows that even without -v, so a CI log says why
		sed 's/^/#   /' "$TRASH/.out" >&2
		test_failed=$((test_failed + 1))
	fi
}

test_expect_failure_code() {
	test_count=$((test_count + 1))
	_code=$1
	_title=$2
	shift 2
	(eval "$1") >"$TRASH/.out" 2>&1
	_rc=$?
	if [ "$_rc" = "$_code" ]; then
		echo "ok $test_count - $_title"
	else
		echo "not ok $test_count - $_title (exit $_rc, expected $_code)"
		# on stderr: prove shows that even without -v, so a CI log says why
		sed 's/^/#   /' "$TRASH/.out" >&2
		test_failed=$((test_failed + 1))
	fi
}

test_skip() {
	test_count=$((test_count + 1))
	echo "ok $test_count # skip $1"
}

test_done() {
	echo "1..$test_count"
	[ "$test_failed" = 0 ]
	exit $?
}

# Assert helpers: print what was expected on failure.
test_cmp() { diff -u "$1" "$2"; }
grep_q() {
	if ! grep -q -- "$1" "$2"; then
		echo "expected '$1' in $2:"
		cat "$2"
		return 1
	fi
}
not_grep() {
	if grep -q -- "$1" "$2"; then
		echo "did not expect '$1' in $2:"
		cat "$2"
		return 1
	fi
}
expect_code() {
	_want=$1
	shift
	"$@"
	_got=$?
	if [ "$_got" != "$_want" ]; then
		echo "'$*' exited $_got, expected $_want"
		return 1
	fi
}

# A free-looking random port base with room for n consecutive ports, below Linux's
# ephemeral range (32768-60999), where a machine busy with outgoing connections (a bench
# of thousands of streams) holds ports the sim would want.
_rand_port() {
	echo $(( (($$ * 7919 + $(date +%N | sed 's/^0*//;s/^$/0/')) % 22000) + 10000 ))
}

# Start obridge sim in the background; retries on port clashes.
sim_start() {
	_tries=0
	while [ $_tries -lt 8 ]; do
		_tries=$((_tries + 1))
		SIM_PORT=$(_rand_port)
		SIM_FLEET="$TRASH/sim-$SIM_PORT.conf"
		SIM_LOG="$TRASH/sim-$SIM_PORT.log"
		"$OBRIDGE" sim --port "$SIM_PORT" --fleet-out "$SIM_FLEET" "$@" >"$SIM_LOG" 2>&1 &
		SIM_PID=$!
		_n=0
		while [ $_n -lt 100 ]; do
			if [ -s "$SIM_FLEET" ] && grep -q 'listening on' "$SIM_LOG"; then
				SIM_PIDS="$SIM_PIDS $SIM_PID"
				echo "$SIM_PID" >>"$TRASH/.sim-pids"
				SIM_URL="http://127.0.0.1:$SIM_PORT"
				export SIM_PID SIM_PORT SIM_URL SIM_FLEET SIM_LOG
				return 0
			fi
			kill -0 "$SIM_PID" 2>/dev/null || break
			sleep 0.05
			_n=$((_n + 1))
		done
		kill "$SIM_PID" 2>/dev/null
		wait "$SIM_PID" 2>/dev/null
	done
	echo "sim_start: could not start obridge sim:" >&2
	cat "$SIM_LOG" >&2
	return 1
}

# sim_fault CONTROL_URL INSTANCE FAULT [INSTANCE_URL]: set a fault through another
# instance's control port. The sim applies up and down from its loop just after
# answering, so with INSTANCE_URL given this waits (up to 5 s) until the instance
# answers again (up) or refuses (down): the next command sees the new state.
sim_fault() {
	curl -s -d "{\"instance\":\"$2\",\"fault\":\"$3\"}" "$1/_sim/fault" >/dev/null || return 1
	[ -n "${4:-}" ] || return 0
	_n=0
	while [ $_n -lt 100 ]; do
		if curl -s -m 1 -o /dev/null "$4/api/version"; then
			[ "$3" != down ] && return 0
		else
			[ "$3" = down ] && return 0
		fi
		sleep 0.05
		_n=$((_n + 1))
	done
	echo "sim_fault: $2 did not turn $3 at $4" >&2
	return 1
}

# sim_fault_at gpu-N FAULT: sim_fault for instance N of the sim from sim_start (port
# SIM_PORT + N - 1), through gpu-1's control port (gpu-2's for gpu-1 itself); up and
# down wait until they took effect.
sim_fault_at() {
	_i=${1#gpu-}
	_ctl="http://127.0.0.1:$((SIM_PORT + (_i == 1 ? 1 : 0)))"
	case $2 in
	up|down) sim_fault "$_ctl" "$1" "$2" "http://127.0.0.1:$((SIM_PORT + _i - 1))" ;;
	*) sim_fault "$_ctl" "$1" "$2" ;;
	esac
}

sim_stop() {
	kill "${1:-$SIM_PID}" 2>/dev/null
	wait "${1:-$SIM_PID}" 2>/dev/null
	return 0
}

# nginx_start NAME: start nginx on a free port with the server-block body read from stdin
# (@PORT@ is replaced by the port); sets NGX_PORT and NGX_URL; the access log,
# "$NGX_DIR/NAME.log", has one line per request: the Authorization header and the URI.
# With NGX_TLS="CERT KEY" (PEM files) it listens with TLS and NGX_URL is https.
nginx_start() {
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
	[ -x "$NGINX" ] || { echo "nginx_start: no nginx" >&2; return 1; }
	NGX_DIR="$TRASH/nginx-$1"
	mkdir -p "$NGX_DIR"
	_body=$(cat)
	_tries=0
	while [ $_tries -lt 8 ]; do
		_tries=$((_tries + 1))
		NGX_PORT=$(_rand_port)
		cat >"$NGX_DIR/nginx.conf" <<NGXEOF
worker_processes 1;
daemon off;
pid $NGX_DIR/nginx.pid;
error_log $NGX_DIR/error.log;
events { worker_connections 256; }
http {
	log_format auth '\$http_authorization \$request_uri';
	access_log $NGX_DIR/$1.log auth;
	client_body_temp_path $NGX_DIR/body;
	proxy_temp_path $NGX_DIR/proxy;
	fastcgi_temp_path $NGX_DIR/fastcgi;
	uwsgi_temp_path $NGX_DIR/uwsgi;
	scgi_temp_path $NGX_DIR/scgi;
	server {
		listen 127.0.0.1:$NGX_PORT${NGX_TLS:+ ssl};
$([ -n "${NGX_TLS:-}" ] && printf '\t\tssl_certificate %s;\n\t\tssl_certificate_key %s;\n' $NGX_TLS)
		default_type application/json;
$(printf '%s\n' "$_body" | sed "s/@PORT@/$NGX_PORT/g")
	}
}
NGXEOF
		"$NGINX" -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" 2>>"$NGX_DIR/start.log" &
		_ngx=$!
		_n=0
		while [ $_n -lt 100 ]; do
			_scheme=http
			[ -n "${NGX_TLS:-}" ] && _scheme=https
			if curl -s -k -o /dev/null "$_scheme://127.0.0.1:$NGX_PORT/"; then
				SIM_PIDS="$SIM_PIDS $_ngx"
				NGX_URL="$_scheme://127.0.0.1:$NGX_PORT"
				: >"$NGX_DIR/$1.log"
				return 0
			fi
			kill -0 "$_ngx" 2>/dev/null || break
			sleep 0.05
			_n=$((_n + 1))
		done
		kill "$_ngx" 2>/dev/null
		wait "$_ngx" 2>/dev/null
	done
	echo "nginx_start: could not start nginx:" >&2
	cat "$NGX_DIR/error.log" "$NGX_DIR/start.log" >&2
	return 1
}

# pidfile_stop FILE: stop the processes whose pids FILE lists (servers started in test
# bodies, which run in subshells) and wait until they are gone; empties FILE.
pidfile_stop() {
	for _p in $(cat "$1" 2>/dev/null); do
		kill "$_p" 2>/dev/null
		while kill -0 "$_p" 2>/dev/null; do sleep 0.05; done
	done
	: >"$1"
}

# route_fleet_write BALANCER_PORT: fleet.conf for the balancer tests over the three
# instances of sim_start -n 3: gpu-1 weight 3 in group gpu, gpu-2 weight 1 and gpu-3 a
# backup in group cpu, bodies over 4096 bytes to group gpu.
route_fleet_write() {
	cat >fleet.conf <<FLEET
[fleet]
name = route
balancer = http://127.0.0.1:$1

[instance gpu-1]
url = http://127.0.0.1:$SIM_PORT
weight = 3
group = gpu

[instance gpu-2]
url = http://127.0.0.1:$((SIM_PORT + 1))
weight = 1
group = cpu

[instance gpu-3]
url = http://127.0.0.1:$((SIM_PORT + 2))
backup = true
group = cpu

[model llama3.2:latest]
keep_alive = 10m

[route]
long_prompt_bytes = 4096
long_group = gpu
FLEET
}
