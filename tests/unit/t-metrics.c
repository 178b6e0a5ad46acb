/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/fleet/metrics.c: the Prometheus exposition parser and GPU aggregates. */
#include "../../lib/compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../lib/fleet/metrics.h"
#include "../../lib/banned.h"

static const char dcgm[] =
	"# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n"
	"# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n"
	"DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-a\",device=\"nvidia0\",modelName=\"NVIDIA A100-SXM4-80GB\",Hostname=\"h\"} 87\n"
	"DCGM_FI_DEV_GPU_UTIL{gpu=\"1\",UUID=\"GPU-b\",device=\"nvidia1\",modelName=\"NVIDIA A100-SXM4-80GB\",Hostname=\"h\"} 13\n"
	"DCGM_FI_DEV_FB_USED{gpu=\"0\",UUID=\"GPU-a\"} 20480\n"
	"DCGM_FI_DEV_FB_USED{gpu=\"1\",UUID=\"GPU-b\"} 4096\n"
	"DCGM_FI_DEV_FB_FREE{gpu=\"0\",UUID=\"GPU-a\"} 61440\n"
	"DCGM_FI_DEV_FB_FREE{gpu=\"1\",UUID=\"GPU-b\"} 77824\n"
	"DCGM_FI_DEV_GPU_TEMP{gpu=\"0\"} 71\n"
	"DCGM_FI_DEV_GPU_TEMP{gpu=\"1\"} 45\n"
	"DCGM_FI_DEV_POWER_USAGE{gpu=\"0\"} 312.5 1700000000000\n"
	"DCGM_FI_DEV_POWER_USAGE{gpu=\"1\"} 80.25\r\n"
	"DCGM_FI_DEV_SM_CLOCK{gpu=\"0\"} 1410\n";

static void test_dcgm(void **state)
{
	(void)state;
	struct metrics m;
	char err[ERR_MAX] = "";
	assert_int_equal(metrics_parse(dcgm, strlen(dcgm), &m, err), 0);
	assert_int_equal(m.ngpu, 2);
	assert_string_equal(m.gpu[0].id, "0");
	assert_string_equal(m.gpu[0].model, "NVIDIA A100-SXM4-80GB");
	assert_int_equal(m.gpu[0].has, METRICS_UTIL | METRICS_FB_USED | METRICS_FB_FREE |
					       METRICS_TEMP | METRICS_POWER);
	assert_true(m.gpu[1].util == 13);
	assert_int_equal(m.nmalformed, 0);
	assert_true(metrics_util_avg(&m) == 50);
	assert_true(metrics_fb_used_mib(&m) == 24576);
	assert_true(metrics_fb_total_mib(&m) == 163840);
	assert_true(metrics_temp_max(&m) == 71);
	assert_true(metrics_power_sum(&m) == 392.75);
}

static void test_malformed(void **state)
{
	(void)state;
	static const char text[] =
		"DCGM_FI_DEV_GPU_UTIL{gpu=\"0\"} 40\n"
		"this is not a sample\n"
		"DCGM_FI_DEV_GPU_UTIL{gpu=\"1\" 50\n"            /* unterminated labels */
		"DCGM_FI_DEV_GPU_UTIL{gpu=\"2} 60\n"             /* unterminated value */
		"DCGM_FI_DEV_GPU_UTIL{gpu=\"3\"} abc\n"          /* bad number */
		"DCGM_FI_DEV_GPU_UTIL{gpu=\"4\"} 1 2 3\n"        /* trailing junk */
		"DCGM_FI_DEV_GPU_UTIL{gpu=\"5\"}\n"              /* no value */
		"{gpu=\"6\"} 7\n"                                /* no name */
		"DCGM_FI_DEV_GPU_UTIL{gpu=\"7\",} 70\n"          /* trailing comma is fine */
		"DCGM_FI_DEV_GPU_UTIL{gpu=\"8\",x=\"a\\\"b\\\\\"} NaN\n" /* escapes; NaN ignored */
		"   \n"
		"# a comment {\n";
	struct metrics m;
	char err[ERR_MAX] = "";
	assert_int_equal(metrics_parse(text, strlen(text), &m, err), 0);
	assert_int_equal(m.nmalformed, 7);
	assert_int_equal(m.ngpu, 2);
	assert_string_equal(m.gpu[0].id, "0");
	assert_string_equal(m.gpu[1].id, "7");
	assert_true(metrics_util_avg(&m) == 55);
	assert_true(metrics_fb_used_mib(&m) < 0);
	assert_true(metrics_temp_max(&m) < 0);
}

static void test_not_exposition(void **state)
{
	(void)state;
	static const char html[] = "<html>\n<body>not found</body>\n</html>\n";
	struct metrics m;
	char err[ERR_MAX] = "";
	assert_int_equal(metrics_parse(html, strlen(html), &m, err), -1);
	assert_non_null(strstr(err, "not a Prometheus exposition"));
	/* empty text is fine: no GPUs */
	assert_int_equal(metrics_parse("", 0, &m, err), 0);
	assert_int_equal(m.ngpu, 0);
	assert_true(metrics_util_avg(&m) < 0);
	/* no trailing newline, label value with a control character sanitized */
	static const char t[] = "DCGM_FI_DEV_GPU_UTIL{gpu=\"0\\n\"} 5";
	assert_int_equal(metrics_parse(t, strlen(t), &m, err), 0);
	assert_int_equal(m.ngpu, 1);
	assert_null(strchr(m.gpu[0].id, '\n'));
}

static void test_node_exporter(void **state)
{
	(void)state;
	static const char text[] =
		"# TYPE node_memory_MemTotal_bytes gauge\n"
		"node_memory_MemTotal_bytes 6.7108864e+10\n"
		"node_memory_MemAvailable_bytes 3.3554432e+10\n"
		"node_load1 0.5\n";
	struct metrics m;
	char err[ERR_MAX] = "";
	assert_int_equal(metrics_parse(text, strlen(text), &m, err), 0);
	assert_int_equal(m.ngpu, 0);
	assert_true(m.has_mem);
	assert_true(m.mem_total_bytes == 67108864000.0);
	assert_true(m.mem_avail_bytes == 33554432000.0);
}

static void test_many_gpus(void **state)
{
	(void)state;
	char text[4096] = "";
	size_t o = 0;
	for (int g = 0; g < METRICS_GPU_MAX + 4; g++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "DCGM_FI_DEV_GPU_UTIL{gpu=\"%d\"} %d\n", g, 10);
	struct metrics m;
	char err[ERR_MAX] = "";
	assert_int_equal(metrics_parse(text, o, &m, err), 0);
	assert_int_equal(m.ngpu, METRICS_GPU_MAX);
	assert_true(metrics_util_avg(&m) == 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dcgm),           cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_not_exposition), cmocka_unit_test(test_node_exporter),
		cmocka_unit_test(test_many_gpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
