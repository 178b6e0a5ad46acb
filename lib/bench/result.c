/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Bench steps and run summaries: structs, their one JSON writer and their one reader. */
#include "../compat.h"
#include "result.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stats/hist.h"
#include "../stats/knee.h"
#include "../util/buf.h"
#include "../util/units.h"
#include "../util/json.h"
#include "../util/util.h"
#include "../banned.h"

static const char *const server_keys[BS_N] = { "load", "prompt_eval", "eval", "queue", "ttft" };
static const enum bench_hist server_hists[BS_N] = { BH_LOAD, BH_PROMPT_EVAL, BH_EVAL, BH_QUEUE,
						     BH_SERVER_TTFT };

/* ---- reading helpers ---- */

static void jstr(const cJSON *o, const char *k, char *out, size_t n)
{
	const cJSON *v = json_get(o, k);
	snprintf(out, n, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static char *jstrdup(const cJSON *o, const char *k)
{
	const cJSON *v = json_get(o, k);
	return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

/* ---- steps ---- */

static void stat_from_hist(struct bench_stat *st, const struct hist *h)
{
	memset(st, 0, sizeof(*st));
	if (!h || !hist_count(h))
		return;
	static const double ps[] = { 50, 90, 95, 99 };
	int64_t v[4];
	hist_percentiles(h, ps, 4, v);
	st->has = 1;
	st->count = hist_count(h);
	st->mean = hist_mean(h);
	st->p50 = v[0];
	st->p90 = v[1];
	st->p95 = v[2];
	st->p99 = v[3];
	st->max = hist_max(h);
}

static void stat_json(struct buf *b, const struct bench_stat *st)
{
	if (!st->has) {
		buf_adds(b, "null");
		return;
	}
	buf_addf(b, "{\"count\":%" PRIu64 ",\"mean_ns\":%.0f,\"p50_ns\":%" PRId64
		 ",\"p90_ns\":%" PRId64 ",\"p95_ns\":%" PRId64 ",\"p99_ns\":%" PRId64
		 ",\"max_ns\":%" PRId64 "}",
		 st->count, st->mean, st->p50, st->p90, st->p95, st->p99, st->max);
}

static void stat_parse(struct bench_stat *st, const cJSON *o)
{
	memset(st, 0, sizeof(*st));
	if (!cJSON_IsObject(o))
		return;
	st->has = 1;
	st->count = json_count(o, "count");
	st->mean = json_num(o, "mean_ns");
	st->p50 = json_ns(o, "p50_ns");
	st->p90 = json_ns(o, "p90_ns");
	st->p95 = json_ns(o, "p95_ns");
	st->p99 = json_ns(o, "p99_ns");
	st->max = json_ns(o, "max_ns");
}

static void client_check(const struct bench_acc *a, double wall_s, struct bench_client *c)
{
	c->cpu_pct = wall_s > 0 ? 100.0 * a->cpu_s / wall_s : 0;
	c->reason[0] = '\0';
	int64_t loop99 = hist_percentile(&a->h[BH_LOOP_LAG], 99);
	int64_t send99 = hist_percentile(&a->h[BH_SEND_LAG], 99);
	char d[32];
	size_t n = sizeof(c->reason);
	/* Nothing measured, or a step too short for CPU time to mean anything (failures
	 * that come back at once spin a closed loop): no verdict on the client. */
	if (!a->ok || wall_s < 0.25)
		return;
	if (c->cpu_pct >= 90)
		snprintf(c->reason, n, "client CPU at %.0f%% of a core", c->cpu_pct);
	else if (a->delayed)
		snprintf(c->reason, n, "%" PRIu64 " sends held back by --max-in-flight", a->delayed);
	else if (send99 > 5000000)
		snprintf(c->reason, n, "send lag p99 %s", units_fmt_duration(send99, d, sizeof(d)));
	else if (loop99 > 5000000)
		snprintf(c->reason, n, "event-loop lag p99 %s%s%s%s",
			 units_fmt_duration(loop99, d, sizeof(d)), c->lag_cause[0] ? ", mostly " : "",
			 c->lag_cause, !strcmp(c->lag_cause, "wake") ? " (the OS woke the loop late)" : "");
}

/* Where the lag went, and its main cause among the late probes. */
static void lag_causes(const struct bench_acc *a, struct bench_client *c)
{
	int64_t all = 0, late = 0;
	int top = -1;
	for (int i = 0; i < BENCH_LAG_N; i++) {
		all += a->lag_ns[i];
		late += a->late_lag_ns[i];
		if (a->late_lag_ns[i] > 0 && (top < 0 || a->late_lag_ns[i] > a->late_lag_ns[top]))
			top = i;
	}
	for (int i = 0; i < BENCH_LAG_N; i++)
		c->lag_by[i] = all > 0 ? 100.0 * (double)a->lag_ns[i] / (double)all : 0;
	snprintf(c->lag_cause, sizeof(c->lag_cause), "%s",
		 top >= 0 && late > 0 ? bench_lag_cause_name(top) : "");
}

/* v as its JSON text reads back (summary_json_number with that many decimals). */
static double as_json(double v, int decimals)
{
	double scale = 1;
	for (int i = 0; i < decimals; i++)
		scale *= 10;
	if (!isfinite(v) || fabs(v) * scale >= 9e18)
		return v;
	return (double)llround(v * scale) / scale;
}

/* Round every figure to what its JSON holds, so that a step computed here and the same
 * step read back from the store give the same rows, knee and summary. */
static void round_as_json(struct bench_step *st)
{
	struct summary *s = &st->summary;
	st->x = as_json(st->x, 3);
	s->concurrency = as_json(s->concurrency, 3);
	s->offered_rate = as_json(s->offered_rate, 3);
	s->success_ratio = as_json(s->success_ratio, 3);
	s->req_per_s = as_json(s->req_per_s, 3);
	s->output_tok_per_s = as_json(s->output_tok_per_s, 3);
	s->users = as_json(s->users, 3);
	s->output_tok_per_s_per_user = as_json(s->output_tok_per_s_per_user, 3);
	s->decode_tok_per_s = as_json(s->decode_tok_per_s, 3);
	for (int m = 0; m < SUMMARY_NMETRICS; m++) {
		s->stat[m].mean = as_json(s->stat[m].mean, 0);
		s->stat[m].stddev = as_json(s->stat[m].stddev, 0);
	}
	struct bench_stat *stats[BS_N + 3] = { &st->cold_ttft, &st->raw_ttft, &st->raw_e2e };
	for (int i = 0; i < BS_N; i++)
		stats[3 + i] = &st->server[i];
	for (size_t i = 0; i < ARRAY_SIZE(stats); i++)
		stats[i]->mean = rint(stats[i]->mean); /* what "%.0f" writes */
	st->client.cpu_pct = as_json(st->client.cpu_pct, 1);
	st->client.coalesced_pct = as_json(st->client.coalesced_pct, 1);
	for (int i = 0; i < BENCH_LAG_N; i++)
		st->client.lag_by[i] = as_json(st->client.lag_by[i], 1);
	st->connect.mean = rint(st->connect.mean);
	st->first_ttft.mean = rint(st->first_ttft.mean);
	st->later_ttft.mean = rint(st->later_ttft.mean);
	st->client.chunks_per_cpu_s = as_json(st->client.chunks_per_cpu_s, 0);
}

int bench_step_compute(const struct bench_acc *a, const struct bench_step_info *si,
		       struct bench_step *st, char *err)
{
	memset(st, 0, sizeof(*st));
	struct summary_input in;
	memset(&in, 0, sizeof(in));
	if (!si->endpoint) {
		in.hist[SUMMARY_TTFT] = &a->h[BH_TTFT];
		in.hist[SUMMARY_ITL] = &a->h[BH_ITL];
		in.hist[SUMMARY_TPOT] = &a->h[BH_TPOT];
		in.hist[SUMMARY_TPOT_VLLM] = &a->h[BH_TPOT_VLLM];
	}
	in.hist[SUMMARY_E2E] = &a->h[BH_E2E];
	in.ok = a->ok;
	in.failed[SUMMARY_FAIL_SHED] = a->err[BENCH_E_SHED];
	in.failed[SUMMARY_FAIL_HTTP] = a->err[BENCH_E_HTTP];
	in.failed[SUMMARY_FAIL_TRANSPORT] = a->err[BENCH_E_REFUSED] + a->err[BENCH_E_CONNECT] +
					    a->err[BENCH_E_OTHER];
	in.failed[SUMMARY_FAIL_TIMEOUT] = a->err[BENCH_E_TIMEOUT];
	in.failed[SUMMARY_FAIL_TRUNCATED] = a->err[BENCH_E_TRUNCATED] + a->err[BENCH_E_STREAM] +
					     a->err[BENCH_E_MALFORMED];
	in.failed[SUMMARY_FAIL_STALL] = a->err[BENCH_E_STALL];
	in.output_tokens = si->endpoint ? 0 : a->output_tokens;
	in.prompt_tokens = si->endpoint ? 0 : a->prompt_tokens;
	in.duration_ns = a->t_end > a->t_start ? a->t_end - a->t_start : 1;
	if (si->mode == BENCH_OPEN)
		in.offered_rate = si->x;
	else
		in.concurrency = si->x * (si->targets > 1 ? si->targets : 1);
	if (summary_compute(&st->summary, &in, err) < 0)
		return -1;
	st->index = si->index;
	st->x = si->x;
	snprintf(st->label, sizeof(st->label), "%s%g%s%s",
		 si->mode == BENCH_OPEN ? "rate=" : "c=", si->x, si->instance ? " " : "",
		 si->instance ? si->instance : "");
	snprintf(st->instance, sizeof(st->instance), "%s", si->instance ? si->instance : "");
	st->partial = si->partial;
	for (int i = 0; i < BENCH_E_N; i++) {
		st->err[i] = a->err[i];
		snprintf(st->msg[i], sizeof(st->msg[i]), "%s", a->msg[i]);
	}
	st->cold = a->cold;
	stat_from_hist(&st->cold_ttft, &a->h[BH_COLD_TTFT]);
	for (int i = 0; i < BS_N; i++)
		stat_from_hist(&st->server[i], &a->h[server_hists[i]]);
	if (si->mode == BENCH_OPEN) {
		st->has_raw = 1;
		stat_from_hist(&st->raw_ttft, si->endpoint ? NULL : &a->h[BH_TTFT_RAW]);
		stat_from_hist(&st->raw_e2e, &a->h[BH_E2E_RAW]);
	}
	struct bench_client *c = &st->client;
	lag_causes(a, c);
	c->gaps = a->gaps;
	c->coalesced_pct = a->gaps ? 100.0 * (double)a->coalesced / (double)a->gaps : 0;
	stat_from_hist(&st->connect, &a->h[BH_CONNECT]);
	stat_from_hist(&st->first_ttft, &a->h[BH_FIRST_TTFT]);
	stat_from_hist(&st->later_ttft, &a->h[BH_LATER_TTFT]);
	st->v2 = 1;
	client_check(a, (double)in.duration_ns / 1e9, c);
	c->loop_lag_p99 = hist_percentile(&a->h[BH_LOOP_LAG], 99);
	c->loop_lag_max = hist_max(&a->h[BH_LOOP_LAG]);
	c->send_lag_p50 = hist_percentile(&a->h[BH_SEND_LAG], 50);
	c->send_lag_p99 = hist_percentile(&a->h[BH_SEND_LAG], 99);
	c->send_lag_max = hist_max(&a->h[BH_SEND_LAG]);
	c->chunks = a->chunks;
	c->chunks_per_cpu_s = a->cpu_s > 0 ? (double)a->chunks / a->cpu_s : 0;
	c->bytes = a->bytes;
	c->delayed = a->delayed;
	c->limited = c->reason[0] != '\0';
	st->max_gap_ns = a->max_gap_ns;
	round_as_json(st);
	return 0;
}

int bench_step_to_json(const struct bench_step *st, struct buf *out)
{
	buf_addf(out, "{\"index\":%d,\"label\":", st->index);
	buf_add_json_str(out, st->label);
	buf_adds(out, ",\"x\":");
	summary_json_number(out, st->x, 3);
	buf_adds(out, ",\"instance\":");
	if (st->instance[0])
		buf_add_json_str(out, st->instance);
	else
		buf_adds(out, "null");
	buf_addf(out, ",\"partial\":%s,\"summary\":", st->partial ? "true" : "false");
	if (summary_to_json(&st->summary, out) < 0)
		return -1;
	buf_adds(out, ",\"errors\":{");
	for (int i = 0; i < BENCH_E_N; i++)
		buf_addf(out, "%s\"%s\":%" PRIu64, i ? "," : "", bench_err_name(i), st->err[i]);
	buf_adds(out, "},\"error_messages\":{");
	int first = 1;
	for (int i = 0; i < BENCH_E_N; i++) {
		if (!st->msg[i][0])
			continue;
		buf_addf(out, "%s\"%s\":", first ? "" : ",", bench_err_name(i));
		buf_add_json_str(out, st->msg[i]);
		first = 0;
	}
	buf_addf(out, "},\"cold\":{\"count\":%" PRIu64 ",\"ttft\":", st->cold);
	stat_json(out, &st->cold_ttft);
	buf_adds(out, "},\"server\":{");
	for (int i = 0; i < BS_N; i++) {
		buf_addf(out, "%s\"%s\":", i ? "," : "", server_keys[i]);
		stat_json(out, &st->server[i]);
	}
	buf_adds(out, "},\"raw\":");
	if (st->has_raw) {
		buf_adds(out, "{\"ttft\":");
		stat_json(out, &st->raw_ttft);
		buf_adds(out, ",\"e2e\":");
		stat_json(out, &st->raw_e2e);
		buf_adds(out, "}");
	} else {
		buf_adds(out, "null");
	}
	const struct bench_client *c = &st->client;
	buf_adds(out, ",\"client\":{\"cpu_pct\":");
	summary_json_number(out, c->cpu_pct, 1);
	buf_addf(out, ",\"loop_lag_p99_ns\":%" PRId64 ",\"loop_lag_max_ns\":%" PRId64
		 ",\"send_lag_p50_ns\":%" PRId64 ",\"send_lag_p99_ns\":%" PRId64
		 ",\"send_lag_max_ns\":%" PRId64 ",\"chunks\":%" PRIu64 ",\"chunks_per_cpu_s\":",
		 c->loop_lag_p99, c->loop_lag_max, c->send_lag_p50, c->send_lag_p99,
		 c->send_lag_max, c->chunks);
	summary_json_number(out, c->chunks_per_cpu_s, 0);
	buf_addf(out, ",\"bytes\":%" PRIu64 ",\"delayed\":%" PRIu64 ",\"limited\":%s,\"reason\":",
		 c->bytes, c->delayed, c->limited ? "true" : "false");
	buf_add_json_str(out, c->reason);
	if (!st->v2)
		return buf_addf(out, "},\"max_gap_ns\":%" PRId64 "}", st->max_gap_ns) < 0 ? -1 : 0;
	buf_adds(out, ",\"loop_lag_cause\":");
	buf_add_json_str(out, c->lag_cause);
	buf_adds(out, ",\"loop_lag_by\":{");
	for (int i = 0; i < BENCH_LAG_N; i++) {
		buf_addf(out, "%s\"%s\":", i ? "," : "", bench_lag_cause_name(i));
		summary_json_number(out, c->lag_by[i], 1);
	}
	buf_addf(out, "},\"gaps\":%" PRIu64 ",\"coalesced_pct\":", c->gaps);
	summary_json_number(out, c->coalesced_pct, 1);
	buf_adds(out, "},\"connect\":");
	stat_json(out, &st->connect);
	buf_adds(out, ",\"first_wave\":");
	if (st->first_ttft.has) {
		buf_adds(out, "{\"ttft\":");
		stat_json(out, &st->first_ttft);
		buf_adds(out, ",\"later_ttft\":");
		stat_json(out, &st->later_ttft);
		buf_adds(out, "}");
	} else {
		buf_adds(out, "null");
	}
	return buf_addf(out, ",\"max_gap_ns\":%" PRId64 "}", st->max_gap_ns) < 0 ? -1 : 0;
}

int bench_step_parse(const char *json, struct bench_step *st, char *err)
{
	memset(st, 0, sizeof(*st));
	cJSON *o = json ? cJSON_Parse(json) : NULL;
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return seterr(err, "step is not a JSON object");
	}
	if (summary_from_json(&st->summary, json_get(o, "summary")) < 0) {
		cJSON_Delete(o);
		return seterr(err, "step has no summary");
	}
	st->index = (int)json_num(o, "index");
	jstr(o, "label", st->label, sizeof(st->label));
	st->x = json_num(o, "x");
	jstr(o, "instance", st->instance, sizeof(st->instance));
	st->partial = cJSON_IsTrue(json_get(o, "partial"));
	const cJSON *errs = json_get(o, "errors"), *msgs = json_get(o, "error_messages");
	for (int i = 0; i < BENCH_E_N; i++) {
		st->err[i] = json_count(errs, bench_err_name(i));
		jstr(msgs, bench_err_name(i), st->msg[i], sizeof(st->msg[i]));
	}
	const cJSON *cold = json_get(o, "cold"), *sv = json_get(o, "server"), *raw = json_get(o, "raw");
	st->cold = json_count(cold, "count");
	stat_parse(&st->cold_ttft, json_get(cold, "ttft"));
	for (int i = 0; i < BS_N; i++)
		stat_parse(&st->server[i], json_get(sv, server_keys[i]));
	st->has_raw = cJSON_IsObject(raw);
	stat_parse(&st->raw_ttft, json_get(raw, "ttft"));
	stat_parse(&st->raw_e2e, json_get(raw, "e2e"));
	const cJSON *cl = json_get(o, "client");
	struct bench_client *c = &st->client;
	c->cpu_pct = json_num(cl, "cpu_pct");
	c->loop_lag_p99 = json_ns(cl, "loop_lag_p99_ns");
	c->loop_lag_max = json_ns(cl, "loop_lag_max_ns");
	c->send_lag_p50 = json_ns(cl, "send_lag_p50_ns");
	c->send_lag_p99 = json_ns(cl, "send_lag_p99_ns");
	c->send_lag_max = json_ns(cl, "send_lag_max_ns");
	c->chunks = json_count(cl, "chunks");
	c->chunks_per_cpu_s = json_num(cl, "chunks_per_cpu_s");
	c->bytes = json_count(cl, "bytes");
	c->delayed = json_count(cl, "delayed");
	c->limited = cJSON_IsTrue(json_get(cl, "limited"));
	jstr(cl, "reason", c->reason, sizeof(c->reason));
	jstr(cl, "loop_lag_cause", c->lag_cause, sizeof(c->lag_cause));
	const cJSON *by = json_get(cl, "loop_lag_by");
	st->v2 = by != NULL;
	for (int i = 0; i < BENCH_LAG_N; i++)
		c->lag_by[i] = json_num(by, bench_lag_cause_name(i));
	c->gaps = json_count(cl, "gaps");
	c->coalesced_pct = json_num(cl, "coalesced_pct");
	stat_parse(&st->connect, json_get(o, "connect"));
	const cJSON *fw = json_get(o, "first_wave");
	stat_parse(&st->first_ttft, json_get(fw, "ttft"));
	stat_parse(&st->later_ttft, json_get(fw, "later_ttft"));
	st->max_gap_ns = json_ns(o, "max_gap_ns");
	cJSON_Delete(o);
	return 0;
}

/* ---- the knee ---- */

static void json_str_or_null(struct buf *out, const char *s)
{
	if (s)
		buf_add_json_str(out, s);
	else
		buf_adds(out, "null");
}

void bench_knee_to_json(const struct bench_knee *k, struct buf *out)
{
	if (!k->found) {
		buf_adds(out, "null");
		return;
	}
	buf_addf(out, "{\"reason\":\"%s\",\"metric\":\"%s\",\"x\":", knee_reason_name(k->reason),
		 k->endpoint ? "e2e" : "ttft");
	summary_json_number(out, k->x, 3);
	buf_adds(out, ",\"next_x\":");
	if (k->has_next)
		summary_json_number(out, k->next_x, 3);
	else
		buf_adds(out, "null");
	buf_adds(out, ",\"gain\":");
	summary_json_number(out, k->gain, 4);
	buf_adds(out, ",\"p95_ratio\":");
	summary_json_number(out, k->p95_ratio, 3);
	buf_addf(out, ",\"slo_ns\":%" PRId64 ",\"sentence\":", k->slo_ns);
	buf_add_json_str(out, k->sentence);
	if (k->has_slots) {
		buf_addf(out, ",\"slots\":%d,\"service_ns\":%" PRId64 ",\"slots_sentence\":",
			 k->slots, k->service_ns);
		buf_add_json_str(out, k->slots_sentence);
	} else {
		buf_adds(out, ",\"slots\":null,\"service_ns\":null,\"slots_sentence\":null");
	}
	buf_adds(out, ",\"imbalance\":");
	json_str_or_null(out, k->imbalance[0] ? k->imbalance : NULL);
	buf_adds(out, "}");
}

static void knee_parse(struct bench_knee *k, const cJSON *o)
{
	memset(k, 0, sizeof(*k));
	if (!cJSON_IsObject(o))
		return;
	k->found = 1;
	const cJSON *r = json_get(o, "reason"), *m = json_get(o, "metric"), *nx = json_get(o, "next_x"),
		    *sl = json_get(o, "slots");
	for (int i = KNEE_NONE; i <= KNEE_USER_RATE; i++)
		if (cJSON_IsString(r) && !strcmp(r->valuestring, knee_reason_name(i)))
			k->reason = i;
	k->endpoint = cJSON_IsString(m) && !strcmp(m->valuestring, "e2e");
	k->x = json_num(o, "x");
	k->has_next = cJSON_IsNumber(nx);
	k->next_x = json_num(o, "next_x");
	k->gain = json_num(o, "gain");
	k->p95_ratio = json_num(o, "p95_ratio");
	k->slo_ns = json_ns(o, "slo_ns");
	jstr(o, "sentence", k->sentence, sizeof(k->sentence));
	k->has_slots = cJSON_IsNumber(sl);
	k->slots = (int)json_num(o, "slots");
	k->service_ns = json_ns(o, "service_ns");
	jstr(o, "slots_sentence", k->slots_sentence, sizeof(k->slots_sentence));
	jstr(o, "imbalance", k->imbalance, sizeof(k->imbalance));
}


/* ---- run summaries ---- */

void bench_summary_to_json(const struct bench_summary *s, struct buf *out)
{
	if (s->kind == BENCH_SUMMARY_ERROR) {
		buf_adds(out, "{\"error\":");
		buf_add_json_str(out, s->error ? s->error : "");
		buf_adds(out, "}");
		return;
	}
	if (s->kind == BENCH_SUMMARY_PROGRESS) {
		buf_adds(out, "{\"step\":");
		buf_add_json_str(out, s->step);
		buf_adds(out, ",\"p95_ns\":");
		if (s->has & BENCH_HAS_P95)
			buf_addf(out, "%" PRId64, s->p95_ns);
		else
			buf_adds(out, "null");
		buf_addf(out, ",\"errors\":%" PRIu64 ",\"ok\":%" PRIu64 "}", s->errors, s->ok);
		return;
	}
	buf_adds(out, "{\"ttft_p95_ns\":");
	if (s->has & BENCH_HAS_TTFT_P95)
		buf_addf(out, "%" PRId64, s->ttft_p95_ns);
	else
		buf_adds(out, "null");
	buf_addf(out, ",\"tok_s\":%.3f,\"req_s\":%.3f,\"errors\":%" PRIu64 ",\"shed\":%" PRIu64
		 ",\"ok\":%" PRIu64 ",\"steps\":%zu,\"knee\":", s->tok_s, s->req_s, s->errors,
		 s->shed, s->ok, s->steps);
	bench_knee_to_json(&s->knee, out);
	buf_adds(out, ",\"stopped\":");
	json_str_or_null(out, s->stopped[0] ? s->stopped : NULL);
	buf_addf(out, ",\"interrupted\":%s%s}", s->interrupted ? "true" : "false",
		 s->goals ? s->goals : "");
}

static int has_number(const cJSON *o, const char *k)
{
	const cJSON *v = json_get(o, k);
	return cJSON_IsNumber(v) && isfinite(v->valuedouble);
}

int bench_summary_parse(const char *json, struct bench_summary *s, char *err)
{
	memset(s, 0, sizeof(*s));
	cJSON *o = json ? cJSON_Parse(json) : NULL;
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return seterr(err, "bench summary is not a JSON object");
	}
	static const struct {
		const char *key;
		unsigned bit;
	} nums[] = {
		{ "ttft_p95_ns", BENCH_HAS_TTFT_P95 }, { "tok_s", BENCH_HAS_TOK_S },
		{ "req_s", BENCH_HAS_REQ_S },         { "errors", BENCH_HAS_ERRORS },
		{ "p95_ns", BENCH_HAS_P95 },          { "ok", BENCH_HAS_OK },
	};
	for (size_t i = 0; i < ARRAY_SIZE(nums); i++)
		if (has_number(o, nums[i].key))
			s->has |= nums[i].bit;
	if (cJSON_IsString(json_get(o, "error"))) {
		s->kind = BENCH_SUMMARY_ERROR;
		s->error = jstrdup(o, "error");
	} else if (cJSON_IsString(json_get(o, "step"))) {
		s->kind = BENCH_SUMMARY_PROGRESS;
		jstr(o, "step", s->step, sizeof(s->step));
		s->p95_ns = json_ns(o, "p95_ns");
	}
	s->ttft_p95_ns = json_ns(o, "ttft_p95_ns");
	s->tok_s = json_num(o, "tok_s");
	s->req_s = json_num(o, "req_s");
	s->errors = json_count(o, "errors");
	s->shed = json_count(o, "shed");
	s->ok = json_count(o, "ok");
	s->steps = (size_t)json_count(o, "steps");
	knee_parse(&s->knee, json_get(o, "knee"));
	jstr(o, "stopped", s->stopped, sizeof(s->stopped));
	s->interrupted = cJSON_IsTrue(json_get(o, "interrupted"));
	cJSON_Delete(o);
	return 0;
}

void bench_summary_release(struct bench_summary *s)
{
	free(s->error);
	free(s->goals);
	memset(s, 0, sizeof(*s));
}
