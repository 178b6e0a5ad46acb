/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/stats/hist: bucket geometry, percentile accuracy, merge, encoding, correction. */
#include "../../lib/compat.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/stats/hist.h"
#include "../../lib/stats/rng.h"
#include "../../lib/util/buf.h"

static const double test_ps[] = { 0, 0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100 };

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Every percentile, the min, max, mean and stddev of h against the exact figures of v. */
static void check_against_exact(const char *name, int64_t *v, size_t n)
{
	struct hist *h = hist_new();
	long double sum = 0, sq = 0;
	for (size_t i = 0; i < n; i++) {
		hist_record(h, v[i]);
		sum += v[i];
	}
	qsort(v, n, sizeof(*v), cmp_i64);
	long double mean = sum / n;
	for (size_t i = 0; i < n; i++)
		sq += (v[i] - mean) * (v[i] - mean);
	double sd = sqrtl(sq / n);
	assert_int_equal(hist_count(h), n);
	assert_int_equal(hist_min(h), v[0]);
	assert_int_equal(hist_max(h), v[n - 1]);
	if (fabs(hist_mean(h) - (double)mean) > 1e-9 * (double)mean + 1e-9) {
		print_error("%s: mean %f want %f\n", name, hist_mean(h), (double)mean);
		fail();
	}
	if (fabs(hist_stddev(h) - sd) > 1e-6 * (double)mean + 1e-6) {
		print_error("%s: stddev %f want %f\n", name, hist_stddev(h), sd);
		fail();
	}
	for (size_t i = 0; i < ARRAY_SIZE(test_ps); i++) {
		uint64_t rank = hist_rank(test_ps[i], n);
		int64_t exact = v[rank - 1], got = hist_percentile(h, test_ps[i]);
		/* the documented bound: half a bucket, at most 1/256 of the value */
		double tol = exact / 256.0 + 0.5;
		if (fabs((double)(got - exact)) > tol || fabs((double)(got - exact)) > 0.01 * exact + 0.5) {
			print_error("%s: p%g = %" PRId64 ", exact %" PRId64 "\n", name, test_ps[i], got,
				    exact);
			fail();
		}
	}
	hist_free(h);
}

static void test_geometry(void **state)
{
	(void)state;
	assert_int_equal(HIST_BUCKETS, 4864);
	assert_int_equal(hist_bucket_low(0), 0);
	for (int i = 0; i + 1 < HIST_BUCKETS; i++) {
		assert_true(hist_bucket_high(i) + 1 == hist_bucket_low(i + 1));
		int64_t lo = hist_bucket_low(i), w = hist_bucket_high(i) - lo + 1;
		assert_int_equal(hist_index(lo), i);
		assert_int_equal(hist_index(hist_bucket_high(i)), i);
		if (lo >= 128) /* below, buckets are 1 ns: exact */
			assert_true((double)w / (double)lo <= 1.0 / 128 + 1e-12);
	}
	assert_int_equal(hist_bucket_high(HIST_BUCKETS - 1), HIST_MAX_VALUE);
	assert_int_equal(hist_index(HIST_MAX_VALUE), HIST_BUCKETS - 1);
	/* 1 us .. 1 h is inside the range */
	assert_true(HIST_MAX_VALUE > INT64_C(3600000000000));
	for (int64_t v = 0; v < 256; v++)
		assert_int_equal(hist_bucket_low(hist_index(v)), v);
}

static void test_empty(void **state)
{
	(void)state;
	struct hist h;
	hist_init(&h);
	assert_int_equal(hist_count(&h), 0);
	assert_int_equal(hist_min(&h), 0);
	assert_int_equal(hist_max(&h), 0);
	assert_true(hist_mean(&h) == 0);
	assert_true(hist_stddev(&h) == 0);
	assert_int_equal(hist_percentile(&h, 50), 0);
	assert_int_equal(hist_count_le(&h, 1000), 0);
	assert_int_equal(hist_rank(50, 0), 0);
}

static void test_random(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 1);
	size_t n = 100000;
	int64_t *v = malloc(n * sizeof(*v));
	/* log-uniform over 1 us .. 1 h */
	for (size_t i = 0; i < n; i++)
		v[i] = (int64_t)exp(log(1e3) + rng_uniform(&r) * (log(3.6e12) - log(1e3)));
	check_against_exact("log-uniform", v, n);
	/* uniform 0 .. 300 ns: the exact linear region and the first log buckets */
	for (size_t i = 0; i < n; i++)
		v[i] = (int64_t)rng_below(&r, 300);
	check_against_exact("small", v, n);
	/* normal around 250 ms */
	for (size_t i = 0; i < n; i++)
		v[i] = (int64_t)fabs(250e6 + 30e6 * rng_normal(&r));
	check_against_exact("normal", v, n);
	/* small samples: every n from 1 to 40 */
	for (size_t m = 1; m <= 40; m++) {
		for (size_t i = 0; i < m; i++)
			v[i] = 1000000 + (int64_t)rng_below(&r, 100000000);
		check_against_exact("tiny", v, m);
	}
	free(v);
}

static void test_adversarial(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 2);
	size_t n = 50000;
	int64_t *v = malloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = 123456789;
	check_against_exact("constant", v, n);
	/* bimodal: 90% near 1 ms, 10% near 2 s, rank boundaries fall between modes */
	for (size_t i = 0; i < n; i++)
		v[i] = (i % 10 == 9) ? 2000000000 + (int64_t)rng_below(&r, 1000000)
				     : 1000000 + (int64_t)rng_below(&r, 1000);
	check_against_exact("bimodal", v, n);
	/* heavy tail: Pareto alpha 1.1 from 1 ms, capped at the histogram's range */
	for (size_t i = 0; i < n; i++) {
		double x = 1e6 / pow(rng_uniform_pos(&r), 1 / 1.1);
		v[i] = x > 1e13 ? INT64_C(10000000000000) : (int64_t)x;
	}
	check_against_exact("pareto", v, n);
	/* values sitting exactly on bucket edges */
	for (size_t i = 0; i < n; i++) {
		int b = 256 + (int)rng_below(&r, HIST_BUCKETS - 256);
		v[i] = rng_below(&r, 2) ? hist_bucket_low(b) : hist_bucket_high(b);
	}
	check_against_exact("edges", v, n);
	/* one sample */
	v[0] = 42424242;
	check_against_exact("single", v, 1);
	free(v);
}

static void test_clamp(void **state)
{
	(void)state;
	struct hist h;
	hist_init(&h);
	hist_record(&h, -5);
	hist_record(&h, INT64_MAX);
	hist_record(&h, 1000);
	assert_int_equal(h.clamped, 2);
	assert_int_equal(hist_min(&h), 0);
	assert_int_equal(hist_max(&h), HIST_MAX_VALUE);
	assert_int_equal(hist_percentile(&h, 100), HIST_MAX_VALUE);
	assert_in_range(hist_percentile(&h, 50), 1000, 1003); /* bucket 1000..1003 */
	/* record_n equals n single records, clamping included */
	struct hist *a = hist_new(), *b = hist_new();
	int64_t vals[] = { 0, 7, 255, 256, 1000, 123456789, HIST_MAX_VALUE, -3, INT64_MAX };
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		hist_record_n(a, vals[i], 1000);
		for (int k = 0; k < 1000; k++)
			hist_record(b, vals[i]);
	}
	hist_record_n(a, 5, 0);
	assert_memory_equal(a, b, sizeof(*a));
	hist_free(a);
	hist_free(b);
}

static void test_count_le(void **state)
{
	(void)state;
	struct hist h;
	hist_init(&h);
	for (int i = 1; i <= 100; i++)
		hist_record(&h, i * INT64_C(10000000)); /* 10 ms .. 1 s */
	assert_int_equal(hist_count_le(&h, 5000000), 0);
	assert_int_equal(hist_count_le(&h, 500000000), 50);
	assert_int_equal(hist_count_le(&h, 2000000000), 100);
}

static void test_merge(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 3);
	struct hist *all = hist_new(), *part[3], *m = hist_new();
	for (int i = 0; i < 3; i++)
		part[i] = hist_new();
	for (int i = 0; i < 200000; i++) {
		int64_t v = (int64_t)(1e5 * exp(8 * rng_uniform(&r)));
		hist_record(all, v);
		hist_record(part[rng_below(&r, 3)], v);
	}
	/* (p0 + p1) + p2 into a fresh one, and an empty merge changes nothing */
	struct hist *empty = hist_new();
	hist_merge(m, part[0]);
	hist_merge(m, empty);
	hist_merge(m, part[1]);
	hist_merge(m, part[2]);
	assert_memory_equal(m, all, sizeof(*m));
	/* p2 + (p1 + p0): order does not matter */
	hist_merge(part[1], part[0]);
	hist_merge(part[2], part[1]);
	assert_memory_equal(part[2], all, sizeof(*m));
	for (int i = 0; i < 3; i++)
		hist_free(part[i]);
	hist_free(all);
	hist_free(m);
	hist_free(empty);
}

static void test_corrected(void **state)
{
	(void)state;
	struct hist h, plain;
	hist_init(&h);
	hist_init(&plain);
	/* expected a send every 10 ms; one request stalled 100 ms */
	hist_record_corrected(&h, 100000000, 10000000);
	assert_int_equal(hist_count(&h), 10); /* 100, 90, ..., 10 ms */
	assert_int_equal(hist_min(&h), 10000000);
	assert_int_equal(hist_max(&h), 100000000);
	assert_true(hist_mean(&h) == 55000000.0);
	/* at or under the interval, and without an interval: the value alone */
	hist_record_corrected(&plain, 10000000, 10000000);
	hist_record_corrected(&plain, 5000000, 10000000);
	hist_record_corrected(&plain, 500000000, 0);
	assert_int_equal(hist_count(&plain), 3);
	/* a 1 s stall in a 1 ms loop among 1000 fast requests: p50 moves from 1 ms up */
	hist_init(&h);
	hist_init(&plain);
	for (int i = 0; i < 1000; i++) {
		hist_record_corrected(&h, 1000000, 1000000);
		hist_record(&plain, 1000000);
	}
	hist_record_corrected(&h, 1000000000, 1000000);
	hist_record(&plain, 1000000000);
	assert_int_equal(hist_count(&h), 2000);
	assert_true(hist_percentile(&plain, 99) < 1100000);
	assert_true(hist_percentile(&h, 75) > 400000000);
	assert_true(labs((long)(hist_percentile(&h, 75) - 500000000)) < 5000000);
}

/* serialization */

static uint32_t crc32_ref(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
	}
	return ~c;
}

static void put_v(struct buf *b, uint64_t v)
{
	do {
		unsigned char c = v & 0x7f;
		v >>= 7;
		if (v)
			c |= 0x80;
		buf_add(b, &c, 1);
	} while (v);
}

static void seal(struct buf *b)
{
	uint32_t c = crc32_ref((const unsigned char *)b->data, b->len);
	unsigned char t[4] = { c & 0xff, (c >> 8) & 0xff, (c >> 16) & 0xff, c >> 24 };
	buf_add(b, t, 4);
}

/* An encoding from a list of varints, with a correct checksum. */
static void craft(struct buf *b, const uint64_t *f, size_t n)
{
	buf_reset(b);
	buf_add(b, "OBHG\x01\x07", 6);
	for (size_t i = 0; i < n; i++)
		put_v(b, f[i]);
	seal(b);
}

static void expect_reject(const struct buf *b, const char *msg)
{
	struct hist h;
	char err[ERR_MAX] = "";
	hist_record(&h, 1); /* garbage: must be reset */
	if (hist_deserialize(&h, b->data, b->len, err) != -1 || !strstr(err, msg)) {
		print_error("want '%s', got '%s'\n", msg, err);
		fail();
	}
	assert_int_equal(hist_count(&h), 0);
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 4);
	struct hist *h = hist_new(), *back = hist_new();
	struct buf b = BUF_INIT;
	char err[ERR_MAX] = "";

	/* empty */
	assert_int_equal(hist_serialize(h, &b), 0);
	assert_int_equal(b.len, 6 + 9 + 4);
	assert_int_equal(hist_deserialize(back, b.data, b.len, err), 0);
	assert_memory_equal(h, back, sizeof(*h));

	/* a realistic TTFT histogram, then one with clamped values and huge sums */
	for (int i = 0; i < 100000; i++)
		hist_record(h, (int64_t)fabs(3e8 + 5e7 * rng_normal(&r)));
	buf_reset(&b);
	assert_int_equal(hist_serialize(h, &b), 0);
	assert_true(b.len < 2000);
	assert_int_equal(hist_deserialize(back, b.data, b.len, err), 0);
	assert_memory_equal(h, back, sizeof(*h));
	hist_record_n(h, INT64_MAX, UINT64_C(1) << 40);
	hist_record(h, 0);
	hist_record(h, -1);
	for (int i = 0; i < HIST_BUCKETS; i += 3)
		hist_record(h, hist_bucket_low(i));
	buf_reset(&b);
	assert_int_equal(hist_serialize(h, &b), 0);
	assert_int_equal(hist_deserialize(back, b.data, b.len, err), 0);
	assert_memory_equal(h, back, sizeof(*h));

	/* a cap too small fails and leaves the buffer as it was */
	struct buf small;
	buf_init(&small, 20);
	buf_adds(&small, "x");
	assert_int_equal(hist_serialize(h, &small), -1);
	assert_string_equal(buf_str(&small), "x");
	buf_release(&small);

	buf_release(&b);
	hist_free(h);
	hist_free(back);
}

static void test_reject_damage(void **state)
{
	(void)state;
	struct hist *h = hist_new(), *back = hist_new();
	struct buf b = BUF_INIT;
	char err[ERR_MAX];
	struct rng r;
	rng_seed(&r, 5);
	for (int i = 0; i < 5000; i++)
		hist_record(h, (int64_t)(1e6 * exp(6 * rng_uniform(&r))));
	assert_int_equal(hist_serialize(h, &b), 0);
	unsigned char *p = malloc(b.len + 1);
	/* truncated at every length */
	for (size_t n = 0; n < b.len; n++) {
		memcpy(p, b.data, n);
		err[0] = '\0';
		assert_int_equal(hist_deserialize(back, n ? p : NULL, n, err), -1);
		assert_true(err[0] != '\0');
		assert_int_equal(hist_count(back), 0);
	}
	/* one extra byte */
	memcpy(p, b.data, b.len);
	p[b.len] = 0;
	assert_int_equal(hist_deserialize(back, p, b.len + 1, err), -1);
	/* every single bit flipped */
	for (size_t i = 0; i < b.len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(p, b.data, b.len);
			p[i] ^= (unsigned char)(1u << bit);
			err[0] = '\0';
			assert_int_equal(hist_deserialize(back, p, b.len, err), -1);
			assert_true(err[0] != '\0');
		}
	}
	/* version and layout are named */
	memcpy(p, b.data, b.len);
	p[4] = 2;
	assert_int_equal(hist_deserialize(back, p, b.len, err), -1);
	assert_non_null(strstr(err, "unsupported histogram version 2"));
	p[4] = 1;
	p[5] = 8;
	assert_int_equal(hist_deserialize(back, p, b.len, err), -1);
	assert_non_null(strstr(err, "layout"));
	p[5] = 7;
	p[0] = 'X';
	assert_int_equal(hist_deserialize(back, p, b.len, err), -1);
	assert_non_null(strstr(err, "magic"));
	free(p);
	buf_release(&b);
	hist_free(h);
	hist_free(back);
}

static void test_reject_crafted(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	struct hist *h = hist_new(), *want = hist_new();
	char err[ERR_MAX];
	/* values 5, 5, 7: buckets 5 (2) and 7 (1) */
	hist_record(want, 5);
	hist_record(want, 5);
	hist_record(want, 7);
	uint64_t ok[] = { 3, 5, 7, 0, 0, 17, 0, 99, 2, 5, 1, 2, 1, 1, 1 };
	craft(&b, ok, ARRAY_SIZE(ok));
	assert_int_equal(hist_deserialize(h, b.data, b.len, err), 0);
	assert_memory_equal(h, want, sizeof(*h));
	struct buf mine = BUF_INIT;
	hist_serialize(want, &mine);
	assert_int_equal(mine.len, b.len);
	assert_memory_equal(mine.data, b.data, b.len);
	buf_release(&mine);

	static const struct {
		uint64_t f[16];
		size_t n;
		const char *msg;
	} bad[] = {
		{ { 4, 5, 7, 0, 0, 17, 0, 99, 2, 5, 1, 2, 1, 1, 1 }, 15, "header says 4" },
		{ { 2, 5, 7, 0, 0, 17, 0, 99, 2, 5, 1, 2, 1, 1, 1 }, 15, "header says 2" },
		{ { 3, 5, 7, 0, 0, 17, 0, 99, 2, 5, 1, 0, 1, 1, 1 }, 15, "zero count" },
		{ { 3, 5, 7, 0, 0, 17, 0, 99, 2, 5, 0, 1, 1, 1 }, 14, "empty run" },
		{ { 3, 5, 7, 0, 0, 17, 0, 99, 2, 5, 1, 2, 0, 1, 1 }, 15, "not separated" },
		{ { 3, 5, 7, 0, 0, 17, 0, 99, 2, 5, 1, 2, 5000, 1, 1 }, 15, "goes past" },
		{ { 3, 5, 7, 0, 0, 17, 0, 99, 1, 4860, 5, 1, 1, 1, 1, 1 }, 16, "goes past" },
		{ { 3, 5, 7, 0, 0, 17, 0, 99, 3, 5, 1, 2, 1, 1, 1 }, 15, "truncated" },
		{ { 3, 5, 7, 0, 0, 17, 0, 99, 9999, 5, 1, 2, 1, 1, 1 }, 15, "runs" },
		{ { 3, 5, 7, 0, 0, 17, 0, 99, 2, 5, 1, 2, 1, 1, 1, 0 }, 16, "trailing" },
		{ { 3, 4, 7, 0, 0, 17, 0, 99, 2, 5, 1, 2, 1, 1, 1 }, 15, "outside the filled" },
		{ { 3, 5, 9, 0, 0, 17, 0, 99, 2, 5, 1, 2, 1, 1, 1 }, 15, "outside the filled" },
		{ { 3, 7, 5, 0, 0, 17, 0, 99, 2, 5, 1, 2, 1, 1, 1 }, 15, "out of range" },
		{ { 3, 5, 7, 4, 0, 17, 0, 99, 2, 5, 1, 2, 1, 1, 1 }, 15, "clamped" },
		{ { 3, 5, 7, 0, 0, 14, 0, 99, 2, 5, 1, 2, 1, 1, 1 }, 15, "sum outside" },
		{ { 3, 5, 7, 0, 1, 17, 0, 99, 2, 5, 1, 2, 1, 1, 1 }, 15, "sum outside" },
		{ { 3, 5, 7, 0, 0, 17, 0, 74, 2, 5, 1, 2, 1, 1, 1 }, 15, "sum of squares" },
		{ { 3, 5, 7, 0, 0, 17, 0, 148, 2, 5, 1, 2, 1, 1, 1 }, 15, "sum of squares" },
		{ { 0, 0, 0, 0, 0, 0, 0, 0, 1, 5, 1, 1 }, 12, "header says 0" },
		{ { 0, 1, 0, 0, 0, 0, 0, 0, 0 }, 9, "empty but min" },
		{ { 0, 0, 0, 0, 0, 0, 0, 0 }, 8, "truncated" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		craft(&b, bad[i].f, bad[i].n);
		expect_reject(&b, bad[i].msg);
	}

	/* hand-made varints: not in shortest form, and past 64 bits */
	buf_reset(&b);
	buf_add(&b, "OBHG\x01\x07\x83\x00", 8);
	seal(&b);
	expect_reject(&b, "shortest form");
	buf_reset(&b);
	buf_add(&b, "OBHG\x01\x07\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 16);
	seal(&b);
	expect_reject(&b, "overflows");
	/* the bucket counts overflow 64 bits */
	uint64_t big[] = { 3, 5, 7, 0, 0, 17, 0, 99, 2, 5, 1, UINT64_MAX, 1, 1, 1 };
	craft(&b, big, ARRAY_SIZE(big));
	expect_reject(&b, "overflow");
	buf_release(&b);
	hist_free(h);
	hist_free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_geometry),   cmocka_unit_test(test_empty),
		cmocka_unit_test(test_random),     cmocka_unit_test(test_adversarial),
		cmocka_unit_test(test_clamp),      cmocka_unit_test(test_count_le),
		cmocka_unit_test(test_merge),      cmocka_unit_test(test_corrected),
		cmocka_unit_test(test_roundtrip),  cmocka_unit_test(test_reject_damage),
		cmocka_unit_test(test_reject_crafted),
	};
	return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
