/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The simulator's HTTP surface: Ollama's routes, request parsing, chunk shapes and /_sim control. */
#include "../compat.h"
#include "sim-internal.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

#define JSON_TYPE "application/json; charset=utf-8"
#define SSE_TYPE "text/event-stream"
#define TEXT_TYPE "text/plain; charset=utf-8"

enum {
	M_GET = 1,
	M_HEAD = 2,
	M_POST = 4,
	M_DELETE = 8,
};

enum path_id {
	P_ROOT,
	P_VERSION,
	P_TAGS,
	P_PS,
	P_STATUS,
	P_SHOW,
	P_PULL,
	P_PUSH,
	P_CREATE,
	P_COPY,
	P_DELETE,
	P_GENERATE,
	P_CHAT,
	P_EMBED,
	P_EMBEDDINGS,
	P_V1CHAT,
	P_V1COMPL,
	P_V1EMBED,
	P_V1MODELS,
	P_V1MODEL,
	P_BLOBS,
	P_SIMFAULT,
	P_SIMSTATS,
	P_SIMRESET,
	P_OTHER,
	P__N
};

static const struct route {
	const char *path;
	int prefix; /* matches path + "/" + one segment */
	unsigned methods;
} routes[P__N] = {
	[P_ROOT] = { "/", 0, M_GET | M_HEAD },
	[P_VERSION] = { "/api/version", 0, M_GET | M_HEAD },
	[P_TAGS] = { "/api/tags", 0, M_GET | M_HEAD },
	[P_PS] = { "/api/ps", 0, M_GET },
	[P_STATUS] = { "/api/status", 0, M_GET },
	[P_SHOW] = { "/api/show", 0, M_POST },
	[P_PULL] = { "/api/pull", 0, M_POST },
	[P_PUSH] = { "/api/push", 0, M_POST },
	[P_CREATE] = { "/api/create", 0, M_POST },
	[P_COPY] = { "/api/copy", 0, M_POST },
	[P_DELETE] = { "/api/delete", 0, M_DELETE },
	[P_GENERATE] = { "/api/generate", 0, M_POST },
	[P_CHAT] = { "/api/chat", 0, M_POST },
	[P_EMBED] = { "/api/embed", 0, M_POST },
	[P_EMBEDDINGS] = { "/api/embeddings", 0, M_POST },
	[P_V1CHAT] = { "/v1/chat/completions", 0, M_POST },
	[P_V1COMPL] = { "/v1/completions", 0, M_POST },
	[P_V1EMBED] = { "/v1/embeddings", 0, M_POST },
	[P_V1MODELS] = { "/v1/models", 0, M_GET },
	[P_V1MODEL] = { "/v1/models", 1, M_GET },
	[P_BLOBS] = { "/api/blobs", 1, M_HEAD | M_POST },
	[P_SIMFAULT] = { "/_sim/fault", 0, M_POST },
	[P_SIMSTATS] = { "/_sim/stats", 0, M_GET },
	[P_SIMRESET] = { "/_sim/reset", 0, M_POST },
	[P_OTHER] = { "other", 0, 0 },
};

static const char *const pull_status_text[] = {
	"verifying sha256 digest",
	"writing manifest",
	"success",
};

static unsigned method_bit(const char *m)
{
	if (!strcmp(m, "GET"))
		return M_GET;
	if (!strcmp(m, "HEAD"))
		return M_HEAD;
	if (!strcmp(m, "POST"))
		return M_POST;
	if (!strcmp(m, "DELETE"))
		return M_DELETE;
	return 0;
}

static int route_find(const char *url)
{
	for (int i = 0; i < P_OTHER; i++) {
		const struct route *rt = &routes[i];
		size_t n = strlen(rt->path);
		if (!rt->prefix) {
			if (!strcmp(url, rt->path))
				return i;
		} else if (!strncmp(url, rt->path, n) && url[n] == '/' && url[n + 1] &&
			   !strchr(url + n + 1, '/')) {
			return i;
		}
	}
	return P_OTHER;
}

/* ---- small output helpers ---- */

static void now_utc(char *out, size_t n)
{
	time_rfc3339nano(wall_ns(), 1, out, n);
}

static void fmt_expires(const struct simrunner *x, char *out, size_t n)
{
	int64_t sec = x->expires_wall / 1000000000LL;
	long ns = (long)(x->expires_wall % 1000000000LL);
	if (x->expires_forever) {
		/* Go: time.Now().Add(math.MaxInt64) */
		sec += INT64_MAX / 1000000000LL;
		ns += (long)(INT64_MAX % 1000000000LL);
		if (ns >= 1000000000L) {
			ns -= 1000000000L;
			sec++;
		}
	}
	time_rfc3339(sec, ns, 0, out, n);
}

static void set_reply(struct simreq *r, int status, const char *type)
{
	r->status = status;
	r->reply_type = type;
	r->state = RS_REPLY;
}

static void reply_text(struct simreq *r, int status, const char *text)
{
	buf_reset(&r->reply);
	buf_adds(&r->reply, text);
	set_reply(r, status, TEXT_TYPE);
}

static void reply_error(struct simreq *r, int status, const char *msg)
{
	buf_reset(&r->reply);
	if (r->v1) {
		const char *type = status == 400   ? "invalid_request_error"
				   : status == 404 ? "not_found_error"
						   : "api_error";
		buf_adds(&r->reply, "{\"error\":{\"message\":");
		buf_add_json_str(&r->reply, msg);
		buf_addf(&r->reply, ",\"type\":\"%s\",\"param\":null,\"code\":null}}", type);
	} else {
		buf_adds(&r->reply, "{\"error\":");
		buf_add_json_str(&r->reply, msg);
		buf_adds(&r->reply, "}");
	}
	set_reply(r, status, JSON_TYPE);
}

static void reply_errorf(struct simreq *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply_errorf(struct simreq *r, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	reply_error(r, status, m);
	free(m);
}

void simreq_fail(struct simreq *r, int status, const char *msg)
{
	simsched_release(r);
	simtimer_cancel(r->in->sim, &r->timer);
	reply_error(r, status, msg);
	simreq_wake(r);
}

static int roll(struct siminst *in, int kind)
{
	double f = in->st.faults[kind].frac;
	if (f <= 0)
		return 0;
	if (f >= 1)
		return 1;
	return sim_randf(&in->rng) < f;
}

/* ---- request parsing ---- */

/* Parse the body as JSON the way gin's ShouldBindJSON reports errors. */
static cJSON *parse_body(struct simreq *r)
{
	if (r->body_too_big) {
		reply_error(r, 413, "request body too large");
		return NULL;
	}
	if (r->body.len == 0) {
		reply_error(r, 400, "missing request body");
		return NULL;
	}
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(r->body.data, r->body.len, &end, 0);
	if (!j) {
		size_t off = end ? (size_t)(end - r->body.data) : 0;
		char c = off < r->body.len ? r->body.data[off] : 0;
		if (!c)
			reply_error(r, 400, "unexpected EOF");
		else
			reply_errorf(r, 400,
				     "invalid character '%c' looking for beginning of value",
				     c >= 32 && c < 127 ? c : '?');
		return NULL;
	}
	if (!cJSON_IsObject(j)) {
		reply_errorf(r, 400, "json: cannot unmarshal %s into Go value of type %s",
			     cJSON_IsArray(j)    ? "array"
			     : cJSON_IsString(j) ? "string"
						 : "number",
			     "api.GenerateRequest");
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static const char *go_type(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsNumber(v))
		return "number";
	if (cJSON_IsBool(v))
		return "bool";
	if (cJSON_IsArray(v))
		return "array";
	return "object";
}

/* A string field; 0 ok (NULL when absent or null), -1 after a 400 reply. */
static int get_str(struct simreq *r, cJSON *j, const char *key, const char *st, const char **out)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v)) {
		reply_errorf(r, 400,
			     "json: cannot unmarshal %s into Go struct field %s.%s of type string",
			     go_type(v), st, key);
		return -1;
	}
	*out = v->valuestring;
	return 0;
}

static int get_bool(struct simreq *r, cJSON *j, const char *key, const char *st, int *out)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v)) {
		reply_errorf(r, 400,
			     "json: cannot unmarshal %s into Go struct field %s.%s of type bool",
			     go_type(v), st, key);
		return -1;
	}
	*out = cJSON_IsTrue(v);
	return 0;
}

static int parse_keep_alive(struct simreq *r, cJSON *j)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "keep_alive");
	if (!v || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		r->has_keep_alive = 1;
		r->keep_alive = d < 0 ? DURATION_FOREVER : (int64_t)(d * 1e9);
		return 0;
	}
	if (cJSON_IsString(v)) {
		char err[ERR_MAX];
		int64_t ns;
		if (units_parse_duration(v->valuestring, &ns,
					 UNITS_NEG_FOREVER | UNITS_REQUIRE_UNIT, err) < 0) {
			if (strspn(v->valuestring, "-+0123456789.") == strlen(v->valuestring))
				reply_errorf(r, 400, "time: missing unit in duration \"%s\"",
					     v->valuestring);
			else
				reply_errorf(r, 400, "time: invalid duration \"%s\"",
					     v->valuestring);
			return -1;
		}
		r->has_keep_alive = 1;
		r->keep_alive = ns;
		return 0;
	}
	reply_errorf(r, 400,
		     "json: cannot unmarshal %s into Go struct field .keep_alive of type string",
		     go_type(v));
	return -1;
}

/* options.num_ctx / num_predict; a wrong type fails at scheduling time with 500. */
static int parse_options(struct simreq *r, cJSON *j)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "options");
	r->num_ctx = r->in->st.num_ctx;
	r->num_predict = -1;
	if (o && cJSON_IsObject(o)) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "num_ctx");
		if (v && !cJSON_IsNull(v)) {
			if (!cJSON_IsNumber(v)) {
				reply_errorf(r, 500, "option \"num_ctx\" must be of type integer");
				return -1;
			}
			r->num_ctx = v->valuedouble < 1     ? 1
				     : v->valuedouble > 1e8 ? 100000000
							    : (int)v->valuedouble;
		}
		v = cJSON_GetObjectItemCaseSensitive(o, "num_predict");
		if (v && !cJSON_IsNull(v)) {
			if (!cJSON_IsNumber(v)) {
				reply_errorf(r, 500,
					     "option \"num_predict\" must be of type integer");
				return -1;
			}
			r->num_predict = (int)fmax(-2, fmin(v->valuedouble, 1e9));
		}
	} else if (o && !cJSON_IsNull(o)) {
		reply_errorf(
			r, 400,
			"json: cannot unmarshal %s into Go struct field .options of type map[string]interface {}",
			go_type(o));
		return -1;
	}
	return 0;
}

static int valid_name(const char *s)
{
	char *c = simmodel_canonical(s);
	free(c);
	return c != NULL;
}

/* think: 1 when asked for (true or a level), 0 when false, -1 when left out (models that
 * can think do so by default). */
static int think_flag(const cJSON *th)
{
	if (!th || cJSON_IsNull(th))
		return -1;
	if (cJSON_IsFalse(th))
		return 0;
	return cJSON_IsTrue(th) || cJSON_IsString(th) ? 1 : -1;
}

/* top_logprobs must lie in 0..20. */
static int top_logprobs_bad(struct simreq *r, cJSON *j)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "top_logprobs");
	if (v && cJSON_IsNumber(v) && (v->valuedouble < 0 || v->valuedouble > 20)) {
		reply_error(r, 400, "top_logprobs must be between 0 and 20");
		return 1;
	}
	return 0;
}

static void hash_text(struct simreq *r, const char *s)
{
	if (s)
		r->text_hash = simmodel_hash(s, r->text_hash);
}

/* Output length: --tokens, cut by num_predict. */
static void set_length(struct simreq *r)
{
	r->natural_len = r->in->st.tokens;
	r->ntokens = r->natural_len;
	if (r->num_predict > 0 && r->num_predict < r->ntokens)
		r->ntokens = r->num_predict;
}

static void roll_faults(struct simreq *r)
{
	struct siminst *in = r->in;
	r->fault_500 = roll(in, SIM_FAULT_500);
	r->fault_malformed = roll(in, SIM_FAULT_MALFORMED);
	r->fault_error = roll(in, SIM_FAULT_ERROR);
	r->fault_truncate = roll(in, SIM_FAULT_TRUNCATE);
	if (roll(in, SIM_FAULT_STALL))
		r->stall_ns = in->st.faults[SIM_FAULT_STALL].arg_ns;
}

/* Common tail of every inference request: model lookup, capability, faults, scheduling. */
static void submit(struct simreq *r, const char *name, int gen)
{
	struct siminst *in = r->in;
	r->m = simmodel_find(in, name, 1);
	if (!r->m) {
		if (r->kind == REQ_EMBED || r->kind == REQ_EMBEDDINGS || r->kind == REQ_V1EMBED)
			reply_errorf(r, 404, "model \"%s\" not found, try pulling it first", name);
		else
			reply_errorf(r, 404, "model '%s' not found", name);
		return;
	}
	if (gen && r->m->cat.embed_only) {
		reply_errorf(r, 400, "\"%s\" does not support %s", name,
			     r->kind == REQ_GENERATE || r->kind == REQ_V1COMPL ? "generate"
									       : "chat");
		return;
	}
	if (r->num_ctx > r->m->cat.ctx_train)
		r->num_ctx = r->m->cat.ctx_train;
	if (r->prompt_tokens > r->num_ctx) {
		/* Ollama keeps the end of an over-long prompt; embed with truncate:false fails */
		if (r->no_truncate) {
			reply_error(r, 400, "the input length exceeds the context length");
			return;
		}
		r->prompt_tokens = r->num_ctx;
	}
	if (r->unload) {
		simsched_expire(in, r->m);
		char ts[64];
		now_utc(ts, sizeof(ts));
		buf_reset(&r->reply);
		buf_adds(&r->reply, "{\"model\":");
		buf_add_json_str(&r->reply, r->model_req);
		buf_addf(&r->reply, ",\"created_at\":\"%s\",", ts);
		if (r->kind == REQ_CHAT)
			buf_adds(&r->reply,
				 "\"message\":{\"role\":\"assistant\",\"content\":\"\"}");
		else
			buf_adds(&r->reply, "\"response\":\"\"");
		buf_adds(&r->reply, ",\"done\":true,\"done_reason\":\"unload\"}");
		set_reply(r, 200, JSON_TYPE);
		return;
	}
	if (roll(in, SIM_FAULT_503)) {
		reply_error(r, 503,
			    "server busy, please try again.  maximum pending requests exceeded");
		return;
	}
	roll_faults(r);
	r->state = RS_QUEUED;
	simsched_submit(r);
}

/* images: base64 strings, decoded by Go's encoding/json ([]byte). 0 ok, -1 after a 400. */
static int images_bad(struct simreq *r, const cJSON *imgs, const char *field)
{
	const cJSON *im;
	if (!imgs || cJSON_IsNull(imgs))
		return 0;
	if (!cJSON_IsArray(imgs)) {
		reply_errorf(r, 400,
			     "json: cannot unmarshal %s into Go struct field %s of type []api.ImageData",
			     go_type(imgs), field);
		return -1;
	}
	cJSON_ArrayForEach(im, imgs)
	{
		if (!cJSON_IsString(im)) {
			reply_errorf(r, 400,
				     "json: cannot unmarshal %s into Go struct field %s of type string",
				     go_type(im), field);
			return -1;
		}
		long bad = simgen_base64_bad(im->valuestring);
		if (bad >= 0) {
			reply_errorf(r, 400, "illegal base64 data at input byte %ld", bad);
			return -1;
		}
		/* an image is worth some prompt tokens */
		r->prompt_tokens += 256;
	}
	return 0;
}

/* Go's %q of a short ASCII text. */
static void go_quote(struct buf *b, const char *s)
{
	buf_adds(b, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_addf(b, "\\%c", *s);
		else if ((unsigned char)*s < 32)
			buf_addf(b, "\\x%02x", (unsigned char)*s);
		else
			buf_add(b, s, 1);
	}
	buf_adds(b, "\"");
}

/*
 * The fixed answers: a tool call (tools given, the model has the capability, the last
 * message is from the user: the first tool, with arguments from its parameter schema), or
 * the JSON for "format" ("json" or a schema). Run after set_length; 0 ok, -1 after a reply.
 */
static int prepare_output(struct simreq *r, const char *model, cJSON *format, cJSON *tools,
			  cJSON *msgs)
{
	struct simmodel *m = simmodel_find(r->in, model, 1);
	int ntools = cJSON_IsArray(tools) ? cJSON_GetArraySize(tools) : 0;
	if (format && (cJSON_IsNull(format) ||
		       (cJSON_IsString(format) && !*format->valuestring)))
		format = NULL;
	if (format && !cJSON_IsObject(format) &&
	    !(cJSON_IsString(format) && !strcmp(format->valuestring, "json"))) {
		/* llama_server.go rejects it when the completion starts: a 500 */
		char *raw = cJSON_PrintUnformatted(format);
		struct buf b = BUF_INIT;
		buf_adds(&b, "invalid format: ");
		go_quote(&b, raw ? raw : "");
		buf_adds(&b, "; expected \"json\" or a valid JSON Schema object");
		reply_error(r, 500, buf_str(&b));
		buf_release(&b);
		free(raw);
		return -1;
	}
	if (ntools && m && !m->cat.embed_only && !strstr(m->cat.caps, "tools")) {
		char *full = simmodel_fullname(m->name);
		reply_errorf(r, 400, "%s does not support tools", full);
		free(full);
		return -1;
	}
	if (ntools) {
		char *t = cJSON_PrintUnformatted(tools);
		r->prompt_tokens += sim_text_tokens(t);
		free(t);
	}
	cJSON *last = cJSON_IsArray(msgs) ? cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1)
					  : NULL;
	cJSON *role = cJSON_GetObjectItemCaseSensitive(last, "role");
	if (ntools && m && cJSON_IsString(role) && !strcasecmp(role->valuestring, "user")) {
		cJSON *t;
		cJSON_ArrayForEach(t, tools)
		{
			cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
			cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
			if (!cJSON_IsString(name) || !*name->valuestring)
				continue;
			cJSON *params = cJSON_GetObjectItemCaseSensitive(fn, "parameters");
			r->tool_name = xstrdup(name->valuestring);
			if (cJSON_IsObject(params))
				r->tool_args = simgen_schema_value(params, r->text_hash);
			if (!r->tool_args || r->tool_args[0] != '{') {
				free(r->tool_args);
				r->tool_args = xstrdup("{}");
			}
			uint64_t st = r->text_hash ^ r->in->rng;
			sim_rand(&r->in->rng);
			memcpy(r->tool_id, "call_", 5);
			for (int i = 0; i < 8; i++)
				r->tool_id[5 + i] = "abcdefghijklmnopqrstuvwxyz0123456789"[sim_rand(&st) % 36];
			r->tool_id[13] = '\0';
			/* the call's text takes tokens; it is sent as one chunk at the end */
			r->natural_len = 4 + (int)(strlen(r->tool_name) + strlen(r->tool_args)) / 4;
			r->ntokens = r->natural_len;
			if (r->num_predict > 0 && r->num_predict < r->ntokens)
				r->ntokens = r->num_predict;
			r->think = 0;
			return 0;
		}
	}
	if (format) {
		char *text = simgen_format_text(format, r->text_hash);
		r->npieces = simgen_pieces(text, &r->pieces);
		free(text);
		r->natural_len = r->npieces;
		r->ntokens = r->npieces;
		if (r->num_predict > 0 && r->num_predict < r->ntokens)
			r->ntokens = r->num_predict;
		r->think = 0;
	}
	return 0;
}

static void parse_generate(struct simreq *r, cJSON *j)
{
	const char *model, *prompt, *system;
	int think = 0;
	r->stream = 1;
	if (get_str(r, j, "model", "GenerateRequest", &model) ||
	    get_str(r, j, "prompt", "GenerateRequest", &prompt) ||
	    get_str(r, j, "system", "GenerateRequest", &system) ||
	    get_bool(r, j, "stream", "GenerateRequest", &r->stream) ||
	    get_bool(r, j, "raw", "GenerateRequest", &r->raw) || parse_keep_alive(r, j) ||
	    parse_options(r, j))
		return;
	cJSON *th = cJSON_GetObjectItemCaseSensitive(j, "think");
	think = think_flag(th);
	if (top_logprobs_bad(r, j))
		return;
	if (r->raw) {
		const char *tpl = NULL;
		cJSON *ctxa = cJSON_GetObjectItemCaseSensitive(j, "context");
		if (get_str(r, j, "template", "GenerateRequest", &tpl))
			return;
		if ((tpl && *tpl) || (system && *system) || cJSON_GetArraySize(ctxa) > 0) {
			reply_error(r, 400, "raw mode does not support template, system, or context");
			return;
		}
	}
	r->model_req = xstrdup(model ? model : "");
	if (!model || !*model) {
		reply_errorf(r, 404, "model '%s' not found", r->model_req);
		return;
	}
	if (!valid_name(model)) {
		reply_error(r, 400, "invalid model name");
		return;
	}
	struct simmodel *m = simmodel_find(r->in, model, 1);
	if (m && think == 1 && !strstr(m->cat.caps, "thinking")) {
		reply_errorf(r, 400, "\"%s\" does not support thinking", model);
		return;
	}
	r->think = m && think != 0 && strstr(m->cat.caps, "thinking") != NULL;
	r->preload = !prompt || !*prompt;
	r->unload = r->preload && r->has_keep_alive && r->keep_alive == 0;
	r->prompt_tokens = sim_text_tokens(prompt) + 4 + 3;
	if (system && *system)
		r->prompt_tokens += sim_text_tokens(system) + 4;
	hash_text(r, system);
	hash_text(r, prompt);
	if (images_bad(r, cJSON_GetObjectItemCaseSensitive(j, "images"), "GenerateRequest.images"))
		return;
	set_length(r);
	if (!r->preload &&
	    prepare_output(r, model, cJSON_GetObjectItemCaseSensitive(j, "format"), NULL, NULL))
		return;
	submit(r, model, 1);
}

static void parse_chat(struct simreq *r, cJSON *j)
{
	const char *model;
	r->stream = 1;
	if (get_str(r, j, "model", "ChatRequest", &model) ||
	    get_bool(r, j, "stream", "ChatRequest", &r->stream) || parse_keep_alive(r, j) ||
	    parse_options(r, j))
		return;
	if (top_logprobs_bad(r, j))
		return;
	if (!model || !*model) {
		reply_error(r, 400, "model is required");
		return;
	}
	r->model_req = xstrdup(model);
	if (!valid_name(model)) {
		reply_error(r, 400, "invalid model name");
		return;
	}
	int think = think_flag(cJSON_GetObjectItemCaseSensitive(j, "think"));
	struct simmodel *tm = simmodel_find(r->in, model, 1);
	if (tm && think == 1 && !strstr(tm->cat.caps, "thinking")) {
		reply_errorf(r, 400, "\"%s\" does not support thinking", model);
		return;
	}
	r->think = tm && think != 0 && strstr(tm->cat.caps, "thinking") != NULL;
	cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
	if (msgs && !cJSON_IsNull(msgs) && !cJSON_IsArray(msgs)) {
		reply_errorf(
			r, 400,
			"json: cannot unmarshal %s into Go struct field ChatRequest.messages of type []api.Message",
			go_type(msgs));
		return;
	}
	int n = msgs ? cJSON_GetArraySize(msgs) : 0;
	r->preload = n == 0;
	r->unload = r->preload && r->has_keep_alive && r->keep_alive == 0;
	r->prompt_tokens = 3;
	cJSON *msg;
	cJSON_ArrayForEach(msg, msgs)
	{
		cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "content");
		const char *s = cJSON_IsString(c) ? c->valuestring : "";
		r->prompt_tokens += sim_text_tokens(s) + 4;
		hash_text(r, s);
		if (images_bad(r, cJSON_GetObjectItemCaseSensitive(msg, "images"),
			       "ChatRequest.messages.images"))
			return;
	}
	set_length(r);
	if (prepare_output(r, model, cJSON_GetObjectItemCaseSensitive(j, "format"),
			   cJSON_GetObjectItemCaseSensitive(j, "tools"), msgs))
		return;
	submit(r, model, 1);
}

static void parse_v1(struct simreq *r, cJSON *j)
{
	const char *model;
	r->v1 = 1;
	r->stream = 0;
	if (get_str(r, j, "model", "ChatCompletionRequest", &model) ||
	    get_bool(r, j, "stream", "ChatCompletionRequest", &r->stream))
		return;
	if (!model || !*model) {
		reply_error(r, 400, "model is required");
		return;
	}
	r->model_req = xstrdup(model);
	cJSON *so = cJSON_GetObjectItemCaseSensitive(j, "stream_options");
	if (so && cJSON_IsObject(so))
		r->include_usage =
			cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage"));
	r->num_ctx = r->in->st.num_ctx;
	r->num_predict = -1;
	cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "max_tokens");
	if (!mt || cJSON_IsNull(mt))
		mt = cJSON_GetObjectItemCaseSensitive(j, "max_completion_tokens");
	if (mt && cJSON_IsNumber(mt))
		r->num_predict = (int)fmax(-2, fmin(mt->valuedouble, 1e9));
	if (r->kind == REQ_V1CHAT) {
		cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
		if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0) {
			reply_error(r, 400, "[] is too short - 'messages'");
			return;
		}
		r->prompt_tokens = 3;
		cJSON *msg;
		cJSON_ArrayForEach(msg, msgs)
		{
			cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "content");
			const char *s = cJSON_IsString(c) ? c->valuestring : "";
			r->prompt_tokens += sim_text_tokens(s) + 4;
			hash_text(r, s);
		}
	} else {
		cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "prompt");
		if (!cJSON_IsString(p)) {
			reply_error(r, 400, "prompt must be a string");
			return;
		}
		r->prompt_tokens = sim_text_tokens(p->valuestring) + 4 + 3;
		hash_text(r, p->valuestring);
	}
	r->chatcmpl_id = (int)(sim_rand(&r->in->rng) % 999);
	r->created_unix = wall_ns() / 1000000000LL;
	set_length(r);
	if (r->kind == REQ_V1CHAT) {
		/* response_format becomes Ollama's format: json_object -> "json", json_schema ->
		 * its schema */
		cJSON *rf = cJSON_GetObjectItemCaseSensitive(j, "response_format");
		cJSON *type = cJSON_GetObjectItemCaseSensitive(rf, "type");
		cJSON *json = NULL, *format = NULL;
		if (cJSON_IsString(type) && !strcmp(type->valuestring, "json_object"))
			format = json = cJSON_CreateString("json");
		else if (cJSON_IsString(type) && !strcmp(type->valuestring, "json_schema"))
			format = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(rf, "json_schema"), "schema");
		int rc = prepare_output(r, model, format, cJSON_GetObjectItemCaseSensitive(j, "tools"),
					cJSON_GetObjectItemCaseSensitive(j, "messages"));
		cJSON_Delete(json);
		if (rc)
			return;
	}
	submit(r, model, 1);
}

static void parse_embed(struct simreq *r, cJSON *j)
{
	const char *model;
	int legacy = r->kind == REQ_EMBEDDINGS;
	if (r->kind == REQ_V1EMBED)
		r->v1 = 1;
	if (get_str(r, j, "model", "EmbedRequest", &model))
		return;
	if (!r->v1 && parse_keep_alive(r, j))
		return;
	if (!r->v1 && parse_options(r, j))
		return;
	if (r->v1)
		r->num_ctx = r->in->st.num_ctx;
	if (!model || !*model) {
		reply_error(r, 400, "model is required");
		return;
	}
	r->model_req = xstrdup(model);
	cJSON *in = cJSON_GetObjectItemCaseSensitive(j, legacy ? "prompt" : "input");
	r->ninputs = 0;
	r->prompt_tokens = 0;
	if (cJSON_IsString(in)) {
		if (*in->valuestring || legacy) {
			r->ninputs = 1;
			r->prompt_tokens = sim_text_tokens(in->valuestring) + 2;
			hash_text(r, in->valuestring);
		}
	} else if (cJSON_IsArray(in)) {
		cJSON *it;
		cJSON_ArrayForEach(it, in)
		{
			if (!cJSON_IsString(it)) {
				reply_error(r, 400, "invalid input type");
				return;
			}
			r->ninputs++;
			r->prompt_tokens += sim_text_tokens(it->valuestring) + 2;
		}
		r->text_hash = simmodel_hash(r->body.data, 0);
	} else if (in && !cJSON_IsNull(in)) {
		reply_error(r, 400, "invalid input type");
		return;
	}
	if (r->v1) {
		cJSON *ef = cJSON_GetObjectItemCaseSensitive(j, "encoding_format");
		if (ef && cJSON_IsString(ef) && strcmp(ef->valuestring, "float") &&
		    strcmp(ef->valuestring, "base64")) {
			reply_errorf(r, 400, "invalid encoding format: %s", ef->valuestring);
			return;
		}
		r->b64 = cJSON_IsString(ef) && !strcmp(ef->valuestring, "base64");
		if (r->ninputs == 0) {
			reply_error(r, 400, "invalid input");
			return;
		}
	}
	r->no_truncate = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "truncate"));
	cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "dimensions");
	if (d && cJSON_IsNumber(d) && d->valuedouble > 0)
		r->dims = (int)d->valuedouble;
	r->preload = r->ninputs == 0;
	r->stream = 0;
	submit(r, model, 0);
}

/* ---- simple endpoints ---- */

static void reply_json_buf(struct simreq *r, int status, struct buf *b)
{
	buf_release(&r->reply);
	r->reply = *b;
	memset(b, 0, sizeof(*b));
	set_reply(r, status, JSON_TYPE);
}

static int cmp_modified(const void *a, const void *b)
{
	const struct simmodel *x = *(struct simmodel *const *)a, *y = *(struct simmodel *const *)b;
	return x->modified_ns < y->modified_ns ? 1 : x->modified_ns > y->modified_ns ? -1 : 0;
}

static void caps_json(struct buf *b, const char *caps)
{
	buf_adds(b, "[");
	const char *p = caps;
	int first = 1;
	while (*p) {
		size_t n = strcspn(p, ",");
		buf_addf(b, "%s\"%.*s\"", first ? "" : ",", (int)n, p);
		first = 0;
		p += n;
		if (*p)
			p++;
	}
	buf_adds(b, "]");
}

static void do_tags(struct simreq *r)
{
	struct siminst *in = r->in;
	struct simmodel **v = xcalloc(in->nmodels + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < in->nmodels; i++)
		if (in->models[i]->installed)
			v[n++] = in->models[i];
	qsort(v, n, sizeof(*v), cmp_modified);
	struct buf b = BUF_INIT;
	buf_adds(&b, "{\"models\":[");
	for (size_t i = 0; i < n; i++) {
		char ts[64];
		time_rfc3339nano(v[i]->modified_ns, 0, ts, sizeof(ts));
		buf_addf(
			&b,
			"%s{\"name\":\"%s\",\"model\":\"%s\",\"modified_at\":\"%s\",\"size\":%" PRIu64
			",\"digest\":\"%s\",\"details\":",
			i ? "," : "", v[i]->name, v[i]->name, ts, v[i]->cat.file_size,
			v[i]->digest);
		simmodel_details(&b, v[i], 1);
		buf_adds(&b, ",\"capabilities\":");
		caps_json(&b, v[i]->cat.caps);
		buf_adds(&b, "}");
	}
	buf_adds(&b, "]}");
	free(v);
	reply_json_buf(r, 200, &b);
}

static int cmp_expires(const void *a, const void *b)
{
	const struct simrunner *x = *(struct simrunner *const *)a,
			       *y = *(struct simrunner *const *)b;
	if (x->expires_forever != y->expires_forever)
		return x->expires_forever ? -1 : 1;
	return x->expires_wall < y->expires_wall ? 1 : x->expires_wall > y->expires_wall ? -1 : 0;
}

static void do_ps(struct simreq *r)
{
	struct siminst *in = r->in;
	size_t n = 0;
	for (struct simrunner *x = in->runners; x; x = x->next)
		n++;
	struct simrunner **v = xcalloc(n + 1, sizeof(*v));
	n = 0;
	for (struct simrunner *x = in->runners; x; x = x->next) {
		if (x->state == RUNNER_LOADING) {
			/* estimated while loading */
			x->expires_forever = x->keep_alive == DURATION_FOREVER;
			x->expires_wall = wall_ns() + (x->expires_forever ? 0 : x->keep_alive);
		}
		v[n++] = x;
	}
	qsort(v, n, sizeof(*v), cmp_expires);
	struct buf b = BUF_INIT;
	buf_adds(&b, "{\"models\":[");
	for (size_t i = 0; i < n; i++) {
		struct simrunner *x = v[i];
		char ts[64];
		fmt_expires(x, ts, sizeof(ts));
		uint64_t size = simmodel_loaded_size(x->m, x->num_ctx, x->parallel);
		uint64_t vram = in->st.vram && in->st.vram < size ? in->st.vram : size;
		buf_addf(&b,
			 "%s{\"name\":\"%s\",\"model\":\"%s\",\"size\":%" PRIu64
			 ",\"digest\":\"%s\",\"details\":",
			 i ? "," : "", x->m->name, x->m->name, size, x->m->digest);
		simmodel_details(&b, x->m, 0);
		buf_addf(&b,
			 ",\"expires_at\":\"%s\",\"size_vram\":%" PRIu64 ",\"context_length\":%d}",
			 ts, vram, x->num_ctx);
	}
	buf_adds(&b, "]}");
	free(v);
	reply_json_buf(r, 200, &b);
}

static void do_show(struct simreq *r, cJSON *j)
{
	const char *model;
	if (get_str(r, j, "model", "ShowRequest", &model))
		return;
	if (!model || !*model) {
		if (get_str(r, j, "name", "ShowRequest", &model))
			return;
	}
	if (!model || !*model) {
		reply_error(r, 400, "model is required");
		return;
	}
	struct simmodel *m = simmodel_find(r->in, model, 1);
	if (!m) {
		char *c = simmodel_canonical(model);
		reply_errorf(r, 404, "model '%s' not found", c ? c : model);
		free(c);
		return;
	}
	struct buf b = BUF_INIT;
	char ts[64];
	time_rfc3339nano(m->modified_ns, 0, ts, sizeof(ts));
	buf_addf(&b, "{\"license\":\"Simulated model licence.\",\"modelfile\":");
	struct buf mf = BUF_INIT;
	buf_addf(&mf,
		 "# Modelfile generated by \"ollama show\"\nFROM %s\nTEMPLATE \"{{ .Prompt }}\"\n",
		 m->name);
	if (m->system)
		buf_addf(&mf, "SYSTEM \"\"\"%s\"\"\"\n", m->system);
	const char *params = m->params ? m->params : "stop                           \"<|eot_id|>\"";
	for (const char *p = params; *p;) {
		size_t n = strcspn(p, "\n");
		buf_addf(&mf, "PARAMETER %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
	buf_add_json_str(&b, buf_str(&mf));
	buf_release(&mf);
	buf_adds(&b, ",\"parameters\":");
	buf_add_json_str(&b, params);
	buf_adds(&b, ",\"template\":\"{{ .Prompt }}\"");
	if (m->system) {
		buf_adds(&b, ",\"system\":");
		buf_add_json_str(&b, m->system);
	}
	buf_adds(&b, ",\"details\":");
	simmodel_details(&b, m, 0);
	buf_addf(&b,
		 ",\"model_info\":{\"general.architecture\":\"%s\",\"general.file_type\":15,"
		 "\"general.parameter_count\":%" PRIu64 ",\"general.quantization_version\":2,"
		 "\"%s.context_length\":%d,\"%s.embedding_length\":%d,"
		 "\"tokenizer.ggml.model\":\"gpt2\",\"tokenizer.ggml.tokens\":null},"
		 "\"capabilities\":",
		 m->cat.arch, m->cat.param_count, m->cat.arch, m->cat.ctx_train, m->cat.arch,
		 m->cat.emb_len);
	caps_json(&b, m->cat.caps);
	buf_addf(&b, ",\"modified_at\":\"%s\"}", ts);
	reply_json_buf(r, 200, &b);
}

static void do_delete(struct simreq *r, cJSON *j)
{
	const char *model;
	if (get_str(r, j, "model", "DeleteRequest", &model))
		return;
	if (!model || !*model)
		if (get_str(r, j, "name", "DeleteRequest", &model))
			return;
	struct simmodel *m = model ? simmodel_find(r->in, model, 1) : NULL;
	if (!m) {
		reply_errorf(r, 404, "model '%s' not found", model ? model : "");
		return;
	}
	/* a loaded model is unloaded first (once its requests are done) */
	simsched_expire(r->in, m);
	m->installed = 0;
	buf_reset(&r->reply);
	set_reply(r, 200, NULL);
}

static void do_copy(struct simreq *r, cJSON *j)
{
	const char *src, *dst;
	if (get_str(r, j, "source", "CopyRequest", &src) ||
	    get_str(r, j, "destination", "CopyRequest", &dst))
		return;
	struct simmodel *m = src ? simmodel_find(r->in, src, 1) : NULL;
	if (!m) {
		reply_errorf(r, 404, "model \"%s\" not found", src ? src : "");
		return;
	}
	char *c = dst ? simmodel_canonical(dst) : NULL;
	if (!c) {
		reply_error(r, 400, "invalid model name");
		return;
	}
	struct simmodel *n = simmodel_find(r->in, c, 0);
	if (!n) {
		n = simmodel_add(r->in, c, 1);
		n->cat = m->cat;
		n->cat.name = n->name;
	}
	if (n != m) {
		/* the same manifest: the same layers, system prompt and parameters */
		char *base = xstrdup(m->base ? m->base : m->name);
		char *system = m->system ? xstrdup(m->system) : NULL;
		char *params = m->params ? xstrdup(m->params) : NULL;
		free(n->base);
		free(n->system);
		free(n->params);
		n->base = base;
		n->system = system;
		n->params = params;
	}
	n->installed = 1;
	memcpy(n->digest, m->digest, sizeof(n->digest));
	n->modified_ns = wall_ns();
	free(c);
	buf_reset(&r->reply);
	set_reply(r, 200, NULL);
}

static void do_v1_models(struct simreq *r, const char *one)
{
	struct siminst *in = r->in;
	struct buf b = BUF_INIT;
	if (one) {
		struct simmodel *m = simmodel_find(in, one, 1);
		if (!m) {
			r->v1 = 1;
			reply_errorf(r, 404, "model \"%s\" not found", one);
			buf_release(&b);
			return;
		}
		buf_adds(&b, "{\"id\":");
		buf_add_json_str(&b, one);
		buf_addf(&b,
			 ",\"object\":\"model\",\"created\":%" PRId64 ",\"owned_by\":\"library\"}",
			 (int64_t)(m->modified_ns / 1000000000LL));
		reply_json_buf(r, 200, &b);
		return;
	}
	struct simmodel **v = xcalloc(in->nmodels + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < in->nmodels; i++)
		if (in->models[i]->installed)
			v[n++] = in->models[i];
	qsort(v, n, sizeof(*v), cmp_modified);
	buf_adds(&b, "{\"object\":\"list\",\"data\":");
	if (!n)
		buf_adds(&b, "null");
	for (size_t i = 0; i < n; i++)
		buf_addf(&b,
			 "%s{\"id\":\"%s\",\"object\":\"model\",\"created\":%" PRId64
			 ",\"owned_by\":\"library\"}",
			 i ? "," : "[", v[i]->name, (int64_t)(v[i]->modified_ns / 1000000000LL));
	if (n)
		buf_adds(&b, "]");
	buf_adds(&b, "}");
	free(v);
	reply_json_buf(r, 200, &b);
}

/* ---- /_sim ---- */

static void stats_inst(struct buf *b, struct siminst *in)
{
	char faults[256];
	sim_fault_describe(&in->st, faults, sizeof(faults));
	buf_addf(b, "{\"name\":\"%s\",\"port\":%d,\"up\":%s,\"faults\":[", in->name, in->port,
		 in->up ? "true" : "false");
	const char *p = faults;
	int first = 1;
	while (*p) {
		size_t n = strcspn(p, ",");
		buf_addf(b, "%s\"%.*s\"", first ? "" : ",", (int)n, p);
		first = 0;
		p += n;
		if (*p)
			p++;
	}
	buf_adds(b, "],\"requests\":{");
	first = 1;
	for (int i = 0; i < P__N; i++) {
		if (!in->path_count[i])
			continue;
		buf_addf(b, "%s\"%s\":%" PRIu64, first ? "" : ",", routes[i].path,
			 in->path_count[i]);
		first = 0;
	}
	buf_adds(b, "},\"status\":{");
	first = 1;
	for (int i = 100; i < 600; i++) {
		if (!in->status_count[i])
			continue;
		buf_addf(b, "%s\"%d\":%" PRIu64, first ? "" : ",", i, in->status_count[i]);
		first = 0;
	}
	long generating = 0, waiting_slot = 0;
	for (struct simrunner *x = in->runners; x; x = x->next) {
		generating += x->busy;
		waiting_slot += (long)x->slotq.len;
	}
	buf_addf(b,
		 "},\"in_flight\":%ld,\"generating\":%ld,\"waiting_slot\":%ld,\"waiting_load\":%zu,"
		 "\"max_waiting_load\":%zu,\"loads\":%" PRIu64 ",\"unloads\":%" PRIu64
		 ",\"rejected\":%" PRIu64 ",\"tokens\":%" PRIu64 ",\"models\":[",
		 in->in_flight, generating, waiting_slot, in->loadq.len, in->max_waiting_load,
		 in->loads, in->unloads, in->rejected, in->tokens);
	for (size_t i = 0; i < in->nmodels; i++) {
		struct simmodel *m = in->models[i];
		struct simrunner *x = simsched_find(in, m);
		const char *state = !x                           ? "none"
				    : x->state == RUNNER_LOADING ? "loading"
				    : x->state == RUNNER_READY   ? "ready"
								 : "unloading";
		buf_addf(
			b,
			"%s{\"name\":\"%s\",\"installed\":%s,\"loaded\":%s,\"state\":\"%s\",\"active\":%d,"
			"\"max_concurrent\":%d,\"requests\":%" PRIu64 ",\"loads\":%" PRIu64
			",\"unloads\":%" PRIu64 ",\"num_ctx\":%d}",
			i ? "," : "", m->name, m->installed ? "true" : "false",
			x && x->state == RUNNER_READY ? "true" : "false", state, x ? x->busy : 0,
			m->max_concurrent, m->requests, m->loads, m->unloads, x ? x->num_ctx : 0);
	}
	buf_adds(b, "],\"emission\":");
	simemit_json(b, in->emit);
	buf_adds(b, "}");
}

static void do_stats(struct simreq *r)
{
	struct sim *s = r->in->sim;
	struct buf b = BUF_INIT;
	buf_addf(&b, "{\"instance\":\"%s\",\"instances\":[", r->in->name);
	for (size_t i = 0; i < s->ninst; i++) {
		if (i)
			buf_adds(&b, ",");
		stats_inst(&b, &s->inst[i]);
	}
	buf_adds(&b, "],\"emission\":");
	simemit_json_all(&b, s);
	buf_adds(&b, "}");
	reply_json_buf(r, 200, &b);
}

static void do_reset(struct simreq *r)
{
	struct sim *s = r->in->sim;
	for (size_t i = 0; i < s->ninst; i++) {
		struct siminst *in = &s->inst[i];
		memset(in->path_count, 0, sizeof(in->path_count));
		memset(in->status_count, 0, sizeof(in->status_count));
		in->max_waiting_load = 0;
		in->loads = in->unloads = in->rejected = in->tokens = 0;
		simemit_reset(in);
		for (size_t k = 0; k < in->nmodels; k++) {
			struct simmodel *m = in->models[k];
			m->requests = m->loads = m->unloads = 0;
			m->max_concurrent = 0;
		}
	}
	reply_text(r, 200, "");
	r->reply_type = JSON_TYPE;
	buf_adds(&r->reply, "{}");
}

static void do_fault(struct simreq *r, cJSON *j)
{
	const char *inst, *spec;
	int add = 0;
	if (get_str(r, j, "instance", "fault", &inst) || get_str(r, j, "fault", "fault", &spec))
		return;
	if (!spec) {
		reply_error(r, 400, "fault is required");
		return;
	}
	cJSON *av = cJSON_GetObjectItemCaseSensitive(j, "add");
	if (av && !cJSON_IsNull(av) && !cJSON_IsBool(av)) {
		reply_error(r, 400, "add must be true or false");
		return;
	}
	add = cJSON_IsTrue(av);
	struct sim *s = r->in->sim;
	int all = inst && (!strcmp(inst, "*") || !strcmp(inst, "all"));
	struct siminst *target = inst && !all ? NULL : r->in;
	if (inst && !all) {
		for (size_t i = 0; i < s->ninst; i++)
			if (!strcmp(s->inst[i].name, inst))
				target = &s->inst[i];
		if (!target) {
			reply_errorf(r, 404, "no instance '%s'", inst);
			return;
		}
	}
	/* validate first */
	struct sim_settings tmp = r->in->st;
	char err[ERR_MAX];
	if (sim_fault_apply(&tmp, spec, err) < 0) {
		reply_error(r, 400, err);
		return;
	}
	struct buf b = BUF_INIT;
	buf_adds(&b, "{\"instances\":[");
	int first = 1;
	for (size_t i = 0; i < s->ninst; i++) {
		struct siminst *in = &s->inst[i];
		if (!all && in != target)
			continue;
		/* A spec replaces the active faults ("up" only lifts down); "add": true stacks it. */
		if (!add && strcasecmp(spec, "up"))
			sim_fault_apply(&in->st, "none", err);
		sim_fault_apply(&in->st, spec, err);
		char d[256];
		sim_fault_describe(&in->st, d, sizeof(d));
		sim_logf(s, "sim %s fault: %s", in->name, *d ? d : "none");
		/* the receiving instance goes down only after this answer is out */
		siminst_schedule_apply(in, in == r->in ? 100000000LL : 0);
		buf_addf(&b, "%s{\"instance\":\"%s\",\"faults\":", first ? "" : ",", in->name);
		caps_json(&b, d);
		buf_adds(&b, "}");
		first = 0;
	}
	buf_adds(&b, "]}");
	reply_json_buf(r, 200, &b);
}

/* ---- pull ---- */

/* Is name in the comma list (compared as canonical names)? */
static int name_listed(const char *list, const char *canonical)
{
	char *dup = xstrdup(list ? list : "");
	char *save = NULL;
	int hit = 0;
	for (char *t = strtok_r(dup, ",", &save); t && !hit; t = strtok_r(NULL, ",", &save)) {
		char *c = simmodel_canonical(t);
		hit = c && !strcasecmp(c, canonical);
		free(c);
	}
	free(dup);
	return hit;
}

/* The bytes of a cut-short pull of name on in (created when create). */
static struct simpartial *partial_find(struct siminst *in, const char *name, int create)
{
	for (size_t i = 0; i < in->npartials; i++)
		if (!strcasecmp(in->partials[i].name, name))
			return &in->partials[i];
	if (!create)
		return NULL;
	in->partials = xrealloc(in->partials, (in->npartials + 1) * sizeof(*in->partials));
	struct simpartial *p = &in->partials[in->npartials++];
	memset(p, 0, sizeof(*p));
	p->name = xstrdup(name);
	return p;
}

static void partial_drop(struct siminst *in, const char *name)
{
	struct simpartial *p = partial_find(in, name, 0);
	if (!p)
		return;
	free(p->name);
	*p = in->partials[--in->npartials];
}

static void pull_setup(struct simreq *r, const char *canonical)
{
	struct siminst *in = r->in;
	/* the registry has every well-formed name but those listed as missing */
	r->pull_known = !name_listed(in->st.registry_missing, canonical);
	simmodel_hex(0, canonical, r->pull_want);
	struct simmodel *have = simmodel_find(in, canonical, 1);
	/* installed with the registry's digest: every layer is already there */
	r->pull_had = have && !strcmp(have->digest, r->pull_want);
	uint64_t fsize = 1500000000ULL + simmodel_hash(canonical, 7) % 1000000000ULL;
	size_t nc;
	const struct simcat *cat = simmodel_catalogue(&nc);
	for (size_t i = 0; i < nc; i++)
		if (!strcasecmp(cat[i].name, canonical))
			fsize = cat[i].file_size;
	if (have)
		fsize = have->cat.file_size;
	static const uint64_t small[] = { 1429, 7711, 6016, 96, 561 };
	r->pull_nlayers = 5;
	r->pull_sizes[0] = fsize > 16000 ? fsize - 15813 : fsize;
	for (int i = 1; i < 5; i++)
		r->pull_sizes[i] = small[i - 1];
	for (int i = 0; i < 5; i++) {
		char salt[32];
		snprintf(salt, sizeof(salt), "layer%d", i);
		simmodel_hex(simmodel_hash(salt, 5), canonical, r->pull_dig[i]);
	}
	/* a pull cut short before resumes from what is on disk */
	const struct simpartial *part = r->pull_had ? NULL : partial_find(in, canonical, 0);
	for (int i = 0; i < 5 && part; i++)
		r->pull_done[i] = part->done[i] < r->pull_sizes[i] ? part->done[i] : r->pull_sizes[i];
	const struct sim_fault *cut = &in->st.faults[SIM_FAULT_PULL_CUT];
	const struct sim_fault *disk = &in->st.faults[SIM_FAULT_DISK_FULL];
	if (disk->frac > 0 && sim_randf(&in->rng) < disk->frac) {
		r->pull_fail_at = disk->arg_share;
		r->pull_fail_disk = 1;
	} else if (cut->frac > 0 && sim_randf(&in->rng) < cut->frac) {
		r->pull_fail_at = cut->arg_share;
	}
	/* already past the point where it fails: it goes through */
	if (r->pull_fail_at > 0 &&
	    r->pull_done[0] >= (uint64_t)(r->pull_fail_at * (double)r->pull_sizes[0]))
		r->pull_fail_at = 0;
	r->pull_step = 0;
	r->next_due = mono_ns();
}

/* Install the pulled model with the registry's digest (on every instance of its store). */
static void pull_install(struct simreq *r)
{
	struct siminst *in = r->in;
	for (size_t k = 0; k < in->sim->ninst; k++) {
		struct siminst *o = &in->sim->inst[k];
		if (o != in && (!*in->st.store || strcmp(o->st.store, in->st.store)))
			continue;
		int had = simmodel_find(o, r->pull_name, 1) != NULL &&
			  !strcmp(simmodel_find(o, r->pull_name, 1)->digest, r->pull_want);
		struct simmodel *m = simmodel_add(o, r->pull_name, 1);
		m->installed = 1;
		memcpy(m->digest, r->pull_want, sizeof(m->digest));
		if (!had)
			m->modified_ns = wall_ns();
		partial_drop(o, r->pull_name);
	}
}

/* One pull line per call: manifest, layers (progress every 60 ms), verify, write, success. */
static int produce_pull(struct simreq *r, int64_t now, struct buf *o)
{
	struct siminst *in = r->in;
	if (now < r->next_due)
		return 0;
	if (r->pull_step == 0) {
		buf_adds(o, "{\"status\":\"pulling manifest\"}\n");
		r->pull_step = 1;
		r->pull_layer = 0;
		r->next_due = now + siminst_delay(in, 30000000LL);
		return 1;
	}
	if (!r->pull_known) {
		buf_adds(o, "{\"error\":\"pull model manifest: file does not exist\"}\n");
		r->pull_err = 1;
		r->finished = 1;
		return 1;
	}
	if (r->pull_step == 1) {
		int l = r->pull_layer;
		uint64_t total = r->pull_sizes[l];
		uint64_t done = r->pull_done[l];
		int fail = 0;
		if (r->pull_had) {
			done = total;
		} else if (r->pull_started[l]) {
			/* bytes per 60 ms tick at the pull rate (2 GB per pull_time) */
			double secs = (double)r->in->st.pull_ns / 1e9;
			double rate = secs > 0 ? 2e9 / secs : 1e18;
			if (in->st.faults[SIM_FAULT_SLOW].frac > 0)
				rate /= 10;
			uint64_t step =
				(uint64_t)(rate * 0.06 * (0.8 + 0.4 * sim_randf(&in->rng))) + 1;
			done = total - done < step ? total : done + step;
			if (l == 0 && r->pull_fail_at > 0) {
				uint64_t at = (uint64_t)(r->pull_fail_at * (double)total);
				if (done >= at) {
					done = at;
					fail = 1;
				}
			}
		}
		r->pull_started[l] = 1;
		r->pull_done[l] = done;
		if (!r->pull_had && done < total) {
			/* what is on disk if the pull stops here */
			struct simpartial *part = partial_find(in, r->pull_name, 1);
			memcpy(part->done, r->pull_done, sizeof(part->done));
		}
		buf_addf(
			o,
			"{\"status\":\"pulling %.12s\",\"digest\":\"sha256:%s\",\"total\":%" PRIu64,
			r->pull_dig[l], r->pull_dig[l], total);
		if (done)
			buf_addf(o, ",\"completed\":%" PRIu64, done);
		buf_adds(o, "}\n");
		if (fail) {
			if (r->pull_fail_disk)
				buf_addf(o, "{\"error\":\"write /usr/share/ollama/.ollama/models/blobs/"
					 "sha256-%s-partial: no space left on device\"}\n",
					 r->pull_dig[0]);
			else
				buf_adds(o, "{\"error\":\"max retries exceeded: unexpected EOF\"}\n");
			r->pull_err = r->pull_fail_disk ? 3 : 2;
			r->finished = 1;
			return 1;
		}
		if (done >= total) {
			r->pull_layer++;
			r->next_due = now;
			if (r->pull_layer >= r->pull_nlayers)
				r->pull_step = 2;
		} else {
			r->next_due = now + 60000000LL;
		}
		return 1;
	}
	int k = r->pull_step - 2;
	buf_addf(o, "{\"status\":\"%s\"}\n", pull_status_text[k]);
	r->pull_step++;
	r->next_due = now + siminst_delay(in, 20000000LL);
	if (k == 2) {
		pull_install(r);
		r->finished = 1;
	}
	return 1;
}

static void pull_nonstream_timer(void *arg)
{
	struct simreq *r = arg;
	struct buf tmp = BUF_INIT;
	while (!r->finished) {
		buf_reset(&tmp);
		if (!produce_pull(r, mono_ns(), &tmp))
			break;
	}
	buf_release(&tmp);
	if (!r->finished) {
		simtimer_arm(r->in->sim, &r->timer, r->next_due);
		return;
	}
	if (r->pull_err) {
		/* the message of the error line produce_pull wrote last */
		const char *msg = r->pull_err == 1 ? "pull model manifest: file does not exist" :
				  r->pull_err == 2 ? "max retries exceeded: unexpected EOF" :
						     "no space left on device";
		reply_error(r, 500, msg);
	} else {
		buf_reset(&r->reply);
		buf_adds(&r->reply, "{\"status\":\"success\"}");
		set_reply(r, 200, "application/json");
	}
	simreq_wake(r);
}

static void do_pull(struct simreq *r, cJSON *j)
{
	const char *model;
	r->stream = 1;
	if (get_str(r, j, "model", "PullRequest", &model) ||
	    get_bool(r, j, "stream", "PullRequest", &r->stream))
		return;
	if (!model || !*model)
		if (get_str(r, j, "name", "PullRequest", &model))
			return;
	char *c = model ? simmodel_canonical(model) : NULL;
	if (!c) {
		reply_error(r, 400, "invalid model name");
		return;
	}
	r->kind = REQ_PULL;
	r->pull_name = c;
	pull_setup(r, c);
	if (r->stream) {
		r->status = 200;
		r->reply_type = NDJSON_TYPE;
		r->state = RS_STREAMREADY;
	} else {
		r->state = RS_RUN;
		r->timer.fn = pull_nonstream_timer;
		r->timer.arg = r;
		simtimer_arm(r->in->sim, &r->timer, mono_ns());
	}
}

/* ---- generation ---- */

static void add_metrics(struct buf *o, struct simreq *r)
{
	int64_t total = r->t_final - r->t_entry;
	int64_t load = r->t_granted - r->t_entry;
	int64_t pe = r->t_first - r->t_slot;
	int64_t ev = r->t_final - r->t_first;
	if (total > 0)
		buf_addf(o, ",\"total_duration\":%" PRId64, total);
	if (load > 0)
		buf_addf(o, ",\"load_duration\":%" PRId64, load);
	if (r->prompt_tokens > 0)
		buf_addf(o, ",\"prompt_eval_count\":%d", r->prompt_tokens);
	if (pe > 0)
		buf_addf(o, ",\"prompt_eval_duration\":%" PRId64, pe);
	if (r->tok_sent > 0)
		buf_addf(o, ",\"eval_count\":%d", r->tok_sent);
	if (ev > 0 && r->tok_sent > 0)
		buf_addf(o, ",\"eval_duration\":%" PRId64, ev);
}

static const char *done_reason(struct simreq *r)
{
	return r->ntokens < r->natural_len ? "length" : "stop";
}

static void v1_head(struct buf *o, struct simreq *r, const char *object)
{
	buf_addf(o, "{\"id\":\"%s-%d\",\"object\":\"%s\",\"created\":%" PRId64 ",\"model\":",
		 r->kind == REQ_V1CHAT ? "chatcmpl" : "cmpl", r->chatcmpl_id, object,
		 r->created_unix);
	buf_add_json_str(o, r->model_req);
	buf_adds(o, ",\"system_fingerprint\":\"fp_ollama\"");
}

static void v1_usage(struct buf *o, struct simreq *r)
{
	buf_addf(o, "\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d}",
		 r->prompt_tokens, r->tok_sent, r->prompt_tokens + r->tok_sent);
}

static void native_head(struct buf *o, struct simreq *r)
{
	char ts[64];
	now_utc(ts, sizeof(ts));
	buf_adds(o, "{\"model\":");
	buf_add_json_str(o, r->model_req);
	buf_addf(o, ",\"created_at\":\"%s\",", ts);
}

/* The i-th token of the answer: the format's pieces, or made-up words. */
static const char *out_word(struct simreq *r, int i)
{
	if (r->pieces)
		return i < r->npieces ? r->pieces[i] : "";
	return simmodel_word(r->text_hash, i);
}

/* The tool call: native (arguments an object) or OpenAI-style (arguments a string). */
static void tool_calls_json(struct buf *o, struct simreq *r, int v1)
{
	buf_addf(o, "[{\"id\":\"%s\",", r->tool_id);
	if (v1) {
		buf_adds(o, "\"index\":0,\"type\":\"function\",\"function\":{\"name\":");
		buf_add_json_str(o, r->tool_name);
		buf_adds(o, ",\"arguments\":");
		buf_add_json_str(o, r->tool_args);
	} else {
		buf_adds(o, "\"function\":{\"index\":0,\"name\":");
		buf_add_json_str(o, r->tool_name);
		buf_adds(o, ",\"arguments\":");
		buf_adds(o, r->tool_args);
	}
	buf_adds(o, "}}]");
}

static const char *v1_finish(struct simreq *r)
{
	return r->tool_name ? "tool_calls" : done_reason(r);
}

/* The streamed chunk that carries the tool call. */
static void tool_line(struct buf *o, struct simreq *r)
{
	if (r->kind == REQ_V1CHAT) {
		buf_adds(o, "data: ");
		v1_head(o, r, "chat.completion.chunk");
		buf_adds(o, ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
			    "\"content\":\"\",\"tool_calls\":");
		tool_calls_json(o, r, 1);
		buf_adds(o, "},\"finish_reason\":null}]}\n\n");
	} else {
		native_head(o, r);
		buf_adds(o, "\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":");
		tool_calls_json(o, r, 0);
		buf_adds(o, "},\"done\":false}\n");
	}
}

static void token_line(struct buf *o, struct simreq *r, const char *w)
{
	int thinking = r->think && r->tok_sent < r->ntokens / 3;
	switch (r->kind) {
	case REQ_GENERATE:
		native_head(o, r);
		buf_adds(o, "\"response\":");
		if (thinking) {
			buf_adds(o, "\"\",\"thinking\":");
		}
		buf_add_json_str(o, w);
		buf_adds(o, ",\"done\":false}\n");
		break;
	case REQ_CHAT:
		native_head(o, r);
		buf_adds(o, "\"message\":{\"role\":\"assistant\",\"content\":");
		if (thinking)
			buf_adds(o, "\"\",\"thinking\":");
		buf_add_json_str(o, w);
		buf_adds(o, "},\"done\":false}\n");
		break;
	case REQ_V1CHAT:
		buf_adds(o, "data: ");
		v1_head(o, r, "chat.completion.chunk");
		buf_addf(o, ",\"choices\":[{\"index\":0,\"delta\":{%s\"content\":",
			 r->tok_sent == 0 ? "\"role\":\"assistant\"," : "");
		buf_add_json_str(o, w);
		buf_adds(o, "},\"finish_reason\":null}]}\n\n");
		break;
	case REQ_V1COMPL:
		buf_adds(o, "data: ");
		v1_head(o, r, "text_completion");
		buf_adds(o, ",\"choices\":[{\"text\":");
		buf_add_json_str(o, w);
		buf_adds(o, ",\"index\":0,\"finish_reason\":null}]");
		if (r->include_usage)
			buf_adds(
				o,
				",\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0,\"total_tokens\":0}");
		buf_adds(o, "}\n\n");
		break;
	default:
		break;
	}
}

static void context_array(struct buf *o, struct simreq *r)
{
	int n = r->prompt_tokens + r->tok_sent;
	if (n > 100000)
		n = 100000;
	buf_adds(o, ",\"context\":[");
	uint64_t st = r->text_hash;
	for (int i = 0; i < n; i++)
		buf_addf(o, "%s%u", i ? "," : "", (unsigned)(sim_rand(&st) % 128000));
	buf_adds(o, "]");
}

/* The final chunk (stream) or the whole object (stream:false, text = the joined tokens). */
/* The end of an OpenAI SSE stream: the finish chunk (choice: its fields before
 * finish_reason, in Ollama's order), the usage
 * chunk when asked for, then [DONE]. */
static void v1_stream_end(struct buf *o, struct simreq *r, const char *object,
			  const char *choice)
{
	buf_adds(o, "data: ");
	v1_head(o, r, object);
	buf_addf(o, ",\"choices\":[{%s,\"finish_reason\":\"%s\"}]}\n\n", choice,
		 v1_finish(r));
	if (r->include_usage) {
		buf_adds(o, "data: ");
		v1_head(o, r, object);
		buf_adds(o, ",\"choices\":[],");
		v1_usage(o, r);
		buf_adds(o, "}\n\n");
	}
	buf_adds(o, "data: [DONE]\n\n");
}

static void final_line(struct buf *o, struct simreq *r, const char *text)
{
	switch (r->kind) {
	case REQ_GENERATE:
		native_head(o, r);
		buf_adds(o, "\"response\":");
		buf_add_json_str(o, text);
		if (r->thinking) {
			buf_adds(o, ",\"thinking\":");
			buf_add_json_str(o, r->thinking);
		}
		buf_addf(o, ",\"done\":true,\"done_reason\":\"%s\"", done_reason(r));
		if (!r->raw)
			context_array(o, r);
		add_metrics(o, r);
		buf_adds(o, "}");
		break;
	case REQ_CHAT:
		native_head(o, r);
		buf_adds(o, "\"message\":{\"role\":\"assistant\",\"content\":");
		buf_add_json_str(o, text);
		if (r->thinking) {
			buf_adds(o, ",\"thinking\":");
			buf_add_json_str(o, r->thinking);
		}
		if (r->tool_name && !r->stream) {
			buf_adds(o, ",\"tool_calls\":");
			tool_calls_json(o, r, 0);
		}
		buf_addf(o, "},\"done\":true,\"done_reason\":\"%s\"", done_reason(r));
		add_metrics(o, r);
		buf_adds(o, "}");
		break;
	case REQ_V1CHAT:
		if (r->stream) {
			v1_stream_end(o, r, "chat.completion.chunk", "\"index\":0,\"delta\":{}");
			return;
		}
		v1_head(o, r, "chat.completion");
		buf_adds(
			o,
			",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
		buf_add_json_str(o, text);
		if (r->tool_name) {
			buf_adds(o, ",\"tool_calls\":");
			tool_calls_json(o, r, 1);
		}
		buf_addf(o, "},\"finish_reason\":\"%s\"}],", v1_finish(r));
		v1_usage(o, r);
		buf_adds(o, "}");
		return;
	case REQ_V1COMPL:
		if (r->stream) {
			v1_stream_end(o, r, "text_completion", "\"text\":\"\",\"index\":0");
			return;
		}
		v1_head(o, r, "text_completion");
		buf_adds(o, ",\"choices\":[{\"text\":");
		buf_add_json_str(o, text);
		buf_addf(o, ",\"index\":0,\"finish_reason\":\"%s\"}],", done_reason(r));
		v1_usage(o, r);
		buf_adds(o, "}");
		return;
	default:
		return;
	}
	if (r->stream)
		buf_adds(o, "\n");
}

static const char *const mid_error =
	"an error was encountered while running the model: unexpected EOF";

static void malformed_line(struct buf *o, struct simreq *r)
{
	if (r->v1) {
		buf_adds(o, "data: {\"id\":\"chatcmpl-");
		buf_adds(o, "\",\"object\":\"chat.completion.chu\n\n");
	} else {
		buf_adds(o, "{\"model\":");
		buf_add_json_str(o, r->model_req);
		buf_adds(o, ",\"created_at\":\"2026-");
		buf_adds(o, "\n");
	}
}

static void error_line(struct buf *o, struct simreq *r)
{
	if (r->v1) {
		/* Ollama's OpenAI layer reads the native error line as an empty chunk, then stops. */
		buf_adds(o, "data: ");
		v1_head(o, r, r->kind == REQ_V1CHAT ? "chat.completion.chunk" : "text_completion");
		if (r->kind == REQ_V1CHAT)
			buf_adds(
				o,
				",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
		else
			buf_adds(
				o,
				",\"choices\":[{\"text\":\"\",\"index\":0,\"finish_reason\":null}]}\n\n");
	} else {
		buf_addf(o, "{\"error\":\"%s\"}\n", mid_error);
	}
}

static int64_t interval(struct simreq *r)
{
	return siminst_delay(r->in, r->in->st.tok_interval_ns);
}

static void wake_cb(void *arg)
{
	simreq_wake(arg);
}

/* Streaming: one unit per call. */
static int produce_gen(struct simreq *r, int64_t now, struct buf *o)
{
	if (r->finished || now < r->next_due)
		return 0;
	int mid = r->ntokens / 2;
	if (r->tok_sent == mid && r->stall_ns && !r->stall_done) {
		r->stall_done = 1;
		r->next_due = now + r->stall_ns;
		return 0;
	}
	if (r->tok_sent == mid && !r->mid_done) {
		r->mid_done = 1;
		if (r->fault_truncate) {
			r->finished = 1;
			r->abort_stream = 1;
			simsched_release(r);
			return 1;
		}
		if (r->fault_error) {
			error_line(o, r);
			r->finished = 1;
			simsched_release(r);
			return 1;
		}
		if (r->fault_malformed) {
			malformed_line(o, r);
			return 1;
		}
	}
	if (r->tok_sent < r->ntokens) {
		const char *w = out_word(r, r->tok_sent);
		if (r->tok_sent == 0)
			r->t_first = now;
		size_t before = o->len;
		if (!r->tool_name)
			token_line(o, r, w);
		else if (r->tok_sent == r->ntokens - 1)
			tool_line(o, r); /* the parser holds the call's tokens back until it is whole */
		/* the emission truth: this token goes out with the next bytes that carry one */
		r->em_tokens++;
		if (o->len > before)
			r->em_carry = 1;
		r->tok_sent++;
		r->in->tokens++;
		r->next_due += interval(r);
		if (r->next_due < now - 1000000000LL)
			r->next_due = now;
		return 1;
	}
	r->t_final = now;
	final_line(o, r, "");
	r->finished = 1;
	simsched_release(r);
	return 1;
}

int simapi_produce(struct simreq *r, int64_t now)
{
	if (r->kind == REQ_PULL)
		return produce_pull(r, now, &r->out);
	if (r->kind == REQ_CREATE || r->kind == REQ_PUSH)
		return simops_produce(r, now, &r->out);
	return produce_gen(r, now, &r->out);
}

int simapi_stream_start(struct simreq *r)
{
	if (r->fault_500) {
		simreq_fail(r, 500, "llama runner process has terminated: exit status 2");
		return 0;
	}
	r->status = 200;
	r->reply_type = r->v1 ? SSE_TYPE : NDJSON_TYPE;
	return 1;
}

/* stream:false finished (or failed): build the single reply. */
static void nonstream_timer(void *arg)
{
	struct simreq *r = arg;
	struct siminst *in = r->in;
	if (r->fault_500) {
		simreq_fail(r, 500, "llama runner process has terminated: exit status 2");
		return;
	}
	int64_t now = mono_ns();
	if (r->fault_error) {
		r->tok_sent = r->ntokens / 2;
		in->tokens += (uint64_t)r->tok_sent;
		simreq_fail(r, 500, mid_error);
		return;
	}
	buf_reset(&r->text);
	int nthink = r->think ? r->ntokens / 3 : 0;
	for (int i = 0; i < r->ntokens; i++) {
		if (i == nthink && nthink) {
			r->thinking = buf_detach(&r->text);
			buf_reset(&r->text);
		}
		if (!r->tool_name)
			buf_adds(&r->text, out_word(r, i));
	}
	r->tok_sent = r->ntokens;
	in->tokens += (uint64_t)r->ntokens;
	r->t_final = now;
	buf_reset(&r->reply);
	final_line(&r->reply, r, buf_str(&r->text));
	simsched_release(r);
	if (r->fault_malformed) {
		size_t cut = r->reply.len / 2;
		r->reply.len = cut;
		r->reply.data[cut] = '\0';
	}
	if (r->fault_truncate) {
		/* headers and half the body, then the connection drops */
		buf_reset(&r->out);
		buf_add(&r->out, r->reply.data, r->reply.len / 2);
		r->out_off = 0;
		r->finished = 1;
		r->abort_stream = 1;
		r->status = 200;
		r->reply_type = JSON_TYPE;
		r->state = RS_STREAMREADY;
		simreq_wake(r);
		return;
	}
	set_reply(r, 200, JSON_TYPE);
	simreq_wake(r);
}

static void embed_timer(void *arg)
{
	struct simreq *r = arg;
	if (r->fault_500) {
		simreq_fail(r, 500, "llama runner process has terminated: exit status 2");
		return;
	}
	int64_t now = mono_ns();
	r->t_final = now;
	int dims = r->m->cat.emb_len > 0 ? r->m->cat.emb_len : 768;
	if (r->dims > 0 && r->dims < dims)
		dims = r->dims;
	struct buf *o = &r->reply;
	buf_reset(o);
	double *v = xcalloc((size_t)dims, sizeof(double));
	if (r->kind == REQ_V1EMBED)
		buf_adds(o, "{\"object\":\"list\",\"data\":[");
	else if (r->kind == REQ_EMBEDDINGS)
		buf_adds(o, "{\"embedding\":");
	else {
		buf_adds(o, "{\"model\":");
		buf_add_json_str(o, r->model_req);
		buf_adds(o, ",\"embeddings\":[");
	}
	for (int k = 0; k < r->ninputs; k++) {
		uint64_t st = r->text_hash + (uint64_t)k * 7919;
		double norm = 0;
		for (int i = 0; i < dims; i++) {
			v[i] = sim_randf(&st) * 2 - 1;
			norm += v[i] * v[i];
		}
		norm = sqrt(norm);
		if (r->kind == REQ_V1EMBED)
			buf_addf(o, "%s{\"object\":\"embedding\",\"embedding\":", k ? "," : "");
		else if (k)
			buf_adds(o, ",");
		if (r->b64) {
			/* little-endian float32 values, base64-encoded */
			unsigned char *bytes = xcalloc((size_t)dims, 4);
			for (int i = 0; i < dims; i++) {
				float f = (float)(v[i] / norm);
				uint32_t u;
				memcpy(&u, &f, 4);
				for (int k = 0; k < 4; k++)
					bytes[i * 4 + k] = (unsigned char)(u >> (8 * k));
			}
			buf_adds(o, "\"");
			simgen_base64(o, bytes, (size_t)dims * 4);
			buf_adds(o, "\"");
			free(bytes);
		} else {
			buf_adds(o, "[");
			for (int i = 0; i < dims; i++)
				buf_addf(o, "%s%.8g", i ? "," : "", v[i] / norm);
			buf_adds(o, "]");
		}
		if (r->kind == REQ_V1EMBED)
			buf_addf(o, ",\"index\":%d}", k);
	}
	free(v);
	if (r->kind == REQ_V1EMBED) {
		buf_adds(o, "],\"model\":");
		buf_add_json_str(o, r->model_req);
		buf_addf(o, ",\"usage\":{\"prompt_tokens\":%d,\"total_tokens\":%d}}",
			 r->prompt_tokens, r->prompt_tokens);
	} else if (r->kind == REQ_EMBEDDINGS) {
		buf_adds(o, "}");
	} else {
		int64_t total = now - r->t_entry, load = r->t_granted - r->t_entry;
		buf_addf(o, "],\"total_duration\":%" PRId64, total > 0 ? total : 1);
		if (load > 0)
			buf_addf(o, ",\"load_duration\":%" PRId64, load);
		buf_addf(o, ",\"prompt_eval_count\":%d}", r->prompt_tokens);
	}
	simsched_release(r);
	set_reply(r, 200, JSON_TYPE);
	simreq_wake(r);
}

void simreq_on_grant(struct simreq *r)
{
	if (r->preload && r->fault_500 && r->runner && r->runner->ready_mono >= r->t_entry) {
		/* The runner crashed while loading for this preload: a 500, nothing stays loaded. */
		struct simmodel *m = r->m;
		struct siminst *in = r->in;
		simreq_fail(r, 500, "llama runner process has terminated: exit status 2");
		simsched_expire(in, m);
		return;
	}
	if (!r->preload) {
		simsched_want_slot(r);
		return;
	}
	buf_reset(&r->reply);
	if (r->kind == REQ_EMBED) {
		buf_adds(&r->reply, "{\"model\":");
		buf_add_json_str(&r->reply, r->model_req);
		buf_adds(&r->reply, ",\"embeddings\":[]}");
	} else {
		char ts[64];
		now_utc(ts, sizeof(ts));
		buf_adds(&r->reply, "{\"model\":");
		buf_add_json_str(&r->reply, r->model_req);
		buf_addf(&r->reply, ",\"created_at\":\"%s\",", ts);
		if (r->kind == REQ_CHAT)
			buf_adds(&r->reply,
				 "\"message\":{\"role\":\"assistant\",\"content\":\"\"}");
		else
			buf_adds(&r->reply, "\"response\":\"\"");
		buf_adds(&r->reply, ",\"done\":true,\"done_reason\":\"load\"}");
	}
	set_reply(r, 200, JSON_TYPE);
	simsched_release(r);
	simreq_wake(r);
}

void simreq_on_slot(struct simreq *r)
{
	struct siminst *in = r->in;
	int64_t pre = (int64_t)((double)r->prompt_tokens / in->st.prefill_rate * 1e9);
	int64_t pe = siminst_delay(in, pre) + siminst_delay(in, in->st.ttft_ns);
	r->t_pe_end = r->t_slot + pe;
	r->next_due = r->t_pe_end;
	r->timer.arg = r;
	if (r->kind == REQ_EMBED || r->kind == REQ_EMBEDDINGS || r->kind == REQ_V1EMBED) {
		r->timer.fn = embed_timer;
		simtimer_arm(in->sim, &r->timer, r->t_pe_end);
		return;
	}
	if (r->stream) {
		/* the connection wakes when the first token is due (see advance()) */
		r->state = RS_RUN;
		r->timer.fn = wake_cb;
		simtimer_arm(in->sim, &r->timer, r->next_due);
		return;
	}
	r->t_first = r->t_pe_end;
	int64_t end = r->t_pe_end;
	if (!r->fault_500)
		for (int i = 0; i < r->ntokens; i++)
			end += interval(r);
	end += r->stall_ns;
	r->timer.fn = nonstream_timer;
	simtimer_arm(in->sim, &r->timer, r->fault_500 ? r->t_pe_end : end);
}

/* ---- entry points from sim.c ---- */

/* Hosts Ollama accepts in the Host header when it listens on loopback. */
static int host_allowed(const char *h)
{
	if (!h || !*h)
		return 1;
	char host[256];
	if (*h == '[') {
		return 1; /* an IPv6 literal */
	}
	size_t n = strcspn(h, ":");
	if (n >= sizeof(host))
		return 0;
	memcpy(host, h, n);
	host[n] = '\0';
	for (char *p = host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (strspn(host, "0123456789.") == n || !strcmp(host, "localhost"))
		return 1;
	char self[256];
	if (gethostname(self, sizeof(self)) == 0) {
		self[sizeof(self) - 1] = '\0';
		if (!strcasecmp(self, host))
			return 1;
	}
	static const char *const tlds[] = { ".localhost", ".local", ".internal" };
	for (size_t i = 0; i < ARRAY_SIZE(tlds); i++) {
		size_t t = strlen(tlds[i]);
		if (n > t && !strcmp(host + n - t, tlds[i]))
			return 1;
	}
	return 0;
}

void simapi_begin(struct simreq *r, const char *url, const char *method)
{
	(void)method;
	r->path_idx = route_find(url);
	r->in->path_count[r->path_idx]++;
	if (r->path_idx < P_SIMFAULT || r->path_idx == P_OTHER) {
		r->counted = 1;
		r->in->in_flight++;
	}
	r->state = RS_BODY;
}

void simapi_dispatch(struct simreq *r, const char *url, const char *method)
{
	int p = r->path_idx;
	unsigned mb = method_bit(method);
	if (p == P_OTHER) {
		size_t n = strlen(url);
		if (n > 1 && url[n - 1] == '/') {
			char *t = xstrndup(url, n - 1);
			int q = route_find(t);
			if (q != P_OTHER && !routes[q].prefix) {
				r->location = t;
				reply_text(r, mb == M_GET ? 301 : 307, "");
				r->reply_type = NULL;
				return;
			}
			free(t);
		}
		reply_text(r, 404, "404 page not found");
		return;
	}
	if (p < P_SIMFAULT && r->in->sim->loopback && !host_allowed(r->host)) {
		/* Ollama's DNS-rebinding guard when bound to loopback */
		reply_text(r, 403, "");
		r->reply_type = NULL;
		return;
	}
	if (!(routes[p].methods & mb)) {
		reply_text(r, 405, "405 method not allowed");
		return;
	}
	if (p < P_SIMFAULT && roll(r->in, SIM_FAULT_HANG)) {
		r->kind = REQ_HANG;
		r->state = RS_HANG;
		return;
	}
	cJSON *j = NULL;
	switch (p) {
	case P_ROOT:
		reply_text(r, 200, "Ollama is running");
		return;
	case P_VERSION: {
		struct buf b = BUF_INIT;
		buf_adds(&b, "{\"version\":");
		buf_add_json_str(&b, r->in->st.version);
		buf_adds(&b, "}");
		reply_json_buf(r, 200, &b);
		return;
	}
	case P_STATUS: {
		struct buf b = BUF_INIT;
		buf_adds(&b, "{\"cloud\":{\"disabled\":false,\"source\":\"none\"}}");
		reply_json_buf(r, 200, &b);
		return;
	}
	case P_TAGS:
		do_tags(r);
		return;
	case P_PS:
		do_ps(r);
		return;
	case P_V1MODELS:
		do_v1_models(r, NULL);
		return;
	case P_V1MODEL:
		do_v1_models(r, url + strlen("/v1/models/"));
		return;
	case P_SIMSTATS:
		do_stats(r);
		return;
	case P_SIMRESET:
		do_reset(r);
		return;
	case P_BLOBS:
		reply_text(r, 404, "");
		r->reply_type = NULL;
		return;
	default:
		break;
	}
	if (p == P_V1CHAT || p == P_V1COMPL || p == P_V1EMBED)
		r->v1 = 1;
	if (!(j = parse_body(r)))
		return;
	switch (p) {
	case P_SHOW:
		do_show(r, j);
		break;
	case P_PULL:
		do_pull(r, j);
		break;
	case P_PUSH:
		simops_push(r, j);
		break;
	case P_CREATE:
		simops_create(r, j);
		break;
	case P_COPY:
		do_copy(r, j);
		break;
	case P_DELETE:
		do_delete(r, j);
		break;
	case P_GENERATE:
		r->kind = REQ_GENERATE;
		parse_generate(r, j);
		break;
	case P_CHAT:
		r->kind = REQ_CHAT;
		parse_chat(r, j);
		break;
	case P_EMBED:
		r->kind = REQ_EMBED;
		parse_embed(r, j);
		break;
	case P_EMBEDDINGS:
		r->kind = REQ_EMBEDDINGS;
		parse_embed(r, j);
		break;
	case P_V1EMBED:
		r->kind = REQ_V1EMBED;
		parse_embed(r, j);
		break;
	case P_V1CHAT:
		r->kind = REQ_V1CHAT;
		parse_v1(r, j);
		break;
	case P_V1COMPL:
		r->kind = REQ_V1COMPL;
		parse_v1(r, j);
		break;
	case P_SIMFAULT:
		do_fault(r, j);
		break;
	default:
		reply_text(r, 404, "404 page not found");
		break;
	}
	cJSON_Delete(j);
}

/* ---- for simops.c ---- */

void simapi_error(struct simreq *r, int status, const char *msg)
{
	reply_error(r, status, msg);
}

int simapi_get_str(struct simreq *r, struct cJSON *j, const char *key, const char *st,
		   const char **out)
{
	return get_str(r, j, key, st, out);
}

int simapi_get_bool(struct simreq *r, struct cJSON *j, const char *key, const char *st, int *out)
{
	return get_bool(r, j, key, st, out);
}

int simapi_roll(struct siminst *in, int kind)
{
	return roll(in, kind);
}
