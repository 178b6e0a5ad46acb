/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Service level objectives of a bench ([slo] in the fleet file, --slo KEY=D) and the cost
 * of output tokens ([cost]): pure numbers. A step's figures are checked against every
 * objective set; the capacity at SLO is the highest level at which all of them hold.
 *
 * Keys: ttft_p95, ttft_p99, itl_p99, tpot_p95, e2e_p95, e2e_p99 (durations, ns) and
 * error_rate (failed / sent, shed included, as a fraction: "1%" or "0.01").
 */
#ifndef OBRIDGE_STATS_SLO_H
#define OBRIDGE_STATS_SLO_H

#include <stddef.h>
#include <stdint.h>

enum slo_key {
	SLO_TTFT_P95,
	SLO_TTFT_P99,
	SLO_ITL_P99,
	SLO_TPOT_P95,
	SLO_E2E_P95,
	SLO_E2E_P99,
	SLO_ERROR_RATE,
	SLO_NKEYS,
};

/* The objectives set: bit k of mask for key k, its limit in limit[k]. */
struct slo_set {
	unsigned mask;
	double limit[SLO_NKEYS]; /* ns, or a fraction for error_rate */
};

/* "ttft_p95", ... "error_rate": the fleet file's keys and the JSON's, stable. */
const char *slo_key_name(enum slo_key k);
/* The key named s. Returns 0, or -1 when s names none. */
int slo_key_parse(const char *s, enum slo_key *k);
/* The keys, for messages: "ttft_p95, ttft_p99, itl_p99, tpot_p95, e2e_p95, e2e_p99, error_rate". */
const char *slo_key_list(void);
/*
 * A limit: a positive duration for the latency keys ("800ms", "1.5s"), a fraction from 0
 * to 1 or a percentage for error_rate ("0.01", "1%"). Returns 0, or -1 with err.
 */
int slo_value_parse(enum slo_key k, const char *v, double *out, char *err);
/* "KEY=VALUE" (--slo) into s, replacing what s had for KEY. Returns 0, or -1 with err. */
int slo_set_assign(struct slo_set *s, const char *kv, char *err);
/* A limit or a measured value for people: "800ms", "1.5%". */
char *slo_fmt_value(enum slo_key k, double v, char *out, size_t n);

/* One step's figures. has[k] is 0 when the step did not measure what key k needs. */
struct slo_point {
	double x;
	uint64_t ok, failed;     /* failed includes shed */
	int has[SLO_NKEYS];
	double value[SLO_NKEYS]; /* ns, or the error fraction */
};

enum slo_state {
	SLO_UNSET,    /* the key has no objective */
	SLO_NA,       /* not measured in this kind of run (TTFT of a plain GET) */
	SLO_HOLDS,
	SLO_BREACHED, /* over the limit, or nothing succeeded to measure it on */
};

struct slo_verdict {
	enum slo_state state[SLO_NKEYS];
	int all_hold;      /* no key breached (and at least one request ok) */
	unsigned breached; /* bit k: key k breached */
};

/*
 * Check p against s. A step where no request succeeded breaches every latency key set;
 * a key whose figure the step did not measure while requests succeeded is SLO_NA.
 */
void slo_check(const struct slo_set *s, const struct slo_point *p, struct slo_verdict *v);
/* The index of the highest-x point at which every objective holds; -1 when none does. */
int slo_capacity(const struct slo_set *s, const struct slo_point *p, size_t n);

/* Cost per 1M output tokens of something costing hour_cost an hour producing tok_s
 * output tokens a second; a negative value when tok_s is not positive. */
double slo_cost_per_1m(double hour_cost, double tok_s);
/*
 * The utilisation (fraction of the hour spent producing at tok_s; above 1 means never)
 * at which the fleet's cost per 1M output tokens equals cloud_per_1m; negative when
 * tok_s or cloud_per_1m is not positive.
 */
double slo_break_even(double hour_cost, double tok_s, double cloud_per_1m);

#endif
