/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Probe the fleet, then apply a deploy plan: removes, pulls, preloads, verify. */
#include "../compat.h"
#include "deploy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../fleet/fleet.h"
#include "../fleet/load.h"
#include "../http/http.h"
#include "../ollama/ollama.h"
#include "../util/buf.h"
#include "../util/util.h"
#include "../banned.h"

/* ---- probe ---- */

void deploy_probe(struct http_engine *e, const struct fleet *f, int64_t timeout_ns,
		  struct deploy_actual *out)
{
	size_t n = f->ninstances;
	const char **urls = xcalloc(n + 1, sizeof(char *));
	struct ollama_reply *ver = xcalloc(n + 1, sizeof(*ver));
	struct ollama_reply *tags = xcalloc(n + 1, sizeof(*tags));
	struct ollama_reply *ps = xcalloc(n + 1, sizeof(*ps));
	for (size_t i = 0; i < n; i++)
		urls[i] = f->instances[i].url;
	ollama_fanout(e, urls, n, "GET", "/api/version", NULL, timeout_ns, ver);
	ollama_fanout(e, urls, n, "GET", "/api/tags", NULL, timeout_ns, tags);
	ollama_fanout(e, urls, n, "GET", "/api/ps", NULL, timeout_ns, ps);
	for (size_t i = 0; i < n; i++) {
		struct deploy_actual *a = &out[i];
		char err[ERR_MAX];
		memset(a, 0, sizeof(*a));
		const struct ollama_reply *bad = ver[i].err ? &ver[i] : tags[i].err ? &tags[i] :
						 ps[i].err ? &ps[i] : NULL;
		if (bad) {
			text_sanitize(a->err, sizeof(a->err), bad->errmsg);
			goto next;
		}
		ollama_parse_version(ver[i].body, ver[i].len, a->version, sizeof(a->version), err);
		struct ollama_tags t;
		struct ollama_ps p;
		if (ollama_parse_tags(tags[i].body, tags[i].len, &t, err) < 0) {
			snprintf(a->err, sizeof(a->err), "/api/tags: %.400s", err);
			goto next;
		}
		if (ollama_parse_ps(ps[i].body, ps[i].len, &p, err) < 0) {
			ollama_tags_release(&t);
			snprintf(a->err, sizeof(a->err), "/api/ps: %.400s", err);
			goto next;
		}
		a->reachable = 1;
		a->models = xcalloc(t.n + 1, sizeof(*a->models));
		for (size_t k = 0; k < t.n; k++, a->nmodels++) {
			char canon[300];
			if (ollama_name_normalize(t.models[k].name, canon, sizeof(canon), err) < 0)
				snprintf(canon, sizeof(canon), "%s", t.models[k].name);
			a->models[k].name = xstrdup(canon);
			a->models[k].digest = xstrdup(t.models[k].digest);
			a->models[k].size = t.models[k].size;
		}
		a->loaded = xcalloc(p.n + 1, sizeof(*a->loaded));
		for (size_t k = 0; k < p.n; k++, a->nloaded++) {
			char canon[300];
			if (ollama_name_normalize(p.models[k].name, canon, sizeof(canon), err) < 0)
				snprintf(canon, sizeof(canon), "%s", p.models[k].name);
			a->loaded[k].name = xstrdup(canon);
			a->loaded[k].digest = xstrdup(p.models[k].digest);
			a->loaded[k].size = p.models[k].size;
			a->loaded[k].context_length =
				p.models[k].has_context_length ? p.models[k].context_length : 0;
		}
		ollama_tags_release(&t);
		ollama_ps_release(&p);
	next:
		ollama_reply_release(&ver[i]);
		ollama_reply_release(&tags[i]);
		ollama_reply_release(&ps[i]);
	}
	free(urls);
	free(ver);
	free(tags);
	free(ps);
}

/* ---- apply ---- */

struct applier {
	struct http_engine *e;
	const struct fleet *f;
	struct deploy_plan *p;
	const struct deploy_apply_opts *o;
	const struct deploy_hooks *h;
	int active;               /* requests in flight */
	char *busy;               /* per instance: a pull in flight */
	int64_t *retry_at;        /* per action: mono time of the next attempt, 0 = none */
	int64_t deadline;
};

struct areq {
	struct applier *ap;
	size_t idx;
	char lineerr[DEPLOY_MSG_MAX];
	int success;
};

static int cancelled(const struct applier *ap)
{
	return ap->o->cancel && *ap->o->cancel;
}

static int64_t left(const struct applier *ap)
{
	int64_t l = ap->deadline - mono_ns();
	return l > 1000000 ? l : 1000000;
}

static void finish(struct applier *ap, size_t idx, enum deploy_state st, const char *err)
{
	struct deploy_action *a = &ap->p->a[idx];
	a->state = st;
	if (err)
		text_sanitize(a->err, sizeof(a->err), err);
	a->duration_ns = mono_ns() - a->tstart_;
	if (ap->h && ap->h->step)
		ap->h->step(ap->h->ud, ap->p, idx);
}

static int is_pull(const struct deploy_action *a)
{
	return a->kind == DEPLOY_PULL || a->kind == DEPLOY_UPDATE;
}

/* Failures that another attempt cannot fix. */
static int permanent(const char *msg, long status)
{
	return (status >= 400 && status < 500) || strstr(msg, "file does not exist") ||
	       strstr(msg, "no space left on device") || strstr(msg, "invalid model name");
}

static int pull_line(void *ud, const char *line, size_t len, int64_t t_ns)
{
	struct areq *q = ud;
	struct deploy_action *a = &q->ap->p->a[q->idx];
	struct ollama_pull pl;
	char err[ERR_MAX];
	if (ollama_parse_pull(line, len, &pl, err) < 0)
		return 0; /* a malformed line: the end of the stream decides */
	if (pl.error[0]) {
		snprintf(q->lineerr, sizeof(q->lineerr), "%s", pl.error);
		return 0;
	}
	if (!strcmp(pl.status, "success")) {
		q->success = 1;
	} else if (!strncmp(pl.status, "pulling ", 8) && pl.digest[0]) {
		int l;
		for (l = 0; l < a->nl_; l++)
			if (!strcmp(a->ldig_[l], pl.status + 8))
				break;
		if (l == a->nl_ && a->nl_ < (int)ARRAY_SIZE(a->ltot_)) {
			a->nl_++;
			snprintf(a->ldig_[l], sizeof(a->ldig_[l]), "%.12s", pl.status + 8);
			/* bytes already on disk when this attempt first saw the layer */
			if (pl.completed > 0 && pl.completed < pl.total)
				a->resumed_from += pl.completed;
		}
		if (l < (int)ARRAY_SIZE(a->ltot_)) {
			a->ltot_[l] = pl.total;
			a->ldone_[l] = pl.completed;
		}
		snprintf(a->layer, sizeof(a->layer), "%.12s", pl.status + 8);
	} else {
		snprintf(a->layer, sizeof(a->layer), "%.15s", pl.status);
	}
	int64_t tot = 0, done = 0;
	for (int l = 0; l < a->nl_; l++) {
		tot += a->ltot_[l];
		done += a->ldone_[l];
	}
	a->total = tot;
	if (done > a->completed || a->firstline_) {
		int64_t dt = t_ns - a->tlast_;
		if (!a->firstline_ && dt > 0) {
			double r = (double)(done - a->blast_) * 1e9 / (double)dt;
			a->rate = a->rate > 0 ? 0.7 * a->rate + 0.3 * r : r;
		}
		a->firstline_ = 0;
		a->tlast_ = t_ns;
		a->blast_ = done;
	}
	a->completed = done;
	if (a->size == 0 && tot > 0)
		a->size = (uint64_t)tot;
	if (q->ap->h && q->ap->h->progress)
		q->ap->h->progress(q->ap->h->ud, q->ap->p, q->idx);
	return 0;
}

static void start_pull(struct applier *ap, size_t idx);

static void pull_done(void *ud, const struct http_response *resp)
{
	struct areq *q = ud;
	struct applier *ap = q->ap;
	struct deploy_action *a = &ap->p->a[q->idx];
	char msg[DEPLOY_MSG_MAX];
	ap->active--;
	ap->busy[a->inst] = 0;
	enum ollama_err ce = ollama_classify(resp, NULL, msg, sizeof(msg));
	if (q->success && !q->lineerr[0] && ce == OLLAMA_OK) {
		finish(ap, q->idx, DEPLOY_OK, NULL);
		free(q);
		return;
	}
	if (q->lineerr[0])
		snprintf(msg, sizeof(msg), "%s", q->lineerr);
	else if (ce == OLLAMA_OK)
		snprintf(msg, sizeof(msg), "the pull stream ended before success");
	if (ce == OLLAMA_E_ABORTED || cancelled(ap)) {
		finish(ap, q->idx, DEPLOY_SKIPPED, "interrupted");
	} else if (a->attempts < DEPLOY_PULL_ATTEMPTS && !permanent(msg, resp->status)) {
		/* retried (Ollama resumes the partial blobs); the error is kept for the view */
		text_sanitize(a->err, sizeof(a->err), msg);
		a->state = DEPLOY_PENDING;
		ap->retry_at[q->idx] = mono_ns() + 300000000LL * a->attempts;
		if (ap->h && ap->h->progress)
			ap->h->progress(ap->h->ud, ap->p, q->idx);
	} else {
		finish(ap, q->idx, DEPLOY_FAILED, msg);
	}
	free(q);
}

static void start_pull(struct applier *ap, size_t idx)
{
	struct deploy_action *a = &ap->p->a[idx];
	const char *url = ap->p->inst[a->inst].url;
	struct buf b = BUF_INIT, u = BUF_INIT;
	ollama_build_pull(&b, a->model, 1, 0);
	buf_addf(&u, "%s/api/pull", url);
	struct areq *q = xcalloc(1, sizeof(*q));
	q->ap = ap;
	q->idx = idx;
	if (!a->attempts)
		a->tstart_ = mono_ns();
	a->attempts++;
	a->state = DEPLOY_RUNNING;
	a->nl_ = 0;
	a->resumed_from = 0;
	a->firstline_ = 1;
	a->completed = 0;
	a->rate = 0;
	memset(a->ltot_, 0, sizeof(a->ltot_));
	memset(a->ldone_, 0, sizeof(a->ldone_));
	ap->retry_at[idx] = 0;
	struct http_req r;
	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.url = buf_str(&u);
	r.body = buf_str(&b);
	r.accept = "application/x-ndjson";
	r.timeout_ns = left(ap);
	r.line_mode = 1;
	r.on_line = pull_line;
	r.on_done = pull_done;
	r.ud = q;
	char err[ERR_MAX];
	if (http_submit(ap->e, &r, err) < 0) {
		free(q);
		finish(ap, idx, DEPLOY_FAILED, err);
	} else {
		ap->active++;
		ap->busy[a->inst] = 1;
		if (ap->h && ap->h->progress)
			ap->h->progress(ap->h->ud, ap->p, idx);
	}
	buf_release(&b);
	buf_release(&u);
}

/* Start pulls while there is room: one per instance, o->parallel in all. */
static void pump(struct applier *ap)
{
	int64_t now = mono_ns();
	for (size_t i = 0; i < ap->p->n && ap->active < ap->o->parallel; i++) {
		struct deploy_action *a = &ap->p->a[i];
		if (!is_pull(a) || a->state != DEPLOY_PENDING || ap->busy[a->inst] ||
		    (ap->retry_at[i] && ap->retry_at[i] > now))
			continue;
		start_pull(ap, i);
	}
}

static int pulls_left(const struct applier *ap)
{
	for (size_t i = 0; i < ap->p->n; i++)
		if (is_pull(&ap->p->a[i]) &&
		    (ap->p->a[i].state == DEPLOY_PENDING || ap->p->a[i].state == DEPLOY_RUNNING))
			return 1;
	return 0;
}

static void remove_done(void *ud, const struct http_response *resp)
{
	struct areq *q = ud;
	char msg[DEPLOY_MSG_MAX];
	q->ap->active--;
	enum ollama_err ce = ollama_classify(resp, NULL, msg, sizeof(msg));
	if (ce == OLLAMA_E_ABORTED)
		finish(q->ap, q->idx, DEPLOY_SKIPPED, "interrupted");
	else
		finish(q->ap, q->idx, ce == OLLAMA_OK ? DEPLOY_OK : DEPLOY_FAILED,
		       ce == OLLAMA_OK ? NULL : msg);
	free(q);
}

static void run_removes(struct applier *ap)
{
	for (size_t i = 0; i < ap->p->n; i++) {
		struct deploy_action *a = &ap->p->a[i];
		if (a->kind != DEPLOY_REMOVE)
			continue;
		struct buf b = BUF_INIT, u = BUF_INIT;
		ollama_build_delete(&b, a->model);
		buf_addf(&u, "%s/api/delete", ap->p->inst[a->inst].url);
		struct areq *q = xcalloc(1, sizeof(*q));
		q->ap = ap;
		q->idx = i;
		a->tstart_ = mono_ns();
		a->attempts = 1;
		a->state = DEPLOY_RUNNING;
		struct http_req r;
		memset(&r, 0, sizeof(r));
		r.method = "DELETE";
		r.url = buf_str(&u);
		r.body = buf_str(&b);
		r.timeout_ns = left(ap) < 60000000000LL ? left(ap) : 60000000000LL;
		r.max_body = 1u << 20;
		r.on_done = remove_done;
		r.ud = q;
		char err[ERR_MAX];
		if (http_submit(ap->e, &r, err) < 0) {
			free(q);
			finish(ap, i, DEPLOY_FAILED, err);
		} else {
			ap->active++;
		}
		buf_release(&b);
		buf_release(&u);
	}
	while (ap->active > 0) {
		if (http_poll(ap->e, 100000000LL, -1, NULL) < 0)
			break;
		if (cancelled(ap))
			http_cancel_all(ap->e);
	}
}

/* Did a pull of model for instance inst (or, with a shared store, anywhere) fail? */
static const struct deploy_action *failed_pull(const struct deploy_plan *p, size_t inst,
					       const char *model)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct deploy_action *a = &p->a[i];
		if ((a->kind == DEPLOY_PULL || a->kind == DEPLOY_UPDATE ||
		     a->kind == DEPLOY_SHARED) && a->state != DEPLOY_OK &&
		    (a->inst == inst || (p->shared_store && a->kind != DEPLOY_SHARED)) &&
		    ollama_name_equal(a->model, model))
			return a;
	}
	return NULL;
}

static void run_shared(struct applier *ap)
{
	struct deploy_plan *p = ap->p;
	for (size_t i = 0; i < p->n; i++) {
		struct deploy_action *a = &p->a[i];
		if (a->kind != DEPLOY_SHARED)
			continue;
		a->tstart_ = mono_ns();
		a->attempts = 1;
		const struct deploy_action *src = NULL;
		for (size_t k = 0; k < p->n && !src; k++)
			if (is_pull(&p->a[k]) && ollama_name_equal(p->a[k].model, a->model))
				src = &p->a[k];
		if (src && src->state != DEPLOY_OK) {
			char m[DEPLOY_MSG_MAX];
			snprintf(m, sizeof(m), "the pull on %s did not finish",
				 p->inst[src->inst].name);
			finish(ap, i, cancelled(ap) ? DEPLOY_SKIPPED : DEPLOY_FAILED, m);
		} else {
			finish(ap, i, DEPLOY_OK, NULL);
		}
	}
}

static void run_preloads(struct applier *ap)
{
	struct deploy_plan *p = ap->p;
	struct load_set s = { 0 };
	size_t *map = xcalloc(p->n + 1, sizeof(size_t));
	for (size_t i = 0; i < p->n; i++) {
		struct deploy_action *a = &p->a[i];
		if (a->kind != DEPLOY_PRELOAD)
			continue;
		a->tstart_ = mono_ns();
		const struct deploy_action *bad = failed_pull(p, a->inst, a->model);
		if (cancelled(ap) || bad) {
			char m[DEPLOY_MSG_MAX];
			snprintf(m, sizeof(m), "%s", cancelled(ap) ? "interrupted" :
				 "not loaded: its pull failed");
			finish(ap, i, DEPLOY_SKIPPED, m);
			continue;
		}
		s.p = xrealloc(s.p, (s.n + 1) * sizeof(*s.p));
		struct load_pair *lp = &s.p[s.n];
		memset(lp, 0, sizeof(*lp));
		lp->in = &ap->f->instances[a->inst];
		lp->model = xstrdup(a->model);
		lp->has_keep_alive = a->has_keep_alive;
		lp->keep_alive_ns = a->keep_alive_ns;
		lp->num_ctx = a->num_ctx;
		a->state = DEPLOY_RUNNING;
		a->attempts = 1;
		map[s.n++] = i;
	}
	if (s.n) {
		load_run(ap->e, &s, 0, left(ap), NULL, NULL, ap->o->cancel);
		for (size_t k = 0; k < s.n; k++) {
			const struct load_pair *lp = &s.p[k];
			if (lp->ok)
				finish(ap, map[k], DEPLOY_OK, NULL);
			else
				finish(ap, map[k], cancelled(ap) ? DEPLOY_SKIPPED : DEPLOY_FAILED,
				       lp->err[0] ? lp->err : "not loaded");
		}
	}
	load_set_release(&s);
	free(map);
}

int deploy_apply(struct http_engine *e, const struct fleet *f, struct deploy_plan *p,
		 const struct deploy_apply_opts *o, const struct deploy_hooks *h)
{
	struct applier ap = { 0 };
	ap.e = e;
	ap.f = f;
	ap.p = p;
	ap.o = o;
	ap.h = h;
	ap.busy = xcalloc(p->ninst + 1, 1);
	ap.retry_at = xcalloc(p->n + 1, sizeof(int64_t));
	ap.deadline = mono_ns() + (o->timeout_ns > 0 ? o->timeout_ns : 3600LL * 1000000000LL);
	p->applied = 1;

	run_removes(&ap);
	pump(&ap);
	int64_t next_tick = mono_ns();
	while (!cancelled(&ap) && pulls_left(&ap)) {
		if (http_poll(e, 100000000LL, -1, NULL) < 0)
			break;
		pump(&ap);
		if (h && h->tick && mono_ns() >= next_tick) {
			h->tick(h->ud, p);
			next_tick = mono_ns() + 100000000LL;
		}
		if (mono_ns() > ap.deadline)
			break;
	}
	if (cancelled(&ap) || pulls_left(&ap)) {
		http_cancel_all(e); /* running pulls finish as skipped */
		for (size_t i = 0; i < p->n; i++)
			if (is_pull(&p->a[i]) && p->a[i].state == DEPLOY_PENDING)
				finish(&ap, i, DEPLOY_SKIPPED,
				       cancelled(&ap) ? "interrupted" : "not done before the deadline");
	}
	if (h && h->tick)
		h->tick(h->ud, p);
	run_shared(&ap);
	run_preloads(&ap);
	free(ap.busy);
	free(ap.retry_at);
	if (cancelled(&ap)) {
		p->interrupted = 1;
		for (size_t i = 0; i < p->n; i++)
			if (p->a[i].state == DEPLOY_PENDING)
				finish(&ap, i, DEPLOY_SKIPPED, "interrupted");
		return 2;
	}
	struct deploy_actual *act = xcalloc(f->ninstances + 1, sizeof(*act));
	deploy_probe(e, f, 10000000000LL, act);
	deploy_verify(f, act, p);
	for (size_t i = 0; i < f->ninstances; i++)
		deploy_actual_release(&act[i]);
	free(act);
	if (p->matched == p->nselected)
		return 0;
	return p->matched ? 1 : 2;
}
