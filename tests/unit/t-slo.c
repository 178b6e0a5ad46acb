/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/stats/slo: keys and limits, checks per step, capacity at SLO, cost. */
#include "../../lib/compat.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/stats/slo.h"
#include "../../lib/util/util.h"

#define MS 1e6

static void test_parse(void **state)
{
	(void)state;
	struct slo_set s = { 0 };
	char err[ERR_MAX];
	assert_int_equal(slo_set_assign(&s, "e2e_p99=1s", err), 0);
	assert_int_equal(slo_set_assign(&s, "error_rate=0.5%", err), 0);
	assert_int_equal(s.mask, (1u << SLO_E2E_P99) | (1u << SLO_ERROR_RATE));
	assert_true(s.limit[SLO_E2E_P99] == 1e9);
	assert_true(fabs(s.limit[SLO_ERROR_RATE] - 0.005) < 1e-12);
	/* the command line replaces what was there */
	assert_int_equal(slo_set_assign(&s, "e2e_p99=2s", err), 0);
	assert_true(s.limit[SLO_E2E_P99] == 2e9);
	assert_int_equal(slo_set_assign(&s, "e2e_p50=1s", err), -1);
	assert_non_null(strstr(err, "unknown SLO 'e2e_p50' (expected ttft_p95"));
	assert_int_equal(slo_set_assign(&s, "ttft_p95", err), -1);
	assert_non_null(strstr(err, "is not KEY=VALUE"));
	assert_int_equal(slo_set_assign(&s, "ttft_p95=0s", err), -1);
	assert_int_equal(slo_set_assign(&s, "error_rate=101%", err), -1);
	char b[32];
	assert_string_equal(slo_fmt_value(SLO_ERROR_RATE, 0.01, b, sizeof(b)), "1%");
	assert_string_equal(slo_fmt_value(SLO_ERROR_RATE, 0.125, b, sizeof(b)), "12.5%");
}

static struct slo_point pt(double x, uint64_t ok, uint64_t failed, double ttft95, double e2e99)
{
	struct slo_point p = { .x = x, .ok = ok, .failed = failed };
	p.has[SLO_TTFT_P95] = p.has[SLO_E2E_P99] = ok > 0;
	p.value[SLO_TTFT_P95] = ttft95;
	p.value[SLO_E2E_P99] = e2e99;
	p.has[SLO_ERROR_RATE] = 1;
	p.value[SLO_ERROR_RATE] = ok + failed ? (double)failed / (double)(ok + failed) : 0;
	return p;
}

static void test_check_every_key(void **state)
{
	(void)state;
	struct slo_set s = { 0 };
	char err[ERR_MAX];
	assert_int_equal(slo_set_assign(&s, "ttft_p95=200ms", err), 0);
	assert_int_equal(slo_set_assign(&s, "e2e_p99=1s", err), 0);
	struct slo_verdict v;
	/* TTFT fine, E2E p99 1.43 s over 1 s: breached, and only that key */
	struct slo_point p = pt(1, 10, 0, 40 * MS, 1430 * MS);
	slo_check(&s, &p, &v);
	assert_false(v.all_hold);
	assert_int_equal(v.breached, 1u << SLO_E2E_P99);
	assert_int_equal(v.state[SLO_TTFT_P95], SLO_HOLDS);
	assert_int_equal(v.state[SLO_ITL_P99], SLO_UNSET);
	/* a key the step did not measure is not applicable */
	assert_int_equal(slo_set_assign(&s, "itl_p99=10ms", err), 0);
	p.value[SLO_E2E_P99] = 900 * MS;
	slo_check(&s, &p, &v);
	assert_true(v.all_hold);
	assert_int_equal(v.state[SLO_ITL_P99], SLO_NA);
	/* nothing succeeded: every latency key breached */
	p = pt(1, 0, 5, 0, 0);
	slo_check(&s, &p, &v);
	assert_false(v.all_hold);
	assert_int_equal(v.state[SLO_TTFT_P95], SLO_BREACHED);
	/* error rate */
	assert_int_equal(slo_set_assign(&s, "error_rate=1%", err), 0);
	p = pt(1, 98, 2, 40 * MS, 500 * MS);
	slo_check(&s, &p, &v);
	assert_int_equal(v.breached, 1u << SLO_ERROR_RATE);
}

static void test_capacity(void **state)
{
	(void)state;
	struct slo_set s = { 0 };
	char err[ERR_MAX];
	assert_int_equal(slo_set_assign(&s, "ttft_p95=200ms", err), 0);
	struct slo_point p[5] = {
		pt(1, 8, 0, 39 * MS, 279 * MS), pt(2, 16, 0, 41 * MS, 279 * MS),
		pt(4, 32, 0, 39 * MS, 280 * MS), pt(8, 36, 0, 318 * MS, 556 * MS),
		pt(16, 44, 0, 875 * MS, 1110 * MS),
	};
	assert_int_equal(slo_capacity(&s, p, 5), 2);
	assert_int_equal(slo_set_assign(&s, "ttft_p95=10ms", err), 0);
	assert_int_equal(slo_capacity(&s, p, 5), -1);
	/* no objective at all: every step with a success holds */
	struct slo_set none = { 0 };
	assert_int_equal(slo_capacity(&none, p, 5), 4);
}

static void test_cost(void **state)
{
	(void)state;
	/* $3.60 an hour at 229 tok/s: 824,400 tokens an hour, $4.37 per 1M */
	assert_true(fabs(slo_cost_per_1m(3.60, 229) - 4.3668) < 1e-3);
	assert_true(slo_cost_per_1m(3.60, 0) < 0);
	/* against $0.60 per 1M: cheaper only above 728% utilisation, i.e. never */
	assert_true(fabs(slo_break_even(3.60, 229, 0.60) - 7.278) < 1e-3);
	/* $1 an hour at 1000 tok/s against $0.60: break-even at 46.3% */
	assert_true(fabs(slo_break_even(1, 1000, 0.60) - 0.46296) < 1e-4);
	assert_true(slo_break_even(1, 1000, 0) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_check_every_key),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_cost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
