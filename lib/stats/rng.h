/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Seeded, deterministic pseudo-random numbers (xoshiro256** seeded by splitmix64). */
#ifndef OBRIDGE_STATS_RNG_H
#define OBRIDGE_STATS_RNG_H

#include <stdint.h>

/*
 * A generator is a plain value: copy it to fork a stream, no allocation, no global
 * state. The same seed gives the same sequence on every platform (integer arithmetic
 * only up to rng_uniform; the floating-point helpers use IEEE-754 double and libm's
 * log/sqrt, which are correctly rounded or close to it on the platforms we build on).
 * Not for cryptography.
 */
struct rng {
	uint64_t s[4];
};

/* Seed the generator (any seed, including 0, is fine: splitmix64 expands it). */
void rng_seed(struct rng *r, uint64_t seed);
/* Next 64 random bits. */
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(struct rng *r);
/* Uniform in (0, 1]: safe to take the logarithm of. */
double rng_uniform_pos(struct rng *r);
/* Uniform integer in [0, n) without modulo bias (Lemire); n must be > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* Standard normal (mean 0, stddev 1; polar Box-Muller, one value per call). */
double rng_normal(struct rng *r);
/* Exponential with mean 1. */
double rng_exp(struct rng *r);
/* Gamma with the given shape (> 0) and scale 1: mean = shape, variance = shape
 * (Marsaglia-Tsang; shape < 1 uses the boost U^(1/shape)). */
double rng_gamma(struct rng *r, double shape);
/* Beta(a, b) for a, b > 0, as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
double rng_beta(struct rng *r, double a, double b);

#endif
