/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Two runs side by side: quantile difference with a bootstrap CI, Mann-Whitney U, a verdict. */
#ifndef OBRIDGE_STATS_COMPARE_H
#define OBRIDGE_STATS_COMPARE_H

#include <stddef.h>
#include <stdint.h>

struct hist;

/*
 * Inputs are only read (raw samples are copied and sorted internally, with xmalloc,
 * and freed before returning); results are plain values. Values are ns, differences
 * ns and percent.
 */

/*
 * "a" is the baseline, "b" the candidate; values are ns (or any non-negative
 * measure). The statistic is a quantile (the median by default), taken as the
 * nearest-rank order statistic (hist_rank()).
 *
 * Bootstrap: the confidence interval comes from `resamples` percentile-bootstrap
 * resamples of each sample, drawn independently. Resampling n values with replacement
 * and taking their k-th smallest is the same, in distribution, as taking sorted[floor(n
 * U)] with U ~ Beta(k, n - k + 1) (the k-th order statistic of n uniforms), so each
 * resample costs O(1) for raw samples and O(log buckets) for histograms, whatever n
 * is. For histograms a resample draws from the bucket distribution and reports bucket
 * values as hist_percentile() does. The PRNG is seeded from opts, so the same inputs
 * and seed give the same interval on every run and platform.
 *
 * Mann-Whitney U: U counts the pairs (a_i, b_j) with b_j > a_i, ties counting 1/2; z
 * uses the normal approximation with tie and continuity corrections; p is two-sided.
 * For histograms, values sharing a bucket are ties.
 */
struct compare_opts {
	uint64_t seed;
	int resamples; /* >= 100; 2000 by default */
	double quantile; /* percent, 0 < q < 100; 50 = median */
	double confidence; /* 0 < c < 1; 0.95 */
};

#define COMPARE_OPTS_INIT { 1, 2000, 50, 0.95 }

struct compare_result {
	uint64_t na, nb;
	double stat_a, stat_b; /* the quantile of each side */
	double diff; /* stat_b - stat_a */
	double diff_pct; /* 100 * (stat_b / stat_a - 1); 0 when both are 0, inf when only a is */
	double ci_lo, ci_hi; /* bootstrap interval of diff */
	double ci_lo_pct, ci_hi_pct; /* bootstrap interval of diff_pct (ratio per resample) */
	double u; /* Mann-Whitney U of b over a */
	double effect; /* u / (na nb): P(b > a) + P(b = a) / 2; 0.5 = no shift */
	double z; /* > 0: b tends to be larger */
	double p_value; /* two-sided */
	int resamples;
	double confidence;
};

/* Compare two samples (na, nb >= 1; neither is modified). Returns 0, or -1 with a
 * message in err (ERR_MAX) on empty input or bad options. */
int compare_samples(const int64_t *a, size_t na, const int64_t *b, size_t nb,
		    const struct compare_opts *o, struct compare_result *r, char *err);
/* The same from two histograms (for instance read back from the store). */
int compare_hists(const struct hist *a, const struct hist *b, const struct compare_opts *o,
		  struct compare_result *r, char *err);

/*
 * Two rates (throughput: requests or tokens per second) measured over na and nb
 * completed requests. The interval treats each count as Poisson, so the log of the
 * ratio has standard error sqrt(1/na + 1/nb); a closed loop completes more regularly
 * than that, so the interval errs on the wide side (fewer false alarms in CI).
 * Fills stat_a/stat_b (the rates), diff, diff_pct, the ci_*_pct interval at
 * `confidence` (0 < c < 1), z and p_value of the log ratio; u and effect are 0.
 * Returns 0, or -1 with err when a count is 0 or a rate is not positive.
 */
int compare_rates(uint64_t na, double rate_a, uint64_t nb, double rate_b, double confidence,
		  struct compare_result *r, char *err);

/*
 * Two proportions (failed requests out of all): pa = xa/na, pb = xb/nb, diff = pb - pa,
 * and its interval at `confidence` by Newcombe's hybrid score method (Wilson intervals
 * of each side), which stays sensible at 0 and 1 where the Wald interval collapses.
 * Values are fractions (0..1). Returns 0, or -1 with err when a side is empty or x > n.
 */
struct compare_prop {
	double pa, pb, diff, lo, hi;
};
int compare_proportions(uint64_t xa, uint64_t na, uint64_t xb, uint64_t nb, double confidence,
			struct compare_prop *r, char *err);

enum compare_verdict {
	COMPARE_NO_CHANGE,
	COMPARE_REGRESSION,
	COMPARE_IMPROVEMENT,
};

/*
 * Verdict for a threshold in percent (>= 0). Latency-like figures (higher_is_better
 * 0): a regression only when the whole interval is above +threshold (ci_lo_pct >
 * threshold), an improvement only when it is all below -threshold. higher_is_better 1
 * (throughput) mirrors the test. Anything else, including an interval that straddles
 * the threshold, is no change.
 */
enum compare_verdict compare_verdict(const struct compare_result *r, double threshold_pct,
				     int higher_is_better);
/* "no change", "regression", "improvement". */
const char *compare_verdict_name(enum compare_verdict v);

#endif
