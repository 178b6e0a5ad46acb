/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A stored bench run read back from the store (for show, compare and export): the run,
 * its steps with their JSON and histogram blobs, and the rows parsed from the JSON.
 *
 * Ownership: struct bench_run owns everything in it; release with bench_run_release().
 */
#ifndef OBRIDGE_BENCH_RUN_H
#define OBRIDGE_BENCH_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "../store/store.h"
#include "report.h"

struct store;

struct bench_run {
	struct store_run run;
	struct store_step *steps;
	size_t nsteps;
	struct bench_row *rows;   /* one per step, same order */
	int flags;                /* BENCH_VIEW_RATE / BENCH_VIEW_ENDPOINT from the params */
	int64_t slo_ns;
};

/*
 * Load run `id`. Returns 0; 1 when there is no such run or it is not a bench run (the
 * reason in err); -1 on a store error (err).
 */
int bench_run_load(struct store *s, int64_t id, struct bench_run *r, char *err);
void bench_run_release(struct bench_run *r);

/* What a running bench run says of itself, for top's bench panel. */
struct bench_live {
	int64_t run_id;
	char target[128];         /* sanitized */
	int64_t started_ns;
	char step[64];            /* the last step done, sanitized; "" when unknown */
	int64_t p95_ns;           /* -1 when unknown */
	int64_t errors;           /* -1 when unknown */
	int64_t requests;         /* ok requests; -1 when unknown */
};

/*
 * The newest of the last ten bench runs whose status is "running": its progress summary,
 * and its newest stored step for what that does not say. Returns 1 with *out filled, 0
 * when no bench is running, -1 on a store error (err, may be NULL).
 */
int bench_live_read(struct store *s, struct bench_live *out, char *err);

/* Parse a run id operand ("12"); returns 0 or -1. */
int bench_run_id_parse(const char *s, int64_t *id);

/*
 * Differences between two fingerprints (JSON texts): every leaf whose value differs or
 * that only one side has, one line each as "  path: A -> B" appended to out (sanitized).
 * Returns the number of differences (0 when both are equal or both absent).
 */
int bench_fingerprint_diff(const char *a, const char *b, struct buf *out);

#endif
