#!/bin/sh
# Secrets: a server echoing the API key back gets it redacted from every printed and stored
# text; the store is private (0600); the Bearer key goes only to the balancer unless the
# fleet file says api_key_scope = all.
. "$(dirname "$0")/lib.sh"

KEY=sk-abcdef0123456789secret
nginx_start echo <<'NGX' || exit 1
		location = / { return 200 'Ollama is running'; }
		location = /api/version { return 200 '{"version":"0.33.0"}'; }
		location / {
			return 401 '{"error":"invalid key $http_authorization for http://admin:hunter2@10.0.0.9/x"}';
		}
NGX
ECHO=$NGX_URL ECHO_LOG="$NGX_DIR/echo.log"
nginx_start bal <<'NGX' || exit 1
		location = /api/version { return 200 '{"version":"0.33.0"}'; }
		location = /api/tags { return 200 '{"models":[]}'; }
		location = /api/ps { return 200 '{"models":[]}'; }
		location / { return 200 '{}'; }
NGX
BAL=$NGX_URL BAL_LOG="$NGX_DIR/bal.log"

# no secret anywhere: output, error output, the store
clean() {
	for f in "$@"; do not_grep "$KEY" "$f" && not_grep hunter2 "$f" || return 1; done
	sqlite3 "$OBRIDGE_DB" .dump >dump.sql 2>/dev/null || : >dump.sql
	not_grep "$KEY" dump.sql && not_grep hunter2 dump.sql
}
run() { env OBRIDGE_API_KEY=$KEY timeout -k 5 60 "$OBRIDGE" -H "$ECHO" "$@" >out 2>err; }

test_expect_success 'ps: the echoed key is redacted' '
	run ps; cat out err >both && grep_q "Bearer \*\*\*" both && clean out err
'
test_expect_success 'health: redacted in output and in the store' '
	run health --level 2 --format nagios; grep_q "Bearer \*\*\*" out && clean out err
'
test_expect_success 'health --json: redacted' '
	run health --level 2 --format json; clean out err
'
test_expect_success 'bench: redacted in output and in the stored run' '
	run bench -n 3 -c 1 -m llama3.2; cat out err >both && grep_q "Bearer \*\*\*" both &&
	clean out err
'
test_expect_success 'bench --json and show: redacted' '
	run bench -n 2 -c 1 -m llama3.2 --json; clean out err &&
	"$OBRIDGE" show --json >show.json 2>&1; clean show.json
'
test_expect_success 'warmup: redacted' '
	run warmup -m llama3.2; cat out err >both && grep_q "Bearer \*\*\*" both && clean out err
'
test_expect_success 'preload: redacted' '
	run preload llama3.2; cat out err >both && grep_q "Bearer \*\*\*" both && clean out err
'
test_expect_success 'history: nothing stored carries the key' '
	"$OBRIDGE" history --json >h.json 2>&1; clean h.json
'
test_expect_success 'the store is created 0600' '
	test "$(stat -c %a "$OBRIDGE_DB")" = 600
'
test_expect_success 'a store that was world-readable is made private' '
	OBRIDGE_DB="$TRASH/open.db" && export OBRIDGE_DB &&
	"$OBRIDGE" history >/dev/null 2>&1; chmod 644 "$OBRIDGE_DB" &&
	"$OBRIDGE" history >/dev/null 2>&1; test "$(stat -c %a "$OBRIDGE_DB")" = 600
'

cat >fleet.conf <<CONF
[fleet]
name = t
balancer = $BAL

[instance i1]
url = $ECHO
CONF
test_expect_success 'the Bearer key goes to the balancer, not to instances' '
	: >"$ECHO_LOG" && : >"$BAL_LOG" &&
	env OBRIDGE_API_KEY=$KEY timeout 60 "$OBRIDGE" -f fleet.conf ps >out 2>&1;
	env OBRIDGE_API_KEY=$KEY timeout 60 "$OBRIDGE" -f fleet.conf health --level 2 >out 2>&1;
	env OBRIDGE_API_KEY=$KEY timeout 60 "$OBRIDGE" -f fleet.conf bench -n 2 -c 1 -m m \
		--endpoint version >out 2>&1;
	test -s "$ECHO_LOG" && not_grep "Bearer" "$ECHO_LOG" &&
	grep_q "^Bearer $KEY /api/version" "$BAL_LOG"
'
test_expect_success 'api_key_scope = all sends it to the instances too' '
	sed "s/^balancer = .*/&\napi_key_scope = all/" fleet.conf >all.conf &&
	: >"$ECHO_LOG" &&
	env OBRIDGE_API_KEY=$KEY timeout 60 "$OBRIDGE" -f all.conf ps >out 2>&1;
	grep_q "^Bearer $KEY /api/" "$ECHO_LOG"
'
test_expect_success 'api_key_scope takes balancer or all' '
	sed "s/^balancer = .*/&\napi_key_scope = some/" fleet.conf >bad.conf &&
	expect_code 3 "$OBRIDGE" -f bad.conf ps 2>err &&
	grep_q "bad.conf:4: api_key_scope" err
'

test_done
