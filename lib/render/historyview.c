/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The history view: the table of recorded runs, their one-line summaries, and JSON. */
#include "../compat.h"
#include "historyview.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render.h"
#include "../bench/result.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

/* Longest SUMMARY cell, in bytes. */
#define SUMMARY_MAX 64

static enum render_color status_color(const char *status)
{
	if (!strcmp(status, "ok"))
		return COLOR_OK;
	if (!strcmp(status, "warn"))
		return COLOR_WARN;
	if (!strcmp(status, "failed") || !strcmp(status, "crit") || !strcmp(status, "error"))
		return COLOR_CRIT;
	if (!strcmp(status, "running"))
		return COLOR_BOLD;
	if (!strcmp(status, "aborted"))
		return COLOR_DIM;
	return COLOR_NONE;
}

/* Local wall time "2026-11-23 18:40:12". */
void history_fmt_local(int64_t ns, char *out, size_t n)
{
	time_t secs = (time_t)(ns / 1000000000LL);
	struct tm tm;
	if (ns <= 0 || !localtime_r(&secs, &tm) || !strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(out, n, "-");
}

/* Shorten s to at most max bytes, on a UTF-8 boundary, ending in "..." when cut. */
static void utf8_trunc(char *s, size_t max)
{
	if (max < 4 || strlen(s) <= max)
		return;
	size_t cut = max - 3;
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	memcpy(s + cut, "...", 4);
}

/* Does key end with suffix? */
static int ends_with(const char *key, const char *suffix)
{
	size_t k = strlen(key), s = strlen(suffix);
	return k >= s && !strcmp(key + k - s, suffix);
}

static void fmt_number(double v, char *out, size_t n)
{
	if (fabs(v) < 1e15 && (v == floor(v) || fabs(v) >= 100))
		snprintf(out, n, "%.0f", v);
	else
		snprintf(out, n, "%.3g", v);
}

/* A duration in ns from JSON, guarding against values no int64 holds. */
static void fmt_ns(double v, char *out, size_t n)
{
	if (fabs(v) < 9e18)
		units_fmt_duration((int64_t)v, out, n);
	else
		snprintf(out, n, "%.3gs", v / 1e9);
}

/* Headline of a bench summary: "p95 ttft 812ms, 123 tok/s, 4.1 req/s, 2 errors". */
static int summary_bench(const char *json, struct buf *b)
{
	struct bench_summary s;
	char num[48];
	int parts = 0;
	if (bench_summary_parse(json, &s, NULL) < 0)
		return 0;
	if (s.has & BENCH_HAS_TTFT_P95) {
		fmt_ns((double)s.ttft_p95_ns, num, sizeof(num));
		buf_addf(b, "p95 ttft %s", num);
		parts++;
	}
	if (s.has & BENCH_HAS_TOK_S) {
		fmt_number(s.tok_s, num, sizeof(num));
		buf_addf(b, "%s%s tok/s", parts++ ? ", " : "", num);
	}
	if (s.has & BENCH_HAS_REQ_S) {
		fmt_number(s.req_s, num, sizeof(num));
		buf_addf(b, "%s%s req/s", parts++ ? ", " : "", num);
	}
	if (parts && (s.has & BENCH_HAS_ERRORS) && s.errors > 0)
		buf_addf(b, ", %" PRIu64 " errors", s.errors);
	bench_summary_release(&s);
	return parts;
}

/* Generic headline: the first few scalar members as key=value ("_ns" keys as durations). */
static void summary_generic(const cJSON *o, struct buf *b)
{
	int shown = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, o) {
		if (shown == 4 || !it->string)
			break;
		char val[64];
		char key[32];
		size_t klen = strlen(it->string);
		int is_ns = cJSON_IsNumber(it) && klen > 3 && ends_with(it->string, "_ns");
		snprintf(key, sizeof(key), "%.*s", (int)(is_ns ? klen - 3 : klen), it->string);
		utf8_trunc(key, 24);
		if (cJSON_IsNumber(it)) {
			if (is_ns) {
				fmt_ns(it->valuedouble, val, sizeof(val));
			} else {
				fmt_number(it->valuedouble, val, sizeof(val));
			}
		} else if (cJSON_IsString(it)) {
			snprintf(val, sizeof(val), "%s", it->valuestring);
			utf8_trunc(val, 24);
		} else if (cJSON_IsBool(it)) {
			snprintf(val, sizeof(val), "%s", cJSON_IsTrue(it) ? "true" : "false");
		} else {
			continue;
		}
		buf_addf(b, "%s%s=%s", shown++ ? " " : "", key, val);
	}
}

/* A short one-line summary of a run for the table (sanitized by the table). */
char *history_summary_cell(const struct store_run *r)
{
	if (!r->summary || !*r->summary)
		return xstrdup("");
	struct buf b = BUF_INIT;
	cJSON *o = cJSON_ParseWithOpts(r->summary, NULL, 1);
	if (cJSON_IsObject(o)) {
		if (strcmp(r->kind, "bench") || !summary_bench(r->summary, &b))
			summary_generic(o, &b);
	} else {
		buf_adds(&b, r->summary);
	}
	cJSON_Delete(o);
	char *s = buf_detach(&b);
	utf8_trunc(s, SUMMARY_MAX);
	return s;
}

void history_table(FILE *out, const struct store_run *runs, size_t n, int color)
{
	static const char *const headers[] = { "ID",       "KIND",   "STATUS", "STARTED",
					       "DURATION", "TARGET", "SUMMARY" };
	struct table t;
	table_init(&t, ARRAY_SIZE(headers), headers);
	table_set_align(&t, 0, TABLE_RIGHT);
	table_set_align(&t, 4, TABLE_RIGHT);
	for (size_t i = 0; i < n; i++) {
		const struct store_run *r = &runs[i];
		size_t row = table_add_row(&t);
		char started[64], dur[48];
		history_fmt_local(r->started_ns, started, sizeof(started));
		if (r->finished_ns <= 0)
			snprintf(dur, sizeof(dur), "running");
		else if (r->started_ns >= 0 && r->finished_ns >= r->started_ns)
			units_fmt_duration(r->finished_ns - r->started_ns, dur, sizeof(dur));
		else
			snprintf(dur, sizeof(dur), "-");
		char *summary = history_summary_cell(r);
		table_set(&t, row, 0, "%" PRId64, r->id);
		table_set(&t, row, 1, "%s", r->kind);
		table_set(&t, row, 2, "%s", r->status);
		table_set_color(&t, row, 2, status_color(r->status));
		table_set(&t, row, 3, "%s", started);
		table_set(&t, row, 4, "%s", dur);
		table_set(&t, row, 5, "%s", r->target);
		table_set(&t, row, 6, "%s", summary);
		free(summary);
	}
	table_print(&t, out, color);
	table_release(&t);
}

/* A JSON column embedded as JSON; malformed text as a string; NULL as null. */
static cJSON *json_column(const char *text)
{
	if (!text)
		return cJSON_CreateNull();
	cJSON *v = cJSON_ParseWithOpts(text, NULL, 1);
	return v ? v : cJSON_CreateString(text);
}

/* An int64 without the precision loss of a double (ns since the epoch exceed 2^53). */
static void add_int64(cJSON *obj, const char *key, int64_t v)
{
	char num[32];
	snprintf(num, sizeof(num), "%" PRId64, v);
	cJSON_AddRawToObject(obj, key, num);
}

int history_json(const struct store_run *runs, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct store_run *r = &runs[i];
		cJSON *o = cJSON_CreateObject();
		char ts[64];
		add_int64(o, "id", r->id);
		cJSON_AddStringToObject(o, "kind", r->kind);
		cJSON_AddStringToObject(o, "status", r->status);
		time_rfc3339nano(r->started_ns, 1, ts, sizeof(ts));
		cJSON_AddStringToObject(o, "started", ts);
		add_int64(o, "started_ns", r->started_ns);
		if (r->finished_ns > 0) {
			time_rfc3339nano(r->finished_ns, 1, ts, sizeof(ts));
			cJSON_AddStringToObject(o, "finished", ts);
			add_int64(o, "finished_ns", r->finished_ns);
			if (r->started_ns >= 0 && r->finished_ns >= r->started_ns)
				add_int64(o, "duration_ns", r->finished_ns - r->started_ns);
			else
				cJSON_AddNullToObject(o, "duration_ns");
		} else {
			cJSON_AddNullToObject(o, "finished");
			cJSON_AddNullToObject(o, "finished_ns");
			cJSON_AddNullToObject(o, "duration_ns");
		}
		cJSON_AddStringToObject(o, "target", r->target);
		cJSON_AddItemToObject(o, "fingerprint", json_column(r->fingerprint));
		cJSON_AddItemToObject(o, "params", json_column(r->params));
		cJSON_AddItemToObject(o, "summary", json_column(r->summary));
		char *text = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (!text)
			return -1;
		/* One run per line: easy to read, to grep and to diff. */
		buf_addf(out, "%s%s", i ? ",\n" : "[\n", text);
		cJSON_free(text);
	}
	buf_adds(out, n ? "\n]\n" : "[]\n");
	return 0;
}

void history_prune_json(const struct store_prune_counts *c, int64_t before_ns, const char *kind,
			int dry_run, int complete, struct buf *out)
{
	char ts[64];
	time_rfc3339nano(before_ns, 1, ts, sizeof(ts));
	cJSON *j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "dry_run", dry_run);
	cJSON_AddStringToObject(j, "before", ts);
	if (kind)
		cJSON_AddStringToObject(j, "kind", kind);
	else
		cJSON_AddNullToObject(j, "kind");
	add_int64(j, "runs", c->runs);
	add_int64(j, "steps", c->steps);
	add_int64(j, "samples", c->samples);
	add_int64(j, "probes", c->probes);
	cJSON_AddBoolToObject(j, "complete", complete);
	char *text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (text)
		buf_addf(out, "%s\n", text);
	cJSON_free(text);
}
