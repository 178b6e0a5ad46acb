/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Human output: aligned tables, colour, sanitized text. The only part of lib/ that writes
 * to a FILE (besides the curses UI of top).
 */
#ifndef OBRIDGE_RENDER_RENDER_H
#define OBRIDGE_RENDER_RENDER_H

#include <stdio.h>
#include <stddef.h>

enum table_align { TABLE_LEFT = 0, TABLE_RIGHT = 1 };

/* Colour roles; mapped to ANSI SGR codes when colour is on. */
enum render_color {
	COLOR_NONE = 0,
	COLOR_OK,     /* green */
	COLOR_WARN,   /* yellow */
	COLOR_CRIT,   /* red */
	COLOR_DIM,    /* grey */
	COLOR_BOLD,
};

struct table_cell {
	char *text;   /* owned, sanitized */
	enum render_color color;
};

struct table {
	size_t ncols;
	char **headers;
	enum table_align *align;
	struct table_cell *cells; /* row-major */
	size_t nrows;
	size_t cap;
};

/* Create a table with ncols columns; headers are copied. */
void table_init(struct table *t, size_t ncols, const char *const *headers);
void table_set_align(struct table *t, size_t col, enum table_align a);
/* Start a new row; returns its index. */
size_t table_add_row(struct table *t);
/* Set the cell (row, col) to printf-formatted text, sanitized for the terminal. */
void table_set(struct table *t, size_t row, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void table_set_color(struct table *t, size_t row, size_t col, enum render_color c);
/* Print with columns separated by three spaces (as `ollama ps` does), colour when color. */
void table_print(const struct table *t, FILE *out, int color);
void table_release(struct table *t);

/* Display width of a UTF-8 string in terminal columns (wide characters count 2). */
size_t render_width(const char *s);
/* SGR start sequence for a role, "" when none. */
const char *render_sgr(enum render_color c);
/* Print text in a colour when color is on. */
void render_colored(FILE *out, int color, enum render_color c, const char *text);

/* Decide whether colour is allowed: a TTY, no NO_COLOR in the environment, no --no-color. */
int render_color_allowed(FILE *out, int no_color_flag);

/* ---- fmt.c: pure formatting helpers (added by the ps/http/ollama work) ---- */
#include <stdint.h>

/*
 * The PROCESSOR column of `ollama ps`: size_vram 0 -> "100% CPU", equal -> "100% GPU",
 * size_vram > size or size 0 -> "Unknown", else "48%/52% CPU/GPU" with
 * cpu% = round((size - size_vram) / size * 100). Returns out.
 */
char *fmt_processor(uint64_t size, uint64_t size_vram, char *out, size_t n);
/* Ollama's HumanDuration: "Less than a second", "1 second", "59 seconds",
 * "About a minute", "4 minutes", "About an hour", "5 hours", "3 days", "2 weeks",
 * "3 months", "292 years". Negative durations are taken as their absolute value. */
char *fmt_human_duration(int64_t ns, char *out, size_t n);
/*
 * The UNTIL column of `ollama ps` for a wall-clock expiry: "Forever" more than 20 years
 * ahead (INT64_MAX included), "Stopping..." when in the past, else
 * "<HumanDuration> from now". Both arguments are wall ns since the epoch.
 */
char *fmt_until(int64_t expires_ns, int64_t now_ns, char *out, size_t n);
/* ---- end of fmt.c ---- */

/* ---- layout.c: columns, cells and sparklines of `obridge top` (pure; added for top) ---- */
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
/* "5s", "12m", "3h", "2d" (negative as 0s). */
char *layout_age(int64_t ns, char *out, size_t n);
/* Short UNTIL: "Forever", "Stopping", "45s", "4m", "2h", "-" when unknown (0). */
char *layout_until(int64_t expires_ns, int64_t now_ns, char *out, size_t n);
/* Short size: "-" for 0, "512M", "4.1G", "12G". */
char *layout_bytes(uint64_t bytes, char *out, size_t n);
/* Truncate UTF-8 text to at most width columns (adds "~" when cut). */
char *layout_fit(const char *s, int width, char *out, size_t n);

/* Batch mode (top --once / -n): header line, instance table, model table. */
void layout_print_batch(FILE *out, const struct snapshot *s, int64_t interval_ns, int color,
			int utf8);
/* ---- end of layout.c ---- */

/* ---- tui.c: the curses screen of `obridge top` (the only file that includes curses) ---- */
struct tui;

struct tui_opts {
	int color;          /* colour allowed (no NO_COLOR, no --no-color) */
	int utf8;           /* Unicode glyphs and sparklines */
};

/* What a key asked the caller to do (tui_key). */
enum tui_req {
	TUI_NONE = 0,
	TUI_QUIT,
	TUI_FASTER,         /* '-': shorter interval */
	TUI_SLOWER,         /* '+': longer interval */
	TUI_PAUSE,          /* space toggled pause (tui_paused says which) */
	TUI_HEALTH,         /* 'h': poll now and report */
	TUI_ACTION,         /* a confirmed preload/unload/warmup: see tui_req_action */
	TUI_REDRAW,         /* the view changed */
};

struct tui_action_req {
	int action;         /* enum snapshot_action */
	size_t inst;
	char model[128];
};

/* Start curses (the terminal is restored by tui_close, at exit and on fatal signals the
 * caller turns into a flag). Returns NULL with err when there is no usable terminal. */
struct tui *tui_open(const struct tui_opts *o, char *err);
/* Restore the terminal and free; safe to call twice and with NULL. */
void tui_close(struct tui *t);
/* Draw the whole screen from the snapshot (only changes reach the terminal). */
void tui_draw(struct tui *t, const struct snapshot *s, int64_t interval_ns);
/* Read one pending key (non-blocking) and apply it to the view; *more is 0 when no key was
 * waiting. Returns the request for the caller; TUI_ACTION fills *act. */
enum tui_req tui_key(struct tui *t, const struct snapshot *s, struct tui_action_req *act,
		     int *more);
int tui_paused(const struct tui *t);
/* A line for the message area (action outcome, health summary). */
void tui_message(struct tui *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ---- end of tui.c ---- */

#endif
