/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Parsers for Ollama's JSON replies and stream chunks: cJSON in, plain C structs out. */
#include "../compat.h"
#include "ollama.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "../banned.h"

/* "malformed JSON in ps reply (starts with '...')", the first bytes sanitized. */
static int bad_json(char *err, const char *what, const char *s, size_t len)
{
	char head[48], clean[64];
	size_t n = len < 40 ? len : 40;
	memcpy(head, s ? s : "", s ? n : 0);
	head[s ? n : 0] = '\0';
	text_sanitize(clean, sizeof(clean), head);
	if (len == 0)
		return seterr(err, "empty %s (expected JSON)", what);
	return seterr(err, "malformed JSON in %s (starts with '%s%s')", what, clean,
		      len > 40 ? "..." : "");
}

static cJSON *parse(const char *s, size_t len, const char *what, char *err)
{
	cJSON *j = s && len ? cJSON_ParseWithLength(s, len) : NULL;
	if (!j) {
		char w[64];
		snprintf(w, sizeof(w), "%s reply", what);
		bad_json(err, w, s, len);
	}
	return j;
}

/* Copy a string member into *out ("" when absent or null). -1 on a wrong type. */
static int get_str(const cJSON *o, const char *k, char **out, const char *what, char *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!v || cJSON_IsNull(v)) {
		*out = xstrdup("");
		return 0;
	}
	if (!cJSON_IsString(v)) {
		*out = xstrdup("");
		return seterr(err, "%s: '%s' is not a string", what, k);
	}
	*out = xstrdup(v->valuestring);
	return 0;
}

static void get_str_inline(const cJSON *o, const char *k, char *out, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (cJSON_IsString(v))
		snprintf(out, n, "%s", v->valuestring);
	else
		out[0] = '\0';
}

/* Integer member; *present says whether it was there. -1 on a wrong type. */
static int get_i64(const cJSON *o, const char *k, int64_t *out, int *present, const char *what,
		   char *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	*out = 0;
	if (present)
		*present = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v))
		return seterr(err, "%s: '%s' is not a number", what, k);
	/* saturate at 1e18 (an exabyte, 31 years of ns): a few of them still add up in
	 * int64, and no cast overflows (1e308 from a broken or hostile server) */
	double d = v->valuedouble;
	if (d != d)
		*out = 0;
	else if (d >= 1e18)
		*out = 1000000000000000000LL;
	else if (d <= -1e18)
		*out = -1000000000000000000LL;
	else
		*out = (int64_t)d;
	if (present)
		*present = 1;
	return 0;
}

static int get_u64(const cJSON *o, const char *k, uint64_t *out, const char *what, char *err)
{
	int64_t v;
	if (get_i64(o, k, &v, NULL, what, err))
		return -1;
	if (v < 0)
		return seterr(err, "%s: '%s' is negative", what, k);
	*out = (uint64_t)v;
	return 0;
}

/*
 * A count or a duration from a server as an integer in [0, OLLAMA_NUM_MAX]: NaN, negative
 * and absurd values (1e308) are clamped before the cast, so that no cast overflows and no
 * sum of them overflows either (1e15 ns is 11 days; 1e15 tokens is more than any run).
 */
#define OLLAMA_NUM_MAX 1e15
static int64_t clamp_count(double d)
{
	if (!(d > 0))
		return 0;
	if (d > OLLAMA_NUM_MAX)
		d = OLLAMA_NUM_MAX;
	return (int64_t)d;
}

/*
 * An RFC 3339 time as wall ns. Ollama's "forever" is ~292 years ahead, beyond int64
 * nanoseconds: far-future years give INT64_MAX, far-past ones (Go's zero time) 1.
 */
static int parse_time(const char *s, int64_t *ns)
{
	if (time_parse_rfc3339(s, ns) == 0) {
		/* Go's zero time (0001-01-01) or any time before 1970: "in the past", kept
		 * non-zero (0 means "none") and far from INT64_MIN, so that expires - now
		 * cannot overflow */
		if (*ns <= 0)
			*ns = 1;
		return 0;
	}
	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-')
		return -1;
	int y = 0;
	for (int i = 0; i < 4; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		y = y * 10 + (s[i] - '0');
	}
	if (y >= 2262) {
		*ns = INT64_MAX;
		return 0;
	}
	if (y <= 1677) {
		*ns = 1;
		return 0;
	}
	return -1;
}

static int get_time(const cJSON *o, const char *k, int64_t *out, int *present, const char *what,
		    char *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	*out = 0;
	if (present)
		*present = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || parse_time(v->valuestring, out)) {
		char clean[64];
		text_sanitize(clean, sizeof(clean), cJSON_IsString(v) ? v->valuestring : "?");
		return seterr(err, "%s: '%s' is not an RFC 3339 time ('%s')", what, k, clean);
	}
	if (present)
		*present = 1;
	return 0;
}

static int get_strv(const cJSON *o, const char *k, char ***out, size_t *n, const char *what,
		    char *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	*out = NULL;
	*n = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v))
		return seterr(err, "%s: '%s' is not an array", what, k);
	int cnt = cJSON_GetArraySize(v);
	*out = xcalloc((size_t)cnt + 1, sizeof(char *));
	const cJSON *it;
	cJSON_ArrayForEach(it, v)
	{
		if (cJSON_IsString(it))
			(*out)[(*n)++] = xstrdup(it->valuestring);
	}
	return 0;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void details_release(struct ollama_details *d)
{
	free(d->format);
	free(d->family);
	free(d->parameter_size);
	free(d->quantization_level);
	memset(d, 0, sizeof(*d));
}

static int get_details(const cJSON *o, struct ollama_details *d, const char *what, char *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "details");
	static const cJSON empty;
	memset(d, 0, sizeof(*d));
	if (v && !cJSON_IsNull(v) && !cJSON_IsObject(v)) {
		get_str(&empty, "x", &d->format, what, err);
		get_str(&empty, "x", &d->family, what, err);
		get_str(&empty, "x", &d->parameter_size, what, err);
		get_str(&empty, "x", &d->quantization_level, what, err);
		return seterr(err, "%s: 'details' is not an object", what);
	}
	if (!v || cJSON_IsNull(v))
		v = &empty;
	int r = 0;
	r |= get_str(v, "format", &d->format, what, err);
	r |= get_str(v, "family", &d->family, what, err);
	r |= get_str(v, "parameter_size", &d->parameter_size, what, err);
	r |= get_str(v, "quantization_level", &d->quantization_level, what, err);
	r |= get_i64(v, "context_length", &d->context_length, NULL, what, err);
	return r ? -1 : 0;
}

/* The "models" array of a tags or ps reply. */
static const cJSON *models_array(const cJSON *root, const char *what, char *err)
{
	if (!cJSON_IsObject(root)) {
		seterr(err, "%s reply is not a JSON object", what);
		return NULL;
	}
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "models");
	static const cJSON empty_array = { .type = cJSON_Array };
	if (!m || cJSON_IsNull(m))
		return &empty_array;
	if (!cJSON_IsArray(m)) {
		seterr(err, "%s reply: 'models' is not an array", what);
		return NULL;
	}
	return m;
}

int ollama_parse_version(const char *json, size_t len, char *out, size_t n, char *err)
{
	out[0] = '\0';
	cJSON *j = parse(json, len, "version", err);
	if (!j)
		return -1;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
	int r = 0;
	if (!cJSON_IsString(v))
		r = seterr(err, "version reply has no 'version' string");
	else
		text_sanitize(out, n, v->valuestring);
	cJSON_Delete(j);
	return r;
}

/* ---- /api/tags ---- */

static void model_release(struct ollama_model *m)
{
	free(m->name);
	free(m->model);
	free(m->digest);
	details_release(&m->details);
	strv_free(m->capabilities, m->ncapabilities);
	memset(m, 0, sizeof(*m));
}

void ollama_tags_release(struct ollama_tags *t)
{
	for (size_t i = 0; i < t->n; i++)
		model_release(&t->models[i]);
	free(t->models);
	t->models = NULL;
	t->n = 0;
}

int ollama_parse_tags(const char *json, size_t len, struct ollama_tags *out, char *err)
{
	memset(out, 0, sizeof(*out));
	cJSON *j = parse(json, len, "tags", err);
	if (!j)
		return -1;
	const cJSON *arr = models_array(j, "tags", err);
	int r = arr ? 0 : -1;
	if (arr) {
		size_t cnt = (size_t)cJSON_GetArraySize(arr);
		out->models = xcalloc(cnt + 1, sizeof(*out->models));
		const cJSON *it;
		cJSON_ArrayForEach(it, arr)
		{
			char what[64];
			snprintf(what, sizeof(what), "tags entry %zu", out->n + 1);
			struct ollama_model *m = &out->models[out->n++];
			if (!cJSON_IsObject(it)) {
				memset(m, 0, sizeof(*m));
				r = seterr(err, "%s is not an object", what);
				break;
			}
			int rr = 0;
			rr |= get_str(it, "name", &m->name, what, err);
			rr |= get_str(it, "model", &m->model, what, err);
			rr |= get_str(it, "digest", &m->digest, what, err);
			rr |= get_u64(it, "size", &m->size, what, err);
			rr |= get_time(it, "modified_at", &m->modified_at, NULL, what, err);
			rr |= get_details(it, &m->details, what, err);
			rr |= get_strv(it, "capabilities", &m->capabilities, &m->ncapabilities,
				       what, err);
			if (!rr && !*m->name) {
				/* Old servers may send only "model"; accept either. */
				if (*m->model) {
					free(m->name);
					m->name = xstrdup(m->model);
				} else {
					rr = seterr(err, "%s has no 'name'", what);
				}
			}
			if (rr) {
				r = -1;
				break;
			}
		}
	}
	cJSON_Delete(j);
	if (r)
		ollama_tags_release(out);
	return r;
}

const struct ollama_model *ollama_tags_find(const struct ollama_tags *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (ollama_name_equal(t->models[i].name, name))
			return &t->models[i];
	return NULL;
}

int ollama_model_has_cap(const struct ollama_model *m, const char *cap)
{
	for (size_t i = 0; i < m->ncapabilities; i++)
		if (strcmp(m->capabilities[i], cap) == 0)
			return 1;
	return 0;
}

/* ---- /api/ps ---- */

static void ps_entry_release(struct ollama_ps_entry *m)
{
	free(m->name);
	free(m->model);
	free(m->digest);
	free(m->expires_at_raw);
	details_release(&m->details);
	memset(m, 0, sizeof(*m));
}

void ollama_ps_release(struct ollama_ps *p)
{
	for (size_t i = 0; i < p->n; i++)
		ps_entry_release(&p->models[i]);
	free(p->models);
	p->models = NULL;
	p->n = 0;
}

int ollama_parse_ps(const char *json, size_t len, struct ollama_ps *out, char *err)
{
	memset(out, 0, sizeof(*out));
	cJSON *j = parse(json, len, "ps", err);
	if (!j)
		return -1;
	const cJSON *arr = models_array(j, "ps", err);
	int r = arr ? 0 : -1;
	if (arr) {
		size_t cnt = (size_t)cJSON_GetArraySize(arr);
		out->models = xcalloc(cnt + 1, sizeof(*out->models));
		const cJSON *it;
		cJSON_ArrayForEach(it, arr)
		{
			char what[64];
			snprintf(what, sizeof(what), "ps entry %zu", out->n + 1);
			struct ollama_ps_entry *m = &out->models[out->n++];
			if (!cJSON_IsObject(it)) {
				r = seterr(err, "%s is not an object", what);
				break;
			}
			int rr = 0;
			rr |= get_str(it, "name", &m->name, what, err);
			rr |= get_str(it, "model", &m->model, what, err);
			rr |= get_str(it, "digest", &m->digest, what, err);
			rr |= get_u64(it, "size", &m->size, what, err);
			rr |= get_u64(it, "size_vram", &m->size_vram, what, err);
			rr |= get_details(it, &m->details, what, err);
			rr |= get_time(it, "expires_at", &m->expires_at, &m->has_expires_at, what,
				       err);
			rr |= get_str(it, "expires_at", &m->expires_at_raw, what, err);
			rr |= get_i64(it, "context_length", &m->context_length,
				      &m->has_context_length, what, err);
			if (m->context_length < 0)
				m->context_length = 0;
			if (m->context_length > INT32_MAX)
				m->context_length = INT32_MAX;
			if (!rr && !*m->name) {
				if (*m->model) {
					free(m->name);
					m->name = xstrdup(m->model);
				} else {
					rr = seterr(err, "%s has no 'name'", what);
				}
			}
			if (rr) {
				r = -1;
				break;
			}
		}
	}
	cJSON_Delete(j);
	if (r)
		ollama_ps_release(out);
	return r;
}

const struct ollama_ps_entry *ollama_ps_find(const struct ollama_ps *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (ollama_name_equal(p->models[i].name, name))
			return &p->models[i];
	return NULL;
}

/* ---- /api/show ---- */

void ollama_show_release(struct ollama_show *s)
{
	details_release(&s->details);
	free(s->architecture);
	strv_free(s->capabilities, s->ncapabilities);
	memset(s, 0, sizeof(*s));
}

int ollama_parse_show(const char *json, size_t len, struct ollama_show *out, char *err)
{
	memset(out, 0, sizeof(*out));
	cJSON *j = parse(json, len, "show", err);
	if (!j)
		return -1;
	int r = 0;
	if (!cJSON_IsObject(j)) {
		r = seterr(err, "show reply is not a JSON object");
		out->architecture = xstrdup("");
		get_details(j, &out->details, "show", err);
		goto done;
	}
	r |= get_details(j, &out->details, "show", err);
	r |= get_strv(j, "capabilities", &out->capabilities, &out->ncapabilities, "show", err);
	const cJSON *mi = cJSON_GetObjectItemCaseSensitive(j, "model_info");
	const cJSON *arch = cJSON_IsObject(mi)
				    ? cJSON_GetObjectItemCaseSensitive(mi, "general.architecture")
				    : NULL;
	out->architecture = xstrdup(cJSON_IsString(arch) ? arch->valuestring : "");
	if (mi && !cJSON_IsNull(mi) && !cJSON_IsObject(mi)) {
		r = seterr(err, "show: 'model_info' is not an object");
	} else if (cJSON_IsObject(mi)) {
		char key[160];
		r |= get_i64(mi, "general.parameter_count", &out->parameter_count, NULL, "show",
			     err);
		if (*out->architecture) {
			snprintf(key, sizeof(key), "%s.context_length", out->architecture);
			r |= get_i64(mi, key, &out->context_length, NULL, "show", err);
			snprintf(key, sizeof(key), "%s.embedding_length", out->architecture);
			r |= get_i64(mi, key, &out->embedding_length, NULL, "show", err);
		} else {
			/* No architecture: take any "*.context_length". */
			const cJSON *it;
			cJSON_ArrayForEach(it, mi)
			{
				const char *dot = it->string ? strrchr(it->string, '.') : NULL;
				if (!dot || !cJSON_IsNumber(it))
					continue;
				if (strcmp(dot, ".context_length") == 0)
					out->context_length = clamp_count(it->valuedouble);
				else if (strcmp(dot, ".embedding_length") == 0)
					out->embedding_length = clamp_count(it->valuedouble);
			}
		}
	}
	if (!out->context_length)
		out->context_length = out->details.context_length;
done:
	cJSON_Delete(j);
	if (r)
		ollama_show_release(out);
	return r;
}

/* ---- pull progress ---- */

/* The message of an "error" member: a string, or an object with "message". */
static const char *error_value(const cJSON *e)
{
	if (cJSON_IsString(e))
		return e->valuestring;
	if (cJSON_IsObject(e)) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
		if (cJSON_IsString(m))
			return m->valuestring;
		return "unknown error";
	}
	return NULL;
}

static const char *error_of(const cJSON *o)
{
	return error_value(cJSON_GetObjectItemCaseSensitive(o, "error"));
}

int ollama_error_message(const char *body, size_t len, char *out, size_t n)
{
	if (n)
		out[0] = '\0';
	if (!body || !len)
		return -1;
	cJSON *j = cJSON_ParseWithLength(body, len);
	const char *e = cJSON_IsObject(j) ? error_of(j) : NULL;
	if (e)
		text_sanitize(out, n, e);
	cJSON_Delete(j);
	return e ? 0 : -1;
}

int ollama_parse_pull(const char *line, size_t len, struct ollama_pull *out, char *err)
{
	memset(out, 0, sizeof(*out));
	cJSON *j = parse(line, len, "pull", err);
	if (!j)
		return -1;
	int r = 0;
	if (!cJSON_IsObject(j)) {
		r = seterr(err, "pull progress line is not a JSON object");
		goto done;
	}
	const char *e = error_of(j);
	if (e)
		text_sanitize(out->error, sizeof(out->error), e);
	get_str_inline(j, "status", out->status, sizeof(out->status));
	get_str_inline(j, "digest", out->digest, sizeof(out->digest));
	r |= get_i64(j, "total", &out->total, NULL, "pull progress", err);
	r |= get_i64(j, "completed", &out->completed, NULL, "pull progress", err);
	if (!r && !e && !out->status[0])
		r = seterr(err, "pull progress line has neither 'status' nor 'error'");
done:
	cJSON_Delete(j);
	return r;
}

/* ---- stream chunks ---- */

void ollama_chunk_init(struct ollama_chunk *c)
{
	memset(c, 0, sizeof(*c));
	buf_init(&c->tbuf_, 0);
	buf_init(&c->hbuf_, 0);
	buf_init(&c->sbuf_, 0);
	c->text = c->thinking = "";
}

void ollama_chunk_release(struct ollama_chunk *c)
{
	buf_release(&c->tbuf_);
	buf_release(&c->hbuf_);
	buf_release(&c->sbuf_);
	c->text = c->thinking = "";
	c->text_len = c->thinking_len = 0;
}

static void chunk_clear(struct ollama_chunk *c)
{
	struct buf t = c->tbuf_, h = c->hbuf_, sc = c->sbuf_;
	memset(c, 0, sizeof(*c));
	c->tbuf_ = t;
	c->hbuf_ = h;
	c->sbuf_ = sc;
	buf_reset(&c->tbuf_);
	buf_reset(&c->hbuf_);
	c->text = c->thinking = "";
}

static void set_text(struct buf *b, const char **p, size_t *n, const cJSON *v)
{
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return;
	buf_adds(b, v->valuestring);
	*p = buf_str(b);
	*n = b->len;
}

static double num_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int64_t num_i64(const cJSON *o, const char *k)
{
	return clamp_count(num_of(o, k));
}

/* The members a native chunk is read for, found in one pass over its object (the
 * first of each name, as cJSON_GetObjectItemCaseSensitive finds): a token line is read
 * tens of thousands of times a second, and seven lookups cost seven walks. */
struct native_members {
	const cJSON *error, *response, *thinking, *message, *done, *done_reason, *status;
};

static void native_members(const cJSON *j, struct native_members *m)
{
	memset(m, 0, sizeof(*m));
	for (const cJSON *v = j->child; v; v = v->next) {
		const char *k = v->string;
		const cJSON **slot = NULL;
		if (!k)
			continue;
		switch (k[0]) {
		case 'e': slot = !strcmp(k, "error") ? &m->error : NULL; break;
		case 'r': slot = !strcmp(k, "response") ? &m->response : NULL; break;
		case 't': slot = !strcmp(k, "thinking") ? &m->thinking : NULL; break;
		case 'm': slot = !strcmp(k, "message") ? &m->message : NULL; break;
		case 'd':
			slot = !strcmp(k, "done") ? &m->done :
			       !strcmp(k, "done_reason") ? &m->done_reason : NULL;
			break;
		case 's': slot = !strcmp(k, "status") ? &m->status : NULL; break;
		default: break;
		}
		if (slot && !*slot)
			*slot = v;
	}
}

static void native_chunk(struct ollama_chunk *c, const cJSON *j, const struct native_members *m)
{
	set_text(&c->tbuf_, &c->text, &c->text_len, m->response);
	set_text(&c->hbuf_, &c->thinking, &c->thinking_len, m->thinking);
	const cJSON *msg = m->message;
	if (cJSON_IsObject(msg)) {
		set_text(&c->tbuf_, &c->text, &c->text_len,
			 cJSON_GetObjectItemCaseSensitive(msg, "content"));
		set_text(&c->hbuf_, &c->thinking, &c->thinking_len,
			 cJSON_GetObjectItemCaseSensitive(msg, "thinking"));
	}
	c->done = cJSON_IsTrue(m->done);
	if (cJSON_IsString(m->done_reason))
		snprintf(c->done_reason, sizeof(c->done_reason), "%s", m->done_reason->valuestring);
	else
		c->done_reason[0] = '\0';
	const cJSON *st = m->status;
	if (cJSON_IsString(st) && strcmp(st->valuestring, "success") == 0) {
		/* The end of a pull/push/create progress stream. */
		c->done = 1;
		snprintf(c->done_reason, sizeof(c->done_reason), "success");
	}
	if (c->done) {
		c->total_duration = num_i64(j, "total_duration");
		c->load_duration = num_i64(j, "load_duration");
		c->prompt_eval_count = num_i64(j, "prompt_eval_count");
		c->prompt_eval_duration = num_i64(j, "prompt_eval_duration");
		c->eval_count = num_i64(j, "eval_count");
		c->eval_duration = num_i64(j, "eval_duration");
	}
}

static void openai_chunk(struct ollama_chunk *c, const cJSON *j)
{
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
	const cJSON *ch0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
	if (cJSON_IsObject(ch0)) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(ch0, "delta");
		if (!cJSON_IsObject(d))
			d = cJSON_GetObjectItemCaseSensitive(ch0, "message");
		if (cJSON_IsObject(d)) {
			set_text(&c->tbuf_, &c->text, &c->text_len,
				 cJSON_GetObjectItemCaseSensitive(d, "content"));
			set_text(&c->hbuf_, &c->thinking, &c->thinking_len,
				 cJSON_GetObjectItemCaseSensitive(d, "reasoning"));
			set_text(&c->hbuf_, &c->thinking, &c->thinking_len,
				 cJSON_GetObjectItemCaseSensitive(d, "reasoning_content"));
			if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(d, "role")) &&
			    !c->text_len && !c->thinking_len)
				c->role_only = 1;
		}
		set_text(&c->tbuf_, &c->text, &c->text_len,
			 cJSON_GetObjectItemCaseSensitive(ch0, "text"));
		get_str_inline(ch0, "finish_reason", c->done_reason, sizeof(c->done_reason));
	}
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
	if (cJSON_IsObject(u)) {
		c->has_usage = 1;
		c->prompt_tokens = num_i64(u, "prompt_tokens");
		c->completion_tokens = num_i64(u, "completion_tokens");
	}
}

/*
 * The final generate chunk carries "context", thousands of token ids that cJSON would
 * turn into as many nodes (~0.5 ms for 4k tokens). Nobody here reads them: parse a copy
 * of the line with the array emptied. The key cannot occur inside a JSON string (its
 * closing quote would be escaped there), and only digits, signs, commas and spaces are
 * skipped, so anything unusual falls back to parsing the line as it is.
 */
static void drop_context(struct ollama_chunk *c, const char **line, size_t *len)
{
	static const char key[] = "\"context\":[";
	const char *k = memmem(*line, *len, key, sizeof(key) - 1);
	if (!k)
		return;
	const char *a = k + sizeof(key) - 1;
	size_t rest = *len - (size_t)(a - *line);
	const char *end = memchr(a, ']', rest);
	if (!end)
		return;
	for (const char *p = a; p < end; p++)
		if (!((*p >= '0' && *p <= '9') || *p == ',' || *p == '-' || *p == ' '))
			return;
	buf_reset(&c->sbuf_);
	if (buf_add(&c->sbuf_, *line, (size_t)(a - *line)) ||
	    buf_add(&c->sbuf_, end, *len - (size_t)(end - *line)))
		return;
	*line = c->sbuf_.data;
	*len = c->sbuf_.len;
}

int ollama_chunk_parse(struct ollama_chunk *c, enum ollama_wire wire, const char *line,
		       size_t len, char *err)
{
	chunk_clear(c);
	int bare = 1;
	if (wire == OLLAMA_WIRE_OPENAI) {
		if (len == 0 || line[0] == ':')
			return 0;
		if (len >= 5 && memcmp(line, "data:", 5) == 0) {
			line += 5;
			len -= 5;
			if (len && line[0] == ' ') {
				line++;
				len--;
			}
			bare = 0;
			if (len == 6 && memcmp(line, "[DONE]", 6) == 0) {
				c->kind = OLLAMA_CHUNK_DONE;
				return 0;
			}
		} else if (line[0] != '{') {
			/* event:, id:, retry: and unknown fields */
			return 0;
		}
	} else {
		/* Tolerate blank lines between NDJSON objects. */
		size_t i = 0;
		while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
			i++;
		if (i == len)
			return 0;
	}
	if (wire == OLLAMA_WIRE_NATIVE && len > 512)
		drop_context(c, &line, &len);
	cJSON *j = cJSON_ParseWithLength(line, len);
	if (!j || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return bad_json(err, wire == OLLAMA_WIRE_OPENAI ? "stream event" : "stream line",
				line, len);
	}
	struct native_members m;
	if (wire != OLLAMA_WIRE_OPENAI)
		native_members(j, &m);
	const char *e = wire == OLLAMA_WIRE_OPENAI ? error_of(j) : error_value(m.error);
	if (e) {
		c->kind = OLLAMA_CHUNK_ERROR;
		text_sanitize(c->error, sizeof(c->error), e);
	} else {
		c->kind = OLLAMA_CHUNK_DATA;
		if (wire == OLLAMA_WIRE_OPENAI) {
			openai_chunk(c, j);
			/* A bare object is a whole non-streamed completion. */
			if (bare && cJSON_GetObjectItemCaseSensitive(j, "choices"))
				c->done = 1;
		} else {
			native_chunk(c, j, &m);
		}
	}
	cJSON_Delete(j);
	return 0;
}

/* ---- stream state ---- */

void ollama_stream_init(struct ollama_stream *s, enum ollama_wire wire)
{
	memset(s, 0, sizeof(*s));
	s->wire = wire;
	ollama_chunk_init(&s->c);
}

void ollama_stream_release(struct ollama_stream *s)
{
	ollama_chunk_release(&s->c);
}

int ollama_stream_line(struct ollama_stream *s, const char *line, size_t len, int64_t t_ns)
{
	char err[512];
	struct ollama_chunk *c = &s->c;
	if (ollama_chunk_parse(c, s->wire, line, len, err)) {
		if (!s->malformed[0])
			snprintf(s->malformed, sizeof(s->malformed), "%s", err);
		return -1;
	}
	switch (c->kind) {
	case OLLAMA_CHUNK_NONE:
		return 0;
	case OLLAMA_CHUNK_DONE:
		s->done = 1;
		return 0;
	case OLLAMA_CHUNK_ERROR:
		if (!s->error[0])
			snprintf(s->error, sizeof(s->error), "%s", c->error);
		return 0;
	default:
		break;
	}
	s->nchunks++;
	int tok = 0;
	if (c->text_len || c->thinking_len) {
		tok = 1;
		s->ntokens++;
		if (!s->first_token_ns)
			s->first_token_ns = t_ns;
		s->last_token_ns = t_ns;
		s->text_bytes += c->text_len + c->thinking_len;
		if (s->keep_text && c->text_len)
			buf_add(s->keep_text, c->text, c->text_len);
	}
	if (c->done_reason[0]) {
		snprintf(s->done_reason, sizeof(s->done_reason), "%s", c->done_reason);
		if (s->wire == OLLAMA_WIRE_OPENAI)
			s->finished = 1;
	}
	if (c->done) {
		s->done = 1;
		if (s->wire == OLLAMA_WIRE_NATIVE) {
			s->total_duration = c->total_duration;
			s->load_duration = c->load_duration;
			s->prompt_eval_count = c->prompt_eval_count;
			s->prompt_eval_duration = c->prompt_eval_duration;
			s->eval_count = c->eval_count;
			s->eval_duration = c->eval_duration;
		}
	}
	if (c->has_usage) {
		s->has_usage = 1;
		s->prompt_tokens = c->prompt_tokens;
		s->completion_tokens = c->completion_tokens;
	}
	return tok;
}
