/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The deploy document: its one writer (deploy_plan_json, deploy_action_json) and its one
 * reader (deploy_plan_parse), and the run in the store (kind "deploy": one step per
 * finished action, the whole document as the run's summary).
 */
#include "../compat.h"
#include "deploy.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

static void kv_str(struct buf *b, const char *k, const char *v, int comma)
{
	buf_addf(b, "%s\"%s\":", comma ? "," : "", k);
	buf_add_json_str(b, v ? v : "");
}

void deploy_action_json(struct buf *b, const struct deploy_plan *p, size_t i)
{
	const struct deploy_action *a = &p->a[i];
	buf_adds(b, "{");
	kv_str(b, "kind", deploy_kind_name(a->kind), 0);
	kv_str(b, "instance", a->inst < p->ninst ? p->inst[a->inst].name : "", 1);
	kv_str(b, "model", a->model, 1);
	buf_addf(b, ",\"size\":%" PRIu64, a->size);
	if (a->have_digest[0])
		kv_str(b, "have_digest", a->have_digest, 1);
	if (a->want_digest[0])
		kv_str(b, "want_digest", a->want_digest, 1);
	if (a->kind == DEPLOY_PRELOAD) {
		if (a->has_keep_alive) {
			char ka[64];
			if (a->keep_alive_ns == DURATION_FOREVER)
				snprintf(ka, sizeof(ka), "-1");
			else
				units_go_duration(a->keep_alive_ns, ka, sizeof(ka));
			kv_str(b, "keep_alive", ka, 1);
		}
		if (a->num_ctx)
			buf_addf(b, ",\"num_ctx\":%d", a->num_ctx);
	}
	if (a->note[0])
		kv_str(b, "note", a->note, 1);
	if (p->applied) {
		kv_str(b, "state", deploy_state_name(a->state), 1);
		buf_addf(b, ",\"attempts\":%d,\"duration_ns\":%" PRId64, a->attempts,
			 a->duration_ns);
		if (a->kind == DEPLOY_PULL || a->kind == DEPLOY_UPDATE)
			buf_addf(b, ",\"completed\":%" PRId64 ",\"total\":%" PRId64
				 ",\"resumed_from\":%" PRId64, a->completed, a->total,
				 a->resumed_from);
		if (a->err[0])
			kv_str(b, "error", a->err, 1);
	}
	buf_adds(b, "}");
}

void deploy_plan_json(struct buf *b, const struct deploy_plan *p)
{
	size_t failed = 0;
	for (size_t i = 0; i < p->n; i++)
		failed += p->a[i].state == DEPLOY_FAILED;
	/* the first scalars are what `obridge history` shows */
	buf_addf(b, "{\"pending\":%zu,\"matched\":%zu,\"instances\":%zu,\"failed\":%zu",
		 deploy_plan_pending(p), p->matched, p->nselected, failed);
	buf_addf(b, ",\"applied\":%s,\"interrupted\":%s,\"shared_store\":%s,\"prune\":%s",
		 p->applied ? "true" : "false", p->interrupted ? "true" : "false",
		 p->shared_store ? "true" : "false", p->prune ? "true" : "false");
	buf_adds(b, ",\"counts\":{");
	for (int k = 0; k < DEPLOY__N; k++)
		buf_addf(b, "%s\"%s\":%zu", k ? "," : "", deploy_kind_name(k), p->count[k]);
	buf_addf(b, ",\"unreachable\":%zu}", p->unreachable);
	buf_adds(b, ",\"fleet\":[");
	for (size_t i = 0; i < p->ninst; i++) {
		const struct deploy_inst *d = &p->inst[i];
		buf_adds(b, i ? ",{" : "{");
		kv_str(b, "name", d->name, 0);
		kv_str(b, "url", d->url, 1);
		buf_addf(b, ",\"selected\":%s,\"reachable\":%s", d->selected ? "true" : "false",
			 d->reachable ? "true" : "false");
		kv_str(b, "version", d->version, 1);
		if (d->err[0])
			kv_str(b, "error", d->err, 1);
		if (d->verified) {
			buf_addf(b, ",\"matched\":%s", d->matched ? "true" : "false");
			if (d->verify[0])
				kv_str(b, "verify", d->verify, 1);
		}
		buf_adds(b, "}");
	}
	buf_adds(b, "],\"actions\":[");
	for (size_t i = 0; i < p->n; i++) {
		if (i)
			buf_adds(b, ",");
		deploy_action_json(b, p, i);
	}
	buf_adds(b, "],\"lints\":[");
	for (size_t i = 0; i < p->nlints; i++) {
		if (i)
			buf_adds(b, ",");
		buf_add_json_str(b, p->lints[i]);
	}
	buf_adds(b, "]}");
}

static void csv_field(struct buf *b, const char *s)
{
	buf_adds(b, "\"");
	for (; *s; s++) {
		if (*s == '"')
			buf_adds(b, "\"");
		buf_add(b, s, 1);
	}
	buf_adds(b, "\"");
}

void deploy_actions_csv(struct buf *b, const struct deploy_plan *p)
{
	buf_adds(b, "instance,action,model,state,attempts,duration_ns,completed,total,"
		    "resumed_from,error\n");
	for (size_t i = 0; i < p->n; i++) {
		const struct deploy_action *a = &p->a[i];
		csv_field(b, a->inst < p->ninst ? p->inst[a->inst].name : "");
		buf_addf(b, ",%s,", deploy_kind_name(a->kind));
		csv_field(b, a->model);
		buf_addf(b, ",%s,%d,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",",
			 deploy_state_name(a->state), a->attempts, a->duration_ns, a->completed,
			 a->total, a->resumed_from);
		csv_field(b, a->err);
		buf_adds(b, "\n");
	}
}

/* ---- reader ---- */

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int jbool(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static size_t inst_index(struct deploy_plan *p, const char *name)
{
	for (size_t i = 0; i < p->ninst; i++)
		if (!strcmp(p->inst[i].name, name))
			return i;
	p->inst = xrealloc(p->inst, (p->ninst + 1) * sizeof(*p->inst));
	struct deploy_inst *d = &p->inst[p->ninst];
	memset(d, 0, sizeof(*d));
	d->name = xstrdup(name);
	d->url = xstrdup("");
	d->selected = d->reachable = 1;
	return p->ninst++;
}

static int kind_of(const char *s)
{
	for (int k = 0; k < DEPLOY__N; k++)
		if (!strcmp(deploy_kind_name(k), s))
			return k;
	return -1;
}

static int state_of(const char *s)
{
	for (int k = DEPLOY_PENDING; k <= DEPLOY_SKIPPED; k++)
		if (!strcmp(deploy_state_name(k), s))
			return k;
	return DEPLOY_PENDING;
}

static int parse_action(const cJSON *o, struct deploy_plan *p, char *err)
{
	int k = kind_of(jstr(o, "kind"));
	if (!cJSON_IsObject(o) || k < 0 || !*jstr(o, "model"))
		return seterr(err, "deploy action without a known kind and a model");
	size_t inst = inst_index(p, jstr(o, "instance"));
	p->a = xrealloc(p->a, (p->n + 1) * sizeof(*p->a));
	struct deploy_action *a = &p->a[p->n++];
	memset(a, 0, sizeof(*a));
	a->kind = (enum deploy_kind)k;
	a->inst = inst;
	a->model = xstrdup(jstr(o, "model"));
	a->size = (uint64_t)jnum(o, "size");
	snprintf(a->have_digest, sizeof(a->have_digest), "%s", jstr(o, "have_digest"));
	snprintf(a->want_digest, sizeof(a->want_digest), "%s", jstr(o, "want_digest"));
	snprintf(a->note, sizeof(a->note), "%s", jstr(o, "note"));
	a->num_ctx = (int)jnum(o, "num_ctx");
	const char *ka = jstr(o, "keep_alive");
	char e2[ERR_MAX];
	if (*ka && units_parse_duration(ka, &a->keep_alive_ns, UNITS_NEG_FOREVER, e2) == 0)
		a->has_keep_alive = 1;
	a->state = (enum deploy_state)state_of(jstr(o, "state"));
	a->attempts = (int)jnum(o, "attempts");
	a->duration_ns = (int64_t)jnum(o, "duration_ns");
	a->completed = (int64_t)jnum(o, "completed");
	a->total = (int64_t)jnum(o, "total");
	a->resumed_from = (int64_t)jnum(o, "resumed_from");
	snprintf(a->err, sizeof(a->err), "%s", jstr(o, "error"));
	p->count[k]++;
	return 0;
}

int deploy_plan_parse(const char *json, struct deploy_plan *p, char *err)
{
	memset(p, 0, sizeof(*p));
	cJSON *j = cJSON_Parse(json ? json : "");
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return seterr(err, "the deploy document is not a JSON object");
	}
	p->applied = jbool(j, "applied");
	p->interrupted = jbool(j, "interrupted");
	p->shared_store = jbool(j, "shared_store");
	p->prune = jbool(j, "prune");
	p->matched = (size_t)jnum(j, "matched");
	p->nselected = (size_t)jnum(j, "instances");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "counts");
	p->unreachable = (size_t)jnum(c, "unreachable");
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "fleet")) {
		size_t i = inst_index(p, jstr(it, "name"));
		struct deploy_inst *d = &p->inst[i];
		free(d->url);
		d->url = xstrdup(jstr(it, "url"));
		d->selected = jbool(it, "selected");
		d->reachable = jbool(it, "reachable");
		snprintf(d->version, sizeof(d->version), "%s", jstr(it, "version"));
		snprintf(d->err, sizeof(d->err), "%s", jstr(it, "error"));
		d->verified = cJSON_GetObjectItemCaseSensitive(it, "matched") != NULL;
		d->matched = jbool(it, "matched");
		snprintf(d->verify, sizeof(d->verify), "%s", jstr(it, "verify"));
	}
	int rc = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "actions"))
		if (rc == 0)
			rc = parse_action(it, p, err);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "lints")) {
		if (!cJSON_IsString(it))
			continue;
		p->lints = xrealloc(p->lints, (p->nlints + 1) * sizeof(char *));
		p->lints[p->nlints++] = text_sanitize_dup(it->valuestring);
	}
	cJSON_Delete(j);
	if (rc < 0)
		deploy_plan_release(p);
	return rc;
}

/* ---- the run in the store ---- */

int deploy_record_begin(struct store *s, const char *target, const struct deploy_opts *o,
			int parallel, int64_t *id, char *err)
{
	struct buf pb = BUF_INIT;
	buf_addf(&pb, "{\"prune\":%s,\"parallel\":%d,\"only\":[", o->prune ? "true" : "false",
		 parallel);
	for (size_t i = 0; i < o->nonly; i++) {
		if (i)
			buf_adds(&pb, ",");
		buf_add_json_str(&pb, o->only[i]);
	}
	buf_adds(&pb, "]}");
	int rc = store_run_begin(s, "deploy", target ? target : "",
				 "{\"obridge\":\"" OBRIDGE_VERSION_STRING "\"}", buf_str(&pb), id,
				 err);
	buf_release(&pb);
	return rc;
}

int deploy_record_step(struct store *s, int64_t id, const struct deploy_plan *p, size_t i,
		       char *err)
{
	struct buf b = BUF_INIT;
	deploy_action_json(&b, p, i);
	char label[400];
	snprintf(label, sizeof(label), "%s %s %s",
		 p->a[i].inst < p->ninst ? p->inst[p->a[i].inst].name : "?",
		 deploy_kind_name(p->a[i].kind), p->a[i].model);
	int rc = store_step_add(s, id, (int)i, label, buf_str(&b), NULL, 0, err);
	buf_release(&b);
	return rc;
}

int deploy_record_finish(struct store *s, int64_t id, const struct deploy_plan *p, int rc,
			 char *err)
{
	struct buf b = BUF_INIT;
	deploy_plan_json(&b, p);
	const char *st = p->interrupted ? "interrupted" : rc == 0 ? "ok" : rc == 1 ? "warn" :
										"failed";
	int r = store_run_finish(s, id, st, buf_str(&b), err);
	buf_release(&b);
	return r;
}

int deploy_run_load(struct store *s, int64_t id, struct deploy_run *r, char *err)
{
	memset(r, 0, sizeof(*r));
	struct store_run run;
	int f = store_run_get(s, id, &run, err);
	if (f < 0)
		return -1;
	if (f == 0) {
		seterr(err, "no run %" PRId64 " in the store", id);
		return 1;
	}
	if (strcmp(run.kind, "deploy")) {
		seterr(err, "run %" PRId64 " is a %s run, not a deploy run", id, run.kind);
		store_run_clear(&run);
		return 1;
	}
	r->id = run.id;
	r->status = xstrdup(run.status);
	r->target = xstrdup(run.target);
	r->started_ns = run.started_ns;
	r->finished_ns = run.finished_ns;
	r->params = run.params ? xstrdup(run.params) : NULL;
	int rc = 0;
	if (run.summary && *run.summary) {
		rc = deploy_plan_parse(run.summary, &r->plan, err) < 0 ? -1 : 0;
	} else {
		/* unfinished (the process died): the actions recorded so far */
		struct store_step *steps;
		size_t n;
		if (store_steps_list(s, id, &steps, &n, err) < 0) {
			rc = -1;
		} else {
			r->plan.applied = 1;
			for (size_t i = 0; i < n && rc == 0; i++) {
				cJSON *o = cJSON_Parse(steps[i].summary ? steps[i].summary : "");
				rc = parse_action(o, &r->plan, err);
				cJSON_Delete(o);
			}
			store_steps_free(steps, n);
		}
	}
	store_run_clear(&run);
	if (rc < 0)
		deploy_run_release(r);
	return rc;
}

void deploy_run_json(struct buf *b, const struct deploy_run *r)
{
	char ts[64];
	buf_addf(b, "{\"id\":%" PRId64 ",\"kind\":\"deploy\"", r->id);
	kv_str(b, "status", r->status, 1);
	kv_str(b, "target", r->target, 1);
	time_rfc3339nano(r->started_ns, 1, ts, sizeof(ts));
	kv_str(b, "started", ts, 1);
	if (r->finished_ns > 0) {
		time_rfc3339nano(r->finished_ns, 1, ts, sizeof(ts));
		kv_str(b, "finished", ts, 1);
	} else {
		buf_adds(b, ",\"finished\":null");
	}
	buf_adds(b, ",\"deploy\":");
	deploy_plan_json(b, &r->plan);
	buf_adds(b, "}");
}

void deploy_run_release(struct deploy_run *r)
{
	free(r->status);
	free(r->target);
	free(r->params);
	deploy_plan_release(&r->plan);
	memset(r, 0, sizeof(*r));
}
