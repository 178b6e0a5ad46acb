/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/render/chart: bar layout, scaling, widths, ASCII mode. */
#include "../../lib/compat.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/render/chart.h"
#include "../../lib/util/buf.h"

/* Display columns of one line (UTF-8 characters). */
static size_t cols(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

static size_t count(const char *s, size_t n, const char *what)
{
	size_t k = 0, l = strlen(what);
	for (size_t i = 0; i + l <= n; i++)
		if (!memcmp(s + i, what, l))
			k++;
	return k;
}

static void test_layout(void **state)
{
	(void)state;
	const char *labels[] = { "1", "16" };
	const char *texts[] = { "10 ms / 20 ms", "40 ms / 80 ms" };
	double a[] = { 10, 40 }, b[] = { 20, 80 };
	struct buf o = BUF_INIT;
	chart_bars(&o, "title", labels, a, b, texts, 2, 60, 1);
	const char *s = buf_str(&o);
	assert_true(!strncmp(s, "title\n", 6));
	int cells = chart_bar_cells(labels, texts, 2, 60);
	assert_int_equal(cells, 60 - 2 - 2 - 13 - 2);
	const char *l1 = strchr(s, '\n') + 1, *l2 = strchr(l1, '\n') + 1;
	size_t n1 = (size_t)(strchr(l1, '\n') - l1), n2 = (size_t)(strchr(l2, '\n') - l2);
	/* both lines are exactly 60 columns; labels right-aligned */
	assert_int_equal(cols(l1, n1), 60);
	assert_int_equal(cols(l2, n2), 60);
	assert_true(!strncmp(l1, " 1 \xe2\x94\x82", 6));
	assert_true(!strncmp(l2, "16 \xe2\x94\x82", 6));
	/* the largest value fills the bar: solid half, light half */
	size_t full = count(l2, n2, "\xe2\x96\x88"), light = count(l2, n2, "\xe2\x96\x91");
	assert_int_equal(full, (size_t)cells / 2);
	assert_true(light + full == (size_t)cells || light + full + 1 == (size_t)cells);
	/* a quarter of the scale: cells/8 solid plus at most one partial cell */
	assert_true(count(l1, n1, "\xe2\x96\x88") == (size_t)cells / 8);
	buf_release(&o);
}

static void test_ascii_and_narrow(void **state)
{
	(void)state;
	const char *labels[] = { "1", "2", "4" };
	double a[] = { 1, 2, 0 };
	struct buf o = BUF_INIT;
	chart_bars(&o, NULL, labels, a, NULL, NULL, 3, 10, 0);
	const char *s = buf_str(&o);
	for (const char *p = s; *p; p++)
		assert_true((unsigned char)*p < 0x80);
	/* width below 30 is raised to 30: 30 - 1 - 2 - 0 - 2 = 25 cells */
	assert_int_equal(chart_bar_cells(labels, NULL, 3, 10), 25);
	const char *l2 = strchr(s, '\n') + 1;
	assert_true(!strncmp(l2, "2 |#########################\n", 29));
	/* zero and negative values draw nothing */
	const char *l3 = strchr(l2, '\n') + 1;
	assert_string_equal(l3, "4 |\n");
	buf_release(&o);
	/* all zero: no division by zero */
	double z[] = { 0, 0, 0 };
	chart_bars(&o, NULL, labels, z, z, NULL, 3, 80, 1);
	assert_non_null(strstr(buf_str(&o), "1 \xe2\x94\x82\n"));
	buf_release(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_ascii_and_narrow),
	};
	return cmocka_run_group_tests_name("chart", tests, NULL, NULL);
}
