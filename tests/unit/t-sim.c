/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for the simulator's pure parts: token counts, fault specs, settings, model names. */
#include "../../lib/compat.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/sim/sim.h"
#include "../../lib/sim/sim-internal.h"

static void test_tokens(void **state)
{
	(void)state;
	assert_int_equal(sim_text_tokens(NULL), 0);
	assert_int_equal(sim_text_tokens(""), 0);
	assert_int_equal(sim_text_tokens("a"), 1);
	assert_int_equal(sim_text_tokens("abcd"), 1);
	assert_int_equal(sim_text_tokens("abcde"), 2);
	assert_int_equal(sim_text_tokens("Why is the sky blue?"), 5);
}

static void test_faults(void **state)
{
	(void)state;
	struct sim_config cfg;
	char err[ERR_MAX], d[256];
	sim_config_init(&cfg);
	struct sim_settings *s = &cfg.defaults;
	assert_int_equal(sim_fault_apply(s, "500@0.25", err), 0);
	assert_true(s->faults[SIM_FAULT_500].frac == 0.25);
	assert_int_equal(sim_fault_apply(s, "stall=2s@0.5", err), 0);
	assert_true(s->faults[SIM_FAULT_STALL].arg_ns == 2000000000LL);
	assert_int_equal(sim_fault_apply(s, "hang", err), 0);
	sim_fault_describe(s, d, sizeof(d));
	assert_string_equal(d, "hang,500@0.25,stall=2s@0.5");
	assert_int_equal(sim_fault_apply(s, "down", err), 0);
	assert_int_equal(sim_fault_apply(s, "up", err), 0);
	assert_true(s->faults[SIM_FAULT_DOWN].frac == 0);
	assert_int_equal(sim_fault_apply(s, "none", err), 0);
	sim_fault_describe(s, d, sizeof(d));
	assert_string_equal(d, "");
	assert_int_equal(sim_fault_apply(s, "explode", err), -1);
	assert_non_null(strstr(err, "unknown fault"));
	assert_int_equal(sim_fault_apply(s, "stall", err), -1);
	assert_int_equal(sim_fault_apply(s, "500@2", err), -1);
	assert_int_equal(sim_fault_apply(s, "hang=3", err), -1);
	sim_config_release(&cfg);
}

static void test_settings(void **state)
{
	(void)state;
	struct sim_config cfg;
	char err[ERR_MAX];
	sim_config_init(&cfg);
	assert_int_equal(sim_settings_set(&cfg.defaults, "num-parallel", "4", err), 0);
	assert_int_equal(cfg.defaults.num_parallel, 4);
	assert_int_equal(sim_settings_set(&cfg.defaults, "keep-alive", "-1", err), 0);
	assert_true(cfg.defaults.keep_alive_ns == INT64_MAX);
	assert_int_equal(sim_settings_set(&cfg.defaults, "tok-interval", "5ms", err), 0);
	assert_true(cfg.defaults.tok_interval_ns == 5000000);
	assert_int_equal(sim_settings_set(&cfg.defaults, "tokens", "x", err), -1);
	assert_int_equal(sim_settings_set(&cfg.defaults, "nope", "1", err), -1);
	assert_int_equal(sim_config_instance_arg(&cfg, "gpu-2:models=a,b,tokens=9", err), 0);
	assert_int_equal(cfg.nov, 2);
	assert_string_equal(cfg.ov[0].instance, "gpu-2");
	assert_string_equal(cfg.ov[0].key, "models");
	assert_string_equal(cfg.ov[0].value, "a,b");
	assert_string_equal(cfg.ov[1].key, "tokens");
	assert_string_equal(cfg.ov[1].value, "9");
	assert_int_equal(sim_config_instance_arg(&cfg, "gpu-2", err), -1);
	assert_int_equal(sim_config_instance_arg(&cfg, "gpu-2:x", err), -1);
	sim_config_release(&cfg);
}

static void test_names(void **state)
{
	(void)state;
	char *c = simmodel_canonical("llama3.2");
	assert_string_equal(c, "llama3.2:latest");
	free(c);
	c = simmodel_canonical("registry.ollama.ai/library/qwen2.5:0.5b");
	assert_string_equal(c, "qwen2.5:0.5b");
	free(c);
	c = simmodel_canonical("me/model:v1");
	assert_string_equal(c, "me/model:v1");
	free(c);
	assert_null(simmodel_canonical(""));
	assert_null(simmodel_canonical("bad name"));
	assert_null(simmodel_canonical("x:"));
	char a[65], b[65];
	simmodel_hex(0, "llama3.2:latest", a);
	simmodel_hex(0, "llama3.2:latest", b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 64);
	simmodel_hex(1, "llama3.2:latest", b);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
