/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Pearson's chi-square goodness-of-fit test: do observed counts follow expected shares?
 * Pure numbers, no I/O.
 */
#ifndef OBRIDGE_STATS_CHI2_H
#define OBRIDGE_STATS_CHI2_H

#include <stddef.h>
#include <stdint.h>

/* Regularized upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a), for a > 0, x >= 0. */
double gamma_q(double a, double x);
/* P(X >= x) for X chi-square distributed with k degrees of freedom (k > 0). */
double chi2_sf(double x, double k);

struct chi2_result {
	double stat;      /* sum of (observed - expected)^2 / expected */
	int df;           /* categories - 1 */
	double p_value;   /* chi2_sf(stat, df) */
	uint64_t total;   /* sum of the observed counts */
};

/*
 * Test counts obs[n] against shares[n] (any positive scale: weights work). Returns 0, or
 * -1 when n < 2, a share is not positive, or the total is 0.
 */
int chi2_gof(const uint64_t *obs, const double *shares, size_t n, struct chi2_result *out);

#endif
