/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Planned send times for open-loop runs: fixed interval, Poisson, gamma (bursty). */
#ifndef OBRIDGE_STATS_ARRIVAL_H
#define OBRIDGE_STATS_ARRIVAL_H

#include <stdint.h>

#include "rng.h"

/*
 * An arrival schedule yields the planned send time of each request, in ns from the
 * start of the run (the bench adds its own CLOCK_MONOTONIC origin and measures
 * latency from these planned times, wrk2-style). The gaps between arrivals are:
 *
 *   ARRIVAL_FIXED    exactly 1/rate (coefficient of variation 0)
 *   ARRIVAL_POISSON  exponential with mean 1/rate (CV 1)
 *   ARRIVAL_GAMMA    gamma with shape B (the burstiness, as vLLM's --burstiness) and
 *                    scale 1/(rate B): mean 1/rate, CV 1/sqrt(B); B = 1 is Poisson,
 *                    B < 1 burstier, B > 1 more regular
 *
 * So the mean rate is exact in expectation for every kind. The first arrival is at
 * time 0; times are kept in double and rounded, so rounding never accumulates (a fixed
 * schedule's k-th time is round(k * 1e9 / rate)). Everything is deterministic for a
 * seed. struct arrival is a plain value (no allocation, nothing to release).
 */
enum arrival_kind {
	ARRIVAL_FIXED,
	ARRIVAL_POISSON,
	ARRIVAL_GAMMA,
};

struct arrival {
	enum arrival_kind kind;
	double rate; /* requests per second */
	double shape; /* gamma shape B; 1 for Poisson, 0 for fixed */
	double gap_ns; /* mean gap */
	double t_ns; /* planned time of the next arrival */
	uint64_t n; /* arrivals handed out so far */
	struct rng rng;
};

/*
 * Set up a schedule. rate must be finite and > 0; shape is used by ARRIVAL_GAMMA
 * only and must be finite and > 0. Returns 0, or -1 with a message in err (ERR_MAX).
 */
int arrival_init(struct arrival *a, enum arrival_kind kind, double rate, double shape,
		 uint64_t seed, char *err);
/* Planned time of the next request in ns since the start (0 first, then nondecreasing). */
int64_t arrival_next(struct arrival *a);
/* "fixed", "poisson", "gamma". */
const char *arrival_kind_name(enum arrival_kind kind);
/* Parse one of the names above. Returns 0, or -1 with a message in err (ERR_MAX). */
int arrival_kind_parse(const char *s, enum arrival_kind *kind, char *err);

#endif
