#!/bin/sh
# Memory: a reply that is not streamed is capped far below the streaming cap, so a server
# sending an endless /api/ps cannot make obridge hold tens of MB per instance.
. "$(dirname "$0")/lib.sh"

# (nginx workers run as another user: they need to read the file)
chmod 755 "$TRASH"
# 12 MB of blanks then "{}": valid JSON, only too big
{ head -c 12000000 /dev/zero | tr '\0' ' '; echo '{"models":[]}'; } >big.json
chmod 644 big.json
nginx_start big <<NGX || exit 1
		location = / { return 200 'Ollama is running'; }
		location = /api/version { return 200 '{"version":"0.33.0"}'; }
		location = /api/ps { alias $TRASH/big.json; }
		location = /api/tags { alias $TRASH/big.json; }
NGX

test_expect_success 'ps: a 12 MB /api/ps is refused at the 8 MiB cap' '
	"$OBRIDGE" -H "$NGX_URL" ps >out 2>err; rc=$?
	cat out err; test $rc = 1 && grep_q "larger than 8 MiB" out
'
test_expect_success 'health: the same reply is a clear problem, not a parse error' '
	"$OBRIDGE" -H "$NGX_URL" health --format nagios >out 2>err; rc=$?
	cat out; test $rc = 2 && grep_q "larger than 8 MiB" out
'

test_done
