#!/bin/sh
# Man pages: mandoc lint, one page per command, and -h, the completion table and the
# page agreeing on every command's options. "Agree" means, for each command:
#   H = long options in `obridge CMD -h`       Hs = its short options (-x), both taken
#       from the usage lines (up to the first empty line) and the option lines (lines
#       whose first non-blank is '-'), not from prose
#   C = long options in the completion table   Cs = its short options
#       (`obridge __complete options CMD`)
#   G = the global options (`obridge __complete options`), Gs their short ones
#   M = options in man/obridge-CMD.1 (Fl \-long, Fl x), anywhere in the page
# and then H <= C+G, C <= H (--help aside, which every command takes), C <= M, M <= C+G,
# and the same for the short ones; the page's SYNOPSIS names the command; every option in
# C is accepted by the command (`obridge CMD --opt=V -h` is not refused by getopt).
. "$(dirname "$0")/lib.sh"

MAN="$OBRIDGE_SRC/man"

if ! command -v mandoc >/dev/null 2>&1; then
	test_skip "mandoc is not installed"
else
	test_expect_success 'mandoc -Tlint -W warning reports nothing' '
		mandoc -Tlint -W warning "$MAN"/*.[1-8] >lint 2>&1; rc=$?
		cat lint; test $rc = 0 && test ! -s lint
	'
fi

"$OBRIDGE" __complete commands | cut -f1 >commands
"$OBRIDGE" __complete options | cut -f1 | grep -v "^-$" | sort -u >G
"$OBRIDGE" __complete options | cut -f2 | grep -v "^-$" | sort -u >Gs

test_expect_success 'the command list is not empty' 'test -s commands && test -s G'

test_expect_success 'every command has a page and is listed in obridge(1)' '
	for c in $(cat commands); do
		test -f "$MAN/obridge-$c.1" || { echo "no man/obridge-$c.1"; return 1; }
		grep -q "^\.It Ic $c\( \|$\)" "$MAN/obridge.1" ||
			{ echo "obridge.1 does not list $c (.It Ic $c)"; return 1; }
		grep -q "^\.Xr obridge-$c 1" "$MAN/obridge.1" ||
			{ echo "obridge.1 SEE ALSO lacks obridge-$c"; return 1; }
	done
'

test_expect_success 'every page belongs to a command' '
	for p in "$MAN"/obridge-*.1; do
		c=${p##*/obridge-}; c=${c%.1}
		grep -qx "$c" commands || { echo "$p: no command $c"; return 1; }
	done
'

# The usage block and the option lines of a -h text.
optlines() { awk 'BEGIN { u = 1 } u && /^$/ { u = 0 } u || /^[ \t]+-/'; }
# Long and short options of one source, one per line, sorted.
long_of() { grep -o -E -- "--[a-z][a-z0-9-]*" | sort -u; }
short_of() { grep -o -E -- "(^|[][ ,(|])-[a-zA-Z]([] ,)|]|$)" | grep -o -E -- "-[a-zA-Z]" | sort -u; }
page_long() { sed "s/\\\\-/-/g" "$1" | grep -o -E -- "Fl -[a-z][a-z0-9-]*" | sed "s/^Fl /-/" | sort -u; }
page_short() { grep -o -E -- "Fl [a-zA-Z]( |$)" "$1" | sed "s/^Fl /-/; s/ $//" | sort -u; }
# lines of $1 not in $2 (both sorted), or fail with a message
subset() {
	_extra=$(comm -23 "$1" "$2")
	[ -z "$_extra" ] && return 0
	echo "$3:" $_extra
	return 1
}

for c in $(cat commands); do
	test_expect_success "$c: -h, completion table and man page agree" '
		"$OBRIDGE" '"$c"' -h | optlines >h.txt &&
		long_of <h.txt >H && short_of <h.txt >Hs &&
		"$OBRIDGE" __complete options '"$c"' >opts &&
		cut -f1 opts | grep -v "^-$" | sort -u >C &&
		cut -f2 opts | grep -v "^-$" | sort -u >Cs &&
		page="$MAN/obridge-'"$c"'.1" &&
		page_long "$page" >M && page_short "$page" >Ms &&
		sort -u C G >CG && sort -u Cs Gs >CGs &&
		grep -v "^--help$" C >C_nohelp; grep -v "^-h$" Cs >Cs_nohelp
		subset H CG "in -h but not in the completion table" &&
		subset C_nohelp H "in the completion table but not in -h" &&
		subset C M "in the completion table but not in the page" &&
		subset M CG "in the page but not an option" &&
		subset Hs CGs "short options in -h but not in the completion table" &&
		subset Cs_nohelp Hs "short options in the completion table but not in -h" &&
		subset Cs Ms "short options in the completion table but not in the page" &&
		subset Ms CGs "short options in the page but not options" &&
		sed -n "/^\.Sh SYNOPSIS/,/^\.Sh/p" "$page" | grep -q "^\.Cm '"$c"'\( \|$\)"
	'
done

# A sample value for an option of a kind, for the acceptance test.
sample() {
	case $1 in
	file) echo /dev/null ;;
	dir) echo "$TRASH" ;;
	words:*) echo "${1#words:}" | cut -d, -f1 ;;
	runkind) echo bench ;;
	*) echo 1 ;;
	esac
}

test_expect_success 'every option in the completion table is accepted by its command' '
	for c in $(cat commands); do
		"$OBRIDGE" __complete options "$c" >opts || return 1
		while IFS="	" read -r lng shrt kind help; do
			if [ "$lng" != "-" ]; then arg=$lng; else arg=$shrt; fi
			if [ "$kind" != flag ]; then
				v=$(sample "$kind")
				if [ "$lng" != "-" ]; then arg="$arg=$v"; else arg="$arg$v"; fi
			fi
			timeout 10 "$OBRIDGE" "$c" "$arg" -h </dev/null >out 2>err
			if grep -q -i -E "unknown option|unrecognized option|invalid option|allow an argument|requires an argument" err; then
				echo "obridge $c $arg -h:"; cat err; return 1
			fi
		done <opts
	done
'

test_expect_success 'help CMD in a pipe prints the -h text of every command' '
	for c in $(cat commands); do
		"$OBRIDGE" help "$c" >a && "$OBRIDGE" "$c" -h >b && test_cmp b a || return 1
	done
'

test_done
