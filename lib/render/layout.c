/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The columns, cells and sparklines of `obridge top`, shared by the screen and batch mode. */
#include "../compat.h"
#include "layout.h"
#include "fmt.h"
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../fleet/fleet.h"
#include "../fleet/metrics.h"
#include "../fleet/snapshot.h"
#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

#define MARGIN 2 /* selection marker before the first column */

/* The column table (mtr data_fields[] shape): header, widths, priority, alignment. */
static const struct colspec {
	const char *header;
	int min, max;      /* max > min: takes spare room */
	int prio;          /* dropped lowest first */
	int right;
	int gpu;           /* only with metrics */
} cols[LAYOUT_NCOLS] = {
	[LAYOUT_NAME] = { "INSTANCE", 8, 24, 100, 0, 0 },
	[LAYOUT_STATE] = { "STATE", 10, 10, 99, 0, 0 },
	[LAYOUT_SINCE] = { "FOR", 4, 4, 75, 1, 0 },
	[LAYOUT_VERSION] = { "VERSION", 8, 8, 20, 0, 0 },
	[LAYOUT_LATENCY] = { "LAT", 7, 7, 90, 1, 0 },
	[LAYOUT_HIST] = { "HISTORY", 8, 40, 60, 0, 0 },
	[LAYOUT_MODELS] = { "MODELS", 6, 6, 95, 1, 0 },
	[LAYOUT_VRAM] = { "VRAM", 5, 5, 80, 1, 0 },
	[LAYOUT_CPU] = { "CPU", 5, 5, 40, 1, 0 },
	[LAYOUT_CTX] = { "CTX", 6, 6, 45, 1, 0 },
	[LAYOUT_UNTIL] = { "UNTIL", 8, 8, 70, 0, 0 },
	[LAYOUT_GPU] = { "GPU%", 4, 4, 56, 1, 1 },
	[LAYOUT_GMEM] = { "GMEM", 9, 9, 55, 1, 1 },
	[LAYOUT_TEMP] = { "TEMP", 4, 4, 30, 1, 1 },
	[LAYOUT_NOTES] = { "NOTES", 6, 60, 50, 0, 0 },
};

const char *layout_header(enum layout_col c)
{
	return c < LAYOUT_NCOLS ? cols[c].header : "";
}

int layout_right(enum layout_col c)
{
	return c < LAYOUT_NCOLS && cols[c].right;
}

int layout_find(const struct layout *l, enum layout_col c)
{
	for (size_t i = 0; i < l->ncols; i++)
		if (l->col[i] == c)
			return (int)i;
	return -1;
}

int layout_compute(int width, int gpu, struct layout *out)
{
	int on[LAYOUT_NCOLS];
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < LAYOUT_NCOLS; c++)
		on[c] = gpu || !cols[c].gpu;
	for (;;) {
		int need = MARGIN, n = 0, low = -1;
		for (int c = 0; c < LAYOUT_NCOLS; c++) {
			if (!on[c])
				continue;
			need += cols[c].min + (n ? 1 : 0);
			n++;
			if (cols[c].prio < 90 && (low < 0 || cols[c].prio < cols[low].prio))
				low = c;
		}
		if (need <= width)
			break;
		if (low < 0)
			return -1;
		on[low] = 0;
	}
	int used = MARGIN;
	for (int c = 0; c < LAYOUT_NCOLS; c++) {
		if (!on[c])
			continue;
		out->col[out->ncols] = (enum layout_col)c;
		out->width[out->ncols] = cols[c].min;
		used += cols[c].min + (out->ncols ? 1 : 0);
		out->ncols++;
	}
	/* spare room: names first, then a useful sparkline, then notes, then the rest */
	static const struct {
		enum layout_col c;
		int upto;
	} grow[] = {
		{ LAYOUT_NAME, 14 }, { LAYOUT_HIST, 12 }, { LAYOUT_NOTES, 24 },
		{ LAYOUT_NAME, 20 }, { LAYOUT_HIST, 24 }, { LAYOUT_NOTES, 60 },
		{ LAYOUT_NAME, 24 }, { LAYOUT_HIST, 40 },
	};
	int spare = width - used;
	for (size_t g = 0; g < ARRAY_SIZE(grow) && spare > 0; g++) {
		int i = layout_find(out, grow[g].c);
		if (i < 0 || out->width[i] >= grow[g].upto)
			continue;
		int add = grow[g].upto - out->width[i];
		if (add > spare)
			add = spare;
		out->width[i] += add;
		spare -= add;
	}
	int x = MARGIN;
	for (size_t i = 0; i < out->ncols; i++) {
		out->x[i] = x;
		x += out->width[i] + 1;
	}
	out->total = x - 1;
	return 0;
}

const char *layout_glyph(int state, int utf8)
{
	static const char *const u[] = { "?", "\u25cf", "\u25d0", "\u25b2", "\u2716" };
	static const char *const a[] = { "?", "+", "~", "!", "x" };
	if (state < 0 || state > SNAP_DOWN)
		state = 0;
	return utf8 ? u[state] : a[state];
}

char *layout_until(int64_t expires_ns, int64_t now_ns, char *out, size_t n)
{
	const int64_t twenty_years = 20LL * 365 * 86400 * 1000000000LL;
	if (expires_ns == 0)
		snprintf(out, n, "-");
	else if (expires_ns == INT64_MAX || expires_ns - now_ns > twenty_years)
		snprintf(out, n, "Forever");
	else if (expires_ns <= now_ns)
		snprintf(out, n, "Stopping");
	else
		units_duration(expires_ns - now_ns, UNITS_DUR_AGE, out, n);
	return out;
}

char *layout_bytes(uint64_t b, char *out, size_t n)
{
	const double g = 1024.0 * 1024 * 1024, m = 1024.0 * 1024;
	if (b == 0)
		snprintf(out, n, "-");
	else if (b >= 10 * g)
		snprintf(out, n, "%.0fG", b / g);
	else if (b >= g)
		snprintf(out, n, "%.1fG", b / g);
	else if (b >= m)
		snprintf(out, n, "%.0fM", b / m);
	else
		snprintf(out, n, "%.0fK", b / 1024.0);
	return out;
}

/* Length in bytes of the UTF-8 sequence starting with c. */
static size_t u8len(unsigned char c)
{
	return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
}

char *layout_fit(const char *s, int width, char *out, size_t n)
{
	if (!n)
		return out;
	int w = (int)render_width(s);
	if (w <= width) {
		snprintf(out, n, "%s", s);
		return out;
	}
	size_t o = 0;
	int used = 0;
	while (*s && o + 5 < n) {
		size_t l = u8len((unsigned char)*s);
		char ch[8] = { 0 };
		memcpy(ch, s, l);
		int cw = (int)render_width(ch);
		if (used + cw > width - 1)
			break;
		memcpy(out + o, s, l);
		o += l;
		used += cw;
		s += l;
		if (strlen(ch) < l)
			break;
	}
	if (width >= 1 && o + 1 < n)
		out[o++] = '~';
	out[o] = '\0';
	return out;
}

char *layout_sparkline(const struct snapshot_ring *r, int width, int utf8, char *out, size_t n)
{
	static const char *const u[] = { "\u2581", "\u2582", "\u2583", "\u2584",
					 "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char a[] = "_.-=+*#@";
	size_t o = 0;
	if (!n)
		return out;
	out[0] = '\0';
	if (width <= 0)
		return out;
	size_t have = r->n, w = (size_t)width;
	size_t first = have > w ? have - w : 0;
	int64_t max = 0;
	for (size_t i = first; i < have; i++) {
		int64_t v = snapshot_ring_get(r, i);
		if (v > max)
			max = v;
	}
	for (size_t k = 0; k < w; k++) {
		/* column k shows value first + k - (w - shown) */
		size_t shown = have - first;
		const char *g;
		char one[2] = { 0, 0 };
		if (k < w - shown) {
			g = " ";
		} else {
			int64_t v = snapshot_ring_get(r, first + k - (w - shown));
			if (v < 0) {
				g = utf8 ? "\u00d7" : "x";
			} else {
				int lvl = max > 0 ? (int)((double)v * 7.0 / (double)max + 0.5) : 0;
				if (lvl > 7)
					lvl = 7;
				if (utf8) {
					g = u[lvl];
				} else {
					one[0] = a[lvl];
					g = one;
				}
			}
		}
		size_t gl = strlen(g);
		if (o + gl + 1 > n)
			break;
		memcpy(out + o, g, gl);
		o += gl;
	}
	out[o] = '\0';
	return out;
}

static void models_cell(const struct snapshot_inst *p, char *out, size_t n)
{
	size_t extra = p->nresident - p->nresident_req;
	if (!p->polled || (!p->last_ok_ns && p->state == SNAP_DOWN))
		snprintf(out, n, "-");
	else if (extra)
		snprintf(out, n, "%zu/%zu+%zu", p->nresident_req, p->nrequired, extra);
	else
		snprintf(out, n, "%zu/%zu", p->nresident_req, p->nrequired);
}

/* The context of the resident models; "≤N" (N the largest) when they differ. */
static void inst_ctx(const struct snapshot_inst *p, int utf8, char *out, size_t n)
{
	int64_t ctx = 0;
	int mixed = 0;
	for (size_t m = 0; m < p->nmodels; m++) {
		const struct snapshot_model *sm = &p->models[m];
		if (!sm->resident || !sm->context_length)
			continue;
		if (ctx && ctx != sm->context_length)
			mixed = 1;
		if (sm->context_length > ctx)
			ctx = sm->context_length;
	}
	if (!ctx)
		snprintf(out, n, "-");
	else
		snprintf(out, n, "%s%" PRId64, !mixed ? "" : utf8 ? "\xe2\x89\xa4" : "<=", ctx);
}

static int64_t inst_until(const struct snapshot_inst *p)
{
	int64_t soon = 0;
	for (size_t m = 0; m < p->nmodels; m++) {
		const struct snapshot_model *sm = &p->models[m];
		if (sm->resident && sm->expires_at && (!soon || sm->expires_at < soon))
			soon = sm->expires_at;
	}
	return soon;
}

static void notes_cell(const struct snapshot *s, const struct snapshot_inst *p, char *out,
		       size_t n)
{
	char age[16];
	out[0] = '\0';
	if (p->state == SNAP_DOWN) {
		if (p->stale)
			snprintf(out, n, "stale %s: %s",
				 units_duration(s->t_ns - p->last_ok_ns, UNITS_DUR_AGE, age, sizeof(age)), p->problem);
		else
			snprintf(out, n, "%s", p->problem);
		return;
	}
	struct buf b = BUF_INIT;
	/* "missing": not installed; "unloaded": installed, not in memory */
	for (int pass = 0; pass < 2; pass++) {
		size_t start = b.len;
		for (size_t m = 0; m < p->nmodels; m++) {
			const struct snapshot_model *sm = &p->models[m];
			if (!sm->required || sm->resident || sm->installed != pass)
				continue;
			if (b.len == start)
				buf_addf(&b, "%s%s ", b.len ? "; " : "", pass ? "unloaded" : "missing");
			else
				buf_adds(&b, ",");
			buf_adds(&b, sm->name);
		}
	}
	if (!b.len && p->problem[0])
		buf_adds(&b, p->problem);
	if (p->in->metrics_url && !p->metrics_ok && p->metrics_err[0])
		buf_addf(&b, "%smetrics: %s", b.len ? "; " : "", p->metrics_err);
	snprintf(out, n, "%s", buf_str(&b));
	buf_release(&b);
}

static void model_notes(const struct snapshot_model *m, char *out, size_t n)
{
	if (m->required && !m->installed)
		snprintf(out, n, "not installed");
	else if (m->drift)
		snprintf(out, n, "digest differs from the fleet");
	else if (m->resident && m->want_ctx && m->context_length &&
		 m->context_length != m->want_ctx)
		snprintf(out, n, "context %" PRId64 ", fleet wants %d", m->context_length,
			 m->want_ctx);
	else if (!m->required && m->resident)
		snprintf(out, n, "not in the fleet file");
	else
		out[0] = '\0';
}

char *layout_cell(enum layout_col c, const struct snapshot *s, const struct snapshot_inst *p,
		  const struct snapshot_model *m, int width, int utf8, char *out, size_t n)
{
	char t[64];
	int64_t now = s->t_ns ? s->t_ns : wall_ns();
	out[0] = '\0';
	if (m) {
		switch (c) {
		case LAYOUT_NAME:
			snprintf(out, n, "%s%s", utf8 ? " \u2514 " : " - ", m->name);
			break;
		case LAYOUT_STATE:
			snprintf(out, n, "%s", m->resident ? (m->required ? "resident" : "loaded") :
					       m->installed ? "unloaded" : "missing");
			break;
		case LAYOUT_HIST:
			if (m->resident)
				fmt_processor(m->size, m->size_vram, out, n);
			break;
		case LAYOUT_VRAM:
			if (m->resident)
				layout_bytes(m->size_vram, out, n);
			break;
		case LAYOUT_CPU:
			if (m->resident)
				layout_bytes(m->size > m->size_vram ? m->size - m->size_vram : 0, out, n);
			break;
		case LAYOUT_CTX:
			if (m->resident && m->context_length)
				snprintf(out, n, "%" PRId64, m->context_length);
			break;
		case LAYOUT_UNTIL:
			if (m->resident)
				layout_until(m->expires_at, now, out, n);
			break;
		case LAYOUT_NOTES:
			model_notes(m, out, n);
			break;
		default:
			break;
		}
		return out;
	}
	switch (c) {
	case LAYOUT_NAME:
		snprintf(out, n, "%s", p->in->name);
		break;
	case LAYOUT_STATE:
		snprintf(out, n, "%s %s", layout_glyph(p->state, utf8), snapshot_state_name(p->state));
		break;
	case LAYOUT_SINCE:
		if (p->since_ns)
			units_duration(now - p->since_ns, UNITS_DUR_AGE, out, n);
		break;
	case LAYOUT_VERSION:
		snprintf(out, n, "%s", p->version[0] ? p->version : "-");
		break;
	case LAYOUT_LATENCY:
		if (p->latency_ns >= 0) {
			units_fmt_duration(p->latency_ns, t, sizeof(t));
			snprintf(out, n, "%s", t);
		} else {
			snprintf(out, n, "-");
		}
		break;
	case LAYOUT_HIST:
		layout_sparkline(&p->hist, width > 0 ? width : 20, utf8, out, n);
		break;
	case LAYOUT_MODELS:
		models_cell(p, out, n);
		break;
	case LAYOUT_VRAM:
		layout_bytes(p->vram, out, n);
		break;
	case LAYOUT_CPU:
		layout_bytes(p->ram, out, n);
		break;
	case LAYOUT_CTX:
		inst_ctx(p, utf8, out, n);
		break;
	case LAYOUT_UNTIL:
		layout_until(inst_until(p), now, out, n);
		break;
	case LAYOUT_GPU:
		if (p->metrics_ok && metrics_util_avg(&p->metrics) >= 0)
			snprintf(out, n, "%.0f%%", metrics_util_avg(&p->metrics));
		break;
	case LAYOUT_GMEM:
		if (p->metrics_ok && metrics_fb_used_mib(&p->metrics) >= 0) {
			double used = metrics_fb_used_mib(&p->metrics) / 1024.0;
			double tot = metrics_fb_total_mib(&p->metrics) / 1024.0;
			if (tot > 0)
				snprintf(out, n, "%.1f/%.0fG", used, tot);
			else
				snprintf(out, n, "%.1fG", used);
		}
		break;
	case LAYOUT_TEMP:
		if (p->metrics_ok && metrics_temp_max(&p->metrics) >= 0)
			snprintf(out, n, "%.0fC", metrics_temp_max(&p->metrics));
		break;
	case LAYOUT_NOTES:
		notes_cell(s, p, out, n);
		break;
	default:
		break;
	}
	return out;
}

static enum render_color state_color(int st)
{
	switch (st) {
	case SNAP_UP: return COLOR_OK;
	case SNAP_SLOW: return COLOR_WARN;
	case SNAP_DEGRADED: return COLOR_WARN;
	case SNAP_DOWN: return COLOR_CRIT;
	default: return COLOR_DIM;
	}
}

void layout_print_batch(FILE *out, const struct snapshot *s, int64_t interval_ns, int color,
			int utf8)
{
	char t1[32], t2[32], clock[16];
	time_t secs = (time_t)(s->t_ns / 1000000000LL);
	struct tm tm;
	localtime_r(&secs, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	fprintf(out, "obridge top - fleet %s - %zu/%zu up, %zu/%zu models resident, VRAM %s - %s"
		     " - every %s\n",
		s->f->name ? s->f->name : "default", s->up, s->n, s->resident, s->expected,
		units_fmt_bytes(s->vram, t1, sizeof(t1)), clock,
		units_fmt_duration(interval_ns, t2, sizeof(t2)));
	if (s->bench.active) {
		fprintf(out, "bench run %" PRId64 " running", s->bench.run_id);
		if (s->bench.step[0])
			fprintf(out, ", step %s", s->bench.step);
		if (s->bench.p95_ns >= 0)
			fprintf(out, ", p95 %s", units_fmt_duration(s->bench.p95_ns, t1, sizeof(t1)));
		if (s->bench.errors >= 0)
			fprintf(out, ", %" PRId64 " errors", s->bench.errors);
		fputc('\n', out);
	}
	fputc('\n', out);
	enum layout_col shown[LAYOUT_NCOLS];
	const char *hdr[LAYOUT_NCOLS];
	size_t nc = 0;
	for (int c = 0; c < LAYOUT_NCOLS; c++) {
		if (cols[c].gpu && !s->any_metrics)
			continue;
		shown[nc] = (enum layout_col)c;
		hdr[nc++] = cols[c].header;
	}
	struct table tb;
	table_init(&tb, nc, hdr);
	for (size_t k = 0; k < nc; k++)
		if (cols[shown[k]].right)
			table_set_align(&tb, k, TABLE_RIGHT);
	for (size_t i = 0; i < s->n; i++) {
		const struct snapshot_inst *p = &s->inst[i];
		size_t r = table_add_row(&tb);
		for (size_t k = 0; k < nc; k++) {
			char cell[512];
			layout_cell(shown[k], s, p, NULL, 20, utf8, cell, sizeof(cell));
			table_set(&tb, r, k, "%s", cell);
		}
		table_set_color(&tb, r, 1, state_color(p->state));
	}
	table_print(&tb, out, color);
	table_release(&tb);

	static const char *const mh[] = { "INSTANCE", "MODEL", "STATE", "PROCESSOR", "SIZE",
					  "CONTEXT", "UNTIL", "NOTES" };
	struct table mt;
	table_init(&mt, ARRAY_SIZE(mh), mh);
	table_set_align(&mt, 4, TABLE_RIGHT);
	table_set_align(&mt, 5, TABLE_RIGHT);
	for (size_t i = 0; i < s->n; i++) {
		const struct snapshot_inst *p = &s->inst[i];
		for (size_t k = 0; k < p->nmodels; k++) {
			const struct snapshot_model *m = &p->models[k];
			char st[32], pr[32], ctx[32], un[32], no[256];
			size_t r = table_add_row(&mt);
			table_set(&mt, r, 0, "%s", p->in->name);
			table_set(&mt, r, 1, "%s", m->name);
			table_set(&mt, r, 2, "%s%s", layout_cell(LAYOUT_STATE, s, p, m, 0, utf8, st,
								 sizeof(st)),
				  p->stale ? " (stale)" : "");
			table_set_color(&mt, r, 2, m->resident ? COLOR_OK : m->required ? COLOR_WARN :
									     COLOR_DIM);
			table_set(&mt, r, 3, "%s", layout_cell(LAYOUT_HIST, s, p, m, 0, utf8, pr,
								sizeof(pr)));
			table_set(&mt, r, 4, "%s", m->resident ?
				  units_fmt_bytes(m->size, t1, sizeof(t1)) : "");
			table_set(&mt, r, 5, "%s", layout_cell(LAYOUT_CTX, s, p, m, 0, utf8, ctx,
								sizeof(ctx)));
			table_set(&mt, r, 6, "%s", layout_cell(LAYOUT_UNTIL, s, p, m, 0, utf8, un,
								sizeof(un)));
			table_set(&mt, r, 7, "%s", layout_cell(LAYOUT_NOTES, s, p, m, 0, utf8, no,
								sizeof(no)));
		}
	}
	if (mt.nrows) {
		fputc('\n', out);
		table_print(&mt, out, color);
	}
	table_release(&mt);
}
