/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The params document of a bench run read back (its writer is bench_job_params in job.c):
 * the one reader, for show, compare and export. Pure.
 */
#ifndef OBRIDGE_BENCH_PARAMS_H
#define OBRIDGE_BENCH_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "goals.h"

struct bench_params {
	char mode[16];         /* "closed", "open" ("" when absent) */
	char api[16];          /* "generate", "chat", "openai", "endpoint" */
	char endpoint[16];     /* "" unless api is endpoint */
	char model[256];
	char instance[64];     /* --instance, "" when none */
	int each;
	double levels[64];
	size_t nlevels;
	int64_t slo_ns;        /* the knee's SLO */
	struct bench_goals goals;
};

/* Read params (NULL or not JSON gives zeros and -1). Returns 0, or -1. */
int bench_params_parse(const char *params, struct bench_params *p);

/*
 * Why runs with these params and targets cannot be compared, in why (n bytes): another
 * kind (API, endpoint, --each or --instance), shape (mode or steps) or target. Returns 1
 * when they differ, 0 when they match.
 */
int bench_params_mismatch(const struct bench_params *a, const char *target_a,
			  const struct bench_params *b, const char *target_b, char *why, size_t n);

#endif
