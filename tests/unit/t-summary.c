/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/stats/summary: hand-computed step figures and the JSON shape. */
#include "../../lib/compat.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/stats/hist.h"
#include "../../lib/stats/summary.h"
#include "../../lib/util/buf.h"

static void test_closed_loop(void **state)
{
	(void)state;
	struct hist *ttft = hist_new(), *tpot = hist_new(), *e2e = hist_new(), *itl = hist_new();
	/* 120 requests: TTFT 100 ms x 60 and 300 ms x 60; TPOT a constant 32 ms; e2e 3.3 s */
	for (int i = 0; i < 120; i++) {
		hist_record(ttft, i < 60 ? 100000000 : 300000000);
		hist_record(tpot, 32000000);
		hist_record(e2e, 3300000000);
		for (int k = 0; k < 99; k++)
			hist_record(itl, 32000000);
	}
	struct summary_input in = {
		.hist = { [SUMMARY_TTFT] = ttft, [SUMMARY_ITL] = itl, [SUMMARY_TPOT] = tpot,
			  [SUMMARY_E2E] = e2e },
		.ok = 120,
		.failed = { [SUMMARY_FAIL_SHED] = 1, [SUMMARY_FAIL_TRUNCATED] = 2 },
		.output_tokens = 12000,
		.prompt_tokens = 6000,
		.duration_ns = 60000000000,
		.concurrency = 8,
	};
	struct summary s;
	char err[ERR_MAX];
	assert_int_equal(summary_compute(&s, &in, err), 0);
	assert_int_equal(s.ok, 120);
	assert_int_equal(s.failed, 3);
	assert_int_equal(s.failed_by[SUMMARY_FAIL_SHED], 1);
	assert_true(fabs(s.success_ratio - 120.0 / 123) < 1e-12);
	assert_true(s.req_per_s == 2.0);
	assert_true(s.output_tok_per_s == 200.0);
	assert_true(s.users == 8);
	assert_true(s.output_tok_per_s_per_user == 25.0);
	assert_true(s.decode_tok_per_s == 31.25);
	const struct summary_stat *t = &s.stat[SUMMARY_TTFT];
	assert_int_equal(t->count, 120);
	assert_true(t->mean == 200000000.0);
	assert_true(t->stddev == 100000000.0);
	assert_int_equal(t->min, 100000000);
	assert_int_equal(t->max, 300000000);
	/* p50 is the 60th value (100 ms), p90.. the 108th and up (300 ms), within 0.4% */
	assert_true(llabs(t->p50 - 100000000) <= 100000000 / 256);
	assert_true(llabs(t->p90 - 300000000) <= 300000000 / 256);
	assert_true(llabs(t->p99 - 300000000) <= 300000000 / 256);
	assert_int_equal(s.stat[SUMMARY_TPOT].p50, 32000000);
	assert_int_equal(s.stat[SUMMARY_ITL].count, 120 * 99);
	hist_free(ttft);
	hist_free(tpot);
	hist_free(e2e);
	hist_free(itl);
}

static void test_open_loop(void **state)
{
	(void)state;
	struct hist e2e;
	hist_init(&e2e);
	for (int i = 0; i < 50; i++)
		hist_record(&e2e, 4000000000); /* 4 s each */
	struct summary_input in = {
		.hist = { [SUMMARY_E2E] = &e2e },
		.ok = 50,
		.output_tokens = 5000,
		.duration_ns = 10000000000,
		.offered_rate = 5,
	};
	struct summary s;
	char err[ERR_MAX];
	assert_int_equal(summary_compute(&s, &in, err), 0);
	/* Little's law: 5 req/s * 4 s = 20 in flight; 500 tok/s / 20 = 25 per user */
	assert_true(s.req_per_s == 5.0);
	assert_true(fabs(s.users - 20) < 1e-9);
	assert_true(fabs(s.output_tok_per_s_per_user - 25) < 1e-9);
	assert_true(s.decode_tok_per_s == 0);
	assert_int_equal(s.has[SUMMARY_TTFT], 0);
	assert_int_equal(s.stat[SUMMARY_TTFT].count, 0);
	/* nothing sent at all */
	struct summary_input none = { .duration_ns = 1000000000, .offered_rate = 1 };
	assert_int_equal(summary_compute(&s, &none, err), 0);
	assert_true(s.success_ratio == 1.0 && s.users == 0 && s.output_tok_per_s_per_user == 0);
}

static void test_errors(void **state)
{
	(void)state;
	struct summary s;
	char err[ERR_MAX];
	struct summary_input in = { .ok = 1 };
	assert_int_equal(summary_compute(&s, &in, err), -1);
	assert_non_null(strstr(err, "duration"));
	in.duration_ns = 1;
	in.concurrency = -1;
	assert_int_equal(summary_compute(&s, &in, err), -1);
	assert_non_null(strstr(err, "concurrency"));
	in.concurrency = 1;
	in.offered_rate = NAN;
	assert_int_equal(summary_compute(&s, &in, err), -1);
	assert_non_null(strstr(err, "rate"));
	assert_string_equal(summary_metric_name(SUMMARY_TPOT), "tpot");
	assert_string_equal(summary_fail_name(SUMMARY_FAIL_SHED), "shed");
	assert_string_equal(summary_fail_name(SUMMARY_FAIL_COUNT), "unknown");
}

static void test_json_number(void **state)
{
	(void)state;
	static const struct {
		double v;
		int d;
		const char *want;
	} c[] = {
		{ 2, 3, "2" },	       { 2.5, 3, "2.5" },     { 0.9756, 3, "0.976" },
		{ -1.25, 3, "-1.25" }, { -0.0001, 3, "0" },   { 0, 0, "0" },
		{ 1e20, 3, "100000000000000000000" },	     { NAN, 3, "null" },
		{ INFINITY, 3, "null" }, { 31.25, 1, "31.3" }, { 7.0000001, 6, "7" },
		{ 123456789.5, 0, "123456790" }, { -0.5, 3, "-0.5" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		struct buf b = BUF_INIT;
		assert_int_equal(summary_json_number(&b, c[i].v, c[i].d), 0);
		if (strcmp(buf_str(&b), c[i].want)) {
			print_error("%g: got '%s' want '%s'\n", c[i].v, buf_str(&b), c[i].want);
			fail();
		}
		buf_release(&b);
	}
}

static void test_json(void **state)
{
	(void)state;
	struct hist ttft;
	hist_init(&ttft);
	hist_record(&ttft, 100); /* below 256 ns every bucket is exact */
	hist_record(&ttft, 200);
	struct summary_input in = {
		.hist = { [SUMMARY_TTFT] = &ttft },
		.ok = 2,
		.failed = { [SUMMARY_FAIL_STALL] = 1 },
		.output_tokens = 30,
		.duration_ns = 4000000000,
		.concurrency = 2,
	};
	struct summary s;
	char err[ERR_MAX];
	assert_int_equal(summary_compute(&s, &in, err), 0);
	struct buf b = BUF_INIT;
	assert_int_equal(summary_to_json(&s, &b), 0);
	const char *want =
		"{\"schema\":1,\"concurrency\":2,\"offered_rate\":0,\"duration_ns\":4000000000,"
		"\"requests\":{\"ok\":2,\"failed\":1,\"success_ratio\":0.667,"
		"\"failed_by\":{\"shed\":0,\"http\":0,\"transport\":0,\"timeout\":0,"
		"\"truncated\":0,\"stall\":1}},"
		"\"tokens\":{\"output\":30,\"prompt\":0},"
		"\"throughput\":{\"req_per_s\":0.5,\"output_tok_per_s\":7.5,\"users\":2,"
		"\"output_tok_per_s_per_user\":3.75,\"decode_tok_per_s\":0},"
		"\"ttft\":{\"count\":2,\"mean_ns\":150,\"stddev_ns\":50,\"min_ns\":100,"
		"\"p50_ns\":100,\"p90_ns\":200,\"p95_ns\":200,\"p99_ns\":200,\"p99_9_ns\":200,"
		"\"max_ns\":200},"
		"\"itl\":null,\"tpot\":null,\"e2e\":null}";
	assert_string_equal(buf_str(&b), want);
	/* a capped buffer fails and is left as it was */
	struct buf small;
	buf_init(&small, 64);
	buf_adds(&small, "[");
	assert_int_equal(summary_to_json(&s, &small), -1);
	assert_string_equal(buf_str(&small), "[");
	buf_release(&small);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_closed_loop), cmocka_unit_test(test_open_loop),
		cmocka_unit_test(test_errors),	    cmocka_unit_test(test_json_number),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests_name("summary", tests, NULL, NULL);
}
