#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Install the pinned client libraries (package-lock.json) into tests/clients/node_modules with
# `npm ci`, once: a stamp records the lock file installed, and a lock keeps the tests that run in
# parallel from installing at the same time. Exit 0 when they are ready; otherwise print why.
dir=$(cd "$(dirname "$0")" && pwd)
stamp="$dir/node_modules/.obridge-installed"
command -v node >/dev/null 2>&1 || { echo "node is not installed (.ci/deps installs nodejs)"; exit 1; }
ready() { [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$stamp"; }
ready && exit 0
command -v npm >/dev/null 2>&1 || { echo "npm is not installed (.ci/deps installs npm)"; exit 1; }
exec 9>"$dir/.install.lock"
flock 9
ready && exit 0
log="$dir/.install.log"
if ! (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --no-update-notifier \
	--loglevel=error) >"$log" 2>&1; then
	echo "npm ci failed (no network?):"
	grep -m 4 '^npm error' "$log" || tail -n 4 "$log"
	exit 1
fi
cp "$dir/package-lock.json" "$stamp"
