/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Aligned text tables and colour for human output. */
#include "../compat.h"
#include "render.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "../util/util.h"
#include "../banned.h"

void table_init(struct table *t, size_t ncols, const char *const *headers)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->headers = xcalloc(ncols, sizeof(char *));
	t->align = xcalloc(ncols, sizeof(enum table_align));
	for (size_t i = 0; i < ncols; i++)
		t->headers[i] = xstrdup(headers[i]);
}

void table_set_align(struct table *t, size_t col, enum table_align a)
{
	if (col < t->ncols)
		t->align[col] = a;
}

size_t table_add_row(struct table *t)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof(*t->cells));
	}
	memset(&t->cells[t->nrows * t->ncols], 0, t->ncols * sizeof(*t->cells));
	return t->nrows++;
}

void table_set(struct table *t, size_t row, size_t col, const char *fmt, ...)
{
	if (row >= t->nrows || col >= t->ncols)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *raw = xvasprintf(fmt, ap);
	va_end(ap);
	struct table_cell *c = &t->cells[row * t->ncols + col];
	free(c->text);
	c->text = text_sanitize_dup(raw);
	free(raw);
}

void table_set_color(struct table *t, size_t row, size_t col, enum render_color c)
{
	if (row < t->nrows && col < t->ncols)
		t->cells[row * t->ncols + col].color = c;
}

size_t render_width(const char *s)
{
	size_t w = 0;
	mbstate_t st;
	memset(&st, 0, sizeof(st));
	const char *p = s;
	size_t left = strlen(s);
	while (left) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, p, left, &st);
		if (n == (size_t)-1 || n == (size_t)-2) {
			/* Not decodable in this locale: count bytes of a UTF-8 lead as one column. */
			memset(&st, 0, sizeof(st));
			if (((unsigned char)*p & 0xc0) != 0x80)
				w++;
			p++;
			left--;
			continue;
		}
		if (n == 0)
			break;
		int cw = wcwidth(wc);
		w += cw > 0 ? (size_t)cw : 0;
		p += n;
		left -= n;
	}
	return w;
}

const char *render_sgr(enum render_color c)
{
	switch (c) {
	case COLOR_OK: return "\033[32m";
	case COLOR_WARN: return "\033[33m";
	case COLOR_CRIT: return "\033[31m";
	case COLOR_DIM: return "\033[2m";
	case COLOR_BOLD: return "\033[1m";
	default: return "";
	}
}

void render_colored(FILE *out, int color, enum render_color c, const char *text)
{
	if (color && c != COLOR_NONE)
		fprintf(out, "%s%s\033[0m", render_sgr(c), text);
	else
		fputs(text, out);
}

static void pad(FILE *out, size_t n)
{
	while (n--)
		fputc(' ', out);
}

static void print_cell(FILE *out, const char *text, size_t width, enum table_align a,
		       int last, int color, enum render_color c)
{
	size_t w = render_width(text);
	size_t fill = width > w ? width - w : 0;
	if (a == TABLE_RIGHT)
		pad(out, fill);
	render_colored(out, color, c, text);
	if (a == TABLE_LEFT && !last)
		pad(out, fill);
}

void table_print(const struct table *t, FILE *out, int color)
{
	size_t *w = xcalloc(t->ncols, sizeof(size_t));
	for (size_t c = 0; c < t->ncols; c++)
		w[c] = render_width(t->headers[c]);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c].text;
			size_t cw = s ? render_width(s) : 0;
			if (cw > w[c])
				w[c] = cw;
		}
	for (size_t c = 0; c < t->ncols; c++) {
		if (c)
			fputs("   ", out);
		print_cell(out, t->headers[c], w[c], t->align[c], c + 1 == t->ncols, color,
			   COLOR_BOLD);
	}
	fputc('\n', out);
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const struct table_cell *cell = &t->cells[r * t->ncols + c];
			if (c)
				fputs("   ", out);
			print_cell(out, cell->text ? cell->text : "", w[c], t->align[c],
				   c + 1 == t->ncols, color, cell->color);
		}
		fputc('\n', out);
	}
	free(w);
}

void table_release(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i].text);
	for (size_t i = 0; i < t->ncols; i++)
		free(t->headers[i]);
	free(t->cells);
	free(t->headers);
	free(t->align);
	memset(t, 0, sizeof(*t));
}

int render_color_allowed(FILE *out, int no_color_flag)
{
	if (no_color_flag)
		return 0;
	const char *nc = getenv("NO_COLOR");
	if (nc && *nc)
		return 0;
	const char *term = getenv("TERM");
	if (term && strcmp(term, "dumb") == 0)
		return 0;
	return isatty(fileno(out));
}
