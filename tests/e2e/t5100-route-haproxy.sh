#!/bin/sh
# obridge route test against a real HAProxy on loopback, configured by
# `obridge emit haproxy --full`, in front of obridge sim instances: every check passes
# (attribution by the X-Server header the emitted config adds); weights swapped in the
# config are caught by the weights check alone, and without option http-no-delay
# (HAProxy merges small writes) by the stream check alone.
. "$(dirname "$0")/lib.sh"

if ! command -v haproxy >/dev/null 2>&1; then
	test_skip "haproxy is not installed (.ci/deps installs it)"
	test_done
fi

sim_start -n 3 --load-time 2s --tokens 16 --tok-interval 10ms || exit 1
HA="$TRASH/haproxy"
mkdir -p "$HA"


# Test bodies run in subshells: pids go into a file, stopped by the next start and at exit.
ha_stop() { pidfile_stop "$HA/pids"; }
trap 'ha_stop; _cleanup' EXIT

# ha_start good|swapped|nodelay
ha_start() {
	ha_stop
	_t=0
	while [ $_t -lt 8 ]; do
		_t=$((_t + 1))
		BPORT=$(_rand_port)
		route_fleet_write "$BPORT"
		"$OBRIDGE" -f fleet.conf emit haproxy --full -o "$HA/emitted.cfg" || return 1
		if [ "$1" = nodelay ]; then
			grep -v "option http-no-delay" "$HA/emitted.cfg" >"$HA/haproxy.cfg"
			cmp -s "$HA/emitted.cfg" "$HA/haproxy.cfg" && { echo "nodelay changed nothing"; return 1; }
		elif [ "$1" = swapped ]; then
			sed -e "/^[[:space:]]*server gpu-1 /s/ weight 3//" \
				-e "/^[[:space:]]*server gpu-2 /s/ check / check weight 3 /" \
				"$HA/emitted.cfg" >"$HA/haproxy.cfg"
			cmp -s "$HA/emitted.cfg" "$HA/haproxy.cfg" && { echo "swap changed nothing"; return 1; }
		else
			cp "$HA/emitted.cfg" "$HA/haproxy.cfg"
		fi
		haproxy -db -f "$HA/haproxy.cfg" >"$HA/out" 2>&1 &
		echo $! >>"$HA/pids"
		_n=0
		while [ $_n -lt 60 ]; do
			curl -s -m 1 -o /dev/null "http://127.0.0.1:$BPORT/api/version" && return 0
			sleep 0.05
			_n=$((_n + 1))
		done
	done
	echo "haproxy did not start:"; cat "$HA/out"
	return 1
}

test_expect_success 'the emitted HAProxy config: every check passes, attributed by X-Server' '
	ha_start good &&
	"$OBRIDGE" -f fleet.conf route test --slo-failover 15s --json >r.json; rc=$?
	test $rc = 0 || { jq -c ".checks[] | [.check, .result, .summary]" r.json; false; } &&
	jq -e ".method == \"header\" and (.header | ascii_downcase) == \"x-server\" and .passed == 7" r.json
'

test_expect_success 'weights swapped in the HAProxy config: only the weights check fails' '
	ha_start swapped &&
	expect_code 1 "$OBRIDGE" -f fleet.conf route test -n 100 --checks attribution,weights,length,stream --json >r.json &&
	jq -r ".checks[] | select(.result == \"fail\") | .check" r.json >failing &&
	echo weights >want && test_cmp want failing
'

test_expect_success 'without option http-no-delay: only the stream check fails' '
	ha_start nodelay &&
	expect_code 1 "$OBRIDGE" -f fleet.conf route test -n 40 --checks attribution,weights,stream --json >r.json &&
	jq -r ".checks[] | select(.result == \"fail\") | .check" r.json >failing &&
	echo stream >want && test_cmp want failing &&
	jq -r ".checks[] | select(.check == \"stream\") | .summary" r.json | grep -q "http-no-delay"
'

ha_stop
test_done
