/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Bench results as data: the histogram blob of a step, rows (the figures tables, charts,
 * CSV and the knee need) made from steps, CSV, the knee and the whole result document.
 * The step and run-summary documents themselves are lib/bench/result.h's. Pure
 * functions over buffers: nothing is printed here (the views are lib/render/benchview.h).
 *
 * Ownership: every function appends to a caller's struct buf; rows are plain values.
 */
#ifndef OBRIDGE_BENCH_REPORT_H
#define OBRIDGE_BENCH_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "result.h"

struct buf;
struct hist;

/* The step of an accumulator, as JSON (bench_step_compute, then bench_step_to_json).
 * Returns 0, or -1 with err. */
int bench_step_json(const struct bench_acc *a, const struct bench_step_info *si,
		    struct buf *out, char *err);

/*
 * The histogram blob stored with a step: for each non-empty histogram, 1 byte (enum
 * bench_hist), 4 bytes little-endian length, then hist_serialize()'s bytes.
 */
int bench_hists_blob(const struct bench_acc *a, struct buf *out);
/* Decode a blob into h[BH_N] (all initialised first). Returns 0, or -1 with err. */
int bench_hists_parse(const void *blob, size_t len, struct hist *h, char *err);

/* The figures of one step that tables, charts, CSV and the knee need. */
struct bench_row {
	int index;
	double x;
	char instance[64];      /* "" for the whole target */
	int partial;
	uint64_t ok, failed, shed, errors, cold; /* errors = failed - shed */
	double req_s, tok_s, tok_s_user, duration_s;
	int has_ttft, has_itl, has_raw;
	int64_t ttft_p50, ttft_p95, ttft_p99, itl_p50, itl_p95, itl_p99, tpot_p50, tpot_p95;
	int64_t tpot_vllm_p50;  /* vLLM's TPOT, (e2e - ttft) / (tokens - 1); 0 when absent */
	int64_t e2e_p50, e2e_p95, e2e_p99, raw_ttft_p95, raw_e2e_p95;
	int64_t load_p50, queue_p50, queue_p95, server_ttft_p50, cold_ttft_p50;
	double cpu_pct;
	int64_t send_lag_p99, loop_lag_p99;
	int limited;
	char reason[128];       /* why the client may be the limit */
	double coalesced_pct;   /* token gaps of 0 (lines that came in one read), % */
	uint64_t conns;         /* requests that opened their connection in the step */
	int64_t connect_p50;    /* their set-up time */
	uint64_t first_n;       /* closed loop: requests of the first wave with a TTFT */
	int64_t first_ttft_p99, later_ttft_p99; /* 0 when none */
	char errsum[200];       /* "2 stall, 1 truncated (message)" or "" */
};

/* The row of a step. */
void bench_row_from_step(const struct bench_step *st, struct bench_row *r);
/* The row of a step's JSON (bench_step_parse, then bench_row_from_step). Returns 0, or -1
 * with err. */
int bench_row_parse(const char *json, struct bench_row *r, char *err);

/* Rendering flags. */
enum bench_view_flags {
	BENCH_VIEW_ASCII = 1 << 0,    /* no Unicode (µ becomes u, bars in ASCII) */
	BENCH_VIEW_RATE = 1 << 1,     /* x is a request rate */
	BENCH_VIEW_ENDPOINT = 1 << 2, /* plain GETs: E2E columns only */
};

/* CSV: the header line, then one line per row (numbers in ns and per second). */
void bench_csv_header(struct buf *out);
void bench_csv_row(const struct bench_row *r, struct buf *out);

/*
 * The knee of the rows that cover the whole target (instance ""), not partial, into k;
 * with text, its sentences (UTF-8, one per line, each ending with '\n': the knee, the
 * slot finding, per-instance imbalance) are appended; with json, bench_knee_to_json().
 * slo_ns 0 = none.
 */
void bench_knee_report(const struct bench_row *rows, size_t n, int flags, int64_t slo_ns,
		       struct bench_knee *k, struct buf *text, struct buf *json);

/*
 * The whole result document (what `bench --json` and `export --json` print):
 *   {"schema":1,"run":ID,"kind":"bench","status":"ok|warn|failed|interrupted|running",
 *    "started":"RFC3339","finished":"RFC3339"|null,
 *    "params":{...},"fingerprint":{...},"summary":{...},"steps":[STEP,...]}
 * params, fingerprint and summary are JSON texts as stored (NULL gives null); steps[n]
 * are step JSON texts (lib/bench/result.h). Appends one line without a newline.
 */
void bench_doc_json(struct buf *out, int64_t run, const char *status, int64_t started_ns,
		    int64_t finished_ns, const char *params, const char *fingerprint,
		    const char *summary, const char *const *steps, size_t n);

/* View flags (BENCH_VIEW_RATE, BENCH_VIEW_ENDPOINT) and the SLO from a run's params. */
int bench_params_view(const char *params, int64_t *slo_ns);

#endif
