/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Step summaries: percentiles, rates and failure classes, and their stable JSON form. */
#include "../compat.h"
#include "summary.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "hist.h"
#include "../util/buf.h"
#include "../util/json.h"
#include "../util/util.h"
#include "../banned.h"

static const char *const metric_names[SUMMARY_NMETRICS] = {
	[SUMMARY_TTFT] = "ttft",
	[SUMMARY_ITL] = "itl",
	[SUMMARY_TPOT] = "tpot",
	[SUMMARY_E2E] = "e2e",
	[SUMMARY_TPOT_VLLM] = "tpot_vllm",
};

static const char *const fail_names[SUMMARY_FAIL_COUNT] = {
	[SUMMARY_FAIL_SHED] = "shed",
	[SUMMARY_FAIL_HTTP] = "http",
	[SUMMARY_FAIL_TRANSPORT] = "transport",
	[SUMMARY_FAIL_TIMEOUT] = "timeout",
	[SUMMARY_FAIL_TRUNCATED] = "truncated",
	[SUMMARY_FAIL_STALL] = "stall",
};

const char *summary_metric_name(enum summary_metric m)
{
	return (unsigned)m < SUMMARY_NMETRICS ? metric_names[m] : "unknown";
}

const char *summary_fail_name(enum summary_fail f)
{
	return (unsigned)f < SUMMARY_FAIL_COUNT ? fail_names[f] : "unknown";
}

void summary_stat_from_hist(struct summary_stat *st, const struct hist *h)
{
	memset(st, 0, sizeof(*st));
	if (!h || hist_count(h) == 0)
		return;
	static const double ps[] = { 50, 90, 95, 99, 99.9 };
	int64_t v[ARRAY_SIZE(ps)];
	hist_percentiles(h, ps, ARRAY_SIZE(ps), v);
	st->count = hist_count(h);
	st->mean = hist_mean(h);
	st->stddev = hist_stddev(h);
	st->min = hist_min(h);
	st->p50 = v[0];
	st->p90 = v[1];
	st->p95 = v[2];
	st->p99 = v[3];
	st->p999 = v[4];
	st->max = hist_max(h);
}

int summary_compute(struct summary *s, const struct summary_input *in, char *err)
{
	memset(s, 0, sizeof(*s));
	if (in->duration_ns <= 0)
		return seterr(err, "invalid step duration %" PRId64 " ns: must be positive",
			      in->duration_ns);
	if (!isfinite(in->concurrency) || in->concurrency < 0)
		return seterr(err, "invalid concurrency %g", in->concurrency);
	if (!isfinite(in->offered_rate) || in->offered_rate < 0)
		return seterr(err, "invalid offered rate %g", in->offered_rate);
	s->concurrency = in->concurrency;
	s->offered_rate = in->offered_rate;
	s->duration_ns = in->duration_ns;
	s->ok = in->ok;
	for (int i = 0; i < SUMMARY_FAIL_COUNT; i++) {
		s->failed_by[i] = in->failed[i];
		s->failed += in->failed[i];
	}
	s->output_tokens = in->output_tokens;
	s->prompt_tokens = in->prompt_tokens;
	uint64_t sent = s->ok + s->failed;
	s->success_ratio = sent ? (double)s->ok / (double)sent : 1.0;
	for (int m = 0; m < SUMMARY_NMETRICS; m++) {
		s->has[m] = in->hist[m] != NULL;
		summary_stat_from_hist(&s->stat[m], in->hist[m]);
	}
	double secs = (double)in->duration_ns / 1e9;
	s->req_per_s = (double)s->ok / secs;
	s->output_tok_per_s = (double)s->output_tokens / secs;
	if (s->concurrency > 0)
		s->users = s->concurrency;
	else if (s->stat[SUMMARY_E2E].count)
		s->users = s->req_per_s * s->stat[SUMMARY_E2E].mean / 1e9;
	if (s->users > 0)
		s->output_tok_per_s_per_user = s->output_tok_per_s / s->users;
	if (s->stat[SUMMARY_TPOT].count && s->stat[SUMMARY_TPOT].mean > 0)
		s->decode_tok_per_s = 1e9 / s->stat[SUMMARY_TPOT].mean;
	return 0;
}

int summary_json_number(struct buf *out, double v, int decimals)
{
	if (!isfinite(v))
		return buf_adds(out, "null");
	if (decimals < 0)
		decimals = 0;
	if (decimals > 6)
		decimals = 6;
	int64_t scale = 1;
	for (int i = 0; i < decimals; i++)
		scale *= 10;
	if (fabs(v) * (double)scale >= 9e18) /* too big for fixed point: no decimals needed */
		return buf_addf(out, "%.0f", v);
	int64_t x = llround(v * (double)scale);
	const char *sign = x < 0 ? "-" : "";
	uint64_t ax = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
	uint64_t ip = ax / (uint64_t)scale, fp = ax % (uint64_t)scale;
	if (fp == 0)
		return buf_addf(out, "%s%" PRIu64, sign, ip);
	int d = decimals;
	while (fp % 10 == 0) {
		fp /= 10;
		d--;
	}
	return buf_addf(out, "%s%" PRIu64 ".%0*" PRIu64, sign, ip, d, fp);
}

static int json_stat(struct buf *b, const struct summary_stat *st)
{
	int r = buf_addf(b, "{\"count\":%" PRIu64 ",\"mean_ns\":", st->count);
	r |= summary_json_number(b, round(st->mean), 0);
	r |= buf_adds(b, ",\"stddev_ns\":");
	r |= summary_json_number(b, round(st->stddev), 0);
	r |= buf_addf(b,
		      ",\"min_ns\":%" PRId64 ",\"p50_ns\":%" PRId64 ",\"p90_ns\":%" PRId64
		      ",\"p95_ns\":%" PRId64 ",\"p99_ns\":%" PRId64 ",\"p99_9_ns\":%" PRId64
		      ",\"max_ns\":%" PRId64 "}",
		      st->min, st->p50, st->p90, st->p95, st->p99, st->p999, st->max);
	return r ? -1 : 0;
}

int summary_to_json(const struct summary *s, struct buf *out)
{
	size_t start = out->len;
	int r = buf_adds(out, "{\"schema\":1,\"concurrency\":");
	r |= summary_json_number(out, s->concurrency, 3);
	r |= buf_adds(out, ",\"offered_rate\":");
	r |= summary_json_number(out, s->offered_rate, 3);
	r |= buf_addf(out, ",\"duration_ns\":%" PRId64, s->duration_ns);
	r |= buf_addf(out, ",\"requests\":{\"ok\":%" PRIu64 ",\"failed\":%" PRIu64,
		      s->ok, s->failed);
	r |= buf_adds(out, ",\"success_ratio\":");
	r |= summary_json_number(out, s->success_ratio, 3);
	r |= buf_adds(out, ",\"failed_by\":{");
	for (int i = 0; i < SUMMARY_FAIL_COUNT; i++) {
		r |= buf_adds(out, i ? "," : "");
		r |= buf_add_json_str(out, fail_names[i]);
		r |= buf_addf(out, ":%" PRIu64, s->failed_by[i]);
	}
	r |= buf_addf(out, "}},\"tokens\":{\"output\":%" PRIu64 ",\"prompt\":%" PRIu64 "}",
		      s->output_tokens, s->prompt_tokens);
	static const char *const tkeys[] = { "req_per_s", "output_tok_per_s", "users",
					     "output_tok_per_s_per_user", "decode_tok_per_s" };
	const double tvals[] = { s->req_per_s, s->output_tok_per_s, s->users,
				 s->output_tok_per_s_per_user, s->decode_tok_per_s };
	r |= buf_adds(out, ",\"throughput\":{");
	for (size_t i = 0; i < ARRAY_SIZE(tkeys); i++) {
		r |= buf_addf(out, "%s\"%s\":", i ? "," : "", tkeys[i]);
		r |= summary_json_number(out, tvals[i], 3);
	}
	r |= buf_adds(out, "}");
	for (int m = 0; m < SUMMARY_NMETRICS; m++) {
		/* vLLM's TPOT came later: absent rather than null when not measured, so the
		 * documents stored before it read back and write out the same */
		if (m == SUMMARY_TPOT_VLLM && !s->has[m])
			continue;
		r |= buf_addf(out, ",\"%s\":", metric_names[m]);
		r |= s->has[m] ? json_stat(out, &s->stat[m]) : buf_adds(out, "null");
	}
	r |= buf_adds(out, "}");
	if (r) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}

int summary_from_json(struct summary *s, const struct cJSON *o)
{
	memset(s, 0, sizeof(*s));
	if (!cJSON_IsObject(o))
		return -1;
	s->concurrency = json_num(o, "concurrency");
	s->offered_rate = json_num(o, "offered_rate");
	s->duration_ns = json_ns(o, "duration_ns");
	const cJSON *req = json_get(o, "requests"), *by = json_get(req, "failed_by");
	s->ok = json_count(req, "ok");
	s->failed = json_count(req, "failed");
	s->success_ratio = json_num(req, "success_ratio");
	for (int i = 0; i < SUMMARY_FAIL_COUNT; i++)
		s->failed_by[i] = json_count(by, fail_names[i]);
	const cJSON *tok = json_get(o, "tokens"), *thr = json_get(o, "throughput");
	s->output_tokens = json_count(tok, "output");
	s->prompt_tokens = json_count(tok, "prompt");
	s->req_per_s = json_num(thr, "req_per_s");
	s->output_tok_per_s = json_num(thr, "output_tok_per_s");
	s->users = json_num(thr, "users");
	s->output_tok_per_s_per_user = json_num(thr, "output_tok_per_s_per_user");
	s->decode_tok_per_s = json_num(thr, "decode_tok_per_s");
	for (int m = 0; m < SUMMARY_NMETRICS; m++) {
		const cJSON *st = json_get(o, metric_names[m]);
		struct summary_stat *x = &s->stat[m];
		s->has[m] = cJSON_IsObject(st);
		x->count = json_count(st, "count");
		x->mean = json_num(st, "mean_ns");
		x->stddev = json_num(st, "stddev_ns");
		x->min = json_ns(st, "min_ns");
		x->p50 = json_ns(st, "p50_ns");
		x->p90 = json_ns(st, "p90_ns");
		x->p95 = json_ns(st, "p95_ns");
		x->p99 = json_ns(st, "p99_ns");
		x->p999 = json_ns(st, "p99_9_ns");
		x->max = json_ns(st, "max_ns");
	}
	return 0;
}
