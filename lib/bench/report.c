/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Bench results as data: step JSON and histogram blobs, rows, table, CSV and the knee. */
#include "../compat.h"
#include "report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../render/chart.h"
#include "params.h"
#include "../stats/hist.h"
#include "../stats/knee.h"
#include "../stats/summary.h"
#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

/* ---- step JSON ---- */

static void stat_json(struct buf *b, const struct hist *h)
{
	if (!h || !hist_count(h)) {
		buf_adds(b, "null");
		return;
	}
	static const double ps[] = { 50, 90, 95, 99 };
	int64_t v[4];
	hist_percentiles(h, ps, 4, v);
	buf_addf(b, "{\"count\":%" PRIu64 ",\"mean_ns\":%.0f,\"p50_ns\":%" PRId64
		 ",\"p90_ns\":%" PRId64 ",\"p95_ns\":%" PRId64 ",\"p99_ns\":%" PRId64
		 ",\"max_ns\":%" PRId64 "}",
		 hist_count(h), hist_mean(h), v[0], v[1], v[2], v[3], hist_max(h));
}

static void client_check(const struct bench_acc *a, double wall_s, double *cpu_pct,
			 char *reason, size_t n)
{
	*cpu_pct = wall_s > 0 ? 100.0 * a->cpu_s / wall_s : 0;
	reason[0] = '\0';
	int64_t loop99 = hist_percentile(&a->h[BH_LOOP_LAG], 99);
	int64_t send99 = hist_percentile(&a->h[BH_SEND_LAG], 99);
	char d[32];
	/* Nothing measured, or a step too short for CPU time to mean anything (failures
	 * that come back at once spin a closed loop): no verdict on the client. */
	if (!a->ok || wall_s < 0.25)
		return;
	if (*cpu_pct >= 90)
		snprintf(reason, n, "client CPU at %.0f%% of a core", *cpu_pct);
	else if (a->delayed)
		snprintf(reason, n, "%" PRIu64 " sends held back by --max-in-flight", a->delayed);
	else if (send99 > 5000000)
		snprintf(reason, n, "send lag p99 %s", units_fmt_duration(send99, d, sizeof(d)));
	else if (loop99 > 5000000)
		snprintf(reason, n, "event-loop lag p99 %s", units_fmt_duration(loop99, d, sizeof(d)));
}

int bench_step_json(const struct bench_acc *a, const struct bench_step_info *si,
		    struct buf *out, char *err)
{
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
	struct summary s;
	if (summary_compute(&s, &in, err) < 0)
		return -1;
	char label[96];
	if (si->mode == BENCH_OPEN)
		snprintf(label, sizeof(label), "rate=%g%s%s", si->x, si->instance ? " " : "",
			 si->instance ? si->instance : "");
	else
		snprintf(label, sizeof(label), "c=%g%s%s", si->x, si->instance ? " " : "",
			 si->instance ? si->instance : "");
	buf_addf(out, "{\"index\":%d,\"label\":", si->index);
	buf_add_json_str(out, label);
	buf_adds(out, ",\"x\":");
	summary_json_number(out, si->x, 3);
	buf_adds(out, ",\"instance\":");
	if (si->instance)
		buf_add_json_str(out, si->instance);
	else
		buf_adds(out, "null");
	buf_addf(out, ",\"partial\":%s,\"summary\":", si->partial ? "true" : "false");
	if (summary_to_json(&s, out) < 0)
		return seterr(err, "step JSON too large");
	buf_adds(out, ",\"errors\":{");
	for (int i = 0; i < BENCH_E_N; i++)
		buf_addf(out, "%s\"%s\":%" PRIu64, i ? "," : "", bench_err_name(i), a->err[i]);
	buf_adds(out, "},\"error_messages\":{");
	int first = 1;
	for (int i = 0; i < BENCH_E_N; i++) {
		if (!a->msg[i][0])
			continue;
		buf_addf(out, "%s\"%s\":", first ? "" : ",", bench_err_name(i));
		buf_add_json_str(out, a->msg[i]);
		first = 0;
	}
	buf_addf(out, "},\"cold\":{\"count\":%" PRIu64 ",\"ttft\":", a->cold);
	stat_json(out, &a->h[BH_COLD_TTFT]);
	buf_adds(out, "},\"server\":{\"load\":");
	stat_json(out, &a->h[BH_LOAD]);
	buf_adds(out, ",\"prompt_eval\":");
	stat_json(out, &a->h[BH_PROMPT_EVAL]);
	buf_adds(out, ",\"eval\":");
	stat_json(out, &a->h[BH_EVAL]);
	buf_adds(out, ",\"queue\":");
	stat_json(out, &a->h[BH_QUEUE]);
	buf_adds(out, ",\"ttft\":");
	stat_json(out, &a->h[BH_SERVER_TTFT]);
	buf_adds(out, "},\"raw\":");
	if (si->mode == BENCH_OPEN) {
		buf_adds(out, "{\"ttft\":");
		stat_json(out, si->endpoint ? NULL : &a->h[BH_TTFT_RAW]);
		buf_adds(out, ",\"e2e\":");
		stat_json(out, &a->h[BH_E2E_RAW]);
		buf_adds(out, "}");
	} else {
		buf_adds(out, "null");
	}
	double wall = (double)in.duration_ns / 1e9, cpu_pct;
	char reason[128];
	client_check(a, wall, &cpu_pct, reason, sizeof(reason));
	buf_adds(out, ",\"client\":{\"cpu_pct\":");
	summary_json_number(out, cpu_pct, 1);
	buf_addf(out, ",\"loop_lag_p99_ns\":%" PRId64 ",\"loop_lag_max_ns\":%" PRId64
		 ",\"send_lag_p50_ns\":%" PRId64 ",\"send_lag_p99_ns\":%" PRId64
		 ",\"send_lag_max_ns\":%" PRId64 ",\"chunks\":%" PRIu64 ",\"chunks_per_cpu_s\":",
		 hist_percentile(&a->h[BH_LOOP_LAG], 99), hist_max(&a->h[BH_LOOP_LAG]),
		 hist_percentile(&a->h[BH_SEND_LAG], 50), hist_percentile(&a->h[BH_SEND_LAG], 99),
		 hist_max(&a->h[BH_SEND_LAG]), a->chunks);
	summary_json_number(out, a->cpu_s > 0 ? (double)a->chunks / a->cpu_s : 0, 0);
	buf_addf(out, ",\"bytes\":%" PRIu64 ",\"delayed\":%" PRIu64 ",\"limited\":%s,\"reason\":",
		 a->bytes, a->delayed, reason[0] ? "true" : "false");
	buf_add_json_str(out, reason);
	buf_addf(out, "},\"max_gap_ns\":%" PRId64 "}", a->max_gap_ns);
	return 0;
}

/* ---- histogram blobs ---- */

int bench_hists_blob(const struct bench_acc *a, struct buf *out)
{
	struct buf one = BUF_INIT;
	for (int i = 0; i < BH_N; i++) {
		if (!hist_count(&a->h[i]))
			continue;
		buf_reset(&one);
		if (hist_serialize(&a->h[i], &one) < 0) {
			buf_release(&one);
			return -1;
		}
		unsigned char hdr[5] = { (unsigned char)i, (unsigned char)(one.len & 0xff),
					 (unsigned char)((one.len >> 8) & 0xff),
					 (unsigned char)((one.len >> 16) & 0xff),
					 (unsigned char)((one.len >> 24) & 0xff) };
		if (buf_add(out, hdr, 5) < 0 || buf_add(out, one.data, one.len) < 0) {
			buf_release(&one);
			return -1;
		}
	}
	buf_release(&one);
	return 0;
}

int bench_hists_parse(const void *blob, size_t len, struct hist *h, char *err)
{
	const unsigned char *p = blob;
	for (int i = 0; i < BH_N; i++)
		hist_init(&h[i]);
	size_t off = 0;
	while (off < len) {
		if (len - off < 5)
			return seterr(err, "histogram blob truncated at byte %zu", off);
		unsigned id = p[off];
		size_t l = (size_t)p[off + 1] | (size_t)p[off + 2] << 8 | (size_t)p[off + 3] << 16 |
			   (size_t)p[off + 4] << 24;
		off += 5;
		if (id >= BH_N || l > len - off)
			return seterr(err, "bad histogram blob at byte %zu", off - 5);
		if (hist_deserialize(&h[id], p + off, l, err) < 0)
			return -1;
		off += l;
	}
	return 0;
}

/* ---- rows ---- */

static const cJSON *jget(const cJSON *o, const char *k)
{
	return o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = jget(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int64_t jns(const cJSON *o, const char *k)
{
	double v = jnum(o, k);
	return fabs(v) < 9e18 ? (int64_t)v : 0;
}

int bench_row_parse(const char *json, struct bench_row *r, char *err)
{
	memset(r, 0, sizeof(*r));
	cJSON *o = cJSON_Parse(json);
	if (!o || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return seterr(err, "step is not a JSON object");
	}
	const cJSON *sum = jget(o, "summary");
	if (!cJSON_IsObject(sum)) {
		cJSON_Delete(o);
		return seterr(err, "step has no summary");
	}
	r->index = (int)jnum(o, "index");
	r->x = jnum(o, "x");
	const cJSON *in = jget(o, "instance");
	if (cJSON_IsString(in))
		snprintf(r->instance, sizeof(r->instance), "%s", in->valuestring);
	r->partial = cJSON_IsTrue(jget(o, "partial"));
	const cJSON *req = jget(sum, "requests"), *thr = jget(sum, "throughput");
	r->ok = (uint64_t)jnum(req, "ok");
	r->failed = (uint64_t)jnum(req, "failed");
	r->shed = (uint64_t)jnum(jget(req, "failed_by"), "shed");
	r->errors = r->failed - (r->shed <= r->failed ? r->shed : r->failed);
	r->req_s = jnum(thr, "req_per_s");
	r->tok_s = jnum(thr, "output_tok_per_s");
	r->tok_s_user = jnum(thr, "output_tok_per_s_per_user");
	r->duration_s = jnum(sum, "duration_ns") / 1e9;
	const cJSON *t = jget(sum, "ttft"), *i = jget(sum, "itl"), *tp = jget(sum, "tpot"),
		    *e = jget(sum, "e2e");
	r->has_ttft = cJSON_IsObject(t) && jnum(t, "count") > 0;
	r->has_itl = cJSON_IsObject(i) && jnum(i, "count") > 0;
	r->ttft_p50 = jns(t, "p50_ns");
	r->ttft_p95 = jns(t, "p95_ns");
	r->ttft_p99 = jns(t, "p99_ns");
	r->itl_p50 = jns(i, "p50_ns");
	r->itl_p95 = jns(i, "p95_ns");
	r->itl_p99 = jns(i, "p99_ns");
	r->tpot_p50 = jns(tp, "p50_ns");
	r->tpot_p95 = jns(tp, "p95_ns");
	r->tpot_vllm_p50 = jns(jget(sum, "tpot_vllm"), "p50_ns");
	r->e2e_p50 = jns(e, "p50_ns");
	r->e2e_p95 = jns(e, "p95_ns");
	r->e2e_p99 = jns(e, "p99_ns");
	const cJSON *raw = jget(o, "raw");
	if (cJSON_IsObject(raw)) {
		r->has_raw = 1;
		r->raw_ttft_p95 = jns(jget(raw, "ttft"), "p95_ns");
		r->raw_e2e_p95 = jns(jget(raw, "e2e"), "p95_ns");
	}
	const cJSON *sv = jget(o, "server");
	r->load_p50 = jns(jget(sv, "load"), "p50_ns");
	r->queue_p50 = jns(jget(sv, "queue"), "p50_ns");
	r->queue_p95 = jns(jget(sv, "queue"), "p95_ns");
	r->server_ttft_p50 = jns(jget(sv, "ttft"), "p50_ns");
	const cJSON *cold = jget(o, "cold");
	r->cold = (uint64_t)jnum(cold, "count");
	r->cold_ttft_p50 = jns(jget(cold, "ttft"), "p50_ns");
	const cJSON *cl = jget(o, "client");
	r->cpu_pct = jnum(cl, "cpu_pct");
	r->send_lag_p99 = jns(cl, "send_lag_p99_ns");
	r->loop_lag_p99 = jns(cl, "loop_lag_p99_ns");
	r->limited = cJSON_IsTrue(jget(cl, "limited"));
	const cJSON *rs = jget(cl, "reason");
	if (cJSON_IsString(rs))
		snprintf(r->reason, sizeof(r->reason), "%s", rs->valuestring);
	/* "3 stall, 1 truncated: first message" */
	const cJSON *errs = jget(o, "errors"), *msgs = jget(o, "error_messages"), *it;
	struct buf b = BUF_INIT;
	const char *firstmsg = NULL;
	cJSON_ArrayForEach(it, errs) {
		if (!cJSON_IsNumber(it) || it->valuedouble <= 0)
			continue;
		buf_addf(&b, "%s%.0f %s", b.len ? ", " : "", it->valuedouble, it->string);
		const cJSON *m = jget(msgs, it->string);
		if (!firstmsg && cJSON_IsString(m))
			firstmsg = m->valuestring;
	}
	if (firstmsg)
		buf_addf(&b, " (%s)", firstmsg);
	text_sanitize(r->errsum, sizeof(r->errsum), buf_str(&b));
	buf_release(&b);
	cJSON_Delete(o);
	return 0;
}

/* ---- formatting ---- */

char *bench_fmt_ns(int64_t ns, int ascii, char *out, size_t n)
{
	units_fmt_duration(ns, out, n);
	char *mu = strstr(out, "\xc2\xb5");
	if (ascii && mu) {
		*mu = 'u';
		memmove(mu + 1, mu + 2, strlen(mu + 2) + 1);
	}
	return out;
}

char *bench_fmt_rate(double v, char *out, size_t n)
{
	if (v >= 1e6)
		snprintf(out, n, "%.1fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(out, n, "%.1fk", v / 1e3);
	else if (v >= 100)
		snprintf(out, n, "%.0f", v);
	else if (v >= 10)
		snprintf(out, n, "%.1f", v);
	else
		snprintf(out, n, "%.2f", v);
	return out;
}

/* Replace the few non-ASCII characters of the sentences. */
static void ascii_fold(struct buf *b, size_t from)
{
	static const char *const map[][2] = {
		{ "\xe2\x89\xa4", "<=" }, { "\xe2\x89\xa5", ">=" }, { "\xc3\x97", "x" },
		{ "\xe2\x80\x94", "-" }, { "\xc2\xb5", "u" }, { "\xe2\x80\x93", "-" },
	};
	struct buf o = BUF_INIT;
	const char *s = b->data ? b->data + from : "";
	while (*s) {
		size_t k;
		for (k = 0; k < ARRAY_SIZE(map); k++) {
			size_t l = strlen(map[k][0]);
			if (!strncmp(s, map[k][0], l)) {
				buf_adds(&o, map[k][1]);
				s += l;
				break;
			}
		}
		if (k == ARRAY_SIZE(map))
			buf_add(&o, s++, 1);
	}
	b->len = from;
	if (b->data)
		b->data[from] = '\0';
	buf_add(b, o.data ? o.data : "", o.len);
	buf_release(&o);
}

#define NCOL 11

void bench_table(const struct bench_row *rows, size_t n, int flags, struct buf *out)
{
	int ascii = flags & BENCH_VIEW_ASCII, ep = flags & BENCH_VIEW_ENDPOINT;
	int inst = 0;
	for (size_t i = 0; i < n; i++)
		if (rows[i].instance[0])
			inst = 1;
	const char *hdr_s[NCOL] = { "INSTANCE", flags & BENCH_VIEW_RATE ? "RATE" : "C", "OK",
				    "ERR", "REQ/S", "TOK/S", "TOK/S/U", "TTFT p50", "TTFT p95",
				    "ITL p50", "E2E p95" };
	const char *hdr_e[NCOL] = { "INSTANCE", flags & BENCH_VIEW_RATE ? "RATE" : "C", "OK",
				    "ERR", "REQ/S", "E2E p50", "E2E p95", "E2E p99", "", "", "" };
	const char *const *hdr = ep ? hdr_e : hdr_s;
	int ncol = ep ? 8 : NCOL;
	char (*cell)[NCOL][24] = xcalloc(n + 1, sizeof(*cell));
	size_t w[NCOL] = { 0 };
	for (int c = 0; c < ncol; c++) {
		snprintf(cell[0][c], 24, "%s", hdr[c]);
	}
	for (size_t i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];
		char (*cl)[24] = cell[i + 1];
		snprintf(cl[0], 24, "%s", r->instance[0] ? r->instance : "all");
		snprintf(cl[1], 24, "%g%s", r->x, r->partial ? "*" : "");
		snprintf(cl[2], 24, "%" PRIu64, r->ok);
		snprintf(cl[3], 24, "%" PRIu64, r->failed);
		bench_fmt_rate(r->req_s, cl[4], 24);
		if (ep) {
			bench_fmt_ns(r->e2e_p50, ascii, cl[5], 24);
			bench_fmt_ns(r->e2e_p95, ascii, cl[6], 24);
			bench_fmt_ns(r->e2e_p99, ascii, cl[7], 24);
			continue;
		}
		bench_fmt_rate(r->tok_s, cl[5], 24);
		bench_fmt_rate(r->tok_s_user, cl[6], 24);
		if (r->has_ttft) {
			bench_fmt_ns(r->ttft_p50, ascii, cl[7], 24);
			bench_fmt_ns(r->ttft_p95, ascii, cl[8], 24);
		} else {
			snprintf(cl[7], 24, "-");
			snprintf(cl[8], 24, "-");
		}
		if (r->has_itl)
			bench_fmt_ns(r->itl_p50, ascii, cl[9], 24);
		else
			snprintf(cl[9], 24, "-");
		if (r->ok)
			bench_fmt_ns(r->e2e_p95, ascii, cl[10], 24);
		else
			snprintf(cl[10], 24, "-");
	}
	for (size_t i = 0; i <= n; i++)
		for (int c = 0; c < ncol; c++) {
			const char *s = cell[i][c];
			size_t l = 0;
			for (; *s; s++)
				l += ((unsigned char)*s & 0xc0) != 0x80;
			if (l > w[c])
				w[c] = l;
		}
	for (size_t i = 0; i <= n; i++) {
		size_t start = out->len;
		for (int c = inst ? 0 : 1; c < ncol; c++) {
			const char *s = cell[i][c];
			size_t l = 0;
			for (const char *q = s; *q; q++)
				l += ((unsigned char)*q & 0xc0) != 0x80;
			if (c > (inst ? 0 : 1))
				buf_adds(out, "  ");
			if (c == 0) {
				buf_adds(out, s);
				for (size_t k = l; k < w[c]; k++)
					buf_add(out, " ", 1);
			} else {
				for (size_t k = l; k < w[c]; k++)
					buf_add(out, " ", 1);
				buf_adds(out, s);
			}
		}
		if (ascii)
			ascii_fold(out, start);
		buf_adds(out, "\n");
	}
	free(cell);
}

void bench_csv_header(struct buf *out)
{
	buf_adds(out, "index,instance,x,partial,ok,failed,shed,errors,cold,duration_s,req_per_s,"
		      "output_tok_per_s,output_tok_per_s_per_user,ttft_p50_ns,ttft_p95_ns,"
		      "ttft_p99_ns,itl_p50_ns,itl_p95_ns,tpot_p50_ns,e2e_p50_ns,e2e_p95_ns,"
		      "e2e_p99_ns,queue_p50_ns,load_p50_ns,server_ttft_p50_ns,client_cpu_pct,"
		      "client_limited,tpot_vllm_p50_ns\n");
}

void bench_csv_row(const struct bench_row *r, struct buf *out)
{
	/* Instance names are [A-Za-z0-9._-] in practice; quote anyway. */
	buf_addf(out, "%d,\"", r->index);
	for (const char *s = r->instance; *s; s++)
		if (*s == '"')
			buf_adds(out, "\"\"");
		else
			buf_add(out, s, 1);
	buf_adds(out, "\",");
	summary_json_number(out, r->x, 3);
	buf_addf(out, ",%d,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",",
		 r->partial, r->ok, r->failed, r->shed, r->errors, r->cold);
	summary_json_number(out, r->duration_s, 3);
	buf_adds(out, ",");
	summary_json_number(out, r->req_s, 3);
	buf_adds(out, ",");
	summary_json_number(out, r->tok_s, 3);
	buf_adds(out, ",");
	summary_json_number(out, r->tok_s_user, 3);
	buf_addf(out, ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
		 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",",
		 r->ttft_p50, r->ttft_p95, r->ttft_p99, r->itl_p50, r->itl_p95, r->tpot_p50,
		 r->e2e_p50, r->e2e_p95, r->e2e_p99, r->queue_p50, r->load_p50, r->server_ttft_p50);
	summary_json_number(out, r->cpu_pct, 1);
	buf_addf(out, ",%d,%" PRId64 "\n", r->limited, r->tpot_vllm_p50);
}

/* ---- knee ---- */

void bench_knee_report(const struct bench_row *rows, size_t n, int flags, int64_t slo_ns,
		       struct bench_knee *k, struct buf *text, struct buf *json)
{
	int ep = flags & BENCH_VIEW_ENDPOINT, ascii = flags & BENCH_VIEW_ASCII;
	memset(k, 0, sizeof(*k));
	struct knee_point *pts = xcalloc(n + 1, sizeof(*pts));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];
		if (r->instance[0] || r->partial || !r->ok)
			continue;
		if (m && r->x <= pts[m - 1].x)
			continue;
		pts[m].x = r->x;
		pts[m].throughput = ep ? r->req_s : r->tok_s;
		pts[m].p95_ns = ep || !r->has_ttft ? r->e2e_p95 : r->ttft_p95;
		pts[m].user_tok_s = r->tok_s_user;
		m++;
	}
	struct knee_opts o = KNEE_OPTS_INIT;
	o.slo_ns = slo_ns;
	o.metric = ep ? "E2E" : "TTFT";
	o.xkind = flags & BENCH_VIEW_RATE ? KNEE_X_RATE : KNEE_X_CONCURRENCY;
	struct knee_result kr;
	char err[ERR_MAX];
	if (!m || knee_find(pts, m, &o, &kr, err) < 0) {
		if (json)
			buf_adds(json, "null");
		free(pts);
		return;
	}
	k->found = 1;
	k->reason = kr.reason;
	k->x = kr.x_knee;
	k->next_x = kr.x_next;
	struct buf sent = BUF_INIT, ssent = BUF_INIT;
	knee_sentence(&kr, &o, &sent);
	struct knee_slots ks;
	if (!ep && !(flags & BENCH_VIEW_RATE)) {
		/*
		 * The slot shape is read from TTFT p95: the stream that waits longest waits
		 * ceil(c/S) - 1 rounds both in steady state and in a step too short to reach
		 * it (all c start together), where the median still reflects the start-up
		 * burst and reads too few rounds.
		 */
		for (size_t i = 0, j = 0; i < n && j < m; i++) {
			const struct bench_row *r = &rows[i];
			if (!r->instance[0] && !r->partial && r->ok && r->x == pts[j].x)
				pts[j++].p95_ns = r->ttft_p95;
		}
		if (knee_slots(pts, m, &ks) == 1) {
			k->has_slots = 1;
			k->slots = ks.slots;
			k->service_ns = ks.service_ns;
			knee_slots_sentence(&ks, "TTFT", &ssent);
		}
	}
	/* Imbalance between instances at the knee's level. */
	struct buf imb = BUF_INIT;
	double hi = -1, lo = -1;
	const char *hiname = "", *loname = "";
	for (size_t i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];
		if (!r->instance[0] || r->partial || r->x != k->x)
			continue;
		double v = ep ? r->req_s : r->tok_s;
		if (hi < 0 || v > hi) {
			hi = v;
			hiname = r->instance;
		}
		if (lo < 0 || v < lo) {
			lo = v;
			loname = r->instance;
		}
	}
	if (hi > 0 && lo >= 0 && (hi - lo) / hi >= 0.2)
		buf_addf(&imb, "imbalance at %g: %s gives %.0f%% less throughput than %s", k->x,
			 loname, 100 * (hi - lo) / hi, hiname);
	if (text) {
		size_t from = text->len;
		buf_addf(text, "%s\n", buf_str(&sent));
		if (ssent.len)
			buf_addf(text, "%s\n", buf_str(&ssent));
		if (imb.len)
			buf_addf(text, "%s\n", buf_str(&imb));
		if (ascii)
			ascii_fold(text, from);
	}
	if (json) {
		buf_addf(json, "{\"reason\":\"%s\",\"metric\":\"%s\",\"x\":", knee_reason_name(kr.reason),
			 ep ? "e2e" : "ttft");
		summary_json_number(json, kr.x_knee, 3);
		buf_adds(json, ",\"next_x\":");
		if (kr.next >= 0)
			summary_json_number(json, kr.x_next, 3);
		else
			buf_adds(json, "null");
		buf_adds(json, ",\"gain\":");
		summary_json_number(json, kr.gain_raw, 4);
		buf_adds(json, ",\"p95_ratio\":");
		summary_json_number(json, kr.p95_ratio, 3);
		buf_addf(json, ",\"slo_ns\":%" PRId64 ",\"sentence\":", slo_ns);
		buf_add_json_str(json, buf_str(&sent));
		if (k->has_slots) {
			buf_addf(json, ",\"slots\":%d,\"service_ns\":%" PRId64 ",\"slots_sentence\":",
				 ks.slots, ks.service_ns);
			buf_add_json_str(json, buf_str(&ssent));
		} else {
			buf_adds(json, ",\"slots\":null,\"service_ns\":null,\"slots_sentence\":null");
		}
		buf_adds(json, ",\"imbalance\":");
		if (imb.len)
			buf_add_json_str(json, buf_str(&imb));
		else
			buf_adds(json, "null");
		buf_adds(json, "}");
	}
	buf_release(&sent);
	buf_release(&ssent);
	buf_release(&imb);
	free(pts);
}

/* ---- documents ---- */

static void json_or_null(struct buf *out, const char *s)
{
	buf_adds(out, s && *s ? s : "null");
}

void bench_doc_json(struct buf *out, int64_t run, const char *status, int64_t started_ns,
		    int64_t finished_ns, const char *params, const char *fingerprint,
		    const char *summary, const char *const *steps, size_t n)
{
	char t[64];
	buf_addf(out, "{\"schema\":1,\"run\":%" PRId64 ",\"kind\":\"bench\",\"status\":", run);
	buf_add_json_str(out, status ? status : "");
	time_rfc3339nano(started_ns, 1, t, sizeof(t));
	buf_adds(out, ",\"started\":");
	buf_add_json_str(out, t);
	buf_adds(out, ",\"finished\":");
	if (finished_ns) {
		time_rfc3339nano(finished_ns, 1, t, sizeof(t));
		buf_add_json_str(out, t);
	} else {
		buf_adds(out, "null");
	}
	buf_adds(out, ",\"params\":");
	json_or_null(out, params);
	buf_adds(out, ",\"fingerprint\":");
	json_or_null(out, fingerprint);
	buf_adds(out, ",\"summary\":");
	json_or_null(out, summary);
	buf_adds(out, ",\"steps\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_adds(out, ",");
		json_or_null(out, steps[i]);
	}
	buf_adds(out, "]}");
}

int bench_params_view(const char *params, int64_t *slo_ns)
{
	struct bench_params p;
	bench_params_parse(params, &p);
	*slo_ns = p.slo_ns;
	return (!strcmp(p.mode, "open") ? BENCH_VIEW_RATE : 0) |
	       (!strcmp(p.api, "endpoint") ? BENCH_VIEW_ENDPOINT : 0);
}

/* ---- the human view ---- */

/* Append text (lines ending in '\n') to out, wrapping lines longer than width columns at
 * spaces, continuation lines indented by two. */
static void wrap_append(struct buf *out, const char *text, int width)
{
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		int indent = 0;
		while (len) {
			/* Find how many bytes fit in width - indent columns. */
			size_t cut = len, colsn = 0, lastsp = 0;
			for (size_t i = 0; i < len; i++) {
				if (((unsigned char)text[i] & 0xc0) != 0x80)
					colsn++;
				if (colsn > (size_t)(width - indent)) {
					cut = lastsp ? lastsp : i;
					break;
				}
				if (text[i] == ' ')
					lastsp = i;
			}
			if (indent)
				buf_adds(out, "  ");
			buf_add(out, text, cut);
			buf_adds(out, "\n");
			while (cut < len && text[cut] == ' ')
				cut++;
			text += cut;
			len -= cut;
			indent = 2;
		}
		if (!nl)
			break;
		if (!indent)
			buf_adds(out, "\n"); /* an empty line */
		text = nl + 1;
	}
}

void bench_render(const struct bench_row *rows, size_t n, int flags, int64_t slo_ns,
		  int width, int charts, struct buf *out)
{
	int ascii = flags & BENCH_VIEW_ASCII, ep = flags & BENCH_VIEW_ENDPOINT;
	const char *dash = ascii ? "-" : "\xe2\x80\x94";
	char d1[32], d2[32];
	bench_table(rows, n, flags, out);
	struct bench_knee k;
	struct buf text = BUF_INIT;
	bench_knee_report(rows, n, flags, slo_ns, &k, &text, NULL);
	if (text.len) {
		buf_adds(out, "\n");
		wrap_append(out, buf_str(&text), width);
	}
	buf_release(&text);
	struct buf nb = BUF_INIT;
	struct buf *keep = out;
	out = &nb;
	size_t from = out->len;
	int notes = 0;
	for (size_t i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];
		char lab[96];
		snprintf(lab, sizeof(lab), "%s%g%s%s", flags & BENCH_VIEW_RATE ? "rate " : "c=",
			 r->x, r->instance[0] ? " " : "", r->instance);
		if (!notes++)
			buf_adds(out, "\n");
		if (r->partial)
			buf_addf(out, "%s: interrupted, partial step\n", lab);
		if (r->shed)
			buf_addf(out, "%s: %" PRIu64 " requests shed (503, server queue full) %s "
				 "load shedding, not failures\n", lab, r->shed, dash);
		if (r->errors && r->errsum[0])
			buf_addf(out, "%s: %" PRIu64 " failed: %s\n", lab, r->errors, r->errsum);
		if (r->cold)
			buf_addf(out, "%s: %" PRIu64 " request%s hit a cold load (TTFT p50 %s), "
				 "reported apart\n", lab, r->cold, r->cold == 1 ? "" : "s",
				 bench_fmt_ns(r->cold_ttft_p50, ascii, d1, sizeof(d1)));
		if (r->has_raw && r->ok) {
			char d3[32];
			buf_addf(out, "%s: %s p95 %s from the planned send, %s from the actual send; "
				 "schedule lag p99 %s\n", lab, ep ? "E2E" : "TTFT",
				 bench_fmt_ns(ep ? r->e2e_p95 : r->ttft_p95, ascii, d1, sizeof(d1)),
				 bench_fmt_ns(ep ? r->raw_e2e_p95 : r->raw_ttft_p95, ascii, d2,
					      sizeof(d2)),
				 bench_fmt_ns(r->send_lag_p99, ascii, d3, sizeof(d3)));
		}
		if ((flags & BENCH_VIEW_RATE) && r->ok && !r->partial && r->req_s < 0.75 * r->x)
			buf_addf(out, "%s: %.1f req/s done of %g offered %s the server cannot keep up\n",
				 lab, r->req_s, r->x, dash);
		if (r->limited)
			buf_addf(out, "%s: warning: the client may be the limit (%s)\n", lab,
				 r->reason);
		if (!ep && r->ok && r->queue_p95 > 0 && !r->instance[0] &&
		    r->queue_p50 > r->server_ttft_p50 / 2 && r->queue_p50 > 1000000)
			buf_addf(out, "%s: requests waited %s (p50) for a parallel slot\n", lab,
				 bench_fmt_ns(r->queue_p50, ascii, d1, sizeof(d1)));
	}
	if (out->len == from + 1) {
		out->len = from;
		out->data[from] = '\0';
	}
	out = keep;
	if (nb.len)
		wrap_append(out, buf_str(&nb), width);
	buf_release(&nb);
	if (!charts)
		return;
	/* Charts over the rows that cover the whole target. */
	const char **labels = xcalloc(n + 1, sizeof(char *));
	const char **texts = xcalloc(n + 1, sizeof(char *));
	double *a = xcalloc(n + 1, sizeof(double)), *b = xcalloc(n + 1, sizeof(double));
	char (*lab)[32] = xcalloc(n + 1, sizeof(*lab));
	char (*txt)[64] = xcalloc(n + 1, sizeof(*txt));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];
		if (r->instance[0] || !r->ok)
			continue;
		snprintf(lab[m], 32, "%g", r->x);
		labels[m] = lab[m];
		int64_t p50 = ep || !r->has_ttft ? r->e2e_p50 : r->ttft_p50;
		int64_t p95 = ep || !r->has_ttft ? r->e2e_p95 : r->ttft_p95;
		a[m] = (double)p50;
		b[m] = (double)p95;
		snprintf(txt[m], 64, "%s / %s", bench_fmt_ns(p50, ascii, d1, sizeof(d1)),
			 bench_fmt_ns(p95, ascii, d2, sizeof(d2)));
		texts[m] = txt[m];
		m++;
	}
	if (m) {
		char title[160];
		snprintf(title, sizeof(title), "\n%s p50 %s p95 %s by %s",
			 ep || !rows[0].has_ttft ? "E2E" : "TTFT", ascii ? "#" : "\xe2\x96\x88",
			 ascii ? "=" : "\xe2\x96\x91",
			 flags & BENCH_VIEW_RATE ? "rate (req/s)" : "concurrency");
		chart_bars(out, title, labels, a, b, texts, m, width, !ascii);
		for (size_t i = 0, j = 0; i < n && j < m; i++) {
			const struct bench_row *r = &rows[i];
			if (r->instance[0] || !r->ok)
				continue;
			a[j] = ep ? r->req_s : r->tok_s;
			char v[32];
			snprintf(txt[j], 64, "%s %s", bench_fmt_rate(a[j], v, sizeof(v)),
				 ep ? "req/s" : "tok/s");
			j++;
		}
		snprintf(title, sizeof(title), "\n%s by %s",
			 ep ? "Requests per second" : "Output tokens per second (all streams)",
			 flags & BENCH_VIEW_RATE ? "rate (req/s)" : "concurrency");
		chart_bars(out, title, labels, a, NULL, texts, m, width, !ascii);
	}
	free(labels);
	free(texts);
	free(a);
	free(b);
	free(lab);
	free(txt);
}
