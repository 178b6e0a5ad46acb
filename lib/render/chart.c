/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Horizontal bar charts in Unicode block characters or ASCII, into a buffer. */
#include "../compat.h"
#include "chart.h"

#include <math.h>
#include <string.h>

#include "../util/buf.h"
#include "../banned.h"

static size_t cols(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void pad(struct buf *out, size_t n)
{
	while (n--)
		buf_add(out, " ", 1);
}

int chart_bar_cells(const char *const *labels, const char *const *texts, size_t n, int width)
{
	size_t lw = 0, tw = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = cols(labels[i]), t = texts ? cols(texts[i]) : 0;
		if (l > lw)
			lw = l;
		if (t > tw)
			tw = t;
	}
	if (width < 30)
		width = 30;
	int cells = width - (int)lw - 2 - (int)tw - 2;
	return cells < 8 ? 8 : cells;
}

void chart_bars(struct buf *out, const char *title, const char *const *labels,
		const double *a, const double *b, const char *const *texts, size_t n,
		int width, int utf8)
{
	static const char *const eighths[] = { "", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d",
					       "\xe2\x96\x8c", "\xe2\x96\x8b", "\xe2\x96\x8a",
					       "\xe2\x96\x89" };
	const char *full = utf8 ? "\xe2\x96\x88" : "#";
	const char *light = utf8 ? "\xe2\x96\x91" : "=";
	const char *axis = utf8 ? "\xe2\x94\x82" : "|";
	size_t lw = 0;
	double max = 0;
	for (size_t i = 0; i < n; i++) {
		if (cols(labels[i]) > lw)
			lw = cols(labels[i]);
		double v = a[i] > 0 ? a[i] : 0;
		if (b && b[i] > v)
			v = b[i];
		if (v > max)
			max = v;
	}
	int cells = chart_bar_cells(labels, texts, n, width);
	if (title)
		buf_addf(out, "%s\n", title);
	for (size_t i = 0; i < n; i++) {
		pad(out, lw - cols(labels[i]));
		buf_adds(out, labels[i]);
		buf_adds(out, " ");
		buf_adds(out, axis);
		double va = a[i] > 0 ? a[i] : 0, vb = b && b[i] > va ? b[i] : va;
		/* In eighths of a cell. */
		long ea = max > 0 ? lround(va / max * cells * 8) : 0;
		long eb = max > 0 ? lround(vb / max * cells * 8) : 0;
		long used = 0;
		if (utf8) {
			for (long k = 0; k < ea / 8; k++)
				buf_adds(out, full);
			used = ea / 8;
			if (ea % 8) {
				buf_adds(out, eighths[ea % 8]);
				used++;
			}
		} else {
			long fa = (ea + 4) / 8;
			for (long k = 0; k < fa; k++)
				buf_adds(out, full);
			used = fa;
		}
		long lb = (eb + 4) / 8;
		for (long k = used; k < lb; k++)
			buf_adds(out, light);
		if (lb > used)
			used = lb;
		if (texts && texts[i]) {
			pad(out, (size_t)(cells - used + 2));
			buf_adds(out, texts[i]);
		}
		buf_adds(out, "\n");
	}
}
