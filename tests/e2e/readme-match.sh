# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for the tests that run documented examples (t0400, t0410): sourced after lib.sh.
#
# expect_like EXPECTED ACTUAL: every line of the file EXPECTED (output as documented;
# "..." lines and blank lines skipped) matches a line of ACTUAL, in the same order, with
# the figures that depend on timing left free: numbers (with a sign, separators and a
# unit such as ms, µs, s, m, G or %, or a range of two such as 19.9ms–20.0ms), and bar
# and sparkline glyphs. Everything else
# (headers, words, states, names, signs) must be as documented; runs of spaces match any
# run of spaces.

like_regex() {
	printf '%s\n' "$1" | sed \
		-e 's/[█▉▊▋▌▍▎▏░▁▂▃▄▅▆▇][█▉▊▋▌▍▎▏░▁▂▃▄▅▆▇ ]*/@G@/g' \
		-e 's/[+-]\{0,1\}[0-9][0-9]*\([.:,][0-9][0-9]*\)*\(µs\|ms\|ns\|us\|s\|m\|h\|G\|M\|K\|k\|%\)\{0,1\}/@N@/g' \
		-e 's/[]\[\\.*^$+?(){}|]/\\&/g' \
		-e 's/@N@/([+-]?[0-9]+([.:,][0-9]+)*(µs|ms|ns|us|s|m|h|G|M|K|k|%)?(–[0-9]+([.:,][0-9]+)*(µs|ms|ns|us|s|m|h|G|M|K|k|%)?)?)/g' \
		-e 's/@G@/[█▉▊▋▌▍▎▏░▁▂▃▄▅▆▇ ]*/g' \
		-e 's/^ *//' -e 's/ *$//' -e 's/  */ +/g' -e 's/^/^ */' -e 's/$/ *$/'
}

expect_like() {
	_from=1
	_ok=0
	while IFS= read -r _line; do
		case $(printf '%s' "$_line" | tr -d ' ') in
		''|...) continue ;;
		esac
		_re=$(like_regex "$_line")
		_hit=$(tail -n "+$_from" "$2" | grep -nE -m1 -- "$_re" | cut -d: -f1)
		if [ -z "$_hit" ]; then
			echo "no line like this one (from line $_from on):"
			echo "  $_line"
			echo "  regex: $_re"
			echo "actual output:"
			sed 's/^/  | /' "$2"
			_ok=1
			break
		fi
		_from=$((_from + _hit))
	done <"$1"
	return $_ok
}
