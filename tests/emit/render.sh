#!/bin/sh
# Render every test fleet (tests/emit/fleets/*.conf) with every emit kind into DIR, one
# file per fleet and kind: DIR/FLEET/KIND.txt (KIND-full.txt with --full). Run from the
# source directory so that the header names the fleet file as tests/emit/fleets/X.conf.
#   sh tests/emit/render.sh OBRIDGE DIR
# `make golden` writes tests/emit/golden with it; t9000-emit.sh compares against that.
set -e
obridge=$1
dir=$2
kinds="nginx nginx:full haproxy haproxy:full prometheus systemd compose k8s"
for f in tests/emit/fleets/*.conf; do
	name=$(basename "$f" .conf)
	mkdir -p "$dir/$name"
	for k in $kinds; do
		case $k in
		*:full) "$obridge" -f "$f" emit "${k%:full}" --full >"$dir/$name/${k%:full}-full.txt" ;;
		*) "$obridge" -f "$f" emit "$k" >"$dir/$name/$k.txt" ;;
		esac
	done
done
