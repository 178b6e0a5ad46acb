#!/bin/sh
# The nevers of design.md ("Parts and nevers"), checked on the source: each failure names
# the file and line that breaks one. Reads #include lines, calls and escape sequences of
# cmd/ and lib/; comments are not code, so /* ... */ and // text is left out first.
. "$(dirname "$0")/lib.sh"

# file:line:text of every line of the given files, comments blanked.
code() {
	for f in "$@"; do
		awk -v F="$f" '
		{
			line = $0; out = ""
			while (line != "") {
				if (inc) {
					e = index(line, "*/")
					if (!e) { line = ""; break }
					line = substr(line, e + 2); inc = 0; continue
				}
				s = index(line, "/*"); d = index(line, "//")
				if (d && (!s || d < s)) { out = out substr(line, 1, d - 1); line = ""; break }
				if (!s) { out = out line; line = ""; break }
				out = out substr(line, 1, s - 1); line = substr(line, s + 2); inc = 1
			}
			print F ":" NR ":" out
		}' "$f"
	done
}

# file names relative to the source tree (the rules name lib/x/...); output in $TRASH
(cd "$OBRIDGE_SRC" && code lib/*/*.c lib/*/*.h) >lib.code
(cd "$OBRIDGE_SRC" && code cmd/*.c cmd/*.h) >cmd.code
grep ':#include' lib.code >lib.inc
grep ':#include' cmd.code >cmd.inc

# lines of $1 matching ERE $2, minus those whose file matches ERE $3 (may be empty)
hits() {
	grep -E -- "$2" "$1" | { if [ -n "$3" ]; then grep -v -E -- "$3"; else cat; fi; } >hits
	[ ! -s hits ] && return 0
	echo "$4:"; cat hits
	return 1
}

test_expect_success 'the checked sources are there' '
	test -s lib.code && test -s cmd.code && test -s lib.inc && test -s cmd.inc
'

test_expect_success '1. lib/ never includes cmd/' '
	hits lib.inc "\"(\.\./)+cmd/" "" "lib/ includes cmd/"
'

# (a forked child whose exec failed ends with _exit(127): that is the child, not obridge)
test_expect_success '1. lib/ never exits (abort only for out-of-memory in lib/util/util.c)' '
	grep -v -E "(^|[^a-z_])_exit\(127\);" lib.code >lib.noexec &&
	hits lib.noexec "(^|[^a-z_])(exit|_exit|_Exit|quick_exit)[ \t]*\(" "" "lib/ exits" &&
	hits lib.code "(^|[^a-z_])abort[ \t]*\(" "^lib/util/util\.c:" "lib/ aborts"
'

test_expect_success '1. only lib/render prints or writes to a FILE' '
	hits lib.code "(^|[^a-z_])(printf|vprintf|puts|putchar|fputs|fputc|putc|fprintf|vfprintf|fwrite|perror)[ \t]*\(" \
		"^lib/render/" "printing outside lib/render"
'

test_expect_success '2. only lib/render emits escape sequences' '
	r=0
	hits lib.code "\\\\(033|x1[bB]|e\[)" "^lib/render/" "escape sequences in lib/ outside lib/render" || r=1
	hits cmd.code "\\\\(033|x1[bB]|e\[)" "" "escape sequences in cmd/" || r=1
	test $r = 0
'

test_expect_success '2. only lib/render/tui.c includes curses' '
	hits lib.inc "[<\"](n?curses(w)?|ncursesw/curses|term|panel)\.h[>\"]" "^lib/render/(tui\.c|provide-curses\.h):" "curses outside lib/render/tui.c" &&
	hits cmd.inc "[<\"](n?curses(w)?|ncursesw/curses|term|panel)\.h[>\"]" "" "curses in cmd/"
'

test_expect_success '3. each library only in its module' '
	r=0
	hits lib.inc "<curl/" "^lib/http/" "libcurl outside lib/http"  || r=1
	hits cmd.inc "<curl/" "" "libcurl in cmd/"  || r=1
	hits lib.inc "<sqlite3\.h>" "^lib/store/" "sqlite3 outside lib/store"  || r=1
	hits cmd.inc "<sqlite3\.h>" "" "sqlite3 in cmd/"  || r=1
	hits lib.inc "<microhttpd\.h>" "^lib/sim/" "libmicrohttpd outside lib/sim"  || r=1
	hits cmd.inc "<microhttpd\.h>" "" "libmicrohttpd in cmd/"  || r=1
	hits lib.inc "<readline/" "" "readline in lib/"  || r=1
	hits cmd.inc "<readline/" "^cmd/shell\.c:" "readline outside cmd/shell.c"  || r=1
	hits lib.inc "<ini\.h>" "^lib/(fleet|sim)/" "inih outside lib/fleet and lib/sim"  || r=1
	hits cmd.inc "<ini\.h>" "" "inih in cmd/"  || r=1
	hits cmd.inc "cjson|cJSON" "" "cJSON in cmd/" || r=1
	test $r = 0
'

test_expect_success '4. lib/fleet and lib/bench never include lib/render; lib/fleet never lib/store' '
	grep -E "^lib/(fleet|bench)/" lib.inc >fb.inc; grep -E "^lib/fleet/" lib.inc >f.inc; r=0
	hits fb.inc "\"\.\./render/" "" "lib/fleet or lib/bench includes lib/render" || r=1
	hits f.inc "\"\.\./store/" "" "lib/fleet includes lib/store" || r=1
	test $r = 0
'

test_expect_success '4. lib/stats, lib/store and lib/http reach only lib/util' '
	grep -E "^lib/(stats|store|http)/" lib.inc >low.inc;
	hits low.inc "\"\.\./[a-z]+/" "\"\.\./util/" "lib/stats, lib/store or lib/http reach past lib/util"
'

test_expect_success '4. lib/sim shares no code with lib/ollama' '
	grep -E "^lib/sim/" lib.inc >sim.inc; grep -E "^lib/ollama/" lib.inc >oll.inc; r=0
	hits sim.inc "\"\.\./ollama/" "" "lib/sim includes lib/ollama" || r=1
	hits oll.inc "\"\.\./sim/" "" "lib/ollama includes lib/sim" || r=1
	test $r = 0
'

test_expect_success '6. options are declared only in option tables (no getopt outside cmd/cmd.c)' '
	hits cmd.code "getopt_long|struct option[ \t]|(^|[^a-z_])optarg([^a-z_]|$)|(^|[^a-z_.])optind([^a-z_]|$)" "^cmd/cmd\.[ch]:" \
		"option parsing outside cmd/cmd.c: declare the option in the command table" &&
	hits lib.code "getopt" "" "getopt in lib/"
'

test_expect_success 'the checker finds what it looks for (it would catch a break)' '
	mkdir -p fake/lib/fleet && printf "#include \"../render/x.h\"\n/* \\\\033 in a comment */\nint f(void) { printf(\"\\\\033[K\"); exit(1); }\n" >fake/lib/fleet/bad.c &&
	(cd fake && code lib/fleet/bad.c) >fake.code &&
	grep ":#include" fake.code >fake.inc &&
	! hits fake.inc "\"\.\./render/" "^lib/(render)/" "x" >/dev/null &&
	! hits fake.code "\\\\(033|x1[bB]|e\[)" "^lib/render/" "x" >/dev/null &&
	! hits fake.code "(^|[^a-z_])(exit|_exit)[ \t]*\(" "" "x" >/dev/null &&
	! hits fake.code "(^|[^a-z_])(printf|fprintf)[ \t]*\(" "^lib/render/" "x" >/dev/null &&
	test "$(grep -c "033" fake.code)" = 1
'

test_done
