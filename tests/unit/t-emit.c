/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/emit: the Content-Length regex, the nginx and HAProxy readers. */
#include "../../lib/compat.h"

#include <regex.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/emit/emit.h"
#include "../../lib/fleet/fleet.h"

/* The regex matches exactly the numbers greater than n (checked around n and its digits). */
static void test_regex_greater(void **state)
{
	(void)state;
	static const uint64_t ns[] = { 1, 9, 10, 99, 100, 4096, 4099, 9999, 10000, 65535, 1048576 };
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		char *re = emit_regex_greater(ns[i]);
		char *full = NULL;
		assert_true(asprintf(&full, "^(%s)$", re) > 0);
		regex_t rx;
		assert_int_equal(regcomp(&rx, full, REG_EXTENDED | REG_NOSUB), 0);
		uint64_t lo = ns[i] > 2000 ? ns[i] - 2000 : 0;
		for (uint64_t v = lo; v < ns[i] * 11 + 2000; v += (v < ns[i] + 2000 ? 1 : 97)) {
			char num[32];
			snprintf(num, sizeof(num), "%" PRIu64, v);
			int match = regexec(&rx, num, 0, NULL, 0) == 0;
			if (match != (v > ns[i]))
				fail_msg("n=%" PRIu64 " v=%" PRIu64 " re=%s match=%d", ns[i], v, re,
					 match);
		}
		regfree(&rx);
		free(full);
		free(re);
	}
	char *re = emit_regex_greater(4096);
	assert_string_equal(re, "[1-9][0-9]{4,}|[5-9][0-9]{3}|4[1-9][0-9]{2}|409[7-9]");
	free(re);
}

static char *import_ok(enum import_kind k, const char *text)
{
	char *out = NULL, err[ERR_MAX] = "";
	int r = emit_import(k, text, "t.conf", NULL, "9", &out, err);
	if (r != 0)
		fail_msg("import failed: %s", err);
	return out;
}

static void import_err(enum import_kind k, const char *text, const char *want)
{
	char *out = NULL, err[ERR_MAX] = "";
	assert_int_equal(emit_import(k, text, "t.conf", NULL, "9", &out, err), -1);
	assert_null(out);
	if (strncmp(err, want, strlen(want)))
		fail_msg("error '%s', expected it to start with '%s'", err, want);
}

static void test_nginx_reader(void **state)
{
	(void)state;
	/* quotes, comments, notes on the server line and on their own lines */
	char *t = import_ok(IMPORT_NGINX,
			    "#@ [fleet]\n#@ name = x\n"
			    "upstream \"u\" { # comment ; {\n"
			    "  server 127.0.0.1:1 weight=2; #@ name=a group=g num_parallel=3\n"
			    "  server [::1]:2 backup;\n}\n"
			    "server { listen 127.0.0.1:9 default_server; location / { proxy_pass http://u/; } }\n"
			    "#@ [slo]\n#@ ttft_p95 = 1s\n");
	struct fleet f;
	char err[ERR_MAX];
	assert_int_equal(fleet_parse_string(&f, t, "t", err), 0);
	assert_string_equal(f.name, "x");
	assert_string_equal(f.balancer, "http://127.0.0.1:9");
	assert_int_equal(f.ninstances, 2);
	assert_string_equal(f.instances[0].name, "a");
	assert_string_equal(f.instances[0].group, "g");
	assert_int_equal(f.instances[0].weight, 2);
	assert_int_equal(f.instances[0].num_parallel, 3);
	assert_string_equal(f.instances[1].name, "::1:2");
	assert_string_equal(f.instances[1].url, "http://[::1]:2");
	assert_true(f.instances[1].backup);
	assert_int_equal(f.slo.mask, 1u << SLO_TTFT_P95);
	fleet_release(&f);
	free(t);

	import_err(IMPORT_NGINX, "upstream u { server a:1; }\n}\n", "t.conf:2: unexpected '}'");
	import_err(IMPORT_NGINX, "upstream u {\n server \"a:1;\n}\n", "t.conf:2: unterminated");
	import_err(IMPORT_NGINX, "upstream u {\n server a:1\n}\n", "t.conf:2: 'server' has no ';'");
	import_err(IMPORT_NGINX, "upstream u {\n server a:1; #@ name=b!c\n}\n",
		   "t.conf:2: invalid instance name");
	import_err(IMPORT_NGINX, "http { }\n", "t.conf: no upstream block");
	/* config text in messages and comments carries no escape sequences */
	import_err(IMPORT_NGINX, "upstream u {\n server unix:/x\033[31m;\n}\n",
		   "t.conf:2: server unix:/x?[31m:");
	t = import_ok(IMPORT_NGINX, "upstream u {\n server a:1 \033[2J;\n}\n");
	assert_null(strchr(t, '\033'));
	assert_non_null(strstr(t, "server parameter ?[2J (no fleet-file equivalent)"));
	free(t);
	import_err(IMPORT_NGINX, "upstream u {\n server a:1;\n}\n#@ [route]\n#@ long_group = zz\n",
		   "t.conf: [route] long_group 'zz' names no instance's group");
}

static void test_haproxy_reader(void **state)
{
	(void)state;
	char *t = import_ok(IMPORT_HAPROXY,
			    "listen web 127.0.0.1:80\n"
			    "  server s1 10.0.0.1:1 weight 4 maxconn 8 check # plain comment\n"
			    "  server s2 10.0.0.2:2 backup #@ group=cpu gpus=0,1\n");
	struct fleet f;
	char err[ERR_MAX];
	assert_int_equal(fleet_parse_string(&f, t, "t", err), 0);
	assert_string_equal(f.name, "web");
	assert_string_equal(f.balancer, "http://127.0.0.1:80");
	assert_int_equal(f.ninstances, 2);
	assert_int_equal(f.instances[0].weight, 4);
	assert_int_equal(f.instances[0].num_parallel, 8);
	assert_true(f.instances[1].backup);
	assert_string_equal(f.instances[1].group, "cpu");
	assert_string_equal(f.instances[1].gpus, "0,1");
	fleet_release(&f);
	assert_non_null(strstr(t, "; t.conf:2: server parameters check (no fleet-file equivalent)"));
	free(t);

	import_err(IMPORT_HAPROXY, "backend b\n server s1 \"10.0.0.1:1\n", "t.conf:2: unterminated");
	import_err(IMPORT_HAPROXY, "frontend\n", "t.conf:1: frontend needs a name");
	import_err(IMPORT_HAPROXY, "backend a\nbackend b\n", "t.conf: several backends");
	import_err(IMPORT_HAPROXY, "backend b\n server s1 10.0.0.1:1 weight x\n",
		   "t.conf:2: weight");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regex_greater),
		cmocka_unit_test(test_nginx_reader),
		cmocka_unit_test(test_haproxy_reader),
	};
	return cmocka_run_group_tests_name("emit", tests, NULL, NULL);
}
