#!/bin/sh
# The smaller findings of issue 18: host URLs, duplicate keys, compare on unfinished runs,
# health with a broken store, and messages that said the wrong thing.
. "$(dirname "$0")/lib.sh"

sim_start --tokens 4 --tok-interval 1ms --ttft 1ms --load-time 5ms || exit 1

test_expect_success '-H with a #fragment or a query is refused' '
	expect_code 3 "$OBRIDGE" -H "$SIM_URL/#x" ps 2>err && grep_q "no query or fragment" err &&
	expect_code 3 "$OBRIDGE" -H "$SIM_URL?a=b" ps 2>err && grep_q "no query or fragment" err
'
test_expect_success '-H with an API path is refused, naming the base URL to give' '
	expect_code 3 "$OBRIDGE" -H "$SIM_URL/api/tags" ps 2>err && grep_q "base URL" err
'
test_expect_success 'credentials in a host URL: refused, the password never shown' '
	expect_code 3 "$OBRIDGE" -H "http://admin:hunter2@[bad" ps 2>err &&
	grep_q "user information" err && not_grep hunter2 err &&
	expect_code 3 "$OBRIDGE" -H "http://admin:hunter2@127.0.0.1:1" ps 2>err && not_grep hunter2 err
'
test_expect_success 'OLLAMA_HOST errors are labelled OLLAMA_HOST, not -H' '
	OLLAMA_HOST="http://[bad" && export OLLAMA_HOST &&
	expect_code 3 "$OBRIDGE" ps 2>err && grep_q "OLLAMA_HOST" err && not_grep -- "-H" err
'
test_expect_success 'a duplicate key in one section names both lines' '
	printf "[fleet]\nname = a\n\n[instance x]\nurl = %s\nweight = 1\nurl = %s\n" "$SIM_URL" "$SIM_URL" >dup.conf &&
	expect_code 3 "$OBRIDGE" -f dup.conf ps 2>err &&
	grep_q "dup.conf:7: duplicate key .url. in \[instance x\] (first at line 5)" err
'
test_expect_success 'a directory given to -f says so' '
	mkdir -p adir && expect_code 3 "$OBRIDGE" -f adir ps 2>err &&
	grep_q "is a directory" err && not_grep "Input/output" err
'
test_expect_success 'sim on an address of another host says why, not "port in use"' '
	expect_code 3 "$OBRIDGE" sim --host 192.0.2.1 --port 20999 2>err; cat err;
	grep_q "Cannot assign requested address" err && not_grep "port in use" err
'
test_expect_success 'compare refuses an interrupted run without --force' '
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 1 -n 4 --warmup 0 >/dev/null &&
	"$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 1 -n 4 --warmup 0 >/dev/null &&
	sqlite3 "$OBRIDGE_DB" "UPDATE runs SET status = '"'"'interrupted'"'"' WHERE id = 2" &&
	expect_code 3 "$OBRIDGE" compare 1 2 >out 2>err &&
	grep_q "run 2 is interrupted" err && test ! -s out &&
	"$OBRIDGE" compare 1 2 --force >out 2>err; rc=$?
	test $rc -le 1 && grep_q "warning: run 2 is interrupted" err && test -s out
'
test_expect_success 'a corrupt store: health still checks and prints, and says the store failed' '
	echo "this is not a database, only text that is long enough to be looked at" >bad.db &&
	OBRIDGE_DB="$TRASH/bad.db" "$OBRIDGE" -H "$SIM_URL" health --level 1 --format nagios >out 2>err; rc=$?
	cat out err; test $rc = 0 &&
	grep_q "^OBRIDGE OK - 1/1 up" out && grep_q "store failed" err
'

# A server whose response header is 2 MB.
cat >big.pl <<'PERL'
use IO::Socket::INET;
$SIG{PIPE} = "IGNORE";
my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0],
	Listen => 5, ReuseAddr => 1) or die "listen: $!";
print STDOUT "ready\n"; STDOUT->flush;
while (my $c = $s->accept) {
	while (<$c>) { last if /^\r?\n$/; }
	print $c "HTTP/1.1 200 OK\r\nX-Big: " . ("a" x 2000000) . "\r\nContent-Length: 2\r\n\r\nok";
	close $c;
}
PERL

test_expect_success 'a 2 MB response header is "too large", not "Out of memory"' '
	port=$(( $(_rand_port) + 7 ))
	perl big.pl $port >perl.out 2>&1 &
	pid=$!; n=0; while [ $n -lt 50 ] && ! grep -q ready perl.out; do sleep 0.1; n=$((n + 1)); done
	"$OBRIDGE" -H "http://127.0.0.1:$port" ps >out 2>err; rc=$?
	kill $pid; cat out err; test $rc = 1 &&
	grep_q "response headers too large" out && not_grep "Out of memory" out
'

test_done
