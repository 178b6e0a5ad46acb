/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A whole bench run over its levels: run each step on struct bench, turn it into a step
 * (one for the target, or with several targets one for all of them together plus one
 * per target), store each step's JSON with its histogram blob as it finishes, stop early
 * on --max-p95 or the knee, and sum the run up. Also the run's fingerprint and the default
 * model, asked from the servers. Nothing is printed.
 *
 * Ownership: struct bench_sweep owns its step texts and rows; release it with
 * bench_sweep_release(). Strings returned as char * are the caller's to free.
 */
#ifndef OBRIDGE_BENCH_SWEEP_H
#define OBRIDGE_BENCH_SWEEP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "report.h"
#include "result.h"

struct store;
struct http_engine;

struct bench_sweep_opts {
	const double *levels;
	size_t nlevels;
	int64_t max_p95_ns;        /* 0 = none */
	int stop_on_knee;
	int64_t slo_ns;            /* the fleet's ttft_p95 (or e2e_p95) SLO, 0 = none */
	struct store *store;       /* steps are added to run_id as they finish */
	int64_t run_id;
	/* Called before level `level_no` (1-based) runs, with the index its first step
	 * will have (per-request samples belong to it), and after it, before its steps are
	 * stored (to flush the samples). */
	void (*level_begin)(void *ud, int level_no, size_t nlevels, int first_step_index);
	void (*level_end)(void *ud);
	void *ud;
	const volatile sig_atomic_t *stop;
};

struct bench_sweep {
	char **steps;              /* step JSON texts, in order */
	size_t nsteps;
	struct bench_row *rows;    /* parsed from steps (same order, fewer if one failed) */
	size_t nrows;
	int flags;                 /* BENCH_VIEW_RATE / BENCH_VIEW_ENDPOINT */
	int interrupted;
	char stopped[160];         /* why the sweep ended early, "" when it did not */
	char warning[640];         /* the first storage problem, "" when none */
	uint64_t ok, errors, shed; /* over the whole-target steps; errors exclude shed */
};

/*
 * Run every level. Returns 0 (also when interrupted: see s->interrupted), or -1 with err
 * when a step could not run at all (what ran before is kept in s).
 */
int bench_sweep_run(struct bench *b, const struct bench_cfg *cfg,
		    const struct bench_sweep_opts *o, struct bench_sweep *s, char *err);
void bench_sweep_release(struct bench_sweep *s);

/*
 * The run's status ("ok", "warn" with failures, "failed" with nothing ok, "interrupted")
 * and its summary (see obridge-bench(1): ttft_p95_ns at the knee, best tok_s and req_s,
 * errors, shed, ok, steps, knee, stopped, interrupted), to release with
 * bench_summary_release(); bench_sweep_summary() is its JSON (bench_summary_to_json),
 * with goals (the ,"slo":..,"cost":.. members of bench_goals_summary_json) when not NULL.
 */
const char *bench_sweep_status(const struct bench_sweep *s);
void bench_sweep_summarize(const struct bench_sweep *s, int64_t slo_ns,
			   struct bench_summary *out);
char *bench_sweep_summary(const struct bench_sweep *s, int64_t slo_ns, const char *goals);

/*
 * The fingerprint JSON of a run: obridge version, client host, every target's Ollama
 * version, the API and, for a model, its digest (/api/tags), details (/api/show),
 * options and prompt_desc (JSON text). All queries go out at once and wait at most
 * timeout_ns; a server that does not answer leaves its fields empty.
 */
char *bench_fingerprint(struct http_engine *e, const struct bench_cfg *cfg,
			const char *prompt_desc, int64_t timeout_ns,
			const volatile sig_atomic_t *stop);
/* The first model installed on url that can generate. Returns 0, or -1. */
int bench_pick_model(struct http_engine *e, const char *url, char *out, size_t n);

#endif
