/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Where a sweep stops paying off, said in one sentence, and the slot-count estimate. */
#include "../compat.h"
#include "knee.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

static const char *const reason_names[] = {
	[KNEE_NONE] = "none",
	[KNEE_FLAT] = "flat",
	[KNEE_SATURATED] = "saturated",
	[KNEE_SLO] = "slo",
	[KNEE_USER_RATE] = "user_rate",
};

const char *knee_reason_name(enum knee_reason r)
{
	return (unsigned)r < ARRAY_SIZE(reason_names) ? reason_names[r] : "unknown";
}

/* Throughput growth per doubling of x between two steps. */
static double gain_per_doubling(const struct knee_point *a, const struct knee_point *b)
{
	if (a->throughput <= 0)
		return b->throughput > 0 ? INFINITY : 0;
	double ratio = b->throughput / a->throughput;
	double d = log2(b->x / a->x);
	return pow(ratio, 1 / d) - 1;
}

static double p95_ratio(const struct knee_point *a, const struct knee_point *b)
{
	if (a->p95_ns <= 0)
		return b->p95_ns > 0 ? INFINITY : 1;
	return (double)b->p95_ns / (double)a->p95_ns;
}

int knee_find(const struct knee_point *pts, size_t n, const struct knee_opts *o,
	      struct knee_result *r, char *err)
{
	memset(r, 0, sizeof(*r));
	r->index = r->next = -1;
	if (n == 0)
		return seterr(err, "no sweep steps to look for a knee in");
	if (n > INT32_MAX)
		return seterr(err, "too many sweep steps (%zu)", n);
	if (!isfinite(o->min_gain) || !isfinite(o->latency_factor) || o->latency_factor <= 0 ||
	    o->slo_ns < 0 || !isfinite(o->min_user_tok_s) || o->min_user_tok_s < 0)
		return seterr(err, "invalid knee options");
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(pts[i].x) || pts[i].x <= 0)
			return seterr(err, "sweep step %zu: x must be a positive number", i + 1);
		if (i && !(pts[i].x > pts[i - 1].x))
			return seterr(err, "sweep step %zu: x must be larger than the previous step",
				      i + 1);
		if (!isfinite(pts[i].throughput) || pts[i].throughput < 0)
			return seterr(err, "sweep step %zu: invalid throughput %g", i + 1,
				      pts[i].throughput);
		if (pts[i].p95_ns < 0)
			return seterr(err, "sweep step %zu: negative p95", i + 1);
		if (o->min_user_tok_s > 0 && !(pts[i].user_tok_s >= 0 && isfinite(pts[i].user_tok_s)))
			return seterr(err, "sweep step %zu: invalid per-user tok/s %g", i + 1,
				      pts[i].user_tok_s);
	}
	r->slo_ns = o->slo_ns;
	r->min_user_tok_s = o->min_user_tok_s;
	r->slo_crossed = o->slo_ns > 0 && pts[0].p95_ns > o->slo_ns;
	r->user_rate_low = o->min_user_tok_s > 0 && pts[0].user_tok_s < o->min_user_tok_s;
	if (r->slo_crossed || r->user_rate_low) {
		r->reason = r->slo_crossed ? KNEE_SLO : KNEE_USER_RATE;
		r->next = 0;
		r->x_next = pts[0].x;
		r->p95_next = pts[0].p95_ns;
		r->user_tok_s_next = pts[0].user_tok_s;
		return 0;
	}
	for (size_t k = 0; k + 1 < n; k++) {
		const struct knee_point *a = &pts[k], *b = &pts[k + 1];
		r->index = (int)k;
		r->gain = gain_per_doubling(a, b);
		r->gain_raw = a->throughput > 0 ? b->throughput / a->throughput - 1 : 0;
		r->p95_ratio = p95_ratio(a, b);
		r->x_knee = a->x;
		r->p95_knee = a->p95_ns;
		r->slo_crossed = o->slo_ns > 0 && b->p95_ns > o->slo_ns;
		r->user_rate_low = o->min_user_tok_s > 0 && b->user_tok_s < o->min_user_tok_s;
		r->flat = r->gain < o->min_gain;
		r->saturated = r->flat && r->p95_ratio >= o->latency_factor;
		if (r->slo_crossed || r->user_rate_low || r->flat) {
			r->reason = r->slo_crossed     ? KNEE_SLO
				    : r->user_rate_low ? KNEE_USER_RATE
				    : r->saturated     ? KNEE_SATURATED
						       : KNEE_FLAT;
			r->next = (int)k + 1;
			r->x_next = b->x;
			r->p95_next = b->p95_ns;
			r->user_tok_s_next = b->user_tok_s;
			return 0;
		}
	}
	r->reason = KNEE_NONE;
	r->index = (int)n - 1;
	r->x_knee = pts[n - 1].x;
	r->p95_knee = pts[n - 1].p95_ns;
	r->flat = r->saturated = r->slo_crossed = r->user_rate_low = 0;
	return 0;
}

/* "16 concurrent streams", "1 concurrent stream", "4 req/s". */
static int add_x(struct buf *out, enum knee_x kind, double x, int with_unit)
{
	if (kind == KNEE_X_RATE)
		return buf_addf(out, "%g%s", x, with_unit ? " req/s" : "");
	return buf_addf(out, "%g%s", x,
			!with_unit ? "" : x == 1 ? " concurrent stream" : " concurrent streams");
}

int knee_sentence(const struct knee_result *r, const struct knee_opts *o, struct buf *out)
{
	size_t start = out->len;
	const char *m = o->metric ? o->metric : "latency";
	char t1[32], t2[32];
	int e = 0;
	if (r->index < 0) {
		e |= buf_adds(out, "even at ");
		e |= add_x(out, o->xkind, r->x_next, 1);
		if (r->slo_crossed)
			e |= buf_addf(out, " %s p95 is %s, over the %s SLO", m,
				      units_duration(r->p95_next, UNITS_DUR_SPACED, t1, sizeof(t1)),
				      units_duration(r->slo_ns, UNITS_DUR_SPACED, t2, sizeof(t2)));
		if (r->user_rate_low)
			e |= buf_addf(out, "%s each user gets %.1f tok/s, under the %g tok/s floor",
				      r->slo_crossed ? " and" : "", r->user_tok_s_next,
				      r->min_user_tok_s);
	} else if (r->reason == KNEE_NONE && r->index == 0) {
		e |= buf_adds(out, "at ");
		e |= add_x(out, o->xkind, r->x_knee, 1);
		e |= buf_addf(out, " %s p95 is %s; one step shows no knee", m,
			      units_duration(r->p95_knee, UNITS_DUR_SPACED, t1, sizeof(t1)));
	} else {
		int64_t bound = r->slo_ns > 0 ? r->slo_ns : r->p95_knee;
		e |= buf_adds(out, "up to ");
		e |= add_x(out, o->xkind, r->x_knee, 1);
		e |= buf_addf(out, " keep%s %s p95 \xe2\x89\xa4 %s",
			      o->xkind == KNEE_X_RATE || r->x_knee != 1 ? "" : "s", m,
			      units_duration(bound, UNITS_DUR_SPACED, t1, sizeof(t1)));
		if (r->min_user_tok_s > 0)
			e |= buf_addf(out, " and \xe2\x89\xa5 %g tok/s per user", r->min_user_tok_s);
		e |= buf_adds(out, "; ");
		if (r->reason == KNEE_NONE) {
			e |= buf_addf(out, "throughput still growing (%+.0f%% per doubling) "
				      "\xe2\x80\x94 no knee in range", r->gain * 100);
		} else {
			e |= buf_adds(out, "at ");
			e |= add_x(out, o->xkind, r->x_next, o->xkind == KNEE_X_RATE);
			e |= buf_addf(out, " throughput %+.0f%%, p95 \xc3\x97%.1f \xe2\x80\x94 ",
				      r->gain_raw * 100, r->p95_ratio);
			const char *sep = "";
			if (r->slo_crossed) {
				e |= buf_addf(out, "over the %s SLO (%s)",
					      units_duration(r->slo_ns, UNITS_DUR_SPACED, t1, sizeof(t1)),
					      units_duration(r->p95_next, UNITS_DUR_SPACED, t2, sizeof(t2)));
				sep = ", ";
			}
			if (r->user_rate_low) {
				e |= buf_addf(out, "%sunder %g tok/s per user (%.1f)", sep,
					      r->min_user_tok_s, r->user_tok_s_next);
				sep = ", ";
			}
			if (r->saturated)
				e |= buf_addf(out, "%ssaturated", sep);
			else if (r->flat)
				e |= buf_addf(out, "%sthroughput flat", sep);
		}
	}
	if (e) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}

int knee_slots(const struct knee_point *pts, size_t n, struct knee_slots *out)
{
	memset(out, 0, sizeof(*out));
	if (n < 3)
		return 0;
	double ymin = INFINITY, ymax = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		double x = pts[i].x;
		if (!(x >= 1) || x > 1e6 || x != floor(x) || (i && !(x > pts[i - 1].x)))
			return 0;
		ymin = fmin(ymin, (double)pts[i].p95_ns);
		ymax = fmax(ymax, (double)pts[i].p95_ns);
	}
	if (!(ymin > 0) || ymax < 1.5 * ymin)
		return 0;
	int maxc = (int)pts[n - 1].x;
	double best_rms = INFINITY, best_a = 0, best_b = 0;
	int best_s = 0;
	for (int s = 1; s < maxc; s++) {
		/* least squares y = a + b w with w = ceil(c / s) - 1 */
		double sw = 0, sy = 0, sww = 0, swy = 0;
		for (size_t i = 0; i < n; i++) {
			double w = ceil(pts[i].x / s) - 1, y = (double)pts[i].p95_ns;
			sw += w;
			sy += y;
			sww += w * w;
			swy += w * y;
		}
		double den = (double)n * sww - sw * sw;
		if (den <= 0)
			continue;
		double b = ((double)n * swy - sw * sy) / den;
		double a = (sy - b * sw) / (double)n;
		if (!(b > 0))
			continue;
		double ss = 0;
		for (size_t i = 0; i < n; i++) {
			double w = ceil(pts[i].x / s) - 1, d = (double)pts[i].p95_ns - (a + b * w);
			ss += d * d;
		}
		double rms = sqrt(ss / (double)n);
		/* a clearly better fit wins; near-ties keep the smaller slot count */
		if (best_s == 0 || rms < 0.95 * best_rms - 1e-6 * ymax) {
			best_rms = rms;
			best_s = s;
			best_a = a;
			best_b = b;
		}
	}
	if (!best_s || best_rms > 0.15 * best_b)
		return 0;
	out->slots = best_s;
	out->service_ns = llround(best_b);
	out->base_ns = llround(best_a);
	out->fit_error = best_rms / best_b;
	return 1;
}

int knee_slots_sentence(const struct knee_slots *s, const char *metric, struct buf *out)
{
	char t[32];
	if (s->slots <= 0)
		return buf_addf(out, "%s does not rise in steps: no sign of a slot limit",
				metric ? metric : "latency");
	return buf_addf(out,
			"%s rises by ~%s every %d concurrent stream%s: about %d parallel slot%s "
			"(OLLAMA_NUM_PARALLEL)",
			metric ? metric : "latency", units_duration(s->service_ns, UNITS_DUR_SPACED, t, sizeof(t)),
			s->slots, s->slots == 1 ? "" : "s", s->slots, s->slots == 1 ? "" : "s");
}
