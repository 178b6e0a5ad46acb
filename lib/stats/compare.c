/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Statistical comparison of two runs: bootstrap CI of a quantile difference and Mann-Whitney U. */
#include "../compat.h"
#include "compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "rng.h"
#include "../util/util.h"
#include "../banned.h"

/*
 * One side of a comparison as a sorted list of distinct values with cumulative counts
 * (raw samples: every value its own entry; histograms: one entry per non-empty bucket).
 */
struct side {
	size_t n; /* entries */
	double *val; /* value of each entry */
	uint64_t *cum; /* samples in entries 0..i */
	uint64_t total;
	double stat;
};

static void side_release(struct side *s)
{
	free(s->val);
	free(s->cum);
	memset(s, 0, sizeof(*s));
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return (a > b) - (a < b);
}

static void side_from_samples(struct side *s, const int64_t *v, size_t n)
{
	int64_t *t = xmalloc(n * sizeof(*t));
	memcpy(t, v, n * sizeof(*t));
	qsort(t, n, sizeof(*t), cmp_i64);
	s->val = xmalloc(n * sizeof(*s->val));
	s->cum = xmalloc(n * sizeof(*s->cum));
	s->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (s->n && s->val[s->n - 1] == (double)t[i]) {
			s->cum[s->n - 1]++;
			continue;
		}
		s->val[s->n] = (double)t[i];
		s->cum[s->n] = (s->n ? s->cum[s->n - 1] : 0) + 1;
		s->n++;
	}
	s->total = n;
	free(t);
}

static void side_from_hist(struct side *s, const struct hist *h)
{
	size_t n = 0;
	for (int i = 0; i < HIST_BUCKETS; i++)
		n += h->counts[i] != 0;
	s->val = xmalloc((n ? n : 1) * sizeof(*s->val));
	s->cum = xmalloc((n ? n : 1) * sizeof(*s->cum));
	s->n = 0;
	uint64_t c = 0;
	for (int i = 0; i < HIST_BUCKETS; i++) {
		if (!h->counts[i])
			continue;
		c += h->counts[i];
		s->val[s->n] = (double)hist_bucket_value(h, i);
		s->cum[s->n] = c;
		s->n++;
	}
	s->total = c;
}

/* Value of the sample at 0-based rank pos (pos < total). */
static double side_at(const struct side *s, uint64_t pos)
{
	size_t lo = 0, hi = s->n - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->cum[mid] > pos)
			hi = mid;
		else
			lo = mid + 1;
	}
	return s->val[lo];
}

/* The k-th smallest (1-based) of a bootstrap resample of s. */
static double side_resample(const struct side *s, uint64_t k, struct rng *r)
{
	double u = rng_beta(r, (double)k, (double)(s->total - k + 1));
	double p = floor(u * (double)s->total);
	uint64_t pos = p >= (double)s->total ? s->total - 1 : (uint64_t)p;
	return side_at(s, pos);
}

static double pct_change(double a, double b)
{
	if (a == 0)
		return b == 0 ? 0 : b > 0 ? INFINITY : -INFINITY;
	return 100 * (b / a - 1);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static void mann_whitney(const struct side *a, const struct side *b, struct compare_result *r)
{
	double na = (double)a->total, nb = (double)b->total, N = na + nb;
	double u = 0, ties = 0;
	uint64_t below_a = 0; /* a samples smaller than the current value */
	size_t i = 0, j = 0;
	while (i < a->n || j < b->n) {
		double v;
		if (j >= b->n || (i < a->n && a->val[i] < b->val[j]))
			v = a->val[i];
		else
			v = b->val[j];
		uint64_t ca = 0, cb = 0;
		if (i < a->n && a->val[i] == v) {
			ca = a->cum[i] - (i ? a->cum[i - 1] : 0);
			i++;
		}
		if (j < b->n && b->val[j] == v) {
			cb = b->cum[j] - (j ? b->cum[j - 1] : 0);
			j++;
		}
		u += (double)cb * ((double)below_a + 0.5 * (double)ca);
		double t = (double)(ca + cb);
		ties += t * t * t - t;
		below_a += ca;
	}
	double mean = na * nb / 2;
	double var = na * nb / 12 * ((N + 1) - (N > 1 ? ties / (N * (N - 1)) : 0));
	r->u = u;
	r->effect = u / (na * nb);
	if (var <= 0) {
		r->z = 0;
		r->p_value = 1;
		return;
	}
	double d = u - mean;
	d = d > 0.5 ? d - 0.5 : d < -0.5 ? d + 0.5 : 0;
	r->z = d / sqrt(var);
	r->p_value = erfc(fabs(r->z) / sqrt(2.0));
}

static int check_opts(const struct compare_opts *o, char *err)
{
	if (o->resamples < 100 || o->resamples > 10000000)
		return seterr(err, "invalid resample count %d: use 100 to 10000000", o->resamples);
	if (!(o->quantile > 0 && o->quantile < 100))
		return seterr(err, "invalid quantile %g: must be between 0 and 100", o->quantile);
	if (!(o->confidence > 0 && o->confidence < 1))
		return seterr(err, "invalid confidence %g: must be between 0 and 1", o->confidence);
	return 0;
}

static void compare_sides(struct side *a, struct side *b, const struct compare_opts *o,
			  struct compare_result *r)
{
	memset(r, 0, sizeof(*r));
	r->na = a->total;
	r->nb = b->total;
	r->resamples = o->resamples;
	r->confidence = o->confidence;
	uint64_t ka = hist_rank(o->quantile, a->total), kb = hist_rank(o->quantile, b->total);
	r->stat_a = side_at(a, ka - 1);
	r->stat_b = side_at(b, kb - 1);
	r->diff = r->stat_b - r->stat_a;
	r->diff_pct = pct_change(r->stat_a, r->stat_b);

	struct rng rng;
	rng_seed(&rng, o->seed);
	size_t R = (size_t)o->resamples;
	double *d = xmalloc(R * sizeof(*d)), *p = xmalloc(R * sizeof(*p));
	for (size_t i = 0; i < R; i++) {
		double qa = side_resample(a, ka, &rng), qb = side_resample(b, kb, &rng);
		d[i] = qb - qa;
		p[i] = pct_change(qa, qb);
	}
	qsort(d, R, sizeof(*d), cmp_double);
	qsort(p, R, sizeof(*p), cmp_double);
	double alpha = 1 - o->confidence;
	size_t lo = (size_t)floor(alpha / 2 * (double)R);
	size_t hi = (size_t)ceil((1 - alpha / 2) * (double)R);
	if (hi > 0)
		hi--;
	if (hi >= R)
		hi = R - 1;
	if (lo > hi)
		lo = hi;
	r->ci_lo = d[lo];
	r->ci_hi = d[hi];
	r->ci_lo_pct = p[lo];
	r->ci_hi_pct = p[hi];
	free(d);
	free(p);
	mann_whitney(a, b, r);
}

int compare_samples(const int64_t *a, size_t na, const int64_t *b, size_t nb,
		    const struct compare_opts *o, struct compare_result *r, char *err)
{
	memset(r, 0, sizeof(*r));
	if (check_opts(o, err))
		return -1;
	if (na == 0 || nb == 0)
		return seterr(err, "cannot compare: the %s sample is empty",
			      na == 0 ? "baseline" : "candidate");
	struct side sa, sb;
	side_from_samples(&sa, a, na);
	side_from_samples(&sb, b, nb);
	compare_sides(&sa, &sb, o, r);
	side_release(&sa);
	side_release(&sb);
	return 0;
}

int compare_hists(const struct hist *a, const struct hist *b, const struct compare_opts *o,
		  struct compare_result *r, char *err)
{
	memset(r, 0, sizeof(*r));
	if (check_opts(o, err))
		return -1;
	if (hist_count(a) == 0 || hist_count(b) == 0)
		return seterr(err, "cannot compare: the %s histogram is empty",
			      hist_count(a) == 0 ? "baseline" : "candidate");
	struct side sa, sb;
	side_from_hist(&sa, a);
	side_from_hist(&sb, b);
	compare_sides(&sa, &sb, o, r);
	side_release(&sa);
	side_release(&sb);
	return 0;
}

/* The standard normal quantile for probability p in (0, 1), by bisection on erfc. */
static double normal_quantile(double p)
{
	double lo = -40, hi = 40;
	for (int i = 0; i < 200; i++) {
		double mid = (lo + hi) / 2;
		if (0.5 * erfc(-mid / sqrt(2.0)) < p)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

int compare_rates(uint64_t na, double rate_a, uint64_t nb, double rate_b, double confidence,
		  struct compare_result *r, char *err)
{
	memset(r, 0, sizeof(*r));
	if (!na || !nb)
		return seterr(err, "a rate needs at least one completed request on each side");
	if (!(rate_a > 0) || !(rate_b > 0) || !isfinite(rate_a) || !isfinite(rate_b))
		return seterr(err, "rates must be positive");
	if (!(confidence > 0 && confidence < 1))
		return seterr(err, "confidence must be between 0 and 1");
	double ratio = rate_b / rate_a;
	double se = sqrt(1.0 / (double)na + 1.0 / (double)nb);
	double z = normal_quantile(0.5 + confidence / 2);
	r->na = na;
	r->nb = nb;
	r->stat_a = rate_a;
	r->stat_b = rate_b;
	r->diff = rate_b - rate_a;
	r->diff_pct = 100 * (ratio - 1);
	r->ci_lo_pct = 100 * (ratio * exp(-z * se) - 1);
	r->ci_hi_pct = 100 * (ratio * exp(z * se) - 1);
	r->ci_lo = rate_a * ratio * exp(-z * se) - rate_a;
	r->ci_hi = rate_a * ratio * exp(z * se) - rate_a;
	r->z = log(ratio) / se;
	r->p_value = erfc(fabs(r->z) / sqrt(2.0));
	r->confidence = confidence;
	return 0;
}

/* Wilson score interval of x out of n at normal quantile z. */
static void wilson(uint64_t x, uint64_t n, double z, double *lo, double *hi)
{
	double p = (double)x / (double)n, nn = (double)n, z2 = z * z;
	double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
	double half = z / (1 + z2 / nn) * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
	*lo = fmax(0, centre - half);
	*hi = fmin(1, centre + half);
}

int compare_proportions(uint64_t xa, uint64_t na, uint64_t xb, uint64_t nb, double confidence,
			struct compare_prop *r, char *err)
{
	memset(r, 0, sizeof(*r));
	if (!na || !nb || xa > na || xb > nb)
		return seterr(err, "a proportion needs 0 <= x <= n and n > 0 on each side");
	if (!(confidence > 0 && confidence < 1))
		return seterr(err, "confidence must be between 0 and 1");
	double z = normal_quantile(0.5 + confidence / 2), la, ua, lb, ub;
	r->pa = (double)xa / (double)na;
	r->pb = (double)xb / (double)nb;
	r->diff = r->pb - r->pa;
	wilson(xa, na, z, &la, &ua);
	wilson(xb, nb, z, &lb, &ub);
	r->lo = r->diff - sqrt((r->pb - lb) * (r->pb - lb) + (ua - r->pa) * (ua - r->pa));
	r->hi = r->diff + sqrt((ub - r->pb) * (ub - r->pb) + (r->pa - la) * (r->pa - la));
	return 0;
}

enum compare_verdict compare_verdict(const struct compare_result *r, double threshold_pct,
				     int higher_is_better)
{
	if (!(threshold_pct >= 0))
		threshold_pct = 0;
	double worse_lo = higher_is_better ? -r->ci_hi_pct : r->ci_lo_pct;
	double better_hi = higher_is_better ? -r->ci_lo_pct : r->ci_hi_pct;
	if (worse_lo > threshold_pct)
		return COMPARE_REGRESSION;
	if (better_hi < -threshold_pct)
		return COMPARE_IMPROVEMENT;
	return COMPARE_NO_CHANGE;
}

const char *compare_verdict_name(enum compare_verdict v)
{
	switch (v) {
	case COMPARE_NO_CHANGE:
		return "no change";
	case COMPARE_REGRESSION:
		return "regression";
	case COMPARE_IMPROVEMENT:
		return "improvement";
	}
	return "unknown";
}
