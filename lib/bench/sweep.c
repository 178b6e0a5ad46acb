/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A bench run over its levels: steps, storage, early stop, summary; fingerprint and model. */
#include "../compat.h"
#include "sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../http/http.h"
#include "../ollama/ollama.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

static void note(struct bench_sweep *s, const char *what, const char *err)
{
	if (!s->warning[0])
		snprintf(s->warning, sizeof(s->warning), "%.100s: %.500s", what, err);
}

/* The step of one accumulator: stored (JSON and histogram blob) and kept as a row. */
static void add_step(struct bench_sweep *s, const struct bench_sweep_opts *o,
		     const struct bench_cfg *cfg, const struct bench_acc *a, double x,
		     const char *instance, int partial, int targets)
{
	char err[ERR_MAX];
	struct bench_step_info si = { 0 };
	si.index = (int)s->nsteps;
	si.x = x;
	si.targets = targets;
	si.mode = cfg->mode;
	si.endpoint = cfg->api == BENCH_API_ENDPOINT;
	si.instance = instance;
	si.partial = partial;
	struct bench_step *st = xcalloc(1, sizeof(*st));
	struct buf j = BUF_INIT, blob = BUF_INIT;
	if (bench_step_compute(a, &si, st, err) < 0 ||
	    (bench_step_to_json(st, &j) < 0 && seterr(err, "step JSON too large"))) {
		note(s, "step not recorded", err);
		buf_release(&j);
		free(st);
		return;
	}
	bench_hists_blob(a, &blob);
	if (o->store && store_step_add(o->store, o->run_id, si.index, st->label, buf_str(&j),
				       blob.data, blob.len, err) < 0)
		note(s, "step not recorded", err);
	buf_release(&blob);
	s->steps[s->nsteps++] = buf_detach(&j);
	bench_row_from_step(st, &s->rows[s->nrows++]);
	free(st);
}

int bench_sweep_run(struct bench *b, const struct bench_cfg *cfg,
		    const struct bench_sweep_opts *o, struct bench_sweep *s, char *err)
{
	memset(s, 0, sizeof(*s));
	size_t nt = cfg->ntargets;
	size_t per_level = nt > 1 ? nt + 1 : 1;
	s->flags = (cfg->mode == BENCH_OPEN ? BENCH_VIEW_RATE : 0) |
		   (cfg->api == BENCH_API_ENDPOINT ? BENCH_VIEW_ENDPOINT : 0);
	s->steps = xcalloc(o->nlevels * per_level + 1, sizeof(char *));
	s->rows = xcalloc(o->nlevels * per_level + 1, sizeof(*s->rows));
	struct bench_acc **acc = xcalloc(nt, sizeof(*acc)), *agg = bench_acc_new();
	for (size_t i = 0; i < nt; i++)
		acc[i] = bench_acc_new();
	int rc = 0;
	for (size_t li = 0; li < o->nlevels && !s->interrupted; li++) {
		if (o->stop && *o->stop) {
			s->interrupted = 1;
			break;
		}
		if (o->level_begin)
			o->level_begin(o->ud, (int)li + 1, o->nlevels, (int)s->nsteps);
		int r = bench_step(b, o->levels[li], acc, err);
		if (r < 0) {
			rc = -1;
			break;
		}
		s->interrupted = r == 1;
		if (o->level_end)
			o->level_end(o->ud);
		if (nt > 1) {
			bench_acc_reset(agg);
			for (size_t t = 0; t < nt; t++)
				bench_acc_merge(agg, acc[t]);
			add_step(s, o, cfg, agg, o->levels[li], NULL, s->interrupted, (int)nt);
			for (size_t t = 0; t < nt; t++)
				add_step(s, o, cfg, acc[t], o->levels[li], cfg->targets[t].name,
					 s->interrupted, 1);
		} else {
			add_step(s, o, cfg, acc[0], o->levels[li], NULL, s->interrupted, 1);
		}
		if (s->interrupted || li + 1 == o->nlevels || s->nrows < per_level)
			continue;
		/* Stop conditions, on the step that covers the whole target. */
		const struct bench_row *last = &s->rows[s->nrows - per_level];
		int64_t p95 = (s->flags & BENCH_VIEW_ENDPOINT) || !last->has_ttft ? last->e2e_p95 :
			      last->ttft_p95;
		char d1[32], d2[32];
		if (o->max_p95_ns && last->ok && p95 > o->max_p95_ns) {
			snprintf(s->stopped, sizeof(s->stopped), "p95 %s over --max-p95 %s at %g",
				 units_fmt_duration(p95, d1, sizeof(d1)),
				 units_fmt_duration(o->max_p95_ns, d2, sizeof(d2)), o->levels[li]);
			break;
		}
		if (o->stop_on_knee) {
			struct bench_knee k;
			bench_knee_report(s->rows, s->nrows, s->flags, o->slo_ns, &k, NULL, NULL);
			if (k.found && k.next_x > 0) {
				snprintf(s->stopped, sizeof(s->stopped), "knee found at %g", k.x);
				break;
			}
		}
	}
	if (o->stop && *o->stop)
		s->interrupted = 1;
	for (size_t i = 0; i < s->nrows; i++) {
		if (s->rows[i].instance[0])
			continue;
		s->ok += s->rows[i].ok;
		s->errors += s->rows[i].errors;
		s->shed += s->rows[i].shed;
	}
	for (size_t i = 0; i < nt; i++)
		free(acc[i]);
	free(acc);
	free(agg);
	return rc;
}

void bench_sweep_release(struct bench_sweep *s)
{
	for (size_t i = 0; i < s->nsteps; i++)
		free(s->steps[i]);
	free(s->steps);
	free(s->rows);
	memset(s, 0, sizeof(*s));
}

const char *bench_sweep_status(const struct bench_sweep *s)
{
	return s->interrupted ? "interrupted" : !s->ok ? "failed" : s->errors ? "warn" : "ok";
}

void bench_sweep_summarize(const struct bench_sweep *s, int64_t slo_ns,
			   struct bench_summary *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = BENCH_SUMMARY_RESULT;
	out->has = BENCH_HAS_TOK_S | BENCH_HAS_REQ_S | BENCH_HAS_ERRORS | BENCH_HAS_OK;
	for (size_t i = 0; i < s->nrows; i++) {
		if (s->rows[i].instance[0])
			continue;
		if (s->rows[i].tok_s > out->tok_s)
			out->tok_s = s->rows[i].tok_s;
		if (s->rows[i].req_s > out->req_s)
			out->req_s = s->rows[i].req_s;
	}
	bench_knee_report(s->rows, s->nrows, s->flags, slo_ns, &out->knee, NULL, NULL);
	for (size_t i = 0; i < s->nrows; i++) {
		const struct bench_row *r = &s->rows[i];
		if (!r->instance[0] && (!out->knee.found || r->x == out->knee.x))
			out->ttft_p95_ns = (s->flags & BENCH_VIEW_ENDPOINT) || !r->has_ttft ?
						   r->e2e_p95 : r->ttft_p95;
	}
	/* nothing succeeded: no latency to speak of (null, not a 0 that reads as fast) */
	if (s->ok)
		out->has |= BENCH_HAS_TTFT_P95;
	out->errors = s->errors;
	out->shed = s->shed;
	out->ok = s->ok;
	out->steps = s->nsteps;
	snprintf(out->stopped, sizeof(out->stopped), "%s", s->stopped);
	out->interrupted = s->interrupted;
}

char *bench_sweep_summary(const struct bench_sweep *s, int64_t slo_ns, const char *goals)
{
	struct bench_summary sum;
	struct buf b = BUF_INIT;
	bench_sweep_summarize(s, slo_ns, &sum);
	sum.goals = goals ? xstrdup(goals) : NULL;
	bench_summary_to_json(&sum, &b);
	bench_summary_release(&sum);
	return buf_detach(&b);
}

/* ---- fingerprint and default model ---- */

struct fpslot {
	struct ollama_reply *out;
	int *pending;
};

static void fp_done(void *ud, const struct ollama_result *res)
{
	struct fpslot *sl = ud;
	sl->out->err = res->err;
	sl->out->status = res->status;
	free(sl->out->body);
	sl->out->body = xstrndup(res->body ? res->body : "", res->len);
	sl->out->len = res->len;
	(*sl->pending)--;
}

char *bench_fingerprint(struct http_engine *e, const struct bench_cfg *cfg,
			const char *prompt_desc, int64_t timeout,
			const volatile sig_atomic_t *stop)
{
	const struct bench_target *t = cfg->targets;
	size_t nt = cfg->ntargets;
	struct buf b = BUF_INIT, body = BUF_INIT;
	struct ollama_reply *rep = xcalloc(nt + 2, sizeof(*rep));
	struct fpslot *sl = xcalloc(nt + 2, sizeof(*sl));
	int pending = 0;
	char err[ERR_MAX];
	for (size_t i = 0; i < nt + 2; i++) {
		sl[i].out = &rep[i];
		sl[i].pending = &pending;
		rep[i].err = OLLAMA_E_OTHER;
		rep[i].body = xstrdup("");
	}
	for (size_t i = 0; i < nt; i++)
		if (ollama_get(e, t[i].url, "/api/version", timeout, fp_done, &sl[i], err) >= 0)
			pending++;
	if (cfg->api != BENCH_API_ENDPOINT && nt) {
		if (ollama_get(e, t[0].url, "/api/tags", timeout, fp_done, &sl[nt], err) >= 0)
			pending++;
		ollama_build_show(&body, cfg->model, 0);
		if (ollama_post(e, t[0].url, "/api/show", buf_str(&body), timeout, fp_done,
				&sl[nt + 1], err) >= 0)
			pending++;
	}
	while (pending && !(stop && *stop))
		if (http_poll(e, 100000000LL, -1, NULL) < 0)
			break;
	if (pending)
		http_cancel_all(e);
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	buf_adds(&b, "{\"obridge\":\"" OBRIDGE_VERSION_STRING "\",\"client_host\":");
	buf_add_json_str(&b, host);
	buf_adds(&b, ",\"targets\":[");
	for (size_t i = 0; i < nt; i++) {
		char v[64] = "";
		if (rep[i].err == OLLAMA_OK)
			ollama_parse_version(rep[i].body, rep[i].len, v, sizeof(v), err);
		buf_addf(&b, "%s{\"name\":", i ? "," : "");
		buf_add_json_str(&b, t[i].name);
		buf_adds(&b, ",\"url\":");
		buf_add_json_str(&b, t[i].url);
		buf_adds(&b, ",\"ollama\":");
		buf_add_json_str(&b, v);
		buf_adds(&b, "}");
	}
	buf_adds(&b, "],\"api\":");
	buf_add_json_str(&b, bench_api_name(cfg->api));
	if (cfg->api == BENCH_API_ENDPOINT) {
		buf_adds(&b, ",\"endpoint\":");
		buf_add_json_str(&b, bench_endpoint_name(cfg->endpoint));
	} else {
		buf_adds(&b, ",\"model\":");
		buf_add_json_str(&b, cfg->model);
		char digest[80] = "";
		struct ollama_tags tg;
		if (rep[nt].err == OLLAMA_OK &&
		    !ollama_parse_tags(rep[nt].body, rep[nt].len, &tg, err)) {
			const struct ollama_model *m = ollama_tags_find(&tg, cfg->model);
			if (m)
				snprintf(digest, sizeof(digest), "%s", m->digest);
			ollama_tags_release(&tg);
		}
		buf_adds(&b, ",\"digest\":");
		buf_add_json_str(&b, digest);
		buf_adds(&b, ",\"details\":");
		struct ollama_show sh;
		if (rep[nt + 1].err == OLLAMA_OK &&
		    !ollama_parse_show(rep[nt + 1].body, rep[nt + 1].len, &sh, err)) {
			buf_adds(&b, "{\"family\":");
			buf_add_json_str(&b, sh.details.family);
			buf_adds(&b, ",\"parameter_size\":");
			buf_add_json_str(&b, sh.details.parameter_size);
			buf_adds(&b, ",\"quantization_level\":");
			buf_add_json_str(&b, sh.details.quantization_level);
			buf_addf(&b, ",\"context_length\":%" PRId64 "}", sh.context_length);
			ollama_show_release(&sh);
		} else {
			buf_adds(&b, "null");
		}
		buf_addf(&b, ",\"options\":{\"num_ctx\":%d,\"num_predict\":%d,\"keep_alive\":",
			 cfg->num_ctx, cfg->max_tokens);
		if (cfg->has_keep_alive) {
			char ka[64];
			buf_add_json_str(&b, units_go_duration(cfg->keep_alive_ns, ka, sizeof(ka)));
		} else {
			buf_adds(&b, "null");
		}
		buf_adds(&b, "},\"prompt\":");
		buf_adds(&b, prompt_desc && *prompt_desc ? prompt_desc : "null");
	}
	buf_adds(&b, "}");
	for (size_t i = 0; i < nt + 2; i++)
		ollama_reply_release(&rep[i]);
	free(rep);
	free(sl);
	buf_release(&body);
	return buf_detach(&b);
}

int bench_pick_model(struct http_engine *e, const char *url, char *out, size_t n)
{
	struct ollama_reply rep;
	const char *u[1] = { url };
	int rc = -1;
	if (ollama_fanout(e, u, 1, "GET", "/api/tags", NULL, 5000000000LL, &rep) == 1) {
		struct ollama_tags t;
		char err[ERR_MAX];
		if (!ollama_parse_tags(rep.body, rep.len, &t, err)) {
			for (size_t i = 0; i < t.n && rc < 0; i++) {
				const struct ollama_model *m = &t.models[i];
				if (m->ncapabilities && !ollama_model_has_cap(m, "completion"))
					continue;
				if (!m->ncapabilities && strstr(m->name, "embed"))
					continue;
				snprintf(out, n, "%s", m->name);
				rc = 0;
			}
			ollama_tags_release(&t);
		}
	}
	ollama_reply_release(&rep);
	return rc;
}
