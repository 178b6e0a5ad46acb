/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Log-linear latency histogram: recording, queries, merge and the versioned binary encoding. */
#include "../compat.h"
#include "hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/util.h"
#include "../banned.h"

static const unsigned char ser_magic[4] = { 'O', 'B', 'H', 'G' };

/* 64x64 -> 128-bit product, portable. */
static void mul64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
	uint64_t a0 = a & 0xffffffffu, a1 = a >> 32;
	uint64_t b0 = b & 0xffffffffu, b1 = b >> 32;
	uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
	uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
	*lo = (mid << 32) | (p00 & 0xffffffffu);
	*hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

static inline void add128(uint64_t *hi, uint64_t *lo, uint64_t bhi, uint64_t blo)
{
	uint64_t l = *lo + blo;
	*hi += bhi + (l < blo);
	*lo = l;
}

static inline int msb64(uint64_t v)
{
#ifdef __GNUC__
	return 63 - __builtin_clzll(v | 1);
#else
	int k = 0;
	while (v >>= 1)
		k++;
	return k;
#endif
}

static inline int index_of(uint64_t v)
{
	int k = msb64(v);
	int shift = k > HIST_SUB_BITS ? k - HIST_SUB_BITS : 0;
	return (shift << HIST_SUB_BITS) + (int)(v >> shift);
}

static inline uint64_t clamp_value(struct hist *h, int64_t ns)
{
	if (ns < 0) {
		h->clamped++;
		return 0;
	}
	if (ns > HIST_MAX_VALUE) {
		h->clamped++;
		return (uint64_t)HIST_MAX_VALUE;
	}
	return (uint64_t)ns;
}

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = INT64_MAX;
}

struct hist *hist_new(void)
{
	struct hist *h = xmalloc(sizeof(*h));
	hist_init(h);
	return h;
}

void hist_free(struct hist *h)
{
	free(h);
}

void hist_record(struct hist *h, int64_t ns)
{
	uint64_t v = clamp_value(h, ns), hi, lo;
	h->counts[index_of(v)]++;
	h->count++;
	if ((int64_t)v < h->min)
		h->min = (int64_t)v;
	if ((int64_t)v > h->max)
		h->max = (int64_t)v;
	add128(&h->sum_hi, &h->sum_lo, 0, v);
	mul64(v, v, &hi, &lo);
	add128(&h->sq_hi, &h->sq_lo, hi, lo);
}

void hist_record_n(struct hist *h, int64_t ns, uint64_t n)
{
	if (n == 0)
		return;
	uint64_t clamped = h->clamped;
	uint64_t v = clamp_value(h, ns), hi, lo, sqhi, sqlo;
	if (h->clamped != clamped)
		h->clamped = clamped + n;
	h->counts[index_of(v)] += n;
	h->count += n;
	if ((int64_t)v < h->min)
		h->min = (int64_t)v;
	if ((int64_t)v > h->max)
		h->max = (int64_t)v;
	mul64(v, n, &hi, &lo);
	add128(&h->sum_hi, &h->sum_lo, hi, lo);
	/* n * v^2 = (v^2.hi * n) << 64 + v^2.lo * n, kept to 128 bits */
	mul64(v, v, &sqhi, &sqlo);
	mul64(sqlo, n, &hi, &lo);
	hi += sqhi * n;
	add128(&h->sq_hi, &h->sq_lo, hi, lo);
}

void hist_record_corrected(struct hist *h, int64_t ns, int64_t interval_ns)
{
	hist_record(h, ns);
	if (interval_ns <= 0 || ns <= interval_ns)
		return;
	if (ns > HIST_MAX_VALUE)
		ns = HIST_MAX_VALUE;
	for (int64_t v = ns - interval_ns; v >= interval_ns; v -= interval_ns)
		hist_record(h, v);
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (src->count == 0)
		return;
	for (int i = 0; i < HIST_BUCKETS; i++)
		dst->counts[i] += src->counts[i];
	dst->count += src->count;
	dst->clamped += src->clamped;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	add128(&dst->sum_hi, &dst->sum_lo, src->sum_hi, src->sum_lo);
	add128(&dst->sq_hi, &dst->sq_lo, src->sq_hi, src->sq_lo);
}

uint64_t hist_count(const struct hist *h)
{
	return h->count;
}

int64_t hist_min(const struct hist *h)
{
	return h->count ? h->min : 0;
}

int64_t hist_max(const struct hist *h)
{
	return h->count ? h->max : 0;
}

static long double ld128(uint64_t hi, uint64_t lo)
{
	return (long double)hi * 18446744073709551616.0L + (long double)lo;
}

double hist_mean(const struct hist *h)
{
	if (h->count == 0)
		return 0;
	return (double)(ld128(h->sum_hi, h->sum_lo) / (long double)h->count);
}

double hist_stddev(const struct hist *h)
{
	if (h->count < 2)
		return 0;
	long double n = (long double)h->count;
	long double mean = ld128(h->sum_hi, h->sum_lo) / n;
	long double var = ld128(h->sq_hi, h->sq_lo) / n - mean * mean;
	if (var <= 0)
		return 0;
	return sqrt((double)var);
}

uint64_t hist_rank(double p, uint64_t count)
{
	if (count == 0)
		return 0;
	if (!(p > 0))
		return 1;
	if (p >= 100)
		return count;
	long double x = (long double)p / 100.0L * (long double)count;
	/* forgive the rounding of p itself (99.9 is not exact in binary) */
	uint64_t r = (uint64_t)ceill(x - x * 1e-12L);
	if (r < 1)
		r = 1;
	if (r > count)
		r = count;
	return r;
}

int hist_index(int64_t ns)
{
	if (ns < 0)
		ns = 0;
	if (ns > HIST_MAX_VALUE)
		ns = HIST_MAX_VALUE;
	return index_of((uint64_t)ns);
}

int64_t hist_bucket_low(int idx)
{
	if (idx < 2 * HIST_SUB_COUNT)
		return idx;
	int shift = (idx >> HIST_SUB_BITS) - 1;
	return (int64_t)(idx - (shift << HIST_SUB_BITS)) << shift;
}

int64_t hist_bucket_high(int idx)
{
	if (idx < 2 * HIST_SUB_COUNT)
		return idx;
	int shift = (idx >> HIST_SUB_BITS) - 1;
	return hist_bucket_low(idx) + (INT64_C(1) << shift) - 1;
}

int64_t hist_bucket_value(const struct hist *h, int idx)
{
	int64_t lo = hist_bucket_low(idx), hi = hist_bucket_high(idx);
	int64_t v = lo + (hi - lo) / 2;
	if (h->count) {
		if (v < h->min)
			v = h->min;
		if (v > h->max)
			v = h->max;
	}
	return v;
}

int64_t hist_percentile(const struct hist *h, double p)
{
	if (h->count == 0)
		return 0;
	if (!(p > 0))
		return h->min;
	if (p >= 100)
		return h->max;
	uint64_t rank = hist_rank(p, h->count), seen = 0;
	int lo = hist_index(h->min), hi = hist_index(h->max);
	for (int i = lo; i <= hi; i++) {
		seen += h->counts[i];
		if (seen >= rank)
			return hist_bucket_value(h, i);
	}
	return h->max;
}

void hist_percentiles(const struct hist *h, const double *ps, size_t n, int64_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = hist_percentile(h, ps[i]);
}

uint64_t hist_count_le(const struct hist *h, int64_t ns)
{
	if (h->count == 0 || ns < h->min)
		return 0;
	if (ns >= h->max)
		return h->count;
	uint64_t n = 0;
	int top = hist_index(ns);
	for (int i = hist_index(h->min); i <= top; i++)
		n += h->counts[i];
	return n;
}

/* serialization */

static uint32_t crc32_ieee(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

static int put_varint(struct buf *b, uint64_t v)
{
	unsigned char t[10];
	size_t n = 0;
	do {
		unsigned char c = v & 0x7f;
		v >>= 7;
		t[n++] = c | (v ? 0x80 : 0);
	} while (v);
	return buf_add(b, t, n);
}

int hist_serialize(const struct hist *h, struct buf *out)
{
	size_t start = out->len;
	unsigned char head[6] = { 'O', 'B', 'H', 'G', HIST_SER_VERSION, HIST_SUB_BITS };
	uint64_t f[8] = { h->count, (uint64_t)hist_min(h), (uint64_t)hist_max(h), h->clamped,
			  h->sum_hi, h->sum_lo, h->sq_hi, h->sq_lo };
	int ok = buf_add(out, head, sizeof(head)) == 0;
	for (size_t i = 0; ok && i < ARRAY_SIZE(f); i++)
		ok = put_varint(out, f[i]) == 0;
	/* count the runs of non-empty buckets first */
	uint64_t runs = 0;
	for (int i = 0; i < HIST_BUCKETS; i++)
		if (h->counts[i] && (i == 0 || !h->counts[i - 1]))
			runs++;
	if (ok)
		ok = put_varint(out, runs) == 0;
	int end = 0; /* index just past the previous run */
	for (int i = 0; ok && i < HIST_BUCKETS;) {
		if (!h->counts[i]) {
			i++;
			continue;
		}
		int j = i;
		while (j < HIST_BUCKETS && h->counts[j])
			j++;
		ok = put_varint(out, (uint64_t)(i - end)) == 0 &&
		     put_varint(out, (uint64_t)(j - i)) == 0;
		for (int k = i; ok && k < j; k++)
			ok = put_varint(out, h->counts[k]) == 0;
		end = i = j;
	}
	if (ok) {
		uint32_t c = crc32_ieee((const unsigned char *)out->data + start, out->len - start);
		unsigned char t[4] = { c & 0xff, (c >> 8) & 0xff, (c >> 16) & 0xff, (c >> 24) & 0xff };
		ok = buf_add(out, t, 4) == 0;
	}
	if (!ok) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}

struct reader {
	const unsigned char *p;
	size_t pos, len;
	char *err;
};

static int get_varint(struct reader *r, uint64_t *v, const char *what)
{
	uint64_t x = 0;
	size_t start = r->pos;
	for (int shift = 0;; shift += 7) {
		if (r->pos >= r->len)
			return seterr(r->err, "truncated histogram: %s at byte %zu", what, start);
		unsigned char c = r->p[r->pos++];
		if (shift == 63 && c > 1)
			return seterr(r->err, "corrupt histogram: %s at byte %zu overflows 64 bits",
				      what, start);
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			if (c == 0 && shift > 0)
				return seterr(r->err,
					      "corrupt histogram: %s at byte %zu is not in shortest form",
					      what, start);
			break;
		}
	}
	*v = x;
	return 0;
}

/* Compare two 128-bit numbers: -1, 0, 1. */
static int cmp128(uint64_t ahi, uint64_t alo, uint64_t bhi, uint64_t blo)
{
	if (ahi != bhi)
		return ahi < bhi ? -1 : 1;
	return alo < blo ? -1 : alo > blo;
}

static int decode(struct hist *h, const unsigned char *p, size_t len, char *err)
{
	if (len < 6 + 4)
		return seterr(err, "truncated histogram: %zu bytes", len);
	if (memcmp(p, ser_magic, 4) != 0)
		return seterr(err, "not a histogram: bad magic");
	if (p[4] != HIST_SER_VERSION)
		return seterr(err, "unsupported histogram version %u (this build reads %d)",
			      p[4], HIST_SER_VERSION);
	if (p[5] != HIST_SUB_BITS)
		return seterr(err, "unsupported histogram layout %u (this build reads %d)", p[5],
			      HIST_SUB_BITS);
	uint32_t want = (uint32_t)p[len - 4] | (uint32_t)p[len - 3] << 8 |
			(uint32_t)p[len - 2] << 16 | (uint32_t)p[len - 1] << 24;
	if (crc32_ieee(p, len - 4) != want)
		return seterr(err, "corrupt or truncated histogram: checksum mismatch");

	struct reader r = { p, 6, len - 4, err };
	static const char *names[8] = { "count", "min", "max", "clamped",
					"sum", "sum", "sum of squares", "sum of squares" };
	uint64_t f[8];
	for (int i = 0; i < 8; i++)
		if (get_varint(&r, &f[i], names[i]))
			return -1;
	uint64_t count = f[0], min = f[1], max = f[2], runs;
	if (get_varint(&r, &runs, "run count"))
		return -1;
	if (runs > HIST_BUCKETS / 2 + 1)
		return seterr(err, "corrupt histogram: %" PRIu64 " runs", runs);
	uint64_t total = 0, end = 0;
	int first = -1, last = -1;
	for (uint64_t k = 0; k < runs; k++) {
		uint64_t gap, n;
		if (get_varint(&r, &gap, "run gap") || get_varint(&r, &n, "run length"))
			return -1;
		if (n == 0)
			return seterr(err, "corrupt histogram: empty run %" PRIu64, k);
		if (k > 0 && gap == 0)
			return seterr(err, "corrupt histogram: run %" PRIu64 " is not separated", k);
		if (gap > HIST_BUCKETS || n > HIST_BUCKETS || end + gap + n > HIST_BUCKETS)
			return seterr(err, "corrupt histogram: run %" PRIu64 " goes past bucket %d",
				      k, HIST_BUCKETS);
		uint64_t i = end + gap;
		if (first < 0)
			first = (int)i;
		for (uint64_t j = 0; j < n; j++, i++) {
			uint64_t c;
			if (get_varint(&r, &c, "bucket count"))
				return -1;
			if (c == 0)
				return seterr(err, "corrupt histogram: zero count in run %" PRIu64, k);
			if (total + c < total)
				return seterr(err, "corrupt histogram: bucket counts overflow");
			total += c;
			h->counts[i] = c;
		}
		end = i;
		last = (int)i - 1;
	}
	if (r.pos != r.len)
		return seterr(err, "corrupt histogram: %zu trailing bytes", r.len - r.pos);
	if (total != count)
		return seterr(err,
			      "corrupt histogram: buckets hold %" PRIu64 " values, header says %" PRIu64,
			      total, count);
	if (count == 0) {
		for (int i = 1; i < 8; i++)
			if (f[i])
				return seterr(err, "corrupt histogram: empty but %s is not 0", names[i]);
		return 0;
	}
	if (min > max || max > (uint64_t)HIST_MAX_VALUE)
		return seterr(err, "corrupt histogram: min %" PRIu64 " and max %" PRIu64
			      " out of range", min, max);
	if (hist_index((int64_t)min) != first || hist_index((int64_t)max) != last)
		return seterr(err, "corrupt histogram: min or max outside the filled buckets");
	if (f[3] > count)
		return seterr(err, "corrupt histogram: more clamped values than values");
	/* count*min <= sum <= count*max; count*min^2 <= sumsq <= count*max^2 (approximately) */
	uint64_t lhi, llo, hhi, hlo;
	mul64(count, min, &lhi, &llo);
	mul64(count, max, &hhi, &hlo);
	if (cmp128(f[4], f[5], lhi, llo) < 0 || cmp128(f[4], f[5], hhi, hlo) > 0)
		return seterr(err, "corrupt histogram: sum outside count * [min, max]");
	long double sq = ld128(f[6], f[7]), n = (long double)count;
	long double lo2 = n * (long double)min * (long double)min;
	long double hi2 = n * (long double)max * (long double)max;
	if (sq < lo2 * (1 - 1e-15L) || sq > hi2 * (1 + 1e-15L))
		return seterr(err, "corrupt histogram: sum of squares outside count * [min, max]^2");
	h->count = count;
	h->min = (int64_t)min;
	h->max = (int64_t)max;
	h->clamped = f[3];
	h->sum_hi = f[4];
	h->sum_lo = f[5];
	h->sq_hi = f[6];
	h->sq_lo = f[7];
	return 0;
}

int hist_deserialize(struct hist *h, const void *data, size_t len, char *err)
{
	hist_init(h);
	if (!data && len)
		return seterr(err, "not a histogram: no data");
	if (decode(h, data, len, err)) {
		hist_init(h);
		return -1;
	}
	return 0;
}
