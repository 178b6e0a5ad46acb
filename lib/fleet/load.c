/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Preload, unload and warm-up requests across the fleet, with /api/ps read back. */
#include "../compat.h"
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet.h"
#include "../http/http.h"
#include "../ollama/ollama.h"
#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

static void add_pair(struct load_set *s, const struct fleet_instance *in, const char *model,
		     int has_ka, int64_t ka, int num_ctx)
{
	s->p = xrealloc(s->p, (s->n + 1) * sizeof(*s->p));
	struct load_pair *p = &s->p[s->n++];
	memset(p, 0, sizeof(*p));
	p->in = in;
	p->model = xstrdup(model);
	p->has_keep_alive = has_ka;
	p->keep_alive_ns = ka;
	p->num_ctx = num_ctx;
}

int load_plan(const struct fleet *f, const char *const *models, size_t nmodels,
	      int override_keep_alive, int64_t keep_alive_ns, struct load_set *out, char *err)
{
	memset(out, 0, sizeof(*out));
	if (nmodels == 0) {
		for (size_t m = 0; m < f->nmodels; m++)
			for (size_t i = 0; i < f->ninstances; i++) {
				const struct fleet_model *fm = &f->models[m];
				if (!fleet_model_on_instance(fm, &f->instances[i]))
					continue;
				add_pair(out, &f->instances[i], fm->name,
					 override_keep_alive || fm->has_keep_alive,
					 override_keep_alive ? keep_alive_ns : fm->keep_alive_ns,
					 fm->num_ctx);
			}
		if (!out->n)
			return seterr(err, "no models to act on: name them, or list them in the "
					   "fleet file as [model NAME] sections");
		return 0;
	}
	for (size_t k = 0; k < nmodels; k++) {
		char canon[300];
		if (ollama_name_normalize(models[k], canon, sizeof(canon), err) < 0) {
			load_set_release(out);
			return -1;
		}
		const struct fleet_model *fm = fleet_find_model(f, canon);
		for (size_t i = 0; i < f->ninstances; i++) {
			if (fm && !fleet_model_on_instance(fm, &f->instances[i]))
				continue;
			add_pair(out, &f->instances[i], canon,
				 override_keep_alive || (fm && fm->has_keep_alive),
				 override_keep_alive ? keep_alive_ns : fm ? fm->keep_alive_ns : 0,
				 fm ? fm->num_ctx : 0);
		}
	}
	return 0;
}

int load_plan_loaded(struct http_engine *e, const struct fleet *f, int64_t timeout_ns,
		     struct load_set *out, char *err)
{
	memset(out, 0, sizeof(*out));
	const char **urls = xcalloc(f->ninstances + 1, sizeof(char *));
	struct ollama_reply *rep = xcalloc(f->ninstances + 1, sizeof(*rep));
	for (size_t i = 0; i < f->ninstances; i++)
		urls[i] = f->instances[i].url;
	ollama_fanout(e, urls, f->ninstances, "GET", "/api/ps", NULL, timeout_ns, rep);
	for (size_t i = 0; i < f->ninstances; i++) {
		struct ollama_ps ps;
		char e2[ERR_MAX];
		if (rep[i].err == OLLAMA_OK &&
		    ollama_parse_ps(rep[i].body, rep[i].len, &ps, e2) == 0) {
			for (size_t m = 0; m < ps.n; m++)
				add_pair(out, &f->instances[i], ps.models[m].name, 0, 0, 0);
			ollama_ps_release(&ps);
		}
		ollama_reply_release(&rep[i]);
	}
	free(urls);
	free(rep);
	(void)err;
	return 0;
}

struct runner;

struct lreq {
	struct runner *r;
	size_t pair;
	int attempt_embed;
	int64_t t0;
	int64_t ttft;           /* warm-up: first token time */
};

struct runner {
	struct http_engine *e;
	struct load_set *s;
	int mode;               /* 0 load, 1 unload, 2 warm */
	int warm_n, num_predict;
	int64_t deadline;
	size_t finished, total;
	load_progress_fn progress;
	void *ud;
	size_t *next;           /* per instance index: the next pair position in order[] */
	size_t **order;         /* per distinct instance, its pairs in order */
	size_t *norder;
	size_t ninst;
	const volatile int *cancel;
	int stopping;           /* past the deadline or cancelled: submit nothing more */
};

/* Whether no more requests may start (a request started now would outlive drive()). */
static int stopped(struct runner *r)
{
	if (!r->stopping && ((r->cancel && *r->cancel) || mono_ns() >= r->deadline))
		r->stopping = 1;
	return r->stopping;
}

static int64_t left(const struct runner *r)
{
	int64_t l = r->deadline - mono_ns();
	return l > 1000000 ? l : 1000000;
}

static void submit_next(struct runner *r, size_t inst);

static void pair_finished(struct runner *r, size_t inst)
{
	r->finished++;
	if (r->progress)
		r->progress(r->ud, r->finished, r->total);
	submit_next(r, inst);
}

static size_t inst_of(const struct runner *r, size_t pair)
{
	for (size_t k = 0; k < r->ninst; k++)
		for (size_t j = 0; j < r->norder[k]; j++)
			if (r->order[k][j] == pair)
				return k;
	return 0;
}

static void on_load(void *ud, const struct ollama_result *res)
{
	struct lreq *q = ud;
	struct runner *r = q->r;
	struct load_pair *p = &r->s->p[q->pair];
	size_t inst = inst_of(r, q->pair);
	p->latency_ns = mono_ns() - q->t0;
	p->done = 1;
	if (res->err == OLLAMA_OK) {
		p->ok = 1;
		struct ollama_chunk c;
		char e2[ERR_MAX];
		ollama_chunk_init(&c);
		if (!p->embed &&
		    ollama_chunk_parse(&c, OLLAMA_WIRE_NATIVE, res->body, res->len, e2) == 0)
			snprintf(p->done_reason, sizeof(p->done_reason), "%s", c.done_reason);
		ollama_chunk_release(&c);
	} else if (!q->attempt_embed && res->status == 400 && strstr(res->errmsg, "does not support") &&
		   !stopped(r)) {
		/* An embedding-only model: load (or unload) it through /api/embed. */
		p->embed = 1;
		p->done = 0;
		struct buf b = BUF_INIT;
		if (r->mode == 1)
			ollama_build_embed(&b, p->model, NULL, 0, 1, 0);
		else
			ollama_build_embed(&b, p->model, NULL, 0, p->has_keep_alive, p->keep_alive_ns);
		struct lreq *q2 = xcalloc(1, sizeof(*q2));
		q2->r = r;
		q2->pair = q->pair;
		q2->attempt_embed = 1;
		q2->t0 = mono_ns();
		char e2[ERR_MAX];
		long id = ollama_post(r->e, p->in->url, "/api/embed", buf_str(&b), left(r), on_load,
				      q2, e2);
		buf_release(&b);
		free(q);
		if (id < 0) {
			free(q2);
			p->done = 1;
			snprintf(p->err, sizeof(p->err), "%s", e2);
			pair_finished(r, inst);
		}
		return;
	} else if (r->stopping && res->err == OLLAMA_E_ABORTED && !(r->cancel && *r->cancel)) {
		snprintf(p->err, sizeof(p->err), "no answer before the deadline");
	} else {
		snprintf(p->err, sizeof(p->err), "%s", res->errmsg);
	}
	free(q);
	pair_finished(r, inst);
}

static int warm_line(void *ud, const struct ollama_stream *s, int is_token, int64_t t_ns)
{
	struct lreq *q = ud;
	(void)s;
	if (is_token && !q->ttft)
		q->ttft = t_ns - q->t0;
	return 0;
}

static void submit_warm(struct runner *r, size_t inst);

static void on_warm_done(void *ud, const struct ollama_stream *s, enum ollama_err err,
			 const char *msg, const struct http_response *resp)
{
	struct lreq *q = ud;
	struct runner *r = q->r;
	struct load_pair *p = &r->s->p[q->pair];
	size_t inst = inst_of(r, q->pair);
	int k = p->nwarm++;
	if (err == OLLAMA_OK) {
		p->nwarm_ok++;
		p->warm_total_ns[k] = (resp && resp->t.end ? resp->t.end : mono_ns()) - q->t0;
		p->warm_ttft_ns[k] = q->ttft ? q->ttft : p->warm_total_ns[k];
		p->warm_tps[k] = s->eval_duration > 0 ? s->eval_count * 1e9 / s->eval_duration : 0;
		p->warm_load_ns[k] = s->load_duration;
	} else {
		if (!p->warm_err[0])
			snprintf(p->warm_err, sizeof(p->warm_err), "%s",
				 r->stopping && err == OLLAMA_E_ABORTED && !(r->cancel && *r->cancel) ?
				 "no answer before the deadline" : msg);
		/* one failure ends this pair's warm-up: do not hammer a broken model */
		p->nwarm = r->warm_n;
	}
	free(q);
	if (p->nwarm >= r->warm_n) {
		r->next[inst]++;
		r->finished++;
		if (r->progress)
			r->progress(r->ud, r->finished, r->total);
	}
	submit_warm(r, inst);
}

/* Send the next warm-up request of instance inst: its pairs one after the other. */
static void submit_warm(struct runner *r, size_t inst)
{
	while (r->next[inst] < r->norder[inst]) {
		if (stopped(r))
			return;
		size_t pi = r->order[inst][r->next[inst]];
		struct load_pair *p = &r->s->p[pi];
		if (p->embed || !p->ok || p->nwarm >= r->warm_n) {
			/* embedding models and models that did not load get no warm-up */
			r->next[inst]++;
			r->finished++;
			if (r->progress)
				r->progress(r->ud, r->finished, r->total);
			continue;
		}
		struct ollama_gen_req g = { 0 };
		g.model = p->model;
		g.prompt = "Write one short sentence about the sea.";
		g.stream = 1;
		g.has_keep_alive = p->has_keep_alive;
		g.keep_alive_ns = p->keep_alive_ns;
		g.options.set = OLLAMA_OPT_NUM_PREDICT;
		g.options.num_predict = r->num_predict;
		if (p->num_ctx) {
			g.options.set |= OLLAMA_OPT_NUM_CTX;
			g.options.num_ctx = p->num_ctx;
		}
		struct buf b = BUF_INIT;
		ollama_build_generate(&b, &g);
		struct lreq *q = xcalloc(1, sizeof(*q));
		q->r = r;
		q->pair = pi;
		q->t0 = mono_ns();
		struct ollama_stream_req sr = { 0 };
		sr.base_url = p->in->url;
		sr.path = "/api/generate";
		sr.body = buf_str(&b);
		sr.wire = OLLAMA_WIRE_NATIVE;
		sr.timeout_ns = left(r);
		sr.on_line = warm_line;
		sr.on_done = on_warm_done;
		sr.ud = q;
		char e2[ERR_MAX];
		long id = ollama_stream_submit(r->e, &sr, e2);
		buf_release(&b);
		if (id >= 0)
			return;
		free(q);
		snprintf(p->warm_err, sizeof(p->warm_err), "%s", e2);
		p->nwarm = r->warm_n;
	}
}

/* Start the next pair of instance inst, if any. */
static void submit_next(struct runner *r, size_t inst)
{
	while (r->next[inst] < r->norder[inst]) {
		if (stopped(r))
			return;
		size_t pi = r->order[inst][r->next[inst]++];
		struct load_pair *p = &r->s->p[pi];
		if (r->mode == 1 && p->ps_ok && !p->resident) {
			/* Not loaded: nothing to unload (a request could even load it first). */
			p->done = p->ok = 1;
			snprintf(p->done_reason, sizeof(p->done_reason), "not loaded");
			r->finished++;
			if (r->progress)
				r->progress(r->ud, r->finished, r->total);
			continue;
		}
		struct buf b = BUF_INIT;
		struct ollama_options o = { 0 };
		if (p->num_ctx) {
			o.set |= OLLAMA_OPT_NUM_CTX;
			o.num_ctx = p->num_ctx;
		}
		if (r->mode == 1)
			ollama_build_unload(&b, p->model);
		else
			ollama_build_preload(&b, p->model, p->has_keep_alive, p->keep_alive_ns,
					     o.set ? &o : NULL);
		struct lreq *q = xcalloc(1, sizeof(*q));
		q->r = r;
		q->pair = pi;
		q->t0 = mono_ns();
		char e2[ERR_MAX];
		long id = ollama_post(r->e, p->in->url, "/api/generate", buf_str(&b), left(r),
				      on_load, q, e2);
		buf_release(&b);
		if (id >= 0)
			return;
		free(q);
		p->done = 1;
		snprintf(p->err, sizeof(p->err), "%s", e2);
		r->finished++;
		if (r->progress)
			r->progress(r->ud, r->finished, r->total);
	}
}

/* Group pairs by instance, keeping their order. */
static void runner_init(struct runner *r, struct http_engine *e, struct load_set *s, int mode,
			int64_t timeout_ns, load_progress_fn progress, void *ud,
			const volatile int *cancel)
{
	memset(r, 0, sizeof(*r));
	r->e = e;
	r->s = s;
	r->mode = mode;
	r->deadline = mono_ns() + (timeout_ns > 0 ? timeout_ns : 600000000000LL);
	r->progress = progress;
	r->ud = ud;
	r->cancel = cancel;
	r->total = s->n;
	r->order = xcalloc(s->n + 1, sizeof(size_t *));
	r->norder = xcalloc(s->n + 1, sizeof(size_t));
	r->next = xcalloc(s->n + 1, sizeof(size_t));
	const struct fleet_instance **seen = xcalloc(s->n + 1, sizeof(*seen));
	for (size_t i = 0; i < s->n; i++) {
		size_t k = 0;
		while (k < r->ninst && seen[k] != s->p[i].in)
			k++;
		if (k == r->ninst) {
			seen[k] = s->p[i].in;
			r->order[k] = xcalloc(s->n, sizeof(size_t));
			r->ninst++;
		}
		r->order[k][r->norder[k]++] = i;
	}
	free(seen);
}

static void runner_release(struct runner *r)
{
	for (size_t k = 0; k < r->ninst; k++)
		free(r->order[k]);
	free(r->order);
	free(r->norder);
	free(r->next);
}

static void drive(struct runner *r)
{
	while (http_active(r->e)) {
		if (r->cancel && *r->cancel)
			break;
		int64_t l = r->deadline - mono_ns();
		if (l <= 0)
			break;
		if (http_poll(r->e, l < 100000000 ? l : 100000000, -1, NULL) < 0)
			break;
	}
	/* Past the deadline or cancelled: cancel what is left (on_done marks it failed).
	 * The callbacks submit nothing more (stopped()), so nothing outlives the runner. */
	r->stopping = 1;
	for (int i = 0; i < 8 && http_active(r->e); i++)
		http_cancel_all(r->e);
	for (size_t i = 0; i < r->s->n; i++) {
		struct load_pair *p = &r->s->p[i];
		if (!p->done && r->mode != 2) {
			p->done = 1;
			snprintf(p->err, sizeof(p->err), "%s",
				 r->cancel && *r->cancel ? "interrupted" : "not sent before the deadline");
		}
	}
}

void load_run(struct http_engine *e, struct load_set *s, int unload, int64_t timeout_ns,
	      load_progress_fn progress, void *ud, const volatile int *cancel)
{
	struct runner r;
	runner_init(&r, e, s, unload ? 1 : 0, timeout_ns, progress, ud, cancel);
	for (size_t k = 0; k < r.ninst; k++)
		submit_next(&r, k);
	drive(&r);
	runner_release(&r);
}

void load_warm(struct http_engine *e, struct load_set *s, int n, int num_predict,
	       int64_t timeout_ns, load_progress_fn progress, void *ud,
	       const volatile int *cancel)
{
	struct runner r;
	runner_init(&r, e, s, 2, timeout_ns, progress, ud, cancel);
	r.warm_n = n < 1 ? 1 : n > LOAD_WARM_MAX ? LOAD_WARM_MAX : n;
	r.num_predict = num_predict > 0 ? num_predict : 16;
	for (size_t k = 0; k < r.ninst; k++)
		submit_warm(&r, k);
	drive(&r);
	runner_release(&r);
}

void load_readback(struct http_engine *e, struct load_set *s, int64_t timeout_ns,
		   int64_t wait_gone_ns)
{
	int64_t until = mono_ns() + wait_gone_ns;
	for (;;) {
		/* distinct instances */
		const struct fleet_instance **ins = xcalloc(s->n + 1, sizeof(*ins));
		const char **urls = xcalloc(s->n + 1, sizeof(char *));
		size_t ni = 0;
		for (size_t i = 0; i < s->n; i++) {
			size_t k = 0;
			while (k < ni && ins[k] != s->p[i].in)
				k++;
			if (k == ni) {
				ins[ni] = s->p[i].in;
				urls[ni++] = s->p[i].in->url;
			}
		}
		struct ollama_reply *rep = xcalloc(ni + 1, sizeof(*rep));
		ollama_fanout(e, urls, ni, "GET", "/api/ps", NULL, timeout_ns, rep);
		int still = 0;
		for (size_t k = 0; k < ni; k++) {
			struct ollama_ps ps;
			char e2[ERR_MAX];
			int ok = rep[k].err == OLLAMA_OK &&
				 ollama_parse_ps(rep[k].body, rep[k].len, &ps, e2) == 0;
			for (size_t i = 0; i < s->n; i++) {
				struct load_pair *p = &s->p[i];
				if (p->in != ins[k])
					continue;
				p->ps_ok = ok;
				p->resident = 0;
				if (!ok)
					continue;
				const struct ollama_ps_entry *en = ollama_ps_find(&ps, p->model);
				if (en) {
					p->resident = 1;
					p->size = en->size;
					p->size_vram = en->size_vram;
					p->expires_at = en->has_expires_at ? en->expires_at : 0;
					p->context_length = en->has_context_length ? en->context_length : 0;
					still = 1;
				}
			}
			if (ok)
				ollama_ps_release(&ps);
			ollama_reply_release(&rep[k]);
		}
		free(rep);
		free(urls);
		free(ins);
		if (!still || wait_gone_ns <= 0 || mono_ns() >= until)
			break;
		/* Ollama lists an unloading model until its runner exits: poll again shortly. */
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

void load_set_release(struct load_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->p[i].model);
	free(s->p);
	memset(s, 0, sizeof(*s));
}
