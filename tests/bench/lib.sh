# SPDX-License-Identifier: GPL-3.0-or-later
# Shared by the benchmark scripts (tests/bench-*.sh), sourced after OBRIDGE is set:
#   bench_init NAME      a scratch directory $TMP (gone at exit, with the sim and whatever
#                        the script's bench_on_exit stops), OBRIDGE_DB in it, $port below
#                        Linux's ephemeral range, and signal traps that end the script
#   bench_pin            PIN_SRV / PIN_CLI: taskset prefixes putting the server side on CPU 0
#                        and the clients on the others (empty when that cannot be), and
#                        PINNED saying which
#   bench_start_sim ARGS `obridge sim ARGS` on $port (another port when that one is taken)
#                        until every instance listens; SIMPID; exits 3 with its log if not
#   bench_stop_sim       stop it; the next one takes the next port

bench_init() {
	BENCH_NAME=$1
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/obridge-$1.XXXXXX")
	export OBRIDGE_DB="$TMP/bench.db"
	SIMPID="" PIN_SRV="" PIN_CLI="" PINNED="not pinned"
	trap bench_cleanup EXIT
	# a signal ends the script (and so runs cleanup once); it must not carry on to the next part
	trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 141' PIPE; trap 'exit 143' TERM
	# below Linux's ephemeral range (32768-60999), which the streams of a run use up
	port=$(( ($$ % 10000) + 10000 ))
	case $OBRIDGE in /*) ;; *) OBRIDGE=$(pwd)/$OBRIDGE ;; esac
	[ -x "$OBRIDGE" ] || { echo "$1: no binary at $OBRIDGE" >&2; exit 3; }
}

bench_cleanup() {
	command -v bench_on_exit >/dev/null 2>&1 && bench_on_exit
	[ -n "$SIMPID" ] && kill "$SIMPID" 2>/dev/null && wait "$SIMPID" 2>/dev/null
	rm -rf "$TMP"
}

bench_pin() {
	ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
	if ! command -v taskset >/dev/null 2>&1; then
		PINNED="not pinned (taskset, Debian package util-linux, is not installed)"
	elif [ "$ncpu" -lt 2 ]; then
		PINNED="not pinned (one CPU: the server and the clients share it)"
	else
		cli=1
		[ "$ncpu" -gt 2 ] && cli="1-$((ncpu - 1))"
		PIN_SRV="taskset -c 0" PIN_CLI="taskset -c $cli"
		PINNED="server pinned to CPU 0, clients to CPU $cli"
	fi
}

bench_start_sim() {
	tries=0
	while [ $tries -lt 10 ]; do
		rm -f "$TMP/fleet.conf"
		$PIN_SRV "$OBRIDGE" sim --port "$port" --fleet-out "$TMP/fleet.conf" "$@" \
			>"$TMP/sim.log" 2>&1 &
		SIMPID=$!
		n=0
		while [ ! -s "$TMP/fleet.conf" ] && [ $n -lt 200 ] && kill -0 "$SIMPID" 2>/dev/null; do
			sleep 0.05
			n=$((n + 1))
		done
		[ -s "$TMP/fleet.conf" ] && return 0
		kill "$SIMPID" 2>/dev/null
		wait "$SIMPID" 2>/dev/null
		SIMPID=""
		port=$((port + 61)) # past a taken port, and past a -n 50 sim's range
		tries=$((tries + 1))
	done
	echo "$BENCH_NAME: obridge sim did not start:" >&2
	cat "$TMP/sim.log" >&2
	exit 3
}

bench_stop_sim() {
	kill "$SIMPID" 2>/dev/null
	wait "$SIMPID" 2>/dev/null
	SIMPID=""
	port=$((port + 1))
}
