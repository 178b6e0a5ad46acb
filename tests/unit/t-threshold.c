/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/stats/threshold.c: Nagios threshold ranges and how states combine. */
#include "../../lib/compat.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/stats/threshold.h"
#include "../../lib/util/util.h"

struct range_case {
	const char *range;
	double v;
	int alert;
};

static const struct range_case cases[] = {
	/* the examples of the plugin guidelines */
	{ "10", -1, 1 },    { "10", 0, 0 },     { "10", 10, 0 },   { "10", 10.5, 1 },
	{ "10:", 9.9, 1 },  { "10:", 10, 0 },   { "10:", 1e9, 0 },
	{ "~:10", -1e9, 0 }, { "~:10", 10, 0 }, { "~:10", 11, 1 },
	{ "10:20", 9, 1 },  { "10:20", 10, 0 }, { "10:20", 20, 0 }, { "10:20", 21, 1 },
	{ "@10:20", 9, 0 }, { "@10:20", 10, 1 }, { "@10:20", 20, 1 }, { "@10:20", 21, 0 },
	/* durations */
	{ "500ms", 0.4, 0 }, { "500ms", 0.6, 1 }, { "1.5", 1.6, 1 }, { ":2s", 1, 0 },
};

static void test_ranges(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct nagios_range r;
		char err[ERR_MAX] = "";
		assert_int_equal(nagios_range_parse(&r, cases[i].range, err), 0);
		if (nagios_range_alert(&r, cases[i].v) != cases[i].alert) {
			print_error("range %s value %g: want alert=%d\n", cases[i].range,
				    cases[i].v, cases[i].alert);
			fail();
		}
	}
	static const char *const bad[] = { "", "abc", "20:10", "1:x", "@", "10:20:30" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct nagios_range r;
		char err[ERR_MAX] = "";
		if (nagios_range_parse(&r, bad[i], err) != -1) {
			print_error("'%s' should be rejected\n", bad[i]);
			fail();
		}
		assert_non_null(strstr(err, "threshold range"));
	}
}

static void test_check_order(void **state)
{
	(void)state;
	struct nagios_range w, c;
	char err[ERR_MAX];
	assert_int_equal(nagios_range_parse(&w, "1", err), 0);
	assert_int_equal(nagios_range_parse(&c, "2", err), 0);
	assert_int_equal(nagios_check(&w, &c, 0.5), NAGIOS_OK);
	assert_int_equal(nagios_check(&w, &c, 1.5), NAGIOS_WARNING);
	assert_int_equal(nagios_check(&w, &c, 2.5), NAGIOS_CRITICAL);
	/* critical is evaluated first even when warning is wider */
	assert_int_equal(nagios_range_parse(&w, "5", err), 0);
	assert_int_equal(nagios_check(&w, &c, 3), NAGIOS_CRITICAL);
	assert_int_equal(nagios_check(NULL, NULL, 3), NAGIOS_OK);
	assert_int_equal(nagios_worst(NAGIOS_OK, NAGIOS_WARNING), NAGIOS_WARNING);
	assert_int_equal(nagios_worst(NAGIOS_CRITICAL, NAGIOS_WARNING), NAGIOS_CRITICAL);
	assert_int_equal(nagios_worst(NAGIOS_UNKNOWN, NAGIOS_OK), NAGIOS_UNKNOWN);
	assert_string_equal(nagios_state_name(NAGIOS_CRITICAL), "CRITICAL");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_check_order),
	};
	return cmocka_run_group_tests_name("threshold", tests, NULL, NULL);
}
