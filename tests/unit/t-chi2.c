/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Chi-square: the incomplete gamma function against known values, and the GOF test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "../../lib/stats/chi2.h"

#define near(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static void test_gamma_q(void **state)
{
	(void)state;
	/* Q(1, x) = e^-x */
	near(gamma_q(1, 0.5), exp(-0.5), 1e-12);
	near(gamma_q(1, 7), exp(-7), 1e-12);
	/* Q(0.5, x) = erfc(sqrt(x)) */
	near(gamma_q(0.5, 0.2), erfc(sqrt(0.2)), 1e-10);
	near(gamma_q(0.5, 9), erfc(3), 1e-12);
	/* Q(2, x) = (1 + x) e^-x, on both sides of the series/fraction switch */
	near(gamma_q(2, 1.5), 2.5 * exp(-1.5), 1e-12);
	near(gamma_q(2, 3.5), 4.5 * exp(-3.5), 1e-12);
	assert_true(gamma_q(3, 0) == 1.0);
	assert_true(isnan(gamma_q(0, 1)));
}

static void test_chi2_sf_tables(void **state)
{
	(void)state;
	/* critical values from the standard table: P(X >= x) */
	near(chi2_sf(3.841459, 1), 0.05, 1e-6);
	near(chi2_sf(6.634897, 1), 0.01, 1e-6);
	near(chi2_sf(5.991465, 2), 0.05, 1e-6);
	near(chi2_sf(11.344867, 3), 0.01, 1e-6);
	near(chi2_sf(18.307038, 10), 0.05, 1e-6);
	near(chi2_sf(124.342113, 100), 0.05, 1e-6);
	assert_true(chi2_sf(0, 4) == 1.0);
	assert_true(chi2_sf(1e6, 2) < 1e-100);
}

static void test_gof(void **state)
{
	(void)state;
	struct chi2_result r;
	/* 150:50 against weights 3:1 is exact */
	uint64_t exact[] = { 150, 50 };
	double w31[] = { 3, 1 };
	assert_int_equal(chi2_gof(exact, w31, 2, &r), 0);
	near(r.stat, 0, 1e-12);
	assert_int_equal(r.df, 1);
	near(r.p_value, 1, 1e-12);
	/* weights swapped: 50:150 against 3:1 -> (100^2/150 + 100^2/50) = 266.67 */
	uint64_t swapped[] = { 50, 150 };
	assert_int_equal(chi2_gof(swapped, w31, 2, &r), 0);
	near(r.stat, 10000.0 / 150 + 10000.0 / 50, 1e-9);
	assert_true(r.p_value < 1e-50);
	/* a textbook die: 60 throws, observed 5 8 9 8 10 20 -> 13.4, df 5, p 0.0199 */
	uint64_t die[] = { 5, 8, 9, 8, 10, 20 };
	double even[] = { 1, 1, 1, 1, 1, 1 };
	assert_int_equal(chi2_gof(die, even, 6, &r), 0);
	near(r.stat, 13.4, 1e-9);
	near(r.p_value, 0.01990, 1e-4);
	/* refusals */
	double bad[] = { 1, 0 };
	assert_int_equal(chi2_gof(exact, bad, 2, &r), -1);
	uint64_t none[] = { 0, 0 };
	assert_int_equal(chi2_gof(none, w31, 2, &r), -1);
	assert_int_equal(chi2_gof(exact, w31, 1, &r), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gamma_q),
		cmocka_unit_test(test_chi2_sf_tables),
		cmocka_unit_test(test_gof),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
