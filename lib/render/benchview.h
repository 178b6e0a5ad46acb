/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The bench view (benchview.c): what a person reads after a run, from its rows. Pure:
 * appended to a caller's struct buf, which the command prints.
 */
#ifndef OBRIDGE_RENDER_BENCHVIEW_H
#define OBRIDGE_RENDER_BENCHVIEW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct buf;
struct bench_row;
struct bench_progress;

/* A rate with a k/M suffix: "812", "12.3k". */
char *bench_fmt_rate(double v, char *out, size_t n);

/* The per-step table (fits 80 columns), one line per row, ending with a newline. flags:
 * enum bench_view_flags. */
void bench_table(const struct bench_row *rows, size_t n, int flags, struct buf *out);

/*
 * Everything a person reads after a run, into out: the table, the knee sentences, notes
 * (errors by class, load shedding, cold loads, corrected vs raw latency, a client that
 * may be the limit) and, with charts, bar charts of latency and throughput per step.
 * width is the terminal width (80 when unknown).
 */
void bench_render(const struct bench_row *rows, size_t n, int flags, int64_t slo_ns,
		  int width, int charts, struct buf *out);

/* The progress line of a running step: "bench: step 2/5 at 4: 812 done, 1.2/3.0s, 4 in
 * flight, p95 26.5ms, 0 errors, 0 shed" (progress_done() erases it). */
void bench_progress_step(FILE *out, int step_no, int nsteps, const struct bench_progress *p);
/* "bench: warming up (N requests)". */
void bench_progress_warmup(FILE *out, long requests);

#endif
