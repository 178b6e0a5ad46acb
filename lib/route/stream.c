/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The stream check (tokens arrive through the balancer as they are made: TTFT close to
 * the direct TTFT, chunk gaps not bunched) and the cold check (a request that needs a
 * cold load is not cut by a proxy read timeout).
 */
#include "../compat.h"
#include "route-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fleet/fleet.h"
#include "../ollama/ollama.h"
#include "../util/util.h"
#include "../banned.h"

#define SEC 1000000000LL
#define MS 1000000LL
#define PAIRS 5
#define TOKENS 16
#define TTFT_SLACK (25 * MS)      /* through the balancer may add this much to TTFT */
#define BUNCH_GAP MS              /* chunks closer than this arrived together */
#define BUNCH_SLACK 0.3           /* share of bunched gaps the balancer may add */

static void preload(struct rt *t, const int *which);

struct sreq {
	struct ollama_stream st;
	int64_t times[TOKENS * 4];
	size_t ntimes;
	struct rt_reply rep;
	int done;
};

static int s_line(void *ud, const char *line, size_t len, int64_t t_ns)
{
	struct sreq *s = ud;
	if (ollama_stream_line(&s->st, line, len, t_ns) == 1 && s->ntimes < ARRAY_SIZE(s->times))
		s->times[s->ntimes++] = t_ns;
	return 0;
}

static void s_done(void *ud, const struct http_response *r)
{
	struct sreq *s = ud;
	s->rep.status = r->status;
	s->rep.err = r->err;
	snprintf(s->rep.errmsg, sizeof(s->rep.errmsg), "%s", r->errmsg);
	snprintf(s->rep.hval, sizeof(s->rep.hval), "%s", r->header_value);
	s->rep.t_start = r->t.start;
	s->rep.t_end = r->t.end ? r->t.end : mono_ns();
	s->done = 1;
}

/* A streamed generate of `tokens` tokens to base; fills s. Returns 0 when it completed. */
static int stream_once(struct rt *t, const char *base, int tokens, int64_t timeout,
		       struct sreq *s)
{
	char url[1200], err[ERR_MAX];
	struct buf body = BUF_INIT;
	rt_generate_body(t, &body, "Count slowly from one to twenty.", 1, tokens);
	snprintf(url, sizeof(url), "%s/api/generate", base);
	ollama_stream_init(&s->st, OLLAMA_WIRE_NATIVE);
	s->ntimes = 0;
	s->done = 0;
	rt_reply_init(&s->rep);
	struct http_req q = {
		.method = "POST", .url = url, .body = buf_str(&body), .timeout_ns = timeout,
		.line_mode = 1, .on_line = s_line, .on_done = s_done, .ud = s,
		.capture = t->capture,
	};
	long id = http_submit(t->e, &q, err);
	buf_release(&body);
	if (id < 0) {
		snprintf(s->rep.errmsg, sizeof(s->rep.errmsg), "%s", err);
		s->rep.err = HTTP_E_OTHER;
		return -1;
	}
	rt_wait(t, id, &s->done);
	s->rep.inst = rt_attribute(t, s->rep.hval);
	return s->rep.err == HTTP_OK && s->rep.status == 200 && s->st.done ? 0 : -1;
}

static void sreq_release(struct sreq *s)
{
	ollama_stream_release(&s->st);
	rt_reply_release(&s->rep);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int64_t median(int64_t *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_i64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Gaps between token chunks: how many, and how many under BUNCH_GAP. */
static void gaps(const struct sreq *s, uint64_t *n, uint64_t *bunched)
{
	for (size_t k = 1; k < s->ntimes; k++) {
		(*n)++;
		*bunched += s->times[k] - s->times[k - 1] < BUNCH_GAP;
	}
}

void rt_check_stream(struct rt *t)
{
	const enum route_check C = ROUTE_STREAM;
	int64_t tb[PAIRS], td[PAIRS];
	size_t n = 0;
	uint64_t gb = 0, bb = 0, gd = 0, bd = 0;
	char cls[64] = "";
	struct sreq s;
	memset(&s, 0, sizeof(s));
	/* loaded on every instance directly, so no measured request waits for a load */
	preload(t, NULL);
	if (stream_once(t, t->c->balancer, 2, 120 * SEC, &s) < 0) {
		rt_error_class(&s.rep, cls, sizeof(cls));
		sreq_release(&s);
		rt_result(t, C, ROUTE_FAIL, "a streamed generate through the balancer failed: %s%s%s",
			  cls, s.rep.errmsg[0] ? ": " : "", s.rep.errmsg);
		return;
	}
	sreq_release(&s);
	for (int k = 0; k < PAIRS * 2 && n < PAIRS && !rt_stopped(t); k++) {
		if (stream_once(t, t->c->balancer, TOKENS, 120 * SEC, &s) < 0 || !s.ntimes) {
			rt_error_class(&s.rep, cls, sizeof(cls));
			sreq_release(&s);
			continue;
		}
		int inst = s.rep.inst;
		int64_t ttft_b = s.times[0] - s.rep.t_start;
		gaps(&s, &gb, &bb);
		sreq_release(&s);
		if (inst < 0) {
			/* without a header the direct twin goes to the first instance */
			inst = 0;
		}
		if (stream_once(t, t->f->instances[inst].url, TOKENS, 120 * SEC, &s) < 0 ||
		    !s.ntimes) {
			sreq_release(&s);
			continue;
		}
		tb[n] = ttft_b;
		td[n++] = s.times[0] - s.rep.t_start;
		gaps(&s, &gd, &bd);
		sreq_release(&s);
	}
	if (!n) {
		rt_result(t, C, ROUTE_FAIL, "no streamed request completed both through the balancer "
			  "and directly (%s)", cls);
		return;
	}
	int64_t mb = median(tb, n), md = median(td, n);
	double sb = gb ? (double)bb / (double)gb : 0, sd = gd ? (double)bd / (double)gd : 0;
	rt_detail(t, C, "%zu pairs of %d-token streams: TTFT p50 %.1fms through the balancer, "
		  "%.1fms direct", n, TOKENS, mb / 1e6, md / 1e6);
	rt_detail(t, C, "chunks within 1ms of the previous one: %.0f%% through the balancer, "
		  "%.0f%% direct", 100 * sb, 100 * sd);
	buf_addf(&t->rep->r[C].json, "{\"pairs\":%zu,\"ttft_balancer_ms\":%.3f,\"ttft_direct_ms\":"
		 "%.3f,\"bunched_balancer\":%.3f,\"bunched_direct\":%.3f}", n, mb / 1e6, md / 1e6, sb,
		 sd);
	if (mb - md > TTFT_SLACK)
		rt_result(t, C, ROUTE_FAIL, "TTFT through the balancer is %.0fms over direct (p50 %.1fms "
			  "vs %.1fms): it holds the stream back (nginx: proxy_buffering off; HAProxy: option "
			  "http-no-delay)",
			  (mb - md) / 1e6, mb / 1e6, md / 1e6);
	else if (sb - sd > BUNCH_SLACK)
		rt_result(t, C, ROUTE_FAIL, "%.0f%% of chunks arrive bunched through the balancer "
			  "against %.0f%% direct: it holds the stream back", 100 * sb, 100 * sd);
	else
		rt_result(t, C, ROUTE_PASS, "tokens stream: TTFT p50 %.1fms through the balancer vs "
			  "%.1fms direct, chunks not bunched", mb / 1e6, md / 1e6);
}

/* Unload the model on every instance and wait until /api/ps shows none; which had it. */
static int unload_all(struct rt *t, int *had, char *err)
{
	const struct fleet *f = t->f;
	struct buf body = BUF_INIT;
	ollama_build_unload(&body, t->model);
	const char **urls = xcalloc(f->ninstances, sizeof(char *));
	struct ollama_reply *rep = xcalloc(f->ninstances, sizeof(*rep));
	for (size_t i = 0; i < f->ninstances; i++)
		urls[i] = f->instances[i].url;
	int64_t deadline = mono_ns() + 30 * SEC;
	int first = 1, left = 1;
	while (left && mono_ns() < deadline && !rt_stopped(t)) {
		ollama_fanout(t->e, urls, f->ninstances, "GET", "/api/ps", NULL, 5 * SEC, rep);
		left = 0;
		for (size_t i = 0; i < f->ninstances; i++) {
			struct ollama_ps ps;
			char e2[ERR_MAX];
			int loaded = 0;
			if (rep[i].err == OLLAMA_OK &&
			    ollama_parse_ps(rep[i].body, rep[i].len, &ps, e2) == 0) {
				loaded = ollama_ps_find(&ps, t->model) != NULL;
				ollama_ps_release(&ps);
			}
			if (first)
				had[i] = loaded;
			left |= loaded;
			ollama_reply_release(&rep[i]);
		}
		first = 0;
		if (left) {
			ollama_fanout(t->e, urls, f->ninstances, "POST", "/api/generate",
				      buf_str(&body), 10 * SEC, rep);
			for (size_t i = 0; i < f->ninstances; i++)
				ollama_reply_release(&rep[i]);
			http_poll(t->e, 100 * MS, -1, NULL);
		}
	}
	free(urls);
	free(rep);
	buf_release(&body);
	if (left)
		return snprintf(err, ERR_MAX, "%s is still loaded 30s after it was unloaded",
				t->model), -1;
	return 0;
}

/* Load the model on the instances marked in which (NULL: every one), with the fleet's
 * keep_alive and num_ctx, directly and in parallel. */
static void preload(struct rt *t, const int *which)
{
	const struct fleet *f = t->f;
	struct buf body = BUF_INIT;
	struct ollama_options o = { 0 };
	if (t->num_ctx) {
		o.set = OLLAMA_OPT_NUM_CTX;
		o.num_ctx = t->num_ctx;
	}
	ollama_build_preload(&body, t->model, 1, t->keep_alive_ns, &o);
	const char **urls = xcalloc(f->ninstances + 1, sizeof(char *));
	struct ollama_reply *rep = xcalloc(f->ninstances + 1, sizeof(*rep));
	size_t n = 0;
	for (size_t i = 0; i < f->ninstances; i++)
		if (!which || which[i])
			urls[n++] = f->instances[i].url;
	ollama_fanout(t->e, urls, n, "POST", "/api/generate", buf_str(&body), 600 * SEC, rep);
	for (size_t i = 0; i < n; i++)
		ollama_reply_release(&rep[i]);
	free(urls);
	free(rep);
	buf_release(&body);
}

void rt_check_cold(struct rt *t)
{
	const enum route_check C = ROUTE_COLD;
	char err[ERR_MAX], cls[64];
	int *had = xcalloc(t->f->ninstances + 1, sizeof(int));
	if (unload_all(t, had, err) < 0) {
		rt_result(t, C, ROUTE_FAIL, "%s", err);
		free(had);
		return;
	}
	struct sreq s;
	memset(&s, 0, sizeof(s));
	int64_t timeout = t->c->timeout_ns > 600 * SEC ? t->c->timeout_ns : 600 * SEC;
	int ok = stream_once(t, t->c->balancer, 1, timeout, &s) == 0;
	double took = (s.rep.t_end - s.rep.t_start) / 1e9;
	double load = s.st.load_duration / 1e9;
	rt_error_class(&s.rep, cls, sizeof(cls));
	const char *who = s.rep.inst >= 0 ? t->f->instances[s.rep.inst].name : "an instance";
	sreq_release(&s);
	if (!ok && s.rep.err == HTTP_OK) {
		/* what a cold load takes on the instance itself, to set against the proxy */
		int *dummy = xcalloc(t->f->ninstances + 1, sizeof(int));
		if (unload_all(t, dummy, err) == 0 &&
		    stream_once(t, t->f->instances[0].url, 1, timeout, &s) == 0)
			load = s.st.load_duration / 1e9;
		sreq_release(&s);
		free(dummy);
	}
	rt_detail(t, C, "%s unloaded on every instance, then one request through the balancer",
		  t->model);
	rt_detail(t, C, "answer: %s after %.2fs; load_duration %.2fs", ok ? "200, stream done" : cls,
		  took, load);
	buf_addf(&t->rep->r[C].json, "{\"ok\":%s,\"answer\":\"%s\",\"seconds\":%.3f,"
		 "\"load_s\":%.3f}", ok ? "true" : "false", ok ? "200" : cls, took, load);
	if (ok)
		rt_result(t, C, ROUTE_PASS, "a cold request completed through the balancer in %.2fs "
			  "(load %.2fs on %s)", took, load, who);
	else
		rt_result(t, C, ROUTE_FAIL, "a cold request got %s after %.2fs through the balancer; "
			  "a cold load takes %.2fs on the instance: the proxy's read timeout is "
			  "shorter than a load", cls, took, load);
	preload(t, had);
	free(had);
}
