/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SLOs, capacity at SLO and the cost of output tokens of a bench run. */
#include "../compat.h"
#include "goals.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../stats/summary.h"
#include "../util/buf.h"
#include "../util/util.h"
#include "report.h"
#include "../banned.h"

int bench_goals_any(const struct bench_goals *g)
{
	return g->slo.mask || g->has_cost || g->min_capacity > 0;
}

void bench_goals_point(const struct bench_row *r, int endpoint, struct slo_point *p)
{
	memset(p, 0, sizeof(*p));
	p->x = r->x;
	p->ok = r->ok;
	p->failed = r->failed;
	int lat = !endpoint && r->has_ttft;
	int64_t v[SLO_NKEYS] = {
		[SLO_TTFT_P95] = r->ttft_p95, [SLO_TTFT_P99] = r->ttft_p99,
		[SLO_ITL_P99] = r->itl_p99,   [SLO_TPOT_P95] = r->tpot_p95,
		[SLO_E2E_P95] = r->e2e_p95,   [SLO_E2E_P99] = r->e2e_p99,
	};
	int has[SLO_NKEYS] = {
		[SLO_TTFT_P95] = lat, [SLO_TTFT_P99] = lat,
		[SLO_ITL_P99] = lat && r->has_itl, [SLO_TPOT_P95] = lat && r->tpot_p95 > 0,
		[SLO_E2E_P95] = r->ok > 0, [SLO_E2E_P99] = r->ok > 0,
	};
	for (int k = 0; k < SLO_ERROR_RATE; k++) {
		p->has[k] = has[k];
		p->value[k] = (double)v[k];
	}
	uint64_t sent = r->ok + r->failed;
	p->has[SLO_ERROR_RATE] = sent > 0;
	p->value[SLO_ERROR_RATE] = sent ? (double)r->failed / (double)sent : 0;
}

void bench_goals_evaluate(const struct bench_goals *g, const struct bench_row *rows, size_t n,
			  int flags, struct bench_goals_eval *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->capacity = -1;
	ev->break_even = -1;
	for (size_t i = 0; i < n && ev->n < BENCH_GOALS_MAX_STEPS; i++) {
		if (rows[i].instance[0] || rows[i].partial)
			continue;
		size_t k = ev->n++;
		ev->row[k] = (int)i;
		bench_goals_point(&rows[i], !!(flags & BENCH_VIEW_ENDPOINT), &ev->point[k]);
		slo_check(&g->slo, &ev->point[k], &ev->verdict[k]);
		ev->tok_s[k] = rows[i].tok_s;
		ev->per_1m[k] = g->has_cost ? slo_cost_per_1m(g->hour, rows[i].tok_s) : -1;
	}
	ev->capacity = slo_capacity(&g->slo, ev->point, ev->n);
	if (ev->capacity >= 0 && g->has_cost && g->has_cloud)
		ev->break_even = slo_break_even(g->hour, rows[ev->row[ev->capacity]].tok_s,
						g->cloud_per_1m);
}

/* "e2e_p99 1.43s > 1s" for every key breached at point k, comma-separated. */
static void breaches(const struct bench_goals *g, const struct bench_goals_eval *ev, size_t k,
		     struct buf *out)
{
	for (int key = 0; key < SLO_NKEYS; key++) {
		if (!(ev->verdict[k].breached & (1u << key)))
			continue;
		char a[32], b[32];
		if (ev->point[k].has[key])
			buf_addf(out, "%s%s %s > %s", out->len ? ", " : "", slo_key_name(key),
				 slo_fmt_value(key, ev->point[k].value[key], a, sizeof(a)),
				 slo_fmt_value(key, g->slo.limit[key], b, sizeof(b)));
		else
			buf_addf(out, "%s%s (nothing succeeded)", out->len ? ", " : "",
				 slo_key_name(key));
	}
}

int bench_goals_failed(const struct bench_goals *g, const struct bench_goals_eval *ev,
		       int single_step, char *why, size_t n)
{
	why[0] = '\0';
	if (!g->slo.mask && !(g->min_capacity > 0))
		return 0;
	if (!ev->n) {
		snprintf(why, n, "no complete step to check the SLOs on");
		return 1;
	}
	struct buf b = BUF_INIT;
	int failed = 0;
	if (single_step) {
		if (ev->verdict[0].breached) {
			breaches(g, ev, 0, &b);
			snprintf(why, n, "SLO breached: %s", buf_str(&b));
			failed = 1;
		}
	} else if (ev->capacity < 0 && g->slo.mask) {
		breaches(g, ev, 0, &b);
		snprintf(why, n, "no step meets the SLOs (at %g: %s)", ev->point[0].x, buf_str(&b));
		failed = 1;
	}
	if (!failed && g->min_capacity > 0) {
		double cap = ev->capacity >= 0 ? ev->point[ev->capacity].x : 0;
		if (cap < g->min_capacity) {
			snprintf(why, n, "capacity at SLO %g is below --min-capacity %g", cap,
				 g->min_capacity);
			failed = 1;
		}
	}
	buf_release(&b);
	return failed;
}

/* The limits as {"ttft_p95_ns":N,...,"error_rate":F}. */
static void limits_json(const struct slo_set *s, struct buf *out)
{
	buf_adds(out, "{");
	int first = 1;
	for (int k = 0; k < SLO_NKEYS; k++) {
		if (!(s->mask & (1u << k)))
			continue;
		buf_addf(out, "%s\"%s%s\":", first ? "" : ",", slo_key_name(k),
			 k == SLO_ERROR_RATE ? "" : "_ns");
		if (k == SLO_ERROR_RATE)
			summary_json_number(out, s->limit[k], 6);
		else
			buf_addf(out, "%" PRId64, (int64_t)llround(s->limit[k]));
		first = 0;
	}
	buf_adds(out, "}");
}

static void cost_head_json(const struct bench_goals *g, struct buf *out)
{
	buf_adds(out, "{\"hour\":");
	summary_json_number(out, g->hour, 4);
	buf_addf(out, ",\"instances\":%d,\"cloud_per_1m_output\":", g->instances);
	if (g->has_cloud)
		summary_json_number(out, g->cloud_per_1m, 4);
	else
		buf_adds(out, "null");
}

void bench_goals_params_json(const struct bench_goals *g, struct buf *out)
{
	buf_adds(out, "{\"slo\":");
	limits_json(&g->slo, out);
	buf_adds(out, ",\"min_capacity\":");
	if (g->min_capacity > 0)
		summary_json_number(out, g->min_capacity, 3);
	else
		buf_adds(out, "null");
	buf_adds(out, ",\"cost\":");
	if (g->has_cost) {
		cost_head_json(g, out);
		buf_adds(out, "}");
	} else {
		buf_adds(out, "null");
	}
	buf_adds(out, "}");
}

void bench_goals_summary_json(const struct bench_goals *g, const struct bench_goals_eval *ev,
			      struct buf *out)
{
	if (!bench_goals_any(g))
		return;
	buf_adds(out, ",\"slo\":{\"limits\":");
	limits_json(&g->slo, out);
	buf_adds(out, ",\"steps\":[");
	for (size_t k = 0; k < ev->n; k++) {
		buf_addf(out, "%s{\"x\":", k ? "," : "");
		summary_json_number(out, ev->point[k].x, 3);
		buf_addf(out, ",\"holds\":%s,\"breached\":[", ev->verdict[k].all_hold ? "true" : "false");
		for (int key = 0, m = 0; key < SLO_NKEYS; key++)
			if (ev->verdict[k].breached & (1u << key))
				buf_addf(out, "%s\"%s\"", m++ ? "," : "", slo_key_name(key));
		buf_adds(out, "]}");
	}
	buf_adds(out, "],\"capacity\":");
	if (ev->capacity >= 0)
		summary_json_number(out, ev->point[ev->capacity].x, 3);
	else
		buf_adds(out, "null");
	buf_adds(out, ",\"min_capacity\":");
	if (g->min_capacity > 0)
		summary_json_number(out, g->min_capacity, 3);
	else
		buf_adds(out, "null");
	buf_adds(out, "},\"cost\":");
	if (!g->has_cost) {
		buf_adds(out, "null");
		return;
	}
	cost_head_json(g, out);
	buf_adds(out, ",\"steps\":[");
	for (size_t k = 0; k < ev->n; k++) {
		buf_addf(out, "%s{\"x\":", k ? "," : "");
		summary_json_number(out, ev->point[k].x, 3);
		buf_adds(out, ",\"tok_s\":");
		summary_json_number(out, ev->tok_s[k], 3);
		buf_adds(out, ",\"per_1m_output\":");
		if (ev->per_1m[k] >= 0)
			summary_json_number(out, ev->per_1m[k], 4);
		else
			buf_adds(out, "null");
		buf_adds(out, "}");
	}
	buf_adds(out, "],\"at_capacity\":");
	if (ev->capacity < 0 || ev->per_1m[ev->capacity] < 0) {
		buf_adds(out, "null}");
		return;
	}
	buf_adds(out, "{\"x\":");
	summary_json_number(out, ev->point[ev->capacity].x, 3);
	buf_adds(out, ",\"tok_s\":");
	summary_json_number(out, ev->tok_s[ev->capacity], 3);
	buf_adds(out, ",\"per_1m_output\":");
	summary_json_number(out, ev->per_1m[ev->capacity], 4);
	buf_adds(out, ",\"break_even_utilisation\":");
	if (ev->break_even >= 0)
		summary_json_number(out, ev->break_even, 4);
	else
		buf_adds(out, "null");
	buf_adds(out, "}}");
}

/* Capacity and its cost of one run under slo. */
static void cmp_one(const struct bench_goals *g, const struct slo_set *slo,
		    const struct bench_row *rows, size_t n, int flags, double *cap, double *per_1m)
{
	struct bench_goals h = *g;
	h.slo = *slo;
	struct bench_goals_eval ev;
	bench_goals_evaluate(&h, rows, n, flags, &ev);
	*cap = ev.capacity >= 0 ? ev.point[ev.capacity].x : -1;
	*per_1m = ev.capacity >= 0 ? ev.per_1m[ev.capacity] : -1;
}

void bench_goals_compare(const struct bench_goals *ga, const struct bench_row *ra, size_t na,
			 int fa, const struct bench_goals *gb, const struct bench_row *rb,
			 size_t nb, int fb, struct bench_goals_cmp *c)
{
	memset(c, 0, sizeof(*c));
	c->any = bench_goals_any(ga) || bench_goals_any(gb);
	c->slo = ga->slo.mask ? ga->slo : gb->slo;
	cmp_one(ga, &c->slo, ra, na, fa, &c->a_capacity, &c->a_per_1m);
	cmp_one(gb, &c->slo, rb, nb, fb, &c->b_capacity, &c->b_per_1m);
}

static void num_or_null(struct buf *out, double v, int decimals)
{
	if (v >= 0)
		summary_json_number(out, v, decimals);
	else
		buf_adds(out, "null");
}

void bench_goals_cmp_json(const struct bench_goals_cmp *c, struct buf *out)
{
	if (!c->any)
		return;
	buf_adds(out, ",\"slo\":{\"limits\":");
	limits_json(&c->slo, out);
	buf_adds(out, ",\"a_capacity\":");
	num_or_null(out, c->a_capacity, 3);
	buf_adds(out, ",\"b_capacity\":");
	num_or_null(out, c->b_capacity, 3);
	buf_adds(out, "},\"cost\":{\"a_per_1m_output\":");
	num_or_null(out, c->a_per_1m, 4);
	buf_adds(out, ",\"b_per_1m_output\":");
	num_or_null(out, c->b_per_1m, 4);
	buf_adds(out, "}");
}
