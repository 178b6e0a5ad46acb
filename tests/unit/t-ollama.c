/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/ollama: names, parsers, stream chunks, error classification, bodies. */
#include "../../lib/compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/http/http.h"
#include "../../lib/ollama/ollama.h"
#include "../../lib/util/buf.h"
#include "../../lib/util/units.h"
#include "../../lib/util/util.h"
#include "../../lib/banned.h"

#define L(s) (s), strlen(s)

/* ---- names ---- */

static const char *norm(const char *in)
{
	static char out[600];
	char err[ERR_MAX];
	if (ollama_name_normalize(in, out, sizeof(out), err))
		return "ERR";
	return out;
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(norm("Llama3.2"), "llama3.2:latest");
	assert_string_equal(norm("llama3.2:latest"), "llama3.2:latest");
	assert_string_equal(norm("llama3.2:1B"), "llama3.2:1b");
	assert_string_equal(norm("library/llama3.2"), "llama3.2:latest");
	assert_string_equal(norm("registry.ollama.ai/library/llama3.2:3b"), "llama3.2:3b");
	assert_string_equal(norm("registry.ollama.ai/jmorgan/m"), "jmorgan/m:latest");
	assert_string_equal(norm("user/model:tag"), "user/model:tag");
	assert_string_equal(norm("hf.co/Bartowski/Model-GGUF:Q4_K_M"),
			    "hf.co/bartowski/model-gguf:q4_k_m");
	/* A host keeps the library namespace, as DisplayShortest does. */
	assert_string_equal(norm("localhost:5000/library/x"), "localhost:5000/library/x:latest");
	assert_string_equal(norm("localhost:5000/ns/x:1"), "localhost:5000/ns/x:1");
	assert_string_equal(norm("https://reg.example/ns/x"), "reg.example/ns/x:latest");
	assert_string_equal(norm("llama3.2@sha256:abc"), "llama3.2:latest");
	assert_string_equal(norm("  qwen2.5:0.5b  "), "qwen2.5:0.5b");
	assert_string_equal(norm("x:"), "x:latest");
	assert_string_equal(norm(""), "ERR");
	assert_string_equal(norm("   "), "ERR");
	assert_string_equal(norm("/x"), "ERR");
	assert_string_equal(norm("ns/"), "ERR");
	char big[700];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_string_equal(norm(big), "ERR");
	/* A small output buffer is an error, not a truncation. */
	char small[8], err[ERR_MAX];
	assert_int_equal(ollama_name_normalize("llama3.2", small, sizeof(small), err), -1);
	assert_string_equal(small, "");

	assert_true(ollama_name_equal("Llama3.2", "llama3.2:latest"));
	assert_true(ollama_name_equal("registry.ollama.ai/library/QWEN2.5:0.5B", "qwen2.5:0.5b"));
	assert_false(ollama_name_equal("llama3.2", "llama3.2:1b"));
	assert_false(ollama_name_equal("a/llama3.2", "llama3.2"));
}

/* ---- version / tags / ps / show / pull ---- */

static void test_version(void **state)
{
	(void)state;
	char v[32], err[ERR_MAX];
	assert_int_equal(ollama_parse_version(L("{\"version\":\"0.33.0\"}"), v, sizeof(v), err), 0);
	assert_string_equal(v, "0.33.0");
	assert_int_equal(ollama_parse_version(L("{\"v\":1}"), v, sizeof(v), err), -1);
	assert_non_null(strstr(err, "'version'"));
	assert_int_equal(ollama_parse_version(L("<html>oops</html>"), v, sizeof(v), err), -1);
	assert_non_null(strstr(err, "malformed JSON in version reply"));
	assert_non_null(strstr(err, "<html>oops</html>"));
	assert_int_equal(ollama_parse_version("", 0, v, sizeof(v), err), -1);
	assert_non_null(strstr(err, "empty version reply"));
	/* Control characters in the quoted start are sanitized. */
	assert_int_equal(ollama_parse_version(L("\x1b[31mred"), v, sizeof(v), err), -1);
	assert_null(strchr(err, '\x1b'));
}

static const char tags_json[] =
	"{\"models\":[{\"name\":\"llama3.2:latest\",\"model\":\"llama3.2:latest\","
	"\"modified_at\":\"2026-08-21T14:38:31.83753-07:00\",\"size\":2019393189,"
	"\"digest\":\"a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72\","
	"\"details\":{\"parent_model\":\"\",\"format\":\"gguf\",\"family\":\"llama\","
	"\"families\":[\"llama\"],\"parameter_size\":\"3.2B\",\"quantization_level\":\"Q4_K_M\"},"
	"\"capabilities\":[\"completion\",\"tools\"]},"
	"{\"name\":\"nomic-embed-text:latest\",\"model\":\"nomic-embed-text:latest\","
	"\"modified_at\":\"2026-08-20T10:00:00Z\",\"size\":274302450,\"digest\":\"0a10\","
	"\"details\":{\"format\":\"gguf\",\"family\":\"nomic-bert\",\"families\":null,"
	"\"parameter_size\":\"137M\",\"quantization_level\":\"F16\",\"context_length\":2048}}]}";

static void test_tags(void **state)
{
	(void)state;
	struct ollama_tags t;
	char err[ERR_MAX];
	assert_int_equal(ollama_parse_tags(L(tags_json), &t, err), 0);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.models[0].name, "llama3.2:latest");
	assert_int_equal(t.models[0].size, 2019393189ULL);
	assert_int_equal(strlen(t.models[0].digest), 64);
	assert_string_equal(t.models[0].details.quantization_level, "Q4_K_M");
	assert_string_equal(t.models[0].details.parameter_size, "3.2B");
	/* 2026-08-21T21:38:31.83753Z */
	int64_t want;
	assert_int_equal(time_parse_rfc3339("2026-08-21T21:38:31.83753Z", &want), 0);
	assert_true(t.models[0].modified_at == want);
	assert_int_equal(t.models[0].ncapabilities, 2);
	assert_true(ollama_model_has_cap(&t.models[0], "tools"));
	assert_false(ollama_model_has_cap(&t.models[0], "embedding"));
	/* Old servers send no capabilities. */
	assert_int_equal(t.models[1].ncapabilities, 0);
	assert_int_equal(t.models[1].details.context_length, 2048);
	assert_non_null(ollama_tags_find(&t, "Nomic-Embed-Text"));
	assert_null(ollama_tags_find(&t, "llama3.2:1b"));
	ollama_tags_release(&t);
	assert_int_equal(t.n, 0);

	/* Empty lists: [] and null. */
	assert_int_equal(ollama_parse_tags(L("{\"models\":[]}"), &t, err), 0);
	assert_int_equal(t.n, 0);
	ollama_tags_release(&t);
	assert_int_equal(ollama_parse_tags(L("{\"models\":null}"), &t, err), 0);
	ollama_tags_release(&t);
	/* Missing fields are empty, not errors; a missing name is. */
	assert_int_equal(ollama_parse_tags(L("{\"models\":[{\"name\":\"x\"}]}"), &t, err), 0);
	assert_string_equal(t.models[0].digest, "");
	assert_string_equal(t.models[0].details.family, "");
	assert_int_equal(t.models[0].modified_at, 0);
	ollama_tags_release(&t);
	assert_int_equal(ollama_parse_tags(L("{\"models\":[{\"size\":1}]}"), &t, err), -1);
	assert_string_equal(err, "tags entry 1 has no 'name'");
	/* Wrong types name the field. */
	assert_int_equal(ollama_parse_tags(L("{\"models\":[{\"name\":\"x\",\"size\":\"big\"}]}"),
					   &t, err), -1);
	assert_string_equal(err, "tags entry 1: 'size' is not a number");
	assert_int_equal(ollama_parse_tags(L("{\"models\":{}}"), &t, err), -1);
	assert_string_equal(err, "tags reply: 'models' is not an array");
	assert_int_equal(ollama_parse_tags(L("[1]"), &t, err), -1);
	assert_int_equal(ollama_parse_tags(L("{\"models\":[{\"name\":\"x\",\"modified_at\":"
					     "\"yesterday\"}]}"), &t, err), -1);
	assert_non_null(strstr(err, "'modified_at' is not an RFC 3339 time"));
	assert_int_equal(ollama_parse_tags(L("{\"models\":[{\"name\":\"x\",\"details\":5}]}"), &t,
					   err), -1);
	assert_int_equal(ollama_parse_tags(L("{\"models\":[{\"name\":\"x\"}"), &t, err), -1);
	assert_non_null(strstr(err, "malformed JSON in tags reply"));
	assert_int_equal(ollama_parse_tags(L("{\"models\":[7]}"), &t, err), -1);
	assert_string_equal(err, "tags entry 1 is not an object");
	assert_int_equal(t.n, 0);
	assert_null(t.models);
}

static const char ps_json[] =
	"{\"models\":[{\"name\":\"llama3.2:latest\",\"model\":\"llama3.2:latest\","
	"\"size\":5137025024,\"digest\":\"a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72\","
	"\"details\":{\"parent_model\":\"\",\"format\":\"gguf\",\"family\":\"llama\","
	"\"families\":[\"llama\"],\"parameter_size\":\"3.2B\",\"quantization_level\":\"Q4_K_M\"},"
	"\"expires_at\":\"2026-08-21T14:38:31.83753-07:00\",\"size_vram\":2568512512,"
	"\"context_length\":4096},"
	"{\"name\":\"qwen:7b\",\"model\":\"qwen:7b\",\"size\":100,\"digest\":\"d\","
	"\"expires_at\":\"2318-11-30T10:00:00.1+01:00\",\"size_vram\":0},"
	"{\"name\":\"old:1\",\"model\":\"old:1\",\"size\":1,\"digest\":\"e\","
	"\"expires_at\":\"0001-01-01T00:00:00Z\",\"size_vram\":1}]}";

static void test_ps(void **state)
{
	(void)state;
	struct ollama_ps p;
	char err[ERR_MAX];
	assert_int_equal(ollama_parse_ps(L(ps_json), &p, err), 0);
	assert_int_equal(p.n, 3);
	const struct ollama_ps_entry *m = &p.models[0];
	assert_string_equal(m->name, "llama3.2:latest");
	assert_int_equal(m->size, 5137025024ULL);
	assert_int_equal(m->size_vram, 2568512512ULL);
	assert_true(m->has_context_length);
	assert_int_equal(m->context_length, 4096);
	assert_true(m->has_expires_at);
	int64_t want;
	assert_int_equal(time_parse_rfc3339("2026-08-21T21:38:31.83753Z", &want), 0);
	assert_true(m->expires_at == want);
	assert_string_equal(m->expires_at_raw, "2026-08-21T14:38:31.83753-07:00");
	assert_string_equal(m->details.family, "llama");
	/* Forever (beyond int64 ns) and an old server without context_length. */
	assert_true(p.models[1].expires_at == INT64_MAX);
	assert_false(p.models[1].has_context_length);
	/* Go's zero time: far past. */
	assert_true(p.models[2].expires_at == 1);
	assert_non_null(ollama_ps_find(&p, "Qwen:7B"));
	ollama_ps_release(&p);

	assert_int_equal(ollama_parse_ps(L("{\"models\":[]}"), &p, err), 0);
	assert_int_equal(p.n, 0);
	ollama_ps_release(&p);
	assert_int_equal(ollama_parse_ps(L("{\"models\":[{\"name\":\"x\"}]}"), &p, err), 0);
	assert_false(p.models[0].has_expires_at);
	assert_string_equal(p.models[0].expires_at_raw, "");
	ollama_ps_release(&p);
	assert_int_equal(ollama_parse_ps(L("{\"models\":[{\"name\":\"x\",\"size_vram\":-5}]}"),
					  &p, err), -1);
	assert_string_equal(err, "ps entry 1: 'size_vram' is negative");
	assert_int_equal(ollama_parse_ps(L("{\"models\":[{\"name\":\"x\",\"context_length\":"
					    "\"4k\"}]}"), &p, err), -1);
	assert_string_equal(err, "ps entry 1: 'context_length' is not a number");
	assert_int_equal(ollama_parse_ps(L("not json"), &p, err), -1);
	assert_string_equal(err, "malformed JSON in ps reply (starts with 'not json')");
	assert_int_equal(ollama_parse_ps(L("404 page not found"), &p, err), -1);
	assert_int_equal(ollama_parse_ps(L("\"str\""), &p, err), -1);
	assert_string_equal(err, "ps reply is not a JSON object");
}

static void test_show(void **state)
{
	(void)state;
	struct ollama_show s;
	char err[ERR_MAX];
	const char *j = "{\"license\":\"...\",\"details\":{\"format\":\"gguf\",\"family\":\"llama\","
			"\"parameter_size\":\"3.2B\",\"quantization_level\":\"Q4_K_M\"},"
			"\"model_info\":{\"general.architecture\":\"llama\","
			"\"general.parameter_count\":3212749888,\"llama.context_length\":131072,"
			"\"llama.embedding_length\":3072,\"tokenizer.ggml.tokens\":[]},"
			"\"capabilities\":[\"completion\",\"tools\"]}";
	assert_int_equal(ollama_parse_show(L(j), &s, err), 0);
	assert_string_equal(s.architecture, "llama");
	assert_int_equal(s.context_length, 131072);
	assert_int_equal(s.embedding_length, 3072);
	assert_int_equal(s.parameter_count, 3212749888LL);
	assert_int_equal(s.ncapabilities, 2);
	assert_string_equal(s.details.parameter_size, "3.2B");
	ollama_show_release(&s);
	/* No model_info at all, no capabilities (old server). */
	assert_int_equal(ollama_parse_show(L("{\"details\":{}}"), &s, err), 0);
	assert_int_equal(s.context_length, 0);
	assert_string_equal(s.architecture, "");
	assert_int_equal(s.ncapabilities, 0);
	ollama_show_release(&s);
	/* No architecture key but a *.context_length. */
	assert_int_equal(ollama_parse_show(L("{\"model_info\":{\"bert.context_length\":512}}"), &s,
					   err), 0);
	assert_int_equal(s.context_length, 512);
	ollama_show_release(&s);
	assert_int_equal(ollama_parse_show(L("{\"model_info\":[]}"), &s, err), -1);
	assert_string_equal(err, "show: 'model_info' is not an object");
	assert_int_equal(ollama_parse_show(L("{\"capabilities\":\"x\"}"), &s, err), -1);
	assert_int_equal(ollama_parse_show(L("{"), &s, err), -1);
}

static void test_pull(void **state)
{
	(void)state;
	struct ollama_pull p;
	char err[ERR_MAX];
	assert_int_equal(ollama_parse_pull(L("{\"status\":\"pulling manifest\"}"), &p, err), 0);
	assert_string_equal(p.status, "pulling manifest");
	assert_int_equal(p.total, 0);
	assert_int_equal(ollama_parse_pull(L("{\"status\":\"pulling 6a0746a1ec1a\",\"digest\":"
					     "\"sha256:6a0746a1ec1a\",\"total\":2019377376,"
					     "\"completed\":241970}"), &p, err), 0);
	assert_string_equal(p.digest, "sha256:6a0746a1ec1a");
	assert_int_equal(p.total, 2019377376);
	assert_int_equal(p.completed, 241970);
	/* completed omitted while zero */
	assert_int_equal(ollama_parse_pull(L("{\"status\":\"pulling x\",\"total\":5}"), &p, err),
			 0);
	assert_int_equal(p.completed, 0);
	assert_int_equal(ollama_parse_pull(L("{\"error\":\"pull model manifest: file does not "
					     "exist\"}"), &p, err), 0);
	assert_string_equal(p.error, "pull model manifest: file does not exist");
	assert_int_equal(ollama_parse_pull(L("{\"total\":1}"), &p, err), -1);
	assert_int_equal(ollama_parse_pull(L("{\"status\":\"x\",\"total\":\"1\"}"), &p, err), -1);
	assert_int_equal(ollama_parse_pull(L("{\"status\":"), &p, err), -1);
}

/* ---- chunks ---- */

static void test_chunk_native(void **state)
{
	(void)state;
	struct ollama_chunk c;
	char err[ERR_MAX];
	ollama_chunk_init(&c);
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_NATIVE,
					    L("{\"model\":\"llama3.2\",\"created_at\":\"2026-08-21T19:22:45.4991Z\","
					      "\"response\":\"The\",\"done\":false}"), err), 0);
	assert_int_equal(c.kind, OLLAMA_CHUNK_DATA);
	assert_string_equal(c.text, "The");
	assert_int_equal(c.text_len, 3);
	assert_false(c.done);
	assert_int_equal(c.eval_count, 0);

	const char *fin = "{\"model\":\"llama3.2\",\"created_at\":\"2026-08-21T19:22:49.7Z\","
			  "\"response\":\"\",\"done\":true,\"done_reason\":\"stop\",\"context\":"
			  "[128006,9125,128007],\"total_duration\":4935886791,\"load_duration\":"
			  "534986708,\"prompt_eval_count\":26,\"eval_count\":237,"
			  "\"eval_duration\":4289432000}";
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_NATIVE, L(fin), err), 0);
	assert_true(c.done);
	assert_string_equal(c.done_reason, "stop");
	assert_int_equal(c.text_len, 0);
	assert_string_equal(c.text, "");
	assert_int_equal(c.total_duration, 4935886791LL);
	assert_int_equal(c.load_duration, 534986708);
	assert_int_equal(c.prompt_eval_count, 26);
	assert_int_equal(c.prompt_eval_duration, 0); /* omitted = 0 */
	assert_int_equal(c.eval_count, 237);
	assert_int_equal(c.eval_duration, 4289432000LL);

	/* chat with thinking */
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_NATIVE,
					    L("{\"message\":{\"role\":\"assistant\",\"content\":\"\","
					      "\"thinking\":\"hmm\"},\"done\":false}"), err), 0);
	assert_string_equal(c.thinking, "hmm");
	assert_int_equal(c.text_len, 0);
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_NATIVE,
					    L("{\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
					      "\"done\":false}"), err), 0);
	assert_string_equal(c.text, "Hi");
	assert_int_equal(c.thinking_len, 0);

	/* error line, blank line, malformed */
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_NATIVE,
					    L("{\"error\":\"llama-server process no longer running\"}"),
					    err), 0);
	assert_int_equal(c.kind, OLLAMA_CHUNK_ERROR);
	assert_string_equal(c.error, "llama-server process no longer running");
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_NATIVE, "", 0, err), 0);
	assert_int_equal(c.kind, OLLAMA_CHUNK_NONE);
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_NATIVE, L("{\"response\":\"x"), err),
			 -1);
	assert_non_null(strstr(err, "malformed JSON in stream line"));
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_NATIVE, L("[1,2]"), err), -1);
	/* the preload answer */
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_NATIVE,
					    L("{\"model\":\"x\",\"created_at\":\"2026-01-01T00:00:00Z\","
					      "\"response\":\"\",\"done\":true,\"done_reason\":\"load\"}"),
					    err), 0);
	assert_true(c.done);
	assert_string_equal(c.done_reason, "load");
	ollama_chunk_release(&c);
}

/* The final chunk's "context" array is skipped for speed; results must not change. */
static void test_chunk_context(void **state)
{
	(void)state;
	struct ollama_chunk c;
	char err[ERR_MAX];
	struct buf b;
	ollama_chunk_init(&c);
	buf_init(&b, 0);
	buf_adds(&b, "{\"model\":\"m\",\"response\":\"x\\\"context\\\":[1]\",\"done\":true,"
		     "\"done_reason\":\"stop\",\"context\":[");
	for (int i = 0; i < 3000; i++)
		buf_addf(&b, "%s%d", i ? ", " : "", 128000 + i);
	buf_adds(&b, "],\"total_duration\":5,\"eval_count\":237}");
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_NATIVE, b.data, b.len, err), 0);
	assert_true(c.done);
	assert_string_equal(c.text, "x\"context\":[1]");
	assert_int_equal(c.eval_count, 237);
	assert_int_equal(c.total_duration, 5);
	/* Something odd inside the array: parsed as it is, still valid. */
	buf_reset(&b);
	buf_adds(&b, "{\"done\":true,\"context\":[1,2,{\"a\":1}],\"eval_count\":3,\"pad\":\"");
	for (int i = 0; i < 600; i++)
		buf_adds(&b, "p");
	buf_adds(&b, "\"}");
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_NATIVE, b.data, b.len, err), 0);
	assert_int_equal(c.eval_count, 3);
	/* A broken line still reports malformed JSON. */
	buf_reset(&b);
	buf_adds(&b, "{\"done\":true,\"context\":[1,2,3],\"eval_count\":");
	for (int i = 0; i < 600; i++)
		buf_adds(&b, " ");
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_NATIVE, b.data, b.len, err), -1);
	buf_release(&b);
	ollama_chunk_release(&c);
}

static void test_chunk_openai(void **state)
{
	(void)state;
	struct ollama_chunk c;
	char err[ERR_MAX];
	ollama_chunk_init(&c);
	const char *first = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
			    "\"created\":1,\"model\":\"m\",\"system_fingerprint\":\"fp_ollama\","
			    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":"
			    "\"Hel\"},\"finish_reason\":null}]}";
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_OPENAI, L(first), err), 0);
	assert_int_equal(c.kind, OLLAMA_CHUNK_DATA);
	assert_string_equal(c.text, "Hel");
	assert_false(c.role_only);
	assert_string_equal(c.done_reason, "");
	/* role-only first delta */
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_OPENAI,
					    L("data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":"
					      "\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}"),
					    err), 0);
	assert_true(c.role_only);
	assert_int_equal(c.text_len, 0);
	/* no space after "data:" */
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_OPENAI,
					    L("data:{\"choices\":[{\"delta\":{\"reasoning\":\"r\"}}]}"),
					    err), 0);
	assert_string_equal(c.thinking, "r");
	/* finish chunk, usage chunk, [DONE] */
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_OPENAI,
					    L("data: {\"choices\":[{\"index\":0,\"delta\":{},"
					      "\"finish_reason\":\"stop\"}]}"), err), 0);
	assert_string_equal(c.done_reason, "stop");
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_OPENAI,
					    L("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,"
					      "\"completion_tokens\":7,\"total_tokens\":18}}"), err), 0);
	assert_true(c.has_usage);
	assert_int_equal(c.prompt_tokens, 11);
	assert_int_equal(c.completion_tokens, 7);
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_OPENAI, L("data: [DONE]"), err), 0);
	assert_int_equal(c.kind, OLLAMA_CHUNK_DONE);
	/* framing: blank lines, comments, other fields */
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_OPENAI, "", 0, err), 0);
	assert_int_equal(c.kind, OLLAMA_CHUNK_NONE);
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_OPENAI, L(": keep-alive"), err), 0);
	assert_int_equal(c.kind, OLLAMA_CHUNK_NONE);
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_OPENAI, L("event: message"), err), 0);
	assert_int_equal(c.kind, OLLAMA_CHUNK_NONE);
	/* errors: OpenAI shape before the stream, native shape inside it */
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_OPENAI,
					    L("{\"error\":{\"message\":\"model \\\"x\\\" not found\","
					      "\"type\":\"not_found_error\",\"param\":null,\"code\":null}}"),
					    err), 0);
	assert_int_equal(c.kind, OLLAMA_CHUNK_ERROR);
	assert_string_equal(c.error, "model \"x\" not found");
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_OPENAI,
					    L("data: {\"error\":\"boom\"}"), err), 0);
	assert_int_equal(c.kind, OLLAMA_CHUNK_ERROR);
	assert_string_equal(c.error, "boom");
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_OPENAI, L("data: {nope"), err), -1);
	assert_non_null(strstr(err, "malformed JSON in stream event (starts with '{nope')"));
	/* /v1/completions text */
	assert_int_equal(ollama_chunk_parse(&c, OLLAMA_WIRE_OPENAI,
					    L("data: {\"object\":\"text_completion\",\"choices\":[{\"text\":"
					      "\"abc\",\"index\":0,\"finish_reason\":null}]}"), err), 0);
	assert_string_equal(c.text, "abc");
	ollama_chunk_release(&c);
}

/* ---- stream state + classification ---- */

static void feed(struct ollama_stream *s, const char *const *lines)
{
	for (int64_t i = 0; lines[i]; i++)
		ollama_stream_line(s, lines[i], strlen(lines[i]), 1000 + i);
}

static struct http_response resp(long status, const char *body)
{
	struct http_response r;
	memset(&r, 0, sizeof(r));
	r.status = status;
	buf_init(&r.body, 0);
	if (body)
		buf_adds(&r.body, body);
	return r;
}

static void test_stream_native(void **state)
{
	(void)state;
	struct ollama_stream s;
	struct buf text;
	char msg[512];
	buf_init(&text, 0);
	ollama_stream_init(&s, OLLAMA_WIRE_NATIVE);
	s.keep_text = &text;
	const char *ok[] = {
		"{\"response\":\"\",\"done\":false}",
		"{\"response\":\"Hello\",\"done\":false}",
		"{\"response\":\" world\",\"done\":false}",
		"{\"response\":\"\",\"done\":true,\"done_reason\":\"length\",\"eval_count\":2,"
		"\"eval_duration\":1000,\"prompt_eval_count\":3}",
		NULL,
	};
	feed(&s, ok);
	assert_int_equal(s.nchunks, 4);
	assert_int_equal(s.ntokens, 2);
	assert_int_equal(s.first_token_ns, 1001);
	assert_int_equal(s.last_token_ns, 1002);
	assert_true(s.done);
	assert_string_equal(s.done_reason, "length");
	assert_int_equal(s.eval_count, 2);
	assert_int_equal(s.prompt_eval_count, 3);
	assert_string_equal(buf_str(&text), "Hello world");
	struct http_response r = resp(200, NULL);
	assert_int_equal(ollama_classify(&r, &s, msg, sizeof(msg)), OLLAMA_OK);
	assert_string_equal(msg, "");
	ollama_stream_release(&s);

	/* truncated: no done */
	ollama_stream_init(&s, OLLAMA_WIRE_NATIVE);
	const char *trunc[] = { "{\"response\":\"a\",\"done\":false}", NULL };
	feed(&s, trunc);
	assert_int_equal(ollama_classify(&r, &s, msg, sizeof(msg)), OLLAMA_E_TRUNCATED);
	assert_string_equal(msg, "stream ended without done (after 1 chunks)");
	ollama_stream_release(&s);

	/* mid-stream error line */
	ollama_stream_init(&s, OLLAMA_WIRE_NATIVE);
	const char *mid[] = { "{\"response\":\"a\",\"done\":false}",
			      "{\"error\":\"an error was encountered while running the model\"}",
			      NULL };
	feed(&s, mid);
	assert_int_equal(ollama_classify(&r, &s, msg, sizeof(msg)), OLLAMA_E_STREAM);
	assert_string_equal(msg, "an error was encountered while running the model");
	/* also when the connection was then cut */
	r.err = HTTP_E_TRUNCATED;
	snprintf(r.errmsg, sizeof(r.errmsg), "cut");
	assert_int_equal(ollama_classify(&r, &s, msg, sizeof(msg)), OLLAMA_E_STREAM);
	r.err = HTTP_OK;
	r.errmsg[0] = '\0';
	ollama_stream_release(&s);

	/* malformed */
	ollama_stream_init(&s, OLLAMA_WIRE_NATIVE);
	const char *bad[] = { "{\"response\":\"a\",\"done\":false}", "garbage\x01here",
			      "{\"done\":true}", NULL };
	feed(&s, bad);
	assert_int_equal(ollama_classify(&r, &s, msg, sizeof(msg)), OLLAMA_E_MALFORMED);
	assert_non_null(strstr(msg, "garbage?here"));
	ollama_stream_release(&s);

	/* pull ends with status success */
	ollama_stream_init(&s, OLLAMA_WIRE_NATIVE);
	const char *pull[] = { "{\"status\":\"pulling manifest\"}", "{\"status\":\"success\"}",
			       NULL };
	feed(&s, pull);
	assert_int_equal(ollama_classify(&r, &s, msg, sizeof(msg)), OLLAMA_OK);
	ollama_stream_release(&s);

	/* empty 200 */
	ollama_stream_init(&s, OLLAMA_WIRE_NATIVE);
	assert_int_equal(ollama_classify(&r, &s, msg, sizeof(msg)), OLLAMA_E_TRUNCATED);
	assert_string_equal(msg, "empty response");
	ollama_stream_release(&s);
	buf_release(&r.body);
	buf_release(&text);
}

static void test_stream_openai(void **state)
{
	(void)state;
	struct ollama_stream s;
	char msg[512];
	struct http_response r = resp(200, NULL);
	ollama_stream_init(&s, OLLAMA_WIRE_OPENAI);
	const char *ok[] = {
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
		"\"finish_reason\":null}]}",
		"",
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"},\"finish_reason\":null}]}",
		"",
		"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}",
		"",
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}",
		"",
		"data: [DONE]",
		"",
		NULL,
	};
	feed(&s, ok);
	assert_int_equal(s.ntokens, 2);
	assert_int_equal(s.nchunks, 4);
	assert_true(s.finished);
	assert_true(s.done);
	assert_string_equal(s.done_reason, "stop");
	assert_true(s.has_usage);
	assert_int_equal(s.prompt_tokens, 5);
	assert_int_equal(s.completion_tokens, 2);
	assert_int_equal(ollama_classify(&r, &s, msg, sizeof(msg)), OLLAMA_OK);
	ollama_stream_release(&s);

	/* a native error line mid-stream, no [DONE] */
	ollama_stream_init(&s, OLLAMA_WIRE_OPENAI);
	const char *err_mid[] = {
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}",
		"data: {\"error\":\"runner crashed\"}",
		NULL,
	};
	feed(&s, err_mid);
	assert_int_equal(ollama_classify(&r, &s, msg, sizeof(msg)), OLLAMA_E_STREAM);
	assert_string_equal(msg, "runner crashed");
	ollama_stream_release(&s);

	/* finish chunk but no [DONE]: truncated */
	ollama_stream_init(&s, OLLAMA_WIRE_OPENAI);
	const char *nodone[] = {
		"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}",
		NULL,
	};
	feed(&s, nodone);
	assert_int_equal(ollama_classify(&r, &s, msg, sizeof(msg)), OLLAMA_E_TRUNCATED);
	assert_string_equal(msg, "stream ended without [DONE] (after 1 chunks)");
	ollama_stream_release(&s);

	/* a non-streamed completion is one bare object */
	ollama_stream_init(&s, OLLAMA_WIRE_OPENAI);
	const char *whole[] = {
		"{\"id\":\"chatcmpl-3\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
		"\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"finish_reason\":\"stop\"}],"
		"\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}",
		NULL,
	};
	feed(&s, whole);
	assert_true(s.done);
	assert_int_equal(s.completion_tokens, 1);
	assert_int_equal(ollama_classify(&r, &s, msg, sizeof(msg)), OLLAMA_OK);
	ollama_stream_release(&s);
	buf_release(&r.body);
}

static void test_classify_http(void **state)
{
	(void)state;
	char msg[512];
	struct http_response r;

	r = resp(0, NULL);
	r.err = HTTP_E_REFUSED;
	snprintf(r.errmsg, sizeof(r.errmsg), "connection refused");
	assert_int_equal(ollama_classify(&r, NULL, msg, sizeof(msg)), OLLAMA_E_REFUSED);
	assert_string_equal(msg, "connection refused");
	r.err = HTTP_E_DNS;
	assert_int_equal(ollama_classify(&r, NULL, msg, sizeof(msg)), OLLAMA_E_DNS);
	r.err = HTTP_E_TLS;
	assert_int_equal(ollama_classify(&r, NULL, msg, sizeof(msg)), OLLAMA_E_TLS);
	r.err = HTTP_E_TIMEOUT;
	snprintf(r.errmsg, sizeof(r.errmsg), "timed out after 2.0s");
	assert_int_equal(ollama_classify(&r, NULL, msg, sizeof(msg)), OLLAMA_E_TIMEOUT);
	assert_string_equal(msg, "timed out after 2.0s");
	r.err = HTTP_E_TOO_BIG;
	assert_int_equal(ollama_classify(&r, NULL, msg, sizeof(msg)), OLLAMA_E_TOO_BIG);
	r.err = HTTP_E_TRUNCATED;
	assert_int_equal(ollama_classify(&r, NULL, msg, sizeof(msg)), OLLAMA_E_TRUNCATED);
	r.err = HTTP_E_ABORTED;
	assert_int_equal(ollama_classify(&r, NULL, msg, sizeof(msg)), OLLAMA_E_ABORTED);
	r.err = HTTP_E_CONNECT;
	assert_int_equal(ollama_classify(&r, NULL, msg, sizeof(msg)), OLLAMA_E_CONNECT);
	buf_release(&r.body);

	r = resp(404, "{\"error\":\"model 'foo' not found\"}");
	assert_int_equal(ollama_classify(&r, NULL, msg, sizeof(msg)), OLLAMA_E_HTTP);
	assert_string_equal(msg, "HTTP 404: model 'foo' not found");
	buf_release(&r.body);

	r = resp(503, "{\"error\":\"server busy, please try again.  maximum pending requests "
		      "exceeded\"}");
	assert_int_equal(ollama_classify(&r, NULL, msg, sizeof(msg)), OLLAMA_E_BUSY);
	assert_string_equal(msg,
			    "server busy, please try again.  maximum pending requests exceeded");
	buf_release(&r.body);

	r = resp(400, "{\"error\":{\"message\":\"[] is too short - 'messages'\",\"type\":"
		      "\"invalid_request_error\",\"param\":null,\"code\":null}}");
	assert_int_equal(ollama_classify(&r, NULL, msg, sizeof(msg)), OLLAMA_E_HTTP);
	assert_string_equal(msg, "HTTP 400: [] is too short - 'messages'");
	buf_release(&r.body);

	r = resp(404, "404 page not found");
	assert_int_equal(ollama_classify(&r, NULL, msg, sizeof(msg)), OLLAMA_E_HTTP);
	assert_string_equal(msg, "HTTP 404: 404 page not found");
	buf_release(&r.body);

	r = resp(403, NULL);
	assert_int_equal(ollama_classify(&r, NULL, msg, sizeof(msg)), OLLAMA_E_HTTP);
	assert_string_equal(msg, "HTTP 403");
	buf_release(&r.body);

	r = resp(502, "<html>\n<b>Bad \x1b[2J gateway</b>\n</html>\n");
	assert_int_equal(ollama_classify(&r, NULL, msg, sizeof(msg)), OLLAMA_E_HTTP);
	assert_null(strchr(msg, '\x1b'));
	assert_null(strchr(msg, '\n'));
	assert_non_null(strstr(msg, "HTTP 502: <html> <b>Bad"));
	buf_release(&r.body);

	/* a status error in line mode: the message comes from the body kept by http */
	r = resp(500, "{\"error\":\"llama-server process no longer running: exit status 2\"}\n");
	struct ollama_stream s;
	ollama_stream_init(&s, OLLAMA_WIRE_NATIVE);
	assert_int_equal(ollama_classify(&r, &s, msg, sizeof(msg)), OLLAMA_E_HTTP);
	assert_string_equal(msg, "HTTP 500: llama-server process no longer running: exit status 2");
	ollama_stream_release(&s);
	buf_release(&r.body);

	r = resp(204, NULL);
	assert_int_equal(ollama_classify(&r, NULL, msg, sizeof(msg)), OLLAMA_OK);
	buf_release(&r.body);

	assert_string_equal(ollama_err_name(OLLAMA_OK), "ok");
	assert_string_equal(ollama_err_name(OLLAMA_E_REFUSED), "refused");
	assert_string_equal(ollama_err_name(OLLAMA_E_BUSY), "busy");
	assert_string_equal(ollama_err_name(OLLAMA_E_STREAM), "stream");
	assert_string_equal(ollama_err_name(OLLAMA_E_MALFORMED), "malformed");
	assert_string_equal(ollama_err_name(OLLAMA_E_TRUNCATED), "truncated");
	assert_string_equal(ollama_err_name(OLLAMA_E_TOO_BIG), "too-big");
}

static void test_error_message(void **state)
{
	(void)state;
	char m[64];
	assert_int_equal(ollama_error_message(L("{\"error\":\"x\\u001b[1my\"}"), m, sizeof(m)), 0);
	assert_string_equal(m, "x?[1my");
	assert_int_equal(ollama_error_message(L("{\"status\":\"ok\"}"), m, sizeof(m)), -1);
	assert_string_equal(m, "");
	assert_int_equal(ollama_error_message(NULL, 0, m, sizeof(m)), -1);
}

/* ---- bodies ---- */

static void test_bodies(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	struct ollama_gen_req r;
	memset(&r, 0, sizeof(r));
	r.model = "llama3.2";
	r.prompt = "Say \"hi\"\n";
	r.stream = 1;
	assert_int_equal(ollama_build_generate(&b, &r), 0);
	assert_string_equal(buf_str(&b),
			    "{\"model\":\"llama3.2\",\"prompt\":\"Say \\\"hi\\\"\\n\",\"stream\":true}");
	buf_reset(&b);

	r.has_keep_alive = 1;
	r.keep_alive_ns = 300 * 1000000000LL;
	r.options.set = OLLAMA_OPT_NUM_CTX | OLLAMA_OPT_NUM_PREDICT | OLLAMA_OPT_SEED |
			OLLAMA_OPT_TEMPERATURE;
	r.options.num_ctx = 8192;
	r.options.num_predict = 64;
	r.options.seed = 42;
	r.options.temperature = 0.7;
	r.stream = 0;
	assert_int_equal(ollama_build_generate(&b, &r), 0);
	assert_string_equal(buf_str(&b),
			    "{\"model\":\"llama3.2\",\"prompt\":\"Say \\\"hi\\\"\\n\",\"stream\":false,"
			    "\"keep_alive\":300,\"options\":{\"num_ctx\":8192,\"num_predict\":64,"
			    "\"seed\":42,\"temperature\":0.7}}");
	buf_reset(&b);

	/* keep_alive forms */
	ollama_add_keep_alive(&b, -1);
	buf_adds(&b, " ");
	ollama_add_keep_alive(&b, DURATION_FOREVER);
	buf_adds(&b, " ");
	ollama_add_keep_alive(&b, 0);
	buf_adds(&b, " ");
	ollama_add_keep_alive(&b, 1500000000LL);
	buf_adds(&b, " ");
	ollama_add_keep_alive(&b, 24LL * 3600 * 1000000000LL);
	assert_string_equal(buf_str(&b), "-1 -1 0 \"1.5s\" 86400");
	buf_reset(&b);

	/* chat: messages, or the prompt as one user message */
	struct ollama_message msgs[] = { { "system", "be brief" }, { "user", "hi" } };
	memset(&r, 0, sizeof(r));
	r.model = "m";
	r.messages = msgs;
	r.nmessages = 2;
	r.stream = 1;
	r.think = -1;
	assert_int_equal(ollama_build_chat(&b, &r), 0);
	assert_string_equal(buf_str(&b),
			    "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
			    "\"be brief\"},{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true,"
			    "\"think\":false}");
	buf_reset(&b);
	memset(&r, 0, sizeof(r));
	r.model = "m";
	r.prompt = "q";
	assert_int_equal(ollama_build_chat(&b, &r), 0);
	assert_string_equal(buf_str(&b), "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
					 "\"content\":\"q\"}],\"stream\":false}");
	buf_reset(&b);

	/* preload / unload */
	assert_int_equal(ollama_build_preload(&b, "m", 1, -1, NULL), 0);
	assert_string_equal(buf_str(&b),
			    "{\"model\":\"m\",\"prompt\":\"\",\"stream\":false,\"keep_alive\":-1}");
	buf_reset(&b);
	struct ollama_options o = { .set = OLLAMA_OPT_NUM_CTX, .num_ctx = 4096 };
	assert_int_equal(ollama_build_preload(&b, "m", 0, 0, &o), 0);
	assert_string_equal(buf_str(&b), "{\"model\":\"m\",\"prompt\":\"\",\"stream\":false,"
					 "\"options\":{\"num_ctx\":4096}}");
	buf_reset(&b);
	assert_int_equal(ollama_build_unload(&b, "m"), 0);
	assert_string_equal(buf_str(&b),
			    "{\"model\":\"m\",\"prompt\":\"\",\"stream\":false,\"keep_alive\":0}");
	buf_reset(&b);

	/* pull, delete, copy, show, embed */
	assert_int_equal(ollama_build_pull(&b, "m", 1, 0), 0);
	assert_string_equal(buf_str(&b), "{\"model\":\"m\",\"insecure\":false,\"stream\":true}");
	buf_reset(&b);
	assert_int_equal(ollama_build_delete(&b, "m"), 0);
	assert_string_equal(buf_str(&b), "{\"model\":\"m\"}");
	buf_reset(&b);
	assert_int_equal(ollama_build_copy(&b, "a", "b"), 0);
	assert_string_equal(buf_str(&b), "{\"source\":\"a\",\"destination\":\"b\"}");
	buf_reset(&b);
	assert_int_equal(ollama_build_show(&b, "m", 1), 0);
	assert_string_equal(buf_str(&b), "{\"model\":\"m\",\"verbose\":true}");
	buf_reset(&b);
	const char *in[] = { "a", "b" };
	assert_int_equal(ollama_build_embed(&b, "e", in, 2, 1, 60000000000LL), 0);
	assert_string_equal(buf_str(&b), "{\"model\":\"e\",\"input\":[\"a\",\"b\"],\"keep_alive\":60}");
	buf_reset(&b);
	assert_int_equal(ollama_build_embed(&b, "e", NULL, 0, 0, 0), 0);
	assert_string_equal(buf_str(&b), "{\"model\":\"e\"}");
	buf_reset(&b);

	/* /v1/chat/completions */
	memset(&r, 0, sizeof(r));
	r.model = "m";
	r.prompt = "hi";
	r.stream = 1;
	r.options.set = OLLAMA_OPT_SEED;
	r.options.seed = 7;
	assert_int_equal(ollama_build_openai_chat(&b, &r, 32, 1), 0);
	assert_string_equal(buf_str(&b),
			    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
			    "\"stream\":true,\"stream_options\":{\"include_usage\":true},"
			    "\"max_tokens\":32,\"seed\":7}");
	buf_reset(&b);
	buf_release(&b);

	/* a capped buffer reports the overflow */
	struct buf small;
	buf_init(&small, 10);
	assert_int_equal(ollama_build_delete(&small, "a-long-model-name"), -1);
	buf_release(&small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_ps),
		cmocka_unit_test(test_show),
		cmocka_unit_test(test_pull),
		cmocka_unit_test(test_chunk_native),
		cmocka_unit_test(test_chunk_context),
		cmocka_unit_test(test_chunk_openai),
		cmocka_unit_test(test_stream_native),
		cmocka_unit_test(test_stream_openai),
		cmocka_unit_test(test_classify_http),
		cmocka_unit_test(test_error_message),
		cmocka_unit_test(test_bodies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
