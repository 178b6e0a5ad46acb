#!/bin/sh
# make demo: start a simulated fleet, run the main job against it, stop what it started.
set -u
OBRIDGE=${1:-./obridge}
dir=$(mktemp -d "${TMPDIR:-/tmp}/obridge-demo.XXXXXX")
sim_pid=""
cleanup() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

port=$(( ($$ % 20000) + 30000 ))
echo "==> obridge sim -n 3 --port $port   (a simulated Ollama fleet on loopback)"
"$OBRIDGE" sim -n 3 --port "$port" --load-time 300ms --fleet-out "$dir/fleet.conf" \
	>"$dir/sim.log" 2>&1 &
sim_pid=$!
i=0
while [ ! -s "$dir/fleet.conf" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$sim_pid" 2>/dev/null; then
		echo "demo: obridge sim did not start:" >&2
		cat "$dir/sim.log" >&2
		exit 2
	fi
	sleep 0.1
done
cat "$dir/sim.log"
export OBRIDGE_FLEET="$dir/fleet.conf" OBRIDGE_DB="$dir/obridge.db"

echo
echo "==> obridge fleet show"
"$OBRIDGE" fleet show || exit $?

echo
echo "==> obridge ps   (nothing loaded yet)"
"$OBRIDGE" ps
first_url=$(sed -n 's/^url = //p' "$dir/fleet.conf" | head -n 1)
model=$(sed -n 's/^\[model \(.*\)\]$/\1/p' "$dir/fleet.conf" | head -n 1)
echo
echo "==> preload $model on the first instance, pinned (keep_alive -1), then obridge ps"
curl -s "$first_url/api/generate" -d "{\"model\":\"$model\",\"keep_alive\":-1}" >/dev/null
"$OBRIDGE" ps
rc=$?
echo
echo "demo finished; the simulated fleet is stopped."
exit $rc
