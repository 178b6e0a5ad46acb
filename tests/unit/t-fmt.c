/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/render/fmt.c: the PROCESSOR and UNTIL columns of ps. */
#include "../../lib/compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "../../lib/render/fmt.h"
#include "../../lib/util/units.h"
#include "../../lib/banned.h"

#define S 1000000000LL
#define NOW (1795000000LL * S) /* late 2026 */

static const char *proc(uint64_t size, uint64_t vram)
{
	static char out[64];
	return fmt_processor(size, vram, out, sizeof(out));
}

static const char *until(int64_t exp)
{
	static char out[64];
	return fmt_until(exp, NOW, out, sizeof(out));
}

static const char *dur(int64_t ns)
{
	static char out[64];
	return units_duration(ns, UNITS_DUR_HUMAN, out, sizeof(out));
}

static void test_processor(void **state)
{
	(void)state;
	assert_string_equal(proc(5137025024ULL, 0), "100% CPU");
	assert_string_equal(proc(5137025024ULL, 5137025024ULL), "100% GPU");
	assert_string_equal(proc(100, 52), "48%/52% CPU/GPU");
	assert_string_equal(proc(1000, 995), "1%/99% CPU/GPU");   /* 0.5 rounds up */
	assert_string_equal(proc(1000, 996), "0%/100% CPU/GPU");  /* as the CLI prints it */
	assert_string_equal(proc(3, 1), "67%/33% CPU/GPU");
	assert_string_equal(proc(100, 200), "Unknown");
	assert_string_equal(proc(0, 0), "100% CPU");
}

static void test_human_duration(void **state)
{
	(void)state;
	assert_string_equal(dur(0), "Less than a second");
	assert_string_equal(dur(999999999), "Less than a second");
	assert_string_equal(dur(S), "1 second");
	assert_string_equal(dur(59 * S + S / 2), "59 seconds");
	assert_string_equal(dur(60 * S), "About a minute");
	assert_string_equal(dur(119 * S), "About a minute");
	assert_string_equal(dur(120 * S), "2 minutes");
	assert_string_equal(dur(4 * 60 * S + 59 * S), "4 minutes");
	assert_string_equal(dur(59 * 60 * S), "59 minutes");
	assert_string_equal(dur(60 * 60 * S), "About an hour");
	assert_string_equal(dur(89 * 60 * S), "About an hour");
	assert_string_equal(dur(91 * 60 * S), "2 hours");
	assert_string_equal(dur(47 * 3600 * S), "47 hours");
	assert_string_equal(dur(48 * 3600 * S), "2 days");
	assert_string_equal(dur(14 * 24 * 3600 * S), "2 weeks");
	assert_string_equal(dur(60 * 24 * 3600 * S), "2 months");
	assert_string_equal(dur(800 * 24 * 3600 * S), "2 years");
	assert_string_equal(dur(-120 * S), "2 minutes");
}

static void test_until(void **state)
{
	(void)state;
	assert_string_equal(until(INT64_MAX), "Forever");
	/* ~292 years ahead, as Ollama reports keep_alive -1 (clamped by the parser). */
	assert_string_equal(until(NOW + 21 * 366 * 24 * 3600 * S), "Forever");
	assert_string_equal(until(NOW + 19 * 365 * 24 * 3600 * S), "19 years from now");
	assert_string_equal(until(NOW + 4 * 60 * S + 59 * S), "4 minutes from now");
	assert_string_equal(until(NOW + 5 * 60 * S), "5 minutes from now");
	assert_string_equal(until(NOW + 61 * S), "About a minute from now");
	assert_string_equal(until(NOW + 59 * S), "59 seconds from now");
	assert_string_equal(until(NOW + S / 2), "Less than a second from now");
	assert_string_equal(until(NOW - 1), "Stopping...");
	assert_string_equal(until(NOW - 3600 * S), "Stopping...");
	assert_string_equal(until(INT64_MIN), "Stopping...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_processor),
		cmocka_unit_test(test_human_duration),
		cmocka_unit_test(test_until),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
