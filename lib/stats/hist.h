/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Log-linear latency histogram (HDR style): constant memory, O(1) record, mergeable, storable. */
#ifndef OBRIDGE_STATS_HIST_H
#define OBRIDGE_STATS_HIST_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/*
 * Values are durations in nanoseconds. Layout (fixed, part of the serialization):
 *
 *   - values 0..255 ns have a bucket each (exact);
 *   - above, every power of two [2^k, 2^(k+1)) is split into 128 equal sub-buckets,
 *     so a bucket is at most 1/128 (0.78%) of its lower bound wide;
 *   - the top bucket ends at HIST_MAX_VALUE = 2^44 - 1 ns (about 4 h 53 min).
 *
 * Queries return the bucket's midpoint (clamped to the exact min and max), so a
 * percentile is within 0.4% of the exact order statistic (bucket width / 2 over the
 * bucket's lower bound, never more than 1/256). Values below 0 are recorded as 0 and
 * values above HIST_MAX_VALUE as HIST_MAX_VALUE; both are counted in `clamped`, and
 * min, max and the moments use the clamped value, so every figure stays consistent.
 *
 * count, min, max and the exact integer sums of values and of squared values are
 * tracked next to the buckets, so mean and stddev are exact (not bucket estimates)
 * and merging is exact and associative.
 *
 * Memory: struct hist is a plain value of about 39 KB with no pointers; it may be
 * embedded, copied with memcpy, or allocated with hist_new(). HIST_INIT is not
 * provided because min starts at INT64_MAX: call hist_init().
 */
#define HIST_SUB_BITS 7
#define HIST_SUB_COUNT (1 << HIST_SUB_BITS) /* 128 sub-buckets per power of two */
#define HIST_MAX_BITS 44
#define HIST_MAX_VALUE ((INT64_C(1) << HIST_MAX_BITS) - 1)
#define HIST_BUCKETS ((HIST_MAX_BITS - HIST_SUB_BITS) * HIST_SUB_COUNT + HIST_SUB_COUNT) /* 4864 */

struct hist {
	uint64_t count;
	int64_t min; /* INT64_MAX while empty; use hist_min() */
	int64_t max; /* 0 while empty */
	uint64_t clamped; /* values that were < 0 or > HIST_MAX_VALUE */
	uint64_t sum_hi, sum_lo; /* exact 128-bit sum of values */
	uint64_t sq_hi, sq_lo; /* exact 128-bit sum of squared values */
	uint64_t counts[HIST_BUCKETS];
};

/* Empty the histogram (also the first call on a new one). */
void hist_init(struct hist *h);
/* Allocate an empty histogram (never NULL; aborts on OOM); free it with hist_free(). */
struct hist *hist_new(void);
void hist_free(struct hist *h);

/* Record one value in ns. O(1), no allocation: the bench hot path. */
void hist_record(struct hist *h, int64_t ns);
/* Record n copies of one value (for tests, replays and weights). */
void hist_record_n(struct hist *h, int64_t ns, uint64_t n);
/*
 * Record a latency measured in a loop that should have issued a request every
 * interval_ns, and back-fill the requests the stall kept from being sent
 * (coordinated omission, wrk2 and HdrHistogram's recordValueWithExpectedInterval):
 * ns is recorded, then ns - interval, ns - 2*interval, ... while >= interval_ns.
 * interval_ns <= 0 records ns alone. Cost O(ns / interval_ns).
 */
void hist_record_corrected(struct hist *h, int64_t ns, int64_t interval_ns);

/* Add every sample of src to dst (exact: equals recording both streams into one). */
void hist_merge(struct hist *dst, const struct hist *src);

uint64_t hist_count(const struct hist *h);
/* Exact smallest and largest recorded value; 0 for an empty histogram. */
int64_t hist_min(const struct hist *h);
int64_t hist_max(const struct hist *h);
/* Exact mean and population standard deviation; 0 for an empty histogram. */
double hist_mean(const struct hist *h);
double hist_stddev(const struct hist *h);

/*
 * Nearest-rank position of percentile p (0..100) among count samples:
 * ceil(p / 100 * count), at least 1 (0 when count is 0). Shared with the tests so
 * that "exact" means the same order statistic on both sides.
 */
uint64_t hist_rank(double p, uint64_t count);
/*
 * Value at percentile p (0..100): the bucket holding the hist_rank(p)-th smallest
 * sample, reported as its midpoint clamped to [min, max]. p <= 0 gives min, p >= 100
 * gives max, an empty histogram gives 0.
 */
int64_t hist_percentile(const struct hist *h, double p);
/* n percentiles at once (ps in any order) into out[n]. */
void hist_percentiles(const struct hist *h, const double *ps, size_t n, int64_t *out);
/* Number of values <= ns (bucket resolution: counts whole buckets up to ns's). */
uint64_t hist_count_le(const struct hist *h, int64_t ns);

/* Bucket geometry: the index a value falls in, and a bucket's [low, high] range. */
int hist_index(int64_t ns);
int64_t hist_bucket_low(int idx);
int64_t hist_bucket_high(int idx);
/* The value queries report for bucket idx of h (midpoint clamped to min..max). */
int64_t hist_bucket_value(const struct hist *h, int idx);

/*
 * Serialization, version 1, for SQLite BLOBs and files. Little-endian, no padding:
 *
 *   magic    4 bytes  "OBHG"
 *   version  1 byte   1
 *   layout   1 byte   HIST_SUB_BITS (7); HIST_MAX_BITS is implied by the version
 *   fields   varints  count, min, max, clamped, sum_hi, sum_lo, sq_hi, sq_lo
 *   runs     varint   R, then R times: varint gap (empty buckets skipped since the
 *                     end of the previous run), varint len (>= 1), len varints
 *                     (bucket counts, each >= 1)
 *   crc      4 bytes  CRC-32 (IEEE 802.3, as zlib) of every byte before it
 *
 * Varints are unsigned LEB128, shortest form only. An empty histogram has
 * count = min = max = ... = 0 and R = 0 (16 bytes). A typical latency histogram
 * takes 100 to 400 bytes.
 */
#define HIST_SER_VERSION 1

/* Append the encoding of h to out. Returns 0, or -1 if out's cap was hit. */
int hist_serialize(const struct hist *h, struct buf *out);
/*
 * Decode len bytes into h. Strict: rejects a wrong magic, version or layout, a
 * checksum mismatch, truncation, trailing bytes, non-shortest varints, runs past the
 * last bucket, zero counts inside a run, bucket counts that do not add up to count,
 * and min, max, clamped or sums inconsistent with the buckets. Returns 0, or -1 with
 * a message in err (ERR_MAX bytes); on failure h is left empty.
 */
int hist_deserialize(struct hist *h, const void *data, size_t len, char *err);

#endif
