/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Route tests: requests through the balancer, attributed to instances, judged per check. */
#include "../compat.h"
#include "route.h"
#include "route-internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../fleet/fleet.h"
#include "../http/http.h"
#include "../ollama/ollama.h"
#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

static const char *const check_names[ROUTE__N] = {
	"attribution", "weights", "backup", "failover", "length", "stream", "cold",
};

/* Headers balancers add to name the upstream, tried in this order. */
static const char default_capture[] = "X-Upstream,X-Server,X-Olla-Endpoint,"
				      "x-litellm-model-api-base";

const char *route_check_name(enum route_check c)
{
	return c < ROUTE__N ? check_names[c] : "?";
}

int route_checks_parse(const char *list, unsigned *out, char *err)
{
	*out = 0;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ", ");
		int found = len == 3 && !strncmp(p, "all", 3);
		if (found)
			*out |= ROUTE_ALL;
		for (int i = 0; i < ROUTE__N && !found; i++)
			if (strlen(check_names[i]) == len && !strncmp(p, check_names[i], len)) {
				*out |= 1u << i;
				found = 1;
			}
		if (len && !found)
			return snprintf(err, ERR_MAX, "unknown check '%.*s' (expected attribution, "
				       "weights, backup, failover, length, stream, cold or all)",
				       (int)(len > 40 ? 40 : len), p), -1;
		p += len;
		p += strspn(p, ", ");
	}
	if (!*out)
		return snprintf(err, ERR_MAX, "no check named"), -1;
	return 0;
}

/* ---- requests ---- */

static void reply_done(void *ud, const struct http_response *r)
{
	struct rt_reply *p = ud;
	p->status = r->status;
	p->err = r->err;
	snprintf(p->errmsg, sizeof(p->errmsg), "%s", r->errmsg);
	snprintf(p->hval, sizeof(p->hval), "%s", r->header_value);
	snprintf(p->hname, sizeof(p->hname), "%s", r->header_name);
	p->t_start = r->t.start;
	p->t_end = r->t.end ? r->t.end : mono_ns();
	buf_reset(&p->body);
	if (r->body.len)
		buf_add(&p->body, r->body.data, r->body.len > 65536 ? 65536 : r->body.len);
	p->done = 1;
}

void rt_reply_init(struct rt_reply *p)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->body, 0);
	p->inst = -1;
}

void rt_reply_release(struct rt_reply *p)
{
	buf_release(&p->body);
}

int rt_stopped(const struct rt *t)
{
	return t->c->stop && *t->c->stop;
}

/* Wait until *done, or until the stop flag (then cancel id). */
void rt_wait(struct rt *t, long id, const int *done)
{
	while (!*done) {
		if (rt_stopped(t)) {
			http_cancel(t->e, id);
			t->rep->interrupted = 1;
		}
		http_poll(t->e, 100000000LL, -1, NULL);
	}
}

int rt_request(struct rt *t, const char *method, const char *url, const char *body,
	       size_t blen, int64_t timeout_ns, struct rt_reply *out)
{
	char err[ERR_MAX];
	buf_reset(&out->body);
	out->done = 0;
	out->inst = -1;
	out->hval[0] = out->hname[0] = '\0';
	struct http_req q = {
		.method = method, .url = url, .body = body, .body_len = blen,
		.timeout_ns = timeout_ns ? timeout_ns : t->c->timeout_ns, .max_body = 1u << 20,
		.on_done = reply_done, .ud = out, .capture = t->capture,
	};
	long id = http_submit(t->e, &q, err);
	if (id < 0) {
		out->err = HTTP_E_OTHER;
		snprintf(out->errmsg, sizeof(out->errmsg), "%s", err);
		out->status = 0;
		return -1;
	}
	rt_wait(t, id, &out->done);
	out->inst = rt_attribute(t, out->hval);
	return out->err == HTTP_OK && out->status >= 200 && out->status < 300 ? 0 : -1;
}

void rt_error_class(const struct rt_reply *p, char *out, size_t n)
{
	if (p->err != HTTP_OK)
		snprintf(out, n, "%s", http_err_name(p->err));
	else
		snprintf(out, n, "HTTP %ld", p->status);
}

/* ---- attribution ---- */

/* "host:port" of an instance URL, localhost read as 127.0.0.1. */
static void host_port(const char *url, char *out, size_t n)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t len = strcspn(p, "/");
	if (len >= 9 && !strncasecmp(p, "localhost", 9) && (len == 9 || p[9] == ':'))
		snprintf(out, n, "127.0.0.1%.*s", (int)(len - 9), p + 9);
	else
		snprintf(out, n, "%.*s", (int)len, p);
}

int rt_attribute(const struct rt *t, const char *value)
{
	if (!value || !*value)
		return -1;
	/* nginx lists every upstream it tried ("a:1, b:2" or "a:1 : b:2"): the last answered */
	const char *v = value, *p;
	while ((p = strstr(v, ", ")) || (p = strstr(v, " : ")))
		v = p + (p[1] == ',' || p[1] == ' ' ? 2 : 3);
	char want[256];
	snprintf(want, sizeof(want), "%s", v);
	size_t wl = strlen(want);
	while (wl && (want[wl - 1] == ' ' || want[wl - 1] == '/'))
		want[--wl] = '\0';
	const struct fleet *f = t->f;
	for (size_t i = 0; i < f->ninstances; i++)
		if (!strcmp(want, f->instances[i].name))
			return (int)i;
	char hp[256], whp[256];
	host_port(want, whp, sizeof(whp));
	for (size_t i = 0; i < f->ninstances; i++) {
		host_port(f->instances[i].url, hp, sizeof(hp));
		if (!strcasecmp(hp, whp))
			return (int)i;
	}
	return -1;
}

/* expires_at of the model on every instance (0 when not loaded or unknown). */
static void expiries(struct rt *t, int64_t *out)
{
	const struct fleet *f = t->f;
	const char **urls = xcalloc(f->ninstances, sizeof(char *));
	struct ollama_reply *rep = xcalloc(f->ninstances, sizeof(*rep));
	for (size_t i = 0; i < f->ninstances; i++)
		urls[i] = f->instances[i].url;
	ollama_fanout(t->e, urls, f->ninstances, "GET", "/api/ps", NULL, 5000000000LL, rep);
	for (size_t i = 0; i < f->ninstances; i++) {
		struct ollama_ps ps;
		char err[ERR_MAX];
		out[i] = 0;
		if (rep[i].err == OLLAMA_OK &&
		    ollama_parse_ps(rep[i].body, rep[i].len, &ps, err) == 0) {
			const struct ollama_ps_entry *m = ollama_ps_find(&ps, t->model);
			if (m && m->has_expires_at)
				out[i] = m->expires_at;
			ollama_ps_release(&ps);
		}
		ollama_reply_release(&rep[i]);
	}
	free(urls);
	free(rep);
}

/* A 1-token generate of the model with a finite keep_alive, as the expiry method sends. */
void rt_generate_body(const struct rt *t, struct buf *b, const char *prompt, int stream,
		      int num_predict)
{
	struct ollama_gen_req g = { 0 };
	g.model = t->model;
	g.prompt = prompt;
	g.stream = stream;
	g.has_keep_alive = 1;
	g.keep_alive_ns = t->keep_alive_ns;
	g.options.set = OLLAMA_OPT_NUM_PREDICT | (t->num_ctx ? OLLAMA_OPT_NUM_CTX : 0);
	g.options.num_predict = num_predict;
	g.options.num_ctx = t->num_ctx;
	ollama_build_generate(b, &g);
}

/*
 * One request through the balancer with its body (NULL: the method's default request),
 * attributed by header or by the instances' clocks. Returns the instance, -1 when it
 * succeeded unattributed, -2 when it failed (out holds the reply).
 */
int rt_probe_body(struct rt *t, const char *path, const char *body, size_t blen,
		  struct rt_reply *out)
{
	char url[1200];
	int64_t *before = NULL;
	struct buf gen = BUF_INIT;
	if (t->rep->method == ROUTE_BY_EXPIRY) {
		before = xcalloc(t->f->ninstances, sizeof(int64_t));
		expiries(t, before);
		if (!body) {
			rt_generate_body(t, &gen, "", 0, 1);
			body = buf_str(&gen);
			blen = gen.len;
			path = "/api/generate";
		}
	}
	snprintf(url, sizeof(url), "%s%s", t->c->balancer, path ? path : "/api/version");
	int rc = rt_request(t, body ? "POST" : "GET", url, body, blen, 0, out);
	if (before) {
		int64_t *after = xcalloc(t->f->ninstances, sizeof(int64_t));
		expiries(t, after);
		int found = -1;
		for (size_t i = 0; i < t->f->ninstances; i++)
			if (after[i] > before[i])
				found = found == -1 ? (int)i : -3;
		out->inst = found >= 0 ? found : -1;
		free(after);
		free(before);
	}
	buf_release(&gen);
	if (rc < 0)
		return -2;
	if (out->inst >= 0)
		t->rep->attributed++;
	else
		t->rep->unattributed++;
	return out->inst;
}

int rt_probe(struct rt *t, struct rt_reply *out)
{
	return rt_probe_body(t, NULL, NULL, 0, out);
}

/* ---- report ---- */

void rt_result(struct rt *t, enum route_check c, enum route_outcome o, const char *fmt, ...)
{
	struct route_result *r = &t->rep->r[c];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->summary, sizeof(r->summary), fmt, ap);
	va_end(ap);
	text_sanitize(r->summary, sizeof(r->summary), r->summary);
	r->outcome = o;
}

void rt_detail(struct rt *t, enum route_check c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	text_sanitize(line, sizeof(line), line);
	buf_addf(&t->rep->r[c].detail, "%s\n", line);
}

void rt_progress(struct rt *t, const char *fmt, ...)
{
	if (!t->c->progress)
		return;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->c->progress(t->c->ud, msg);
}

void route_report_counts(const struct route_report *r, int *pass, int *fail, int *skip)
{
	*pass = *fail = *skip = 0;
	for (int i = 0; i < ROUTE__N; i++) {
		if (!r->ran[i])
			continue;
		*pass += r->r[i].outcome == ROUTE_PASS;
		*fail += r->r[i].outcome == ROUTE_FAIL;
		*skip += r->r[i].outcome == ROUTE_SKIP;
	}
}

void route_report_release(struct route_report *r)
{
	for (int i = 0; i < ROUTE__N; i++) {
		buf_release(&r->r[i].detail);
		buf_release(&r->r[i].json);
		free(r->r[i].bars);
	}
	memset(r, 0, sizeof(*r));
}

void route_report_json(const struct route_report *r, const struct route_cfg *c, struct buf *b)
{
	static const char *const outcomes[] = { "pass", "fail", "skip" };
	int pass, fail, skip;
	route_report_counts(r, &pass, &fail, &skip);
	buf_adds(b, "{\"balancer\":");
	buf_add_json_str(b, c->balancer);
	buf_addf(b, ",\"method\":\"%s\",\"header\":",
		 r->method == ROUTE_BY_HEADER ? "header" : r->method == ROUTE_BY_EXPIRY ? "expires_at" :
										   "none");
	if (r->header[0])
		buf_add_json_str(b, r->header);
	else
		buf_adds(b, "null");
	buf_addf(b, ",\"attributed\":%" PRIu64 ",\"unattributed\":%" PRIu64 ",\"down\":",
		 r->attributed, r->unattributed);
	buf_add_json_str(b, r->down_how);
	buf_adds(b, ",\"model\":");
	buf_add_json_str(b, r->model);
	buf_addf(b, ",\"passed\":%d,\"failed\":%d,\"skipped\":%d,\"interrupted\":%s,\"checks\":[",
		 pass, fail, skip, r->interrupted ? "true" : "false");
	int first = 1;
	for (int i = 0; i < ROUTE__N; i++) {
		if (!r->ran[i])
			continue;
		const struct route_result *x = &r->r[i];
		buf_addf(b, "%s{\"check\":\"%s\",\"result\":\"%s\",\"summary\":", first ? "" : ",",
			 check_names[i], outcomes[x->outcome]);
		first = 0;
		buf_add_json_str(b, x->summary);
		buf_adds(b, ",\"evidence\":");
		buf_add_json_str(b, buf_str((struct buf *)&x->detail));
		buf_adds(b, ",\"data\":");
		buf_adds(b, x->json.len ? buf_str((struct buf *)&x->json) : "{}");
		buf_adds(b, "}");
	}
	buf_adds(b, "]}");
}

/* ---- the run ---- */

static int find_model(struct rt *t, char *err)
{
	const struct fleet *f = t->f;
	const struct fleet_model *fm = NULL;
	if (t->c->model) {
		if (ollama_name_normalize(t->c->model, t->model, sizeof(t->model), err) < 0)
			return -1;
		fm = fleet_find_model(f, t->model);
	} else if (f->nmodels) {
		fm = &f->models[0];
		snprintf(t->model, sizeof(t->model), "%s", fm->name);
	} else {
		struct rt_reply p;
		char url[1200];
		rt_reply_init(&p);
		snprintf(url, sizeof(url), "%s/api/tags", t->c->balancer);
		struct ollama_tags tags;
		if (rt_request(t, "GET", url, NULL, 0, 10000000000LL, &p) == 0 &&
		    ollama_parse_tags(buf_str(&p.body), p.body.len, &tags, err) == 0) {
			for (size_t i = 0; i < tags.n && !t->model[0]; i++)
				if (!ollama_model_has_cap(&tags.models[i], "embedding"))
					snprintf(t->model, sizeof(t->model), "%s", tags.models[i].name);
			ollama_tags_release(&tags);
		}
		rt_reply_release(&p);
		if (!t->model[0])
			return snprintf(err, ERR_MAX, "no model given (--model), none in the fleet file "
				       "and none that generates behind the balancer"), -1;
	}
	t->keep_alive_ns = 300000000000LL;
	if (fm && fm->has_keep_alive && fm->keep_alive_ns > 0 && fm->keep_alive_ns != DURATION_FOREVER)
		t->keep_alive_ns = fm->keep_alive_ns;
	t->num_ctx = fm ? fm->num_ctx : 0;
	return 0;
}

/* The first request: does the balancer answer, and which header names the instance? */
static int first_contact(struct rt *t, char *err)
{
	struct rt_reply p;
	char url[1200];
	rt_reply_init(&p);
	snprintf(url, sizeof(url), "%s/api/version", t->c->balancer);
	int ok = 0;
	for (int i = 0; i < 3 && !ok && !rt_stopped(t); i++)
		ok = rt_request(t, "GET", url, NULL, 0, 10000000000LL, &p) == 0;
	if (!ok) {
		char cls[64];
		rt_error_class(&p, cls, sizeof(cls));
		snprintf(err, ERR_MAX, "the balancer %.200s does not answer GET /api/version: %s%s%.150s",
			 t->c->balancer, cls, p.errmsg[0] ? ": " : "", p.errmsg);
		rt_reply_release(&p);
		return -1;
	}
	if (p.hname[0]) {
		t->rep->method = ROUTE_BY_HEADER;
		snprintf(t->rep->header, sizeof(t->rep->header), "%s", p.hname);
	} else {
		t->rep->method = ROUTE_BY_EXPIRY;
	}
	rt_reply_release(&p);
	return 0;
}

int route_test(struct http_engine *e, const struct route_cfg *c, struct route_report *out,
	       char *err)
{
	struct rt t = { .e = e, .c = c, .f = c->fleet, .rep = out };
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < ROUTE__N; i++) {
		buf_init(&out->r[i].detail, 0);
		buf_init(&out->r[i].json, 0);
	}
	if (c->header)
		snprintf(t.capture, sizeof(t.capture), "%s,%s", c->header, default_capture);
	else
		snprintf(t.capture, sizeof(t.capture), "%s", default_capture);
	rt_progress(&t, "contacting %s", c->balancer);
	if (first_contact(&t, err) < 0)
		return -1;
	if (find_model(&t, err) < 0)
		return -1;
	snprintf(out->model, sizeof(out->model), "%s", t.model);
	rt_control_init(&t);
	snprintf(out->down_how, sizeof(out->down_how), "%s",
		 t.down_how == RT_DOWN_CMD ? "--down-cmd/--up-cmd" :
		 t.down_how == RT_DOWN_SIM ? "sim control" : "none");

	static void (*const run[ROUTE__N])(struct rt *) = {
		rt_check_attribution, rt_check_weights, rt_check_backup, rt_check_failover,
		rt_check_length, rt_check_stream, rt_check_cold,
	};
	for (int i = 0; i < ROUTE__N; i++) {
		if (!(c->checks & (1u << i)))
			continue;
		if (rt_stopped(&t)) {
			out->interrupted = 1;
			break;
		}
		rt_progress(&t, "%s", check_names[i]);
		out->ran[i] = 1;
		run[i](&t);
		/* a check that took an instance down brings it back even when it failed */
		rt_control_restore(&t);
	}
	rt_control_release(&t);
	return 0;
}
