/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Probe every instance in parallel (levels 1-3) and evaluate the results. */
#include "../compat.h"
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fleet.h"
#include "../http/http.h"
#include "../ollama/ollama.h"
#include "../stats/threshold.h"
#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

struct pctx;

/* One instance's progress through the levels. */
struct pinst {
	struct pctx *px;
	struct probe_instance *pi;
	int pending;            /* requests in flight for the current phase */
	int phase;              /* 1, 2, 3 */
	int root_done, version_done;
	struct ollama_tags tags;
	struct ollama_ps ps;
	size_t next_gen;        /* level 3: next model to probe (one at a time per instance) */
};

struct preq;

/* The state of one probe in progress (struct probe_job in the header). */
struct pctx {
	struct http_engine *e;
	const struct fleet *f;
	struct probe_opts o;    /* copy, level clamped */
	struct probe_result r;  /* handed over by probe_finish */
	struct pinst *pin;
	int64_t deadline;
	int64_t t0;
	int stopping;           /* probe_finish is cancelling: submit nothing more */
	struct preq *reqs;      /* requests in flight (to cancel them) */
};

struct preq {
	struct pinst *p;
	int kind;               /* 0 root, 1 version, 2 tags, 3 ps, 4 generate */
	size_t model;
	long id;
	struct preq *prev, *next;
};

/* Track a submitted request so that probe_finish can cancel it. */
static void req_link(struct pctx *px, struct preq *rq, long id)
{
	rq->id = id;
	rq->prev = NULL;
	rq->next = px->reqs;
	if (px->reqs)
		px->reqs->prev = rq;
	px->reqs = rq;
}

/* Forget and free a request whose callback has run. */
static void req_done(struct preq *rq)
{
	struct pctx *px = rq->p->px;
	if (rq->prev)
		rq->prev->next = rq->next;
	else if (px->reqs == rq)
		px->reqs = rq->next;
	if (rq->next)
		rq->next->prev = rq->prev;
	free(rq);
}

static int64_t remaining(const struct pctx *px)
{
	int64_t left = px->deadline - mono_ns();
	return left > 1000000 ? left : 1000000;
}

static void phase2(struct pinst *p);
static void phase3_next(struct pinst *p);

static void add_model(struct probe_instance *pi, const char *name, int required, int want_ctx)
{
	pi->models = xrealloc(pi->models, (pi->nmodels + 1) * sizeof(*pi->models));
	struct probe_model *m = &pi->models[pi->nmodels++];
	memset(m, 0, sizeof(*m));
	m->name = xstrdup(name);
	m->required = required;
	m->want_ctx = want_ctx;
}

static void on_root(void *ud, const struct http_response *resp)
{
	struct preq *rq = ud;
	struct pinst *p = rq->p;
	struct probe_instance *pi = p->pi;
	char msg[512];
	enum ollama_err err = ollama_classify(resp, NULL, msg, sizeof(msg));
	pi->root_status = resp->status;
	pi->cert_expiry_s = resp->cert_expiry_s;
	snprintf(pi->tls_version, sizeof(pi->tls_version), "%s", resp->tls_version);
	pi->root_ns = resp->t.end - resp->t.start;
	pi->latency_ns = pi->root_ns;
	if (resp->err == HTTP_OK && resp->status == 200) {
		pi->up = 1;
	} else if (resp->err == HTTP_E_ABORTED && p->px->stopping) {
		/* cancelled by probe_finish: the deadline passed */
		snprintf(pi->errclass, sizeof(pi->errclass), "%s", ollama_err_name(OLLAMA_E_TIMEOUT));
		snprintf(pi->errmsg, sizeof(pi->errmsg), "HEAD /: no answer within the timeout");
	} else {
		pi->local_err = resp->err == HTTP_E_LOCAL;
		snprintf(pi->errclass, sizeof(pi->errclass), "%s", ollama_err_name(err));
		snprintf(pi->errmsg, sizeof(pi->errmsg), "HEAD /: %s", msg[0] ? msg : "failed");
	}
	p->root_done = 1;
	req_done(rq);
	if (--p->pending == 0)
		phase2(p);
}

static void on_get(void *ud, const struct ollama_result *res)
{
	struct preq *rq = ud;
	struct pinst *p = rq->p;
	struct probe_instance *pi = p->pi;
	char err[ERR_MAX];
	switch (rq->kind) {
	case 1:
		if (res->err == OLLAMA_OK &&
		    ollama_parse_version(res->body, res->len, pi->version, sizeof(pi->version),
					 err) == 0) {
			char clean[48];
			text_sanitize(clean, sizeof(clean), pi->version);
			snprintf(pi->version, sizeof(pi->version), "%s", clean);
		} else {
			pi->version[0] = '\0';
		}
		p->version_done = 1;
		break;
	case 2:
		if (res->err != OLLAMA_OK)
			snprintf(pi->tags_err, sizeof(pi->tags_err), "/api/tags: %s", res->errmsg);
		else if (ollama_parse_tags(res->body, res->len, &p->tags, err) < 0)
			snprintf(pi->tags_err, sizeof(pi->tags_err), "/api/tags: %s", err);
		else
			pi->tags_ok = 1;
		break;
	case 3:
		if (res->err != OLLAMA_OK)
			snprintf(pi->ps_err, sizeof(pi->ps_err), "/api/ps: %s", res->errmsg);
		else if (ollama_parse_ps(res->body, res->len, &p->ps, err) < 0)
			snprintf(pi->ps_err, sizeof(pi->ps_err), "/api/ps: %s", err);
		else
			pi->ps_ok = 1;
		break;
	}
	req_done(rq);
	if (--p->pending == 0) {
		if (p->phase == 1)
			phase2(p);
		else
			phase3_next(p);
	}
}

/* Fill the model list from tags and ps once both have answered. */
static void fold_models(struct pinst *p)
{
	struct probe_instance *pi = p->pi;
	const struct fleet *f = p->px->f;
	for (size_t i = 0; i < f->nmodels; i++)
		if (fleet_model_on_instance(&f->models[i], pi->in))
			add_model(pi, f->models[i].name, 1, f->models[i].num_ctx);
	if (f->nmodels == 0 && p->px->o.model) {
		char canon[256], err[ERR_MAX];
		if (ollama_name_normalize(p->px->o.model, canon, sizeof(canon), err) == 0)
			add_model(pi, canon, 1, 0);
	}
	/* models loaded that the fleet does not list (top shows them) */
	for (size_t i = 0; p->ps.models && i < p->ps.n; i++) {
		int known = 0;
		for (size_t m = 0; m < pi->nmodels; m++)
			if (ollama_name_equal(pi->models[m].name, p->ps.models[i].name))
				known = 1;
		if (!known) {
			char *clean = text_sanitize_dup(p->ps.models[i].name);
			add_model(pi, clean, 0, 0);
			free(clean);
		}
	}
	for (size_t m = 0; m < pi->nmodels; m++) {
		struct probe_model *pm = &pi->models[m];
		const struct ollama_model *t = pi->tags_ok ? ollama_tags_find(&p->tags, pm->name) : NULL;
		if (t) {
			pm->installed = 1;
			snprintf(pm->digest, sizeof(pm->digest), "%s", t->digest);
			pm->embed = ollama_model_has_cap(t, "embedding") &&
				    !ollama_model_has_cap(t, "completion");
		}
		const struct ollama_ps_entry *e = pi->ps_ok ? ollama_ps_find(&p->ps, pm->name) : NULL;
		if (e) {
			pm->resident = 1;
			pm->size = e->size;
			pm->size_vram = e->size_vram;
			pm->context_length = e->has_context_length ? e->context_length : 0;
			pm->expires_at = e->has_expires_at ? e->expires_at : 0;
			if (!pm->installed && !pm->digest[0])
				snprintf(pm->digest, sizeof(pm->digest), "%s", e->digest);
		}
	}
}

static void phase2(struct pinst *p)
{
	struct probe_instance *pi = p->pi;
	struct pctx *px = p->px;
	if (!p->root_done || !p->version_done)
		return;
	if (!pi->up || px->o.level < 2 || px->stopping) {
		p->phase = 4;
		return;
	}
	p->phase = 2;
	char err[ERR_MAX];
	static const char *const paths[] = { "/api/tags", "/api/ps" };
	for (int k = 0; k < 2; k++) {
		struct preq *rq = xcalloc(1, sizeof(*rq));
		rq->p = p;
		rq->kind = 2 + k;
		p->pending++;
		long id = ollama_get(px->e, pi->in->url, paths[k], remaining(px), on_get, rq, err);
		if (id < 0) {
			p->pending--;
			free(rq);
			snprintf(k ? pi->ps_err : pi->tags_err, sizeof(pi->tags_err), "%s: %s",
				 paths[k], err);
		} else {
			req_link(px, rq, id);
		}
	}
	if (p->pending == 0)
		phase3_next(p);
}

static void on_gen(void *ud, const struct ollama_result *res)
{
	struct preq *rq = ud;
	struct pinst *p = rq->p;
	struct probe_model *pm = &p->pi->models[rq->model];
	pm->gen_ns = res->resp ? res->resp->t.end - res->resp->t.start : 0;
	if (res->err != OLLAMA_OK && !pm->embed && res->status == 400 &&
	    strstr(res->errmsg, "does not support generate")) {
		/* An embedding model on a server too old to list capabilities: embed instead. */
		pm->embed = 1;
		p->next_gen = rq->model;
		req_done(rq);
		p->pending--;
		phase3_next(p);
		return;
	}
	if (res->err != OLLAMA_OK) {
		snprintf(pm->gen_err, sizeof(pm->gen_err), "%s", res->errmsg);
	} else {
		struct ollama_chunk c;
		char err[ERR_MAX];
		ollama_chunk_init(&c);
		if (ollama_chunk_parse(&c, OLLAMA_WIRE_NATIVE, res->body, res->len, err) < 0) {
			snprintf(pm->gen_err, sizeof(pm->gen_err), "generate: %s", err);
		} else if (c.kind == OLLAMA_CHUNK_ERROR) {
			snprintf(pm->gen_err, sizeof(pm->gen_err), "generate: %s", c.error);
		} else if (!c.done && !pm->embed) {
			snprintf(pm->gen_err, sizeof(pm->gen_err), "generate: reply without done");
		} else {
			pm->gen_ok = 1;
			pm->load_ns = c.load_duration;
			pm->cold = c.load_duration > PROBE_COLD_LOAD_NS || !pm->resident;
		}
		ollama_chunk_release(&c);
	}
	if (pm->gen_ns > p->pi->latency_ns || p->pi->latency_ns == p->pi->root_ns)
		p->pi->latency_ns = pm->gen_ns;
	req_done(rq);
	p->pending--;
	phase3_next(p);
}

/* Level 3: one 1-token generate per installed required model, one at a time. */
static void phase3_next(struct pinst *p)
{
	struct probe_instance *pi = p->pi;
	struct pctx *px = p->px;
	if (p->phase == 2) {
		fold_models(p);
		p->phase = 3;
	}
	if (px->o.level < 3 || px->stopping) {
		p->phase = 4;
		return;
	}
	while (p->next_gen < pi->nmodels) {
		size_t i = p->next_gen++;
		struct probe_model *pm = &pi->models[i];
		if (!pm->required || !pm->installed)
			continue;
		if (!pm->resident && !px->o.load) {
			pm->skipped = 1;
			continue;
		}
		const struct fleet_model *fm = fleet_find_model(px->f, pm->name);
		struct ollama_gen_req g = { 0 };
		g.model = pm->name;
		g.prompt = "Reply with OK.";
		g.stream = 0;
		g.options.set = OLLAMA_OPT_NUM_PREDICT;
		g.options.num_predict = 1;
		if (fm && fm->num_ctx) {
			g.options.set |= OLLAMA_OPT_NUM_CTX;
			g.options.num_ctx = fm->num_ctx;
		}
		if (fm && fm->has_keep_alive) {
			g.has_keep_alive = 1;
			g.keep_alive_ns = fm->keep_alive_ns;
		}
		struct buf body = BUF_INIT;
		const char *path = "/api/generate";
		if (pm->embed) {
			static const char *const input[] = { "ping" };
			path = "/api/embed";
			ollama_build_embed(&body, pm->name, input, 1, g.has_keep_alive, g.keep_alive_ns);
		} else {
			ollama_build_generate(&body, &g);
		}
		struct preq *rq = xcalloc(1, sizeof(*rq));
		rq->p = p;
		rq->kind = 4;
		rq->model = i;
		char err[ERR_MAX];
		pm->probed = 1;
		p->pending++;
		long id = ollama_post(px->e, pi->in->url, path, buf_str(&body),
				      remaining(px), on_gen, rq, err);
		buf_release(&body);
		if (id < 0) {
			p->pending--;
			free(rq);
			snprintf(pm->gen_err, sizeof(pm->gen_err), "%s", err);
			continue;
		}
		req_link(px, rq, id);
		return;
	}
	p->phase = 4;
}

/* How many installed copies of model name there are, and how many have digest d. */
static size_t count_digest(const struct probe_result *r, const char *name, const char *d,
			   size_t *installed)
{
	size_t cnt = 0;
	*installed = 0;
	for (size_t a = 0; a < r->n; a++)
		for (size_t b = 0; b < r->inst[a].nmodels; b++) {
			const struct probe_model *q = &r->inst[a].models[b];
			if (!q->installed || !q->digest[0] || strcmp(q->name, name))
				continue;
			(*installed)++;
			cnt += !strcmp(q->digest, d);
		}
	return cnt;
}

/* "gpu-1 abcdef012345, gpu-2 012345abcdef": every instance's digest of name. */
static char *digest_list(const struct probe_result *r, const char *name)
{
	struct buf b = BUF_INIT;
	for (size_t a = 0; a < r->n; a++)
		for (size_t k = 0; k < r->inst[a].nmodels; k++) {
			const struct probe_model *q = &r->inst[a].models[k];
			if (q->installed && q->digest[0] && !strcmp(q->name, name))
				buf_addf(&b, "%s%s %.12s", b.len ? ", " : "", r->inst[a].in->name,
					 q->digest);
		}
	return buf_detach(&b);
}

/*
 * Per fleet model: the digest more than half of its installed copies have is the
 * fleet's; an instance with another is marked as drifted. With no such majority (two
 * instances that disagree, or a three-way split) every copy is marked split and none
 * is blamed.
 */
static void find_drift(struct probe_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		for (size_t m = 0; m < r->inst[i].nmodels; m++) {
			struct probe_model *pm = &r->inst[i].models[m];
			if (!pm->installed || !pm->digest[0] || !pm->required)
				continue;
			size_t best = 0, installed = 0;
			const char *best_d = NULL;
			for (size_t j = 0; j < r->n; j++)
				for (size_t k = 0; k < r->inst[j].nmodels; k++) {
					struct probe_model *o = &r->inst[j].models[k];
					if (!o->installed || !o->digest[0] || strcmp(o->name, pm->name))
						continue;
					size_t cnt = count_digest(r, o->name, o->digest, &installed);
					if (cnt > best) {
						best = cnt;
						best_d = o->digest;
					}
				}
			if (!best_d || best == installed)
				continue; /* one digest everywhere */
			if (2 * best > installed) {
				if (strcmp(best_d, pm->digest)) {
					pm->drift = 1;
					free(pm->majority_digest);
					pm->majority_digest = xstrdup(best_d);
				}
			} else {
				pm->split = 1;
				free(pm->split_list);
				pm->split_list = digest_list(r, pm->name);
			}
		}
	}
}

struct probe_job *probe_start(struct http_engine *e, const struct fleet *f,
				 const struct probe_opts *o)
{
	struct pctx *px = xcalloc(1, sizeof(*px));
	struct probe_result *out = &px->r;
	px->e = e;
	px->f = f;
	px->o = *o;
	px->o.level = o->level < 1 ? 1 : o->level > 3 ? 3 : o->level;
	out->level = px->o.level;
	out->n = f->ninstances;
	out->inst = xcalloc(f->ninstances ? f->ninstances : 1, sizeof(*out->inst));
	out->started_wall_ns = wall_ns();
	px->t0 = mono_ns();
	px->deadline = px->t0 + (o->timeout_ns > 0 ? o->timeout_ns : 10000000000LL);
	px->pin = xcalloc(f->ninstances ? f->ninstances : 1, sizeof(*px->pin));
	for (size_t i = 0; i < f->ninstances; i++) {
		struct pinst *p = &px->pin[i];
		p->px = px;
		p->pi = &out->inst[i];
		p->pi->in = &f->instances[i];
		p->phase = 1;
		char root[1100];
		snprintf(root, sizeof(root), "%s/", f->instances[i].url);
		struct http_req hr = { 0 };
		hr.method = "HEAD";
		hr.url = root;
		hr.timeout_ns = remaining(px);
		hr.on_done = on_root;
		hr.certinfo = !strncasecmp(hr.url, "https:", 6); /* for probe_cert_check */
		struct preq *rq = xcalloc(1, sizeof(*rq));
		rq->p = p;
		rq->kind = 0;
		hr.ud = rq;
		char e2[ERR_MAX];
		p->pending++;
		long id = http_submit(e, &hr, e2);
		if (id < 0) {
			free(rq);
			p->pending--;
			p->root_done = 1;
			snprintf(p->pi->errclass, sizeof(p->pi->errclass), "other");
			snprintf(p->pi->errmsg, sizeof(p->pi->errmsg), "%s", e2);
		} else {
			req_link(px, rq, id);
		}
		struct preq *rv = xcalloc(1, sizeof(*rv));
		rv->p = p;
		rv->kind = 1;
		p->pending++;
		id = ollama_get(e, f->instances[i].url, "/api/version", remaining(px), on_get, rv, e2);
		if (id < 0) {
			free(rv);
			p->pending--;
			p->version_done = 1;
		} else {
			req_link(px, rv, id);
		}
		if (p->pending == 0)
			phase2(p);
	}
	return (struct probe_job *)px;
}

int probe_done(const struct probe_job *st)
{
	const struct pctx *px = (const struct pctx *)st;
	return px->reqs == NULL;
}

int64_t probe_deadline(const struct probe_job *st)
{
	return ((const struct pctx *)st)->deadline;
}

void probe_finish(struct probe_job *st, struct probe_result *out)
{
	struct pctx *px = (struct pctx *)st;
	const struct fleet *f = px->f;
	/* Whatever is still in flight is cancelled; its on_done marks it failed. */
	px->stopping = 1;
	while (px->reqs)
		http_cancel(px->e, px->reqs->id);
	for (size_t i = 0; i < f->ninstances; i++) {
		struct pinst *p = &px->pin[i];
		if (p->phase == 2 || (p->phase == 3 && p->pi->nmodels == 0))
			fold_models(p);
		if (!p->pi->up && !p->pi->errmsg[0])
			snprintf(p->pi->errmsg, sizeof(p->pi->errmsg), "no answer within the timeout");
		ollama_tags_release(&p->tags);
		ollama_ps_release(&p->ps);
	}
	free(px->pin);
	find_drift(&px->r);
	px->r.elapsed_ns = mono_ns() - px->t0;
	*out = px->r;
	free(px);
}

int probe_run(struct http_engine *e, const struct fleet *f, const struct probe_opts *o,
	      struct probe_result *out, char *err)
{
	struct probe_job *st = probe_start(e, f, o);
	int64_t deadline = probe_deadline(st);
	while (!probe_done(st)) {
		if (o->cancel && *o->cancel)
			break;
		int64_t left = deadline - mono_ns();
		if (left <= 0)
			break;
		if (http_poll(e, left < 200000000 ? left : 200000000, -1, NULL) < 0) {
			seterr(err, "probe: event loop failed");
			break;
		}
	}
	/* Past the deadline: give the requests' own timeouts a moment to report. */
	int64_t grace = mono_ns() + 50000000LL;
	while (!probe_done(st) && !(o->cancel && *o->cancel) && mono_ns() < grace)
		if (http_poll(e, 10000000, -1, NULL) < 0)
			break;
	probe_finish(st, out);
	return 0;
}

static void problem(struct probe_instance *pi, enum probe_state s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int sev(enum probe_state s)
{
	return s == PROBE_CRIT ? 3 : s == PROBE_WARN ? 2 : s == PROBE_UNKNOWN ? 1 : 0;
}

static void problem(struct probe_instance *pi, enum probe_state s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *line = xvasprintf(fmt, ap);
	va_end(ap);
	pi->problems = xrealloc(pi->problems, (pi->nproblems + 2) * sizeof(char *));
	pi->problems[pi->nproblems++] = line;
	pi->problems[pi->nproblems] = NULL;
	if (sev(s) > sev(pi->state))
		pi->state = s;
}

void probe_evaluate(struct probe_result *r, const struct nagios_range *warn,
		    const struct nagios_range *crit)
{
	r->state = PROBE_OK;
	for (size_t i = 0; i < r->n; i++) {
		struct probe_instance *pi = &r->inst[i];
		char t1[32], t2[32];
		pi->state = PROBE_OK;
		for (size_t k = 0; k < pi->nproblems; k++)
			free(pi->problems[k]);
		free(pi->problems);
		pi->problems = NULL;
		pi->nproblems = 0;
		free(pi->summary);
		struct buf s = BUF_INIT;
		if (!pi->up && pi->local_err) {
			/* this host's fault (no descriptor left): unknown, not down */
			problem(pi, PROBE_UNKNOWN, "unknown: %s", pi->errmsg);
			buf_addf(&s, "UNKNOWN (%s)", pi->errmsg);
		} else if (!pi->up) {
			problem(pi, PROBE_CRIT, "down: %s", pi->errmsg);
			buf_addf(&s, "DOWN (%s)", pi->errmsg);
		} else {
			buf_addf(&s, "up, version %s, HEAD / %s", pi->version[0] ? pi->version : "?",
				 units_fmt_duration(pi->root_ns, t1, sizeof(t1)));
		}
		if (pi->up && r->level >= 2) {
			if (pi->tags_err[0])
				problem(pi, PROBE_CRIT, "%s", pi->tags_err);
			if (pi->ps_err[0])
				problem(pi, PROBE_CRIT, "%s", pi->ps_err);
			size_t req = 0, res = 0;
			for (size_t m = 0; m < pi->nmodels; m++) {
				struct probe_model *pm = &pi->models[m];
				if (!pm->required)
					continue;
				req++;
				if (!pm->installed && pi->tags_ok) {
					problem(pi, PROBE_CRIT, "%s not installed", pm->name);
					continue;
				}
				if (pm->drift)
					problem(pi, PROBE_WARN, "%s digest %.12s differs from the fleet's %.12s",
						pm->name, pm->digest, pm->majority_digest);
				if (pm->split)
					problem(pi, PROBE_WARN, "%s digests differ across the fleet with no "
						"majority: %s", pm->name, pm->split_list);
				if (!pm->resident && pi->ps_ok) {
					problem(pi, PROBE_WARN, "%s not resident", pm->name);
				} else if (pm->resident) {
					res++;
					if (pm->want_ctx && pm->context_length &&
					    pm->context_length != pm->want_ctx)
						problem(pi, PROBE_WARN,
							"%s resident with context %" PRId64
							", the fleet wants %d (a request would reload it)",
							pm->name, pm->context_length, pm->want_ctx);
				}
			}
			buf_addf(&s, ", %zu/%zu models resident", res, req);
		}
		if (pi->up && r->level >= 3) {
			int probed = 0;
			for (size_t m = 0; m < pi->nmodels; m++) {
				struct probe_model *pm = &pi->models[m];
				if (pm->skipped) {
					probed++;
					buf_addf(&s, ", %s %s skipped (not resident; --load loads it)",
						 pm->embed ? "embed" : "generate", pm->name);
					continue;
				}
				if (!pm->probed)
					continue;
				probed++;
				if (!pm->gen_ok) {
					problem(pi, PROBE_CRIT, "%s %s failed: %s",
						pm->embed ? "embed" : "generate", pm->name, pm->gen_err);
				} else {
					buf_addf(&s, ", %s %s %s", pm->embed ? "embed" : "generate", pm->name,
						 units_fmt_duration(pm->gen_ns, t1, sizeof(t1)));
					if (pm->cold)
						problem(pi, PROBE_WARN,
							"probe of %s hit a cold load (load_duration %s)",
							pm->name,
							units_fmt_duration(pm->load_ns, t2, sizeof(t2)));
				}
			}
			if (!probed)
				problem(pi, PROBE_UNKNOWN, "no model to probe at level 3 (list models "
							   "in the fleet file or give --model)");
		}
		if (pi->up) {
			double v = pi->latency_ns / 1e9;
			enum nagios_state ns = nagios_check(warn, crit, v);
			if (ns == NAGIOS_CRITICAL)
				problem(pi, PROBE_CRIT, "probe latency %s outside the critical range %s",
					units_fmt_duration(pi->latency_ns, t1, sizeof(t1)), crit->text);
			else if (ns == NAGIOS_WARNING)
				problem(pi, PROBE_WARN, "probe latency %s outside the warning range %s",
					units_fmt_duration(pi->latency_ns, t1, sizeof(t1)), warn->text);
		}
		pi->summary = buf_detach(&s);
		if (sev(pi->state) > sev(r->state))
			r->state = pi->state;
	}
}

const char *probe_state_word(const struct probe_instance *pi)
{
	if (!pi->up)
		return "down";
	switch (pi->state) {
	case PROBE_OK: return "ok";
	case PROBE_WARN: return "warn";
	case PROBE_CRIT: return "crit";
	default: return "unknown";
	}
}

void probe_result_release(struct probe_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct probe_instance *pi = &r->inst[i];
		for (size_t m = 0; m < pi->nmodels; m++) {
			free(pi->models[m].name);
			free(pi->models[m].majority_digest);
			free(pi->models[m].split_list);
		}
		free(pi->models);
		for (size_t k = 0; k < pi->nproblems; k++)
			free(pi->problems[k]);
		free(pi->problems);
		free(pi->summary);
	}
	free(r->inst);
	memset(r, 0, sizeof(*r));
}
