/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for the simulator's pure parts: token counts, fault specs, settings, model names,
 * made-up structured output (schema values, pieces, base64), the emission figures. */
#include "../../lib/compat.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/sim/sim.h"
#include "../../lib/sim/sim-internal.h"
#include "../../lib/util/buf.h"

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

static void test_base64(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	simgen_base64(&b, (const unsigned char *)"foobar", 6);
	assert_string_equal(buf_str(&b), "Zm9vYmFy");
	buf_reset(&b);
	simgen_base64(&b, (const unsigned char *)"fo", 2);
	assert_string_equal(buf_str(&b), "Zm8=");
	buf_reset(&b);
	simgen_base64(&b, (const unsigned char *)"f", 1);
	assert_string_equal(buf_str(&b), "Zg==");
	buf_release(&b);
	assert_int_equal(simgen_base64_bad(""), -1);
	assert_int_equal(simgen_base64_bad("Zm9vYmFy"), -1);
	assert_int_equal(simgen_base64_bad("Zg=="), -1);
	assert_int_equal(simgen_base64_bad("Zm9v\nYmFy"), -1);
	/* Go: "illegal base64 data at input byte N" */
	assert_int_equal(simgen_base64_bad("not base64!"), 3);
	assert_int_equal(simgen_base64_bad("Zg=a"), 3);
	assert_int_equal(simgen_base64_bad("Zm9vY"), 4);
	assert_int_equal(simgen_base64_bad("Zg==Zg=="), 4);
}

/* The value made for a schema parses and follows it. */
static void test_schema_value(void **state)
{
	(void)state;
	const char *schema =
		"{\"type\":\"object\",\"properties\":{"
		"\"name\":{\"type\":\"string\",\"maxLength\":3},"
		"\"age\":{\"type\":\"integer\",\"minimum\":18,\"maximum\":20},"
		"\"h\":{\"type\":\"number\",\"exclusiveMinimum\":1,\"exclusiveMaximum\":2},"
		"\"ok\":{\"type\":\"boolean\"},\"nul\":{\"type\":[\"null\",\"integer\"]},"
		"\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":3},"
		"\"role\":{\"enum\":[\"admin\",\"user\"]},\"k\":{\"const\":7},"
		"\"when\":{\"type\":\"string\",\"format\":\"date\"},"
		"\"pt\":{\"$ref\":\"#/$defs/point\"},"
		"\"any\":{\"anyOf\":[{\"type\":\"null\"},{\"type\":\"integer\",\"minimum\":5,\"maximum\":5}]}},"
		"\"required\":[\"name\",\"extra\"],"
		"\"$defs\":{\"point\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}}}}}";
	cJSON *sc = cJSON_Parse(schema);
	assert_non_null(sc);
	for (uint64_t seed = 0; seed < 50; seed++) {
		char *t = simgen_schema_value(sc, seed);
		cJSON *v = cJSON_Parse(t);
		assert_non_null(v);
		cJSON *x;
		x = cJSON_GetObjectItem(v, "name");
		assert_true(cJSON_IsString(x) && strlen(x->valuestring) <= 3);
		x = cJSON_GetObjectItem(v, "age");
		assert_true(cJSON_IsNumber(x) && x->valuedouble >= 18 && x->valuedouble <= 20 &&
			    x->valuedouble == (int)x->valuedouble);
		x = cJSON_GetObjectItem(v, "h");
		assert_true(cJSON_IsNumber(x) && x->valuedouble > 1 && x->valuedouble < 2);
		assert_true(cJSON_IsBool(cJSON_GetObjectItem(v, "ok")));
		assert_true(cJSON_IsNumber(cJSON_GetObjectItem(v, "nul")));
		x = cJSON_GetObjectItem(v, "tags");
		assert_true(cJSON_IsArray(x) && cJSON_GetArraySize(x) == 3 &&
			    cJSON_IsString(cJSON_GetArrayItem(x, 2)));
		assert_string_equal(cJSON_GetObjectItem(v, "role")->valuestring, "admin");
		assert_int_equal(cJSON_GetObjectItem(v, "k")->valueint, 7);
		assert_string_equal(cJSON_GetObjectItem(v, "when")->valuestring, "2026-08-21");
		assert_true(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "pt"), "x")));
		assert_int_equal(cJSON_GetObjectItem(v, "any")->valueint, 5);
		assert_true(cJSON_IsString(cJSON_GetObjectItem(v, "extra")));
		cJSON_Delete(v);
		free(t);
	}
	cJSON_Delete(sc);
	/* "json": some object; a self-reference ends instead of recursing forever */
	cJSON *json = cJSON_CreateString("json");
	char *t = simgen_format_text(json, 1);
	cJSON *v = cJSON_Parse(t);
	assert_true(cJSON_IsObject(v));
	cJSON_Delete(v);
	free(t);
	cJSON_Delete(json);
	sc = cJSON_Parse("{\"$ref\":\"#\"}");
	t = simgen_schema_value(sc, 1);
	assert_string_equal(t, "null");
	free(t);
	cJSON_Delete(sc);
}

static void test_pieces(void **state)
{
	(void)state;
	const char *text = "{\"answer\":\"fox river\",\"n\":[1,2]}";
	char **p;
	int n = simgen_pieces(text, &p);
	assert_true(n > 5);
	struct buf b = BUF_INIT;
	for (int i = 0; i < n; i++) {
		assert_true(strlen(p[i]) >= 1 && strlen(p[i]) <= 4);
		buf_adds(&b, p[i]);
	}
	assert_string_equal(buf_str(&b), text);
	buf_release(&b);
	simgen_pieces_free(p, n);
	char *f = simmodel_fullname("gemma3:1b");
	assert_string_equal(f, "registry.ollama.ai/library/gemma3:1b");
	free(f);
	f = simmodel_fullname("me/m:v1");
	assert_string_equal(f, "registry.ollama.ai/me/m:v1");
	free(f);
	f = simmodel_fullname("example.com:5000/me/m:v1");
	assert_string_equal(f, "example.com:5000/me/m:v1");
	free(f);
}

/* One chunk of r handed over at t carrying n tokens (what the stream reader does). */
static void emit_chunk(struct simreq *r, int64_t t, int n)
{
	r->em_tokens = n;
	r->em_carry = 1;
	simemit_record(r, t);
	assert_int_equal(r->em_tokens, 0);
	assert_int_equal(r->em_carry, 0);
}

static const cJSON *jpath(const cJSON *j, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, a);
	if (b)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	assert_non_null(x);
	assert_true(cJSON_IsNumber(x));
	return x;
}
#define JNUM(j, a, b) ((int64_t)jpath(j, a, b)->valuedouble)

static void test_emission(void **state)
{
	(void)state;
	static const char zero[] =
		"{\"streams\":0,\"chunks\":0,\"tokens\":0,"
		"\"gaps\":{\"count\":0,\"p50_ns\":0,\"p90_ns\":0,\"p99_ns\":0,\"max_ns\":0,\"mean_ns\":0},"
		"\"ttft\":{\"count\":0,\"p50_ns\":0,\"p90_ns\":0,\"p99_ns\":0,\"max_ns\":0,\"mean_ns\":0}}";
	struct siminst inst[2];
	struct sim sim;
	memset(inst, 0, sizeof(inst));
	memset(&sim, 0, sizeof(sim));
	sim.inst = inst;
	sim.ninst = 2;
	inst[0].sim = inst[1].sim = &sim;
	struct buf b = BUF_INIT;
	simemit_json_all(&b, &sim);
	assert_string_equal(buf_str(&b), zero);

	/* gpu-1: a stream read at 1 ms, first chunk 5 ms later, then gaps of 20 and 30 ms
	 * (the second carries 3 tokens: one gap, not three); another stream, TTFT 9 ms */
	struct simreq r1, r2, r3;
	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	memset(&r3, 0, sizeof(r3));
	r1.in = r2.in = &inst[0];
	r3.in = &inst[1];
	r1.t_body = 1000000;
	emit_chunk(&r1, 6000000, 1);
	emit_chunk(&r1, 26000000, 3);
	emit_chunk(&r1, 56000000, 1);
	r2.t_body = 100000000;
	emit_chunk(&r2, 109000000, 2);
	/* gpu-2: one stream of one chunk, TTFT 40 ms */
	r3.t_body = 0;
	emit_chunk(&r3, 40000000, 1);

	buf_reset(&b);
	simemit_json(&b, inst[0].emit);
	cJSON *j = cJSON_Parse(buf_str(&b));
	assert_non_null(j);
	assert_int_equal(JNUM(j, "streams", NULL), 2);
	assert_int_equal(JNUM(j, "chunks", NULL), 4);
	assert_int_equal(JNUM(j, "tokens", NULL), 7);
	assert_int_equal(JNUM(j, "gaps", "count"), 2);
	assert_int_equal(JNUM(j, "gaps", "max_ns"), 30000000);
	assert_int_equal(JNUM(j, "gaps", "mean_ns"), 25000000);
	int64_t p50 = JNUM(j, "gaps", "p50_ns");
	assert_true(p50 >= 20000000 - 80000 && p50 <= 20000000 + 80000); /* within 0.4% */
	int64_t p99 = JNUM(j, "gaps", "p99_ns");
	assert_true(p99 >= 30000000 - 120000 && p99 <= 30000000);
	assert_int_equal(JNUM(j, "ttft", "count"), 2);
	assert_int_equal(JNUM(j, "ttft", "max_ns"), 9000000);
	assert_int_equal(JNUM(j, "ttft", "mean_ns"), 7000000);
	cJSON_Delete(j);

	/* merged: both instances */
	buf_reset(&b);
	simemit_json_all(&b, &sim);
	j = cJSON_Parse(buf_str(&b));
	assert_non_null(j);
	assert_int_equal(JNUM(j, "streams", NULL), 3);
	assert_int_equal(JNUM(j, "chunks", NULL), 5);
	assert_int_equal(JNUM(j, "tokens", NULL), 8);
	assert_int_equal(JNUM(j, "gaps", "count"), 2);
	assert_int_equal(JNUM(j, "ttft", "count"), 3);
	assert_int_equal(JNUM(j, "ttft", "max_ns"), 40000000);
	assert_int_equal(JNUM(j, "ttft", "mean_ns"), 18000000);
	cJSON_Delete(j);

	/* reset: zeros again, kept allocated; a stream under way adds gaps, not a TTFT */
	simemit_reset(&inst[0]);
	simemit_reset(&inst[1]);
	buf_reset(&b);
	simemit_json_all(&b, &sim);
	assert_string_equal(buf_str(&b), zero);
	emit_chunk(&r1, 76000000, 1);
	buf_reset(&b);
	simemit_json(&b, inst[0].emit);
	j = cJSON_Parse(buf_str(&b));
	assert_int_equal(JNUM(j, "streams", NULL), 0);
	assert_int_equal(JNUM(j, "chunks", NULL), 1);
	assert_int_equal(JNUM(j, "gaps", "max_ns"), 20000000);
	assert_int_equal(JNUM(j, "ttft", "count"), 0);
	cJSON_Delete(j);
	buf_release(&b);
	free(inst[0].emit);
	free(inst[1].emit);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_schema_value),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_emission),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
