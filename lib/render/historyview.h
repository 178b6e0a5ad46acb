/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The history view (historyview.c): recorded runs as a table with a one-line summary
 * each (a bench run's from its summary struct, others' first scalar members), as a JSON
 * array, and the counts of a prune as JSON.
 */
#ifndef OBRIDGE_RENDER_HISTORYVIEW_H
#define OBRIDGE_RENDER_HISTORYVIEW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct buf;
struct store_run;
struct store_prune_counts;

/* Local wall time "2026-11-23 18:40:12", "-" when unknown. */
void history_fmt_local(int64_t ns, char *out, size_t n);
/* The SUMMARY cell of a run (at most 64 bytes; the table sanitizes it). Caller frees. */
char *history_summary_cell(const struct store_run *r);
/* ID KIND STATUS STARTED DURATION TARGET SUMMARY, newest first as given. */
void history_table(FILE *out, const struct store_run *runs, size_t n, int color);
/* "[\n{run},\n{run}\n]\n" (or "[]\n"), each run with all its fields and its JSON
 * columns embedded. Returns 0, or -1 when a run cannot be formatted. */
int history_json(const struct store_run *runs, size_t n, struct buf *out);
/* {"dry_run","before","kind","runs","steps","samples","probes","complete"} and a newline. */
void history_prune_json(const struct store_prune_counts *c, int64_t before_ns, const char *kind,
			int dry_run, int complete, struct buf *out);

#endif
