/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Knee detection over a sweep, the sentence that states it, and the slot-limited TTFT shape. */
#ifndef OBRIDGE_STATS_KNEE_H
#define OBRIDGE_STATS_KNEE_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/*
 * Pure functions over caller-owned arrays: nothing is allocated or kept after a call
 * returns. Latencies are ns; x is streams or req/s; throughput any per-second unit.
 */

/* What the sweep varies: closed-loop streams or open-loop request rate. */
enum knee_x {
	KNEE_X_CONCURRENCY,
	KNEE_X_RATE,
};

/* One step of a sweep. x strictly increasing and > 0; throughput in any unit per
 * second (output tok/s or req/s), >= 0; p95_ns the chosen latency metric's p95;
 * user_tok_s the output tok/s each user gets (only read when min_user_tok_s is set). */
struct knee_point {
	double x;
	double throughput;
	int64_t p95_ns;
	double user_tok_s;
};

struct knee_opts {
	/* throughput "still grows" while its gain per doubling of x is >= this (0.10) */
	double min_gain;
	/* "saturated": p95 grew by this factor or more (2.0) while the gain is < min_gain */
	double latency_factor;
	int64_t slo_ns; /* a limit on p95; 0 for none */
	const char *metric; /* name used in sentences ("TTFT"); not copied */
	enum knee_x xkind;
	double min_user_tok_s; /* a floor on user_tok_s; 0 for none */
};

#define KNEE_OPTS_INIT { 0.10, 2.0, 0, "TTFT", KNEE_X_CONCURRENCY, 0 }

enum knee_reason {
	KNEE_NONE, /* throughput still growing at the last step, SLO (if any) kept */
	KNEE_FLAT, /* throughput gain per doubling of x fell below min_gain */
	KNEE_SATURATED, /* gain below min_gain and p95 grew by latency_factor or more */
	KNEE_SLO, /* p95 went over the SLO at the next step (or at the first step) */
	KNEE_USER_RATE, /* per-user tok/s fell under min_user_tok_s (next or first step) */
};

/*
 * Each transition from step k to k+1 is judged, first to last; the first one that
 * fails makes k the knee:
 *   gain      = (T[k+1] / T[k])^(1 / log2(x[k+1] / x[k])) - 1   (growth per doubling)
 *   p95_ratio = p95[k+1] / p95[k]
 *   KNEE_SLO        when p95[k+1] > slo (with slo set); index -1 if p95[0] > slo already
 *   KNEE_USER_RATE  when user_tok_s[k+1] < min_user_tok_s (when set); index -1 likewise
 *   KNEE_SATURATED  when gain < min_gain and p95_ratio >= latency_factor
 *   KNEE_FLAT       when gain < min_gain
 * Flags say which held, since several can hold at once (the reason is the first in the
 * list above). Without a knee, index is the last step and next is -1, and gain and
 * p95_ratio describe the last transition.
 */
struct knee_result {
	enum knee_reason reason;
	int index; /* last good step, -1 if even the first is over the SLO */
	int next; /* the step that showed the knee, -1 for none */
	int slo_crossed, user_rate_low, saturated, flat;
	double gain; /* per doubling of x, fraction (0.03 = +3%) */
	double gain_raw; /* T[next] / T[index] - 1, what the sentence shows */
	double p95_ratio;
	double x_knee, x_next; /* x at index and next (x_next 0 when none) */
	int64_t p95_knee, p95_next;
	int64_t slo_ns;
	double user_tok_s_next; /* per-user tok/s at next */
	double min_user_tok_s;
};

/* "none", "flat", "saturated", "slo", "user_rate". */
const char *knee_reason_name(enum knee_reason r);

/*
 * Find the knee of n >= 1 steps. Returns 0, or -1 with a message in err (ERR_MAX) when
 * the steps are not usable (n == 0, x not strictly increasing or not > 0, a negative or
 * non-finite throughput, a negative p95, bad options).
 */
int knee_find(const struct knee_point *pts, size_t n, const struct knee_opts *o,
	      struct knee_result *r, char *err);

/*
 * Append the one-sentence answer to out (no newline), for instance
 *   up to 8 concurrent streams keep TTFT p95 <= 800 ms; at 16 throughput +3%,
 *   p95 x2.1 - saturated
 * (with the real "≤", "×" and "—"). The bound after "keep" is the SLO when one was
 * set, else the p95 measured at the knee, followed by "and ≥ 20 tok/s per user" when
 * min_user_tok_s is set. Other forms:
 *   ...; at 16 throughput +40%, p95 ×1.9 — over the 800 ms SLO (1.52 s)
 *   ...; at 16 throughput +8%, p95 ×1.6 — under 20 tok/s per user (14.2)
 *   ...; at 16 throughput +2%, p95 ×1.1 — throughput flat
 *   even at 1 concurrent stream TTFT p95 is 1.2 s, over the 800 ms SLO
 *   even at 1 concurrent stream each user gets 14.2 tok/s, under the 20 tok/s floor
 *   up to 16 concurrent streams keep TTFT p95 ≤ 640 ms; throughput still growing
 *   (+45% per doubling) — no knee in range
 *   at 1 concurrent stream TTFT p95 is 640 ms; one step shows no knee
 * Rate sweeps say "req/s" instead of "concurrent streams". Returns 0, or -1 if out's
 * cap was hit.
 */
int knee_sentence(const struct knee_result *r, const struct knee_opts *o, struct buf *out);

/*
 * Slot-limited shape: with S parallel slots and a service time D, a closed-loop
 * request at concurrency c waits ceil(c/S) - 1 rounds, so
 *   TTFT(c) ≈ base + D * (ceil(c / S) - 1).
 * knee_slots() fits that for every S from 1 to max(x) - 1 (least squares for base and
 * D) and keeps the best S (the smallest among equally good ones). It reports a
 * slot-limited shape when D > 0, the RMS residual is at most 15% of D, and TTFT at the
 * largest x is at least 1.5 times the smallest. Uses pts[i].x (integer concurrencies,
 * at least 3 steps) and pts[i].p95_ns (pass TTFT p95 or p50).
 * Returns 1 when found, 0 when not (out zeroed, slots 0).
 */
struct knee_slots {
	int slots;
	int64_t service_ns; /* D: one round of service */
	int64_t base_ns; /* TTFT without waiting (prefill and network) */
	double fit_error; /* RMS residual / D */
};

int knee_slots(const struct knee_point *pts, size_t n, struct knee_slots *out);

/*
 * Append the slot finding to out, e.g.
 *   TTFT rises by ~2.00 s every 4 concurrent streams: about 4 parallel slots
 *   (OLLAMA_NUM_PARALLEL)
 * Returns 0, or -1 if out's cap was hit.
 */
int knee_slots_sentence(const struct knee_slots *s, const char *metric, struct buf *out);


#endif
