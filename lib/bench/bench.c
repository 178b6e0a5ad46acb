/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The bench engine: closed- and open-loop steps on the event loop, per-request metrics. */
#include "../compat.h"
#include "bench.h"

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../http/http.h"
#include "../ollama/ollama.h"
#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

#define TICK_NS 10000000LL     /* loop-lag probe period */
#define PROGRESS_NS 200000000LL
#define RAMP_BATCH 64           /* closed-loop streams started per loop turn */

static const char *const err_names[BENCH_E_N] = {
	"refused", "connect", "timeout", "http", "shed", "stream", "truncated", "malformed",
	"stall", "other",
};

static const char *const hist_names[BH_N] = {
	"ttft", "itl", "tpot", "e2e", "ttft_raw", "e2e_raw", "load", "prompt_eval", "eval",
	"queue", "server_ttft", "cold_ttft", "send_lag", "loop_lag", "tpot_vllm", "connect",
	"first_ttft", "later_ttft",
};

static const char *const lag_names[BENCH_LAG_N] = {
	"wake", "reads", "completions", "timers", "sends", "progress", "other",
};

const char *bench_lag_cause_name(enum bench_lag_cause c)
{
	return (unsigned)c < BENCH_LAG_N ? lag_names[c] : "other";
}

/* The caller's phases in the engine's phase log. */
enum { PH_SENDS = HTTP_PH_USER, PH_PROGRESS, PH_OTHER };

const char *bench_err_name(enum bench_err e)
{
	return (unsigned)e < BENCH_E_N ? err_names[e] : "other";
}

const char *bench_hist_name(enum bench_hist h)
{
	return (unsigned)h < BH_N ? hist_names[h] : "?";
}

const char *bench_mode_name(enum bench_mode m)
{
	return m == BENCH_OPEN ? "open" : "closed";
}

static const char *const api_names[] = { "generate", "chat", "openai", "endpoint" };
static const char *const ep_names[] = { "root", "version", "tags", "ps" };

const char *bench_api_name(enum bench_api a)
{
	return (unsigned)a < ARRAY_SIZE(api_names) ? api_names[a] : "?";
}

const char *bench_endpoint_name(enum bench_endpoint e)
{
	return (unsigned)e < ARRAY_SIZE(ep_names) ? ep_names[e] : "?";
}

int bench_api_parse(const char *s, enum bench_api *a)
{
	for (size_t i = 0; i < 3; i++)
		if (!strcmp(s, api_names[i])) {
			*a = (enum bench_api)i;
			return 0;
		}
	return -1;
}

int bench_endpoint_parse(const char *s, enum bench_endpoint *e)
{
	for (size_t i = 0; i < ARRAY_SIZE(ep_names); i++)
		if (!strcmp(s, ep_names[i])) {
			*e = (enum bench_endpoint)i;
			return 0;
		}
	return -1;
}

const char *bench_path(const struct bench_cfg *cfg)
{
	switch (cfg->api) {
	case BENCH_API_CHAT:
		return "/api/chat";
	case BENCH_API_OPENAI:
		return "/v1/chat/completions";
	case BENCH_API_ENDPOINT:
		switch (cfg->endpoint) {
		case BENCH_EP_ROOT:
			return "/";
		case BENCH_EP_TAGS:
			return "/api/tags";
		case BENCH_EP_PS:
			return "/api/ps";
		default:
			return "/api/version";
		}
	default:
		return "/api/generate";
	}
}

/* ---- accumulators ---- */

struct bench_acc *bench_acc_new(void)
{
	struct bench_acc *a = xmalloc(sizeof(*a));
	bench_acc_reset(a);
	return a;
}

void bench_acc_reset(struct bench_acc *a)
{
	for (int i = 0; i < BH_N; i++)
		hist_init(&a->h[i]);
	a->sent = a->ok = a->cold = a->output_tokens = a->prompt_tokens = 0;
	a->chunks = a->bytes = a->delayed = 0;
	memset(a->err, 0, sizeof(a->err));
	memset(a->msg, 0, sizeof(a->msg));
	a->max_gap_ns = 0;
	a->t_start = a->t_end = 0;
	a->cpu_s = 0;
	memset(a->lag_ns, 0, sizeof(a->lag_ns));
	memset(a->late_lag_ns, 0, sizeof(a->late_lag_ns));
	a->gaps = a->coalesced = a->conns = 0;
}

void bench_acc_merge(struct bench_acc *d, const struct bench_acc *s)
{
	for (int i = 0; i < BH_N; i++)
		hist_merge(&d->h[i], &s->h[i]);
	d->sent += s->sent;
	d->ok += s->ok;
	for (int i = 0; i < BENCH_E_N; i++) {
		d->err[i] += s->err[i];
		if (!d->msg[i][0] && s->msg[i][0])
			memcpy(d->msg[i], s->msg[i], sizeof(d->msg[i]));
	}
	d->cold += s->cold;
	d->output_tokens += s->output_tokens;
	d->prompt_tokens += s->prompt_tokens;
	d->chunks += s->chunks;
	d->bytes += s->bytes;
	d->delayed += s->delayed;
	if (s->max_gap_ns > d->max_gap_ns)
		d->max_gap_ns = s->max_gap_ns;
	if (s->t_start && (!d->t_start || s->t_start < d->t_start))
		d->t_start = s->t_start;
	if (s->t_end > d->t_end)
		d->t_end = s->t_end;
	if (s->cpu_s > d->cpu_s)
		d->cpu_s = s->cpu_s; /* one process: the same CPU time, not a sum */
	for (int i = 0; i < BENCH_LAG_N; i++) {
		d->lag_ns[i] += s->lag_ns[i];
		d->late_lag_ns[i] += s->late_lag_ns[i];
	}
	d->gaps += s->gaps;
	d->coalesced += s->coalesced;
	d->conns += s->conns;
}

/* ---- ITL ---- */

uint64_t bench_itl_record(struct hist *h, const int64_t *gaps, size_t ngaps, int64_t tokens)
{
	if (!ngaps)
		return 0;
	if (tokens - 1 <= (int64_t)ngaps) {
		for (size_t i = 0; i < ngaps; i++)
			hist_record(h, gaps[i]);
		return ngaps;
	}
	/* Gap i carries share_i = floor((i+1) R) - floor(i R) tokens, R = (tokens-1)/ngaps. */
	uint64_t total = (uint64_t)(tokens - 1), n = 0, prev = 0;
	for (size_t i = 0; i < ngaps; i++) {
		uint64_t upto = (uint64_t)(((unsigned __int128)(i + 1) * total) / ngaps);
		uint64_t share = upto - prev;
		prev = upto;
		if (!share)
			continue;
		hist_record_n(h, gaps[i] / (int64_t)share, share);
		n += share;
	}
	return n;
}

/* ---- levels ---- */

static int parse_num(const char *s, const char *end, double *v)
{
	char tmp[64];
	size_t l = (size_t)(end - s);
	if (!l || l >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, l);
	tmp[l] = '\0';
	char *e;
	*v = strtod(tmp, &e);
	return *e || !isfinite(*v) ? -1 : 0;
}

int bench_levels_parse(const char *s, int integral, double *out, size_t max_n, char *err)
{
	size_t n = 0;
	const char *dots = strstr(s, "..");
	if (dots) {
		double lo, hi, f = 2, step = 0;
		const char *rest = dots + 2, *op = rest + strcspn(rest, "x+");
		if (parse_num(s, dots, &lo) || parse_num(rest, op, &hi))
			return seterr(err, "bad range '%s' (expected A..B, A..BxF or A..B+S)", s);
		if (*op == 'x') {
			if (parse_num(op + 1, op + 1 + strlen(op + 1), &f) || f <= 1)
				return seterr(err, "bad factor in '%s' (must be > 1)", s);
		} else if (*op == '+') {
			if (parse_num(op + 1, op + 1 + strlen(op + 1), &step) || step <= 0)
				return seterr(err, "bad step in '%s' (must be > 0)", s);
		}
		if (lo <= 0 || hi < lo)
			return seterr(err, "bad range '%s' (need 0 < A <= B)", s);
		for (double v = lo; v <= hi * (1 + 1e-9); v = step > 0 ? v + step : v * f) {
			if (n == max_n)
				return seterr(err, "too many levels in '%s' (at most %zu)", s, max_n);
			double x = integral ? floor(v + 1e-9) : v;
			if (n && x <= out[n - 1])
				continue;
			out[n++] = x;
		}
		/* The range ends where the factor lands: "1..20x2" is 1 2 4 8 16. */
	} else {
		const char *p = s;
		while (*p) {
			const char *e = p + strcspn(p, ",");
			double v;
			if (parse_num(p, e, &v) || v <= 0)
				return seterr(err, "bad level '%.*s' in '%s' (must be a number > 0)",
					      (int)(e - p), p, s);
			if (n == max_n)
				return seterr(err, "too many levels in '%s' (at most %zu)", s, max_n);
			if (n && v <= out[n - 1])
				return seterr(err, "levels must increase: '%s'", s);
			out[n++] = v;
			p = *e ? e + 1 : e;
		}
	}
	if (!n)
		return seterr(err, "no levels in '%s'", s);
	for (size_t i = 0; i < n; i++)
		if (integral && (out[i] != floor(out[i]) || out[i] < 1))
			return seterr(err, "concurrency must be a whole number >= 1 in '%s'", s);
	return (int)n;
}

/* ---- the engine ---- */

struct breq {
	struct bench *b;
	size_t target;
	uint64_t seq;
	unsigned gen;
	int64_t planned;   /* 0 in closed loop: the send time */
	int64_t sent;
	int64_t last_tok;
	int64_t *gaps;
	size_t ngaps, cap;
	size_t ncoal;      /* gaps of 0: the line came in the same read as the one before */
	int first;         /* closed loop: started with the step (its first wave) */
	int64_t max_gap;
};

struct bench {
	struct http_engine *e;
	const struct bench_cfg *cfg;
	struct bench_acc *const *acc; /* current step's, per target */
	struct bench_acc *scratch;    /* warm-up and calibration go here */
	struct breq **free_list;
	size_t nfree, free_cap;
	size_t active;
	size_t *active_t;             /* per target */
	uint64_t *sent_t;
	char **ep_urls;               /* per target, endpoint mode */
	struct buf body;
	uint64_t seq;
	unsigned gen;
	int running;                  /* closed loop: completions send the next request */
	int stopping;                 /* no more sends */
	int64_t deadline;             /* mono ns; 0 = none */
	uint64_t limit;               /* requests per target; 0 = none */
	size_t conc;                  /* closed loop streams per target */
	int measure;                  /* record into acc (0 during warm-up) */
	int ramp;                     /* closed loop: the sends that start a step */
	int64_t step_t0;
	/* calibration */
	int64_t probe_count;
	char lasterr[512];
	uint64_t nfinal;              /* failures no retry can fix (see final_failure) */
};

struct bench *bench_new(struct http_engine *e, const struct bench_cfg *cfg)
{
	struct bench *b = xcalloc(1, sizeof(*b));
	b->e = e;
	b->cfg = cfg;
	size_t nt = cfg->ntargets ? cfg->ntargets : 1;
	b->active_t = xcalloc(nt, sizeof(size_t));
	b->sent_t = xcalloc(nt, sizeof(uint64_t));
	b->ep_urls = xcalloc(nt, sizeof(char *));
	for (size_t i = 0; i < cfg->ntargets; i++) {
		const char *u = cfg->targets[i].url;
		size_t l = strlen(u);
		while (l && u[l - 1] == '/')
			l--;
		b->ep_urls[i] = xasprintf("%.*s%s", (int)l, u, bench_path(cfg));
	}
	buf_init(&b->body, 0);
	b->scratch = bench_acc_new();
	return b;
}

void bench_free(struct bench *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nfree; i++) {
		free(b->free_list[i]->gaps);
		free(b->free_list[i]);
	}
	free(b->free_list);
	for (size_t i = 0; i < b->cfg->ntargets; i++)
		free(b->ep_urls[i]);
	free(b->ep_urls);
	free(b->active_t);
	free(b->sent_t);
	buf_release(&b->body);
	free(b->scratch);
	free(b);
}

static struct breq *req_get(struct bench *b)
{
	struct breq *r;
	if (b->nfree) {
		r = b->free_list[--b->nfree];
	} else {
		r = xcalloc(1, sizeof(*r));
		r->b = b;
	}
	r->ngaps = 0;
	r->ncoal = 0;
	r->last_tok = 0;
	r->max_gap = 0;
	return r;
}

static void req_put(struct bench *b, struct breq *r)
{
	if (b->nfree == b->free_cap) {
		b->free_cap = b->free_cap ? b->free_cap * 2 : 64;
		b->free_list = xrealloc(b->free_list, b->free_cap * sizeof(*b->free_list));
	}
	/* Keep gap arrays small between requests: a long answer's buffer is not pooled. */
	if (r->cap > 4096) {
		free(r->gaps);
		r->gaps = NULL;
		r->cap = 0;
	}
	b->free_list[b->nfree++] = r;
}

static struct bench_acc *acc_of(struct bench *b, size_t t)
{
	return b->measure && b->acc ? b->acc[t] : b->scratch;
}

static void set_msg(struct bench_acc *a, enum bench_err c, const char *msg)
{
	if (!a->msg[c][0] && msg && *msg)
		text_sanitize(a->msg[c], sizeof(a->msg[c]), msg);
}

static enum bench_err map_err(enum ollama_err e)
{
	switch (e) {
	case OLLAMA_E_REFUSED:
		return BENCH_E_REFUSED;
	case OLLAMA_E_DNS:
	case OLLAMA_E_TLS:
	case OLLAMA_E_CONNECT:
		return BENCH_E_CONNECT;
	case OLLAMA_E_TIMEOUT:
		return BENCH_E_TIMEOUT;
	case OLLAMA_E_STALL:
		return BENCH_E_STALL;
	case OLLAMA_E_HTTP:
		return BENCH_E_HTTP;
	case OLLAMA_E_BUSY:
		return BENCH_E_SHED;
	case OLLAMA_E_STREAM:
		return BENCH_E_STREAM;
	case OLLAMA_E_TRUNCATED:
		return BENCH_E_TRUNCATED;
	case OLLAMA_E_MALFORMED:
	case OLLAMA_E_TOO_BIG:
		return BENCH_E_MALFORMED;
	default:
		return BENCH_E_OTHER;
	}
}

/*
 * A failure that more requests will only repeat: nothing listening, no such host, a
 * TLS failure, or a 4xx answer (no such model, a bad request, refused credentials);
 * 408 and 429 excepted. 503s, 500s and timeouts may pass, and benching them can be
 * the point.
 */
static int final_failure(enum ollama_err oe, const struct http_response *resp)
{
	if (oe == OLLAMA_E_REFUSED || oe == OLLAMA_E_DNS || oe == OLLAMA_E_TLS)
		return 1;
	long st = resp ? resp->status : 0;
	return oe == OLLAMA_E_HTTP && st >= 400 && st < 500 && st != 408 && st != 429;
}

static int can_send(struct bench *b, size_t t);
static int send_one(struct bench *b, size_t t, int64_t planned);

/* After a request ends: pool it, and in closed loop start the next one. */
static void finish(struct bench *b, struct breq *r)
{
	size_t t = r->target;
	unsigned gen = r->gen;
	b->active--;
	b->active_t[t]--;
	req_put(b, r);
	if (b->running && gen == b->gen && !b->stopping && can_send(b, t))
		send_one(b, t, 0);
}

static void emit_sample(struct bench *b, const struct breq *r, int err, const char *msg,
			int64_t ttft, int64_t e2e, int64_t tpot, int64_t load, int64_t queue,
			int64_t tokens, int64_t ptokens, int cold)
{
	if (!b->cfg->sample || !b->measure)
		return;
	struct bench_sample s = { 0 };
	s.target = r->target;
	s.t_ns = (r->planned ? r->planned : r->sent) - b->step_t0;
	s.ttft_ns = ttft;
	s.e2e_ns = e2e;
	s.tpot_ns = tpot;
	s.load_ns = load;
	s.queue_ns = queue;
	s.tokens = tokens;
	s.prompt_tokens = ptokens;
	s.cold = cold;
	s.err = err;
	s.msg = msg ? msg : "";
	b->cfg->sample(b->cfg->ud, &s);
}

/*
 * Connection set-up of a request that opened its connection (0 for a reused one): kept
 * out of TTFT and E2E and counted apart, like curl's time_connect.
 */
static int64_t conn_setup(struct bench_acc *a, const struct http_response *resp)
{
	if (resp->reused || resp->t.connected <= resp->t.sent)
		return 0;
	int64_t d = resp->t.connected - resp->t.sent;
	a->conns++;
	hist_record(&a->h[BH_CONNECT], d);
	return d;
}

/*
 * When the request went out: the moment libcurl had its connection ready and wrote it.
 * A closed loop measures from there, so neither a burst of sends queued in the client
 * (a step's first wave) nor connection set-up counts as the server's latency.
 */
static int64_t req_sent(const struct breq *r, const struct http_response *resp, int64_t conn)
{
	return resp->t.wire >= r->sent ? resp->t.wire : r->sent + conn;
}

static int on_stream_line(void *ud, const struct ollama_stream *s, int is_token, int64_t t)
{
	struct breq *r = ud;
	(void)s;
	if (!is_token)
		return 0;
	if (r->last_tok) {
		int64_t g = t - r->last_tok;
		if (r->ngaps == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 64;
			r->gaps = xrealloc(r->gaps, r->cap * sizeof(int64_t));
		}
		r->gaps[r->ngaps++] = g;
		r->ncoal += g == 0;
		if (g > r->max_gap)
			r->max_gap = g;
	}
	r->last_tok = t;
	return 0;
}

static void on_stream_done(void *ud, const struct ollama_stream *s, enum ollama_err oe,
			   const char *msg, const struct http_response *resp)
{
	struct breq *r = ud;
	struct bench *b = r->b;
	if (r->gen != b->gen) {
		finish(b, r);
		return;
	}
	struct bench_acc *a = acc_of(b, r->target);
	const struct bench_cfg *cfg = b->cfg;
	int64_t conn = conn_setup(a, resp);
	int64_t sent = req_sent(r, resp, conn);
	int64_t start = r->planned ? r->planned + conn : sent;
	if (r->planned) /* open loop: how late the request went out */
		hist_record(&a->h[BH_SEND_LAG], sent - conn > r->planned ? sent - conn - r->planned : 0);
	int64_t end = resp->t.end ? resp->t.end : mono_ns();
	if (end > a->t_end)
		a->t_end = end;
	a->chunks += (uint64_t)s->nchunks;
	a->bytes += resp->bytes;
	if (oe == OLLAMA_E_ABORTED && b->stopping) {
		finish(b, r); /* interrupted: not counted */
		return;
	}
	int64_t tokens = s->eval_count;
	int64_t ptokens = s->prompt_eval_count;
	if (s->has_usage) {
		tokens = s->completion_tokens;
		ptokens = s->prompt_tokens;
	}
	if (tokens <= 0)
		tokens = s->ntokens;
	if (r->max_gap > a->max_gap_ns)
		a->max_gap_ns = r->max_gap;
	if (oe != OLLAMA_OK) {
		enum bench_err c = map_err(oe);
		a->err[c]++;
		set_msg(a, c, msg);
		snprintf(b->lasterr, sizeof(b->lasterr), "%s", msg);
		b->nfinal += (uint64_t)final_failure(oe, resp);
		emit_sample(b, r, c, msg, 0, end - start, 0, 0, 0, 0, 0, 0);
		finish(b, r);
		return;
	}
	if (cfg->stall_ns > 0 && r->max_gap >= cfg->stall_ns) {
		char m[96], d[32];
		snprintf(m, sizeof(m), "a gap of %s between tokens",
			 units_fmt_duration(r->max_gap, d, sizeof(d)));
		a->err[BENCH_E_STALL]++;
		set_msg(a, BENCH_E_STALL, m);
		emit_sample(b, r, BENCH_E_STALL, m, s->first_token_ns ? s->first_token_ns - start : 0,
			    end - start, 0, 0, 0, tokens, ptokens, 0);
		finish(b, r);
		return;
	}
	a->ok++;
	b->probe_count = ptokens;
	a->output_tokens += (uint64_t)(tokens > 0 ? tokens : 0);
	a->prompt_tokens += (uint64_t)(ptokens > 0 ? ptokens : 0);
	int cold = cfg->cold_ns > 0 && s->load_duration >= cfg->cold_ns;
	int64_t ttft = s->first_token_ns ? s->first_token_ns - start : 0;
	int64_t tpot = 0;
	if (s->first_token_ns) {
		if (cold) {
			a->cold++;
			hist_record(&a->h[BH_COLD_TTFT], ttft);
		} else {
			hist_record(&a->h[BH_TTFT], ttft);
			if (!r->planned)
				hist_record(&a->h[r->first ? BH_FIRST_TTFT : BH_LATER_TTFT], ttft);
			if (r->planned)
				hist_record(&a->h[BH_TTFT_RAW], s->first_token_ns - sent);
		}
	} else if (cold) {
		a->cold++;
	}
	if (!cold) {
		hist_record(&a->h[BH_E2E], end - start);
		if (r->planned)
			hist_record(&a->h[BH_E2E_RAW], end - sent);
	}
	bench_itl_record(&a->h[BH_ITL], r->gaps, r->ngaps, tokens);
	a->gaps += r->ngaps;
	a->coalesced += r->ncoal;
	if (tokens > 1 && r->ngaps > 0 && s->last_token_ns > s->first_token_ns) {
		tpot = (s->last_token_ns - s->first_token_ns) / (tokens - 1);
		hist_record(&a->h[BH_TPOT], tpot);
		if (!cold) /* vLLM's, to put beside theirs: the tail after the last token too */
			hist_record(&a->h[BH_TPOT_VLLM], (end - start - ttft) / (tokens - 1));
	}
	int64_t queue = 0;
	if (s->total_duration > 0) {
		hist_record(&a->h[BH_LOAD], s->load_duration);
		hist_record(&a->h[BH_PROMPT_EVAL], s->prompt_eval_duration);
		hist_record(&a->h[BH_EVAL], s->eval_duration);
		queue = s->total_duration - s->load_duration - s->prompt_eval_duration -
			s->eval_duration;
		if (queue < 0)
			queue = 0;
		hist_record(&a->h[BH_QUEUE], queue);
		int64_t st = s->total_duration - s->eval_duration;
		if (st > 0 && !cold)
			hist_record(&a->h[BH_SERVER_TTFT], st);
	}
	emit_sample(b, r, -1, "", ttft, end - start, tpot, s->load_duration, queue, tokens,
		    ptokens, cold);
	finish(b, r);
}

static void on_get_done(void *ud, const struct http_response *resp)
{
	struct breq *r = ud;
	struct bench *b = r->b;
	if (r->gen != b->gen) {
		finish(b, r);
		return;
	}
	struct bench_acc *a = acc_of(b, r->target);
	int64_t conn = conn_setup(a, resp);
	int64_t sent = req_sent(r, resp, conn);
	int64_t start = r->planned ? r->planned + conn : sent;
	if (r->planned) /* open loop: how late the request went out */
		hist_record(&a->h[BH_SEND_LAG], sent - conn > r->planned ? sent - conn - r->planned : 0);
	int64_t end = resp->t.end ? resp->t.end : mono_ns();
	if (end > a->t_end)
		a->t_end = end;
	a->bytes += resp->bytes;
	char msg[512];
	enum ollama_err oe = ollama_classify(resp, NULL, msg, sizeof(msg));
	if (oe == OLLAMA_E_ABORTED && b->stopping) {
		finish(b, r);
		return;
	}
	if (oe != OLLAMA_OK) {
		enum bench_err c = map_err(oe);
		a->err[c]++;
		set_msg(a, c, msg);
		snprintf(b->lasterr, sizeof(b->lasterr), "%s", msg);
		b->nfinal += (uint64_t)final_failure(oe, resp);
		emit_sample(b, r, c, msg, 0, end - start, 0, 0, 0, 0, 0, 0);
		finish(b, r);
		return;
	}
	a->ok++;
	hist_record(&a->h[BH_E2E], end - start);
	if (resp->t.first_byte)
		hist_record(&a->h[BH_TTFT], resp->t.first_byte - start);
	if (r->planned)
		hist_record(&a->h[BH_E2E_RAW], end - sent);
	emit_sample(b, r, -1, "", 0, end - start, 0, 0, 0, 0, 0, 0);
	finish(b, r);
}

static int can_send(struct bench *b, size_t t)
{
	if (b->stopping)
		return 0;
	if (b->limit)
		return b->sent_t[t] < b->limit;
	return !b->deadline || mono_ns() < b->deadline;
}

static int send_one(struct bench *b, size_t t, int64_t planned)
{
	const struct bench_cfg *cfg = b->cfg;
	struct breq *r = req_get(b);
	struct bench_acc *a = acc_of(b, t);
	char err[ERR_MAX];
	long id;
	r->target = t;
	r->seq = b->seq++;
	r->gen = b->gen;
	r->planned = planned;
	r->first = b->ramp;
	r->sent = mono_ns();
	if (cfg->api == BENCH_API_ENDPOINT) {
		struct http_req h;
		memset(&h, 0, sizeof(h));
		h.method = "GET";
		h.url = b->ep_urls[t];
		h.timeout_ns = cfg->timeout_ns;
		h.start_at = planned;
		h.max_body = 4u << 20;
		h.on_done = on_get_done;
		h.ud = r;
		id = http_submit(b->e, &h, err);
	} else {
		const struct bench_prompt *p = &cfg->prompts->p[r->seq % cfg->prompts->n];
		buf_reset(&b->body);
		bench_build_body(cfg, p, r->seq, &b->body);
		struct ollama_stream_req sr;
		memset(&sr, 0, sizeof(sr));
		sr.base_url = cfg->targets[t].url;
		sr.path = bench_path(cfg);
		sr.body = buf_str(&b->body);
		sr.wire = cfg->api == BENCH_API_OPENAI ? OLLAMA_WIRE_OPENAI : OLLAMA_WIRE_NATIVE;
		sr.timeout_ns = cfg->timeout_ns;
		sr.stall_ns = cfg->stall_ns;
		sr.start_at = planned;
		sr.on_line = on_stream_line;
		sr.on_done = on_stream_done;
		sr.ud = r;
		id = ollama_stream_submit(b->e, &sr, err);
	}
	b->sent_t[t]++;
	a->sent++;
	if (id < 0) {
		a->err[BENCH_E_OTHER]++;
		set_msg(a, BENCH_E_OTHER, err);
		snprintf(b->lasterr, sizeof(b->lasterr), "%s", err);
		req_put(b, r);
		return -1;
	}
	b->active++;
	b->active_t[t]++;
	return 0;
}

static double cpu_now(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void report_progress(struct bench *b, double level, int64_t now)
{
	const struct bench_cfg *cfg = b->cfg;
	if (!cfg->progress || !b->acc)
		return;
	struct bench_progress p = { 0 };
	p.level = level;
	p.in_flight = b->active;
	p.elapsed_ns = now - b->step_t0;
	p.duration_ns = cfg->duration_ns;
	p.total = cfg->requests * cfg->ntargets;
	const struct hist *h = NULL;
	for (size_t t = 0; t < cfg->ntargets; t++) {
		const struct bench_acc *a = b->acc[t];
		p.done += a->ok + a->err[BENCH_E_SHED];
		for (int i = 0; i < BENCH_E_N; i++)
			if (i == BENCH_E_SHED)
				p.shed += a->err[i];
			else
				p.errors += a->err[i];
		if (!h)
			h = &a->h[cfg->api == BENCH_API_ENDPOINT ? BH_E2E : BH_TTFT];
	}
	p.done += p.errors;
	p.p95_ns = h ? hist_percentile(h, 95) : 0;
	cfg->progress(cfg->ud, &p);
}

/* The lag cause of an engine or bench phase. */
static enum bench_lag_cause phase_cause(int ph)
{
	switch (ph) {
	case HTTP_PH_WAIT:
		return BENCH_LAG_WAKE;
	case HTTP_PH_READ:
		return BENCH_LAG_READS;
	case HTTP_PH_DONE:
		return BENCH_LAG_COMPLETIONS;
	case HTTP_PH_TIMER:
		return BENCH_LAG_TIMERS;
	case PH_SENDS:
		return BENCH_LAG_SENDS;
	case PH_PROGRESS:
		return BENCH_LAG_PROGRESS;
	default:
		return BENCH_LAG_OTHER;
	}
}

/*
 * A probe due at `due` was noticed at `now`: split the lag over the phases the loop was
 * in meanwhile (the engine's phase log covers the time since the last check).
 */
static void lag_attribute(struct bench *b, int64_t due, int64_t now, int64_t lag)
{
	const struct http_phase_log *l = http_phases(b->e);
	int64_t part[BENCH_LAG_N] = { 0 };
	for (size_t i = 0; i < l->n; i++) {
		int64_t from = l->t[i] > due ? l->t[i] : due;
		int64_t to = i + 1 < l->n ? l->t[i + 1] : now;
		if (to > from)
			part[phase_cause(l->ph[i])] += to - from;
	}
	/* The lag less any epoll rounding: scale the parts down to it. */
	int64_t sum = 0;
	for (int c = 0; c < BENCH_LAG_N; c++)
		sum += part[c];
	for (size_t t = 0; t < b->cfg->ntargets; t++) {
		struct bench_acc *a = b->acc[t];
		for (int c = 0; c < BENCH_LAG_N; c++) {
			int64_t v = sum > 0 ? (int64_t)((double)part[c] * lag / sum) : 0;
			a->lag_ns[c] += v;
			if (lag > BENCH_LAG_LATE_NS)
				a->late_lag_ns[c] += v;
		}
		hist_record(&a->h[BH_LOOP_LAG], lag);
	}
}

/*
 * Wait for the network until wake_at (an arrival) or the next loop-lag tick, then note
 * how late the loop noticed the tick, and what it was doing meanwhile. Waits are to the
 * nanosecond where the kernel has epoll_pwait2; elsewhere epoll rounds up to whole ms,
 * so an arrival spins its last sub-millisecond and the tick's lag leaves the rounding out.
 */
static void loop_once(struct bench *b, int64_t wake_at, int64_t *tick)
{
	int64_t now = mono_ns();
	int arrival = wake_at < *tick;
	int64_t until = arrival ? wake_at : *tick;
	int64_t wait = until - now;
	if (wait < 0)
		wait = 0;
	int64_t slack = 0;
	if (!http_precise_wait(b->e)) {
		if (arrival)
			wait = wait / 1000000 * 1000000;
		else
			slack = (wait + 999999) / 1000000 * 1000000 - wait;
	}
	http_poll(b->e, wait, -1, NULL);
	now = mono_ns();
	if (now >= *tick) {
		int64_t lag = now - *tick - slack;
		if (lag < 0)
			lag = 0;
		if (b->acc && b->measure)
			lag_attribute(b, *tick, now, lag);
		*tick = now + TICK_NS;
	}
	http_phases_clear(b->e, PH_OTHER, now);
}

/* t0 + off without overflow: a rate of 1e-12/s puts the next arrival past INT64_MAX. */
static int64_t sat_add(int64_t t0, int64_t off)
{
	return off > INT64_MAX - t0 ? INT64_MAX : t0 + off;
}

/* Drive one closed-loop or open-loop phase until every request ended. */
static int drive(struct bench *b, double level, int open)
{
	const struct bench_cfg *cfg = b->cfg;
	int interrupted = 0;
	int64_t t0 = b->step_t0;
	int64_t tick = t0 + TICK_NS, next_progress = t0 + PROGRESS_NS;
	struct arrival arr[64];
	int64_t next[64];
	size_t nt = cfg->ntargets;
	if (open) {
		for (size_t t = 0; t < nt && t < 64; t++) {
			char err[ERR_MAX];
			double lk = level * 1000;
			arrival_init(&arr[t], cfg->arrival, level, cfg->burst,
				     cfg->seed + (lk > 0 && lk < 1e18 ? (uint64_t)lk : 0) + t, err);
			next[t] = sat_add(t0, arrival_next(&arr[t]));
		}
	}
	/* Closed loop: open the streams in batches, so the loop keeps reading the first
	 * answers while thousands of connections are being set up. */
	size_t c = open ? 0 : (size_t)level, started = 0;
	size_t cap = cfg->max_in_flight ? cfg->max_in_flight : 10000;
	http_phases_enable(b->e, 1);
	http_phases_clear(b->e, PH_OTHER, 0);
	for (;;) {
		if (started < c) {
			http_mark(b->e, PH_SENDS, 0);
			size_t upto = started + RAMP_BATCH < c ? started + RAMP_BATCH : c;
			b->ramp = 1;
			for (; started < upto; started++)
				for (size_t t = 0; t < nt; t++)
					if (!b->stopping && can_send(b, t))
						send_one(b, t, 0);
			b->ramp = 0;
		}
		if (cfg->stop && *cfg->stop && !interrupted) {
			interrupted = 1;
			b->stopping = 1;
			http_cancel_all(b->e);
		}
		int64_t now = mono_ns();
		int64_t wake = now + TICK_NS;
		int pending = 0;
		if (open && !b->stopping) {
			for (size_t t = 0; t < nt && t < 64; t++) {
				if (next[t] <= now)
					http_mark(b->e, PH_SENDS, now);
				while (next[t] <= now && can_send(b, t)) {
					if (b->active_t[t] >= cap) {
						if (b->measure && b->acc)
							b->acc[t]->delayed++;
						break;
					}
					send_one(b, t, next[t]);
					next[t] = sat_add(t0, arrival_next(&arr[t]));
				}
				if (b->deadline && next[t] >= b->deadline && !b->limit)
					continue;
				if (can_send(b, t)) {
					pending = 1;
					if (next[t] < wake)
						wake = next[t];
				}
			}
		}
		if (!b->active && !pending && (started >= c || b->stopping))
			break;
		if (!open && b->deadline && now >= b->deadline)
			b->stopping = 1;
		loop_once(b, wake, &tick);
		now = mono_ns();
		if (now >= next_progress) {
			http_mark(b->e, PH_PROGRESS, now);
			report_progress(b, level, now);
			next_progress = now + PROGRESS_NS;
			http_mark(b->e, PH_OTHER, 0);
		}
	}
	http_phases_enable(b->e, 0);
	return interrupted;
}

struct warm {
	size_t left;
};

static void on_warm_done(void *ud, const struct http_response *resp)
{
	(void)resp;
	((struct warm *)ud)->left--;
}

/*
 * Open n connections per target before a closed-loop step, so that its requests find
 * them ready: connection set-up, and a server's accept backlog of a burst of new
 * connections, stay out of the measured window. Each wave sends the missing number of
 * cheap GETs, each on a new connection that then waits in the pool; at most three waves,
 * fewer when the engine holds enough or a wave opened nothing (an unreachable target, or
 * a server that closes idle connections: the step reports it).
 */
static void prewarm(struct bench *b, size_t n)
{
	const struct bench_cfg *cfg = b->cfg;
	size_t want = n * cfg->ntargets;
	long budget = http_fd_budget(NULL);
	if (want > (size_t)budget)
		want = (size_t)budget;
	for (int wave = 0; wave < 3 && http_conns(b->e) < want; wave++) {
		size_t before = http_conns(b->e);
		/* per target: what is missing, shared out (the pool is one for all targets) */
		size_t more = (want - before + cfg->ntargets - 1) / cfg->ntargets;
		struct warm w = { 0 };
		for (size_t t = 0; t < cfg->ntargets; t++) {
			const char *u = cfg->targets[t].url;
			size_t l = strlen(u);
			while (l && u[l - 1] == '/')
				l--;
			char *url = cfg->api == BENCH_API_ENDPOINT ? NULL :
				    xasprintf("%.*s/api/version", (int)l, u);
			for (size_t i = 0; i < more; i++) {
				struct http_req h;
				char err[ERR_MAX];
				memset(&h, 0, sizeof(h));
				h.fresh_connect = 1;
				h.url = url ? url : b->ep_urls[t];
				h.timeout_ns = 3000000000LL; /* a version GET: more is a sick server */
				h.max_body = 1u << 20;
				h.on_done = on_warm_done;
				h.ud = &w;
				if (http_submit(b->e, &h, err) > 0)
					w.left++;
			}
			free(url);
		}
		while (w.left) {
			if (cfg->stop && *cfg->stop) {
				http_cancel_all(b->e);
				return;
			}
			http_poll(b->e, 100000000LL, -1, NULL);
		}
		if (http_conns(b->e) <= before)
			break;
	}
	/* The warm-up's transfers are gone: hand their freed pages back, or the step's
	 * transfers, laid out anew, add to them (some 4 KB per stream at 10,000 streams). */
	malloc_trim(0);
}

int bench_step(struct bench *b, double level, struct bench_acc *const *acc, char *err)
{
	const struct bench_cfg *cfg = b->cfg;
	if (!cfg->ntargets)
		return seterr(err, "no target");
	if (cfg->mode == BENCH_OPEN && cfg->ntargets > 64)
		return seterr(err, "at most 64 targets in open loop");
	for (size_t t = 0; t < cfg->ntargets; t++) {
		bench_acc_reset(acc[t]);
		b->sent_t[t] = 0;
	}
	if (cfg->mode == BENCH_CLOSED && !cfg->cold_conns)
		prewarm(b, (size_t)level);
	b->acc = acc;
	b->measure = 1;
	b->gen++;
	b->stopping = 0;
	b->running = cfg->mode == BENCH_CLOSED;
	b->limit = cfg->requests;
	b->step_t0 = mono_ns();
	b->deadline = cfg->duration_ns && !cfg->requests ? b->step_t0 + cfg->duration_ns : 0;
	if (!cfg->duration_ns && !cfg->requests)
		b->limit = 100;
	double cpu0 = cpu_now();
	for (size_t t = 0; t < cfg->ntargets; t++)
		acc[t]->t_start = b->step_t0;
	int r = drive(b, level, cfg->mode == BENCH_OPEN);
	double cpu = cpu_now() - cpu0;
	int64_t end = mono_ns();
	for (size_t t = 0; t < cfg->ntargets; t++) {
		acc[t]->cpu_s = cpu;
		if (!acc[t]->t_end || r)
			acc[t]->t_end = end;
		/* The window is the whole step when it is timed (drain included). */
		if (acc[t]->t_end < acc[t]->t_start + 1)
			acc[t]->t_end = acc[t]->t_start + 1;
	}
	b->running = 0;
	report_progress(b, level, end);
	b->acc = NULL;
	return r;
}

int bench_warmup(struct bench *b, int n, int conc, char *err)
{
	const struct bench_cfg *cfg = b->cfg;
	if (n <= 0)
		return 0;
	bench_acc_reset(b->scratch);
	for (size_t t = 0; t < cfg->ntargets; t++)
		b->sent_t[t] = 0;
	b->acc = NULL;
	b->measure = 0;
	b->gen++;
	b->stopping = 0;
	b->running = 1;
	b->limit = (uint64_t)n;
	b->deadline = 0;
	b->step_t0 = mono_ns();
	b->lasterr[0] = '\0';
	b->nfinal = 0;
	int r = drive(b, conc < 1 ? 1 : conc, 0);
	b->running = 0;
	if (r)
		return 1;
	if (!b->scratch->ok) {
		uint64_t failed = 0;
		for (int c = 0; c < BENCH_E_N; c++)
			failed += b->scratch->err[c];
		seterr(err, "every warm-up request failed: %s", b->lasterr);
		return failed && b->nfinal == failed ? -2 : -1;
	}
	return 0;
}

int bench_calibrate(struct bench *b, int64_t tokens, size_t *words, char *err)
{
	const struct bench_cfg *saved = b->cfg;
	size_t w[2] = { 16, 256 };
	int64_t p[2];
	struct bench_cfg c = *saved;
	c.unique_prefix = 0;
	c.max_tokens = 1;
	c.ntargets = 1;
	for (int i = 0; i < 2; i++) {
		struct bench_prompts ps = { 0 };
		struct buf t = BUF_INIT;
		bench_synth_text(&t, w[i], saved->seed + 7);
		bench_prompts_add_text(&ps, buf_str(&t));
		buf_release(&t);
		c.prompts = &ps;
		b->cfg = &c;
		b->probe_count = -1;
		int r = bench_warmup(b, 1, 1, err);
		b->cfg = saved;
		bench_prompts_release(&ps);
		if (r)
			return r < 0 ? -1 : seterr(err, "interrupted");
		p[i] = b->probe_count;
	}
	if (p[0] <= 0 || bench_calib_fit(w[0], p[0], w[1], p[1], tokens, words) < 0)
		return seterr(err, "cannot calibrate prompt length: the server reported "
			      "prompt_eval_count %" PRId64 " and %" PRId64 " for %zu and %zu words",
			      p[0], p[1], w[0], w[1]);
	return 0;
}
