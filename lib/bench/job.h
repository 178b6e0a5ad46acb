/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One `obridge bench` as the command line chose it: its settings, the targets picked from
 * the fleet, the model and its fleet options, the prompts, the params document (its one
 * writer; bench_params_view in report.c is its reader), and the --samples queue that
 * writes finished requests to the store in batches.
 *
 * Order: bench_job_init, set the fields the options give, bench_job_levels,
 * bench_job_targets, bench_job_model (needs an engine), bench_job_prompts (needs the
 * bench), bench_job_params. Ownership: bench_job_release frees everything it filled.
 */
#ifndef OBRIDGE_BENCH_JOB_H
#define OBRIDGE_BENCH_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "goals.h"

struct fleet;
struct http_engine;
struct store;

#define BENCH_MAX_LEVELS 64
#define BENCH_SAMPLE_BATCH 512

struct bench_job {
	struct bench_cfg cfg;    /* the engine's settings; defaults from bench_job_init */
	/* from the options */
	const char *model;       /* -m, or NULL */
	const char *levels_s;    /* -c or --rate text, or NULL for the default */
	const char *prompt_file;
	const char *instance;    /* --instance */
	long warmup, ptokens;
	int each, stop_knee, samples;
	int64_t max_p95_ns;
	struct slo_set slo_cli;  /* --slo KEY=D: replaces the fleet file's KEY */
	double min_capacity;     /* --min-capacity N, 0 for none */
	/* filled by the steps */
	double levels[BENCH_MAX_LEVELS];
	int nlevels;
	struct bench_target *targets;
	size_t ntargets;
	const char *target_desc; /* for the store and the params */
	char model_buf[256];
	int64_t slo_ns;          /* [slo] ttft_p95 (e2e_p95 for endpoints), 0 when none */
	struct bench_goals goals; /* [slo] with --slo, --min-capacity, [cost] of the targets */
	struct bench_prompts prompts;
	char *prompts_desc;      /* JSON object for the fingerprint */
};

/* The --samples queue: finished requests, stored in one transaction per batch. */
struct bench_sample_queue {
	struct store *store;
	int64_t run_id;
	int step_idx;                    /* samples go with this step */
	const struct bench_target *targets;
	struct bench_sample *v;          /* copies; msg owned */
	size_t n;
	int failures;                    /* store errors so far; the first is in err */
	char err[512];
};

void bench_job_init(struct bench_job *j);
void bench_job_release(struct bench_job *j);

/* Parse levels_s (the default when NULL). Returns 0, or -1 with err (a usage error). */
int bench_job_levels(struct bench_job *j, char *err);
/*
 * Pick the targets: --instance, --each, the balancer, or the only instance.
 * Returns 0, or -1 with err (a configuration error).
 */
int bench_job_targets(struct bench_job *j, const struct fleet *f, char *err);
/*
 * The model (normalised -m, the fleet's first, else the first installed on the first
 * target), its fleet options and the goals (SLOs, capacity, cost of the benched
 * instances: the one of --instance, else every instance of the fleet). Returns 0, -1 with err for a bad -m (usage),
 * -2 with err when no model can be found.
 */
int bench_job_model(struct bench_job *j, struct http_engine *e, const struct fleet *f,
		    char *err);
/*
 * The prompts: --prompt-file, calibrated synthetic ones (--prompt-tokens, probing the
 * first target through b), or the default one; sets cfg.prompts. Returns 0 or -1 (err).
 */
int bench_job_prompts(struct bench_job *j, struct bench *b, char *err);
/* The params document stored with the run (caller frees). */
char *bench_job_params(const struct bench_job *j);
/* The document stored as the summary of a run that failed before its first step. */
char *bench_job_failed_summary(const char *message);

/* Queue a copy of s (when samples are on); flushes a full batch. */
void bench_samples_add(struct bench_sample_queue *q, const struct bench_sample *s);
/* Store what is queued. Returns 0, or -1 when a store error happened (q->err). */
int bench_samples_flush(struct bench_sample_queue *q);
void bench_samples_release(struct bench_sample_queue *q);
/* One sample as the JSON stored with it. */
void bench_sample_json(const struct bench_sample *s, struct buf *out);

#endif
