/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Bench results as data: histogram blobs, rows, CSV, the knee and the result document. */
#include "../compat.h"
#include "report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "../stats/hist.h"
#include "../stats/knee.h"
#include "../stats/summary.h"
#include "../util/buf.h"
#include "../util/util.h"
#include "../banned.h"

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

int bench_step_json(const struct bench_acc *a, const struct bench_step_info *si,
		    struct buf *out, char *err)
{
	struct bench_step st;
	if (bench_step_compute(a, si, &st, err) < 0)
		return -1;
	if (bench_step_to_json(&st, out) < 0)
		return seterr(err, "step JSON too large");
	return 0;
}

void bench_row_from_step(const struct bench_step *st, struct bench_row *r)
{
	memset(r, 0, sizeof(*r));
	const struct summary *s = &st->summary;
	r->index = st->index;
	r->x = st->x;
	strlcpy_(r->instance, st->instance, sizeof(r->instance));
	r->partial = st->partial;
	r->ok = s->ok;
	r->failed = s->failed;
	r->shed = s->failed_by[SUMMARY_FAIL_SHED];
	r->errors = r->failed - (r->shed <= r->failed ? r->shed : r->failed);
	r->req_s = s->req_per_s;
	r->tok_s = s->output_tok_per_s;
	r->tok_s_user = s->output_tok_per_s_per_user;
	r->duration_s = (double)s->duration_ns / 1e9;
	const struct summary_stat *t = &s->stat[SUMMARY_TTFT], *i = &s->stat[SUMMARY_ITL],
				  *e = &s->stat[SUMMARY_E2E];
	r->has_ttft = s->has[SUMMARY_TTFT] && t->count > 0;
	r->has_itl = s->has[SUMMARY_ITL] && i->count > 0;
	r->ttft_p50 = t->p50;
	r->ttft_p95 = t->p95;
	r->ttft_p99 = t->p99;
	r->itl_p50 = i->p50;
	r->itl_p95 = i->p95;
	r->itl_p99 = i->p99;
	r->tpot_p50 = s->stat[SUMMARY_TPOT].p50;
	r->tpot_p95 = s->stat[SUMMARY_TPOT].p95;
	r->tpot_vllm_p50 = s->has[SUMMARY_TPOT_VLLM] ? s->stat[SUMMARY_TPOT_VLLM].p50 : 0;
	r->e2e_p50 = e->p50;
	r->e2e_p95 = e->p95;
	r->e2e_p99 = e->p99;
	if (st->has_raw) {
		r->has_raw = 1;
		r->raw_ttft_p95 = st->raw_ttft.p95;
		r->raw_e2e_p95 = st->raw_e2e.p95;
	}
	r->load_p50 = st->server[BS_LOAD].p50;
	r->queue_p50 = st->server[BS_QUEUE].p50;
	r->queue_p95 = st->server[BS_QUEUE].p95;
	r->server_ttft_p50 = st->server[BS_TTFT].p50;
	r->cold = st->cold;
	r->cold_ttft_p50 = st->cold_ttft.p50;
	r->cpu_pct = st->client.cpu_pct;
	r->send_lag_p99 = st->client.send_lag_p99;
	r->loop_lag_p99 = st->client.loop_lag_p99;
	r->limited = st->client.limited;
	snprintf(r->reason, sizeof(r->reason), "%s", st->client.reason);
	r->coalesced_pct = st->client.coalesced_pct;
	r->conns = st->connect.count;
	r->connect_p50 = st->connect.p50;
	r->first_n = st->first_ttft.count;
	r->first_ttft_p99 = st->first_ttft.p99;
	r->later_ttft_p99 = st->later_ttft.has ? st->later_ttft.p99 : 0;
	/* "3 stall, 1 truncated: first message" */
	struct buf b = BUF_INIT;
	const char *firstmsg = NULL;
	for (int k = 0; k < BENCH_E_N; k++) {
		if (!st->err[k])
			continue;
		buf_addf(&b, "%s%" PRIu64 " %s", b.len ? ", " : "", st->err[k], bench_err_name(k));
		if (!firstmsg && st->msg[k][0])
			firstmsg = st->msg[k];
	}
	if (firstmsg)
		buf_addf(&b, " (%s)", firstmsg);
	text_sanitize(r->errsum, sizeof(r->errsum), buf_str(&b));
	buf_release(&b);
}

int bench_row_parse(const char *json, struct bench_row *r, char *err)
{
	struct bench_step st;
	memset(r, 0, sizeof(*r));
	if (bench_step_parse(json, &st, err) < 0)
		return -1;
	bench_row_from_step(&st, r);
	return 0;
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
	int ep = flags & BENCH_VIEW_ENDPOINT;
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
		buf_addf(text, "%s\n", buf_str(&sent));
		if (ssent.len)
			buf_addf(text, "%s\n", buf_str(&ssent));
		if (imb.len)
			buf_addf(text, "%s\n", buf_str(&imb));
	}
	k->has_next = kr.next >= 0;
	k->gain = kr.gain_raw;
	k->p95_ratio = kr.p95_ratio;
	k->slo_ns = slo_ns;
	k->endpoint = ep != 0;
	snprintf(k->sentence, sizeof(k->sentence), "%s", buf_str(&sent));
	snprintf(k->slots_sentence, sizeof(k->slots_sentence), "%s", buf_str(&ssent));
	snprintf(k->imbalance, sizeof(k->imbalance), "%s", buf_str(&imb));
	if (json)
		bench_knee_to_json(k, json);
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
