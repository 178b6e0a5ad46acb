#!/bin/sh
# TLS with a private CA: --cacert, [fleet] ca_file, $CURL_CA_BUNDLE and $SSL_CERT_FILE are
# trusted; health --cert-days checks the certificate's expiry like check_http -C.
. "$(dirname "$0")/lib.sh"

# the CA bundle variables of the calling environment would be taken first
unset CURL_CA_BUNDLE SSL_CERT_FILE
command -v openssl >/dev/null || { test_skip "no openssl"; test_done; }
chmod 755 "$TRASH"
# a CA, and a server certificate for 127.0.0.1 valid 10 days
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
	-subj "/CN=obridge test CA" >/dev/null 2>&1 || exit 1
openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=127.0.0.1" \
	>/dev/null 2>&1 || exit 1
printf 'subjectAltName=IP:127.0.0.1\n' >ext.cnf
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem \
	-days 10 -extfile ext.cnf >/dev/null 2>&1 || exit 1
chmod 644 srv.key srv.pem
NGX_TLS="$TRASH/srv.pem $TRASH/srv.key" nginx_start tls <<'NGX' || exit 1
		location = / { return 200 'Ollama is running'; }
		location = /api/version { return 200 '{"version":"0.33.0"}'; }
		location = /api/tags { return 200 '{"models":[]}'; }
		location = /api/ps { return 200 '{"models":[]}'; }
NGX
U=$NGX_URL
h1() { "$OBRIDGE" "$@" health --level 1 --format nagios >out 2>err; }

test_expect_success 'a private CA is not trusted by default: DOWN with a TLS failure' '
	h1 -H "$U"; test $? = 2 && grep_q "TLS" out
'
test_expect_success '--cacert FILE trusts it' '
	h1 --cacert ca.pem -H "$U"; rc=$?; cat out err; test $rc = 0
'
test_expect_success '[fleet] ca_file trusts it' '
	printf "[fleet]\nca_file = %s\n\n[instance t]\nurl = %s\n" "$TRASH/ca.pem" "$U" >f.conf &&
	h1 -f f.conf; rc=$?; cat out err; test $rc = 0
'
test_expect_success '$CURL_CA_BUNDLE and $SSL_CERT_FILE are honoured as curl does' '
	(export CURL_CA_BUNDLE="$TRASH/ca.pem"; h1 -H "$U") &&
	(export SSL_CERT_FILE="$TRASH/ca.pem"; h1 -H "$U") &&
	(export SSL_CERT_FILE="$TRASH/nope.pem"; h1 -H "$U"; test $? = 3) &&
	grep_q "SSL_CERT_FILE .*nope.pem" err
'
test_expect_success 'an unreadable --cacert is named' '
	h1 --cacert nope.pem -H "$U"; test $? = 3 && grep_q "cacert .nope.pem." err
'
test_expect_success '--cert-days 30,5: expiring in 9 or 10 days is a WARNING' '
	"$OBRIDGE" --cacert ca.pem -H "$U" health --level 1 --format nagios --cert-days 30,5 >out; rc=$?; cat out; test $rc = 1 &&
	grep_q "certificate expires in \(9\|10\) days" out
'
test_expect_success '--cert-days 60,20: CRITICAL; --cert-days 5: OK' '
	"$OBRIDGE" --cacert ca.pem -H "$U" health --level 1 --format nagios --cert-days 60,20 >out; test $? = 2 &&
	grep_q "certificate expires in \(9\|10\) days" out &&
	"$OBRIDGE" --cacert ca.pem -H "$U" health --level 1 --format nagios --cert-days 5 >out; test $? = 0
'
test_expect_success '--cert-days shows the TLS version and the days left on the line' '
	"$OBRIDGE" --cacert ca.pem -H "$U" health --level 1 --format nagios --cert-days 5 >out;
	test $? = 0 && grep -E "^127.0.0.1:[0-9]+: OK - up, .*, TLSv1\.[23], certificate (9|10) days$" out
'
test_expect_success '--cert-days takes W or W,C with C <= W' '
	expect_code 3 "$OBRIDGE" -H "$U" health --cert-days 5,30 2>err && grep_q "cert-days" err
'

sim_start -n 1 || exit 1
printf "[fleet]\nbalancer = %s\nca_file = %s\n\n[instance gpu-1]\nurl = %s\n" "$U" "$TRASH/ca.pem" "$SIM_URL" >bal.conf

test_expect_success '--cert-days checks an https balancer too: WARNING, named on its own line' '
	"$OBRIDGE" -f bal.conf health --level 1 --format nagios --cert-days 30,5 >out; rc=$?; cat out; test $rc = 1 &&
	head -1 out | grep -q "^OBRIDGE WARNING - 1/1 up; balancer: certificate expires in \(9\|10\) days" &&
	grep -E "^balancer https://127.0.0.1:[0-9]+: WARNING - TLSv1\.[23], certificate (9|10) days; certificate expires in (9|10) days$" out &&
	"$OBRIDGE" -f bal.conf health --level 1 --format json --cert-days 30,5 >out.json;
	jq -e ".state == \"WARNING\" and .balancer.state == \"WARNING\" and (.balancer.cert_days_left | . == 9 or . == 10)" out.json
'
test_expect_success 'an https balancer whose certificate is fine: OK; without --cert-days it is not asked' '
	"$OBRIDGE" -f bal.conf health --level 1 --format nagios --cert-days 5 >out; rc=$?; cat out; test $rc = 0 &&
	grep -E "^balancer https://.*: OK - TLSv1\.[23], certificate (9|10) days$" out &&
	"$OBRIDGE" -f bal.conf health --level 1 --format nagios >out; test $? = 0 && not_grep "^balancer" out
'
test_expect_success 'a balancer with a certificate nobody trusts is CRITICAL, said so' '
	printf "[fleet]\nbalancer = %s\n\n[instance gpu-1]\nurl = %s\n" "$U" "$SIM_URL" >bal2.conf &&
	"$OBRIDGE" -f bal2.conf health --level 1 --format nagios --cert-days 5 >out; rc=$?; cat out; test $rc = 2 &&
	grep -q "^OBRIDGE CRITICAL - 1/1 up; balancer: certificate not checked" out
'

test_done
