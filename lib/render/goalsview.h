/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The SLO and cost view of a bench run (goalsview.c): appended to a caller's struct buf. */
#ifndef OBRIDGE_RENDER_GOALSVIEW_H
#define OBRIDGE_RENDER_GOALSVIEW_H

#include <stddef.h>

struct buf;
struct bench_goals;
struct bench_goals_eval;

/*
 * Per step, every SLO set with the step's figure and whether it holds, and the cost per
 * 1M output tokens; then the capacity at SLO and the cost there with the break-even
 * utilisation against the hosted API's price. Nothing when no SLO and no price is set.
 * flags: enum bench_view_flags (ASCII, RATE).
 */
void goals_render(const struct bench_goals *g, const struct bench_goals_eval *ev, int flags,
		  struct buf *out);

/*
 * One line setting obridge's TPOT beside vLLM's over the whole-target steps of rows[n]:
 * "TPOT p50 4.02ms (last token − first token)/(tokens − 1);\n  vLLM's (E2E − TTFT)/(tokens
 * − 1): 4.10ms\n" (two lines; ranges when the steps differ). Nothing when no step
 * measured TPOT.
 */
struct bench_row;
void tpot_render(const struct bench_row *rows, size_t n, int flags, struct buf *out);

#endif
