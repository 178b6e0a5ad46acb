/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Chi-square goodness of fit, with the incomplete gamma function it needs. */
#include "../compat.h"
#include "chi2.h"

#include <math.h>

#include "../banned.h"

#define GAMMA_EPS 1e-15
#define GAMMA_ITER 1000

/* P(a, x) by its power series: x^a e^-x / Γ(a+1) * sum x^k / ((a+1)...(a+k)). */
static double gamma_p_series(double a, double x)
{
	double term = 1.0 / a, sum = term;
	for (int k = 1; k < GAMMA_ITER; k++) {
		term *= x / (a + k);
		sum += term;
		if (fabs(term) < fabs(sum) * GAMMA_EPS)
			break;
	}
	return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Q(a, x) by the continued fraction of Γ(a, x), evaluated with the modified Lentz method. */
static double gamma_q_fraction(double a, double x)
{
	const double tiny = 1e-300;
	double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, f = d;
	for (int i = 1; i < GAMMA_ITER; i++) {
		double an = -i * (i - a);
		b += 2.0;
		d = an * d + b;
		if (fabs(d) < tiny)
			d = tiny;
		c = b + an / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		double delta = d * c;
		f *= delta;
		if (fabs(delta - 1.0) < GAMMA_EPS)
			break;
	}
	return f * exp(-x + a * log(x) - lgamma(a));
}

double gamma_q(double a, double x)
{
	if (!(a > 0) || !(x >= 0))
		return NAN;
	if (x == 0)
		return 1.0;
	if (isinf(x))
		return 0.0;
	if (x < a + 1.0) {
		double q = 1.0 - gamma_p_series(a, x);
		return q < 0 ? 0 : q;
	}
	double q = gamma_q_fraction(a, x);
	return q > 1 ? 1 : q;
}

double chi2_sf(double x, double k)
{
	if (!(k > 0))
		return NAN;
	if (!(x > 0))
		return 1.0;
	return gamma_q(k / 2.0, x / 2.0);
}

int chi2_gof(const uint64_t *obs, const double *shares, size_t n, struct chi2_result *out)
{
	double wsum = 0;
	uint64_t total = 0;
	if (n < 2)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!(shares[i] > 0) || !isfinite(shares[i]))
			return -1;
		wsum += shares[i];
		total += obs[i];
	}
	if (!total)
		return -1;
	double stat = 0;
	for (size_t i = 0; i < n; i++) {
		double e = (double)total * shares[i] / wsum;
		double d = (double)obs[i] - e;
		stat += d * d / e;
	}
	out->stat = stat;
	out->df = (int)n - 1;
	out->p_value = chi2_sf(stat, out->df);
	out->total = total;
	return 0;
}
