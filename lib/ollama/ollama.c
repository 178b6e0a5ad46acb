/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Ollama client: model names, error classification, request bodies and sending. */
#include "../compat.h"
#include "ollama.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http/http.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

#define DEFAULT_HOST "registry.ollama.ai"
#define DEFAULT_NS "library"
#define NAME_MAX_ 512

/* ---- names ---- */

int ollama_name_normalize(const char *in, char *out, size_t n, char *err)
{
	char s[NAME_MAX_];
	if (n)
		out[0] = '\0';
	if (!in)
		in = "";
	while (isspace((unsigned char)*in))
		in++;
	size_t len = strlen(in);
	while (len && isspace((unsigned char)in[len - 1]))
		len--;
	if (len == 0)
		return seterr(err, "empty model name");
	if (len >= sizeof(s))
		return seterr(err, "model name too long (%zu bytes)", len);
	for (size_t i = 0; i < len; i++)
		s[i] = (char)tolower((unsigned char)in[i]);
	s[len] = '\0';

	char *p = s;
	char *at = strchr(p, '@');
	if (at)
		*at = '\0';
	char *scheme = strstr(p, "://");
	if (scheme)
		p = scheme + 3;

	const char *tag = "latest";
	char *colon = strrchr(p, ':');
	char *slash = strrchr(p, '/');
	if (colon && (!slash || colon > slash)) {
		*colon = '\0';
		if (colon[1])
			tag = colon + 1;
	}
	const char *host = DEFAULT_HOST, *ns = DEFAULT_NS, *model = p;
	slash = strrchr(p, '/');
	if (slash) {
		*slash = '\0';
		model = slash + 1;
		char *s2 = strrchr(p, '/');
		if (s2) {
			*s2 = '\0';
			ns = s2 + 1;
			host = p;
		} else {
			ns = p;
		}
	}
	if (!*model || !*ns || !*host)
		return seterr(err, "invalid model name '%.*s'", (int)(len > 100 ? 100 : len), in);
	int w;
	if (strcmp(host, DEFAULT_HOST) != 0)
		w = snprintf(out, n, "%s/%s/%s:%s", host, ns, model, tag);
	else if (strcmp(ns, DEFAULT_NS) != 0)
		w = snprintf(out, n, "%s/%s:%s", ns, model, tag);
	else
		w = snprintf(out, n, "%s:%s", model, tag);
	if (w < 0 || (size_t)w >= n) {
		if (n)
			out[0] = '\0';
		return seterr(err, "model name too long");
	}
	return 0;
}

int ollama_name_equal(const char *a, const char *b)
{
	char na[NAME_MAX_ + 32], nb[NAME_MAX_ + 32];
	if (ollama_name_normalize(a, na, sizeof(na), NULL) ||
	    ollama_name_normalize(b, nb, sizeof(nb), NULL))
		return a && b && strcasecmp(a, b) == 0;
	return strcmp(na, nb) == 0;
}

/* ---- errors ---- */

const char *ollama_err_name(enum ollama_err e)
{
	switch (e) {
	case OLLAMA_OK: return "ok";
	case OLLAMA_E_REFUSED: return "refused";
	case OLLAMA_E_DNS: return "dns";
	case OLLAMA_E_TLS: return "tls";
	case OLLAMA_E_TIMEOUT: return "timeout";
	case OLLAMA_E_CONNECT: return "connect";
	case OLLAMA_E_HTTP: return "http";
	case OLLAMA_E_BUSY: return "busy";
	case OLLAMA_E_STREAM: return "stream";
	case OLLAMA_E_TRUNCATED: return "truncated";
	case OLLAMA_E_MALFORMED: return "malformed";
	case OLLAMA_E_TOO_BIG: return "too-big";
	case OLLAMA_E_ABORTED: return "aborted";
	case OLLAMA_E_STALL: return "stall";
	case OLLAMA_E_OTHER: return "other";
	}
	return "other";
}

static enum ollama_err from_http(enum http_err e)
{
	switch (e) {
	case HTTP_OK: return OLLAMA_OK;
	case HTTP_E_REFUSED: return OLLAMA_E_REFUSED;
	case HTTP_E_DNS: return OLLAMA_E_DNS;
	case HTTP_E_TLS: return OLLAMA_E_TLS;
	case HTTP_E_TIMEOUT: return OLLAMA_E_TIMEOUT;
	case HTTP_E_CONNECT: return OLLAMA_E_CONNECT;
	case HTTP_E_TRUNCATED: return OLLAMA_E_TRUNCATED;
	case HTTP_E_TOO_BIG: return OLLAMA_E_TOO_BIG;
	case HTTP_E_ABORTED: return OLLAMA_E_ABORTED;
	case HTTP_E_STALL: return OLLAMA_E_STALL;
	case HTTP_E_LOCAL: return OLLAMA_E_OTHER;
	case HTTP_E_OTHER: return OLLAMA_E_OTHER;
	}
	return OLLAMA_E_OTHER;
}

enum ollama_err ollama_classify(const struct http_response *r, const struct ollama_stream *s,
				char *msg, size_t n)
{
	char m[512];
	if (n)
		msg[0] = '\0';
	if (r->err != HTTP_OK) {
		/* A server that sends an error line and then drops the connection. */
		if (s && s->error[0] && r->err == HTTP_E_TRUNCATED) {
			snprintf(msg, n, "%s", s->error);
			return OLLAMA_E_STREAM;
		}
		snprintf(msg, n, "%s", r->errmsg);
		return from_http(r->err);
	}
	if (r->status < 200 || r->status >= 300) {
		if (ollama_error_message(r->body.data, r->body.len, m, sizeof(m)) && s &&
		    s->error[0])
			snprintf(m, sizeof(m), "%s", s->error);
		if (!m[0] && r->body.len) {
			/* Not Ollama's JSON (a proxy's page, gin's 404 text): its first bytes. */
			char head[128];
			size_t l = r->body.len < 100 ? r->body.len : 100;
			memcpy(head, r->body.data, l);
			head[l] = '\0';
			for (size_t i = 0; i < l; i++)
				if (head[i] == '\n' || head[i] == '\r' || head[i] == '\t')
					head[i] = ' ';
			while (l && head[l - 1] == ' ')
				head[--l] = '\0';
			text_sanitize(m, sizeof(m), head);
		}
		if (r->status == 503) {
			snprintf(msg, n, "%s", m[0] ? m : "HTTP 503: server busy");
			return OLLAMA_E_BUSY;
		}
		if (m[0])
			snprintf(msg, n, "HTTP %ld: %s", r->status, m);
		else
			snprintf(msg, n, "HTTP %ld", r->status);
		return OLLAMA_E_HTTP;
	}
	if (!s)
		return OLLAMA_OK;
	if (s->error[0]) {
		snprintf(msg, n, "%s", s->error);
		return OLLAMA_E_STREAM;
	}
	if (s->malformed[0]) {
		snprintf(msg, n, "%s", s->malformed);
		return OLLAMA_E_MALFORMED;
	}
	if (!s->done) {
		if (s->wire == OLLAMA_WIRE_OPENAI)
			snprintf(msg, n, "stream ended without [DONE] (after %" PRId64 " chunks)",
				 s->nchunks);
		else if (s->nchunks == 0)
			snprintf(msg, n, "empty response");
		else
			snprintf(msg, n, "stream ended without done (after %" PRId64 " chunks)",
				 s->nchunks);
		return OLLAMA_E_TRUNCATED;
	}
	return OLLAMA_OK;
}

/* ---- request bodies ---- */

/* A double in JSON whatever LC_NUMERIC says. */
static void add_double(struct buf *b, double v)
{
	char s[64];
	snprintf(s, sizeof(s), "%.10g", v);
	for (char *p = s; *p; p++)
		if (*p == ',')
			*p = '.';
	buf_adds(b, s);
}

void ollama_add_keep_alive(struct buf *b, int64_t ns)
{
	if (ns < 0 || ns == DURATION_FOREVER) {
		buf_adds(b, "-1");
	} else if (ns % 1000000000LL == 0) {
		buf_addf(b, "%" PRId64, (int64_t)(ns / 1000000000));
	} else {
		char d[64];
		units_go_duration(ns, d, sizeof(d));
		buf_add_json_str(b, d);
	}
}

static void add_options(struct buf *b, const struct ollama_options *o)
{
	if (!o || !o->set)
		return;
	buf_adds(b, ",\"options\":{");
	int first = 1;
#define SEP() do { if (!first) buf_adds(b, ","); first = 0; } while (0)
	if (o->set & OLLAMA_OPT_NUM_CTX) {
		SEP();
		buf_addf(b, "\"num_ctx\":%d", o->num_ctx);
	}
	if (o->set & OLLAMA_OPT_NUM_PREDICT) {
		SEP();
		buf_addf(b, "\"num_predict\":%d", o->num_predict);
	}
	if (o->set & OLLAMA_OPT_SEED) {
		SEP();
		buf_addf(b, "\"seed\":%" PRId64, o->seed);
	}
	if (o->set & OLLAMA_OPT_TEMPERATURE) {
		SEP();
		buf_adds(b, "\"temperature\":");
		add_double(b, o->temperature);
	}
	if (o->set & OLLAMA_OPT_TOP_K) {
		SEP();
		buf_addf(b, "\"top_k\":%d", o->top_k);
	}
	if (o->set & OLLAMA_OPT_TOP_P) {
		SEP();
		buf_adds(b, "\"top_p\":");
		add_double(b, o->top_p);
	}
	if (o->set & OLLAMA_OPT_NUM_GPU) {
		SEP();
		buf_addf(b, "\"num_gpu\":%d", o->num_gpu);
	}
	if (o->set & OLLAMA_OPT_NUM_BATCH) {
		SEP();
		buf_addf(b, "\"num_batch\":%d", o->num_batch);
	}
#undef SEP
	buf_adds(b, "}");
}

/* Detect a cap overflow: buf_* leave the buffer unchanged when it would exceed max. */
static int finish_body(struct buf *b, size_t start)
{
	if (b->len <= start || b->data[b->len - 1] != '}')
		return -1;
	return 0;
}

static void add_common_tail(struct buf *b, const struct ollama_gen_req *r)
{
	buf_addf(b, ",\"stream\":%s", r->stream ? "true" : "false");
	if (r->has_keep_alive) {
		buf_adds(b, ",\"keep_alive\":");
		ollama_add_keep_alive(b, r->keep_alive_ns);
	}
	if (r->think)
		buf_addf(b, ",\"think\":%s", r->think > 0 ? "true" : "false");
	add_options(b, &r->options);
}

int ollama_build_generate(struct buf *b, const struct ollama_gen_req *r)
{
	size_t start = b->len;
	buf_adds(b, "{\"model\":");
	buf_add_json_str(b, r->model ? r->model : "");
	buf_adds(b, ",\"prompt\":");
	buf_add_json_str(b, r->prompt ? r->prompt : "");
	if (r->system) {
		buf_adds(b, ",\"system\":");
		buf_add_json_str(b, r->system);
	}
	if (r->raw)
		buf_adds(b, ",\"raw\":true");
	add_common_tail(b, r);
	buf_adds(b, "}");
	return finish_body(b, start);
}

static void add_messages(struct buf *b, const struct ollama_gen_req *r)
{
	buf_adds(b, ",\"messages\":[");
	if (r->nmessages) {
		for (size_t i = 0; i < r->nmessages; i++) {
			if (i)
				buf_adds(b, ",");
			buf_adds(b, "{\"role\":");
			buf_add_json_str(b, r->messages[i].role ? r->messages[i].role : "user");
			buf_adds(b, ",\"content\":");
			buf_add_json_str(b, r->messages[i].content ? r->messages[i].content : "");
			buf_adds(b, "}");
		}
	} else if (r->prompt && *r->prompt) {
		if (r->system) {
			buf_adds(b, "{\"role\":\"system\",\"content\":");
			buf_add_json_str(b, r->system);
			buf_adds(b, "},");
		}
		buf_adds(b, "{\"role\":\"user\",\"content\":");
		buf_add_json_str(b, r->prompt);
		buf_adds(b, "}");
	}
	buf_adds(b, "]");
}

int ollama_build_chat(struct buf *b, const struct ollama_gen_req *r)
{
	size_t start = b->len;
	buf_adds(b, "{\"model\":");
	buf_add_json_str(b, r->model ? r->model : "");
	add_messages(b, r);
	add_common_tail(b, r);
	buf_adds(b, "}");
	return finish_body(b, start);
}

int ollama_build_preload(struct buf *b, const char *model, int has_keep_alive,
			 int64_t keep_alive_ns, const struct ollama_options *o)
{
	size_t start = b->len;
	buf_adds(b, "{\"model\":");
	buf_add_json_str(b, model);
	buf_adds(b, ",\"prompt\":\"\",\"stream\":false");
	if (has_keep_alive) {
		buf_adds(b, ",\"keep_alive\":");
		ollama_add_keep_alive(b, keep_alive_ns);
	}
	add_options(b, o);
	buf_adds(b, "}");
	return finish_body(b, start);
}

int ollama_build_unload(struct buf *b, const char *model)
{
	size_t start = b->len;
	buf_adds(b, "{\"model\":");
	buf_add_json_str(b, model);
	buf_adds(b, ",\"prompt\":\"\",\"stream\":false,\"keep_alive\":0}");
	return finish_body(b, start);
}

int ollama_build_pull(struct buf *b, const char *model, int stream, int insecure)
{
	size_t start = b->len;
	buf_adds(b, "{\"model\":");
	buf_add_json_str(b, model);
	buf_addf(b, ",\"insecure\":%s,\"stream\":%s}", insecure ? "true" : "false",
		 stream ? "true" : "false");
	return finish_body(b, start);
}

int ollama_build_delete(struct buf *b, const char *model)
{
	size_t start = b->len;
	buf_adds(b, "{\"model\":");
	buf_add_json_str(b, model);
	buf_adds(b, "}");
	return finish_body(b, start);
}

int ollama_build_copy(struct buf *b, const char *source, const char *destination)
{
	size_t start = b->len;
	buf_adds(b, "{\"source\":");
	buf_add_json_str(b, source);
	buf_adds(b, ",\"destination\":");
	buf_add_json_str(b, destination);
	buf_adds(b, "}");
	return finish_body(b, start);
}

int ollama_build_show(struct buf *b, const char *model, int verbose)
{
	size_t start = b->len;
	buf_adds(b, "{\"model\":");
	buf_add_json_str(b, model);
	if (verbose)
		buf_adds(b, ",\"verbose\":true");
	buf_adds(b, "}");
	return finish_body(b, start);
}

int ollama_build_embed(struct buf *b, const char *model, const char *const *inputs,
		       size_t ninputs, int has_keep_alive, int64_t keep_alive_ns)
{
	size_t start = b->len;
	buf_adds(b, "{\"model\":");
	buf_add_json_str(b, model);
	if (ninputs == 1) {
		buf_adds(b, ",\"input\":");
		buf_add_json_str(b, inputs[0]);
	} else if (ninputs > 1) {
		buf_adds(b, ",\"input\":[");
		for (size_t i = 0; i < ninputs; i++) {
			if (i)
				buf_adds(b, ",");
			buf_add_json_str(b, inputs[i]);
		}
		buf_adds(b, "]");
	}
	if (has_keep_alive) {
		buf_adds(b, ",\"keep_alive\":");
		ollama_add_keep_alive(b, keep_alive_ns);
	}
	buf_adds(b, "}");
	return finish_body(b, start);
}

int ollama_build_openai_chat(struct buf *b, const struct ollama_gen_req *r, int max_tokens,
			     int include_usage)
{
	size_t start = b->len;
	buf_adds(b, "{\"model\":");
	buf_add_json_str(b, r->model ? r->model : "");
	add_messages(b, r);
	buf_addf(b, ",\"stream\":%s", r->stream ? "true" : "false");
	if (r->stream && include_usage)
		buf_adds(b, ",\"stream_options\":{\"include_usage\":true}");
	if (max_tokens > 0)
		buf_addf(b, ",\"max_tokens\":%d", max_tokens);
	const struct ollama_options *o = &r->options;
	if (o->set & OLLAMA_OPT_TEMPERATURE) {
		buf_adds(b, ",\"temperature\":");
		add_double(b, o->temperature);
	}
	if (o->set & OLLAMA_OPT_TOP_P) {
		buf_adds(b, ",\"top_p\":");
		add_double(b, o->top_p);
	}
	if (o->set & OLLAMA_OPT_SEED)
		buf_addf(b, ",\"seed\":%" PRId64, o->seed);
	buf_adds(b, "}");
	return finish_body(b, start);
}

/* ---- sending ---- */

struct plain_ctx {
	void (*cb)(void *ud, const struct ollama_result *res);
	void *ud;
};

static void plain_done(void *ud, const struct http_response *resp)
{
	struct plain_ctx *p = ud;
	struct ollama_result res;
	memset(&res, 0, sizeof(res));
	res.err = ollama_classify(resp, NULL, res.errmsg, sizeof(res.errmsg));
	res.status = resp->status;
	res.body = buf_str(&resp->body);
	res.len = resp->body.len;
	res.resp = resp;
	p->cb(p->ud, &res);
	free(p);
}

static long send_plain(struct http_engine *e, const char *method, const char *base_url,
		       const char *path, const char *body, int64_t timeout_ns,
		       void (*cb)(void *ud, const struct ollama_result *res), void *ud,
		       char *err)
{
	char url[2048];
	size_t bl = strlen(base_url);
	while (bl && base_url[bl - 1] == '/')
		bl--;
	if ((size_t)snprintf(url, sizeof(url), "%.*s%s", (int)bl, base_url, path) >= sizeof(url))
		return seterr(err, "URL too long");
	struct plain_ctx *p = xmalloc(sizeof(*p));
	p->cb = cb;
	p->ud = ud;
	struct http_req r;
	memset(&r, 0, sizeof(r));
	r.method = method;
	r.url = url;
	r.body = body;
	r.timeout_ns = timeout_ns;
	r.on_done = plain_done;
	r.ud = p;
	long id = http_submit(e, &r, err);
	if (id < 0)
		free(p);
	return id;
}

long ollama_get(struct http_engine *e, const char *base_url, const char *path,
		int64_t timeout_ns, void (*cb)(void *ud, const struct ollama_result *res),
		void *ud, char *err)
{
	return send_plain(e, "GET", base_url, path, NULL, timeout_ns, cb, ud, err);
}

long ollama_post(struct http_engine *e, const char *base_url, const char *path,
		 const char *body, int64_t timeout_ns,
		 void (*cb)(void *ud, const struct ollama_result *res), void *ud, char *err)
{
	return send_plain(e, "POST", base_url, path, body ? body : "{}", timeout_ns, cb, ud,
			  err);
}

struct fan_slot {
	struct ollama_reply *out;
	size_t *pending;
};

static void fan_done(void *ud, const struct ollama_result *res)
{
	struct fan_slot *s = ud;
	struct ollama_reply *o = s->out;
	o->err = res->err;
	snprintf(o->errmsg, sizeof(o->errmsg), "%s", res->errmsg);
	o->status = res->status;
	o->body = xmalloc(res->len + 1);
	memcpy(o->body, res->body, res->len);
	o->body[res->len] = '\0';
	o->len = res->len;
	o->latency_ns = res->resp->t.end - res->resp->t.start;
	(*s->pending)--;
}

size_t ollama_fanout(struct http_engine *e, const char *const *base_urls, size_t n,
		     const char *method, const char *path, const char *body,
		     int64_t timeout_ns, struct ollama_reply *out)
{
	size_t pending = 0, ok = 0;
	struct fan_slot *slots = xcalloc(n ? n : 1, sizeof(*slots));
	long *ids = xcalloc(n ? n : 1, sizeof(*ids));
	for (size_t i = 0; i < n; i++) {
		char err[ERR_MAX];
		memset(&out[i], 0, sizeof(out[i]));
		slots[i].out = &out[i];
		slots[i].pending = &pending;
		int post = method && strcmp(method, "POST") == 0;
		long id = send_plain(e, post ? "POST" : (method ? method : "GET"), base_urls[i],
				     path, post ? (body ? body : "{}") : NULL, timeout_ns,
				     fan_done, &slots[i], err);
		if (id < 0) {
			out[i].err = OLLAMA_E_OTHER;
			snprintf(out[i].errmsg, sizeof(out[i].errmsg), "%s", err);
			out[i].body = xstrdup("");
		} else {
			ids[i] = id;
			pending++;
		}
	}
	while (pending)
		if (http_poll(e, 1000000000LL, -1, NULL) < 0)
			break;
	/* Only after an event loop failure: stop what is left (on_done fills it in). */
	for (size_t i = 0; pending && i < n; i++)
		if (!out[i].body)
			http_cancel(e, ids[i]);
	for (size_t i = 0; i < n; i++)
		if (out[i].err == OLLAMA_OK)
			ok++;
	free(ids);
	free(slots);
	return ok;
}

void ollama_reply_release(struct ollama_reply *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

struct stream_ctx {
	struct ollama_stream s;
	int (*on_line)(void *ud, const struct ollama_stream *s, int is_token, int64_t t_ns);
	void (*on_done)(void *ud, const struct ollama_stream *s, enum ollama_err err,
			const char *msg, const struct http_response *resp);
	void *ud;
};

static int stream_line(void *ud, const char *line, size_t len, int64_t t_ns)
{
	struct stream_ctx *c = ud;
	int r = ollama_stream_line(&c->s, line, len, t_ns);
	if (c->on_line)
		return c->on_line(c->ud, &c->s, r == 1, t_ns);
	return 0;
}

static void stream_done(void *ud, const struct http_response *resp)
{
	struct stream_ctx *c = ud;
	char msg[512];
	enum ollama_err e = ollama_classify(resp, &c->s, msg, sizeof(msg));
	if (c->on_done)
		c->on_done(c->ud, &c->s, e, msg, resp);
	ollama_stream_release(&c->s);
	free(c);
}

long ollama_stream_submit(struct http_engine *e, const struct ollama_stream_req *r, char *err)
{
	char url[2048];
	size_t bl = strlen(r->base_url);
	while (bl && r->base_url[bl - 1] == '/')
		bl--;
	if ((size_t)snprintf(url, sizeof(url), "%.*s%s", (int)bl, r->base_url, r->path) >=
	    sizeof(url))
		return seterr(err, "URL too long");
	struct stream_ctx *c = xcalloc(1, sizeof(*c));
	ollama_stream_init(&c->s, r->wire);
	c->s.keep_text = r->keep_text;
	c->on_line = r->on_line;
	c->on_done = r->on_done;
	c->ud = r->ud;
	struct http_req h;
	memset(&h, 0, sizeof(h));
	h.method = "POST";
	h.url = url;
	h.body = r->body ? r->body : "{}";
	h.accept = r->wire == OLLAMA_WIRE_OPENAI ? "text/event-stream" : "application/x-ndjson";
	h.timeout_ns = r->timeout_ns;
	h.stall_ns = r->stall_ns;
	h.start_at = r->start_at;
	h.line_mode = 1;
	h.on_line = stream_line;
	h.on_done = stream_done;
	h.ud = c;
	long id = http_submit(e, &h, err);
	if (id < 0) {
		ollama_stream_release(&c->s);
		free(c);
	}
	return id;
}
