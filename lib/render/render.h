/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Aligned tables, colour roles and terminal widths (table.c). */
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

#endif
