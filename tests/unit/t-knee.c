/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/stats/knee: knees on synthetic sweeps, the sentences, the slot estimate. */
#include "../../lib/compat.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/stats/knee.h"
#include "../../lib/util/units.h"
#include "../../lib/stats/rng.h"
#include "../../lib/util/buf.h"

#define MS INT64_C(1000000)

/*
 * A slot-limited server in a closed loop: S slots, service time D per request, prefill
 * P. Throughput min(c, S) / D; TTFT p95 P + D * (ceil(c / S) - 1).
 */
static void slot_server(struct knee_point *p, const double *xs, size_t n, int slots,
			int64_t service, int64_t prefill, double noise, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++) {
		double c = xs[i];
		double waves = ceil(c / slots) - 1;
		p[i].x = c;
		p[i].throughput = fmin(c, slots) / ((double)service / 1e9) *
				  (1 + noise * (2 * rng_uniform(&r) - 1));
		p[i].p95_ns = (int64_t)((prefill + service * waves) *
					(1 + noise * (2 * rng_uniform(&r) - 1)));
	}
}

static void want_sentence(const struct knee_result *r, const struct knee_opts *o, const char *want)
{
	struct buf b = BUF_INIT;
	assert_int_equal(knee_sentence(r, o, &b), 0);
	if (strcmp(buf_str(&b), want)) {
		print_error("got  '%s'\nwant '%s'\n", buf_str(&b), want);
		fail();
	}
	buf_release(&b);
}

static void test_linear_then_flat(void **state)
{
	(void)state;
	double xs[16];
	for (int i = 0; i < 16; i++)
		xs[i] = i + 1;
	struct knee_point p[16];
	struct knee_opts o = KNEE_OPTS_INIT;
	struct knee_result r;
	char err[ERR_MAX];

	/* slots = 4 over 1..16: throughput grows to 4, then flat; knee at x = 4 */
	slot_server(p, xs, 16, 4, 2000 * MS, 200 * MS, 0, 1);
	assert_int_equal(knee_find(p, 16, &o, &r, err), 0);
	assert_int_equal(r.index, 3);
	assert_int_equal(r.next, 4);
	assert_true(r.x_knee == 4);
	assert_true(r.flat);
	/* TTFT 200 ms -> 2.2 s is x11, so it is also saturated */
	assert_int_equal(r.reason, KNEE_SATURATED);
	assert_true(fabs(r.gain) < 1e-9);
	want_sentence(&r, &o,
		      "up to 4 concurrent streams keep TTFT p95 \xe2\x89\xa4 200 ms; at 5 throughput +0%, "
		      "p95 \xc3\x97" "11.0 \xe2\x80\x94 saturated");

	/* the same with 3% noise on both figures, and a doubling sweep */
	slot_server(p, xs, 16, 4, 2000 * MS, 200 * MS, 0.03, 2);
	assert_int_equal(knee_find(p, 16, &o, &r, err), 0);
	assert_true(r.x_knee == 4);
	double dbl[] = { 1, 2, 4, 8, 16, 32 };
	slot_server(p, dbl, 6, 8, 1000 * MS, 300 * MS, 0.03, 3);
	assert_int_equal(knee_find(p, 6, &o, &r, err), 0);
	assert_true(r.x_knee == 8);
	assert_int_equal(r.reason, KNEE_SATURATED);
}

static void test_slo(void **state)
{
	(void)state;
	/* the example of the brief: 8 streams keep TTFT p95 <= 800 ms, 16 are saturated */
	struct knee_point p[] = {
		{ 1, 40, 200 * MS }, { 2, 78, 230 * MS },  { 4, 150, 300 * MS },
		{ 8, 280, 480 * MS }, { 16, 288.4, 1008 * MS }, { 32, 290, 2100 * MS },
	};
	struct knee_opts o = KNEE_OPTS_INIT;
	o.slo_ns = 800 * MS;
	struct knee_result r;
	char err[ERR_MAX];
	assert_int_equal(knee_find(p, ARRAY_SIZE(p), &o, &r, err), 0);
	assert_int_equal(r.index, 3);
	assert_int_equal(r.reason, KNEE_SLO);
	assert_true(r.slo_crossed && r.saturated);
	assert_true(fabs(r.p95_ratio - 2.1) < 1e-9);
	want_sentence(&r, &o,
		      "up to 8 concurrent streams keep TTFT p95 \xe2\x89\xa4 800 ms; at 16 throughput +3%, "
		      "p95 \xc3\x97" "2.1 \xe2\x80\x94 over the 800 ms SLO (1.01 s), saturated");
	/* without the SLO: the same knee, for saturation */
	o.slo_ns = 0;
	assert_int_equal(knee_find(p, ARRAY_SIZE(p), &o, &r, err), 0);
	assert_int_equal(r.index, 3);
	assert_int_equal(r.reason, KNEE_SATURATED);
	want_sentence(&r, &o,
		      "up to 8 concurrent streams keep TTFT p95 \xe2\x89\xa4 480 ms; at 16 throughput +3%, "
		      "p95 \xc3\x97" "2.1 \xe2\x80\x94 saturated");
	/* a tighter SLO crossed while throughput still grows */
	o.slo_ns = 250 * MS;
	assert_int_equal(knee_find(p, ARRAY_SIZE(p), &o, &r, err), 0);
	assert_int_equal(r.index, 1);
	assert_int_equal(r.reason, KNEE_SLO);
	assert_false(r.flat);
	want_sentence(&r, &o,
		      "up to 2 concurrent streams keep TTFT p95 \xe2\x89\xa4 250 ms; at 4 throughput +92%, "
		      "p95 \xc3\x97" "1.3 \xe2\x80\x94 over the 250 ms SLO (300 ms)");
	/* over the SLO from the first step */
	o.slo_ns = 150 * MS;
	assert_int_equal(knee_find(p, ARRAY_SIZE(p), &o, &r, err), 0);
	assert_int_equal(r.index, -1);
	assert_int_equal(r.next, 0);
	assert_int_equal(r.reason, KNEE_SLO);
	want_sentence(&r, &o,
		      "even at 1 concurrent stream TTFT p95 is 200 ms, over the 150 ms SLO");
}

static void test_flat_without_latency(void **state)
{
	(void)state;
	/* throughput stalls but p95 only grows 30%: flat, not saturated */
	struct knee_point p[] = {
		{ 1, 100, 100 * MS }, { 2, 190, 110 * MS }, { 4, 200, 143 * MS }, { 8, 205, 150 * MS },
	};
	struct knee_opts o = KNEE_OPTS_INIT;
	struct knee_result r;
	char err[ERR_MAX];
	assert_int_equal(knee_find(p, ARRAY_SIZE(p), &o, &r, err), 0);
	assert_int_equal(r.index, 1);
	assert_int_equal(r.reason, KNEE_FLAT);
	assert_false(r.saturated);
	want_sentence(&r, &o,
		      "up to 2 concurrent streams keep TTFT p95 \xe2\x89\xa4 110 ms; at 4 throughput +5%, "
		      "p95 \xc3\x97" "1.3 \xe2\x80\x94 throughput flat");
	/* a throughput drop is a knee too */
	struct knee_point d[] = { { 1, 100, 100 * MS }, { 2, 80, 120 * MS } };
	assert_int_equal(knee_find(d, 2, &o, &r, err), 0);
	assert_int_equal(r.index, 0);
	assert_true(r.gain < 0);
}

static void test_no_knee(void **state)
{
	(void)state;
	/* still growing: +60% per doubling, p95 growing slowly */
	struct knee_point p[5];
	for (int i = 0; i < 5; i++) {
		p[i].x = 1 << i;
		p[i].throughput = 50 * pow(1.6, i);
		p[i].p95_ns = (100 + 20 * i) * MS;
	}
	struct knee_opts o = KNEE_OPTS_INIT;
	struct knee_result r;
	char err[ERR_MAX];
	assert_int_equal(knee_find(p, 5, &o, &r, err), 0);
	assert_int_equal(r.reason, KNEE_NONE);
	assert_int_equal(r.index, 4);
	assert_int_equal(r.next, -1);
	assert_true(fabs(r.gain - 0.6) < 1e-9);
	want_sentence(&r, &o,
		      "up to 16 concurrent streams keep TTFT p95 \xe2\x89\xa4 180 ms; throughput still "
		      "growing (+60% per doubling) \xe2\x80\x94 no knee in range");
	/* a rate sweep speaks in req/s */
	o.xkind = KNEE_X_RATE;
	o.metric = "e2e";
	o.slo_ns = 20000 * MS;
	for (int i = 0; i < 5; i++)
		p[i].x = 0.5 * (i + 1);
	assert_int_equal(knee_find(p, 5, &o, &r, err), 0);
	assert_int_equal(r.reason, KNEE_NONE);
	want_sentence(&r, &o,
		      "up to 2.5 req/s keep e2e p95 \xe2\x89\xa4 20 s; throughput still growing "
		      "(+331% per doubling) \xe2\x80\x94 no knee in range");
	p[4].throughput = p[3].throughput * 1.01;
	assert_int_equal(knee_find(p, 5, &o, &r, err), 0);
	assert_int_equal(r.reason, KNEE_FLAT);
	want_sentence(&r, &o,
		      "up to 2 req/s keep e2e p95 \xe2\x89\xa4 20 s; at 2.5 req/s throughput +1%, "
		      "p95 \xc3\x97" "1.1 \xe2\x80\x94 throughput flat");
	/* one step */
	o = (struct knee_opts)KNEE_OPTS_INIT;
	assert_int_equal(knee_find(p, 1, &o, &r, err), 0);
	assert_int_equal(r.reason, KNEE_NONE);
	assert_int_equal(r.index, 0);
	p[0].x = 1;
	assert_int_equal(knee_find(p, 1, &o, &r, err), 0);
	want_sentence(&r, &o, "at 1 concurrent stream TTFT p95 is 100 ms; one step shows no knee");
	/* a flat first step (zero throughput) then growth */
	struct knee_point z[] = { { 1, 0, 0 }, { 2, 10, 5 * MS } };
	assert_int_equal(knee_find(z, 2, &o, &r, err), 0);
	assert_int_equal(r.reason, KNEE_NONE);
}

static void test_user_rate(void **state)
{
	(void)state;
	/* per-user speed drops as streams share the GPU; the floor is 20 tok/s */
	struct knee_point p[] = {
		{ 1, 40, 200 * MS, 40 }, { 2, 76, 210 * MS, 38 }, { 4, 120, 260 * MS, 30 },
		{ 8, 170, 400 * MS, 21.3 }, { 16, 184, 650 * MS, 11.5 },
	};
	struct knee_opts o = KNEE_OPTS_INIT;
	o.slo_ns = 800 * MS;
	o.min_user_tok_s = 20;
	struct knee_result r;
	char err[ERR_MAX];
	assert_int_equal(knee_find(p, ARRAY_SIZE(p), &o, &r, err), 0);
	assert_int_equal(r.index, 3);
	assert_int_equal(r.reason, KNEE_USER_RATE);
	assert_true(r.user_rate_low && r.flat && !r.saturated && !r.slo_crossed);
	want_sentence(&r, &o,
		      "up to 8 concurrent streams keep TTFT p95 \xe2\x89\xa4 800 ms and \xe2\x89\xa5 20 "
		      "tok/s per user; at 16 throughput +8%, p95 \xc3\x97" "1.6 \xe2\x80\x94 under 20 "
		      "tok/s per user (11.5), throughput flat");
	/* too slow from the first step, and over the SLO too */
	o.min_user_tok_s = 50;
	assert_int_equal(knee_find(p, ARRAY_SIZE(p), &o, &r, err), 0);
	assert_int_equal(r.index, -1);
	assert_int_equal(r.reason, KNEE_USER_RATE);
	want_sentence(&r, &o,
		      "even at 1 concurrent stream each user gets 40.0 tok/s, under the 50 tok/s floor");
	o.slo_ns = 100 * MS;
	assert_int_equal(knee_find(p, ARRAY_SIZE(p), &o, &r, err), 0);
	assert_int_equal(r.reason, KNEE_SLO);
	want_sentence(&r, &o,
		      "even at 1 concurrent stream TTFT p95 is 200 ms, over the 100 ms SLO and each "
		      "user gets 40.0 tok/s, under the 50 tok/s floor");
	/* a floor needs the figure */
	p[2].user_tok_s = NAN;
	assert_int_equal(knee_find(p, ARRAY_SIZE(p), &o, &r, err), -1);
	assert_non_null(strstr(err, "per-user"));
	assert_string_equal(knee_reason_name(KNEE_USER_RATE), "user_rate");
}

static void test_bad_input(void **state)
{
	(void)state;
	struct knee_opts o = KNEE_OPTS_INIT;
	struct knee_result r;
	char err[ERR_MAX];
	struct knee_point p[] = { { 1, 10, MS }, { 1, 20, MS } };
	assert_int_equal(knee_find(p, 0, &o, &r, err), -1);
	assert_non_null(strstr(err, "no sweep steps"));
	assert_int_equal(knee_find(p, 2, &o, &r, err), -1);
	assert_non_null(strstr(err, "step 2"));
	p[1].x = 2;
	p[1].throughput = NAN;
	assert_int_equal(knee_find(p, 2, &o, &r, err), -1);
	assert_non_null(strstr(err, "throughput"));
	p[1].throughput = 1;
	p[0].x = 0;
	assert_int_equal(knee_find(p, 2, &o, &r, err), -1);
	p[0].x = 1;
	p[0].p95_ns = -1;
	assert_int_equal(knee_find(p, 2, &o, &r, err), -1);
	assert_non_null(strstr(err, "negative"));
	assert_string_equal(knee_reason_name(KNEE_SATURATED), "saturated");
}

static void test_slots(void **state)
{
	(void)state;
	double xs[16];
	for (int i = 0; i < 16; i++)
		xs[i] = i + 1;
	struct knee_point p[16];
	struct knee_slots s;
	static const int slots[] = { 1, 2, 3, 4, 6, 8 };
	for (size_t k = 0; k < ARRAY_SIZE(slots); k++) {
		/* exact, then 3% noise */
		for (int noisy = 0; noisy < 2; noisy++) {
			slot_server(p, xs, 16, slots[k], 2000 * MS, 200 * MS, noisy ? 0.03 : 0, 10 + k);
			if (knee_slots(p, 16, &s) != 1 || s.slots != slots[k]) {
				print_error("slots %d noise %d: got %d\n", slots[k], noisy, s.slots);
				fail();
			}
			assert_true(llabs(s.service_ns - 2000 * MS) < (noisy ? 150 : 1) * MS);
			assert_true(llabs(s.base_ns - 200 * MS) < (noisy ? 150 : 1) * MS);
		}
	}
	/* a doubling sweep: 4 and 5 slots fit equally; the smaller is reported */
	double dbl[] = { 1, 2, 4, 8, 16 };
	slot_server(p, dbl, 5, 4, 1500 * MS, 1500 * MS, 0, 20);
	assert_int_equal(knee_slots(p, 5, &s), 1);
	assert_int_equal(s.slots, 4);
	assert_true(llabs(s.service_ns - 1500 * MS) < MS);
	struct buf b = BUF_INIT;
	assert_int_equal(knee_slots_sentence(&s, "TTFT", &b), 0);
	assert_string_equal(buf_str(&b), "TTFT rises by ~1.5 s every 4 concurrent streams: about 4 "
					 "parallel slots (OLLAMA_NUM_PARALLEL)");
	buf_release(&b);

	/* not slot-limited: flat TTFT (every stream has a slot) */
	slot_server(p, xs, 16, 32, 2000 * MS, 200 * MS, 0.03, 21);
	assert_int_equal(knee_slots(p, 16, &s), 0);
	assert_int_equal(s.slots, 0);
	b = (struct buf)BUF_INIT;
	knee_slots_sentence(&s, "TTFT", &b);
	assert_non_null(strstr(buf_str(&b), "no sign of a slot limit"));
	buf_release(&b);
	/* not slot-limited: smooth convex growth (batched prefill contention) */
	for (int i = 0; i < 16; i++) {
		p[i].x = i + 1;
		p[i].p95_ns = (int64_t)(200 * MS * (1 + 0.02 * (i + 1) * (i + 1)));
	}
	assert_int_equal(knee_slots(p, 16, &s), 0);
	/* random TTFTs */
	struct rng r;
	rng_seed(&r, 22);
	for (int i = 0; i < 16; i++)
		p[i].p95_ns = (int64_t)(100 * MS + rng_below(&r, 2000) * MS);
	assert_int_equal(knee_slots(p, 16, &s), 0);
	/* too few steps, or x that is not a concurrency */
	assert_int_equal(knee_slots(p, 2, &s), 0);
	p[1].x = 1.5;
	assert_int_equal(knee_slots(p, 16, &s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linear_then_flat), cmocka_unit_test(test_slo),
		cmocka_unit_test(test_flat_without_latency), cmocka_unit_test(test_no_knee),
		cmocka_unit_test(test_user_rate), cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_slots),
	};
	return cmocka_run_group_tests_name("knee", tests, NULL, NULL);
}
