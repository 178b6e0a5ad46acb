/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One bench invocation: targets, model, prompts, params, and the --samples queue. */
#include "../compat.h"
#include "job.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fleet/fleet.h"
#include "../ollama/ollama.h"
#include "../stats/arrival.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/util.h"
#include "result.h"
#include "sweep.h"
#include "../banned.h"

#define SEC 1000000000LL

void bench_job_init(struct bench_job *j)
{
	memset(j, 0, sizeof(*j));
	j->cfg.mode = BENCH_CLOSED;
	j->cfg.api = BENCH_API_GENERATE;
	j->cfg.max_tokens = 128;
	j->cfg.timeout_ns = 300 * SEC;
	j->cfg.stall_ns = 30 * SEC;
	j->cfg.cold_ns = SEC / 2;
	j->cfg.duration_ns = 10 * SEC;
	j->cfg.arrival = ARRIVAL_POISSON;
	j->cfg.burst = 1;
	j->cfg.seed = 1;
	j->warmup = 2;
}

void bench_job_release(struct bench_job *j)
{
	free(j->targets);
	bench_prompts_release(&j->prompts);
	free(j->prompts_desc);
	memset(j, 0, sizeof(*j));
}

int bench_job_levels(struct bench_job *j, char *err)
{
	int open = j->cfg.mode == BENCH_OPEN;
	int n = bench_levels_parse(j->levels_s ? j->levels_s : open ? "1" : "1..16x2", !open,
				   j->levels, BENCH_MAX_LEVELS, err);
	if (n < 0)
		return -1;
	j->nlevels = n;
	return 0;
}

static void add_target(struct bench_job *j, const char *name, const char *url)
{
	j->targets[j->ntargets].name = name;
	j->targets[j->ntargets++].url = url;
}

int bench_job_targets(struct bench_job *j, const struct fleet *f, char *err)
{
	j->targets = xcalloc(f->ninstances + 1, sizeof(*j->targets));
	if (j->instance) {
		const struct fleet_instance *in = fleet_find_instance(f, j->instance);
		if (!in)
			return snprintf(err, ERR_MAX, "no instance '%s' in the fleet (%s)",
					j->instance, f->source), -1;
		add_target(j, in->name, in->url);
		j->target_desc = in->name;
	} else if (j->each) {
		for (size_t i = 0; i < f->ninstances; i++)
			add_target(j, f->instances[i].name, f->instances[i].url);
		j->target_desc = f->name;
	} else if (f->balancer) {
		add_target(j, "balancer", f->balancer);
		j->target_desc = f->balancer;
	} else if (f->ninstances == 1) {
		add_target(j, f->instances[0].name, f->instances[0].url);
		j->target_desc = f->instances[0].url;
	} else {
		return snprintf(err, ERR_MAX, "the fleet '%s' has %zu instances and no balancer: "
			       "use --instance NAME, --each, or -H URL", f->name, f->ninstances), -1;
	}
	if (!j->ntargets)
		return snprintf(err, ERR_MAX, "the fleet '%s' has no instances", f->name), -1;
	if (j->cfg.mode == BENCH_OPEN && j->ntargets > 64)
		return snprintf(err, ERR_MAX, "open loop supports at most 64 instances with "
			       "--each"), -1;
	j->cfg.targets = j->targets;
	j->cfg.ntargets = j->ntargets;
	return 0;
}

/* The SLOs (the file's, then --slo), --min-capacity and the price of the instances. */
static void job_goals(struct bench_job *j, const struct fleet *f)
{
	struct bench_goals *g = &j->goals;
	g->slo = f->slo;
	for (int k = 0; k < SLO_NKEYS; k++)
		if (j->slo_cli.mask & (1u << k)) {
			g->slo.mask |= 1u << k;
			g->slo.limit[k] = j->slo_cli.limit[k];
		}
	g->min_capacity = j->min_capacity;
	enum slo_key knee = j->cfg.api == BENCH_API_ENDPOINT ? SLO_E2E_P95 : SLO_TTFT_P95;
	j->slo_ns = g->slo.mask & (1u << knee) ? (int64_t)g->slo.limit[knee] : 0;
	/* The instances paid for: the one benched, else the fleet's (the balancer's too). */
	double hour = 0;
	int n = 0, priced = 1;
	for (size_t i = 0; i < f->ninstances; i++) {
		if (j->instance && strcmp(f->instances[i].name, j->instance))
			continue;
		double h = fleet_instance_hour(f, &f->instances[i]);
		if (h < 0)
			priced = 0;
		hour += h;
		n++;
	}
	g->has_cost = priced && n > 0;
	g->hour = g->has_cost ? hour : 0;
	g->instances = g->has_cost ? n : 0;
	g->has_cloud = f->cost.has_cloud;
	g->cloud_per_1m = f->cost.cloud_per_1m_output;
}

int bench_job_model(struct bench_job *j, struct http_engine *e, const struct fleet *f,
		    char *err)
{
	char e2[ERR_MAX];
	if (j->cfg.api != BENCH_API_ENDPOINT) {
		if (j->model) {
			if (ollama_name_normalize(j->model, j->model_buf, sizeof(j->model_buf),
						  e2) < 0)
				return snprintf(err, ERR_MAX, "-m: %.500s", e2), -1;
		} else if (f->nmodels) {
			snprintf(j->model_buf, sizeof(j->model_buf), "%s", f->models[0].name);
		} else if (bench_pick_model(e, j->targets[0].url, j->model_buf,
					    sizeof(j->model_buf)) < 0) {
			return snprintf(err, ERR_MAX, "no model given (-m) and none found on '%s'",
					j->targets[0].url), -2;
		}
		j->cfg.model = j->model_buf;
		const struct fleet_model *fm = fleet_find_model(f, j->model_buf);
		if (fm) {
			j->cfg.num_ctx = fm->num_ctx;
			j->cfg.has_keep_alive = fm->has_keep_alive;
			j->cfg.keep_alive_ns = fm->keep_alive_ns;
		}
	}
	job_goals(j, f);
	return 0;
}

int bench_job_prompts(struct bench_job *j, struct bench *b, char *err)
{
	if (j->cfg.api == BENCH_API_ENDPOINT)
		return 0;
	struct buf d = BUF_INIT;
	if (j->prompt_file) {
		if (bench_prompts_load(&j->prompts, j->prompt_file, err) < 0)
			return -1;
		buf_adds(&d, "{\"kind\":\"file\",\"file\":");
		buf_add_json_str(&d, j->prompt_file);
		buf_addf(&d, ",\"count\":%zu", j->prompts.n);
	} else if (j->ptokens) {
		size_t words;
		struct bench_prompts one = { 0 };
		bench_prompts_add_text(&one, "Say hello.");
		j->cfg.prompts = &one;
		int r = bench_calibrate(b, j->ptokens, &words, err);
		j->cfg.prompts = NULL;
		bench_prompts_release(&one);
		if (r < 0) {
			buf_release(&d);
			return -1;
		}
		struct buf t = BUF_INIT;
		bench_synth_text(&t, words, j->cfg.seed);
		bench_prompts_add_text(&j->prompts, buf_str(&t));
		buf_release(&t);
		buf_addf(&d, "{\"kind\":\"synthetic\",\"tokens\":%ld,\"words\":%zu", j->ptokens,
			 words);
	} else {
		bench_prompts_add_text(&j->prompts, "Write a short story about a lighthouse keeper "
				       "who finds a message in a bottle.");
		buf_adds(&d, "{\"kind\":\"default\"");
	}
	buf_addf(&d, ",\"unique_prefix\":%s}", j->cfg.unique_prefix ? "true" : "false");
	j->prompts_desc = buf_detach(&d);
	j->cfg.prompts = &j->prompts;
	return 0;
}

static void json_str_or_null(struct buf *b, const char *s)
{
	if (s)
		buf_add_json_str(b, s);
	else
		buf_adds(b, "null");
}

char *bench_job_params(const struct bench_job *j)
{
	const struct bench_cfg *c = &j->cfg;
	struct buf p = BUF_INIT;
	buf_addf(&p, "{\"mode\":\"%s\",\"api\":\"%s\",\"endpoint\":", bench_mode_name(c->mode),
		 bench_api_name(c->api));
	if (c->api == BENCH_API_ENDPOINT)
		buf_addf(&p, "\"%s\"", bench_endpoint_name(c->endpoint));
	else
		buf_adds(&p, "null");
	buf_adds(&p, ",\"model\":");
	json_str_or_null(&p, c->model);
	buf_addf(&p, ",\"levels\":[");
	for (int i = 0; i < j->nlevels; i++)
		buf_addf(&p, "%s%g", i ? "," : "", j->levels[i]);
	buf_addf(&p, "],\"duration_ns\":%" PRId64 ",\"requests\":%" PRIu64 ",\"warmup\":%ld,"
		 "\"max_tokens\":%d,\"prompt_tokens\":%ld,\"seed\":%" PRIu64
		 ",\"unique_prefix\":%s,\"arrival\":\"%s\",\"burst\":%g,\"each\":%s,"
		 "\"instance\":", c->duration_ns, c->requests, j->warmup, c->max_tokens,
		 j->ptokens, c->seed, c->unique_prefix ? "true" : "false",
		 arrival_kind_name(c->arrival), c->burst, j->each ? "true" : "false");
	json_str_or_null(&p, j->instance);
	buf_addf(&p, ",\"timeout_ns\":%" PRId64 ",\"stall_ns\":%" PRId64 ",\"cold_ns\":%" PRId64
		 ",\"max_p95_ns\":%" PRId64 ",\"stop_on_knee\":%s,\"slo_ns\":%" PRId64
		 ",\"samples\":%s,\"target\":", c->timeout_ns, c->stall_ns, c->cold_ns,
		 j->max_p95_ns, j->stop_knee ? "true" : "false", j->slo_ns,
		 j->samples ? "true" : "false");
	buf_add_json_str(&p, j->target_desc);
	buf_adds(&p, ",\"goals\":");
	bench_goals_params_json(&j->goals, &p);
	buf_adds(&p, "}");
	return buf_detach(&p);
}

char *bench_job_failed_summary(const char *message)
{
	struct buf b = BUF_INIT;
	/* error is borrowed: no release */
	struct bench_summary es = { .kind = BENCH_SUMMARY_ERROR, .error = (char *)message };
	bench_summary_to_json(&es, &b);
	return buf_detach(&b);
}

void bench_sample_json(const struct bench_sample *s, struct buf *b)
{
	buf_addf(b, "{\"ttft_ns\":%" PRId64 ",\"e2e_ns\":%" PRId64 ",\"tpot_ns\":%" PRId64
		 ",\"load_ns\":%" PRId64 ",\"queue_ns\":%" PRId64 ",\"tokens\":%" PRId64
		 ",\"prompt_tokens\":%" PRId64 ",\"cold\":%s,\"error\":",
		 s->ttft_ns, s->e2e_ns, s->tpot_ns, s->load_ns, s->queue_ns, s->tokens,
		 s->prompt_tokens, s->cold ? "true" : "false");
	if (s->err < 0) {
		buf_adds(b, "null");
	} else {
		buf_add_json_str(b, bench_err_name(s->err));
		buf_adds(b, ",\"message\":");
		buf_add_json_str(b, s->msg ? s->msg : "");
	}
	buf_adds(b, "}");
}

static void note_failure(struct bench_sample_queue *q, const char *err)
{
	if (!q->failures++)
		strlcpy_(q->err, err, sizeof(q->err));
}

void bench_samples_add(struct bench_sample_queue *q, const struct bench_sample *s)
{
	if (!q->v)
		q->v = xcalloc(BENCH_SAMPLE_BATCH, sizeof(*q->v));
	q->v[q->n] = *s;
	q->v[q->n++].msg = xstrdup(s->msg ? s->msg : "");
	if (q->n == BENCH_SAMPLE_BATCH)
		bench_samples_flush(q);
}

int bench_samples_flush(struct bench_sample_queue *q)
{
	char err[ERR_MAX];
	int before = q->failures;
	if (!q->n)
		return 0;
	if (store_begin(q->store, err) < 0)
		note_failure(q, err);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < q->n; i++) {
		const struct bench_sample *s = &q->v[i];
		buf_reset(&b);
		bench_sample_json(s, &b);
		if (store_sample_add(q->store, q->run_id, q->step_idx, q->targets[s->target].name,
				     s->t_ns, buf_str(&b), err) < 0)
			note_failure(q, err);
		free((char *)s->msg);
	}
	buf_release(&b);
	q->n = 0;
	if (store_commit(q->store, err) < 0)
		note_failure(q, err);
	return q->failures > before ? -1 : 0;
}

void bench_samples_release(struct bench_sample_queue *q)
{
	for (size_t i = 0; i < q->n; i++)
		free((char *)q->v[i].msg);
	free(q->v);
	q->v = NULL;
	q->n = 0;
}
