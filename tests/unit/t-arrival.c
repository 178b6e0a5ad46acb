/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/stats/rng and lib/stats/arrival: known answers, moments, schedules. */
#include "../../lib/compat.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/stats/arrival.h"
#include "../../lib/stats/rng.h"

static void test_known_answers(void **state)
{
	(void)state;
	struct rng r;
	/* splitmix64(0) and the xoshiro256** reference sequence from state {1, 2, 3, 4} */
	rng_seed(&r, 0);
	assert_true(r.s[0] == UINT64_C(0xe220a8397b1dcdaf));
	r.s[0] = 1, r.s[1] = 2, r.s[2] = 3, r.s[3] = 4;
	assert_true(rng_next(&r) == UINT64_C(11520));
	assert_true(rng_next(&r) == UINT64_C(0));
	assert_true(rng_next(&r) == UINT64_C(1509978240));
	assert_true(rng_next(&r) == UINT64_C(1215971899390074240));
	/* same seed, same stream; a copy forks it */
	struct rng a, b;
	rng_seed(&a, 42);
	rng_seed(&b, 42);
	for (int i = 0; i < 1000; i++)
		assert_true(rng_next(&a) == rng_next(&b));
	rng_seed(&b, 43);
	assert_true(rng_next(&a) != rng_next(&b));
}

static void test_uniform(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 7);
	int n = 1000000;
	double sum = 0;
	uint64_t bins[10] = { 0 };
	for (int i = 0; i < n; i++) {
		double u = rng_uniform(&r), p = rng_uniform_pos(&r);
		assert_true(u >= 0 && u < 1);
		assert_true(p > 0 && p <= 1);
		sum += u;
		uint64_t k = rng_below(&r, 10);
		assert_true(k < 10);
		bins[k]++;
	}
	assert_true(fabs(sum / n - 0.5) < 0.002);
	/* chi-square with 9 degrees of freedom: 27.9 is the 0.001 tail */
	double chi = 0;
	for (int k = 0; k < 10; k++)
		chi += (bins[k] - n / 10.0) * (bins[k] - n / 10.0) / (n / 10.0);
	assert_true(chi < 27.9);
	assert_true(rng_below(&r, 1) == 0);
	/* a bound that is not a power of two, near 2^64 */
	for (int i = 0; i < 1000; i++)
		assert_true(rng_below(&r, UINT64_C(0xc000000000000001)) < UINT64_C(0xc000000000000001));
}

/* Mean and variance of n draws of f. */
static void moments(struct rng *r, double (*f)(struct rng *, double), double arg, int n,
		    double *mean, double *var)
{
	double s = 0, s2 = 0;
	for (int i = 0; i < n; i++) {
		double x = f(r, arg);
		s += x;
		s2 += x * x;
	}
	*mean = s / n;
	*var = s2 / n - *mean * *mean;
}

static double draw_normal(struct rng *r, double a)
{
	(void)a;
	return rng_normal(r);
}

static double draw_exp(struct rng *r, double a)
{
	(void)a;
	return rng_exp(r);
}

static double draw_beta(struct rng *r, double a)
{
	return rng_beta(r, a, 2 * a);
}

static void test_distributions(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 11);
	double m, v;
	int n = 400000;
	moments(&r, draw_normal, 0, n, &m, &v);
	assert_true(fabs(m) < 0.01 && fabs(v - 1) < 0.01);
	moments(&r, draw_exp, 0, n, &m, &v);
	assert_true(fabs(m - 1) < 0.01 && fabs(v - 1) < 0.03);
	static const double shapes[] = { 0.25, 0.5, 1, 2.5, 4, 30, 5000 };
	for (size_t i = 0; i < ARRAY_SIZE(shapes); i++) {
		double k = shapes[i];
		moments(&r, rng_gamma, k, n, &m, &v);
		/* standard error of the mean is sqrt(k / n); allow 5 of them, and 5% on the variance */
		if (fabs(m - k) > 5 * sqrt(k / n) || fabs(v / k - 1) > 0.05 + 2 / k / 100) {
			print_error("gamma(%g): mean %g var %g\n", k, m, v);
			fail();
		}
	}
	assert_true(rng_gamma(&r, 0) == 0);
	assert_true(rng_gamma(&r, -1) == 0);
	/* Beta(a, 2a) has mean 1/3 */
	moments(&r, draw_beta, 3, n, &m, &v);
	assert_true(fabs(m - 1.0 / 3) < 0.003);
	moments(&r, draw_beta, 4000, n / 10, &m, &v);
	assert_true(fabs(m - 1.0 / 3) < 0.001);
}

/* Mean rate (1/s) and coefficient of variation of the gaps over n arrivals. */
static void schedule_stats(struct arrival *a, int n, double *rate, double *cv)
{
	int64_t prev = arrival_next(a), first = prev;
	assert_int_equal(first, 0);
	double s = 0, s2 = 0;
	for (int i = 1; i < n; i++) {
		int64_t t = arrival_next(a);
		assert_true(t >= prev);
		double g = (double)(t - prev);
		s += g;
		s2 += g * g;
		prev = t;
	}
	double mean = s / (n - 1);
	*rate = 1e9 / mean;
	*cv = sqrt(fmax(0, s2 / (n - 1) - mean * mean)) / mean;
}

static void test_schedules(void **state)
{
	(void)state;
	struct arrival a;
	char err[ERR_MAX];
	double rate, cv;
	int n = 200000;

	assert_int_equal(arrival_init(&a, ARRIVAL_FIXED, 30, 0, 1, err), 0);
	schedule_stats(&a, n, &rate, &cv);
	assert_true(fabs(rate - 30) < 1e-6);
	assert_true(cv < 1e-6);
	/* no drift: the 3,000,000th arrival of a 3/s schedule is at exactly 1,000,000 s */
	assert_int_equal(arrival_init(&a, ARRIVAL_FIXED, 3, 0, 1, err), 0);
	for (int i = 0; i < 3000000; i++)
		arrival_next(&a);
	assert_true(arrival_next(&a) == INT64_C(1000000) * 1000000000);

	assert_int_equal(arrival_init(&a, ARRIVAL_POISSON, 50, 0, 2, err), 0);
	schedule_stats(&a, n, &rate, &cv);
	assert_true(fabs(rate / 50 - 1) < 0.01);
	assert_true(fabs(cv - 1) < 0.02);

	static const double shapes[] = { 0.25, 1, 4, 16 };
	for (size_t i = 0; i < ARRAY_SIZE(shapes); i++) {
		assert_int_equal(arrival_init(&a, ARRIVAL_GAMMA, 7.5, shapes[i], 3 + i, err), 0);
		schedule_stats(&a, n, &rate, &cv);
		double want = 1 / sqrt(shapes[i]);
		if (fabs(rate / 7.5 - 1) > 0.015 || fabs(cv / want - 1) > 0.03) {
			print_error("gamma B=%g: rate %g cv %g (want %g)\n", shapes[i], rate, cv, want);
			fail();
		}
	}

	/* deterministic for a seed, different across seeds */
	struct arrival b;
	arrival_init(&a, ARRIVAL_GAMMA, 10, 2, 99, err);
	arrival_init(&b, ARRIVAL_GAMMA, 10, 2, 99, err);
	for (int i = 0; i < 1000; i++)
		assert_true(arrival_next(&a) == arrival_next(&b));
	arrival_init(&b, ARRIVAL_GAMMA, 10, 2, 100, err);
	arrival_next(&b);
	arrival_next(&a);
	assert_true(arrival_next(&a) != arrival_next(&b));
}

static void test_errors(void **state)
{
	(void)state;
	struct arrival a;
	char err[ERR_MAX];
	assert_int_equal(arrival_init(&a, ARRIVAL_FIXED, 0, 0, 1, err), -1);
	assert_non_null(strstr(err, "invalid request rate"));
	assert_int_equal(arrival_init(&a, ARRIVAL_POISSON, -3, 0, 1, err), -1);
	assert_int_equal(arrival_init(&a, ARRIVAL_POISSON, NAN, 0, 1, err), -1);
	assert_int_equal(arrival_init(&a, ARRIVAL_POISSON, INFINITY, 0, 1, err), -1);
	assert_int_equal(arrival_init(&a, ARRIVAL_GAMMA, 1, 0, 1, err), -1);
	assert_non_null(strstr(err, "burstiness"));
	assert_int_equal(arrival_init(&a, (enum arrival_kind)9, 1, 1, 1, err), -1);
	enum arrival_kind k;
	assert_int_equal(arrival_kind_parse("poisson", &k, err), 0);
	assert_int_equal(k, ARRIVAL_POISSON);
	assert_int_equal(arrival_kind_parse("gamma", &k, err), 0);
	assert_int_equal(k, ARRIVAL_GAMMA);
	assert_int_equal(arrival_kind_parse("normal", &k, err), -1);
	assert_non_null(strstr(err, "'normal'"));
	assert_string_equal(arrival_kind_name(ARRIVAL_FIXED), "fixed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers), cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_distributions), cmocka_unit_test(test_schedules),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests_name("arrival", tests, NULL, NULL);
}
