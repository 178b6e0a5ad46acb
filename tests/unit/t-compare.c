/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/stats/compare: bootstrap intervals, Mann-Whitney U, verdicts. */
#include "../../lib/compat.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/stats/compare.h"
#include "../../lib/stats/hist.h"
#include "../../lib/stats/rng.h"

/* n log-normal latencies around median ms (sigma 0.5), scaled by factor. */
static int64_t *lognormal(size_t n, double median_ms, double factor, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed);
	int64_t *v = malloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = (int64_t)(factor * median_ms * 1e6 * exp(0.5 * rng_normal(&r)));
	return v;
}

static struct hist *to_hist(const int64_t *v, size_t n)
{
	struct hist *h = hist_new();
	for (size_t i = 0; i < n; i++)
		hist_record(h, v[i]);
	return h;
}

static void test_mann_whitney_known(void **state)
{
	(void)state;
	struct compare_opts o = COMPARE_OPTS_INIT;
	struct compare_result r;
	char err[ERR_MAX];
	int64_t a[] = { 1, 2, 3 }, b[] = { 4, 5, 6 };
	assert_int_equal(compare_samples(a, 3, b, 3, &o, &r, err), 0);
	assert_true(r.u == 9 && r.effect == 1);
	assert_true(r.z > 0);
	/* ties: a {1, 2, 2}, b {2, 3, 3}: U = 8, tie term 30, sigma^2 = 4.5, z = sqrt 2 */
	int64_t c[] = { 2, 1, 2 }, d[] = { 3, 2, 3 };
	assert_int_equal(compare_samples(c, 3, d, 3, &o, &r, err), 0);
	assert_true(r.u == 8);
	assert_true(fabs(r.z - sqrt(2.0)) < 1e-12);
	assert_true(fabs(r.p_value - erfc(1.0)) < 1e-12);
	assert_true(r.stat_a == 2 && r.stat_b == 3);
	/* everything tied */
	int64_t e[] = { 5, 5, 5 };
	assert_int_equal(compare_samples(e, 3, e, 2, &o, &r, err), 0);
	assert_true(r.z == 0 && r.p_value == 1 && r.effect == 0.5);
	/* one value each */
	assert_int_equal(compare_samples(a, 1, b, 1, &o, &r, err), 0);
	assert_true(r.ci_lo == 3 && r.ci_hi == 3 && r.diff == 3);
	assert_true(r.ci_lo_pct == 300);
	assert_int_equal(compare_verdict(&r, 10, 0), COMPARE_REGRESSION);
}

static void test_identical(void **state)
{
	(void)state;
	size_t n = 10000;
	int64_t *a = lognormal(n, 300, 1, 11), *b = lognormal(n, 300, 1, 12);
	struct compare_opts o = COMPARE_OPTS_INIT;
	struct compare_result r;
	char err[ERR_MAX];
	/* the same sample against itself: zero difference, interval around 0 */
	assert_int_equal(compare_samples(a, n, a, n, &o, &r, err), 0);
	assert_true(r.diff == 0 && r.diff_pct == 0);
	assert_true(r.ci_lo_pct < 0 && r.ci_hi_pct > 0);
	assert_true(fabs(r.effect - 0.5) < 1e-12);
	assert_true(r.p_value > 0.99);
	assert_int_equal(compare_verdict(&r, 5, 0), COMPARE_NO_CHANGE);
	/* two independent samples of one distribution (a pair the 95% interval covers;
	 * test_coverage checks how often that happens) */
	assert_int_equal(compare_samples(a, n, b, n, &o, &r, err), 0);
	assert_true(r.ci_lo_pct < 0 && r.ci_hi_pct > 0);
	assert_true(r.ci_hi_pct - r.ci_lo_pct < 6);
	assert_true(r.p_value > 0.01);
	assert_int_equal(compare_verdict(&r, 5, 0), COMPARE_NO_CHANGE);
	assert_int_equal(compare_verdict(&r, 5, 1), COMPARE_NO_CHANGE);
	assert_int_equal(compare_verdict(&r, 0, 0), COMPARE_NO_CHANGE);
	/* and as histograms */
	struct hist *ha = to_hist(a, n), *hb = to_hist(b, n);
	assert_int_equal(compare_hists(ha, hb, &o, &r, err), 0);
	/* bucket values: many resamples land in the same bucket on both sides */
	assert_true(r.ci_lo_pct <= 0 && r.ci_hi_pct >= 0 && r.ci_lo_pct < r.ci_hi_pct);
	assert_int_equal(compare_verdict(&r, 5, 0), COMPARE_NO_CHANGE);
	hist_free(ha);
	hist_free(hb);
	free(a);
	free(b);
}

/* A 95% interval should miss a zero difference about 5% of the time, not more. */
static void test_coverage(void **state)
{
	(void)state;
	size_t n = 1000;
	int trials = 400, missed = 0, regressions = 0;
	struct compare_opts o = COMPARE_OPTS_INIT;
	o.resamples = 1000;
	struct compare_result r;
	char err[ERR_MAX];
	for (int t = 0; t < trials; t++) {
		int64_t *a = lognormal(n, 300, 1, 1000 + 2 * t), *b = lognormal(n, 300, 1, 1001 + 2 * t);
		o.seed = t;
		assert_int_equal(compare_samples(a, n, b, n, &o, &r, err), 0);
		missed += !(r.ci_lo_pct <= 0 && r.ci_hi_pct >= 0);
		regressions += compare_verdict(&r, 5, 0) == COMPARE_REGRESSION;
		free(a);
		free(b);
	}
	/* binomial(400, 0.05): mean 20, sd 4.4 */
	if (missed > 36 || missed < 6) {
		print_error("interval missed 0 in %d of %d trials\n", missed, trials);
		fail();
	}
	/* a 5% threshold never flags noise of this size as a regression */
	assert_int_equal(regressions, 0);
}

static void test_shifted(void **state)
{
	(void)state;
	size_t n = 10000;
	int64_t *a = lognormal(n, 300, 1, 3), *b = lognormal(n, 300, 2, 4);
	struct compare_opts o = COMPARE_OPTS_INIT;
	struct compare_result r, rh;
	char err[ERR_MAX];
	assert_int_equal(compare_samples(a, n, b, n, &o, &r, err), 0);
	assert_true(r.ci_lo_pct > 85 && r.ci_hi_pct < 115);
	assert_true(r.ci_lo_pct <= r.diff_pct && r.diff_pct <= r.ci_hi_pct);
	assert_true(r.ci_lo <= r.diff && r.diff <= r.ci_hi);
	assert_true(r.p_value < 1e-12 && r.z > 10 && r.effect > 0.8);
	assert_int_equal(compare_verdict(&r, 10, 0), COMPARE_REGRESSION);
	/* for a higher-is-better figure the same numbers are an improvement */
	assert_int_equal(compare_verdict(&r, 10, 1), COMPARE_IMPROVEMENT);
	/* swapped: an improvement, and a regression when higher is better */
	assert_int_equal(compare_samples(b, n, a, n, &o, &r, err), 0);
	assert_true(r.ci_lo_pct > -57 && r.ci_hi_pct < -43);
	assert_true(r.z < -10);
	assert_int_equal(compare_verdict(&r, 10, 0), COMPARE_IMPROVEMENT);
	assert_int_equal(compare_verdict(&r, 10, 1), COMPARE_REGRESSION);
	/* the histograms agree with the raw samples to within their resolution */
	struct hist *ha = to_hist(a, n), *hb = to_hist(b, n);
	assert_int_equal(compare_hists(hb, ha, &o, &rh, err), 0);
	assert_true(fabs(rh.ci_lo_pct - r.ci_lo_pct) < 1.5 && fabs(rh.ci_hi_pct - r.ci_hi_pct) < 1.5);
	assert_true(fabs(rh.z - r.z) < 0.5);
	assert_int_equal(compare_verdict(&rh, 10, 0), COMPARE_IMPROVEMENT);
	hist_free(ha);
	hist_free(hb);
	free(a);
	free(b);
}

static void test_threshold(void **state)
{
	(void)state;
	/* a real 3% shift: significant, but under a 5% threshold it is no change */
	size_t n = 20000;
	int64_t *a = lognormal(n, 300, 1, 5), *b = lognormal(n, 300, 1.03, 6);
	struct compare_opts o = COMPARE_OPTS_INIT;
	struct compare_result r;
	char err[ERR_MAX];
	assert_int_equal(compare_samples(a, n, b, n, &o, &r, err), 0);
	assert_true(r.ci_hi_pct < 5);
	assert_int_equal(compare_verdict(&r, 5, 0), COMPARE_NO_CHANGE);
	assert_true(r.p_value < 0.05);
	/* the p95 instead of the median */
	o.quantile = 95;
	assert_int_equal(compare_samples(a, n, b, n, &o, &r, err), 0);
	assert_true(r.stat_a > 600e6 && r.stat_a < 750e6);
	assert_int_equal(compare_verdict(&r, 10, 0), COMPARE_NO_CHANGE);
	/* hand-made intervals */
	struct compare_result m = { 0 };
	m.ci_lo_pct = 4;
	m.ci_hi_pct = 20;
	assert_int_equal(compare_verdict(&m, 5, 0), COMPARE_NO_CHANGE); /* straddles */
	assert_int_equal(compare_verdict(&m, 3, 0), COMPARE_REGRESSION);
	assert_int_equal(compare_verdict(&m, 3, 1), COMPARE_IMPROVEMENT);
	m.ci_lo_pct = -20;
	m.ci_hi_pct = -6;
	assert_int_equal(compare_verdict(&m, 5, 0), COMPARE_IMPROVEMENT);
	assert_int_equal(compare_verdict(&m, 5, 1), COMPARE_REGRESSION);
	assert_int_equal(compare_verdict(&m, 6, 0), COMPARE_NO_CHANGE);
	assert_string_equal(compare_verdict_name(COMPARE_REGRESSION), "regression");
	assert_string_equal(compare_verdict_name(COMPARE_NO_CHANGE), "no change");
	free(a);
	free(b);
}

static void test_deterministic(void **state)
{
	(void)state;
	size_t n = 5000;
	int64_t *a = lognormal(n, 100, 1, 7), *b = lognormal(n, 100, 1.1, 8);
	struct compare_opts o = COMPARE_OPTS_INIT;
	struct compare_result r1, r2, r3;
	char err[ERR_MAX];
	o.seed = 1234;
	assert_int_equal(compare_samples(a, n, b, n, &o, &r1, err), 0);
	assert_int_equal(compare_samples(a, n, b, n, &o, &r2, err), 0);
	assert_memory_equal(&r1, &r2, sizeof(r1));
	o.seed = 1235;
	assert_int_equal(compare_samples(a, n, b, n, &o, &r3, err), 0);
	assert_true(r3.ci_lo != r1.ci_lo || r3.ci_hi != r1.ci_hi);
	assert_true(fabs(r3.ci_lo_pct - r1.ci_lo_pct) < 2);
	assert_true(r3.diff == r1.diff && r3.u == r1.u);
	/* the inputs are untouched (compare sorts a copy) */
	int64_t *a2 = lognormal(n, 100, 1, 7);
	assert_memory_equal(a, a2, n * sizeof(*a));
	free(a2);
	free(a);
	free(b);
}

/* The order-statistic shortcut against a plain bootstrap (draw n indices, sort). */
static int cmp_d(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static int cmp_i(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return (a > b) - (a < b);
}

static void test_against_plain_bootstrap(void **state)
{
	(void)state;
	size_t n = 400;
	int R = 4000;
	int64_t *a = lognormal(n, 200, 1, 9), *b = lognormal(n, 200, 1.2, 10);
	int64_t *ra = malloc(n * sizeof(*ra)), *rb = malloc(n * sizeof(*rb));
	double *pct = malloc(R * sizeof(*pct));
	struct rng rng;
	rng_seed(&rng, 77);
	uint64_t k = hist_rank(50, n);
	for (int i = 0; i < R; i++) {
		for (size_t j = 0; j < n; j++) {
			ra[j] = a[rng_below(&rng, n)];
			rb[j] = b[rng_below(&rng, n)];
		}
		qsort(ra, n, sizeof(*ra), cmp_i);
		qsort(rb, n, sizeof(*rb), cmp_i);
		pct[i] = 100.0 * ((double)rb[k - 1] / (double)ra[k - 1] - 1);
	}
	qsort(pct, R, sizeof(*pct), cmp_d);
	double lo = pct[(int)(0.025 * R)], hi = pct[(int)(0.975 * R) - 1];
	struct compare_opts o = COMPARE_OPTS_INIT;
	o.resamples = R;
	struct compare_result r;
	char err[ERR_MAX];
	assert_int_equal(compare_samples(a, n, b, n, &o, &r, err), 0);
	if (fabs(r.ci_lo_pct - lo) > 2 || fabs(r.ci_hi_pct - hi) > 2) {
		print_error("plain [%.2f, %.2f], shortcut [%.2f, %.2f]\n", lo, hi, r.ci_lo_pct,
			    r.ci_hi_pct);
		fail();
	}
	free(a);
	free(b);
	free(ra);
	free(rb);
	free(pct);
}

static void test_errors(void **state)
{
	(void)state;
	int64_t a[] = { 1, 2 };
	struct compare_opts o = COMPARE_OPTS_INIT;
	struct compare_result r;
	char err[ERR_MAX];
	assert_int_equal(compare_samples(a, 0, a, 2, &o, &r, err), -1);
	assert_non_null(strstr(err, "baseline"));
	assert_int_equal(compare_samples(a, 2, a, 0, &o, &r, err), -1);
	assert_non_null(strstr(err, "candidate"));
	o.resamples = 10;
	assert_int_equal(compare_samples(a, 2, a, 2, &o, &r, err), -1);
	assert_non_null(strstr(err, "resample"));
	o = (struct compare_opts)COMPARE_OPTS_INIT;
	o.quantile = 100;
	assert_int_equal(compare_samples(a, 2, a, 2, &o, &r, err), -1);
	assert_non_null(strstr(err, "quantile"));
	o = (struct compare_opts)COMPARE_OPTS_INIT;
	o.confidence = 1;
	assert_int_equal(compare_samples(a, 2, a, 2, &o, &r, err), -1);
	assert_non_null(strstr(err, "confidence"));
	o = (struct compare_opts)COMPARE_OPTS_INIT;
	struct hist *h = hist_new(), *e = hist_new();
	hist_record(h, 5);
	assert_int_equal(compare_hists(e, h, &o, &r, err), -1);
	assert_non_null(strstr(err, "baseline histogram is empty"));
	assert_int_equal(compare_hists(h, h, &o, &r, err), 0);
	hist_free(h);
	hist_free(e);
}

/* Rates: the Poisson interval of the log ratio, worked by hand. */
static void test_rates(void **state)
{
	(void)state;
	struct compare_result r;
	char err[ERR_MAX];
	assert_int_equal(compare_rates(100, 10.0, 100, 10.0, 0.95, &r, err), 0);
	assert_true(fabs(r.diff_pct) < 1e-9);
	/* se = sqrt(2/100), z = 1.959964: exp(-+0.277181) */
	assert_true(fabs(r.ci_lo_pct - (-24.206)) < 0.01);
	assert_true(fabs(r.ci_hi_pct - 31.941) < 0.01);
	assert_int_equal(compare_verdict(&r, 10, 1), COMPARE_NO_CHANGE);
	/* halved over 400 requests each: [-56.47%, -42.57%], a regression beyond 10% */
	assert_int_equal(compare_rates(400, 10.0, 400, 5.0, 0.95, &r, err), 0);
	assert_true(fabs(r.diff_pct - (-50)) < 1e-9);
	assert_true(fabs(r.ci_lo_pct - (-56.471)) < 0.01);
	assert_true(fabs(r.ci_hi_pct - (-42.567)) < 0.01);
	assert_true(r.p_value < 1e-15);
	assert_int_equal(compare_verdict(&r, 10, 1), COMPARE_REGRESSION);
	assert_int_equal(compare_verdict(&r, 60, 1), COMPARE_NO_CHANGE);
	/* doubled: an improvement */
	assert_int_equal(compare_rates(400, 5.0, 400, 10.0, 0.95, &r, err), 0);
	assert_int_equal(compare_verdict(&r, 10, 1), COMPARE_IMPROVEMENT);
	/* a wider confidence gives a wider interval (z = 2.5758) */
	assert_int_equal(compare_rates(100, 10.0, 100, 10.0, 0.99, &r, err), 0);
	assert_true(fabs(r.ci_hi_pct - 43.947) < 0.01);
	/* refusals */
	assert_int_equal(compare_rates(0, 10.0, 100, 10.0, 0.95, &r, err), -1);
	assert_non_null(strstr(err, "completed request"));
	assert_int_equal(compare_rates(10, 0.0, 100, 10.0, 0.95, &r, err), -1);
	assert_int_equal(compare_rates(10, 1.0, 100, NAN, 0.95, &r, err), -1);
	assert_int_equal(compare_rates(10, 1.0, 100, 1.0, 1.0, &r, err), -1);
}

/* Proportions: Newcombe's (1998) worked example for method 10, 56/70 vs 48/80:
 * difference 0.2, interval [0.0524, 0.3339]. */
static void test_proportions(void **state)
{
	(void)state;
	struct compare_prop p;
	char err[ERR_MAX];
	assert_int_equal(compare_proportions(48, 80, 56, 70, 0.95, &p, err), 0);
	assert_true(fabs(p.diff - 0.2) < 1e-12);
	assert_true(fabs(p.lo - 0.0524) < 0.0005);
	assert_true(fabs(p.hi - 0.3339) < 0.0005);
	/* from no failures to half of them: clearly up */
	assert_int_equal(compare_proportions(0, 100, 50, 100, 0.95, &p, err), 0);
	assert_true(fabs(p.lo - 0.39696) < 0.0005);
	assert_true(fabs(p.hi - 0.59617) < 0.0005);
	/* no failures on either side: an interval around 0 */
	assert_int_equal(compare_proportions(0, 24, 0, 24, 0.95, &p, err), 0);
	assert_true(p.lo < 0 && p.hi > 0 && p.diff == 0);
	/* one failure in 24 is not evidence of anything */
	assert_int_equal(compare_proportions(0, 24, 1, 24, 0.95, &p, err), 0);
	assert_true(p.lo < 0);
	assert_int_equal(compare_proportions(1, 0, 0, 5, 0.95, &p, err), -1);
	assert_int_equal(compare_proportions(6, 5, 0, 5, 0.95, &p, err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mann_whitney_known), cmocka_unit_test(test_identical),
		cmocka_unit_test(test_coverage),
		cmocka_unit_test(test_shifted),		   cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_deterministic),	   cmocka_unit_test(test_against_plain_bootstrap),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_proportions),
	};
	return cmocka_run_group_tests_name("compare", tests, NULL, NULL);
}
