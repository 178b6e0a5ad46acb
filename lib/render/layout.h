/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The columns, cells and sparklines of `obridge top`, and its batch mode (layout.c). */
#ifndef OBRIDGE_RENDER_LAYOUT_H
#define OBRIDGE_RENDER_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct snapshot;
struct snapshot_inst;
struct snapshot_model;
struct snapshot_ring;

/* The columns of top, in screen order. */
enum layout_col {
	LAYOUT_NAME = 0,   /* INSTANCE (model rows: the model name, indented) */
	LAYOUT_STATE,      /* glyph + UP/SLOW/DEGRADED/DOWN (model rows: resident/missing) */
	LAYOUT_SINCE,      /* FOR: time in that state */
	LAYOUT_VERSION,
	LAYOUT_LATENCY,    /* LAT: probe latency now */
	LAYOUT_HIST,       /* HISTORY: sparkline (model rows: PROCESSOR, "100% GPU") */
	LAYOUT_MODELS,     /* resident/expected (+ others loaded) */
	LAYOUT_VRAM,       /* bytes on GPU */
	LAYOUT_CPU,        /* bytes in system memory */
	LAYOUT_CTX,        /* context length */
	LAYOUT_UNTIL,      /* Forever / 4m / Stopping */
	LAYOUT_GPU,        /* GPU%: utilisation (metrics_url) */
	LAYOUT_GMEM,       /* GPU memory used/total */
	LAYOUT_TEMP,       /* hottest GPU */
	LAYOUT_NOTES,      /* missing models, or why down / stale with age */
	LAYOUT_NCOLS,
};

struct layout {
	size_t ncols;                   /* visible columns */
	enum layout_col col[LAYOUT_NCOLS];
	int width[LAYOUT_NCOLS];        /* width of each visible column */
	int x[LAYOUT_NCOLS];            /* its first screen column */
	int total;                      /* used width, gaps included */
};

/*
 * Choose the visible columns and their widths for a terminal width: GPU columns only when
 * gpu; the least important columns are dropped until the rest fit; spare room goes to
 * INSTANCE, HISTORY and NOTES. Columns are separated by one space, after a 2-column
 * selection margin. Returns 0, or -1 when even the essential columns do not fit.
 */
int layout_compute(int width, int gpu, struct layout *out);
const char *layout_header(enum layout_col c);
/* True for right-aligned (numeric) columns. */
int layout_right(enum layout_col c);
/* The visible index of c, or -1. */
int layout_find(const struct layout *l, enum layout_col c);

/*
 * Text of one cell: an instance row (m NULL) or one of its model rows. width is the
 * column's width (the sparkline fills it); now is wall ns. Writes sanitized UTF-8 into
 * out (n bytes) and returns out.
 */
char *layout_cell(enum layout_col c, const struct snapshot *s, const struct snapshot_inst *p,
		  const struct snapshot_model *m, int width, int utf8, char *out, size_t n);

/* Sparkline of the newest `width` values of a ring, right-aligned: ▁▂▃▄▅▆▇█ scaled to the
 * window's maximum, × for a failed poll (ASCII: _.-=+*#@ and x), blank before the first. */
char *layout_sparkline(const struct snapshot_ring *r, int width, int utf8, char *out,
		       size_t n);
/* State glyph: ● ◐ ▲ ✖ ? (ASCII: + ~ ! x ?). */
const char *layout_glyph(int state, int utf8);
/* Short UNTIL: "Forever", "Stopping", "45s", "4m", "2h", "-" when unknown (0). */
char *layout_until(int64_t expires_ns, int64_t now_ns, char *out, size_t n);
/* Short size: "-" for 0, "512M", "4.1G", "12G". */
char *layout_bytes(uint64_t bytes, char *out, size_t n);
/* Truncate UTF-8 text to at most width columns (adds "~" when cut). */
char *layout_fit(const char *s, int width, char *out, size_t n);

/* Batch mode (top --once / -n): header line, instance table, model table. */
void layout_print_batch(FILE *out, const struct snapshot *s, int64_t interval_ns, int color,
			int utf8);

#endif
