/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Arrival-time generators for open-loop (fixed-rate, Poisson, gamma) bench runs. */
#include "../compat.h"
#include "arrival.h"

#include <math.h>
#include <string.h>

#include "../util/util.h"
#include "../banned.h"

static const char *const kind_names[] = {
	[ARRIVAL_FIXED] = "fixed",
	[ARRIVAL_POISSON] = "poisson",
	[ARRIVAL_GAMMA] = "gamma",
};

int arrival_init(struct arrival *a, enum arrival_kind kind, double rate, double shape,
		 uint64_t seed, char *err)
{
	memset(a, 0, sizeof(*a));
	if ((unsigned)kind >= ARRAY_SIZE(kind_names))
		return seterr(err, "unknown arrival kind %d", (int)kind);
	if (!isfinite(rate) || rate <= 0)
		return seterr(err, "invalid request rate %g: must be a positive number", rate);
	if (kind == ARRIVAL_GAMMA && (!isfinite(shape) || shape <= 0))
		return seterr(err, "invalid burstiness %g: must be a positive number", shape);
	a->kind = kind;
	a->rate = rate;
	a->shape = kind == ARRIVAL_GAMMA ? shape : kind == ARRIVAL_POISSON ? 1 : 0;
	a->gap_ns = 1e9 / rate;
	rng_seed(&a->rng, seed);
	return 0;
}

int64_t arrival_next(struct arrival *a)
{
	double t;
	if (a->kind == ARRIVAL_FIXED) {
		t = (double)a->n * a->gap_ns;
	} else {
		t = a->t_ns;
		double g = a->kind == ARRIVAL_POISSON ? rng_exp(&a->rng)
						      : rng_gamma(&a->rng, a->shape) / a->shape;
		a->t_ns += g * a->gap_ns;
	}
	a->n++;
	if (t >= 9.2e18)
		return INT64_MAX;
	return llround(t);
}

const char *arrival_kind_name(enum arrival_kind kind)
{
	return (unsigned)kind < ARRAY_SIZE(kind_names) ? kind_names[kind] : "unknown";
}

int arrival_kind_parse(const char *s, enum arrival_kind *kind, char *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++) {
		if (strcmp(s, kind_names[i]) == 0) {
			*kind = (enum arrival_kind)i;
			return 0;
		}
	}
	return seterr(err, "unknown arrival distribution '%s' (fixed, poisson, gamma)", s);
}
