/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SLOs per step, capacity at SLO, cost per 1M output tokens and the break-even. */
#include "../compat.h"
#include "goalsview.h"

#include <stdio.h>
#include <string.h>

#include "../bench/goals.h"
#include "../bench/report.h"
#include "../util/buf.h"
#include "../util/units.h"
#include "../banned.h"

/* Append s right-aligned in w columns (s is ASCII or counts its UTF-8 characters). */
static void cell(struct buf *out, const char *s, int w)
{
	int cols = 0;
	for (const char *p = s; *p; p++)
		cols += ((unsigned char)*p & 0xc0) != 0x80;
	for (int i = cols; i < w; i++)
		buf_adds(out, " ");
	buf_adds(out, s);
}

static void limits_line(const struct bench_goals *g, int ascii, struct buf *out)
{
	buf_adds(out, "SLOs:");
	for (int k = 0, n = 0; k < SLO_NKEYS; k++) {
		if (!(g->slo.mask & (1u << k)))
			continue;
		char v[32];
		buf_addf(out, "%s %s %s %s", n++ ? "," : "", slo_key_name(k), ascii ? "<=" : "\xe2\x89\xa4",
			 slo_fmt_value(k, g->slo.limit[k], v, sizeof(v)));
	}
	if (g->min_capacity > 0)
		buf_addf(out, "; capacity at least %g", g->min_capacity);
	buf_adds(out, "\n");
}

static void step_table(const struct bench_goals *g, const struct bench_goals_eval *ev, int flags,
		       struct buf *out)
{
	int ascii = flags & BENCH_VIEW_ASCII;
	cell(out, flags & BENCH_VIEW_RATE ? "RATE" : "C", 5);
	for (int k = 0; k < SLO_NKEYS; k++)
		if (g->slo.mask & (1u << k)) {
			char h[32];
			snprintf(h, sizeof(h), "%s", slo_key_name(k));
			for (char *p = h; *p; p++)
				*p = *p == '_' ? ' ' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
			cell(out, h, 12);
		}
	if (g->slo.mask)
		cell(out, "ALL", 5);
	if (g->has_cost)
		cell(out, "COST/1M OUT", 13);
	buf_adds(out, "\n");
	for (size_t i = 0; i < ev->n; i++) {
		char x[32];
		snprintf(x, sizeof(x), "%g", ev->point[i].x);
		cell(out, x, 5);
		for (int k = 0; k < SLO_NKEYS; k++) {
			if (!(g->slo.mask & (1u << k)))
				continue;
			char v[32], c[48];
			enum slo_state st = ev->verdict[i].state[k];
			if (st == SLO_NA)
				snprintf(c, sizeof(c), "n/a");
			else if (!ev->point[i].has[k])
				snprintf(c, sizeof(c), "- %s", ascii ? "NO" : "\xe2\x9c\x97");
			else
				snprintf(c, sizeof(c), "%s %s",
					 slo_fmt_value(k, ev->point[i].value[k], v, sizeof(v)),
					 st == SLO_HOLDS ? (ascii ? "ok" : "\xe2\x9c\x93") :
							   (ascii ? "NO" : "\xe2\x9c\x97"));
			cell(out, c, 12);
		}
		if (g->slo.mask)
			cell(out, ev->verdict[i].all_hold ? "yes" : "no", 5);
		if (g->has_cost) {
			char c[32];
			if (ev->per_1m[i] >= 0)
				snprintf(c, sizeof(c), "%.2f", ev->per_1m[i]);
			else
				snprintf(c, sizeof(c), "-");
			cell(out, c, 13);
		}
		buf_adds(out, "\n");
	}
}

void goals_render(const struct bench_goals *g, const struct bench_goals_eval *ev, int flags,
		  struct buf *out)
{
	if (!bench_goals_any(g) || !ev->n)
		return;
	int rate = flags & BENCH_VIEW_RATE;
	buf_adds(out, "\n");
	if (g->slo.mask || g->min_capacity > 0)
		limits_line(g, flags & BENCH_VIEW_ASCII, out);
	step_table(g, ev, flags, out);
	const char *unit = rate ? "req/s" : "concurrent streams";
	if (g->slo.mask) {
		if (ev->capacity >= 0)
			buf_addf(out, "capacity at SLO: %g %s (%.1f tok/s)\n",
				 ev->point[ev->capacity].x, unit, ev->tok_s[ev->capacity]);
		else
			buf_adds(out, "capacity at SLO: none (no step meets every SLO)\n");
	}
	if (!g->has_cost)
		return;
	int at = ev->capacity;
	if (at >= 0 && ev->per_1m[at] >= 0)
		buf_addf(out, "cost: %.2f per 1M output tokens at %s (%g %s),\n", ev->per_1m[at],
			 g->slo.mask ? "the capacity at SLO" : "the highest step", ev->point[at].x,
			 unit);
	else
		buf_adds(out, "cost: no step to price,\n");
	buf_addf(out, "  with %d instance%s at %.2f an hour\n", g->instances,
		 g->instances == 1 ? "" : "s", g->hour);
	if (g->has_cloud && ev->break_even >= 0) {
		if (ev->break_even <= 1)
			buf_addf(out, "break-even against the cloud's %.2f per 1M: the fleet is cheaper\n"
				 "  when busy more than %.0f%% of the time\n", g->cloud_per_1m,
				 ev->break_even * 100);
		else
			buf_addf(out, "break-even against the cloud's %.2f per 1M: %.0f%% utilisation\n"
				 "  (the cloud is cheaper even with the fleet busy all the time)\n",
				 g->cloud_per_1m, ev->break_even * 100);
	}
}

/* "4.02ms" or "4.02ms-4.10ms". */
static void range(struct buf *out, int64_t lo, int64_t hi, int ascii)
{
	char a[32], b[32];
	units_duration(lo, ascii ? UNITS_DUR_ASCII : UNITS_DUR_SHORT, a, sizeof(a));
	units_duration(hi, ascii ? UNITS_DUR_ASCII : UNITS_DUR_SHORT, b, sizeof(b));
	if (!strcmp(a, b))
		buf_adds(out, a);
	else
		buf_addf(out, "%s%s%s", a, ascii ? "-" : "\xe2\x80\x93", b);
}

void tpot_render(const struct bench_row *rows, size_t n, int flags, struct buf *out)
{
	int64_t lo = 0, hi = 0, vlo = 0, vhi = 0;
	int ascii = flags & BENCH_VIEW_ASCII;
	for (size_t i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];
		if (r->instance[0] || r->tpot_p50 <= 0 || r->tpot_vllm_p50 <= 0)
			continue;
		if (!lo || r->tpot_p50 < lo)
			lo = r->tpot_p50;
		if (r->tpot_p50 > hi)
			hi = r->tpot_p50;
		if (!vlo || r->tpot_vllm_p50 < vlo)
			vlo = r->tpot_vllm_p50;
		if (r->tpot_vllm_p50 > vhi)
			vhi = r->tpot_vllm_p50;
	}
	if (!lo)
		return;
	const char *m = ascii ? "-" : "\xe2\x88\x92";
	buf_adds(out, "TPOT p50 ");
	range(out, lo, hi, ascii);
	buf_addf(out, " (last token %s first token)/(tokens %s 1);\n  vLLM's (E2E %s TTFT)/(tokens "
		 "%s 1): ", m, m, m, m);
	range(out, vlo, vhi, ascii);
	buf_adds(out, "\n");
}
