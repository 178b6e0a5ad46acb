/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/util: durations, sizes, time formats, sanitizing, buffers. */
#include "../../lib/compat.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/util/buf.h"
#include "../../lib/util/units.h"
#include "../../lib/util/util.h"

static void test_durations(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int flags;
		int64_t ns;
	} ok[] = {
		{ "5m", 0, 300000000000LL },
		{ "1h30m", 0, 5400000000000LL },
		{ "250ms", 0, 250000000LL },
		{ "1.5s", 0, 1500000000LL },
		{ "0", 0, 0 },
		{ "30", 0, 30000000000LL },
		{ "2.5", 0, 2500000000LL },
		{ "-1", UNITS_NEG_FOREVER, DURATION_FOREVER },
		{ "-1m", UNITS_NEG_FOREVER, DURATION_FOREVER },
		{ "-5", UNITS_NEG_FOREVER, DURATION_FOREVER },
		{ "100us", 0, 100000 },
		{ "100\xc2\xb5s", 0, 100000 },
		{ "7ns", 0, 7 },
		{ "24h", 0, 86400000000000LL },
		{ "0", UNITS_REQUIRE_UNIT, 0 },
		{ "1m0s", UNITS_REQUIRE_UNIT, 60000000000LL },
		{ "7d", UNITS_DAYS, 7 * 86400000000000LL },
		{ "1d12h", UNITS_DAYS, 129600000000000LL },
		{ "2w", UNITS_DAYS, 14 * 86400000000000LL },
		{ "90m", UNITS_DAYS, 5400000000000LL },
		{ "1.5d", UNITS_DAYS, 129600000000000LL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		int64_t ns = -42;
		char err[ERR_MAX] = "";
		if (units_parse_duration(ok[i].in, &ns, ok[i].flags, err) != 0 || ns != ok[i].ns) {
			print_error("'%s': got %" PRId64 " (%s)\n", ok[i].in, ns, err);
			fail();
		}
	}
	static const struct {
		const char *in;
		int flags;
		const char *msg;
	} bad[] = {
		{ "", 0, "empty duration" },
		{ "5x", 0, "unknown unit" },
		{ "abc", 0, "invalid duration" },
		{ "-1", 0, "negative" },
		{ "-5m", 0, "negative" },
		{ "3600", UNITS_REQUIRE_UNIT, "missing unit" },
		{ "-1", UNITS_REQUIRE_UNIT | UNITS_NEG_FOREVER, "missing unit" },
		{ "1m5", 0, "missing unit" },
		{ "99999999999h", 0, "out of range" },
		{ "-", 0, "invalid" },
		{ "7d", 0, "unknown unit" },   /* not a Go duration: never sent to Ollama */
		{ "2w", 0, "unknown unit" },
		{ "3y", UNITS_DAYS, "unknown unit" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int64_t ns;
		char err[ERR_MAX] = "";
		if (units_parse_duration(bad[i].in, &ns, bad[i].flags, err) != -1 ||
		    !strstr(err, bad[i].msg)) {
			print_error("'%s': err '%s', want '%s'\n", bad[i].in, err, bad[i].msg);
			fail();
		}
	}
}

static void test_format(void **state)
{
	(void)state;
	char b[64];
	assert_string_equal(units_go_duration(300000000000LL, b, sizeof(b)), "5m0s");
	assert_string_equal(units_go_duration(86400000000000LL, b, sizeof(b)), "24h0m0s");
	assert_string_equal(units_go_duration(1500000000LL, b, sizeof(b)), "1.5s");
	assert_string_equal(units_go_duration(DURATION_FOREVER, b, sizeof(b)), "-1s");
	assert_string_equal(units_go_duration(0, b, sizeof(b)), "0s");
	assert_string_equal(units_fmt_duration(250000000LL, b, sizeof(b)), "250.0ms");
	assert_string_equal(units_fmt_duration(1250000000LL, b, sizeof(b)), "1.25s");
	assert_string_equal(units_fmt_duration(252000000000LL, b, sizeof(b)), "4m12s");
	assert_string_equal(units_fmt_duration(DURATION_FOREVER, b, sizeof(b)), "forever");
	assert_string_equal(units_fmt_bytes(5137025024ULL, b, sizeof(b)), "5.1 GB");
	assert_string_equal(units_fmt_bytes(986000000ULL, b, sizeof(b)), "986 MB");
	assert_string_equal(units_fmt_bytes(12, b, sizeof(b)), "12 B");
	uint64_t sz;
	char err[ERR_MAX];
	assert_int_equal(units_parse_size("8M", &sz, err), 0);
	assert_int_equal(sz, 8u * 1024 * 1024);
	assert_int_equal(units_parse_size("4096", &sz, err), 0);
	assert_int_equal(sz, 4096);
	assert_int_equal(units_parse_size("4KiB", &sz, err), 0);
	assert_int_equal(sz, 4096);
	assert_int_equal(units_parse_size("4Q", &sz, err), -1);
}

/* Every style of the one duration formatter. */
static void test_duration_styles(void **state)
{
	(void)state;
	static const int64_t MS = INT64_C(1000000), S = INT64_C(1000000000);
	static const struct {
		int64_t ns;
		enum units_duration_style style;
		const char *want;
	} cases[] = {
		{ 250 * MS, UNITS_DUR_SHORT, "250.0ms" },
		{ -850000, UNITS_DUR_SHORT, "-850\xc2\xb5s" },
		{ 850000, UNITS_DUR_ASCII, "850us" },
		{ 4 * MS, UNITS_DUR_ASCII, "4.00ms" },
		{ 800 * MS, UNITS_DUR_SPACED, "800 ms" },
		{ 12345678, UNITS_DUR_SPACED, "12.3 ms" },
		{ 1520 * MS, UNITS_DUR_SPACED, "1.52 s" },
		{ 850000, UNITS_DUR_SPACED, "850 \xc2\xb5s" },
		{ 999, UNITS_DUR_SPACED, "999 ns" },
		{ 7200 * S, UNITS_DUR_SPACED, "7200 s" },
		{ 0, UNITS_DUR_AGE, "0s" },
		{ 59 * S, UNITS_DUR_AGE, "59s" },
		{ 61 * S, UNITS_DUR_AGE, "1m" },
		{ 3 * 3600 * S, UNITS_DUR_AGE, "3h" },
		{ 50 * 3600 * S, UNITS_DUR_AGE, "2d" },
		{ -5, UNITS_DUR_AGE, "0s" },
		{ 90 * S, UNITS_DUR_HUMAN, "About a minute" },
		{ -3 * S, UNITS_DUR_HUMAN, "3 seconds" },
	};
	char b[64];
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_string_equal(units_duration(cases[i].ns, cases[i].style, b, sizeof(b)),
				    cases[i].want);
}

static void test_time(void **state)
{
	(void)state;
	int64_t ns;
	assert_int_equal(time_parse_rfc3339("2026-08-21T14:38:31.83753-07:00", &ns), 0);
	assert_int_equal(ns, 1787348311837530000LL);
	assert_int_equal(time_parse_rfc3339("2026-08-21T21:38:31.83753Z", &ns), 0);
	assert_int_equal(ns, 1787348311837530000LL);
	assert_int_equal(time_parse_rfc3339("2026-08-21T21:38:31Z", &ns), 0);
	assert_int_equal(time_parse_rfc3339("2318-09-29T12:00:00.123456789+02:00", &ns), 0);
	assert_true(ns == INT64_MAX);
	assert_int_equal(time_parse_rfc3339("2026-08-21 21:38:31", &ns), -1);
	assert_int_equal(time_parse_rfc3339("2026-13-21T21:38:31Z", &ns), -1);
	assert_int_equal(time_parse_rfc3339("2026-08-21T21:38:31.Z", &ns), -1);
	assert_int_equal(time_parse_rfc3339("garbage", &ns), -1);
	char out[64];
	time_rfc3339nano(1787348311837530000LL, 1, out, sizeof(out));
	assert_string_equal(out, "2026-08-21T21:38:31.83753Z");
	time_rfc3339nano(1787348311000000000LL, 1, out, sizeof(out));
	assert_string_equal(out, "2026-08-21T21:38:31Z");
	/* past int64 nanoseconds (Ollama's forever): seconds-based formatting */
	time_rfc3339(10989000000LL, 5000, 1, out, sizeof(out));
	assert_string_equal(out, "2318-03-25T12:00:00.000005Z"); /* date -u -d @10989000000 */
	/* local form round-trips */
	setenv("TZ", "America/Los_Angeles", 1);
	time_rfc3339nano(1787348311837530000LL, 0, out, sizeof(out));
	assert_int_equal(time_parse_rfc3339(out, &ns), 0);
	assert_int_equal(ns, 1787348311837530000LL);
}

static void test_sanitize(void **state)
{
	(void)state;
	char out[64];
	assert_string_equal(text_sanitize(out, sizeof(out), "llama3.2:latest"), "llama3.2:latest");
	assert_string_equal(text_sanitize(out, sizeof(out), "evil\033[2Jmodel"), "evil?[2Jmodel");
	assert_string_equal(text_sanitize(out, sizeof(out), "a\nb\tc\x7f"), "a?b?c?");
	assert_string_equal(text_sanitize(out, sizeof(out), "caf\xc3\xa9"), "caf\xc3\xa9");
	assert_string_equal(text_sanitize(out, sizeof(out), "bad\xc3("), "bad?(");
	assert_string_equal(text_sanitize(out, sizeof(out), "c1\xc2\x9b" "31m"), "c1??31m");
	assert_string_equal(text_sanitize(out, 4, "abcdef"), "abc");
	assert_int_equal(edit_distance("histroy", "history"), 2);
	assert_int_equal(edit_distance("ps", "ps"), 0);
}

static void test_buf(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 8);
	assert_int_equal(buf_adds(&b, "1234"), 0);
	assert_int_equal(buf_adds(&b, "5678"), 0);
	assert_int_equal(buf_adds(&b, "9"), -1); /* over the cap, unchanged */
	assert_string_equal(buf_str(&b), "12345678");
	buf_consume(&b, 6);
	assert_string_equal(buf_str(&b), "78");
	buf_reset(&b);
	assert_int_equal(buf_add_json_str(&b, "a\"\n"), 0);
	assert_string_equal(buf_str(&b), "\"a\\\"\\n\"");
	buf_release(&b);
}

/* Regressions found by make fuzz. */
static void test_fuzz_regressions(void **state)
{
	(void)state;
	char err[ERR_MAX];
	uint64_t b;
	/* 4e99 bytes overflowed the cast to uint64_t (UBSan float-cast-overflow) */
	assert_int_equal(units_parse_size("4096789999999999999999999999999999999999999999999999999"
					  "999999999999999999999999999999999999999999999", &b, err), -1);
	assert_non_null(strstr(err, "too large"));
	assert_int_equal(units_parse_size("nan", &b, err), -1);
	assert_int_equal(units_parse_size("1e30G", &b, err), -1);
	assert_int_equal(units_parse_size("8M", &b, err), 0);
	assert_true(b == 8u * 1024 * 1024);
}

static void test_redact(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "invalid key Bearer sk-123abc", "invalid key Bearer ***" },
		{ "Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***" },
		{ "{\"authorization\":\"tok123\"}", "{\"authorization\":\"***\"}" },
		{ "see http://admin:hunter2@host/x", "see http://***@host/x" },
		{ "https://host/path@x", "https://host/path@x" },
		{ "noted mysecretkey here", "noted *** here" },
		{ "bearer x", "bearer *" },
		{ "no secrets", "no secrets" },
		{ "", "" },
	};
	secret_note("mysecretkey");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char b[128];
		snprintf(b, sizeof(b), "%s", cases[i].in);
		assert_string_equal(text_redact(b), cases[i].out);
	}
	char s[64];
	text_sanitize(s, sizeof(s), "key\tmysecretkey\n");
	assert_string_equal(s, "key?***?");
	secret_forget_all();
	snprintf(s, sizeof(s), "mysecretkey");
	assert_string_equal(text_redact(s), "mysecretkey");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations), cmocka_unit_test(test_format),
		cmocka_unit_test(test_duration_styles),
		cmocka_unit_test(test_time),      cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_buf),       cmocka_unit_test(test_redact),
		cmocka_unit_test(test_fuzz_regressions),
	};
	return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
