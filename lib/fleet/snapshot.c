/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The polled fleet snapshot behind `obridge top`: polling, folding, sorting, filtering. */
#include "../compat.h"
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "fleet.h"
#include "load.h"
#include "probe.h"
#include "../http/http.h"
#include "../ollama/ollama.h"
#include "../stats/threshold.h"
#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

#define DEFAULT_TIMEOUT_NS (5LL * 1000000000)
#define DEFAULT_SLOW_NS (1LL * 1000000000)

void snapshot_ring_push(struct snapshot_ring *r, int64_t v)
{
	r->v[r->head] = v;
	r->head = (r->head + 1) % SNAPSHOT_HIST;
	if (r->n < SNAPSHOT_HIST)
		r->n++;
}

int64_t snapshot_ring_get(const struct snapshot_ring *r, size_t i)
{
	if (i >= r->n)
		return -1;
	size_t start = (r->head + SNAPSHOT_HIST - r->n) % SNAPSHOT_HIST;
	return r->v[(start + i) % SNAPSHOT_HIST];
}

void snapshot_init(struct snapshot *s, const struct fleet *f, const struct snapshot_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->f = f;
	if (o)
		s->o = *o;
	if (s->o.level < 1 || s->o.level > 2)
		s->o.level = 2;
	if (s->o.timeout_ns <= 0)
		s->o.timeout_ns = DEFAULT_TIMEOUT_NS;
	if (s->o.slow_ns <= 0)
		s->o.slow_ns = DEFAULT_SLOW_NS;
	s->n = f->ninstances;
	s->inst = xcalloc(s->n ? s->n : 1, sizeof(*s->inst));
	for (size_t i = 0; i < s->n; i++) {
		s->inst[i].in = &f->instances[i];
		s->inst[i].latency_ns = -1;
		for (size_t m = 0; m < f->nmodels; m++)
			s->inst[i].nrequired += fleet_model_on_instance(&f->models[m],
									&f->instances[i]);
		if (f->instances[i].metrics_url)
			s->any_metrics = 1;
	}
	s->bench.p95_ns = s->bench.errors = s->bench.requests = -1;
}

void snapshot_release(struct snapshot *s)
{
	snapshot_poll_abort(s);
	for (size_t i = 0; i < s->n; i++)
		free(s->inst[i].models);
	free(s->inst);
	memset(s, 0, sizeof(*s));
}

void snapshot_backfill_add(struct snapshot *s, size_t i, const char *url, int down,
			   int64_t latency_ns)
{
	/* probes of another URL under the same name are not this one's */
	if (i >= s->n || (url && strcmp(url, s->inst[i].in->url)))
		return;
	snapshot_ring_push(&s->inst[i].hist, down ? -1 : latency_ns);
}

/* ---- folding a probe ---- */

static void set_state(struct snapshot_inst *p, enum snapshot_state st, int64_t now)
{
	if (p->state != st || !p->since_ns)
		p->since_ns = now;
	p->state = st;
}

static void fold_models(struct snapshot_inst *p, const struct probe_instance *pi)
{
	free(p->models);
	p->models = NULL;
	p->nmodels = 0;
	p->nrequired = p->nresident_req = p->nmissing = p->nresident = 0;
	p->vram = p->ram = 0;
	if (pi->nmodels)
		p->models = xcalloc(pi->nmodels, sizeof(*p->models));
	for (size_t m = 0; m < pi->nmodels; m++) {
		const struct probe_model *pm = &pi->models[m];
		struct snapshot_model *sm = &p->models[p->nmodels++];
		text_sanitize(sm->name, sizeof(sm->name), pm->name);
		sm->required = pm->required;
		sm->installed = pm->installed;
		sm->resident = pm->resident;
		sm->drift = pm->drift;
		sm->embed = pm->embed;
		sm->size = pm->size;
		sm->size_vram = pm->size_vram;
		sm->context_length = pm->context_length;
		sm->want_ctx = pm->want_ctx;
		sm->expires_at = pm->expires_at;
		if (sm->required) {
			p->nrequired++;
			if (sm->resident)
				p->nresident_req++;
			else
				p->nmissing++;
		}
		if (sm->resident) {
			p->nresident++;
			p->vram += sm->size_vram;
			p->ram += sm->size > sm->size_vram ? sm->size - sm->size_vram : 0;
		}
	}
}

static void totals(struct snapshot *s)
{
	s->up = s->resident = s->expected = 0;
	s->vram = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct snapshot_inst *p = &s->inst[i];
		if (p->state == SNAP_UP || p->state == SNAP_SLOW || p->state == SNAP_DEGRADED) {
			s->up++;
			s->vram += p->vram;
		}
		s->resident += p->stale ? 0 : p->nresident_req;
		s->expected += p->nrequired;
	}
}

void snapshot_apply(struct snapshot *s, const struct probe_result *r, int64_t now)
{
	for (size_t k = 0; k < r->n; k++) {
		const struct probe_instance *pi = &r->inst[k];
		struct snapshot_inst *p = NULL;
		for (size_t i = 0; i < s->n; i++)
			if (s->inst[i].in == pi->in ||
			    !strcmp(s->inst[i].in->name, pi->in->name))
				p = &s->inst[i];
		if (!p)
			continue;
		p->polled = 1;
		if (!pi->up) {
			p->latency_ns = -1;
			snapshot_ring_push(&p->hist, -1);
			p->stale = p->last_ok_ns != 0;
			text_sanitize(p->problem, sizeof(p->problem),
				      pi->errmsg[0] ? pi->errmsg : "no answer");
			set_state(p, SNAP_DOWN, now);
			continue;
		}
		p->stale = 0;
		p->last_ok_ns = now;
		text_sanitize(p->version, sizeof(p->version), pi->version);
		p->latency_ns = pi->latency_ns;
		snapshot_ring_push(&p->hist, pi->latency_ns);
		int degraded = 0;
		if (r->level >= 2) {
			if (pi->ps_ok || pi->tags_ok || !p->models)
				fold_models(p, pi);
			degraded = !pi->ps_ok || !pi->tags_ok || p->nmissing > 0;
			for (size_t m = 0; m < p->nmodels; m++) {
				const struct snapshot_model *sm = &p->models[m];
				if (sm->drift || (sm->resident && sm->want_ctx && sm->context_length &&
						  sm->context_length != sm->want_ctx))
					degraded = 1;
			}
		}
		p->problem[0] = '\0';
		if (pi->nproblems)
			text_sanitize(p->problem, sizeof(p->problem), pi->problems[0]);
		if (degraded)
			set_state(p, SNAP_DEGRADED, now);
		else if (pi->latency_ns > s->o.slow_ns)
			set_state(p, SNAP_SLOW, now);
		else
			set_state(p, SNAP_UP, now);
	}
	s->t_ns = now;
	s->seq++;
	totals(s);
}

void snapshot_apply_metrics(struct snapshot *s, size_t i, int ok, const struct metrics *m,
			    const char *msg, int64_t now)
{
	if (i >= s->n)
		return;
	struct snapshot_inst *p = &s->inst[i];
	if (ok) {
		p->metrics = *m;
		p->metrics_ok = 1;
		p->metrics_at = now;
		p->metrics_err[0] = '\0';
	} else {
		p->metrics_ok = 0;
		text_sanitize(p->metrics_err, sizeof(p->metrics_err), msg ? msg : "failed");
	}
}

/* ---- polling ---- */

struct mreq {
	struct snapshot *s;
	size_t i;
	long id;
};

static void on_metrics(void *ud, int ok, const struct metrics *m, const char *msg)
{
	struct mreq *q = ud;
	struct snapshot *s = q->s;
	snapshot_apply_metrics(s, q->i, ok, m, msg, wall_ns());
	s->inst[q->i].metrics_req_ = NULL;
	s->metrics_pending_--;
	s->dirty_ = 1;
	free(q);
}

void snapshot_poll_start(struct snapshot *s, struct http_engine *e)
{
	if (snapshot_poll_busy(s))
		return;
	s->e_ = e;
	struct probe_opts po = { 0 };
	po.level = s->o.level;
	po.timeout_ns = s->o.timeout_ns;
	s->job_ = probe_start(e, s->f, &po);
	s->poll_started_ = mono_ns();
	for (size_t i = 0; i < s->n; i++) {
		struct snapshot_inst *p = &s->inst[i];
		if (!p->in->metrics_url || p->metrics_req_)
			continue;
		struct mreq *q = xcalloc(1, sizeof(*q));
		q->s = s;
		q->i = i;
		char err[ERR_MAX];
		q->id = metrics_fetch(e, p->in->metrics_url, s->o.timeout_ns, on_metrics, q, err);
		if (q->id < 0) {
			snapshot_apply_metrics(s, i, 0, NULL, err, wall_ns());
			free(q);
			continue;
		}
		p->metrics_req_ = q;
		s->metrics_pending_++;
	}
}

int snapshot_poll_busy(const struct snapshot *s)
{
	return s->job_ != NULL || s->metrics_pending_ > 0;
}

int snapshot_poll_collect(struct snapshot *s)
{
	int changed = s->dirty_;
	s->dirty_ = 0;
	/* past the deadline (and a moment for the requests' own timeouts to report) */
	if (s->job_ && (probe_done(s->job_) ||
			mono_ns() > probe_deadline(s->job_) + 100000000LL)) {
		struct probe_result r;
		struct nagios_range none = { 0 };
		probe_finish(s->job_, &r);
		s->job_ = NULL;
		probe_evaluate(&r, &none, &none);
		snapshot_apply(s, &r, wall_ns());
		probe_result_release(&r);
		changed = 1;
	}
	return changed;
}

void snapshot_poll_abort(struct snapshot *s)
{
	if (s->job_) {
		struct probe_result r;
		probe_finish(s->job_, &r);
		probe_result_release(&r);
		s->job_ = NULL;
	}
	for (size_t i = 0; s->inst && i < s->n; i++) {
		struct mreq *q = s->inst[i].metrics_req_;
		if (q && s->e_)
			http_cancel(s->e_, q->id);
	}
	if (s->act_ && s->e_)
		http_cancel(s->e_, s->act_id_);
}

/* ---- actions ---- */

static void on_action(void *ud, const struct ollama_result *res)
{
	struct snapshot *s = ud;
	char t[32];
	if (res->err == OLLAMA_OK)
		snprintf(s->action_msg, sizeof(s->action_msg), "%s: done in %s", s->act_what_,
			 units_fmt_duration(res->resp ? res->resp->t.end - res->resp->t.start : 0,
					    t, sizeof(t)));
	else
		snprintf(s->action_msg, sizeof(s->action_msg), "%s: failed: %.120s", s->act_what_,
			 res->errmsg);
	text_sanitize(s->action_msg, sizeof(s->action_msg), s->action_msg);
	s->act_ = 0;
	s->action_busy = 0;
	s->dirty_ = 1;
}

int snapshot_action_start(struct snapshot *s, struct http_engine *e, enum snapshot_action a,
			  size_t i, const char *model, char *err)
{
	if (s->action_busy)
		return seterr(err, "another action is still running");
	if (i >= s->n || !model || !*model)
		return seterr(err, "no model selected");
	const struct fleet_instance *in = s->inst[i].in;
	struct load_set ls = { 0 };
	const char *names[] = { model };
	int has_ka = 0, num_ctx = 0;
	int64_t ka = 0;
	if (load_plan(s->f, names, 1, 0, 0, &ls, err) == 0) {
		for (size_t k = 0; k < ls.n; k++)
			if (ls.p[k].in == in || !strcmp(ls.p[k].in->name, in->name)) {
				has_ka = ls.p[k].has_keep_alive;
				ka = ls.p[k].keep_alive_ns;
				num_ctx = ls.p[k].num_ctx;
			}
		load_set_release(&ls);
	}
	struct ollama_options opt = { 0 };
	if (num_ctx) {
		opt.set |= OLLAMA_OPT_NUM_CTX;
		opt.num_ctx = num_ctx;
	}
	int embed = 0;
	for (size_t m = 0; m < s->inst[i].nmodels; m++)
		if (!strcmp(s->inst[i].models[m].name, model))
			embed = s->inst[i].models[m].embed;
	struct buf body = BUF_INIT;
	const char *verb = "preload", *path = "/api/generate";
	if (embed && a != SNAP_ACT_UNLOAD) {
		/* an embedding model cannot generate: load or warm it through /api/embed */
		static const char *const input[] = { "ping" };
		verb = a == SNAP_ACT_PRELOAD ? "preload" : "warmup";
		path = "/api/embed";
		ollama_build_embed(&body, model, a == SNAP_ACT_WARMUP ? input : NULL,
				   a == SNAP_ACT_WARMUP ? 1 : 0, has_ka, ka);
	} else if (a == SNAP_ACT_PRELOAD) {
		ollama_build_preload(&body, model, has_ka, ka, &opt);
	} else if (a == SNAP_ACT_UNLOAD) {
		verb = "unload";
		ollama_build_unload(&body, model);
	} else {
		verb = "warmup";
		struct ollama_gen_req g = { 0 };
		g.model = model;
		g.prompt = "Reply with OK.";
		g.stream = 0;
		g.has_keep_alive = has_ka;
		g.keep_alive_ns = ka;
		g.options = opt;
		g.options.set |= OLLAMA_OPT_NUM_PREDICT;
		g.options.num_predict = 8;
		ollama_build_generate(&body, &g);
	}
	snprintf(s->act_what_, sizeof(s->act_what_), "%s %.100s on %.60s", verb, model, in->name);
	long id = ollama_post(e, in->url, path, buf_str(&body), 5 * 60 * 1000000000LL,
			      on_action, s, err);
	buf_release(&body);
	if (id < 0)
		return -1;
	s->e_ = e;
	s->act_ = 1;
	s->act_id_ = id;
	s->action_busy = 1;
	snprintf(s->action_msg, sizeof(s->action_msg), "%s...", s->act_what_);
	text_sanitize(s->action_msg, sizeof(s->action_msg), s->action_msg);
	return 0;
}

/* ---- pure helpers ---- */

const char *snapshot_state_name(enum snapshot_state st)
{
	switch (st) {
	case SNAP_UP: return "UP";
	case SNAP_SLOW: return "SLOW";
	case SNAP_DEGRADED: return "DEGRADED";
	case SNAP_DOWN: return "DOWN";
	default: return "?";
	}
}

const char *snapshot_key_name(enum snapshot_key k)
{
	static const char *const names[] = { "name", "state", "latency", "models", "vram",
					     "gpu" };
	return k < ARRAY_SIZE(names) ? names[k] : "?";
}

static int has_ci(const char *hay, const char *needle)
{
	return hay && strcasestr(hay, needle) != NULL;
}

int snapshot_match(const struct snapshot_inst *p, const char *filter)
{
	int invert = 0;
	if (!filter)
		return 1;
	if (*filter == '!') {
		invert = 1;
		filter++;
	}
	if (!*filter)
		return 1;
	int hit = has_ci(p->in->name, filter) || has_ci(p->in->url, filter) ||
		  has_ci(p->in->group, filter) || has_ci(snapshot_state_name(p->state), filter) ||
		  has_ci(p->version, filter);
	for (size_t m = 0; !hit && m < p->nmodels; m++)
		hit = has_ci(p->models[m].name, filter);
	return invert ? !hit : hit;
}

static int state_rank(enum snapshot_state st)
{
	/* worst first when sorted descending: DOWN > DEGRADED > SLOW > UP > unknown */
	switch (st) {
	case SNAP_DOWN: return 4;
	case SNAP_DEGRADED: return 3;
	case SNAP_SLOW: return 2;
	case SNAP_UP: return 1;
	default: return 0;
	}
}

static double key_value(const struct snapshot_inst *p, enum snapshot_key k)
{
	switch (k) {
	case SNAP_KEY_STATE: return state_rank(p->state);
	case SNAP_KEY_LATENCY: return p->latency_ns < 0 ? 1e30 : (double)p->latency_ns;
	case SNAP_KEY_MODELS: return (double)p->nresident;
	case SNAP_KEY_VRAM: return (double)p->vram;
	case SNAP_KEY_GPU: return p->metrics_ok ? metrics_util_avg(&p->metrics) : -2;
	default: return 0;
	}
}

/* Insertion sort: stable, no global state, n is small (a fleet). */
size_t snapshot_order(const struct snapshot *s, enum snapshot_key key, int desc,
		      const char *filter, size_t *idx)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		if (snapshot_match(&s->inst[i], filter))
			idx[n++] = i;
	for (size_t i = 1; i < n; i++) {
		size_t v = idx[i], j = i;
		while (j > 0) {
			const struct snapshot_inst *a = &s->inst[idx[j - 1]], *b = &s->inst[v];
			int c = 0;
			if (key != SNAP_KEY_NAME) {
				double x = key_value(a, key), y = key_value(b, key);
				c = x < y ? -1 : x > y ? 1 : 0;
			}
			if (c == 0)
				c = strverscmp(a->in->name, b->in->name);
			if (desc)
				c = -c;
			if (c <= 0)
				break;
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = v;
	}
	return n;
}

/* ---- JSON ---- */

static void json_kv_str(struct buf *b, const char *k, const char *v, int comma)
{
	if (comma)
		buf_adds(b, ",");
	buf_add_json_str(b, k);
	buf_adds(b, ":");
	if (v)
		buf_add_json_str(b, v);
	else
		buf_adds(b, "null");
}

void snapshot_to_json(const struct snapshot *s, struct buf *b)
{
	char ts[64];
	time_rfc3339nano(s->t_ns, 1, ts, sizeof(ts));
	buf_adds(b, "{");
	json_kv_str(b, "fleet", s->f->name ? s->f->name : "default", 0);
	json_kv_str(b, "time", ts, 1);
	buf_addf(b, ",\"level\":%d,\"up\":%zu,\"total\":%zu,\"models_resident\":%zu,"
		    "\"models_expected\":%zu,\"vram_bytes\":%" PRIu64 ",\"instances\":[",
		 s->o.level, s->up, s->n, s->resident, s->expected, s->vram);
	for (size_t i = 0; i < s->n; i++) {
		const struct snapshot_inst *p = &s->inst[i];
		if (i)
			buf_adds(b, ",");
		buf_adds(b, "{");
		json_kv_str(b, "name", p->in->name, 0);
		json_kv_str(b, "url", p->in->url, 1);
		json_kv_str(b, "state", snapshot_state_name(p->state), 1);
		time_rfc3339nano(p->since_ns, 1, ts, sizeof(ts));
		json_kv_str(b, "since", p->since_ns ? ts : NULL, 1);
		buf_addf(b, ",\"stale\":%s", p->stale ? "true" : "false");
		if (p->stale)
			buf_addf(b, ",\"stale_seconds\":%.1f", (s->t_ns - p->last_ok_ns) / 1e9);
		json_kv_str(b, "version", p->version[0] ? p->version : NULL, 1);
		if (p->latency_ns >= 0)
			buf_addf(b, ",\"latency_ms\":%.3f", p->latency_ns / 1e6);
		else
			buf_adds(b, ",\"latency_ms\":null");
		buf_adds(b, ",\"history_ms\":[");
		for (size_t k = 0; k < p->hist.n; k++) {
			int64_t v = snapshot_ring_get(&p->hist, k);
			if (k)
				buf_adds(b, ",");
			if (v < 0)
				buf_adds(b, "null");
			else
				buf_addf(b, "%.3f", v / 1e6);
		}
		buf_adds(b, "]");
		json_kv_str(b, "problem", p->problem[0] ? p->problem : NULL, 1);
		buf_addf(b, ",\"vram_bytes\":%" PRIu64 ",\"ram_bytes\":%" PRIu64, p->vram, p->ram);
		buf_adds(b, ",\"models\":[");
		int first = 1;
		for (size_t m = 0; m < p->nmodels; m++) {
			const struct snapshot_model *sm = &p->models[m];
			if (!sm->resident)
				continue;
			buf_adds(b, first ? "{" : ",{");
			first = 0;
			json_kv_str(b, "name", sm->name, 0);
			buf_addf(b, ",\"required\":%s,\"size\":%" PRIu64 ",\"size_vram\":%" PRIu64,
				 sm->required ? "true" : "false", sm->size, sm->size_vram);
			if (sm->context_length)
				buf_addf(b, ",\"context_length\":%" PRId64, sm->context_length);
			if (sm->expires_at == INT64_MAX) {
				buf_adds(b, ",\"expires_at\":\"forever\"");
			} else if (sm->expires_at) {
				time_rfc3339nano(sm->expires_at, 1, ts, sizeof(ts));
				json_kv_str(b, "expires_at", ts, 1);
			}
			buf_adds(b, "}");
		}
		/* "missing": required, not installed; "unloaded": installed, not in memory */
		for (int installed = 0; installed < 2; installed++) {
			buf_adds(b, installed ? "],\"unloaded\":[" : "],\"missing\":[");
			first = 1;
			for (size_t m = 0; m < p->nmodels; m++) {
				const struct snapshot_model *sm = &p->models[m];
				if (!sm->required || sm->resident || sm->installed != installed)
					continue;
				if (!first)
					buf_adds(b, ",");
				first = 0;
				buf_add_json_str(b, sm->name);
			}
		}
		buf_adds(b, "]");
		if (p->in->metrics_url) {
			buf_adds(b, ",\"gpu\":");
			if (!p->metrics_ok) {
				buf_adds(b, "null");
			} else {
				const struct metrics *mt = &p->metrics;
				buf_adds(b, "{");
				buf_addf(b, "\"count\":%zu", mt->ngpu);
				double v = metrics_util_avg(mt);
				if (v >= 0)
					buf_addf(b, ",\"util_pct\":%.1f", v);
				v = metrics_fb_used_mib(mt);
				if (v >= 0)
					buf_addf(b, ",\"fb_used_mib\":%.0f", v);
				v = metrics_fb_total_mib(mt);
				if (v >= 0)
					buf_addf(b, ",\"fb_total_mib\":%.0f", v);
				v = metrics_temp_max(mt);
				if (v >= 0)
					buf_addf(b, ",\"temp_c\":%.0f", v);
				v = metrics_power_sum(mt);
				if (v >= 0)
					buf_addf(b, ",\"power_w\":%.1f", v);
				buf_adds(b, "}");
			}
		}
		buf_adds(b, "}");
	}
	buf_adds(b, "]");
	if (s->bench.active) {
		buf_addf(b, ",\"bench\":{\"run\":%" PRId64, s->bench.run_id);
		json_kv_str(b, "step", s->bench.step[0] ? s->bench.step : NULL, 1);
		if (s->bench.p95_ns >= 0)
			buf_addf(b, ",\"p95_ms\":%.3f", s->bench.p95_ns / 1e6);
		if (s->bench.errors >= 0)
			buf_addf(b, ",\"errors\":%" PRId64, s->bench.errors);
		buf_adds(b, "}");
	}
	buf_adds(b, "}");
}
