/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Terminal charts for bench results: horizontal bars, one per step, in Unicode block
 * characters (eighths of a cell) or plain ASCII. Pure: the chart is appended to a
 * caller's struct buf, which the command prints.
 */
#ifndef OBRIDGE_RENDER_CHART_H
#define OBRIDGE_RENDER_CHART_H

#include <stddef.h>

struct buf;

/*
 * Append a bar chart of n rows, at most `width` columns wide (at least 30 are used):
 *
 *   title
 *      1 │███▌                                 12.1 ms / 14.0 ms
 *     16 │█████████████████████████░░░░░░░░░   201 ms / 388 ms
 *
 * labels[i] is right-aligned in the first column, a[i] is drawn solid, and when b is
 * not NULL the part from a[i] up to b[i] is drawn light (e.g. p50 solid, p95 light).
 * Bars are scaled to the largest value (max of a and b); values < 0 count as 0.
 * texts[i] (may be NULL) follows the bar. utf8 0 draws with '#', '=' and '|'.
 * Text widths count UTF-8 characters as one column.
 */
void chart_bars(struct buf *out, const char *title, const char *const *labels,
		const double *a, const double *b, const char *const *texts, size_t n,
		int width, int utf8);

/* Number of bar cells chart_bars() uses for these labels and texts (for tests). */
int chart_bar_cells(const char *const *labels, const char *const *texts, size_t n, int width);

#endif
