/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Stored bench runs read back: run, steps, rows; and fingerprint differences. */
#include "../compat.h"
#include "run.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "../util/buf.h"
#include "../util/util.h"
#include "../banned.h"

int bench_run_id_parse(const char *s, int64_t *id)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || v <= 0)
		return -1;
	*id = v;
	return 0;
}

int bench_run_load(struct store *s, int64_t id, struct bench_run *r, char *err)
{
	memset(r, 0, sizeof(*r));
	int f = store_run_get(s, id, &r->run, err);
	if (f < 0)
		return -1;
	if (f == 0) {
		seterr(err, "no run %" PRId64 " in the store", id);
		return 1;
	}
	if (strcmp(r->run.kind, "bench")) {
		seterr(err, "run %" PRId64 " is a %s run, not a bench run", id, r->run.kind);
		store_run_clear(&r->run);
		memset(r, 0, sizeof(*r));
		return 1;
	}
	if (store_steps_list(s, id, &r->steps, &r->nsteps, err) < 0) {
		store_run_clear(&r->run);
		memset(r, 0, sizeof(*r));
		return -1;
	}
	r->rows = xcalloc(r->nsteps + 1, sizeof(*r->rows));
	for (size_t i = 0; i < r->nsteps; i++) {
		char e[ERR_MAX];
		if (!r->steps[i].summary || bench_row_parse(r->steps[i].summary, &r->rows[i], e) < 0)
			memset(&r->rows[i], 0, sizeof(r->rows[i]));
	}
	r->flags = bench_params_view(r->run.params, &r->slo_ns);
	return 0;
}

static void live_from_summary(struct bench_live *l, const char *json)
{
	struct bench_summary s;
	if (!json || bench_summary_parse(json, &s, NULL) < 0)
		return;
	if (s.kind == BENCH_SUMMARY_PROGRESS) {
		text_sanitize(l->step, sizeof(l->step), s.step);
		if (s.has & BENCH_HAS_P95)
			l->p95_ns = s.p95_ns;
		if (s.has & BENCH_HAS_OK)
			l->requests = (int64_t)s.ok;
	}
	if (s.has & BENCH_HAS_ERRORS)
		l->errors = (int64_t)s.errors;
	bench_summary_release(&s);
}

static void live_from_step(struct bench_live *l, const char *json)
{
	struct bench_step *st = xcalloc(1, sizeof(*st));
	if (json && bench_step_parse(json, st, NULL) == 0) {
		const struct summary *sm = &st->summary;
		if (!l->step[0])
			text_sanitize(l->step, sizeof(l->step), st->label);
		if (l->p95_ns < 0 && sm->has[SUMMARY_E2E])
			l->p95_ns = sm->stat[SUMMARY_E2E].p95;
		else if (l->p95_ns < 0 && sm->has[SUMMARY_TTFT])
			l->p95_ns = sm->stat[SUMMARY_TTFT].p95;
		if (l->errors < 0)
			l->errors = (int64_t)sm->failed;
		if (l->requests < 0)
			l->requests = (int64_t)sm->ok;
	}
	free(st);
}

int bench_live_read(struct store *s, struct bench_live *out, char *err)
{
	struct store_run *runs = NULL;
	size_t n = 0;
	int found = 0;
	memset(out, 0, sizeof(*out));
	out->p95_ns = out->errors = out->requests = -1;
	if (store_runs_list(s, "bench", 10, &runs, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && !found; i++) {
		if (strcmp(runs[i].status, "running"))
			continue;
		found = 1;
		out->run_id = runs[i].id;
		text_sanitize(out->target, sizeof(out->target), runs[i].target);
		out->started_ns = runs[i].started_ns;
		live_from_summary(out, runs[i].summary);
		struct store_step *steps = NULL;
		size_t ns = 0;
		if (store_steps_list(s, runs[i].id, &steps, &ns, NULL) == 0 && ns > 0)
			live_from_step(out, steps[ns - 1].summary);
		store_steps_free(steps, ns);
	}
	store_runs_free(runs, n);
	return found;
}

void bench_run_release(struct bench_run *r)
{
	store_run_clear(&r->run);
	store_steps_free(r->steps, r->nsteps);
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

/* Flatten a JSON value into "path=value" leaves. */
static void flatten(const cJSON *v, const char *path, cJSON *out)
{
	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		const cJSON *it;
		int i = 0;
		cJSON_ArrayForEach(it, v) {
			char p[512];
			if (cJSON_IsArray(v))
				snprintf(p, sizeof(p), "%s[%d]", path, i);
			else
				snprintf(p, sizeof(p), "%s%s%s", path, *path ? "." : "", it->string);
			flatten(it, p, out);
			i++;
		}
		return;
	}
	char *s = cJSON_PrintUnformatted(v);
	cJSON_AddStringToObject(out, path, s ? s : "?");
	free(s);
}

int bench_fingerprint_diff(const char *a, const char *b, struct buf *out)
{
	cJSON *ja = a ? cJSON_Parse(a) : NULL, *jb = b ? cJSON_Parse(b) : NULL;
	cJSON *fa = cJSON_CreateObject(), *fb = cJSON_CreateObject();
	if (ja)
		flatten(ja, "", fa);
	if (jb)
		flatten(jb, "", fb);
	int n = 0;
	const cJSON *it;
	char line[1024], clean[1024];
	cJSON_ArrayForEach(it, fa) {
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(fb, it->string);
		if (o && !strcmp(o->valuestring, it->valuestring))
			continue;
		snprintf(line, sizeof(line), "  %s: %s -> %s", it->string, it->valuestring,
			 o ? o->valuestring : "(absent)");
		buf_addf(out, "%s\n", text_sanitize(clean, sizeof(clean), line));
		n++;
	}
	cJSON_ArrayForEach(it, fb) {
		if (cJSON_GetObjectItemCaseSensitive(fa, it->string))
			continue;
		snprintf(line, sizeof(line), "  %s: (absent) -> %s", it->string, it->valuestring);
		buf_addf(out, "%s\n", text_sanitize(clean, sizeof(clean), line));
		n++;
	}
	cJSON_Delete(ja);
	cJSON_Delete(jb);
	cJSON_Delete(fa);
	cJSON_Delete(fb);
	return n;
}
