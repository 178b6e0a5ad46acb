/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What a bench run is held to and what its tokens cost: the SLOs ([slo] of the fleet
 * file, overridden by --slo KEY=D), --min-capacity, and the price of the benched
 * instances ([cost]). Evaluated over the steps that cover the whole target: which SLO
 * holds at each step, the capacity at SLO (the highest level at which all hold), the cost
 * per 1M output tokens at each step and at that capacity, and the break-even utilisation
 * against a hosted API's price. Pure: nothing is printed.
 *
 * Stored with the run in two places, each with one writer and one reader here:
 *   params  "goals":{"slo":{"ttft_p95_ns":N,...,"error_rate":0.01},"min_capacity":N|null,
 *                   "cost":{"hour":3.6,"instances":3,"cloud_per_1m_output":0.6|null}|null}
 *   summary "slo":{"limits":{...as above...},"steps":[{"x":1,"holds":true,
 *                   "breached":["e2e_p99"]},...],"capacity":4|null,"min_capacity":N|null},
 *           "cost":{"hour":3.6,"instances":3,"cloud_per_1m_output":0.6|null,
 *                   "steps":[{"x":1,"tok_s":57.4,"per_1m_output":17.42},...],
 *                   "at_capacity":{"x":4,"tok_s":229,"per_1m_output":4.37,
 *                                  "break_even_utilisation":7.28|null}|null}
 * (cost is null when no price is known for every benched instance; the summary's keys are
 * absent when neither an SLO nor a price was set).
 */
#ifndef OBRIDGE_BENCH_GOALS_H
#define OBRIDGE_BENCH_GOALS_H

#include <stddef.h>
#include <stdint.h>

#include "../stats/slo.h"

struct buf;
struct bench_row;

#define BENCH_GOALS_MAX_STEPS 64

struct bench_goals {
	struct slo_set slo;
	double min_capacity;   /* 0: none */
	int has_cost;
	double hour;           /* what the benched instances cost an hour together */
	int instances;         /* how many they are */
	int has_cloud;
	double cloud_per_1m;   /* a hosted API's price per 1M output tokens */
};

/* The evaluation over the whole-target, complete steps of a run. */
struct bench_goals_eval {
	size_t n;
	int row[BENCH_GOALS_MAX_STEPS];        /* index into the rows */
	struct slo_point point[BENCH_GOALS_MAX_STEPS];
	struct slo_verdict verdict[BENCH_GOALS_MAX_STEPS];
	double tok_s[BENCH_GOALS_MAX_STEPS];   /* output tokens a second */
	double per_1m[BENCH_GOALS_MAX_STEPS];  /* cost per 1M output tokens, < 0 unknown */
	int capacity;          /* index into point[] of the capacity at SLO, -1 none */
	double break_even;     /* at the capacity; < 0 unknown */
};

/* The figures an SLO needs from one row (endpoint: a plain GET, only E2E is measured). */
void bench_goals_point(const struct bench_row *r, int endpoint, struct slo_point *p);
/* Evaluate g over rows[n]; flags are enum bench_view_flags. */
void bench_goals_evaluate(const struct bench_goals *g, const struct bench_row *rows, size_t n,
			  int flags, struct bench_goals_eval *ev);
/* True when there is something to say: an SLO or a price. */
int bench_goals_any(const struct bench_goals *g);

/*
 * Whether the run meets its goals, the way k6's thresholds decide: a single-step run fails
 * when a set SLO is breached at that step; a sweep fails when no step meets the SLOs or
 * the capacity at SLO is below min_capacity. Returns 1 when it fails, with the reason
 * ("e2e_p99 1.43s > 1s at 4", "capacity at SLO 2 is below --min-capacity 4") in why.
 */
int bench_goals_failed(const struct bench_goals *g, const struct bench_goals_eval *ev,
		       int single_step, char *why, size_t n);

/* Append the params object ("goals":{...} without the key); bench_params_parse reads it. */
void bench_goals_params_json(const struct bench_goals *g, struct buf *out);
/* Append the summary's ,"slo":{...},"cost":{...} (with the leading comma), or nothing. */
void bench_goals_summary_json(const struct bench_goals *g, const struct bench_goals_eval *ev,
			      struct buf *out);

/*
 * Two runs side by side (compare): both evaluated with the same SLOs (A's, or B's when A
 * has none), each with its own price. a/b_capacity < 0: no step meets the SLOs;
 * a/b_per_1m < 0: no price or no capacity.
 */
struct bench_goals_cmp {
	int any;               /* an SLO or a price in either run */
	struct slo_set slo;
	double a_capacity, b_capacity;
	double a_per_1m, b_per_1m;
};
void bench_goals_compare(const struct bench_goals *ga, const struct bench_row *ra, size_t na,
			 int fa, const struct bench_goals *gb, const struct bench_row *rb,
			 size_t nb, int fb, struct bench_goals_cmp *c);
/* Append ,"slo":{"limits":{..},"a_capacity":N|null,"b_capacity":N|null},
 * "cost":{"a_per_1m_output":F|null,"b_per_1m_output":F|null}, or nothing without c->any. */
void bench_goals_cmp_json(const struct bench_goals_cmp *c, struct buf *out);

#endif
