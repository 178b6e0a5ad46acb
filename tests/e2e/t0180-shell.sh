#!/bin/sh
# obridge shell: scripted mode on a pipe, the forced-TTY switch, and the readline console
# under tmux (tab completion, history across sessions, Ctrl-C during `obridge sim` and at
# the prompt, secrets kept out of the history).
. "$(dirname "$0")/lib.sh"

cat >f.conf <<'EOF'
[fleet]
name = sh
[instance gpu-1]
url = http://127.0.0.1:1
[model llama3.2:latest]
EOF
HIST="$XDG_STATE_HOME/obridge/history"

test_expect_success 'scripted: runs each line, no prompt' '
	printf "version\n\n# a comment\nfleet check\n" | "$OBRIDGE" -f f.conf shell >out 2>err &&
	grep_q "^obridge [0-9]" out && grep_q "f.conf: ok" out && not_grep "obridge>" out &&
	test ! -s err
'

test_expect_success 'scripted: the exit status is the last command'"'"'s' '
	printf "fleet bogus\nversion\n" | "$OBRIDGE" shell >out 2>err &&
	expect_code 3 sh -c "printf \"version\nfleet bogus\n\" | \"\$OBRIDGE\" shell" &&
	expect_code 4 sh -c "printf \"exit 4\nversion\n\" | \"\$OBRIDGE\" shell >out2" &&
	test ! -s out2
'

test_expect_success 'scripted: quotes, backslashes and a leading obridge' '
	printf "help \"fleet\"\nobridge help '"'"'ver'"'"'sion\nhelp hi\\\\story\n" |
		"$OBRIDGE" shell >out &&
	grep_q "usage: obridge fleet show" out && grep_q "usage: obridge version" out &&
	grep_q "usage: obridge history" out
'

test_expect_failure_code 3 'scripted: an unterminated quote is a usage error' '
	printf "help \"fleet\n" | "$OBRIDGE" shell 2>err; rc=$?
	grep_q "unterminated quote" err && exit $rc
'

test_expect_success 'scripted: global options before shell apply to every command' '
	printf "fleet check\n" | "$OBRIDGE" -f f.conf shell >out && grep_q "f.conf: ok" out
'

test_expect_success 'shell refuses to nest' '
	printf "shell\nversion\n" | "$OBRIDGE" shell >out 2>err &&
	grep_q "already in the shell" err && grep_q "^obridge [0-9]" out
'

test_expect_success 'forced TTY on a pipe: prompt, tab completion, history file' '
	rm -f "$HIST" &&
	printf "fleet check --token-x\nvers\t\nquit\n" |
		OBRIDGE_SHELL_FORCE_TTY=1 "$OBRIDGE" -f f.conf shell >out 2>&1 &&
	grep_q "obridge> " out && grep_q "^obridge [0-9]" out &&
	test -f "$HIST" && grep -qx "version" "$HIST" && not_grep token "$HIST" &&
	test "$(stat -c %a "$HIST")" = 600
'

test_expect_success 'no command on a pipe still prints the usage' '
	expect_code 3 "$OBRIDGE" </dev/null >out 2>err && grep_q "usage: obridge" err
'

# The console under tmux.
if ! command -v tmux >/dev/null 2>&1; then
	test_skip "tmux is not installed"
	test_done
fi
SOCK="obridge-t0180-$$"
trap 'tmux -L "$SOCK" kill-server 2>/dev/null; _cleanup' EXIT
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
# Start the console in a fresh session (obridge without arguments on a terminal).
tm_start() {
	tm kill-server 2>/dev/null
	_n=0
	until tm new-session -d -x 160 -y 40 \
		"$OBRIDGE -f $TRASH/f.conf; echo SHELL-EXIT-\$?; sleep 60" 2>/dev/null; do
		_n=$((_n + 1))
		[ $_n -lt 20 ] || return 1
		sleep 0.2
	done
	wait_for "obridge>$"
}
# Wait up to 20 s until at least $2 (default 1) lines of the pane match the extended
# regexp $1.
wait_for() {
	_n=0
	while [ $_n -lt 200 ]; do
		tm capture-pane -p -S -100 >pane 2>/dev/null &&
			[ "$(grep -c -E -- "$1" pane)" -ge "${2:-1}" ] && return 0
		sleep 0.1
		_n=$((_n + 1))
	done
	echo "timed out waiting for ${2:-1} lines matching '$1'; the pane:"
	cat pane
	return 1
}
# The sim's port: random, and changed when another test holds it (the winner is kept in
# port.used for the tests after it, which run in their own subshells).
port=$(_rand_port)
echo "$port" >"$TRASH/port.used"

test_expect_success 'console: prompt on a terminal, Tab completes a command' '
	rm -f "$HIST" &&
	tm_start &&
	tm send-keys "vers" Tab &&
	wait_for "obridge> version$" &&
	tm send-keys Enter &&
	wait_for "^obridge [0-9]"
'

test_expect_success 'console: Tab completes options, their values and instance names' '
	tm send-keys "history --li" Tab &&
	wait_for "obridge> history --limit$" &&
	tm send-keys C-u "fleet ch" Tab &&
	wait_for "obridge> fleet check$" &&
	tm send-keys Enter &&
	wait_for "f.conf: ok" &&
	tm send-keys "__complete --instance g" Tab &&
	wait_for "obridge> __complete --instance gpu-1$" &&
	tm send-keys C-u "help --he" Tab &&
	wait_for "obridge> help --help$" &&
	tm send-keys C-u
'

test_expect_success 'console: Ctrl-C at the prompt clears the line' '
	tm send-keys "bogus-words" &&
	wait_for "obridge> bogus-words" &&
	tm send-keys C-c &&
	tm send-keys "version" Enter &&
	wait_for "^obridge [0-9]" 2 &&
	! grep -q "is not an obridge command" pane
'

test_expect_success 'console: Ctrl-C stops a running obridge sim, not the shell' '
	tries=0
	until tm send-keys "sim --port $port" Enter &&
	      wait_for "listening on|cannot listen on 127.0.0.1:$port " &&
	      ! grep -q "cannot listen on 127.0.0.1:$port " pane; do
		tries=$((tries + 1)); [ $tries -lt 6 ] || exit 1
		port=$(_rand_port)
	done
	echo "$port" >"$TRASH/port.used" &&
	tm send-keys C-c &&
	wait_for "obridge>$" &&
	tm send-keys "fleet check" Enter &&
	wait_for "f.conf: ok" 2 &&
	! curl -s -m 2 -o /dev/null "http://127.0.0.1:$port/api/version"
'

test_expect_success 'console: secrets stay out of the history' '
	tm send-keys "fleet check --api-key=abc" Enter &&
	tm send-keys "help Bearer" Enter &&
	wait_for "no such command" &&
	tm send-keys "exit" Enter &&
	wait_for "SHELL-EXIT-3" &&
	not_grep -i "api-key" "$HIST" && not_grep -i bearer "$HIST" &&
	port=$(cat "$TRASH/port.used") &&
	grep -qx "fleet check" "$HIST" && grep -qx "sim --port $port" "$HIST"
'

test_expect_success 'console: history is kept across sessions' '
	tm_start &&
	tm send-keys Up &&
	wait_for "obridge> exit$" &&
	tm send-keys Up &&
	wait_for "obridge> fleet check$" &&
	tm send-keys Up &&
	port=$(cat "$TRASH/port.used") &&
	wait_for "obridge> sim --port $port$" &&
	tm send-keys C-u "exit 5" Enter &&
	wait_for "SHELL-EXIT-5"
'

test_expect_success 'console: Ctrl-D quits' '
	tm_start &&
	tm send-keys C-d &&
	wait_for "SHELL-EXIT-0"
'

test_expect_success 'help CMD on a terminal shows the manual page' '
	tm kill-server 2>/dev/null
	_n=0
	until tm new-session -d -x 160 -y 40 \
		"MANPAGER=cat PAGER=cat $OBRIDGE help shell; echo HELP-EXIT-\$?; sleep 60" 2>/dev/null; do
		_n=$((_n + 1)); [ $_n -lt 20 ] || return 1; sleep 0.2
	done
	wait_for "HELP-EXIT-0" && grep -q "OBRIDGE-SHELL" pane && not_grep "^usage:" pane
'

test_done
